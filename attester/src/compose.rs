//! How `main` puts the attester together from its config: the state (store, keys, the
//! governor, the co-signer), the governor's release loop, and one watch loop per source.

use crate::error::AttesterError;
use crate::state::{AppState, ChainStatus};
use crate::{cosign, governor, signer, store, violations, watch};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use usd1_config::AttesterConfig;
use usd1_core::Source;
use usd1_evm::EvmRpc;

/// The attester's state over its store `db`, signing with `key`.
pub fn state(
    config: &AttesterConfig,
    db: &sled::Db,
    key: alloy::signers::local::PrivateKeySigner,
) -> Result<AppState, AttesterError> {
    let store = store::Store::open(db.clone())?;
    let cosigner = match &config.solana {
        Some(solana) => Some(cosign::Cosigner::new(config, solana, db)?),
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
    Ok(AppState {
        store,
        key: signer::EvmAttesterKey::new(key),
        cosigner,
        unconfirmed: RwLock::new(Default::default()),
        chains: RwLock::new(Default::default()),
        names,
        governor: governor(config),
        violations: violations::Violations::open(db)?,
        waiting: tokio::sync::Semaphore::new(crate::state::MAX_WAITING),
        wakes: Default::default(),
    })
}

/// The governor of every source chain; an unusable admin token or limit is a config error
/// (exit 2, naming it).
fn governor(config: &AttesterConfig) -> governor::Governor {
    let admin_token = config
        .governor
        .read_admin_token()
        .unwrap_or_else(|e| usd1_runtime::fatal_config("usd1-attester", e));
    let governor = governor::Governor::from_config(config, admin_token)
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
    governor
}

/// Releases what the governor holds once it is due, every second.
pub fn spawn_governor_releases(state: Arc<AppState>) {
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

/// How long the journal goes without a write before it is indexed: a backfill journals a
/// run every few ms, so a pause this long is usually its end (the store's `journal`
/// module). A slow RPC read in the middle of one lets the indexer run early: correct, only
/// slower.
pub const JOURNAL_QUIET_MS: u64 = 500;

/// Indexes the journaled signatures once no journal write happened for `quiet_ms`.
pub fn spawn_journal_indexer(store: store::Store, quiet_ms: u64) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(quiet_ms.div_ceil(2).max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let started = std::time::Instant::now();
            let indexed = store.index_journal_if_quiet(quiet_ms).await;
            crate::metrics::JOURNAL_PENDING.set(store.blocking().pending_count() as i64);
            match indexed {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    signatures = n,
                    ms = started.elapsed().as_millis() as u64,
                    "indexed the journaled signatures"
                ),
                // Stuck here, signatures pile up in memory and the next start fails: loud.
                Err(e) => tracing::error!(error = %e, "indexing the journal failed; trying again"),
            }
        }
    });
}

/// A source chain and its poll interval (ms).
pub type Polled = (Arc<dyn Source>, u64);

/// Every source chain of the config, EVM and Solana alike.
pub fn sources(config: &AttesterConfig, db: &sled::Db) -> Result<Vec<Polled>, AttesterError> {
    let mut sources: Vec<Polled> = Vec::new();
    for (name, chain) in &config.chains {
        let rpc = Arc::new(EvmRpc::new(name, &chain.rpc_urls)?);
        let tree = db.open_tree(format!("watcher/{}", chain.domain))?;
        let watcher = usd1_evm::connect::source(name, chain, rpc, tree, true);
        sources.push((Arc::new(watcher), chain.poll_interval_ms));
    }
    if let Some(solana) = &config.solana {
        let messengers = usd1_config::remote_messengers(&config.chains);
        let watcher = usd1_solana::connect::source(solana, messengers, db)?;
        sources.push((Arc::new(watcher), solana.poll_interval_ms));
    }
    Ok(sources)
}

/// One watch loop per source, each feeding the attester's signing intake.
pub fn spawn_watchers(state: &Arc<AppState>, sources: Vec<Polled>) {
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
        let wake = usd1_runtime::watch::Wake::default();
        state
            .wakes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(source.domain(), wake.clone());
        tokio::spawn(usd1_runtime::watch::run(source, poll, intake.clone(), wake));
    }
}
