//! 5. A burn below the finality depth is not attested until it is final (mining is under
//!    the test's control: anvil's automine is off and blocks are mined on request).

use alloy::primitives::U256;
use alloy::providers::Provider;
use usd1_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_burn_is_attested_only_once_final() {
    // No interval mining; 3 confirmations make a block final.
    let d = devnet("finality", |o| {
        o.block_time = None;
        o.confirmations = 3;
    })
    .await;
    let u = user(&d);
    let (a, b) = (d.chain("ethereum"), d.chain("base"));
    let miner = a.admin.clone();
    u.approve(&u.provider(&a.rpc_url).unwrap(), &a.deployment)
        .await
        .unwrap();
    miner
        .raw_request::<_, ()>("evm_setAutomine".into(), (false,))
        .await
        .unwrap();

    let tx = u
        .burn_many(
            &a.rpc_url,
            &a.deployment,
            b.domain,
            recipient(),
            U256::from(4_000_000u64),
            1,
        )
        .await
        .unwrap()[0];
    miner
        .raw_request::<_, String>("evm_mine".into(), ())
        .await
        .unwrap();
    let receipt = miner
        .get_transaction_receipt(tx)
        .await
        .unwrap()
        .expect("burn mined");
    let burn = client::burn_from_receipt(&receipt).unwrap();
    let burn_block = receipt.block_number.unwrap();

    // Every attester has seen the burn, and says it is waiting for confirmations.
    for url in &d.attester_urls {
        eventually(
            TRANSFER_TIMEOUT,
            "the attester to see the unconfirmed burn",
            || async {
                attester_answer(url, &burn.message_hash).await.1["status"]
                    == "pending_confirmations"
            },
        )
        .await;
    }
    // The user can already see it: `usd1 status <burn tx>` answers from the attesters.
    let out = std::process::Command::new(usd1_deploy::process::bin_path("usd1"))
        .arg("--config")
        .arg(d.cli_config_path())
        .args(["status", &format!("{tx:#x}")])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && shown.contains("pending_confirmations"),
        "{shown}"
    );

    // Two more blocks: 2 confirmations of the 3 needed. Wait until each attester has
    // read the new head, then check it still has not signed.
    miner
        .raw_request::<_, serde_json::Value>("anvil_mine".into(), (2,))
        .await
        .unwrap();
    for url in &d.attester_urls {
        eventually(
            TRANSFER_TIMEOUT,
            "the attester to read the new head",
            || async {
                let ready: serde_json::Value = reqwest::get(format!("{url}/readyz"))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                ready["chains"]["ethereum"]["head"].as_u64() >= Some(burn_block + 2)
            },
        )
        .await;
        let (_, answer) = attester_answer(url, &burn.message_hash).await;
        assert_eq!(
            answer["status"], "pending_confirmations",
            "signed before final: {answer}"
        );
        assert!(answer["attestation"].is_null());
    }
    assert!(
        client::relayer_status(&d.relayer_url, &burn.message_hash)
            .await
            .is_none(),
        "the relayer queues only final burns"
    );

    // The third confirmation makes it final: now it is attested and delivered.
    miner
        .raw_request::<_, serde_json::Value>("anvil_mine".into(), (1,))
        .await
        .unwrap();
    for url in &d.attester_urls {
        eventually(
            TRANSFER_TIMEOUT,
            "the attester to sign the final burn",
            || async { attester_answer(url, &burn.message_hash).await.1["status"] == "complete" },
        )
        .await;
    }
    // The mint is final only under base's own rule (3 confirmations here, and no block is
    // mined here but by us): blocks must follow it before the relayer says `confirmed`.
    let base = d.chain("base");
    let relayer = d.relayer_url.clone();
    eventually(TRANSFER_TIMEOUT, "the mint to be final on base", || async {
        let status = client::relayer_status(&relayer, &burn.message_hash)
            .await
            .unwrap_or_default();
        if status["status"] == "confirmed" {
            return true;
        }
        if status["status"] == "submitted" {
            base.admin
                .raw_request::<_, serde_json::Value>("anvil_mine".into(), (1,))
                .await
                .unwrap();
        }
        false
    })
    .await;
    assert_eq!(
        balance(&d, "base", recipient()).await,
        U256::from(4_000_000u64)
    );
    d.stop().await;
}
