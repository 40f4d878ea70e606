//! The bridge-burn rule for Solana as a source (DESIGN §4): one successful transaction with
//! exactly one `Burn`/`BurnChecked` of the bridge mint and exactly one memo
//! `usd1:burn:v1:…`. Anything else that burns the mint is not a bridge burn: it gets a reason
//! (a bounded metric label) and is never attested. The message it becomes:
//! `sender` = `burnToken` = the mint, `messageSender` = the burn's authority, `recipient` =
//! the destination's registered TokenMessenger, `amount` = the burned amount.
//!
//! A bridge burn also needs `amount > 0`, the burn's authority among the memo instruction's
//! accounts (SPL Memo's signers) and among the transaction's signers, and — checked by the
//! watcher, which knows the destination is an EVM chain — a recipient (and a non-zero
//! destination caller) of EVM shape. Burn data is parsed exactly as SPL Token parses it
//! (`TokenInstruction::unpack`: trailing bytes ignored), so no burn the program accepts is
//! missed.

use crate::memo::{BurnMemo, MemoError};
use crate::nonce::{solana_nonce, NonceError};
use crate::{memo_program, token_program};
use solana_sdk::pubkey::Pubkey;
use spl_token_interface::instruction::TokenInstruction;
use usd1_core::{BurnBody, Domain, Message, B256, U256};

/// One instruction of a transaction (top-level or inner), accounts resolved to keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenInstruction {
    pub program: Pubkey,
    pub accounts: Vec<Pubkey>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeBurn {
    pub amount: u64,
    pub authority: Pubkey,
    pub memo: BurnMemo,
}

/// Why a transaction that burns the bridge mint is not a bridge burn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotBridgeBurn {
    FailedTransaction,
    SeveralBurns,
    NoMemo,
    SeveralMemos,
    BadMemo(MemoError),
    MemoNotUtf8,
    /// A burn of 0: nothing to mint.
    ZeroAmount,
    /// The burn's authority did not sign the memo (it is not among the memo instruction's
    /// accounts, or not a signer of the transaction): someone else chose the recipient.
    MemoNotSignedByOwner,
    /// Toward an EVM chain, a recipient that is not a 20-byte address (12 zero high bytes,
    /// non-zero address): nothing could ever be minted to it.
    BadRecipientShape,
    /// Toward an EVM chain, a non-zero destination caller that is not a 20-byte address.
    BadCallerShape,
}

/// The rejection labels whose metric series exist from the start (a bad memo's labels appear
/// when first seen), with the watcher's own `unknown_destination`.
pub const REJECTION_REASONS: &[&str] = &[
    "failed_tx",
    "several_burns",
    "no_memo",
    "several_memos",
    "memo_not_utf8",
    "zero_amount",
    "memo_not_signed_by_owner",
    "bad_recipient_shape",
    "bad_caller_shape",
    "unknown_destination",
];

impl NotBridgeBurn {
    pub fn label(self) -> &'static str {
        match self {
            Self::FailedTransaction => "failed_tx",
            Self::SeveralBurns => "several_burns",
            Self::NoMemo => "no_memo",
            Self::SeveralMemos => "several_memos",
            Self::BadMemo(e) => e.label(),
            Self::MemoNotUtf8 => "memo_not_utf8",
            Self::ZeroAmount => "zero_amount",
            Self::MemoNotSignedByOwner => "memo_not_signed_by_owner",
            Self::BadRecipientShape => "bad_recipient_shape",
            Self::BadCallerShape => "bad_caller_shape",
        }
    }
}

