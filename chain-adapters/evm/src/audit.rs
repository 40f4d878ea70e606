//! The cross-chain supply audit (DESIGN §10): Σ supply over every chain + burns not yet
//! minted must equal what the issuer issued. Each chain is read at one pinned height —
//! supply, burns up to it, and "received?" as seen at it — so the identity holds exactly
//! whatever is in flight: a burn minted by the destination's pinned height is in its supply
//! and not in flight; one minted later is in flight and not in its supply.
//!
//! This module reads the EVM chains (totalSupply, `MessageSent` logs of the chain's own
//! messenger, `usedNonces`) and runs the whole audit, asking a [`ForeignChain`] (Solana) for
//! its part. The order keeps the pins consistent across chains, given that a message is
//! minted only after its burn is final on the source:
//!
//! 1. every EVM chain's burns are read up to its head, then its height is **pinned** at its
//!    new head (its supply read there, the few blocks since added): the pins are close in
//!    time, whatever the history costs to read;
//! 2. right after, the foreign chain is pinned (Solana: its finalized slot, which is
//!    older than the moment it is read): it cannot have received a burn made after the EVM
//!    pins, as that burn was not final yet;
//! 3. then what no longer moves: `usedNonces` at each EVM pin, and the foreign chain's burns
//!    up to its pin. A foreign burn after its pin was not final when the foreign chain was
//!    pinned, which was after the EVM pins: no EVM chain can have received it at its pin.

