//! Claims keyed by (source domain, nonce) (DESIGN §4), on anvil and Agave's test validator
//! with the real attesters and relayer:
//! - a Solana-bound burn replaced twice (`replaceDepositForBurn`, new recipients) while the
//!   relayer runs is minted exactly once — original and replacements share one claim — and
//!   the two others end `delivered`; supply over the three chains is conserved and
//!   `usd1 audit` (which counts Solana) is exact;
//! - after the claim authority is retired, a bare claim under it (no mint: what a leaked key
//!   can make) does not block the message, while a claim under it whose transaction minted
//!   still prevents a second mint of that (source, nonce).

use std::time::Duration;
use usd1_core::{Domain, Message, B256, U256};
use usd1_deploy::Devnet;
use usd1_e2e::*;
use usd1_solana::claim::{claim_address, claim_seed};
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::pubkey::Pubkey;
use usd1_solana::solana_sdk::signature::{Keypair, Signer};
use usd1_solana::solana_sdk::transaction::Transaction;

const T: Duration = Duration::from_secs(180);

fn rpc(d: &Devnet) -> SolanaRpc {
    SolanaRpc::new(&d.solana.as_ref().unwrap().validator.rpc_url)
}

async fn three_chain_supply(d: &Devnet) -> U256 {
    let mint = d.solana.as_ref().unwrap().bridge.mint;
    total_supply(d).await + U256::from(rpc(d).supply(&mint).await.unwrap())
}

async fn solana_balance(d: &Devnet, wallet: &Pubkey) -> u64 {
    let mint = d.solana.as_ref().unwrap().bridge.mint;
    rpc(d).token_balance(wallet, &mint).await.unwrap()
}

async fn burn_to(d: &Devnet, wallet: &Pubkey, amount: u64) -> client::Burn {
    let a = d.chain("ethereum");
    user(d)
        .burn_to(
            &a.rpc_url,
            &a.deployment,
            Domain::SOLANA,
            B256::from(wallet.to_bytes()),
            U256::from(amount),
        )
        .await
        .unwrap()
}

async fn replace(d: &Devnet, original: &client::Burn, wallet: &Pubkey) -> client::Burn {
    let a = d.chain("ethereum");
    let att = relayer_attestation(d, &original.message_hash).await;
    let replaced = user(d)
        .replace_burn(
            &a.rpc_url,
            &a.deployment,
            original,
            &att,
            B256::from(wallet.to_bytes()),
        )
        .await
        .unwrap();
    assert_eq!(replaced.message.nonce, original.message.nonce, "same nonce");
    assert_ne!(
        replaced.message_hash, original.message_hash,
        "a new message"
    );
    replaced
}

/// Waits until the relayer ends the message in one of `states`; returns the state.
async fn ends_in(d: &Devnet, hash: &B256, states: &[&str]) -> String {
    let last = std::sync::Mutex::new(String::new());
    eventually(T, "the relayer to finish the message", || async {
        let now = client::relayer_status(&d.relayer_url, hash)
            .await
            .and_then(|v| v["status"].as_str().map(str::to_string))
            .unwrap_or_default();
        let done = states.contains(&now.as_str());
        *last.lock().unwrap() = now;
        done
    })
    .await;
    last.into_inner().unwrap()
}

