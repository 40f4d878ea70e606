//! 4. A replayed message and a message with a forged attestation are rejected on chain and
//!    do not disturb the relayer's queue.

use alloy::primitives::{Bytes, U256};
use alloy::signers::{local::PrivateKeySigner, SignerSync};
use usd1_core::{assemble_attestation, Signature65};
use usd1_e2e::*;
use usd1_evm::bindings::MessageTransmitter;
use usd1_evm::bindings::MessageTransmitter::MessageTransmitterErrors;

fn hex_bytes(v: &serde_json::Value) -> Bytes {
    alloy::hex::decode(v.as_str().unwrap().trim_start_matches("0x"))
        .unwrap()
        .into()
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_and_forged_messages_are_rejected_on_chain_and_the_queue_goes_on() {
    let d = devnet("rejections", |_| {}).await;
    let u = user(&d);
    let to = recipient();
    let b = d.chain("base");

    let first = burn(&d, "ethereum", "base", 5_000_000).await;
    let status = wait_confirmed(&d, &first.message_hash).await;
    let attestation = hex_bytes(&status["attestation"]);

    // Replay: the very message and attestation the relayer used, sent again by someone else.
    let outsider = u.provider(&b.rpc_url).unwrap();
    let transmitter = MessageTransmitter::new(b.deployment.transmitter, outsider);
    let replay = transmitter.receiveMessage(first.raw.clone().into(), attestation.clone());
    let err = replay.call().await.unwrap_err();
    let decoded = err
        .as_decoded_interface_error::<MessageTransmitterErrors>()
        .expect("a transmitter error");
    assert!(
        matches!(decoded, MessageTransmitterErrors::NonceAlreadyUsed(_)),
        "{decoded:?}"
    );
    let receipt = replay
        .gas(400_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(!receipt.status(), "the replay transaction reverts on chain");

    // Forgery: a new burn "attested" by two keys that are not attesters.
    let second = burn(&d, "ethereum", "base", 3_000_000).await;
    let forgers: Vec<PrivateKeySigner> = (0..2).map(|_| PrivateKeySigner::random()).collect();
    let sigs: Vec<Signature65> = forgers
        .iter()
        .map(|k| {
            Signature65::from_signature(&k.sign_hash_sync(&second.message_hash).unwrap()).unwrap()
        })
        .collect();
    let forged_set: Vec<_> = forgers.iter().map(|k| k.address()).collect();
    let forged = assemble_attestation(&second.message_hash, &sigs, &forged_set, 2).unwrap();
    let forged_call = transmitter.receiveMessage(second.raw.clone().into(), forged.into());
    let err = forged_call.call().await.unwrap_err();
    let decoded = err
        .as_decoded_interface_error::<MessageTransmitterErrors>()
        .expect("a transmitter error");
    assert!(
        matches!(decoded, MessageTransmitterErrors::SignerNotAttester(_)),
        "{decoded:?}"
    );
    let receipt = forged_call
        .gas(400_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(!receipt.status(), "the forged delivery reverts on chain");

    // The queue carries on: the real attestation of the second burn is delivered, once.
    wait_confirmed(&d, &second.message_hash).await;
    assert_eq!(balance(&d, "base", to).await, U256::from(8_000_000u64));
    assert_eq!(received(&d, "base").await.len(), 2);
    let first_now = client::relayer_status(&d.relayer_url, &first.message_hash)
        .await
        .unwrap();
    assert_eq!(
        first_now["status"], "confirmed",
        "the replay did not change the first message's record"
    );
    assert!(list(&d, "failed").await.is_empty());
    d.stop().await;
}
