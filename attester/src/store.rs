//! What the attester signed, in sled: message hash → record, and (domain, source tx) →
//! message hashes for lookups by transaction. A record is flushed before it can be served.

use serde::{Deserialize, Serialize};
use usd1_core::{Domain, B256};

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

#[derive(Clone)]
pub struct Store {
    pub db: sled::Db,
    signed: sled::Tree,
    by_tx: sled::Tree,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: corrupt record: {0}")]
    Corrupt(#[from] serde_json::Error),
}

impl Store {
    pub fn open(db: sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            signed: db.open_tree("signed")?,
            by_tx: db.open_tree("by_tx")?,
            db,
        })
    }

    pub fn get(&self, hash: &B256) -> Result<Option<SignedMessage>, StoreError> {
        Ok(match self.signed.get(hash.as_slice())? {
            Some(v) => Some(serde_json::from_slice(&v)?),
            None => None,
        })
    }

    /// Stores a signed message, and indexes it by its EVM source transaction when it has
    /// one; the caller flushes.
    pub fn insert(
        &self,
        record: &SignedMessage,
        hash: &B256,
        evm_tx: Option<&B256>,
    ) -> Result<(), StoreError> {
        self.signed
            .insert(hash.as_slice(), serde_json::to_vec(record)?)?;
        if let Some(tx) = evm_tx {
            self.by_tx
                .insert(tx_key(record.source_domain, tx, hash), &[])?;
        }
        Ok(())
    }

    pub fn by_tx(&self, domain: Domain, tx: &B256) -> Result<Vec<SignedMessage>, StoreError> {
        let mut prefix = domain.0.to_be_bytes().to_vec();
        prefix.extend_from_slice(tx.as_slice());
        let mut out = Vec::new();
        for entry in self.by_tx.scan_prefix(&prefix) {
            let (k, _) = entry?;
            let hash = B256::from_slice(&k[36..68]);
            if let Some(m) = self.get(&hash)? {
                out.push(m);
            }
        }
        Ok(out)
    }

    pub fn count(&self) -> usize {
        self.signed.len()
    }
}

fn tx_key(domain: Domain, tx: &B256, hash: &B256) -> Vec<u8> {
    let mut k = domain.0.to_be_bytes().to_vec();
    k.extend_from_slice(tx.as_slice());
    k.extend_from_slice(hash.as_slice());
    k
}
