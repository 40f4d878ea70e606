//! The relayer's persistent queue (DESIGN §6), in sled. Trees: `messages` (hash → record),
//! `active` (hashes of records not yet terminal), `by_tx` ((domain, source tx, hash) index:
//! an EVM hash's 32 bytes or a Solana signature's 64), `nonces` (destination domain → next
//! account nonce), and the explorer's indexes, written with the record: `by_nonce`
//! ((source domain, nonce, hash): a burn and its replacements), `by_addr` ((32-byte word,
//! hash) for a burn's `messageSender` and `mintRecipient`), `by_time` ((observed ms, hash),
//! newest first). A transition and the data it depends on are written in one sled
//! transaction and flushed before the action it enables.

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use usd1_core::{Domain, MessageRecord, B256};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: corrupt record: {0}")]
    Corrupt(#[from] serde_json::Error),
}

impl From<TransactionError<serde_json::Error>> for StoreError {
    fn from(e: TransactionError<serde_json::Error>) -> Self {
        match e {
            TransactionError::Abort(e) => StoreError::Corrupt(e),
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

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
}

/// Marks a store whose explorer indexes cover every record (records observed before those
/// indexes existed are indexed once, at open).
const INDEXED_KEY: &[u8] = b"explorer-indexes-v1";

/// The bytes a source transaction is indexed under: an EVM hash's 32, a Solana signature's 64.
pub fn source_tx_bytes(text: &str) -> Option<Vec<u8>> {
    if text.starts_with("0x") {
        return text.parse::<B256>().ok().map(|h| h.to_vec());
    }
    text.parse::<usd1_solana::solana_sdk::signature::Signature>()
        .ok()
        .map(|s| s.as_ref().to_vec())
}

/// The explorer's index keys of a record: (by_tx, by_nonce, by_addr…, by_time).
struct IndexKeys {
    tx: Option<Vec<u8>>,
    nonce: Vec<u8>,
    addresses: Vec<Vec<u8>>,
    time: Vec<u8>,
}

fn index_keys(record: &MessageRecord, key: &[u8], evm_tx: Option<&B256>) -> IndexKeys {
    let tx = evm_tx
        .map(|tx| tx.to_vec())
        .or_else(|| source_tx_bytes(&record.source_tx))
        .map(|tx| {
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

impl Store {
    pub fn open(db: sled::Db) -> Result<Self, StoreError> {
        Self {
            messages: db.open_tree("messages")?,
            active: db.open_tree("active")?,
            by_tx: db.open_tree("by_tx")?,
            nonces: db.open_tree("nonces")?,
            by_nonce: db.open_tree("by_nonce")?,
            by_addr: db.open_tree("by_addr")?,
            by_time: db.open_tree("by_time")?,
            db,
        }
        .indexed()
    }

    /// Indexes, once, records observed before the explorer's indexes existed.
    fn indexed(self) -> Result<Self, StoreError> {
        if self.db.get(INDEXED_KEY)?.is_some() {
            return Ok(self);
        }
        for entry in self.messages.iter() {
            let (key, value) = entry?;
            let record: MessageRecord = serde_json::from_slice(&value)?;
            let keys = index_keys(&record, &key, None);
            usd1_core::durable::serialized(|| {
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
                )
            })?;
        }
        usd1_core::durable::serialized(|| {
            self.db.insert(INDEXED_KEY, &[])?;
            self.db.flush()
        })?;
        Ok(self)
    }

    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    pub fn get(&self, hash: &B256) -> Result<Option<MessageRecord>, StoreError> {
        Ok(match self.messages.get(hash.as_slice())? {
            Some(v) => Some(serde_json::from_slice(&v)?),
            None => None,
        })
    }

    /// Adds a newly observed message unless it is known already. Returns whether it was new.
    /// It is indexed by its source transaction (`evm_tx`, else the record's `source_tx` when
    /// that is a Solana signature), its (source, nonce), its burn's sender and recipient, and
    /// the time it was observed — in the same transaction as the record.
    pub fn observe(
        &self,
        record: &MessageRecord,
        evm_tx: Option<&B256>,
    ) -> Result<bool, StoreError> {
        let key = hash_key(&record.message_hash);
        let value = serde_json::to_vec(record)?;
        let keys = index_keys(record, &key, evm_tx);
        let inserted = usd1_core::durable::serialized(|| {
            (
                &self.messages,
                &self.active,
                &self.by_tx,
                &self.by_nonce,
                &self.by_addr,
                &self.by_time,
            )
                .transaction(|(m, a, t, n, ad, time)| {
                    if m.get(&key)?.is_some() {
                        return Ok(false);
                    }
                    m.insert(key.as_slice(), value.as_slice())?;
                    a.insert(key.as_slice(), &[])?;
                    if let Some(k) = &keys.tx {
                        t.insert(k.as_slice(), &[])?;
                    }
                    n.insert(keys.nonce.as_slice(), &[])?;
                    for k in &keys.addresses {
                        ad.insert(k.as_slice(), &[])?;
                    }
                    time.insert(keys.time.as_slice(), &[])?;
                    Ok::<_, ConflictableTransactionError<serde_json::Error>>(true)
                })
        })?;
        Ok(inserted)
    }

    /// Writes the record (and its place in the active set) atomically; when `next_nonce` is
    /// given, the destination's account nonce counter moves to it in the same transaction.
    pub fn save(&self, record: &MessageRecord, next_nonce: Option<u64>) -> Result<(), StoreError> {
        let key = hash_key(&record.message_hash);
        let value = serde_json::to_vec(record)?;
        let terminal = record.state.is_terminal();
        let nonce_key = record.destination_domain.0.to_be_bytes();
        usd1_core::durable::serialized(|| {
            (&self.messages, &self.active, &self.nonces).transaction(|(m, a, n)| {
                m.insert(key.as_slice(), value.as_slice())?;
                if terminal {
                    a.remove(key.as_slice())?;
                } else {
                    a.insert(key.as_slice(), &[])?;
                }
                if let Some(next) = next_nonce {
                    n.insert(&nonce_key, &next.to_be_bytes())?;
                }
                Ok::<_, ConflictableTransactionError<serde_json::Error>>(())
            })
        })?;
        Ok(())
    }

    pub async fn flush(&self) -> Result<(), StoreError> {
        usd1_core::durable::serialized(|| self.db.flush())?;
        Ok(())
    }

    /// Records that still need work.
    pub fn active(&self) -> Result<Vec<MessageRecord>, StoreError> {
        let mut out = Vec::new();
        for entry in self.active.iter() {
            let (k, _) = entry?;
            if let Some(v) = self.messages.get(&k)? {
                out.push(serde_json::from_slice(&v)?);
            }
        }
        Ok(out)
    }

    /// All records in hash order, starting after `after`, for listings.
    pub fn scan(
        &self,
        after: Option<&B256>,
    ) -> impl Iterator<Item = Result<MessageRecord, StoreError>> + '_ {
        let start = after.map(|h| {
            let mut k = h.to_vec();
            k.push(0);
            k
        });
        let iter = match start {
            Some(k) => self.messages.range(k..),
            None => self.messages.iter(),
        };
        iter.map(|e| {
            let (_, v) = e?;
            Ok(serde_json::from_slice(&v)?)
        })
    }

    pub fn by_source_tx(
        &self,
        domain: Domain,
        tx: &B256,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.by_source_tx_bytes(domain, tx.as_slice())
    }

    /// The messages of a source transaction given as its indexed bytes ([`source_tx_bytes`]).
    pub fn by_source_tx_bytes(
        &self,
        domain: Domain,
        tx: &[u8],
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut prefix = domain.0.to_be_bytes().to_vec();
        prefix.extend_from_slice(tx);
        self.records_under(&self.by_tx, &prefix)
    }

    /// Every message with this (source domain, nonce): a burn and its replacements.
    pub fn by_nonce(&self, source: Domain, nonce: u64) -> Result<Vec<MessageRecord>, StoreError> {
        let mut prefix = source.0.to_be_bytes().to_vec();
        prefix.extend_from_slice(&nonce.to_be_bytes());
        self.records_under(&self.by_nonce, &prefix)
    }

    /// Burns whose `messageSender` or `mintRecipient` is `word`, newest first, at most `limit`.
    pub fn by_address(&self, word: &B256, limit: usize) -> Result<Vec<MessageRecord>, StoreError> {
        let mut out = self.records_under(&self.by_addr, word.as_slice())?;
        out.sort_by(|a, b| {
            b.observed_at_ms
                .cmp(&a.observed_at_ms)
                .then(b.message_hash.cmp(&a.message_hash))
        });
        out.truncate(limit);
        Ok(out)
    }

    /// Records newest first (by the time they were observed), starting below `before` (a
    /// cursor this returned as the second element).
    pub fn recent(
        &self,
        before: Option<&[u8]>,
    ) -> impl Iterator<Item = Result<(Vec<u8>, MessageRecord), StoreError>> + '_ {
        let iter = match before {
            Some(k) => self.by_time.range(..k.to_vec()),
            None => self.by_time.iter(),
        };
        iter.rev().filter_map(move |e| {
            let (k, _) = match e {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e.into())),
            };
            if k.len() != 40 {
                return None;
            }
            match self.get(&B256::from_slice(&k[8..40])) {
                Ok(Some(r)) => Some(Ok((k.to_vec(), r))),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            }
        })
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
            if let Some(r) = self.get(&B256::from_slice(&k[prefix.len()..]))? {
                out.push(r);
            }
        }
        Ok(out)
    }

    pub fn next_nonce(&self, domain: Domain) -> Result<Option<u64>, StoreError> {
        Ok(self
            .nonces
            .get(domain.0.to_be_bytes())?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes)))
    }

    pub fn set_next_nonce(&self, domain: Domain, next: u64) -> Result<(), StoreError> {
        self.nonces
            .insert(domain.0.to_be_bytes(), &next.to_be_bytes())?;
        Ok(())
    }
}
