//! What the chain-agnostic services need from a chain adapter.

use crate::state::PendingTx;
use crate::{Address, Domain, Message};
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
        fee_paid: u128,
    },
}

/// How a destination's refusal of a delivery should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevertKind {
    /// The (sourceDomain, nonce) was received already: someone else delivered it.
    AlreadyReceived,
    /// The attestation no longer satisfies the destination (e.g. attester set changed).
    BadAttestation,
    /// Paused, frozen recipient, mint allowance: an operator can fix it; retry later.
    Temporary,
    /// The message itself can never be received here.
    Permanent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revert {
    pub kind: RevertKind,
    pub reason: String,
}

/// A destination chain as the relayer sees it.
#[async_trait]
pub trait Destination: Send + Sync {
    fn domain(&self) -> Domain;
    /// Whether the destination has already received this message's (sourceDomain, nonce).
    async fn is_received(&self, message: &Message) -> Result<bool, ChainError>;
    /// Why the destination would refuse this delivery right now (a dry run), if it would.
    async fn simulate_delivery(
        &self,
        message: &[u8],
        attestation: &[u8],
    ) -> Result<Option<Revert>, ChainError>;
    /// Signs, without sending, the delivery transaction at this account nonce; `bump` raises
    /// the fee (0 = the chain's current fee) to replace a stuck one.
    async fn sign_delivery(
        &self,
        message: &[u8],
        attestation: &[u8],
        account_nonce: u64,
        bump: u32,
    ) -> Result<PendingTx, ChainError>;
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
    /// The enabled attesters the destination checks signatures against, and its threshold.
    async fn attesters(&self) -> Result<(Vec<Address>, usize), ChainError>;
    /// The chain's count of transactions sent by our account, including pending ones.
    async fn account_nonce(&self) -> Result<u64, ChainError>;
}
