//! `POST /v1/solana/cosign` (DESIGN §4): an attester's ed25519 co-signature of the canonical
//! mint transaction of a message bound for Solana. It signs only when
//! - it has itself seen the source burn final (the message is in its store),
//! - the message is a burn by the source chain's own TokenMessenger, addressed to the mint,
//! - the transaction is byte for byte the canonical one (signer set: m multisig members in
//!   ascending order, itself included; any fee payer and blockhash),
//! - no claim of the message's (source domain, nonce) counts as received (current authority:
//!   it exists; retired: its creating transaction minted),
//! - every earlier co-signed transaction for that (source, nonce) whose blockhash is still
//!   valid used the same claim authority.
//!
//! The first two checks and the `destinationCaller` one are pure and live in
//! `usd1_solana::cosign_verify` (so they can be fuzzed); this module adds what needs state:
//! the store, the chain, the records, the callers.
//!
//! What it co-signed is persisted and flushed before the signature is returned.
//!
//! The route also requires a caller credential (`Authorization: Bearer`, one token per
//! relayer in `solana.cosign_tokens`, compared in constant time; none configured: 403), rate
//! limits each caller, signs exactly the canonical bytes it rebuilt (a request with trailing
//! or other bytes is refused), requires the fee payer to be the message's `destinationCaller`
//! when that is set, and keeps at most `MAX_RECORDS` co-sign records per (source, nonce).

use crate::error::AttesterError;
use crate::store::Store;
use crate::violations::Violations;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Instant;
use tokio::sync::OnceCell;
use tracing::Instrument;
use usd1_config::{AttesterConfig, SolanaConfig};
use usd1_core::message::address_to_bytes32;
use usd1_core::{Message, B256};
use usd1_runtime::auth::constant_time_eq;
use usd1_runtime::ServiceError;
use usd1_runtime::{now_ms, parse_hash, ApiError};
use usd1_solana::cosign_verify::{ChainFacts, CosignPolicy, CosignRefusal};
use usd1_solana::mint_tx::MintTxError;
use usd1_solana::received::ClaimRule;
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::hash::Hash;
use usd1_solana::solana_sdk::pubkey::Pubkey;
use usd1_solana::solana_sdk::signature::{read_keypair_file, Keypair, Signer};

pub struct Cosigner {
    rpc: SolanaRpc,
    key: Keypair,
    /// Solana's domain, the mint, the multisig, the claim authority and the source chains:
    /// what the pure checks compare a request against.
    policy: CosignPolicy,
    /// What counts as received: claims keyed by (source, nonce), current and retired.
    claims: ClaimRule,
    /// (members, m) of the multisig and the rent-exempt minimum, read once from the chain.
    chain_facts: OnceCell<ChainFacts>,
    /// (source domain ‖ nonce, big-endian) → the co-signatures given for it, original
    /// message and replacements alike (JSON list of `Cosigned`, at most `MAX_RECORDS`).
    tree: sled::Tree,
    /// Serializes the read-check-append of `tree`, so no record is lost to a race.
    records: tokio::sync::Mutex<()>,
    /// (name, bearer token) of the callers allowed to ask; empty: co-signing disabled.
    callers: Vec<(String, String)>,
    /// Per caller name.
    limiter: RateLimiter,
}

/// Co-sign records kept per (source, nonce): a relayer rebuilds a transaction when its
/// blockhash expires (~1 minute), so more than this many unexpired ones is abuse.
pub const MAX_RECORDS: usize = 16;

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

impl Cosigner {
    pub fn new(
        config: &AttesterConfig,
        solana: &SolanaConfig,
        db: &sled::Db,
    ) -> Result<Self, AttesterError> {
        let key_file = solana
            .cosign_key_file
            .as_ref()
            .ok_or_else(|| ServiceError::setting("solana.cosign_key_file", "is required"))?;
        let key = read_keypair_file(key_file).unwrap_or_else(|e| {
            usd1_runtime::fatal_config(
                "usd1-attester",
                format!(
                    "solana.cosign_key_file: cannot read {}: {e}",
                    key_file.display()
                ),
            )
        });
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
        let (mint, multisig, claim_authority) =
            (solana.mint, solana.multisig, solana.claim_authority);
        let retired = solana.retired_claim_authorities.clone();
        Ok(Self {
            rpc: SolanaRpc::with_fallback(&solana.rpc_urls)?,
            key,
            policy: CosignPolicy {
                domain: solana.domain,
                mint,
                multisig,
                claim_authority,
                sources,
            },
            claims: ClaimRule::new(claim_authority, retired, mint, multisig),
            chain_facts: OnceCell::new(),
            tree: db.open_tree("solana_cosigned")?,
            records: tokio::sync::Mutex::new(()),
            callers: {
                // An unreadable or too short token is a config error: exit 2, naming it.
                let callers = solana
                    .read_cosign_tokens()
                    .unwrap_or_else(|e| usd1_runtime::fatal_config("usd1-attester", e));
                if callers.is_empty() {
                    tracing::warn!("co-signing disabled: no solana.cosign_tokens configured (POST /v1/solana/cosign answers 403)");
                } else {
                    let names: Vec<&str> = callers.iter().map(|(n, _)| n.as_str()).collect();
                    tracing::info!(callers = ?names, "co-signing for these callers");
                }
                callers
            },
            limiter: RateLimiter::new(solana.cosign_rate_per_s),
        })
    }

