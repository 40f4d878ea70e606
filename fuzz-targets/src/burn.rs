//! Recognising a Solana bridge burn in an arbitrary transaction (`usd1_solana::burn`): the
//! source watcher classifies every transaction that touches the bridge mint, and whoever
//! sends it chooses its instructions.
//!
//! Input: `flags ‖ slot (8) ‖ index (2) ‖ instruction*`, an instruction being
//! `program ‖ account count ‖ accounts ‖ data length ‖ data`. Programs and accounts are
//! picked from a small set of keys (the mint, the burner, the Token and Memo programs…), so
//! the fuzzer reaches burns of the bridge mint instead of guessing 32-byte keys; the data is
//! free.

use crate::reader::Reader;
use usd1_core::{Domain, Message, B256, U256};
use usd1_solana::burn::{burn_message, check_evm_shape, classify, SeenInstruction};
use usd1_solana::memo::BurnMemo;
use usd1_solana::{memo_program, token_program, Pubkey};

/// The first Memo program: a memo there counts too.
const MEMO_V1: Pubkey =
    usd1_solana::solana_sdk::pubkey!("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo");

fn mint() -> Pubkey {
    Pubkey::new_from_array([0x11; 32])
}

/// The keys instructions are made of: index by a byte, modulo the length.
fn key(i: u8) -> Pubkey {
    match i % 8 {
        0 => mint(),
        1 => Pubkey::new_from_array([0x22; 32]), // the burner
        2 => Pubkey::new_from_array([0x33; 32]), // someone else
        3 => token_program(),
        4 => memo_program(),
        5 => MEMO_V1,
        6 => usd1_solana::solana_system_interface::program::ID,
        _ => Pubkey::new_from_array([0x44; 32]), // another mint
    }
}

/// A transaction as the target reads it from fuzz bytes.
struct Input {
    instructions: Vec<SeenInstruction>,
    succeeded: bool,
    signers: Vec<Pubkey>,
    slot: u64,
    index: u64,
}

fn read(data: &[u8]) -> Input {
    let mut r = Reader::new(data);
    let flags = r.byte();
    // Bits 1–3: which of the burner, someone else and the mint signed.
    let signers = [1u8, 2, 0]
        .iter()
        .enumerate()
        .filter(|(bit, _)| flags & (2 << bit) != 0)
        .map(|(_, &k)| key(k))
        .collect();
    let slot = r.u64();
    let index = u64::from(r.u16());
    let mut instructions = Vec::new();
    while !r.is_empty() {
        let program = key(r.byte());
        let n = usize::from(r.byte() % 8);
        let accounts = (0..n).map(|_| key(r.byte())).collect();
        let len = usize::from(r.byte());
        instructions.push(SeenInstruction {
            program,
            accounts,
            data: r.bytes(len).to_vec(),
        });
    }
    Input {
        instructions,
        succeeded: flags & 1 == 0,
        signers,
        slot,
        index,
    }
}

pub fn solana_burn(data: &[u8]) {
    let Input {
        instructions,
        succeeded,
        signers,
        slot,
        index,
    } = read(data);
    let Ok(Some(burn)) = classify(&instructions, succeeded, &signers, &mint()) else {
        return;
    };
    // What the rule promises of a bridge burn.
    assert!(succeeded, "a failed transaction is never a bridge burn");
    assert!(burn.amount > 0);
    assert!(signers.contains(&burn.authority), "the burner signed");
    let memos: Vec<&SeenInstruction> = instructions
        .iter()
        .filter(|ix| ix.program == memo_program() || ix.program == MEMO_V1)
        .collect();
    assert_eq!(memos.len(), 1, "exactly one memo");
    assert!(memos[0].accounts.contains(&burn.authority));
    let text = std::str::from_utf8(&memos[0].data).ok();
    assert_eq!(text.map(BurnMemo::parse), Some(Ok(burn.memo)));
    let _ = check_evm_shape(&burn.memo);

    // The message it becomes round-trips and carries the burn.
    let Ok(message) = burn_message(&burn, &mint(), slot, index, B256::repeat_byte(0x55)) else {
        return;
    };
    assert_eq!(message.source_domain, Domain::SOLANA);
    assert_eq!(Message::decode(&message.encode()).as_ref(), Ok(&message));
    let body = message.burn_body().ok();
    assert_eq!(body.map(|b| b.amount), Some(U256::from(burn.amount)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_are_bridge_burns() {
        for (target, name, data) in crate::seeds::seeds() {
            if target != "solana_burn" {
                continue;
            }
            let t = read(&data);
            let burn = classify(&t.instructions, t.succeeded, &t.signers, &mint());
            assert!(
                matches!(burn, Ok(Some(b)) if b.amount == 1_000_000),
                "{name}: {burn:?}"
            );
        }
    }
}
