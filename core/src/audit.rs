//! The cross-chain supply audit's figures (DESIGN §10), chain-agnostic: every chain's supply
//! at its pinned height, every bridge burn with its route and what became of it, and what
//! was burned outside the bridge. The identity the audit checks:
//!
//! Σ supply + in flight + burned toward unknown domains + burned outside the bridge = issued
//!
//! where a burn is **in flight** when its destination had not received its (source domain,
//! nonce) at the destination's pinned height. The chain adapters read the figures (EVM:
//! `usd1_evm::audit`, Solana: `usd1_solana::audit`); this module only adds them up.

use crate::traits::ChainError;
use crate::{Domain, U256};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// Where a chain was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Height {
    /// An EVM block number.
    Block(u64),
    /// A Solana slot, read at `finalized` commitment.
    FinalizedSlot(u64),
}

impl Height {
    pub fn number(self) -> u64 {
        match self {
            Self::Block(n) | Self::FinalizedSlot(n) => n,
        }
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Block(n) => write!(f, "block {n}"),
            Self::FinalizedSlot(n) => write!(f, "finalized slot {n}"),
        }
    }
}

/// One chain's supply at its pinned height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSupply {
    pub chain: String,
    pub domain: Domain,
    pub height: Height,
    pub supply: U256,
}

/// What became of a bridge burn, as seen at the destination's pinned height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Minted: in the destination's supply.
    Received,
    /// Not minted (yet): counted on top of the supplies.
    InFlight,
    /// Toward a domain no audited chain has: never mintable here.
    UnknownDestination,
}

/// A bridge burn: one (source domain, nonce), whatever replacement messages it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditedBurn {
    pub source: Domain,
    pub destination: Domain,
    pub nonce: u64,
    pub amount: U256,
    pub fate: Fate,
}

/// Supply destroyed on a chain by burns that are not bridge burns (nothing will be minted for
/// them): on the accounted side, or the identity would not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideBridge {
    pub chain: String,
    /// Transactions that burned.
    pub count: usize,
    pub amount: U256,
}

/// The burns of one route (source → destination).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub burns: usize,
    pub in_flight_count: usize,
    pub in_flight: U256,
}

/// How the accounted total compares with the issued total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    Exact,
    /// More is accounted for than was issued: minted without a burn (e.g. a duplicate mint).
    Excess(U256),
    /// Less is accounted for than was issued: burned without a mint or an in-flight record.
    Shortfall(U256),
}

/// What one audit read from one chain to find its burns and receipts, and how far its index
/// (when one is kept) covers: the figures that show an audit costs the new blocks, not the
/// history (`usd1 audit` prints them; the benchmark and the tests read them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainReads {
    pub chain: String,
    /// The chain's unit: "block" (EVM) or "slot" (Solana).
    pub unit: &'static str,
    /// Whether an index was used (else everything was read from the chain's start).
    pub indexed: bool,
    /// How far the index covered before this audit (None: it was empty or started over).
    pub before: Option<u64>,
    /// How far it covers now: final heights only.
    pub through: Option<u64>,
    /// Heights read into the index by this audit, first..=last.
    pub added: Option<(u64, u64)>,
    /// Heights read for burns without being indexed (not final yet, or no index), first..=last.
    pub unindexed: Option<(u64, u64)>,
    /// Why the index of this chain started over, when it did.
    pub rebuilt: Option<String>,
    /// Log queries made (`eth_getLogs`; Solana: `getSignaturesForAddress` pages).
    pub log_queries: u64,
    /// Receipt reads made against this chain as a destination (`usedNonces` calls; Solana:
    /// claims read).
    pub receipt_reads: u64,
    /// Receipts known from the index (no read needed).
    pub receipts_known: u64,
}

impl ChainReads {
    pub fn new(chain: &str, unit: &'static str, indexed: bool) -> Self {
        Self {
            chain: chain.to_string(),
            unit,
            indexed,
            ..Default::default()
        }
    }

    /// Heights in the `added` range.
    pub fn added_count(&self) -> u64 {
        self.added.map_or(0, |(a, b)| b.saturating_sub(a) + 1)
    }
}