    async fn blockhash_valid(&self, blockhash: &str) -> Result<bool, ApiError> {
        let blockhash: Hash = blockhash.parse().map_err(ApiError::internal)?;
        self.rpc
            .client()
            .is_blockhash_valid(&blockhash, usd1_solana::rpc::confirmed())
            .await
            .map_err(|e| ApiError::internal(format!("isBlockhashValid: {e}")))
    }

    pub fn public_key(&self) -> Pubkey {
        self.key.pubkey()
    }

    /// Co-sign requests a second each caller may make (bursts of twice that).
    pub fn rate_per_caller(&self) -> u32 {
        self.limiter.rate
    }

    async fn chain_facts(&self) -> Result<&ChainFacts, ApiError> {
        self.chain_facts
            .get_or_try_init(|| async {
                let (members, m) = self
                    .rpc
                    .multisig(&self.policy.multisig)
                    .await
                    .map_err(ApiError::internal)?;
                let rent_exempt_lamports = self
                    .rpc
                    .rent_exempt_minimum(0)
                    .await
                    .map_err(ApiError::internal)?;
                Ok(ChainFacts {
                    members,
                    m,
                    rent_exempt_lamports,
                })
            })
            .await
    }

    fn earlier(&self, key: &[u8]) -> Result<Vec<Cosigned>, ApiError> {
        Ok(match self.tree.get(key).map_err(ApiError::internal)? {
            Some(v) => serde_json::from_slice(&v).map_err(ApiError::internal)?,
            None => Vec::new(),
        })
    }
}

/// What an attester's co-sign needs besides the cosigner: what it signed, and what a deep
/// reorg orphaned since.
pub struct Signed<'a> {
    pub store: &'a Store,
    pub violations: &'a Violations,
}

/// `POST /v1/solana/cosign` (the route is in `crate::api`): authorized, rate-limited, checked.
pub async fn cosign(
    c: &Cosigner,
    s: Signed<'_>,
    headers: &HeaderMap,
    req: CosignRequest,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = authorize(&c.callers, headers)?;
    if !c.limiter.allow(caller, Instant::now()) {
        tracing::warn!(caller, "co-sign rate limit exceeded");
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "rate limit: at most {} co-sign requests per second per caller",
                c.limiter.rate
            ),
        ));
    }
    let hash = parse_hash(&req.message_hash, "messageHash")?;
    let span = tracing::info_span!("cosign", caller, message_hash = %hash);
    cosign_checked(&s, c, hash, req).instrument(span).await
}

/// The name of the caller whose bearer token the request presents. No callers configured:
/// 403 (co-signing disabled); a missing or unknown token: 401. Every configured token is
/// compared, each in constant time.
fn authorize<'a>(
    callers: &'a [(String, String)],
    headers: &HeaderMap,
) -> Result<&'a str, ApiError> {
    if callers.is_empty() {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "co-signing disabled: no cosign_tokens configured on this attester".into(),
        ));
    }
    let presented = usd1_runtime::auth::bearer_token(headers, "co-signing")?;
    let mut found = None;
    for (name, token) in callers {
        if constant_time_eq(token.as_bytes(), presented.as_bytes()) && found.is_none() {
            found = Some(name.as_str());
        }
    }
    found.ok_or_else(|| {
        tracing::warn!("co-sign request with an unknown token");
        ApiError(StatusCode::UNAUTHORIZED, "unknown co-sign token".into())
    })
}

/// A token bucket per caller: `rate` requests per second, bursts of twice that.
pub struct RateLimiter {
    rate: u32,
    buckets: std::sync::Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            buckets: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn burst(&self) -> f64 {
        2.0 * self.rate as f64
    }