async fn claimed(d: &Devnet, authority: &Pubkey, m: &Message) -> bool {
    let claim = claim_address(authority, m.source_domain, m.nonce).unwrap();
    rpc(d).owned_by_memo(&claim).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_solana_bound_burn_replaced_twice_is_minted_once() {
    let d = devnet("solana-replaced-twice", |o| o.solana = true).await;
    let before = three_chain_supply(&d).await;
    let wallets: Vec<Pubkey> = (0..3).map(|_| Keypair::new().pubkey()).collect();
    let amount = 7_000_000;

    // The original, then a replacement of it, then a replacement of the replacement, while
    // the relayer runs: whichever lands first wins.
    let original = burn_to(&d, &wallets[0], amount).await;
    let first = replace(&d, &original, &wallets[1]).await;
    let second = replace(&d, &first, &wallets[2]).await;
    let burns = [original, first, second];

    let mut states = Vec::new();
    for b in &burns {
        states.push(ends_in(&d, &b.message_hash, &["confirmed", "delivered"]).await);
    }
    let mut balances = Vec::new();
    for w in &wallets {
        balances.push(solana_balance(&d, w).await);
    }
    assert_eq!(
        balances.iter().sum::<u64>(),
        amount,
        "one burn, one mint: {balances:?} ({states:?})"
    );
    assert_eq!(balances.iter().filter(|b| **b == amount).count(), 1);
    assert_eq!(
        states.iter().filter(|s| *s == "confirmed").count(),
        1,
        "{states:?}"
    );
    let sol = d.solana.as_ref().unwrap();
    assert!(claimed(&d, &sol.claim_authority.pubkey(), &burns[0].message).await);
    assert_eq!(three_chain_supply(&d).await, before, "supply conserved");
    let audit = usd1(&d, &["audit"]);
    assert!(audit.status.success(), "usd1 audit: {}", text(&audit));
    d.stop().await;
}

/// What a leaked claim-authority key can do on its own: a claim account with no mint.
async fn bare_claim(d: &Devnet, authority: &Keypair, m: &Message) {
    let sol = d.solana.as_ref().unwrap();
    let payer = &sol.validator.faucet;
    let rpc = rpc(d);
    let claim = claim_address(&authority.pubkey(), m.source_domain, m.nonce).unwrap();
    let rent = rpc.rent_exempt_minimum(0).await.unwrap();
    let instructions = [
        usd1_solana::solana_system_interface::instruction::transfer(&payer.pubkey(), &claim, rent),
        usd1_solana::solana_system_interface::instruction::allocate_with_seed(
            &claim,
            &authority.pubkey(),
            &claim_seed(m.source_domain, m.nonce),
            0,
            &usd1_solana::memo_program(),
        ),
    ];
    let (blockhash, _) = rpc.blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(
        &instructions,
        Some(&payer.pubkey()),
        &[payer, authority],
        blockhash,
    );
    rpc.send(&tx).await.expect("the bare claim lands");
    eventually(T, "the bare claim", || async {
        rpc.owned_by_memo(&claim).await.unwrap_or(false)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_under_a_retired_authority_count_only_if_their_transaction_minted() {
    let mut d = devnet("solana-retired-claims", |o| o.solana = true).await;
    let before = three_chain_supply(&d).await;
    let (minted_wallet, blocked_wallet, replaced_wallet) = (
        Keypair::new().pubkey(),
        Keypair::new().pubkey(),
        Keypair::new().pubkey(),
    );

    // 1. Minted under the authority that is retired next.
    let minted = burn_to(&d, &minted_wallet, 3_000_000).await;
    assert_eq!(
        ends_in(&d, &minted.message_hash, &["confirmed"]).await,
        "confirmed"
    );
    let attested = relayer_attestation(&d, &minted.message_hash).await;

    // 2. With the relayer stopped, the leaked key makes a bare claim for the next burn.
    d.kill_relayer().await;
    let blocked = burn_to(&d, &blocked_wallet, 4_000_000).await;
    let leaked = d.solana.as_ref().unwrap().claim_authority.insecure_clone();
    bare_claim(&d, &leaked, &blocked.message).await;

    // 3. The operators retire the leaked authority; attesters and relayer restart with it.
    let retired = d.rotate_claim_authority().await.unwrap();
    assert_eq!(retired.pubkey(), leaked.pubkey());
    let current = d.solana.as_ref().unwrap().claim_authority.pubkey();

    // The bare claim does not count: the message is minted under the new authority.
    assert_eq!(
        ends_in(&d, &blocked.message_hash, &["confirmed"]).await,
        "confirmed"
    );
    assert_eq!(solana_balance(&d, &blocked_wallet).await, 4_000_000);
    assert!(claimed(&d, &current, &blocked.message).await);

    // The minted claim does: a replacement of the first burn is never minted again.
    let a = d.chain("ethereum");
    let replacement = user(&d)
        .replace_burn(
            &a.rpc_url,
            &a.deployment,
            &minted,
            &attested,
            B256::from(replaced_wallet.to_bytes()),
        )
        .await
        .unwrap();
    assert_eq!(
        ends_in(&d, &replacement.message_hash, &["confirmed", "delivered"]).await,
        "delivered"
    );
    assert_eq!(solana_balance(&d, &replaced_wallet).await, 0);
    assert!(!claimed(&d, &current, &minted.message).await);
    assert_eq!(solana_balance(&d, &minted_wallet).await, 3_000_000);
    assert_eq!(three_chain_supply(&d).await, before, "supply conserved");
    let audit = usd1(&d, &["audit"]);
    assert!(audit.status.success(), "usd1 audit: {}", text(&audit));
    d.stop().await;
}
