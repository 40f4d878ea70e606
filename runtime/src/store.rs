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
    #[error("store: written by a newer {service} (format {stored}; this one reads formats up to {supported}): run that version or a newer one")]
    NewerFormat {
        service: &'static str,
        stored: u32,
        supported: u32,
    },
}

/// Where a store keeps its format version (sled's default tree).
const FORMAT_KEY: &[u8] = b"store_format";

/// Guards a store against a binary older than its data: fails if the store was written in a
/// format newer than `supported`, and marks an older (or new) store with `supported`,
/// durably, before this binary writes anything in that format. The mark means "written by
/// versions reading up to this format": nothing is converted, so the store may still hold
/// older records (a later migration must not skip them on the strength of the mark). A format number goes up
/// whenever a version writes what an older one would misread (docs/decisions.md,
/// "Storage"). Sync: at startup.
pub fn check_format(
    db: &sled::Db,
    service: &'static str,
    supported: u32,
) -> Result<(), StoreError> {
    let stored = match db.get(FORMAT_KEY)? {
        Some(v) => v.as_ref().try_into().map(u32::from_be_bytes).map_err(|_| {
            StoreError::Corrupt(serde::de::Error::custom(format!(
                "the store's format mark is {} bytes, not 4",
                v.len()
            )))
        })?,
        None => 0,
    };
    if stored > supported {
        return Err(StoreError::NewerFormat {
            service,
            stored,
            supported,
        });
    }
    if stored < supported {
        db.insert(FORMAT_KEY, &supported.to_be_bytes())?;
        db.flush()?;
    }
    Ok(())
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

#[cfg(test)]
mod format_tests {
    use super::*;

    fn db() -> sled::Db {
        sled::Config::new().temporary(true).open().unwrap()
    }

    #[test]
    fn a_new_or_older_store_is_marked_with_this_format() {
        let db = db();
        check_format(&db, "usd1-test", 1).unwrap();
        assert_eq!(
            db.get(FORMAT_KEY).unwrap().unwrap().as_ref(),
            1u32.to_be_bytes()
        );
        check_format(&db, "usd1-test", 3).unwrap();
        assert_eq!(
            db.get(FORMAT_KEY).unwrap().unwrap().as_ref(),
            3u32.to_be_bytes()
        );
        check_format(&db, "usd1-test", 3).unwrap();
    }

    #[test]
    fn a_store_of_a_newer_format_is_refused_with_both_numbers() {
        let db = db();
        check_format(&db, "usd1-test", 3).unwrap();
        let err = check_format(&db, "usd1-test", 2).unwrap_err();
        assert!(matches!(
            err,
            StoreError::NewerFormat {
                stored: 3,
                supported: 2,
                ..
            }
        ));
        let text = err.to_string();
        assert!(
            text.contains("newer usd1-test")
                && text.contains("format 3")
                && text.contains("up to 2"),
            "{text}"
        );
        assert_eq!(
            db.get(FORMAT_KEY).unwrap().unwrap().as_ref(),
            3u32.to_be_bytes(),
            "left as it was"
        );
    }

    #[test]
    fn a_corrupt_format_mark_is_an_error() {
        let db = db();
        db.insert(FORMAT_KEY, b"xy".as_slice()).unwrap();
        assert!(matches!(
            check_format(&db, "usd1-test", 1),
            Err(StoreError::Corrupt(_))
        ));
    }
}