    /// Takes one token from `caller`'s bucket at `now`, if there is one.
    pub fn allow(&self, caller: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let burst = self.burst();
        let (tokens, last) = buckets.entry(caller.to_string()).or_insert((burst, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * self.rate as f64;
        *tokens = (*tokens + refill).min(burst);
        *last = now.max(*last);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The answer to a request the pure checks refuse: bytes that are no transaction message at
/// all are a bad request (400); anything else is a well-formed request refused (422).
fn refusal(e: CosignRefusal) -> ApiError {
    match e {
        CosignRefusal::Transaction(MintTxError::Malformed(_)) => {
            ApiError::bad_request("transaction is not a legacy transaction message")
        }
        other => ApiError(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    }
}

/// The records to keep before adding one: those whose blockhash may still be valid
/// (`valid[i]`, asked only when full). Still `MAX_RECORDS`: 429.
fn make_room(records: Vec<Cosigned>, valid: &[bool]) -> Result<Vec<Cosigned>, ApiError> {
    if records.len() < MAX_RECORDS {
        return Ok(records);
    }
    let live: Vec<Cosigned> = records
        .into_iter()
        .zip(valid)
        .filter(|(_, &v)| v)
        .map(|(r, _)| r)
        .collect();
    if live.len() >= MAX_RECORDS {
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many outstanding co-signatures for this message ({MAX_RECORDS}); retry after their blockhashes expire"
            ),
        ));
    }
    Ok(live)
}

async fn cosign_checked(
    s: &Signed<'_>,
    c: &Cosigner,
    hash: B256,
    req: CosignRequest,
) -> Result<Json<serde_json::Value>, ApiError> {
    // 1. Seen final by this attester, and not orphaned since (a finality violation).
    if s.violations.contains(&hash) {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "finality violation: this message's burn was reorged away after it was final".into(),
        ));
    }
    let signed = s
        .store
        .get(&hash)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("message unknown to this attester, or not final yet"))?;
    let message = Message::decode_hex(&signed.message).map_err(ApiError::internal)?;
    c.policy.check_message(&message).map_err(refusal)?;

    // 2. The canonical transaction.
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(req.transaction.trim())
        .map_err(|_| ApiError::bad_request("transaction must be base64"))?;
    let facts = c.chain_facts().await?;
    // Exactly the canonical bytes, paid by the destinationCaller if one is set; what is
    // signed below is the rebuilt canonical message, never the request's bytes.
    let approval = c
        .policy
        .check_transaction(&message, &bytes, facts, &c.public_key())
        .map_err(refusal)?;
    let payer = approval.payer();

    // 3. Not received yet: no claim of its (source, nonce) counts, whichever message (the
    //    original or a replacement) made it.
    let (source, nonce) = (message.source_domain, message.nonce);
    if c.claims
        .received(&c.rpc, source, nonce)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!("source domain {source} nonce {nonce} was already received on Solana"),
        ));
    }

    // 4. The same claim authority as every earlier co-signed transaction for this (source,
    //    nonce) that is still valid.
    let key = [source.0.to_be_bytes().as_slice(), &nonce.to_be_bytes()].concat();
    let _records = c.records.lock().await;
    let earlier = c.earlier(&key)?;
    let current = c.policy.claim_authority.to_string();
    // Blockhash validity per record, asked only when needed.
    let mut valid: Vec<Option<bool>> = vec![None; earlier.len()];
    for (e, v) in earlier.iter().zip(valid.iter_mut()) {
        if e.claim_authority != current {
            let still = c.blockhash_valid(&e.blockhash).await?;
            *v = Some(still);
            if still {
                return Err(ApiError(
                    StatusCode::CONFLICT,
                    "an earlier co-signed transaction with another claim authority may still land; retry after its blockhash expires".into(),
                ));
            }
        }
    }

    // 5. Persist (bounded: expired records make room), then sign.
    let record = Cosigned {
        claim_authority: current,
        blockhash: approval.candidate.recent_blockhash.to_string(),
        payer: payer.to_string(),
        at_ms: now_ms(),
    };
    let repeat = earlier.iter().any(|e| {
        (&e.claim_authority, &e.blockhash, &e.payer)
            == (&record.claim_authority, &record.blockhash, &record.payer)
    });
    if !repeat {
        let mut records = earlier;
        if records.len() >= MAX_RECORDS {
            for (e, v) in records.iter().zip(valid.iter_mut()) {
                if v.is_none() {
                    *v = Some(c.blockhash_valid(&e.blockhash).await?);
                }
            }
        }
        let valid: Vec<bool> = valid.into_iter().map(|v| v.unwrap_or(true)).collect();
        records = make_room(records, &valid)?;
        records.push(record);
        // Written and flushed on the blocking pool, before the signature is returned.
        let (tree, value) = (
            c.tree.clone(),
            serde_json::to_vec(&records).map_err(ApiError::internal)?,
        );
        usd1_runtime::blocking(move || {
            tree.insert(key.as_slice(), value)?;
            tree.flush()
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    }
    let signature = c.key.sign_message(&approval.canonical);
    crate::metrics::SIGNATURES
        .with_label_values(&["ed25519"])
        .inc();
    tracing::info!(%payer, "co-signed the Solana mint");
    Ok(Json(
        serde_json::json!({ "signature": signature.to_string() }),
    ))
}

#[cfg(test)]
mod tests;
