//! The Solana RPC calls the bridge makes (solana-rpc-client, nonblocking), with errors that
//! say what failed. Reads are at `confirmed` unless a call says otherwise.

use crate::claim::is_claimed;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::hash::Hash;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signature;
use solana_sdk::transaction::Transaction;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SolanaError {
    #[error("solana rpc {method}: {detail}")]
    Rpc {
        method: &'static str,
        detail: String,
    },
    #[error("solana: {0}")]
    Invalid(String),
    /// A setting of the Solana chain's config that cannot be used.
    #[error("{field}: {reason}")]
    Config { field: String, reason: String },
}

fn rpc(method: &'static str) -> impl Fn(solana_rpc_client_api::client_error::Error) -> SolanaError {
    move |e| SolanaError::Rpc {
        method,
        detail: e.to_string(),
    }
}

/// What became of a sent transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    /// The error it failed with, if it failed.
    pub error: Option<String>,
    pub finalized: bool,
    pub slot: u64,
}

/// One request's limit (the client's default is 30 s): a node that hangs fails the step in
/// seconds and it is tried again, instead of holding it half a minute.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Pauses before each further try of a read inside one step.
const RETRY_PAUSES: [std::time::Duration; 2] = [
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(400),
];

/// A read tried again, up to three times within the caller's step: a flaky node costs a
/// retry of one call, not the whole step (a watcher's poll makes dozens of calls; at 20 %
/// faults one try each would almost never finish one). Only for reads, which are safe to
/// repeat.
pub async fn retried<T, E, F, Fut>(read: F) -> Result<T, E>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut answer = read().await;
    for pause in RETRY_PAUSES {
        if answer.is_ok() {
            break;
        }
        tokio::time::sleep(pause).await;
        answer = read().await;
    }
    answer
}

/// The commitment the bridge reads at, unless a call says otherwise.
pub fn confirmed() -> CommitmentConfig {
    CommitmentConfig::confirmed()
}

/// A Solana cluster through one or more RPC nodes (`rpc_urls`, in order of preference): a
/// call goes to the first, and to the next only when it fails there, as the EVM adapter
/// does. Answers are never mixed within one call.
pub struct SolanaRpc {
    primary: RpcClient,
    fallbacks: Vec<RpcClient>,
}

fn node(url: &str) -> RpcClient {
    RpcClient::new_with_timeout_and_commitment(
        url.to_string(),
        REQUEST_TIMEOUT,
        CommitmentConfig::confirmed(),
    )
}

impl SolanaRpc {
    pub fn new(url: &str) -> Self {
        Self {
            primary: node(url),
            fallbacks: Vec::new(),
        }
    }

    /// Every URL of the config's `rpc_urls`; at least one.
    pub fn with_fallback(urls: &[String]) -> Result<Self, SolanaError> {
        let (first, rest) = urls
            .split_first()
            .ok_or_else(|| SolanaError::Invalid("rpc_urls is empty".into()))?;
        Ok(Self {
            primary: node(first),
            fallbacks: rest.iter().map(|u| node(u)).collect(),
        })
    }

    /// The preferred node (for what needs one client, e.g. `send_and_confirm_transaction`).
    pub fn client(&self) -> &RpcClient {
        &self.primary
    }

