//! A fault-injecting JSON-RPC proxy on loopback. Each request is, at the configured rate,
//! answered with a fault instead of the upstream's answer: an HTTP 5xx, a JSON-RPC error, a
//! hang (the client's timeout fires), a connection closed without an answer, a truncated
//! body, or a delay before forwarding. Everything else is forwarded unchanged, so what a
//! service sees is a flaky node, never a wrong one (a proxy that lies is an attacker, which
//! the signature checks answer; this is about faults).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// The kinds of fault, in the order the report prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Http5xx,
    JsonRpcError,
    Timeout,
    Reset,
    Truncated,
    Delay,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::Http5xx,
        Fault::JsonRpcError,
        Fault::Timeout,
        Fault::Reset,
        Fault::Truncated,
        Fault::Delay,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Http5xx => "HTTP 5xx",
            Fault::JsonRpcError => "JSON-RPC error",
            Fault::Timeout => "timeout",
            Fault::Reset => "connection reset",
            Fault::Truncated => "truncated body",
            Fault::Delay => "delay",
        }
    }
}

/// Shared by every proxy of a run: the rate (changed at run time: 0 once the run goes
/// quiet), the seeded choices and the counts.
pub struct Faults {
    /// Faults per million requests.
    rate_ppm: AtomicU64,
    max_delay: Duration,
    /// How long a "timeout" holds a request before dropping it: longer than any client waits.
    hold: Duration,
    rng: Mutex<StdRng>,
    counts: [AtomicU64; 6],
    requests: AtomicU64,
}

impl Faults {
    pub fn new(rate: f64, max_delay: Duration, seed: u64) -> Arc<Self> {
        Arc::new(Self {
            rate_ppm: AtomicU64::new(to_ppm(rate)),
            max_delay,
            hold: Duration::from_secs(30),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            counts: Default::default(),
            requests: AtomicU64::new(0),
        })
    }

    pub fn set_rate(&self, rate: f64) {
        self.rate_ppm.store(to_ppm(rate), Ordering::Relaxed);
    }

    pub fn count(&self, fault: Fault) -> u64 {
        self.counts[fault as usize].load(Ordering::Relaxed)
    }

    /// Requests through the faulty proxies while faults were on.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The fault for the next request through a faulty proxy, if any, and a delay to use.
    fn draw(&self) -> (Option<Fault>, Duration) {
        let rate = self.rate_ppm.load(Ordering::Relaxed);
        if rate > 0 {
            self.requests.fetch_add(1, Ordering::Relaxed);
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        if rate == 0 || rng.gen_range(0..1_000_000) >= rate {
            return (None, Duration::ZERO);
        }
        let fault = Fault::ALL[rng.gen_range(0..Fault::ALL.len())];
        let delay_ms = rng.gen_range(0..=self.max_delay.as_millis() as u64);
        self.counts[fault as usize].fetch_add(1, Ordering::Relaxed);
        (Some(fault), Duration::from_millis(delay_ms))
    }
}

fn to_ppm(rate: f64) -> u64 {
    (rate.clamp(0.0, 1.0) * 1_000_000.0) as u64
}

/// One proxy in front of `upstream`: faulty (draws from `faults`) or healthy (forwards all).
pub struct Proxy {
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("binding a loopback port for the RPC proxy: {0}")]
    Bind(std::io::Error),
}

impl Proxy {
    /// Binds a loopback port now (so the URL is valid at once) and serves in the background
    /// for the life of the runtime.
    pub fn start(
        upstream: &str,
        faults: Option<Arc<Faults>>,
        client: reqwest::Client,
    ) -> Result<Self, ProxyError> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(ProxyError::Bind)?;
        std_listener
            .set_nonblocking(true)
            .map_err(ProxyError::Bind)?;
        let port = std_listener.local_addr().map_err(ProxyError::Bind)?.port();
        let listener = TcpListener::from_std(std_listener).map_err(ProxyError::Bind)?;
        let upstream = Arc::new(upstream.trim_end_matches('/').to_string());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (upstream, faults, client) = (upstream.clone(), faults.clone(), client.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        forward(req, upstream.clone(), faults.clone(), client.clone())
                    });
                    // A connection ended by a fault is the point, not an error.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

