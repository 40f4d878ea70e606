//! A destination chain with real semantics, for the model test: `usedNonces` keyed by
//! (source domain, nonce), blocks, a mempool, receipts. EVM-like: one account nonce per
//! transaction, replacement by fee (≥ 10 %) at the same nonce, at most one transaction per
//! nonce lands, and nonces are mined in order. Solana-like: no account nonces, each
//! transaction valid until its blockhash expires, any number may land (the claim, keyed by
//! (source, nonce), makes all but the first fail).
//!
//! It also watches what the relayer broadcasts: a delivery of a (source, nonce) already
//! received, or a second delivery of one while an earlier one could still land (other than
//! a replacement at the same account nonce), is written down as a violation. The relayer
//! reaches it through [`super::destination::ModelChain`].

use std::collections::HashMap;
use usd1_core::traits::{ChainError, TxStatus};
use usd1_core::{Domain, B256};

/// Blocks a Solana blockhash stays valid for after the block it was read at.
pub const BLOCKHASH_VALIDITY: u64 = 3;
/// Confirmations at which a block is final under the destination's rule (both modes).
pub const FINAL_DEPTH: u64 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Evm,
    Solana,
}

/// What `usedNonces` (EVM) or the claim accounts (Solana) are keyed by.
pub type Key = (Domain, u64);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Delivery {
        key: Key,
        message_hash: B256,
    },
    /// Several messages in one transaction (EVM `receiveMessages`): a key already used is
    /// skipped, anything else that refuses reverts the whole batch.
    Batch(Vec<(Key, B256)>),
    /// A self-transfer that only uses up an account nonce.
    Filler,
}

#[derive(Clone, Debug)]
pub struct Tx {
    pub hash: String,
    pub account_nonce: u64,
    pub fee: u128,
    pub valid_until: Option<u64>,
    pub payload: Payload,
}

