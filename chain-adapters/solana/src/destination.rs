//! Solana as a relayer destination (DESIGN §4): the canonical mint transaction with a recent
//! blockhash, co-signed by `m` attesters over `POST /v1/solana/cosign`, signed by the fee
//! payer and the claim authority, then sent. "Received" is the claim account; a transaction
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
use std::time::Duration;
use tokio::sync::{Mutex, OnceCell};
use usd1_core::state::PendingTx;
use usd1_core::traits::{ChainError, Destination, DryRun, TxStatus};
use usd1_core::{Address, Domain, Message};

pub struct SolanaDestination {
    rpc: SolanaRpc,
    domain: Domain,
    mint: Pubkey,
    multisig: Pubkey,
    payer: Keypair,
    claim_authority: Keypair,
    /// What counts as received: claims keyed by (source, nonce), current and retired.
    claims: ClaimRule,
    attesters: Vec<String>,
    /// The bearer token presented to the attesters' co-sign route.
    cosign_token: String,
    http: reqwest::Client,
    /// (multisig members, m, rent-exempt minimum), read once.
    facts: OnceCell<(Vec<Pubkey>, usize, u64)>,
    /// Attester URL → its ed25519 key (asked once per attester).
    signers: Mutex<Vec<(String, Pubkey)>>,
}

fn rpc_err(method: &'static str) -> impl Fn(crate::rpc::SolanaError) -> ChainError {
    move |e| ChainError::rpc(method, e)
}

impl SolanaDestination {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rpc_urls: &[String],
        domain: Domain,
        mint: Pubkey,
        multisig: Pubkey,
        payer: Keypair,
        claim_authority: Keypair,
        retired: Vec<Pubkey>,
        attesters: Vec<String>,
        cosign_token: String,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            rpc: SolanaRpc::with_fallback(rpc_urls).map_err(|e| e.to_string())?,
            domain,
            mint,
            multisig,
            payer,
            claims: ClaimRule::new(claim_authority.pubkey(), retired, mint, multisig),
            claim_authority,
            attesters: attesters
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            cosign_token,
            http,
            facts: OnceCell::new(),
            signers: Mutex::new(Vec::new()),
        })
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

    /// The attesters that answer now, with their keys, in configured order.
    async fn reachable_signers(&self) -> Vec<(String, Pubkey)> {
        let mut known = self.signers.lock().await;
        for url in &self.attesters {
            if known.iter().any(|(u, _)| u == url) {
                continue;
            }
            let answer = self
                .http
                .get(format!("{url}/v1/solana/signer"))
                .send()
                .await;
            if let Ok(v) = match answer {
                Ok(r) => r.json::<serde_json::Value>().await,
                Err(e) => Err(e),
            } {
                if let Some(k) = v["signer"].as_str().and_then(|s| Pubkey::from_str(s).ok()) {
                    known.push((url.clone(), k));
                }
            }
        }
        known.clone()
    }

    async fn cosign(&self, url: &str, hash: &str, message: &[u8]) -> Result<Signature, Cosign> {
        let body = serde_json::json!({
            "messageHash": hash,
            "transaction": base64::engine::general_purpose::STANDARD.encode(message),
        });
        let resp = self
            .http
            .post(format!("{url}/v1/solana/cosign"))
            .bearer_auth(&self.cosign_token)
            .json(&body)
            .send()
            .await
            .map_err(|e| Cosign::Unreachable(e.to_string()))?;
        let status = resp.status();
        let v: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| Cosign::Unreachable(e.to_string()))?;
        if !status.is_success() {
            let text = format!("{status}: {}", v["error"].as_str().unwrap_or(""));
            // A 4xx other than a rate limit is the attester's considered refusal.
            return Err(
                if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS {
                    Cosign::Refused(text)
                } else {
                    Cosign::Unreachable(text)
                },
            );
        }
        v["signature"]
            .as_str()
            .and_then(|s| Signature::from_str(s).ok())
            .ok_or_else(|| Cosign::Unreachable("an answer without a signature".into()))
    }
}

