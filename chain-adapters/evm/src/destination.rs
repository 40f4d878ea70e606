//! `MessageTransmitter.receiveMessage` as a relayer destination: replay check through
//! `usedNonces`, a dry run (revert reason for people, gas against the relayer's cap),
//! `paused()` for the pipeline's reading of a refusal, and EIP-1559 delivery transactions
//! signed locally (so they can be persisted before they are sent) with fee bumping.

use crate::bindings::MessageTransmitter;
use crate::bindings::MessageTransmitter::MessageTransmitterErrors;
use crate::bindings::TokenMessenger::TokenMessengerErrors;
use crate::bindings::Usd1Token::Usd1TokenErrors;
use crate::conf::Finality;
use crate::rpc::EvmRpc;
use crate::source::{BlockSource, EvmBlockSource};
use alloy::eips::{BlockId, Encodable2718};
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolInterface};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::OnceCell;
use usd1_core::proof::{Prepared, Proof, Verifier};
use usd1_core::state::PendingTx;
use usd1_core::traits::{
    AccountSequence, BatchDelivery, ChainError, Destination, DryRun, Slot, TxStatus,
};

mod batch;
mod gas;
mod receipt_status;
use gas::{with_margin, GasGuess};
use receipt_status::ReceiptStatus;
use usd1_core::{Domain, Message};

/// Gas for a delivery when estimation is not possible (measured ~170k), within the cap.
const FALLBACK_GAS: u64 = 250_000;

pub struct EvmDestination {
    rpc: Arc<EvmRpc>,
    domain: Domain,
    transmitter: Address,
    token: Address,
    /// The most gas one delivery may use (relay policy).
    max_gas: u64,
    /// When a delivery's block counts as final (the chain's rule, as its watchers use).
    finality: Finality,
    /// Confirmations a delivery needs on top of that rule (the operator's
    /// `delivery_confirmations`; 1 = mined).
    delivery_confirmations: u64,
    wallet: EthereumWallet,
    from: Address,
    chain_id: OnceCell<u64>,
    /// The gas limit a dry run found for a delivery, taken by the signing that follows it in
    /// the same step, so a delivery is estimated once, not twice.
    estimates: std::sync::Mutex<std::collections::HashMap<B256, u64>>,
    /// What batches' estimates were, to dry-run the next batch with one `eth_call` at its
    /// limit (`gas`).
    batch_gas: GasGuess,
    /// The last fee estimate and when it was read.
    fee_cache: std::sync::Mutex<Option<(std::time::Instant, (u128, u128))>>,
    /// Whether the transmitter has `receiveMessages`, read from its code once.
    batch_support: OnceCell<bool>,
    /// The submitter's nonce at `latest` and when it was read.
    used_cache: std::sync::Mutex<Option<(std::time::Instant, u64)>>,
}

/// How long the submitter's used nonce count is reused: well under a block.
const USED_COUNT_TTL: std::time::Duration = std::time::Duration::from_millis(250);

/// How long a fee estimate is used: under a second, so a try still bids what the chain
/// asks now (a try that is not mined is replaced with a raised bid anyway).
const FEE_ESTIMATE_TTL: std::time::Duration = std::time::Duration::from_millis(500);

