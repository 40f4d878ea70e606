//! What the attester signed, in sled: message hash → record, and (domain, source tx) →
//! message hashes for lookups by transaction. A backfill's signatures reach those two
//! indexes later: they are committed to a sequential `journal` and served from memory until
//! the attester is idle (the [`journal`] module). A record is flushed before its watcher's cursor
//! moves past it; it can be read (served) from its commit on, a few ms before that flush (a
//! crash in between reads the burn again and the governor decides it again: see
//! `watch::Attest`).
//!
//! The governor's state lives in the same database (DESIGN §10):
//! - `governor/held`: (source domain, source block, nonce, hash) → [`Hold`], so a chain's
//!   holds read in burn order; `governor/held_index`: hash → that key;
//! - `governor/window`: (source domain, stamp, hash) → amount (u128, big-endian): what counts
//!   toward the chain's rolling window, stamped in source-chain seconds; a run of signatures
//!   written together stores one entry a stamp (keyed by its first hash, holding the sum),
//!   and the window sums a stamp's entries;
//! - `governor/meta`: source domain → [`GovernorMeta`];
//! - `governor/dropped`: hash → the [`Hold`] operators dropped (never signed unless released).
//!
//! A signature, the hold it releases, its window entry and the chain's meta are written in
//! one sled transaction ([`BlockingStore::commit_signature`]), so a crash never leaves a
//! message signed and still held, or counted twice.
//!
//! Async code uses [`Store`], whose every call runs on tokio's blocking pool
//! ([`usd1_runtime::blocking`]): transactions, flushes (fsync) and scans wait on the disk and
//! must not stall the async workers. The governor's decisions are sync code that reads and
//! writes the store many times under the governor's lock; they run whole on the blocking pool
//! (`AppState::blocking`) and use [`BlockingStore`], the same trees called directly. A flush
//! is sled's synchronous `flush`, never `flush_async`, which deadlocks sled 0.34
//! (docs/decisions.md, "Storage"); transactions need no lock of ours, sled serializes them.

use crate::governor::logic::HoldKind;
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, Transactional};
use std::collections::BTreeMap;
use usd1_core::{Domain, TxRef, B256};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedMessage {
    pub message: String,
    pub message_hash: String,
    pub signature: String,
    pub source_domain: Domain,
    pub destination_domain: Domain,
    pub nonce: u64,
    pub source_tx: String,
    pub source_block: u64,
    pub signed_at_ms: u64,
}

/// A final message the governor holds (or, with `dropped_at_ms`, that operators dropped).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hold {
    pub message: String,
    pub message_hash: String,
    pub source_domain: Domain,
    pub destination_domain: Domain,
    pub nonce: u64,
    pub source_tx: String,
    pub source_block: u64,
    /// USD1 base units burned.
    pub amount: u128,
    /// Unix seconds of the burn's block (source-chain time).
    pub burn_time: u64,
    pub kind: HoldKind,
    /// The latest it is held (source-chain seconds): a big transfer's burn time + its delay,
    /// a window hold's burn time + the window.
    pub release_at: u64,
    pub held_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_at_ms: Option<u64>,
}

impl Hold {
    pub fn hash(&self) -> B256 {
        self.message_hash.parse().unwrap_or_default()
    }

    fn key(&self) -> Vec<u8> {
        let mut k = self.source_domain.0.to_be_bytes().to_vec();
        k.extend_from_slice(&self.source_block.to_be_bytes());
        k.extend_from_slice(&self.nonce.to_be_bytes());
        k.extend_from_slice(self.hash().as_slice());
        k
    }
}

/// Per source chain: the source-chain time of the last window hold released by the window
/// or its delay (a later burn waits behind it), and the newest burn time seen.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GovernorMeta {
    pub last_release: u64,
    pub latest_burn: u64,
}

/// What is written with a signature, in its transaction.
#[derive(Default)]
pub struct GovernorChange<'a> {
    /// A window entry (stamp, amount) for the message.
    pub window: Option<(u64, u128)>,
    /// The hold (or dropped hold) this signature releases.
    pub released: Option<&'a Hold>,
    /// The chain's new meta.
    pub meta: Option<GovernorMeta>,
}

/// The store for async code: every call runs on tokio's blocking pool.
#[derive(Clone)]
pub struct Store {
    trees: BlockingStore,
}

