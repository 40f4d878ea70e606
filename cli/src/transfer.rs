//! `usd1 transfer`: burn on the source chain, then follow the transfer through
//! burn sent → final → attested (k of m) → minted, reading the chains and the attesters
//! directly (a relayer's word is not needed to know a mint happened). With `--self-relay`,
//! the user assembles the attestation and submits the mint.

use crate::context::{unreachable, Chain, CliError, Context};
use crate::progress::Progress;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use std::sync::Arc;
use std::time::{Duration, Instant};
use usd1_config::Finality;
use usd1_core::message::address_to_bytes32;
use usd1_core::traits::{AccountSequence, Destination, TxStatus};
use usd1_core::{
    assemble_attestation, format_amount, parse_amount, Domain, Message, Signature65, USD1_DECIMALS,
};
use usd1_evm::bindings::MessageTransmitter::MessageReceived;
use usd1_evm::bindings::{MessageTransmitter, TokenMessenger, Usd1Token};
use usd1_evm::source::{BlockSource, EvmBlockSource};
use usd1_evm::EvmDestination;

pub struct TransferArgs {
    pub from: String,
    pub to: String,
    pub amount: String,
    pub recipient: String,
    pub self_relay: bool,
    pub timeout: Duration,
}

const POLL: Duration = Duration::from_millis(300);

/// A transfer between two EVM chains (main routes those with Solana to `crate::solana`).
pub async fn transfer(ctx: &Context, args: TransferArgs) -> Result<(), CliError> {
    let source = ctx.chain(&args.from)?;
    let dest = ctx.chain(&args.to)?;
    if source.config.domain == dest.config.domain {
        return Err(CliError::usage("--from and --to are the same chain"));
    }
    // Every input is checked before anything touches a chain: a bad one burns nothing.
    let amount = parse_amount(&args.amount, USD1_DECIMALS)
        .map_err(|e| CliError::usage(format!("--amount: {e}")))?;
    let recipient = crate::context::evm_address("--recipient", &args.recipient)?;
    let key = ctx.user_key()?;
    let shown = format_amount(amount, USD1_DECIMALS);
    let deadline = Instant::now() + args.timeout;

    let progress = Progress::new();
    let mut burn_stage = progress.stage("burn");
    let (tx_hash, message, block) = match burn(
        &source,
        dest.config.domain,
        &key,
        amount,
        address_to_bytes32(recipient),
    )
    .await
    {
        Ok(v) => v,
        Err(e) => {
            burn_stage.fail(e.message.clone());
            return Err(e);
        }
    };
    let hash = message.hash();
    burn_stage.done(format!(
        "{shown} USD1 burned on {}: tx {tx_hash:#x} (block {block})",
        source.name
    ));
    progress.note(format!(
        "message {hash:#x} — `usd1 status {hash:#x}` follows it later"
    ));

    let mut final_stage = progress.stage("final");
    wait_final(&source, block, deadline, &mut |m| final_stage.update(m)).await?;
    final_stage.done(format!("final on {}", source.name));

    let mut attest_stage = progress.stage("attested");
    let destination = EvmDestination::new(
        dest.rpc()?,
        dest.config.domain,
        (dest.config.message_transmitter, dest.config.token),
        usd1_config::RelayPolicyConfig::default().max_delivery_gas,
        key.clone(),
    );
    let (attesters, threshold) = destination
        .attesters()
        .await
        .map_err(|e| unreachable(dest.name, e))?;
    let sigs = wait_attested(ctx, &hash, &attesters, threshold, deadline, &mut |m| {
        attest_stage.update(m)
    })
    .await?;
    attest_stage.done(format!(
        "{} of {} attesters signed (threshold {threshold})",
        sigs.len(),
        attesters.len()
    ));

    let mut mint_stage = progress.stage("minted");
    if args.self_relay {
        let attestation = assemble_attestation(&hash, &sigs, &attesters, threshold)
            .map_err(|e| CliError::failed(format!("cannot assemble the attestation: {e}")))?;
        mint_stage.update("submitting receiveMessage ourselves (--self-relay)".into());
        self_relay(&destination, &message, &attestation, deadline).await?;
    }
    let mint_tx = wait_minted(&dest, &message, deadline, &mut |m| mint_stage.update(m)).await?;
    mint_stage.done(format!(
        "{shown} USD1 minted on {} to {recipient}: tx {mint_tx:#x}",
        dest.name
    ));
    out!(
        "minted {shown} USD1 on {} to {recipient}: tx {mint_tx:#x} (message {hash:#x})",
        dest.name
    );
    Ok(())
}

