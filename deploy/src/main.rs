//! `usd1-devnet`: starts two anvil chains (domains 0 and 6, 1 s blocks), deploys the
//! bridge, runs three attesters (threshold 2) and a relayer as separate processes, makes a
//! demo transfer each way with its progress, then keeps running until Ctrl-C.

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use clap::Parser;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use usd1_deploy::client::{self, format_usd1, User};
use usd1_deploy::devnet::ANVIL_KEYS;
use usd1_deploy::error::setup;
use usd1_deploy::{Devnet, DevnetError, DevnetOptions};

#[derive(Parser)]
#[command(
    name = "usd1-devnet",
    about = "Local usd1-bridge devnet with a demo transfer each way"
)]
struct Args {
    /// Run the demo, print the figures, stop everything and exit (0 on success).
    #[arg(long)]
    exit_after_demo: bool,
    /// Where configs, keys, stores and logs go (wiped at start: the chains start empty).
    #[arg(long, default_value = ".devnet")]
    work_dir: PathBuf,
    /// First RPC port: chains on base, base+1; attesters on base+100…; relayer on base+200;
    /// Prometheus on base+300; the Solana validator on base+400…base+433.
    #[arg(long, default_value_t = 8545)]
    base_port: u16,
    /// Leave Solana out (no validator; EVM chains only).
    #[arg(long)]
    no_solana: bool,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    usd1_evm::tls::install();
    if let Err(e) = run(args).await {
        eprintln!("usd1-devnet: {e}");
        std::process::exit(1);
    }
}

/// Starts the devnet, runs the demo, then stops (`--exit-after-demo`) or waits for Ctrl-C.
async fn run(args: Args) -> Result<(), DevnetError> {
    let devnet = start(&args).await?;
    let recipient: alloy::signers::local::PrivateKeySigner =
        ANVIL_KEYS[3].parse().map_err(setup)?;
    let supply_before = total_supply(&devnet).await?;
    let mut times = demo_evm(&devnet, &recipient).await?;
    if devnet.solana.is_some() {
        times.extend(demo_solana(&devnet, &recipient).await?);
    }
    report(&devnet, &recipient, supply_before, &times).await?;

    if args.exit_after_demo {
        devnet.stop().await;
        println!("demo passed");
        return Ok(());
    }
    println!(
        "\ndevnet running; logs in {}. Ctrl-C stops everything.",
        devnet.log_dir().display()
    );
    // Ctrl-C or SIGTERM: stop every process this devnet started.
    usd1_runtime::shutdown_signal().await;
    devnet.stop().await;
    Ok(())
}

/// A fresh devnet (its chains start empty), with its endpoints printed.
async fn start(args: &Args) -> Result<Devnet, DevnetError> {
    let _ = std::fs::remove_dir_all(args.work_dir.join("data"));
    let mut options = DevnetOptions::new(&args.work_dir);
    options.base_port = Some(args.base_port);
    options.solana = !args.no_solana;
    let started = Instant::now();
    println!("starting devnet in {} …", args.work_dir.display());
    let mut devnet = Devnet::start(options).await?;
    println!("devnet up in {:.1}s\n", started.elapsed().as_secs_f64());
    print_endpoints(&devnet);
    if usd1_deploy::prometheus::available() {
        match devnet.start_prometheus(args.base_port + 300).await {
            Ok(url) => println!("  prometheus  {url}  (alerts: {url}/alerts; Grafana dashboard: deploy/grafana/usd1-bridge.json)"),
            Err(e) => println!("  prometheus  not started: {e}"),
        }
    } else {
        println!("  prometheus  not installed (apt-get install prometheus) — metrics are on each service's /metrics");
    }
    println!("  usd1 CLI    {} -c {} transfer --from ethereum --to base --amount 1 --recipient <address>",
        usd1_deploy::process::bin_path("usd1").display(), devnet.cli_config_path().display());
    Ok(devnet)
}

