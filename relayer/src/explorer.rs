//! The transfer explorer: a page for people (`/explorer`, static HTML/CSS/JS embedded in the
//! binary, nothing loaded from elsewhere) over JSON routes under `/v1/explorer/…` and
//! `/v1/supply`. It answers from the relayer's records and, for what the relayer has not
//! recorded yet (a burn that is not final), from the source chain and the attesters
//! themselves: "not found yet" (in the mempool, not final, seen by the attesters) is told
//! apart from "not a bridge burn" and from "unknown". Explorer routes answer 200 with a
//! `status` field for a miss, so the page can say so.

use crate::store::Store;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use usd1_config::{Finality, RelayerConfig};
use usd1_core::traits::{Destination, TxStatus};
use usd1_core::{format_amount, Domain, Message, MessageRecord, MessageState, Signature65};
use usd1_evm::bindings::MessageTransmitter::{self, MessageSent};
use usd1_evm::{BlockSource, EvmBlockSource, EvmRpc};
use usd1_runtime::extract::{Json, Path, Query};
use usd1_runtime::{now_ms, redact_urls, ApiError};
use usd1_solana::solana_sdk::pubkey::Pubkey;
use usd1_solana::solana_sdk::signature::Signature;

const INDEX_HTML: &str = include_str!("explorer/index.html");
const APP_JS: &str = include_str!("explorer/app.js");
const STYLE_CSS: &str = include_str!("explorer/style.css");
const FAVICON_SVG: &str = include_str!("explorer/favicon.svg");

/// Everything the page loads comes from here; nothing from the internet.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How long one look at a chain or an attester may take before the answer goes without it.
const LOOK_TIMEOUT: Duration = Duration::from_secs(4);
/// How long an attester set read from a destination, or a block time, is reused.
const CACHE_MS: u64 = 30_000;
/// Solana: slots between `confirmed` and `finalized` (about 32), and a slot's duration.
const SOLANA_FINALITY_SLOTS: u64 = 32;
const SOLANA_SLOT_SECS: f64 = 0.4;

struct EvmChain {
    name: String,
    domain: Domain,
    rpc: Arc<EvmRpc>,
    transmitter: Address,
    finality: Finality,
    poll_ms: u64,
    explorer_tx_url: Option<String>,
}

struct SolanaSide {
    name: String,
    domain: Domain,
    url: String,
    rpc: usd1_solana::rpc::SolanaRpc,
    watcher: usd1_solana::watcher::SolanaWatcher,
    claim_authority: Pubkey,
    retired: Vec<Pubkey>,
    poll_ms: u64,
    explorer_tx_url: Option<String>,
}

/// A destination's attester set as read at some time: (read at ms, attesters, threshold).
type CachedSet = (u64, Vec<Address>, usize);

/// A destination as the pipeline uses it, and the confirmations a delivery there needs.
pub type Destinations = HashMap<Domain, (Arc<dyn Destination>, u64)>;

pub struct Explorer {
    store: Store,
    evm: Vec<EvmChain>,
    solana: Option<SolanaSide>,
    destinations: Destinations,
    attesters: Vec<String>,
    http: reqwest::Client,
    /// Per chain: (read at ms, seconds per block).
    block_times: Mutex<HashMap<Domain, (u64, f64)>>,
    /// Per destination: (read at ms, attesters, threshold).
    sets: Mutex<HashMap<Domain, CachedSet>>,
    /// Attester signing addresses learned from their answers → index in `attesters`.
    signers: Mutex<HashMap<Address, usize>>,
}

impl Explorer {
    pub fn new(
        config: &RelayerConfig,
        store: Store,
        rpcs: &HashMap<String, Arc<EvmRpc>>,
        destinations: Destinations,
    ) -> Result<Self, String> {
        let evm = config
            .chains
            .iter()
            .map(|(name, c)| EvmChain {
                name: name.clone(),
                domain: c.domain,
                rpc: rpcs[name].clone(),
                transmitter: c.message_transmitter,
                finality: c.finality,
                poll_ms: c.poll_interval_ms,
                explorer_tx_url: c.explorer_tx_url.clone(),
            })
            .collect();
        let solana = match &config.solana {
            Some(s) => {
                let key = |k: &str, f: &str| {
                    Pubkey::from_str(k).map_err(|_| format!("solana.{f}: {k:?} is not a key"))
                };
                // A watcher used only to classify one transaction (`burn_in`); its cursor
                // tree is never committed to.
                let tree = store
                    .db()
                    .open_tree("explorer/solana-probe")
                    .map_err(|e| e.to_string())?;
                Some(SolanaSide {
                    name: s.name.clone(),
                    domain: s.domain,
                    url: s.rpc_urls[0].clone(),
                    rpc: usd1_solana::rpc::SolanaRpc::new(&s.rpc_urls[0]),
                    watcher: usd1_solana::watcher::SolanaWatcher::from_config(
                        s,
                        &config.chains,
                        tree,
                    )?,
                    claim_authority: key(&s.claim_authority, "claim_authority")?,
                    retired: s
                        .retired_claim_authorities
                        .iter()
                        .map(|k| key(k, "retired_claim_authorities"))
                        .collect::<Result<_, _>>()?,
                    poll_ms: s.poll_interval_ms,
                    explorer_tx_url: s.explorer_tx_url.clone(),
                })
            }
            None => None,
        };
        Ok(Self::with(
            store,
            evm,
            solana,
            destinations,
            config.relayer.attesters.clone(),
        ))
    }

    fn with(
        store: Store,
        evm: Vec<EvmChain>,
        solana: Option<SolanaSide>,
        destinations: Destinations,
        attesters: Vec<String>,
    ) -> Self {
        usd1_evm::tls::install(); // before the first HTTP client
        Self {
            store,
            evm,
            solana,
            destinations,
            attesters: attesters
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_millis(1500))
                .build()
                .unwrap_or_default(),
            block_times: Mutex::default(),
            sets: Mutex::default(),
            signers: Mutex::default(),
        }
    }

    /// An explorer over a store, for unit tests: chains "ethereum" (0) and "base" (6) whose
    /// RPC refuses connections, no attesters.
    #[cfg(test)]
    pub fn offline(store: Store) -> Self {
        let chain = |name: &str, domain| EvmChain {
            name: name.into(),
            domain: Domain(domain),
            rpc: Arc::new(EvmRpc::new(name, &["http://127.0.0.1:9".into()]).unwrap()),
            transmitter: Address::repeat_byte(9),
            finality: Finality::Confirmations { confirmations: 2 },
            poll_ms: 1000,
            explorer_tx_url: Some("https://scan.example/tx/{tx}".into()),
        };
        let evm = vec![chain("ethereum", 0), chain("base", 6)];
        Self::with(store, evm, None, HashMap::new(), Vec::new())
    }

    fn chain_name(&self, d: Domain) -> String {
        if let Some(c) = self.evm.iter().find(|c| c.domain == d) {
            return c.name.clone();
        }
        match &self.solana {
            Some(s) if s.domain == d => s.name.clone(),
            _ => d
                .well_known_name()
                .map(|n| format!("{n} (domain {d})"))
                .unwrap_or_else(|| format!("domain {d}")),
        }
    }

    fn is_solana(&self, d: Domain) -> bool {
        self.solana.as_ref().is_some_and(|s| s.domain == d)
    }

    fn tx_url(&self, d: Domain, tx: &str) -> Option<String> {
        let template = match &self.solana {
            Some(s) if s.domain == d => s.explorer_tx_url.as_ref(),
            _ => self
                .evm
                .iter()
                .find(|c| c.domain == d)
                .and_then(|c| c.explorer_tx_url.as_ref()),
        }?;
        Some(template.replace("{tx}", tx))
    }

    fn tx(&self, d: Domain, hash: &str) -> Value {
        json!({ "hash": hash, "chain": self.chain_name(d), "url": self.tx_url(d, hash) })
    }

    /// A 32-byte word as the chain of `d` writes it: an EVM address (its 12 high bytes zero)
    /// checksummed, a Solana key in base58, anything else as hex.
    fn word(&self, d: Domain, w: &B256) -> String {
        if self.is_solana(d) {
            return Pubkey::new_from_array(w.0).to_string();
        }
        if w[..12].iter().all(|b| *b == 0) {
            return Address::from_word(*w).to_checksum(None);
        }
        format!("{w:#x}")
    }

    fn finality_text(&self, d: Domain) -> String {
        if self.is_solana(d) {
            return "finalized commitment".into();
        }
        match self.evm.iter().find(|c| c.domain == d).map(|c| c.finality) {
            Some(Finality::Confirmations { confirmations }) => {
                format!("{confirmations} confirmations")
            }
            Some(Finality::Finalized) => "the finalized block".into(),
            Some(Finality::Safe) => "the safe block".into(),
            None => "its finality rule".into(),
        }
    }
}

