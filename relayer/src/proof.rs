//! The proof a delivery carries, built here for each destination's [`Verifier`] (as
//! Hyperlane's relayer builds ISM metadata per destination): the assembled secp256k1
//! attestation for a MessageTransmitter; for a mint checked by an ed25519 multisig,
//! co-signatures over that exact transaction from `m` attesters, chosen among those that
//! answer (DESIGN §4). The chain adapters build and sign transactions; they never call an
//! attester.

pub mod cosign_http;
mod pace;

use async_trait::async_trait;
use usd1_core::proof::{Prepared, Proof, Verifier};
use usd1_core::state::PendingTx;
use usd1_core::traits::{ChainError, Destination, Slot};
use usd1_core::B256;

/// Why an attester gave no co-signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoSignError {
    /// It answered with a refusal (not final there, not canonical, already received, ...).
    Refused(String),
    /// Down, slow, rate-limited, or an answer that makes no sense: worth asking again.
    Unreachable(String),
}

/// The attesters as co-signers.
#[async_trait]
pub trait CoSigners: Send + Sync {
    /// The attesters that answer now, with their co-signing (ed25519) keys: those that can
    /// co-sign soonest first, in configured order among equals.
    async fn reachable(&self) -> Vec<(String, [u8; 32])>;
    /// `attester`'s signature over `transaction` (the delivery of `message_hash`), checked
    /// against `key`.
    async fn cosign(
        &self,
        attester: &str,
        key: &[u8; 32],
        message_hash: &B256,
        transaction: &[u8],
    ) -> Result<[u8; 64], CoSignError>;
}

/// What a delivery needs to be built: the message, its hash and the stored attestation.
pub struct Delivery<'a> {
    pub message: &'a [u8],
    pub hash: &'a B256,
    pub attestation: &'a [u8],
}

/// The signed delivery in this slot, with the proof `verifier` wants.
pub async fn signed_delivery(
    chain: &dyn Destination,
    verifier: &Verifier,
    cosigners: &dyn CoSigners,
    d: &Delivery<'_>,
    slot: Slot,
) -> Result<PendingTx, ChainError> {
    match verifier {
        Verifier::Attestation { .. } => {
            let proof = Proof::Attestation(d.attestation.to_vec());
            match chain.prepare_delivery(d.message, &proof, slot).await? {
                Prepared::Signed(tx) => Ok(tx),
                Prepared::NeedsCoSignatures(_) => Err(ChainError::Rejected(
                    "a destination that checks attestations asked for co-signatures".into(),
                )),
            }
        }
        Verifier::CoSigners { members, threshold } => {
            cosigned(chain, cosigners, (members, *threshold), d, slot).await
        }
    }
}

/// Picks `threshold` reachable members, has the destination build the transaction naming
/// them, and asks each to co-sign; one that refuses or fails is dropped and the transaction
/// rebuilt with the next, while enough are left.
async fn cosigned(
    chain: &dyn Destination,
    cosigners: &dyn CoSigners,
    (members, threshold): (&[[u8; 32]], usize),
    d: &Delivery<'_>,
    slot: Slot,
) -> Result<PendingTx, ChainError> {
    let mut candidates: Vec<(String, [u8; 32])> = cosigners
        .reachable()
        .await
        .into_iter()
        .filter(|(_, k)| members.contains(k))
        .collect();
    let mut last_error = String::new();
    let (mut refusals, mut unreachable) = (0, 0);
    while threshold > 0 && candidates.len() >= threshold {
        let chosen = candidates[..threshold].to_vec();
        let keys = chosen.iter().map(|(_, k)| *k).collect();
        let unsigned = match chain
            .prepare_delivery(d.message, &Proof::CoSigners(keys), slot)
            .await?
        {
            Prepared::NeedsCoSignatures(u) => u,
            Prepared::Signed(tx) => return Ok(tx),
        };
        let mut signatures = Vec::with_capacity(threshold);
        let mut failed = None;
        for (url, key) in &chosen {
            match cosigners.cosign(url, key, d.hash, &unsigned.message).await {
                Ok(sig) => signatures.push(sig),
                Err(e) => {
                    let text = match e {
                        CoSignError::Refused(t) => {
                            refusals += 1;
                            t
                        }
                        CoSignError::Unreachable(t) => {
                            unreachable += 1;
                            t
                        }
                    };
                    last_error = format!("{url}: {text}");
                    failed = Some(url.clone());
                    break;
                }
            }
        }
        match failed {
            Some(url) => candidates.retain(|(u, _)| *u != url),
            None => return chain.finish_delivery(unsigned, signatures).await,
        }
    }
    let why = format!("fewer than {threshold} attesters co-signed; last: {last_error}");
    // Every attester that answered refused: the attesters' considered word, counted against
    // the message; otherwise some were only out of reach: ask again later.
    if refusals > 0 && unreachable == 0 {
        Err(ChainError::Rejected(why))
    } else {
        Err(ChainError::rpc("cosign", why))
    }
}

#[cfg(test)]
mod tests;
