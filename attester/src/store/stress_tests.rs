//! Stress tests of the attester's store (docs/reliability.md, "Store stress"): many lanes
//! driving the governor's transitions — hold, drop, sign (releasing the hold, with its window
//! entry, by-transaction index and the chain's meta in one transaction), window pruning —
//! with flushes and scans from many tasks at once on a multi-thread runtime, under a
//! watchdog; and kill-and-reopen cycles, the writer being this test binary started again and
//! SIGKILLed at a random moment.
//!
//! `USD1_STORE_SOAK_SECS=600 cargo nextest run -p usd1-attester stress_tests` runs each ten
//! minutes; unset, a few seconds (CI).

use super::{tx_key, GovernorChange, GovernorMeta, Hold, SignedMessage, Store};
use crate::governor::logic::HoldKind;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use usd1_core::{Domain, B256, U256};
use usd1_runtime::store_stress::{self, Counter, Watchdog};

const LANES: u64 = 16;
const FLUSHERS: usize = 4;
const SCANNERS: usize = 4;
const WORKERS: usize = 4;
const STALL: Duration = Duration::from_secs(30);
/// Lane `t` governs source domain `FIRST_SOURCE + t` (its own meta).
const FIRST_SOURCE: u32 = 100;
/// Kill-and-reopen starts over from an empty database every this many cycles, so the
/// whole-database check stays quick in a ten-minute soak.
const CYCLES_PER_DB: u64 = 40;

/// How far a message got: held, dropped, signed (never backwards, never gone).
const HELD: u8 = 1;
const DROPPED: u8 = 2;
const SIGNED: u8 = 3;

#[derive(Default)]
struct Figures {
    transitions: AtomicU64,
    flushes: AtomicU64,
    scans: AtomicU64,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap()
}

fn now_ms() -> u64 {
    usd1_runtime::now_ms()
}

fn hold(generation: u64, lane: u64, i: u64, burn_time: u64) -> Hold {
    let word = |w: u64| (U256::from(generation) << 128) | (U256::from(lane) << 64) | U256::from(w);
    let hash = B256::from(word(i));
    let tx = B256::from(word(i) | (U256::from(1) << 255));
    Hold {
        message: format!("0x{}", "0b".repeat(40)),
        message_hash: format!("{hash:#x}"),
        source_domain: Domain(FIRST_SOURCE + lane as u32),
        destination_domain: Domain(6),
        nonce: i,
        source_tx: format!("{tx:#x}"),
        source_block: burn_time,
        amount: 1_000 + u128::from(i),
        burn_time,
        kind: HoldKind::Window,
        release_at: burn_time + 60,
        held_at_ms: now_ms(),
        dropped_at_ms: None,
    }
}

fn signed(h: &Hold) -> SignedMessage {
    SignedMessage {
        message: h.message.clone(),
        message_hash: h.message_hash.clone(),
        signature: format!("0x{}", "5a".repeat(65)),
        source_domain: h.source_domain,
        destination_domain: h.destination_domain,
        nonce: h.nonce,
        source_tx: h.source_tx.clone(),
        source_block: h.source_block,
        signed_at_ms: now_ms(),
    }
}

/// One lane, as the governor does it (each step a sync store call on the blocking pool):
/// hold (with the chain's meta) → flushed; then sign it, releasing the hold, with a window
/// entry and the new meta → flushed; or drop it → flushed (and every other dropped one is
/// released by the operators: signed → flushed). Now and then the window is pruned.
async fn lane(
    store: Store,
    generation: u64,
    lane: u64,
    stop: Arc<AtomicBool>,
    figures: Arc<Figures>,
    progress: Counter,
    ack: bool,
) {
    let domain = Domain(FIRST_SOURCE + lane as u32);
    let mut meta = store.run(move |s| s.governor_meta(domain)).await.unwrap();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        meta.latest_burn += 1;
        let h = hold(generation, lane, i, meta.latest_burn);
        let hash = h.hash();
        let (held, m) = (h.clone(), meta);
        store.run(move |s| s.put_hold(&held, m)).await.unwrap();
        store.flush().await.unwrap();
        if ack {
            store_stress::ack(format!("h {hash:#x} {} {}", domain.0, meta.latest_burn));
        }
        let mut transitions = 1;
        let release = if i % 5 == 0 {
            let dropped = h.clone();
            store
                .run(move |s| s.drop_hold(&dropped, now_ms()))
                .await
                .unwrap();
            store.flush().await.unwrap();
            if ack {
                store_stress::ack(format!("d {hash:#x}"));
            }
            transitions += 1;
            i % 10 == 0 // released by the operators: signed, not counted
        } else {
            meta.last_release = meta.latest_burn;
            true
        };
        if release {
            let counted = i % 5 != 0;
            let (h, m) = (h, meta);
            store
                .run(move |s| {
                    let change = GovernorChange {
                        window: counted.then_some((h.burn_time, h.amount)),
                        released: Some(&h),
                        meta: counted.then_some(m),
                    };
                    s.commit_signature(&signed(&h), &hash, change)
                })
                .await
                .unwrap();
            store.flush().await.unwrap();
            if ack {
                store_stress::ack(format!("s {hash:#x} {} {}", domain.0, meta.last_release));
            }
            transitions += 1;
        }
        if i % 20 == 0 {
            let through = meta.latest_burn.saturating_sub(100);
            store
                .run(move |s| s.prune_window(domain, through))
                .await
                .unwrap();
        }
        figures
            .transitions
            .fetch_add(transitions, Ordering::Relaxed);
        figures.flushes.fetch_add(transitions, Ordering::Relaxed);
        progress.tick();
    }
}