impl fmt::Display for ChainReads {
    /// e.g. "ethereum: index through block 130 (was 120: +10 blocks); read unindexed
    /// 131–132 (not final); 2 eth_getLogs; usedNonces: 2 read, 40 known".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (logs, receipts) = if self.unit == "slot" {
            ("signature pages", "claims")
        } else {
            ("eth_getLogs", "usedNonces")
        };
        write!(f, "{}: ", self.chain)?;
        if self.indexed {
            match self.through {
                Some(t) => write!(f, "index through {} {t}", self.unit)?,
                None => write!(f, "index empty (nothing final yet)")?,
            }
            match self.before {
                Some(b) => write!(f, " (was {b}: ")?,
                None => write!(f, " (new: ")?,
            }
            write!(f, "+{} {}s)", self.added_count(), self.unit)?;
            if let Some(why) = &self.rebuilt {
                write!(f, " REBUILT: {why}")?;
            }
            if let Some((a, b)) = self.unindexed {
                write!(f, "; read unindexed {a}–{b} (not final)")?;
            }
        } else {
            write!(f, "no index")?;
            if let Some((a, b)) = self.unindexed.or(self.added) {
                write!(f, ", read {}s {a}–{b}", self.unit)?;
            }
        }
        write!(
            f,
            "; {} {logs}; {receipts}: {} read, {} known",
            self.log_queries, self.receipt_reads, self.receipts_known
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct SupplyAudit {
    pub supplies: Vec<ChainSupply>,
    burns: Vec<AuditedBurn>,
    counted: HashSet<(Domain, u64)>,
    pub outside_bridge: Vec<OutsideBridge>,
    /// What each chain cost to read (see [`ChainReads`]).
    pub reads: Vec<ChainReads>,
}

fn sum(amounts: impl Iterator<Item = U256>) -> U256 {
    amounts.fold(U256::ZERO, |a, b| a + b)
}

impl SupplyAudit {
    /// Adds a burn unless its (source, nonce) is counted already (a replaced burn is one burn:
    /// CCTP's `replaceDepositForBurn` sends a second message under the same nonce). Returns
    /// whether it was added.
    pub fn add_burn(&mut self, burn: AuditedBurn) -> bool {
        if !self.counted.insert((burn.source, burn.nonce)) {
            return false;
        }
        self.burns.push(burn);
        true
    }

    /// Whether a burn with this (source, nonce) is counted already.
    pub fn has_burn(&self, source: Domain, nonce: u64) -> bool {
        self.counted.contains(&(source, nonce))
    }

    pub fn burns(&self) -> &[AuditedBurn] {
        &self.burns
    }

    pub fn total_supply(&self) -> U256 {
        sum(self.supplies.iter().map(|s| s.supply))
    }

    fn amount_with(&self, fate: Fate) -> U256 {
        sum(self
            .burns
            .iter()
            .filter(|b| b.fate == fate)
            .map(|b| b.amount))
    }

    /// Burned toward an audited chain and not received there at its pinned height.
    pub fn in_flight(&self) -> U256 {
        self.amount_with(Fate::InFlight)
    }

    pub fn in_flight_count(&self) -> usize {
        self.burns
            .iter()
            .filter(|b| b.fate == Fate::InFlight)
            .count()
    }

    /// Burned toward domains no audited chain has.
    pub fn to_unknown_domains(&self) -> U256 {
        self.amount_with(Fate::UnknownDestination)
    }

    pub fn outside_bridge_total(&self) -> U256 {
        sum(self.outside_bridge.iter().map(|o| o.amount))
    }

    /// Σ supplies + everything burned and not minted (in flight, toward unknown domains, or
    /// outside the bridge): equals the issued total when nothing was minted without a burn.
    pub fn accounted(&self) -> U256 {
        self.total_supply()
            + self.in_flight()
            + self.to_unknown_domains()
            + self.outside_bridge_total()
    }

    pub fn balance(&self, issued: U256) -> Balance {
        let accounted = self.accounted();
        if accounted > issued {
            Balance::Excess(accounted - issued)
        } else if accounted < issued {
            Balance::Shortfall(issued - accounted)
        } else {
            Balance::Exact
        }
    }

    /// Burns per (source, destination), in domain order.
    pub fn routes(&self) -> BTreeMap<(Domain, Domain), Route> {
        let mut routes: BTreeMap<(Domain, Domain), Route> = BTreeMap::new();
        for b in &self.burns {
            let r = routes.entry((b.source, b.destination)).or_default();
            r.burns += 1;
            if b.fate == Fate::InFlight {
                r.in_flight_count += 1;
                r.in_flight += b.amount;
            }
        }
        routes
    }

    /// The audited chain's name for a domain, else "domain N".
    pub fn chain_name(&self, domain: Domain) -> String {
        self.supplies
            .iter()
            .find(|s| s.domain == domain)
            .map(|s| s.chain.clone())
            .unwrap_or_else(|| format!("domain {domain}"))
    }
}

/// A foreign chain read at one height: its supply, and for the burns toward it that were
/// asked about, whether each had been received there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignPin {
    pub supply: ChainSupply,
    /// For each (source domain, nonce) asked about, in order: received at that height.
    pub received: Vec<bool>,
}

