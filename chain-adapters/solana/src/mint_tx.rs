//! The canonical mint transaction of a message (DESIGN §4), built the same way by the relayer
//! (to submit it) and by each attester (to check a transaction before co-signing it):
//!
//! 1. `Transfer` of the rent-exempt minimum from the payer to the claim address, then
//! 2. `AllocateWithSeed` of the claim address (base = claim authority, seed = source domain and
//!    nonce, space 0, owner = Memo): a second mint of the (source, nonce) — the same message or
//!    any replacement of it — fails here, so the whole transaction fails;
//! 3. `CreateIdempotent` of the recipient wallet's associated token account;
//! 4. `MintToChecked` of the amount, authority = the multisig, signed by `m` attesters in
//!    ascending key order;
//! 5. the memo `usd1:mint:v1:<sourceDomain>:<nonce>:<message_hash>`.
//!
//! Any fee payer and any recent blockhash are fine; everything else is fixed by the message.

use crate::claim::{claim_address, claim_seed};
use crate::memo::mint_memo;
use crate::{memo_program, token_program};
use solana_sdk::hash::Hash;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::Message as SolanaMessage;
use solana_sdk::pubkey::Pubkey;
use thiserror::Error;
use usd1_core::{Message, U256, USD1_DECIMALS};

/// Index of `MintToChecked` among the instructions; its accounts after the first three
/// (mint, token account, multisig) are the signers.
const MINT_IX: usize = 3;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MintTxError {
    #[error("not a burn message: {0}")]
    NotBurn(String),
    #[error("amount {0} does not fit a Solana token amount (u64)")]
    AmountTooLarge(U256),
    #[error("bad claim seed: {0}")]
    Claim(String),
    #[error("bad instruction: {0}")]
    Instruction(String),
    #[error("signer set: {0}")]
    Signers(String),
    #[error("the transaction is not the canonical mint of this message")]
    NotCanonical,
    #[error("not a legacy transaction message: {0}")]
    Malformed(String),
    #[error("{0} bytes follow the transaction message: only its exact bytes are signed")]
    TrailingBytes(usize),
}

/// What fixes a message's mint transaction, besides the payer and the blockhash.
#[derive(Debug, Clone)]
pub struct MintParams<'a> {
    pub message: &'a Message,
    pub mint: Pubkey,
    pub multisig: Pubkey,
    pub claim_authority: Pubkey,
    /// The rent-exempt minimum of a 0-byte account, as the cluster reports it.
    pub rent_exempt_lamports: u64,
}

/// The canonical transaction message, signed by `signers` (sorted here, so any order given
/// yields the same bytes).
pub fn canonical_mint_message(
    p: &MintParams<'_>,
    signers: &[Pubkey],
    payer: &Pubkey,
    blockhash: Hash,
) -> Result<SolanaMessage, MintTxError> {
    let body = p
        .message
        .burn_body()
        .map_err(|e| MintTxError::NotBurn(e.to_string()))?;
    if body.amount > U256::from(u64::MAX) {
        return Err(MintTxError::AmountTooLarge(body.amount));
    }
    let amount = body.amount.to::<u64>();
    let wallet = Pubkey::new_from_array(body.mint_recipient.0);
    let hash = p.message.hash();
    let (source, nonce) = (p.message.source_domain, p.message.nonce);
    let claim = claim_address(&p.claim_authority, source, nonce)
        .map_err(|e| MintTxError::Claim(e.to_string()))?;
    let mut signers = signers.to_vec();
    signers.sort();
    let signer_refs: Vec<&Pubkey> = signers.iter().collect();
    let ata = spl_associated_token_account_interface::address::get_associated_token_address_with_program_id(
        &wallet,
        &p.mint,
        &token_program(),
    );

    let instructions: Vec<Instruction> = vec![
        solana_system_interface::instruction::transfer(payer, &claim, p.rent_exempt_lamports),
        solana_system_interface::instruction::allocate_with_seed(
            &claim,
            &p.claim_authority,
            &claim_seed(source, nonce),
            0,
            &memo_program(),
        ),
        spl_associated_token_account_interface::instruction::create_associated_token_account_idempotent(
            payer,
            &wallet,
            &p.mint,
            &token_program(),
        ),
        spl_token_interface::instruction::mint_to_checked(
            &token_program(),
            &p.mint,
            &ata,
            &p.multisig,
            &signer_refs,
            amount,
            USD1_DECIMALS as u8,
        )
        .map_err(|e| MintTxError::Instruction(e.to_string()))?,
        spl_memo_interface::instruction::build_memo(
            &memo_program(),
            mint_memo(p.message.source_domain, p.message.nonce, &hash).as_bytes(),
            &[],
        ),
    ];
    Ok(SolanaMessage::new_with_blockhash(
        &instructions,
        Some(payer),
        &blockhash,
    ))
}