    /// A read, [`retried`] on each node in turn until one answers; the last error otherwise.
    pub async fn read<'a, T, E, Fut>(&'a self, f: impl Fn(&'a RpcClient) -> Fut) -> Result<T, E>
    where
        Fut: std::future::Future<Output = Result<T, E>> + 'a,
    {
        let mut answer = retried(|| f(&self.primary)).await;
        for client in &self.fallbacks {
            if answer.is_ok() {
                break;
            }
            answer = retried(|| f(client)).await;
        }
        answer
    }

    /// A send, once per node in turn until one takes it (a Solana transaction is identified
    /// by its signature, so a second node receiving it cannot make it land twice).
    async fn send_any<'a, T, E, Fut>(&'a self, f: impl Fn(&'a RpcClient) -> Fut) -> Result<T, E>
    where
        Fut: std::future::Future<Output = Result<T, E>> + 'a,
    {
        let mut answer = f(&self.primary).await;
        for client in &self.fallbacks {
            if answer.is_ok() {
                break;
            }
            answer = f(client).await;
        }
        answer
    }

    pub async fn healthy(&self) -> bool {
        self.read(|c| c.get_health()).await.is_ok()
    }

    /// The multisig's members and how many of them must sign.
    pub async fn multisig(&self, multisig: &Pubkey) -> Result<(Vec<Pubkey>, usize), SolanaError> {
        let account = self
            .read(|c| c.get_account(multisig))
            .await
            .map_err(rpc("getAccountInfo"))?;
        let ms = <spl_token_interface::state::Multisig as solana_program_pack::Pack>::unpack(
            &account.data,
        )
        .map_err(|e| SolanaError::Invalid(format!("the multisig account {multisig}: {e}")))?;
        Ok((ms.signers[..ms.n as usize].to_vec(), ms.m as usize))
    }

    pub async fn rent_exempt_minimum(&self, space: usize) -> Result<u64, SolanaError> {
        self.read(|c| c.get_minimum_balance_for_rent_exemption(space))
            .await
            .map_err(rpc("getMinimumBalanceForRentExemption"))
    }

    /// Whether the account exists and belongs to the Memo program (an allocated claim), at
    /// `confirmed`. Whether that claim counts as "received" is `received::ClaimRule`'s call.
    pub async fn owned_by_memo(&self, account: &Pubkey) -> Result<bool, SolanaError> {
        let account = self
            .read(|c| c.get_account_with_commitment(account, CommitmentConfig::confirmed()))
            .await
            .map_err(rpc("getAccountInfo"))?
            .value;
        Ok(account.is_some_and(|a| is_claimed(&a.owner)))
    }

    /// A recent blockhash and the last block height at which it is valid.
    pub async fn blockhash(&self) -> Result<(Hash, u64), SolanaError> {
        self.read(|c| c.get_latest_blockhash_with_commitment(CommitmentConfig::confirmed()))
            .await
            .map_err(rpc("getLatestBlockhash"))
    }

    pub async fn block_height(&self) -> Result<u64, SolanaError> {
        self.read(|c| c.get_block_height())
            .await
            .map_err(rpc("getBlockHeight"))
    }

    /// Sends with preflight, so a transaction that would fail is refused with its reason.
    pub async fn send(&self, tx: &Transaction) -> Result<Signature, SolanaError> {
        self.send_any(|c| c.send_transaction(tx))
            .await
            .map_err(rpc("sendTransaction"))
    }

    /// Sends without preflight: a transaction that fails is still recorded on chain (tests
    /// use it to make failed burns).
    pub async fn send_skipping_preflight(
        &self,
        tx: &Transaction,
    ) -> Result<Signature, SolanaError> {
        let config = solana_rpc_client_types::config::RpcSendTransactionConfig {
            skip_preflight: true,
            ..Default::default()
        };
        self.send_any(|c| c.send_transaction_with_config(tx, config))
            .await
            .map_err(rpc("sendTransaction"))
    }

    pub async fn outcome(&self, signature: &Signature) -> Result<Option<TxOutcome>, SolanaError> {
        let asked = [*signature];
        let statuses = self
            .read(|c| c.get_signature_statuses(&asked))
            .await
            .map_err(rpc("getSignatureStatuses"))?;
        Ok(statuses
            .value
            .into_iter()
            .next()
            .flatten()
            .map(|s| TxOutcome {
                error: s.err.as_ref().map(|e| e.to_string()),
                // `confirmations` is null once the block is rooted (finalized).
                finalized: s.confirmations.is_none(),
                slot: s.slot,
            }))
    }

    /// (fee in lamports, compute units) of a landed transaction.
    pub async fn fee_and_compute_units(
        &self,
        signature: &Signature,
    ) -> Result<(u64, Option<u64>), SolanaError> {
        use solana_transaction_status_client_types::UiTransactionEncoding;
        let tx = self
            .read(|c| c.get_transaction(signature, UiTransactionEncoding::Json))
            .await
            .map_err(rpc("getTransaction"))?;
        let meta = tx
            .transaction
            .meta
            .ok_or_else(|| SolanaError::Invalid("transaction without meta".into()))?;
        Ok((meta.fee, meta.compute_units_consumed.into()))
    }

    /// The wallet's balance of `mint` in base units (0 without a token account).
    pub async fn token_balance(&self, wallet: &Pubkey, mint: &Pubkey) -> Result<u64, SolanaError> {
        let ata = spl_associated_token_account_interface::address::get_associated_token_address(
            wallet, mint,
        );
        match self.read(|c| c.get_token_account_balance(&ata)).await {
            Ok(b) => b
                .amount
                .parse()
                .map_err(|_| SolanaError::Invalid(format!("bad amount {:?}", b.amount))),
            Err(e) if e.to_string().contains("could not find account") => Ok(0),
            Err(e) => Err(rpc("getTokenAccountBalance")(e)),
        }
    }

    pub async fn supply(&self, mint: &Pubkey) -> Result<u64, SolanaError> {
        let s = self
            .read(|c| c.get_token_supply(mint))
            .await
            .map_err(rpc("getTokenSupply"))?;
        s.amount
            .parse()
            .map_err(|_| SolanaError::Invalid(format!("bad supply {:?}", s.amount)))
    }
}

#[cfg(test)]
mod retry_tests {
    use super::retried;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_read_failing_twice_succeeds_within_the_step_and_a_third_failure_is_returned() {
        let calls = AtomicU32::new(0);
        let flaky = || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err("down"),
                n => Ok(n),
            }
        };
        assert_eq!(retried(flaky).await, Ok(2));
        let calls = AtomicU32::new(0);
        let down = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>("down")
        };
        assert_eq!(retried(down).await, Err("down"));
        assert_eq!(calls.load(Ordering::SeqCst), 3, "three tries, no more");
    }
}

