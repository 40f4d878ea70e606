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
}

impl AppState {
    pub fn label(&self, d: Domain) -> &str {
        self.names.get(&d).map(String::as_str).unwrap_or("other")
    }

    /// Runs `f` whole on tokio's blocking pool: the governor's decisions and signing, sync
    /// code that calls the store ([`crate::store::BlockingStore`]) many times under the
    /// governor's lock — one hop off the async workers instead of one per store call.
    pub async fn blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T, String>
    where
        F: FnOnce(&AppState) -> Result<T, String> + Send + 'static,
        T: Send + 'static,
    {
        let state = self.clone();
        usd1_runtime::blocking(move || f(&state))
            .await
            .map_err(|e| e.to_string())?
    }
}
