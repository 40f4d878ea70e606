//! The attesters' co-sign API (DESIGN §5): `GET /v1/solana/signer` names an attester's
//! ed25519 key, `POST /v1/solana/cosign` (with this relayer's bearer token) signs a canonical
//! mint transaction. Every answer is hostile until checked: a key must be 32 bytes, a
//! signature must verify over the bytes sent.

use super::{CoSignError, CoSigners};
use async_trait::async_trait;
use base64::Engine;
use std::time::Duration;
use tokio::sync::Mutex;
use usd1_core::B256;
use usd1_solana::solana_sdk::signature::Signature;

pub struct HttpCoSigners {
    http: reqwest::Client,
    attesters: Vec<String>,
    /// The bearer token the attesters list for this relayer; `None` when it delivers to no
    /// destination that takes co-signatures.
    token: Option<String>,
    /// Attester URL → its key (asked until it answers, then kept).
    keys: Mutex<Vec<(String, [u8; 32])>>,
}

impl HttpCoSigners {
    pub fn new(attesters: &[String], token: Option<String>) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            attesters: attesters
                .iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            token,
            keys: Mutex::new(Vec::new()),
        })
    }

    async fn key_of(&self, url: &str) -> Option<[u8; 32]> {
        let answer: serde_json::Value = self
            .http
            .get(format!("{url}/v1/solana/signer"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let bytes = bs58::decode(answer["signer"].as_str()?).into_vec().ok()?;
        bytes.try_into().ok()
    }
}

#[async_trait]
impl CoSigners for HttpCoSigners {
    async fn reachable(&self) -> Vec<(String, [u8; 32])> {
        let mut known = self.keys.lock().await;
        for url in &self.attesters {
            if known.iter().any(|(u, _)| u == url) {
                continue;
            }
            if let Some(key) = self.key_of(url).await {
                known.push((url.clone(), key));
            }
        }
        // Configured order, whatever order they first answered in.
        self.attesters
            .iter()
            .filter_map(|u| known.iter().find(|(k, _)| k == u).cloned())
            .collect()
    }

    async fn cosign(
        &self,
        attester: &str,
        key: &[u8; 32],
        message_hash: &B256,
        transaction: &[u8],
    ) -> Result<[u8; 64], CoSignError> {
        let Some(token) = &self.token else {
            return Err(CoSignError::Refused(
                "no co-sign credential configured (solana.cosign_token_file)".into(),
            ));
        };
        let body = serde_json::json!({
            "messageHash": format!("{message_hash:#x}"),
            "transaction": base64::engine::general_purpose::STANDARD.encode(transaction),
        });
        let unreachable = |e: reqwest::Error| CoSignError::Unreachable(e.to_string());
        let resp = self
            .http
            .post(format!("{attester}/v1/solana/cosign"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status();
        let v: serde_json::Value = resp.json().await.map_err(unreachable)?;
        if !status.is_success() {
            let text = format!("{status}: {}", v["error"].as_str().unwrap_or(""));
            // A 4xx other than a rate limit is the attester's considered refusal.
            return Err(
                if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS {
                    CoSignError::Refused(text)
                } else {
                    CoSignError::Unreachable(text)
                },
            );
        }
        let signature = v["signature"]
            .as_str()
            .and_then(|s| s.parse::<Signature>().ok())
            .ok_or_else(|| CoSignError::Unreachable("an answer without a signature".into()))?;
        // A signature that does not verify is worth nothing: another attester is asked.
        if !signature.verify(key, transaction) {
            return Err(CoSignError::Unreachable(
                "a co-signature that does not verify against its key".into(),
            ));
        }
        Ok(signature.into())
    }
}
