//! An attester's backfill against a bare loop (docs/benchmarks.md): with every other service
//! stopped and `n` burns final on ethereum, the time for
//! - a **bare loop**: `eth_getLogs` over the attester's whole range, in its chunk size, each
//!   message decoded and hashed, then signed with attester 1's key on every core;
//! - **attester 1** started on an empty store: from its spawn until the last burn's
//!   attestation is served and its watcher's cursor is past it (flushed), less its start-up
//!   (the same spawn on a store that has every signature already, timed the same way);
//! - the indexing the attester defers to a quiet moment (the store's journal): the start-up on
//!   the store the backfill left, which indexes it at open, less the start-up alone. Printed
//!   apart and counted in, so the deferred work is not hidden.
//!
//! The two alternate `rounds` times; medians are printed with the ratio.

use super::{burn, sent_messages, signed, wait_final, BenchError};
use crate::process::wait_until_every;
use crate::Devnet;
use alloy::primitives::{keccak256, B256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use std::time::{Duration, Instant};

/// What one side of a round took.
struct Round {
    bare: Duration,
    bare_logs: Duration,
    attester: Duration,
    /// Start-up on the store the backfill left: its journal is indexed at open.
    indexing_startup: Duration,
    startup: Duration,
}

/// Measures attester 1's backfill of `n` new burns (and all the history before them) against
/// the bare loop, `rounds` times, and prints the medians. Leaves every service stopped.
pub async fn run(d: &mut Devnet, n: usize, rounds: usize) -> Result<(), BenchError> {
    d.kill_relayer().await;
    for i in 0..d.attester_urls.len() {
        d.stop_attester(i).await;
    }
    let blocks = burn(d, n).await?;
    wait_final(d).await?;
    let eth = d.chain("ethereum");
    let last = sent_messages(&eth.admin, eth.deployment.transmitter, blocks)
        .await?
        .last()
        .map(keccak256)
        .ok_or(BenchError::Messages {
            messages: 0,
            burns: n,
        })?;
    let to = eth.admin.get_block_number().await?;
    let chunk = crate::devnet::MAX_BLOCK_RANGE;
    let key = d.attester_keys[0].clone();
    let mut runs = Vec::with_capacity(rounds);
    let mut messages = 0;
    for _ in 0..rounds {
        let (count, bare_logs, bare) = bare_loop(d, &key, to, chunk).await?;
        messages = count;
        let attester = attester_from_empty(d, last, blocks.1).await?;
        // On the store the backfill left: its start-up, and the indexing of the journal the
        // backfill wrote (deferred to a quiet moment, here done at open), timed the same way.
        let indexing_startup = timed_start(d, last, blocks.1).await?;
        // On a store that has every signature indexed: its start-up alone.
        let startup = timed_start(d, last, blocks.1).await?;
        runs.push(Round {
            bare,
            bare_logs,
            attester,
            indexing_startup,
            startup,
        });
    }
    let median = |f: fn(&Round) -> Duration| {
        let mut v: Vec<Duration> = runs.iter().map(f).collect();
        v.sort();
        v[v.len() / 2]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (bare, attester, startup) = (
        median(|r| r.bare),
        median(|r| r.attester),
        median(|r| r.startup),
    );
    let backfill = attester.saturating_sub(startup);
    let indexing = median(|r| r.indexing_startup.saturating_sub(r.startup));
    let ratio = |attester: Duration| bare.as_secs_f64() / attester.as_secs_f64().max(1e-9);
    println!(
        "\nattester backfill of {messages} messages (blocks 0–{to}, {chunk}-block log queries), medians of {rounds}:
  bare loop: eth_getLogs + decode {:.0} ms, + signing on {} cores: {:.0} ms
  attester 1 on an empty store: {:.0} ms from spawn, start-up {:.0} ms → backfill {:.0} ms (every signature served and durable, the cursor past the last)
  bare / attester: {:.2}×
  its journal indexed afterwards (deferred; timed at the next open): {:.0} ms → counted in, {:.2}×",
        ms(median(|r| r.bare_logs)),
        cores(),
        ms(bare),
        ms(attester),
        ms(startup),
        ms(backfill),
        ratio(backfill),
        ms(indexing),
        ratio(backfill + indexing),
    );
    usd1_runtime::bench_summary::row(
        &format!("attester backfill of {messages} vs bare getLogs + signing on every core"),
        ">= 0.8x",
        &format!(
            "{:.2}x ({:.0} vs {:.0} ms); {:.2}x counting the indexing deferred to idle time",
            ratio(backfill),
            ms(backfill),
            ms(bare),
            ratio(backfill + indexing)
        ),
        // A start-up no shorter than the whole run leaves nothing to compare.
        (!backfill.is_zero()).then(|| ratio(backfill) >= 0.8),
    );
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Reads every message in blocks `0..=to` as the attester's watcher does (one query per
/// `chunk` blocks), decodes and hashes each, then signs them all on every core. Returns the
/// count, the reading time and the whole time.
async fn bare_loop(
    d: &Devnet,
    key: &PrivateKeySigner,
    to: u64,
    chunk: u64,
) -> Result<(usize, Duration, Duration), BenchError> {
    let eth = d.chain("ethereum");
    let started = Instant::now();
    let mut hashes: Vec<B256> = Vec::new();
    let mut from = 0;
    while from <= to {
        let end = to.min(from + chunk - 1);
        for m in sent_messages(&eth.admin, eth.deployment.transmitter, (from, end)).await? {
            usd1_core::Message::decode(&m)?;
            hashes.push(keccak256(&m));
        }
        from = end + 1;
    }
    let read = started.elapsed();
    let per_core = hashes.len().div_ceil(cores()).max(1);
    std::thread::scope(|s| {
        let signing: Vec<_> = hashes
            .chunks(per_core)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .try_for_each(|h| key.sign_hash_sync(h).map(drop))
                })
            })
            .collect();
        signing
            .into_iter()
            .try_for_each(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })?;
    Ok((hashes.len(), read, started.elapsed()))
}

