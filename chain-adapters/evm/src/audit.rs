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
//! 1. every EVM chain's history is read first (without an index: its burns up to its head;
//!    with one: the index extended to the chain's final height), then its height is
//!    **pinned** one block below its new head (its supply read there) and the blocks above
//!    what was read are read up to the pin: the pins are close in time, whatever the history
//!    costs. Below the head because a node may serve its head from the state it is building
//!    the next block on (anvil does); the block below is sealed. A burn is minted only once
//!    final — at least one block under its chain's head — so a mint at or below one pin has
//!    its burn at or below its source's pin (a chain configured with 0 confirmations breaks
//!    this for the head's block: its mints may show as a transient surplus);
//! 2. right after, the foreign chain is pinned (Solana: its finalized slot, which is
//!    older than the moment it is read): it cannot have received a burn made after the EVM
//!    pins, as that burn was not final yet;
//! 3. then what no longer moves: `usedNonces` at each EVM pin (for the burns whose receipt the
//!    index does not hold), and the foreign chain's burns up to its pin. A foreign burn after its pin was not final when the
//!    foreign chain was pinned, which was after the EVM pins: no EVM chain can have received
//!    it at its pin.
//!
//! **The index** ([`AuditIndex`], sled) makes an audit cost the blocks since the last one,
//! not the history. Per chain it holds the burns of blocks up to a *final* height (the
//! chain's `finality` rule, as the watchers apply it) with that block's hash, and the
//! receipts seen on it, with the pinned block they were read at. Why the figures stay those
//! of a full rescan:
//! - *burns up to the pin*: the index covers `start_block..=I` and is used only once the
//!   block at `I` still has the hash it had when indexed (else the chain's index starts over
//!   from `start_block`, loudly: a reorg deeper than finality). A block hash commits to every
//!   block below it, so the indexed logs are exactly those of the pinned chain up to `I`;
//!   `I+1..=pin` is read from the chain after the pins, as the last few blocks were before;
//! - *received at the pin*: a receipt is remembered once `usedNonces` was set at a pinned
//!   block P, with P's hash. `usedNonces` is never reset, so it is set at every block after
//!   P on P's chain: a later audit counts the receipt without reading it as long as the block
//!   at P still has that hash and its pin is at or above P (one hash read per chain, at the
//!   newest such P, vouches for the older ones: they are its ancestors), and keeps it for
//!   good once P is at or below the index's final height. If the hash no longer matches (a
//!   reorg), those not final are dropped and read again. Every other burn — in flight, or
//!   new — is read at the pin exactly as before. A chain whose index starts over forgets the
//!   receipts on it.
//!
//! So the index changes what is read, never what is counted: the reads still come in the
//! order above, and each burn's fate is its `usedNonces` at the destination's pin.

mod index;
mod unbacked;
pub use index::AuditIndex;
pub use unbacked::{unbacked_receipts, Unbacked};

use crate::bindings::MessageTransmitter::MessageSent;
use crate::bindings::{MessageTransmitter, Usd1Token};
use crate::conf::Finality;
use crate::rpc::EvmRpc;
use crate::source::{BlockSource, EvmBlockSource};
use alloy::eips::BlockId;
use alloy::primitives::{keccak256, Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use usd1_core::audit::{
    AuditedBurn, ChainReads, ChainSupply, Fate, ForeignChain, Height, SupplyAudit,
};
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
    /// When a block counts as final: the index covers final blocks only.
    pub finality: Finality,
}

/// A burn read from a `MessageSent` log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentBurn {
    pub destination: Domain,
    pub nonce: u64,
    pub amount: U256,
}

