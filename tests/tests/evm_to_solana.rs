//! EVM → Solana through the relayer (DESIGN §4): the relayer builds the canonical mint
//! transaction, collects co-signatures from the attesters, submits it and follows it to
//! `finalized`. With one attester of three down, transfers still complete; with the relayer
//! SIGKILLed during 20 transfers and restarted, each is minted exactly once.

use std::time::Duration;
use usd1_core::{Domain, B256, U256};
use usd1_deploy::Devnet;
use usd1_e2e::*;
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::pubkey::Pubkey;
use usd1_solana::solana_sdk::signature::{Keypair, Signer};

fn solana(d: &Devnet) -> (SolanaRpc, Pubkey) {
    let sol = d.solana.as_ref().unwrap();
    (SolanaRpc::new(&sol.validator.rpc_url), sol.bridge.mint)
}

async fn three_chain_supply(d: &Devnet) -> U256 {
    let (rpc, mint) = solana(d);
    let on_solana = retried("the Solana supply", || rpc.supply(&mint)).await;
    total_supply(d).await + U256::from(on_solana)
}

/// Whether the (source, nonce) of `m` has its claim under the devnet's claim authority.
async fn claimed(d: &Devnet, m: &usd1_core::Message) -> bool {
    let sol = d.solana.as_ref().unwrap();
    let claim =
        usd1_solana::claim::claim_address(&sol.claim_authority.pubkey(), m.source_domain, m.nonce)
            .unwrap();
    let rpc = solana(d).0;
    retried("the claim account", || rpc.owned_by_memo(&claim)).await
}

/// Burns `amounts` on ethereum toward `wallet` on Solana; returns the burns.
async fn burn_to_solana(d: &Devnet, wallet: &Pubkey, amounts: &[u64]) -> Vec<client::Burn> {
    let a = d.chain("ethereum");
    let mut burns = Vec::new();
    for &amount in amounts {
        let burn = user(d)
            .burn_to(
                &a.rpc_url,
                &a.deployment,
                Domain::SOLANA,
                B256::from(wallet.to_bytes()),
                U256::from(amount),
            )
            .await
            .unwrap();
        burns.push(burn);
    }
    burns
}

/// Waits until `wallet` holds `expected` (a timeout names where each of `burns` stood).
async fn wait_solana_balance(d: &Devnet, wallet: &Pubkey, expected: u64, burns: &[client::Burn]) {
    let (rpc, mint) = solana(d);
    let hashes: Vec<B256> = burns.iter().map(|b| b.message_hash).collect();
    eventually_explained(
        Duration::from_secs(180),
        "the Solana balance",
        || async {
            rpc.token_balance(wallet, &mint)
                .await
                .is_ok_and(|b| b >= expected)
        },
        || async {
            format!(
                "balance {:?} of {expected}; logs in {}; {}",
                rpc.token_balance(wallet, &mint).await,
                d.log_dir().display(),
                relayer_statuses(&d.relayer_url, &hashes).await
            )
        },
    )
    .await;
    assert_eq!(
        retried("the Solana balance", || rpc.token_balance(wallet, &mint)).await,
        expected,
        "minted exactly once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn evm_to_solana_completes_with_one_attester_down() {
    let mut d = devnet("evm-to-solana", |o| o.solana = true).await;
    let before = three_chain_supply(&d).await;
    d.stop_attester(2).await;
    let wallet = Keypair::new().pubkey();
    let burns = burn_to_solana(&d, &wallet, &[12_500_000, 2_250_000]).await;
    for h in burns.iter().map(|b| &b.message_hash) {
        let status =
            client::wait_for_status(&d.relayer_url, h, "confirmed", Duration::from_secs(180))
                .await
                .unwrap_or_else(|e| panic!("{e}; logs in {}", d.log_dir().display()));
        let history: Vec<&str> = status["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["state"].as_str().unwrap())
            .collect();
        assert!(history.contains(&"submitted"), "{history:?}");
        // The mint is recorded when it lands at `confirmed`, before `finalized`.
        let landed = history.iter().position(|s| *s == "included");
        let done = history.iter().position(|s| *s == "confirmed");
        assert!(landed.is_some() && landed < done, "{history:?}");
    }
    wait_solana_balance(&d, &wallet, 14_750_000, &burns).await;
    assert_eq!(
        three_chain_supply(&d).await,
        before,
        "supply over the three chains unchanged"
    );
    for b in &burns {
        assert!(claimed(&d, &b.message).await, "claim account recorded");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn relayer_killed_during_20_solana_bound_transfers_mints_each_once() {
    let mut d = devnet("evm-to-solana-crash", |o| o.solana = true).await;
    let before = three_chain_supply(&d).await;
    let wallet = Keypair::new().pubkey();
    let amounts: Vec<u64> = (0..20).map(|i| 1_000_000 + i).collect();
    let burns = burn_to_solana(&d, &wallet, &amounts).await;

    let relayer = d.relayer_url.clone();
    let hashes: Vec<B256> = burns.iter().map(|b| b.message_hash).collect();
    let logs = d.log_dir().display().to_string();
    let report = || async {
        format!(
            "logs in {logs}; {}",
            relayer_statuses(&relayer, &hashes).await
        )
    };
    eventually_explained(
        Duration::from_secs(120),
        "deliveries to be under way",
        || async {
            let mut submitted = 0;
            for h in burns.iter().map(|b| &b.message_hash) {
                if client::relayer_status(&relayer, h)
                    .await
                    .is_some_and(|v| v["status"] == "submitted" || v["status"] == "confirmed")
                {
                    submitted += 1;
                }
            }
            submitted >= 3
        },
        report,
    )
    .await;
    d.kill_relayer().await;
    d.start_relayer()
        .await
        .unwrap_or_else(|e| panic!("the relayer did not start again: {e}; logs in {logs}"));

    wait_solana_balance(&d, &wallet, amounts.iter().sum(), &burns).await;
    for b in &burns {
        assert!(claimed(&d, &b.message).await);
        let h = &b.message_hash;
        eventually_explained(
            Duration::from_secs(120),
            "the relayer to finish each message",
            || async {
                client::relayer_status(&relayer, h)
                    .await
                    .is_some_and(|v| v["status"] == "confirmed" || v["status"] == "delivered")
            },
            report,
        )
        .await;
    }
    assert_eq!(three_chain_supply(&d).await, before);
    d.stop().await;
}
