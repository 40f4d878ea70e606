//! `usd1-bench-backlog`: how fast a backlog for one destination is minted, against the
//! chain's own limit (docs/benchmarks.md). On one devnet (two anvil chains on loopback, 1 s
//! blocks, anvil's default block gas limit), each round makes `--messages` burns ethereum →
//! base three times, waits until the attesters have signed every one, and mints them:
//! - `bare`: a loop of signed `receiveMessage` transactions sent back to back (no store, no
//!   dry run, attestations made beforehand): what the chain takes one message at a time;
//! - `relayer, max_batch 1`: the relayer started with the backlog waiting, one delivery per
//!   message;
//! - `relayer, max_batch 20`: the same, in batches.
//!
//! Then `--transfers` single transfers with the relayer running: final burn observed →
//! delivery broadcast, p50/p99, from the relayer's history; and the attestation route's
//! requests per second on attester 1 and the relayer over keep-alive connections; then
//! attester 1's backfill of `--backfill` burns from an empty store against a bare
//! `eth_getLogs` + signing loop (`usd1_deploy::bench::backfill`). Last, on a second devnet
//! with Agave's test validator (`--solana-messages`, 0 skips it): a Solana-bound backlog
//! minted by the relayer and, on a second backlog, by a bare loop of the same mint
//! transactions; and `--solana-transfers` single transfers against their floor
//! (`usd1_deploy::bench::solana`).
//!
//! Each backlog is timed until base's supply has grown by the backlog (the relayer from just before
//! its start: a cold start on a backlog, its watcher's first read included). After each way
//! the relayer settles its burns, untimed (after the bare loop it is started for them), so
//! each relayer run finds only its own backlog. Prints every run (with the machine's CPU by
//! program over it, how full each block that carried its mints was, and how far apart they
//! were sealed), the medians, and the ratios to `bare`.

use alloy::providers::Provider;
use clap::Parser;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use usd1_core::Domain;
use usd1_deploy::bench::cpu::{CpuSample, CpuUse};
use usd1_deploy::bench::seals::{SealWatch, Seals};
use usd1_deploy::bench::{
    attest, burn, burn_from, deliver_singles, history_at_ms, observed_to_submitted_ms, recipient,
    sent_messages, signed, supply, wait_final, BenchError, AMOUNT,
};
use usd1_deploy::{Devnet, DevnetOptions};
use usd1_runtime::bench_summary as summary;
use usd1_solana::solana_sdk::signature::Signer;

#[derive(Parser)]
#[command(
    name = "usd1-bench-backlog",
    about = "Mints/s of a backlog: bare loop vs the relayer, single and batched"
)]
struct Args {
    /// Messages in each backlog.
    #[arg(long, default_value_t = 500)]
    messages: usize,
    /// Rounds (each runs the three ways once).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Single transfers each way between the EVM chains (one every 250 ms, the relayer
    /// running), each timed against its floor, after the backlogs.
    #[arg(long, default_value_t = 100)]
    transfers: usize,
    /// Seconds each service's attestation route is asked over keep-alive connections.
    #[arg(long, default_value_t = 3)]
    api_secs: u64,
    /// Burns for attester 1 to backfill from an empty store (with the history before them),
    /// against a bare eth_getLogs + signing loop, after the rest on this devnet; 0 skips it.
    #[arg(long, default_value_t = 5090)]
    backfill: usize,
    /// A Solana-bound backlog (ethereum → Solana) of this many messages, on a second devnet
    /// with Agave's test validator, after the rest; 0 skips it.
    #[arg(long, default_value_t = 200)]
    solana_messages: usize,
    /// Single transfers ethereum → Solana timed against the path's floor, after the
    /// Solana-bound backlog.
    #[arg(long, default_value_t = 3)]
    solana_transfers: usize,
    /// Run the devnet's services without the nodes' websockets (watchers only poll), to
    /// compare with pushed heads.
    #[arg(long)]
    no_heads: bool,
    /// The devnet's directory (wiped first).
    #[arg(long)]
    work_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Way {
    Bare,
    Relayer { max_batch: usize },
}

impl std::fmt::Display for Way {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Way::Bare => f.write_str("bare receiveMessage loop"),
            Way::Relayer { max_batch } => write!(f, "relayer, max_batch {max_batch}"),
        }
    }
}

