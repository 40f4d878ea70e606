//! The relay policy (DESIGN §6) with the real relayer on anvil: a relayer pays for
//! deliveries, so it carries only what it was set up for, and never retries forever.
//! - dust below the route's minimum → `skipped`;
//! - anyone's `sendMessage` to a gas-burning recipient → `skipped` (not a bridge burn), and,
//!   once allowlisted, `skipped` again for its gas above the cap;
//! - an allowlisted message whose recipient reverts with a string → `failed` after
//!   `max_refusals`, with that string as the reason, shown by `usd1 status`;
//! - none of it cost the relayer any gas (its account nonce on the destination is unchanged),
//!   while an allowlisted message that succeeds is delivered.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use std::time::Duration;
use usd1_config::{AllowedMessage, RelayPolicyConfig};
use usd1_core::message::address_to_bytes32;
use usd1_deploy::Devnet;
use usd1_e2e::fixtures::{self, recipient_mode, TEST_RECIPIENT_REFUSAL};
use usd1_e2e::*;

async fn sent_by_relayer(d: &Devnet) -> u64 {
    d.chain("base")
        .admin
        .get_transaction_count(relayer_submitter())
        .await
        .unwrap()
}

/// Waits for the relayer's terminal verdict on `hash`; returns its status JSON.
async fn verdict(d: &Devnet, hash: &B256, want: &str) -> serde_json::Value {
    let found = std::sync::Mutex::new(serde_json::Value::Null);
    eventually(Duration::from_secs(90), want, || async {
        let v = client::relayer_status(&d.relayer_url, hash)
            .await
            .unwrap_or_default();
        let done = v["status"] == want;
        *found.lock().unwrap() = v;
        done
    })
    .await;
    found.into_inner().unwrap()
}

async fn send(d: &Devnet, to: Address, mode: u8) -> B256 {
    let (eth, base) = (d.chain("ethereum"), d.chain("base"));
    user(d)
        .send_message(
            &eth.rpc_url,
            &eth.deployment,
            base.domain,
            address_to_bytes32(to),
            vec![mode, 0x42],
        )
        .await
        .unwrap()
        .message_hash
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relayer_spends_only_on_what_its_policy_allows() {
    let mut d = devnet("relay-policy", |_| {}).await;
    let before = sent_by_relayer(&d).await;

    // Dust: a real burn, below the default minimum of 0.01 USD1.
    let dust = burn(&d, "ethereum", "base", 1).await;
    let v = verdict(&d, &dust.message_hash, "skipped").await;
    assert!(v["reason"].as_str().unwrap().contains("minimum"), "{v}");

    // Anyone's sendMessage to a recipient that burns 4.5M gas: not a bridge burn.
    let burner = fixtures::deploy_test_recipient(&d.chain("base").admin)
        .await
        .unwrap();
    let spam = send(&d, burner, recipient_mode::BURN_GAS).await;
    let v = verdict(&d, &spam, "skipped").await;
    assert!(v["reason"].as_str().unwrap().contains("sender"), "{v}");

    // Allowlisted, it is still skipped for its gas, and a recipient that reverts with a
    // string fails after the bounded number of refusals, with that string.
    d.set_relay_policy(RelayPolicyConfig {
        allow: vec![AllowedMessage {
            source: d.chain("ethereum").domain,
            sender: format!("{:#x}", user(&d).address()),
            recipient: format!("{burner:#x}"),
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    let costly = send(&d, burner, recipient_mode::BURN_GAS).await;
    let v = verdict(&d, &costly, "skipped").await;
    assert!(v["reason"].as_str().unwrap().contains("gas"), "{v}");

    let refused = send(&d, burner, recipient_mode::REVERT).await;
    let v = verdict(&d, &refused, "failed").await;
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains(TEST_RECIPIENT_REFUSAL), "{v}");
    assert_eq!(v["refusals"], 5, "{v}");
    let out = usd1(&d, &["status", &format!("{refused:#x}")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(TEST_RECIPIENT_REFUSAL),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("failed"), "{}", text(&out));

    assert_eq!(
        sent_by_relayer(&d).await,
        before,
        "no transaction was sent (and no gas spent) for any of them"
    );

    // What the allowlist names and succeeds is delivered.
    let fine = send(&d, burner, recipient_mode::ACCEPT).await;
    verdict(&d, &fine, "confirmed").await;
    assert_eq!(
        fixtures::test_recipient_received(&d.chain("base").admin, burner)
            .await
            .unwrap(),
        U256::from(1u64)
    );
    d.stop().await;
}
