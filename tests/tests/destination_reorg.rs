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

    // Reorganise base as soon as the mint is in a block, while it is not final yet.
    let reorged = std::sync::Mutex::new(false);
    eventually(
        TRANSFER_TIMEOUT,
        "the mint to land, then a reorg under it",
        || async {
            let v = client::relayer_status(&d.relayer_url, &b.message_hash)
                .await
                .unwrap_or_default();
            let Some(tx) = v["destinationTxs"]
                .as_array()
                .and_then(|t| t.last().cloned())
            else {
                return false;
            };
            let hash = tx.as_str().unwrap().parse().unwrap();
            let Ok(Some(receipt)) = base.admin.get_transaction_receipt(hash).await else {
                return false;
            };
            let head = base.admin.get_block_number().await.unwrap();
            let block = receipt.block_number.unwrap();
            assert!(
                head < block + 2,
                "the test was too slow: the mint is already final (block {block}, head {head})"
            );
            base.admin
                .raw_request::<_, serde_json::Value>(
                    "anvil_reorg".into(),
                    (head - block + 1, Vec::<serde_json::Value>::new()),
                )
                .await
                .unwrap();
            *reorged.lock().unwrap() = true;
            true
        },
    )
    .await;
    assert!(*reorged.lock().unwrap());
    assert_eq!(
        balance(&d, "base", recipient()).await,
        U256::ZERO,
        "the reorg dropped the mint"
    );

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
