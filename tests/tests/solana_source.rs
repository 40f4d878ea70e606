//! Solana as a source (DESIGN §4), on Agave's test validator: of nine transactions that burn
//! the bridge mint, only those with exactly one burn of a non-zero amount and one valid memo
//! signed by the burn's owner, toward an EVM-shaped recipient, that succeeded become messages —
//! read at `finalized`, with the documented fields and nonce; a Burn whose data SPL Token
//! accepts with trailing bytes is one of them (seen, not skipped); the others are rejected
//! with their reason and never become messages. The cursor survives a restart.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use usd1_core::{Domain, B256, U256};
use usd1_deploy::bridge_mint::create_bridge_mint;
use usd1_deploy::solana::{free_port_block, SolanaValidator};
use usd1_e2e::{work_dir, RemoveUnlessFailed};
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::instruction::Instruction;
use usd1_solana::solana_sdk::pubkey::Pubkey;
use usd1_solana::solana_sdk::signature::{Keypair, Signer};
use usd1_solana::solana_sdk::transaction::Transaction;
use usd1_solana::watcher::{SolanaBurn, SolanaWatcher};
use usd1_solana::{memo_program, spl_token_interface as token, token_program};

const RECIPIENT: &str = "00000000000000000000000090f79bf6eb2c4f870365e785982e1f101e93b906";

async fn send(
    rpc: &SolanaRpc,
    payer: &Keypair,
    signers: &[&Keypair],
    ixs: &[Instruction],
    preflight: bool,
) -> String {
    let (blockhash, _) = rpc.blockhash().await.unwrap();
    let mut all = vec![payer];
    all.extend_from_slice(signers);
    let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
    let sig = if preflight {
        rpc.send(&tx).await.unwrap()
    } else {
        rpc.send_skipping_preflight(&tx).await.unwrap()
    };
    usd1_e2e::eventually(
        Duration::from_secs(60),
        "the transaction to be confirmed",
        || async { rpc.outcome(&sig).await.ok().flatten().is_some() },
    )
    .await;
    sig.to_string()
}

/// A burn memo signed by `owner`, as the bridge-burn rule requires.
fn memo_by(text: &str, owner: &Pubkey) -> Instruction {
    usd1_solana::memo::burn_memo_instruction(text, owner)
}