/// Why an attester gave no co-signature.
enum Cosign {
    /// It answered with a refusal (not final there, not canonical, already received, ...).
    Refused(String),
    /// Down, slow, rate-limited, or an answer that makes no sense: worth asking again.
    Unreachable(String),
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

    /// Builds the transaction on a fresh blockhash and collects `m` co-signatures from the
    /// attesters that answer (`account_nonce` and `bump` mean nothing here).
    async fn sign_delivery(
        &self,
        message: &[u8],
        _: &[u8],
        _: u64,
        _: u32,
    ) -> Result<PendingTx, ChainError> {
        let m = Message::decode(message).map_err(|e| ChainError::Rejected(e.to_string()))?;
        let hash = format!("{:#x}", m.hash());
        let (members, threshold, rent) = self.facts().await?.clone();
        let mut candidates: Vec<(String, Pubkey)> = self
            .reachable_signers()
            .await
            .into_iter()
            .filter(|(_, k)| members.contains(k))
            .collect();
        let mut last_error = String::new();
        let (mut refusals, mut unreachable) = (0, 0);
        while candidates.len() >= threshold {
            let chosen: Vec<(String, Pubkey)> = candidates[..threshold].to_vec();
            let keys: Vec<Pubkey> = chosen.iter().map(|(_, k)| *k).collect();
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
            let mut tx = Transaction::new_unsigned(msg.clone());
            let mut refused = None;
            for (url, key) in &chosen {
                match self.cosign(url, &hash, &msg.serialize()).await {
                    Ok(sig) => {
                        attach(&mut tx, key, sig);
                    }
                    Err(e) => {
                        let text = match e {
                            Cosign::Refused(t) => {
                                refusals += 1;
                                t
                            }
                            Cosign::Unreachable(t) => {
                                unreachable += 1;
                                t
                            }
                        };
                        last_error = format!("{url}: {text}");
                        refused = Some(url.clone());
                        break;
                    }
                }
            }
            if let Some(url) = refused {
                candidates.retain(|(u, _)| *u != url);
                continue;
            }
            tx.try_partial_sign(&[&self.payer, &self.claim_authority], blockhash)
                .map_err(|e| ChainError::Rejected(format!("signing: {e}")))?;
            let raw = bincode::serialize(&tx).map_err(|e| ChainError::Rejected(e.to_string()))?;
            return Ok(PendingTx {
                tx_hash: tx.signatures[0].to_string(),
                raw: base64::engine::general_purpose::STANDARD.encode(raw),
                account_nonce: 0,
                max_fee_per_gas: 0,
                max_priority_fee_per_gas: 0,
                sent_at_ms: 0,
                valid_until: Some(valid_until),
            });
        }
        let why = format!("fewer than {threshold} attesters co-signed; last: {last_error}");
        // Every attester that answered refused: the attesters' considered word, counted
        // against the message; otherwise some were only out of reach: ask again later.
        if refusals > 0 && unreachable == 0 {
            Err(ChainError::Rejected(why))
        } else {
            Err(ChainError::rpc("cosign", why))
        }
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
                // `confirmed` counts 1; `finalized` counts as many as anyone asks for.
                confirmations: if o.finalized { u64::MAX } else { 1 },
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

    fn abandon_is_safe(&self) -> bool {
        true
    }

    fn uses_account_nonces(&self) -> bool {
        false
    }

    /// No secp256k1 attestation is checked on Solana: an empty set means "any attesters".
    async fn attesters(&self) -> Result<(Vec<Address>, usize), ChainError> {
        let (_, m, _) = self.facts().await?;
        Ok((Vec::new(), *m))
    }

    async fn account_nonce(&self) -> Result<u64, ChainError> {
        Ok(0)
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
