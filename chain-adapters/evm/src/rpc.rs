//! An RPC endpoint list with fallback: each call tries the last URL that worked, then the
//! others in order (the next one also when the current one stalls), each attempt with a
//! timeout, counting requests and errors per chain and
//! method. A call that failed on every URL is tried again, a bounded number of passes within
//! a short budget, before it fails the caller's step: a flaky node costs a retry of one call,
//! not the step's backoff (issue: faults should cost seconds, not tens of seconds). Every
//! call made through here is a read or the broadcast of signed bytes, so repeating it is safe.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};
use alloy::transports::TransportError;
use futures_util::stream::{FuturesUnordered, StreamExt};
use prometheus::{register_int_counter_vec, IntCounterVec};
use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};
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

/// One attempt's limit: a node that hangs costs this much before the next URL is asked.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// One `eth_getLogs` attempt's limit (a large range may take a while on a real node).
const LOGS_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an attempt may go unanswered before the next URL is asked beside it.
const STALL: Duration = Duration::from_secs(1);
/// Passes over the URL list a call makes at most, and the pause before each further pass.
const PASS_PAUSES: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];
/// No further pass starts after this long: the step fails and is rescheduled.
const CALL_BUDGET: Duration = Duration::from_secs(12);
/// After failing over, the first URL (the operator's best) is preferred again this long after.
const PRIMARY_RETRY: Duration = Duration::from_secs(10);

