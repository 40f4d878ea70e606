//! `usd1-relayer`: watches the source chains itself, queues every final message in sled,
//! collects `threshold` attester signatures, delivers to the destination, and follows the
//! delivery to confirmation. Untrusted: it can delay a mint, never forge or repeat one.

mod api;
mod attesters;
mod explorer;
mod feed;
mod metrics;
mod pipeline;
mod policy;
mod store;
mod supply;
mod violations;

use pipeline::{Pipeline, Settings, Target};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify};
use usd1_config::{load_evm_signer, RelayerConfig};
use usd1_core::traits::Destination;
use usd1_core::Source;
use usd1_evm::{EvmDestination, EvmRpc};

#[tokio::main]
async fn main() {
    usd1_evm::tls::install();
    let config: RelayerConfig = usd1_runtime::start_service(
        "usd1-relayer",
        "Carries attested usd1 burn messages to their destination chains",
        |c: &RelayerConfig| c.service.log_format,
    );
    usd1_runtime::exit_on_error("usd1-relayer", run(config).await);
}

/// How often the queue is scanned when nothing new arrives.
const TICK: Duration = Duration::from_millis(250);

async fn run(config: RelayerConfig) -> Result<(), String> {
    // A key file the config names but that cannot be used is a config error: exit 2.
    let signer = load_evm_signer(&config.submitter, "submitter.key_file")
        .unwrap_or_else(|e| usd1_runtime::fatal_config("usd1-relayer", e));
    let db = sled::open(&config.service.db_path).map_err(|e| {
        format!(
            "cannot open store {}: {e}",
            config.service.db_path.display()
        )
    })?;
    let store = store::Store::open(db).map_err(|e| e.to_string())?;
    let r = &config.relayer;
    let serves = |list: &Vec<usd1_core::Domain>, d| list.is_empty() || list.contains(&d);

    let mut targets = HashMap::new();
    let mut balances = Vec::new();
    let mut rpcs = HashMap::new();
    for (name, chain) in &config.chains {
        let rpc = Arc::new(EvmRpc::new(name, &chain.rpc_urls).map_err(|e| e.to_string())?);
        rpcs.insert(name.clone(), rpc.clone());
        if !serves(&r.destinations, chain.domain) {
            continue;
        }
        let dest = Arc::new(
            EvmDestination::new(
                rpc,
                chain.domain,
                (chain.message_transmitter, chain.token),
                r.policy.max_delivery_gas,
                signer.clone(),
            )
            .with_finality(chain.finality),
        );
        balances.push((name.clone(), dest.clone()));
        targets.insert(
            chain.domain,
            Target {
                chain: dest as Arc<dyn Destination>,
                confirmations: chain.delivery_confirmations,
                submit_lock: Mutex::new(()),
                attesters: Mutex::new(None),
            },
        );
    }
    if let Some(solana) = &config.solana {
        if let (true, Some(payer), Some(claim)) = (
            serves(&r.destinations, solana.domain),
            &solana.payer_key_file,
            &solana.claim_authority_key_file,
        ) {
            // A keypair file the config names but that cannot be used: exit 2, naming it.
            let read = |p: &std::path::PathBuf, field: &str| {
                usd1_solana::solana_sdk::signature::read_keypair_file(p).unwrap_or_else(|e| {
                    usd1_runtime::fatal_config(
                        "usd1-relayer",
                        format!("solana.{field}: cannot read {}: {e}", p.display()),
                    )
                })
            };
            let key = |s: &str, f: &str| {
                s.parse()
                    .map_err(|_| format!("solana.{f}: {s:?} is not a public key"))
            };
            let retired = solana
                .retired_claim_authorities
                .iter()
                .map(|k| key(k, "retired_claim_authorities"))
                .collect::<Result<Vec<_>, _>>()?;
            // The attesters' co-sign route needs this relayer's credential: exit 2 without it.
            let cosign_token = match &solana.cosign_token_file {
                Some(f) => usd1_config::read_token_file(f).unwrap_or_else(|e| {
                    usd1_runtime::fatal_config(
                        "usd1-relayer",
                        format!("solana.cosign_token_file: {e}"),
                    )
                }),
                None => usd1_runtime::fatal_config(
                    "usd1-relayer",
                    "solana.cosign_token_file: required to deliver to Solana (the attesters co-sign only for relayers whose token they list in solana.cosign_tokens)",
                ),
            };
            let dest = usd1_solana::destination::SolanaDestination::new(
                &solana.rpc_urls[0],
                solana.domain,
                key(&solana.mint, "mint")?,
                key(&solana.multisig, "multisig")?,
                read(payer, "payer_key_file"),
                read(claim, "claim_authority_key_file"),
                retired,
                r.attesters.clone(),
                cosign_token,
            )?;
            // Confirmed at `confirmed` first, then Confirmed in the queue once `finalized`.
            targets.insert(
                solana.domain,
                Target {
                    chain: Arc::new(dest),
                    confirmations: 2,
                    submit_lock: Mutex::new(()),
                    attesters: Mutex::new(None),
                },
            );
        }
    }
    let destinations: Arc<HashSet<_>> = Arc::new(targets.keys().copied().collect());
    let attesters = attesters::HttpAttesters::new(
        r.attesters.clone(),
        Duration::from_millis(r.attester_timeout_ms),
    )?;
    let pipeline = Arc::new(Pipeline {
        store: store.clone(),
        targets,
        signatures: Arc::new(attesters),
        settings: Settings {
            max_refusals: r.policy.max_refusals,
            retry_base: Duration::from_millis(r.retry_base_ms),
            retry_max: Duration::from_millis(r.retry_max_ms),
            stuck_after: Duration::from_millis(r.stuck_after_ms),
            receipt_poll: Duration::from_millis(500),
        },
        names: metrics::ChainNames(
            config
                .chains
                .iter()
                .map(|(n, c)| (c.domain, n.clone()))
                .chain(config.solana.iter().map(|s| (s.domain, s.name.clone())))
                .collect(),
        ),
        policy: policy::RelayPolicy::new(&r.policy, bridge_identities(&config)?)?,
    });

    metrics::init(&pipeline.names, pipeline.targets.keys().copied());
    let feeds: feed::FeedStatus = Default::default();
    let wake = Arc::new(Notify::new());
    let mut sources: Vec<(Arc<dyn Source>, u64)> = Vec::new();
    for (name, chain) in &config.chains {
        if !serves(&r.sources, chain.domain) {
            continue;
        }
        let tree = store
            .db()
            .open_tree(format!("watcher/{}", chain.domain))
            .map_err(|e| e.to_string())?;
        let watcher = usd1_evm::connect::source(name, chain, rpcs[name].clone(), tree, false);
        sources.push((Arc::new(watcher), chain.poll_interval_ms));
    }
    if let Some(solana) = &config.solana {
        if serves(&r.sources, solana.domain) {
            let tree = store
                .db()
                .open_tree("watcher/solana")
                .map_err(|e| e.to_string())?;
            let watcher =
                usd1_solana::watcher::SolanaWatcher::from_config(solana, &config.chains, tree)?;
            sources.push((Arc::new(watcher), solana.poll_interval_ms));
        }
    }
    let expected_feeds = sources.len();
    for (source, poll_interval_ms) in sources {
        let poll = Duration::from_millis(poll_interval_ms);
        let queue = feed::Queue {
            store: store.clone(),
            destinations: destinations.clone(),
            status: feeds.clone(),
            poll,
            wake: wake.clone(),
        };
        tokio::spawn(usd1_runtime::watch::run(source, poll, Arc::new(queue)));
    }
    tokio::spawn(run_pipeline(pipeline.clone(), wake));
    let audited = config
        .chains
        .iter()
        .map(|(name, c)| usd1_evm::audit::AuditedChain {
            name: name.clone(),
            domain: c.domain,
            rpc: rpcs[name].clone(),
            token: c.token,
            transmitter: c.message_transmitter,
            messenger: c.token_messenger,
            start_block: c.start_block,
            max_block_range: c.max_block_range,
            finality: c.finality,
        })
        .collect();
    // Validated at load: a configured total always parses.
    let issued = config
        .audit
        .issued_total
        .as_deref()
        .and_then(|t| usd1_core::parse_amount(t, usd1_core::USD1_DECIMALS).ok());
    let solana_audit = match &config.solana {
        Some(solana) => Some(usd1_solana::audit::SolanaAudit::from_config(
            solana,
            &config.chains,
        )?),
        None => None,
    };
    tokio::spawn(supply::run(
        store.db().clone(),
        audited,
        solana_audit,
        issued,
        Duration::from_millis(config.audit.interval_ms.max(1000)),
    ));
    tokio::spawn(watch_balances(balances));

    let listener = tokio::net::TcpListener::bind(config.service.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.service.listen))?;
    tracing::info!(listen = %config.service.listen, submitter = %signer.address(), "usd1-relayer started");
    let explorer = explorer::Explorer::new(
        &config,
        store.clone(),
        &rpcs,
        pipeline
            .targets
            .iter()
            .map(|(d, t)| (*d, (t.chain.clone(), t.confirmations)))
            .collect(),
    )?;
    let api = api::ApiState {
        store: store.clone(),
        feeds,
        expected_feeds,
        explorer: Some(Arc::new(explorer)),
    };
    usd1_runtime::serve(
        listener,
        api::router(api),
        usd1_runtime::ServerLimits::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    store.flush().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Each configured domain's bridge identity, as messages name it: an EVM chain's
/// TokenMessenger, Solana's mint (DESIGN §4).
fn bridge_identities(
    config: &RelayerConfig,
) -> Result<HashMap<usd1_core::Domain, usd1_core::B256>, String> {
    let mut ids: HashMap<_, _> = config
        .chains
        .values()
        .map(|c| {
            (
                c.domain,
                usd1_core::message::address_to_bytes32(c.token_messenger),
            )
        })
        .collect();
    if let Some(solana) = &config.solana {
        let mint = usd1_config::parse_word(&solana.mint)
            .ok_or_else(|| format!("solana.mint: {:?} is not a public key", solana.mint))?;
        ids.insert(solana.domain, mint);
    }
    Ok(ids)
}

/// Syncs the account nonces (retrying until the destinations answer), then advances the
/// queue every tick, or at once when a watcher queued something new.
async fn run_pipeline(pipeline: Arc<Pipeline>, wake: Arc<Notify>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match pipeline.sync_nonces().await {
            Ok(()) => break,
            Err(e) => tracing::warn!(error = %e, "cannot read submitter nonces yet; retrying"),
        }
    }
    loop {
        if let Err(e) = pipeline.tick().await {
            tracing::error!(error = %e, "queue tick failed");
        }
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {}
        }
    }
}

async fn watch_balances(dests: Vec<(String, Arc<EvmDestination>)>) {
    let mut tick = tokio::time::interval(Duration::from_secs(15));
    loop {
        tick.tick().await;
        for (name, d) in &dests {
            if let Ok(wei) = d.balance().await {
                metrics::BALANCE
                    .with_label_values(&[name])
                    .set((wei / 1_000_000_000) as i64);
            }
        }
    }
}
