//! Search: what the text typed in the box is, and what the relayer, the chains and the
//! attesters know about it.

use super::{shown, summary, Explorer, LOOK_TIMEOUT};
use alloy::primitives::{Address, B256};
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use std::str::FromStr;
use std::sync::Arc;
use usd1_core::MessageRecord;
use usd1_runtime::extract::{Json, Query};
use usd1_runtime::ApiError;
use usd1_solana::solana_sdk::pubkey::Pubkey;
use usd1_solana::solana_sdk::signature::Signature;

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    q: String,
}

/// What a search box's text is.
#[derive(Debug, PartialEq)]
pub(super) enum Input {
    /// `0x` + 64 hex: a message hash or an EVM transaction hash.
    Hash(B256),
    EvmAddress(Address),
    SolanaSignature(Signature),
    SolanaKey(Pubkey),
    Invalid,
}

pub(super) fn classify(text: &str) -> Input {
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

pub(super) async fn search(
    State(x): State<Arc<Explorer>>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let input = classify(&q.q);
    let mut answer = match input {
        Input::Hash(h) => x.search_hash(h).await?,
        Input::EvmAddress(a) => x.search_address(a.into_word(), a.to_checksum(None)).await?,
        Input::SolanaKey(k) => {
            x.search_address(B256::from(k.to_bytes()), k.to_string())
                .await?
        }
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

impl Explorer {
    fn found(&self, kind: &str, records: &[MessageRecord]) -> Value {
        json!({
            "status": "found",
            "kind": kind,
            "messages": records.iter().map(|r| summary(self, r)).collect::<Vec<_>>(),
        })
    }

    async fn search_hash(&self, h: B256) -> Result<Value, ApiError> {
        if let Some(r) = self.store.get(&h).await.map_err(ApiError::internal)? {
            return Ok(self.found("message", &[r]));
        }
        let mut records = Vec::new();
        for c in &self.evm {
            records.extend(
                self.store
                    .by_source_tx(c.domain, &h)
                    .await
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

    async fn search_address(&self, word: B256, shown: String) -> Result<Value, ApiError> {
        const LIMIT: usize = 100;
        let records = self
            .store
            .by_address(&word, LIMIT)
            .await
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
            .await
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