pub fn router(x: Arc<Explorer>) -> Router {
    Router::new()
        .route(
            "/explorer",
            get(|| async { axum::response::Redirect::permanent("explorer/") }),
        )
        .route("/explorer/", get(index))
        .route("/explorer/app.js", get(app_js))
        .route("/explorer/style.css", get(style_css))
        .route("/explorer/favicon.svg", get(favicon))
        .route("/v1/explorer/config", get(config))
        .route("/v1/explorer/search", get(search))
        .route("/v1/explorer/transfers/{hash}", get(transfer))
        .route("/v1/explorer/proof/{hash}", get(proof))
        .route("/v1/explorer/recent", get(recent))
        .route("/v1/explorer/governor", get(governor))
        .route("/v1/supply", get(supply))
        .with_state(x)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}
async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}
async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}
async fn favicon() -> Response {
    asset("image/svg+xml", FAVICON_SVG)
}

/// An answer without RPC URLs in its texts (an error can carry one, and RPC URLs can carry
/// API keys), except the block-explorer links the config asks for (public by definition).
fn shown(mut v: Value) -> Json<Value> {
    fn redact(v: &mut Value) {
        match v {
            Value::String(s) => *s = redact_urls(s),
            Value::Array(a) => a.iter_mut().for_each(redact),
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    if !matches!(k.as_str(), "url" | "explorerUrl" | "explorerTxUrl") {
                        redact(x);
                    }
                }
            }
            _ => {}
        }
    }
    redact(&mut v);
    Json(v)
}

fn usd1(amount: U256) -> String {
    format_amount(amount, usd1_core::USD1_DECIMALS)
}

async fn config(State(x): State<Arc<Explorer>>) -> Json<Value> {
    let mut chains: Vec<Value> = x
        .evm
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "domain": c.domain, "kind": "evm",
                "finality": x.finality_text(c.domain),
                "explorerTxUrl": c.explorer_tx_url,
            })
        })
        .collect();
    if let Some(s) = &x.solana {
        chains.push(json!({
            "name": s.name, "domain": s.domain, "kind": "solana",
            "finality": x.finality_text(s.domain),
            "explorerTxUrl": s.explorer_tx_url,
        }));
    }
    chains.sort_by_key(|c| c["domain"].as_u64());
    shown(json!({
        "chains": chains,
        "attesters": x.attesters.len(),
        "states": MessageState::NAMES,
    }))
}

// ---------------------------------------------------------------------------------------
// Search

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
}

/// What a search box's text is.
#[derive(Debug, PartialEq)]
enum Input {
    /// `0x` + 64 hex: a message hash or an EVM transaction hash.
    Hash(B256),
    EvmAddress(Address),
    SolanaSignature(Signature),
    SolanaKey(Pubkey),
    Invalid,
}

fn classify(text: &str) -> Input {
    let t = text.trim();
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        match hex.len() {
            64 => {
                if let Ok(h) = B256::from_str(&hex.to_ascii_lowercase()) {
                    return Input::Hash(h);
                }
            }
            40 => {
                if let Ok(a) = Address::from_str(&hex.to_ascii_lowercase()) {
                    return Input::EvmAddress(a);
                }
            }
            _ => {}
        }
    }
    if !t.starts_with("0x") {
        if let Ok(sig) = Signature::from_str(t) {
            return Input::SolanaSignature(sig);
        }
        if let Ok(key) = Pubkey::from_str(t) {
            return Input::SolanaKey(key);
        }
    }
    Input::Invalid
}

/// A record as the listings show it.
fn summary(x: &Explorer, r: &MessageRecord) -> Value {
    let body = Message::decode_hex(&r.message)
        .ok()
        .and_then(|m| m.burn_body().ok());
    json!({
        "messageHash": r.message_hash,
        "sourceDomain": r.source_domain,
        "sourceChain": x.chain_name(r.source_domain),
        "destinationDomain": r.destination_domain,
        "destinationChain": x.chain_name(r.destination_domain),
        "nonce": r.nonce,
        "status": r.state.name(),
        "amount": body.as_ref().map(|b| usd1(b.amount)),
        "sender": body.as_ref().map(|b| x.word(r.source_domain, &b.message_sender)),
        "recipient": body.as_ref().map(|b| x.word(r.destination_domain, &b.mint_recipient)),
        "sourceTx": x.tx(r.source_domain, &r.source_tx),
        "burnedAtMs": r.burned_at_ms,
        "observedAtMs": r.observed_at_ms,
    })
}

async fn search(
    State(x): State<Arc<Explorer>>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let input = classify(&q.q);
    let mut answer = match input {
        Input::Hash(h) => x.search_hash(h).await?,
        Input::EvmAddress(a) => x.search_address(a.into_word(), a.to_checksum(None))?,
        Input::SolanaKey(k) => x.search_address(B256::from(k.to_bytes()), k.to_string())?,
        Input::SolanaSignature(sig) => x.search_signature(sig).await?,
        Input::Invalid => json!({
            "status": "invalid",
            "note": "Enter a transaction hash (0x… on an EVM chain, or a Solana signature), a \
                     message hash (0x…), or an address (0x… or a Solana key).",
        }),
    };
    answer["query"] = json!(q.q.trim());
    Ok(shown(answer))
}

/// What a source chain says about an EVM transaction hash.
enum OnChain {
    Mined {
        chain: usize,
        block: u64,
        success: bool,
        messages: Vec<Message>,
    },
    Mempool {
        chain: usize,
    },
}

impl Explorer {
    fn found(&self, kind: &str, records: &[MessageRecord]) -> Value {
        json!({
            "status": "found",
            "kind": kind,
            "messages": records.iter().map(|r| summary(self, r)).collect::<Vec<_>>(),
        })
    }

    async fn search_hash(&self, h: B256) -> Result<Value, ApiError> {
        if let Some(r) = self.store.get(&h).map_err(ApiError::internal)? {
            return Ok(self.found("message", &[r]));
        }
        let mut records = Vec::new();
        for c in &self.evm {
            records.extend(
                self.store
                    .by_source_tx(c.domain, &h)
                    .map_err(ApiError::internal)?,
            );
        }
        if !records.is_empty() {
            return Ok(self.found("transaction", &records));
        }
        // Not recorded (the relayer records final burns only): ask the chains and attesters.
        let (on_chain, attesters) = tokio::join!(self.find_evm_tx(h), self.attester_answers(&h));
        if let Some(found) = on_chain {
            return Ok(self.evm_tx_answer(h, found).await);
        }
        if attesters
            .iter()
            .any(|a| a.status != "unseen" && a.status != "unreachable")
        {
            return Ok(json!({
                "status": "pending",
                "kind": "message",
                "messages": [{ "messageHash": format!("{h:#x}") }],
                "note": "The attesters have seen this message, but it is not final on its source \
                         chain yet; the relayer lists it once it is.",
            }));
        }
        Ok(json!({
            "status": "not_found",
            "note": "Not found: no transfer, transaction or message with this hash is known to the \
                     relayer, its attesters or any configured chain. A transaction sent moments ago \
                     may not have reached a node yet; otherwise check the hash and the network.",
        }))
    }

    /// Looks for an EVM transaction on every configured EVM chain.
    async fn find_evm_tx(&self, h: B256) -> Option<OnChain> {
        let looks = self.evm.iter().enumerate().map(|(i, c)| async move {
            let receipt = c.rpc.call("eth_getTransactionReceipt", |p| async move {
                p.get_transaction_receipt(h).await
            });
            match tokio::time::timeout(LOOK_TIMEOUT, receipt).await {
                Ok(Ok(Some(r))) => {
                    let messages = r
                        .inner
                        .logs()
                        .iter()
                        .filter(|l| l.address() == c.transmitter)
                        .filter_map(|l| l.log_decode::<MessageSent>().ok())
                        .filter_map(|l| Message::decode(&l.inner.data.message).ok())
                        .collect();
                    return Some(OnChain::Mined {
                        chain: i,
                        block: r.block_number.unwrap_or(0),
                        success: r.status(),
                        messages,
                    });
                }
                Ok(Ok(None)) => {}
                _ => return None,
            }
            let tx = c.rpc.call("eth_getTransactionByHash", |p| async move {
                p.get_transaction_by_hash(h).await
            });
            match tokio::time::timeout(LOOK_TIMEOUT, tx).await {
                Ok(Ok(Some(_))) => Some(OnChain::Mempool { chain: i }),
                _ => None,
            }
        });
        futures_util::future::join_all(looks)
            .await
            .into_iter()
            .flatten()
            .next()
    }

