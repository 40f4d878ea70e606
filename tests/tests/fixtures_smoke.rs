//! The relayer-test fixtures on the devnet: with `string_errors` every transmitter is a
//! StringErrorTransmitter (Circle-style `Error(string)` refusals), a normal transfer still
//! completes, a message to a deployed TestRecipient is sent, and the transmitter owner's
//! helpers (pause, disable an attester) work.

use alloy::primitives::{keccak256, Bytes, U256};
use alloy::sol_types::{Revert, SolError};
use usd1_core::message::address_to_bytes32;
use usd1_e2e::fixtures::{self, recipient_mode, StringErrorTransmitter};
use usd1_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn string_error_devnet_transfers_and_sends_to_a_test_recipient() {
    let d = devnet("fixtures_smoke", |o| o.string_errors = true).await;
    let (eth, base) = (d.chain("ethereum"), d.chain("base"));

    // The transmitter refuses with a revert string, as Circle's does.
    let t = StringErrorTransmitter::new(base.deployment.transmitter, base.admin.clone());
    let err = t
        .receiveMessage(Bytes::from(vec![0u8; 116]), Bytes::new())
        .call()
        .await
        .expect_err("an empty attestation is refused");
    let data = err.as_revert_data().expect("revert data");
    let revert = Revert::abi_decode(&data).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(revert.reason, "Invalid attestation length");

    // A normal transfer still completes.
    let b = burn(&d, "ethereum", "base", 2_000_000).await;
    wait_confirmed(&d, &b.message_hash).await;
    assert_eq!(
        balance(&d, "base", recipient()).await,
        U256::from(2_000_000u64)
    );
    assert_eq!(received(&d, "base").await, vec![(0, b.message.nonce)]);

    // A message to a TestRecipient on base.
    let target = fixtures::deploy_test_recipient(&base.admin).await.unwrap();
    let body = vec![recipient_mode::ACCEPT, 0xaa, 0xbb];
    let sent = user(&d)
        .send_message(
            &eth.rpc_url,
            &eth.deployment,
            base.domain,
            address_to_bytes32(target),
            body.clone(),
        )
        .await
        .unwrap();
    assert_eq!(sent.message_hash, keccak256(&sent.raw));
    assert_eq!(sent.message.destination_domain, base.domain);
    assert_eq!(sent.message.recipient, address_to_bytes32(target));
    assert_eq!(sent.message.sender, address_to_bytes32(user(&d).address()));
    assert_eq!(sent.message.body, body);
    assert!(sent.message.nonce > b.message.nonce);
    assert_eq!(
        fixtures::test_recipient_received(&base.admin, target)
            .await
            .unwrap(),
        U256::ZERO,
        "deployed fresh"
    );

    // The owner's helpers.
    base.pause_transmitter().await.unwrap();
    assert!(t.paused().call().await.unwrap());
    base.unpause_transmitter().await.unwrap();
    assert!(!t.paused().call().await.unwrap());
    let third = d.attester_keys[2].address();
    eth.disable_attester(third).await.unwrap();
    let et = StringErrorTransmitter::new(eth.deployment.transmitter, eth.admin.clone());
    assert_eq!(
        et.getNumEnabledAttesters().call().await.unwrap(),
        U256::from(2)
    );
    assert!(!et.isEnabledAttester(third).call().await.unwrap());
    eth.enable_attester(third).await.unwrap();
    assert!(et.isEnabledAttester(third).call().await.unwrap());

    d.stop().await;
}