/// Closing the connection without an answer (hyper drops it when the service fails).
#[derive(Debug, thiserror::Error)]
#[error("chaos: connection dropped")]
struct Dropped;

async fn forward(
    req: Request<Incoming>,
    upstream: Arc<String>,
    faults: Option<Arc<Faults>>,
    client: reqwest::Client,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (fault, delay) = match &faults {
        Some(f) => f.draw(),
        None => (None, Duration::ZERO),
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let body = req
        .into_body()
        .collect()
        .await
        .map_err(|_| Dropped)?
        .to_bytes();
    match fault {
        Some(Fault::Http5xx) => return Ok(plain(StatusCode::BAD_GATEWAY, "chaos: bad gateway")),
        Some(Fault::JsonRpcError) => return Ok(rpc_error(&body)),
        Some(Fault::Timeout) => {
            let hold = faults.as_ref().map_or(Duration::ZERO, |f| f.hold);
            tokio::time::sleep(hold).await;
            return Err(Dropped);
        }
        Some(Fault::Reset) => return Err(Dropped),
        Some(Fault::Delay) => tokio::time::sleep(delay).await,
        Some(Fault::Truncated) | None => {}
    }
    let answer = client
        .post(format!("{upstream}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let Ok(answer) = answer else {
        return Ok(plain(StatusCode::BAD_GATEWAY, "upstream unreachable"));
    };
    let status = answer.status().as_u16();
    let Ok(mut bytes) = answer.bytes().await else {
        return Err(Dropped);
    };
    if fault == Some(Fault::Truncated) {
        bytes = bytes.slice(..bytes.len() / 2);
    }
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(bytes))
        .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "chaos: bad answer")))
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r
}

/// A JSON-RPC error answer with the request's id (a batch gets a 5xx instead: it has many).
fn rpc_error(request: &[u8]) -> Response<Full<Bytes>> {
    let id = match serde_json::from_slice::<serde_json::Value>(request) {
        Ok(serde_json::Value::Object(o)) => o.get("id").cloned().unwrap_or_default(),
        _ => return plain(StatusCode::SERVICE_UNAVAILABLE, "chaos: unavailable"),
    };
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": -32603, "message": "chaos: internal error"}
    });
    Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "chaos: bad answer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn upstream() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|_req: Request<Incoming>| async {
                        Ok::<_, Dropped>(Response::new(Full::new(Bytes::from_static(
                            br#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#,
                        ))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn a_healthy_proxy_forwards_and_a_faulty_one_injects_at_its_rate() {
        usd1_evm::tls::install();
        let up = upstream().await;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        let healthy = Proxy::start(&up, None, client.clone()).unwrap();
        let req = r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#;
        for _ in 0..20 {
            let r = client.post(&healthy.url).body(req).send().await.unwrap();
            assert_eq!(
                r.text().await.unwrap(),
                r#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#
            );
        }

        let faults = Faults::new(1.0, Duration::from_millis(50), 7);
        let faulty = Proxy::start(&up, Some(faults.clone()), client.clone()).unwrap();
        let mut clean = 0;
        for _ in 0..60 {
            let ok = match client.post(&faulty.url).body(req).send().await {
                Ok(r) if r.status().is_success() => r
                    .text()
                    .await
                    .is_ok_and(|t| t.contains(r#""result":"0x1""#)),
                _ => false,
            };
            clean += ok as u32;
        }
        let injected: u64 = Fault::ALL.iter().map(|f| faults.count(*f)).sum();
        assert_eq!(injected, 60, "rate 1: every request drew a fault");
        for f in Fault::ALL {
            assert!(faults.count(f) > 0, "{} never drawn in 60", f.name());
        }
        // Only delays (which then forward) may still answer correctly.
        assert_eq!(clean as u64, faults.count(Fault::Delay));

        faults.set_rate(0.0);
        let r = client.post(&faulty.url).body(req).send().await.unwrap();
        assert!(r.text().await.unwrap().contains("0x1"), "rate 0: forwarded");
    }
}