/// A memo that lists no signer.
fn unsigned_memo(text: &str) -> Instruction {
    usd1_solana::spl_memo_instruction(&memo_program(), text.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn only_bridge_burns_become_messages_read_at_finalized() {
    let dir = work_dir("solana-source");
    let _cleanup = RemoveUnlessFailed(dir.clone());
    let validator = SolanaValidator::start(&dir, free_port_block().unwrap())
        .await
        .unwrap();
    let rpc = SolanaRpc::new(&validator.rpc_url);
    let payer = validator.faucet.insecure_clone();
    let attesters: Vec<Keypair> = (0..3).map(|_| Keypair::new()).collect();
    let members: Vec<Pubkey> = attesters.iter().map(|k| k.pubkey()).collect();
    let bridge = create_bridge_mint(&rpc, &payer, &members, 2, &payer.pubkey())
        .await
        .unwrap();

    // A holder with 100 USD1 (minted by the multisig, as a delivered transfer would).
    let holder = Keypair::new();
    let ata = usd1_solana::associated_token_address(&holder.pubkey(), &bridge.mint);
    let fund = vec![
        usd1_solana::solana_system_interface::instruction::transfer(
            &payer.pubkey(),
            &holder.pubkey(),
            1_000_000_000,
        ),
        usd1_solana::create_ata_idempotent(&payer.pubkey(), &holder.pubkey(), &bridge.mint),
        token::instruction::mint_to_checked(
            &token_program(),
            &bridge.mint,
            &ata,
            &bridge.multisig,
            &[&members[0], &members[1]],
            100_000_000,
            6,
        )
        .unwrap(),
    ];
    send(&rpc, &payer, &[&attesters[0], &attesters[1]], &fund, true).await;
    // Wait for the state the burns depend on, not only the status (preflight reads a bank
    // that can trail a just-confirmed signature).
    usd1_e2e::eventually(Duration::from_secs(60), "the holder's 100 USD1", || async {
        rpc.token_balance(&holder.pubkey(), &bridge.mint)
            .await
            .is_ok_and(|b| b == 100_000_000)
    })
    .await;

    let burn = |amount| {
        token::instruction::burn_checked(
            &token_program(),
            &ata,
            &bridge.mint,
            &holder.pubkey(),
            &[],
            amount,
            6,
        )
        .unwrap()
    };
    let memo = |text: &str| memo_by(text, &holder.pubkey());
    let good = format!("usd1:burn:v1:0:{RECIPIENT}");
    let bridge_tx = send(
        &rpc,
        &payer,
        &[&holder],
        &[burn(7_000_000), memo(&good)],
        true,
    )
    .await;
    let mut expected_rejections = HashMap::new();
    expected_rejections.insert(
        send(&rpc, &payer, &[&holder], &[burn(1_000_000)], true).await,
        "no_memo",
    );
    expected_rejections.insert(
        send(
            &rpc,
            &payer,
            &[&holder],
            &[burn(1_000_000), memo("usd1:burn:v1:0:xyz")],
            true,
        )
        .await,
        "bad_recipient",
    );
    expected_rejections.insert(
        send(
            &rpc,
            &payer,
            &[&holder],
            &[burn(1_000_000), burn(1_000_000), memo(&good)],
            true,
        )
        .await,
        "several_burns",
    );
    expected_rejections.insert(
        send(&rpc, &payer, &[&holder], &[burn(0), memo(&good)], true).await,
        "zero_amount",
    );
    // A Solana-shaped (32-byte) recipient toward an EVM chain: nothing could receive it.
    expected_rejections.insert(
        send(
            &rpc,
            &payer,
            &[&holder],
            &[
                burn(1_000_000),
                memo(&format!("usd1:burn:v1:0:{}", "11".repeat(32))),
            ],
            true,
        )
        .await,
        "bad_recipient_shape",
    );
    // The memo does not list the owner as signer: someone else may have chosen the recipient.
    expected_rejections.insert(
        send(
            &rpc,
            &payer,
            &[&holder],
            &[burn(1_000_000), unsigned_memo(&good)],
            true,
        )
        .await,
        "memo_not_signed_by_owner",
    );
    // A Burn (not BurnChecked) with bytes after its amount: SPL Token ignores them and burns,
    // so the watcher must see it as the bridge burn it is.
    let mut padded = token::instruction::burn(
        &token_program(),
        &ata,
        &bridge.mint,
        &holder.pubkey(),
        &[],
        2_000_000,
    )
    .unwrap();
    padded.data.extend_from_slice(&[0xee; 9]);
    let padded_tx = send(&rpc, &payer, &[&holder], &[padded, memo(&good)], true).await;
    // More than the balance: fails on chain (sent without preflight so it is recorded).
    expected_rejections.insert(
        send(
            &rpc,
            &payer,
            &[&holder],
            &[burn(500_000_000), memo(&good)],
            false,
        )
        .await,
        "failed_tx",
    );

    let messenger = B256::repeat_byte(0x0e);
    let messengers = HashMap::from([(Domain(0), messenger)]);
    let db = sled::Config::new()
        .path(dir.join("watcher-db"))
        .open()
        .unwrap();
    let watcher = SolanaWatcher::new(
        &validator.rpc_url,
        bridge.mint,
        db.open_tree("w").unwrap(),
        messengers.clone(),
    );
    let mut burns: Vec<SolanaBurn> = Vec::new();
    let mut rejected: HashMap<String, &'static str> = HashMap::new();
    // Read until all nine are final (about 32 slots after they landed).
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while burns.len() + rejected.len() < 9 {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out: read {burns:?} and {rejected:?}"
        );
        let batch = watcher.poll().await.unwrap();
        burns.extend(batch.burns.iter().cloned());
        rejected.extend(batch.rejected.iter().cloned());
        watcher.commit(&batch).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await; // the poll interval of a watcher
    }

    assert_eq!(
        rejected, expected_rejections,
        "each non-bridge burn rejected for its reason"
    );
    assert_eq!(
        burns.len(),
        2,
        "only the bridge burns are messages: {burns:?}"
    );
    let padded = burns
        .iter()
        .find(|b| b.signature == padded_tx)
        .expect("the padded Burn is seen as a bridge burn");
    assert_eq!(
        padded.message.burn_body().unwrap().amount,
        U256::from(2_000_000u64)
    );
    let b = burns
        .iter()
        .find(|b| b.signature == bridge_tx)
        .expect("the bridge burn");
    let m = &b.message;
    assert_eq!(
        (m.source_domain, m.destination_domain),
        (Domain::SOLANA, Domain(0))
    );
    assert_eq!(m.nonce >> 20, b.slot, "nonce = slot << 20 | index");
    assert_eq!(m.recipient, messenger);
    assert_eq!(m.sender, B256::from(bridge.mint.to_bytes()));
    let body = m.burn_body().unwrap();
    assert_eq!(body.amount, U256::from(7_000_000u64));
    assert_eq!(body.message_sender, B256::from(holder.pubkey().to_bytes()));
    assert_eq!(hex::encode(body.mint_recipient), RECIPIENT);

    // A restarted watcher resumes after what was handled.
    let again = SolanaWatcher::new(
        &validator.rpc_url,
        bridge.mint,
        db.open_tree("w").unwrap(),
        messengers,
    );
    let batch = again.poll().await.unwrap();
    let seen: BTreeSet<&str> = batch.burns.iter().map(|b| b.signature.as_str()).collect();
    assert!(
        seen.is_empty() && batch.rejected.is_empty(),
        "nothing read twice: {seen:?}"
    );
}