pub(crate) async fn burn(
    source: &Chain<'_>,
    destination: Domain,
    key: &PrivateKeySigner,
    amount: U256,
    recipient: B256,
) -> Result<(B256, Message, u64), CliError> {
    let p = source.wallet(key)?;
    let token = Usd1Token::new(source.config.token, p.clone());
    let me = key.address();
    let balance = token
        .balanceOf(me)
        .call()
        .await
        .map_err(|e| unreachable(source.name, e))?;
    if balance < amount {
        return Err(CliError::usage(format!(
            "your balance on {} is {} USD1, less than {}",
            source.name,
            format_amount(balance, USD1_DECIMALS),
            format_amount(amount, USD1_DECIMALS)
        )));
    }
    let messenger = source.config.token_messenger;
    let allowance = token
        .allowance(me, messenger)
        .call()
        .await
        .map_err(|e| unreachable(source.name, e))?;
    if allowance < amount {
        let pending = token
            .approve(messenger, U256::MAX)
            .send()
            .await
            .map_err(|e| refused(source.name, "approve", e))?;
        pending
            .get_receipt()
            .await
            .map_err(|e| unreachable(source.name, e))?;
    }
    let messenger_contract = TokenMessenger::new(messenger, p.clone());
    let call =
        messenger_contract.depositForBurn(amount, destination.0, recipient, source.config.token);
    let receipt = call
        .send()
        .await
        .map_err(|e| refused(source.name, "depositForBurn", e))?
        .get_receipt()
        .await
        .map_err(|e| unreachable(source.name, e))?;
    if !receipt.status() {
        return Err(CliError::failed(format!(
            "the burn transaction {} reverted",
            receipt.transaction_hash
        )));
    }
    let raw = usd1_evm::receipts::sent_messages(&receipt)
        .into_iter()
        .next()
        .ok_or_else(|| {
            CliError::failed(
                "the burn emitted no MessageSent (is token_messenger right in the config?)",
            )
        })?;
    let message = Message::decode(&raw)
        .map_err(|e| CliError::failed(format!("the burn's message is malformed: {e}")))?;
    Ok((
        receipt.transaction_hash,
        message,
        receipt.block_number.unwrap_or(0),
    ))
}

fn refused(chain: &str, what: &str, e: alloy::contract::Error) -> CliError {
    CliError::failed(format!(
        "{chain} refused {what}: {e}\n  (a paused token, a frozen account or the burn limit?)"
    ))
}

pub(crate) fn check_deadline(deadline: Instant, what: &str) -> Result<(), CliError> {
    if Instant::now() > deadline {
        return Err(CliError::failed(format!(
            "timed out waiting for {what}; the transfer goes on without this command (see `usd1 status`)"
        )));
    }
    Ok(())
}

pub(crate) async fn wait_final(
    chain: &Chain<'_>,
    block: u64,
    deadline: Instant,
    show: &mut impl FnMut(String),
) -> Result<(), CliError> {
    let source = EvmBlockSource {
        rpc: chain.rpc()?,
        transmitter: chain.config.message_transmitter,
    };
    loop {
        let head = source
            .head()
            .await
            .map_err(|e| unreachable(chain.name, e))?;
        let final_height = source
            .final_height(chain.config.finality, head)
            .await
            .map_err(|e| unreachable(chain.name, e))?;
        if final_height >= block {
            return Ok(());
        }
        show(match chain.config.finality {
            Finality::Confirmations { confirmations } => {
                format!(
                    "{}/{confirmations} confirmations",
                    head.saturating_sub(block)
                )
            }
            _ => format!("block {block}, finalized up to {final_height}"),
        });
        check_deadline(deadline, "finality")?;
        tokio::time::sleep(POLL).await;
    }
}

pub(crate) async fn wait_attested(
    ctx: &Context,
    hash: &B256,
    attesters: &[Address],
    threshold: usize,
    deadline: Instant,
    show: &mut impl FnMut(String),
) -> Result<Vec<Signature65>, CliError> {
    if ctx.config.bridge.attesters.is_empty() {
        return Err(CliError::usage(
            "no attester URLs: add [bridge] attesters = [\"http://…\"] to the config",
        ));
    }
    loop {
        let mut sigs = Vec::new();
        let mut held = Vec::new();
        for url in &ctx.config.bridge.attesters {
            match attester_answer(ctx, url, hash).await {
                AttesterAnswer::Signed(sig) => sigs.push(sig),
                AttesterAnswer::Held(release_at) => held.push(release_at),
                AttesterAnswer::Nothing => {}
            }
        }
        let valid = sigs
            .iter()
            .filter(|s| s.recover(hash).is_ok_and(|a| attesters.contains(&a)))
            .count();
        if valid >= threshold {
            return Ok(sigs);
        }
        let mut line = format!(
            "{valid} of {} attesters signed (threshold {threshold})",
            attesters.len()
        );
        let mut waiting = "the attestations".to_string();
        if let Some(at) = governor_release(held.clone(), threshold.saturating_sub(valid)) {
            let text = usd1_config::held_by_governor_text(at);
            line = format!(
                "{line}; {text} ({} of {} attesters hold it)",
                held.len(),
                ctx.config.bridge.attesters.len()
            );
            waiting = format!("the attestations ({text})");
        }
        show(line);
        check_deadline(deadline, &waiting)?;
        tokio::time::sleep(POLL).await;
    }
}