impl EvmDestination {
    /// The signed `receiveMessage` transaction at this account nonce; `attempt` raises the
    /// fee 25 % per step over the chain's estimate, to replace one that is not mined.
    pub async fn sign_delivery(
        &self,
        message: &[u8],
        attestation: &[u8],
        account_nonce: u64,
        attempt: u32,
    ) -> Result<PendingTx, ChainError> {
        let input = MessageTransmitter::receiveMessageCall {
            message: Bytes::copy_from_slice(message),
            attestation: Bytes::copy_from_slice(attestation),
        }
        .abi_encode();
        let (max_fee, max_priority) = self.fees(attempt).await?;
        let request = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.transmitter)
            .with_input(input);
        // Never more than the cap, whatever the estimate says: the relayer's funds are at stake.
        let gas = match self.take_limit(&delivery_key(message, attestation)) {
            Some(limit) => limit,
            None => match self.estimate(message, attestation).await {
                Ok(g) => with_margin(g),
                Err(_) => FALLBACK_GAS,
            },
        }
        .min(self.max_gas);
        self.sign(request, account_nonce, gas, (max_fee, max_priority))
            .await
    }

    /// The receipt of our transaction `tx_hash`, if it is in a block.
    async fn receipt(
        &self,
        tx_hash: &str,
    ) -> Result<Option<alloy::rpc::types::TransactionReceipt>, ChainError> {
        let hash: B256 = tx_hash
            .parse()
            .map_err(|_| ChainError::Rejected(format!("bad tx hash {tx_hash}")))?;
        self.rpc
            .call("eth_getTransactionReceipt", |p| async move {
                p.get_transaction_receipt(hash).await
            })
            .await
    }

    /// What [`tx_status`](Destination::tx_status) needs of `tx_hash`'s receipt, its logs
    /// skipped ([`receipt_status`]).
    async fn receipt_status(&self, tx_hash: &str) -> Result<Option<ReceiptStatus>, ChainError> {
        let hash: B256 = tx_hash
            .parse()
            .map_err(|_| ChainError::Rejected(format!("bad tx hash {tx_hash}")))?;
        self.rpc
            .call("eth_getTransactionReceipt", |p| async move {
                p.raw_request::<_, Option<ReceiptStatus>>(
                    "eth_getTransactionReceipt".into(),
                    (hash,),
                )
                .await
            })
            .await
    }

    /// A dry run's gas limit, for the signing that follows it.
    fn keep_limit(&self, key: B256, gas: u64) {
        let mut estimates = self.estimates.lock().unwrap_or_else(|p| p.into_inner());
        if estimates.len() >= MAX_KEPT_ESTIMATES {
            estimates.clear(); // dry runs never followed by a signing
        }
        estimates.insert(key, gas);
    }

    fn take_limit(&self, key: &B256) -> Option<u64> {
        self.estimates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
    }

    /// The enabled attesters `receiveMessage` checks signatures against, and its threshold.
    pub async fn attesters(&self) -> Result<(Vec<Address>, usize), ChainError> {
        let t = self.transmitter;
        let (n, threshold) = self
            .rpc
            .call("eth_call", |p| async move {
                let c = MessageTransmitter::new(t, p);
                let n = c.getNumEnabledAttesters().call().await?;
                let threshold = c.signatureThreshold().call().await?;
                Ok::<_, alloy::contract::Error>((n, threshold))
            })
            .await?;
        let mut out = Vec::new();
        for i in 0..n.saturating_to::<u64>() {
            let a = self
                .rpc
                .call("eth_call", |p| async move {
                    MessageTransmitter::new(t, p)
                        .getEnabledAttester(alloy::primitives::U256::from(i))
                        .call()
                        .await
                })
                .await?;
            out.push(a);
        }
        Ok((out, threshold.saturating_to()))
    }

    pub fn new(
        rpc: Arc<EvmRpc>,
        domain: Domain,
        contracts: (Address, Address),
        max_gas: u64,
        signer: PrivateKeySigner,
    ) -> Self {
        let from = signer.address();
        let (transmitter, token) = contracts;
        Self {
            rpc,
            domain,
            transmitter,
            token,
            max_gas,
            finality: Finality::Confirmations { confirmations: 0 },
            delivery_confirmations: 1,
            wallet: EthereumWallet::from(signer),
            from,
            chain_id: OnceCell::new(),
            estimates: Default::default(),
            batch_gas: Default::default(),
            fee_cache: Default::default(),
            batch_support: OnceCell::new(),
            used_cache: Default::default(),
        }
    }

    /// Deliveries count as final under `finality` once they have `delivery_confirmations`
    /// (default: as soon as they are mined).
    pub fn with_finality(mut self, finality: Finality, delivery_confirmations: u64) -> Self {
        self.finality = finality;
        self.delivery_confirmations = delivery_confirmations;
        self
    }

    pub fn submitter(&self) -> Address {
        self.from
    }

    /// (max fee, max priority fee) per gas: the chain's estimate, [`raised`] for this try.
    async fn fees(&self, attempt: u32) -> Result<(u128, u128), ChainError> {
        let (fee, priority) = self.fee_estimate().await?;
        let max_priority = raised(priority.max(1_000_000_000), attempt);
        let max_fee = raised(fee, attempt).max(max_priority);
        Ok((max_fee, max_priority))
    }

    /// The chain's (max fee, max priority fee) estimate, asked at most once per
    /// [`FEE_ESTIMATE_TTL`]: signing runs under the account's nonce lock, and a backlog's
    /// deliveries would otherwise each wait there for their own `eth_feeHistory`.
    async fn fee_estimate(&self) -> Result<(u128, u128), ChainError> {
        let cached = *self.fee_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, fees)) = cached {
            if at.elapsed() < FEE_ESTIMATE_TTL {
                return Ok(fees);
            }
        }
        let fees = self
            .rpc
            .call("eth_feeHistory", |p| async move {
                p.estimate_eip1559_fees().await
            })
            .await?;
        let fees = (fees.max_fee_per_gas, fees.max_priority_fee_per_gas);
        *self.fee_cache.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), fees));
        Ok(fees)
    }

    /// Signs `request` at `account_nonce` with these fees; the stored form of a transaction.
    async fn sign(
        &self,
        request: TransactionRequest,
        account_nonce: u64,
        gas: u64,
        (max_fee, max_priority): (u128, u128),
    ) -> Result<PendingTx, ChainError> {
        let envelope = request
            .with_nonce(account_nonce)
            .with_chain_id(self.chain_id().await?)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(max_priority)
            .build(&self.wallet)
            .await
            .map_err(|e| ChainError::Rejected(format!("cannot sign: {e}")))?;
        Ok(PendingTx {
            tx_hash: format!("{:#x}", envelope.tx_hash()),
            raw: format!("0x{}", alloy::hex::encode(envelope.encoded_2718())),
            sequence: Some(account_nonce),
            sent_at_ms: 0,
            valid_until: None,
        })
    }

    /// `eth_estimateGas` of the delivery.
    async fn estimate(&self, message: &[u8], attestation: &[u8]) -> Result<u64, ChainError> {
        let request = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.transmitter)
            .with_input(
                MessageTransmitter::receiveMessageCall {
                    message: Bytes::copy_from_slice(message),
                    attestation: Bytes::copy_from_slice(attestation),
                }
                .abi_encode(),
            );
        // Against the latest block, not the node's default (pending): a delivery does not
        // depend on our other pending ones, and on the pending block the node re-executes
        // our whole queue first (2.4 ms with an empty pool, 23.5 ms with 200 pending).
        self.rpc
            .call("eth_estimateGas", |p| {
                let r = request.clone();
                async move { p.estimate_gas(r).block(BlockId::latest()).await }
            })
            .await
    }

    async fn chain_id(&self) -> Result<u64, ChainError> {
        self.chain_id
            .get_or_try_init(|| {
                self.rpc
                    .call("eth_chainId", |p| async move { p.get_chain_id().await })
            })
            .await
            .copied()
    }

    /// The submitter account's balance in wei.
    pub async fn balance(&self) -> Result<u128, ChainError> {
        let from = self.from;
        let b = self
            .rpc
            .call(
                "eth_getBalance",
                |p| async move { p.get_balance(from).await },
            )
            .await?;
        Ok(b.saturating_to())
    }
}

