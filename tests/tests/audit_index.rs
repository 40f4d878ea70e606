//! The supply audit's index (DESIGN §10). With the relayer killed, one burn on each route —
//! ethereum → base, base → ethereum, ethereum → solana, solana → ethereum — stays in flight
//! and `usd1 audit` counts each exactly once, exactly (Σ supply + in flight = issued): while
//! the EVM burns are above the final height (read unindexed), once they are indexed, with the
//! index rebuilt, and without an index. The EVM chains are mined by hand, so the second audit
//! can be shown to read only the 3 blocks mined since the first. Then the relayer delivers
//! everything; its own indexed audit finds no discrepancy, and once the receipts are final
//! the CLI's audit reads no `usedNonces` at all.

use alloy::primitives::{B256, U256};
use alloy::providers::{DynProvider, Provider};
use std::path::PathBuf;
use std::time::Duration;
use usd1_core::Domain;
use usd1_deploy::Devnet;
use usd1_e2e::*;
use usd1_evm::bindings::{TokenMessenger, Usd1Token};
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::signature::Signer;
use usd1_solana::solana_sdk::transaction::Transaction;
use usd1_solana::{spl_token_interface as token, token_program};

async fn set_interval_mining(d: &Devnet, secs: u64) {
    for c in &d.chains {
        c.admin
            .raw_request::<_, ()>("evm_setIntervalMining".into(), (secs,))
            .await
            .unwrap();
    }
}

async fn mine(p: &DynProvider, blocks: u64) {
    p.raw_request::<_, ()>("anvil_mine".into(), (blocks,))
        .await
        .unwrap();
}

/// The devnet user approves (if needed) and burns on `from` toward `to`, both transactions
/// mined in one block, which is the chain's head afterwards (mining is paused): returns it.
async fn burn_in_one_block(
    d: &Devnet,
    from: &str,
    to: Domain,
    recipient: B256,
    amount: u64,
) -> u64 {
    let c = d.chain(from);
    let p = user(d).provider(&c.rpc_url).unwrap();
    // Mined in the same block as the burn (sent first, same sender: nonce order).
    let _approve = Usd1Token::new(c.deployment.token, p.clone())
        .approve(c.deployment.messenger, U256::MAX)
        .gas(100_000)
        .send()
        .await
        .unwrap();
    let burn = TokenMessenger::new(c.deployment.messenger, p.clone())
        .depositForBurn(U256::from(amount), to.0, recipient, c.deployment.token)
        .gas(300_000)
        .send()
        .await
        .unwrap();
    let hash = *burn.tx_hash();
    mine(&c.admin, 1).await;
    let receipt = loop {
        if let Some(r) = c.admin.get_transaction_receipt(hash).await.unwrap() {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(receipt.status(), "the burn on {from} reverted");
    let block = receipt.block_number.unwrap();
    assert_eq!(c.admin.get_block_number().await.unwrap(), block);
    block
}

/// The figures of `chain`'s reads line: (indexed through, was), from
/// "  ethereum: index through block N (was M: …" or "(new: …".
fn through(out: &str, chain: &str) -> (u64, Option<u64>) {
    let line = out
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with(&format!("{chain}: index through block "))
        })
        .unwrap_or_else(|| panic!("a reads line for {chain} in:\n{out}"));
    let rest = line.split("index through block ").nth(1).unwrap();
    let (n, rest) = rest.split_once(' ').unwrap();
    let was = rest
        .strip_prefix("(was ")
        .map(|r| r.split(':').next().unwrap().parse().unwrap());
    (n.parse().unwrap(), was)
}

fn reads_line<'a>(out: &'a str, chain: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(&format!("{chain}: ")))
        .unwrap_or_else(|| panic!("a reads line for {chain} in:\n{out}"))
}

/// The route and in-flight lines of an audit: what must not change with the index.
fn figures(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.contains("burns not minted yet") || l.contains(" Σ "))
        .map(str::to_string)
        .collect()
}

/// `usd1 audit` with its index in the test's directory; it must pass.
struct Audit {
    index: PathBuf,
}

