//! The attester's HTTP API (DESIGN §5), Iris v1 compatible where the route matches.

use crate::governor::Pending;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use usd1_core::{TxRef, B256};
use usd1_runtime::extract::{Json, Path, Query};
use usd1_runtime::{now_ms, parse_hash, redact_urls, ApiError};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/attestations/{hash}", get(attestation))
        .route("/v1/messages/{domain}/{tx}", get(messages_by_tx))
        .route("/v1/solana/cosign", post(cosign))
        .route("/v1/solana/signer", get(solana_signer))
        .route("/v1/governor", get(crate::governor::api::status))
        .route(
            "/v1/governor/release/{hash}",
            post(crate::governor::api::release),
        )
        .route("/v1/governor/drop/{hash}", post(crate::governor::api::drop))
        .route("/healthz", get(usd1_runtime::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(usd1_runtime::metrics))
        .with_state(state)
}

/// `?wait_ms=`: how long a request for a message not signed yet (not seen, or below
/// finality) may wait for its signature before answering as it stands. Optional (Iris has
/// no such parameter; without it the answer is immediate); at most [`MAX_WAIT_MS`].
#[derive(serde::Deserialize)]
struct Wait {
    wait_ms: Option<u64>,
}

/// The longest wait a request may ask for: well under the server's request timeout.
const MAX_WAIT_MS: u64 = 2_000;

/// `GET /v1/attestations/{hash}`. With `wait_ms`, a relayer that saw the burn final before
/// this attester did gets the signature the moment it is stored, instead of asking again
/// after its retry delay (long-polling, woken by the store).
async fn attestation(
    State(s): State<Arc<AppState>>,
    Path(hash): Path<String>,
    Query(wait): Query<Wait>,
) -> Result<Json<Value>, ApiError> {
    let hash = parse_hash(&hash, "message hash")?;
    let mut wait = Duration::from_millis(wait.wait_ms.unwrap_or(0).min(MAX_WAIT_MS));
    // A waiting slot, or no wait: the answer as it stands now.
    let slot = match wait.is_zero() {
        true => None,
        false => s.waiting.try_acquire().ok(),
    };
    if slot.is_none() {
        wait = Duration::ZERO;
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Registered before the store is read: a signature stored in between still wakes it.
        let signed = s.store.signed_now().notified();
        tokio::pin!(signed);
        signed.as_mut().enable();
        let answer = attestation_now(&s, hash).await;
        let unsigned_yet = match &answer {
            Err(e) => e.0 == StatusCode::NOT_FOUND,
            Ok(Json(v)) => v["status"] == "pending_confirmations",
        };
        if !unsigned_yet || tokio::time::Instant::now() >= deadline {
            return answer;
        }
        s.wake_watcher_for(&hash);
        let _ = tokio::time::timeout_at(deadline, signed).await;
    }
}

