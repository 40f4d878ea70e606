//! Attestation assembly from arbitrary signature bytes (`usd1_core::attestation`): a relayer
//! collects 65-byte signatures from attesters it does not trust and must build the one
//! attestation the destination accepts, and check a stored one still would be.
//!
//! Input: `threshold ‖ setup ‖ record*`. `setup` picks the message hash and which of four
//! keys are enabled attesters; a record is a raw 65-byte signature, a real signature of one
//! of the keys (over the message or another one), or a real signature with one byte changed.
//! Real signatures let the fuzzer reach assemblies that succeed, which it never would by
//! guessing curve points.

use crate::reader::Reader;
use alloy::primitives::{keccak256, Address, B256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use std::sync::OnceLock;
use usd1_core::attestation::{
    assemble_attestation, attestation_satisfies, AttestationError, Signature65, SIGNATURE_LEN,
};

const MAX_SIGNATURES: usize = 6;

struct Keys {
    addresses: [Address; 4],
    hashes: [B256; 2],
    /// `signatures[hash][key]`.
    signatures: [[[u8; SIGNATURE_LEN]; 4]; 2],
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let hashes = [
            keccak256(b"usd1 fuzz message"),
            keccak256(b"another message"),
        ];
        let mut addresses = [Address::ZERO; 4];
        let mut signatures = [[[0u8; SIGNATURE_LEN]; 4]; 2];
        for (k, address) in addresses.iter_mut().enumerate() {
            // Private keys 1..=4: valid scalars, so neither call can fail.
            let Ok(signer) = PrivateKeySigner::from_bytes(&B256::with_last_byte(k as u8 + 1))
            else {
                continue;
            };
            *address = signer.address();
            for (h, hash) in hashes.iter().enumerate() {
                if let Ok(sig) = signer.sign_hash_sync(hash) {
                    signatures[h][k] = sig.as_bytes();
                }
            }
        }
        Keys {
            addresses,
            hashes,
            signatures,
        }
    })
}

/// (message hash, enabled attesters, threshold, signature bytes) of an input.
fn read(data: &[u8]) -> (B256, Vec<Address>, usize, Vec<u8>) {
    let keys = keys();
    let mut r = Reader::new(data);
    let threshold = usize::from(r.byte() % 5);
    let setup = r.byte();
    let hash = keys.hashes[usize::from(setup & 1)];
    let enabled: Vec<Address> = (0..4)
        .filter(|k| setup & (2 << k) != 0)
        .map(|k| keys.addresses[k])
        .collect();
    let mut raw: Vec<u8> = Vec::new();
    // At most MAX_SIGNATURES: each costs a public-key recovery, and the threshold is at most
    // 4, so a fifth and sixth already cover duplicates and outsiders.
    while !r.is_empty() && raw.len() < MAX_SIGNATURES * SIGNATURE_LEN {
        let tag = r.byte();
        let sig = match tag % 4 {
            0 => r.array::<SIGNATURE_LEN>(),
            t => {
                let mut sig = keys.signatures[usize::from(t == 2)][usize::from(r.byte() % 4)];
                if t == 3 {
                    let at = usize::from(r.byte()) % SIGNATURE_LEN;
                    sig[at] ^= r.byte() | 1;
                }
                sig
            }
        };
        raw.extend_from_slice(&sig);
    }
    (hash, enabled, threshold, raw)
}

pub fn attestation_assembly(data: &[u8]) {
    let (hash, enabled, threshold, raw) = read(data);
    // The relayer keeps the signatures that parse; assembly recovers and filters them.
    let parsed: Vec<Signature65> = raw
        .chunks(SIGNATURE_LEN)
        .filter_map(|c| Signature65::parse(c).ok())
        .collect();
    match assemble_attestation(&hash, &parsed, &enabled, threshold) {
        Ok(att) => {
            assert_eq!(att.len(), threshold * SIGNATURE_LEN);
            assert!(
                attestation_satisfies(&hash, &att, &enabled, threshold),
                "an assembled attestation verifies"
            );
        }
        Err(AttestationError::BelowThreshold { have, need }) => {
            assert!(need == 0 || have < need, "{have} of {need} is enough");
        }
        Err(e) => panic!("assembly fails only below the threshold, not with {e}"),
    }
    // The same bytes as a stored attestation: one that verifies is what assembly rebuilds
    // from its own signatures (the lowest signers, ascending, are all of them).
    if attestation_satisfies(&hash, &raw, &enabled, threshold) {
        let again = assemble_attestation(&hash, &parsed, &enabled, threshold);
        assert_eq!(again.as_deref(), Ok(raw.as_slice()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_signatures_recover_to_their_keys() {
        let keys = keys();
        for (h, hash) in keys.hashes.iter().enumerate() {
            for (k, address) in keys.addresses.iter().enumerate() {
                let sig = Signature65::parse(&keys.signatures[h][k]).unwrap();
                assert_eq!(sig.recover(hash).unwrap(), *address);
            }
        }
    }

    #[test]
    fn the_seeds_assemble_or_fall_short_as_meant() {
        for (target, name, data) in crate::seeds::seeds() {
            if target != "attestation_assembly" {
                continue;
            }
            let (hash, enabled, threshold, raw) = read(&data);
            let parsed: Vec<Signature65> = raw
                .chunks(SIGNATURE_LEN)
                .map(|c| Signature65::parse(c).unwrap())
                .collect();
            let out = assemble_attestation(&hash, &parsed, &enabled, threshold);
            match name {
                "two_of_three" => assert_eq!(out.map(|a| a.len()), Ok(130)),
                _ => assert_eq!(
                    out,
                    Err(AttestationError::BelowThreshold { have: 1, need: 2 })
                ),
            }
        }
    }
}
