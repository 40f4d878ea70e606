//! The supply audit covers Solana (DESIGN §10): after transfers EVM → Solana and Solana → EVM,
//! a burn on Solana outside the bridge and a burn toward Solana not minted yet, `usd1 audit`
//! passes, showing Solana's supply, the routes and what was burned outside the bridge, and the
//! relayer's `usd1_supply_discrepancy` is 0. One more USD1 minted on Solana by two attester
//! keys, outside the bridge, makes the audit fail naming the excess.

use usd1_core::{Domain, B256, U256};
use usd1_deploy::Devnet;
use usd1_e2e::*;
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::signature::{Keypair, Signer};
use usd1_solana::solana_sdk::transaction::Transaction;
use usd1_solana::{spl_token_interface as token, token_program};

/// A metric's value on the relayer, once it is exported.
async fn relayer_metric(d: &Devnet, series: &str) -> Option<f64> {
    let text = reqwest::get(format!("{}/metrics", d.relayer_url))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.split_once(' ').is_some_and(|(name, _)| name == series))
        .and_then(|l| l.rsplit_once(' ')?.1.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_counts_solana_and_catches_a_mint_outside_the_bridge() {
    let mut d = devnet("audit-solana", |o| o.solana = true).await;
    let sol = d.solana.as_ref().unwrap();
    let rpc = SolanaRpc::new(&sol.validator.rpc_url);
    let (mint, user_key) = (sol.bridge.mint, sol.user.insecure_clone());

    // Before anything moved: Solana's supply is the devnet's issuance there (once final).
    let out = audit_until(&d, "the issuance on solana", |o| o.status.success()).await;
    assert!(text(&out).contains("finalized slot"), "{}", text(&out));

    // EVM → Solana and Solana → EVM, each to completion.
    let wallet = Keypair::new().pubkey().to_string();
    let out = usd1(
        &d,
        &[
            "transfer",
            "--from",
            "ethereum",
            "--to",
            "solana",
            "--amount",
            "1.5",
            "--recipient",
            &wallet,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let to = recipient().to_string();
    let out = usd1(
        &d,
        &[
            "transfer",
            "--from",
            "solana",
            "--to",
            "base",
            "--amount",
            "0.75",
            "--recipient",
            &to,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));

    // A burn on Solana that is not a bridge burn (no memo): destroyed, never minted.
    let ata = usd1_solana::associated_token_address(&user_key.pubkey(), &mint);
    let plain_burn = token::instruction::burn_checked(
        &token_program(),
        &ata,
        &mint,
        &user_key.pubkey(),
        &[],
        250_000,
        6,
    )
    .unwrap();
    let (blockhash, _) = rpc.blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(
        &[plain_burn],
        Some(&user_key.pubkey()),
        &[&user_key],
        blockhash,
    );
    rpc.client()
        .send_and_confirm_transaction(&tx)
        .await
        .unwrap();

    // Once all of that is final on Solana, the audit passes and shows every part.
    let out = audit_until(&d, "the burn outside the bridge", |o| {
        text(o).contains("1 transactions burned outside the bridge on solana")
    })
    .await;
    let shown = text(&out);
    println!("{shown}");
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("OK:"), "{shown}");
    for line in ["solana ", "ethereum → solana", "solana → base", "0.25 USD1"] {
        assert!(shown.contains(line), "{line:?} in:\n{shown}");
    }

    // The relayer's audit agrees: Solana's supply is exported, the discrepancy is 0.
    eventually(
        TRANSFER_TIMEOUT,
        "the relayer's supply audit of solana",
        || async {
            relayer_metric(&d, "usd1_supply{chain=\"solana\"}")
                .await
                .is_some()
                && relayer_metric(&d, "usd1_supply_discrepancy").await == Some(0.0)
        },
    )
    .await;

    // A burn toward Solana with no relayer to deliver it: in flight, and the audit still passes.
    d.kill_relayer().await;
    let a = d.chain("ethereum");
    user(&d)
        .burn_to(
            &a.rpc_url,
            &a.deployment,
            Domain::SOLANA,
            B256::from(Keypair::new().pubkey().to_bytes()),
            U256::from(2_000_000u64),
        )
        .await
        .unwrap();
    // Counted once the burn's block is below the head (the audit's pin).
    let out = audit_until(&d, "the burn toward solana in flight", |o| {
        text(o)
            .lines()
            .any(|l| l.contains("ethereum → solana") && l.contains("1 of 2 burns"))
    })
    .await;
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    let route = shown
        .lines()
        .find(|l| l.contains("ethereum → solana"))
        .unwrap_or_else(|| panic!("a route line: {shown}"));
    assert!(
        route.contains(" 2 USD1") && route.contains("1 of 2 burns"),
        "{route}"
    );

    // 1 USD1 minted on Solana with two attester keys, outside the bridge: the audit fails.
    let sol = d.solana.as_ref().unwrap();
    let signers: Vec<&Keypair> = sol.attester_keys.iter().take(2).collect();
    usd1_deploy::solana::issue_on_solana(
        &rpc,
        &sol.validator.faucet,
        &sol.bridge,
        &signers,
        &Keypair::new().pubkey(),
        1_000_000,
    )
    .await
    .unwrap();
    let out = audit_until(&d, "the extra mint", |o| o.status.code() != Some(0)).await;
    let shown = text(&out);
    println!("{shown}");
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("DISCREPANCY") && shown.contains("+1 USD1"),
        "{shown}"
    );
    d.start_relayer().await.unwrap();
    eventually(
        TRANSFER_TIMEOUT,
        "the relayer's discrepancy to show it",
        || async { relayer_metric(&d, "usd1_supply_discrepancy").await == Some(1.0) },
    )
    .await;
    d.stop().await;
}
