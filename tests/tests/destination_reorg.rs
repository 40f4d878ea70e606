//! A delivery is final only under the destination's own finality rule (the devnet's: 2
//! confirmations), not at its first receipt: the destination is reorganised right after the
//! mint lands, dropping it; the relayer, still following it, sees it vanish, sends it again,
//! and the recipient is minted exactly once. Its history shows the landing ("included")
//! before "confirmed".

use alloy::primitives::U256;
use alloy::providers::Provider;
use std::time::Duration;
use usd1_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_mint_dropped_by_a_destination_reorg_is_sent_again() {
    let d = devnet("destination-reorg", |_| {}).await;
    let base = d.chain("base");
    let b = burn(&d, "ethereum", "base", 5_000_000).await;

    // Base stops mining, so the mint lands exactly when the test mines it, and the reorg
    // comes before the mint is final however slow the machine is.
    let mining = |secs: u64| async move {
        base.admin
            .raw_request::<_, serde_json::Value>("evm_setIntervalMining".into(), (secs,))
            .await
            .unwrap();
    };
    mining(0).await;
    let sent = std::sync::Mutex::new(None);
    eventually(
        TRANSFER_TIMEOUT,
        "the relayer to send the mint to the node",
        || async {
            let v = client::relayer_status(&d.relayer_url, &b.message_hash)
                .await
                .unwrap_or_default();
            let tx = v["destinationTxs"]
                .as_array()
                .and_then(|t| t.last().cloned())
                .and_then(|t| {
                    t.as_str()
                        .and_then(|h| h.parse::<alloy::primitives::B256>().ok())
                });
            // Stored before it is broadcast: wait until the node has it.
            let Some(tx) = tx else { return false };
            let known = base
                .admin
                .get_transaction_by_hash(tx)
                .await
                .is_ok_and(|t| t.is_some());
            *sent.lock().unwrap() = Some(tx);
            known
        },
    )
    .await;
    let tx = sent.into_inner().unwrap().unwrap();
    base.admin
        .raw_request::<_, serde_json::Value>("anvil_mine".into(), (1u64,))
        .await
        .unwrap();
    let receipt = base.admin.get_transaction_receipt(tx).await.unwrap();
    assert!(receipt.is_some_and(|r| r.status()), "the mint landed");
    assert_eq!(
        balance(&d, "base", recipient()).await,
        U256::from(5_000_000u64)
    );
    // Not final (2 confirmations): reorganise the block away.
    base.admin
        .raw_request::<_, serde_json::Value>(
            "anvil_reorg".into(),
            (1u64, Vec::<serde_json::Value>::new()),
        )
        .await
        .unwrap();
    let reorged = std::sync::Mutex::new(true);
    assert!(*reorged.lock().unwrap());
    assert_eq!(
        balance(&d, "base", recipient()).await,
        U256::ZERO,
        "the reorg dropped the mint"
    );
    mining(1).await;

    let v = wait_confirmed(&d, &b.message_hash).await;
    eventually(Duration::from_secs(30), "the re-sent mint", || async {
        balance(&d, "base", recipient()).await == U256::from(5_000_000u64)
    })
    .await;
    assert_eq!(
        received(&d, "base").await,
        vec![(0, b.message.nonce)],
        "received once"
    );
    let states: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"included"), "{states:?}");
    d.stop().await;
}