/// One transfer each way between the EVM chains; their end-to-end times.
async fn demo_evm(devnet: &Devnet, recipient: &PrivateKeySigner) -> Result<Vec<f64>, DevnetError> {
    let user = User {
        key: devnet.user.clone(),
    };
    let a = devnet.chain("ethereum");
    let b = devnet.chain("base");
    let mut times = Vec::new();
    for (from, to, amount) in [(a, b, 12_500_000u64), (b, a, 7_250_000u64)] {
        println!(
            "\ntransfer {} USD1: {} (domain {}) → {} (domain {}), recipient {}",
            format_usd1(U256::from(amount)),
            from.name,
            from.domain,
            to.name,
            to.domain,
            recipient.address()
        );
        let t0 = Instant::now();
        let burn = user
            .burn(
                &from.rpc_url,
                &from.deployment,
                to.domain,
                recipient.address(),
                U256::from(amount),
            )
            .await
            .map_err(setup)?;
        println!(
            "  {:>6.1}s  burned on {}: tx {:#x}, message {:#x}",
            t0.elapsed().as_secs_f64(),
            from.name,
            burn.tx_hash,
            burn.message_hash
        );
        let confirmed = follow(&devnet.relayer_url, &burn.message_hash, t0).await?;
        let elapsed = t0.elapsed().as_secs_f64();
        times.push(elapsed);
        println!(
            "  {elapsed:>6.1}s  minted on {}: tx {}",
            to.name,
            confirmed["state"]["tx_hash"].as_str().unwrap_or("?")
        );
        if let Some(ms) = usd1_deploy::bench::observed_to_submitted_ms(&confirmed) {
            println!("  relayer: final burn observed → delivery broadcast in {ms} ms");
        }
    }
    Ok(times)
}

/// One transfer each way between ethereum and Solana; their end-to-end times.
async fn demo_solana(
    devnet: &Devnet,
    recipient: &PrivateKeySigner,
) -> Result<Vec<f64>, DevnetError> {
    use usd1_deploy::demo_solana;
    let mut times = Vec::new();
    let amount = U256::from(5_000_000u64);
    println!(
        "\ntransfer {} USD1: ethereum (domain 0) → solana (domain 5), to the Solana user",
        format_usd1(amount)
    );
    let t0 = Instant::now();
    let (tx, hash) = demo_solana::evm_to_solana(devnet, amount).await?;
    println!(
        "  {:>6.1}s  burned on ethereum: tx {tx:#x}, message {hash:#x}",
        t0.elapsed().as_secs_f64()
    );
    let confirmed = follow(&devnet.relayer_url, &hash, t0).await?;
    times.push(t0.elapsed().as_secs_f64());
    println!(
        "  {:>6.1}s  minted on solana (finalized): tx {}",
        t0.elapsed().as_secs_f64(),
        confirmed["state"]["tx_hash"].as_str().unwrap_or("?")
    );

    println!(
        "\ntransfer 2.5 USD1: solana (domain 5) → ethereum (domain 0), recipient {}",
        recipient.address()
    );
    let t0 = Instant::now();
    let sig = demo_solana::solana_to_evm(devnet, recipient.address(), 2_500_000).await?;
    println!(
        "  {:>6.1}s  burned on solana with the bridge memo: tx {sig}",
        t0.elapsed().as_secs_f64()
    );
    let hash =
        demo_solana::message_of_solana_tx(&devnet.relayer_url, &sig, Duration::from_secs(120))
            .await?;
    println!(
        "  {:>6.1}s  final on solana: message {hash:#x}",
        t0.elapsed().as_secs_f64()
    );
    let confirmed = follow(&devnet.relayer_url, &hash, t0).await?;
    times.push(t0.elapsed().as_secs_f64());
    println!(
        "  {:>6.1}s  minted on ethereum: tx {}",
        t0.elapsed().as_secs_f64(),
        confirmed["state"]["tx_hash"].as_str().unwrap_or("?")
    );
    Ok(times)
}