/// Attester 1 on an empty store: from its spawn until `last` is served signed. Stops it.
async fn attester_from_empty(
    d: &mut Devnet,
    last: B256,
    last_block: u64,
) -> Result<Duration, BenchError> {
    let db = d.attester_db_path(0);
    std::fs::remove_dir_all(&db).map_err(|source| BenchError::Io {
        what: format!("removing {}", db.display()),
        source,
    })?;
    timed_start(d, last, last_block).await
}

/// Spawns attester 1, asks for `last` every 2 ms (without `?wait_ms`, which would wake its
/// watchers) until it is served signed, then until its ethereum watcher's cursor is past
/// `last_block` (the signatures flushed and the cursor committed: the backfill is done);
/// stops it.
async fn timed_start(d: &mut Devnet, last: B256, last_block: u64) -> Result<Duration, BenchError> {
    let client = reqwest::Client::new();
    let url = format!("{}/v1/attestations/{last:#x}", d.attester_urls[0]);
    let ready = format!("{}/readyz", d.attester_urls[0]);
    let started = Instant::now();
    d.spawn_attester(0)?;
    let past = || async {
        let answer = client.get(&ready).send().await.ok()?;
        let v: serde_json::Value = answer.json().await.ok()?;
        v["chains"]["ethereum"]["next_block"].as_u64()
    };
    let (limit, every) = (Duration::from_secs(300), Duration::from_millis(2));
    // The first wait is the long one: its polls are the cheap route's, not /readyz's.
    let served = "attester 1 to serve the last burn's attestation";
    wait_until_every(limit, every, served, || signed(&client, &url)).await?;
    let passed = "attester 1's cursor to pass the last burn";
    wait_until_every(limit, every, passed, || async {
        past().await.is_some_and(|next| next > last_block)
    })
    .await?;
    let took = started.elapsed();
    d.stop_attester(0).await;
    Ok(took)
}
