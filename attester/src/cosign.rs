//! `POST /v1/solana/cosign` (DESIGN §4): an attester's ed25519 co-signature of the canonical
//! mint transaction of a message bound for Solana. It signs only when
//! - it has itself seen the source burn final (the message is in its store),
//! - the message is a burn by the source chain's own TokenMessenger, addressed to the mint,
//! - the transaction is byte for byte the canonical one (signer set: m multisig members in
//!   ascending order, itself included; any fee payer and blockhash),
//! - no claim account of the message exists under the current or a retired claim authority,
//! - every earlier co-signed transaction for the message whose blockhash is still valid used
//!   the same claim authority.
//!
//! What it co-signed is persisted and flushed before the signature is returned.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::OnceCell;
use tracing::Instrument;
use usd1_config::{AttesterConfig, SolanaConfig};
use usd1_core::message::address_to_bytes32;
use usd1_core::{Domain, Message, B256};
use usd1_runtime::{now_ms, parse_hash, ApiError};
use usd1_solana::mint_tx::{check_canonical, MintParams};
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::hash::Hash;
use usd1_solana::solana_sdk::message::Message as SolanaMessage;
use usd1_solana::solana_sdk::pubkey::Pubkey;
use usd1_solana::solana_sdk::signature::{read_keypair_file, Keypair, Signer};

pub struct Cosigner {
    rpc: SolanaRpc,
    key: Keypair,
    domain: Domain,
    mint: Pubkey,
    multisig: Pubkey,
    claim_authority: Pubkey,
    retired: Vec<Pubkey>,
    /// (members, m) of the multisig and the rent-exempt minimum, read once from the chain.
    chain_facts: OnceCell<(Vec<Pubkey>, usize, u64)>,
    /// Source domain → (its TokenMessenger, its token) as 32-byte words.
    sources: Vec<(Domain, B256, B256)>,
    /// message hash → the co-signatures given (JSON list of `Cosigned`).
    tree: sled::Tree,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct Cosigned {
    claim_authority: String,
    blockhash: String,
    payer: String,
    at_ms: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CosignRequest {
    message_hash: String,
    /// The transaction's message (what is signed), base64.
    transaction: String,
}

fn pubkey(text: &str, what: &str) -> Result<Pubkey, String> {
    text.parse()
        .map_err(|_| format!("solana.{what}: {text:?} is not a public key"))
}

impl Cosigner {
    pub fn new(
        config: &AttesterConfig,
        solana: &SolanaConfig,
        db: &sled::Db,
    ) -> Result<Self, String> {
        let key_file = solana
            .cosign_key_file
            .as_ref()
            .ok_or("solana.cosign_key_file is required")?;
        let key = read_keypair_file(key_file)
            .map_err(|e| format!("cannot read {}: {e}", key_file.display()))?;
        let sources = config
            .chains
            .values()
            .map(|c| {
                (
                    c.domain,
                    address_to_bytes32(c.token_messenger),
                    address_to_bytes32(c.token),
                )
            })
            .collect();
        Ok(Self {
            rpc: SolanaRpc::new(&solana.rpc_urls[0]),
            key,
            domain: solana.domain,
            mint: pubkey(&solana.mint, "mint")?,
            multisig: pubkey(&solana.multisig, "multisig")?,
            claim_authority: pubkey(&solana.claim_authority, "claim_authority")?,
            retired: solana
                .retired_claim_authorities
                .iter()
                .map(|k| pubkey(k, "retired_claim_authorities"))
                .collect::<Result<_, _>>()?,
            chain_facts: OnceCell::new(),
            sources,
            tree: db.open_tree("solana_cosigned").map_err(|e| e.to_string())?,
        })
    }

    pub fn public_key(&self) -> Pubkey {
        self.key.pubkey()
    }

    async fn chain_facts(&self) -> Result<&(Vec<Pubkey>, usize, u64), ApiError> {
        self.chain_facts
            .get_or_try_init(|| async {
                let (members, m) = self
                    .rpc
                    .multisig(&self.multisig)
                    .await
                    .map_err(ApiError::internal)?;
                let rent = self
                    .rpc
                    .rent_exempt_minimum(0)
                    .await
                    .map_err(ApiError::internal)?;
                Ok((members, m, rent))
            })
            .await
    }

    /// The burn checks that do not depend on the transaction.
    fn check_message(&self, m: &Message) -> Result<(), ApiError> {
        let refuse = |why: String| Err(ApiError(StatusCode::UNPROCESSABLE_ENTITY, why));
        if m.destination_domain != self.domain {
            return refuse(format!(
                "the message is bound for domain {}, not Solana ({})",
                m.destination_domain, self.domain
            ));
        }
        if m.recipient != B256::from(self.mint.to_bytes()) {
            return refuse("the message is not addressed to the bridge mint".into());
        }
        let Some((_, messenger, token)) =
            self.sources.iter().find(|(d, _, _)| *d == m.source_domain)
        else {
            return refuse(format!(
                "source domain {} is not a configured chain",
                m.source_domain
            ));
        };
        if m.sender != *messenger {
            return refuse("the message was not sent by the source chain's TokenMessenger".into());
        }
        let body = m
            .burn_body()
            .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, format!("not a burn: {e}")))?;
        if body.burn_token != *token {
            return refuse("the burned token is not the source chain's USD1".into());
        }
        Ok(())
    }

