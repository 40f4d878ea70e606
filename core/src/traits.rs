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
        confirmations: u64,
        /// Whether the destination's own finality rule covers its block (the same rule the
        /// watchers use): before that a reorg can still drop it.
        is_final: bool,
        fee_paid: u128,
    },
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
    /// Whether deliveries take the submitter's account nonce (EVM), so that allocating one,
    /// signing and sending must be serialised per account. Solana has no account nonce: its
    /// deliveries (and their wait for co-signatures) run without that lock.
    fn uses_account_nonces(&self) -> bool {
        true
    }
    /// Builds the delivery transaction from the message and the relayer's proof, at this
    /// account nonce; `bump` raises the fee (0 = the chain's current fee) to replace a stuck
    /// one. Signed at once where the proof is an attestation; where the chain wants
    /// co-signatures over the transaction, it comes back for them ([`Destination::finish_delivery`]).
    /// `Rejected` means the destination's side refused it for good; `Rpc` is transient.
    async fn prepare_delivery(
        &self,
        message: &[u8],
        proof: &Proof,
        account_nonce: u64,
        bump: u32,
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
    /// Signs a transaction that only uses up `account_nonce` (a self-transfer), for when the
    /// message was delivered by someone else while ours cannot be mined: later deliveries
    /// would wait behind that nonce forever. `None` where there are no account nonces.
    async fn sign_nonce_filler(
        &self,
        _account_nonce: u64,
        _bump: u32,
    ) -> Result<Option<PendingTx>, ChainError> {
        Ok(None)
    }
    async fn broadcast(&self, tx: &PendingTx) -> Result<(), ChainError>;
    /// `valid_until`: the stored `PendingTx::valid_until`, when known.
    async fn tx_status(
        &self,
        tx_hash: &str,
        valid_until: Option<u64>,
    ) -> Result<TxStatus, ChainError>;
    /// Whether a delivery that has not landed may be given up once someone else delivered
    /// the message. Not on EVM: its account nonce must still be filled, or later ones stall.
    fn abandon_is_safe(&self) -> bool {
        false
    }
    /// Who the destination checks a delivery against, read from its chain.
    async fn verifier(&self) -> Result<Verifier, ChainError>;
    /// The chain's count of transactions sent by our account, including pending ones.
    async fn account_nonce(&self) -> Result<u64, ChainError>;
}
