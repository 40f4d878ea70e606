//! Why the relayer could not start, or stopped serving: each cause keeps its own type, and
//! a setting read at start names its field.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open store {path}: {source}")]
    OpenStore { path: String, source: sled::Error },
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
    /// A setting that cannot be used, e.g. `relayer.policy.…` or `solana.mint`.
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

impl StartError {
    /// `field`'s value `text` is not a base58 public key.
    pub fn not_a_key(field: &str, text: &str) -> Self {
        Self::Setting {
            field: field.into(),
            reason: format!("{text:?} is not a public key"),
        }
    }
}