async fn attestation_now(s: &Arc<AppState>, hash: B256) -> Result<Json<Value>, ApiError> {
    // Its burn was orphaned after it was final: the signature is no longer given out.
    if s.violations.contains(&hash) {
        return Ok(Json(
            json!({ "status": "finality_violated", "attestation": null }),
        ));
    }
    if let Some(m) = s.store.get(&hash).await.map_err(ApiError::internal)? {
        return Ok(Json(
            json!({ "status": "complete", "attestation": m.signature }),
        ));
    }
    if let Some(pending) = s
        .blocking(move |s| s.governor.pending(s, &hash))
        .await
        .map_err(ApiError::internal)?
    {
        return Ok(Json(governor_answer(&pending)));
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

/// A message the governor has: `pending_governor` with `releaseAt` (Unix seconds, when it
/// is planned to be signed), or `dropped_by_governor` (operators decided never to sign it).
fn governor_answer(pending: &Pending) -> Value {
    match pending {
        Pending::Held { kind, release_at } => json!({
            "status": "pending_governor",
            "attestation": null,
            "releaseAt": release_at,
            "reason": kind,
        }),
        Pending::Dropped => json!({ "status": "dropped_by_governor", "attestation": null }),
    }
}

fn cosigner(s: &AppState) -> Result<&crate::cosign::Cosigner, ApiError> {
    s.cosigner
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this attester has no Solana configuration"))
}

async fn cosign(
    headers: axum::http::HeaderMap,
    State(s): State<Arc<AppState>>,
    Json(req): Json<crate::cosign::CosignRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let signed = crate::cosign::Signed {
        store: &s.store,
        violations: &s.violations,
    };
    crate::cosign::cosign(cosigner(&s)?, signed, &headers, req).await
}

/// `GET /v1/solana/signer`: this attester's ed25519 key, so a relayer can name it among the
/// mint transaction's signers before asking for the co-signature, and the co-sign requests
/// per second it allows each caller, so a relayer can pace itself instead of being refused.
async fn solana_signer(State(s): State<Arc<AppState>>) -> Result<axum::Json<Value>, ApiError> {
    let c = cosigner(&s)?;
    Ok(axum::Json(json!({
        "signer": c.public_key().to_string(),
        "cosignRatePerS": c.rate_per_caller(),
    })))
}

async fn messages_by_tx(
    State(s): State<Arc<AppState>>,
    Path((domain, tx)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (domain, tx) = usd1_runtime::parse_source_path(&domain, &tx)?;
    let mut messages: Vec<Value> = s
        .store
        .by_tx(domain, &tx)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|m| {
            // Orphaned after it was final: not served here either.
            let violated = m
                .message_hash
                .parse::<B256>()
                .is_ok_and(|h| s.violations.contains(&h));
            if violated {
                json!({ "message": m.message, "messageHash": m.message_hash, "attestation": null, "status": "finality_violated" })
            } else {
                json!({ "message": m.message, "messageHash": m.message_hash, "attestation": m.signature, "status": "complete" })
            }
        })
        .collect();
    let mut governed = s.store.all_holds().await.map_err(ApiError::internal)?;
    governed.extend(s.store.all_dropped().await.map_err(ApiError::internal)?);
    for h in governed.iter().filter(|h| {
        h.source_domain == domain
            && TxRef::parse(&h.source_tx).is_some_and(|t| t.as_bytes() == tx.as_bytes())
    }) {
        let hash = h.hash();
        let Some(pending) = s
            .blocking(move |s| s.governor.pending(s, &hash))
            .await
            .map_err(ApiError::internal)?
        else {
            continue; // signed since it was read
        };
        let mut answer = governor_answer(&pending);
        answer["message"] = json!(h.message);
        answer["messageHash"] = json!(h.message_hash);
        messages.push(answer);
    }
    for (hash, u) in s
        .unconfirmed
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        if u.source_domain == domain && u.source_tx.as_bytes() == tx.as_bytes() {
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
/// A chain's last error is shown without URLs (an RPC URL can carry an API key).
async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    let mut chains = s.chains.read().unwrap_or_else(|p| p.into_inner()).clone();
    for c in chains.values_mut() {
        c.last_error = c.last_error.as_deref().map(redact_urls);
    }
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
    // Null when the store cannot count (the answer is about readiness, not the store).
    let signed = s.store.count().await.ok();
    (
        code,
        Json(json!({ "ready": ready, "signed": signed, "chains": chains })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ChainStatus;
    use axum::body::Body;
    use axum::http::{header, Request};
    use std::sync::RwLock;

    fn app() -> Router {
        served(state())
    }

    fn served(state: Arc<AppState>) -> Router {
        usd1_runtime::harden(router(state), &usd1_runtime::ServerLimits::default())
    }

    fn state() -> Arc<AppState> {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let mut chains = std::collections::BTreeMap::new();
        chains.insert(
            "ethereum".to_string(),
            ChainStatus {
                domain: 0,
                last_error: Some(
                    "error sending request for url (https://user:pw@rpc.example/v3/SECRETKEY?apikey=SECRETKEY)"
                        .into(),
                ),
                ..Default::default()
            },
        );
        let state = AppState {
            violations: crate::violations::Violations::open(&db).unwrap(),
            waiting: tokio::sync::Semaphore::new(crate::state::MAX_WAITING),
            wakes: Default::default(),
            store: crate::store::Store::open(db).unwrap(),
            key: crate::signer::EvmAttesterKey::new(
                alloy::signers::local::PrivateKeySigner::random(),
            ),
            unconfirmed: RwLock::new(Default::default()),
            chains: RwLock::new(chains),
            cosigner: None,
            names: Default::default(),
            governor: crate::governor::Governor::new(Default::default(), None),
        };
        Arc::new(state)
    }

    fn get(uri: &str) -> Request<Body> {
        Request::builder().uri(uri).body(Body::empty()).unwrap()
    }

    /// Waiting requests cannot hold every connection: past the waiting slots, a request
    /// that asks to wait is answered at once.
    #[tokio::test]
    async fn a_request_past_the_waiting_slots_is_answered_at_once() {
        let s = state();
        let _all = s
            .waiting
            .try_acquire_many(crate::state::MAX_WAITING as u32)
            .unwrap();
        let started = std::time::Instant::now();
        let uri = format!("/v1/attestations/{:#x}?wait_ms=2000", B256::repeat_byte(9));
        let (status, _) = usd1_runtime::testing::json_answer(served(s.clone()), get(&uri)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(started.elapsed() < Duration::from_millis(1000), "not held");
    }

    /// A relayer that saw the burn final first waits on the route for the signature: it
    /// gets it when stored, not after its deadline; unsigned, it gets the answer as it
    /// stands once the deadline passed; without `wait_ms` the answer is immediate.
    #[tokio::test]
    async fn a_waiting_request_gets_the_signature_when_it_is_stored() {
        let hash = B256::repeat_byte(7);
        let uri = |wait: &str| format!("/v1/attestations/{hash:#x}{wait}");
        let s = state();

        let started = std::time::Instant::now();
        let (status, _) =
            usd1_runtime::testing::json_answer(served(s.clone()), get(&uri(""))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(started.elapsed() < Duration::from_millis(500), "immediate");

        let started = std::time::Instant::now();
        let (status, _) =
            usd1_runtime::testing::json_answer(served(s.clone()), get(&uri("?wait_ms=300"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(started.elapsed() >= Duration::from_millis(300), "it waited");

        let waiting = tokio::spawn(usd1_runtime::testing::json_answer(
            served(s.clone()),
            get(&uri("?wait_ms=5000")),
        ));
        let started = std::time::Instant::now();
        tokio::task::yield_now().await;
        let signed = crate::store::SignedMessage {
            message: "0x00".into(),
            message_hash: format!("{hash:#x}"),
            signature: "0x11".into(),
            source_domain: usd1_core::Domain(0),
            destination_domain: usd1_core::Domain(6),
            nonce: 1,
            source_tx: format!("{:#x}", B256::repeat_byte(8)),
            source_block: 1,
            signed_at_ms: 0,
        };
        let change = crate::store::GovernorChange {
            window: None,
            released: None,
            meta: None,
        };
        s.store
            .blocking()
            .commit_signature(&signed, &hash, change)
            .unwrap();
        let (status, body) = waiting.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "complete");
        assert_eq!(body["attestation"], "0x11");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "answered when stored, not at its deadline"
        );
    }

    /// A relayer waiting for a burn this attester saw below finality wakes that chain's
    /// watcher (it may be final by now); a hash never seen (anyone can send one) and an
    /// answer that is not waited for wake none.
    #[tokio::test]
    async fn a_waiting_request_wakes_the_watcher_of_the_burns_chain() {
        let s = state();
        let wakes: Vec<_> = [0, 6]
            .map(|d| (usd1_core::Domain(d), usd1_runtime::watch::Wake::default()))
            .into();
        s.wakes.write().unwrap().extend(wakes.iter().cloned());
        // Woken since last asked (a wake is kept until taken; a zero timeout polls it once).
        let woken = |i: usize| {
            let wake = wakes[i].1.clone();
            async move {
                tokio::time::timeout(Duration::ZERO, wake.woken())
                    .await
                    .is_ok()
            }
        };
        let pending = B256::repeat_byte(5);
        s.unconfirmed.write().unwrap().insert(
            pending,
            crate::state::Unconfirmed {
                source_domain: usd1_core::Domain(6),
                message: "0x00".into(),
                source_tx: TxRef::from_hash(B256::repeat_byte(4)),
            },
        );
        let ask = |hash: B256, wait: &'static str| {
            let uri = format!("/v1/attestations/{hash:#x}{wait}");
            usd1_runtime::testing::json_answer(served(s.clone()), get(&uri))
        };

        let (_, body) = ask(pending, "").await;
        assert_eq!(body["status"], "pending_confirmations");
        assert!(
            !woken(0).await && !woken(1).await,
            "an answer not waited for wakes nothing"
        );

        let (_, body) = ask(pending, "?wait_ms=50").await;
        assert_eq!(body["status"], "pending_confirmations");
        assert!(woken(1).await, "the burn's own chain is polled at once");
        assert!(!woken(0).await, "another chain is not");

        let (status, _) = ask(B256::repeat_byte(3), "?wait_ms=50").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            !woken(0).await && !woken(1).await,
            "a hash never seen wakes nothing"
        );
    }

    async fn call(method: &str, uri: &str, json_body: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if json_body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Body::from(json_body.unwrap_or_default().to_owned()))
            .unwrap();
        usd1_runtime::testing::json_answer(app(), request).await
    }

    #[tokio::test]
    async fn hashes_are_0x_and_64_lowercase_hex_digits() {
        let hex = "ab".repeat(32);
        let refusal =
            json!({ "error": "message hash must be 0x followed by 64 lowercase hex digits" });
        for bad in [
            hex.clone(),
            format!("0X{hex}"),
            format!("0x{}", hex.to_uppercase()),
        ] {
            let (status, body) = call("GET", &format!("/v1/attestations/{bad}"), None).await;
            assert_eq!(
                (status, &body),
                (StatusCode::BAD_REQUEST, &refusal),
                "{bad}"
            );
        }
        let (status, _) = call("GET", &format!("/v1/attestations/0x{hex}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = call("GET", &format!("/v1/messages/0/{hex}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["error"],
            "transaction must be 0x followed by 64 lowercase hex digits (EVM) or a base58 signature (Solana)"
        );
        let (status, body) = call("GET", &format!("/v1/messages/x/0x{hex}"), None).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({ "error": "source domain must be a number" })
            )
        );
    }

    #[tokio::test]
    async fn framework_rejections_are_json_and_never_422() {
        let hash = format!("0x{}", "ab".repeat(32));
        let cases = [
            (
                "POST",
                "/v1/solana/cosign",
                Some("{"),
                StatusCode::BAD_REQUEST,
            ),
            (
                "POST",
                "/v1/solana/cosign",
                Some("[]"),
                StatusCode::BAD_REQUEST,
            ),
            (
                "POST",
                "/v1/solana/cosign",
                Some(r#"{"messageHash": 1, "transaction": "AA=="}"#),
                StatusCode::BAD_REQUEST,
            ),
            (
                "POST",
                "/v1/solana/cosign",
                None,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                "GET",
                "/v1/solana/cosign",
                None,
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            ("DELETE", "/healthz", None, StatusCode::METHOD_NOT_ALLOWED),
            ("GET", "/v2/attestations", None, StatusCode::NOT_FOUND),
        ];
        for (method, uri, body, want) in cases {
            let (status, answer) = call(method, uri, body).await;
            assert_eq!(status, want, "{method} {uri} {body:?}: {answer}");
            assert!(answer["error"].is_string(), "{answer}");
        }
        let big = format!(
            r#"{{"messageHash": "{hash}", "transaction": "{}"}}"#,
            "A".repeat(100 * 1024)
        );
        let (status, answer) = call("POST", "/v1/solana/cosign", Some(&big)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
        // A well-formed request reaches the handler.
        let good = format!(r#"{{"messageHash": "{hash}", "transaction": "AA=="}}"#);
        let (status, answer) = call("POST", "/v1/solana/cosign", Some(&good)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        assert_eq!(answer["error"], "this attester has no Solana configuration");
    }

    #[tokio::test]
    async fn readyz_errors_carry_no_rpc_urls() {
        let (status, body) = call("GET", "/readyz", None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let text = body.to_string();
        assert!(
            !text.contains("SECRETKEY") && !text.contains("pw@"),
            "{text}"
        );
        assert_eq!(
            body["chains"]["ethereum"]["last_error"],
            "error sending request for url (<url>)"
        );
    }
}
