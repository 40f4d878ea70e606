//! 1. Transfers A→B and B→A mint the exact amounts to the right recipients; total supply
//!    over both chains is unchanged.

use alloy::primitives::U256;
use usd1_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn transfers_each_way_mint_exact_amounts_and_keep_total_supply() {
    let d = devnet("transfers", |_| {}).await;
    let u = user(&d);
    let to = recipient();
    let supply = total_supply(&d).await;
    let user_before_a = balance(&d, "ethereum", u.address()).await;

    let ab = burn(&d, "ethereum", "base", 12_500_000).await;
    let ba = burn(&d, "base", "ethereum", 7_250_001).await;
    assert_eq!(
        balance(&d, "ethereum", u.address()).await,
        user_before_a - U256::from(12_500_000u64),
        "burned at the source"
    );

    let ab_status = wait_confirmed(&d, &ab.message_hash).await;
    wait_confirmed(&d, &ba.message_hash).await;

    assert_eq!(balance(&d, "base", to).await, U256::from(12_500_000u64));
    assert_eq!(balance(&d, "ethereum", to).await, U256::from(7_250_001u64));
    assert_eq!(
        total_supply(&d).await,
        supply,
        "supply over both chains unchanged"
    );
    assert_eq!(received(&d, "base").await, vec![(0, ab.message.nonce)]);
    assert_eq!(received(&d, "ethereum").await, vec![(6, ba.message.nonce)]);

    // The status API tells the whole story, and the aggregated attestation is served.
    let states: Vec<&str> = ab_status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.first(), Some(&"observed"));
    assert_eq!(states.last(), Some(&"confirmed"));
    assert!(
        states.contains(&"attested") && states.contains(&"submitted"),
        "{states:?}"
    );
    let agg: serde_json::Value = reqwest::get(format!(
        "{}/v1/attestations/{:#x}",
        d.relayer_url, ab.message_hash
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(agg["status"], "complete");
    assert_eq!(
        agg["attestation"].as_str().unwrap().len(),
        2 + 2 * 130,
        "two 65-byte signatures"
    );
    d.stop().await;
}
