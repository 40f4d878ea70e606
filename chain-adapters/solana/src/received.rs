//! "Was (source domain, nonce) received on Solana?" (DESIGN §4), asked by the relayer before
//! delivering, by each attester before co-signing, and by the supply audit.
//!
//! - Under the **current** claim authority: its claim account exists and belongs to the Memo
//!   program (a bare claim counts: only our own relayers hold that key).
//! - Under a **retired** authority: only if the transaction that created the claim also ran
//!   the canonical `MintToChecked` of the bridge mint with the mint memo naming that (source,
//!   nonce). A leaked old key can create bare claims; those must not freeze messages forever.
//!   A mint needs `m` attester co-signatures, so a claim that counts cannot be forged.
//!
//! The creating transaction is the one successful transaction among the claim's signatures
//! that assigns it an owner (an allocation can succeed once; transfers of lamports to the
//! address, before or after, do not). Once found, the answer never changes, so it is cached.

use crate::burn::{is_memo, SeenInstruction};
use crate::claim::claim_address;
use crate::rpc::{SolanaError, SolanaRpc};
use crate::token_program;
use crate::transaction::read_instructions;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signature;
use solana_system_interface::instruction::SystemInstruction;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use usd1_core::Domain;

/// SPL Token's `MintToChecked` tag.
const MINT_TO_CHECKED: u8 = 14;
const PAGE: usize = 1000;
/// How many signatures of one claim address are read at most to find its creator. Each costs
/// the sender a fee; past this the answer is an error (retried), never a guess.
const MAX_CLAIM_SIGNATURES: usize = 20 * PAGE;

/// The claim authorities and the mint that decide what counts as received.
pub struct ClaimRule {
    pub current: Pubkey,
    pub retired: Vec<Pubkey>,
    pub mint: Pubkey,
    pub multisig: Pubkey,
    /// Retired claim address → whether its creating transaction minted (final once known).
    decided: Mutex<HashMap<Pubkey, bool>>,
}

impl ClaimRule {
    pub fn new(current: Pubkey, retired: Vec<Pubkey>, mint: Pubkey, multisig: Pubkey) -> Self {
        Self {
            current,
            retired,
            mint,
            multisig,
            decided: Mutex::new(HashMap::new()),
        }
    }

    /// Whether (source, nonce) counts as received, at `confirmed`.
    pub async fn received(
        &self,
        rpc: &SolanaRpc,
        source: Domain,
        nonce: u64,
    ) -> Result<bool, SolanaError> {
        let claim = address(&self.current, source, nonce)?;
        if rpc.owned_by_memo(&claim).await? {
            return Ok(true);
        }
        for authority in &self.retired {
            let claim = address(authority, source, nonce)?;
            let counts = match self.cached(&claim) {
                Some(minted) => minted,
                None if !rpc.owned_by_memo(&claim).await? => continue,
                None => self.claim_minted(rpc, &claim, source, nonce).await?,
            };
            if counts {
                return Ok(true);
            }
            tracing::warn!(%claim, %authority, source = source.0, nonce,
                "a bare claim under a retired claim authority: it does not count");
        }
        Ok(false)
    }

    /// Whether the transaction that created the existing claim account `claim` minted
    /// (source, nonce) canonically: what makes a claim under a retired authority count.
    /// Final once known, so cached.
    pub async fn claim_minted(
        &self,
        rpc: &SolanaRpc,
        claim: &Pubkey,
        source: Domain,
        nonce: u64,
    ) -> Result<bool, SolanaError> {
        if let Some(minted) = self.cached(claim) {
            return Ok(minted);
        }
        let minted = self.creator_minted(rpc, claim, source, nonce).await?;
        self.decided
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(*claim, minted);
        Ok(minted)
    }

    fn cached(&self, claim: &Pubkey) -> Option<bool> {
        let decided = self.decided.lock().unwrap_or_else(|p| p.into_inner());
        decided.get(claim).copied()
    }

    /// Whether the transaction that allocated `claim` minted (source, nonce) canonically.
    async fn creator_minted(
        &self,
        rpc: &SolanaRpc,
        claim: &Pubkey,
        source: Domain,
        nonce: u64,
    ) -> Result<bool, SolanaError> {
        let oldest_first = claim_signatures(rpc, claim).await?;
        for signature in oldest_first {
            let (instructions, succeeded, _) =
                read_instructions(rpc.client(), &signature, CommitmentConfig::confirmed()).await?;
            if !succeeded || !instructions.iter().any(|ix| assigns_owner(ix, claim)) {
                continue;
            }
            return Ok(minted(
                &instructions,
                &self.mint,
                &self.multisig,
                source,
                nonce,
            ));
        }
        Err(SolanaError::Invalid(format!(
            "claim {claim} exists but no transaction that created it was found"
        )))
    }
}

fn address(authority: &Pubkey, source: Domain, nonce: u64) -> Result<Pubkey, SolanaError> {
    claim_address(authority, source, nonce).map_err(|e| SolanaError::Invalid(e.to_string()))
}