pub struct EvmRpc {
    chain: String,
    providers: Vec<DynProvider>,
    preferred: AtomicUsize,
    /// When `preferred` last moved off the first URL (ms since `created`).
    failed_over_at_ms: AtomicU64,
    created: Instant,
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
            failed_over_at_ms: AtomicU64::new(0),
            created: Instant::now(),
        })
    }

    pub fn chain(&self) -> &str {
        &self.chain
    }

    pub async fn call<T, E, F, Fut>(&self, method: &'static str, f: F) -> Result<T, ChainError>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        // A bare log query is neither hedged nor cut early: a slow node's partial answer for a
        // range it has not reached must not win over the node that has it, and a large range
        // may take a while. `consistent_logs` is the hedge-safe log read.
        if method == "eth_getLogs" {
            self.call_with(method, false, LOGS_TIMEOUT, f).await
        } else {
            self.call_with(method, true, ATTEMPT_TIMEOUT, f).await
        }
    }

    /// The logs of `filter` (whose range must end at `to`) as one node saw them, with the hash
    /// that node had for block `to` both before and after the query: a node that lacks `to`
    /// or moved it during the read is an error and the next node is asked. Because every
    /// answer is whole, the read is hedged like any other call.
    pub async fn consistent_logs(
        &self,
        filter: &Filter,
        to: u64,
        final_on: FinalOn,
    ) -> Result<(Vec<Log>, B256), ChainError> {
        self.call_with("eth_getLogs", true, LOGS_TIMEOUT, |p| {
            let filter = filter.clone();
            async move {
                let before = block_hash_at(&p, to).await?;
                // A node that holds `to` but not yet as final (lagging, or on its own fork)
                // does not answer for it.
                let reached = match final_on {
                    FinalOn::Head(min) => p.get_block_number().await? >= min,
                    FinalOn::Tag(tag) => p
                        .get_block_by_number(tag)
                        .await?
                        .is_some_and(|b| b.header.number >= to),
                };
                if !reached {
                    return Err(RangeReadError::NotFinal(to));
                }
                let logs = p.get_logs(&filter).await.map_err(RangeReadError::Rpc)?;
                let after = block_hash_at(&p, to).await?;
                if before != after {
                    return Err(RangeReadError::Changed(to));
                }
                Ok((logs, after))
            }
        })
        .await
    }

    async fn call_with<T, E, F, Fut>(
        &self,
        method: &'static str,
        hedge: bool,
        limit: Duration,
        f: F,
    ) -> Result<T, ChainError>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        let n = self.providers.len();
        let began = Instant::now();
        let mut last = String::new();
        // Touch the error series so it exists (at 0) for rate() and alerts before any error.
        RPC_ERRORS.with_label_values(&[&self.chain, method]);
        for pass in 0..=PASS_PAUSES.len() {
            if pass > 0 {
                if began.elapsed() >= CALL_BUDGET {
                    break;
                }
                tokio::time::sleep(PASS_PAUSES[pass - 1]).await;
            }
            let start = self.start_index();
            let launch = |i: usize| {
                let idx = (start + i) % n;
                RPC_REQUESTS.with_label_values(&[&self.chain, method]).inc();
                let answer = tokio::time::timeout(limit, f(self.providers[idx].clone()));
                async move { (idx, answer.await) }
            };
            // One URL at a time; a URL that stalls (no answer after STALL) gets the next
            // one asked beside it, and the first answer wins (a hedged request).
            let mut asked = 1;
            let mut running = FuturesUnordered::new();
            running.push(launch(0));
            loop {
                tokio::select! {
                    Some((idx, answer)) = running.next() => {
                        match answer {
                            Ok(Ok(v)) => {
                                self.prefer(idx, start);
                                return Ok(v);
                            }
                            Ok(Err(e)) => last = e.to_string(),
                            Err(_) => last = format!("timed out after {limit:?}"),
                        }
                        RPC_ERRORS.with_label_values(&[&self.chain, method]).inc();
                        if asked < n {
                            running.push(launch(asked));
                            asked += 1;
                        }
                    }
                    _ = tokio::time::sleep(STALL), if hedge && asked < n => {
                        running.push(launch(asked));
                        asked += 1;
                    }
                    else => break,
                }
            }
        }
        Err(ChainError::rpc(method, last))
    }

    /// Where a call starts: the URL that last answered, or the first again once it has had
    /// [`PRIMARY_RETRY`] to recover.
    fn start_index(&self) -> usize {
        let preferred = self.preferred.load(Ordering::Relaxed);
        let since = self.failed_over_at_ms.load(Ordering::Relaxed);
        let now = self.created.elapsed().as_millis() as u64;
        if preferred != 0 && now.saturating_sub(since) >= PRIMARY_RETRY.as_millis() as u64 {
            return 0;
        }
        preferred
    }

    /// `start`: where the call started; a fallback that wins again after the first URL was
    /// retried starts a new cool-down, so a hanging first URL costs a stall once per period.
    fn prefer(&self, idx: usize, start: usize) {
        let previous = self.preferred.swap(idx, Ordering::Relaxed);
        if idx != 0 && (previous != idx || start == 0) {
            let now = self.created.elapsed().as_millis() as u64;
            self.failed_over_at_ms.store(now, Ordering::Relaxed);
        }
    }

    /// [`Self::call`] for a contract call whose revert is an answer, not a failure: a revert
    /// comes back at once as `Ok(Err(revert data))`; anything else is retried like any call.
    pub async fn call_or_revert<T, F, Fut>(
        &self,
        method: &'static str,
        f: F,
    ) -> Result<Result<T, alloy::primitives::Bytes>, ChainError>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, alloy::contract::Error>>,
    {
        self.call(method, |p| {
            let answer = f(p);
            async move {
                match answer.await {
                    Ok(v) => Ok(Ok(v)),
                    Err(e) => match e.as_revert_data() {
                        Some(data) => Ok(Err(data)),
                        None => Err(e),
                    },
                }
            }
        })
        .await
    }

    pub async fn head(&self) -> Result<u64, ChainError> {
        self.call(
            "eth_blockNumber",
            |p| async move { p.get_block_number().await },
        )
        .await
    }
}

/// What a node must show for a block to be final on it: a head at least this high
/// (confirmations), or a `finalized`/`safe` block at or past it.
#[derive(Clone, Copy, Debug)]
pub enum FinalOn {
    Head(u64),
    Tag(BlockNumberOrTag),
}

/// Why one node's [`EvmRpc::consistent_logs`] answer was not taken.
#[derive(Debug, thiserror::Error)]
enum RangeReadError {
    #[error(transparent)]
    Rpc(#[from] TransportError),
    #[error("the node has no block {0} yet")]
    Missing(u64),
    #[error("block {0} is not final on the node yet")]
    NotFinal(u64),
    #[error("block {0} changed while its range was read")]
    Changed(u64),
}

async fn block_hash_at(p: &DynProvider, number: u64) -> Result<B256, RangeReadError> {
    match p.get_block_by_number(number.into()).await? {
        Some(block) => Ok(block.header.hash),
        None => Err(RangeReadError::Missing(number)),
    }
}

/// A JSON-RPC node answering from a script, for tests of what the adapter asks and does.
#[cfg(test)]
pub(crate) mod scripted {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The JSON `result` a scripted node gives for (method, request number), or None for an
    /// HTTP 502.
    pub type Script = Arc<dyn Fn(&str, u32) -> Option<String> + Send + Sync>;