    fn earlier(&self, hash: &B256) -> Result<Vec<Cosigned>, ApiError> {
        Ok(
            match self.tree.get(hash.as_slice()).map_err(ApiError::internal)? {
                Some(v) => serde_json::from_slice(&v).map_err(ApiError::internal)?,
                None => Vec::new(),
            },
        )
    }
}

pub async fn cosign(
    State(s): State<Arc<AppState>>,
    Json(req): Json<CosignRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = s
        .cosigner
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this attester has no Solana configuration"))?;
    let hash = parse_hash(&req.message_hash, "messageHash")?;
    let span = tracing::info_span!("cosign", message_hash = %hash);
    cosign_checked(&s, c, hash, req).instrument(span).await
}

async fn cosign_checked(
    s: &AppState,
    c: &Cosigner,
    hash: B256,
    req: CosignRequest,
) -> Result<Json<serde_json::Value>, ApiError> {
    // 1. Seen final by this attester.
    let signed = s
        .store
        .get(&hash)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("message unknown to this attester, or not final yet"))?;
    let message = Message::decode_hex(&signed.message).map_err(ApiError::internal)?;
    c.check_message(&message)?;

    // 2. The canonical transaction.
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(req.transaction.trim())
        .map_err(|_| ApiError::bad_request("transaction must be base64"))?;
    let candidate: SolanaMessage = bincode::deserialize(&bytes)
        .map_err(|_| ApiError::bad_request("transaction is not a legacy transaction message"))?;
    let (members, m, rent) = c.chain_facts().await?;
    let params = MintParams {
        message: &message,
        mint: c.mint,
        multisig: c.multisig,
        claim_authority: c.claim_authority,
        rent_exempt_lamports: *rent,
    };
    check_canonical(&candidate, &params, members, *m, &c.public_key())
        .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;

    // 3. Not received yet, under any claim authority.
    let mut authorities = vec![c.claim_authority];
    authorities.extend(c.retired.iter().copied());
    if c.rpc
        .claimed(&authorities, &hash)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "already received on Solana (its claim account exists)".into(),
        ));
    }

    // 4. The same claim authority as every earlier co-signed transaction still valid.
    let earlier = c.earlier(&hash)?;
    for e in &earlier {
        if e.claim_authority != c.claim_authority.to_string() {
            let blockhash: Hash = e.blockhash.parse().map_err(ApiError::internal)?;
            let valid = c
                .rpc
                .client()
                .is_blockhash_valid(&blockhash, usd1_solana::rpc::confirmed())
                .await
                .map_err(|e| ApiError::internal(format!("isBlockhashValid: {e}")))?;
            if valid {
                return Err(ApiError(
                    StatusCode::CONFLICT,
                    "an earlier co-signed transaction with another claim authority may still land; retry after its blockhash expires".into(),
                ));
            }
        }
    }

    // 5. Persist, then sign.
    let mut records = earlier;
    records.push(Cosigned {
        claim_authority: c.claim_authority.to_string(),
        blockhash: candidate.recent_blockhash.to_string(),
        payer: candidate.account_keys[0].to_string(),
        at_ms: now_ms(),
    });
    c.tree
        .insert(
            hash.as_slice(),
            serde_json::to_vec(&records).map_err(ApiError::internal)?,
        )
        .map_err(ApiError::internal)?;
    usd1_core::durable::serialized(|| c.tree.flush()).map_err(ApiError::internal)?;
    let signature = c.key.sign_message(&bytes);
    crate::metrics::SIGNATURES
        .with_label_values(&["ed25519"])
        .inc();
    tracing::info!(payer = %candidate.account_keys[0], "co-signed the Solana mint");
    Ok(Json(
        serde_json::json!({ "signature": signature.to_string() }),
    ))
}

/// `GET /v1/solana/signer`: this attester's ed25519 key, so a relayer can name it among the
/// mint transaction's signers before asking for the co-signature.
pub async fn signer(State(s): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    let c = s
        .cosigner
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this attester has no Solana configuration"))?;
    Ok(Json(
        serde_json::json!({ "signer": c.public_key().to_string() }),
    ))
}
