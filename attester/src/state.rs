use crate::error::AttesterError;
use crate::metrics;
use crate::signer::EvmAttesterKey;
use crate::store::Store;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use usd1_core::{Domain, B256};

/// A message seen above the final height: answered as "pending_confirmations".
#[derive(Clone, Debug)]
pub struct Unconfirmed {
    pub source_domain: Domain,
    pub message: String,
    pub source_tx: usd1_core::TxRef,
}

/// What `/readyz` reports per chain.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChainStatus {
    pub domain: u32,
    pub head: u64,
    pub final_height: u64,
    pub next_block: u64,
    pub last_ok_ms: u64,
    pub poll_interval_ms: u64,
    pub last_error: Option<String>,
}

pub struct AppState {
    pub store: Store,
    pub key: EvmAttesterKey,
    pub unconfirmed: RwLock<HashMap<B256, Unconfirmed>>,
    pub chains: RwLock<BTreeMap<String, ChainStatus>>,
    /// Present when the attester co-signs Solana mints.
    pub cosigner: Option<crate::cosign::Cosigner>,
    /// Domain → chain name, for metric labels (a bounded set).
    pub names: BTreeMap<Domain, String>,
    /// Holds burns over the limits instead of signing them (DESIGN §10).
    pub governor: crate::governor::Governor,
    /// Signed messages a reorg deeper than the finality rule orphaned: no longer served.
    pub violations: crate::violations::Violations,
    /// Attestation requests that may wait for a signature at once (`?wait_ms=`); beyond
    /// them a request is answered at once, so waiting requests cannot hold every connection
    /// the server serves.
    pub waiting: tokio::sync::Semaphore,
    /// Each source chain's watch loop, to wake when a relayer waits for a burn from it.
    pub wakes: RwLock<HashMap<Domain, usd1_runtime::watch::Wake>>,
}

/// How many attestation requests may wait for a signature at once.
pub const MAX_WAITING: usize = 256;

impl AppState {
    /// A relayer waits for `hash`, a burn this attester has seen below finality: poll its
    /// source chain now (it may have become final since the last poll) rather than at the
    /// next interval. A hash it has not seen wakes nothing: anyone can send those, and each
    /// poll costs RPC calls. The watch loops bound how often wakes poll, whoever sends them.
    pub fn wake_watcher_for(&self, hash: &B256) {
        let source = self
            .unconfirmed
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(hash)
            .map(|u| u.source_domain);
        let wakes = self.wakes.read().unwrap_or_else(|p| p.into_inner());
        if let Some(wake) = source.and_then(|domain| wakes.get(&domain)) {
            wake.now();
        }
    }

    /// Creates every series this attester can move at 0, so rates and alerts see them early.
    pub fn init_metrics(&self) {
        let state = self;
        metrics::SIGNATURES.with_label_values(&["secp256k1"]);
        metrics::JOURNAL_PENDING.set(0);
        if state.cosigner.is_some() {
            metrics::SIGNATURES.with_label_values(&["ed25519"]);
        }
        for chain in state.governor.chains.values() {
            let label = [chain.name.as_str()];
            let limit = chain.limits.daily_limit.map_or(0.0, |l| l as f64 / 1e6);
            metrics::GOVERNOR_WINDOW_LIMIT
                .with_label_values(&label)
                .set(limit);
            metrics::GOVERNOR_WINDOW_USED.with_label_values(&label);
            metrics::GOVERNOR_HELD.with_label_values(&label);
            metrics::GOVERNOR_HELD_VALUE.with_label_values(&label);
        }
        for src in state.names.values() {
            metrics::BURN_TO_FINAL.with_label_values(&[src]);
            metrics::FINAL_TO_ATTESTED.with_label_values(&[src]);
            for dst in state.names.values() {
                if src != dst {
                    metrics::OBSERVED.with_label_values(&[src, dst]);
                    metrics::ATTESTED.with_label_values(&[src, dst]);
                }
            }
        }
    }

    pub fn label(&self, d: Domain) -> &str {
        self.names.get(&d).map(String::as_str).unwrap_or("other")
    }

    /// Runs `f` whole on tokio's blocking pool: the governor's decisions and signing, sync
    /// code that calls the store ([`crate::store::BlockingStore`]) many times under the
    /// governor's lock — one hop off the async workers instead of one per store call.
    pub async fn blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T, AttesterError>
    where
        F: FnOnce(&AppState) -> Result<T, AttesterError> + Send + 'static,
        T: Send + 'static,
    {
        let state = self.clone();
        usd1_runtime::blocking(move || f(&state)).await?
    }
}

impl crate::governor::Host for AppState {
    fn store(&self) -> &Store {
        &self.store
    }
    fn key(&self) -> &EvmAttesterKey {
        &self.key
    }
    fn label(&self, d: Domain) -> &str {
        AppState::label(self, d)
    }
}
