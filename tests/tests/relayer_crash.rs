//! 3. The relayer killed with SIGKILL in the middle of a batch of 50 transfers and
//!    restarted: every transfer is minted exactly once.

use alloy::primitives::U256;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use usd1_e2e::*;

const BATCH: usize = 50;

#[tokio::test(flavor = "multi_thread")]
async fn relayer_killed_mid_batch_mints_every_transfer_exactly_once() {
    let mut d = devnet("relayer-crash", |_| {}).await;
    let u = user(&d);
    let to = recipient();
    let a = d.chain("ethereum");
    let (rpc, deployment, dest) = (a.rpc_url.clone(), a.deployment, d.chain("base").domain);
    let supply = total_supply(&d).await;

    let started = Instant::now();
    // Distinct amounts, so the final balance shows each one arrived exactly once.
    let mut expected = U256::ZERO;
    let mut txs = Vec::new();
    for i in 0..BATCH {
        let amount = U256::from(1_000_000u64 + i as u64);
        expected += amount;
        txs.extend(
            u.burn_many(&rpc, &deployment, dest, to, amount, 1)
                .await
                .unwrap(),
        );
    }

    // Kill it once some deliveries are under way and some are not.
    let relayer = d.relayer_url.clone();
    eventually(
        TRANSFER_TIMEOUT,
        "the relayer to start delivering the batch",
        || {
            let r = relayer.clone();
            async move {
                let url = format!("{r}/v1/messages?limit=1000");
                let Ok(resp) = reqwest::get(url).await else {
                    return false;
                };
                let v: serde_json::Value = resp.json().await.unwrap_or_default();
                let msgs = v["messages"].as_array().cloned().unwrap_or_default();
                let delivering = msgs
                    .iter()
                    .filter(|m| m["status"] == "submitted" || m["status"] == "confirmed")
                    .count();
                delivering >= 5
            }
        },
    )
    .await;
    let before_kill = list(&d, "confirmed").await.len();
    let in_flight = list(&d, "submitted").await.len();
    d.kill_relayer().await;
    println!("relayer SIGKILLed with {before_kill} confirmed and {in_flight} submitted of {BATCH}");
    assert!(
        before_kill < BATCH,
        "the kill must land mid-batch ({before_kill} already confirmed)"
    );
    d.start_relayer().await.unwrap();

    let base = d.chain("base");
    let (provider, token) = (base.admin.clone(), base.deployment.token);
    client::wait_for_balance(&provider, token, to, expected, Duration::from_secs(240))
        .await
        .unwrap_or_else(|e| {
            panic!("{e}; logs in {}", d.log_dir().display());
        });
    let elapsed = started.elapsed();
    eventually(TRANSFER_TIMEOUT, "all 50 to be confirmed or delivered", || {
        let d = &d;
        async move { list(d, "confirmed").await.len() + list(d, "delivered").await.len() == BATCH }
    })
    .await;

    assert_eq!(
        balance(&d, "base", to).await,
        expected,
        "each transfer minted exactly once"
    );
    let got = received(&d, "base").await;
    assert_eq!(got.len(), BATCH, "one MessageReceived per burn");
    assert_eq!(
        got.iter().collect::<HashSet<_>>().len(),
        BATCH,
        "no nonce twice"
    );
    assert_eq!(total_supply(&d).await, supply);
    assert!(list(&d, "failed").await.is_empty());
    println!(
        "batch of {BATCH} with a relayer SIGKILL: all minted {:.1}s after the first burn",
        elapsed.as_secs_f64()
    );
    d.stop().await;
}
