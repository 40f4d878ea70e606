//! Collects this message's signatures from the configured attesters' APIs, concurrently,
//! each request with a timeout; an attester that is down or has not signed yet is skipped.

use async_trait::async_trait;
use serde::Deserialize;
use std::time::Duration;
use usd1_core::{Signature65, B256};

#[async_trait]
pub trait SignatureSource: Send + Sync {
    /// Every valid-looking signature the attesters currently give for the message.
    async fn collect(&self, message_hash: &B256) -> Vec<Signature65>;
}

pub struct HttpAttesters {
    client: reqwest::Client,
    urls: Vec<String>,
}

#[derive(Deserialize)]
struct AttestationAnswer {
    status: String,
    attestation: Option<String>,
}

impl HttpAttesters {
    pub fn new(urls: Vec<String>, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            urls: urls
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
        })
    }

    async fn one(&self, base: &str, hash: &B256) -> Result<Option<Signature65>, String> {
        let url = format!("{base}/v1/attestations/{hash:#x}");
        let resp = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let answer: AttestationAnswer = resp
            .error_for_status()
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match (answer.status.as_str(), answer.attestation) {
            ("complete", Some(sig)) => {
                let raw = hex::decode(sig.trim_start_matches("0x")).map_err(|e| e.to_string())?;
                Signature65::parse(&raw)
                    .map(Some)
                    .map_err(|e| e.to_string())
            }
            _ => Ok(None),
        }
    }
}

#[async_trait]
impl SignatureSource for HttpAttesters {
    async fn collect(&self, message_hash: &B256) -> Vec<Signature65> {
        let asks = self
            .urls
            .iter()
            .map(|u| async move { (u, self.one(u, message_hash).await) });
        let mut out = Vec::new();
        for (url, result) in futures_util::future::join_all(asks).await {
            match result {
                Ok(Some(sig)) => out.push(sig),
                Ok(None) => {}
                Err(e) => tracing::debug!(attester = %url, error = %e, "attester did not answer"),
            }
        }
        out
    }
}
