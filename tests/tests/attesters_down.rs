//! 2. With one of the three attesters stopped, transfers still complete; with two stopped,
//!    they wait, and complete once one returns.

use alloy::primitives::U256;
use usd1_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn transfers_survive_one_attester_down_and_wait_while_two_are_down() {
    let mut d = devnet("attesters-down", |_| {}).await;
    let u = user(&d);
    let to = recipient();
    let (a, b) = (d.chain("ethereum").rpc_url.clone(), d.chain("base").domain);
    let deployment = d.chain("ethereum").deployment;

    d.stop_attester(0).await;
    let first = u
        .burn(&a, &deployment, b, to, U256::from(1_000_000u64))
        .await
        .unwrap();
    wait_confirmed(&d, &first.message_hash).await;
    assert_eq!(balance(&d, "base", to).await, U256::from(1_000_000u64));

    let (_, signed_before) = attester_answer(&d.attester_urls[1], &first.message_hash).await;
    d.stop_attester(1).await;
    let second = u
        .burn(&a, &deployment, b, to, U256::from(2_000_000u64))
        .await
        .unwrap();
    // The relayer has seen it and tried to collect signatures, more than once, in vain.
    let relayer = d.relayer_url.clone();
    eventually(
        TRANSFER_TIMEOUT,
        "the relayer to retry collecting signatures",
        || {
            let r = relayer.clone();
            let h = second.message_hash;
            async move {
                client::relayer_status(&r, &h).await.is_some_and(|v| {
                    v["status"] == "attesting" && v["attempts"].as_u64() >= Some(2)
                })
            }
        },
    )
    .await;
    let (_, answer) = attester_answer(&d.attester_urls[2], &second.message_hash).await;
    assert_eq!(
        answer["status"], "complete",
        "the one running attester did sign"
    );
    assert_eq!(
        balance(&d, "base", to).await,
        U256::from(1_000_000u64),
        "nothing minted with one signature"
    );
    assert!(received(&d, "base").await.len() == 1);

    d.start_attester(1).await.unwrap();
    // Restarted, it serves exactly what it signed before (from its store, not re-signed).
    let (_, signed_after) = attester_answer(&d.attester_urls[1], &first.message_hash).await;
    assert_eq!(signed_after, signed_before);
    wait_confirmed(&d, &second.message_hash).await;
    assert_eq!(balance(&d, "base", to).await, U256::from(3_000_000u64));

    // Attester 1 was down for the whole run: restarted, it resumes from its stored cursor and
    // catches up, signing what became final while it was away.
    d.start_attester(0).await.unwrap();
    for m in [&first, &second] {
        eventually(
            TRANSFER_TIMEOUT,
            "the returning attester to catch up",
            || async {
                attester_answer(&d.attester_urls[0], &m.message_hash)
                    .await
                    .1["status"]
                    == "complete"
            },
        )
        .await;
    }
    d.stop().await;
}