impl Audit {
    fn run(&self, d: &Devnet, extra: &[&str]) -> String {
        let mut args = vec!["audit", "--index", self.index.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = usd1(d, &args);
        let shown = text(&out);
        println!("$ usd1 {}\n{shown}", args.join(" "));
        assert!(out.status.success(), "{shown}");
        assert!(shown.contains("OK:"), "{shown}");
        shown
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_burn_in_flight_is_counted_once_and_a_second_audit_reads_only_new_blocks() {
    let mut d = devnet("audit-index", |o| o.solana = true).await;
    d.kill_relayer().await;
    let audit = Audit {
        index: d.options.work_dir.join("audit-index"),
    };

    // Solana's mint is read at `finalized`: wait for it without touching the index.
    eventually(
        Duration::from_secs(90),
        "the Solana mint to be finalized",
        || async { usd1(&d, &["audit", "--no-index"]).status.success() },
    )
    .await;

    // solana → ethereum, 4.4 USD1: the audit sees it once finalized.
    let sol = d.solana.as_ref().unwrap();
    let rpc = SolanaRpc::new(&sol.validator.rpc_url);
    let holder = &sol.user;
    let ata = usd1_solana::associated_token_address(&holder.pubkey(), &sol.bridge.mint);
    let burn = token::instruction::burn_checked(
        &token_program(),
        &ata,
        &sol.bridge.mint,
        &holder.pubkey(),
        &[],
        4_400_000,
        6,
    )
    .unwrap();
    let memo = usd1_solana::memo::burn_memo_instruction(
        &format!("usd1:burn:v1:0:{}", hex::encode(recipient().into_word())),
        &holder.pubkey(),
    );
    let (blockhash, _) = rpc.blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(
        &[burn, memo],
        Some(&holder.pubkey()),
        &[holder],
        blockhash,
    );
    rpc.client()
        .send_and_confirm_transaction(&tx)
        .await
        .unwrap();

    // The EVM burns, each in a block of its own at the head: not final (2 confirmations).
    set_interval_mining(&d, 0).await;
    let to_evm = recipient().into_word();
    let to_solana = B256::from(
        usd1_solana::solana_sdk::signature::Keypair::new()
            .pubkey()
            .to_bytes(),
    );
    let eth_to_base = burn_in_one_block(&d, "ethereum", Domain::BASE, to_evm, 1_100_000).await;
    let base_to_eth = burn_in_one_block(&d, "base", Domain::ETHEREUM, to_evm, 2_200_000).await;
    let eth_to_sol = burn_in_one_block(&d, "ethereum", Domain::SOLANA, to_solana, 3_300_000).await;
    assert!(eth_to_sol > eth_to_base);
    // One block on top: the audit pins each chain one block below its head (a node may serve
    // its head from the block it is building).
    for c in &d.chains {
        mine(&c.admin, 1).await;
    }

    // The first audit builds the index: final blocks only, the burns are read unindexed.
    let cold = audit.run(&d, &[]);
    let (eth_through, was) = through(&cold, "ethereum");
    assert_eq!(was, None, "a new index");
    assert!(cold.contains("ethereum: index through block") && cold.contains("(new: +"));
    assert!(eth_through < eth_to_sol, "{cold}");
    let (base_through, _) = through(&cold, "base");
    assert!(base_through < base_to_eth, "{cold}");

    // Once the Solana burn is final, all four are in flight, each counted once.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let tail = loop {
        let out = audit.run(&d, &[]);
        if out.contains("solana → ethereum") {
            break out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the solana burn never showed:\n{out}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        tail.contains("11 USD1  (4 of 4 burns not minted yet)"),
        "{tail}"
    );
    for (route, amount) in [
        ("ethereum → base", "1.1"),
        ("base → ethereum", "2.2"),
        ("ethereum → solana", "3.3"),
        ("solana → ethereum", "4.4"),
    ] {
        let line = tail
            .lines()
            .find(|l| l.contains(route))
            .unwrap_or_else(|| panic!("{route} in:\n{tail}"));
        assert!(
            line.contains(&format!(" {amount} USD1")) && line.contains("(1 of 1 burns"),
            "{line}"
        );
    }
    assert_eq!(through(&tail, "ethereum").0, eth_through, "nothing mined");

    // 3 blocks later every EVM burn is final and indexed: the audit reads those 3 blocks.
    for c in &d.chains {
        mine(&c.admin, 3).await;
    }
    let extended = audit.run(&d, &[]);
    for (chain, before) in [("ethereum", eth_through), ("base", base_through)] {
        let line = reads_line(&extended, chain);
        assert!(
            line.contains(&format!(
                "index through block {} (was {before}: +3 blocks); read unindexed {}–{} (not final); 2 eth_getLogs;",
                before + 3,
                before + 4,
                before + 4
            )),
            "{line}"
        );
    }
    assert!(through(&extended, "ethereum").0 >= eth_to_sol);
    assert!(through(&extended, "base").0 >= base_to_eth);
    assert_eq!(
        figures(&extended),
        figures(&tail),
        "the same burns, once each"
    );

    // Without the index (the full rescan) and with it rebuilt: the same figures.
    let full = audit.run(&d, &["--no-index"]);
    assert!(
        full.contains("no index: every chain read from its start"),
        "{full}"
    );
    assert_eq!(figures(&full), figures(&tail));
    let rebuilt = audit.run(&d, &["--rebuild"]);
    assert_eq!(through(&rebuilt, "ethereum").1, None, "{rebuilt}");
    assert_eq!(figures(&rebuilt), figures(&tail));

    // The relayer delivers all four; its own (indexed) audit agrees to the unit.
    set_interval_mining(&d, 1).await;
    d.start_relayer().await.unwrap();
    eventually(
        Duration::from_secs(180),
        "the relayer to deliver every burn",
        || async {
            let out = usd1(&d, &["audit", "--index", audit.index.to_str().unwrap()]);
            text(&out).contains("0 USD1  (0 of 4 burns not minted yet)")
        },
    )
    .await;
    eventually(
        TRANSFER_TIMEOUT,
        "the relayer's supply audit to show no discrepancy and nothing in flight",
        || async {
            relayer_metric(&d, "usd1_supply_discrepancy").await == Some(0.0)
                && relayer_metric(&d, "usd1_supply_in_flight").await == Some(0.0)
        },
    )
    .await;
    // Once the mints are final, their receipts are remembered: no usedNonces read at all.
    eventually(
        Duration::from_secs(30),
        "every receipt to be known",
        || async {
            let out = text(&usd1(
                &d,
                &["audit", "--index", audit.index.to_str().unwrap()],
            ));
            reads_line(&out, "ethereum").ends_with("usedNonces: 0 read, 2 known")
                && reads_line(&out, "base").ends_with("usedNonces: 0 read, 1 known")
        },
    )
    .await;
    d.stop().await;
}

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
