//! Messages this attester read as final and signed whose source blocks were later reorged
//! away (a reorg deeper than the finality rule: the watcher names them). The protocol cannot
//! take a signature back, but the attester stops serving it from then on, so a relayer that
//! has not delivered yet cannot gather it; operators are alerted by the watcher's
//! `usd1_finality_violations_total`. Kept in sled (they are few) and in memory for the API.

use std::collections::HashSet;
use std::sync::RwLock;
use usd1_core::B256;

pub struct Violations {
    tree: sled::Tree,
    known: RwLock<HashSet<B256>>,
}

#[derive(Debug, thiserror::Error)]
#[error("finality-violation store: {0}")]
pub struct ViolationError(String);

impl Violations {
    /// Opens the tree and loads what it holds (startup).
    pub fn open(db: &sled::Db) -> Result<Self, ViolationError> {
        let tree = db
            .open_tree("finality_violated")
            .map_err(|e| ViolationError(e.to_string()))?;
        let mut known = HashSet::new();
        for entry in tree.iter() {
            let (k, _) = entry.map_err(|e| ViolationError(e.to_string()))?;
            if k.len() == 32 {
                known.insert(B256::from_slice(&k));
            }
        }
        Ok(Self {
            tree,
            known: RwLock::new(known),
        })
    }

    pub fn contains(&self, hash: &B256) -> bool {
        self.known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(hash)
    }

    /// Records `hashes` (with the time, ms) durably, off the async workers, before the
    /// watcher's cursor moves past the reorg.
    pub async fn mark(&self, hashes: &[B256], at_ms: u64) -> Result<(), ViolationError> {
        let tree = self.tree.clone();
        let owned = hashes.to_vec();
        tokio::task::spawn_blocking(move || {
            let mut batch = sled::Batch::default();
            for h in &owned {
                batch.insert(h.as_slice(), &at_ms.to_be_bytes());
            }
            tree.apply_batch(batch)?;
            tree.flush().map(|_| ())
        })
        .await
        .map_err(|e| ViolationError(e.to_string()))?
        .map_err(|e| ViolationError(e.to_string()))?;
        self.known
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .extend(hashes.iter().copied());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn marked_messages_are_known_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let v = Violations::open(&db).unwrap();
        let h = B256::repeat_byte(7);
        assert!(!v.contains(&h));
        v.mark(&[h], 1).await.unwrap();
        assert!(v.contains(&h));
        drop(v);
        drop(db);
        let db = usd1_runtime::testing::reopen_sled(dir.path());
        assert!(Violations::open(&db).unwrap().contains(&h));
    }
}
