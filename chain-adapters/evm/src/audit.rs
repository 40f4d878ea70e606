//! The cross-chain supply audit: Σ totalSupply over all chains + burns not yet minted must
//! equal what the issuer issued. Each chain is read at one pinned block (supply, burns up to
//! it, and `usedNonces` as seen at it), so the identity holds exactly whatever is in flight:
//! a burn minted by the destination's pinned block is in its supply and not in flight; one
//! minted later is in flight and not in its supply.

use crate::bindings::MessageTransmitter::MessageSent;
use crate::bindings::{MessageTransmitter, Usd1Token};
use crate::rpc::EvmRpc;
use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use std::collections::HashMap;
use std::sync::Arc;
use usd1_core::traits::ChainError;
use usd1_core::{Domain, Message};

pub struct AuditedChain {
    pub name: String,
    pub domain: Domain,
    pub rpc: Arc<EvmRpc>,
    pub token: Address,
    pub transmitter: Address,
    /// Only messages this messenger sent are burns (anyone can call sendMessage).
    pub messenger: Address,
    pub start_block: u64,
    pub max_block_range: u64,
}

#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    /// (chain name, block read at, totalSupply there)
    pub supplies: Vec<(String, u64, U256)>,
    /// Burns not minted (yet) on a configured destination.
    pub in_flight: U256,
    pub in_flight_count: usize,
    /// Burns toward domains no configured chain has: never mintable here.
    pub to_unknown_domains: U256,
    pub burns_seen: usize,
}

impl AuditReport {
    /// Σ supplies + everything burned and not minted.
    pub fn accounted(&self) -> U256 {
        self.supplies
            .iter()
            .map(|(_, _, s)| *s)
            .fold(U256::ZERO, |a, b| a + b)
            + self.in_flight
            + self.to_unknown_domains
    }
}

pub async fn audit(chains: &[AuditedChain]) -> Result<AuditReport, ChainError> {
    let mut report = AuditReport::default();
    let mut pinned: HashMap<Domain, (u64, &AuditedChain)> = HashMap::new();
    for c in chains {
        let block = c.rpc.head().await?;
        let token = c.token;
        let supply = c
            .rpc
            .call("eth_call", |p| async move {
                Usd1Token::new(token, p)
                    .totalSupply()
                    .block(BlockId::number(block))
                    .call()
                    .await
            })
            .await?;
        report.supplies.push((c.name.clone(), block, supply));
        pinned.insert(c.domain, (block, c));
    }
    // A replaced burn (replaceDepositForBurn) is a second message under the same nonce:
    // one burn, counted once.
    let mut counted = std::collections::HashSet::new();
    for source in chains {
        let (head, _) = pinned[&source.domain];
        let messenger = usd1_core::message::address_to_bytes32(source.messenger);
        let mut from = source.start_block;
        while from <= head {
            let to = head.min(from + source.max_block_range.max(1) - 1);
            let filter = Filter::new()
                .address(source.transmitter)
                .event_signature(MessageSent::SIGNATURE_HASH)
                .from_block(from)
                .to_block(to);
            let logs = source
                .rpc
                .call("eth_getLogs", |p| {
                    let f = filter.clone();
                    async move { p.get_logs(&f).await }
                })
                .await?;
            for log in logs {
                let Ok(sent) = log.log_decode::<MessageSent>() else {
                    continue;
                };
                let Ok(message) = Message::decode(&sent.inner.data.message) else {
                    continue;
                };
                let Ok(burn) = message.burn_body() else {
                    continue;
                };
                if message.sender != messenger || !counted.insert(message.used_nonce_key()) {
                    continue;
                }
                report.burns_seen += 1;
                let Some((dest_block, dest)) = pinned.get(&message.destination_domain) else {
                    report.to_unknown_domains += burn.amount;
                    continue;
                };
                let (key, t, b) = (message.used_nonce_key(), dest.transmitter, *dest_block);
                let used = dest
                    .rpc
                    .call("eth_call", |p| async move {
                        MessageTransmitter::new(t, p)
                            .usedNonces(key)
                            .block(BlockId::number(b))
                            .call()
                            .await
                    })
                    .await?;
                if used.is_zero() {
                    report.in_flight += burn.amount;
                    report.in_flight_count += 1;
                }
            }
            from = to + 1;
        }
    }
    Ok(report)
}
