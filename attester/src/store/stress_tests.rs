//! Stress tests of the attester's store (docs/reliability.md, "Store stress"): many lanes
//! driving the governor's transitions — hold, drop, sign (releasing the hold, with its window
//! entry, by-transaction index and the chain's meta in one transaction), window pruning —
//! with flushes and scans from many tasks at once on a multi-thread runtime, under a
//! watchdog; and kill-and-reopen cycles, the writer being this test binary started again and
//! SIGKILLed at a random moment.
//!
//! `USD1_STORE_SOAK_SECS=600 cargo nextest run -p usd1-attester stress_tests` runs each ten
//! minutes; unset, a few seconds (CI).

use super::journal::JOURNAL_AT;
use super::{tx_key, GovernorChange, GovernorMeta, Hold, SignedMessage, Store};
use crate::governor::logic::HoldKind;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::Ordering;
use usd1_core::{Domain, B256, U256};
use usd1_runtime::store_stress::{self, Lane, Stressed, LANES};

/// Where a lane's journaled runs number their messages (apart from its holds').
const RUNS: u64 = 1 << 40;

/// Lane `t` governs source domain `FIRST_SOURCE + t` (its own meta).
const FIRST_SOURCE: u32 = 100;

/// How far a message got: held, dropped, signed (never backwards, never gone).
const HELD: u8 = 1;
const DROPPED: u8 = 2;
const SIGNED: u8 = 3;

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
/// One lane's governor transitions: hold, sometimes drop, sign (releasing), prune.
async fn lane(store: Store, l: Lane) {
    let Lane {
        generation,
        lane,
        stop,
        figures,
        progress,
        ack,
    } = l;
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
        if i % 8 == 0 {
            // A backfill's run of signatures with their window entries: journaled while
            // fewer than PENDING_MAX wait (no indexer runs here but the scans'), then
            // indexed at once.
            let stamp = meta.latest_burn;
            let run: Vec<(SignedMessage, B256)> = (0..JOURNAL_AT as u64)
                .map(|j| {
                    let h = hold(generation, lane, RUNS + i * 100 + j, stamp);
                    (signed(&h), h.hash())
                })
                .collect();
            let acked = [run[0].1, run[run.len() - 1].1];
            store
                .run(move |s| {
                    let writes: Vec<_> = run
                        .iter()
                        .map(|(r, h)| {
                            let change = GovernorChange {
                                window: Some((stamp, 1)),
                                ..Default::default()
                            };
                            (r, h, change)
                        })
                        .collect();
                    s.commit_signatures(&writes)
                })
                .await
                .unwrap();
            store.flush().await.unwrap();
            if ack {
                for hash in acked {
                    store_stress::ack(format!("s {hash:#x} {} {}", domain.0, meta.last_release));
                }
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

/// What the API, the metrics and the governor's status read while the lanes write.
async fn scan(store: &Store, n: u64) {
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
    if n.is_multiple_of(10) {
        // The journal's indexer, at any moment (it runs when the attester is quiet).
        store.run(|s| s.index_journal()).await.unwrap();
    }
    if let Some(h) = holds.first() {
        let tx = usd1_core::TxRef::parse(&h.source_tx).unwrap();
        store.get(&h.hash()).await.unwrap();
        store.by_tx(h.source_domain, &tx).await.unwrap();
    }
}

/// What a reopened database holds, for comparing with what was seen or acknowledged before.
#[derive(Default)]
pub struct Snapshot {
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
    // What is still journaled at the end of the concurrent run (its scans index now and
    // then) is indexed as an open would: the checks read the indexes. After a reopen there is
    // nothing left (`open` asserts it).
    s.index_journal().map_err(|e| e.to_string())?;
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

#[async_trait::async_trait]
impl Stressed for Store {
    type Snapshot = Snapshot;
    fn open(dir: &Path) -> Self {
        let store = Store::open(sled::open(dir).unwrap()).unwrap();
        // What a stop left journaled is indexed by the open itself, before anything reads.
        let s = store.blocking();
        assert!(s.journal.is_empty(), "open left the journal unindexed");
        assert_eq!(s.pending_count(), 0);
        store
    }
    async fn lane(self, l: Lane) {
        lane(self, l).await
    }
    async fn flush(&self) {
        Store::flush(self).await.unwrap();
    }
    async fn scan(&self, round: u64) {
        scan(self, round).await
    }
    fn flush_now(&self) -> Result<(), String> {
        self.blocking().flush().map_err(|e| e.to_string())
    }
    fn check(&self) -> Result<Snapshot, String> {
        check(self)
    }
    fn compare(before: &Snapshot, now: &Snapshot) -> Result<(), String> {
        compare(before, now)
    }
    fn check_acks(snap: &Snapshot, acks: &[String]) -> Result<(), String> {
        check_acks(snap, acks)
    }
    fn messages(snap: &Snapshot) -> usize {
        snap.progress.len()
    }
}

#[test]
fn concurrent_transitions_flushes_and_scans() {
    let snap = store_stress::concurrent::<Store>("attester store");
    assert_eq!(snap.meta.len(), LANES as usize);
}

#[test]
fn kill_and_reopen_cycles() {
    let test = format!(
        "{}::kill_and_reopen_cycles",
        module_path!().split_once("::").unwrap().1
    );
    store_stress::kill_and_reopen_cycles::<Store>("attester store", &test);
}
