//! Naming what the audit's sums cannot: the receipts no burn backs. After a reorg deeper than
//! a source's finality rule, a message read as final (attested, minted) may be gone from the
//! source, and a later burn may even reuse its nonce — its `usedNonces` is set, so the sums
//! count it received though its recipient got nothing. Comparing each destination's
//! `MessageReceived` (source, nonce, body) with the bodies the source's messenger really sent
//! for that (source, nonce) names every such pair. It reads every chain's whole history, so
//! the audit runs it only when the sums do not add up (and on request).

use super::AuditedChain;
use crate::bindings::MessageTransmitter::{MessageReceived, MessageSent};
use alloy::primitives::{Bytes, B256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use std::collections::{HashMap, HashSet};
use usd1_core::traits::ChainError;
use usd1_core::{Domain, Message, U256};

/// A receipt on an EVM destination whose message no burn on the (EVM) source backs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbacked {
    pub source: Domain,
    pub nonce: u64,
    pub destination: String,
    /// What the receipt minted (0 when its body is not a burn body).
    pub amount: U256,
    /// The source's burn with that (source, nonce), if there is one now (a nonce reused
    /// after the orphaning): its recipient got nothing.
    pub reused_by: Option<B256>,
}

/// Every receipt of a bridge burn on `chains` whose (source, destination, nonce, body)
/// matches no burn the source chain (one of `chains`) has now. Receipts from other domains
/// (Solana) are not judged here; nor are receipts on Solana.
pub async fn unbacked_receipts(chains: &[AuditedChain]) -> Result<Vec<Unbacked>, ChainError> {
    // Receipts first, then burns: a burn mined and delivered while the chains are read is
    // then always found (read the other way round, its receipt could be seen without it).
    let mut receipts = Vec::new();
    for c in chains {
        receipts.push(logs(c, MessageReceived::SIGNATURE_HASH).await?);
    }
    // (source, destination, nonce) → the bodies its messenger sent (the original and its
    // replacements), and the hash of the newest message.
    let mut sent: HashMap<(Domain, Domain, u64), (HashSet<Bytes>, B256)> = HashMap::new();
    for c in chains {
        let messenger = usd1_core::message::address_to_bytes32(c.messenger);
        for log in logs(c, MessageSent::SIGNATURE_HASH).await? {
            let Ok(e) = log.log_decode::<MessageSent>() else {
                continue;
            };
            let Ok(m) = Message::decode(&e.inner.data.message) else {
                continue;
            };
            if m.sender != messenger || m.source_domain != c.domain {
                continue;
            }
            let entry = sent
                .entry((m.source_domain, m.destination_domain, m.nonce))
                .or_insert_with(|| (HashSet::new(), B256::ZERO));
            entry.0.insert(Bytes::from(m.body.clone()));
            entry.1 = m.hash();
        }
    }
    // Only burns are judged: anyone's `sendMessage` is attested and may be received too.
    let messengers: HashMap<Domain, B256> = chains
        .iter()
        .map(|c| {
            (
                c.domain,
                usd1_core::message::address_to_bytes32(c.messenger),
            )
        })
        .collect();
    let mut out = Vec::new();
    for (c, found) in chains.iter().zip(receipts) {
        for log in found {
            let Ok(e) = log.log_decode::<MessageReceived>() else {
                continue;
            };
            let r = &e.inner.data;
            let source = Domain(r.sourceDomain);
            if messengers.get(&source) != Some(&r.sender) {
                continue;
            }
            let burn = sent.get(&(source, c.domain, r.nonce));
            if burn.is_some_and(|(bodies, _)| bodies.contains(&r.messageBody)) {
                continue;
            }
            let amount = usd1_core::BurnBody::decode(&r.messageBody)
                .map(|b| b.amount)
                .unwrap_or_default();
            out.push(Unbacked {
                source,
                nonce: r.nonce,
                destination: c.name.clone(),
                amount,
                reused_by: burn.map(|(_, hash)| *hash),
            });
        }
    }
    out.sort_by_key(|u| (u.source, u.nonce));
    Ok(out)
}

/// The transmitter's logs of one event over the chain's whole history, range by range.
async fn logs(c: &AuditedChain, event: B256) -> Result<Vec<Log>, ChainError> {
    let head = c.rpc.head().await?;
    let step = c.max_block_range.max(1);
    let mut out = Vec::new();
    let mut from = c.start_block;
    while from <= head {
        let to = head.min(from + step - 1);
        let filter = Filter::new()
            .address(c.transmitter)
            .event_signature(event)
            .from_block(from)
            .to_block(to);
        let found = c
            .rpc
            .call("eth_getLogs", |p| {
                let f = filter.clone();
                async move { p.get_logs(&f).await }
            })
            .await?;
        out.extend(found);
        from = to + 1;
    }
    Ok(out)
}