/// What the audit reads from an EVM chain (behind a trait so the index is unit-tested against
/// a scripted chain; [`AuditedChain`] is the real one).
#[async_trait]
pub trait AuditSource: Send + Sync {
    fn name(&self) -> &str;
    fn domain(&self) -> Domain;
    fn start_block(&self) -> u64;
    /// Largest log query, in blocks.
    fn max_block_range(&self) -> u64;
    /// What the chain's index depends on (contracts, start block): another value starts it
    /// over.
    fn identity(&self) -> B256;
    async fn head(&self) -> Result<u64, ChainError>;
    /// The highest final block under the chain's finality rule, given its head.
    async fn final_height(&self, head: u64) -> Result<u64, ChainError>;
    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError>;
    /// The burns the chain's own messenger sent in blocks `from..=to` (one log query).
    async fn sent(&self, from: u64, to: u64) -> Result<Vec<SentBurn>, ChainError>;
    async fn total_supply(&self, block: u64) -> Result<U256, ChainError>;
    /// Whether this chain had received (source, nonce) at `block`.
    async fn used(&self, block: u64, source: Domain, nonce: u64) -> Result<bool, ChainError>;
}

/// `usedNonces`' key: keccak256(abi.encodePacked(uint32 sourceDomain, uint64 nonce)).
pub fn used_nonce_key(source: Domain, nonce: u64) -> B256 {
    let mut packed = [0u8; 12];
    packed[..4].copy_from_slice(&source.0.to_be_bytes());
    packed[4..].copy_from_slice(&nonce.to_be_bytes());
    keccak256(packed)
}

/// The whole audit, every chain read from its start (no index): the EVM chains, and the
/// foreign chain (Solana) when there is one.
pub async fn audit(
    chains: &[AuditedChain],
    foreign: Option<&dyn ForeignChain>,
) -> Result<SupplyAudit, ChainError> {
    audit_with(chains, foreign, None).await
}

/// The whole audit with `index`: only what is newer than the index is read from the chains.
pub async fn audit_indexed(
    chains: &[AuditedChain],
    foreign: Option<&dyn ForeignChain>,
    index: &AuditIndex,
) -> Result<SupplyAudit, ChainError> {
    audit_with(chains, foreign, Some(index)).await
}

/// One chain during an audit.
struct Reading {
    /// Its burns read so far (the index's, then the blocks above).
    burns: Vec<SentBurn>,
    /// The first block not read yet.
    next: u64,
    /// The highest block known to exist: the pin is not below it.
    seen: u64,
    /// The index's final height: receipts seen at or below it are kept for good.
    receipts_at: Option<u64>,
    pin: u64,
    /// The pin's block hash (with an index), stored with the receipts read there.
    pin_hash: Option<B256>,
    /// Receipts seen at an earlier pin not final yet, that still count (see the module doc).
    pending: HashSet<(Domain, u64)>,
    /// Receipts read at this pin, to remember.
    seen_received: Vec<(Domain, u64)>,
    reads: ChainReads,
}