/// The store's trees called directly, for code already on a blocking thread (the governor's
/// decisions, startup, sync tests). Never call it from an async task.
#[derive(Clone)]
pub struct BlockingStore {
    db: sled::Db,
    signed: sled::Tree,
    by_tx: sled::Tree,
    held: sled::Tree,
    held_index: sled::Tree,
    window: sled::Tree,
    meta: sled::Tree,
    dropped: sled::Tree,
    /// A backfill's signatures before they are indexed (see [`journal`]).
    journal: sled::Tree,
    pending: std::sync::Arc<std::sync::RwLock<journal::Pending>>,
    /// Held by a journaled commit until its records are pending, and by the indexer for each
    /// entry until its records are no longer pending: so the indexer never forgets records
    /// before they were added (they would stay pending for ever).
    journal_turn: std::sync::Arc<std::sync::Mutex<()>>,
    /// Tests: a pause between a journaled commit and its records becoming pending (µs).
    #[cfg(test)]
    pause_after_commit_us: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Unix ms of the last journal write: the indexer waits for a quiet moment.
    journaled_at: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Woken after each signature is stored: the attestation route's long-poll waits on it.
    signed_now: std::sync::Arc<tokio::sync::Notify>,
}

pub use usd1_runtime::store::StoreError;

/// The store's format (`usd1_runtime::store::check_format`): 2 since the journal (an older
/// attester would not see journaled signatures).
const FORMAT: u32 = 2;

type TxResult = Result<(), ConflictableTransactionError<serde_json::Error>>;

impl Store {
    /// Opens the trees and indexes what a crash left in the journal. Sync: it runs at
    /// startup, before any task that could be stalled.
    pub fn open(db: sled::Db) -> Result<Self, StoreError> {
        usd1_runtime::store::check_format(&db, "usd1-attester", FORMAT)?;
        let store = Self {
            trees: BlockingStore {
                signed: db.open_tree("signed")?,
                by_tx: db.open_tree("by_tx")?,
                held: db.open_tree("governor/held")?,
                held_index: db.open_tree("governor/held_index")?,
                window: db.open_tree("governor/window")?,
                meta: db.open_tree("governor/meta")?,
                dropped: db.open_tree("governor/dropped")?,
                journal: db.open_tree("journal")?,
                pending: Default::default(),
                journal_turn: Default::default(),
                #[cfg(test)]
                pause_after_commit_us: Default::default(),
                journaled_at: Default::default(),
                signed_now: Default::default(),
                db,
            },
        };
        let indexed = store.trees.index_journal()?;
        if indexed > 0 {
            tracing::info!(signatures = indexed, "indexed the journal a stop left");
        }
        Ok(store)
    }

    /// Indexes the journal (off the workers), when no journal write happened in the last
    /// `quiet_ms`: returns how many signatures it indexed.
    pub async fn index_journal_if_quiet(&self, quiet_ms: u64) -> Result<usize, StoreError> {
        let quiet = usd1_runtime::now_ms().saturating_sub(self.trees.journaled_at_ms()) >= quiet_ms;
        if !quiet || self.trees.pending_count() == 0 {
            return Ok(0);
        }
        self.run(|s| s.index_journal()).await
    }

    /// Notified after every signature stored (create the `notified()` future before
    /// reading the store, so a signature stored in between is not missed).
    pub fn signed_now(&self) -> &tokio::sync::Notify {
        &self.trees.signed_now
    }

    /// The sync API, for code already on a blocking thread.
    pub fn blocking(&self) -> &BlockingStore {
        &self.trees
    }

