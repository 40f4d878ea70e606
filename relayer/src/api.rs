//! The relayer's HTTP API (DESIGN §5): aggregated attestations, message status with its
//! history, paginated listing, lookup by source transaction, health and metrics.

use crate::feed::FeedStatus;
use crate::store::Store;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use usd1_core::{Domain, MessageRecord, MessageState};
use usd1_runtime::extract::{Json, Path, Query};
use usd1_runtime::{now_ms, parse_hash, redact_json, ApiError};

#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub feeds: FeedStatus,
    pub expected_feeds: usize,
    /// The transfer explorer's page and routes (`crate::explorer`), when served.
    pub explorer: Option<std::sync::Arc<crate::explorer::Explorer>>,
}

pub fn router(state: ApiState) -> Router {
    let explorer = state.explorer.clone();
    let api = Router::new()
        .route("/v1/attestations/{hash}", get(attestation))
        .route("/v1/messages/{hash}", get(message))
        .route("/v1/messages", get(list))
        .route("/v1/transactions/{domain}/{tx}", get(by_tx))
        .route("/healthz", get(usd1_runtime::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(usd1_runtime::metrics))
        .with_state(state);
    match explorer {
        Some(x) => api.merge(crate::explorer::router(x)),
        None => api,
    }
}

/// The stored record of a message hash given in a URL, or a 400/404.
async fn record(s: &ApiState, hash: &str) -> Result<MessageRecord, ApiError> {
    let hash = parse_hash(hash, "message hash")?;
    s.store
        .get(&hash)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("message hash not found"))
}

async fn attestation(
    State(s): State<ApiState>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let hash = parse_hash(&hash, "message hash")?;
    let known = s
        .store
        .attestation(&hash)
        .await
        .map_err(ApiError::internal)?;
    let attestation = known.ok_or_else(|| ApiError::not_found("message hash not found"))?;
    Ok(Json(match attestation {
        Some(a) => json!({ "status": "complete", "attestation": a }),
        None => json!({ "status": "pending_confirmations", "attestation": null }),
    }))
}

async fn message(
    State(s): State<ApiState>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(shown(public(&record(&s, &hash).await?))))
}

/// A record's JSON as the API shows it: error texts (last error, reasons, history details)
/// without URLs, which can carry RPC API keys.
fn shown(mut v: Value) -> Value {
    redact_json(&mut v);
    v
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
        "refusals": r.refusals,
        "lastError": r.last_error,
        "reason": match &r.state {
            MessageState::Skipped { reason } | MessageState::Failed { reason } => Some(reason),
            _ => None,
        },
        "history": r.history,
        "finalityViolated": r.finality_violated,
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
    let ListQuery {
        status,
        source,
        destination,
        ..
    } = q;
    // One more than shown: whether there is a next page.
    let found = s
        .store
        .scan(after.as_ref(), limit + 1, move |r| {
            !(status.as_deref().is_some_and(|st| st != r.state.name())
                || source.is_some_and(|d| Domain(d) != r.source_domain)
                || destination.is_some_and(|d| Domain(d) != r.destination_domain))
        })
        .await
        .map_err(ApiError::internal)?;
    let out: Vec<Value> = found.iter().take(limit).map(public).collect();
    let next = if found.len() > limit {
        out.last()
            .and_then(|v| v["messageHash"].as_str().map(str::to_string))
    } else {
        None
    };
    Ok(Json(shown(json!({ "messages": out, "next": next }))))
}

async fn by_tx(
    State(s): State<ApiState>,
    Path((domain, tx)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (domain, tx) = usd1_runtime::parse_source_path(&domain, &tx)?;
    let found = s
        .store
        .by_source_tx_bytes(domain, tx.as_bytes())
        .await
        .map_err(ApiError::internal)?;
    if found.is_empty() {
        return Err(ApiError::not_found(
            "no messages found for that transaction",
        ));
    }
    Ok(Json(shown(
        json!({ "messages": found.iter().map(public).collect::<Vec<_>>() }),
    )))
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;

    fn app() -> Router {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let state = ApiState {
            store: Store::open(db).unwrap(),
            feeds: Default::default(),
            expected_feeds: 1,
            explorer: None,
        };
        usd1_runtime::harden(router(state), &usd1_runtime::ServerLimits::default())
    }

    async fn get(uri: &str) -> (StatusCode, Value) {
        get_with("GET", uri).await
    }

    async fn get_with(method: &str, uri: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        usd1_runtime::testing::json_answer(app(), request).await
    }

    #[tokio::test]
    async fn hashes_are_strict_and_solana_signatures_are_accepted() {
        let hex = "ab".repeat(32);
        for bad in [
            hex.clone(),
            format!("0X{hex}"),
            format!("0x{}", hex.to_uppercase()),
        ] {
            let (status, body) = get(&format!("/v1/messages/{bad}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(
                body["error"],
                "message hash must be 0x followed by 64 lowercase hex digits"
            );
        }
        let (status, _) = get(&format!("/v1/attestations/0x{hex}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = get(&format!("/v1/messages?after=0x{}", hex.to_uppercase())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        // By source transaction: an EVM hash, strictly, or a Solana signature.
        let (status, body) = get(&format!("/v1/transactions/0/0x{hex}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, body) = get(&format!("/v1/transactions/0/0X{hex}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let signature = usd1_solana::solana_sdk::signature::Signature::from([7u8; 64]).to_string();
        let (status, body) = get(&format!("/v1/transactions/5/{signature}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        for bad in [hex.as_str(), "nothex", "0OIl"] {
            let (status, body) = get(&format!("/v1/transactions/5/{bad}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        }
    }

    #[tokio::test]
    async fn framework_rejections_are_json() {
        for (method, uri, want) in [
            ("GET", "/v1/messages?limit=abc", StatusCode::BAD_REQUEST),
            ("GET", "/v1/messages?source=-1", StatusCode::BAD_REQUEST),
            ("GET", "/v1/messages?status=bogus", StatusCode::BAD_REQUEST),
            ("DELETE", "/v1/messages", StatusCode::METHOD_NOT_ALLOWED),
            ("POST", "/readyz", StatusCode::METHOD_NOT_ALLOWED),
            ("GET", "/v1/nothing", StatusCode::NOT_FOUND),
        ] {
            let (status, body) = get_with(method, uri).await;
            assert_eq!(status, want, "{method} {uri}: {body}");
            assert!(body["error"].is_string(), "{body}");
        }
        let (status, body) = get("/v1/messages?limit=5").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({ "messages": [], "next": null }));
    }

    #[test]
    fn shown_records_carry_no_rpc_urls() {
        let v = shown(json!({
            "lastError": "error sending request for url (https://rpc.example/v3/KEY)",
            "history": [{ "detail": "POST http://u:p@10.0.0.1:8545/?apikey=KEY: 401" }],
        }));
        assert_eq!(
            v,
            json!({
                "lastError": "error sending request for url (<url>)",
                "history": [{ "detail": "POST <url>: 401" }],
            })
        );
    }
}
