//! The attesters: their answers about a message, the destination's attester set, and their
//! governors.

use super::{shown, Explorer, CACHE_MS, LOOK_TIMEOUT};
use alloy::primitives::{Address, B256};
use axum::extract::State;
use serde_json::{json, Value};
use std::sync::Arc;
use usd1_core::proof::Verifier;
use usd1_core::{Domain, Signature65};
use usd1_runtime::extract::Json;
use usd1_runtime::now_ms;

/// One attester's answer about a message.
pub(super) struct AttesterAnswer {
    pub(super) index: usize,
    /// signed, pending_confirmations, pending_governor, unseen, unreachable
    pub(super) status: String,
    pub(super) signer: Option<Address>,
    pub(super) release_at: Option<u64>,
}

impl Explorer {
    /// Every configured attester's answer for a message hash, asked concurrently.
    pub(super) async fn attester_answers(&self, h: &B256) -> Vec<AttesterAnswer> {
        let asks = self
            .attesters
            .iter()
            .enumerate()
            .map(|(index, url)| async move {
                let url = format!("{url}/v1/attestations/{h:#x}");
                let answer = match self.http.get(&url).send().await {
                    Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => None,
                    Ok(r) => match r.json::<Value>().await {
                        Ok(v) => Some(v),
                        Err(_) => {
                            return AttesterAnswer {
                                index,
                                status: "unreachable".into(),
                                signer: None,
                                release_at: None,
                            }
                        }
                    },
                    Err(_) => {
                        return AttesterAnswer {
                            index,
                            status: "unreachable".into(),
                            signer: None,
                            release_at: None,
                        }
                    }
                };
                let Some(v) = answer else {
                    return AttesterAnswer {
                        index,
                        status: "unseen".into(),
                        signer: None,
                        release_at: None,
                    };
                };
                let signer = v["attestation"]
                    .as_str()
                    .and_then(|a| alloy::hex::decode(a.trim_start_matches("0x")).ok())
                    .and_then(|raw| Signature65::parse(&raw).ok())
                    .and_then(|s| s.recover(h).ok());
                let status = match v["status"].as_str() {
                    Some("complete") if signer.is_some() => "signed",
                    Some(other) => other,
                    None => "unseen",
                };
                AttesterAnswer {
                    index,
                    status: status.to_string(),
                    signer,
                    release_at: v["releaseAt"].as_u64(),
                }
            });
        let answers = futures_util::future::join_all(asks).await;
        let mut known = self.signers.lock().unwrap_or_else(|p| p.into_inner());
        for a in &answers {
            if let Some(s) = a.signer {
                known.insert(s, a.index);
            }
        }
        answers
    }

    /// The destination's attesters and threshold (cached), where this relayer delivers there.
    /// A destination that takes co-signatures checks no attester set: empty, with its `m`.
    pub(super) async fn attester_set(&self, d: Domain) -> Option<(Vec<Address>, usize)> {
        if let Some((at, set, t)) = self.sets.lock().unwrap_or_else(|p| p.into_inner()).get(&d) {
            if now_ms().saturating_sub(*at) < CACHE_MS {
                return Some((set.clone(), *t));
            }
        }
        let dest = self.destinations.get(&d)?;
        let (set, t) = match tokio::time::timeout(LOOK_TIMEOUT, dest.verifier())
            .await
            .ok()?
            .ok()?
        {
            Verifier::Attestation {
                attesters,
                threshold,
            } => (attesters, threshold),
            Verifier::CoSigners { threshold, .. } => (Vec::new(), threshold),
        };
        self.sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(d, (now_ms(), set.clone(), t));
        Some((set, t))
    }

    pub(super) fn knows_signer(&self, a: &Address) -> bool {
        self.signers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(a)
    }

    pub(super) fn attester_label(&self, a: &Address) -> String {
        match self
            .signers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(a)
        {
            Some(i) => format!("attester {} ({})", i + 1, a.to_checksum(None)),
            None => a.to_checksum(None),
        }
    }
}

/// Each attester's governor (`GET /v1/governor`), where it has one: windows and holds.
pub(super) async fn governor(State(x): State<Arc<Explorer>>) -> Json<Value> {
    let asks = x.attesters.iter().enumerate().map(|(i, url)| {
        let x = &x;
        async move {
            let r = x.http.get(format!("{url}/v1/governor")).send().await.ok()?;
            if !r.status().is_success() {
                return None;
            }
            let v: Value = r.json().await.ok()?;
            Some(json!({ "attester": format!("attester {}", i + 1), "governor": v }))
        }
    });
    let answers: Vec<Value> = futures_util::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect();
    shown(json!({ "available": !answers.is_empty(), "attesters": answers }))
}
