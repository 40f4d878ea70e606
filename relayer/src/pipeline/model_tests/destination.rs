//! The model chain as the relayer reaches it: the `Destination` trait over [`ChainState`],
//! each call first passing the process (a crashed relayer gets no answer) and the armed RPC
//! outages. Signing is deterministic, as it is on both chains: the same inputs give the same
//! transaction hash.

use super::chain::{ChainState, Key, Mode, Payload, Tx, BLOCKHASH_VALIDITY};
use super::process::Process;
use async_trait::async_trait;
use std::sync::{Arc, Mutex as StdMutex, MutexGuard};
use usd1_core::state::PendingTx;
use usd1_core::traits::{ChainError, Destination, DryRun, TxStatus};
use usd1_core::{Address, Domain, Message};

/// The fee at `bump`: 25 % more per bump, as the EVM adapter raises it.
fn fee(bump: u32) -> u128 {
    (0..bump).fold(100u128, |f, _| f.saturating_mul(5) / 4 + 1)
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
            raw: "0x00".into(),
            account_nonce: tx.account_nonce,
            max_fee_per_gas: tx.fee,
            max_priority_fee_per_gas: tx.fee,
            sent_at_ms: 0,
            valid_until: tx.valid_until,
        };
        self.state().signed.insert(tx.hash.clone(), tx);
        pending
    }
}

fn decode(message: &[u8]) -> Result<Message, ChainError> {
    Message::decode(message).map_err(|e| ChainError::Rejected(e.to_string()))
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
        let reason = if s.used.contains_key(&key) {
            "nonce already used"
        } else if s.paused {
            "paused"
        } else if s.faults.refused_dry_runs > 0 {
            s.faults.refused_dry_runs -= 1;
            "injected refusal"
        } else {
            return Ok(DryRun::Succeeds);
        };
        Ok(DryRun::Reverts {
            reason: reason.into(),
        })
    }

    async fn is_paused(&self) -> Result<bool, ChainError> {
        self.call("is_paused").await?;
        Ok(self.state().paused)
    }

    fn uses_account_nonces(&self) -> bool {
        self.mode == Mode::Evm
    }

    async fn sign_delivery(
        &self,
        message: &[u8],
        _: &[u8],
        account_nonce: u64,
        bump: u32,
    ) -> Result<PendingTx, ChainError> {
        self.call("sign_delivery").await?;
        let m = decode(message)?;
        let payload = Payload::Delivery {
            key: key_of(&m),
            message_hash: m.hash(),
        };
        let tx = match self.mode {
            Mode::Evm => Tx {
                hash: tx_hash(&[
                    b"delivery",
                    message,
                    &account_nonce.to_be_bytes(),
                    &bump.to_be_bytes(),
                ]),
                account_nonce,
                fee: fee(bump),
                valid_until: None,
                payload,
            },
            Mode::Solana => {
                let mut s = self.state();
                // The attesters refuse to co-sign what is received, or for a reason of theirs.
                if s.used.contains_key(&key_of(&m)) {
                    return Err(ChainError::Rejected("409: already received".into()));
                }
                if s.faults.refused_dry_runs > 0 {
                    s.faults.refused_dry_runs -= 1;
                    return Err(ChainError::Rejected("422: injected refusal".into()));
                }
                // Signed over the latest blockhash: the same bytes within one block.
                Tx {
                    hash: tx_hash(&[b"solana", message, &s.height.to_be_bytes()]),
                    account_nonce: 0,
                    fee: 0,
                    valid_until: Some(s.height + BLOCKHASH_VALIDITY),
                    payload,
                }
            }
        };
        Ok(self.sign(tx))
    }

    async fn sign_nonce_filler(
        &self,
        account_nonce: u64,
        bump: u32,
    ) -> Result<Option<PendingTx>, ChainError> {
        if self.mode == Mode::Solana {
            return Ok(None);
        }
        self.call("sign_nonce_filler").await?;
        let tx = Tx {
            hash: tx_hash(&[b"filler", &account_nonce.to_be_bytes(), &bump.to_be_bytes()]),
            account_nonce,
            fee: fee(bump),
            valid_until: None,
            payload: Payload::Filler,
        };
        Ok(Some(self.sign(tx)))
    }

    fn abandon_is_safe(&self) -> bool {
        self.mode == Mode::Solana
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

    async fn attesters(&self) -> Result<(Vec<Address>, usize), ChainError> {
        self.call("attesters").await?;
        Ok(match self.mode {
            Mode::Evm => (self.attesters.clone(), 2),
            // No secp256k1 attestation checked: the pipeline takes who signed.
            Mode::Solana => (Vec::new(), 2),
        })
    }

    async fn account_nonce(&self) -> Result<u64, ChainError> {
        self.call("account_nonce").await?;
        Ok(match self.mode {
            Mode::Evm => self.state().pending_nonce(),
            Mode::Solana => 0,
        })
    }
}
