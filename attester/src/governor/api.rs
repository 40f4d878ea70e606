//! The governor's routes: `GET /v1/governor` (public, read-only: limits, windows, holds, as
//! Wormhole guardians publish their governor status), and the operators' `POST
//! /v1/governor/release/{hash}` and `POST /v1/governor/drop/{hash}`, which need
//! `Authorization: Bearer <governor.admin_token_file's token>` (compared in constant time):
//! 401 without it or with another, 403 when the attester has no admin token configured.

use super::AdminOutcome;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use usd1_runtime::auth::constant_time_eq;
use usd1_runtime::extract::{Json, Path};
use usd1_runtime::{now_ms, parse_hash, ApiError};

pub async fn status(State(s): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let now = now_ms() / 1000;
    s.blocking(move |s| s.governor.status(s, now))
        .await
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
    match s
        .blocking(move |s| s.governor.release(s, &hash))
        .await
        .map_err(ApiError::internal)?
    {
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
        .blocking(move |s| s.governor.drop_held(s, &hash))
        .await
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
    let presented = usd1_runtime::auth::bearer_token(headers, "governor administration")?;
    if constant_time_eq(expected.as_bytes(), presented.as_bytes()) {
        Ok(())
    } else {
        tracing::warn!("governor admin request with a wrong token");
        Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "wrong governor admin token".into(),
        ))
    }
}
