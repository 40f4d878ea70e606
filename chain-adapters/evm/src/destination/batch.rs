//! `MessageTransmitter.receiveMessages` as a batch delivery: one transaction for several
//! attested messages. The chain skips a message already received (it mints once) and reverts
//! the batch on any other refusal; the relayer dry-runs the batch first and falls back to
//! single deliveries when it would revert.

use super::{account_nonce, revert_reason, with_margin, EvmDestination, FALLBACK_GAS};
use crate::bindings::MessageTransmitter;
use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Bytes, B256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use async_trait::async_trait;
use usd1_core::state::PendingTx;
use usd1_core::traits::{BatchDelivery, BatchEntry, ChainError, DryRun, Slot};
use usd1_core::Domain;

/// The batch call's calldata.
fn batch_input(entries: &[BatchEntry<'_>]) -> Vec<u8> {
    MessageTransmitter::receiveMessagesCall {
        messages: entries
            .iter()
            .map(|e| Bytes::copy_from_slice(e.message))
            .collect(),
        attestations: entries
            .iter()
            .map(|e| Bytes::copy_from_slice(e.attestation))
            .collect(),
    }
    .abi_encode()
}

/// The key of a batch's estimate: every entry's two parts, in order.
fn batch_key(entries: &[BatchEntry<'_>]) -> B256 {
    let mut hasher = alloy::primitives::Keccak256::new();
    for e in entries {
        hasher.update(e.message);
        hasher.update(e.attestation);
    }
    hasher.finalize()
}

/// Whether deployed bytecode dispatches `selector`: Solidity's dispatcher compares the
/// calldata's first four bytes with each function's selector pushed by `PUSH4` (0x63).
fn dispatches(code: &[u8], selector: [u8; 4]) -> bool {
    code.windows(5)
        .any(|w| w[0] == 0x63 && w[1..] == selector[..])
}

impl EvmDestination {
    fn batch_request(&self, entries: &[BatchEntry<'_>]) -> TransactionRequest {
        TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.transmitter)
            .with_input(batch_input(entries))
    }

    /// The relay policy's gas cap holds per message.
    fn batch_cap(&self, entries: &[BatchEntry<'_>]) -> u64 {
        self.max_gas.saturating_mul(entries.len() as u64)
    }

    async fn estimate_batch(&self, entries: &[BatchEntry<'_>]) -> Result<u64, ChainError> {
        let request = self.batch_request(entries);
        // Against the latest block, as single deliveries are (see `estimate`).
        self.rpc
            .call("eth_estimateGas", |p| {
                let r = request.clone();
                async move { p.estimate_gas(r).block(BlockId::latest()).await }
            })
            .await
    }
}

#[async_trait]
impl BatchDelivery for EvmDestination {
    async fn supports_batches(&self) -> Result<bool, ChainError> {
        let t = self.transmitter;
        self.batch_support
            .get_or_try_init(|| async {
                let code = self
                    .rpc
                    .call("eth_getCode", |p| async move { p.get_code_at(t).await })
                    .await?;
                Ok(dispatches(
                    &code,
                    MessageTransmitter::receiveMessagesCall::SELECTOR,
                ))
            })
            .await
            .copied()
    }

    async fn simulate_batch(&self, entries: &[BatchEntry<'_>]) -> Result<DryRun, ChainError> {
        // One run at the learned fit when it runs within it (`gas`); else in full. Signed
        // with the margin over that proven fit, as over an estimate.
        let cap = self.batch_cap(entries);
        if let Some(fit) = self.batch_gas.fit(entries.len(), cap) {
            if self.runs_within(&self.batch_request(entries), fit).await? {
                self.keep_limit(batch_key(entries), with_margin(fit).min(cap));
                return Ok(DryRun::Succeeds);
            }
        }
        let (t, from) = (self.transmitter, self.from);
        let answer = self
            .rpc
            .call_or_revert("eth_call", |p| async move {
                MessageTransmitter::new(t, p)
                    .receiveMessages(
                        entries
                            .iter()
                            .map(|e| Bytes::copy_from_slice(e.message))
                            .collect(),
                        entries
                            .iter()
                            .map(|e| Bytes::copy_from_slice(e.attestation))
                            .collect(),
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
        let gas = self.estimate_batch(entries).await?;
        self.batch_gas.learn(gas, entries.len(), cap);
        // Kept for the signing that follows, which runs under the account's nonce lock: the
        // node is not asked to estimate the batch again there.
        self.keep_limit(batch_key(entries), with_margin(gas).min(cap));
        if gas > cap {
            return Ok(DryRun::TooCostly {
                reason: format!(
                    "the batch of {} needs {gas} gas, above this relayer's cap of {} a message",
                    entries.len(),
                    self.max_gas
                ),
            });
        }
        Ok(DryRun::Succeeds)
    }

    async fn prepare_batch(
        &self,
        entries: &[BatchEntry<'_>],
        slot: Slot,
    ) -> Result<PendingTx, ChainError> {
        let nonce = account_nonce(slot)?;
        let fees = self.fees(slot.attempt).await?;
        let gas = match self.take_limit(&batch_key(entries)) {
            Some(limit) => limit,
            None => match self.estimate_batch(entries).await {
                Ok(g) => with_margin(g),
                Err(_) => FALLBACK_GAS.saturating_mul(entries.len() as u64),
            },
        }
        .min(self.batch_cap(entries));
        self.sign(self.batch_request(entries), nonce, gas, fees)
            .await
    }

    /// From the receipt's `MessageSkipped` logs of our transmitter.
    async fn skipped(&self, tx_hash: &str) -> Result<Vec<(Domain, u64)>, ChainError> {
        // Asked once the batch is final: a node without its receipt now is behind (or
        // lying), and "skipped nothing" would confirm every member as ours.
        let Some(receipt) = self.receipt(tx_hash).await? else {
            return Err(ChainError::rpc(
                "eth_getTransactionReceipt",
                format!("no receipt for final batch {tx_hash}"),
            ));
        };
        Ok(receipt
            .inner
            .logs()
            .iter()
            .filter(|log| log.address() == self.transmitter)
            .filter_map(|log| log.log_decode::<MessageTransmitter::MessageSkipped>().ok())
            .map(|skipped| {
                let e = skipped.inner.data;
                (Domain(e.sourceDomain), e.nonce)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_entry_point_is_found_in_the_dispatcher_only_as_a_push4() {
        let selector = MessageTransmitter::receiveMessagesCall::SELECTOR;
        let mut code = vec![0x60, 0x80, 0x63];
        code.extend_from_slice(&selector);
        code.extend_from_slice(&[0x14, 0x61]);
        assert!(dispatches(&code, selector));
        // The same four bytes without PUSH4 before them (e.g. inside a constant) do not count.
        let mut other = vec![0x60, 0x80, 0x62];
        other.extend_from_slice(&selector);
        assert!(!dispatches(&other, selector));
        assert!(!dispatches(&[], selector));
    }

    #[test]
    fn a_batch_is_the_receive_messages_call_of_its_entries() {
        let entries = [
            BatchEntry {
                message: b"m1",
                attestation: b"a1",
            },
            BatchEntry {
                message: b"m2",
                attestation: b"a2",
            },
        ];
        let input = batch_input(&entries);
        let call = MessageTransmitter::receiveMessagesCall::abi_decode(&input).unwrap();
        assert_eq!(call.messages.len(), 2);
        assert_eq!(call.messages[1].as_ref(), b"m2");
        assert_eq!(call.attestations[0].as_ref(), b"a1");
    }
}