/// Flushes with nothing of its own to flush, as the watch loops and the shutdown do.
async fn flusher(store: Store, stop: Arc<AtomicBool>, figures: Arc<Figures>, progress: Counter) {
    while !stop.load(Ordering::Relaxed) {
        store.flush().await.unwrap();
        figures.flushes.fetch_add(1, Ordering::Relaxed);
        progress.tick();
    }
}

/// What the API, the metrics and the governor's status read while the lanes write.
async fn scanner(store: Store, stop: Arc<AtomicBool>, figures: Arc<Figures>, progress: Counter) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let domain = Domain(FIRST_SOURCE + (n % LANES) as u32);
        let holds = store.all_holds().await.unwrap();
        store.all_dropped().await.unwrap();
        store.count().await.unwrap();
        store
            .run(move |s| {
                s.holds(domain)?;
                s.window(domain)
            })
            .await
            .unwrap();
        if let Some(h) = holds.first() {
            let tx = usd1_core::TxRef::parse(&h.source_tx).unwrap();
            store.get(&h.hash()).await.unwrap();
            store.by_tx(h.source_domain, &tx).await.unwrap();
        }
        figures.scans.fetch_add(1, Ordering::Relaxed);
        progress.tick();
    }
}

async fn workload(
    store: &Store,
    generation: u64,
    stop: &Arc<AtomicBool>,
    figures: &Arc<Figures>,
    progress: &Counter,
    ack: bool,
) {
    let mut tasks = Vec::new();
    for t in 0..LANES {
        tasks.push(tokio::spawn(lane(
            store.clone(),
            generation,
            t,
            stop.clone(),
            figures.clone(),
            progress.clone(),
            ack,
        )));
    }
    for _ in 0..FLUSHERS {
        tasks.push(tokio::spawn(flusher(
            store.clone(),
            stop.clone(),
            figures.clone(),
            progress.clone(),
        )));
    }
    for _ in 0..SCANNERS {
        tasks.push(tokio::spawn(scanner(
            store.clone(),
            stop.clone(),
            figures.clone(),
            progress.clone(),
        )));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// What a reopened database holds, for comparing with what was seen or acknowledged before.
#[derive(Default)]
struct Snapshot {
    meta: BTreeMap<u32, GovernorMeta>,
    /// Message hash → [`HELD`], [`DROPPED`] or [`SIGNED`].
    progress: HashMap<B256, u8>,
}

/// Every record decodes; a hold and its index agree both ways; a message is in one place
/// only (signed, held or dropped: a signature and the hold it released are one transaction);
/// every window entry and by-transaction key belongs to a signature, and every signature
/// has its by-transaction key.
fn check(store: &Store) -> Result<Snapshot, String> {
    let s = store.blocking();
    let e = |e: sled::Error| e.to_string();
    let mut snap = Snapshot::default();
    for entry in s.meta.iter() {
        let (k, v) = entry.map_err(e)?;
        let domain = u32::from_be_bytes(k.as_ref().try_into().map_err(|_| "meta key")?);
        let meta: GovernorMeta = serde_json::from_slice(&v).map_err(|e| format!("meta: {e}"))?;
        snap.meta.insert(domain, meta);
    }
    for entry in s.signed.iter() {
        let (k, v) = entry.map_err(e)?;
        let m: SignedMessage =
            serde_json::from_slice(&v).map_err(|e| format!("a signature does not decode: {e}"))?;
        let hash: B256 = m.message_hash.parse().map_err(|_| "signed hash")?;
        if k.as_ref() != hash.as_slice() {
            return Err(format!("{hash:#x} is signed under another key"));
        }
        let tx = usd1_core::TxRef::parse(&m.source_tx).ok_or("signed source tx")?;
        if !s
            .by_tx
            .contains_key(tx_key(m.source_domain, &tx, &hash))
            .map_err(e)?
        {
            return Err(format!(
                "{hash:#x} is signed but not indexed by its transaction"
            ));
        }
        snap.progress.insert(hash, SIGNED);
    }
    let mut held_keys = HashSet::new();
    for entry in s.held.iter() {
        let (k, v) = entry.map_err(e)?;
        let h: Hold =
            serde_json::from_slice(&v).map_err(|e| format!("a hold does not decode: {e}"))?;
        let hash = h.hash();
        if k.as_ref() != h.key().as_slice() {
            return Err(format!("hold {hash:#x} is stored under another key"));
        }
        if s.held_index.get(hash.as_slice()).map_err(e)?.as_deref() != Some(k.as_ref()) {
            return Err(format!("hold {hash:#x} is missing from the hold index"));
        }
        if snap.progress.insert(hash, HELD).is_some() {
            return Err(format!("{hash:#x} is both signed and held"));
        }
        held_keys.insert(k.to_vec());
    }
    for entry in s.held_index.iter() {
        let (hash, key) = entry.map_err(e)?;
        if !held_keys.contains(key.as_ref()) {
            return Err(format!(
                "the hold index names a hold that is not there: {hash:?}"
            ));
        }
    }
    for entry in s.dropped.iter() {
        let (k, v) = entry.map_err(e)?;
        let h: Hold = serde_json::from_slice(&v)
            .map_err(|e| format!("a dropped hold does not decode: {e}"))?;
        let hash = h.hash();
        if k.as_ref() != hash.as_slice() || h.dropped_at_ms.is_none() {
            return Err(format!("dropped {hash:#x} is not stored as dropped"));
        }
        if let Some(other) = snap.progress.insert(hash, DROPPED) {
            return Err(format!("{hash:#x} is dropped and in state {other} too"));
        }
    }
    for (name, tree) in [("window", &s.window), ("by_tx", &s.by_tx)] {
        for entry in tree.iter() {
            let (k, _) = entry.map_err(e)?;
            let hash = B256::from_slice(&k[k.len() - 32..]);
            if snap.progress.get(&hash) != Some(&SIGNED) {
                return Err(format!(
                    "{name} has an entry for {hash:#x}, which is not signed"
                ));
            }
        }
    }
    Ok(snap)
}

/// Nothing seen before went backwards: the chains' meta, and how far each message got.
fn compare(before: &Snapshot, now: &Snapshot) -> Result<(), String> {
    for (d, was) in &before.meta {
        let is = now.meta.get(d).copied().unwrap_or_default();
        if is.latest_burn < was.latest_burn || is.last_release < was.last_release {
            return Err(format!(
                "domain {d}'s meta went back from {was:?} to {is:?}"
            ));
        }
    }
    for (h, was) in &before.progress {
        match now.progress.get(h) {
            None => return Err(format!("{h:#x} (seen before) is gone")),
            Some(is) if is < was => return Err(format!("{h:#x} went back from {was} to {is}")),
            Some(_) => {}
        }
    }
    Ok(())
}

/// What the child acknowledged as flushed is there.
fn check_acks(snap: &Snapshot, acks: &[String]) -> Result<(), String> {
    let number = |s: &str| s.parse::<u64>().map_err(|_| format!("ack number {s:?}"));
    for line in acks {
        let parts: Vec<&str> = line.split(' ').collect();
        let (hash, at_least) = match parts.as_slice() {
            [kind @ ("h" | "s"), hash, domain, value] => {
                let d = number(domain)? as u32;
                let value = number(value)?;
                let meta = snap.meta.get(&d).copied().unwrap_or_default();
                let (is, at_least) = match *kind {
                    "h" => (meta.latest_burn, HELD),
                    _ => (meta.last_release, SIGNED),
                };
                if is < value {
                    return Err(format!("after the crash {line:?} finds {meta:?}"));
                }
                (*hash, at_least)
            }
            ["d", hash] => (*hash, DROPPED),
            _ => return Err(format!("unexpected ack {line:?}")),
        };
        let hash: B256 = hash.parse().map_err(|_| format!("ack {line:?}"))?;
        match snap.progress.get(&hash) {
            Some(step) if *step >= at_least => {}
            other => {
                return Err(format!(
                    "{hash:#x} was acknowledged at {at_least} but is at {other:?} after the crash"
                ))
            }
        }
    }
    Ok(())
}

fn open(dir: &Path) -> Store {
    Store::open(sled::open(dir).unwrap()).unwrap()
}

#[test]
fn concurrent_transitions_flushes_and_scans() {
    let run_for = store_stress::run_for(Duration::from_secs(8));
    let watchdog = Watchdog::start("attester store: concurrent", STALL);
    let dir = tempfile::tempdir().unwrap();
    let figures = Arc::new(Figures::default());
    let started = Instant::now();
    {
        let store = open(dir.path());
        let rt = runtime();
        let stop = Arc::new(AtomicBool::new(false));
        rt.block_on(async {
            let timer = {
                let stop = stop.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(run_for).await;
                    stop.store(true, Ordering::Relaxed);
                })
            };
            workload(&store, 1, &stop, &figures, &watchdog.counter(), false).await;
            timer.await.unwrap();
        });
        store.blocking().flush().unwrap();
        check(&store).unwrap();
    }
    // Reopened, it holds the same (and every record is still whole).
    let snap = check(&open(dir.path())).unwrap();
    assert_eq!(snap.meta.len(), LANES as usize);
    let transitions = figures.transitions.load(Ordering::Relaxed);
    eprintln!(
        "attester store, concurrent: {} s, {LANES} lanes + {FLUSHERS} flushers + {SCANNERS} \
         scanners on {WORKERS} workers: {transitions} transitions, {} flushes, {} scans, \
         {} messages, 0 hangs",
        started.elapsed().as_secs(),
        figures.flushes.load(Ordering::Relaxed),
        figures.scans.load(Ordering::Relaxed),
        snap.progress.len(),
    );
    assert!(transitions > 0);
}

