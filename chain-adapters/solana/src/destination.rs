//! Solana as a relayer destination (DESIGN §4): the canonical mint transaction with a recent
//! blockhash, naming the `m` co-signers the relayer chose; with their signatures (which the
//! relayer gathers from the attesters) it is signed by the fee payer and the claim
//! authority, then sent. "Received" is the claim account; a transaction
//! whose blockhash expired without landing is rebuilt; a delivery that did not land may be
//! given up once the message is claimed (no account nonces on Solana).

use crate::mint_tx::attach;
use crate::mint_tx::{canonical_mint_message, MintParams, MintTxError};
use crate::received::ClaimRule;
use crate::rpc::SolanaRpc;
use async_trait::async_trait;
use base64::Engine;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::Transaction;
use std::str::FromStr;
use tokio::sync::OnceCell;
use usd1_core::proof::{Prepared, Proof, Unsigned, Verifier};
use usd1_core::state::PendingTx;
use usd1_core::traits::{ChainError, Destination, DryRun, Slot, TxStatus};
use usd1_core::{Domain, Message};

pub struct SolanaDestination {
    rpc: SolanaRpc,
    domain: Domain,
    mint: Pubkey,
    multisig: Pubkey,
    payer: Keypair,
    claim_authority: Keypair,
    /// What counts as received: claims keyed by (source, nonce), current and retired.
    claims: ClaimRule,
    /// (multisig members, m, rent-exempt minimum), read once.
    facts: OnceCell<(Vec<Pubkey>, usize, u64)>,
}

/// A mint transaction waiting for its co-signatures, and when its blockhash expires.
struct Draft {
    tx: Transaction,
    blockhash: solana_sdk::hash::Hash,
    valid_until: u64,
}

fn rpc_err(method: &'static str) -> impl Fn(crate::rpc::SolanaError) -> ChainError {
    move |e| ChainError::rpc(method, e)
}

impl SolanaDestination {
    pub fn new(
        rpc: SolanaRpc,
        domain: Domain,
        (mint, multisig): (Pubkey, Pubkey),
        payer: Keypair,
        claim_authority: Keypair,
        retired: Vec<Pubkey>,
    ) -> Self {
        Self {
            rpc,
            domain,
            mint,
            multisig,
            payer,
            claims: ClaimRule::new(claim_authority.pubkey(), retired, mint, multisig),
            claim_authority,
            facts: OnceCell::new(),
        }
    }

    async fn facts(&self) -> Result<&(Vec<Pubkey>, usize, u64), ChainError> {
        self.facts
            .get_or_try_init(|| async {
                let (members, m) = self
                    .rpc
                    .multisig(&self.multisig)
                    .await
                    .map_err(rpc_err("getAccountInfo"))?;
                let rent = self
                    .rpc
                    .rent_exempt_minimum(0)
                    .await
                    .map_err(rpc_err("getMinimumBalanceForRentExemption"))?;
                Ok((members, m, rent))
            })
            .await
    }
}

/// A message with a `destinationCaller` may be delivered only by that key as fee payer (the
/// attesters check it): `Some(reason)` when this relayer's payer is not it.
pub fn caller_mismatch(m: &Message, payer: &Pubkey) -> Option<String> {
    if m.destination_caller.is_zero() || m.destination_caller.0 == payer.to_bytes() {
        return None;
    }
    Some(format!(
        "destinationCaller {} is not this relayer's fee payer {payer}: only that caller can deliver the message",
        Pubkey::new_from_array(m.destination_caller.0)
    ))
}

#[async_trait]
impl Destination for SolanaDestination {
    fn domain(&self) -> Domain {
        self.domain
    }

    async fn is_received(&self, message: &Message) -> Result<bool, ChainError> {
        self.claims
            .received(&self.rpc, message.source_domain, message.nonce)
            .await
            .map_err(rpc_err("getAccountInfo"))
    }

    /// What can be known before building: a message that can never be minted here.
    async fn simulate_delivery(
        &self,
        message: &[u8],
        _attestation: &[u8],
    ) -> Result<DryRun, ChainError> {
        let m = match Message::decode(message) {
            Ok(m) => m,
            Err(e) => {
                return Ok(DryRun::Undeliverable {
                    reason: e.to_string(),
                })
            }
        };
        if let Some(reason) = caller_mismatch(&m, &self.payer.pubkey()) {
            return Ok(DryRun::Undeliverable { reason });
        }
        let (_, _, rent) = self.facts().await?;
        let p = MintParams {
            message: &m,
            mint: self.mint,
            multisig: self.multisig,
            claim_authority: self.claim_authority.pubkey(),
            rent_exempt_lamports: *rent,
        };
        match canonical_mint_message(&p, &[], &self.payer.pubkey(), Default::default()) {
            Err(e @ (MintTxError::NotBurn(_) | MintTxError::AmountTooLarge(_))) => {
                Ok(DryRun::Undeliverable {
                    reason: e.to_string(),
                })
            }
            _ => Ok(DryRun::Succeeds),
        }
    }

