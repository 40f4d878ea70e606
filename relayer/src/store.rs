//! The relayer's persistent queue (DESIGN §6), in sled. Trees: `messages` (hash → record),
//! `active` (hashes of records not yet terminal), `by_tx` ((domain, source tx, hash) index:
//! an EVM hash's 32 bytes or a Solana signature's 64), `nonces` (destination domain → next
//! account nonce), and the explorer's indexes, written with the record: `by_nonce`
//! ((source domain, nonce, hash): a burn and its replacements), `by_addr` ((32-byte word,
//! hash) for a burn's `messageSender` and `mintRecipient`), `by_time` ((observed ms, hash),
//! newest first), `due` ((next attempt ms, hash) of every active record, so finding the
//! work due now costs O(due), not O(queue); `active` keeps each record's due time and state
//! name beside it, to move its `due` entry and count the queue without decoding records),
//! and `batch_txs` (a batch transaction's hash → its signed bytes, written once with its
//! members' records, which keep the rest of it: a batch of 20 was twenty copies of its
//! bytes in every save of its members).
//! A transition and the data it depends on are written in one sled
//! transaction and flushed before the action it enables.
//!
//! Every call that reaches sled runs on tokio's blocking pool ([`usd1_runtime::blocking`]):
//! transactions, flushes (fsync) and scans wait on the disk and must not stall the async
//! workers. A flush is sled's synchronous `flush` there, never `flush_async`, which deadlocks
//! sled 0.34 (docs/decisions.md, "Storage"); transactions need no lock of ours, sled
//! serializes them itself. Saves are group-committed ([`commit`]): sled's transactions wait
//! for any fsync in progress, so concurrent saves share one transaction.

use sled::transaction::{ConflictableTransactionError, Transactional};
use usd1_core::state::PendingTx;
use usd1_core::{Domain, MessageRecord, B256};

pub use usd1_runtime::store::StoreError;

/// The store's format (`usd1_runtime::store::check_format`): 2 since a batch's bytes are
/// stored once in `batch_txs` (an older relayer cannot read a batch member's record).
const FORMAT: u32 = 2;

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    messages: sled::Tree,
    active: sled::Tree,
    by_tx: sled::Tree,
    nonces: sled::Tree,
    by_nonce: sled::Tree,
    by_addr: sled::Tree,
    by_time: sled::Tree,
    due: sled::Tree,
    batch_txs: sled::Tree,
    commits: std::sync::Arc<commit::Commits>,
}

/// Marks a store whose `due` index covers every active record (stores written before it
/// existed are indexed once, at open).
const DUE_INDEXED_KEY: &[u8] = b"due-index-v1";

/// `active`'s value for a record: its due time, then its state's name.
fn active_value(record: &MessageRecord) -> Vec<u8> {
    let mut v = record.next_attempt_at_ms.to_be_bytes().to_vec();
    v.extend_from_slice(record.state.name().as_bytes());
    v
}

/// `due`'s key: (due time, hash), in time order.
fn due_key(at_ms: u64, key: &[u8]) -> Vec<u8> {
    let mut k = at_ms.to_be_bytes().to_vec();
    k.extend_from_slice(key);
    k
}

/// The `due` key an `active` value points at (none for a value written before the index).
fn due_key_of(active: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let at: [u8; 8] = active.get(..8)?.try_into().ok()?;
    Some(due_key(u64::from_be_bytes(at), key))
}

/// Marks a store whose explorer indexes cover every record (records observed before those
/// indexes existed are indexed once, at open).
const INDEXED_KEY: &[u8] = b"explorer-indexes-v1";

/// The bytes a source transaction is indexed under ([`usd1_core::TxRef`]): an EVM hash's
/// 32, a Solana signature's 64.
pub fn source_tx_bytes(text: &str) -> Option<Vec<u8>> {
    usd1_core::TxRef::parse(text).map(|tx| tx.as_bytes().to_vec())
}

/// The explorer's index keys of a record: (by_tx, by_nonce, by_addr…, by_time).
struct IndexKeys {
    tx: Option<Vec<u8>>,
    nonce: Vec<u8>,
    addresses: Vec<Vec<u8>>,
    time: Vec<u8>,
}

