//! Claim accounts (DESIGN §4): the address derived from the claim authority with seed = the
//! first 16 bytes of the message hash as 32 hex characters, owned by the Memo program once
//! the message was minted. No one can close it, so it records "received" forever.

use crate::memo_program;
use solana_sdk::pubkey::{Pubkey, PubkeyError};
use usd1_core::B256;

/// The 32-character seed of a message's claim account.
pub fn claim_seed(message_hash: &B256) -> String {
    hex::encode(&message_hash[..16])
}

/// The claim account of `message_hash` under `claim_authority`.
pub fn claim_address(claim_authority: &Pubkey, message_hash: &B256) -> Result<Pubkey, PubkeyError> {
    Pubkey::create_with_seed(claim_authority, &claim_seed(message_hash), &memo_program())
}

/// Whether an account with this owner means "this message was received".
pub fn is_claimed(owner: &Pubkey) -> bool {
    *owner == memo_program()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_the_first_16_bytes_in_hex() {
        let h = B256::repeat_byte(0xab);
        assert_eq!(claim_seed(&h), "ab".repeat(16));
        assert_eq!(claim_seed(&h).len(), 32, "the longest seed Solana allows");
    }

    #[test]
    fn claim_addresses_differ_per_message_and_per_authority() {
        let (a1, a2) = (Pubkey::new_unique(), Pubkey::new_unique());
        let (h1, h2) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let c = claim_address(&a1, &h1).unwrap();
        assert_eq!(c, claim_address(&a1, &h1).unwrap(), "deterministic");
        assert_ne!(c, claim_address(&a1, &h2).unwrap());
        assert_ne!(c, claim_address(&a2, &h1).unwrap());
        assert_eq!(
            c,
            Pubkey::create_with_seed(&a1, &claim_seed(&h1), &memo_program()).unwrap()
        );
    }
}
