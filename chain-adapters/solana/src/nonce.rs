//! The nonce of a Solana-source message (DESIGN §4): `slot << 20 | index of the transaction in
//! its block`, which every attester reading the finalized block computes the same.

use thiserror::Error;

/// Transactions per block the nonce can number (2^20).
pub const MAX_TX_INDEX: u64 = 1 << 20;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NonceError {
    #[error("transaction index {0} does not fit in 20 bits")]
    IndexTooLarge(u64),
    #[error("slot {0} does not fit in 44 bits")]
    SlotTooLarge(u64),
}

pub fn solana_nonce(slot: u64, tx_index: u64) -> Result<u64, NonceError> {
    if tx_index >= MAX_TX_INDEX {
        return Err(NonceError::IndexTooLarge(tx_index));
    }
    if slot >= 1 << 44 {
        return Err(NonceError::SlotTooLarge(slot));
    }
    Ok(slot << 20 | tx_index)
}

/// (slot, index) back from a nonce.
pub fn split_nonce(nonce: u64) -> (u64, u64) {
    (nonce >> 20, nonce & (MAX_TX_INDEX - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn packs_slot_and_index() {
        assert_eq!(solana_nonce(1, 0), Ok(1 << 20));
        assert_eq!(solana_nonce(3, 5), Ok((3 << 20) + 5));
        assert_eq!(
            solana_nonce(0, MAX_TX_INDEX),
            Err(NonceError::IndexTooLarge(MAX_TX_INDEX))
        );
        assert_eq!(
            solana_nonce(1 << 44, 0),
            Err(NonceError::SlotTooLarge(1 << 44))
        );
    }

    proptest! {
        #[test]
        fn distinct_positions_give_distinct_nonces(slot in 0u64..1 << 44, index in 0u64..MAX_TX_INDEX) {
            prop_assert_eq!(split_nonce(solana_nonce(slot, index).unwrap()), (slot, index));
        }
    }
}
