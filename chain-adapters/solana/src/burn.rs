//! The bridge-burn rule for Solana as a source (DESIGN §4): one successful transaction with
//! exactly one `Burn`/`BurnChecked` of the bridge mint and exactly one memo
//! `usd1:burn:v1:…`. Anything else that burns the mint is not a bridge burn: it gets a reason
//! (a bounded metric label) and is never attested. The message it becomes:
//! `sender` = `burnToken` = the mint, `messageSender` = the burn's authority, `recipient` =
//! the destination's registered TokenMessenger, `amount` = the burned amount.

use crate::memo::{BurnMemo, MemoError};
use crate::nonce::{solana_nonce, NonceError};
use crate::{memo_program, token_program};
use solana_sdk::pubkey::Pubkey;
use usd1_core::{BurnBody, Domain, Message, B256, U256};

/// SPL Token instruction tags.
const BURN: u8 = 8;
const BURN_CHECKED: u8 = 15;

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
}

impl NotBridgeBurn {
    pub fn label(self) -> &'static str {
        match self {
            Self::FailedTransaction => "failed_tx",
            Self::SeveralBurns => "several_burns",
            Self::NoMemo => "no_memo",
            Self::SeveralMemos => "several_memos",
            Self::BadMemo(e) => e.label(),
            Self::MemoNotUtf8 => "memo_not_utf8",
        }
    }
}

/// `Ok(None)`: the transaction does not burn the mint (nothing to say about it).
pub fn classify(
    instructions: &[SeenInstruction],
    succeeded: bool,
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
    let memo = match memos.as_slice() {
        [] => return Err(NotBridgeBurn::NoMemo),
        [one] => one,
        _ => return Err(NotBridgeBurn::SeveralMemos),
    };
    let text = std::str::from_utf8(&memo.data).map_err(|_| NotBridgeBurn::MemoNotUtf8)?;
    let memo = BurnMemo::parse(text).map_err(NotBridgeBurn::BadMemo)?;
    let (amount, authority) = burns[0];
    Ok(Some(BridgeBurn {
        amount,
        authority,
        memo,
    }))
}

/// (amount, authority) when `ix` is a Burn/BurnChecked of `mint`.
fn burn_of(ix: &SeenInstruction, mint: &Pubkey) -> Option<(u64, Pubkey)> {
    if ix.program != token_program() {
        return None;
    }
    let (&tag, rest) = ix.data.split_first()?;
    let well_formed = match tag {
        BURN => rest.len() == 8,
        BURN_CHECKED => rest.len() == 9,
        _ => return None,
    };
    if !well_formed || ix.accounts.get(1) != Some(mint) {
        return None;
    }
    let amount = u64::from_le_bytes(rest[..8].try_into().ok()?);
    Some((amount, *ix.accounts.get(2)?))
}

/// Both Memo program versions count: a memo is a memo.
fn is_memo(program: &Pubkey) -> bool {
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
