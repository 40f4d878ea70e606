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
//! if the transaction that created it minted ([`ClaimRule`] decides; such a claim existed at
//! S, so its creator is at a slot ≤ S, and the decision never changes).

use crate::burn::{check_evm_shape, classify, SeenInstruction};
use crate::claim::{claim_address, is_claimed};
use crate::nonce::solana_nonce;
use crate::received::ClaimRule;
use crate::rpc::{SolanaError, SolanaRpc};
use crate::token_program;
use crate::transaction::{read_transaction, SeenTransaction};
use solana_commitment_config::CommitmentConfig;
use solana_program_pack::Pack;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_rpc_client_types::config::RpcBlockConfig;
use solana_sdk::account::Account;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signature;
use solana_transaction_status_client_types::TransactionDetails;
use spl_token_interface::instruction::TokenInstruction;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::Mutex;
use usd1_core::audit::{
    ChainReads, ChainSupply, ForeignBurns, ForeignChain, ForeignPin, Height, OutboundBurn,
    OutsideBridge,
};
use usd1_core::traits::ChainError;
use usd1_core::{Domain, U256};

/// Accounts per `getMultipleAccounts` call (the RPC's limit).
const MAX_ACCOUNTS: usize = 100;
/// Signatures per `getSignaturesForAddress` page (the RPC's limit).
const PAGE: usize = 1000;
/// Rounds of reads before giving up on one consistent slot for every claim still open.
const MAX_ROUNDS: usize = 30;

/// What a transaction that touched the mint did to its supply by burning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Burned {
    /// Nothing burned (a mint, a transfer, or a failed transaction).
    Nothing,
    /// A bridge burn toward `destination`.
    Bridge { destination: Domain, amount: u64 },
    /// Burned, but not a bridge burn: never attested, nothing minted for it.
    Outside { amount: U256, reason: &'static str },
}

/// Judges one transaction of the mint as the watcher does: `classify`, then — toward an EVM
/// chain (`evm_domains`) — the EVM shape of the recipient. A bridge burn toward a domain no
/// EVM chain has is still a bridge burn (the audit counts it toward an unknown domain).
pub fn judge(tx: &SeenTransaction, mint: &Pubkey, evm_domains: &HashSet<Domain>) -> Burned {
    match classify(&tx.instructions, tx.succeeded, &tx.signers, mint) {
        Ok(None) => Burned::Nothing,
        // A failed transaction burned nothing.
        Err(_) if !tx.succeeded => Burned::Nothing,
        Err(why) => Burned::Outside {
            amount: burned(&tx.instructions, mint),
            reason: why.label(),
        },
        Ok(Some(b)) => {
            let destination = b.memo.destination_domain;
            if evm_domains.contains(&destination) {
                if let Err(why) = check_evm_shape(&b.memo) {
                    return Burned::Outside {
                        amount: U256::from(b.amount),
                        reason: why.label(),
                    };
                }
            }
            Burned::Bridge {
                destination,
                amount: b.amount,
            }
        }
    }
}

/// Σ of the `Burn`/`BurnChecked` amounts of `mint` (top-level and inner), read the way the SPL
/// Token program reads them: what a successful transaction took off the supply.
pub fn burned(instructions: &[SeenInstruction], mint: &Pubkey) -> U256 {
    instructions
        .iter()
        .filter(|ix| ix.program == token_program() && ix.accounts.get(1) == Some(mint))
        .filter_map(|ix| match TokenInstruction::unpack(&ix.data).ok()? {
            TokenInstruction::Burn { amount } | TokenInstruction::BurnChecked { amount, .. } => {
                Some(U256::from(amount))
            }
            _ => None,
        })
        .fold(U256::ZERO, |a, b| a + b)
}

/// The one slot every read answered at, if they agree.
fn one_slot(slots: &[u64]) -> Option<u64> {
    let first = *slots.first()?;
    slots.iter().all(|&s| s == first).then_some(first)
}

