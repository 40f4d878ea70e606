//! `usd1-bench-audit`: what the supply audit's index saves (docs/benchmarks.md). On a fresh
//! devnet (two anvil chains, loopback only) it makes a history of `--burns` burns ethereum →
//! base, all delivered on base (signed here with the devnet's attester keys, sent back to
//! back; the relayer and attesters are stopped, so nothing else moves), then times `usd1
//! audit`: once cold (it builds the index), then after `--new` more burns (left in flight)
//! the incremental audit and the old full rescan (`--no-index`), alternately, `--runs` times
//! each. Prints every run's figures and the ratios.

use alloy::primitives::{address, keccak256, Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::SolEvent;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use usd1_core::attestation::{assemble_attestation, AttestationError, Signature65};
use usd1_core::message::address_to_bytes32;
use usd1_core::Domain;
use usd1_deploy::contracts::{wallet_provider, DeployError};
use usd1_deploy::devnet::ANVIL_KEYS;
use usd1_deploy::{Devnet, DevnetError, DevnetOptions};
use usd1_evm::bindings::MessageTransmitter::{self, MessageSent};
use usd1_evm::bindings::{TokenMessenger, Usd1Token};

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

/// 1 USD1 per burn.
const AMOUNT: u64 = 1_000_000;
const GWEI: u128 = 1_000_000_000;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    usd1_evm::tls::install();
    if let Err(e) = run(args).await {
        eprintln!("usd1-bench-audit: {e}");
        std::process::exit(1);
    }
}

