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
    let RecentQuery {
        state,
        source,
        destination,
        ..
    } = q;
    // One more than shown: whether there is a next page.
    let found = x
        .store
        .recent(before.as_deref(), limit + 1, move |r| {
            !(state
                .as_deref()
                .is_some_and(|s| !s.is_empty() && s != r.state.name())
                || source.is_some_and(|d| Domain(d) != r.source_domain)
                || destination.is_some_and(|d| Domain(d) != r.destination_domain))
        })
        .await
        .map_err(ApiError::internal)?;
    let shown_here = &found[..found.len().min(limit)];
    let out: Vec<Value> = shown_here.iter().map(|(_, r)| summary(&x, r)).collect();
    let next = if found.len() > limit {
        shown_here.last().map(|(key, _)| alloy::hex::encode(key))
    } else {
        None
    };
    Ok(shown(json!({ "transfers": out, "next": next })))
}
