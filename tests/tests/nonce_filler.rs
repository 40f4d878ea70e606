//! No stuck EVM nonces: when the relayer's own delivery cannot be mined (here its account is
//! briefly unfunded, so no node takes it) and someone else delivers the message meanwhile,
//! the relayer uses its account nonce up with a cheap self-transfer instead of a doomed
//! `receiveMessage`, records `delivered`, and later deliveries are not held up behind it.

use alloy::consensus::Transaction as _;
use alloy::primitives::U256;
use alloy::providers::Provider;
use usd1_e2e::*;
use usd1_evm::bindings::MessageTransmitter;

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_that_cannot_be_mined_is_replaced_by_a_self_transfer_once_delivered_elsewhere() {
    let d = devnet("nonce-filler", |_| {}).await;
    let base = d.chain("base");
    let funds = base.admin.get_balance(relayer_submitter()).await.unwrap();
    let set_balance = |wei: U256| async move {
        base.admin
            .raw_request::<_, ()>("anvil_setBalance".into(), (relayer_submitter(), wei))
            .await
            .unwrap()
    };
    let nonce = base
        .admin
        .get_transaction_count(relayer_submitter())
        .await
        .unwrap();

    // The relayer's account is empty: its delivery is signed and stored, but no node takes it.
    set_balance(U256::ZERO).await;
    let burn = burn(&d, "ethereum", "base", 6_000_000).await;
    client::wait_for_status(
        &d.relayer_url,
        &burn.message_hash,
        "submitted",
        TRANSFER_TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; logs in {}", d.log_dir().display()));

    // The user delivers it with the relayer's own aggregated attestation.
    let attestation = relayer_attestation(&d, &burn.message_hash).await;
    let u = user(&d);
    let receipt = MessageTransmitter::new(
        base.deployment.transmitter,
        u.provider(&base.rpc_url).unwrap(),
    )
    .receiveMessage(burn.raw.clone().into(), attestation.into())
    .send()
    .await
    .unwrap()
    .get_receipt()
    .await
    .unwrap();
    assert!(receipt.status());

    // The relayer sees the receipt and signs the self-transfer first: funded before that, a
    // poll already under way could re-send the stored delivery, which would then be mined
    // (and revert) in place of the filler.
    let deadline = std::time::Instant::now() + TRANSFER_TIMEOUT;
    loop {
        let status = client::relayer_status(&d.relayer_url, &burn.message_hash).await;
        let filling = status.as_ref().is_some_and(|s| {
            s["history"].as_array().is_some_and(|h| {
                h.iter().any(|e| {
                    e["detail"]
                        .as_str()
                        .is_some_and(|t| t.contains("filling account nonce"))
                })
            })
        });
        if filling {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no self-transfer signed: {status:?}; logs in {}",
            d.log_dir().display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The account is funded again: what fills the nonce is a self-transfer.
    set_balance(funds).await;
    let status = client::wait_for_status(
        &d.relayer_url,
        &burn.message_hash,
        "delivered",
        TRANSFER_TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; logs in {}", d.log_dir().display()));
    let last = status["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["detail"].as_str().unwrap_or("").contains("filled"),
        "{last}"
    );
    let filler = base
        .admin
        .get_transaction_by_sender_nonce(relayer_submitter(), nonce)
        .await
        .unwrap()
        .expect("the nonce was used");
    assert_eq!(
        filler.to(),
        Some(relayer_submitter()),
        "a self-transfer, not a delivery"
    );
    assert_eq!(filler.value(), U256::ZERO);

    // Nothing waits behind that nonce.
    let next = usd1_e2e::burn(&d, "ethereum", "base", 1_000_000).await;
    wait_confirmed(&d, &next.message_hash).await;
    assert_eq!(
        balance(&d, "base", recipient()).await,
        U256::from(7_000_000u64),
        "each minted once"
    );
    d.stop().await;
}
