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
    ChainSupply, ForeignBurns, ForeignChain, ForeignPin, Height, OutboundBurn, OutsideBridge,
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
#[derive(Default)]
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
        }
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
            for (burn, state) in &states {
                if self.counts(*burn, state).await? {
                    let mut known = self.known();
                    known.received.insert(*burn);
                    known.floor = known.floor.max(newest);
                }
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
        let mut known = self.known();
        known.bridge.extend(bridge);
        known.outside.0 += outside.0;
        known.outside.1 += outside.1;
        known.scanned_through = Some(slot);
        known.floor = known.floor.max(slot);
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
