//! An RPC endpoint list with fallback: each call tries the last URL that worked, then the
//! others in order, with a timeout, counting requests and errors per chain and method.

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use prometheus::{register_int_counter_vec, IntCounterVec};
use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;
use std::time::Duration;
use usd1_core::traits::ChainError;

static RPC_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_rpc_requests_total",
        "RPC requests by chain and method",
        &["chain", "method"]
    )
    .unwrap_or_else(|e| panic!("metric registration at startup: {e}"))
});
static RPC_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_rpc_errors_total",
        "RPC errors by chain and method",
        &["chain", "method"]
    )
    .unwrap_or_else(|e| panic!("metric registration at startup: {e}"))
});

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

pub struct EvmRpc {
    chain: String,
    providers: Vec<DynProvider>,
    preferred: AtomicUsize,
}

impl EvmRpc {
    pub fn new(chain: &str, urls: &[String]) -> Result<Self, ChainError> {
        crate::tls::install();
        let mut providers = Vec::with_capacity(urls.len());
        for url in urls {
            let parsed = url
                .parse()
                .map_err(|e| ChainError::rpc("connect", format!("{url}: {e}")))?;
            providers.push(
                ProviderBuilder::new()
                    .disable_recommended_fillers()
                    .connect_http(parsed)
                    .erased(),
            );
        }
        if providers.is_empty() {
            return Err(ChainError::rpc("connect", "no RPC URL configured"));
        }
        Ok(Self {
            chain: chain.to_string(),
            providers,
            preferred: AtomicUsize::new(0),
        })
    }

    pub fn chain(&self) -> &str {
        &self.chain
    }

    /// The provider that last answered, for calls whose errors need inspecting (reverts).
    pub fn provider(&self) -> DynProvider {
        self.providers[self.preferred.load(Ordering::Relaxed) % self.providers.len()].clone()
    }

    pub async fn call<T, E, F, Fut>(&self, method: &'static str, f: F) -> Result<T, ChainError>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        let n = self.providers.len();
        let start = self.preferred.load(Ordering::Relaxed);
        let mut last = String::new();
        // Touch the error series so it exists (at 0) for rate() and alerts before any error.
        RPC_ERRORS.with_label_values(&[&self.chain, method]);
        for i in 0..n {
            let idx = (start + i) % n;
            RPC_REQUESTS.with_label_values(&[&self.chain, method]).inc();
            match tokio::time::timeout(CALL_TIMEOUT, f(self.providers[idx].clone())).await {
                Ok(Ok(v)) => {
                    self.preferred.store(idx, Ordering::Relaxed);
                    return Ok(v);
                }
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = format!("timed out after {CALL_TIMEOUT:?}"),
            }
            RPC_ERRORS.with_label_values(&[&self.chain, method]).inc();
        }
        Err(ChainError::rpc(method, last))
    }

    pub async fn head(&self) -> Result<u64, ChainError> {
        self.call(
            "eth_blockNumber",
            |p| async move { p.get_block_number().await },
        )
        .await
    }
}
