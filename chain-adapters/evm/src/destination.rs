//! `MessageTransmitter.receiveMessage` as a relayer destination: replay check through
//! `usedNonces`, a dry run that classifies reverts, and EIP-1559 delivery transactions
//! signed locally (so they can be persisted before they are sent) with fee bumping.

use crate::bindings::MessageTransmitter;
use crate::bindings::MessageTransmitter::MessageTransmitterErrors;
use crate::bindings::TokenMessenger::TokenMessengerErrors;
use crate::bindings::Usd1Token::Usd1TokenErrors;
use crate::rpc::EvmRpc;
use alloy::eips::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolInterface};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::OnceCell;
use usd1_core::state::PendingTx;
use usd1_core::traits::{ChainError, Destination, Revert, RevertKind, TxStatus};
use usd1_core::{Domain, Message};

/// Gas for a delivery when estimation is not possible (measured ~170k; generous margin).
const FALLBACK_GAS: u64 = 400_000;

pub struct EvmDestination {
    rpc: Arc<EvmRpc>,
    domain: Domain,
    transmitter: Address,
    wallet: EthereumWallet,
    from: Address,
    chain_id: OnceCell<u64>,
}

impl EvmDestination {
    pub fn new(
        rpc: Arc<EvmRpc>,
        domain: Domain,
        transmitter: Address,
        signer: PrivateKeySigner,
    ) -> Self {
        let from = signer.address();
        Self {
            rpc,
            domain,
            transmitter,
            wallet: EthereumWallet::from(signer),
            from,
            chain_id: OnceCell::new(),
        }
    }

    pub fn submitter(&self) -> Address {
        self.from
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

fn classify(data: &[u8]) -> Revert {
    use MessageTransmitterErrors as E;
    let Ok(err) = MessageTransmitterErrors::abi_decode(data) else {
        if let Ok(err) = TokenMessengerErrors::abi_decode(data) {
            // The messenger refuses the message itself (unknown sender, token, body).
            return Revert {
                kind: RevertKind::Permanent,
                reason: format!("{err:?}"),
            };
        }
        // Raised by the token (paused, frozen recipient, mint allowance): an operator can
        // fix these, so they are retried.
        let reason = match Usd1TokenErrors::abi_decode(data) {
            Ok(err) => format!("{err:?}"),
            Err(_) => format!("reverted with 0x{}", alloy::hex::encode(data)),
        };
        return Revert {
            kind: RevertKind::Temporary,
            reason,
        };
    };
    let reason = format!("{err:?}");
    let kind = match err {
        E::NonceAlreadyUsed(_) => RevertKind::AlreadyReceived,
        E::InvalidAttestationLength(_) | E::SignerNotAscending(_) | E::SignerNotAttester(_) => {
            RevertKind::BadAttestation
        }
        E::Paused(_) => RevertKind::Temporary,
        _ => RevertKind::Permanent,
    };
    Revert { kind, reason }
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

    async fn simulate_delivery(
        &self,
        message: &[u8],
        attestation: &[u8],
    ) -> Result<Option<Revert>, ChainError> {
        let c = MessageTransmitter::new(self.transmitter, self.rpc.provider());
        match c
            .receiveMessage(
                Bytes::copy_from_slice(message),
                Bytes::copy_from_slice(attestation),
            )
            .from(self.from)
            .call()
            .await
        {
            Ok(_) => Ok(None),
            Err(e) => match e.as_revert_data() {
                Some(data) => Ok(Some(classify(&data))),
                None => Err(ChainError::rpc("eth_call", e)),
            },
        }
    }

    async fn sign_delivery(
        &self,
        message: &[u8],
        attestation: &[u8],
        account_nonce: u64,
        bump: u32,
    ) -> Result<PendingTx, ChainError> {
        let input = MessageTransmitter::receiveMessageCall {
            message: Bytes::copy_from_slice(message),
            attestation: Bytes::copy_from_slice(attestation),
        }
        .abi_encode();
        let chain_id = self.chain_id().await?;
        let fees = self
            .rpc
            .call("eth_feeHistory", |p| async move {
                p.estimate_eip1559_fees().await
            })
            .await?;
        // Each bump raises both fees by 25%, above the 10% nodes require to replace a tx.
        let scale = |fee: u128| (0..bump).fold(fee.max(1), |f, _| f.saturating_mul(5) / 4 + 1);
        let max_priority = scale(fees.max_priority_fee_per_gas.max(1_000_000_000));
        let max_fee = scale(fees.max_fee_per_gas).max(max_priority);
        let request = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.transmitter)
            .with_input(input);
        let estimate = self
            .rpc
            .call("eth_estimateGas", |p| {
                let r = request.clone();
                async move { p.estimate_gas(r).await }
            })
            .await;
        let gas = estimate
            .map(|g| g.saturating_mul(13) / 10)
            .unwrap_or(FALLBACK_GAS);
        let envelope = request
            .with_nonce(account_nonce)
            .with_chain_id(chain_id)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(max_priority)
            .build(&self.wallet)
            .await
            .map_err(|e| ChainError::Rejected(format!("cannot sign delivery: {e}")))?;
        Ok(PendingTx {
            tx_hash: format!("{:#x}", envelope.tx_hash()),
            raw: format!("0x{}", alloy::hex::encode(envelope.encoded_2718())),
            account_nonce,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: max_priority,
            sent_at_ms: 0,
            valid_until: None,
        })
    }

    async fn broadcast(&self, tx: &PendingTx) -> Result<(), ChainError> {
        let raw = alloy::hex::decode(&tx.raw)
            .map_err(|e| ChainError::Rejected(format!("stored tx is not hex: {e}")))?;
        let result = self
            .rpc
            .call("eth_sendRawTransaction", |p| {
                let raw = raw.clone();
                async move { p.send_raw_transaction(&raw).await.map(|_| ()) }
            })
            .await;
        match result {
            Ok(()) => Ok(()),
            // Sent before (a restart re-sends what it stored), or its nonce is already
            // mined (by this tx or a replacement): the receipt decides what happened.
            Err(ChainError::Rpc { detail, .. })
                if detail.contains("already known")
                    || detail.contains("nonce too low")
                    || detail.contains("already imported") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn tx_status(
        &self,
        tx_hash: &str,
        _valid_until: Option<u64>,
    ) -> Result<TxStatus, ChainError> {
        let hash: B256 = tx_hash
            .parse()
            .map_err(|_| ChainError::Rejected(format!("bad tx hash {tx_hash}")))?;
        let receipt = self
            .rpc
            .call("eth_getTransactionReceipt", |p| async move {
                p.get_transaction_receipt(hash).await
            })
            .await?;
        let Some(receipt) = receipt else {
            return Ok(TxStatus::Unknown);
        };
        let block = receipt.block_number.unwrap_or(0);
        let head = self.rpc.head().await?;
        Ok(TxStatus::Included {
            success: receipt.status(),
            block,
            confirmations: head.saturating_sub(block) + 1,
            fee_paid: receipt.gas_used as u128 * receipt.effective_gas_price,
        })
    }

    async fn attesters(&self) -> Result<(Vec<Address>, usize), ChainError> {
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

    async fn account_nonce(&self) -> Result<u64, ChainError> {
        let from = self.from;
        self.rpc
            .call("eth_getTransactionCount", |p| async move {
                p.get_transaction_count(from).pending().await
            })
            .await
    }
}
