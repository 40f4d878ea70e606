//! `usd1-bench-audit`: what the supply audit's index saves (docs/benchmarks.md). On a fresh
//! devnet (two anvil chains, loopback only) it makes a history of `--burns` burns ethereum →
//! base, all delivered on base (signed here with the devnet's attester keys, sent back to
//! back; the relayer and attesters are stopped, so nothing else moves), then times `usd1
//! audit`: once cold (it builds the index), then after `--new` more burns (left in flight)
//! the incremental audit and the old full rescan (`--no-index`), alternately, `--runs` times
//! each. Prints every run's figures and the ratios.

use alloy::primitives::U256;
use alloy::providers::Provider;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use usd1_deploy::bench::{
    attest, burn, deliver_singles, sent_messages, supply, wait_final, BenchError, AMOUNT,
};
use usd1_deploy::{Devnet, DevnetOptions};

#[derive(Parser)]
#[command(
    name = "usd1-bench-audit",
    about = "Times usd1 audit with and without its index"
)]
struct Args {
    /// Burns of history (all delivered).
    #[arg(long, default_value_t = 10_000)]
    burns: usize,
    /// Burns made after the index is built (left in flight).
    #[arg(long, default_value_t = 10)]
    new: usize,
    /// Timed runs of each kind after the new burns.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The devnet's directory (wiped first).
    #[arg(long)]
    work_dir: PathBuf,
    /// The `usd1` binary to time (a release build).
    #[arg(long)]
    usd1: PathBuf,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    usd1_evm::tls::install();
    if let Err(e) = run(args).await {
        eprintln!("usd1-bench-audit: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), BenchError> {
    let _ = std::fs::remove_dir_all(&args.work_dir);
    let started = Instant::now();
    let mut d = Devnet::start(DevnetOptions::new(&args.work_dir)).await?;
    // Nothing but this bench moves the chains: no relayer, no attesters.
    d.kill_relayer().await;
    for i in 0..d.attester_urls.len() {
        d.stop_attester(i).await;
    }
    println!(
        "devnet up in {:.1}s (2 anvil chains, 1 s blocks, 2 confirmations); relayer and attesters stopped",
        started.elapsed().as_secs_f64()
    );
    for c in &d.chains {
        // Room for thousands of transactions per block.
        c.admin
            .raw_request::<_, bool>(
                "evm_setBlockGasLimit".into(),
                (U256::from(2_000_000_000u64),),
            )
            .await?;
    }

    // The history: `burns` burns ethereum → base, all minted on base.
    let t = Instant::now();
    let (eth, base) = (d.chain("ethereum"), d.chain("base"));
    let supply_before = supply(&base.admin, base.deployment.token).await?;
    let burns = burn(&d, args.burns).await?;
    println!(
        "history: {} burns ethereum → base in blocks {}–{} ({:.1}s)",
        args.burns,
        burns.0,
        burns.1,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let messages = sent_messages(&eth.admin, eth.deployment.transmitter, burns).await?;
    if messages.len() != args.burns {
        return Err(BenchError::Messages {
            messages: messages.len(),
            burns: args.burns,
        });
    }
    let attestations = attest(&d, &messages)?;
    deliver_singles(&d, &messages, &attestations).await?;
    let minted = supply(&base.admin, base.deployment.token).await? - supply_before;
    if minted != U256::from(AMOUNT) * U256::from(args.burns) {
        return Err(BenchError::Minted {
            minted,
            burns: args.burns,
        });
    }
    println!(
        "history: {} messages delivered on base ({:.1}s)",
        messages.len(),
        t.elapsed().as_secs_f64()
    );
    wait_final(&d).await?;

    let index = args.work_dir.join("audit-index");
    let config = d.cli_config_path();
    let cold = audit(&args.usd1, &config, &index, &[])?;
    println!("\ncold, builds the index            {:>8.3}s", secs(cold.0));
    print_reads(&cold.1);
    let warm = audit(&args.usd1, &config, &index, &[])?;
    println!("incremental, nothing new          {:>8.3}s", secs(warm.0));
    print_reads(&warm.1);

    let new = burn(&d, args.new).await?;
    println!(
        "\n{} new burns ethereum → base in blocks {}–{} (in flight: nobody delivers them)",
        args.new, new.0, new.1
    );
    wait_final(&d).await?;
    let (mut full, mut incremental) = (Vec::new(), Vec::new());
    for run in 1..=args.runs {
        let f = audit(&args.usd1, &config, &index, &["--no-index"])?;
        println!("run {run}: full rescan (--no-index)  {:>8.3}s", secs(f.0));
        print_reads(&f.1);
        let i = audit(&args.usd1, &config, &index, &[])?;
        println!("run {run}: indexed, incremental     {:>8.3}s", secs(i.0));
        print_reads(&i.1);
        full.push(f.0);
        incremental.push(i.0);
    }
    let (full, incremental) = (median(full), median(incremental));
    println!(
        "\nmedians over {} runs, {} burns of history + {} new:",
        args.runs, args.burns, args.new
    );
    println!("  cold (index built)      {:>8.3}s", secs(cold.0));
    println!("  incremental (indexed)   {:>8.3}s", secs(incremental));
    println!("  full rescan (--no-index){:>8.3}s", secs(full));
    println!(
        "  full rescan / incremental = {:.0}×   cold / incremental = {:.0}×   cold / full rescan = {:.2}",
        secs(full) / secs(incremental),
        secs(cold.0) / secs(incremental),
        secs(cold.0) / secs(full)
    );
    d.stop().await;
    Ok(())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn print_reads(out: &str) {
    for line in out.lines().filter(|l| l.contains("eth_getLogs")) {
        println!("    {}", line.trim());
    }
}

/// Runs `usd1 audit`, which must pass: (wall time, output).
fn audit(
    usd1: &Path,
    config: &Path,
    index: &Path,
    extra: &[&str],
) -> Result<(Duration, String), BenchError> {
    let t = Instant::now();
    let out = std::process::Command::new(usd1)
        .arg("--config")
        .arg(config)
        .args(["audit", "--index"])
        .arg(index)
        .args(extra)
        .output()
        .map_err(|source| BenchError::Spawn {
            bin: usd1.to_path_buf(),
            source,
        })?;
    let elapsed = t.elapsed();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() || !text.contains("OK:") {
        return Err(BenchError::AuditFailed {
            extra: extra.iter().map(|a| a.to_string()).collect(),
            output: text,
        });
    }
    Ok((elapsed, text))
}