/// Dry-run gas limits kept for the signing that follows (a bound, not a cache size that matters).
const MAX_KEPT_ESTIMATES: usize = 1024;

/// The key of a delivery's estimate: its calldata's two parts.
fn delivery_key(message: &[u8], attestation: &[u8]) -> B256 {
    let mut hasher = alloy::primitives::Keccak256::new();
    hasher.update(message);
    hasher.update(attestation);
    hasher.finalize()
}

/// A revert's reason for people: our contracts' custom errors by name, `Error(string)` (as
/// Circle's contracts revert) as its text, `Panic(uint256)` by code, anything else as hex.
/// Only for display: what a refusal means is read from chain state (DESIGN §6).
pub fn revert_reason(data: &[u8]) -> String {
    use alloy::sol_types::GenericContractError;
    if let Ok(err) = MessageTransmitterErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    if let Ok(err) = TokenMessengerErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    if let Ok(err) = Usd1TokenErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    match GenericContractError::abi_decode(data) {
        Ok(GenericContractError::Revert(r)) => r.reason,
        Ok(GenericContractError::Panic(p)) => format!("panic {}", p.code),
        Err(_) if data.is_empty() => "reverted without a reason".into(),
        Err(_) => format!("reverted with 0x{}", alloy::hex::encode(data)),
    }
}