/// The recipient's balances, the supply over every chain before and after (an error if it
/// moved: the bridge duplicated or lost tokens) and the demo's times.
async fn report(
    devnet: &Devnet,
    recipient: &PrivateKeySigner,
    supply_before: U256,
    times: &[f64],
) -> Result<(), DevnetError> {
    println!("\nbalances of the recipient {}:", recipient.address());
    for c in &devnet.chains {
        let bal = client::balance(&c.admin, c.deployment.token, recipient.address())
            .await
            .map_err(setup)?;
        println!("  {:<10} {} USD1", c.name, format_usd1(bal));
    }
    usd1_deploy::demo_solana::print_balances(devnet).await?;
    let supply_after = total_supply(devnet).await?;
    println!(
        "total supply over all chains: {} USD1 before, {} USD1 after",
        format_usd1(supply_before),
        format_usd1(supply_after)
    );
    println!(
        "demo end-to-end times: {}",
        times
            .iter()
            .map(|t| format!("{t:.1}s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if supply_before != supply_after {
        return Err(setup(
            "total supply changed: the bridge duplicated or lost tokens",
        ));
    }
    Ok(())
}

fn print_endpoints(d: &Devnet) {
    println!("endpoints:");
    for c in &d.chains {
        println!(
            "  chain {:<9} domain {}  rpc {}  token {}  messenger {}  transmitter {}",
            c.name,
            c.domain,
            c.rpc_url,
            c.deployment.token,
            c.deployment.messenger,
            c.deployment.transmitter
        );
    }
    for (i, url) in d.attester_urls.iter().enumerate() {
        println!(
            "  attester-{}  {url}  (key {})",
            i + 1,
            d.attester_keys[i].address()
        );
    }
    println!("  relayer     {}  (/v1/messages, /metrics)", d.relayer_url);
    println!(
        "  explorer    {}/explorer/  (find a transfer by tx hash, message hash or address; supply)",
        d.relayer_url
    );
    if let Some(sol) = &d.solana {
        println!(
            "  solana      domain 5  rpc {}  mint {}  multisig {} (2 of {} attesters)",
            sol.validator.rpc_url,
            sol.bridge.mint,
            sol.bridge.multisig,
            sol.attester_keys.len()
        );
    }
}

/// Prints each state the relayer reports for the message until it is confirmed.
async fn follow(
    relayer: &str,
    hash: &alloy::primitives::B256,
    t0: Instant,
) -> Result<serde_json::Value, DevnetError> {
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(v) = client::relayer_status(relayer, hash).await {
            let status = v["status"].as_str().unwrap_or("").to_string();
            if status != last {
                let detail = match status.as_str() {
                    "attested" => format!(" ({} signatures)", v["signatures"]),
                    "submitted" => {
                        format!(" (tx {})", v["state"]["tx_hash"].as_str().unwrap_or("?"))
                    }
                    _ => String::new(),
                };
                println!("  {:>6.1}s  {status}{detail}", t0.elapsed().as_secs_f64());
                last = status.clone();
            }
            match status.as_str() {
                "confirmed" | "delivered" => return Ok(v),
                "failed" => {
                    return Err(setup(format!("transfer failed: {}", v["state"]["reason"])))
                }
                _ => {}
            }
        }
        if Instant::now() > deadline {
            return Err(setup(format!(
                "transfer {hash:#x} not minted after 120s (last state: {last})"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Σ totalSupply over the EVM chains and the mint's supply on Solana.
async fn total_supply(d: &Devnet) -> Result<U256, DevnetError> {
    let mut sum = usd1_deploy::demo_solana::solana_supply(d).await?;
    for c in &d.chains {
        sum += client::total_supply(&c.admin, c.deployment.token)
            .await
            .map_err(setup)?;
    }
    Ok(sum)
}
