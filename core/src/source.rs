//! What a source chain gives the services, whatever its family: the burns that became final
//! since the last commit, each as one [`ObservedBurn`]. The attester and the relayer each run
//! one loop over `dyn Source` (usd1_runtime::watch); how a family decides finality, reads its
//! blocks or slots and keeps its cursor stays inside its adapter.

use crate::traits::ChainError;
use crate::{Domain, Message, B256};
use async_trait::async_trait;
use std::any::Any;
use std::fmt;
use thiserror::Error;

/// A source transaction as its chain writes it (`0x…` hex on EVM chains, base58 on Solana),
/// with the bytes the stores index it under. Chain-agnostic: any id written in either
/// encoding works, so a lookup by what a user pastes finds what a watcher stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TxRef {
    text: String,
    bytes: Vec<u8>,
}

/// The longest transaction id indexed (a Solana signature's 64 bytes); longer is not an id.
const MAX_TX_ID_BYTES: usize = 64;

impl TxRef {
    /// An EVM transaction hash.
    pub fn from_hash(hash: B256) -> Self {
        Self {
            text: format!("{hash:#x}"),
            bytes: hash.to_vec(),
        }
    }

    /// `0x`-prefixed hex, or base58 (what Solana and others print); at most 64 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let bytes = match text.strip_prefix("0x") {
            Some(h) => hex::decode(h).ok()?,
            None => bs58::decode(text).into_vec().ok()?,
        };
        if bytes.is_empty() || bytes.len() > MAX_TX_ID_BYTES {
            return None;
        }
        Some(Self {
            text: text.to_string(),
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What the stores index the transaction under.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Display for TxRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A burn read from a source chain, in the same shape for every family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedBurn {
    pub message: Message,
    /// The message's bytes as the chain carries them (what attesters sign the hash of).
    pub raw: Vec<u8>,
    pub hash: B256,
    pub tx: TxRef,
    /// Block number (EVM) or slot (Solana).
    pub height: u64,
    /// Unix seconds of that block.
    pub time: u64,
}

impl ObservedBurn {
    pub fn new(message: Message, tx: TxRef, height: u64, time: u64) -> Self {
        Self {
            raw: message.encode(),
            hash: message.hash(),
            message,
            tx,
            height,
            time,
        }
    }
}

/// A transaction that touched the bridge but is not a burn it may attest, and why (a short
/// label, bounded: it becomes a metric label).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub tx: String,
    pub reason: &'static str,
    pub detail: String,
}

/// What the adapter needs back at [`Source::commit`] to move its cursor: opaque to the
/// services, which only hand it back.
pub struct Checkpoint(Box<dyn Any + Send + Sync>);

impl Checkpoint {
    pub fn new<T: Any + Send + Sync>(value: T) -> Self {
        Self(Box::new(value))
    }

    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Checkpoint")
    }
}

/// One poll's result. Nothing of it is stored by the source until [`Source::commit`], which
/// the services call only after they have stored (and flushed) what they took from it.
#[derive(Debug)]
pub struct SourceBatch {
    /// Burns at or below the final height, in chain order.
    pub burns: Vec<ObservedBurn>,
    /// Burns seen above the final height (for "pending confirmations" answers); may vanish.
    pub unconfirmed: Vec<ObservedBurn>,
    /// Messages read as final earlier whose blocks the chain no longer has (a finality
    /// violation): the services stop serving or delivering them.
    pub orphaned: Vec<B256>,
    pub rejected: Vec<Rejected>,
    pub head: u64,
    pub final_height: u64,
    /// The next height the source reads once this batch is committed.
    pub next: u64,
    pub checkpoint: Checkpoint,
}

impl SourceBatch {
    /// Whether, once committed, the source has read everything final.
    pub fn caught_up(&self) -> bool {
        self.next > self.final_height
    }
}

#[derive(Debug, Error)]
pub enum SourceError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("cursor store: {0}")]
    Store(String),
    /// The chain moved under a read (a reorg, a lagging node): nothing was taken from it.
    #[error("chain {0} changed while it was read; will read again")]
    Moved(String),
    /// The chain answered something that cannot be (a transaction missing from its block).
    #[error("unexpected chain data: {0}")]
    Invalid(String),
    #[error("this batch was not read by source {0}")]
    ForeignBatch(String),
}

/// A source chain of one family, read up to its final height.
#[async_trait]
pub trait Source: Send + Sync {
    /// The configured chain name (metric labels, logs).
    fn name(&self) -> &str;
    fn domain(&self) -> Domain;
    /// The labels [`Rejected::reason`] can take, so their metric series exist from the start.
    fn rejection_reasons(&self) -> &'static [&'static str];
    /// What became final since the last commit.
    async fn poll(&self) -> Result<SourceBatch, SourceError>;
    /// Stores the batch's cursor durably: its burns are not read again.
    async fn commit(&self, batch: &SourceBatch) -> Result<(), SourceError>;
    /// Calls `on_head` each time the chain pushes a new head, for as long as the process
    /// runs, so the watch loop polls at once instead of at its next interval. A push is only
    /// a wake-up: what is read, `poll` reads. A source without pushes never calls it.
    async fn follow_heads(&self, on_head: OnHead) {
        let _ = on_head;
        std::future::pending::<()>().await
    }
}

/// What a source calls on each new head it is pushed.
pub type OnHead = std::sync::Arc<dyn Fn() + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evm_hash_and_a_solana_signature_index_under_their_own_bytes() {
        let hash = B256::repeat_byte(0xab);
        let evm = TxRef::parse(&format!("{hash:#x}")).unwrap();
        assert_eq!(evm, TxRef::from_hash(hash));
        assert_eq!(evm.as_bytes(), hash.as_slice());

        let signature = bs58::encode([7u8; 64]).into_string();
        let solana = TxRef::parse(&signature).unwrap();
        assert_eq!(solana.as_bytes(), [7u8; 64]);
        assert_eq!(solana.as_str(), signature);
    }

    #[test]
    fn what_is_not_an_id_is_refused() {
        for bad in ["", "0x", "0xzz", "not base58 0OIl", &"1".repeat(200)] {
            assert_eq!(TxRef::parse(bad), None, "{bad:?}");
        }
        let too_long = bs58::encode([1u8; 65]).into_string();
        assert_eq!(TxRef::parse(&too_long), None);
    }
}