/// What one attester says about a message.
pub(crate) enum AttesterAnswer {
    Signed(Signature65),
    /// Its governor holds the message until then (Unix seconds).
    Held(u64),
    Nothing,
}

/// The release time that gives `needed` more signatures: the `needed`-th earliest of the
/// holding attesters' `releaseAt`s (the last one when fewer hold it).
pub(crate) fn governor_release(mut release_at: Vec<u64>, needed: usize) -> Option<u64> {
    release_at.sort_unstable();
    let i = needed.clamp(1, release_at.len().max(1)) - 1;
    release_at.get(i).copied()
}

pub(crate) async fn attester_answer(ctx: &Context, url: &str, hash: &B256) -> AttesterAnswer {
    let answer = async {
        let v: serde_json::Value = ctx
            .http
            .get(format!(
                "{}/v1/attestations/{hash:#x}",
                url.trim_end_matches('/')
            ))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        if v["status"] == "pending_governor" {
            return v["releaseAt"].as_u64().map(AttesterAnswer::Held);
        }
        let hex = v["attestation"].as_str()?;
        Signature65::parse(&alloy::hex::decode(hex.trim_start_matches("0x")).ok()?)
            .ok()
            .map(AttesterAnswer::Signed)
    };
    answer.await.unwrap_or(AttesterAnswer::Nothing)
}

pub(crate) async fn attester_signature(
    ctx: &Context,
    url: &str,
    hash: &B256,
) -> Option<Signature65> {
    match attester_answer(ctx, url, hash).await {
        AttesterAnswer::Signed(sig) => Some(sig),
        _ => None,
    }
}

async fn self_relay(
    dest: &EvmDestination,
    message: &Message,
    attestation: &[u8],
    deadline: Instant,
) -> Result<(), CliError> {
    let raw = message.encode();
    if dest
        .is_received(message)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?
    {
        return Ok(()); // a relayer was faster
    }
    use usd1_core::traits::DryRun;
    match dest
        .simulate_delivery(&raw, attestation)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?
    {
        DryRun::Succeeds => {}
        DryRun::Reverts { reason }
        | DryRun::TooCostly { reason }
        | DryRun::Undeliverable { reason } => {
            return Err(CliError::failed(format!(
                "the destination would refuse the mint: {reason}"
            )))
        }
    }
    let nonce = dest
        .next_on_chain()
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    let tx = dest
        .sign_delivery(&raw, attestation, nonce, 0)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    dest.broadcast(&tx)
        .await
        .map_err(|e| CliError::failed(format!("cannot send the mint: {e}")))?;
    loop {
        match dest.tx_status(&tx.tx_hash, None).await {
            Ok(TxStatus::Included { success: true, .. }) => return Ok(()),
            // Reverted: most likely a relayer delivered it first; wait_minted tells.
            Ok(TxStatus::Included { success: false, .. }) => return Ok(()),
            _ => {}
        }
        check_deadline(deadline, "our mint transaction")?;
        tokio::time::sleep(POLL).await;
    }
}

/// Minted = the destination has the (sourceDomain, nonce) as used; the transaction is the
/// one whose `MessageReceived` carries it (whoever sent it).
pub(crate) async fn wait_minted(
    dest: &Chain<'_>,
    message: &Message,
    deadline: Instant,
    show: &mut impl FnMut(String),
) -> Result<B256, CliError> {
    let rpc: Arc<usd1_evm::EvmRpc> = dest.rpc()?;
    let (t, key) = (dest.config.message_transmitter, message.used_nonce_key());
    loop {
        let used = rpc
            .call("eth_call", |p| async move {
                MessageTransmitter::new(t, p).usedNonces(key).call().await
            })
            .await
            .map_err(|e| unreachable(dest.name, e))?;
        if !used.is_zero() {
            let filter = Filter::new()
                .address(t)
                .event_signature(MessageReceived::SIGNATURE_HASH)
                .topic2(B256::from(U256::from(message.nonce)))
                .from_block(0);
            let logs = rpc
                .call("eth_getLogs", |p| {
                    let f = filter.clone();
                    async move { p.get_logs(&f).await }
                })
                .await
                .map_err(|e| unreachable(dest.name, e))?;
            let tx = logs.iter().find_map(|l| {
                let e = l.log_decode::<MessageReceived>().ok()?;
                (e.inner.data.sourceDomain == message.source_domain.0)
                    .then_some(l.transaction_hash)
                    .flatten()
            });
            return Ok(tx.unwrap_or_default());
        }
        show(format!(
            "waiting for a relayer to deliver it on {}",
            dest.name
        ));
        check_deadline(deadline, "the mint")?;
        tokio::time::sleep(POLL).await;
    }
}