use crate::bindings::MessageTransmitter::MessageSent;
use crate::bindings::{MessageTransmitter, Usd1Token};
use crate::rpc::EvmRpc;
use alloy::eips::BlockId;
use alloy::primitives::{keccak256, Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use usd1_core::audit::{AuditedBurn, ChainSupply, Fate, ForeignChain, Height, SupplyAudit};
use usd1_core::traits::ChainError;
use usd1_core::{Domain, Message, U256};

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

/// A burn read from a `MessageSent` log.
#[derive(Debug, Clone, Copy)]
struct SentBurn {
    destination: Domain,
    nonce: u64,
    amount: U256,
}

/// `usedNonces`' key: keccak256(abi.encodePacked(uint32 sourceDomain, uint64 nonce)).
pub fn used_nonce_key(source: Domain, nonce: u64) -> B256 {
    let mut packed = [0u8; 12];
    packed[..4].copy_from_slice(&source.0.to_be_bytes());
    packed[4..].copy_from_slice(&nonce.to_be_bytes());
    keccak256(packed)
}

/// The whole audit: the EVM chains, and the foreign chain (Solana) when there is one.
pub async fn audit(
    chains: &[AuditedChain],
    foreign: Option<&dyn ForeignChain>,
) -> Result<SupplyAudit, ChainError> {
    // 1. Burns up to each head (the history: maybe slow), then the pins (quick).
    let mut sent: Vec<Vec<SentBurn>> = Vec::with_capacity(chains.len());
    let mut scanned = Vec::with_capacity(chains.len());
    for c in chains {
        let head = c.rpc.head().await?;
        sent.push(burns_sent(c, c.start_block, head).await?);
        scanned.push(head);
    }
    let mut report = SupplyAudit::default();
    let mut pins: HashMap<Domain, (u64, &AuditedChain)> = HashMap::new();
    for (i, c) in chains.iter().enumerate() {
        let block = c.rpc.head().await?.max(scanned[i]);
        let supply = total_supply(c, block).await?;
        report.supplies.push(ChainSupply {
            chain: c.name.clone(),
            domain: c.domain,
            height: Height::Block(block),
            supply,
        });
        pins.insert(c.domain, (block, c));
    }
    for (i, c) in chains.iter().enumerate() {
        let (block, _) = pins[&c.domain];
        if block > scanned[i] {
            let more = burns_sent(c, scanned[i] + 1, block).await?;
            sent[i].extend(more);
        }
    }

    // 2. The foreign chain, right after the EVM pins, with the burns toward it. A replaced
    // burn (replaceDepositForBurn) is a second message under the same nonce: one burn.
    let mut seen = HashSet::new();
    let mut pending: Vec<AuditedBurn> = Vec::new();
    for (c, burns) in chains.iter().zip(&sent) {
        for b in burns.iter().filter(|b| seen.insert((c.domain, b.nonce))) {
            pending.push(AuditedBurn {
                source: c.domain,
                destination: b.destination,
                nonce: b.nonce,
                amount: b.amount,
                fate: Fate::UnknownDestination,
            });
        }
    }
    let foreign_pin = match foreign {
        Some(f) => {
            let inbound: Vec<(Domain, u64)> = pending
                .iter()
                .filter(|b| b.destination == f.domain())
                .map(|b| (b.source, b.nonce))
                .collect();
            let pin = f.pin(&inbound).await?;
            if pin.received.len() != inbound.len() {
                return Err(ChainError::Rejected(format!(
                    "{} answered for {} of {} burns",
                    f.name(),
                    pin.received.len(),
                    inbound.len()
                )));
            }
            report.supplies.push(pin.supply.clone());
            let mut answers = pin.received.iter();
            for b in pending.iter_mut().filter(|b| b.destination == f.domain()) {
                b.fate = fate(answers.next().copied().unwrap_or(false));
            }
            Some((f, pin))
        }
        None => None,
    };

    // 3. Receipts at the pins, which no longer move.
    for mut b in pending {
        let foreign_bound = foreign_pin
            .as_ref()
            .is_some_and(|(f, _)| f.domain() == b.destination);
        if !foreign_bound {
            if let Some((block, dest)) = pins.get(&b.destination) {
                b.fate = fate(used(dest, *block, b.source, b.nonce).await?);
            }
        }
        report.add_burn(b);
    }
    if let Some((f, pin)) = foreign_pin {
        let burns = f.burns(&pin).await?;
        for o in burns.bridge {
            if report.has_burn(f.domain(), o.nonce) {
                continue;
            }
            let fate = match pins.get(&o.destination) {
                Some((block, dest)) => fate(used(dest, *block, f.domain(), o.nonce).await?),
                None => Fate::UnknownDestination,
            };
            report.add_burn(AuditedBurn {
                source: f.domain(),
                destination: o.destination,
                nonce: o.nonce,
                amount: o.amount,
                fate,
            });
        }
        report.outside_bridge.push(burns.outside);
    }
    Ok(report)
}

fn fate(received: bool) -> Fate {
    if received {
        Fate::Received
    } else {
        Fate::InFlight
    }
}

async fn total_supply(c: &AuditedChain, block: u64) -> Result<U256, ChainError> {
    let token = c.token;
    c.rpc
        .call("eth_call", |p| async move {
            Usd1Token::new(token, p)
                .totalSupply()
                .block(BlockId::number(block))
                .call()
                .await
        })
        .await
}

/// Whether `dest` had received (source, nonce) at `block`.
async fn used(
    dest: &AuditedChain,
    block: u64,
    source: Domain,
    nonce: u64,
) -> Result<bool, ChainError> {
    let (key, t) = (used_nonce_key(source, nonce), dest.transmitter);
    let used = dest
        .rpc
        .call("eth_call", |p| async move {
            MessageTransmitter::new(t, p)
                .usedNonces(key)
                .block(BlockId::number(block))
                .call()
                .await
        })
        .await?;
    Ok(!used.is_zero())
}

/// The burns the chain's own messenger sent in blocks `from..=to`.
async fn burns_sent(c: &AuditedChain, from: u64, to: u64) -> Result<Vec<SentBurn>, ChainError> {
    let messenger = usd1_core::message::address_to_bytes32(c.messenger);
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = to.min(start + c.max_block_range.max(1) - 1);
        let filter = Filter::new()
            .address(c.transmitter)
            .event_signature(MessageSent::SIGNATURE_HASH)
            .from_block(start)
            .to_block(end);
        let logs = c
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
            if message.sender != messenger {
                continue;
            }
            out.push(SentBurn {
                destination: message.destination_domain,
                nonce: message.nonce,
                amount: burn.amount,
            });
        }
        start = end + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use usd1_core::audit::{ForeignBurns, ForeignPin, OutboundBurn, OutsideBridge};

    /// A foreign chain with fixed figures.
    struct Fake {
        answers: Vec<bool>,
        bridge: Vec<OutboundBurn>,
    }

    #[async_trait::async_trait]
    impl ForeignChain for Fake {
        fn name(&self) -> &str {
            "solana"
        }
        fn domain(&self) -> Domain {
            Domain::SOLANA
        }
        async fn pin(&self, _: &[(Domain, u64)]) -> Result<ForeignPin, ChainError> {
            Ok(ForeignPin {
                supply: ChainSupply {
                    chain: "solana".into(),
                    domain: Domain::SOLANA,
                    height: Height::FinalizedSlot(50),
                    supply: U256::from(100u64),
                },
                received: self.answers.clone(),
            })
        }
        async fn burns(&self, pinned: &ForeignPin) -> Result<ForeignBurns, ChainError> {
            assert_eq!(pinned.supply.height, Height::FinalizedSlot(50));
            Ok(ForeignBurns {
                bridge: self.bridge.clone(),
                outside: OutsideBridge {
                    chain: "solana".into(),
                    count: 1,
                    amount: U256::from(3u64),
                },
            })
        }
    }

    #[tokio::test]
    async fn the_foreign_chain_s_supply_burns_and_outside_burns_are_counted() {
        let burn = |nonce, amount: u64| OutboundBurn {
            destination: Domain(9),
            nonce,
            amount: U256::from(amount),
        };
        let fake = Fake {
            answers: vec![],
            bridge: vec![burn(1 << 20, 5), burn(2 << 20, 7), burn(1 << 20, 5)],
        };
        let report = audit(&[], Some(&fake)).await.unwrap();
        assert_eq!(report.supplies.len(), 1);
        assert_eq!(report.burns().len(), 2, "one burn per (source, nonce)");
        assert_eq!(report.to_unknown_domains(), U256::from(12u64));
        assert_eq!(report.outside_bridge_total(), U256::from(3u64));
        assert_eq!(report.accounted(), U256::from(115u64));
    }

    #[tokio::test]
    async fn a_foreign_answer_for_other_burns_than_asked_is_an_error() {
        let fake = Fake {
            answers: vec![true],
            bridge: vec![],
        };
        assert!(audit(&[], Some(&fake)).await.is_err());
    }

    #[test]
    fn the_used_nonce_key_is_the_message_s() {
        let m = Message {
            version: 0,
            source_domain: Domain::SOLANA,
            destination_domain: Domain::BASE,
            nonce: 0x1234_5678_9abc,
            sender: B256::ZERO,
            recipient: B256::ZERO,
            destination_caller: B256::ZERO,
            body: vec![],
        };
        assert_eq!(used_nonce_key(m.source_domain, m.nonce), m.used_nonce_key());
    }
}