    /// Runs `f` with the trees on tokio's blocking pool (a handle is a few `Arc` clones).
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&BlockingStore) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        usd1_runtime::store::off_workers(self.trees.clone(), f).await
    }

    /// One key's read, on the calling worker: an in-memory lookup (one read of the file when
    /// its page is not cached), cheaper than the hop to the blocking pool, which the
    /// attestation route paid on every request (docs/decisions.md, "Storage").
    pub async fn get(&self, hash: &B256) -> Result<Option<SignedMessage>, StoreError> {
        self.trees.get(hash)
    }

    pub async fn by_tx(
        &self,
        domain: Domain,
        tx: &TxRef,
    ) -> Result<Vec<SignedMessage>, StoreError> {
        let tx = tx.clone();
        self.run(move |s| s.by_tx(domain, &tx)).await
    }

    pub async fn all_holds(&self) -> Result<Vec<Hold>, StoreError> {
        self.run(|s| s.all_holds()).await
    }

    pub async fn all_dropped(&self) -> Result<Vec<Hold>, StoreError> {
        self.run(|s| s.all_dropped()).await
    }

    /// How many messages are signed (sled counts by walking the tree); one indexed from the
    /// journal while it is counted may count twice, never zero times.
    pub async fn count(&self) -> Result<usize, StoreError> {
        self.run(|s| Ok(s.count())).await
    }

    /// Indexes the journal, whatever the moment (a graceful stop: the store is left with
    /// nothing pending).
    pub async fn index_journal(&self) -> Result<usize, StoreError> {
        self.run(|s| s.index_journal()).await
    }

    /// Makes everything written so far durable (sled's synchronous flush, off the workers).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.run(|s| s.flush()).await
    }
}

impl BlockingStore {
    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    pub fn get(&self, hash: &B256) -> Result<Option<SignedMessage>, StoreError> {
        if let Some(m) = self.pending_lock().get(hash) {
            return Ok(Some(m.clone()));
        }
        Ok(match self.signed.get(hash.as_slice())? {
            Some(v) => Some(serde_json::from_slice(&v)?),
            None => None,
        })
    }

    /// Whether `hash` is signed (its record is not decoded).
    pub fn is_signed(&self, hash: &B256) -> Result<bool, StoreError> {
        // The pending lock is let go before sled is read.
        let pending = self.pending_lock().get(hash).is_some();
        Ok(pending || self.signed.contains_key(hash.as_slice())?)
    }

    /// Whether any message is held or dropped (on any chain).
    pub fn any_held_or_dropped(&self) -> Result<bool, StoreError> {
        Ok(self.held.first()?.is_some() || self.dropped.first()?.is_some())
    }

    /// Stores a signed message (indexed by its source transaction) with what the governor
    /// records about it, in one transaction; the caller flushes.
    pub fn commit_signature(
        &self,
        record: &SignedMessage,
        hash: &B256,
        change: GovernorChange<'_>,
    ) -> Result<(), StoreError> {
        self.commit_signatures(&[(record, hash, change)])
    }