fn chain_error(e: SolanaError) -> ChainError {
    match e {
        SolanaError::Rpc { method, detail } => ChainError::Rpc { method, detail },
        SolanaError::Invalid(detail) => ChainError::Rpc {
            method: "solana",
            detail,
        },
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

/// The index's keys (one tree; each write one batch).
const IDENTITY_KEY: &[u8] = b"identity";
const META_KEY: &[u8] = b"meta";
const BURN: u8 = b'b';
const RECEIVED: u8 = b'r';
const RETIRED: u8 = b't';

fn received_key((source, nonce): (Domain, u64)) -> [u8; 13] {
    let mut k = [RECEIVED; 13];
    k[1..5].copy_from_slice(&source.0.to_be_bytes());
    k[5..].copy_from_slice(&nonce.to_be_bytes());
    k
}

fn burn_key(nonce: u64) -> [u8; 9] {
    let mut k = [BURN; 9];
    k[1..].copy_from_slice(&nonce.to_be_bytes());
    k
}

fn retired_key(claim: &Pubkey) -> [u8; 33] {
    let mut k = [RETIRED; 33];
    k[1..].copy_from_slice(claim.as_ref());
    k
}

impl Known {
    /// The scalars, stored as JSON under `meta` (the outside amount in decimal base units).
    fn meta(&self) -> serde_json::Value {
        serde_json::json!({
            "scanned_through": self.scanned_through,
            "floor": self.floor,
            "outside_count": self.outside.0,
            "outside_amount": self.outside.1.to_string(),
        })
    }

    /// Reads what `tree` holds (written by `save`).
    fn load(tree: &sled::Tree) -> Result<Self, SolanaError> {
        let bad = |what: &str| SolanaError::Invalid(format!("the Solana audit index: {what}"));
        let mut known = Known::default();
        if let Some(v) = tree.get(META_KEY).map_err(index_error)? {
            let meta: serde_json::Value =
                serde_json::from_slice(&v).map_err(|e| bad(&e.to_string()))?;
            known.scanned_through = meta["scanned_through"].as_u64();
            known.floor = meta["floor"].as_u64().ok_or_else(|| bad("no floor"))?;
            known.outside = (
                meta["outside_count"]
                    .as_u64()
                    .ok_or_else(|| bad("no outside count"))? as usize,
                meta["outside_amount"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| bad("no outside amount"))?,
            );
        }
        for entry in tree.scan_prefix([BURN]) {
            let (k, v) = entry.map_err(index_error)?;
            let (Some(nonce), Some(destination), Some(amount)) = (
                k.get(1..9).and_then(|b| b.try_into().ok()),
                v.get(..4).and_then(|b| b.try_into().ok()),
                v.get(4..36),
            ) else {
                return Err(bad("a malformed burn"));
            };
            known.bridge.push(OutboundBurn {
                destination: Domain(u32::from_be_bytes(destination)),
                nonce: u64::from_be_bytes(nonce),
                amount: U256::from_be_slice(amount),
            });
        }
        for key in tree.scan_prefix([RECEIVED]).keys() {
            let k = key.map_err(index_error)?;
            let (Some(source), Some(nonce)) = (
                k.get(1..5).and_then(|b| b.try_into().ok()),
                k.get(5..13).and_then(|b| b.try_into().ok()),
            ) else {
                return Err(bad("a malformed receipt"));
            };
            known.received.insert((
                Domain(u32::from_be_bytes(source)),
                u64::from_be_bytes(nonce),
            ));
        }
        for entry in tree.scan_prefix([RETIRED]) {
            let (k, v) = entry.map_err(index_error)?;
            let claim = k
                .get(1..33)
                .and_then(|b| Pubkey::try_from(b).ok())
                .ok_or_else(|| bad("a malformed retired claim"))?;
            known.retired.insert(claim, v.first() == Some(&1));
        }
        Ok(known)
    }
}

fn index_error(e: sled::Error) -> SolanaError {
    SolanaError::Invalid(format!("the Solana audit index: {e}"))
}

/// What changed in `Known` since the last save.
#[derive(Default)]
struct Changes {
    received: Vec<(Domain, u64)>,
    bridge: Vec<OutboundBurn>,
}

/// One burn's claim accounts at the pin.
struct ClaimState {
    current: Option<Account>,
    /// (retired authority, its claim account) for each retired authority.
    retired: Vec<(Pubkey, Option<Account>)>,
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

    /// Loads the index once per process: its burns, receipts and slots, if it belongs to this
    /// mint on this cluster; else it starts over.
    async fn load(&self) -> Result<(), SolanaError> {
        let Some(tree) = &self.index else {
            return Ok(());
        };
        self.loaded
            .get_or_try_init(|| async {
                let genesis = self
                    .rpc
                    .client()
                    .get_genesis_hash()
                    .await
                    .map_err(rpc("getGenesisHash"))?;
                let identity = format!("{}@{genesis}", self.mint);
                let stored = tree.get(IDENTITY_KEY).map_err(index_error)?;
                if stored.as_deref() == Some(identity.as_bytes()) {
                    *self.known() = Known::load(tree)?;
                    return Ok(());
                }
                if stored.is_some() {
                    tracing::warn!(%identity, "solana audit index: another mint or cluster; starting it over");
                }
                let mut b = sled::Batch::default();
                for key in tree.iter().keys() {
                    b.remove(key.map_err(index_error)?);
                }
                b.insert(IDENTITY_KEY, identity.as_bytes());
                usd1_core::durable::serialized(|| tree.apply_batch(b)).map_err(index_error)?;
                *self.known() = Known::default();
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Writes `changes`, the retired claims' decisions and the slots, in one batch.
    fn save(&self, changes: Changes) -> Result<(), SolanaError> {
        let Some(tree) = &self.index else {
            return Ok(());
        };
        let mut b = sled::Batch::default();
        {
            let known = self.known();
            for r in &changes.received {
                b.insert(&received_key(*r), &[]);
            }
            for burn in &changes.bridge {
                let mut v = Vec::with_capacity(36);
                v.extend_from_slice(&burn.destination.0.to_be_bytes());
                v.extend_from_slice(&burn.amount.to_be_bytes::<32>());
                b.insert(&burn_key(burn.nonce), v);
            }
            for (claim, minted) in &known.retired {
                b.insert(retired_key(claim).to_vec(), vec![u8::from(*minted)]);
            }
            let meta = serde_json::to_vec(&known.meta())
                .map_err(|e| SolanaError::Invalid(e.to_string()))?;
            b.insert(META_KEY, meta);
        }
        usd1_core::durable::serialized(|| tree.apply_batch(b)).map_err(index_error)
    }

    /// The figures of the current audit.
    fn note(&self, f: impl FnOnce(&mut ChainReads)) {
        f(&mut self.reads.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// From the `[solana]` section; the EVM chains are the bridge burns' destinations.
    pub fn from_config(
        solana: &usd1_config::SolanaConfig,
        chains: &BTreeMap<String, usd1_config::ChainConfig>,
    ) -> Result<Self, String> {
        let key = |text: &str, field: &str| {
            Pubkey::from_str(text).map_err(|_| format!("{field}: {text:?} is not a public key"))
        };
        let url = solana.rpc_urls.first().ok_or("solana.rpc_urls is empty")?;
        let mut retired = Vec::new();
        for r in &solana.retired_claim_authorities {
            retired.push(key(r, "solana.retired_claim_authorities")?);
        }
        Ok(Self::new(
            solana.name.clone(),
            solana.domain,
            url,
            key(&solana.mint, "solana.mint")?,
            key(&solana.multisig, "solana.multisig")?,
            key(&solana.claim_authority, "solana.claim_authority")?,
            retired,
            chains.values().map(|c| c.domain).collect(),
        ))
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The supply at one finalized slot, and for each inbound (source, nonce) whether it
    /// counts as received there.
    pub async fn read_pin(
        &self,
        inbound: &[(Domain, u64)],
    ) -> Result<(u64, u64, Vec<bool>), SolanaError> {
        self.load().await?;
        let mut reads = ChainReads::new(&self.name, "slot", self.index.is_some());
        {
            let known = self.known();
            reads.before = known.scanned_through;
            let mut seen = HashSet::new();
            reads.receipts_known = inbound
                .iter()
                .filter(|b| known.received.contains(b) && seen.insert(**b))
                .count() as u64;
        }
        *self.reads.lock().unwrap_or_else(|p| p.into_inner()) = reads;
        let per_burn = 1 + self.retired.len();
        let burns_per_call = (MAX_ACCOUNTS - 1) / per_burn;
        if burns_per_call == 0 {
            return Err(SolanaError::Invalid(format!(
                "{} retired claim authorities: too many to read a claim's accounts in one call",
                self.retired.len()
            )));
        }
        for _ in 0..MAX_ROUNDS {
            let open: Vec<(Domain, u64)> = {
                let known = self.known();
                let mut seen = HashSet::new();
                inbound
                    .iter()
                    .copied()
                    .filter(|b| !known.received.contains(b) && seen.insert(*b))
                    .collect()
            };
            self.note(|r| r.receipt_reads += open.len() as u64);
            // Every call reads the mint too: one context slot per call, and the supply at it.
            let mut slots = Vec::new();
            let mut supply = 0;
            let mut states: Vec<((Domain, u64), ClaimState)> = Vec::with_capacity(open.len());
            let chunks: Vec<&[(Domain, u64)]> = if open.is_empty() {
                vec![&[]]
            } else {
                open.chunks(burns_per_call).collect()
            };
            for chunk in chunks {
                let mut keys = vec![self.mint];
                for &(source, nonce) in chunk {
                    keys.push(self.claim(&self.current, source, nonce)?);
                    for r in &self.retired {
                        keys.push(self.claim(r, source, nonce)?);
                    }
                }
                let answer = self
                    .rpc
                    .client()
                    .get_multiple_accounts_with_commitment(&keys, CommitmentConfig::finalized())
                    .await
                    .map_err(rpc("getMultipleAccounts"))?;
                if answer.value.len() != keys.len() {
                    return Err(SolanaError::Invalid(format!(
                        "getMultipleAccounts answered {} accounts for {}",
                        answer.value.len(),
                        keys.len()
                    )));
                }
                slots.push(answer.context.slot);
                let mut accounts = answer.value.into_iter();
                supply = self.supply_of(accounts.next().flatten())?;
                for &burn in chunk {
                    let current = accounts.next().flatten();
                    let retired = self
                        .retired
                        .iter()
                        .map(|r| (*r, accounts.next().flatten()))
                        .collect();
                    states.push((burn, ClaimState { current, retired }));
                }
            }
            // Whatever was received at one of those slots is received for good.
            let newest = slots.iter().copied().max().unwrap_or(0);
            let mut changes = Changes::default();
            for (burn, state) in &states {
                if self.counts(*burn, state).await? {
                    let mut known = self.known();
                    known.received.insert(*burn);
                    known.floor = known.floor.max(newest);
                    changes.received.push(*burn);
                }
            }
            if !changes.received.is_empty() {
                self.save(changes)?;
            }
            let floor = self.known().floor;
            match one_slot(&slots) {
                Some(slot) if slot >= floor => {
                    let known = self.known();
                    let received = inbound.iter().map(|b| known.received.contains(b)).collect();
                    return Ok((slot, supply, received));
                }
                _ => {
                    tracing::debug!(
                        ?slots,
                        floor,
                        "solana audit: reads at different slots; again"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
        Err(SolanaError::Invalid(format!(
            "could not read the mint and {} open claims at one finalized slot",
            inbound.len()
        )))
    }

    fn claim(&self, authority: &Pubkey, source: Domain, nonce: u64) -> Result<Pubkey, SolanaError> {
        claim_address(authority, source, nonce).map_err(|e| SolanaError::Invalid(e.to_string()))
    }

    fn supply_of(&self, mint: Option<Account>) -> Result<u64, SolanaError> {
        let account = mint.ok_or_else(|| {
            SolanaError::Invalid(format!(
                "the mint {} does not exist (at finalized)",
                self.mint
            ))
        })?;
        if account.owner != token_program() {
            return Err(SolanaError::Invalid(format!(
                "the mint {} is not an SPL Token account",
                self.mint
            )));
        }
        spl_token_interface::state::Mint::unpack(&account.data)
            .map(|m| m.supply)
            .map_err(|e| SolanaError::Invalid(format!("the mint {}: {e}", self.mint)))
    }

    /// Whether the burn counts as received given its claim accounts at one slot.
    async fn counts(
        &self,
        (source, nonce): (Domain, u64),
        state: &ClaimState,
    ) -> Result<bool, SolanaError> {
        if state.current.as_ref().is_some_and(|a| is_claimed(&a.owner)) {
            return Ok(true);
        }
        for (authority, account) in &state.retired {
            if !account.as_ref().is_some_and(|a| is_claimed(&a.owner)) {
                continue;
            }
            let claim = self.claim(authority, source, nonce)?;
            let decided = self.known().retired.get(&claim).copied();
            let minted = match decided {
                Some(minted) => minted,
                None => {
                    // The claim exists (it did at a finalized slot): its creating
                    // transaction decides.
                    let rule = ClaimRule::new(*authority, vec![], self.mint, self.multisig);
                    let minted = rule.claim_minted(&self.rpc, &claim, source, nonce).await?;
                    self.known().retired.insert(claim, minted);
                    minted
                }
            };
            if minted {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The burns of finalized transactions at slots ≤ `slot`: bridge burns, and (count,
    /// amount) burned outside the bridge.
    pub async fn read_burns(
        &self,
        slot: u64,
    ) -> Result<(Vec<OutboundBurn>, (usize, U256)), SolanaError> {
        let after = {
            let known = self.known();
            match known.scanned_through {
                Some(through) if through >= slot => {
                    if through > slot {
                        return Err(SolanaError::Invalid(format!(
                            "the pin (slot {slot}) is older than burns already read (to slot {through})"
                        )));
                    }
                    let through = known.scanned_through;
                    drop(known);
                    self.note(|r| r.through = through);
                    let known = self.known();
                    return Ok((known.bridge.clone(), known.outside));
                }
                through => through,
            }
        };
        let mut newest_first = Vec::new();
        let mut before = None;
        'pages: loop {
            let config = GetConfirmedSignaturesForAddress2Config {
                before,
                until: None,
                limit: Some(PAGE),
                commitment: Some(CommitmentConfig::finalized()),
            };
            let page = self
                .rpc
                .client()
                .get_signatures_for_address_with_config(&self.mint, config)
                .await
                .map_err(rpc("getSignaturesForAddress"))?;
            self.note(|r| r.log_queries += 1);
            let full = page.len() == PAGE;
            before = page
                .last()
                .and_then(|s| Signature::from_str(&s.signature).ok());
            for info in page {
                if after.is_some_and(|a| info.slot <= a) {
                    break 'pages;
                }
                if info.slot <= slot && info.err.is_none() {
                    newest_first.push(info);
                }
            }
            if !full || before.is_none() {
                break;
            }
        }
        let mut bridge = Vec::new();
        let mut outside = (0usize, U256::ZERO);
        let mut blocks: HashMap<u64, Vec<String>> = HashMap::new();
        for info in newest_first.iter().rev() {
            let signature = Signature::from_str(&info.signature)
                .map_err(|e| SolanaError::Invalid(e.to_string()))?;
            let tx = read_transaction(self.rpc.client(), &signature, CommitmentConfig::finalized())
                .await?;
            match judge(&tx, &self.mint, &self.evm_domains) {
                Burned::Nothing => {}
                Burned::Outside { amount, reason } => {
                    tracing::info!(signature = %info.signature, reason, %amount,
                        "solana audit: burned outside the bridge");
                    outside.0 += 1;
                    outside.1 += amount;
                }
                Burned::Bridge {
                    destination,
                    amount,
                } => {
                    if let std::collections::hash_map::Entry::Vacant(e) = blocks.entry(info.slot) {
                        e.insert(self.block_signatures(info.slot).await?);
                    }
                    let index = blocks[&info.slot]
                        .iter()
                        .position(|s| *s == info.signature)
                        .ok_or_else(|| {
                            SolanaError::Invalid(format!(
                                "{} is not in block {}",
                                info.signature, info.slot
                            ))
                        })?;
                    let nonce = solana_nonce(info.slot, index as u64)
                        .map_err(|e| SolanaError::Invalid(e.to_string()))?;
                    bridge.push(OutboundBurn {
                        destination,
                        nonce,
                        amount: U256::from(amount),
                    });
                }
            }
        }
        {
            let mut known = self.known();
            known.bridge.extend(bridge.iter().copied());
            known.outside.0 += outside.0;
            known.outside.1 += outside.1;
            known.scanned_through = Some(slot);
            known.floor = known.floor.max(slot);
        }
        self.save(Changes {
            received: vec![],
            bridge,
        })?;
        let first = after.map_or(0, |a| a + 1);
        self.note(|r| {
            r.through = Some(slot);
            if r.indexed {
                r.added = Some((first, slot));
            } else {
                r.unindexed = Some((first, slot));
            }
        });
        let known = self.known();
        Ok((known.bridge.clone(), known.outside))
    }

    /// The block's transaction signatures, in block order.
    async fn block_signatures(&self, slot: u64) -> Result<Vec<String>, SolanaError> {
        let config = RpcBlockConfig {
            encoding: None,
            transaction_details: Some(TransactionDetails::Signatures),
            rewards: Some(false),
            commitment: Some(CommitmentConfig::finalized()),
            max_supported_transaction_version: Some(0),
        };
        let block = self
            .rpc
            .client()
            .get_block_with_config(slot, config)
            .await
            .map_err(rpc("getBlock"))?;
        Ok(block.signatures.unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memo::BurnMemo;
    use crate::{memo_program, spl_memo_instruction};
    use usd1_core::B256;

    fn seen(ix: solana_sdk::instruction::Instruction) -> SeenInstruction {
        SeenInstruction {
            program: ix.program_id,
            accounts: ix.accounts.iter().map(|a| a.pubkey).collect(),
            data: ix.data,
        }
    }

    struct Fixture {
        mint: Pubkey,
        owner: Pubkey,
        account: Pubkey,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                mint: Pubkey::new_unique(),
                owner: Pubkey::new_unique(),
                account: Pubkey::new_unique(),
            }
        }

        fn burn(&self, amount: u64) -> SeenInstruction {
            seen(
                spl_token_interface::instruction::burn_checked(
                    &token_program(),
                    &self.account,
                    &self.mint,
                    &self.owner,
                    &[],
                    amount,
                    6,
                )
                .unwrap(),
            )
        }

        fn memo(&self, text: &str) -> SeenInstruction {
            let mut ix = seen(spl_memo_instruction(&memo_program(), text.as_bytes()));
            ix.accounts.push(self.owner);
            ix
        }

        fn tx(&self, instructions: Vec<SeenInstruction>, succeeded: bool) -> SeenTransaction {
            SeenTransaction {
                instructions,
                succeeded,
                block_time: 0,
                signers: vec![self.owner],
            }
        }
    }

    fn evm(domains: &[u32]) -> HashSet<Domain> {
        domains.iter().map(|&d| Domain(d)).collect()
    }

    fn burn_memo(domain: u32, recipient: B256) -> String {
        format!("usd1:burn:v1:{domain}:{}", hex::encode(recipient))
    }

    fn evm_recipient() -> B256 {
        let mut w = [0u8; 32];
        w[31] = 7;
        B256::from(w)
    }

    #[test]
    fn a_bridge_burn_is_judged_as_the_watcher_does() {
        let f = Fixture::new();
        let tx = f.tx(
            vec![f.burn(5), f.memo(&burn_memo(0, evm_recipient()))],
            true,
        );
        assert_eq!(
            judge(&tx, &f.mint, &evm(&[0, 6])),
            Burned::Bridge {
                destination: Domain(0),
                amount: 5
            }
        );
        // Toward a domain no EVM chain has: still a bridge burn (counted toward unknown).
        assert_eq!(
            judge(&tx, &f.mint, &evm(&[6])),
            Burned::Bridge {
                destination: Domain(0),
                amount: 5
            }
        );
    }

    #[test]
    fn burns_that_are_not_bridge_burns_are_outside_with_what_they_burned() {
        let f = Fixture::new();
        let domains = evm(&[0]);
        let no_memo = f.tx(vec![f.burn(3)], true);
        assert_eq!(
            judge(&no_memo, &f.mint, &domains),
            Burned::Outside {
                amount: U256::from(3u64),
                reason: "no_memo"
            }
        );
        let memo = f.memo(&burn_memo(0, evm_recipient()));
        let two = f.tx(vec![f.burn(3), f.burn(4), memo.clone()], true);
        assert_eq!(
            judge(&two, &f.mint, &domains),
            Burned::Outside {
                amount: U256::from(7u64),
                reason: "several_burns"
            }
        );
        // A 32-byte recipient toward an EVM chain is refused by the watcher.
        let solana_shaped = f.memo(&burn_memo(0, B256::repeat_byte(9)));
        let tx = f.tx(vec![f.burn(2), solana_shaped], true);
        assert!(matches!(
            judge(&tx, &f.mint, &domains),
            Burned::Outside { amount, .. } if amount == U256::from(2u64)
        ));
    }

    #[test]
    fn failed_transactions_and_other_mints_burn_nothing() {
        let f = Fixture::new();
        let domains = evm(&[0]);
        let failed = f.tx(vec![f.burn(3)], false);
        assert_eq!(judge(&failed, &f.mint, &domains), Burned::Nothing);
        let other = Fixture::new();
        let tx = f.tx(vec![other.burn(3)], true);
        assert_eq!(judge(&tx, &f.mint, &domains), Burned::Nothing);
        assert_eq!(burned(&[other.burn(3)], &f.mint), U256::ZERO);
        let memo = BurnMemo::parse(&burn_memo(0, evm_recipient())).unwrap();
        assert_eq!(memo.destination_domain, Domain(0));
    }

    #[test]
    fn burned_reads_burn_data_as_spl_token_does() {
        let f = Fixture::new();
        let mut plain = seen(
            spl_token_interface::instruction::burn(
                &token_program(),
                &f.account,
                &f.mint,
                &f.owner,
                &[],
                11,
            )
            .unwrap(),
        );
        assert_eq!(
            burned(&[plain.clone(), f.burn(4)], &f.mint),
            U256::from(15u64)
        );
        plain.data.push(0xff); // trailing bytes: SPL Token ignores them, so must we
        assert_eq!(burned(&[plain], &f.mint), U256::from(11u64));
    }

    #[test]
    fn reads_count_only_when_they_share_one_slot() {
        assert_eq!(one_slot(&[7, 7, 7]), Some(7));
        assert_eq!(one_slot(&[7]), Some(7));
        assert_eq!(one_slot(&[7, 8]), None);
        assert_eq!(one_slot(&[]), None);
    }

    fn account(owner: Pubkey) -> Option<Account> {
        Some(Account {
            lamports: 890_880,
            data: vec![],
            owner,
            executable: false,
            rent_epoch: 0,
        })
    }

    #[test]
    fn what_is_established_for_good_outlives_the_process() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("audit/solana").unwrap();
        let audit = SolanaAudit::new(
            "solana".into(),
            Domain::SOLANA,
            "http://127.0.0.1:9",
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            vec![],
            evm(&[0]),
        )
        .with_index(tree.clone());
        let burn = |nonce, amount: u64| OutboundBurn {
            destination: Domain(0),
            nonce,
            amount: U256::from(amount),
        };
        let retired_claim = Pubkey::new_unique();
        {
            let mut known = audit.known();
            known.received.insert((Domain(6), 9));
            known.retired.insert(retired_claim, true);
            known.floor = 120;
        }
        audit
            .save(Changes {
                received: vec![(Domain(6), 9)],
                bridge: vec![],
            })
            .unwrap();
        {
            let mut known = audit.known();
            known.bridge = vec![burn(100 << 20, 5), burn((110 << 20) | 3, 7)];
            known.outside = (2, U256::from(11u64));
            known.scanned_through = Some(120);
        }
        let bridge = audit.known().bridge.clone();
        audit
            .save(Changes {
                received: vec![],
                bridge,
            })
            .unwrap();
        assert_eq!(Known::load(&tree).unwrap(), *audit.known());
        assert_eq!(Known::load(&tree).unwrap().floor, 120);
    }

    #[tokio::test]
    async fn which_claims_count_as_received() {
        let (current, old) = (Pubkey::new_unique(), Pubkey::new_unique());
        let audit = SolanaAudit::new(
            "solana".into(),
            Domain::SOLANA,
            "http://127.0.0.1:9", // never called: every retired claim below is decided
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            current,
            vec![old],
            evm(&[0]),
        );
        let burn = (Domain(0), 42);
        let state = |c, r| ClaimState {
            current: c,
            retired: vec![(old, r)],
        };
        let system = solana_system_interface::program::ID;
        // Under the current authority: allocated to the Memo program.
        assert!(audit
            .counts(burn, &state(account(memo_program()), None))
            .await
            .unwrap());
        // Lamports sent to the address (still the System program's) are no claim.
        assert!(!audit
            .counts(burn, &state(account(system), None))
            .await
            .unwrap());
        assert!(!audit.counts(burn, &state(None, None)).await.unwrap());
        // Under a retired authority: only if its creating transaction minted.
        let old_claim = claim_address(&old, burn.0, burn.1).unwrap();
        audit.known().retired.insert(old_claim, false);
        assert!(
            !audit
                .counts(burn, &state(None, account(memo_program())))
                .await
                .unwrap(),
            "bare"
        );
        audit.known().retired.insert(old_claim, true);
        assert!(audit
            .counts(burn, &state(None, account(memo_program())))
            .await
            .unwrap());
        assert!(
            !audit.counts(burn, &state(None, None)).await.unwrap(),
            "not there at the pinned slot: not received there"
        );
    }
}