#[derive(Clone, Debug)]
pub struct Receipt {
    pub success: bool,
    pub block: u64,
    pub fee: u128,
    /// A batch's keys skipped as already used (not delivered by it).
    pub skipped: Vec<Key>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deliverer {
    Us { tx: String, message_hash: B256 },
    Other,
}

/// Faults armed by the test, consumed as calls and blocks happen.
#[derive(Default, Debug)]
pub struct Faults {
    /// The next this many calls (any method) fail as an unreachable node would.
    pub rpc_failures: u32,
    /// Whether a broadcast that fails reached the node all the same (a lost answer).
    pub failed_broadcast_lands: bool,
    /// The next this many dry runs (EVM) or co-signings (Solana) refuse for no reason that
    /// chain state shows.
    pub refused_dry_runs: u32,
    /// The next this many deliveries mined revert for no reason that chain state shows.
    pub reverted_landings: u32,
}

/// What the relayer's transactions cost it beyond one successful delivery per message.
#[derive(Default, Debug, Clone, Copy)]
pub struct Waste {
    /// Deliveries mined that reverted because the (source, nonce) was already received.
    pub reverted_as_received: u64,
    /// Deliveries mined that reverted for an injected reason (or a pause).
    pub reverted_otherwise: u64,
    /// Self-transfers mined to use up a nonce.
    pub fillers: u64,
    /// Messages our batches carried that were already received (skipped: no revert).
    pub skipped_in_batches: u64,
}

pub struct ChainState {
    pub mode: Mode,
    pub height: u64,
    pub used: HashMap<Key, Deliverer>,
    /// EVM: the account nonce the next mined transaction of ours must have.
    pub mined_nonce: u64,
    /// EVM: at most one transaction per account nonce.
    pub mempool: Vec<Tx>,
    pub receipts: HashMap<String, Receipt>,
    /// Every transaction the relayer signed, by hash.
    pub signed: HashMap<String, Tx>,
    /// Every transaction the relayer tried to broadcast, by hash.
    pub sent: HashMap<String, Tx>,
    pub paused: bool,
    pub faults: Faults,
    pub violations: Vec<String>,
    pub waste: Waste,
}

impl ChainState {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            height: 1,
            used: HashMap::new(),
            mined_nonce: 0,
            mempool: Vec::new(),
            receipts: HashMap::new(),
            signed: HashMap::new(),
            sent: HashMap::new(),
            paused: false,
            faults: Faults::default(),
            violations: Vec::new(),
            waste: Waste::default(),
        }
    }

    /// Whether `tx` (not mined) can still be mined by someone re-sending its bytes.
    fn could_land(&self, tx: &Tx) -> bool {
        if self.receipts.contains_key(&tx.hash) {
            return false;
        }
        match self.mode {
            Mode::Evm => tx.account_nonce >= self.mined_nonce,
            Mode::Solana => tx.valid_until.is_some_and(|v| self.height <= v),
        }
    }

    /// The properties of a broadcast, checked when the relayer makes it.
    pub fn check_broadcast(&mut self, tx: &Tx) {
        // A single delivery of a received key can only revert; a batch skips it (no cost).
        if let Payload::Delivery { key, .. } = &tx.payload {
            match self.used.get(key) {
                Some(Deliverer::Us { tx: landed, .. }) if *landed == tx.hash => {}
                Some(by) => self.violations.push(format!(
                    "{} broadcast a delivery of {key:?} after the chain showed it received ({by:?})",
                    tx.hash
                )),
                None => {}
            }
        }
        for key in tx.keys() {
            self.check_rivals(tx, &key);
        }
    }

    /// No other transaction carrying `key` that could still land, except a replacement at
    /// the same account nonce.
    fn check_rivals(&mut self, tx: &Tx, key: &Key) {
        let rivals: Vec<String> = self
            .sent
            .values()
            .filter(|o| o.hash != tx.hash && o.keys().contains(key))
            // A replacement at the same account nonce supersedes: only one of them can land.
            .filter(|o| self.mode == Mode::Solana || o.account_nonce != tx.account_nonce)
            .filter(|o| self.could_land(o))
            .map(|o| format!("{} (account nonce {})", o.hash, o.account_nonce))
            .collect();
        if !rivals.is_empty() {
            self.violations.push(format!(
                "{} (account nonce {}) is a second delivery of {key:?} while {} could still land",
                tx.hash,
                tx.account_nonce,
                rivals.join(", ")
            ));
        }
    }

    /// What a node does with a transaction sent to it.
    pub fn submit(&mut self, tx: &Tx) -> Result<(), ChainError> {
        if self.receipts.contains_key(&tx.hash) || self.mempool.iter().any(|t| t.hash == tx.hash) {
            return Ok(()); // "already known"
        }
        match self.mode {
            // "nonce too low": the adapter treats it as sent; the receipt says what happened.
            Mode::Evm if tx.account_nonce < self.mined_nonce => Ok(()),
            Mode::Evm => {
                match self
                    .mempool
                    .iter_mut()
                    .find(|t| t.account_nonce == tx.account_nonce)
                {
                    Some(old) if tx.fee < old.fee + old.fee / 10 => Err(ChainError::rpc(
                        "eth_sendRawTransaction",
                        "replacement transaction underpriced",
                    )),
                    Some(old) => {
                        *old = tx.clone();
                        Ok(())
                    }
                    None => {
                        self.mempool.push(tx.clone());
                        Ok(())
                    }
                }
            }
            // Sent without preflight: an expired one is accepted and silently dropped.
            Mode::Solana => {
                if self.could_land(tx) {
                    self.mempool.push(tx.clone());
                }
                Ok(())
            }
        }
    }

    fn execute(&mut self, tx: Tx) {
        let mut skipped = Vec::new();
        let success = match &tx.payload {
            Payload::Batch(entries) => {
                if self.paused || self.faults.reverted_landings > 0 {
                    self.faults.reverted_landings = self.faults.reverted_landings.saturating_sub(1);
                    self.waste.reverted_otherwise += 1;
                    false
                } else {
                    for (key, message_hash) in entries {
                        if self.used.contains_key(key) {
                            skipped.push(*key);
                            self.waste.skipped_in_batches += 1;
                        } else {
                            let by = Deliverer::Us {
                                tx: tx.hash.clone(),
                                message_hash: *message_hash,
                            };
                            self.used.insert(*key, by);
                        }
                    }
                    true
                }
            }
            Payload::Filler => {
                self.waste.fillers += 1;
                true
            }
            Payload::Delivery { key, message_hash } => {
                if self.used.contains_key(key) {
                    self.waste.reverted_as_received += 1;
                    false
                } else if self.paused || self.faults.reverted_landings > 0 {
                    self.faults.reverted_landings = self.faults.reverted_landings.saturating_sub(1);
                    self.waste.reverted_otherwise += 1;
                    false
                } else {
                    let by = Deliverer::Us {
                        tx: tx.hash.clone(),
                        message_hash: *message_hash,
                    };
                    self.used.insert(*key, by);
                    true
                }
            }
        };
        let receipt = Receipt {
            success,
            block: self.height,
            fee: tx.fee,
            skipped,
        };
        self.receipts.insert(tx.hash, receipt);
    }

    /// A new block: first the node forgets the transactions `drop_mask` picks (bit i % 8 for
    /// the i-th pending one), then at most `include` of ours are mined.
    pub fn mine(&mut self, include: usize, drop_mask: u8) {
        self.height += 1;
        let mut i = 0;
        self.mempool.retain(|_| {
            i += 1;
            drop_mask & (1 << ((i - 1) % 8)) == 0
        });
        let mut included = 0;
        while included < include {
            let next = match self.mode {
                Mode::Evm => self
                    .mempool
                    .iter()
                    .position(|t| t.account_nonce == self.mined_nonce),
                Mode::Solana => {
                    let height = self.height;
                    self.mempool
                        .retain(|t| t.valid_until.is_some_and(|v| height <= v));
                    (!self.mempool.is_empty()).then_some(0)
                }
            };
            let Some(at) = next else { break };
            let tx = self.mempool.remove(at);
            if self.mode == Mode::Evm {
                self.mined_nonce += 1;
            }
            self.execute(tx);
            included += 1;
        }
    }

    /// Solana: enough blocks pass that every blockhash read so far is past its validity.
    pub fn expire_blockhashes(&mut self) {
        if self.mode == Mode::Solana {
            self.height += BLOCKHASH_VALIDITY + 1;
            let height = self.height;
            self.mempool
                .retain(|t| t.valid_until.is_some_and(|v| height <= v));
        }
    }

    /// How many times `key` was received: our successful deliveries, and another relayer's.
    pub fn landings(&self, key: &Key) -> usize {
        let ours = self
            .receipts
            .iter()
            .filter(|(hash, r)| {
                r.success
                    && !r.skipped.contains(key)
                    && self
                        .signed
                        .get(*hash)
                        .is_some_and(|t| t.keys().contains(key))
            })
            .count();
        ours + usize::from(self.used.get(key) == Some(&Deliverer::Other))
    }

    /// The EVM count of our transactions including pending ones, as a node answers it.
    pub fn pending_nonce(&self) -> u64 {
        let mut next = self.mined_nonce;
        while self.mempool.iter().any(|t| t.account_nonce == next) {
            next += 1;
        }
        next
    }

    pub fn status(&self, hash: &str, valid_until: Option<u64>) -> TxStatus {
        if let Some(r) = self.receipts.get(hash) {
            let confirmations = self.height - r.block + 1;
            let is_final = confirmations >= FINAL_DEPTH;
            return TxStatus::Included {
                success: r.success,
                block: r.block,
                is_final,
                fee_paid: r.fee,
            };
        }
        match (self.mode, valid_until) {
            (Mode::Solana, Some(v)) if self.height > v => TxStatus::Expired,
            _ => TxStatus::Unknown,
        }
    }
}

impl Tx {
    /// The (source, nonce) keys it delivers.
    fn keys(&self) -> Vec<Key> {
        match &self.payload {
            Payload::Delivery { key, .. } => vec![*key],
            Payload::Batch(entries) => entries.iter().map(|(k, _)| *k).collect(),
            Payload::Filler => vec![],
        }
    }
}
