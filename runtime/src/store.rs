//! What the services' sled stores share: one error type, and the rule that every call that
//! reaches sled (transactions, fsyncs, scans wait on the disk) runs on tokio's blocking pool,
//! never on an async worker. A flush is sled's synchronous `flush` there, never
//! `flush_async`, which deadlocks sled 0.34 (docs/decisions.md, "Storage").

use sled::transaction::TransactionError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: corrupt record: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("store: {0}")]
    NotRun(#[from] crate::NotRun),
}

impl From<TransactionError<serde_json::Error>> for StoreError {
    fn from(e: TransactionError<serde_json::Error>) -> Self {
        match e {
            TransactionError::Abort(e) => StoreError::Corrupt(e),
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

/// Runs `f` with a handle to the store's trees (a few `Arc` clones) on the blocking pool.
pub async fn off_workers<S, T, F>(trees: S, f: F) -> Result<T, StoreError>
where
    S: Send + 'static,
    F: FnOnce(&S) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    crate::blocking(move || f(&trees)).await?
}
