//! The attesters' governor (DESIGN §10) on a devnet with a 24 s window of 10 USD1 per source
//! chain and a big-transfer threshold of 5 USD1:
//! 1. a burn over the threshold is held by every attester (`pending_governor`, the same
//!    `releaseAt`), the relayer says "held by the governor until …", and it is minted after
//!    the (15 s) delay;
//! 2. a run of burns over the window is partly held and released as the window slides, at
//!    the time every attester planned;
//! 3. an attester killed (SIGKILL) during a hold still holds it after its restart, releases
//!    it at the same time and counts it once (a window hold; and a big one, released by hand);
//! 4. operators release a hold with their token only (401 without it or with another one),
//!    and a dropped message is never signed; `usd1 status`, `usd1 transfer` and
//!    `usd1 governor status` show holds.

use alloy::primitives::B256;
use alloy::providers::Provider;
use std::time::{Duration, Instant};
use usd1_config::GovernorConfig;
use usd1_deploy::Devnet;
use usd1_e2e::*;

const USD1: u64 = 1_000_000;

const WINDOW: u64 = 24;

fn governor(big_transfer_delay_secs: u64) -> GovernorConfig {
    GovernorConfig {
        window_secs: WINDOW,
        big_transfer_delay_secs,
        daily_limit: "10".into(),
        big_transfer: "5".into(),
        ..Default::default()
    }
}

fn now_secs() -> u64 {
    usd1_runtime::now_ms() / 1000
}

/// The burn's block time (the governor's clock).
async fn block_time(d: &Devnet, chain: &str, tx: B256) -> u64 {
    let c = d.chain(chain);
    let receipt = c.admin.get_transaction_receipt(tx).await.unwrap().unwrap();
    let number = receipt.block_number.unwrap();
    let block = c
        .admin
        .get_block_by_number(number.into())
        .await
        .unwrap()
        .unwrap();
    block.header.timestamp
}

async fn answers(d: &Devnet, hash: &B256) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for url in &d.attester_urls {
        out.push(attester_answer(url, hash).await.1);
    }
    out
}

