//! What can go wrong while the attester signs, governs or answers: each cause keeps its own
//! type. A setting read at start names its field.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AttesterError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error(transparent)]
    Violations(#[from] crate::violations::ViolationError),
    #[error("signing: {0}")]
    Sign(String),
    /// The runtime is shutting down: the blocking task never ran.
    #[error("{0}")]
    NotRun(#[from] usd1_runtime::NotRun),
    #[error(transparent)]
    Chain(#[from] usd1_core::traits::ChainError),
    #[error(transparent)]
    Solana(#[from] usd1_solana::rpc::SolanaError),
    #[error(transparent)]
    Token(#[from] usd1_config::TokenError),
    /// Opening the store, a setting, listening and serving: as for every service.
    #[error(transparent)]
    Service(#[from] usd1_runtime::ServiceError),
}
