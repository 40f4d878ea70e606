//! `usd1-attester`: watches every configured source chain itself, signs each final burn
//! message once with its own key, persists the signature before serving it over HTTP.

mod api;
mod cosign;
mod error;
mod governor;
mod metrics;
mod signer;
mod state;
mod store;
mod violations;
mod watch;

use error::AttesterError;
use state::{AppState, ChainStatus};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use usd1_config::{load_evm_signer, AttesterConfig};
use usd1_core::Source;
use usd1_evm::EvmRpc;

#[tokio::main]
async fn main() {
    usd1_evm::tls::install();
    let config: AttesterConfig = usd1_runtime::start_service(
        "usd1-attester",
        "Signs final usd1 burn messages and serves the signatures",
        |c: &AttesterConfig| c.service.log_format,
    );
    usd1_runtime::exit_on_error("usd1-attester", run(config).await);
}

async fn run(config: AttesterConfig) -> Result<(), AttesterError> {
    // A key file the config names but that cannot be used is a config error: exit 2.
    let key = load_evm_signer(&config.signer, "signer.key_file")
        .unwrap_or_else(|e| usd1_runtime::fatal_config("usd1-attester", e));
    let address = key.address();
    let db = sled::open(&config.service.db_path).map_err(|e| AttesterError::Setting {
        field: "service.db_path".into(),
        reason: format!(
            "cannot open store {}: {e}",
            config.service.db_path.display()
        ),
    })?;
    let store = store::Store::open(db.clone())?;
    let cosigner = match &config.solana {
        Some(solana) => Some(cosign::Cosigner::new(&config, solana, &db)?),
        None => None,
    };
    let mut names: std::collections::BTreeMap<_, _> = config
        .chains
        .iter()
        .map(|(n, c)| (c.domain, n.clone()))
        .collect();
    if let Some(solana) = &config.solana {
        names.insert(solana.domain, solana.name.clone());
    }
    // An unreadable or too short admin token is a config error: exit 2, naming it.
    let admin_token = config
        .governor
        .read_admin_token()
        .unwrap_or_else(|e| usd1_runtime::fatal_config("usd1-attester", e));
    let governor = governor::Governor::from_config(&config, admin_token)
        .unwrap_or_else(|e| usd1_runtime::fatal_config("usd1-attester", e));
    for chain in governor.chains.values() {
        let l = &chain.limits;
        tracing::info!(chain = %chain.name,
            daily_limit = %l.daily_limit.map(governor::usd1).unwrap_or_else(|| "off".into()),
            big_transfer = %l.big_transfer.map(governor::usd1).unwrap_or_else(|| "off".into()),
            window_secs = l.window_secs, big_transfer_delay_secs = l.big_delay_secs, "governor");
    }
    if governor.admin_token().is_none() {
        tracing::warn!("governor administration disabled: no governor.admin_token_file (release and drop answer 403)");
    }
    let state = Arc::new(AppState {
        store,
        key: signer::EvmAttesterKey(key),
        cosigner,
        unconfirmed: RwLock::new(Default::default()),
        chains: RwLock::new(Default::default()),
        names,
        governor,
        violations: violations::Violations::open(&db)?,
    });

    state.init_metrics();
    // Releases what the governor holds once it is due, every second.
    {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let now = usd1_runtime::now_ms() / 1000;
                if let Err(e) = state.blocking(move |s| s.governor.tick(s, now)).await {
                    tracing::warn!(error = %e, "governor release step failed; retrying in a second");
                }
            }
        });
    }
    let mut sources: Vec<(Arc<dyn Source>, u64)> = Vec::new();
    for (name, chain) in &config.chains {
        let rpc = Arc::new(EvmRpc::new(name, &chain.rpc_urls)?);
        let tree = db.open_tree(format!("watcher/{}", chain.domain))?;
        let watcher = usd1_evm::connect::source(name, chain, rpc, tree, true);
        sources.push((Arc::new(watcher), chain.poll_interval_ms));
    }
    if let Some(solana) = &config.solana {
        let tree = db.open_tree("watcher/solana")?;
        let watcher =
            usd1_solana::watcher::SolanaWatcher::from_config(solana, &config.chains, tree)?;
        sources.push((Arc::new(watcher), solana.poll_interval_ms));
    }
    let intake = Arc::new(watch::Attest(state.clone()));
    for (source, poll_interval_ms) in sources {
        state
            .chains
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                source.name().to_string(),
                ChainStatus {
                    domain: source.domain().0,
                    poll_interval_ms,
                    ..Default::default()
                },
            );
        let poll = Duration::from_millis(poll_interval_ms);
        tokio::spawn(usd1_runtime::watch::run(source, poll, intake.clone()));
    }

    let listener = tokio::net::TcpListener::bind(config.service.listen)
        .await
        .map_err(|source| AttesterError::Listen {
            addr: config.service.listen,
            source,
        })?;
    tracing::info!(listen = %config.service.listen, attester = %address, chains = config.chains.len(), "usd1-attester started");
    let store = state.store.clone();
    usd1_runtime::serve(
        listener,
        api::router(state),
        usd1_runtime::ServerLimits::default(),
    )
    .await
    .map_err(AttesterError::Serve)?;
    store.flush().await?;
    Ok(())
}