    /// Stores signed messages, each as [`commit_signature`](Self::commit_signature) does, all
    /// in one transaction (a backfill's run of signatures: one commit instead of thousands);
    /// the caller flushes. A run's window entries of one stamp are stored as one (the window
    /// only ever sums a stamp's entries, see [`window`](Self::window)), and each chain's meta
    /// once, its last: sled's cost is per entry written, and a backfill's blocks hold many
    /// burns each.
    pub fn commit_signatures(
        &self,
        signed: &[(&SignedMessage, &B256, GovernorChange<'_>)],
    ) -> Result<(), StoreError> {
        struct Writes {
            hash: B256,
            /// The record and its by-transaction key, unless the run is journaled.
            indexed: Option<(Vec<u8>, Option<Vec<u8>>)>,
            released: Option<Vec<u8>>,
        }
        // A backfill's run goes to the journal (indexed later, served from memory until
        // then); a small one to the indexes at once.
        let journaled = self.journals(signed.len());
        let mut windows: BTreeMap<(Domain, u64), (B256, u128)> = BTreeMap::new();
        let mut metas: BTreeMap<Domain, GovernorMeta> = BTreeMap::new();
        let mut writes = Vec::with_capacity(signed.len());
        for (record, hash, change) in signed {
            let domain = record.source_domain;
            if let Some((stamp, amount)) = change.window {
                let entry = windows.entry((domain, stamp)).or_insert((**hash, 0));
                entry.1 = entry.1.saturating_add(amount);
            }
            if let Some(meta) = change.meta {
                metas.insert(domain, meta);
            }
            let indexed = if journaled {
                None
            } else {
                let tx_index = TxRef::parse(&record.source_tx).map(|tx| tx_key(domain, &tx, hash));
                Some((serde_json::to_vec(record)?, tx_index))
            };
            writes.push(Writes {
                hash: **hash,
                indexed,
                released: change.released.map(Hold::key),
            });
        }
        let entries = if journaled {
            let records: Vec<&SignedMessage> = signed.iter().map(|(r, _, _)| *r).collect();
            journal::entries(&self.db, &records)?
        } else {
            Vec::new()
        };
        let windows: Vec<(Vec<u8>, [u8; 16])> = windows
            .into_iter()
            .map(|((domain, stamp), (first, sum))| {
                (window_key(domain, stamp, &first), sum.to_be_bytes())
            })
            .collect();
        let metas = metas
            .into_iter()
            .map(|(domain, m)| Ok((domain.0.to_be_bytes(), serde_json::to_vec(&m)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let turn = journaled.then(|| self.journal_turn());
        (
            &self.signed,
            &self.by_tx,
            &self.journal,
            &self.held,
            &self.held_index,
            &self.window,
            &self.meta,
            &self.dropped,
        )
            .transaction(
                |(signed, by_tx, journal, held, held_index, w, m, dropped)| {
                    for x in &writes {
                        if let Some((value, tx_index)) = &x.indexed {
                            signed.insert(x.hash.as_slice(), value.as_slice())?;
                            if let Some(k) = tx_index {
                                by_tx.insert(k.as_slice(), &[])?;
                            }
                        }
                        if let Some(k) = &x.released {
                            held.remove(k.as_slice())?;
                            held_index.remove(x.hash.as_slice())?;
                            dropped.remove(x.hash.as_slice())?;
                        }
                    }
                    for (key, value) in &entries {
                        journal.insert(key, value.as_slice())?;
                    }
                    for (k, sum) in &windows {
                        w.insert(k.as_slice(), sum)?;
                    }
                    for (domain, v) in &metas {
                        m.insert(domain, v.as_slice())?;
                    }
                    TxResult::Ok(())
                },
            )?;
        if journaled {
            #[cfg(test)]
            self.pause_after_commit();
            // Served from here on. A reader between the commit and this finds the records in
            // neither place, as it would have a moment before: they appear once and stay. The
            // governor, the one reader that must not miss them, decides under the lock its
            // caller holds across this call. The pending lock, which readers take on async
            // workers, is not held across the commit (it can wait for a flush); the journal's
            // turn is, and only writers and the indexer take that.
            let mut pending = self.pending_write();
            for (record, hash, _) in signed {
                pending.insert(record, **hash);
            }
            self.journaled_at
                .store(usd1_runtime::now_ms(), std::sync::atomic::Ordering::Relaxed);
        }
        drop(turn);
        self.signed_now.notify_waiters();
        Ok(())
    }

    /// Holds a final message (with the chain's new meta), in one transaction; the caller
    /// flushes before its watcher's cursor moves past it.
    pub fn put_hold(&self, hold: &Hold, meta: GovernorMeta) -> Result<(), StoreError> {
        let value = serde_json::to_vec(hold)?;
        let meta = serde_json::to_vec(&meta)?;
        let key = hold.key();
        let hash = hold.hash();
        let domain = hold.source_domain.0.to_be_bytes();
        (&self.held, &self.held_index, &self.meta).transaction(|(held, index, m)| {
            held.insert(key.as_slice(), value.as_slice())?;
            index.insert(hash.as_slice(), key.as_slice())?;
            m.insert(&domain, meta.as_slice())?;
            TxResult::Ok(())
        })?;
        Ok(())
    }

    /// Moves a hold to the dropped messages (never signed unless released by operators).
    pub fn drop_hold(&self, hold: &Hold, at_ms: u64) -> Result<(), StoreError> {
        let mut dropped = hold.clone();
        dropped.dropped_at_ms = Some(at_ms);
        let value = serde_json::to_vec(&dropped)?;
        let key = hold.key();
        let hash = hold.hash();
        (&self.held, &self.held_index, &self.dropped).transaction(|(held, index, d)| {
            held.remove(key.as_slice())?;
            index.remove(hash.as_slice())?;
            d.insert(hash.as_slice(), value.as_slice())?;
            TxResult::Ok(())
        })?;
        Ok(())
    }

    pub fn hold(&self, hash: &B256) -> Result<Option<Hold>, StoreError> {
        let Some(key) = self.held_index.get(hash.as_slice())? else {
            return Ok(None);
        };
        Ok(match self.held.get(key)? {
            Some(v) => Some(serde_json::from_slice(&v)?),
            None => None,
        })
    }

    /// A source chain's holds in burn order (block, then nonce).
    pub fn holds(&self, domain: Domain) -> Result<Vec<Hold>, StoreError> {
        self.held
            .scan_prefix(domain.0.to_be_bytes())
            .map(|e| Ok(serde_json::from_slice(&e?.1)?))
            .collect()
    }

    /// Every hold, by source chain and burn order.
    pub fn all_holds(&self) -> Result<Vec<Hold>, StoreError> {
        self.held
            .iter()
            .map(|e| Ok(serde_json::from_slice(&e?.1)?))
            .collect()
    }

    pub fn dropped(&self, hash: &B256) -> Result<Option<Hold>, StoreError> {
        Ok(match self.dropped.get(hash.as_slice())? {
            Some(v) => Some(serde_json::from_slice(&v)?),
            None => None,
        })
    }

    pub fn all_dropped(&self) -> Result<Vec<Hold>, StoreError> {
        self.dropped
            .iter()
            .map(|e| Ok(serde_json::from_slice(&e?.1)?))
            .collect()
    }

    /// A source chain's window (stamp, amount) in stamp order, one entry a stamp: the sum of
    /// what is stored under it (an entry per signature, or a run's burns of one block as one).
    pub fn window(&self, domain: Domain) -> Result<Vec<(u64, u128)>, StoreError> {
        let mut out: Vec<(u64, u128)> = Vec::new();
        for entry in self.window.scan_prefix(domain.0.to_be_bytes()) {
            let (k, v) = entry?;
            let stamp = u64::from_be_bytes(k[4..12].try_into().unwrap_or_default());
            let amount = u128::from_be_bytes(v.as_ref().try_into().unwrap_or_default());
            match out.last_mut() {
                Some((last, sum)) if *last == stamp => *sum = sum.saturating_add(amount),
                _ => out.push((stamp, amount)),
            }
        }
        Ok(out)
    }

    /// Forgets a chain's window entries stamped at or before `through` (out of every window
    /// the governor can still ask about).
    pub fn prune_window(&self, domain: Domain, through: u64) -> Result<usize, StoreError> {
        let start = domain.0.to_be_bytes().to_vec();
        let mut end = start.clone();
        end.extend_from_slice(&through.saturating_add(1).to_be_bytes());
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for entry in self.window.range(start..end) {
            batch.remove(entry?.0);
            n += 1;
        }
        if n > 0 {
            self.window.apply_batch(batch)?;
        }
        Ok(n)
    }

    pub fn governor_meta(&self, domain: Domain) -> Result<GovernorMeta, StoreError> {
        Ok(match self.meta.get(domain.0.to_be_bytes())? {
            Some(v) => serde_json::from_slice(&v)?,
            None => GovernorMeta::default(),
        })
    }

    pub fn by_tx(&self, domain: Domain, tx: &TxRef) -> Result<Vec<SignedMessage>, StoreError> {
        let prefix = journal::tx_prefix(domain, tx);
        let mut out = self.pending_lock().by_tx(&prefix);
        for entry in self.by_tx.scan_prefix(&prefix) {
            let (k, _) = entry?;
            // (domain, tx, message hash): a longer id with this one as its prefix is not it.
            if k.len() != prefix.len() + 32 {
                continue;
            }
            let hash = B256::from_slice(&k[prefix.len()..]);
            // Indexed while it was read: already taken from the pending records.
            if out.iter().any(|m| m.message_hash.parse() == Ok(hash)) {
                continue;
            }
            if let Some(m) = self.get(&hash)? {
                out.push(m);
            }
        }
        Ok(out)
    }

    pub fn count(&self) -> usize {
        // Read in this order, a record indexed in between is counted twice, never missed.
        self.pending_count() + self.signed.len()
    }

    /// How many window entries are stored (on every chain), before [`window`](Self::window)
    /// sums a stamp's.
    #[cfg(test)]
    pub fn window_entries_stored(&self) -> usize {
        self.window.len()
    }
}

mod journal;

#[cfg(test)]
mod journal_tests;
#[cfg(test)]
mod stress_tests;

fn window_key(domain: Domain, stamp: u64, hash: &B256) -> Vec<u8> {
    let mut k = domain.0.to_be_bytes().to_vec();
    k.extend_from_slice(&stamp.to_be_bytes());
    k.extend_from_slice(hash.as_slice());
    k
}

fn tx_key(domain: Domain, tx: &TxRef, hash: &B256) -> Vec<u8> {
    let mut k = journal::tx_prefix(domain, tx);
    k.extend_from_slice(hash.as_slice());
    k
}
