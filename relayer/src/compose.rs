//! How `main` puts the relayer together from its config: one function per part (the
//! destinations, the pipeline, the sources, the supply audit), so `main` only composes.

use crate::pipeline::{Pipeline, Settings, Target};
use crate::start::StartError;
use crate::{attesters, metrics, policy, store, supply};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use usd1_config::RelayerConfig;
use usd1_core::traits::Destination;
use usd1_core::{Domain, Source};
use usd1_evm::{EvmDestination, EvmRpc};

/// Whether a `relayer.sources`/`relayer.destinations` list takes `d` (empty: every domain).
pub fn serves(list: &[Domain], d: Domain) -> bool {
    list.is_empty() || list.contains(&d)
}

/// What the relayer delivers to and reads from.
pub struct Chains {
    /// Every EVM chain's RPC, by chain name (the sources, the audit and the explorer use them).
    pub rpcs: HashMap<String, Arc<EvmRpc>>,
    pub targets: HashMap<Domain, Target>,
    /// The EVM destinations whose submitter balance is exported.
    pub balances: Vec<(String, Arc<EvmDestination>)>,
    /// The credential for the attesters' co-sign route, where a destination takes
    /// co-signatures.
    pub cosign_token: Option<String>,
}

pub fn chains(
    config: &RelayerConfig,
    signer: &alloy::signers::local::PrivateKeySigner,
) -> Result<Chains, StartError> {
    let r = &config.relayer;
    let mut targets = HashMap::new();
    let mut balances = Vec::new();
    let mut rpcs = HashMap::new();
    for (name, chain) in &config.chains {
        let rpc = Arc::new(EvmRpc::new(name, &chain.rpc_urls)?);
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
            .with_finality(chain.finality, chain.delivery_confirmations),
        );
        balances.push((name.clone(), dest.clone()));
        targets.insert(
            chain.domain,
            Target {
                chain: dest as Arc<dyn Destination>,
                submit_lock: Mutex::new(()),
                verifier: Mutex::new(None),
            },
        );
    }
    let mut cosign_token = None;
    if let Some((domain, target, token)) = solana_target(config)? {
        targets.insert(domain, target);
        cosign_token = Some(token);
    }
    Ok(Chains {
        rpcs,
        targets,
        balances,
        cosign_token,
    })
}

/// The Solana destination, when the config has one this relayer delivers to, and the
/// co-sign credential it needs.
fn solana_target(config: &RelayerConfig) -> Result<Option<(Domain, Target, String)>, StartError> {
    let r = &config.relayer;
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
            let rpc = usd1_solana::rpc::SolanaRpc::with_fallback(&solana.rpc_urls)?;
            let dest = usd1_solana::destination::SolanaDestination::new(
                rpc,
                solana.domain,
                (solana.mint, solana.multisig),
                read(payer, "payer_key_file"),
                read(claim, "claim_authority_key_file"),
                solana.retired_claim_authorities.clone(),
            );
            // Seen at `confirmed` first, then Confirmed in the queue once `finalized`: the
            // destination's finality rule decides, no count of confirmations on top of it.
            return Ok(Some((
                solana.domain,
                Target {
                    chain: Arc::new(dest),
                    submit_lock: Mutex::new(()),
                    verifier: Mutex::new(None),
                },
                cosign_token,
            )));
        }
    }
    Ok(None)
}

/// The queue's pipeline over these destinations.
pub fn pipeline(
    config: &RelayerConfig,
    store: &store::Store,
    targets: HashMap<Domain, Target>,
    cosign_token: Option<String>,
) -> Result<Pipeline, StartError> {
    let r = &config.relayer;
    let attesters = attesters::HttpAttesters::new(
        r.attesters.clone(),
        Duration::from_millis(r.attester_timeout_ms),
    )?;
    Ok(Pipeline {
        store: store.clone(),
        targets,
        signatures: Arc::new(attesters),
        cosigners: Arc::new(crate::proof::cosign_http::HttpCoSigners::new(
            &r.attesters,
            cosign_token,
        )?),
        settings: Settings {
            max_refusals: r.policy.max_refusals,
            retry_base: Duration::from_millis(r.retry_base_ms),
            retry_max: Duration::from_millis(r.retry_max_ms),
            stuck_after: Duration::from_millis(r.stuck_after_ms),
            receipt_poll: Duration::from_millis(500),
            max_concurrent_steps: r.max_concurrent_steps,
            steps_per_tick: crate::pipeline::STEPS_PER_TICK,
            max_batch: r.max_batch,
        },
        names: metrics::ChainNames(
            config
                .chains
                .iter()
                .map(|(n, c)| (c.domain, n.clone()))
                .chain(config.solana.iter().map(|s| (s.domain, s.name.clone())))
                .collect(),
        ),
        policy: policy::RelayPolicy::new(&r.policy, bridge_identities(config))?,
        deciding: Default::default(),
        shared: Default::default(),
    })
}

/// A source chain and its poll interval (ms).
pub type Polled = (Arc<dyn Source>, u64);

/// Every source chain this relayer reads, with its poll interval (ms).
pub fn sources(
    config: &RelayerConfig,
    store: &store::Store,
    rpcs: &HashMap<String, Arc<EvmRpc>>,
) -> Result<Vec<Polled>, StartError> {
    let r = &config.relayer;
    let mut sources: Vec<Polled> = Vec::new();
    for (name, chain) in &config.chains {
        if !serves(&r.sources, chain.domain) {
            continue;
        }
        let tree = store.db().open_tree(format!("watcher/{}", chain.domain))?;
        let watcher = usd1_evm::connect::source(name, chain, rpcs[name].clone(), tree, false);
        sources.push((Arc::new(watcher), chain.poll_interval_ms));
    }
    if let Some(solana) = &config.solana {
        if serves(&r.sources, solana.domain) {
            let messengers = usd1_config::remote_messengers(&config.chains);
            let watcher = usd1_solana::connect::source(solana, messengers, store.db())?;
            sources.push((Arc::new(watcher), solana.poll_interval_ms));
        }
    }
    Ok(sources)
}

/// Starts the supply audit's background loop.
pub fn spawn_supply_audit(
    config: &RelayerConfig,
    store: &store::Store,
    rpcs: &HashMap<String, Arc<EvmRpc>>,
) -> Result<(), StartError> {
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
            config.chains.values().map(|c| c.domain).collect(),
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
    Ok(())
}

/// Each configured domain's bridge identity, as messages name it: an EVM chain's
/// TokenMessenger, Solana's mint (DESIGN §4).
fn bridge_identities(config: &RelayerConfig) -> HashMap<usd1_core::Domain, usd1_core::B256> {
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
        ids.insert(solana.domain, solana.bridge_identity());
    }
    ids
}