    /// The canonical mint transaction on a fresh blockhash, naming the chosen co-signers;
    /// it waits for their signatures. Every try is a new transaction of its own (a new
    /// blockhash), so the slot says nothing here: there is no account sequence, and a try is
    /// only made once the last one's blockhash expired.
    async fn prepare_delivery(
        &self,
        message: &[u8],
        proof: &Proof,
        _slot: Slot,
    ) -> Result<Prepared, ChainError> {
        let Proof::CoSigners(signers) = proof else {
            return Err(ChainError::Rejected(
                "a Solana mint takes co-signatures, not an attestation".into(),
            ));
        };
        let m = Message::decode(message).map_err(|e| ChainError::Rejected(e.to_string()))?;
        let (members, threshold, rent) = self.facts().await?.clone();
        let keys: Vec<Pubkey> = signers.iter().map(|k| Pubkey::new_from_array(*k)).collect();
        if keys.len() != threshold || keys.iter().any(|k| !members.contains(k)) {
            return Err(ChainError::Rejected(format!(
                "the mint needs {threshold} distinct members of its multisig as co-signers"
            )));
        }
        let (blockhash, valid_until) = self
            .rpc
            .blockhash()
            .await
            .map_err(rpc_err("getLatestBlockhash"))?;
        let p = MintParams {
            message: &m,
            mint: self.mint,
            multisig: self.multisig,
            claim_authority: self.claim_authority.pubkey(),
            rent_exempt_lamports: rent,
        };
        let msg = canonical_mint_message(&p, &keys, &self.payer.pubkey(), blockhash)
            .map_err(|e| ChainError::Rejected(e.to_string()))?;
        Ok(Prepared::NeedsCoSignatures(Unsigned {
            message: msg.serialize(),
            signers: signers.clone(),
            draft: Box::new(Draft {
                tx: Transaction::new_unsigned(msg),
                blockhash,
                valid_until,
            }),
        }))
    }

    /// The co-signatures in place, then the fee payer's and the claim authority's.
    async fn finish_delivery(
        &self,
        unsigned: Unsigned,
        signatures: Vec<[u8; 64]>,
    ) -> Result<PendingTx, ChainError> {
        let Ok(draft) = unsigned.draft.downcast::<Draft>() else {
            return Err(ChainError::Rejected(
                "not a delivery this destination prepared".into(),
            ));
        };
        let Draft {
            mut tx,
            blockhash,
            valid_until,
        } = *draft;
        if signatures.len() != unsigned.signers.len() {
            return Err(ChainError::Rejected(format!(
                "{} co-signatures for {} co-signers",
                signatures.len(),
                unsigned.signers.len()
            )));
        }
        // Each was checked against its signer where it came in (the relayer's proof builder,
        // which can then ask another attester); a wrong one here only fails the send.
        for (key, sig) in unsigned.signers.iter().zip(signatures) {
            attach(&mut tx, &Pubkey::new_from_array(*key), Signature::from(sig));
        }
        tx.try_partial_sign(&[&self.payer, &self.claim_authority], blockhash)
            .map_err(|e| ChainError::Rejected(format!("signing: {e}")))?;
        let raw = bincode::serialize(&tx).map_err(|e| ChainError::Rejected(e.to_string()))?;
        Ok(PendingTx {
            tx_hash: tx.signatures[0].to_string(),
            raw: base64::engine::general_purpose::STANDARD.encode(raw),
            sequence: None,
            sent_at_ms: 0,
            valid_until: Some(valid_until),
        })
    }

    async fn broadcast(&self, tx: &PendingTx) -> Result<(), ChainError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&tx.raw)
            .map_err(|e| ChainError::Rejected(format!("stored transaction: {e}")))?;
        let tx: Transaction = bincode::deserialize(&raw)
            .map_err(|e| ChainError::Rejected(format!("stored transaction: {e}")))?;
        // Without preflight: a resend of a landed or doomed transaction is harmless, and its
        // status, not this call, says what happened.
        self.rpc
            .send_skipping_preflight(&tx)
            .await
            .map(|_| ())
            .map_err(rpc_err("sendTransaction"))
    }

    async fn tx_status(
        &self,
        tx_hash: &str,
        valid_until: Option<u64>,
    ) -> Result<TxStatus, ChainError> {
        let sig = Signature::from_str(tx_hash)
            .map_err(|_| ChainError::Rejected(format!("bad signature {tx_hash}")))?;
        match self
            .rpc
            .outcome(&sig)
            .await
            .map_err(rpc_err("getSignatureStatuses"))?
        {
            Some(o) => Ok(TxStatus::Included {
                success: o.error.is_none(),
                block: o.slot,
                is_final: o.finalized,
                fee_paid: 0,
            }),
            None => match valid_until {
                Some(last)
                    if self
                        .rpc
                        .block_height()
                        .await
                        .map_err(rpc_err("getBlockHeight"))?
                        > last =>
                {
                    Ok(TxStatus::Expired)
                }
                _ => Ok(TxStatus::Unknown),
            },
        }
    }

    /// The mint's SPL multisig: its members co-sign the mint transaction itself.
    async fn verifier(&self) -> Result<Verifier, ChainError> {
        let (members, threshold, _) = self.facts().await?;
        Ok(Verifier::CoSigners {
            members: members.iter().map(|k| k.to_bytes()).collect(),
            threshold: *threshold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use usd1_core::B256;

    #[test]
    fn a_message_for_another_caller_is_a_permanent_refusal_here() {
        let payer = Pubkey::new_unique();
        let mut m = Message {
            version: 0,
            source_domain: Domain(0),
            destination_domain: Domain::SOLANA,
            nonce: 7,
            sender: B256::ZERO,
            recipient: B256::ZERO,
            destination_caller: B256::ZERO,
            body: vec![],
        };
        assert_eq!(caller_mismatch(&m, &payer), None, "no caller: anyone");
        m.destination_caller = B256::from(payer.to_bytes());
        assert_eq!(
            caller_mismatch(&m, &payer),
            None,
            "this payer is the caller"
        );
        m.destination_caller = B256::repeat_byte(3);
        let why = caller_mismatch(&m, &payer).unwrap();
        assert!(why.contains("destinationCaller"), "{why}");
    }
}
