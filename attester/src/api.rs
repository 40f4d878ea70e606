//! The attester's HTTP API (DESIGN §5), Iris v1 compatible where the route matches.

use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;
use usd1_core::Domain;
use usd1_runtime::{now_ms, parse_hash, ApiError};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/attestations/{hash}", get(attestation))
        .route("/v1/messages/{domain}/{tx}", get(messages_by_tx))
        .route("/v1/solana/cosign", post(crate::cosign::cosign))
        .route("/v1/solana/signer", get(crate::cosign::signer))
        .route("/healthz", get(usd1_runtime::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(usd1_runtime::metrics))
        .with_state(state)
}

async fn attestation(
    State(s): State<Arc<AppState>>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let hash = parse_hash(&hash, "message hash")?;
    if let Some(m) = s.store.get(&hash).map_err(ApiError::internal)? {
        return Ok(Json(
            json!({ "status": "complete", "attestation": m.signature }),
        ));
    }
    if s.unconfirmed
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .contains_key(&hash)
    {
        return Ok(Json(
            json!({ "status": "pending_confirmations", "attestation": null }),
        ));
    }
    Err(ApiError::not_found("message hash not found"))
}

async fn messages_by_tx(
    State(s): State<Arc<AppState>>,
    Path((domain, tx)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let domain = Domain(
        domain
            .parse()
            .map_err(|_| ApiError::bad_request("source domain must be a number"))?,
    );
    let tx = parse_hash(&tx, "transaction hash")?;
    let mut messages: Vec<Value> = s
        .store
        .by_tx(domain, &tx)
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|m| json!({ "message": m.message, "messageHash": m.message_hash, "attestation": m.signature, "status": "complete" }))
        .collect();
    for (hash, u) in s
        .unconfirmed
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        if u.source_domain == domain && u.source_tx == tx {
            messages.push(json!({ "message": u.message, "messageHash": format!("{hash:#x}"), "attestation": null, "status": "pending_confirmations" }));
        }
    }
    if messages.is_empty() {
        return Err(ApiError::not_found(
            "no messages found for that transaction",
        ));
    }
    Ok(Json(json!({ "messages": messages })))
}

/// Ready when every chain's watcher answered recently and has read up to the final height.
async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    let chains = s.chains.read().unwrap_or_else(|p| p.into_inner()).clone();
    let now = now_ms();
    let ready = !chains.is_empty()
        && chains.values().all(|c| {
            c.last_ok_ms > 0
                && now.saturating_sub(c.last_ok_ms) <= (3 * c.poll_interval_ms).max(5000)
                && c.next_block > c.final_height
        });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(json!({ "ready": ready, "signed": s.store.count(), "chains": chains })),
    )
        .into_response()
}
