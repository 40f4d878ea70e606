//! What the chain-agnostic services need from a chain adapter.

use crate::proof::{Prepared, Proof, Unsigned, Verifier};
use crate::state::PendingTx;
use crate::{Domain, Message};
use async_trait::async_trait;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// Worth retrying: the RPC was unreachable, timed out, or answered an error.
    #[error("rpc error on {method}: {detail}")]
    Rpc {
        method: &'static str,
        detail: String,
    },
    /// The chain refused for good (e.g. the call reverts for a reason no retry changes).
    #[error("rejected: {0}")]
    Rejected(String),
}

impl ChainError {
    pub fn rpc(method: &'static str, detail: impl ToString) -> Self {
        Self::Rpc {
            method,
            detail: detail.to_string(),
        }
    }
}

/// What became of a broadcast transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// Not in a block (yet, or dropped).
    Unknown,
    /// Can never land any more (a Solana blockhash past its last valid block height).
    Expired,
    Included {
        success: bool,
        block: u64,
        /// Whether the destination's own finality rule covers its block (the same rule the
        /// watchers use, and any count of confirmations the operator asks on top): before
        /// that a reorg can still drop it.
        is_final: bool,
        fee_paid: u128,
    },
}

/// Where a delivery goes among the submitter's transactions, and which try of it this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The account sequence number it takes, on a destination with an [`AccountSequence`];
    /// `None` elsewhere.
    pub sequence: Option<u64>,
    /// Which try of this delivery it is (0 = the first): a destination raises its fee bid
    /// with it, to replace a try that is not landing.
    pub attempt: u32,
}

impl Slot {
    pub fn first(sequence: Option<u64>) -> Self {
        Self {
            sequence,
            attempt: 0,
        }
    }
}

/// A destination whose chain orders one account's transactions by a sequence number (an
/// EVM account nonce): every number handed out must end up used by a mined transaction,
/// or the account's later ones wait behind it forever. The relayer allocates the numbers
/// and persists each with the record that uses it, in one store transaction (DESIGN §6:
/// a crash can neither hand one number to two deliveries nor leave a hole); the chain's
/// side of it — what the number means, fees, the filler — stays in the adapter.
#[async_trait]
pub trait AccountSequence: Send + Sync {
    /// The chain's next number for the submitter account, counting pending transactions.
    async fn next_on_chain(&self) -> Result<u64, ChainError>;
    /// How many of the account's numbers transactions in blocks have used (EVM: its nonce at
    /// the latest block). A delivery whose number is below it, and none of whose tries is in
    /// a block, lost its number to another transaction (an operator's, or another process
    /// with the same key): waiting for it would wait for ever.
    async fn used_on_chain(&self) -> Result<u64, ChainError>;
    /// A transaction that only uses up `slot`'s number (an EVM self-transfer), for when the
    /// message was delivered by someone else while ours cannot be mined.
    async fn sign_filler(&self, slot: Slot) -> Result<PendingTx, ChainError>;
}

/// One message of a batch, with the attestation the destination checks it against.
#[derive(Clone, Copy, Debug)]
pub struct BatchEntry<'a> {
    pub message: &'a [u8],
    pub attestation: &'a [u8],
}

