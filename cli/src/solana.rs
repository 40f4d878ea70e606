//! `usd1 transfer` to and from Solana (DESIGN §4). To Solana: burn on the EVM chain toward a
//! Solana wallet (the bridge derives its token account); minted = the message's claim
//! account exists. From Solana: burn with the bridge memo; final = the transaction, read at
//! `finalized`, satisfies the bridge-burn rule; minted = the EVM destination's `usedNonces`.

use crate::context::{unreachable, CliError, Context};
use crate::progress::Progress;
use crate::transfer::{burn, check_deadline, wait_attested, wait_final, wait_minted, TransferArgs};
use alloy::primitives::{Address, B256};
use std::time::{Duration, Instant};
use usd1_config::SolanaConfig;
use usd1_core::{format_amount, parse_amount, U256, USD1_DECIMALS};
use usd1_solana::memo::BurnMemo;
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::signature::{read_keypair_file, Signature, Signer};
use usd1_solana::solana_sdk::transaction::Transaction;
use usd1_solana::watcher::SolanaWatcher;

const POLL: Duration = Duration::from_millis(400);

fn solana(ctx: &Context) -> Result<&SolanaConfig, CliError> {
    ctx.config
        .solana
        .as_ref()
        .ok_or_else(|| CliError::usage("no [solana] section in the config"))
}

fn amount(args: &TransferArgs) -> Result<U256, CliError> {
    parse_amount(&args.amount, USD1_DECIMALS).map_err(|e| CliError::usage(format!("--amount: {e}")))
}

pub async fn to_solana(ctx: &Context, args: TransferArgs) -> Result<(), CliError> {
    let sol = solana(ctx)?;
    let source = ctx.chain(&args.from)?;
    let amount = amount(&args)?;
    let wallet = crate::context::solana_wallet("--recipient", &args.recipient)?;
    if args.self_relay {
        return Err(CliError::usage(
            "--self-relay is for EVM destinations: a mint on Solana needs the attesters' co-signatures, which they give only to relayers holding a co-sign token (solana.cosign_tokens); a relayer delivers to Solana",
        ));
    }
    let shown = format_amount(amount, USD1_DECIMALS);
    let deadline = Instant::now() + args.timeout;
    let progress = Progress::new();

    let mut stage = progress.stage("burn");
    let evm_key = ctx.user_key()?;
    let (tx, message, block) = burn(
        &source,
        sol.domain,
        &evm_key,
        amount,
        B256::from(wallet.to_bytes()),
    )
    .await?;
    let hash = message.hash();
    stage.done(format!(
        "{shown} USD1 burned on {}: tx {tx:#x} (block {block})",
        source.name
    ));
    progress.note(format!("message {hash:#x}"));

    let mut stage = progress.stage("final");
    wait_final(&source, block, deadline, &mut |m| stage.update(m)).await?;
    stage.done(format!("final on {}", source.name));

    // The attesters sign every final message; on Solana they co-sign the mint itself.
    let rpc = SolanaRpc::new(&sol.rpc_urls[0]);
    let multisig = sol.multisig;
    let (_, m) = rpc
        .multisig(&multisig)
        .await
        .map_err(|e| unreachable(&sol.name, e))?;
    let mut stage = progress.stage("attested");
    let seen = loop {
        let mut signers: Vec<Address> = Vec::new();
        for url in &ctx.config.bridge.attesters {
            if let Some(a) = crate::transfer::attester_signature(ctx, url, &hash)
                .await
                .and_then(|s| s.recover(&hash).ok())
            {
                if !signers.contains(&a) {
                    signers.push(a);
                }
            }
        }
        if signers.len() >= m {
            break signers.len();
        }
        stage.update(format!(
            "{} attesters saw it final; the mint needs {m} co-signatures",
            signers.len()
        ));
        check_deadline(deadline, "the attesters")?;
        tokio::time::sleep(POLL).await;
    };
    stage.done(format!(
        "{seen} of {} attesters saw it final (the mint needs {m} co-signatures)",
        ctx.config.bridge.attesters.len()
    ));

    let mut stage = progress.stage("minted");
    let claims = usd1_solana::received::ClaimRule::new(
        sol.claim_authority,
        sol.retired_claim_authorities.clone(),
        sol.mint,
        multisig,
    );
    loop {
        if claims
            .received(&rpc, message.source_domain, message.nonce)
            .await
            .map_err(|e| unreachable(&sol.name, e))?
        {
            break;
        }
        stage.update("waiting for a relayer to deliver it on solana".into());
        check_deadline(deadline, "the mint")?;
        tokio::time::sleep(POLL).await;
    }
    let claim = usd1_solana::claim::claim_address(
        &sol.claim_authority,
        message.source_domain,
        message.nonce,
    )
    .map_err(|e| CliError::failed(e.to_string()))?;
    let mint_tx = rpc
        .client()
        .get_signatures_for_address(&claim)
        .await
        .ok()
        .and_then(|s| s.last().map(|s| s.signature.clone()))
        .unwrap_or_else(|| "?".into());
    let balance = rpc
        .token_balance(&wallet, &sol.mint)
        .await
        .map_err(|e| unreachable(&sol.name, e))?;
    stage.done(format!(
        "{shown} USD1 minted on solana to {wallet}: tx {mint_tx}"
    ));
    out!(
        "minted {shown} USD1 on solana to {wallet}: tx {mint_tx} (message {hash:#x}); its balance: {} USD1",
        format_amount(U256::from(balance), USD1_DECIMALS)
    );
    Ok(())
}

