//! What a destination checks a delivery against, and the proof the relayer brings it.
//!
//! The adapter says what its chain verifies ([`Verifier`]) and builds the transaction; the
//! relayer gathers the proof (as Hyperlane's relayer builds ISM metadata per destination):
//! an m-of-n secp256k1 attestation for a CCTP MessageTransmitter, or m ed25519 co-signatures
//! over the canonical mint transaction for an SPL multisig mint (DESIGN §4). An adapter
//! never calls an attester.

use crate::state::PendingTx;
use crate::Address;
use std::any::Any;

/// Who must vouch for a message on a destination, as read from its chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verifier {
    /// `threshold` of these secp256k1 attesters over the message hash, checked by the
    /// destination's contract (EVM `MessageTransmitter.receiveMessage`).
    Attestation {
        attesters: Vec<Address>,
        threshold: usize,
    },
    /// `threshold` ed25519 co-signatures over the delivery transaction itself, from members
    /// of an on-chain multisig (the Solana mint's SPL multisig). The chain checks no
    /// secp256k1 attestation: `threshold` attesters' signatures only show the relayer the
    /// burn is final before co-signing is asked.
    CoSigners {
        members: Vec<[u8; 32]>,
        threshold: usize,
    },
}

impl Verifier {
    pub fn threshold(&self) -> usize {
        match self {
            Self::Attestation { threshold, .. } | Self::CoSigners { threshold, .. } => *threshold,
        }
    }
}

/// What the relayer brings to a delivery it asks the adapter to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proof {
    /// The assembled secp256k1 attestation (65-byte signatures, ascending signer order).
    Attestation(Vec<u8>),
    /// The co-signers chosen for this delivery, in the order they sign: the transaction
    /// names them, so they are fixed before it is built.
    CoSigners(Vec<[u8; 32]>),
}

/// A delivery built and waiting for its co-signatures.
pub struct Unsigned {
    /// The bytes each co-signer signs (the transaction's message).
    pub message: Vec<u8>,
    /// Who must sign them, in order.
    pub signers: Vec<[u8; 32]>,
    /// The adapter's own part (e.g. the transaction and its blockhash expiry).
    pub draft: Box<dyn Any + Send + Sync>,
}

/// What building a delivery gave.
pub enum Prepared {
    /// Signed and ready to store and broadcast.
    Signed(PendingTx),
    /// Needs the co-signatures of [`Unsigned::signers`] first.
    NeedsCoSignatures(Unsigned),
}