/// A bridge burn on the foreign chain: (destination, nonce, amount).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundBurn {
    pub destination: Domain,
    pub nonce: u64,
    pub amount: U256,
}

/// A foreign chain's burns up to its pinned height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignBurns {
    /// Its bridge burns up to the pinned height.
    pub bridge: Vec<OutboundBurn>,
    /// What it burned outside the bridge up to the pinned height.
    pub outside: OutsideBridge,
}

/// What the supply audit (`usd1_evm::audit`, which reads the EVM chains itself) needs from a
/// chain it cannot read: Solana. It calls `pin` once, right after pinning the EVM chains and
/// reading their burns, then `burns` with that pin.
#[async_trait]
pub trait ForeignChain: Send + Sync {
    fn name(&self) -> &str;
    fn domain(&self) -> Domain;
    /// Reads the chain at one height: its supply, and whether each inbound (source domain,
    /// nonce) counts as received there.
    async fn pin(&self, inbound: &[(Domain, u64)]) -> Result<ForeignPin, ChainError>;
    /// Its burns up to the height `pin` read (bridge burns, and those outside the bridge).
    async fn burns(&self, pinned: &ForeignPin) -> Result<ForeignBurns, ChainError>;
    /// What the last `pin` and `burns` cost to read, when the chain keeps such figures.
    fn reads(&self) -> Option<ChainReads> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETH: Domain = Domain::ETHEREUM;
    const SOL: Domain = Domain::SOLANA;
    const BASE: Domain = Domain::BASE;

    fn usd1(n: u64) -> U256 {
        U256::from(n) * U256::from(1_000_000u64)
    }

    fn supply(chain: &str, domain: Domain, amount: U256) -> ChainSupply {
        ChainSupply {
            chain: chain.into(),
            domain,
            height: Height::Block(10),
            supply: amount,
        }
    }

    fn burn(
        source: Domain,
        destination: Domain,
        nonce: u64,
        amount: U256,
        fate: Fate,
    ) -> AuditedBurn {
        AuditedBurn {
            source,
            destination,
            nonce,
            amount,
            fate,
        }
    }

    /// Issued 3,000,000 (1,000,000 per chain), then: 10 eth→sol minted, 5 eth→sol in flight,
    /// 2 sol→base minted, 1 sol→eth in flight, 3 burned on solana outside the bridge,
    /// 4 eth→domain 9.
    fn honest() -> SupplyAudit {
        let mut a = SupplyAudit {
            supplies: vec![
                supply("ethereum", ETH, usd1(1_000_000 - 10 - 5 - 4)),
                supply("base", BASE, usd1(1_000_000 + 2)),
                ChainSupply {
                    chain: "solana".into(),
                    domain: SOL,
                    height: Height::FinalizedSlot(99),
                    supply: usd1(1_000_000 + 10 - 2 - 1 - 3),
                },
            ],
            outside_bridge: vec![OutsideBridge {
                chain: "solana".into(),
                count: 1,
                amount: usd1(3),
            }],
            ..Default::default()
        };
        assert!(a.add_burn(burn(ETH, SOL, 1, usd1(10), Fate::Received)));
        assert!(a.add_burn(burn(ETH, SOL, 2, usd1(5), Fate::InFlight)));
        assert!(a.add_burn(burn(SOL, BASE, 7 << 20, usd1(2), Fate::Received)));
        assert!(a.add_burn(burn(SOL, ETH, 8 << 20, usd1(1), Fate::InFlight)));
        assert!(a.add_burn(burn(ETH, Domain(9), 3, usd1(4), Fate::UnknownDestination)));
        a
    }