const WAYS: [Way; 3] = [
    Way::Bare,
    Way::Relayer { max_batch: 1 },
    Way::Relayer { max_batch: 20 },
];

/// One way's run: how long, and the blocks that carried it.
struct Run {
    elapsed: Duration,
    blocks: usize,
    /// Gas used / gas limit over those blocks.
    fullness: f64,
    /// The same over the blocks before the last: the last block carries what was left of
    /// the backlog, so its fullness measures the backlog's size, not the delivery's pace.
    fullness_before_last: Option<f64>,
    /// The same over the blocks between the first and the last: the first is sealed while
    /// the relayer is still starting (its cold start counts in the rate), so these say
    /// whether a backlog keeps the chain's blocks full once it is under way.
    fullness_between: Option<f64>,
    /// Each block's gas used / gas limit, in percent.
    each_block: Vec<u64>,
    gas_per_mint: f64,
    /// The machine's CPU over the timed part.
    cpu: Option<CpuUse>,
    /// Milliseconds between the seals of the run's blocks (see `seals`).
    seal_gaps_ms: Vec<u64>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    usd1_evm::tls::install();
    if let Err(e) = run(args).await {
        eprintln!("usd1-bench-backlog: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), BenchError> {
    let _ = std::fs::remove_dir_all(&args.work_dir);
    let mut options = DevnetOptions::new(&args.work_dir);
    options.heads = !args.no_heads;
    let mut d = Devnet::start(options).await?;
    d.kill_relayer().await;
    let base = d.chain("base").admin.clone();
    let limit = base
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .map(|b| b.header.gas_limit)
        .unwrap_or_default();
    println!(
        "devnet: 2 anvil chains, 1 s blocks, block gas limit {limit}; 3 attesters (2 of 3); backlogs of {} messages ethereum → base",
        args.messages
    );
    let mut runs: Vec<(Way, Run)> = Vec::new();
    for round in 1..=args.rounds {
        for way in WAYS {
            d.kill_relayer().await;
            let run = backlog(&mut d, way, args.messages).await?;
            println!(
                "round {round}: {way:<26} {:>7.2} s  {:>6.1} mints/s  {} blocks {:>5.1} % full ({} before the last, {} between the first and the last)  {:>7.0} gas a mint",
                run.elapsed.as_secs_f64(),
                args.messages as f64 / run.elapsed.as_secs_f64(),
                run.blocks,
                run.fullness * 100.0,
                run.fullness_before_last
                    .map_or("none".into(), |f| format!("{:.1} %", f * 100.0)),
                run.fullness_between
                    .map_or("none".into(), |f| format!("{:.1} %", f * 100.0)),
                run.gas_per_mint
            );
            if let Some(cpu) = &run.cpu {
                println!("          {cpu}");
            }
            println!(
                "          blocks, % full: {:?}; sealed, ms after the one before: {:?}",
                run.each_block, run.seal_gaps_ms
            );
            runs.push((way, run));
        }
    }
    println!("\nmedians over {} rounds:", args.rounds);
    let rate = |way: Way| {
        let mut v: Vec<f64> = runs
            .iter()
            .filter(|(w, _)| *w == way)
            .map(|(_, r)| args.messages as f64 / r.elapsed.as_secs_f64())
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let bare = rate(Way::Bare);
    for way in WAYS {
        println!(
            "  {way:<26} {:>6.1} mints/s   {:.2}× the bare loop",
            rate(way),
            rate(way) / bare
        );
    }
    summarize_backlog(
        args.messages,
        &runs,
        bare,
        rate(Way::Relayer { max_batch: 20 }),
    );
    if args.transfers > 0 {
        latency(&mut d, args.transfers).await?;
    }
    api(&d, Duration::from_secs(args.api_secs)).await?;
    if args.backfill > 0 {
        usd1_deploy::bench::backfill::run(&mut d, args.backfill, args.rounds).await?;
    }
    d.stop().await;
    if args.solana_messages > 0 {
        solana_backlog(
            &args.work_dir.join("solana"),
            args.solana_messages,
            args.solana_transfers,
        )
        .await?;
    }
    Ok(())
}

/// The backlog's rows of the closing table: batched mints/s against the bare loop, and how
/// full the relayer kept the blocks between a backlog's first and last.
fn summarize_backlog(messages: usize, runs: &[(Way, Run)], bare: f64, batched: f64) {
    summary::row(
        &format!("backlog of {messages}: batched mints/s vs the bare loop"),
        ">= 0.9x",
        &format!(
            "{:.2}x ({batched:.1} vs {bare:.1} mints/s, medians)",
            batched / bare
        ),
        Some(bare > 0.0 && batched / bare >= 0.9),
    );
    let between = |way: Way| -> Vec<f64> {
        runs.iter()
            .filter(|(w, _)| *w == way)
            .filter_map(|(_, r)| r.fullness_between)
            .collect()
    };
    let blocks = |way: Way| -> Vec<&Vec<u64>> {
        runs.iter()
            .filter(|(w, _)| *w == way)
            .map(|(_, r)| &r.each_block)
            .collect()
    };
    let lowest = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    for (way, name) in [
        (Way::Relayer { max_batch: 1 }, "one delivery a message"),
        (Way::Relayer { max_batch: 20 }, "batches of 20"),
    ] {
        let v = between(way);
        let measured = match v.is_empty() {
            true => "no block between the first and the last in this run".to_string(),
            false => format!("at least {:.1} %", lowest(&v) * 100.0),
        };
        summary::row(
            &format!("relayer blocks under a backlog, {name}, between the first and the last"),
            ">= 90 % full",
            &format!(
                "{measured} (each block, %: {:?}; the first holds what is sent after the relayer starts partway through an interval)",
                blocks(way)
            ),
            (!v.is_empty()).then(|| lowest(&v) >= 0.9),
        );
    }
}

/// A backlog of `n` attested messages ethereum → Solana, minted by the relayer started on
/// it (one mint transaction a message, co-signed by two attesters): how long until the
/// Solana supply has grown by the backlog; then a bare loop of the same mints on a second
/// backlog of `n`; then `transfers` single transfers against the path's floor.
async fn solana_backlog(
    work_dir: &std::path::Path,
    n: usize,
    transfers: usize,
) -> Result<(), BenchError> {
    use usd1_deploy::bench::solana;
    let _ = std::fs::remove_dir_all(work_dir);
    let mut options = DevnetOptions::new(work_dir);
    options.solana = true;
    let mut d = Devnet::start(options).await?;
    d.kill_relayer().await;
    let Some(sol) = d.solana.as_ref() else {
        return Err(BenchError::NotMinted(
            "the devnet has no Solana side".into(),
        ));
    };
    let wallet = alloy::primitives::B256::from(sol.user.pubkey().to_bytes());
    let messages = solana::final_burns(&d, n, wallet).await?;
    wait_signed(&d, &messages).await?;
    let before = usd1_deploy::demo_solana::solana_supply(&d).await?;
    let target = before + alloy::primitives::U256::from(AMOUNT) * alloy::primitives::U256::from(n);
    let started = Instant::now();
    d.start_relayer().await?;
    solana::supply_reaches(&d, target, "the relayer to mint the Solana-bound backlog").await?;
    let relayed = started.elapsed();
    d.kill_relayer().await;
    let messages = solana::final_burns(&d, n, wallet).await?;
    let bare = solana::bare_loop(&d, &messages).await?;
    let rate = |t: Duration| n as f64 / t.as_secs_f64();
    println!(
        "
Solana-bound backlog of {n} (ethereum → Solana), side by side:
  bare loop of signed mint transactions: {:.2} s, {:.1} mints/s
  relayer started on it: {:.2} s, {:.1} mints/s ({:.2}× the bare loop)",
        bare.as_secs_f64(),
        rate(bare),
        relayed.as_secs_f64(),
        rate(relayed),
        rate(relayed) / rate(bare)
    );
    summary::row(
        &format!("Solana-bound backlog of {n}: mints/s vs a bare loop"),
        "measured",
        &format!(
            "{:.2}x ({:.1} vs {:.1} mints/s)",
            rate(relayed) / rate(bare),
            rate(relayed),
            rate(bare)
        ),
        None,
    );
    if transfers > 0 {
        let floor_messages = solana::final_burns(&d, transfers, wallet).await?;
        let mut to_finalized = solana::mint_to_finalized(&d, &floor_messages).await?;
        d.start_relayer().await?;
        let (mut e2e, mut to_final) = (Vec::new(), Vec::new());
        for _ in 0..transfers {
            let (total, eth_final) = solana::transfer(&d, wallet).await?;
            e2e.push(total);
            to_final.push(eth_final);
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let (e2e, eth_final, sol_final) = (
            median(&mut e2e),
            median(&mut to_final),
            median(&mut to_finalized),
        );
        let floor = eth_final + sol_final;
        println!(
            "ethereum → Solana, {transfers} single transfers (medians): end to end {:.2} s; floor {:.2} s = the burn final on ethereum {:.2} s + a mint sent → finalized on Solana {:.2} s; {:.2}× the floor",
            e2e.as_secs_f64(),
            floor.as_secs_f64(),
            eth_final.as_secs_f64(),
            sol_final.as_secs_f64(),
            e2e.as_secs_f64() / floor.as_secs_f64()
        );
        summary::row(
            "ethereum -> Solana single transfer vs its floor (medians)",
            "measured",
            &format!(
                "{:.2}x ({:.2} s vs {:.2} s, {transfers} transfers)",
                e2e.as_secs_f64() / floor.as_secs_f64(),
                e2e.as_secs_f64(),
                floor.as_secs_f64()
            ),
            None,
        );
    }
    d.stop().await;
    Ok(())
}

/// `n` single transfers each way between the two EVM chains, one every 250 ms while the
/// relayer runs (batching on: a lone transfer waits at most its linger), each against its
/// floor, and the relayer's part: final burn observed → delivery broadcast.
async fn latency(d: &mut Devnet, n: usize) -> Result<(), BenchError> {
    d.set_max_batch(20).await?;
    let eth_seals = SealWatch::start(&d.chain("ethereum").ws_url()).await?;
    let base_seals = SealWatch::start(&d.chain("base").ws_url()).await?;
    let to = recipient();
    let spacing = Duration::from_millis(250);
    let (to_base, to_eth) = tokio::try_join!(
        burn_from(d, "ethereum", n, Domain::BASE, to, spacing),
        burn_from(d, "base", n, Domain::ETHEREUM, to, spacing),
    )?;
    let (eth, base) = (d.chain("ethereum"), d.chain("base"));
    let to_base = sent_messages(&eth.admin, eth.deployment.transmitter, to_base).await?;
    let to_eth = sent_messages(&base.admin, base.deployment.transmitter, to_eth).await?;
    let to_base = settled(d, &to_base).await?;
    let to_eth = settled(d, &to_eth).await?;
    let (eth_seals, base_seals) = (eth_seals.stop().await, base_seals.stop().await);
    println!();
    let floors = [
        vs_floor(d, ("ethereum", "base"), &to_base, &eth_seals, &base_seals).await?,
        vs_floor(d, ("base", "ethereum"), &to_eth, &base_seals, &eth_seals).await?,
    ];
    let mut ms: Vec<u64> = to_base
        .iter()
        .chain(&to_eth)
        .filter_map(observed_to_submitted_ms)
        .collect();
    ms.sort_unstable();
    if ms.is_empty() {
        return Err(BenchError::NotMinted(
            "no submitted delivery in the relayer's history".into(),
        ));
    }
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "final burn observed → delivery broadcast (the relayer's part), {} single transfers: p50 {} ms, p99 {} ms, max {} ms",
        ms.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    summary::row(
        "single transfer: mint block vs the floor (the first destination block sealed after finality)",
        "keep 1.00 (p50, p99)",
        &floors
            .iter()
            .map(|f| {
                format!(
                    "{}: p50 {:.2}x, p99 {:.2}x ({} of {} in that block; {} of {} made compared{})",
                    f.way,
                    f.p50,
                    f.p99,
                    f.in_floor,
                    f.transfers,
                    f.transfers,
                    f.records,
                    match f.early {
                        0 => String::new(),
                        n => format!("; {n} before finality or the floor block"),
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(floors.iter().all(|f| {
            f.p50 <= 1.001 && f.p99 <= 1.001 && f.early == 0 && f.transfers == f.records
        })),
    );
    let mut sealed: Vec<u64> = floors
        .iter()
        .flat_map(|f| f.to_broadcast.iter().copied())
        .collect();
    sealed.sort_unstable();
    let (p50, p99) = (quantile(&sealed, 0.5), quantile(&sealed, 0.99));
    summary::row(
        "finality (the final block sealed) -> delivery broadcast",
        "p50 <= 50 ms, p99 <= 150 ms",
        &format!(
            "p50 {p50} ms, p99 {p99} ms ({} transfers both ways; the relayer's own part, final burn observed -> broadcast: p50 {} ms, p99 {} ms)",
            sealed.len(),
            at(0.5),
            at(0.99)
        ),
        Some(!sealed.is_empty() && p50 <= 50 && p99 <= 150),
    );
    Ok(())
}

/// The `q` quantile of sorted `v` (0 when empty).
fn quantile(v: &[u64], q: f64) -> u64 {
    v.get(((v.len().max(1) - 1) as f64 * q).round() as usize)
        .copied()
        .unwrap_or(0)
}

/// One direction's single transfers against their floor.
struct Floor {
    way: String,
    /// Transfers made, and those compared with their floor (a seal or mint not found
    /// leaves one out).
    records: usize,
    transfers: usize,
    /// Minted before the floor block or broadcast before finality.
    early: usize,
    p50: f64,
    p99: f64,
    in_floor: usize,
    /// Each transfer's final block sealed → delivery broadcast, ms.
    to_broadcast: Vec<u64>,
}

/// Each single transfer `source → destination` against its floor: from the burn's block to
/// the mint's block, against from the burn's block to the first destination block sealed
/// after the burn's finality block (its block + the devnet's confirmations), with seal times
/// as the nodes pushed them. Prints the ratio's p50 / p99, how many mints were in that first
/// block, finality (the final block sealed) → delivery broadcast, and how long after the
/// final block the destination sealed its next one (the chains' phase: the time a relay has).
async fn vs_floor(
    d: &Devnet,
    (source, destination): (&str, &str),
    records: &[serde_json::Value],
    source_seals: &Seals,
    destination_seals: &Seals,
) -> Result<Floor, BenchError> {
    let node = &d.chain(destination).admin;
    let confirmations = d.options.confirmations;
    let (mut ratios, mut in_floor, mut late) = (Vec::new(), 0, Vec::<u64>::new());
    let (mut to_broadcast, mut phase) = (Vec::new(), Vec::new());
    // Mints in a block before the floor's, and broadcasts before finality: neither can be
    // right (a delivery before its burn was final), so neither is folded into the ratios.
    let (mut early, mut before_final) = (0, 0);
    for r in records {
        let Some(block) = r["sourceBlock"].as_u64() else {
            continue;
        };
        let mut mint = None;
        for tx in r["destinationTxs"].as_array().into_iter().flatten() {
            let Some(hash) = tx.as_str().and_then(|h| h.parse().ok()) else {
                continue;
            };
            if let Some(receipt) = node.get_transaction_receipt(hash).await? {
                mint = receipt.block_number.filter(|_| receipt.status());
            }
        }
        let (Some(mint), Some(burnt), Some(fin)) = (
            mint,
            source_seals.seen(block),
            source_seals.seen(block + confirmations),
        ) else {
            continue;
        };
        let (Some(floor), Some(minted)) = (
            destination_seals.first_after(fin.at),
            destination_seals.seen(mint),
        ) else {
            continue;
        };
        let since_burn = |at: Instant| at.saturating_duration_since(burnt.at).as_secs_f64();
        ratios.push(since_burn(minted.at) / since_burn(floor.at).max(1e-3));
        phase.push(floor.at.saturating_duration_since(fin.at).as_millis() as u64);
        if let Some(sent) = history_at_ms(r, "submitted") {
            // Broadcast before its burn was final: never right, and counted apart.
            match sent.checked_sub(fin.unix_ms) {
                Some(ms) => to_broadcast.push(ms),
                None => before_final += 1,
            }
        }
        match mint.checked_sub(floor.number) {
            Some(0) => in_floor += 1,
            Some(k) => late.push(k),
            None => early += 1,
        }
    }
    if ratios.is_empty() {
        return Err(BenchError::NotMinted(format!(
            "no single transfer {source} → {destination} to compare with its floor"
        )));
    }
    ratios.sort_by(f64::total_cmp);
    let q = |v: &[f64], q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    let mut later: std::collections::BTreeMap<u64, usize> = Default::default();
    late.iter().for_each(|k| *later.entry(*k).or_default() += 1);
    let later: String = later
        .iter()
        .map(|(k, n)| format!(", {n} were {k} block(s) later"))
        .collect();
    to_broadcast.sort_unstable();
    phase.sort_unstable();
    println!(
        "{source} → {destination}, {} single transfers: burn → mint block against burn → the first {destination} block sealed after finality ({confirmations} confirmations): p50 {:.2}×, p99 {:.2}×; {in_floor} minted in that block{later}
  finality (the final block sealed) → delivery broadcast: p50 {} ms, p99 {} ms; {destination} sealed its next block {} ms after {source}'s final one (median: the time a relay has)",
        ratios.len(),
        q(&ratios, 0.5),
        q(&ratios, 0.99),
        quantile(&to_broadcast, 0.5),
        quantile(&to_broadcast, 0.99),
        quantile(&phase, 0.5),
    );
    if early + before_final > 0 {
        println!("  NOT RIGHT: {early} minted before the floor block, {before_final} broadcast before finality");
    }
    Ok(Floor {
        way: format!("{source} -> {destination}"),
        records: records.len(),
        early: early + before_final,
        transfers: ratios.len(),
        p50: q(&ratios, 0.5),
        p99: q(&ratios, 0.99),
        in_floor,
        to_broadcast,
    })
}

/// Requests per second of `GET /v1/attestations/{hash}` (a complete one) on attester 1 and
/// on the relayer, over 16 keep-alive connections each, for `time`.
async fn api(d: &Devnet, time: Duration) -> Result<(), BenchError> {
    let eth = d.chain("ethereum");
    let head = eth.admin.get_block_number().await?;
    let messages = sent_messages(
        &eth.admin,
        eth.deployment.transmitter,
        (head.saturating_sub(50), head),
    )
    .await?;
    let Some(message) = messages.first() else {
        return Err(BenchError::NotMinted("no recent message to ask for".into()));
    };
    let path = format!(
        "/v1/attestations/{:#x}",
        alloy::primitives::keccak256(message)
    );
    println!();
    let (mut rates, mut lowest) = (Vec::new(), f64::INFINITY);
    for (who, url) in [
        ("attester 1", &d.attester_urls[0]),
        ("relayer", &d.relayer_url),
    ] {
        let rate = keep_alive_rate(url, &path, 16, time).await?;
        println!(
            "GET /v1/attestations/{{hash}} on {who}, keep-alive, 16 connections: {rate:.0} req/s"
        );
        rates.push(format!("{who} {rate:.0} req/s"));
        lowest = lowest.min(rate);
    }
    if !time.is_zero() {
        summary::row(
            "attestation GET, keep-alive (16 connections)",
            ">= 50k req/s",
            &rates.join(", "),
            Some(lowest >= 50_000.0),
        );
    }
    Ok(())
}

/// Requests answered per second: `connections` HTTP/1.1 keep-alive connections, each asking
/// `path` again as soon as the previous answer's body is read, for `time`.
async fn keep_alive_rate(
    base_url: &str,
    path: &str,
    connections: usize,
    time: Duration,
) -> Result<f64, BenchError> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let addr = base_url.trim_start_matches("http://").to_string();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let io = |what: &str| {
        let what = what.to_string();
        move |source| BenchError::Io { what, source }
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (addr, request) = (addr.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&addr)
                .await
                .map_err(io("connect"))?;
            let mut stream = BufReader::new(stream);
            let mut answered = 0u64;
            let mut line = String::new();
            while started.elapsed() < time {
                stream
                    .get_mut()
                    .write_all(request.as_bytes())
                    .await
                    .map_err(io("send"))?;
                let mut length = 0usize;
                line.clear();
                stream.read_line(&mut line).await.map_err(io("read"))?;
                // Only complete attestations count: an error answer is not the route's rate.
                let ok = line.starts_with("HTTP/1.1 200");
                loop {
                    line.clear();
                    stream.read_line(&mut line).await.map_err(io("read"))?;
                    let header = line.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length];
                stream
                    .read_exact(&mut body)
                    .await
                    .map_err(io("read body"))?;
                answered += ok as u64;
            }
            Ok::<u64, BenchError>(answered)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.map_err(|e| BenchError::Io {
            what: "a connection's task".into(),
            source: std::io::Error::other(e),
        })??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Makes a backlog of `n` attested messages and mints it `way`.
async fn backlog(d: &mut Devnet, way: Way, n: usize) -> Result<Run, BenchError> {
    let seals = SealWatch::start(&d.chain("base").ws_url()).await?;
    let burns = burn(d, n).await?;
    let eth = d.chain("ethereum");
    let messages = sent_messages(&eth.admin, eth.deployment.transmitter, burns).await?;
    wait_final(d).await?;
    wait_signed(d, &messages).await?;
    let attestations = attest(d, &messages)?;
    let base = d.chain("base").admin.clone();
    let token = d.chain("base").deployment.token;
    let before = supply(&base, token).await?;
    let target = before + alloy::primitives::U256::from(AMOUNT) * alloy::primitives::U256::from(n);
    let first_block = base.get_block_number().await? + 1;
    let started = Instant::now();
    let cpu_before = CpuSample::take();
    match way {
        Way::Bare => {
            deliver_singles(d, &messages, &attestations).await?;
        }
        Way::Relayer { max_batch } => {
            d.set_max_batch(max_batch).await?;
        }
    }
    let deadline = started + Duration::from_secs(600);
    while supply(&base, token).await? < target {
        if Instant::now() > deadline {
            return Err(BenchError::NotMinted(way.to_string()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let cpu = cpu_before
        .zip(CpuSample::take())
        .map(|(before, after)| after.since(&before).named(&anvil_names(d)));
    if way == Way::Bare {
        // The relayer, stopped meanwhile, would find these burns at its next start.
        d.set_max_batch(20).await?;
    }
    // Settled now, untimed: a relayer that finds the last way's deliveries not yet confirmed
    // would spend the next way's time confirming them (731 of them, in one run).
    settled(d, &messages).await?;
    let last_block = base.get_block_number().await?;
    let seals = seals.stop().await;
    // (gas used, gas limit) of each block from the first that carried mints to the last:
    // an empty block in between counts (the sender ran dry there).
    let mut carried: Vec<(u64, u64)> = Vec::new();
    for number in first_block..=last_block {
        let Some(block) = base.get_block_by_number(number.into()).await? else {
            continue;
        };
        carried.push((block.header.gas_used, block.header.gas_limit));
    }
    while carried.last().is_some_and(|(used, _)| *used == 0) {
        carried.pop();
    }
    let leading_empty = carried.iter().take_while(|(used, _)| *used == 0).count();
    carried.drain(..leading_empty);
    let fullness = |blocks: &[(u64, u64)]| {
        let (used, limit) = blocks
            .iter()
            .fold((0u64, 0u64), |(u, l), (bu, bl)| (u + bu, l + bl));
        used as f64 / limit.max(1) as f64
    };
    let used: u64 = carried.iter().map(|(u, _)| u).sum();
    let seal_gaps_ms = seals.gaps_ms(
        first_block + leading_empty as u64,
        first_block + (leading_empty + carried.len()) as u64 - 1,
    );
    Ok(Run {
        elapsed,
        blocks: carried.len(),
        fullness: fullness(&carried),
        fullness_before_last: carried
            .split_last()
            .filter(|(_, before)| !before.is_empty())
            .map(|(_, before)| fullness(before)),
        fullness_between: (carried.len() > 2).then(|| fullness(&carried[1..carried.len() - 1])),
        gas_per_mint: used as f64 / n as f64,
        each_block: carried
            .iter()
            .map(|(used, limit)| used * 100 / (*limit).max(1))
            .collect(),
        cpu,
        seal_gaps_ms,
    })
}

/// Each chain's anvil by name instead of port in a CPU line.
fn anvil_names(d: &Devnet) -> Vec<(String, String)> {
    d.chains
        .iter()
        .filter_map(|c| {
            let port = c.rpc_url.rsplit(':').next()?.trim_end_matches('/');
            Some((format!("anvil :{port}"), format!("anvil {}", c.name)))
        })
        .collect()
}

/// Until two attesters answer every message's attestation `complete` (the relayer's
/// threshold), so that the backlog is attested before anything is timed.
async fn wait_signed(d: &Devnet, messages: &[Vec<u8>]) -> Result<(), BenchError> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    for url in d.attester_urls.iter().take(2) {
        for m in messages {
            let hash = alloy::primitives::keccak256(m);
            loop {
                let complete = signed(&client, &format!("{url}/v1/attestations/{hash:#x}")).await;
                if complete {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(BenchError::NotSigned(hash));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Ok(())
}

/// Until the relayer's record of every message is delivered or confirmed; the records.
async fn settled(d: &Devnet, messages: &[Vec<u8>]) -> Result<Vec<serde_json::Value>, BenchError> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut records = Vec::with_capacity(messages.len());
    for m in messages {
        let hash = alloy::primitives::keccak256(m);
        let url = format!("{}/v1/messages/{hash:#x}", d.relayer_url);
        loop {
            let record = match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => r.json::<serde_json::Value>().await.ok(),
                _ => None,
            };
            if let Some(r) =
                record.filter(|r| matches!(r["status"].as_str(), Some("delivered" | "confirmed")))
            {
                records.push(r);
                break;
            }
            if Instant::now() > deadline {
                return Err(BenchError::NotMinted(format!("relayer settling {hash:#x}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(records)
}