#[async_trait]
impl Destination for EvmDestination {
    fn domain(&self) -> Domain {
        self.domain
    }

    async fn is_received(&self, message: &Message) -> Result<bool, ChainError> {
        let key = message.used_nonce_key();
        let t = self.transmitter;
        let used = self
            .rpc
            .call("eth_call", |p| async move {
                MessageTransmitter::new(t, p).usedNonces(key).call().await
            })
            .await?;
        Ok(!used.is_zero())
    }

    /// `usedNonces` read at the final height under the destination's finality rule.
    async fn is_received_final(&self, message: &Message) -> Result<bool, ChainError> {
        let head = self.rpc.head().await?;
        let source = EvmBlockSource {
            rpc: self.rpc.clone(),
            transmitter: self.transmitter,
        };
        let at = source.final_height(self.finality, head).await?;
        let key = message.used_nonce_key();
        let t = self.transmitter;
        let used = self
            .rpc
            .call("eth_call", |p| async move {
                MessageTransmitter::new(t, p)
                    .usedNonces(key)
                    .block(at.into())
                    .call()
                    .await
            })
            .await?;
        Ok(!used.is_zero())
    }

    /// `eth_call` (does it revert, and why), then `eth_estimateGas` against the cap: a
    /// recipient that burns gas is never paid for. (Not the batches' one call at a learned
    /// limit, `gas`: measured, singles went slower with it, 135 against 193 mints/s.)
    async fn simulate_delivery(
        &self,
        message: &[u8],
        attestation: &[u8],
    ) -> Result<DryRun, ChainError> {
        let (t, from) = (self.transmitter, self.from);
        let answer = self
            .rpc
            .call_or_revert("eth_call", |p| async move {
                MessageTransmitter::new(t, p)
                    .receiveMessage(
                        Bytes::copy_from_slice(message),
                        Bytes::copy_from_slice(attestation),
                    )
                    .from(from)
                    .call()
                    .await
            })
            .await?;
        if let Err(data) = answer {
            return Ok(DryRun::Reverts {
                reason: revert_reason(&data),
            });
        }
        let gas = self.estimate(message, attestation).await?;
        self.keep_limit(
            delivery_key(message, attestation),
            with_margin(gas).min(self.max_gas),
        );
        if gas > self.max_gas {
            return Ok(DryRun::TooCostly {
                reason: format!(
                    "the delivery needs {gas} gas, above this relayer's cap of {}",
                    self.max_gas
                ),
            });
        }
        Ok(DryRun::Succeeds)
    }

    /// The transmitter's `paused()` and the token's. A contract without one (the call
    /// reverts or returns nothing) is not paused; an RPC failure is an error, never "not
    /// paused": that answer would count a refusal the chain did not make.
    async fn is_paused(&self) -> Result<bool, ChainError> {
        let (t, token) = (self.transmitter, self.token);
        let transmitter = self
            .rpc
            .call("eth_call", |p| async move {
                paused_or_absent(MessageTransmitter::new(t, p).paused().call().await)
            })
            .await?;
        let token = self
            .rpc
            .call("eth_call", |p| async move {
                paused_or_absent(
                    crate::bindings::Usd1Token::new(token, p)
                        .paused()
                        .call()
                        .await,
                )
            })
            .await?;
        Ok(transmitter || token)
    }

