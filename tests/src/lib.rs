//! Helpers for the end-to-end tests: a devnet per test in its own directory (kept with every
//! process's log when the test fails, removed when it passes), and the reads the assertions need.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use std::path::PathBuf;
use std::time::Duration;
use usd1_deploy::{Devnet, DevnetOptions};
use usd1_evm::bindings::MessageTransmitter::MessageReceived;

pub use usd1_deploy::client::{self, User};

pub mod fixtures;
pub use fixtures::{SendMessage, TransmitterOwner};

/// Generous: a transfer takes ~5 s on the devnet; CI machines are slower and run tests side by side.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(90);

/// A fresh work directory for one test (logs stay there for a failed run).
pub fn work_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("usd1-e2e-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Removes a test's work directory when dropped, unless the test is failing (its logs stay).
/// Declare it before what runs in the directory, so that is dropped (killed) first.
pub struct RemoveUnlessFailed(pub PathBuf);

impl Drop for RemoveUnlessFailed {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // A process killed on drop just before may still be finishing a write.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

pub async fn devnet(test: &str, tweak: impl FnOnce(&mut DevnetOptions)) -> Devnet {
    usd1_evm::tls::install(); // before the first HTTP client of this test
    let mut options = DevnetOptions::new(work_dir(test));
    options.remove_work_dir_on_drop = true;
    tweak(&mut options);
    let dir = options.work_dir.clone();
    match Devnet::start(options).await {
        Ok(d) => d,
        Err(e) => panic!(
            "devnet for {test} did not start: {e}; logs in {}",
            dir.join("logs").display()
        ),
    }
}

pub fn user(d: &Devnet) -> User {
    User {
        key: d.user.clone(),
    }
}

pub fn recipient() -> Address {
    // anvil's account 3: holds no USD1 at the start.
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
        .parse()
        .unwrap()
}

/// The devnet user burns `amount` base units on `from` toward `to`, for [`recipient`].
pub async fn burn(d: &Devnet, from: &str, to: &str, amount: u64) -> client::Burn {
    let (src, dst) = (d.chain(from), d.chain(to));
    user(d)
        .burn(
            &src.rpc_url,
            &src.deployment,
            dst.domain,
            recipient(),
            U256::from(amount),
        )
        .await
        .unwrap()
}

pub async fn balance(d: &Devnet, chain: &str, who: Address) -> U256 {
    let c = d.chain(chain);
    client::balance(&c.admin, c.deployment.token, who)
        .await
        .unwrap()
}

pub async fn total_supply(d: &Devnet) -> U256 {
    let mut sum = U256::ZERO;
    for c in &d.chains {
        sum += client::total_supply(&c.admin, c.deployment.token)
            .await
            .unwrap();
    }
    sum
}

/// Every `MessageReceived` on `chain`: (sourceDomain, nonce).
pub async fn received(d: &Devnet, chain: &str) -> Vec<(u32, u64)> {
    let c = d.chain(chain);
    let filter = Filter::new()
        .address(c.deployment.transmitter)
        .event_signature(MessageReceived::SIGNATURE_HASH)
        .from_block(0);
    c.admin
        .get_logs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|l| {
            let e = l.log_decode::<MessageReceived>().unwrap();
            (e.inner.data.sourceDomain, e.inner.data.nonce)
        })
        .collect()
}

pub async fn wait_confirmed(d: &Devnet, hash: &B256) -> serde_json::Value {
    match client::wait_for_status(&d.relayer_url, hash, "confirmed", TRANSFER_TIMEOUT).await {
        Ok(v) => v,
        Err(e) => panic!("{e}; logs in {}", d.log_dir().display()),
    }
}

/// The devnet relayer's submitter account on every chain (it is given anvil key 1).
pub fn relayer_submitter() -> Address {
    usd1_deploy::devnet::ANVIL_KEYS[1]
        .parse::<alloy::signers::local::PrivateKeySigner>()
        .unwrap()
        .address()
}

/// The relayer's aggregated attestation of `hash` (the threshold signatures, sorted), once it
/// has one: what a user needs to deliver, or to `replaceDepositForBurn`.
pub async fn relayer_attestation(d: &Devnet, hash: &B256) -> Vec<u8> {
    let url = format!("{}/v1/attestations/{hash:#x}", d.relayer_url);
    let found = std::sync::Mutex::new(Vec::new());
    eventually(
        TRANSFER_TIMEOUT,
        "the relayer's aggregated attestation",
        || async {
            let Ok(resp) = reqwest::get(&url).await else {
                return false;
            };
            let v: serde_json::Value = resp.json().await.unwrap_or_default();
            match v["attestation"].as_str() {
                Some(a) if v["status"] == "complete" => {
                    *found.lock().unwrap() =
                        alloy::hex::decode(a.trim_start_matches("0x")).unwrap();
                    true
                }
                _ => false,
            }
        },
    )
    .await;
    found.into_inner().unwrap()
}

/// The relayer's listing of messages in `status`.
pub async fn list(d: &Devnet, status: &str) -> Vec<serde_json::Value> {
    let url = format!("{}/v1/messages?status={status}&limit=1000", d.relayer_url);
    let v: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    v["messages"].as_array().cloned().unwrap_or_default()
}

/// An attester's answer for a message hash: (HTTP status, body).
pub async fn attester_answer(url: &str, hash: &B256) -> (u16, serde_json::Value) {
    let resp = reqwest::get(format!("{url}/v1/attestations/{hash:#x}"))
        .await
        .unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or_default())
}

