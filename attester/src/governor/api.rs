//! The governor's routes: `GET /v1/governor` (public, read-only: limits, windows, holds, as
//! Wormhole guardians publish their governor status), and the operators' `POST
//! /v1/governor/release/{hash}` and `POST /v1/governor/drop/{hash}`, which need
//! `Authorization: Bearer <governor.admin_token_file's token>` (compared in constant time):
//! 401 without it or with another, 403 when the attester has no admin token configured.

use super::AdminOutcome;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use usd1_runtime::extract::{Json, Path};
use usd1_runtime::{now_ms, parse_hash, ApiError};

pub async fn status(State(s): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    s.governor
        .status(&s, now_ms() / 1000)
        .map(Json)
        .map_err(ApiError::internal)
}

pub async fn release(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(s.governor.admin_token(), &headers)?;
    let hash = parse_hash(&hash, "message hash")?;
    match s.governor.release(&s, &hash).map_err(ApiError::internal)? {
        AdminOutcome::Released(sig) => Ok(Json(
            json!({ "status": "complete", "attestation": sig, "released": true }),
        )),
        AdminOutcome::AlreadySigned(sig) => Ok(Json(
            json!({ "status": "complete", "attestation": sig, "released": false }),
        )),
        _ => Err(ApiError::not_found(
            "this attester's governor neither holds nor dropped that message",
        )),
    }
}

pub async fn drop(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(s.governor.admin_token(), &headers)?;
    let hash = parse_hash(&hash, "message hash")?;
    match s
        .governor
        .drop_held(&s, &hash)
        .map_err(ApiError::internal)?
    {
        AdminOutcome::Dropped => Ok(Json(json!({ "status": "dropped", "dropped": true }))),
        AdminOutcome::AlreadyDropped => Ok(Json(json!({ "status": "dropped", "dropped": false }))),
        AdminOutcome::AlreadySigned(_) => Err(ApiError(
            StatusCode::CONFLICT,
            "already signed by this attester: too late to drop".into(),
        )),
        _ => Err(ApiError::not_found(
            "this attester's governor does not hold that message",
        )),
    }
}

/// 403 when no admin token is configured; 401 without a bearer token or with another one.
fn authorize(expected: Option<&str>, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "governor administration disabled: no governor.admin_token_file configured on this attester".into(),
        ));
    };
    let unauthorized = |why: &str| ApiError(StatusCode::UNAUTHORIZED, why.into());
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        unauthorized("governor administration needs a credential: Authorization: Bearer <token>")
    })?;
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| unauthorized("the Authorization header must be: Bearer <token>"))?;
    if constant_time_eq(expected.as_bytes(), presented.as_bytes()) {
        Ok(())
    } else {
        tracing::warn!("governor admin request with a wrong token");
        Err(unauthorized("wrong governor admin token"))
    }
}

/// Equality whose time depends only on the lengths (a token's length is not its secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}
