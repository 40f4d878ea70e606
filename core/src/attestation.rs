//! Attestation assembly for EVM destinations (DESIGN §3): exactly `threshold` 65-byte
//! `r ‖ s ‖ v` signatures over the message hash (no EIP-191 prefix), v 27/28, low s,
//! concatenated in strictly ascending order of signer address.

use alloy_primitives::{Address, Signature, B256, U256};
use std::collections::BTreeMap;
use thiserror::Error;

pub const SIGNATURE_LEN: usize = 65;

/// Half the secp256k1 group order: a valid signature's s is at most this.
const SECP256K1N_HALF: U256 = U256::from_limbs([
    0xDFE92F46681B20A0,
    0x5D576E7357A4501D,
    0xFFFFFFFFFFFFFFFF,
    0x7FFFFFFFFFFFFFFF,
]);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AttestationError {
    #[error("signature is {0} bytes; expected {SIGNATURE_LEN}")]
    Length(usize),
    #[error("signature v is {0}; expected 27 or 28")]
    V(u8),
    #[error("signature has a high s value (malleable)")]
    HighS,
    #[error("signature does not recover to a public key")]
    Unrecoverable,
    #[error("{have} valid signatures from enabled attesters; {need} needed")]
    BelowThreshold { have: usize, need: usize },
}

/// One attester's 65-byte signature, validated to the form the contract accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature65(pub [u8; SIGNATURE_LEN]);

impl Signature65 {
    pub fn parse(bytes: &[u8]) -> Result<Self, AttestationError> {
        let raw: [u8; SIGNATURE_LEN] = bytes
            .try_into()
            .map_err(|_| AttestationError::Length(bytes.len()))?;
        let v = raw[64];
        if v != 27 && v != 28 {
            return Err(AttestationError::V(v));
        }
        if U256::from_be_slice(&raw[32..64]) > SECP256K1N_HALF {
            return Err(AttestationError::HighS);
        }
        Ok(Self(raw))
    }

    pub fn from_signature(signature: &Signature) -> Result<Self, AttestationError> {
        Self::parse(&signature.as_bytes())
    }

    pub fn recover(&self, message_hash: &B256) -> Result<Address, AttestationError> {
        let sig = Signature::from_raw(&self.0).map_err(|_| AttestationError::Unrecoverable)?;
        sig.recover_address_from_prehash(message_hash)
            .map_err(|_| AttestationError::Unrecoverable)
    }

    pub fn to_hex(&self) -> String {
        alloy_primitives::hex::encode_prefixed(self.0)
    }
}

/// Builds the attestation a destination accepts from whatever signatures were collected:
/// each is recovered, those not by an enabled attester (or malformed) are dropped, one per
/// signer is kept, and the `threshold` lowest signer addresses are concatenated in order.
pub fn assemble_attestation(
    message_hash: &B256,
    signatures: &[Signature65],
    enabled_attesters: &[Address],
    threshold: usize,
) -> Result<Vec<u8>, AttestationError> {
    let mut by_signer: BTreeMap<Address, Signature65> = BTreeMap::new();
    for sig in signatures {
        if let Ok(signer) = sig.recover(message_hash) {
            if enabled_attesters.contains(&signer) {
                by_signer.entry(signer).or_insert(*sig);
            }
        }
    }
    if threshold == 0 || by_signer.len() < threshold {
        return Err(AttestationError::BelowThreshold {
            have: by_signer.len(),
            need: threshold,
        });
    }
    Ok(by_signer
        .values()
        .take(threshold)
        .flat_map(|s| s.0)
        .collect())
}

