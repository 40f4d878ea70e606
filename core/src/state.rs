//! The relayer's per-message record and state machine (DESIGN §6):
//! `Observed → Attesting → Attested → Submitted(tx) → Confirmed(tx)`, plus `Delivered`
//! (someone else received it first), `Skipped(reason)` (outside this relayer's relay policy:
//! never attempted, nothing spent) and `Failed(reason)` (no retry can fix it).

use crate::Domain;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MessageState {
    Observed,
    Attesting,
    Attested,
    Submitted { tx_hash: String },
    Confirmed { tx_hash: String },
    Delivered,
    Skipped { reason: String },
    Failed { reason: String },
}

impl MessageState {
    pub const NAMES: [&'static str; 8] = [
        "observed",
        "attesting",
        "attested",
        "submitted",
        "confirmed",
        "delivered",
        "skipped",
        "failed",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Self::Observed => "observed",
            Self::Attesting => "attesting",
            Self::Attested => "attested",
            Self::Submitted { .. } => "submitted",
            Self::Confirmed { .. } => "confirmed",
            Self::Delivered => "delivered",
            Self::Skipped { .. } => "skipped",
            Self::Failed { .. } => "failed",
        }
    }

    /// Terminal states need no more work.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Confirmed { .. } | Self::Delivered | Self::Skipped { .. } | Self::Failed { .. }
        )
    }

    pub fn tx_hash(&self) -> Option<&str> {
        match self {
            Self::Submitted { tx_hash } | Self::Confirmed { tx_hash } => Some(tx_hash),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at_ms: u64,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A signed delivery transaction, persisted before it is broadcast so that a restart
/// re-sends the very same bytes instead of signing a second transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTx {
    pub tx_hash: String,
    /// The signed bytes as the chain takes them (hex for EVM, base64 for Solana). Empty in
    /// the record of a batch's member: a batch's bytes are stored once, beside its members
    /// and in the same transaction (the relayer's `batch_txs` tree), not once per member.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub raw: String,
    /// The submitter account's sequence number it uses (an EVM account nonce), on chains
    /// that order an account's transactions by one ([`crate::traits::AccountSequence`]).
    /// Stores written before this field was generalised call it `account_nonce`.
    #[serde(default, alias = "account_nonce")]
    pub sequence: Option<u64>,
    pub sent_at_ms: u64,
    /// The last block height at which it can still land, on chains where a transaction
    /// expires (a Solana blockhash); `None` where it waits for as long as it takes.
    #[serde(default)]
    pub valid_until: Option<u64>,
}

impl PendingTx {
    /// This transaction as a batch member's record keeps it: everything but its bytes.
    pub fn without_raw(&self) -> PendingTx {
        PendingTx {
            tx_hash: self.tx_hash.clone(),
            raw: String::new(),
            sequence: self.sequence,
            sent_at_ms: self.sent_at_ms,
            valid_until: self.valid_until,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub message_hash: String,
    pub message: String,
    pub source_domain: Domain,
    pub destination_domain: Domain,
    pub nonce: u64,
    pub source_tx: String,
    pub source_block: u64,
    pub state: MessageState,
    #[serde(default)]
    pub attestation: Option<String>,
    #[serde(default)]
    pub signatures: usize,
    #[serde(default)]
    pub attempts: u32,
    /// Refusals by the destination that chain state does not explain (not received, the
    /// attestation still valid, not paused), across states; at the policy's bound the
    /// message is `Failed`. Not reset by transitions, unlike `attempts`.
    #[serde(default)]
    pub refusals: u32,
    /// The last error or refusal met, for the status API.
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub next_attempt_at_ms: u64,
    #[serde(default)]
    pub pending_tx: Option<PendingTx>,
    /// Every transaction this message was sent in (replacements included), newest last.
    #[serde(default)]
    pub sent_txs: Vec<String>,
    /// Those of `sent_txs` that only fill our account nonce (a self-transfer), sent once the
    /// message was delivered by someone else while ours could not be mined.
    #[serde(default)]
    pub filler_txs: Vec<String>,
    /// Those of `sent_txs` that carried it in a batch with other messages: only their
    /// receipts can have skipped it (someone else delivered it first).
    #[serde(default)]
    pub batch_txs: Vec<String>,
    pub observed_at_ms: u64,
    /// The burn's block time (ms), for end-to-end latency.
    #[serde(default)]
    pub burned_at_ms: u64,
    #[serde(default)]
    pub attested_at_ms: u64,
    pub history: Vec<HistoryEntry>,
    /// Its burn was read as final and later reorged away (a reorg deeper than the source's
    /// finality rule): whatever it reached, no burn backs it any more (DESIGN §3).
    #[serde(default)]
    pub finality_violated: bool,
}

impl MessageRecord {
    /// Moves to `state`, appending to the history.
    pub fn transition(&mut self, state: MessageState, now_ms: u64, detail: Option<String>) {
        self.history.push(HistoryEntry {
            at_ms: now_ms,
            state: state.name().to_string(),
            tx_hash: state.tx_hash().map(str::to_string),
            detail,
        });
        self.state = state;
        self.attempts = 0;
        self.next_attempt_at_ms = now_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::PendingTx;

    #[test]
    fn a_pending_transaction_stored_before_sequences_loads_with_its_nonce() {
        // As relayers before the `Slot` seam stored it: EVM fees and `account_nonce`.
        let old = r#"{"tx_hash":"0xab","raw":"0x00","account_nonce":7,
            "max_fee_per_gas":100,"max_priority_fee_per_gas":2,"sent_at_ms":5}"#;
        let tx: PendingTx = serde_json::from_str(old).unwrap();
        assert_eq!(tx.sequence, Some(7));
        assert_eq!(tx.valid_until, None);
        let now: PendingTx = serde_json::from_str(&serde_json::to_string(&tx).unwrap()).unwrap();
        assert_eq!(now, tx, "written and read back in today's form");
    }
}