    async fn prepare_delivery(
        &self,
        message: &[u8],
        proof: &Proof,
        slot: Slot,
    ) -> Result<Prepared, ChainError> {
        let Proof::Attestation(attestation) = proof else {
            return Err(ChainError::Rejected(
                "a MessageTransmitter takes an attestation, not co-signatures".into(),
            ));
        };
        let nonce = account_nonce(slot)?;
        self.sign_delivery(message, attestation, nonce, slot.attempt)
            .await
            .map(Prepared::Signed)
    }

    fn sequence(&self) -> Option<&dyn AccountSequence> {
        Some(self)
    }

    fn batches(&self) -> Option<&dyn BatchDelivery> {
        Some(self)
    }

    async fn broadcast(&self, tx: &PendingTx) -> Result<(), ChainError> {
        let raw = alloy::hex::decode(&tx.raw)
            .map_err(|e| ChainError::Rejected(format!("stored tx is not hex: {e}")))?;
        self.rpc
            .call("eth_sendRawTransaction", |p| {
                let raw = raw.clone();
                async move {
                    match p.send_raw_transaction(&raw).await {
                        Ok(_) => Ok(()),
                        // Sent before (a restart re-sends what it stored, a retry after a
                        // lost answer), or its nonce is already mined (by this tx or a
                        // replacement): the receipt decides what happened.
                        Err(e) if already_sent(&e.to_string()) => Ok(()),
                        Err(e) => Err(e),
                    }
                }
            })
            .await
    }

    async fn tx_status(
        &self,
        tx_hash: &str,
        _valid_until: Option<u64>,
    ) -> Result<TxStatus, ChainError> {
        let Some(receipt) = self.receipt_status(tx_hash).await? else {
            return Ok(TxStatus::Unknown);
        };
        // A receipt with no block is not in one yet (never final at "block 0").
        let Some(block) = receipt.block() else {
            return Ok(TxStatus::Unknown);
        };
        let success = match receipt.success() {
            Ok(Some(success)) => success,
            // No `status` field: the full receipt knows (alloy reads a state root as success).
            Ok(None) => match self.receipt(tx_hash).await? {
                Some(full) => full.status(),
                None => return Ok(TxStatus::Unknown),
            },
            Err(reason) => return Err(ChainError::rpc("eth_getTransactionReceipt", reason)),
        };
        let head = self.rpc.head().await?;
        let source = EvmBlockSource {
            rpc: self.rpc.clone(),
            transmitter: self.transmitter,
        };
        let final_height = source.final_height(self.finality, head).await?;
        Ok(TxStatus::Included {
            success,
            block,
            is_final: delivery_is_final(block, head, final_height, self.delivery_confirmations),
            fee_paid: receipt.fee_paid(),
        })
    }

    async fn verifier(&self) -> Result<Verifier, ChainError> {
        let (attesters, threshold) = self.attesters().await?;
        Ok(Verifier::Attestation {
            attesters,
            threshold,
        })
    }
}

/// The account nonce is this chain's sequence: the pending transaction count counts
/// what the node has in its pool, so a restart never re-uses a number already sent.
#[async_trait]
impl AccountSequence for EvmDestination {
    async fn next_on_chain(&self) -> Result<u64, ChainError> {
        let from = self.from;
        self.rpc
            .call("eth_getTransactionCount", |p| async move {
                p.get_transaction_count(from).pending().await
            })
            .await
    }

    /// Read at most once per [`USED_COUNT_TTL`]: every pending delivery asks it at each
    /// receipt check, and a count a moment old only delays noticing a lost number (it never
    /// runs ahead of the chain).
    async fn used_on_chain(&self) -> Result<u64, ChainError> {
        if let Some((at, used)) = *self.used_cache.lock().unwrap_or_else(|p| p.into_inner()) {
            if at.elapsed() < USED_COUNT_TTL {
                return Ok(used);
            }
        }
        let from = self.from;
        let used = self
            .rpc
            .call("eth_getTransactionCount", |p| async move {
                p.get_transaction_count(from).latest().await
            })
            .await?;
        *self.used_cache.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), used));
        Ok(used)
    }

    /// A 0-value transfer to ourselves at the slot's nonce: 21,000 gas, the cheapest way
    /// to use up a nonce whose delivery can no longer matter.
    async fn sign_filler(&self, slot: Slot) -> Result<PendingTx, ChainError> {
        let request = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.from)
            .with_value(alloy::primitives::U256::ZERO);
        let fees = self.fees(slot.attempt).await?;
        self.sign(request, account_nonce(slot)?, 21_000, fees).await
    }
}

