//! A backfill's signatures are journaled, then indexed when the attester is idle.
//!
//! Storing a signature in its two indexes (by message hash, by source transaction) is two
//! random-key sled entries: ~10 µs a signature, about as much as everything else the
//! attester does for a backfill burn beside signing it (docs/benchmarks.md, "Attester
//! backfill"). A run of at least [`JOURNAL_AT`] signatures is therefore committed as a few
//! sequential `journal` entries of [`JOURNAL_ENTRY`] records each (cheap: they append), in the
//! same transaction as the governor's window entries and meta, so nothing the governor counts
//! is weakened. The records are served from memory ([`Pending`]) from their commit on, and
//! [`BlockingStore::index_journal`] moves them into the indexes once no journal write has
//! happened for a while (the indexer task, `compose::spawn_journal_indexer`), each entry in
//! one transaction that also removes it; a commit and the indexing of an entry take turns
//! (`journal_turn`), so records are never forgotten before they were added. At open, a journal left by a crash is indexed before
//! anything is served. At most [`PENDING_MAX`] records wait; past that a run is written to the
//! indexes at once, as a small run always is.

use super::{tx_key, BlockingStore, SignedMessage, StoreError, TxResult};
use sled::transaction::Transactional;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use usd1_core::{Domain, TxRef, B256};

/// Runs of at least this many signatures are journaled.
pub const JOURNAL_AT: usize = 64;

/// Records in one journal entry (~60 KB of JSON).
pub const JOURNAL_ENTRY: usize = 64;

/// At most this many journaled records wait for the indexer (~30 MB in memory); watchers
/// committing at the same moment may pass it by a run each (the check is not under the
/// journal's turn), which is harmless.
pub const PENDING_MAX: usize = 20_000;

/// The journaled records not indexed yet, by message hash and by (domain, source tx).
#[derive(Default)]
pub struct Pending {
    records: HashMap<B256, SignedMessage>,
    by_tx: HashMap<Vec<u8>, Vec<B256>>,
}

impl Pending {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn get(&self, hash: &B256) -> Option<&SignedMessage> {
        self.records.get(hash)
    }

    /// The records of a source transaction (`prefix`: domain, then the tx id).
    pub fn by_tx(&self, prefix: &[u8]) -> Vec<SignedMessage> {
        self.by_tx
            .get(prefix)
            .into_iter()
            .flatten()
            .filter_map(|h| self.records.get(h).cloned())
            .collect()
    }

    pub(super) fn insert(&mut self, record: &SignedMessage, hash: B256) {
        if let Some(tx) = TxRef::parse(&record.source_tx) {
            let prefix = tx_prefix(record.source_domain, &tx);
            self.by_tx.entry(prefix).or_default().push(hash);
        }
        self.records.insert(hash, record.clone());
    }

    fn remove(&mut self, hash: &B256) {
        let Some(record) = self.records.remove(hash) else {
            return;
        };
        if let Some(tx) = TxRef::parse(&record.source_tx) {
            let prefix = tx_prefix(record.source_domain, &tx);
            if let Some(hashes) = self.by_tx.get_mut(&prefix) {
                hashes.retain(|h| h != hash);
                if hashes.is_empty() {
                    self.by_tx.remove(&prefix);
                }
            }
        }
    }
}

/// (domain, tx id): the by-transaction index's key before the message hash.
pub fn tx_prefix(domain: Domain, tx: &TxRef) -> Vec<u8> {
    let mut k = domain.0.to_be_bytes().to_vec();
    k.extend_from_slice(tx.as_bytes());
    k
}

/// A journal entry: its sequential key (sled's id generator), the JSON of its records.
pub type Entry = ([u8; 8], Vec<u8>);

/// A run's journal entries, up to `JOURNAL_ENTRY` records each.
pub fn entries(db: &sled::Db, records: &[&SignedMessage]) -> Result<Vec<Entry>, StoreError> {
    records
        .chunks(JOURNAL_ENTRY)
        .map(|chunk| Ok((db.generate_id()?.to_be_bytes(), serde_json::to_vec(chunk)?)))
        .collect()
}

impl BlockingStore {
    /// Whether a run of `n` signatures is journaled rather than indexed at once.
    pub(super) fn journals(&self, n: usize) -> bool {
        n >= JOURNAL_AT && self.pending_lock().len() + n <= PENDING_MAX
    }

    pub(super) fn pending_lock(&self) -> std::sync::RwLockReadGuard<'_, Pending> {
        self.pending.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn pending_write(&self) -> std::sync::RwLockWriteGuard<'_, Pending> {
        self.pending.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Tests widen the moment between a journal commit and its records becoming pending
    /// (microseconds), where an indexer running at once must not forget them.
    #[cfg(test)]
    pub(super) fn pause_after_commit(&self) {
        let us = self.pause_after_commit_us.load(Ordering::Relaxed);
        if us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(us));
        }
    }

    pub(super) fn journal_turn(&self) -> std::sync::MutexGuard<'_, ()> {
        self.journal_turn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many signatures wait in the journal.
    pub fn pending_count(&self) -> usize {
        self.pending_lock().len()
    }

    /// Unix ms of the last journal write (0: none since open).
    pub fn journaled_at_ms(&self) -> u64 {
        self.journaled_at.load(Ordering::Relaxed)
    }

    /// Moves every journal entry into the indexes, one transaction an entry (its records in,
    /// the entry out), and forgets the pending records it held: they are read from the
    /// indexes from then on. Returns how many records were indexed.
    pub fn index_journal(&self) -> Result<usize, StoreError> {
        let mut indexed = 0;
        for entry in self.journal.iter() {
            let (key, value) = entry?;
            // A corrupt entry stops the indexing (and so the attester's start): its records
            // are signatures that must not be lost unnoticed. The error names the entry.
            let records: Vec<SignedMessage> = serde_json::from_slice(&value).map_err(|e| {
                let id = key.as_ref().try_into().map_or(0, u64::from_be_bytes);
                StoreError::Corrupt(serde::de::Error::custom(format!("journal entry {id}: {e}")))
            })?;
            let mut writes = Vec::with_capacity(records.len());
            for r in &records {
                let hash: B256 = r.message_hash.parse().map_err(|_| {
                    let what = format!("a journaled record's hash {:?}", r.message_hash);
                    StoreError::Corrupt(serde::de::Error::custom(what))
                })?;
                let tx_index =
                    TxRef::parse(&r.source_tx).map(|tx| tx_key(r.source_domain, &tx, &hash));
                writes.push((hash, serde_json::to_vec(r)?, tx_index));
            }
            // The entry's commit is done (it was read), but its records may not be pending yet.
            let _turn = self.journal_turn();
            (&self.journal, &self.signed, &self.by_tx).transaction(
                |(journal, signed, by_tx)| {
                    for (hash, value, tx_index) in &writes {
                        signed.insert(hash.as_slice(), value.as_slice())?;
                        if let Some(k) = tx_index {
                            by_tx.insert(k.as_slice(), &[])?;
                        }
                    }
                    journal.remove(&key)?;
                    TxResult::Ok(())
                },
            )?;
            // In the indexes now: readers find them there whether or not they are still
            // pending, so they are forgotten after the commit, never before.
            let mut pending = self.pending_write();
            writes.iter().for_each(|(hash, _, _)| pending.remove(hash));
            indexed += writes.len();
        }
        Ok(indexed)
    }
}