    /// For (method, request number): `Ok(result)`, `Err(error object)` (a JSON-RPC error
    /// answer), or None for an HTTP 502.
    pub type Answers = Arc<dyn Fn(&str, u32) -> Option<Result<String, String>> + Send + Sync>;

    /// A JSON-RPC node answering from `script`. Returns its URL and how many requests it saw.
    pub async fn scripted_node(script: Script) -> (String, Arc<AtomicU32>) {
        answering_node(Arc::new(move |method, i| script(method, i).map(Ok))).await
    }

    /// A JSON-RPC node answering from `answers`. Returns its URL and how many requests it saw.
    pub async fn answering_node(answers: Answers) -> (String, Arc<AtomicU32>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(AtomicU32::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let (counter, answers) = (counter.clone(), answers.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        let i = counter.fetch_add(1, Ordering::SeqCst);
                        let text = String::from_utf8_lossy(&buf[..n]).to_string();
                        let field = |name: &str| {
                            text.split(&format!("\"{name}\":"))
                                .nth(1)
                                .and_then(|r| r.split([',', '}']).next())
                                .unwrap_or("0")
                                .trim_matches('"')
                                .to_string()
                        };
                        let (id, method) = (field("id"), field("method"));
                        let (status, body) = match answers(&method, i) {
                            None => ("502 Bad Gateway", "down".to_string()),
                            Some(Ok(result)) => (
                                "200 OK",
                                format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#),
                            ),
                            Some(Err(error)) => (
                                "200 OK",
                                format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{error}}}"#),
                            ),
                        };
                        let answer = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if s.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, seen)
    }
}

#[cfg(test)]
mod tests {
    use super::scripted::{scripted_node, Script};
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    /// A node that answers `eth_blockNumber` with 0x2a, failing its first `fail` requests
    /// with an HTTP 502.
    async fn flaky_node(fail: u32) -> (String, Arc<AtomicU32>) {
        scripted_node(Arc::new(move |_, i| {
            (i >= fail).then(|| "\"0x2a\"".to_string())
        }))
        .await
    }

