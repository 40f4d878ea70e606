//! Collects this message's signatures from the configured attesters' APIs, concurrently,
//! each request with a timeout; an attester that is down or has not signed yet is skipped.
//! An attester whose governor holds the message answers `pending_governor` with `releaseAt`
//! (DESIGN §10): kept, so the pipeline can say until when it is held.

use async_trait::async_trait;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use usd1_core::{Signature65, B256};

#[async_trait]
pub trait SignatureSource: Send + Sync {
    /// Every valid-looking signature the attesters currently give for the message.
    async fn collect(&self, message_hash: &B256) -> Vec<Signature65>;

    /// When the message is signed by enough attesters' governors for `needed` more
    /// signatures (Unix seconds), if attesters answered `pending_governor` at the last
    /// `collect`: the `needed`-th earliest of their `releaseAt`s.
    fn governor_release(&self, _message_hash: &B256, _needed: usize) -> Option<u64> {
        None
    }
}

pub struct HttpAttesters {
    client: reqwest::Client,
    urls: Vec<String>,
    /// How long an attester that has not signed yet may hold the request (`?wait_ms=`),
    /// answering the moment it signs: the relayer usually sees a burn final about when the
    /// attesters do, and this replaces a retry delay with the attester's own signing time.
    wait: Duration,
    /// Message hash → the `releaseAt`s of the attesters holding it, from the last collect.
    held: Mutex<HashMap<B256, Vec<u64>>>,
}

/// The hashes remembered as held at most (a message's entry goes when it is collected with
/// no hold; this bounds what messages attested meanwhile leave behind).
const MAX_HELD: usize = 100_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttestationAnswer {
    status: String,
    attestation: Option<String>,
    #[serde(default)]
    release_at: Option<u64>,
}

enum Answer {
    Signed(Signature65),
    /// Held by the attester's governor until then (Unix seconds).
    Held(u64),
    Nothing,
}

/// The long-poll asked of attesters: half the request timeout (the answer must arrive within
/// it), at most 1 s.
fn long_poll(timeout: Duration) -> Duration {
    (timeout / 2).min(Duration::from_secs(1))
}

/// What to show for a message held by the governors of some attesters.
pub fn held_until(mut release_at: Vec<u64>, needed: usize) -> Option<u64> {
    release_at.sort_unstable();
    let i = needed.clamp(1, release_at.len().max(1)) - 1;
    release_at.get(i).copied()
}

impl HttpAttesters {
    pub fn new(urls: Vec<String>, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self {
            client,
            wait: long_poll(timeout),
            urls: urls
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            held: Mutex::new(HashMap::new()),
        })
    }

    async fn one(&self, base: &str, hash: &B256) -> Result<Answer, AskError> {
        let url = format!(
            "{base}/v1/attestations/{hash:#x}?wait_ms={}",
            self.wait.as_millis()
        );
        let resp = self.client.get(&url).send().await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(Answer::Nothing);
        }
        let answer: AttestationAnswer = resp.error_for_status()?.json().await?;
        match (
            answer.status.as_str(),
            answer.attestation,
            answer.release_at,
        ) {
            ("complete", Some(sig), _) => {
                let raw = hex::decode(sig.trim_start_matches("0x"))
                    .map_err(|e| AskError::Signature(e.to_string()))?;
                Signature65::parse(&raw)
                    .map(Answer::Signed)
                    .map_err(|e| AskError::Signature(e.to_string()))
            }
            ("pending_governor", _, Some(at)) => Ok(Answer::Held(at)),
            _ => Ok(Answer::Nothing),
        }
    }
}

/// Why one attester gave no usable answer (logged; the others may still answer).
#[derive(Debug, thiserror::Error)]
enum AskError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("its signature is malformed: {0}")]
    Signature(String),
}

#[async_trait]
impl SignatureSource for HttpAttesters {
    async fn collect(&self, message_hash: &B256) -> Vec<Signature65> {
        let asks = self
            .urls
            .iter()
            .map(|u| async move { (u, self.one(u, message_hash).await) });
        let mut out = Vec::new();
        let mut held = Vec::new();
        for (url, result) in futures_util::future::join_all(asks).await {
            match result {
                Ok(Answer::Signed(sig)) => out.push(sig),
                Ok(Answer::Held(at)) => held.push(at),
                Ok(Answer::Nothing) => {}
                Err(e) => tracing::debug!(attester = %url, error = %e, "attester did not answer"),
            }
        }
        let mut remembered = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_empty() {
            remembered.remove(message_hash);
        } else {
            if remembered.len() >= MAX_HELD {
                remembered.clear();
            }
            remembered.insert(*message_hash, held);
        }
        out
    }

    fn governor_release(&self, message_hash: &B256, needed: usize) -> Option<u64> {
        let remembered = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held_until(remembered.get(message_hash)?.clone(), needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_poll_ends_well_within_the_request_timeout() {
        assert_eq!(long_poll(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(
            long_poll(Duration::from_millis(1000)),
            Duration::from_millis(500)
        );
        assert_eq!(long_poll(Duration::from_secs(30)), Duration::from_secs(1));
    }

    #[test]
    fn held_until_the_release_that_completes_the_threshold() {
        assert_eq!(held_until(vec![], 1), None);
        assert_eq!(held_until(vec![30, 10, 20], 1), Some(10));
        assert_eq!(held_until(vec![30, 10, 20], 2), Some(20));
        assert_eq!(
            held_until(vec![30, 10], 3),
            Some(30),
            "fewer holds than needed"
        );
        assert_eq!(held_until(vec![30], 0), Some(30));
    }
}
