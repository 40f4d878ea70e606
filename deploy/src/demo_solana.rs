//! The devnet demo's Solana leg: EVM → Solana and Solana → EVM through the relayer.

use crate::client::{format_usd1, User};
use crate::error::{setup, DevnetError};
use crate::Devnet;
use alloy::primitives::{Address, B256, U256};
use std::time::{Duration, Instant};
use usd1_core::Domain;
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::signature::Signer;
use usd1_solana::solana_sdk::transaction::Transaction;

/// USD1 on Solana (0 without a Solana side).
pub async fn solana_supply(d: &Devnet) -> Result<U256, DevnetError> {
    let Some(sol) = &d.solana else {
        return Ok(U256::ZERO);
    };
    let rpc = SolanaRpc::new(&sol.validator.rpc_url);
    rpc.supply(&sol.bridge.mint)
        .await
        .map(U256::from)
        .map_err(setup)
}

/// Finds the relayer's record of the message a Solana transaction emitted, once final.
pub async fn message_of_solana_tx(
    relayer: &str,
    signature: &str,
    timeout: Duration,
) -> Result<B256, DevnetError> {
    let deadline = Instant::now() + timeout;
    loop {
        // Solana source transactions are indexed like EVM ones: ask for this one.
        let url = format!("{relayer}/v1/transactions/{}/{signature}", Domain::SOLANA.0);
        if let Ok(resp) = reqwest::get(&url).await {
            let v: serde_json::Value = resp.json().await.unwrap_or_default();
            if let Some(hash) = v["messages"][0]["messageHash"]
                .as_str()
                .and_then(|h| h.parse().ok())
            {
                return Ok(hash);
            }
        }
        if Instant::now() > deadline {
            return Err(setup(format!(
                "the relayer did not see Solana transaction {signature} within {timeout:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The user burns on ethereum toward its Solana wallet; returns (burn tx, message hash).
pub async fn evm_to_solana(d: &Devnet, amount: U256) -> Result<(B256, B256), DevnetError> {
    let sol = d.solana.as_ref().ok_or_else(|| setup("no Solana side"))?;
    let a = d.chain("ethereum");
    let user = User {
        key: d.user.clone(),
    };
    let wallet = B256::from(sol.user.pubkey().to_bytes());
    let burn = user
        .burn_to(&a.rpc_url, &a.deployment, Domain::SOLANA, wallet, amount)
        .await
        .map_err(setup)?;
    Ok((burn.tx_hash, burn.message_hash))
}

/// The Solana user burns with the bridge memo toward `recipient` on ethereum; returns the
/// transaction signature.
pub async fn solana_to_evm(
    d: &Devnet,
    recipient: Address,
    amount: u64,
) -> Result<String, DevnetError> {
    solana_burn_to(d, d.chain("ethereum").domain, recipient, amount).await
}

/// The Solana user burns with the bridge memo toward `recipient` on the EVM chain of
/// `destination`; returns the transaction signature.
pub async fn solana_burn_to(
    d: &Devnet,
    destination: Domain,
    recipient: Address,
    amount: u64,
) -> Result<String, DevnetError> {
    let sol = d.solana.as_ref().ok_or_else(|| setup("no Solana side"))?;
    let rpc = SolanaRpc::new(&sol.validator.rpc_url);
    let holder = &sol.user;
    let ata = usd1_solana::associated_token_address(&holder.pubkey(), &sol.bridge.mint);
    let burn = usd1_solana::spl_token_interface::instruction::burn_checked(
        &usd1_solana::token_program(),
        &ata,
        &sol.bridge.mint,
        &holder.pubkey(),
        &[],
        amount,
        6,
    )
    .map_err(setup)?;
    let memo = usd1_solana::memo::BurnMemo {
        destination_domain: destination,
        mint_recipient: recipient.into_word(),
        destination_caller: B256::ZERO,
    };
    // The memo lists the burn's owner as signer: the bridge-burn rule requires it.
    let memo_ix = usd1_solana::memo::burn_memo_instruction(&memo.format(), &holder.pubkey());
    let (blockhash, _) = rpc.blockhash().await.map_err(setup)?;
    let tx = Transaction::new_signed_with_payer(
        &[burn, memo_ix],
        Some(&holder.pubkey()),
        &[holder],
        blockhash,
    );
    let sig = rpc
        .client()
        .send_and_confirm_transaction(&tx)
        .await
        .map_err(setup)?;
    Ok(sig.to_string())
}

pub async fn print_balances(d: &Devnet) -> Result<(), DevnetError> {
    let Some(sol) = &d.solana else { return Ok(()) };
    let rpc = SolanaRpc::new(&sol.validator.rpc_url);
    let bal = rpc
        .token_balance(&sol.user.pubkey(), &sol.bridge.mint)
        .await
        .map_err(setup)?;
    println!(
        "  {:<10} {} USD1 (the Solana user {})",
        "solana",
        format_usd1(U256::from(bal)),
        sol.user.pubkey()
    );
    Ok(())
}
