//! The model chain as the relayer reaches it: the `Destination` trait over [`ChainState`],
//! each call first passing the process (a crashed relayer gets no answer) and the armed RPC
//! outages. Signing is deterministic, as it is on both chains: the same inputs give the same
//! transaction hash.

use super::chain::{ChainState, Key, Mode, Payload, Tx, BLOCKHASH_VALIDITY};
use super::process::Process;
use crate::proof::{CoSignError, CoSigners};
use async_trait::async_trait;
use std::sync::{Arc, Mutex as StdMutex, MutexGuard};
use usd1_core::proof::{Prepared, Proof, Unsigned, Verifier};
use usd1_core::state::PendingTx;
use usd1_core::traits::{
    AccountSequence, BatchDelivery, BatchEntry, ChainError, Destination, DryRun, Slot, TxStatus,
};
use usd1_core::{Address, Domain, Message};

/// The fee of a try: 25 % more per try, as the EVM adapter raises it.
fn fee(attempt: u32) -> u128 {
    (0..attempt).fold(100u128, |f, _| f.saturating_mul(5) / 4 + 1)
}

fn tx_hash(parts: &[&[u8]]) -> String {
    format!("{:#x}", alloy::primitives::keccak256(parts.concat()))
}

pub struct ModelChain {
    pub domain: Domain,
    pub mode: Mode,
    state: StdMutex<ChainState>,
    process: Arc<Process>,
    attesters: Vec<Address>,
}