/// What stops the bench (exit 1).
#[derive(Debug, thiserror::Error)]
enum BenchError {
    /// The devnet, or its user helpers (the messenger's approval).
    #[error(transparent)]
    Devnet(#[from] DevnetError),
    /// A provider for a chain could not be made.
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// A contract call or transaction could not be sent.
    #[error(transparent)]
    Contract(#[from] alloy::contract::Error),
    /// A chain's JSON-RPC answered with an error, or not at all.
    #[error(transparent)]
    Rpc(#[from] alloy::transports::TransportError),
    /// A `MessageSent` log did not decode.
    #[error(transparent)]
    Decode(#[from] alloy::sol_types::Error),
    /// anvil's account key did not parse.
    #[error(transparent)]
    Key(#[from] alloy::signers::local::LocalSignerError),
    /// An attester key could not sign.
    #[error(transparent)]
    Sign(#[from] alloy::signers::Error),
    /// The attestation could not be assembled from the signatures.
    #[error(transparent)]
    Attestation(#[from] AttestationError),
    /// The `usd1` binary could not be started.
    #[error("{}: {source}", .bin.display())]
    Spawn {
        bin: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `usd1 audit` exited non-zero or printed no `OK:`.
    #[error("usd1 audit {extra:?} failed:\n{output}")]
    AuditFailed { extra: Vec<String>, output: String },
    /// The history's `MessageSent` logs do not match the burns sent.
    #[error("{messages} messages for {burns} burns")]
    Messages { messages: usize, burns: usize },
    /// base's supply grew by something other than the history's burns.
    #[error("base minted {minted}, not {burns} burns' worth")]
    Minted { minted: U256, burns: usize },
    #[error("transaction {0} reverted")]
    Reverted(B256),
    #[error("no block number")]
    NoBlockNumber(B256),
    #[error("transaction {hash} not mined after {} s", .after.as_secs())]
    NotMined { hash: B256, after: Duration },
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
    deliver(&d, &messages).await?;
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

async fn supply(p: &DynProvider, token: Address) -> Result<U256, BenchError> {
    Ok(Usd1Token::new(token, p.clone())
        .totalSupply()
        .call()
        .await?)
}

/// Fees high enough for any base fee the full blocks lead to.
fn fees() -> (u128, u128) {
    (200 * GWEI, GWEI)
}

/// Waits for `hash` to be mined; returns its block.
async fn mined(p: &DynProvider, hash: B256) -> Result<u64, BenchError> {
    const PATIENCE: Duration = Duration::from_secs(240);
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(r) = p.get_transaction_receipt(hash).await? {
            if !r.status() {
                return Err(BenchError::Reverted(hash));
            }
            return r.block_number.ok_or(BenchError::NoBlockNumber(hash));
        }
        if Instant::now() > deadline {
            return Err(BenchError::NotMined {
                hash,
                after: PATIENCE,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `n` burns of 1 USD1 ethereum → base by the devnet user, sent back to back with explicit
/// nonces; returns the first and last block they are in.
async fn burn(d: &Devnet, n: usize) -> Result<(u64, u64), BenchError> {
    let c = d.chain("ethereum");
    let p = wallet_provider(&c.rpc_url, &d.user)?;
    usd1_deploy::client::User {
        key: d.user.clone(),
    }
    .approve(&p, &c.deployment)
    .await?;
    let mut nonce = p.get_transaction_count(d.user.address()).pending().await?;
    let messenger = TokenMessenger::new(c.deployment.messenger, p.clone());
    let recipient = address_to_bytes32(address!("0x90F79bf6EB2c4f870365E785982E1f101E93b906"));
    let (max_fee, tip) = fees();
    let mut hashes = Vec::with_capacity(n);
    for _ in 0..n {
        let sent = messenger
            .depositForBurn(
                U256::from(AMOUNT),
                Domain::BASE.0,
                recipient,
                c.deployment.token,
            )
            .nonce(nonce)
            .gas(200_000)
            .max_fee_per_gas(max_fee)
            .max_priority_fee_per_gas(tip)
            .send()
            .await?;
        hashes.push(*sent.tx_hash());
        nonce += 1;
    }
    let first = mined(&c.admin, hashes[0]).await?;
    let last = mined(&c.admin, hashes[n - 1]).await?;
    Ok((first, last))
}

/// The raw `MessageSent` messages of `blocks`, in order.
async fn sent_messages(
    p: &DynProvider,
    transmitter: Address,
    (from, to): (u64, u64),
) -> Result<Vec<Vec<u8>>, BenchError> {
    let filter = Filter::new()
        .address(transmitter)
        .event_signature(MessageSent::SIGNATURE_HASH)
        .from_block(from)
        .to_block(to);
    let logs = p.get_logs(&filter).await?;
    Ok(logs
        .iter()
        .map(|l| {
            l.log_decode::<MessageSent>()
                .map(|m| m.inner.data.message.to_vec())
        })
        .collect::<Result<_, _>>()?)
}

/// `receiveMessage` on base for every message, attested with the devnet's attester keys,
/// sent back to back by anvil's account 4.
async fn deliver(d: &Devnet, messages: &[Vec<u8>]) -> Result<(), BenchError> {
    let c = d.chain("base");
    let sender: PrivateKeySigner = ANVIL_KEYS[4].parse()?;
    let p = wallet_provider(&c.rpc_url, &sender)?;
    let transmitter = MessageTransmitter::new(c.deployment.transmitter, p.clone());
    let attesters: Vec<Address> = d.attester_keys.iter().map(|k| k.address()).collect();
    let threshold = d.options.threshold as usize;
    let mut nonce = p.get_transaction_count(sender.address()).pending().await?;
    let (max_fee, tip) = fees();
    let mut last = B256::ZERO;
    for message in messages {
        let hash = keccak256(message);
        let mut signatures = Vec::with_capacity(threshold);
        for k in d.attester_keys.iter().take(threshold) {
            let s = k.sign_hash_sync(&hash)?;
            signatures.push(Signature65::from_signature(&s)?);
        }
        let attestation = assemble_attestation(&hash, &signatures, &attesters, threshold)?;
        let sent = transmitter
            .receiveMessage(message.clone().into(), attestation.into())
            .nonce(nonce)
            .gas(400_000)
            .max_fee_per_gas(max_fee)
            .max_priority_fee_per_gas(tip)
            .send()
            .await?;
        last = *sent.tx_hash();
        nonce += 1;
    }
    mined(&c.admin, last).await?;
    Ok(())
}

/// Until every chain's head is 3 blocks past now (2 confirmations: what was mined is final).
async fn wait_final(d: &Devnet) -> Result<(), BenchError> {
    for c in &d.chains {
        let target = c.admin.get_block_number().await? + 3;
        while c.admin.get_block_number().await? < target {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}
