//! What both services can fail on while starting or serving, whatever they do: opening their
//! store, a setting that cannot be used, binding and serving the API. Each service's own
//! error wraps it beside its own causes.

use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("cannot open store {path}: {source}")]
    OpenStore { path: String, source: sled::Error },
    /// A setting that cannot be used, e.g. `relayer.policy.allow` or `solana.multisig`.
    #[error("{field}: {reason}")]
    Setting { field: String, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving the API: {0}")]
    Serve(std::io::Error),
}

impl ServiceError {
    pub fn setting(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Setting {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The service's sled store at `path` (`service.db_path`).
pub fn open_store(path: &Path) -> Result<sled::Db, ServiceError> {
    sled::Config::new()
        .path(path)
        .cache_capacity(STORE_CACHE_BYTES)
        .open()
        .map_err(|source| ServiceError::OpenStore {
            path: path.display().to_string(),
            source,
        })
}

/// sled's page cache (its default is 1 GiB): a deep queue is read through the relayer's
/// `due` index and each record once per step, so a larger cache only grows the resident
/// memory (measured with 100k queued records: deploy/bench-scale.sh).
pub const STORE_CACHE_BYTES: u64 = 64 << 20;

/// The API's listener on `addr` (`service.listen`).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServiceError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServiceError::Listen { addr, source })
}

/// Serves `router` on `listener` with the default limits until shutdown is asked for.
pub async fn serve_api(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> Result<(), ServiceError> {
    crate::serve(listener, router, crate::ServerLimits::default())
        .await
        .map_err(ServiceError::Serve)
}
