//! The relayer's HTTP API (DESIGN §5): aggregated attestations, message status with its
//! history, paginated listing, lookup by source transaction, health and metrics.

use crate::feed::FeedStatus;
use crate::store::Store;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use usd1_core::{Domain, MessageRecord, MessageState};
use usd1_runtime::{now_ms, parse_hash, ApiError};

#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub feeds: FeedStatus,
    pub expected_feeds: usize,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/attestations/{hash}", get(attestation))
        .route("/v1/messages/{hash}", get(message))
        .route("/v1/messages", get(list))
        .route("/v1/transactions/{domain}/{tx}", get(by_tx))
        .route("/healthz", get(usd1_runtime::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(usd1_runtime::metrics))
        .with_state(state)
}

/// The stored record of a message hash given in a URL, or a 400/404.
fn record(s: &ApiState, hash: &str) -> Result<MessageRecord, ApiError> {
    let hash = parse_hash(hash, "message hash")?;
    s.store
        .get(&hash)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("message hash not found"))
}

async fn attestation(
    State(s): State<ApiState>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(match record(&s, &hash)?.attestation {
        Some(a) => json!({ "status": "complete", "attestation": a }),
        None => json!({ "status": "pending_confirmations", "attestation": null }),
    }))
}

async fn message(
    State(s): State<ApiState>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(public(&record(&s, &hash)?)))
}

/// The record without internals (the raw signed transaction stays private).
fn public(r: &MessageRecord) -> Value {
    json!({
        "messageHash": r.message_hash,
        "message": r.message,
        "sourceDomain": r.source_domain,
        "destinationDomain": r.destination_domain,
        "nonce": r.nonce,
        "sourceTx": r.source_tx,
        "sourceBlock": r.source_block,
        "status": r.state.name(),
        "state": r.state,
        "attestation": r.attestation,
        "signatures": r.signatures,
        "destinationTxs": r.sent_txs,
        "attempts": r.attempts,
        "history": r.history,
    })
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    source: Option<u32>,
    destination: Option<u32>,
    limit: Option<usize>,
    after: Option<String>,
}

async fn list(
    State(s): State<ApiState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(st) = &q.status {
        if !MessageState::NAMES.contains(&st.as_str()) {
            return Err(ApiError::bad_request(format!(
                "status must be one of {}",
                MessageState::NAMES.join(", ")
            )));
        }
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let after = q
        .after
        .as_deref()
        .map(|a| parse_hash(a, "after"))
        .transpose()?;
    let mut out = Vec::new();
    let mut next = None;
    for r in s.store.scan(after.as_ref()) {
        let r = r.map_err(ApiError::internal)?;
        if q.status.as_deref().is_some_and(|st| st != r.state.name())
            || q.source.is_some_and(|d| Domain(d) != r.source_domain)
            || q.destination
                .is_some_and(|d| Domain(d) != r.destination_domain)
        {
            continue;
        }
        if out.len() == limit {
            next = out
                .last()
                .and_then(|v: &Value| v["messageHash"].as_str().map(str::to_string));
            break;
        }
        out.push(public(&r));
    }
    Ok(Json(json!({ "messages": out, "next": next })))
}

async fn by_tx(
    State(s): State<ApiState>,
    Path((domain, tx)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let domain = Domain(
        domain
            .parse()
            .map_err(|_| ApiError::bad_request("source domain must be a number"))?,
    );
    let tx = parse_hash(&tx, "transaction hash")?;
    let found = s
        .store
        .by_source_tx(domain, &tx)
        .map_err(ApiError::internal)?;
    if found.is_empty() {
        return Err(ApiError::not_found(
            "no messages found for that transaction",
        ));
    }
    Ok(Json(
        json!({ "messages": found.iter().map(public).collect::<Vec<_>>() }),
    ))
}

async fn readyz(State(s): State<ApiState>) -> Response {
    let feeds = s.feeds.read().unwrap_or_else(|p| p.into_inner()).clone();
    let now = now_ms();
    let ready = feeds.len() == s.expected_feeds
        && feeds.values().all(|(ok_at, caught_up, poll)| {
            *caught_up && now.saturating_sub(*ok_at) <= (3 * poll).max(5000)
        });
    let chains: serde_json::Map<String, Value> = feeds
        .iter()
        .map(|(n, (ok_at, caught_up, _))| {
            (
                n.clone(),
                json!({ "last_ok_ms": ok_at, "caught_up": caught_up }),
            )
        })
        .collect();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(json!({ "ready": ready, "chains": chains }))).into_response()
}