/// Waits until every attester holds the message; returns their (common) `releaseAt`.
async fn held_by_all(d: &Devnet, hash: &B256) -> u64 {
    let deadline = Instant::now() + TRANSFER_TIMEOUT;
    loop {
        let a = answers(d, hash).await;
        if a.iter().all(|v| v["status"] == "pending_governor") {
            let at = a[0]["releaseAt"].as_u64().unwrap();
            assert!(
                a.iter()
                    .all(|v| v["releaseAt"] == at && v["attestation"].is_null()),
                "every attester plans the same release: {a:?}"
            );
            return at;
        }
        assert!(
            a.iter().all(|v| v["status"] != "complete"),
            "{hash:#x} signed before every attester held it: {a:?}"
        );
        assert!(
            Instant::now() < deadline,
            "{hash:#x} not held by every attester: {a:?}; logs in {}",
            d.log_dir().display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every attester signed the message; asserts none did before `release_at`.
async fn signed_by_all_from(d: &Devnet, hash: &B256, release_at: u64) {
    let deadline = Instant::now() + TRANSFER_TIMEOUT;
    loop {
        let before = now_secs();
        let a = answers(d, hash).await;
        if let Some(v) = a.iter().find(|v| v["status"] == "complete") {
            assert!(
                before + 1 >= release_at,
                "signed at {before}, before its release at {release_at}: {v}"
            );
        }
        if a.iter().all(|v| v["status"] == "complete") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{hash:#x} not signed by every attester: {a:?}; logs in {}",
            d.log_dir().display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn governor_status(url: &str) -> serde_json::Value {
    reqwest::get(format!("{url}/v1/governor"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn chain_status<'a>(status: &'a serde_json::Value, chain: &str) -> &'a serde_json::Value {
    status["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chain"] == chain)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn big_transfers_and_runs_over_the_window_are_held_then_released_across_a_restart() {
    let mut d = devnet("governor", |o| o.governor = Some(governor(15))).await;

    // A run over the window on ethereum: 4 + 4 fit the 10 USD1; the third 4 does not.
    let mut run = Vec::new();
    let mut times = Vec::new();
    for _ in 0..3 {
        let b = burn(&d, "ethereum", "base", 4 * USD1).await;
        times.push(block_time(&d, "ethereum", b.tx_hash).await);
        run.push(b);
    }
    let third = held_by_all(&d, &run[2].message_hash).await;
    assert_eq!(
        third,
        times[0] + WINDOW,
        "released when the first burn leaves the window (burns at {times:?})"
    );
    for b in &run[..2] {
        signed_by_all_from(&d, &b.message_hash, 0).await;
    }
    // Kill -9 an attester during the hold: restarted, it still holds it, with the same plan.
    d.stop_attester(1).await;
    d.start_attester(1).await.unwrap();
    let checked_at = now_secs();
    assert!(
        checked_at + 1 < third,
        "the restart outlasted the hold; a slow machine?"
    );
    let (_, after) = attester_answer(&d.attester_urls[1], &run[2].message_hash).await;
    assert_eq!(after["status"], "pending_governor", "{after}");
    assert_eq!(after["releaseAt"], third);

    // A big transfer on base.
    let big = burn(&d, "base", "ethereum", 6 * USD1).await;
    let big_time = block_time(&d, "base", big.tx_hash).await;
    let big_release = held_by_all(&d, &big.message_hash).await;
    assert_eq!(big_release, big_time + 15, "a big transfer waits its delay");
    // The relayer says why it waits, and does not give up.
    let relayer = d.relayer_url.clone();
    let hash = big.message_hash;
    eventually(
        TRANSFER_TIMEOUT,
        "the relayer to show the big transfer held by the governor",
        || {
            let r = relayer.clone();
            async move {
                client::relayer_status(&r, &hash).await.is_some_and(|v| {
                    v["status"] == "attesting"
                        && v["lastError"]
                            .as_str()
                            .is_some_and(|e| e.starts_with("held by the governor until "))
                })
            }
        },
    )
    .await;

    signed_by_all_from(&d, &big.message_hash, big_release).await;
    signed_by_all_from(&d, &run[2].message_hash, third).await;
    wait_confirmed(&d, &big.message_hash).await;
    for b in &run {
        wait_confirmed(&d, &b.message_hash).await;
    }
    assert_eq!(
        balance(&d, "base", recipient()).await,
        alloy::primitives::U256::from(12 * USD1)
    );

    // Each attester counted each signed burn once: 4 at t1, t2 and at the release (t1 + the
    // window), a released big transfer not at all.
    for url in &d.attester_urls {
        let status = governor_status(url).await;
        let now = status["now"].as_u64().unwrap();
        let expected = [times[0], times[1], third]
            .iter()
            .filter(|t| **t + WINDOW > now && **t <= now)
            .count()
            * 4;
        let eth = chain_status(&status, "ethereum");
        assert_eq!(eth["windowUsed"], expected.to_string(), "{url}: {status}");
        assert_eq!(
            (eth["held"].clone(), eth["dailyLimit"].clone()),
            (0.into(), "10".into())
        );
        assert_eq!(chain_status(&status, "base")["windowUsed"], "0", "{status}");
        let ready: serde_json::Value = reqwest::get(format!("{url}/readyz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["signed"], 4, "{url}: signed once each");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_release_and_drop_holds_with_their_token_only() {
    let mut d = devnet("governor-admin", |o| o.governor = Some(governor(3600))).await;
    let released = burn(&d, "ethereum", "base", 6 * USD1).await;
    let dropped = burn(&d, "ethereum", "base", 7 * USD1).await;
    let release_at = held_by_all(&d, &released.message_hash).await;
    assert!(release_at > now_secs() + 3000, "held for the hour");
    held_by_all(&d, &dropped.message_hash).await;
    // Kill -9 an attester during the hold: restarted, it still holds both.
    d.stop_attester(2).await;
    d.start_attester(2).await.unwrap();
    let (_, after) = attester_answer(&d.attester_urls[2], &released.message_hash).await;
    assert_eq!(
        (after["status"].clone(), after["releaseAt"].clone()),
        ("pending_governor".into(), release_at.into()),
        "{after}"
    );
    held_by_all(&d, &dropped.message_hash).await;

    // `usd1 status` asks the attesters: held, not stuck.
    let hash = format!("{:#x}", released.message_hash);
    let mut shown = String::new();
    for _ in 0..100 {
        shown = text(&usd1(&d, &["status", &hash]));
        if shown.contains("held by the governor until") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(shown.contains("held by the governor until"), "{shown}");
    let status = usd1(&d, &["governor", "status"]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(text(&status).contains(&hash), "{}", text(&status));

    // Without the credential, or with another one: 401, nothing signed.
    let client = reqwest::Client::new();
    let route = format!("/v1/governor/release/{hash}");
    for url in &d.attester_urls {
        for auth in [None, Some(format!("Bearer {}", "x".repeat(64)))] {
            let mut request = client.post(format!("{url}{route}"));
            if let Some(a) = &auth {
                request = request.header("authorization", a);
            }
            let resp = request.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 401, "{url} {auth:?}");
            let body: serde_json::Value = resp.json().await.unwrap();
            assert!(body["error"].is_string(), "{body}");
        }
    }
    let wrong = d.options.work_dir.join("keys/wrong.token");
    std::fs::write(&wrong, "y".repeat(64)).unwrap();
    let refused = usd1(
        &d,
        &[
            "governor",
            "release",
            &hash,
            "--token-file",
            wrong.to_str().unwrap(),
        ],
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("401"), "{}", text(&refused));
    let no_token = usd1(&d, &["governor", "release", &hash]);
    assert_eq!(no_token.status.code(), Some(2), "{}", text(&no_token));
    assert!(answers(&d, &released.message_hash)
        .await
        .iter()
        .all(|v| v["status"] == "pending_governor"));

    // With it: released at once by every attester, then minted.
    let token = d.governor_token_file();
    let out = usd1(
        &d,
        &[
            "governor",
            "release",
            &hash,
            "--token-file",
            token.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        text(&out).matches("released: signed now").count(),
        3,
        "{}",
        text(&out)
    );
    assert!(answers(&d, &released.message_hash)
        .await
        .iter()
        .all(|v| v["status"] == "complete"));
    wait_confirmed(&d, &released.message_hash).await;

    // Dropped: never signed; the relayer keeps waiting (it is not failed).
    let dropped_hash = format!("{:#x}", dropped.message_hash);
    let out = usd1(
        &d,
        &[
            "governor",
            "drop",
            &dropped_hash,
            "--token-file",
            token.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    tokio::time::sleep(Duration::from_secs(3)).await;
    for v in answers(&d, &dropped.message_hash).await {
        assert_eq!(v["status"], "dropped_by_governor", "{v}");
        assert!(v["attestation"].is_null());
    }
    let record = client::relayer_status(&d.relayer_url, &dropped.message_hash)
        .await
        .unwrap();
    assert_eq!(record["status"], "attesting", "{record}");
    let governed = governor_status(&d.attester_urls[0]).await;
    assert_eq!(governed["dropped"][0]["messageHash"], dropped_hash);
    assert_eq!(chain_status(&governed, "ethereum")["held"], 0);

    // `usd1 transfer` says why it waits, and so does its timeout.
    let out = usd1(
        &d,
        &[
            "transfer",
            "--from",
            "ethereum",
            "--to",
            "base",
            "--amount",
            "8",
            "--recipient",
            &recipient().to_string(),
            "--timeout",
            "12",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("held by the governor until"),
        "{}",
        text(&out)
    );
    d.stop().await;
}