/// The signers a candidate transaction's `MintToChecked` names.
pub fn mint_signers(candidate: &SolanaMessage) -> Result<Vec<Pubkey>, MintTxError> {
    let ix = candidate
        .instructions
        .get(MINT_IX)
        .ok_or_else(|| MintTxError::Instruction("no MintToChecked at position 4".into()))?;
    ix.accounts
        .iter()
        .skip(3)
        .map(|&i| candidate.account_keys.get(i as usize).copied())
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| MintTxError::Instruction("account index out of range".into()))
}

/// What an attester checks before co-signing `candidate`: it names `m` distinct signers, in
/// ascending order, all of them multisig members and one of them `me`; and it is, byte for
/// byte, the canonical mint of the message for its own payer and blockhash.
pub fn check_canonical(
    candidate: &SolanaMessage,
    p: &MintParams<'_>,
    members: &[Pubkey],
    m: usize,
    me: &Pubkey,
) -> Result<(), MintTxError> {
    canonical_of(candidate, p, members, m, me).map(|_| ())
}

/// `check_canonical` on the bytes a relayer sent: they must decode to a transaction message
/// that passes it and be, byte for byte, that canonical message — nothing before, after or
/// encoded otherwise. Returns the decoded candidate and the rebuilt canonical bytes (the
/// only bytes an attester signs).
pub fn check_canonical_bytes(
    raw: &[u8],
    p: &MintParams<'_>,
    members: &[Pubkey],
    m: usize,
    me: &Pubkey,
) -> Result<(SolanaMessage, Vec<u8>), MintTxError> {
    // bincode 1 stops at the end of the value and ignores what follows.
    let candidate: SolanaMessage =
        bincode::deserialize(raw).map_err(|e| MintTxError::Malformed(e.to_string()))?;
    let canonical = canonical_of(&candidate, p, members, m, me)?.serialize();
    if canonical.as_slice() != raw {
        return Err(match raw.strip_prefix(canonical.as_slice()) {
            Some(rest) => MintTxError::TrailingBytes(rest.len()),
            None => MintTxError::NotCanonical,
        });
    }
    Ok((candidate, canonical))
}

/// The canonical message `candidate` must equal (checked here).
fn canonical_of(
    candidate: &SolanaMessage,
    p: &MintParams<'_>,
    members: &[Pubkey],
    m: usize,
    me: &Pubkey,
) -> Result<SolanaMessage, MintTxError> {
    let signers = mint_signers(candidate)?;
    if signers.len() != m {
        return Err(MintTxError::Signers(format!(
            "{} signers, the multisig needs {m}",
            signers.len()
        )));
    }
    if signers.windows(2).any(|w| w[0] >= w[1]) {
        return Err(MintTxError::Signers(
            "signers are not distinct and in ascending order".into(),
        ));
    }
    if let Some(outsider) = signers.iter().find(|s| !members.contains(s)) {
        return Err(MintTxError::Signers(format!(
            "{outsider} is not a multisig signer"
        )));
    }
    if !signers.contains(me) {
        return Err(MintTxError::Signers(
            "this attester is not among the signers".into(),
        ));
    }
    let payer = candidate
        .account_keys
        .first()
        .ok_or_else(|| MintTxError::Instruction("no fee payer".into()))?;
    let expected = canonical_mint_message(p, &signers, payer, candidate.recent_blockhash)?;
    if expected.serialize() != candidate.serialize() {
        return Err(MintTxError::NotCanonical);
    }
    Ok(expected)
}

/// Wire size of the signed legacy transaction: signatures (short-vec length + 64 bytes each)
/// and the message. Solana's limit is 1,232 bytes.
pub fn signed_size(message: &SolanaMessage) -> usize {
    let n = message.header.num_required_signatures as usize;
    let len_prefix = if n < 0x80 { 1 } else { 2 };
    len_prefix + 64 * n + message.serialize().len()
}

/// An attester's co-signature: ed25519 over the transaction message's bytes.
pub fn cosign(
    message: &solana_sdk::message::Message,
    key: &solana_sdk::signature::Keypair,
) -> solana_sdk::signature::Signature {
    solana_sdk::signature::Signer::sign_message(key, &message.serialize())
}

/// Puts `signature` by `signer` in its place in the transaction. Returns false when
/// `signer` is not one of the transaction's signers.
pub fn attach(
    tx: &mut solana_sdk::transaction::Transaction,
    signer: &solana_sdk::pubkey::Pubkey,
    signature: solana_sdk::signature::Signature,
) -> bool {
    let n = tx.message.header.num_required_signatures as usize;
    match tx
        .message
        .account_keys
        .iter()
        .take(n)
        .position(|k| k == signer)
    {
        Some(i) => {
            tx.signatures[i] = signature;
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