pub async fn from_solana(ctx: &Context, args: TransferArgs) -> Result<(), CliError> {
    let sol = solana(ctx)?;
    let dest = ctx.chain(&args.to)?;
    let amount = amount(&args)?;
    let units =
        u64::try_from(amount).map_err(|_| CliError::usage("--amount is too large for Solana"))?;
    let recipient = crate::context::evm_address("--recipient", &args.recipient)?;
    let user_file = &ctx
        .config
        .solana_user
        .as_ref()
        .ok_or_else(|| CliError::usage("burning on Solana needs your keypair: add [solana_user] key_file = \"…\" to the config"))?
        .key_file;
    let user = read_keypair_file(user_file).map_err(|e| {
        CliError::usage(format!(
            "solana_user.key_file: cannot read {}: {e}",
            user_file.display()
        ))
    })?;
    let shown = format_amount(amount, USD1_DECIMALS);
    let deadline = Instant::now() + args.timeout;
    let rpc = SolanaRpc::new(&sol.rpc_urls[0]);
    let mint = sol.mint;
    let progress = Progress::new();

    let mut stage = progress.stage("burn");
    let balance = rpc
        .token_balance(&user.pubkey(), &mint)
        .await
        .map_err(|e| unreachable(&sol.name, e))?;
    if balance < units {
        return Err(CliError::usage(format!(
            "your balance on solana is {} USD1, less than {shown}",
            format_amount(U256::from(balance), USD1_DECIMALS)
        )));
    }
    let ata = usd1_solana::associated_token_address(&user.pubkey(), &mint);
    let burn_ix = usd1_solana::spl_token_interface::instruction::burn_checked(
        &usd1_solana::token_program(),
        &ata,
        &mint,
        &user.pubkey(),
        &[],
        units,
        USD1_DECIMALS as u8,
    )
    .map_err(|e| CliError::failed(e.to_string()))?;
    let memo = BurnMemo {
        destination_domain: dest.config.domain,
        mint_recipient: recipient.into_word(),
        destination_caller: B256::ZERO,
    };
    // The memo lists the burn's owner as signer: the bridge-burn rule requires it.
    let memo_ix = usd1_solana::memo::burn_memo_instruction(&memo.format(), &user.pubkey());
    let (blockhash, _) = rpc
        .blockhash()
        .await
        .map_err(|e| unreachable(&sol.name, e))?;
    let tx = Transaction::new_signed_with_payer(
        &[burn_ix, memo_ix],
        Some(&user.pubkey()),
        &[&user],
        blockhash,
    );
    let sig: Signature = rpc
        .client()
        .send_and_confirm_transaction(&tx)
        .await
        .map_err(|e| CliError::failed(format!("solana refused the burn: {e}")))?;
    stage.done(format!("{shown} USD1 burned on solana: tx {sig}"));

    let mut stage = progress.stage("final");
    let watcher = SolanaWatcher::reader(sol, usd1_config::remote_messengers(&ctx.config.chains))
        .map_err(|e| CliError::usage(e.to_string()))?;
    let found = loop {
        match watcher.burn_in(&sig).await {
            Ok(Some(b)) => break b,
            Ok(None) => stage.update("waiting for solana to finalize it".into()),
            Err(e) => return Err(CliError::failed(e.to_string())),
        }
        check_deadline(deadline, "finality")?;
        tokio::time::sleep(POLL).await;
    };
    let hash = found.hash;
    stage.done(format!("final on solana (slot {})", found.slot));
    progress.note(format!("message {hash:#x}"));

    let mut stage = progress.stage("attested");
    let destination = usd1_evm::EvmDestination::new(
        dest.rpc()?,
        dest.config.domain,
        (dest.config.message_transmitter, dest.config.token),
        usd1_config::RelayPolicyConfig::default().max_delivery_gas,
        ctx.user_key()?,
    );
    let (attesters, threshold) = destination
        .attesters()
        .await
        .map_err(|e| unreachable(dest.name, e))?;
    let sigs = wait_attested(ctx, &hash, &attesters, threshold, deadline, &mut |m| {
        stage.update(m)
    })
    .await?;
    stage.done(format!(
        "{} of {} attesters signed (threshold {threshold})",
        sigs.len(),
        attesters.len()
    ));

    let mut stage = progress.stage("minted");
    let mint_tx = wait_minted(&dest, &found.message, deadline, &mut |m| stage.update(m)).await?;
    stage.done(format!(
        "{shown} USD1 minted on {} to {recipient}: tx {mint_tx:#x}",
        dest.name
    ));
    out!(
        "minted {shown} USD1 on {} to {recipient}: tx {mint_tx:#x} (message {hash:#x})",
        dest.name
    );
    Ok(())
}
