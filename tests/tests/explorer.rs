//! The transfer explorer in a real browser (Debian's Chromium, driven by playwright-core from
//! `tests/browser/explorer.test.mjs` under `node --test`), against a devnet with Solana. The
//! browser starts before the burns, so its pages follow each transfer from its source
//! transaction: searched by that hash, the timeline reaches "minted" and then "final" without a
//! reload, for ethereum → base and ethereum → solana; an unknown hash shows "not found"; no
//! console errors. Then, over JSON: a Solana source transaction is found by its signature.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use usd1_core::{Domain, B256, U256};
use usd1_e2e::*;
use usd1_solana::solana_sdk::signature::{Keypair, Signer};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[tokio::test(flavor = "multi_thread")]
async fn explorer_follows_transfers_live_in_a_browser() {
    let root = repo_root();
    assert!(
        root.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `source deploy/setup.sh` (npm ci)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: deploy/setup.sh installs Debian's chromium (apt-get install chromium)"
    );
    // 4 confirmations (1 s blocks) on every chain: the page shows "k of 4 confirmations", and
    // a transfer takes long enough (~10 s) to be watched from its burn on a busy machine.
    let d = devnet("explorer", |o| {
        o.solana = true;
        o.confirmations = 4;
    })
    .await;
    let dir = work_dir("explorer-browser");
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.json");
    let ready = dir.join("ready");
    let explorer = format!("{}/explorer/", d.relayer_url);
    println!("explorer at {explorer}; screenshots in {}", dir.display());

    // The browser first: it waits for the burns and then searches for them at once.
    let started = Instant::now();
    let node = tokio::process::Command::new("node")
        .args([
            "--test",
            "--test-reporter=spec",
            "tests/browser/explorer.test.mjs",
        ])
        .current_dir(&root)
        .env("EXPLORER_URL", &explorer)
        .env("EXPLORER_INPUT", &input)
        .env("EXPLORER_READY", &ready)
        .env("EXPLORER_SCREENSHOTS", &dir)
        .env("CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node is installed");

    let mut node = node;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready.exists() {
        if let Ok(Some(status)) = node.try_wait() {
            let out = node.wait_with_output().await.unwrap();
            panic!(
                "the browser test stopped before it was ready ({status}):\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            Instant::now() < deadline,
            "the browser did not open the explorer within 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "browser ready after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // The slower Solana-bound burn first, so the EVM page opens right after its own burn.
    let a = d.chain("ethereum");
    let wallet = Keypair::new().pubkey();
    let to_solana = user(&d)
        .burn_to(
            &a.rpc_url,
            &a.deployment,
            Domain::SOLANA,
            B256::from(wallet.to_bytes()),
            U256::from(5_000_000u64),
        )
        .await
        .unwrap();
    println!(
        "burned toward solana after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let to_base = burn(&d, "ethereum", "base", 12_500_000).await;
    println!(
        "burned toward base after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let unknown = format!(
        "{:#x}",
        alloy::primitives::keccak256(format!("not a transfer {:?}", Instant::now()))
    );
    let text = serde_json::json!({
        "evm": { "tx": format!("{:#x}", to_base.tx_hash), "message": format!("{:#x}", to_base.message_hash) },
        "solana": { "tx": format!("{:#x}", to_solana.tx_hash), "message": format!("{:#x}", to_solana.message_hash) },
        "unknown": unknown,
    });
    let tmp = dir.join("input.json.tmp");
    std::fs::write(&tmp, text.to_string()).unwrap();
    std::fs::rename(&tmp, &input).unwrap();

    let out = tokio::time::timeout(Duration::from_secs(480), node.wait_with_output())
        .await
        .expect("the browser test finished within 8 minutes")
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "{report}\nbrowser test took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "the browser test failed (screenshots in {}, logs in {}):\n{report}",
        dir.display(),
        d.log_dir().display()
    );
    assert!(
        report.contains("ℹ fail 0") && report.contains("ℹ pass 7"),
        "node's test runner: all 7 browser tests passed:\n{report}"
    );

    // A Solana source transaction, found by its signature: pending until finalized, then the
    // relayer's record (its by-source-transaction index covers Solana signatures).
    let recipient = recipient();
    let signature = usd1_deploy::demo_solana::solana_to_evm(&d, recipient, 2_500_000)
        .await
        .unwrap();
    let search = format!("{}/v1/explorer/search?q={signature}", d.relayer_url);
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v: serde_json::Value = reqwest::get(&search).await.unwrap().json().await.unwrap();
        let status = v["status"].as_str().unwrap_or("").to_string();
        assert!(
            ["pending", "found"].contains(&status.as_str()),
            "a bridge burn is pending or found: {v}"
        );
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "found" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the Solana burn was not found by its signature: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("Solana signature search: {}", seen.join(" → "));
    let by_tx = reqwest::get(format!("{}/v1/transactions/5/{signature}", d.relayer_url))
        .await
        .unwrap();
    assert_eq!(
        by_tx.status(),
        200,
        "/v1/transactions finds a Solana source"
    );
    d.stop().await;
}
