//! The finality-violation scenario: a burn is attested and minted, then its source reorgs
//! deeper than the finality rule (with other transactions in the new blocks), and a later
//! burn reuses its nonce. The protocol cannot prevent what follows — the orphaned burn's mint
//! stays, and the later burn's (source, nonce) is already used — so the check is that
//! operators see it at once: the attesters stop serving the orphaned message's signatures,
//! the relayer marks both messages, the finality-violation metrics and alert series move,
//! and `usd1 audit --receipts` names the (source, nonce) pair.

use crate::error::ChaosError;
use crate::plan::Plan;
use crate::reorgs::reorg;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use usd1_deploy::client::{wait_for_status, User};
use usd1_deploy::{Devnet, DevnetOptions};

const WAIT: Duration = Duration::from_secs(90);

/// One detection signal and whether it was seen.
struct Signal {
    what: String,
    seen: bool,
}

pub async fn run(plan: Plan, work_dir: &std::path::Path) -> Result<usize, ChaosError> {
    let began = Instant::now();
    let _ = std::fs::remove_dir_all(work_dir);
    let mut options = DevnetOptions::new(work_dir);
    options.solana = false;
    let d = Devnet::start(options).await?;
    let net = std::sync::Arc::new(RwLock::new(d));
    let d = net.read().await;
    let user = User {
        key: d.user.clone(),
    };
    let eth = d.chain("ethereum");
    let base_domain = d.chain("base").domain;
    let recipient = Address::from(rand_bytes(plan.seed));
    let amount = U256::from(25_000_000u64);

    // 1. A burn, attested and minted.
    let x = user
        .burn(
            &eth.rpc_url,
            &eth.deployment,
            base_domain,
            recipient,
            amount,
        )
        .await?;
    wait_for_status(&d.relayer_url, &x.message_hash, "confirmed", WAIT).await?;
    let burn_block = eth
        .admin
        .get_transaction_receipt(x.tx_hash)
        .await?
        .and_then(|r| r.block_number)
        .ok_or(ChaosError::Missing("the burn's receipt has no block"))?;
    let head = eth.admin.get_block_number().await?;
    let depth = head - burn_block + 1;
    println!(
        "attested and minted from ethereum block {burn_block}: {:#x} (nonce {}); reorging {depth} blocks (finality: {} confirmations)",
        x.message_hash, x.message.nonce, d.options.confirmations
    );

    // 2. The source reorgs below it: the burn is gone.
    drop(d);
    reorg(&net, "ethereum", depth).await?;
    let d = net.read().await;
    let eth = d.chain("ethereum");
    let gone = eth
        .admin
        .get_transaction_receipt(x.tx_hash)
        .await?
        .is_none();

    // 3. A later burn reuses the nonce (another amount: the very same message again would
    // just be the same burn, read again from the new fork and minted once).
    let y = user
        .burn(
            &eth.rpc_url,
            &eth.deployment,
            base_domain,
            recipient,
            amount + U256::from(1_000_000u64),
        )
        .await?;
    println!(
        "the orphaned burn is {}; a new burn reuses nonce {}: {:#x}",
        if gone { "gone" } else { "STILL THERE" },
        y.message.nonce,
        y.message_hash
    );

    let mut signals = vec![Signal {
        what: "the reorg removed the attested burn".into(),
        seen: gone,
    }];
    for url in &d.attester_urls {
        let seen = until(|| async {
            let v: serde_json::Value =
                get_json(&format!("{url}/v1/attestations/{:#x}", x.message_hash)).await;
            v["status"] == "finality_violated" && v["attestation"].is_null()
        })
        .await;
        signals.push(Signal {
            what: format!("attester {url} stops serving the orphaned message's signature"),
            seen,
        });
        let seen =
            until(|| metric_above(url, "usd1_finality_violations_total{chain=\"ethereum\"}")).await;
        signals.push(Signal {
            what: format!("attester {url}: usd1_finality_violations_total > 0"),
            seen,
        });
    }
    let relayer = d.relayer_url.clone();
    let seen = until(|| async {
        let v = get_json(&format!("{relayer}/v1/messages/{:#x}", x.message_hash)).await;
        v["finalityViolated"] == true
    })
    .await;
    signals.push(Signal {
        what: "the relayer marks the orphaned message".into(),
        seen,
    });
    let seen = until(|| async {
        let v = get_json(&format!("{relayer}/v1/messages/{:#x}", y.message_hash)).await;
        v["status"] == "failed"
            && v["reason"]
                .as_str()
                .is_some_and(|r| r.contains("finality violation"))
    })
    .await;
    signals.push(Signal {
        what: "the relayer fails the burn that reuses the nonce (not 'delivered')".into(),
        seen,
    });
    let seen = until(|| {
        metric_above(
            &relayer,
            "usd1_finality_violations_total{chain=\"ethereum\"}",
        )
    })
    .await;
    signals.push(Signal {
        what: "relayer: usd1_finality_violations_total > 0".into(),
        seen,
    });
    let seen =
        until(|| metric_above(&relayer, "usd1_orphaned_burns_total{chain=\"ethereum\"}")).await;
    signals.push(Signal {
        what: "relayer: usd1_orphaned_burns_total > 0 (Usd1FinalityViolation fires)".into(),
        seen,
    });
    let audit = std::process::Command::new(usd1_deploy::process::bin_path("usd1"))
        .arg("--config")
        .arg(d.cli_config_path())
        .args(["audit", "--no-index", "--receipts"])
        .output()
        .map_err(|source| ChaosError::Spawn {
            what: "usd1 audit",
            source,
        })?;
    let text = String::from_utf8_lossy(&audit.stdout).to_string()
        + &String::from_utf8_lossy(&audit.stderr);
    let pair = format!("(source {}, nonce {})", eth.domain.0, x.message.nonce);
    signals.push(Signal {
        what: format!("usd1 audit --receipts names {pair} and exits 1"),
        seen: !audit.status.success() && text.contains(&pair),
    });

    println!("\nfinality-violation report (seed {})", plan.seed);
    println!("| {:<78} | {:<4} |", "operators are told", "seen");
    println!("|{}|{}|", "-".repeat(80), "-".repeat(6));
    for s in &signals {
        println!(
            "| {:<78} | {:<4} |",
            s.what,
            if s.seen { "yes" } else { "NO" }
        );
    }
    println!("\naudit:\n{}", text.trim_end());
    println!("wall time {:.0} s", began.elapsed().as_secs_f64());
    let missed = signals.iter().filter(|s| !s.seen).count();
    drop(d);
    if let Ok(lock) = std::sync::Arc::try_unwrap(net) {
        lock.into_inner().stop().await;
    }
    Ok(missed)
}

fn rand_bytes(seed: u64) -> [u8; 20] {
    let mut b = [0x11u8; 20];
    b[12..].copy_from_slice(&seed.to_be_bytes());
    b
}

async fn get_json(url: &str) -> serde_json::Value {
    match reqwest::get(url).await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => serde_json::Value::Null,
    }
}

async fn metric_above(url: &str, series: &str) -> bool {
    let Ok(r) = reqwest::get(format!("{url}/metrics")).await else {
        return false;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .is_some_and(|v| v > 0.0)
}

/// Polls `check` until it holds or [`WAIT`] passes.
async fn until<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}