/// `Ok(None)`: the transaction does not burn the mint (nothing to say about it). `signers`:
/// the keys that signed the transaction.
pub fn classify(
    instructions: &[SeenInstruction],
    succeeded: bool,
    signers: &[Pubkey],
    mint: &Pubkey,
) -> Result<Option<BridgeBurn>, NotBridgeBurn> {
    let burns: Vec<(u64, Pubkey)> = instructions
        .iter()
        .filter_map(|ix| burn_of(ix, mint))
        .collect();
    if burns.is_empty() {
        return Ok(None);
    }
    if !succeeded {
        return Err(NotBridgeBurn::FailedTransaction);
    }
    if burns.len() > 1 {
        return Err(NotBridgeBurn::SeveralBurns);
    }
    let memos: Vec<&SeenInstruction> = instructions
        .iter()
        .filter(|ix| is_memo(&ix.program))
        .collect();
    let memo_ix = match memos.as_slice() {
        [] => return Err(NotBridgeBurn::NoMemo),
        [one] => *one,
        _ => return Err(NotBridgeBurn::SeveralMemos),
    };
    let text = std::str::from_utf8(&memo_ix.data).map_err(|_| NotBridgeBurn::MemoNotUtf8)?;
    let memo = BurnMemo::parse(text).map_err(NotBridgeBurn::BadMemo)?;
    let (amount, authority) = burns[0];
    if amount == 0 {
        return Err(NotBridgeBurn::ZeroAmount);
    }
    // SPL Memo requires every account it lists to have signed; inner instructions carry no
    // signer flags, so the authority must also be one of the transaction's own signers.
    if !memo_ix.accounts.contains(&authority) || !signers.contains(&authority) {
        return Err(NotBridgeBurn::MemoNotSignedByOwner);
    }
    Ok(Some(BridgeBurn {
        amount,
        authority,
        memo,
    }))
}

/// (amount, authority) when `ix` is a Burn/BurnChecked of `mint`, its data read the way the
/// SPL Token program reads it (trailing bytes ignored).
fn burn_of(ix: &SeenInstruction, mint: &Pubkey) -> Option<(u64, Pubkey)> {
    if ix.program != token_program() {
        return None;
    }
    let amount = match TokenInstruction::unpack(&ix.data).ok()? {
        TokenInstruction::Burn { amount } | TokenInstruction::BurnChecked { amount, .. } => amount,
        _ => return None,
    };
    if ix.accounts.get(1) != Some(mint) {
        return None;
    }
    Some((amount, *ix.accounts.get(2)?))
}

/// A 32-byte word holding an EVM address: 12 zero high bytes, a non-zero address.
fn is_evm_address(word: &B256) -> bool {
    word[..12].iter().all(|&b| b == 0) && word[12..].iter().any(|&b| b != 0)
}

/// The memo's fields fit an EVM destination: the recipient is an address, and so is the
/// destination caller when one is set.
pub fn check_evm_shape(memo: &BurnMemo) -> Result<(), NotBridgeBurn> {
    if !is_evm_address(&memo.mint_recipient) {
        return Err(NotBridgeBurn::BadRecipientShape);
    }
    if !memo.destination_caller.is_zero() && !is_evm_address(&memo.destination_caller) {
        return Err(NotBridgeBurn::BadCallerShape);
    }
    Ok(())
}

/// Both Memo program versions count: a memo is a memo.
pub(crate) fn is_memo(program: &Pubkey) -> bool {
    *program == memo_program() || *program == spl_memo_interface::v1::ID
}

/// The CCTP v1 message of a bridge burn at (slot, index in block).
pub fn burn_message(
    burn: &BridgeBurn,
    mint: &Pubkey,
    slot: u64,
    tx_index: u64,
    destination_messenger: B256,
) -> Result<Message, NonceError> {
    let mint_word = B256::from(mint.to_bytes());
    let body = BurnBody {
        version: 0,
        burn_token: mint_word,
        mint_recipient: burn.memo.mint_recipient,
        amount: U256::from(burn.amount),
        message_sender: B256::from(burn.authority.to_bytes()),
    };
    Ok(Message {
        version: 0,
        source_domain: Domain::SOLANA,
        destination_domain: burn.memo.destination_domain,
        nonce: solana_nonce(slot, tx_index)?,
        sender: mint_word,
        recipient: destination_messenger,
        destination_caller: burn.memo.destination_caller,
        body: body.encode(),
    })
}

#[cfg(test)]
mod tests;
