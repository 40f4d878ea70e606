//! The Solana-bound path against what the chain itself takes (docs/benchmarks.md):
//! - a **bare loop** of mint transactions: each message's canonical mint (the one the relayer
//!   sends), signed with the devnet's keys (payer, claim authority, two attesters' ed25519
//!   keys) and sent back to back without preflight, timed until the mint's supply has grown
//!   by the backlog: the chain's rate for these mints, to compare the relayer's with;
//! - **the floor** of one transfer ethereum → Solana: the burn's time to finality on ethereum
//!   plus a mint's time from sending to `finalized` on Solana (the relayer counts a Solana
//!   mint once finalized), each measured, against the transfer's end to end time.

use super::{burn_toward, sent_messages, wait_final, BenchError, AMOUNT};
use crate::process::wait_until_every;
use crate::Devnet;
use alloy::primitives::{keccak256, B256, U256};
use alloy::providers::Provider;
use std::time::{Duration, Instant};
use usd1_solana::mint_tx::{canonical_mint_message, MintParams};
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::signature::{Keypair, Signature, Signer};
use usd1_solana::solana_sdk::transaction::Transaction;

fn no_solana() -> BenchError {
    BenchError::NotMinted("the devnet has no Solana side".into())
}

/// Each message's mint transaction, signed by every signer it needs, paid by the faucet.
async fn signed_mints(d: &Devnet, messages: &[Vec<u8>]) -> Result<Vec<Transaction>, BenchError> {
    let sol = d.solana.as_ref().ok_or_else(no_solana)?;
    let rpc = SolanaRpc::new(&sol.validator.rpc_url);
    let rent = rpc.rent_exempt_minimum(0).await?;
    let (blockhash, _) = rpc.blockhash().await?;
    let attesters: Vec<&Keypair> = sol
        .attester_keys
        .iter()
        .take(d.options.threshold as usize)
        .collect();
    let members: Vec<_> = attesters.iter().map(|k| k.pubkey()).collect();
    let payer = &sol.validator.faucet;
    let mut signers: Vec<&Keypair> = vec![payer, &sol.claim_authority];
    signers.extend(&attesters);
    messages
        .iter()
        .map(|raw| {
            let message = usd1_core::Message::decode(raw)?;
            let params = MintParams {
                message: &message,
                mint: sol.bridge.mint,
                multisig: sol.bridge.multisig,
                claim_authority: sol.claim_authority.pubkey(),
                rent_exempt_lamports: rent,
            };
            let unsigned = canonical_mint_message(&params, &members, &payer.pubkey(), blockhash)?;
            let mut tx = Transaction::new_unsigned(unsigned);
            tx.try_sign(&signers, blockhash)
                .map_err(|e| BenchError::SolanaSign(e.to_string()))?;
            Ok(tx)
        })
        .collect()
}

/// Until the Solana supply is at least `target` (asked every 20 ms), for at most 600 s.
pub async fn supply_reaches(d: &Devnet, target: U256, what: &str) -> Result<(), BenchError> {
    let reached = || async {
        crate::demo_solana::solana_supply(d)
            .await
            .is_ok_and(|supply| supply >= target)
    };
    let (limit, every) = (Duration::from_secs(600), Duration::from_millis(20));
    Ok(wait_until_every(limit, every, what, reached).await?)
}

/// The bare loop: `messages`' mints (signed beforehand) sent back to back; the time from the
/// first send until the supply has grown by all of them.
pub async fn bare_loop(d: &Devnet, messages: &[Vec<u8>]) -> Result<Duration, BenchError> {
    let sol = d.solana.as_ref().ok_or_else(no_solana)?;
    let rpc = SolanaRpc::new(&sol.validator.rpc_url);
    let txs = signed_mints(d, messages).await?;
    let before = crate::demo_solana::solana_supply(d).await?;
    let target = before + U256::from(AMOUNT) * U256::from(messages.len());
    let started = Instant::now();
    for tx in &txs {
        rpc.send_skipping_preflight(tx).await?;
    }
    supply_reaches(d, target, "the bare loop's Solana mints").await?;
    Ok(started.elapsed())
}

/// A mint's time from sending to `finalized`, for each of `messages` (one at a time).
pub async fn mint_to_finalized(
    d: &Devnet,
    messages: &[Vec<u8>],
) -> Result<Vec<Duration>, BenchError> {
    let sol = d.solana.as_ref().ok_or_else(no_solana)?;
    let rpc = SolanaRpc::new(&sol.validator.rpc_url);
    let mut out = Vec::with_capacity(messages.len());
    for tx in signed_mints(d, messages).await? {
        let started = Instant::now();
        let signature: Signature = rpc.send(&tx).await?;
        loop {
            if rpc.outcome(&signature).await?.is_some_and(|o| o.finalized) {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                return Err(BenchError::NotMinted(format!(
                    "mint {signature} not finalized"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        out.push(started.elapsed());
    }
    Ok(out)
}

/// One transfer ethereum → Solana with the relayer running, timed from the burn's sending
/// until the relayer reports its mint `confirmed` (finalized); with the burn's own time to
/// finality on ethereum (until its block is 2 blocks deep), measured in the same run.
pub async fn transfer(d: &Devnet, wallet: B256) -> Result<(Duration, Duration), BenchError> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let blocks = burn_toward(d, 1, usd1_core::Domain::SOLANA, wallet, Duration::ZERO).await?;
    let eth = d.chain("ethereum");
    while eth.admin.get_block_number().await? < blocks.1 + 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let to_final = started.elapsed();
    let message = sent_messages(&eth.admin, eth.deployment.transmitter, blocks)
        .await?
        .pop()
        .ok_or(BenchError::Messages {
            messages: 0,
            burns: 1,
        })?;
    let url = format!("{}/v1/messages/{:#x}", d.relayer_url, keccak256(&message));
    loop {
        let status = match client.get(&url).send().await {
            Ok(r) => r.json::<serde_json::Value>().await.ok(),
            Err(_) => None,
        };
        if status.is_some_and(|s| s["status"] == "confirmed") {
            return Ok((started.elapsed(), to_final));
        }
        if started.elapsed() > Duration::from_secs(300) {
            return Err(BenchError::NotMinted("a transfer to Solana".into()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `n` burns ethereum → `wallet` on Solana, final; their messages.
pub async fn final_burns(d: &Devnet, n: usize, wallet: B256) -> Result<Vec<Vec<u8>>, BenchError> {
    let blocks = burn_toward(d, n, usd1_core::Domain::SOLANA, wallet, Duration::ZERO).await?;
    let eth = d.chain("ethereum");
    let messages = sent_messages(&eth.admin, eth.deployment.transmitter, blocks).await?;
    wait_final(d).await?;

    Ok(messages)
}