/// Whether a stored attestation would still pass the destination's check: exactly
/// `threshold` well-formed signatures over the hash, by enabled attesters, in strictly
/// ascending signer order. The relayer asks after a refusal, against the set it just read
/// from the chain: an attester disabled since means collecting again.
pub fn attestation_satisfies(
    message_hash: &B256,
    attestation: &[u8],
    enabled_attesters: &[Address],
    threshold: usize,
) -> bool {
    if threshold == 0 || attestation.len() != threshold * SIGNATURE_LEN {
        return false;
    }
    let mut previous = Address::ZERO;
    for chunk in attestation.chunks(SIGNATURE_LEN) {
        let signer = match Signature65::parse(chunk).and_then(|s| s.recover(message_hash)) {
            Ok(a) => a,
            Err(_) => return false,
        };
        if signer <= previous || !enabled_attesters.contains(&signer) {
            return false;
        }
        previous = signer;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::{local::PrivateKeySigner, SignerSync};
    use alloy_primitives::keccak256;

    fn signers(n: usize) -> Vec<PrivateKeySigner> {
        (1..=n)
            .map(|i| PrivateKeySigner::from_bytes(&B256::with_last_byte(i as u8)).unwrap())
            .collect()
    }

    fn sign(s: &PrivateKeySigner, h: &B256) -> Signature65 {
        Signature65::from_signature(&s.sign_hash_sync(h).unwrap()).unwrap()
    }

    #[test]
    fn assembles_threshold_signatures_in_ascending_signer_order() {
        let keys = signers(3);
        let attesters: Vec<Address> = keys.iter().map(|k| k.address()).collect();
        let h = keccak256(b"message");
        let sigs: Vec<Signature65> = keys.iter().rev().map(|k| sign(k, &h)).collect();
        let out = assemble_attestation(&h, &sigs, &attesters, 2).unwrap();
        assert_eq!(out.len(), 130);
        let a = Signature65::parse(&out[..65]).unwrap().recover(&h).unwrap();
        let b = Signature65::parse(&out[65..]).unwrap().recover(&h).unwrap();
        assert!(a < b);
        let mut sorted = attesters.clone();
        sorted.sort();
        assert_eq!(vec![a, b], sorted[..2].to_vec());
    }

    #[test]
    fn duplicates_and_outsiders_do_not_count() {
        let keys = signers(4);
        let attesters: Vec<Address> = keys[..3].iter().map(|k| k.address()).collect();
        let h = keccak256(b"m");
        let dup = sign(&keys[0], &h);
        let outsider = sign(&keys[3], &h);
        let err = assemble_attestation(&h, &[dup, dup, outsider], &attesters, 2).unwrap_err();
        assert_eq!(err, AttestationError::BelowThreshold { have: 1, need: 2 });
    }

    #[test]
    fn signature_over_another_message_does_not_count() {
        let keys = signers(3);
        let attesters: Vec<Address> = keys.iter().map(|k| k.address()).collect();
        let h = keccak256(b"m");
        let other = sign(&keys[1], &keccak256(b"other"));
        let err =
            assemble_attestation(&h, &[sign(&keys[0], &h), other], &attesters, 2).unwrap_err();
        assert_eq!(err, AttestationError::BelowThreshold { have: 1, need: 2 });
    }

    #[test]
    fn a_stored_attestation_stops_satisfying_once_a_signer_is_disabled() {
        let keys = signers(3);
        let attesters: Vec<Address> = keys.iter().map(|k| k.address()).collect();
        let h = keccak256(b"m");
        let sigs: Vec<Signature65> = keys.iter().map(|k| sign(k, &h)).collect();
        let stored = assemble_attestation(&h, &sigs, &attesters, 2).unwrap();
        assert!(attestation_satisfies(&h, &stored, &attesters, 2));
        let first = Signature65::parse(&stored[..65])
            .unwrap()
            .recover(&h)
            .unwrap();
        let remaining: Vec<Address> = attesters.iter().copied().filter(|a| *a != first).collect();
        assert!(!attestation_satisfies(&h, &stored, &remaining, 2));
        assert!(
            !attestation_satisfies(&h, &stored, &attesters, 3),
            "threshold raised"
        );
        assert!(!attestation_satisfies(
            &keccak256(b"x"),
            &stored,
            &attesters,
            2
        ));
        let mut reversed = stored[65..].to_vec();
        reversed.extend_from_slice(&stored[..65]);
        assert!(
            !attestation_satisfies(&h, &reversed, &attesters, 2),
            "order"
        );
        let again = assemble_attestation(&h, &sigs, &remaining, 2).unwrap();
        assert!(attestation_satisfies(&h, &again, &remaining, 2));
    }

    #[test]
    fn malformed_signatures_are_rejected() {
        assert_eq!(
            Signature65::parse(&[0u8; 64]),
            Err(AttestationError::Length(64))
        );
        let mut raw = [0u8; 65];
        raw[64] = 1;
        assert_eq!(Signature65::parse(&raw), Err(AttestationError::V(1)));
        raw[64] = 27;
        raw[32] = 0xff;
        assert_eq!(Signature65::parse(&raw), Err(AttestationError::HighS));
    }

    #[test]
    fn signer_produces_low_s() {
        let k = &signers(1)[0];
        for i in 0..32u8 {
            let h = keccak256([i]);
            assert!(Signature65::from_signature(&k.sign_hash_sync(&h).unwrap()).is_ok());
        }
    }
}
