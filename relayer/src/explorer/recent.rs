//! Recent transfers, newest first, filtered and paginated.

use super::{shown, summary, Explorer};
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use usd1_core::{Domain, MessageState};
use usd1_runtime::extract::{Json, Query};
use usd1_runtime::ApiError;

#[derive(Deserialize)]
pub(super) struct RecentQuery {
    state: Option<String>,
    source: Option<u32>,
    destination: Option<u32>,
    limit: Option<usize>,
    /// The `next` of the previous page.
    before: Option<String>,
}

pub(super) async fn recent(
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