fn index_keys(record: &MessageRecord, key: &[u8]) -> IndexKeys {
    let tx = source_tx_bytes(&record.source_tx).map(|tx| {
        let mut k = record.source_domain.0.to_be_bytes().to_vec();
        k.extend_from_slice(&tx);
        k.extend_from_slice(key);
        k
    });
    let mut nonce = record.source_domain.0.to_be_bytes().to_vec();
    nonce.extend_from_slice(&record.nonce.to_be_bytes());
    nonce.extend_from_slice(key);
    let mut addresses = Vec::new();
    if let Ok(body) = usd1_core::Message::decode_hex(&record.message).and_then(|m| m.burn_body()) {
        for word in [body.message_sender, body.mint_recipient] {
            let mut k = word.to_vec();
            k.extend_from_slice(key);
            if !addresses.contains(&k) {
                addresses.push(k);
            }
        }
    }
    let mut time = record.observed_at_ms.to_be_bytes().to_vec();
    time.extend_from_slice(key);
    IndexKeys {
        tx,
        nonce,
        addresses,
        time,
    }
}

fn hash_key(hex_hash: &str) -> Vec<u8> {
    hex_hash
        .parse::<B256>()
        .map(|h| h.to_vec())
        .unwrap_or_else(|_| hex_hash.as_bytes().to_vec())
}

/// One newly observed record's writes: its value, indexes, active entry and due entry.
struct ObserveWrite {
    key: Vec<u8>,
    value: Vec<u8>,
    index: IndexKeys,
    active: Vec<u8>,
    due: Vec<u8>,
}

/// One record's writes in a save: its value, its place in the active set and the due index.
struct RecordWrite {
    key: Vec<u8>,
    value: Vec<u8>,
    terminal: bool,
    active: Vec<u8>,
    due: Vec<u8>,
}

impl Store {
    /// Opens the trees and indexes old records once. Sync: it runs at startup, before any
    /// task that could be stalled exists (and in sync tests).
    pub fn open(db: sled::Db) -> Result<Self, StoreError> {
        usd1_runtime::store::check_format(&db, "usd1-relayer", FORMAT)?;
        Self {
            messages: db.open_tree("messages")?,
            active: db.open_tree("active")?,
            by_tx: db.open_tree("by_tx")?,
            nonces: db.open_tree("nonces")?,
            by_nonce: db.open_tree("by_nonce")?,
            by_addr: db.open_tree("by_addr")?,
            by_time: db.open_tree("by_time")?,
            due: db.open_tree("due")?,
            batch_txs: db.open_tree("batch_txs")?,
            commits: Default::default(),
            db,
        }
        .indexed()?
        .due_indexed()
    }

    /// Indexes, once, the due times of active records written before the `due` index.
    fn due_indexed(self) -> Result<Self, StoreError> {
        if self.db.get(DUE_INDEXED_KEY)?.is_some() {
            return Ok(self);
        }
        for entry in self.active.iter() {
            let (key, _) = entry?;
            let Some(value) = self.messages.get(&key)? else {
                continue;
            };
            let record: MessageRecord = serde_json::from_slice(&value)?;
            self.active.insert(&key, active_value(&record))?;
            self.due
                .insert(due_key(record.next_attempt_at_ms, &key), &[])?;
        }
        self.db.insert(DUE_INDEXED_KEY, &[])?;
        self.db.flush()?;
        Ok(self)
    }

    /// Indexes, once, records observed before the explorer's indexes existed.
    fn indexed(self) -> Result<Self, StoreError> {
        if self.db.get(INDEXED_KEY)?.is_some() {
            return Ok(self);
        }
        for entry in self.messages.iter() {
            let (key, value) = entry?;
            let record: MessageRecord = serde_json::from_slice(&value)?;
            let keys = index_keys(&record, &key);
            (&self.by_tx, &self.by_nonce, &self.by_addr, &self.by_time).transaction(
                |(t, n, a, time)| {
                    if let Some(k) = &keys.tx {
                        t.insert(k.as_slice(), &[])?;
                    }
                    n.insert(keys.nonce.as_slice(), &[])?;
                    for k in &keys.addresses {
                        a.insert(k.as_slice(), &[])?;
                    }
                    time.insert(keys.time.as_slice(), &[])?;
                    Ok::<_, ConflictableTransactionError<serde_json::Error>>(())
                },
            )?;
        }
        self.db.insert(INDEXED_KEY, &[])?;
        self.db.flush()?;
        Ok(self)
    }