/// The successful signatures of `claim`, oldest first.
async fn claim_signatures(rpc: &SolanaRpc, claim: &Pubkey) -> Result<Vec<Signature>, SolanaError> {
    let mut newest_first = Vec::new();
    let mut before = None;
    loop {
        let config = GetConfirmedSignaturesForAddress2Config {
            before,
            until: None,
            limit: Some(PAGE),
            commitment: Some(CommitmentConfig::confirmed()),
        };
        let page = rpc
            .client()
            .get_signatures_for_address_with_config(claim, config)
            .await
            .map_err(|e| SolanaError::Rpc {
                method: "getSignaturesForAddress",
                detail: e.to_string(),
            })?;
        let full = page.len() == PAGE;
        before = page
            .last()
            .and_then(|s| Signature::from_str(&s.signature).ok());
        newest_first.extend(
            page.into_iter()
                .filter(|s| s.err.is_none())
                .filter_map(|s| Signature::from_str(&s.signature).ok()),
        );
        if newest_first.len() > MAX_CLAIM_SIGNATURES {
            return Err(SolanaError::Invalid(format!(
                "more than {MAX_CLAIM_SIGNATURES} transactions touch claim {claim}"
            )));
        }
        if !full || before.is_none() {
            break;
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// A System instruction that gives `claim` an owner (what makes it a claim).
fn assigns_owner(ix: &SeenInstruction, claim: &Pubkey) -> bool {
    if ix.program != solana_system_interface::program::ID {
        return false;
    }
    let Ok(decoded) = bincode::deserialize::<SystemInstruction>(&ix.data) else {
        return false;
    };
    let target = match decoded {
        SystemInstruction::CreateAccount { .. }
        | SystemInstruction::CreateAccountWithSeed { .. } => ix.accounts.get(1),
        SystemInstruction::Assign { .. }
        | SystemInstruction::AssignWithSeed { .. }
        | SystemInstruction::Allocate { .. }
        | SystemInstruction::AllocateWithSeed { .. } => ix.accounts.first(),
        _ => None,
    };
    target == Some(claim)
}

/// Whether the instructions hold the canonical `MintToChecked` of the bridge mint (authority
/// the multisig) and the mint memo naming (source, nonce).
fn minted(
    instructions: &[SeenInstruction],
    mint: &Pubkey,
    multisig: &Pubkey,
    source: Domain,
    nonce: u64,
) -> bool {
    let mints = instructions.iter().any(|ix| {
        ix.program == token_program()
            && ix.data.first() == Some(&MINT_TO_CHECKED)
            && ix.accounts.first() == Some(mint)
            && ix.accounts.get(2) == Some(multisig)
    });
    let prefix = format!("usd1:mint:v1:{}:{nonce}:", source.0);
    let memo = instructions.iter().any(|ix| {
        is_memo(&ix.program)
            && std::str::from_utf8(&ix.data).is_ok_and(|text| text.starts_with(&prefix))
    });
    mints && memo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memo::mint_memo;
    use usd1_core::B256;

    fn ix(program: Pubkey, accounts: Vec<Pubkey>, data: Vec<u8>) -> SeenInstruction {
        SeenInstruction {
            program,
            accounts,
            data,
        }
    }

    #[test]
    fn allocation_of_the_claim_is_what_creates_it() {
        let (claim, base, other) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        let alloc = solana_system_interface::instruction::allocate_with_seed(
            &claim,
            &base,
            "seed",
            0,
            &crate::memo_program(),
        );
        let seen = ix(
            alloc.program_id,
            alloc.accounts.iter().map(|a| a.pubkey).collect(),
            alloc.data,
        );
        assert!(assigns_owner(&seen, &claim));
        assert!(!assigns_owner(&seen, &other));
        let transfer = solana_system_interface::instruction::transfer(&other, &claim, 1);
        let seen = ix(
            transfer.program_id,
            transfer.accounts.iter().map(|a| a.pubkey).collect(),
            transfer.data,
        );
        assert!(!assigns_owner(&seen, &claim), "funding is not creating");
    }

    #[test]
    fn a_mint_counts_only_with_the_bridge_mint_multisig_and_the_memo_of_that_nonce() {
        let (mint, multisig, ata) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        let mint_ix = ix(
            token_program(),
            vec![mint, ata, multisig],
            vec![MINT_TO_CHECKED, 1, 0, 0, 0, 0, 0, 0, 0, 6],
        );
        let memo = |nonce| {
            ix(
                crate::memo_program(),
                vec![],
                mint_memo(Domain(0), nonce, &B256::repeat_byte(1)).into_bytes(),
            )
        };
        assert!(minted(
            &[mint_ix.clone(), memo(7)],
            &mint,
            &multisig,
            Domain(0),
            7
        ));
        assert!(
            !minted(&[mint_ix.clone(), memo(8)], &mint, &multisig, Domain(0), 7),
            "other nonce"
        );
        assert!(
            !minted(&[mint_ix.clone(), memo(7)], &mint, &multisig, Domain(6), 7),
            "other source"
        );
        assert!(
            !minted(&[memo(7)], &mint, &multisig, Domain(0), 7),
            "a bare claim"
        );
        assert!(
            !minted(
                &[mint_ix, memo(7)],
                &Pubkey::new_unique(),
                &multisig,
                Domain(0),
                7
            ),
            "other mint"
        );
    }
}