/// The audit, with or without an index (see the module's doc for the order of the reads).
pub async fn audit_with<C: AuditSource>(
    chains: &[C],
    foreign: Option<&dyn ForeignChain>,
    index: Option<&AuditIndex>,
) -> Result<SupplyAudit, ChainError> {
    // 1. The history (maybe slow): the index extended to the final height, or every burn up
    // to the head.
    let mut readings: Vec<Reading> = Vec::with_capacity(chains.len());
    for c in chains {
        let mut reads = ChainReads::new(c.name(), "block", index.is_some());
        let (head, settled) = settled_head(c).await?;
        let reading = match index {
            None => {
                let burns = scan(c, c.start_block(), settled, &mut reads).await?;
                Reading {
                    burns,
                    next: settled.saturating_add(1).max(c.start_block()),
                    seen: settled,
                    receipts_at: None,
                    pin: 0,
                    pin_hash: None,
                    pending: HashSet::new(),
                    seen_received: Vec::new(),
                    reads,
                }
            }
            Some(ix) => {
                let final_height = c.final_height(head).await?.min(settled);
                let through = ix.extend(c, final_height, &mut reads).await?;
                Reading {
                    burns: ix.burns_of(c.domain())?,
                    next: through.map_or(c.start_block(), |t| t + 1),
                    seen: settled.max(through.unwrap_or(0)),
                    receipts_at: through,
                    pin: 0,
                    pin_hash: None,
                    pending: HashSet::new(),
                    seen_received: Vec::new(),
                    reads,
                }
            }
        };
        readings.push(reading);
    }
    // The pins (quick), then the blocks above what was read, up to each pin (a few).
    let mut report = SupplyAudit::default();
    let mut pins: HashMap<Domain, usize> = HashMap::new();
    for (i, c) in chains.iter().enumerate() {
        let block = settled_head(c).await?.1.max(readings[i].seen);
        let supply = c.total_supply(block).await?;
        report.supplies.push(ChainSupply {
            chain: c.name().to_string(),
            domain: c.domain(),
            height: Height::Block(block),
            supply,
        });
        readings[i].pin = block;
        pins.insert(c.domain(), i);
    }
    for (c, r) in chains.iter().zip(readings.iter_mut()) {
        if index.is_some() {
            // What the receipts read at the pin will be stored with (checked again after).
            r.pin_hash = c.block_hash(r.pin).await?;
        }
        if r.next <= r.pin {
            let more = scan(c, r.next, r.pin, &mut r.reads).await?;
            r.burns.extend(more);
        }
        let first = if index.is_some() {
            r.next
        } else {
            c.start_block()
        };
        r.reads.unindexed = (first <= r.pin).then_some((first, r.pin));
    }

    // 2. The foreign chain, right after the EVM pins, with the burns toward it. A replaced
    // burn (replaceDepositForBurn) is a second message under the same nonce: one burn.
    let mut seen = HashSet::new();
    let mut pending: Vec<AuditedBurn> = Vec::new();
    for (c, r) in chains.iter().zip(&readings) {
        for b in r
            .burns
            .iter()
            .filter(|b| seen.insert((c.domain(), b.nonce)))
        {
            pending.push(AuditedBurn {
                source: c.domain(),
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
    if let Some(ix) = index {
        for (c, r) in chains.iter().zip(readings.iter_mut()) {
            r.pending = ix.pending_receipts(c, r.receipts_at, r.pin).await?;
        }
    }
    for mut b in pending {
        let foreign_bound = foreign_pin
            .as_ref()
            .is_some_and(|(f, _)| f.domain() == b.destination);
        if !foreign_bound {
            if let Some(&d) = pins.get(&b.destination) {
                let r = &mut readings[d];
                b.fate = receipt(&chains[d], r, index, b.source, b.nonce).await?;
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
                Some(&d) => {
                    let r = &mut readings[d];
                    receipt(&chains[d], r, index, f.domain(), o.nonce).await?
                }
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
    if let Some(ix) = index {
        for (c, r) in chains.iter().zip(&readings) {
            let Some(hash) = r.pin_hash.filter(|_| !r.seen_received.is_empty()) else {
                continue;
            };
            // Remembered with the pin's hash only if the pin did not move under the reads.
            if c.block_hash(r.pin).await? == Some(hash) {
                ix.remember_receipts(c.domain(), r.pin, hash, r.receipts_at, &r.seen_received)?;
            }
        }
        ix.flush()?;
    }
    report.reads = readings.into_iter().map(|r| r.reads).collect();
    if let Some(reads) = foreign.and_then(|f| f.reads()) {
        report.reads.push(reads);
    }
    Ok(report)
}

/// The chain's head, and the newest block whose state no longer changes: the one below it.
/// A node may answer a read at its head from the state it is building the next block on:
/// anvil holds that state while it executes the block and serves the head from it, so a
/// `usedNonces` read at the head can see a mint that a `totalSupply` read there just before
/// did not. The audit pins at the settled block (one block behind: nothing is lost, a burn
/// minted at the head is in flight at the pin and in no supply).
async fn settled_head<C: AuditSource>(c: &C) -> Result<(u64, u64), ChainError> {
    let head = c.head().await?;
    Ok((head, head.saturating_sub(1)))
}

fn fate(received: bool) -> Fate {
    if received {
        Fate::Received
    } else {
        Fate::InFlight
    }
}

/// What became of (source, nonce) toward `dest` at its pin: known from the index (for good,
/// or seen at an earlier pin still on the chain), else read there (and remembered when
/// received).
async fn receipt<C: AuditSource>(
    dest: &C,
    r: &mut Reading,
    index: Option<&AuditIndex>,
    source: Domain,
    nonce: u64,
) -> Result<Fate, ChainError> {
    if let Some(ix) = index {
        if r.pending.contains(&(source, nonce)) || ix.received(dest.domain(), source, nonce)? {
            r.reads.receipts_known += 1;
            return Ok(Fate::Received);
        }
    }
    r.reads.receipt_reads += 1;
    if !dest.used(r.pin, source, nonce).await? {
        return Ok(Fate::InFlight);
    }
    if index.is_some() {
        r.seen_received.push((source, nonce));
    }
    Ok(Fate::Received)
}

/// The burns sent in blocks `from..=to`, in log queries of at most `max_block_range` blocks.
async fn scan<C: AuditSource>(
    c: &C,
    from: u64,
    to: u64,
    reads: &mut ChainReads,
) -> Result<Vec<SentBurn>, ChainError> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = to.min(start.saturating_add(c.max_block_range().max(1) - 1));
        out.extend(c.sent(start, end).await?);
        reads.log_queries += 1;
        if end == u64::MAX {
            break;
        }
        start = end + 1;
    }
    Ok(out)
}

impl AuditedChain {
    fn blocks(&self) -> EvmBlockSource {
        EvmBlockSource {
            rpc: self.rpc.clone(),
            transmitter: self.transmitter,
        }
    }
}

#[async_trait]
impl AuditSource for AuditedChain {
    fn name(&self) -> &str {
        &self.name
    }

    fn domain(&self) -> Domain {
        self.domain
    }

    fn start_block(&self) -> u64 {
        self.start_block
    }

    fn max_block_range(&self) -> u64 {
        self.max_block_range
    }

    fn identity(&self) -> B256 {
        let mut id = Vec::with_capacity(4 + 20 + 20 + 8);
        id.extend_from_slice(&self.domain.0.to_be_bytes());
        id.extend_from_slice(self.transmitter.as_slice());
        id.extend_from_slice(self.messenger.as_slice());
        id.extend_from_slice(&self.start_block.to_be_bytes());
        keccak256(id)
    }

    async fn head(&self) -> Result<u64, ChainError> {
        self.rpc.head().await
    }

    async fn final_height(&self, head: u64) -> Result<u64, ChainError> {
        self.blocks().final_height(self.finality, head).await
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        self.blocks().block_hash(number).await
    }

    async fn sent(&self, from: u64, to: u64) -> Result<Vec<SentBurn>, ChainError> {
        let messenger = usd1_core::message::address_to_bytes32(self.messenger);
        let filter = Filter::new()
            .address(self.transmitter)
            .event_signature(MessageSent::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        let logs = self
            .rpc
            .call("eth_getLogs", |p| {
                let f = filter.clone();
                async move { p.get_logs(&f).await }
            })
            .await?;
        let mut out = Vec::new();
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
        Ok(out)
    }

    async fn total_supply(&self, block: u64) -> Result<U256, ChainError> {
        let token = self.token;
        self.rpc
            .call("eth_call", |p| async move {
                Usd1Token::new(token, p)
                    .totalSupply()
                    .block(BlockId::number(block))
                    .call()
                    .await
            })
            .await
    }

    async fn used(&self, block: u64, source: Domain, nonce: u64) -> Result<bool, ChainError> {
        let (key, t) = (used_nonce_key(source, nonce), self.transmitter);
        let used = self
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
}

#[cfg(test)]
mod index_tests;

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
