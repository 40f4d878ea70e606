//! Judging one transaction of the mint: what it took off the supply, and whether as a
//! bridge burn.

use crate::burn::{check_evm_shape, classify, SeenInstruction};
use crate::token_program;
use crate::transaction::SeenTransaction;
use solana_sdk::pubkey::Pubkey;
use spl_token_interface::instruction::TokenInstruction;
use std::collections::HashSet;
use usd1_core::{Domain, U256};

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
