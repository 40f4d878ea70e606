//! Proof of exactly-once: where the destination records that a (source domain, nonce) was
//! received.

use super::{shown, Explorer, LOOK_TIMEOUT};
use axum::extract::State;
use serde_json::{json, Value};
use std::sync::Arc;
use usd1_core::Message;
use usd1_evm::bindings::MessageTransmitter::{self};
use usd1_runtime::extract::{Json, Path};
use usd1_runtime::ApiError;

pub(super) async fn proof(
    State(x): State<Arc<Explorer>>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let h = usd1_runtime::parse_hash(&hash, "message hash")?;
    let Some(r) = x.store.get(&h).await.map_err(ApiError::internal)? else {
        return Ok(shown(json!({
            "status": "not_found",
            "note": "The relayer has no record of this message (yet).",
        })));
    };
    let m = Message::decode_hex(&r.message).map_err(ApiError::internal)?;
    let dst = m.destination_domain;
    let received = match x.destinations.get(&dst) {
        Some(d) => tokio::time::timeout(LOOK_TIMEOUT, d.is_received(&m))
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