/// A destination that receives several attested messages in one transaction. A message of
/// the batch already received is skipped by the chain (it mints once), and any other refusal
/// reverts the whole batch: the relayer dry-runs the batch and, when it would revert, sends
/// the messages one by one, whose own dry runs say which is refused and why.
#[async_trait]
pub trait BatchDelivery: Send + Sync {
    /// Whether the destination's contract has the batch entry point, read from the chain
    /// (any CCTP v1 transmitter may be configured; Circle's has none).
    async fn supports_batches(&self) -> Result<bool, ChainError>;
    /// A dry run of the whole batch, against the relayer's gas cap per message.
    async fn simulate_batch(&self, entries: &[BatchEntry<'_>]) -> Result<DryRun, ChainError>;
    /// The signed batch transaction in `slot` (its sequence number, if the chain has them).
    async fn prepare_batch(
        &self,
        entries: &[BatchEntry<'_>],
        slot: Slot,
    ) -> Result<PendingTx, ChainError>;
    /// The (source domain, nonce) of each message our successful transaction `tx_hash`
    /// skipped because it was already received (someone else delivered it between our check
    /// and the block): those are not our mints. Asked once the batch is final; a node that
    /// has no receipt for it then is an error, not "nothing skipped". One read answers for
    /// every member of the batch.
    async fn skipped(&self, tx_hash: &str) -> Result<Vec<(Domain, u64)>, ChainError>;
}

/// What a dry run of a delivery said. A refusal carries only a reason for people: why it
/// happened is read from chain state (DESIGN §6), never from the revert's selector, so any
/// CCTP v1 MessageTransmitter works (Circle's reverts with `Error(string)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DryRun {
    /// It would succeed, within this relayer's cost cap.
    Succeeds,
    /// It would revert, for the reason given (custom error, `Error(string)`, or raw data).
    Reverts { reason: String },
    /// It would succeed but cost more than this relayer's cap per delivery.
    TooCostly { reason: String },
    /// This destination can never take the message, whatever its state (e.g. an amount that
    /// does not fit the token).
    Undeliverable { reason: String },
}

/// A destination chain as the relayer sees it.
#[async_trait]
pub trait Destination: Send + Sync {
    fn domain(&self) -> Domain;
    /// Whether the destination has already received this message's (sourceDomain, nonce).
    async fn is_received(&self, message: &Message) -> Result<bool, ChainError>;
    /// Whether it is received at the destination's final height (its finality rule): only
    /// then may a receipt by someone else end the message. A receipt that is not final yet
    /// can be reorged away, and nobody would deliver the message again.
    async fn is_received_final(&self, message: &Message) -> Result<bool, ChainError> {
        self.is_received(message).await
    }
    /// A dry run of the delivery: would it succeed now, and within the cost cap?
    async fn simulate_delivery(
        &self,
        message: &[u8],
        attestation: &[u8],
    ) -> Result<DryRun, ChainError>;
    /// Whether the destination refuses every delivery now for an operator's reason (its
    /// transmitter or token is paused): a refusal then is not counted against the message.
    async fn is_paused(&self) -> Result<bool, ChainError> {
        Ok(false)
    }
    /// The account sequence deliveries take, where the chain has one (EVM): allocating a
    /// number, signing and sending are then serialised per account, a stuck delivery is
    /// replaced at its number with a higher fee, and one that someone else's delivery made
    /// pointless is replaced by a filler. `None` (Solana): deliveries are independent, and
    /// waiting for co-signatures holds no lock.
    fn sequence(&self) -> Option<&dyn AccountSequence> {
        None
    }
    /// Several attested messages in one transaction, where the destination can (our EVM
    /// transmitter's `receiveMessages`; CCTP v1's has no batch entry point). `None`: one
    /// delivery per message.
    fn batches(&self) -> Option<&dyn BatchDelivery> {
        None
    }
    /// Builds the delivery transaction from the message and the relayer's proof, in `slot`.
    /// Signed at once where the proof is an attestation; where the chain wants
    /// co-signatures over the transaction, it comes back for them ([`Destination::finish_delivery`]).
    /// `Rejected` means the destination's side refused it for good; `Rpc` is transient.
    async fn prepare_delivery(
        &self,
        message: &[u8],
        proof: &Proof,
        slot: Slot,
    ) -> Result<Prepared, ChainError>;
    /// Signs a prepared delivery with the co-signatures of its signers, in their order.
    async fn finish_delivery(
        &self,
        _unsigned: Unsigned,
        _signatures: Vec<[u8; 64]>,
    ) -> Result<PendingTx, ChainError> {
        Err(ChainError::Rejected(
            "this destination takes no co-signatures".into(),
        ))
    }
    async fn broadcast(&self, tx: &PendingTx) -> Result<(), ChainError>;
    /// `valid_until`: the stored `PendingTx::valid_until`, when known.
    async fn tx_status(
        &self,
        tx_hash: &str,
        valid_until: Option<u64>,
    ) -> Result<TxStatus, ChainError>;
    /// Who the destination checks a delivery against, read from its chain.
    async fn verifier(&self) -> Result<Verifier, ChainError>;
}
