//! The Solana cluster of the config as the services use it.

use crate::conf::SolanaConfig;
use crate::rpc::SolanaError;
use crate::watcher::SolanaWatcher;
use std::collections::HashMap;
use usd1_core::{Domain, B256};

/// The cluster's bridge-burn watcher, its cursor in `db`'s `watcher/solana` tree; burns are
/// addressed to `messengers` (domain → the TokenMessenger registered for it).
pub fn source(
    solana: &SolanaConfig,
    messengers: HashMap<Domain, B256>,
    db: &sled::Db,
) -> Result<SolanaWatcher, SolanaError> {
    let tree = db
        .open_tree("watcher/solana")
        .map_err(|e| SolanaError::Invalid(format!("store: {e}")))?;
    SolanaWatcher::from_config(solana, messengers, tree)
}
