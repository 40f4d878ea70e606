//! `usd1-chaos`: starts the devnet and, at the same time, sends transfers in every direction,
//! SIGKILLs services, injects RPC faults and reorgs chains; then checks from the chains alone
//! that every burn was minted exactly once, prints a table, and exits non-zero on any
//! violation. Seeds are printed and replayable.

mod error;
mod kills;
mod net;
mod plan;
mod proxy;
mod reorgs;
mod report;
mod traffic;
mod verdict;
mod violation;

use clap::Parser;
use error::ChaosError;
use plan::{Plan, Profile, Scenario};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "usd1-chaos",
    about = "Chaos soak of the bridge on a local devnet"
)]
struct Args {
    /// Sizes: short (CI, a few minutes) or long (docs/reliability.md).
    #[arg(long, value_enum, default_value = "short")]
    profile: Profile,
    #[arg(long, value_enum, default_value = "soak")]
    scenario: Scenario,
    /// The run's seed (random when not given; printed either way).
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    transfers: Option<usize>,
    #[arg(long)]
    kills: Option<usize>,
    /// Share of RPC requests answered with a fault, 0 to 1.
    #[arg(long)]
    fault_rate: Option<f64>,
    #[arg(long)]
    reorgs: Option<usize>,
    /// Leave Solana out (EVM ⇄ EVM only).
    #[arg(long)]
    no_solana: bool,
    #[arg(long, default_value = ".chaos")]
    work_dir: PathBuf,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut plan = Plan::of(args.profile, args.scenario, seed);
    plan.transfers = args.transfers.unwrap_or(plan.transfers);
    plan.kills = args.kills.unwrap_or(plan.kills);
    plan.fault_rate = args.fault_rate.unwrap_or(plan.fault_rate).clamp(0.0, 1.0);
    plan.reorgs = args.reorgs.unwrap_or(plan.reorgs);
    plan.solana = !args.no_solana;
    if plan.scenario == Scenario::FinalityViolation {
        println!("usd1-chaos: seed {seed}, scenario finality-violation");
    } else {
        println!(
            "usd1-chaos: seed {seed}, {} transfers, {} kills, {:.0} % RPC faults, {} reorgs{}",
            plan.transfers,
            plan.kills,
            plan.fault_rate * 100.0,
            plan.reorgs,
            if plan.solana { "" } else { ", no Solana" }
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("usd1-chaos: no async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let work_dir = args.work_dir;
    let result = runtime.block_on(async move {
        match plan.scenario {
            Scenario::Soak => soak(plan, &work_dir).await,
            Scenario::FinalityViolation => violation::run(plan, &work_dir).await,
        }
    });
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("usd1-chaos: {e}");
            ExitCode::from(2)
        }
    }
}

/// The soak: returns the number of violations.
async fn soak(plan: Plan, work_dir: &std::path::Path) -> Result<usize, ChaosError> {
    let began = Instant::now();
    let (net, faults) = net::start(&plan, work_dir).await?;
    println!(
        "devnet up in {:.0} s; logs in {}",
        began.elapsed().as_secs_f64(),
        work_dir.join("logs").display()
    );
    let users = traffic::extra_users()?;
    traffic::fund_users(&net, &users[..2]).await?;
    faults.set_rate(plan.fault_rate);

    // About how long the users take, to spread kills and reorgs over the traffic.
    let spread = Duration::from_millis(plan.transfers as u64 * 400);
    let sending = {
        let (net, plan) = (net.clone(), plan.clone());
        tokio::spawn(async move { traffic::run(net, &plan, users).await })
    };
    let killing = {
        let (net, plan) = (net.clone(), plan.clone());
        tokio::spawn(async move { kills::run(net, &plan, spread).await })
    };
    let reorging = {
        let (net, plan) = (net.clone(), plan.clone());
        tokio::spawn(async move { reorgs::run(net, &plan, spread).await })
    };
    let traffic = sending.await?;
    println!(
        "traffic done: {} burns sent at {:.0} s",
        traffic.sent.len(),
        began.elapsed().as_secs_f64()
    );
    let kills = killing.await?;
    let (reorgs, mut notes) = reorging.await?;
    faults.set_rate(0.0);
    notes.extend(kills.restart_errors.iter().cloned());
    let quiet = verdict::wait_quiet(&net, plan.quiet_timeout).await;
    let verdict = verdict::judge(&net, &traffic.sent, quiet).await;
    report::Report {
        plan: &plan,
        traffic: &traffic,
        kills: &kills,
        faults: &faults,
        reorgs: &reorgs,
        verdict: &verdict,
        wall: began.elapsed(),
        notes: &notes,
    }
    .print();
    let violations = verdict.violations() + kills.restart_errors.len();
    if let Ok(lock) = std::sync::Arc::try_unwrap(net) {
        lock.into_inner().stop().await;
    }
    Ok(violations)
}
