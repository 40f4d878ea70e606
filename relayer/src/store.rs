//! The relayer's persistent queue (DESIGN §6), in sled. Trees: `messages` (hash → record),
//! `active` (hashes of records not yet terminal), `by_tx` ((domain, source tx, hash) index),
//! `nonces` (destination domain → next account nonce). A transition and the data it depends
//! on are written in one sled transaction and flushed before the action it enables.

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
}

fn hash_key(hex_hash: &str) -> Vec<u8> {
    hex_hash
        .parse::<B256>()
        .map(|h| h.to_vec())
        .unwrap_or_else(|_| hex_hash.as_bytes().to_vec())
}

impl Store {
    pub fn open(db: sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            messages: db.open_tree("messages")?,
            active: db.open_tree("active")?,
            by_tx: db.open_tree("by_tx")?,
            nonces: db.open_tree("nonces")?,
            db,
        })
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
    /// `evm_tx` indexes it by its EVM source transaction (Solana signatures are not indexed).
    pub fn observe(
        &self,
        record: &MessageRecord,
        evm_tx: Option<&B256>,
    ) -> Result<bool, StoreError> {
        let key = hash_key(&record.message_hash);
        let value = serde_json::to_vec(record)?;
        let tx_key = evm_tx.map(|tx| {
            let mut k = record.source_domain.0.to_be_bytes().to_vec();
            k.extend_from_slice(tx.as_slice());
            k.extend_from_slice(&key);
            k
        });
        let inserted = usd1_core::durable::serialized(|| {
            (&self.messages, &self.active, &self.by_tx).transaction(|(m, a, t)| {
                if m.get(&key)?.is_some() {
                    return Ok(false);
                }
                m.insert(key.as_slice(), value.as_slice())?;
                a.insert(key.as_slice(), &[])?;
                if let Some(k) = &tx_key {
                    t.insert(k.as_slice(), &[])?;
                }
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
        let mut prefix = domain.0.to_be_bytes().to_vec();
        prefix.extend_from_slice(tx.as_slice());
        let mut out = Vec::new();
        for entry in self.by_tx.scan_prefix(&prefix) {
            let (k, _) = entry?;
            if let Some(r) = self.get(&B256::from_slice(&k[36..68]))? {
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