#[cfg(test)]
mod fallback_tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A JSON-RPC node that answers every request with `result` (it reads the whole request
    /// first: headers, then Content-Length bytes of body).
    async fn node_answering(result: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        let n = conn.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&request).to_lowercase();
                        let Some(end) = text.find("\r\n\r\n") else {
                            continue;
                        };
                        let length: usize = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if request.len() < end + 4 + length {
                            continue;
                        }
                        let body = format!(r#"{{"jsonrpc":"2.0","result":{result},"id":1}}"#);
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = conn.write_all(answer.as_bytes()).await;
                        request.clear();
                    }
                });
            }
        });
        url
    }

    /// A URL nothing listens on (a port just released).
    async fn dead_node() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        url
    }

    #[tokio::test]
    async fn a_read_goes_to_the_next_node_when_the_first_is_down() {
        let urls = vec![dead_node().await, node_answering("42").await];
        let rpc = SolanaRpc::with_fallback(&urls).unwrap();
        assert_eq!(rpc.block_height().await.unwrap(), 42);
    }

    #[tokio::test]
    async fn the_first_node_answers_when_it_is_up() {
        let urls = vec![node_answering("7").await, node_answering("42").await];
        let rpc = SolanaRpc::with_fallback(&urls).unwrap();
        assert_eq!(rpc.block_height().await.unwrap(), 7);
    }

    #[tokio::test]
    async fn every_node_down_is_an_rpc_error_naming_the_method() {
        let urls = vec![dead_node().await, dead_node().await];
        let rpc = SolanaRpc::with_fallback(&urls).unwrap();
        let err = rpc.block_height().await.unwrap_err();
        assert!(
            matches!(
                err,
                SolanaError::Rpc {
                    method: "getBlockHeight",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn no_url_is_a_config_error() {
        assert!(matches!(
            SolanaRpc::with_fallback(&[]),
            Err(SolanaError::Invalid(_))
        ));
    }
}
