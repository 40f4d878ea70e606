//! The transfer page: a transfer's timeline, stage by stage, from the burn to the mint being
//! final on the destination.

mod pending;
mod recorded;

use super::attesters::AttesterAnswer;
use super::{shown, Explorer};
use alloy::primitives::Address;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use usd1_runtime::extract::{Json, Path, Query};
use usd1_runtime::ApiError;

#[derive(Deserialize)]
pub(super) struct TransferQuery {
    /// Where to look for a burn the relayer has not recorded yet: its source domain and tx.
    source: Option<u32>,
    tx: Option<String>,
}

fn stage(id: &str, label: String, status: &str, detail: String) -> Value {
    json!({ "id": id, "label": label, "status": status, "detail": detail, "atMs": null, "txs": [] })
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(super) fn utc(secs: u64) -> String {
    // Days to a civil date (Howard Hinnant's algorithm).
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub(super) async fn transfer(
    State(x): State<Arc<Explorer>>,
    Path(hash): Path<String>,
    Query(q): Query<TransferQuery>,
) -> Result<Json<Value>, ApiError> {
    let h = usd1_runtime::parse_hash(&hash, "message hash")?;
    if let Some(r) = x.store.get(&h).await.map_err(ApiError::internal)? {
        return Ok(shown(x.recorded_view(&h, &r).await));
    }
    Ok(shown(x.pending_view(&h, q).await))
}

impl Explorer {
    fn attester_stage_detail(
        &self,
        answers: &[AttesterAnswer],
        set: &Option<(Vec<Address>, usize)>,
    ) -> (String, Option<u64>) {
        let n = match set {
            Some((s, _)) if !s.is_empty() => s.len(),
            _ => self.attesters.len(),
        };
        let threshold = set.as_ref().map(|(_, t)| *t);
        let signed: Vec<String> = answers
            .iter()
            .filter(|a| a.status == "signed")
            .map(|a| {
                format!(
                    "attester {} ({})",
                    a.index + 1,
                    a.signer.map(|s| s.to_checksum(None)).unwrap_or_default()
                )
            })
            .collect();
        let held = answers
            .iter()
            .filter(|a| a.status == "pending_governor")
            .filter_map(|a| a.release_at)
            .max();
        let waiting: Vec<String> = answers
            .iter()
            .filter(|a| a.status != "signed")
            .map(|a| format!("attester {}: {}", a.index + 1, a.status.replace('_', " ")))
            .collect();
        let mut text = format!(
            "{} of {n} attesters signed{}",
            signed.len(),
            threshold
                .map(|t| format!(" ({t} needed)"))
                .unwrap_or_default()
        );
        if !signed.is_empty() {
            text.push_str(&format!(": {}", signed.join(", ")));
        }
        if !waiting.is_empty() {
            text.push_str(&format!("; {}", waiting.join(", ")));
        }
        (text, held)
    }
}

/// The furthest stage done, in order.
fn phase(stages: &[Value]) -> Option<String> {
    stages
        .iter()
        .rev()
        .find(|s| s["status"] == "done")
        .and_then(|s| s["id"].as_str().map(str::to_string))
}
