//! Refusals read from chain state (DESIGN §6), against a CCTP v1 MessageTransmitter that
//! reverts with `Error(string)` as Circle's does (the `StringErrorTransmitter` fixture), so
//! no error selector of ours can help: the destination is paused while the relayer holds an
//! attestation (it waits, uncounted), then an attester whose signature that attestation holds
//! is disabled; the relayer reads the attester set, collects again and delivers.

use alloy::primitives::{Address, U256};
use std::time::Duration;
use usd1_core::Signature65;
use usd1_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_attestation_with_a_disabled_signer_is_collected_again_and_delivered() {
    let d = devnet("relay-refusals", |o| o.string_errors = true).await;
    let base = d.chain("base");
    base.pause_transmitter().await.unwrap();

    let b = burn(&d, "ethereum", "base", 4_000_000).await;
    let stored = std::sync::Mutex::new(String::new());
    eventually(
        Duration::from_secs(90),
        "the relayer to hold an attestation it cannot deliver while paused",
        || async {
            let v = client::relayer_status(&d.relayer_url, &b.message_hash)
                .await
                .unwrap_or_default();
            let waiting = v["status"] == "attested"
                && v["lastError"]
                    .as_str()
                    .is_some_and(|e| e.contains("paused"));
            if waiting {
                *stored.lock().unwrap() = v["attestation"].as_str().unwrap_or("").to_string();
            }
            waiting
        },
    )
    .await;
    let stored = stored.into_inner().unwrap();
    let raw = hex::decode(stored.trim_start_matches("0x")).unwrap();
    let first: Address = Signature65::parse(&raw[..65])
        .unwrap()
        .recover(&b.message_hash)
        .unwrap();

    base.disable_attester(first).await.unwrap();
    base.unpause_transmitter().await.unwrap();

    let v = wait_confirmed(&d, &b.message_hash).await;
    let history: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    let attested = history.iter().position(|s| *s == "attested").unwrap();
    assert!(
        history[attested..].contains(&"attesting"),
        "collected again after the refusal: {history:?}"
    );
    assert_eq!(v["refusals"], 0, "explained by chain state: {v}");
    assert_eq!(
        balance(&d, "base", recipient()).await,
        U256::from(4_000_000u64)
    );
    d.stop().await;
}
