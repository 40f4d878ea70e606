//! Why the relayer could not start, or stopped serving: each cause keeps its own type, and
//! a setting read at start names its field.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error(transparent)]
    Chain(#[from] usd1_core::traits::ChainError),
    #[error(transparent)]
    Solana(#[from] usd1_solana::rpc::SolanaError),
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    /// Opening the store, a setting, listening and serving: as for every service.
    #[error(transparent)]
    Service(#[from] usd1_runtime::ServiceError),
}