/// The writer child of [`kill_and_reopen_cycles`]: the same workload, acknowledging what it
/// flushed, until it is killed.
fn child(dir: &Path) {
    let started = Instant::now();
    let store = open(dir);
    let generation = now_ms();
    let rt = runtime();
    let stop = Arc::new(AtomicBool::new(false));
    let figures = Arc::new(Figures::default());
    rt.block_on(async {
        let expiry = {
            let stop = stop.clone();
            tokio::spawn(async move {
                while !store_stress::child_expired(started) {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                stop.store(true, Ordering::Relaxed);
            })
        };
        workload(
            &store,
            generation,
            &stop,
            &figures,
            &Counter::default(),
            true,
        )
        .await;
        expiry.await.unwrap();
    });
}

#[test]
fn kill_and_reopen_cycles() {
    if let Some(dir) = store_stress::child_dir() {
        return child(&dir);
    }
    let test = format!(
        "{}::kill_and_reopen_cycles",
        module_path!().split_once("::").unwrap().1
    );
    let run_for = store_stress::run_for(Duration::from_secs(8));
    let watchdog = Watchdog::start("attester store: kill-and-reopen", STALL);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("db");
    let mut seen = Snapshot::default();
    let started = Instant::now();
    let done = store_stress::kill_and_reopen(
        &test,
        &dir,
        run_for,
        (Duration::from_millis(30), Duration::from_millis(1500)),
        &watchdog.counter(),
        |cycle, acks| {
            let store = open(&dir);
            let snap = check(&store)?;
            compare(&seen, &snap)?;
            check_acks(&snap, &acks)?;
            store.blocking().flush().map_err(|e| e.to_string())?;
            drop(store);
            seen = snap;
            if cycle % CYCLES_PER_DB == 0 {
                std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
                seen = Snapshot::default();
            }
            Ok(())
        },
    );
    eprintln!(
        "attester store, kill-and-reopen: {} s, {} cycles ({} killed before acknowledging \
         anything), {} acknowledged flushed transitions checked, 0 hangs",
        started.elapsed().as_secs(),
        done.cycles,
        done.silent,
        done.acks,
    );
    assert!(done.cycles > 0 && done.acks > 0, "{done:?}");
}