/// Polls `check` every 100 ms until it holds; panics naming `what` after `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_explained(timeout, what, check, || async { String::new() }).await
}

/// Like [`eventually`], but a timeout's panic also carries what `explain` reads then (e.g.
/// where each transfer stood), so a failure in CI says more than which wait ran out.
pub async fn eventually_explained<F, Fut, E, EFut>(
    timeout: Duration,
    what: &str,
    mut check: F,
    explain: E,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
    E: FnOnce() -> EFut,
    EFut: std::future::Future<Output = String>,
{
    let deadline = std::time::Instant::now() + timeout;
    while !check().await {
        if std::time::Instant::now() >= deadline {
            let explanation = explain().await;
            if explanation.is_empty() {
                panic!("timed out after {timeout:?} waiting for {what}");
            }
            panic!("timed out after {timeout:?} waiting for {what}; {explanation}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `read`'s answer, asked again for up to 30 s while it fails (a node on a loaded machine can
/// miss a read's own retries); panics with the last error after that.
pub async fn retried<T, E, F, Fut>(what: &str, mut read: F) -> T
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match read().await {
            Ok(v) => return v,
            Err(e) if std::time::Instant::now() >= deadline => panic!("{what}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// One line a message: its status at the relayer and its last error (or that the relayer
/// does not answer for it).
pub async fn relayer_statuses(relayer_url: &str, hashes: &[B256]) -> String {
    let mut lines = Vec::new();
    for h in hashes {
        let line = match client::relayer_status(relayer_url, h).await {
            Some(v) => format!("{h:#x}: {} (last error: {})", v["status"], v["lastError"]),
            None => format!("{h:#x}: no answer"),
        };
        lines.push(line);
    }
    format!("relayer statuses:\n{}", lines.join("\n"))
}

/// A Solana wallet's USD1 once it reads `expected` (or what it reads after the timeout): an
/// account read can trail a just-confirmed signature by a moment.
pub async fn solana_balance_becomes(
    rpc: &usd1_solana::rpc::SolanaRpc,
    wallet: &usd1_solana::Pubkey,
    mint: &usd1_solana::Pubkey,
    expected: u64,
) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let b = rpc.token_balance(wallet, mint).await.unwrap_or(0);
        if b == expected || std::time::Instant::now() >= deadline {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the `usd1` command line with the devnet's CLI config.
pub fn usd1(d: &Devnet, args: &[&str]) -> std::process::Output {
    std::process::Command::new(usd1_deploy::process::bin_path("usd1"))
        .arg("--config")
        .arg(d.cli_config_path())
        .args(args)
        // The audit's index stays in the test's directory, not in the user's cache.
        .env("USD1_AUDIT_INDEX", d.options.work_dir.join("audit-index"))
        .output()
        .expect("usd1 built (cargo build --bins)")
}

/// Runs `usd1 audit` until `done` holds for its output: the audit pins each EVM chain one
/// block below its head, and Solana at `finalized`, a few seconds behind what was just
/// confirmed.
pub async fn audit_until(
    d: &Devnet,
    what: &str,
    done: impl Fn(&std::process::Output) -> bool,
) -> std::process::Output {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let out = usd1(d, &["audit"]);
        if done(&out) {
            return out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for the audit to show {what}; last:\n{}",
            text(&out)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A command's stdout and stderr together.
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[cfg(test)]
mod wait_tests {
    use super::*;

    #[tokio::test]
    #[should_panic(expected = "waiting for nothing; where it stood")]
    async fn a_timed_out_wait_says_what_explain_read() {
        let never = || async { false };
        let explain = || async { "where it stood".to_string() };
        eventually_explained(Duration::from_millis(10), "nothing", never, explain).await;
    }

    #[tokio::test]
    async fn a_failing_read_is_asked_again() {
        let tries = std::sync::atomic::AtomicU32::new(0);
        let read = || async {
            match tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Err("not yet"),
                n => Ok(n),
            }
        };
        assert_eq!(retried("a read", read).await, 1);
    }
}
