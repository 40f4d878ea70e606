//! Relayers share nothing (DESIGN §9): two run at once over the same chains, with their own
//! stores and submitter accounts. Every transfer is minted exactly once; for each message one
//! relayer reports `confirmed` and the other `delivered`.

use alloy::primitives::U256;
use alloy::providers::Provider;
use std::collections::HashSet;
use std::time::Duration;
use usd1_e2e::*;

const TRANSFERS: usize = 20;

async fn status_of(relayer: &str, hash: &alloy::primitives::B256) -> String {
    client::relayer_status(relayer, hash)
        .await
        .map(|v| v["status"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_relayers_deliver_each_transfer_exactly_once() {
    let mut d = devnet("several-relayers", |_| {}).await;
    let second = d.start_extra_relayer("relayer-b", 4).await.unwrap();
    let u = user(&d);
    let a = d.chain("ethereum");
    let (rpc, deployment, dest) = (a.rpc_url.clone(), a.deployment, d.chain("base").domain);

    let mut expected = U256::ZERO;
    let mut txs = Vec::new();
    for i in 0..TRANSFERS {
        let amount = U256::from(2_000_000u64 + i as u64);
        expected += amount;
        txs.extend(
            u.burn_many(&rpc, &deployment, dest, recipient(), amount, 1)
                .await
                .unwrap(),
        );
    }
    let base = d.chain("base");
    client::wait_for_balance(
        &base.admin,
        base.deployment.token,
        recipient(),
        expected,
        Duration::from_secs(120),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; logs in {}", d.log_dir().display()));

    // Every message, as each relayer ended it.
    let mut hashes = Vec::new();
    for tx in &txs {
        let receipt = a.admin.get_transaction_receipt(*tx).await.unwrap().unwrap();
        hashes.push(client::burn_from_receipt(&receipt).unwrap().message_hash);
    }
    let first = d.relayer_url.clone();
    for h in &hashes {
        eventually(
            TRANSFER_TIMEOUT,
            "both relayers to finish the message",
            || async {
                let (x, y) = (status_of(&first, h).await, status_of(&second, h).await);
                ["confirmed", "delivered"].contains(&x.as_str())
                    && ["confirmed", "delivered"].contains(&y.as_str())
            },
        )
        .await;
        let mut ends = [status_of(&first, h).await, status_of(&second, h).await];
        ends.sort();
        assert_eq!(
            ends,
            ["confirmed".to_string(), "delivered".to_string()],
            "message {h:#x}: one delivers, the other sees it done"
        );
    }
    assert_eq!(
        balance(&d, "base", recipient()).await,
        expected,
        "each minted exactly once"
    );
    let got = received(&d, "base").await;
    assert_eq!(got.len(), TRANSFERS);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), TRANSFERS);
    d.stop().await;
}