    async fn evm_tx_answer(&self, h: B256, found: OnChain) -> Value {
        let tx = format!("{h:#x}");
        match found {
            OnChain::Mempool { chain } => {
                let c = &self.evm[chain];
                json!({
                    "status": "pending",
                    "kind": "transaction",
                    "sourceDomain": c.domain,
                    "sourceTx": self.tx(c.domain, &tx),
                    "messages": [],
                    "note": format!("Sent on {}, not in a block yet.", c.name),
                })
            }
            OnChain::Mined {
                chain,
                block,
                success,
                messages,
            } => {
                let c = &self.evm[chain];
                if !success {
                    return json!({
                        "status": "not_bridge",
                        "sourceTx": self.tx(c.domain, &tx),
                        "note": format!("This transaction on {} (block {block}) reverted: nothing was burned.", c.name),
                    });
                }
                if messages.is_empty() {
                    return json!({
                        "status": "not_bridge",
                        "sourceTx": self.tx(c.domain, &tx),
                        "note": format!("This transaction on {} (block {block}) emitted no bridge message: it is not a bridge burn.", c.name),
                    });
                }
                let finality = self.evm_finality(chain, block).await;
                let note = match &finality {
                    Some(f) if f.is_final => format!(
                        "Burned on {} in block {block} and final; the relayer lists it on its next poll.",
                        c.name
                    ),
                    Some(f) => format!(
                        "Burned on {} in block {block}, not final yet: {}. The relayer lists a burn once it is final.",
                        c.name, f.text
                    ),
                    None => format!("Burned on {} in block {block}.", c.name),
                };
                json!({
                    "status": "pending",
                    "kind": "transaction",
                    "sourceDomain": c.domain,
                    "sourceTx": self.tx(c.domain, &tx),
                    "messages": messages.iter().map(|m| json!({
                        "messageHash": format!("{:#x}", m.hash()),
                        "sourceDomain": m.source_domain,
                        "destinationDomain": m.destination_domain,
                        "destinationChain": self.chain_name(m.destination_domain),
                    })).collect::<Vec<_>>(),
                    "note": note,
                })
            }
        }
    }

    fn search_address(&self, word: B256, shown: String) -> Result<Value, ApiError> {
        const LIMIT: usize = 100;
        let records = self
            .store
            .by_address(&word, LIMIT)
            .map_err(ApiError::internal)?;
        if records.is_empty() {
            return Ok(json!({
                "status": "not_found",
                "kind": "address",
                "address": shown,
                "note": "No transfer from or to this address is known to the relayer (it lists \
                         burns once they are final on their source chain).",
            }));
        }
        let mut answer = self.found("address", &records);
        answer["address"] = json!(shown);
        answer["limit"] = json!(LIMIT);
        Ok(answer)
    }