    /// Runs `f` with a handle on the trees on tokio's blocking pool (the handle is a few
    /// `Arc` clones).
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        usd1_runtime::store::off_workers(self.clone(), f).await
    }

    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// One key's read, on the calling worker: an in-memory lookup (one read of the file when
    /// its page is not cached), cheaper than the hop to the blocking pool, which the API's
    /// routes paid on every request (docs/decisions.md, "Storage").
    pub async fn get(&self, hash: &B256) -> Result<Option<MessageRecord>, StoreError> {
        self.record(hash)
    }

    /// The attestation of a known message (`Some(None)` while it has none), decoding only that
    /// field of the record: what the attestation route asks many times a second.
    pub async fn attestation(&self, hash: &B256) -> Result<Option<Option<String>>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Attestation {
            #[serde(default)]
            attestation: Option<String>,
        }
        Ok(match self.messages.get(hash.as_slice())? {
            Some(v) => Some(serde_json::from_slice::<Attestation>(&v)?.attestation),
            None => None,
        })
    }

    fn record(&self, hash: &B256) -> Result<Option<MessageRecord>, StoreError> {
        Ok(match self.messages.get(hash.as_slice())? {
            Some(v) => Some(serde_json::from_slice(&v)?),
            None => None,
        })
    }

    /// Adds a newly observed message unless it is known already. Returns whether it was new.
    /// (The watcher queues a poll's messages together, with [`Store::observe_all`].)
    #[cfg(test)]
    pub async fn observe(&self, record: &MessageRecord) -> Result<bool, StoreError> {
        let new = self.observe_all(std::slice::from_ref(record)).await?;
        Ok(new.first().copied().unwrap_or(false))
    }

    /// Adds each newly observed message unless it is known already (or comes earlier in
    /// `records`); returns, in order, whether each was new. Each is indexed by its source
    /// transaction, its (source, nonce), its burn's sender and recipient, and the time it was
    /// observed. All in one transaction: a poll's hundreds of messages are one commit, not
    /// one each, and a crash leaves all of them or none.
    pub async fn observe_all(&self, records: &[MessageRecord]) -> Result<Vec<bool>, StoreError> {
        if records.is_empty() {
            // Most polls find nothing: no trip to the blocking pool for them.
            return Ok(Vec::new());
        }
        let mut writes = Vec::with_capacity(records.len());
        for record in records {
            let key = hash_key(&record.message_hash);
            writes.push(ObserveWrite {
                value: serde_json::to_vec(record)?,
                index: index_keys(record, &key),
                active: active_value(record),
                due: due_key(record.next_attempt_at_ms, &key),
                key,
            });
        }
        self.run(move |s| {
            let new = (
                &s.messages,
                &s.active,
                &s.by_tx,
                &s.by_nonce,
                &s.by_addr,
                &s.by_time,
                &s.due,
            )
                .transaction(|(m, a, t, n, ad, time, d)| {
                    let mut new = Vec::with_capacity(writes.len());
                    let mut seen = std::collections::HashSet::with_capacity(writes.len());
                    for w in &writes {
                        if !seen.insert(w.key.as_slice()) || m.get(&w.key)?.is_some() {
                            new.push(false);
                            continue;
                        }
                        m.insert(w.key.as_slice(), w.value.as_slice())?;
                        a.insert(w.key.as_slice(), w.active.as_slice())?;
                        d.insert(w.due.as_slice(), &[])?;
                        if let Some(k) = &w.index.tx {
                            t.insert(k.as_slice(), &[])?;
                        }
                        n.insert(w.index.nonce.as_slice(), &[])?;
                        for k in &w.index.addresses {
                            ad.insert(k.as_slice(), &[])?;
                        }
                        time.insert(w.index.time.as_slice(), &[])?;
                        new.push(true);
                    }
                    Ok::<_, ConflictableTransactionError<serde_json::Error>>(new)
                })?;
            Ok(new)
        })
        .await
    }

    /// Writes the record (and its place in the active set) atomically; when `next_nonce` is
    /// given, the destination's account nonce counter moves to it in the same transaction.
    pub async fn save(
        &self,
        record: &MessageRecord,
        next_nonce: Option<u64>,
    ) -> Result<(), StoreError> {
        self.save_all(std::slice::from_ref(record), next_nonce)
            .await
    }

    /// Writes every record (all of one destination: a batch delivered in one transaction)
    /// and the destination's nonce counter, if given, in one sled transaction: a crash
    /// leaves all of them or none. Saves made meanwhile by other steps share the transaction
    /// ([`commit`]).
    pub async fn save_all(
        &self,
        records: &[MessageRecord],
        next_nonce: Option<u64>,
    ) -> Result<(), StoreError> {
        self.save_with(records, next_nonce, None).await
    }

    /// Stores a batch's members `Submitted` in `tx`, with `tx`'s bytes once beside them
    /// (each member's `pending_tx` has no bytes: [`PendingTx::without_raw`]) and the nonce
    /// counter, in one sled transaction.
    pub async fn save_batch(
        &self,
        records: &[MessageRecord],
        next_nonce: Option<u64>,
        tx: &PendingTx,
    ) -> Result<(), StoreError> {
        let bytes = (hash_key(&tx.tx_hash), tx.raw.clone().into_bytes());
        self.save_with(records, next_nonce, Some(bytes)).await
    }

    /// The signed bytes of batch transaction `tx_hash`, stored by [`save_batch`](Self::save_batch).
    pub async fn batch_tx_bytes(&self, tx_hash: &str) -> Result<Option<String>, StoreError> {
        let key = hash_key(tx_hash);
        self.run(move |s| {
            Ok(s.batch_txs
                .get(key)?
                .map(|v| String::from_utf8_lossy(&v).into_owned()))
        })
        .await
    }

    async fn save_with(
        &self,
        records: &[MessageRecord],
        next_nonce: Option<u64>,
        batch_tx: Option<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let Some(first) = records.first() else {
            return Ok(());
        };
        let nonce = next_nonce.map(|n| (first.destination_domain.0.to_be_bytes(), n));
        let mut writes = Vec::with_capacity(records.len());
        for record in records {
            let key = hash_key(&record.message_hash);
            writes.push(RecordWrite {
                value: serde_json::to_vec(record)?,
                terminal: record.state.is_terminal(),
                active: active_value(record),
                due: due_key(record.next_attempt_at_ms, &key),
                key,
            });
        }
        self.commit(writes, nonce, batch_tx).await
    }

    /// Up to `limit` active records due at `now_ms`, the longest-waiting first: a range read
    /// of the `due` index, so a tick with nothing due reads nothing.
    pub async fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<MessageRecord>, StoreError> {
        self.run(move |s| {
            let end = due_key(now_ms, &[0xff; 33]);
            let mut out = Vec::new();
            for entry in s.due.range(..end) {
                if out.len() >= limit {
                    break;
                }
                let (k, _) = entry?;
                if let Some(record) = s.messages.get(&k[8..])? {
                    out.push(serde_json::from_slice(&record)?);
                }
            }
            Ok(out)
        })
        .await
    }

    /// How many active records are in each state, from the `active` tree alone (no record
    /// is decoded): the queue-depth gauge.
    pub async fn queue_depth(
        &self,
    ) -> Result<std::collections::BTreeMap<String, usize>, StoreError> {
        self.run(|s| {
            let mut out = std::collections::BTreeMap::new();
            for entry in s.active.iter() {
                let (_, v) = entry?;
                let name = String::from_utf8_lossy(v.get(8..).unwrap_or_default()).into_owned();
                *out.entry(name).or_insert(0) += 1;
            }
            Ok(out)
        })
        .await
    }

    /// Records that still need work (tests and the queue benchmark: the service reads only
    /// what is due).
    #[cfg(test)]
    pub async fn active(&self) -> Result<Vec<MessageRecord>, StoreError> {
        self.run(|s| {
            let mut out = Vec::new();
            for entry in s.active.iter() {
                let (k, _) = entry?;
                if let Some(v) = s.messages.get(&k)? {
                    out.push(serde_json::from_slice(&v)?);
                }
            }
            Ok(out)
        })
        .await
    }

    /// For listings: the first `take` records `keep` accepts, in hash order, after `after`.
    pub async fn scan<F>(
        &self,
        after: Option<&B256>,
        take: usize,
        keep: F,
    ) -> Result<Vec<MessageRecord>, StoreError>
    where
        F: Fn(&MessageRecord) -> bool + Send + 'static,
    {
        let start = after.map(|h| {
            let mut k = h.to_vec();
            k.push(0);
            k
        });
        self.run(move |s| {
            let iter = match start {
                Some(k) => s.messages.range(k..),
                None => s.messages.iter(),
            };
            let mut out = Vec::new();
            for entry in iter {
                if out.len() == take {
                    break;
                }
                let record: MessageRecord = serde_json::from_slice(&entry?.1)?;
                if keep(&record) {
                    out.push(record);
                }
            }
            Ok(out)
        })
        .await
    }

    pub async fn by_source_tx(
        &self,
        domain: Domain,
        tx: &B256,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.by_source_tx_bytes(domain, tx.as_slice()).await
    }

    /// The messages of a source transaction given as its indexed bytes ([`source_tx_bytes`]).
    pub async fn by_source_tx_bytes(
        &self,
        domain: Domain,
        tx: &[u8],
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut prefix = domain.0.to_be_bytes().to_vec();
        prefix.extend_from_slice(tx);
        self.run(move |s| s.records_under(&s.by_tx, &prefix)).await
    }

    /// Every message with this (source domain, nonce): a burn and its replacements.
    pub async fn by_nonce(
        &self,
        source: Domain,
        nonce: u64,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut prefix = source.0.to_be_bytes().to_vec();
        prefix.extend_from_slice(&nonce.to_be_bytes());
        self.run(move |s| s.records_under(&s.by_nonce, &prefix))
            .await
    }

    /// Burns whose `messageSender` or `mintRecipient` is `word`, newest first, at most `limit`.
    pub async fn by_address(
        &self,
        word: &B256,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let word = *word;
        let mut out = self
            .run(move |s| s.records_under(&s.by_addr, word.as_slice()))
            .await?;
        out.sort_by(|a, b| {
            b.observed_at_ms
                .cmp(&a.observed_at_ms)
                .then(b.message_hash.cmp(&a.message_hash))
        });
        out.truncate(limit);
        Ok(out)
    }

    /// Records newest first (by the time they were observed), starting below `before` (a
    /// cursor this returned as the first element): the first `take` that `keep` accepts.
    pub async fn recent<F>(
        &self,
        before: Option<&[u8]>,
        take: usize,
        keep: F,
    ) -> Result<Vec<(Vec<u8>, MessageRecord)>, StoreError>
    where
        F: Fn(&MessageRecord) -> bool + Send + 'static,
    {
        let before = before.map(<[u8]>::to_vec);
        self.run(move |s| {
            let iter = match before {
                Some(k) => s.by_time.range(..k),
                None => s.by_time.iter(),
            };
            let mut out = Vec::new();
            for entry in iter.rev() {
                if out.len() == take {
                    break;
                }
                let (k, _) = entry?;
                if k.len() != 40 {
                    continue;
                }
                if let Some(r) = s.record(&B256::from_slice(&k[8..40]))? {
                    if keep(&r) {
                        out.push((k.to_vec(), r));
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    /// The records of an index's keys `prefix ‖ hash` (exactly: a longer key with the same
    /// prefix, such as a 64-byte signature under a 32-byte one, is not a match).
    fn records_under(
        &self,
        tree: &sled::Tree,
        prefix: &[u8],
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut out = Vec::new();
        for entry in tree.scan_prefix(prefix) {
            let (k, _) = entry?;
            if k.len() != prefix.len() + 32 {
                continue;
            }
            if let Some(r) = self.record(&B256::from_slice(&k[prefix.len()..]))? {
                out.push(r);
            }
        }
        Ok(out)
    }

    pub async fn next_nonce(&self, domain: Domain) -> Result<Option<u64>, StoreError> {
        self.run(move |s| {
            Ok(s.nonces
                .get(domain.0.to_be_bytes())?
                .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes)))
        })
        .await
    }

    pub async fn set_next_nonce(&self, domain: Domain, next: u64) -> Result<(), StoreError> {
        self.run(move |s| {
            s.nonces
                .insert(domain.0.to_be_bytes(), &next.to_be_bytes())?;
            Ok(())
        })
        .await
    }
}

mod commit;
#[cfg(test)]
mod due_tests;
#[cfg(test)]
mod stress_tests;