impl ModelChain {
    pub fn new(domain: Domain, mode: Mode, process: Arc<Process>, attesters: Vec<Address>) -> Self {
        let state = ChainState::new(mode);
        Self {
            domain,
            mode,
            state: StdMutex::new(state),
            process,
            attesters,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, ChainState> {
        self.state.lock().unwrap()
    }

    /// Every call goes through here: a dead process never gets an answer, and an armed
    /// outage fails it.
    async fn call(&self, method: &'static str) -> Result<(), ChainError> {
        self.process.enter().await;
        let mut s = self.state();
        if s.faults.rpc_failures > 0 {
            s.faults.rpc_failures -= 1;
            return Err(ChainError::rpc(method, "injected outage"));
        }
        Ok(())
    }

    fn sign(&self, tx: Tx) -> PendingTx {
        let pending = PendingTx {
            tx_hash: tx.hash.clone(),
            raw: signed_bytes(&tx.hash),
            sequence: (self.mode == Mode::Evm).then_some(tx.account_nonce),
            sent_at_ms: 0,
            valid_until: tx.valid_until,
        };
        self.state().signed.insert(tx.hash.clone(), tx);
        pending
    }
}

/// The Solana model's multisig: exactly `m` members, so one refusal leaves too few (as one
/// refusal did when the adapter gathered co-signatures itself).
const COSIGNERS: [(&str, [u8; 32]); 2] = [("attester-1", [1; 32]), ("attester-2", [2; 32])];

/// The attesters as co-signers of Solana mints: they refuse what is received, or for a
/// reason of theirs (an injected refusal).
#[async_trait]
impl CoSigners for ModelChain {
    async fn reachable(&self) -> Vec<(String, [u8; 32])> {
        COSIGNERS
            .iter()
            .map(|(url, k)| (url.to_string(), *k))
            .collect()
    }

    async fn cosign(
        &self,
        _: &str,
        _: &[u8; 32],
        _: &usd1_core::B256,
        transaction: &[u8],
    ) -> Result<[u8; 64], CoSignError> {
        self.call("cosign")
            .await
            .map_err(|e| CoSignError::Unreachable(e.to_string()))?;
        let m = decode(transaction).map_err(|e| CoSignError::Refused(e.to_string()))?;
        let mut s = self.state();
        if s.used.contains_key(&key_of(&m)) {
            return Err(CoSignError::Refused("409: already received".into()));
        }
        if s.faults.refused_dry_runs > 0 {
            s.faults.refused_dry_runs -= 1;
            return Err(CoSignError::Refused("422: injected refusal".into()));
        }
        Ok([0; 64])
    }
}

fn decode(message: &[u8]) -> Result<Message, ChainError> {
    Message::decode(message).map_err(|e| ChainError::Rejected(e.to_string()))
}

/// A dry run's answer to what is not about one message: a pause, or an armed refusal.
fn refusal(s: &mut ChainState) -> DryRun {
    let reason = if s.paused {
        "paused"
    } else if s.faults.refused_dry_runs > 0 {
        s.faults.refused_dry_runs -= 1;
        "injected refusal"
    } else {
        return DryRun::Succeeds;
    };
    DryRun::Reverts {
        reason: reason.into(),
    }
}

/// The model's stand-in for a transaction's signed bytes: one string per transaction.
fn signed_bytes(hash: &str) -> String {
    format!("signed:{hash}")
}

fn key_of(m: &Message) -> Key {
    (m.source_domain, m.nonce)
}

#[async_trait]
impl Destination for ModelChain {
    fn domain(&self) -> Domain {
        self.domain
    }

    async fn is_received(&self, m: &Message) -> Result<bool, ChainError> {
        self.call("is_received").await?;
        Ok(self.state().used.contains_key(&key_of(m)))
    }

    async fn simulate_delivery(&self, message: &[u8], _: &[u8]) -> Result<DryRun, ChainError> {
        self.call("simulate_delivery").await?;
        let key = key_of(&decode(message)?);
        let mut s = self.state();
        // The Solana adapter's dry run reads no chain state: co-signing refuses instead.
        if self.mode == Mode::Solana {
            return Ok(DryRun::Succeeds);
        }
        if s.used.contains_key(&key) {
            return Ok(DryRun::Reverts {
                reason: "nonce already used".into(),
            });
        }
        Ok(refusal(&mut s))
    }

    async fn is_paused(&self) -> Result<bool, ChainError> {
        self.call("is_paused").await?;
        Ok(self.state().paused)
    }

    fn sequence(&self) -> Option<&dyn AccountSequence> {
        (self.mode == Mode::Evm).then_some(self as &dyn AccountSequence)
    }

    fn batches(&self) -> Option<&dyn BatchDelivery> {
        (self.mode == Mode::Evm).then_some(self as &dyn BatchDelivery)
    }

    async fn prepare_delivery(
        &self,
        message: &[u8],
        _: &Proof,
        slot: Slot,
    ) -> Result<Prepared, ChainError> {
        self.call("prepare_delivery").await?;
        let m = decode(message)?;
        let payload = Payload::Delivery {
            key: key_of(&m),
            message_hash: m.hash(),
        };
        Ok(match self.mode {
            Mode::Evm => {
                let account_nonce = slot
                    .sequence
                    .ok_or_else(|| ChainError::Rejected("no account nonce allocated".into()))?;
                Prepared::Signed(self.sign(Tx {
                    hash: tx_hash(&[
                        b"delivery",
                        message,
                        &account_nonce.to_be_bytes(),
                        &slot.attempt.to_be_bytes(),
                    ]),
                    account_nonce,
                    fee: fee(slot.attempt),
                    valid_until: None,
                    payload,
                }))
            }
            Mode::Solana => {
                let s = self.state();
                // Built over the latest blockhash: the same bytes within one block.
                let tx = Tx {
                    hash: tx_hash(&[b"solana", message, &s.height.to_be_bytes()]),
                    account_nonce: 0,
                    fee: 0,
                    valid_until: Some(s.height + BLOCKHASH_VALIDITY),
                    payload,
                };
                Prepared::NeedsCoSignatures(Unsigned {
                    message: message.to_vec(),
                    signers: COSIGNERS.iter().map(|(_, k)| *k).collect(),
                    draft: Box::new(tx),
                })
            }
        })
    }

    async fn finish_delivery(
        &self,
        unsigned: Unsigned,
        _: Vec<[u8; 64]>,
    ) -> Result<PendingTx, ChainError> {
        self.call("finish_delivery").await?;
        let tx = unsigned
            .draft
            .downcast::<Tx>()
            .map_err(|_| ChainError::Rejected("not prepared here".into()))?;
        Ok(self.sign(*tx))
    }

    async fn broadcast(&self, pending: &PendingTx) -> Result<(), ChainError> {
        self.process.enter().await;
        let mut s = self.state();
        let Some(tx) = s.signed.get(&pending.tx_hash).cloned() else {
            return Err(ChainError::Rejected(format!(
                "{} was never signed",
                pending.tx_hash
            )));
        };
        // What is sent again after a restart must be the bytes signed (a batch member's
        // record keeps none: they come from the store's `batch_txs`).
        assert_eq!(
            pending.raw,
            signed_bytes(&tx.hash),
            "broadcast bytes are not those signed for {}",
            tx.hash
        );
        s.check_broadcast(&tx);
        s.sent.insert(tx.hash.clone(), tx.clone());
        if s.faults.rpc_failures > 0 {
            s.faults.rpc_failures -= 1;
            if s.faults.failed_broadcast_lands {
                let _ = s.submit(&tx);
            }
            return Err(ChainError::rpc("broadcast", "injected outage"));
        }
        s.submit(&tx)
    }

    async fn tx_status(
        &self,
        tx_hash: &str,
        valid_until: Option<u64>,
    ) -> Result<TxStatus, ChainError> {
        self.call("tx_status").await?;
        Ok(self.state().status(tx_hash, valid_until))
    }

    async fn verifier(&self) -> Result<Verifier, ChainError> {
        self.call("verifier").await?;
        Ok(match self.mode {
            Mode::Evm => Verifier::Attestation {
                attesters: self.attesters.clone(),
                threshold: 2,
            },
            Mode::Solana => Verifier::CoSigners {
                members: COSIGNERS.iter().map(|(_, k)| *k).collect(),
                threshold: 2,
            },
        })
    }
}

/// The EVM model's account nonces.
#[async_trait]
impl AccountSequence for ModelChain {
    async fn next_on_chain(&self) -> Result<u64, ChainError> {
        self.call("account_nonce").await?;
        Ok(self.state().pending_nonce())
    }

    async fn used_on_chain(&self) -> Result<u64, ChainError> {
        self.call("account_nonce").await?;
        Ok(self.state().mined_nonce)
    }

    async fn sign_filler(&self, slot: Slot) -> Result<PendingTx, ChainError> {
        self.call("sign_nonce_filler").await?;
        let account_nonce = slot
            .sequence
            .ok_or_else(|| ChainError::Rejected("no account nonce allocated".into()))?;
        let tx = Tx {
            hash: tx_hash(&[
                b"filler",
                &account_nonce.to_be_bytes(),
                &slot.attempt.to_be_bytes(),
            ]),
            account_nonce,
            fee: fee(slot.attempt),
            valid_until: None,
            payload: Payload::Filler,
        };
        Ok(self.sign(tx))
    }
}

/// The EVM model's `receiveMessages`.
#[async_trait]
impl BatchDelivery for ModelChain {
    async fn supports_batches(&self) -> Result<bool, ChainError> {
        self.call("supports_batches").await?;
        Ok(true)
    }

    /// A used key is skipped, so only a pause or an injected refusal reverts the batch.
    async fn simulate_batch(&self, entries: &[BatchEntry<'_>]) -> Result<DryRun, ChainError> {
        self.call("simulate_batch").await?;
        for e in entries {
            decode(e.message)?;
        }
        Ok(refusal(&mut self.state()))
    }

    async fn prepare_batch(
        &self,
        entries: &[BatchEntry<'_>],
        slot: Slot,
    ) -> Result<PendingTx, ChainError> {
        self.call("prepare_batch").await?;
        let account_nonce = slot
            .sequence
            .ok_or_else(|| ChainError::Rejected("no account nonce allocated".into()))?;
        let mut parts: Vec<&[u8]> = vec![b"batch"];
        let mut keys = Vec::new();
        for e in entries {
            let m = decode(e.message)?;
            keys.push((key_of(&m), m.hash()));
            parts.push(e.message);
        }
        let (n, attempt) = (account_nonce.to_be_bytes(), slot.attempt.to_be_bytes());
        parts.extend([&n[..], &attempt[..]]);
        Ok(self.sign(Tx {
            hash: tx_hash(&parts),
            account_nonce,
            fee: fee(slot.attempt),
            valid_until: None,
            payload: Payload::Batch(keys),
        }))
    }

    async fn skipped(&self, tx_hash: &str) -> Result<Vec<Key>, ChainError> {
        self.call("skipped").await?;
        Ok(self
            .state()
            .receipts
            .get(tx_hash)
            .map(|r| r.skipped.clone())
            .unwrap_or_default())
    }
}