    #[test]
    fn every_chain_and_every_kind_of_burn_adds_up_to_the_issued_total() {
        let a = honest();
        assert_eq!(a.in_flight(), usd1(6));
        assert_eq!(a.in_flight_count(), 2);
        assert_eq!(a.to_unknown_domains(), usd1(4));
        assert_eq!(a.outside_bridge_total(), usd1(3));
        assert_eq!(a.accounted(), usd1(3_000_000));
        assert_eq!(a.balance(usd1(3_000_000)), Balance::Exact);
    }

    #[test]
    fn a_second_mint_of_one_burn_on_solana_is_an_excess() {
        let mut a = honest();
        // eth→sol nonce 1 minted twice: Solana's supply holds 10 more; the burn is one.
        a.supplies[2].supply += usd1(10);
        assert!(!a.add_burn(burn(ETH, SOL, 1, usd1(10), Fate::Received)));
        assert_eq!(a.balance(usd1(3_000_000)), Balance::Excess(usd1(10)));
    }

    #[test]
    fn ignoring_solana_would_hide_the_excess() {
        let mut a = honest();
        a.supplies[2].supply += usd1(1);
        assert_eq!(a.balance(usd1(3_000_000)), Balance::Excess(usd1(1)));
        // The same figures without Solana's supply and burns (what the EVM-only audit saw):
        // nothing could be compared, the excess is invisible.
        let evm_only = SupplyAudit {
            supplies: a.supplies[..2].to_vec(),
            ..Default::default()
        };
        assert!(evm_only.accounted() < usd1(3_000_000));
    }

    #[test]
    fn a_burn_not_accounted_anywhere_is_a_shortfall() {
        let mut a = honest();
        a.outside_bridge.clear();
        assert_eq!(a.balance(usd1(3_000_000)), Balance::Shortfall(usd1(3)));
    }

    #[test]
    fn a_replaced_burn_counts_once() {
        let mut a = SupplyAudit::default();
        assert!(a.add_burn(burn(ETH, BASE, 5, usd1(1), Fate::InFlight)));
        assert!(a.has_burn(ETH, 5));
        assert!(!a.add_burn(burn(ETH, BASE, 5, usd1(1), Fate::InFlight)));
        assert!(!a.has_burn(BASE, 5), "keyed by source and nonce");
        assert!(a.add_burn(burn(BASE, ETH, 5, usd1(1), Fate::InFlight)));
        assert_eq!(a.in_flight(), usd1(2));
    }

    #[test]
    fn routes_count_burns_and_what_is_in_flight() {
        let a = honest();
        let routes = a.routes();
        assert_eq!(
            routes[&(ETH, SOL)],
            Route {
                burns: 2,
                in_flight_count: 1,
                in_flight: usd1(5)
            }
        );
        assert_eq!(routes[&(SOL, ETH)].in_flight, usd1(1));
        assert_eq!(routes[&(SOL, BASE)].in_flight_count, 0);
        assert_eq!(routes.len(), 4);
        assert_eq!(a.chain_name(SOL), "solana");
        assert_eq!(a.chain_name(Domain(9)), "domain 9");
    }

    #[test]
    fn reads_say_what_was_read() {
        let mut r = ChainReads::new("ethereum", "block", true);
        r.before = Some(120);
        r.through = Some(130);
        r.added = Some((121, 130));
        r.unindexed = Some((131, 132));
        r.log_queries = 1;
        r.receipt_reads = 2;
        r.receipts_known = 40;
        assert_eq!(r.added_count(), 10);
        assert_eq!(
            r.to_string(),
            "ethereum: index through block 130 (was 120: +10 blocks); \
             read unindexed 131–132 (not final); 1 eth_getLogs; usedNonces: 2 read, 40 known"
        );
        let mut full = ChainReads::new("base", "block", false);
        full.unindexed = Some((0, 132));
        full.log_queries = 1;
        assert_eq!(
            full.to_string(),
            "base: no index, read blocks 0–132; 1 eth_getLogs; usedNonces: 0 read, 0 known"
        );
        let mut sol = ChainReads::new("solana", "slot", true);
        sol.through = Some(900);
        sol.added = Some((0, 900));
        sol.log_queries = 2;
        assert!(sol
            .to_string()
            .starts_with("solana: index through slot 900 (new: +901 slots); 2 signature pages;"));
    }

    #[test]
    fn heights_say_what_they_are() {
        assert_eq!(Height::Block(7).to_string(), "block 7");
        assert_eq!(Height::FinalizedSlot(8).to_string(), "finalized slot 8");
        assert_eq!(Height::FinalizedSlot(8).number(), 8);
    }
}