/// A delivery mined at `block` is final once the chain's rule covers it (`final_height`)
/// and it has the confirmations the operator asks on top (`needed`, counting its own block).
fn delivery_is_final(block: u64, head: u64, final_height: u64, needed: u64) -> bool {
    block <= final_height && head.saturating_sub(block) + 1 >= needed
}

/// A fee bid raised 25 % per try after the first: above the 10 % a node requires before it
/// lets a transaction replace another at the same nonce.
fn raised(fee: u128, attempt: u32) -> u128 {
    (0..attempt).fold(fee.max(1), |f, _| f.saturating_mul(5) / 4 + 1)
}

/// The slot's account nonce: the relayer allocates one for every delivery here.
fn account_nonce(slot: Slot) -> Result<u64, ChainError> {
    slot.sequence.ok_or_else(|| {
        ChainError::Rejected("an EVM delivery needs an account nonce; none was allocated".into())
    })
}

/// A node's answer meaning these signed bytes (or their nonce) are already in its pool or
/// mined.
fn already_sent(error: &str) -> bool {
    error.contains("already known")
        || error.contains("nonce too low")
        || error.contains("already imported")
}

/// `paused()` as the chain answered it: a revert or an empty answer means the contract has
/// no such function (not pausable); a transport failure stays an error.
fn paused_or_absent(
    answer: Result<bool, alloy::contract::Error>,
) -> Result<bool, alloy::contract::Error> {
    match answer {
        Ok(paused) => Ok(paused),
        Err(e)
            if e.as_revert_data().is_some()
                || matches!(e, alloy::contract::Error::ZeroData(..)) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::{account_nonce, paused_or_absent, raised};
    use usd1_core::traits::Slot;

    #[test]
    fn a_delivery_is_final_under_the_chain_rule_and_the_operators_confirmations() {
        use super::delivery_is_final;
        // Mined at 10, head 12 (3 confirmations), the chain's rule final up to 11.
        assert!(delivery_is_final(10, 12, 11, 3));
        assert!(!delivery_is_final(10, 12, 11, 4), "too few confirmations");
        assert!(
            !delivery_is_final(10, 12, 9, 1),
            "not under the chain's rule"
        );
        assert!(delivery_is_final(10, 10, 10, 1), "1 = mined and final");
    }

    #[test]
    fn each_try_bids_enough_more_to_replace_the_last() {
        for fee in [0u128, 1, 7, 1_000_000_000, 10u128.pow(30)] {
            for attempt in 0..8 {
                let (last, next) = (raised(fee, attempt), raised(fee, attempt + 1));
                assert!(
                    next >= last.saturating_add(last / 10),
                    "{fee} try {attempt}"
                );
            }
        }
        assert_eq!(raised(100, 0), 100, "the first try bids the estimate");
    }

    #[test]
    fn a_delivery_without_an_allocated_nonce_is_refused_not_signed_at_zero() {
        assert!(account_nonce(Slot::first(None)).is_err());
        assert_eq!(account_nonce(Slot::first(Some(7))).unwrap(), 7);
    }
    use alloy::contract::Error;
    use alloy::transports::{RpcError, TransportErrorKind};

    #[test]
    fn an_rpc_failure_is_an_error_not_an_unpaused_contract() {
        let down = Error::TransportError(TransportErrorKind::custom_str("connection reset"));
        assert!(paused_or_absent(Err(down)).is_err());

        // What a node answers for a call to a function the contract lacks.
        let payload = serde_json::json!({"code": 3, "message": "execution reverted", "data": "0x"});
        let reverted = Error::TransportError(RpcError::ErrorResp(
            serde_json::from_value(payload).unwrap(),
        ));
        assert!(
            !paused_or_absent(Err(reverted)).unwrap(),
            "no paused(): not pausable"
        );
        assert!(paused_or_absent(Ok(true)).unwrap());
    }
}