    /// A block as `eth_getBlockByNumber` returns it, with hash `0x<byte>…`.
    fn block_json(number: u64, byte: u8) -> String {
        let h = |b: u8| format!("\"0x{}\"", hex::encode([b; 32]));
        format!(
            r#"{{"hash":{},"parentHash":{},"sha3Uncles":{},"miner":"0x{}","stateRoot":{},
            "transactionsRoot":{},"receiptsRoot":{},"logsBloom":"0x{}","difficulty":"0x0",
            "number":"0x{number:x}","gasLimit":"0x1c9c380","gasUsed":"0x0","timestamp":"0x1",
            "extraData":"0x","mixHash":{},"nonce":"0x0000000000000000","uncles":[],
            "transactions":[]}}"#,
            h(byte),
            h(0),
            h(0),
            "00".repeat(20),
            h(0),
            h(0),
            h(0),
            "00".repeat(256),
            h(0)
        )
    }

    fn logs_filter(to: u64) -> Filter {
        Filter::new().from_block(1).to_block(to)
    }

    /// A node at head `head` whose block 7 has hash `0xaa…` and one log in it.
    fn node_at(head: u64) -> Script {
        Arc::new(move |method, _| {
            Some(match method {
                "eth_getBlockByNumber" => block_json(7, 0xaa),
                "eth_blockNumber" => format!("\"0x{head:x}\""),
                _ => format!(
                    r#"[{{"address":"0x{}","topics":[],"data":"0x","blockNumber":"0x7",
                    "blockHash":"0x{}","transactionHash":"0x{}","transactionIndex":"0x0",
                    "logIndex":"0x0","removed":false}}]"#,
                    "11".repeat(20),
                    "aa".repeat(32),
                    "22".repeat(32)
                ),
            })
        })
    }

    #[tokio::test]
    async fn a_log_range_is_answered_only_by_a_node_that_has_its_last_block() {
        // The first node is behind: it has no block 7 and would answer the range with
        // nothing. The second has it, final (head 10 ≥ 7 + 2), so its answer is taken.
        let (behind, behind_seen) = scripted_node(Arc::new(|method, _| {
            Some(match method {
                "eth_getBlockByNumber" => "null".to_string(),
                "eth_blockNumber" => "\"0x6\"".to_string(),
                _ => "[]".to_string(),
            })
        }))
        .await;
        let (synced, _) = scripted_node(node_at(10)).await;
        let rpc = EvmRpc::new("test", &[behind, synced]).unwrap();
        let (logs, hash) = rpc
            .consistent_logs(&logs_filter(7), 7, FinalOn::Head(9))
            .await
            .unwrap();
        assert_eq!(logs.len(), 1, "the synced node's log");
        assert_eq!(hash, B256::repeat_byte(0xaa));
        assert_eq!(
            behind_seen.load(Ordering::SeqCst),
            1,
            "asked for block 7 first, never for its logs"
        );
    }

    #[tokio::test]
    async fn a_log_range_not_yet_final_on_a_node_is_answered_by_one_where_it_is() {
        // Both nodes hold block 7; on the first it is not final (head 8 < 7 + 2).
        let (early, early_seen) = scripted_node(node_at(8)).await;
        let (final_node, _) = scripted_node(node_at(10)).await;
        let rpc = EvmRpc::new("test", &[early, final_node]).unwrap();
        let (logs, _) = rpc
            .consistent_logs(&logs_filter(7), 7, FinalOn::Head(9))
            .await
            .unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(
            early_seen.load(Ordering::SeqCst),
            2,
            "asked for block 7 and its head, never for logs"
        );
        // With a single node where it is not final, the read fails (the watcher reads again).
        let (early, _) = scripted_node(node_at(8)).await;
        let err = EvmRpc::new("test", &[early])
            .unwrap()
            .consistent_logs(&logs_filter(7), 7, FinalOn::Head(9))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not final"), "{err}");
    }

    #[tokio::test]
    async fn a_log_range_whose_last_block_changed_during_the_read_is_not_taken() {
        // Block 7's hash differs on every request: every read brackets two different hashes,
        // so the call fails (the watcher reads again) rather than return the logs.
        let (moving, _) = scripted_node(Arc::new(|method, i| {
            Some(match method {
                "eth_getBlockByNumber" => block_json(7, i as u8),
                "eth_blockNumber" => "\"0xa\"".to_string(),
                _ => "[]".to_string(),
            })
        }))
        .await;
        let rpc = EvmRpc::new("test", &[moving]).unwrap();
        let err = rpc
            .consistent_logs(&logs_filter(7), 7, FinalOn::Head(9))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("changed"), "{err}");
    }

    #[tokio::test]
    async fn a_call_failing_on_every_url_is_tried_again_within_the_step() {
        let (url, seen) = flaky_node(2).await;
        let rpc = EvmRpc::new("test", &[url]).unwrap();
        assert_eq!(rpc.head().await.unwrap(), 42, "third pass answers");
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failing_url_falls_back_to_the_next_and_the_call_succeeds() {
        let (bad, bad_seen) = flaky_node(u32::MAX).await;
        let (good, _) = flaky_node(0).await;
        let rpc = EvmRpc::new("test", &[bad, good]).unwrap();
        assert_eq!(rpc.head().await.unwrap(), 42);
        assert_eq!(rpc.head().await.unwrap(), 42);
        assert_eq!(
            bad_seen.load(Ordering::SeqCst),
            1,
            "the healthy URL is kept until the first has had time to recover"
        );
    }

    #[tokio::test]
    async fn a_call_gives_up_after_its_passes() {
        let (bad, seen) = flaky_node(u32::MAX).await;
        let rpc = EvmRpc::new("test", &[bad]).unwrap();
        assert!(rpc.head().await.is_err());
        assert_eq!(seen.load(Ordering::SeqCst), 1 + PASS_PAUSES.len() as u32);
    }

    /// A node that accepts connections and never answers.
    async fn silent_node() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let (s, _) = listener.accept().await.unwrap();
                held.push(s);
            }
        });
        url
    }

    #[tokio::test]
    async fn a_stalled_url_gets_the_next_one_asked_beside_it() {
        let silent = silent_node().await;
        let (good, _) = flaky_node(0).await;
        let rpc = EvmRpc::new("test", &[silent, good]).unwrap();
        let began = Instant::now();
        assert_eq!(rpc.head().await.unwrap(), 42);
        let took = began.elapsed();
        assert!(
            took >= STALL && took < ATTEMPT_TIMEOUT,
            "answered by the second URL after the stall, not the timeout: {took:?}"
        );
    }
}
