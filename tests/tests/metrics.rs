//! Every service exports the DESIGN §8 metric families, and they move when a transfer happens.

use std::collections::HashMap;
use usd1_e2e::*;

/// Parses a Prometheus text scrape into series → value.
async fn scrape(url: &str) -> HashMap<String, f64> {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn families(scrape: &HashMap<String, f64>) -> Vec<String> {
    let mut f: Vec<String> = scrape
        .keys()
        .map(|s| s.split('{').next().unwrap_or(s).to_string())
        .collect();
    f.sort();
    f.dedup();
    f
}

/// Sum over the family's series that carry every `label="value"` in `labels` (comma-separated).
fn sum(scrape: &HashMap<String, f64>, family: &str, labels: &str) -> f64 {
    scrape
        .iter()
        .filter(|(k, _)| {
            k.split('{').next() == Some(family) && labels.split(',').all(|l| k.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

const ATTESTER_FAMILIES: &[&str] = &[
    "usd1_messages_observed_total",
    "usd1_messages_attested_total",
    "usd1_attester_signatures_total",
    "usd1_attester_journal_pending",
    "usd1_latency_burn_to_final_seconds_count",
    "usd1_latency_final_to_attested_seconds_count",
    "usd1_watcher_head_block",
    "usd1_watcher_finalized_block",
    "usd1_watcher_lag_blocks",
    "usd1_head_subscription_up",
    "usd1_heads_pushed_total",
    "usd1_reorgs_total",
    "usd1_orphaned_burns_total",
    "usd1_rpc_requests_total",
    "usd1_rpc_errors_total",
];

const RELAYER_FAMILIES: &[&str] = &[
    "usd1_relayer_messages_total",
    "usd1_relayer_queue_depth",
    "usd1_latency_attested_to_minted_seconds_count",
    "usd1_latency_end_to_end_seconds_count",
    "usd1_relayer_submitter_balance_gwei",
    "usd1_relayer_fees_paid_wei_total",
    "usd1_supply",
    "usd1_supply_in_flight",
    "usd1_supply_issued",
    "usd1_supply_discrepancy",
    "usd1_watcher_head_block",
    "usd1_watcher_lag_blocks",
    "usd1_head_subscription_up",
    "usd1_heads_pushed_total",
    "usd1_reorgs_total",
    "usd1_rpc_requests_total",
    "usd1_rpc_errors_total",
];

#[tokio::test(flavor = "multi_thread")]
async fn services_export_the_metric_families_and_they_move_with_a_transfer() {
    let d = devnet("metrics", |_| {}).await;
    let attester = d.attester_urls[0].clone();
    let relayer = d.relayer_url.clone();
    // The supply and balance gauges are set by background tasks: wait for their first round.
    eventually(
        TRANSFER_TIMEOUT,
        "the relayer's first supply audit",
        || async {
            scrape(&relayer)
                .await
                .contains_key("usd1_supply_discrepancy")
        },
    )
    .await;
    let (a0, r0) = (scrape(&attester).await, scrape(&relayer).await);
    for f in ATTESTER_FAMILIES {
        assert!(
            families(&a0).contains(&f.to_string()),
            "attester lacks {f}: {:?}",
            families(&a0)
        );
    }
    for f in RELAYER_FAMILIES {
        assert!(
            families(&r0).contains(&f.to_string()),
            "relayer lacks {f}: {:?}",
            families(&r0)
        );
    }
    // Labels are chain and state names, never ids.
    for series in a0.keys().chain(r0.keys()) {
        assert!(!series.contains("0x"), "an id in a label: {series}");
    }

    let burn = burn(&d, "ethereum", "base", 2_500_000).await;
    wait_confirmed(&d, &burn.message_hash).await;
    eventually(
        TRANSFER_TIMEOUT,
        "the supply gauges to show the mint",
        || async { sum(&scrape(&relayer).await, "usd1_supply", "chain=\"base\"") == 1_000_002.5 },
    )
    .await;
    let (a1, r1) = (scrape(&attester).await, scrape(&relayer).await);

    let route = "source=\"ethereum\",destination=\"base\"";
    assert_eq!(
        sum(&a1, "usd1_messages_attested_total", route)
            - sum(&a0, "usd1_messages_attested_total", route),
        1.0
    );
    assert_eq!(
        sum(&a1, "usd1_attester_signatures_total", "secp256k1")
            - sum(&a0, "usd1_attester_signatures_total", "secp256k1"),
        1.0
    );
    assert!(
        sum(&a1, "usd1_latency_burn_to_final_seconds_count", "")
            > sum(&a0, "usd1_latency_burn_to_final_seconds_count", "")
    );
    let confirmed = format!("{route},state=\"confirmed\"");
    assert_eq!(
        sum(&r1, "usd1_relayer_messages_total", &confirmed)
            - sum(&r0, "usd1_relayer_messages_total", &confirmed),
        1.0
    );
    assert_eq!(
        sum(&r1, "usd1_latency_end_to_end_seconds_count", route),
        1.0
    );
    assert!(
        sum(&r1, "usd1_relayer_fees_paid_wei_total", "base") > 0.0,
        "fees counted"
    );
    assert!(
        sum(&r1, "usd1_rpc_requests_total", "eth_getLogs")
            > sum(&r0, "usd1_rpc_requests_total", "eth_getLogs")
    );
    assert_eq!(sum(&r1, "usd1_supply", "chain=\"ethereum\""), 999_997.5);
    assert_eq!(sum(&r1, "usd1_supply_discrepancy", ""), 0.0);
    // The queue depth is sampled at the start of each pipeline tick, so the tick after the
    // confirmation shows the queue empty.
    eventually(TRANSFER_TIMEOUT, "nothing left in the queue", || async {
        sum(&scrape(&relayer).await, "usd1_relayer_queue_depth", "") == 0.0
    })
    .await;

    // Health: alive and ready.
    for url in d.attester_urls.iter().chain([&d.relayer_url]) {
        assert_eq!(
            reqwest::get(format!("{url}/healthz"))
                .await
                .unwrap()
                .status(),
            200
        );
        eventually(TRANSFER_TIMEOUT, "readiness", || async {
            reqwest::get(format!("{url}/readyz"))
                .await
                .unwrap()
                .status()
                == 200
        })
        .await;
    }
    d.stop().await;
}
