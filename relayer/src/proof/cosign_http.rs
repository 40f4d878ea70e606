//! The attesters' co-sign API (DESIGN §5): `GET /v1/solana/signer` names an attester's
//! ed25519 key and the co-sign requests a second it allows each caller, `POST
//! /v1/solana/cosign` (with this relayer's bearer token) signs a canonical mint transaction.
//! Every answer is hostile until checked: a key must be 32 bytes, a signature must verify over
//! the bytes sent. Requests to an attester are paced within its rate ([`super::pace`]).

use super::pace::Pacer;
use super::{CoSignError, CoSigners};
use async_trait::async_trait;
use base64::Engine;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use usd1_core::B256;
use usd1_solana::solana_sdk::signature::Signature;

/// The longest a co-sign request waits for its turn at an attester's rate; longer, it is
/// not made (the step is tried again later), so a step never hangs on a busy attester.
const LONGEST_PACED_WAIT: Duration = Duration::from_secs(10);

pub struct HttpCoSigners {
    http: reqwest::Client,
    attesters: Vec<String>,
    /// The bearer token the attesters list for this relayer; `None` when it delivers to no
    /// destination that takes co-signatures.
    token: Option<String>,
    /// Attesters that answered, with their keys (asked until it answers, then kept). Never
    /// held across an await: an attester that does not answer delays no other request.
    known: Mutex<Vec<Known>>,
}

#[derive(Clone)]
struct Known {
    url: String,
    key: [u8; 32],
    /// None: the attester names no rate (an older one), requests go unpaced.
    pacer: Option<Arc<Pacer>>,
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
            known: Mutex::new(Vec::new()),
        })
    }

    /// The attester's key, and its pacer when it names its rate.
    async fn signer_of(&self, url: &str) -> Option<Known> {
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
        let rate = answer["cosignRatePerS"]
            .as_u64()
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(0);
        Some(Known {
            url: url.to_string(),
            key: bytes.try_into().ok()?,
            pacer: Pacer::new(rate, Instant::now()).map(Arc::new),
        })
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Vec<Known>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pacer_of(&self, url: &str) -> Option<Arc<Pacer>> {
        self.known().iter().find(|k| k.url == url)?.pacer.clone()
    }
}

#[async_trait]
impl CoSigners for HttpCoSigners {
    async fn reachable(&self) -> Vec<(String, [u8; 32])> {
        let missing: Vec<String> = {
            let known = self.known();
            let is_known = |url: &String| known.iter().any(|k| k.url == *url);
            self.attesters
                .iter()
                .filter(|u| !is_known(u))
                .cloned()
                .collect()
        };
        for url in missing {
            if let Some(k) = self.signer_of(&url).await {
                let mut known = self.known();
                if !known.iter().any(|o| o.url == k.url) {
                    known.push(k);
                }
            }
        }
        let known = self.known();
        // Those whose rate lets a request go soonest first, in configured order among
        // equals (whatever order they first answered in): a backlog spreads over every
        // attester instead of queuing at the first ones configured. One whose rate is taken
        // for longer than a request would wait is left out for now: chosen, it would refuse
        // after another had co-signed, and that co-signature would be wasted.
        let now = Instant::now();
        let mut ordered: Vec<(Duration, usize, &Known)> = known
            .iter()
            .filter_map(|k| {
                let place = self.attesters.iter().position(|u| *u == k.url)?;
                let wait = k.pacer.as_ref().map_or(Duration::ZERO, |p| p.wait_at(now));
                (wait <= LONGEST_PACED_WAIT).then_some((wait, place, k))
            })
            .collect();
        ordered.sort_by_key(|(wait, place, _)| (*wait, *place));
        ordered
            .into_iter()
            .map(|(_, _, k)| (k.url.clone(), k.key))
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
        if let Some(pacer) = self.pacer_of(attester) {
            let wait = pacer
                .reserve(Instant::now(), LONGEST_PACED_WAIT)
                .ok_or_else(|| {
                    CoSignError::Unreachable(format!(
                        "its co-sign rate is taken for more than {LONGEST_PACED_WAIT:?}: asked later"
                    ))
                })?;
            tokio::time::sleep(wait).await;
        }
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
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            // Refused for its rate although paced: it may have restarted with another one.
            // Forgotten, it is asked for its key and rate again at the next choice.
            self.known().retain(|k| k.url != attester);
        }
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

#[cfg(test)]
mod tests {
    use super::super::pace::AttesterBucket;
    use super::*;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use usd1_solana::solana_sdk::signature::{Keypair, Signer};

    /// An attester's co-sign routes as the attester serves them: it names `rate` and refuses
    /// (429) a caller beyond it, by the same bucket (`rate` a second, bursts of twice that).
    struct FakeAttester {
        key: Keypair,
        /// The rate it names (the one it enforces unless a test says otherwise).
        named: AtomicUsize,
        signer_asked: AtomicUsize,
        bucket: std::sync::Mutex<AttesterBucket>,
        signed: AtomicUsize,
        refused: AtomicUsize,
    }

