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
    /// A setting that cannot be used, e.g. `governor.chains.base.daily_limit`.
    #[error("{field}: {reason}")]
    Setting { field: String, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("serving the API: {0}")]
    Serve(std::io::Error),
}

impl AttesterError {
    /// `field`'s value `text` is not a base58 public key.
    pub fn not_a_key(field: &str, text: &str) -> Self {
        Self::Setting {
            field: field.into(),
            reason: format!("{text:?} is not a public key"),
        }
    }
}
