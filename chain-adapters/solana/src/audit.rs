//! Solana's part of the supply audit (DESIGN §10; the audit itself is `usd1_evm::audit`).
//!
//! Solana cannot be read at a past slot, so everything is read at `finalized` and tied to one
//! slot S:
//! - **the pin**: the mint account and the claim accounts of every burn toward Solana come
//!   from `getMultipleAccounts` calls that each include the mint and that all answered with
//!   the same context slot S (else they are read again). A mint transaction creates its claim
//!   and mints atomically, so at S a burn's claim exists exactly when its USD1 is in the
//!   supply read: a mint landing between two reads cannot be counted twice or not at all.
//!   A claim is never closed (the Memo program owns it), so "received" at some finalized slot
//!   stays true: those are remembered and not read again;
//! - **the burns**: the mint's transactions at `finalized` (`getSignaturesForAddress`),
//!   only those at slots ≤ S, each read with `getTransaction` and judged by the watcher's
//!   rule (`burn::classify`, and `check_evm_shape` toward EVM chains). A bridge burn gets its
//!   nonce (`slot << 20 | index in block`); a successful transaction that burns the mint and
//!   is not a bridge burn destroyed supply outside the bridge: its burned amount is reported
//!   apart. Finalized history does not change, so what was read is kept and each audit
//!   reads only the slots after the last one.
//!
//! With an index ([`SolanaAudit::with_index`], a sled tree: the relayer's `audit/solana`, the
//! CLI's local store) what was established for good — the burns of finalized slots up to the
//! last one read, the receipts seen at a finalized slot, the retired claims' decisions, and
//! the newest slot anything was read at (a later pin must not be older) — outlives the
//! process, each written in one batch with that slot. It belongs to one mint on one cluster
//! (the genesis hash): another starts it over.
//!
//! A claim under the current claim authority counts as received; under a retired one, only
//! if the transaction that created it minted ([`ClaimRule`](crate::received::ClaimRule)
//! decides; such a claim existed at S, so its creator is at a slot ≤ S, and the decision never
//! changes).

use crate::rpc::{SolanaError, SolanaRpc};
use solana_sdk::pubkey::Pubkey;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use usd1_core::audit::{
    ChainReads, ChainSupply, ForeignBurns, ForeignChain, ForeignPin, Height, OutboundBurn,
    OutsideBridge,
};
use usd1_core::traits::ChainError;
use usd1_core::{Domain, U256};

mod burns;
mod index;
mod judge;
mod pin;
#[cfg(test)]
mod tests;

pub use judge::{burned, judge, Burned};

fn chain_error(e: SolanaError) -> ChainError {
    match e {
        SolanaError::Rpc { method, detail } => ChainError::Rpc { method, detail },
        SolanaError::Invalid(detail) => ChainError::Rpc {
            method: "solana",
            detail,
        },
        e @ SolanaError::Config { .. } => ChainError::Rejected(e.to_string()),
    }
}

fn rpc(method: &'static str) -> impl Fn(solana_rpc_client_api::client_error::Error) -> SolanaError {
    move |e| SolanaError::Rpc {
        method,
        detail: e.to_string(),
    }
}

/// What earlier audits established for good.
#[derive(Default, Debug, PartialEq)]
struct Known {
    /// (source, nonce) seen received at a finalized slot ≤ `floor`.
    received: HashSet<(Domain, u64)>,
    /// Retired claim → whether the transaction that created it minted.
    retired: HashMap<Pubkey, bool>,
    /// Every finalized transaction of the mint up to this slot is in `bridge` / `outside`.
    scanned_through: Option<u64>,
    bridge: Vec<OutboundBurn>,
    outside: (usize, U256),
    /// The newest slot anything above was read at: a later pin must not be older.
    floor: u64,
}

/// Solana in the supply audit. Keep one per process: it remembers what cannot change.
pub struct SolanaAudit {
    name: String,
    domain: Domain,
    rpc: SolanaRpc,
    mint: Pubkey,
    multisig: Pubkey,
    current: Pubkey,
    retired: Vec<Pubkey>,
    evm_domains: HashSet<Domain>,
    known: Mutex<Known>,
    /// Where `known` is kept across processes, once loaded.
    index: Option<sled::Tree>,
    loaded: tokio::sync::OnceCell<()>,
    /// What the current audit read (for `usd1 audit`'s figures).
    reads: Mutex<ChainReads>,
}

/// What changed in `Known` since the last save.
#[derive(Default)]
struct Changes {
    received: Vec<(Domain, u64)>,
    bridge: Vec<OutboundBurn>,
}

impl SolanaAudit {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        domain: Domain,
        rpc_url: &str,
        mint: Pubkey,
        multisig: Pubkey,
        current: Pubkey,
        retired: Vec<Pubkey>,
        evm_domains: HashSet<Domain>,
    ) -> Self {
        Self {
            name,
            domain,
            rpc: SolanaRpc::new(rpc_url),
            mint,
            multisig,
            current,
            retired,
            evm_domains,
            known: Mutex::new(Known::default()),
            index: None,
            loaded: tokio::sync::OnceCell::new(),
            reads: Mutex::new(ChainReads::default()),
        }
    }

    /// Keeps what is established for good in `tree` (see the module's doc), so that a new
    /// process reads only the slots after the last one read.
    pub fn with_index(mut self, tree: sled::Tree) -> Self {
        self.index = Some(tree);
        self
    }

    /// The figures of the current audit.
    fn note(&self, f: impl FnOnce(&mut ChainReads)) {
        f(&mut self.reads.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// From the `[solana]` section; the EVM chains are the bridge burns' destinations.
    pub fn from_config(
        solana: &crate::conf::SolanaConfig,
        destinations: HashSet<Domain>,
    ) -> Result<Self, SolanaError> {
        let url = solana.rpc_urls.first().ok_or_else(|| SolanaError::Config {
            field: "solana.rpc_urls".into(),
            reason: "is empty".into(),
        })?;
        let mut audit = Self::new(
            solana.name.clone(),
            solana.domain,
            url,
            solana.mint,
            solana.multisig,
            solana.claim_authority,
            solana.retired_claim_authorities.clone(),
            destinations,
        );
        audit.rpc = SolanaRpc::with_fallback(&solana.rpc_urls)?;
        Ok(audit)
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl ForeignChain for SolanaAudit {
    fn name(&self) -> &str {
        &self.name
    }

    fn domain(&self) -> Domain {
        self.domain
    }

    async fn pin(&self, inbound: &[(Domain, u64)]) -> Result<ForeignPin, ChainError> {
        let (slot, supply, received) = self.read_pin(inbound).await.map_err(chain_error)?;
        Ok(ForeignPin {
            supply: ChainSupply {
                chain: self.name.clone(),
                domain: self.domain,
                height: Height::FinalizedSlot(slot),
                supply: U256::from(supply),
            },
            received,
        })
    }

    fn reads(&self) -> Option<ChainReads> {
        Some(self.reads.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    async fn burns(&self, pinned: &ForeignPin) -> Result<ForeignBurns, ChainError> {
        let (bridge, (count, amount)) = self
            .read_burns(pinned.supply.height.number())
            .await
            .map_err(chain_error)?;
        Ok(ForeignBurns {
            bridge,
            outside: OutsideBridge {
                chain: self.name.clone(),
                count,
                amount,
            },
        })
    }
}
