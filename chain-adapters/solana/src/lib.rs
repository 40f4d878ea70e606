//! Solana for usd1-bridge without a program of ours (DESIGN §4): the SPL Token program is
//! the verifier (the mint's authority is an SPL multisig of the attesters' ed25519 keys), and
//! a claim account owned by the Memo program is the on-chain "received" record.
//!
//! This crate holds what the relayer and the attester must derive identically: claim
//! addresses, the burn and mint memos, the source nonce, and the canonical mint transaction
//! together with the byte-for-byte check an attester runs before co-signing one.

pub mod audit;
pub mod burn;
pub mod claim;
pub mod conf;
pub mod connect;
pub mod cosign_verify;
pub mod destination;
pub mod memo;
pub mod mint_tx;
pub mod nonce;
pub mod received;
pub mod rpc;
pub mod transaction;
pub mod watcher;

pub use solana_program_pack;
pub use solana_sdk;
pub use solana_sdk::pubkey::Pubkey;
pub use solana_system_interface;
pub use spl_token_interface;

/// The Memo program: owner of claim accounts, and the memos' program.
pub fn memo_program() -> Pubkey {
    spl_memo_interface::v3::ID
}

/// The SPL Token program (the bridge mint is a classic SPL Token mint).
pub fn token_program() -> Pubkey {
    spl_token_interface::ID
}

/// A memo instruction (no signers).
pub fn spl_memo_instruction(program: &Pubkey, memo: &[u8]) -> solana_sdk::instruction::Instruction {
    spl_memo_interface::instruction::build_memo(program, memo, &[])
}

/// The wallet's associated token account of `mint` (SPL Token).
pub fn associated_token_address(wallet: &Pubkey, mint: &Pubkey) -> Pubkey {
    spl_associated_token_account_interface::address::get_associated_token_address(wallet, mint)
}

/// `CreateIdempotent` of the wallet's associated token account.
pub fn create_ata_idempotent(
    payer: &Pubkey,
    wallet: &Pubkey,
    mint: &Pubkey,
) -> solana_sdk::instruction::Instruction {
    spl_associated_token_account_interface::instruction::create_associated_token_account_idempotent(
        payer,
        wallet,
        mint,
        &token_program(),
    )
}
