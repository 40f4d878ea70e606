//! Relayers share nothing: when someone else (here the user, relaying for themselves with
//! the attesters' signatures) delivers first, the relayer records `Delivered` and never mints
//! a second time.

use alloy::primitives::U256;
use usd1_core::{assemble_attestation, Signature65};
use usd1_e2e::*;
use usd1_evm::bindings::MessageTransmitter;

#[tokio::test(flavor = "multi_thread")]
async fn a_message_delivered_by_someone_else_is_marked_delivered_not_minted_twice() {
    let mut d = devnet("self-relay", |_| {}).await;
    d.kill_relayer().await;
    let u = user(&d);
    let b = d.chain("base");
    let burn = burn(&d, "ethereum", "base", 6_000_000).await;

    // Collect the attesters' signatures like any user could, and deliver it ourselves.
    let mut sigs = Vec::new();
    for url in &d.attester_urls {
        eventually(TRANSFER_TIMEOUT, "the attester to sign", || async {
            attester_answer(url, &burn.message_hash).await.1["status"] == "complete"
        })
        .await;
        let (_, answer) = attester_answer(url, &burn.message_hash).await;
        let raw = alloy::hex::decode(
            answer["attestation"]
                .as_str()
                .unwrap()
                .trim_start_matches("0x"),
        )
        .unwrap();
        sigs.push(Signature65::parse(&raw).unwrap());
    }
    let attesters: Vec<_> = d.attester_keys.iter().map(|k| k.address()).collect();
    let attestation = assemble_attestation(&burn.message_hash, &sigs, &attesters, 2).unwrap();
    let transmitter =
        MessageTransmitter::new(b.deployment.transmitter, u.provider(&b.rpc_url).unwrap());
    let receipt = transmitter
        .receiveMessage(burn.raw.clone().into(), attestation.into())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());

    d.start_relayer().await.unwrap();
    let status = client::wait_for_status(
        &d.relayer_url,
        &burn.message_hash,
        "delivered",
        TRANSFER_TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; logs in {}", d.log_dir().display()));
    assert!(
        status["destinationTxs"].as_array().unwrap().is_empty(),
        "the relayer sent nothing"
    );
    assert_eq!(
        balance(&d, "base", recipient()).await,
        U256::from(6_000_000u64),
        "minted once"
    );
    assert_eq!(received(&d, "base").await.len(), 1);
    d.stop().await;
}
