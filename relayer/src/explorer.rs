//! The transfer explorer: a page for people (`/explorer`, static HTML/CSS/JS embedded in the
//! binary, nothing loaded from elsewhere) over JSON routes under `/v1/explorer/…` and
//! `/v1/supply`. It answers from the relayer's records and, for what the relayer has not
//! recorded yet (a burn that is not final), from the source chain and the attesters
//! themselves: "not found yet" (in the mempool, not final, seen by the attesters) is told
//! apart from "not a bridge burn" and from "unknown". Explorer routes answer 200 with a
//! `status` field for a miss, so the page can say so.

use crate::start::StartError;
use crate::store::Store;
use alloy::primitives::{Address, B256, U256};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use usd1_config::{Finality, RelayerConfig};
use usd1_core::traits::Destination;
use usd1_core::{format_amount, Domain, Message, MessageRecord};
use usd1_evm::EvmRpc;
use usd1_runtime::extract::Json;
use usd1_runtime::redact_urls;
use usd1_solana::solana_sdk::pubkey::Pubkey;

mod attesters;
mod finality;
mod onchain;
mod page;
mod proof;
mod recent;
mod search;
mod supply;
#[cfg(test)]
mod tests;
mod transfer;

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
    /// Confirmations a delivery here needs on top of `finality` (the relayer's setting).
    delivery_confirmations: u64,
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

/// Each destination as the pipeline uses it.
pub type Destinations = HashMap<Domain, Arc<dyn Destination>>;

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
    ) -> Result<Self, StartError> {
        let evm = config
            .chains
            .iter()
            .map(|(name, c)| EvmChain {
                name: name.clone(),
                domain: c.domain,
                rpc: rpcs[name].clone(),
                transmitter: c.message_transmitter,
                finality: c.finality,
                delivery_confirmations: c.delivery_confirmations,
                poll_ms: c.poll_interval_ms,
                explorer_tx_url: c.explorer_tx_url.clone(),
            })
            .collect();
        let solana = match &config.solana {
            Some(s) => {
                // Classifies one transaction at a time (`burn_in`): a reader, no cursor.
                Some(SolanaSide {
                    name: s.name.clone(),
                    domain: s.domain,
                    url: s.rpc_urls[0].clone(),
                    rpc: usd1_solana::rpc::SolanaRpc::with_fallback(&s.rpc_urls)?,
                    watcher: usd1_solana::watcher::SolanaWatcher::reader(
                        s,
                        usd1_config::remote_messengers(&config.chains),
                    )?,
                    claim_authority: s.claim_authority,
                    retired: s.retired_claim_authorities.clone(),
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
            delivery_confirmations: 1,
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

    /// (confirmations of `block` now, confirmations a delivery needs) on an EVM destination;
    /// `None` on Solana (commitment levels, not counts) or when its head cannot be read.
    async fn confirmations(&self, d: Domain, block: u64) -> Option<(u64, u64)> {
        let c = self.evm.iter().find(|c| c.domain == d)?;
        let head = tokio::time::timeout(LOOK_TIMEOUT, c.rpc.head())
            .await
            .ok()?
            .ok()?;
        Some((head.saturating_sub(block) + 1, c.delivery_confirmations))
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
        .route("/explorer/", get(page::index))
        .route("/explorer/app.js", get(page::app_js))
        .route("/explorer/style.css", get(page::style_css))
        .route("/explorer/favicon.svg", get(page::favicon))
        .route("/v1/explorer/config", get(page::config))
        .route("/v1/explorer/search", get(search::search))
        .route("/v1/explorer/transfers/{hash}", get(transfer::transfer))
        .route("/v1/explorer/proof/{hash}", get(proof::proof))
        .route("/v1/explorer/recent", get(recent::recent))
        .route("/v1/explorer/governor", get(attesters::governor))
        .route("/v1/supply", get(supply::supply))
        .with_state(x)
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
