//! Solana → EVM through the real processes: a bridge burn on Agave's test validator is read
//! final by every attester's own Solana watcher, signed, queued by the relayer's Solana
//! watcher and delivered on ethereum with the exact amount; supply over the three chains is
//! unchanged. Burns that break the rule (no memo, two burns) are counted by reason and never
//! become messages.

use std::time::Duration;
use usd1_core::{Domain, U256};
use usd1_deploy::Devnet;
use usd1_e2e::*;
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::instruction::Instruction;
use usd1_solana::solana_sdk::signature::{Keypair, Signer};
use usd1_solana::solana_sdk::transaction::Transaction;
use usd1_solana::{spl_token_interface as token, token_program};

async fn send(rpc: &SolanaRpc, payer: &Keypair, ixs: &[Instruction]) {
    let (blockhash, _) = rpc.blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &[payer], blockhash);
    rpc.client()
        .send_and_confirm_transaction(&tx)
        .await
        .unwrap();
}

async fn solana_supply(d: &Devnet) -> U256 {
    let sol = d.solana.as_ref().unwrap();
    U256::from(
        SolanaRpc::new(&sol.validator.rpc_url)
            .supply(&sol.bridge.mint)
            .await
            .unwrap(),
    )
}

async fn metric(url: &str, series: &str) -> f64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(series))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_solana_burn_is_minted_on_ethereum_and_non_bridge_burns_never_attested() {
    let d = devnet("solana-to-evm", |o| o.solana = true).await;
    let sol = d.solana.as_ref().unwrap();
    let rpc = SolanaRpc::new(&sol.validator.rpc_url);
    let supply_before = total_supply(&d).await + solana_supply(&d).await;

    let holder = &sol.user;
    let ata = usd1_solana::associated_token_address(&holder.pubkey(), &sol.bridge.mint);
    let burn = |amount| {
        token::instruction::burn_checked(
            &token_program(),
            &ata,
            &sol.bridge.mint,
            &holder.pubkey(),
            &[],
            amount,
            6,
        )
        .unwrap()
    };
    let memo = usd1_solana::memo::burn_memo_instruction(
        &format!("usd1:burn:v1:0:{}", hex::encode(recipient().into_word())),
        &holder.pubkey(),
    );
    send(&rpc, holder, &[burn(1_000_000)]).await; // no memo
    send(
        &rpc,
        holder,
        &[burn(1_000_000), burn(1_000_000), memo.clone()],
    )
    .await; // two burns
    send(&rpc, holder, &[burn(3_500_000), memo]).await; // the bridge burn

    // The relayer queues it once final and delivers it.
    let relayer = d.relayer_url.clone();
    eventually(
        Duration::from_secs(120),
        "the Solana burn to be minted on ethereum",
        || async {
            list(&d, "confirmed")
                .await
                .iter()
                .any(|m| m["sourceDomain"] == Domain::SOLANA.0)
        },
    )
    .await;
    let from_solana: Vec<_> = reqwest::get(format!("{relayer}/v1/messages?source=5&limit=100"))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["messages"]
        .as_array()
        .cloned()
        .unwrap();
    assert_eq!(
        from_solana.len(),
        1,
        "only the bridge burn became a message: {from_solana:?}"
    );
    assert_eq!(
        balance(&d, "ethereum", recipient()).await,
        U256::from(3_500_000u64)
    );
    // The transfer moved 3.5 USD1 without changing supply; the three non-bridge burns (1 USD1
    // each) are plain burns: destroyed, and never minted anywhere.
    assert_eq!(
        total_supply(&d).await + solana_supply(&d).await,
        supply_before - U256::from(3_000_000u64),
        "supply over three chains = before − the non-bridge burns"
    );

    // Every attester read the other two and refused them, by reason.
    for url in &d.attester_urls {
        let series = |reason: &str| {
            format!("usd1_rejected_messages_total{{chain=\"solana\",reason=\"{reason}\"}}")
        };
        assert_eq!(metric(url, &series("no_memo")).await, 1.0);
        assert_eq!(metric(url, &series("several_burns")).await, 1.0);
    }
    d.stop().await;
}