    async fn signer(State(a): State<Arc<FakeAttester>>) -> Json<serde_json::Value> {
        a.signer_asked.fetch_add(1, Ordering::SeqCst);
        Json(serde_json::json!({
            "signer": a.key.pubkey().to_string(),
            "cosignRatePerS": a.named.load(Ordering::SeqCst),
        }))
    }

    async fn cosign(
        State(a): State<Arc<FakeAttester>>,
        Json(body): Json<serde_json::Value>,
    ) -> (StatusCode, Json<serde_json::Value>) {
        if !a.bucket.lock().unwrap().allow(Instant::now()) {
            a.refused.fetch_add(1, Ordering::SeqCst);
            let error = serde_json::json!({ "error": "rate limit" });
            return (StatusCode::TOO_MANY_REQUESTS, Json(error));
        }
        let tx = base64::engine::general_purpose::STANDARD
            .decode(body["transaction"].as_str().unwrap())
            .unwrap();
        a.signed.fetch_add(1, Ordering::SeqCst);
        let signature = a.key.sign_message(&tx).to_string();
        (
            StatusCode::OK,
            Json(serde_json::json!({ "signature": signature })),
        )
    }

    async fn fake_attester(rate: u32) -> (String, Arc<FakeAttester>) {
        usd1_evm::tls::install(); // before the relayer's HTTP client
        let a = Arc::new(FakeAttester {
            key: Keypair::new(),
            named: AtomicUsize::new(rate as usize),
            signer_asked: AtomicUsize::new(0),
            bucket: std::sync::Mutex::new(AttesterBucket::new(rate, Instant::now())),
            signed: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/v1/solana/signer", get(signer))
            .route("/v1/solana/cosign", post(cosign))
            .with_state(a.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, a)
    }

    /// A backlog's co-sign requests made all at once: paced to the attester's rate, none is
    /// refused (unpaced, everything beyond its burst was a 429 and a retry).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backlog_of_requests_stays_within_the_attesters_rate() {
        let (url, attester) = fake_attester(50).await;
        let cosigners = Arc::new(HttpCoSigners::new(&[url], Some("t".repeat(40))).unwrap());
        let (url, key) = cosigners.reachable().await[0].clone();
        let asks: Vec<_> = (0..150u8)
            .map(|i| {
                let (c, url) = (cosigners.clone(), url.clone());
                tokio::spawn(
                    async move { c.cosign(&url, &key, &B256::repeat_byte(i), &[i; 100]).await },
                )
            })
            .collect();
        for ask in asks {
            ask.await.unwrap().expect("co-signed");
        }
        assert_eq!(attester.refused.load(Ordering::SeqCst), 0);
        assert_eq!(attester.signed.load(Ordering::SeqCst), 150);
    }

    /// Once the first attester's rate is taken, the others are offered first.
    #[tokio::test]
    async fn the_attesters_that_can_sign_soonest_come_first() {
        let (a, _) = fake_attester(1).await;
        let (b, _) = fake_attester(1).await;
        let (c, _) = fake_attester(1).await;
        let configured = [a.clone(), b.clone(), c.clone()];
        let cosigners = HttpCoSigners::new(&configured, Some("t".repeat(40))).unwrap();
        let order = |v: Vec<(String, [u8; 32])>| v.into_iter().map(|(u, _)| u).collect::<Vec<_>>();
        assert_eq!(
            order(cosigners.reachable().await),
            configured,
            "configured order"
        );
        let key = cosigners.reachable().await[0].1;
        // Paced at 0.9 a second, its next request would wait ~1.1 s.
        let hash = B256::repeat_byte(1);
        cosigners.cosign(&a, &key, &hash, &[1]).await.unwrap();
        assert_eq!(order(cosigners.reachable().await), [b, c, a]);
    }

    /// An attester that refuses for its rate although paced (it restarted with a lower one)
    /// is asked for its key and rate again before the next request.
    #[tokio::test]
    async fn a_refusal_for_the_rate_has_the_rate_read_again() {
        let (url, attester) = fake_attester(1).await;
        attester.named.store(1000, Ordering::SeqCst);
        let cosigners =
            HttpCoSigners::new(std::slice::from_ref(&url), Some("t".repeat(40))).unwrap();
        let key = cosigners.reachable().await[0].1;
        // Its bucket holds 2: the third request is refused.
        for i in 0..2u8 {
            let hash = B256::repeat_byte(i);
            cosigners.cosign(&url, &key, &hash, &[i]).await.unwrap();
        }
        let refused = cosigners.cosign(&url, &key, &B256::ZERO, &[9]).await;
        assert!(
            matches!(refused, Err(CoSignError::Unreachable(_))),
            "{refused:?}"
        );
        assert_eq!(attester.signer_asked.load(Ordering::SeqCst), 1);
        attester.named.store(1, Ordering::SeqCst);
        cosigners.reachable().await;
        assert_eq!(
            attester.signer_asked.load(Ordering::SeqCst),
            2,
            "asked again"
        );
        assert!(cosigners
            .pacer_of(&url)
            .is_some_and(|p| p.wait_at(Instant::now()).is_zero()));
    }
}