    async fn search_signature(&self, sig: Signature) -> Result<Value, ApiError> {
        let text = sig.to_string();
        let Some(s) = &self.solana else {
            return Ok(json!({
                "status": "not_found",
                "note": "This looks like a Solana signature, but this relayer has no Solana cluster configured.",
            }));
        };
        let records = self
            .store
            .by_source_tx_bytes(s.domain, sig.as_ref())
            .map_err(ApiError::internal)?;
        if !records.is_empty() {
            return Ok(self.found("transaction", &records));
        }
        let outcome = tokio::time::timeout(LOOK_TIMEOUT, s.rpc.outcome(&sig)).await;
        let source_tx = self.tx(s.domain, &text);
        let Ok(Ok(Some(outcome))) = outcome else {
            return Ok(json!({
                "status": "not_found",
                "note": format!("Not found: {} does not know this signature (a transaction sent moments ago may not have landed yet).", s.name),
            }));
        };
        if let Some(err) = outcome.error {
            return Ok(json!({
                "status": "not_bridge",
                "sourceTx": source_tx,
                "note": format!("This transaction on {} failed ({err}): nothing was burned.", s.name),
            }));
        }
        if !outcome.finalized {
            let eta = self.solana_eta(outcome.slot).await;
            return Ok(json!({
                "status": "pending",
                "kind": "transaction",
                "sourceDomain": s.domain,
                "sourceTx": source_tx,
                "messages": [],
                "note": format!("Landed on {} in slot {}, not finalized yet{}. The relayer lists a burn once it is final.", s.name, outcome.slot, eta.map(|e| format!(" (about {e:.0} s left)")).unwrap_or_default()),
            }));
        }
        match tokio::time::timeout(LOOK_TIMEOUT, s.watcher.burn_in(&sig)).await {
            Ok(Ok(Some(burn))) => Ok(json!({
                "status": "pending",
                "kind": "transaction",
                "sourceDomain": s.domain,
                "sourceTx": source_tx,
                "messages": [{
                    "messageHash": format!("{:#x}", burn.hash),
                    "sourceDomain": s.domain,
                    "destinationDomain": burn.message.destination_domain,
                    "destinationChain": self.chain_name(burn.message.destination_domain),
                }],
                "note": format!("Burned on {} in slot {} and finalized; the relayer lists it on its next poll.", s.name, burn.slot),
            })),
            Ok(Err(e)) => Ok(json!({
                "status": "not_bridge",
                "sourceTx": source_tx,
                "note": format!("This finalized transaction on {} is not a bridge burn: {}.", s.name, e.to_string().trim_start_matches("solana: ")),
            })),
            _ => Ok(json!({
                "status": "pending",
                "kind": "transaction",
                "sourceDomain": s.domain,
                "sourceTx": source_tx,
                "messages": [],
                "note": format!("Finalized on {}; reading it did not finish, try again.", s.name),
            })),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Finality, attesters

struct SourceFinality {
    is_final: bool,
    text: String,
    eta_s: Option<f64>,
}

/// One attester's answer about a message.
struct AttesterAnswer {
    index: usize,
    /// signed, pending_confirmations, pending_governor, unseen, unreachable
    status: String,
    signer: Option<Address>,
    release_at: Option<u64>,
}

impl Explorer {
    /// Seconds per block on an EVM chain, from the last 20 blocks' timestamps (cached).
    async fn block_time(&self, chain: usize) -> f64 {
        let c = &self.evm[chain];
        if let Some((at, bt)) = self
            .block_times
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&c.domain)
        {
            if now_ms().saturating_sub(*at) < CACHE_MS {
                return *bt;
            }
        }
        let read = async {
            let head = c.rpc.head().await.ok()?;
            let time = |n: u64| async move {
                c.rpc
                    .call("eth_getBlockByNumber", |p| async move {
                        p.get_block_by_number(n.into()).await
                    })
                    .await
                    .ok()
                    .flatten()
                    .map(|b| b.header.timestamp)
            };
            let span = head.min(20);
            if span == 0 {
                return None;
            }
            let (t1, t0) = tokio::join!(time(head), time(head - span));
            Some(((t1? as f64 - t0? as f64) / span as f64).max(0.1))
        };
        let bt = tokio::time::timeout(LOOK_TIMEOUT, read)
            .await
            .ok()
            .flatten()
            .unwrap_or(12.0);
        self.block_times
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(c.domain, (now_ms(), bt));
        bt
    }

    /// How far a burn in `block` is from final on EVM chain `chain`, with the time left.
    async fn evm_finality(&self, chain: usize, block: u64) -> Option<SourceFinality> {
        let c = &self.evm[chain];
        let source = EvmBlockSource {
            rpc: c.rpc.clone(),
            transmitter: c.transmitter,
        };
        let read = async {
            let head = source.head().await.ok()?;
            let final_height = source.final_height(c.finality, head).await.ok()?;
            Some((head, final_height))
        };
        let (head, final_height) = tokio::time::timeout(LOOK_TIMEOUT, read).await.ok()??;
        let bt = self.block_time(chain).await;
        let poll = c.poll_ms as f64 / 1000.0;
        if block <= final_height {
            return Some(SourceFinality {
                is_final: true,
                text: format!("final under {}", self.finality_text(c.domain)),
                eta_s: Some(0.0),
            });
        }
        let (text, blocks_left) = match c.finality {
            Finality::Confirmations { confirmations } => {
                let k = head.saturating_sub(block).min(confirmations);
                (
                    format!("{k} of {confirmations} confirmations"),
                    (block + confirmations).saturating_sub(head),
                )
            }
            _ => (
                format!(
                    "in block {block}; {} is block {final_height}",
                    self.finality_text(c.domain)
                ),
                block.saturating_sub(final_height),
            ),
        };
        Some(SourceFinality {
            is_final: false,
            text,
            eta_s: Some(blocks_left as f64 * bt + poll),
        })
    }

    /// Seconds until a Solana slot is finalized, estimated from the finalized slot.
    async fn solana_eta(&self, slot: u64) -> Option<f64> {
        let s = self.solana.as_ref()?;
        let finalized = tokio::time::timeout(
            LOOK_TIMEOUT,
            self.solana_rpc(s, "getSlot", json!([{ "commitment": "finalized" }])),
        )
        .await
        .ok()
        .flatten()
        .and_then(|v| v.as_u64());
        let poll = s.poll_ms as f64 / 1000.0;
        Some(match finalized {
            Some(f) if f >= slot => poll,
            Some(f) => (slot - f) as f64 * SOLANA_SLOT_SECS + poll,
            None => SOLANA_FINALITY_SLOTS as f64 * SOLANA_SLOT_SECS + poll,
        })
    }

    /// A raw Solana JSON-RPC call's `result`.
    async fn solana_rpc(&self, s: &SolanaSide, method: &str, params: Value) -> Option<Value> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let v: Value = self
            .http
            .post(&s.url)
            .json(&body)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v.get("result").cloned()
    }

    /// Every configured attester's answer for a message hash, asked concurrently.
    async fn attester_answers(&self, h: &B256) -> Vec<AttesterAnswer> {
        let asks = self
            .attesters
            .iter()
            .enumerate()
            .map(|(index, url)| async move {
                let url = format!("{url}/v1/attestations/{h:#x}");
                let answer = match self.http.get(&url).send().await {
                    Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => None,
                    Ok(r) => match r.json::<Value>().await {
                        Ok(v) => Some(v),
                        Err(_) => {
                            return AttesterAnswer {
                                index,
                                status: "unreachable".into(),
                                signer: None,
                                release_at: None,
                            }
                        }
                    },
                    Err(_) => {
                        return AttesterAnswer {
                            index,
                            status: "unreachable".into(),
                            signer: None,
                            release_at: None,
                        }
                    }
                };
                let Some(v) = answer else {
                    return AttesterAnswer {
                        index,
                        status: "unseen".into(),
                        signer: None,
                        release_at: None,
                    };
                };
                let signer = v["attestation"]
                    .as_str()
                    .and_then(|a| alloy::hex::decode(a.trim_start_matches("0x")).ok())
                    .and_then(|raw| Signature65::parse(&raw).ok())
                    .and_then(|s| s.recover(h).ok());
                let status = match v["status"].as_str() {
                    Some("complete") if signer.is_some() => "signed",
                    Some(other) => other,
                    None => "unseen",
                };
                AttesterAnswer {
                    index,
                    status: status.to_string(),
                    signer,
                    release_at: v["releaseAt"].as_u64(),
                }
            });
        let answers = futures_util::future::join_all(asks).await;
        let mut known = self.signers.lock().unwrap_or_else(|p| p.into_inner());
        for a in &answers {
            if let Some(s) = a.signer {
                known.insert(s, a.index);
            }
        }
        answers
    }

    /// The destination's attesters and threshold (cached), where this relayer delivers there.
    async fn attester_set(&self, d: Domain) -> Option<(Vec<Address>, usize)> {
        if let Some((at, set, t)) = self.sets.lock().unwrap_or_else(|p| p.into_inner()).get(&d) {
            if now_ms().saturating_sub(*at) < CACHE_MS {
                return Some((set.clone(), *t));
            }
        }
        let (dest, _) = self.destinations.get(&d)?;
        let (set, t) = tokio::time::timeout(LOOK_TIMEOUT, dest.attesters())
            .await
            .ok()?
            .ok()?;
        self.sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(d, (now_ms(), set.clone(), t));
        Some((set, t))
    }

    fn knows_signer(&self, a: &Address) -> bool {
        self.signers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(a)
    }

    fn attester_label(&self, a: &Address) -> String {
        match self
            .signers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(a)
        {
            Some(i) => format!("attester {} ({})", i + 1, a.to_checksum(None)),
            None => a.to_checksum(None),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The transfer page

#[derive(Deserialize)]
struct TransferQuery {
    /// Where to look for a burn the relayer has not recorded yet: its source domain and tx.
    source: Option<u32>,
    tx: Option<String>,
}

fn stage(id: &str, label: String, status: &str, detail: String) -> Value {
    json!({ "id": id, "label": label, "status": status, "detail": detail, "atMs": null, "txs": [] })
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
fn utc(secs: u64) -> String {
    // Days to a civil date (Howard Hinnant's algorithm).
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

async fn transfer(
    State(x): State<Arc<Explorer>>,
    Path(hash): Path<String>,
    Query(q): Query<TransferQuery>,
) -> Result<Json<Value>, ApiError> {
    let h = usd1_runtime::parse_hash(&hash, "message hash")?;
    if let Some(r) = x.store.get(&h).map_err(ApiError::internal)? {
        return Ok(shown(x.recorded_view(&h, &r).await));
    }
    Ok(shown(x.pending_view(&h, q).await))
}

impl Explorer {
    fn attester_stage_detail(
        &self,
        answers: &[AttesterAnswer],
        set: &Option<(Vec<Address>, usize)>,
    ) -> (String, Option<u64>) {
        let n = match set {
            Some((s, _)) if !s.is_empty() => s.len(),
            _ => self.attesters.len(),
        };
        let threshold = set.as_ref().map(|(_, t)| *t);
        let signed: Vec<String> = answers
            .iter()
            .filter(|a| a.status == "signed")
            .map(|a| {
                format!(
                    "attester {} ({})",
                    a.index + 1,
                    a.signer.map(|s| s.to_checksum(None)).unwrap_or_default()
                )
            })
            .collect();
        let held = answers
            .iter()
            .filter(|a| a.status == "pending_governor")
            .filter_map(|a| a.release_at)
            .max();
        let waiting: Vec<String> = answers
            .iter()
            .filter(|a| a.status != "signed")
            .map(|a| format!("attester {}: {}", a.index + 1, a.status.replace('_', " ")))
            .collect();
        let mut text = format!(
            "{} of {n} attesters signed{}",
            signed.len(),
            threshold
                .map(|t| format!(" ({t} needed)"))
                .unwrap_or_default()
        );
        if !signed.is_empty() {
            text.push_str(&format!(": {}", signed.join(", ")));
        }
        if !waiting.is_empty() {
            text.push_str(&format!("; {}", waiting.join(", ")));
        }
        (text, held)
    }

    /// A burn the relayer has not recorded (it records final burns only).
    async fn pending_view(&self, h: &B256, q: TransferQuery) -> Value {
        let hash = format!("{h:#x}");
        let answers = self.attester_answers(h).await;
        let seen = answers
            .iter()
            .any(|a| a.status != "unseen" && a.status != "unreachable");
        let mut message: Option<Message> = None;
        let mut burned = stage(
            "burned",
            "Burned".into(),
            "active",
            "looking for the burn on its source chain".into(),
        );
        let mut fin = stage(
            "source-final",
            "Final on the source chain".into(),
            "waiting",
            String::new(),
        );
        let mut source_domain = q.source.map(Domain);
        if let (Some(d), Some(tx)) = (source_domain, q.tx.as_deref()) {
            fin["label"] = json!(format!("Final on {}", self.chain_name(d)));
            if let Some(chain) = self.evm.iter().position(|c| c.domain == d) {
                if let Ok(txh) = B256::from_str(tx) {
                    if let Some(OnChain::Mined {
                        block, messages, ..
                    }) = self.find_evm_tx(txh).await
                    {
                        message = messages.into_iter().find(|m| m.hash() == *h);
                        if message.is_some() {
                            burned["status"] = json!("done");
                            burned["detail"] =
                                json!(format!("in block {block} on {}", self.chain_name(d)));
                            burned["txs"] = json!([self.tx(d, tx)]);
                            match self.evm_finality(chain, block).await {
                                Some(f) => {
                                    fin["status"] =
                                        json!(if f.is_final { "done" } else { "active" });
                                    fin["detail"] = json!(if f.is_final {
                                        format!(
                                            "{}; the relayer picks it up on its next poll",
                                            f.text
                                        )
                                    } else {
                                        f.text
                                    });
                                    fin["etaSeconds"] = json!(f.eta_s.map(|s| s.ceil()));
                                }
                                None => {
                                    fin["status"] = json!("active");
                                    fin["detail"] =
                                        json!(format!("{} did not answer", self.chain_name(d)));
                                }
                            }
                        }
                    }
                }
            } else if let (Some(s), Ok(sig)) = (&self.solana, Signature::from_str(tx)) {
                if s.domain == d {
                    if let Ok(Ok(Some(o))) =
                        tokio::time::timeout(LOOK_TIMEOUT, s.rpc.outcome(&sig)).await
                    {
                        burned["status"] = json!("done");
                        burned["detail"] = json!(format!("in slot {} on {}", o.slot, s.name));
                        burned["txs"] = json!([self.tx(d, tx)]);
                        if o.finalized {
                            fin["status"] = json!("done");
                            fin["detail"] =
                                json!("finalized; the relayer picks it up on its next poll");
                        } else {
                            let eta = self.solana_eta(o.slot).await;
                            fin["status"] = json!("active");
                            fin["detail"] = json!(format!(
                                "landed in slot {}; waiting for finalized commitment",
                                o.slot
                            ));
                            fin["etaSeconds"] = json!(eta.map(|s| s.ceil()));
                        }
                    }
                }
            }
        } else {
            source_domain = None;
        }
        if message.is_none() && burned["status"] != "done" && !seen {
            return json!({
                "status": "not_found",
                "messageHash": hash,
                "note": "Not found: the relayer has no record of this message, no attester has seen \
                         it, and it is not in the given source transaction.",
            });
        }
        if burned["status"] != "done" && seen {
            burned["status"] = json!("done");
            burned["detail"] = json!("seen by the attesters");
            if fin["status"] == "waiting" {
                fin["status"] = json!("active");
                fin["detail"] = json!("the attesters are waiting for it to be final");
            }
        }
        let destination = message.as_ref().map(|m| m.destination_domain);
        let set = match destination {
            Some(d) => self.attester_set(d).await,
            None => None,
        };
        let (detail, held) = self.attester_stage_detail(&answers, &set);
        let mut attested = stage("attested", "Attested".into(), "waiting", detail);
        if let Some(until) = held {
            attested["status"] = json!("held");
            attested["detail"] = json!(format!(
                "held by the governor until {} UTC; {}",
                utc(until),
                attested["detail"].as_str().unwrap_or("")
            ));
        } else if fin["status"] == "done" {
            attested["status"] = json!("active");
        }
        let dest_name = destination
            .map(|d| self.chain_name(d))
            .unwrap_or_else(|| "the destination".into());
        let stages = vec![
            burned,
            fin,
            attested,
            stage(
                "submitted",
                format!("Submitted to {dest_name}"),
                "waiting",
                String::new(),
            ),
            stage(
                "minted",
                format!("Minted on {dest_name}"),
                "waiting",
                String::new(),
            ),
            stage(
                "final",
                format!("Final on {dest_name}"),
                "waiting",
                String::new(),
            ),
        ];
        let body = message.as_ref().and_then(|m| m.burn_body().ok());
        json!({
            "status": "pending",
            "messageHash": hash,
            "transfer": {
                "messageHash": hash,
                "state": "not_final",
                "sourceDomain": source_domain,
                "sourceChain": source_domain.map(|d| self.chain_name(d)),
                "destinationDomain": destination,
                "destinationChain": destination.map(|d| self.chain_name(d)),
                "nonce": message.as_ref().map(|m| m.nonce),
                "amount": body.as_ref().map(|b| usd1(b.amount)),
                "sender": match (&body, source_domain) { (Some(b), Some(d)) => Some(self.word(d, &b.message_sender)), _ => None },
                "recipient": match (&body, destination) { (Some(b), Some(d)) => Some(self.word(d, &b.mint_recipient)), _ => None },
                "sourceTx": match (source_domain, q.tx.as_deref()) { (Some(d), Some(t)) => Some(self.tx(d, t)), _ => None },
                "stages": stages,
                "phase": phase(&stages),
                "terminal": false,
                "replacements": [],
            },
            "note": "Not final on its source chain yet: the relayer records a burn once it is final.",
        })
    }

    async fn recorded_view(&self, h: &B256, r: &MessageRecord) -> Value {
        let message = Message::decode_hex(&r.message).ok();
        let body = message.as_ref().and_then(|m| m.burn_body().ok());
        let (src, dst) = (r.source_domain, r.destination_domain);
        let dest_name = self.chain_name(dst);
        let src_name = self.chain_name(src);
        let state = &r.state;
        let terminal = state.is_terminal();
        let has_history = |s: &str| r.history.iter().any(|e| e.state == s);
        let first_at = |s: &str| r.history.iter().find(|e| e.state == s).map(|e| e.at_ms);
        let set = self.attester_set(dst).await;

        // Burned, final on the source: the relayer records final burns only.
        let mut burned = stage(
            "burned",
            "Burned".into(),
            "done",
            format!(
                "on {src_name}, {} {}",
                if self.is_solana(src) { "slot" } else { "block" },
                r.source_block
            ),
        );
        burned["atMs"] = json!(r.burned_at_ms);
        burned["txs"] = json!([self.tx(src, &r.source_tx)]);
        let mut fin = stage(
            "source-final",
            format!("Final on {src_name}"),
            "done",
            format!("final under {}", self.finality_text(src)),
        );
        fin["atMs"] = json!(r.observed_at_ms);

        // Attested: which signatures the stored attestation carries, or the attesters' word.
        let mut attested = stage("attested", "Attested".into(), "waiting", String::new());
        if let Some(a) = &r.attestation {
            let signers: Vec<Address> = alloy::hex::decode(a.trim_start_matches("0x"))
                .unwrap_or_default()
                .chunks(65)
                .filter_map(|c| Signature65::parse(c).ok())
                .filter_map(|s| s.recover(h).ok())
                .collect();
            // Which configured attester each signer is: learnt from their answers.
            if signers.iter().any(|s| !self.knows_signer(s)) {
                self.attester_answers(h).await;
            }
            let signers: Vec<String> = signers.iter().map(|s| self.attester_label(s)).collect();
            let n = match &set {
                Some((s, _)) if !s.is_empty() => s.len(),
                _ => self.attesters.len(),
            };
            attested["status"] = json!("done");
            attested["detail"] = json!(format!(
                "{} of {n} attesters: {}",
                signers.len(),
                signers.join(", ")
            ));
            attested["atMs"] = json!(first_at("attested").or(Some(r.attested_at_ms)));
        } else if matches!(state, MessageState::Delivered) {
            attested["status"] = json!("done");
            attested["detail"] =
                json!("not needed by this relayer: the destination had received it already");
        } else if !terminal {
            let answers = self.attester_answers(h).await;
            let (detail, held) = self.attester_stage_detail(&answers, &set);
            attested["status"] = json!("active");
            attested["detail"] = json!(detail);
            if let Some(until) = held {
                attested["status"] = json!("held");
                attested["detail"] = json!(format!(
                    "held by the governor until {} UTC; {detail}",
                    utc(until)
                ));
            }
        }

        // Submitted: every delivery transaction of ours (replacements and fillers marked).
        let mut submitted = stage(
            "submitted",
            format!("Submitted to {dest_name}"),
            "waiting",
            String::new(),
        );
        let live = match state {
            MessageState::Submitted { tx_hash } | MessageState::Confirmed { tx_hash } => {
                match self.destinations.get(&dst) {
                    Some((d, _)) => tokio::time::timeout(LOOK_TIMEOUT, d.tx_status(tx_hash, None))
                        .await
                        .ok()
                        .and_then(Result::ok),
                    None => None,
                }
            }
            _ => None,
        };
        let fee = |wei: u128| {
            if self.is_solana(dst) {
                format!("{} SOL", format_amount(U256::from(wei), 9))
            } else {
                format!("{} ETH", format_amount(U256::from(wei), 18))
            }
        };
        if !r.sent_txs.is_empty() {
            submitted["status"] = json!("done");
            submitted["txs"] = json!(r
                .sent_txs
                .iter()
                .map(|t| {
                    let mut v = self.tx(dst, t);
                    v["filler"] = json!(r.filler_txs.contains(t));
                    v
                })
                .collect::<Vec<_>>());
            let mut detail = match r.sent_txs.len() {
                1 => "one transaction".to_string(),
                n => {
                    format!("{n} transactions (each replacing the one before, same account nonce)")
                }
            };
            if let Some(TxStatus::Included { fee_paid, .. }) = &live {
                detail.push_str(&format!("; fee {}", fee(*fee_paid)));
            }
            submitted["detail"] = json!(detail);
            submitted["atMs"] = json!(first_at("submitted"));
        } else if matches!(state, MessageState::Delivered) {
            submitted["status"] = json!("done");
            submitted["detail"] = json!("by someone else (another relayer or the user)");
        } else if matches!(state, MessageState::Attested) {
            submitted["status"] = json!("active");
            submitted["detail"] = json!("checking the destination and sending");
        }

        // Minted (landed), then final on the destination.
        let mut minted = stage(
            "minted",
            format!("Minted on {dest_name}"),
            "waiting",
            String::new(),
        );
        let mut final_ = stage(
            "final",
            format!("Final on {dest_name}"),
            "waiting",
            String::new(),
        );
        let confirmations_needed = self.destinations.get(&dst).map(|(_, n)| *n);
        let included = match &live {
            Some(TxStatus::Included {
                success: true,
                block,
                confirmations,
                ..
            }) => Some((*block, *confirmations)),
            _ => None,
        };
        let landed = has_history("included")
            || included.is_some()
            || matches!(
                state,
                MessageState::Confirmed { .. } | MessageState::Delivered
            );
        if landed {
            minted["status"] = json!("done");
            minted["atMs"] = json!(first_at("included")
                .or_else(|| first_at("confirmed"))
                .or_else(|| first_at("delivered")));
            minted["detail"] = json!(match (&included, state) {
                (Some((block, _)), _) => format!(
                    "{} USD1 in {} {block}",
                    body.as_ref().map(|b| usd1(b.amount)).unwrap_or_default(),
                    if self.is_solana(dst) { "slot" } else { "block" }
                ),
                (None, MessageState::Delivered) => "received on the destination".to_string(),
                _ => r
                    .history
                    .iter()
                    .find(|e| e.state == "included")
                    .and_then(|e| e.detail.clone())
                    .unwrap_or_else(|| "minted".into()),
            });
            if let Some(tx) = state.tx_hash().or(r
                .history
                .iter()
                .find(|e| e.state == "included")
                .and_then(|e| e.tx_hash.as_deref()))
            {
                minted["txs"] = json!([self.tx(dst, tx)]);
            }
        } else if matches!(state, MessageState::Submitted { .. }) {
            minted["status"] = json!("active");
            minted["detail"] = json!("waiting for the transaction to land");
        }
        match state {
            MessageState::Confirmed { .. } => {
                final_["status"] = json!("done");
                final_["detail"] = json!(match included {
                    Some((_, k)) if !self.is_solana(dst) =>
                        format!("{k} confirmations (final at {})", self.finality_text(dst)),
                    _ => format!("final under {}", self.finality_text(dst)),
                });
                final_["atMs"] = json!(first_at("confirmed"));
            }
            MessageState::Delivered => {
                final_["status"] = json!("done");
                final_["detail"] = json!(r
                    .history
                    .iter()
                    .rev()
                    .find(|e| e.state == "delivered")
                    .and_then(|e| e.detail.clone())
                    .unwrap_or_else(|| "received on the destination".into()));
                final_["atMs"] = json!(first_at("delivered"));
            }
            _ if landed => {
                final_["status"] = json!("active");
                final_["detail"] = json!(match (included, confirmations_needed) {
                    (Some((_, k)), Some(n)) => format!(
                        "{k} of {n} confirmations; final under {}",
                        self.finality_text(dst)
                    ),
                    _ => format!("waiting for {}", self.finality_text(dst)),
                });
            }
            _ => {}
        }
        let mut stages = vec![burned, fin, attested, submitted, minted, final_];
        // Skipped or failed: the first stage not reached carries the reason.
        let outcome = match state {
            MessageState::Skipped { reason } => Some(("skipped", reason.clone())),
            MessageState::Failed { reason } => Some(("failed", reason.clone())),
            _ => None,
        };
        if let Some((kind, reason)) = &outcome {
            if let Some(s) = stages.iter_mut().find(|s| s["status"] != "done") {
                s["status"] = json!(kind);
                s["detail"] = json!(reason);
            }
            for s in stages
                .iter_mut()
                .filter(|s| s["status"] == "waiting" || s["status"] == "active")
            {
                s["status"] = json!("not_reached");
            }
        }
        let replacements: Vec<Value> = self
            .store
            .by_nonce(src, r.nonce)
            .unwrap_or_default()
            .iter()
            .filter(|o| o.message_hash != r.message_hash)
            .map(|o| summary(self, o))
            .collect();
        json!({
            "status": "found",
            "messageHash": r.message_hash,
            "transfer": {
                "messageHash": r.message_hash,
                "state": state.name(),
                "sourceDomain": src,
                "sourceChain": src_name,
                "destinationDomain": dst,
                "destinationChain": dest_name,
                "nonce": r.nonce,
                "amount": body.as_ref().map(|b| usd1(b.amount)),
                "sender": body.as_ref().map(|b| self.word(src, &b.message_sender)),
                "recipient": body.as_ref().map(|b| self.word(dst, &b.mint_recipient)),
                "sourceTx": self.tx(src, &r.source_tx),
                "stages": stages,
                "phase": phase(&stages),
                "terminal": terminal,
                "outcome": outcome.map(|(k, reason)| json!({ "kind": k, "reason": reason })),
                "lastError": r.last_error,
                "refusals": r.refusals,
                "replacements": replacements,
                "history": r.history,
            },
        })
    }
}

/// The furthest stage done, in order.
fn phase(stages: &[Value]) -> Option<String> {
    stages
        .iter()
        .rev()
        .find(|s| s["status"] == "done")
        .and_then(|s| s["id"].as_str().map(str::to_string))
}

// ---------------------------------------------------------------------------------------
// Proof of exactly-once

async fn proof(
    State(x): State<Arc<Explorer>>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let h = usd1_runtime::parse_hash(&hash, "message hash")?;
    let Some(r) = x.store.get(&h).map_err(ApiError::internal)? else {
        return Ok(shown(json!({
            "status": "not_found",
            "note": "The relayer has no record of this message (yet).",
        })));
    };
    let m = Message::decode_hex(&r.message).map_err(ApiError::internal)?;
    let dst = m.destination_domain;
    let received = match x.destinations.get(&dst) {
        Some((d, _)) => tokio::time::timeout(LOOK_TIMEOUT, d.is_received(&m))
            .await
            .ok()
            .and_then(Result::ok),
        None => None,
    };
    if let Some(c) = x.evm.iter().find(|c| c.domain == dst) {
        let key = m.used_nonce_key();
        let t = c.transmitter;
        let answer = tokio::time::timeout(
            LOOK_TIMEOUT,
            c.rpc.call("eth_call", |p| async move {
                MessageTransmitter::new(t, p).usedNonces(key).call().await
            }),
        )
        .await
        .ok()
        .and_then(Result::ok);
        return Ok(shown(json!({
            "status": "found",
            "kind": "evm",
            "chain": c.name,
            "contract": c.transmitter.to_checksum(None),
            "call": format!("usedNonces({key:#x})"),
            "key": format!("{key:#x}"),
            "keyOf": format!("keccak256(abi.encodePacked(uint32 {}, uint64 {}))", m.source_domain, m.nonce),
            "answer": answer.map(|a| a.to_string()),
            "received": received.or(answer.map(|a| !a.is_zero())),
            "note": "1 means the destination has received this (source domain, nonce): a second \
                     mint of it, or of a replacement, reverts.",
        })));
    }
    if let Some(s) = x.solana.as_ref().filter(|s| s.domain == dst) {
        let mut claims = Vec::new();
        for (authority, current) in
            std::iter::once((s.claim_authority, true)).chain(s.retired.iter().map(|k| (*k, false)))
        {
            let Ok(addr) = usd1_solana::claim::claim_address(&authority, m.source_domain, m.nonce)
            else {
                continue;
            };
            let account = x
                .solana_rpc(
                    s,
                    "getAccountInfo",
                    json!([addr.to_string(), { "commitment": "finalized", "encoding": "base64" }]),
                )
                .await;
            let owner = account
                .as_ref()
                .and_then(|v| v["value"]["owner"].as_str().map(str::to_string));
            claims.push(json!({
                "authority": authority.to_string(),
                "current": current,
                "address": addr.to_string(),
                "seed": usd1_solana::claim::claim_seed(m.source_domain, m.nonce),
                "owner": owner,
                "exists": owner.is_some(),
                "answered": account.is_some(),
                "ownedByMemo": owner.as_deref() == Some(usd1_solana::memo_program().to_string().as_str()),
                "explorerUrl": x.tx_url(dst, &addr.to_string()).map(|u| u.replace("/tx/", "/address/")),
            }));
        }
        return Ok(shown(json!({
            "status": "found",
            "kind": "solana",
            "chain": s.name,
            "commitment": "finalized",
            "claims": claims,
            "received": received,
            "note": "The claim account of (source domain, nonce), owned by the Memo program once \
                     created, records the mint for good: a second mint transaction fails creating it.",
        })));
    }
    Ok(shown(json!({
        "status": "unknown_destination",
        "note": format!("The destination ({}) is not a chain this relayer is configured for.", x.chain_name(dst)),
    })))
}

// ---------------------------------------------------------------------------------------
// Recent transfers

#[derive(Deserialize)]
struct RecentQuery {
    state: Option<String>,
    source: Option<u32>,
    destination: Option<u32>,
    limit: Option<usize>,
    /// The `next` of the previous page.
    before: Option<String>,
}

async fn recent(
    State(x): State<Arc<Explorer>>,
    Query(q): Query<RecentQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(st) = q.state.as_deref().filter(|s| !s.is_empty()) {
        if !MessageState::NAMES.contains(&st) {
            return Err(ApiError::bad_request(format!(
                "state must be one of {}",
                MessageState::NAMES.join(", ")
            )));
        }
    }
    let before = match q.before.as_deref().filter(|s| !s.is_empty()) {
        Some(b) => Some(
            alloy::hex::decode(b)
                .ok()
                .filter(|k| k.len() == 40)
                .ok_or_else(|| ApiError::bad_request("before must be a `next` cursor"))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(20).clamp(1, 200);
    let mut out = Vec::new();
    let mut next = None;
    let mut last_key = None;
    for item in x.store.recent(before.as_deref()) {
        let (key, r) = item.map_err(ApiError::internal)?;
        if q.state
            .as_deref()
            .is_some_and(|s| !s.is_empty() && s != r.state.name())
            || q.source.is_some_and(|d| Domain(d) != r.source_domain)
            || q.destination
                .is_some_and(|d| Domain(d) != r.destination_domain)
        {
            continue;
        }
        if out.len() == limit {
            next = last_key.map(alloy::hex::encode);
            break;
        }
        out.push(summary(&x, &r));
        last_key = Some(key);
    }
    Ok(shown(json!({ "transfers": out, "next": next })))
}

// ---------------------------------------------------------------------------------------
// Supply and governor

async fn supply() -> Json<Value> {
    let latest = crate::supply::LATEST
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let Some(l) = latest else {
        return shown(json!({
            "available": false,
            "note": "No supply audit has completed yet (the relayer audits periodically).",
        }));
    };
    let r = &l.report;
    let routes: Vec<Value> = r
        .routes()
        .iter()
        .map(|((s, d), route)| {
            json!({
                "source": r.chain_name(*s), "sourceDomain": s,
                "destination": r.chain_name(*d), "destinationDomain": d,
                "burns": route.burns,
                "inFlightCount": route.in_flight_count,
                "inFlight": usd1(route.in_flight),
            })
        })
        .collect();
    let chains: Vec<Value> = r
        .supplies
        .iter()
        .map(|s| {
            let in_flight_from = r
                .routes()
                .iter()
                .filter(|((src, _), _)| *src == s.domain)
                .fold(U256::ZERO, |a, (_, route)| a + route.in_flight);
            json!({
                "chain": s.chain, "domain": s.domain,
                "height": s.height.to_string(),
                "supply": usd1(s.supply),
                "inFlightFrom": usd1(in_flight_from),
            })
        })
        .collect();
    let (discrepancy, balanced) = match l.issued.map(|i| r.balance(i)) {
        Some(usd1_core::audit::Balance::Exact) => (Some("0".to_string()), Some(true)),
        Some(usd1_core::audit::Balance::Excess(d)) => (Some(usd1(d)), Some(false)),
        Some(usd1_core::audit::Balance::Shortfall(d)) => {
            (Some(format!("-{}", usd1(d))), Some(false))
        }
        None => (None, None),
    };
    shown(json!({
        "available": true,
        "atMs": l.at_ms,
        "chains": chains,
        "totalSupply": usd1(r.total_supply()),
        "inFlight": usd1(r.in_flight()),
        "inFlightCount": r.in_flight_count(),
        "toUnknownDomains": usd1(r.to_unknown_domains()),
        "outsideBridge": r.outside_bridge.iter().map(|o| json!({
            "chain": o.chain, "count": o.count, "amount": usd1(o.amount),
        })).collect::<Vec<_>>(),
        "routes": routes,
        "accounted": usd1(r.accounted()),
        "issued": l.issued.map(usd1),
        "discrepancy": discrepancy,
        "balanced": balanced,
    }))
}

/// Each attester's governor (`GET /v1/governor`), where it has one: windows and holds.
async fn governor(State(x): State<Arc<Explorer>>) -> Json<Value> {
    let asks = x.attesters.iter().enumerate().map(|(i, url)| {
        let x = &x;
        async move {
            let r = x.http.get(format!("{url}/v1/governor")).send().await.ok()?;
            if !r.status().is_success() {
                return None;
            }
            let v: Value = r.json().await.ok()?;
            Some(json!({ "attester": format!("attester {}", i + 1), "governor": v }))
        }
    });
    let answers: Vec<Value> = futures_util::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect();
    shown(json!({ "available": !answers.is_empty(), "attesters": answers }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::source_tx_bytes;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;
    use usd1_core::HistoryEntry;

    fn store() -> Store {
        let db = sled::Config::new().temporary(true).open().unwrap();
        Store::open(db).unwrap()
    }

    fn app(store: Store) -> Router {
        usd1_runtime::harden(
            router(Arc::new(Explorer::offline(store))),
            &usd1_runtime::ServerLimits::default(),
        )
    }

    async fn get(app: &Router, uri: &str) -> (StatusCode, String, String) {
        let response = app
            .clone()
            .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let ct = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, ct, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn get_json(app: &Router, uri: &str) -> (StatusCode, Value) {
        let (status, ct, body) = get(app, uri).await;
        assert_eq!(ct, "application/json", "{uri}");
        (status, serde_json::from_str(&body).unwrap())
    }

    /// A burn from `sender` to `recipient` with this nonce, observed at `at_ms`.
    fn record(
        nonce: u64,
        amount: u64,
        sender: B256,
        recipient: B256,
        at_ms: u64,
        tx: &str,
    ) -> MessageRecord {
        let body = usd1_core::BurnBody {
            version: 0,
            burn_token: B256::repeat_byte(1),
            mint_recipient: recipient,
            amount: U256::from(amount),
            message_sender: sender,
        };
        let m = Message {
            version: 0,
            source_domain: Domain(0),
            destination_domain: Domain(6),
            nonce,
            sender: B256::repeat_byte(2),
            recipient: B256::repeat_byte(3),
            destination_caller: B256::ZERO,
            body: body.encode(),
        };
        let mut r = crate::feed::new_record(&m, &m.encode(), tx, 7, 1);
        r.observed_at_ms = at_ms;
        r
    }

    #[test]
    fn answers_show_no_rpc_urls_but_keep_block_explorer_links() {
        let Json(v) = shown(json!({
            "lastError": "error sending request for url (https://rpc.example/v3/KEY)",
            "sourceTx": { "hash": "0x01", "url": "https://etherscan.io/tx/0x01" },
            "claims": [{ "explorerUrl": "https://explorer.solana.com/address/x" }],
        }));
        assert_eq!(v["lastError"], "error sending request for url (<url>)");
        assert_eq!(v["sourceTx"]["url"], "https://etherscan.io/tx/0x01");
        assert_eq!(
            v["claims"][0]["explorerUrl"],
            "https://explorer.solana.com/address/x"
        );
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_767_225_599), "2025-12-31 23:59:59");
    }

    #[test]
    fn search_input_is_classified() {
        let h = "ab".repeat(32);
        assert!(matches!(classify(&format!("0x{h}")), Input::Hash(_)));
        assert!(matches!(
            classify(&format!(" 0x{} ", h.to_uppercase())),
            Input::Hash(_)
        ));
        assert!(matches!(
            classify("0x90F79bf6EB2c4f870365E785982E1f101E93b906"),
            Input::EvmAddress(_)
        ));
        let sig = Signature::from([7u8; 64]).to_string();
        assert_eq!(
            classify(&sig),
            Input::SolanaSignature(Signature::from([7u8; 64]))
        );
        let key = Pubkey::new_from_array([9u8; 32]);
        assert_eq!(classify(&key.to_string()), Input::SolanaKey(key));
        for bad in ["", "0x12", "hello world", "0xzz"] {
            assert_eq!(classify(bad), Input::Invalid, "{bad}");
        }
    }

    #[tokio::test]
    async fn the_page_and_its_assets_are_served_locally() {
        let app = app(store());
        let (status, _, _) = get(&app, "/explorer").await;
        assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
        let (status, ct, html) = get(&app, "/explorer/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(ct.starts_with("text/html"), "{ct}");
        assert!(html.contains("app.js") && html.contains("style.css"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "nothing from elsewhere"
        );
        for (path, want) in [
            ("/explorer/app.js", "text/javascript"),
            ("/explorer/style.css", "text/css"),
            ("/explorer/favicon.svg", "image/svg+xml"),
        ] {
            let (status, ct, body) = get(&app, path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(ct.starts_with(want), "{path}: {ct}");
            assert!(
                !body.contains("https://"),
                "{path} loads nothing from the internet"
            );
        }
    }

    #[tokio::test]
    async fn search_finds_by_message_hash_source_tx_and_address() {
        let s = store();
        let user = Address::repeat_byte(0xaa).into_word();
        let other = Address::repeat_byte(0xbb).into_word();
        let tx = format!("0x{}", "cd".repeat(32));
        let a = record(1, 1_500_000, user, other, 1000, &tx);
        let b = record(
            2,
            2_000_000,
            other,
            other,
            2000,
            &format!("0x{}", "ef".repeat(32)),
        );
        s.observe(&a, Some(&tx.parse().unwrap())).unwrap();
        s.observe(&b, None).unwrap();
        let app = app(s);

        let (status, v) =
            get_json(&app, &format!("/v1/explorer/search?q={}", a.message_hash)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["status"], "found");
        assert_eq!(v["kind"], "message");
        assert_eq!(v["messages"][0]["amount"], "1.5");
        assert_eq!(v["messages"][0]["sourceChain"], "ethereum");
        assert_eq!(v["messages"][0]["destinationChain"], "base");
        assert_eq!(
            v["messages"][0]["sourceTx"]["url"],
            format!("https://scan.example/tx/{tx}")
        );

        let (_, v) = get_json(&app, &format!("/v1/explorer/search?q={tx}")).await;
        assert_eq!(v["kind"], "transaction");
        assert_eq!(v["messages"][0]["messageHash"], a.message_hash);

        let address = Address::repeat_byte(0xaa).to_checksum(None);
        let (_, v) = get_json(&app, &format!("/v1/explorer/search?q={address}")).await;
        assert_eq!(v["kind"], "address");
        assert_eq!(v["messages"].as_array().unwrap().len(), 1);
        let (_, v) = get_json(
            &app,
            &format!("/v1/explorer/search?q={}", Address::repeat_byte(0xbb)),
        )
        .await;
        let found: Vec<&str> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["messageHash"].as_str().unwrap())
            .collect();
        assert_eq!(
            found,
            [b.message_hash.as_str(), a.message_hash.as_str()],
            "newest first"
        );

        let unknown = format!("0x{}", "01".repeat(32));
        let (status, v) = get_json(&app, &format!("/v1/explorer/search?q={unknown}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["status"], "not_found");
        assert!(v["note"].as_str().unwrap().starts_with("Not found"));
        let (_, v) = get_json(&app, "/v1/explorer/search?q=what").await;
        assert_eq!(v["status"], "invalid");
    }

    #[tokio::test]
    async fn solana_source_signatures_are_indexed() {
        let s = store();
        let sig = Signature::from([5u8; 64]).to_string();
        let mut r = record(
            3,
            1_000_000,
            B256::repeat_byte(4),
            B256::repeat_byte(4),
            10,
            &sig,
        );
        r.source_domain = Domain::SOLANA;
        s.observe(&r, None).unwrap();
        let bytes = source_tx_bytes(&sig).unwrap();
        assert_eq!(bytes.len(), 64);
        let found = s.by_source_tx_bytes(Domain::SOLANA, &bytes).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].message_hash, r.message_hash);
        // Another domain's index does not answer for it.
        assert!(s.by_source_tx_bytes(Domain(0), &bytes).unwrap().is_empty());
    }

    #[test]
    fn a_store_from_before_the_indexes_is_indexed_at_open() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let sig = Signature::from([6u8; 64]).to_string();
        let mut r = record(
            9,
            1_000_000,
            B256::repeat_byte(4),
            B256::repeat_byte(5),
            10,
            &sig,
        );
        r.source_domain = Domain::SOLANA;
        // As an older relayer wrote it: the record and the active set only.
        let key = r.message_hash.parse::<B256>().unwrap();
        db.open_tree("messages")
            .unwrap()
            .insert(key.as_slice(), serde_json::to_vec(&r).unwrap())
            .unwrap();
        let s = Store::open(db).unwrap();
        assert_eq!(s.by_nonce(Domain::SOLANA, 9).unwrap().len(), 1);
        assert_eq!(s.by_address(&B256::repeat_byte(5), 10).unwrap().len(), 1);
        let bytes = source_tx_bytes(&sig).unwrap();
        assert_eq!(
            s.by_source_tx_bytes(Domain::SOLANA, &bytes).unwrap().len(),
            1
        );
        assert_eq!(s.recent(None).count(), 1);
    }

    #[tokio::test]
    async fn recent_is_newest_first_filtered_and_paginated() {
        let s = store();
        let mut hashes = Vec::new();
        for i in 0..5u64 {
            let mut r = record(
                10 + i,
                1_000_000,
                B256::repeat_byte(1),
                B256::repeat_byte(1),
                100 + i,
                "0x00",
            );
            if i % 2 == 1 {
                r.state = MessageState::Skipped {
                    reason: "below the minimum".into(),
                };
            }
            s.observe(&r, None).unwrap();
            hashes.push(r.message_hash.clone());
        }
        let app = app(s);
        let (_, v) = get_json(&app, "/v1/explorer/recent?limit=2").await;
        let page: Vec<&str> = v["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["messageHash"].as_str().unwrap())
            .collect();
        assert_eq!(page, [hashes[4].as_str(), hashes[3].as_str()]);
        let next = v["next"].as_str().unwrap().to_string();
        let (_, v) = get_json(&app, &format!("/v1/explorer/recent?limit=2&before={next}")).await;
        let page: Vec<&str> = v["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["messageHash"].as_str().unwrap())
            .collect();
        assert_eq!(page, [hashes[2].as_str(), hashes[1].as_str()]);
        let (_, v) = get_json(&app, "/v1/explorer/recent?state=skipped").await;
        assert_eq!(v["transfers"].as_array().unwrap().len(), 2);
        assert!(v["next"].is_null());
        let (_, v) = get_json(&app, "/v1/explorer/recent?source=5").await;
        assert!(v["transfers"].as_array().unwrap().is_empty());
        let (status, _) = get_json(&app, "/v1/explorer/recent?state=bogus").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = get_json(&app, "/v1/explorer/recent?before=zz").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn a_transfer_shows_its_timeline_replacements_and_reason() {
        let s = store();
        let mut a = record(
            42,
            3_000_000,
            B256::repeat_byte(1),
            B256::repeat_byte(1),
            10,
            "0x00",
        );
        a.attestation = None;
        a.state = MessageState::Failed {
            reason: "the destination refused it".into(),
        };
        a.history.push(HistoryEntry {
            at_ms: 11,
            state: "failed".into(),
            tx_hash: None,
            detail: None,
        });
        let mut b = record(
            42,
            3_000_000,
            B256::repeat_byte(1),
            B256::repeat_byte(2),
            20,
            "0x00",
        );
        b.state = MessageState::Confirmed {
            tx_hash: format!("0x{}", "77".repeat(32)),
        };
        b.sent_txs = vec![format!("0x{}", "77".repeat(32))];
        s.observe(&a, None).unwrap();
        s.observe(&b, None).unwrap();
        let app = app(s);
        let (_, v) = get_json(&app, &format!("/v1/explorer/transfers/{}", a.message_hash)).await;
        let t = &v["transfer"];
        assert_eq!(v["status"], "found");
        assert_eq!(t["amount"], "3");
        assert_eq!(t["outcome"]["kind"], "failed");
        let statuses: Vec<&str> = t["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            [
                "done",
                "done",
                "failed",
                "not_reached",
                "not_reached",
                "not_reached"
            ]
        );
        assert_eq!(t["stages"][2]["detail"], "the destination refused it");
        assert_eq!(
            t["replacements"][0]["messageHash"], b.message_hash,
            "same (source, nonce)"
        );

        let (_, v) = get_json(&app, &format!("/v1/explorer/transfers/{}", b.message_hash)).await;
        let t = &v["transfer"];
        assert_eq!(t["phase"], "final");
        assert_eq!(t["terminal"], true);
        assert_eq!(t["stages"][4]["status"], "done", "minted");
        assert_eq!(t["stages"][5]["status"], "done", "final");

        // Unknown to the relayer and (here) to every attester: not found, as JSON 200.
        let (status, v) = get_json(
            &app,
            &format!("/v1/explorer/transfers/0x{}", "02".repeat(32)),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["status"], "not_found");
        let (status, _) = get_json(&app, "/v1/explorer/transfers/nothex").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn supply_before_any_audit_says_so() {
        let app = app(store());
        let (status, v) = get_json(&app, "/v1/supply").await;
        assert_eq!(status, StatusCode::OK);
        assert!(v["available"].is_boolean());
        let (_, v) = get_json(&app, "/v1/explorer/governor").await;
        assert_eq!(v["available"], false);
    }
}
