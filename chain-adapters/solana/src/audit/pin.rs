//! The pin: the mint and every inbound burn's claim accounts read at one finalized slot.

use super::{rpc, Changes, SolanaAudit};
use crate::claim::{claim_address, is_claimed};
use crate::received::ClaimRule;
use crate::rpc::SolanaError;
use crate::token_program;
use solana_commitment_config::CommitmentConfig;
use solana_program_pack::Pack;
use solana_sdk::account::Account;
use solana_sdk::pubkey::Pubkey;
use std::collections::HashSet;
use usd1_core::audit::ChainReads;
use usd1_core::Domain;

/// Accounts per `getMultipleAccounts` call (the RPC's limit).
const MAX_ACCOUNTS: usize = 100;
/// Rounds of reads before giving up on one consistent slot for every claim still open.
const MAX_ROUNDS: usize = 30;

/// The one slot every read answered at, if they agree.
pub(super) fn one_slot(slots: &[u64]) -> Option<u64> {
    let first = *slots.first()?;
    slots.iter().all(|&s| s == first).then_some(first)
}

/// One burn's claim accounts at the pin.
pub(super) struct ClaimState {
    pub(super) current: Option<Account>,
    /// (retired authority, its claim account) for each retired authority.
    pub(super) retired: Vec<(Pubkey, Option<Account>)>,
}

impl SolanaAudit {
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
    pub(super) async fn counts(
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
}
