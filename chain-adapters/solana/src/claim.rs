//! Claim accounts (DESIGN §4): the address derived from the claim authority with seed = the
//! 24 lowercase hex characters of `sourceDomain` (4 bytes) ‖ `nonce` (8 bytes), big-endian —
//! the same key as EVM's `usedNonces`. Never the message hash: `replaceDepositForBurn` makes
//! a new message (new hash, same source and nonce), and a hash-keyed claim would let one burn
//! be minted once per replacement. Owned by the Memo program once allocated, so no one can
//! close it: it records "received" forever.

use crate::memo_program;
use solana_sdk::pubkey::{Pubkey, PubkeyError};
use usd1_core::Domain;

/// The 24-character seed of a (source domain, nonce)'s claim account.
pub fn claim_seed(source_domain: Domain, nonce: u64) -> String {
    format!("{:08x}{nonce:016x}", source_domain.0)
}

/// The claim account of (source domain, nonce) under `claim_authority`.
pub fn claim_address(
    claim_authority: &Pubkey,
    source_domain: Domain,
    nonce: u64,
) -> Result<Pubkey, PubkeyError> {
    Pubkey::create_with_seed(
        claim_authority,
        &claim_seed(source_domain, nonce),
        &memo_program(),
    )
}

/// Whether an account with this owner is an allocated claim.
pub fn is_claimed(owner: &Pubkey) -> bool {
    *owner == memo_program()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_source_then_nonce_big_endian_hex() {
        assert_eq!(
            claim_seed(Domain(6), 0x0102_0304_0506_0708),
            "000000060102030405060708"
        );
        assert_eq!(claim_seed(Domain(u32::MAX), u64::MAX), "f".repeat(24));
        assert_eq!(claim_seed(Domain(0), 1).len(), 24);
    }

    #[test]
    fn claim_addresses_differ_per_source_nonce_and_authority() {
        let (a1, a2) = (Pubkey::new_unique(), Pubkey::new_unique());
        let c = claim_address(&a1, Domain(0), 7).unwrap();
        assert_eq!(
            c,
            claim_address(&a1, Domain(0), 7).unwrap(),
            "deterministic"
        );
        assert_ne!(c, claim_address(&a1, Domain(0), 8).unwrap());
        assert_ne!(c, claim_address(&a1, Domain(6), 7).unwrap());
        assert_ne!(c, claim_address(&a2, Domain(0), 7).unwrap());
        assert_eq!(
            c,
            Pubkey::create_with_seed(&a1, &claim_seed(Domain(0), 7), &memo_program()).unwrap()
        );
    }
}
