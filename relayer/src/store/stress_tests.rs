//! Stress tests of the relayer's store (docs/reliability.md, "Store stress"): many lanes
//! driving messages through their transitions (each submission moves its destination's
//! nonce counter in the same transaction), flushes and scans from many tasks at once on a
//! multi-thread runtime, under a watchdog; and kill-and-reopen cycles, the writer being this
//! test binary started again and SIGKILLed at a random moment.
//!
//! `USD1_STORE_SOAK_SECS=600 cargo nextest run -p usd1-relayer stress_tests` runs each ten
//! minutes; unset, a few seconds (CI). The last test reproduces sled 0.34's `flush_async`
//! deadlock (ignored: it leaves a deadlocked pool behind; run with `--run-ignored only`).

use super::{hash_key, index_keys, Store};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use usd1_core::state::PendingTx;
use usd1_core::{BurnBody, Domain, Message, MessageRecord, MessageState, B256, U256};
use usd1_runtime::store_stress::{self, runtime, Lane, Stressed, LANES};

/// Lane `t` delivers to destination domain `FIRST_DESTINATION + t` (its own nonce counter).
const FIRST_DESTINATION: u32 = 100;

fn now_ms() -> u64 {
    usd1_runtime::now_ms()
}

/// A burn of lane `lane`'s `i`th message in generation `generation` (one per writer
/// process), to the lane's own destination.
pub(super) fn message(generation: u64, lane: u64, i: u64) -> Message {
    let word = |b: u64| B256::left_padding_from(&b.to_be_bytes());
    let body = BurnBody {
        version: 0,
        burn_token: B256::repeat_byte(1),
        mint_recipient: word(lane + 1),
        amount: U256::from(1_000 + i),
        message_sender: word(1_000 + i % 7),
    };
    Message {
        version: 0,
        source_domain: Domain(0),
        destination_domain: Domain(FIRST_DESTINATION + lane as u32),
        nonce: generation.wrapping_shl(24) | (lane << 20) | i,
        sender: B256::repeat_byte(2),
        recipient: B256::repeat_byte(3),
        destination_caller: B256::ZERO,
        body: body.encode(),
    }
}

/// One lane: observe → attesting → attested → submitted (nonce counter + 1, flushed) →
/// confirmed (flushed), again and again. With `ack`, tells the parent what each flush made
/// durable.
/// One lane's messages through their transitions, each submission moving the lane's nonce
/// counter in the same transaction.
async fn lane(store: Store, l: Lane) {
    let Lane {
        generation,
        lane,
        stop,
        figures,
        progress,
        ack,
    } = l;
    let destination = Domain(FIRST_DESTINATION + lane as u32);
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let m = message(generation, lane, i);
        let tx =
            B256::from((U256::from(generation) << 128) | (U256::from(lane) << 64) | U256::from(i));
        let mut r =
            crate::feed::new_record(&m, &m.encode(), &format!("{tx:#x}"), i, now_ms() / 1000);
        r.observed_at_ms = now_ms();
        assert!(store.observe(&r).await.unwrap(), "new message");
        r.transition(MessageState::Attesting, now_ms(), None);
        store.save(&r, None).await.unwrap();
        r.attestation = Some(format!("0x{}", "ab".repeat(65)));
        r.transition(MessageState::Attested, now_ms(), None);
        store.save(&r, None).await.unwrap();
        let nonce = store.next_nonce(destination).await.unwrap().unwrap_or(0);
        let sent = format!(
            "{:#x}",
            B256::from((U256::from(destination.0) << 64) | U256::from(nonce))
        );
        r.pending_tx = Some(PendingTx {
            tx_hash: sent.clone(),
            raw: "0x00".into(),
            sequence: Some(nonce),
            sent_at_ms: now_ms(),
            valid_until: None,
        });
        r.sent_txs.push(sent.clone());
        r.transition(
            MessageState::Submitted {
                tx_hash: sent.clone(),
            },
            now_ms(),
            None,
        );
        store.save(&r, Some(nonce + 1)).await.unwrap();
        store.flush().await.unwrap();
        if ack {
            store_stress::ack(format!(
                "s {} {} {}",
                r.message_hash,
                destination.0,
                nonce + 1
            ));
        }
        r.transition(MessageState::Confirmed { tx_hash: sent }, now_ms(), None);
        store.save(&r, None).await.unwrap();
        store.flush().await.unwrap();
        if ack {
            store_stress::ack(format!("c {}", r.message_hash));
        }
        figures.transitions.fetch_add(5, Ordering::Relaxed);
        figures.flushes.fetch_add(2, Ordering::Relaxed);
        progress.tick();
    }
}

/// What the API and the explorer read while the lanes write.
async fn scan(store: &Store, n: u64) {
    let active = store.active().await.unwrap();
    let page = store.scan(None, 50, |_| true).await.unwrap();
    let recent = store
        .recent(None, 50, |r| !r.state.is_terminal())
        .await
        .unwrap();
    if let Some(r) = page.first().or(active.first()) {
        let hash: B256 = r.message_hash.parse().unwrap();
        assert!(store.get(&hash).await.unwrap().is_some());
        store.by_nonce(r.source_domain, r.nonce).await.unwrap();
    }
    let word = B256::left_padding_from(&(1_000 + n % 7).to_be_bytes());
    store.by_address(&word, 20).await.unwrap();
    std::hint::black_box(recent);
}

/// What a reopened database holds, for comparing with what was seen or acknowledged before.
#[derive(Default)]
pub struct Snapshot {
    /// Destination → next account nonce.
    counters: BTreeMap<u32, u64>,
    /// Message hash → how far it got (0 observed … 4 confirmed).
    progress: HashMap<String, u8>,
}

fn rank(state: &MessageState) -> u8 {
    match state {
        MessageState::Observed => 0,
        MessageState::Attesting => 1,
        MessageState::Attested => 2,
        MessageState::Submitted { .. } => 3,
        _ => 4,
    }
}

/// Every record decodes; the active set, the explorer's indexes and the nonce counters agree
/// with the records (no half-written transition); no two submissions share a destination's
/// account nonce (a counter that went backwards would hand one out again).
fn check(store: &Store) -> Result<Snapshot, String> {
    let mut snap = Snapshot::default();
    for entry in store.nonces.iter() {
        let (k, v) = entry.map_err(|e| e.to_string())?;
        let domain = u32::from_be_bytes(k.as_ref().try_into().map_err(|_| "nonce key")?);
        let next = u64::from_be_bytes(v.as_ref().try_into().map_err(|_| "nonce value")?);
        snap.counters.insert(domain, next);
    }
    let mut hashes = HashSet::new();
    let mut used: HashSet<(u32, u64)> = HashSet::new();
    for entry in store.messages.iter() {
        let (k, v) = entry.map_err(|e| e.to_string())?;
        let r: MessageRecord = serde_json::from_slice(&v)
            .map_err(|e| format!("a record does not decode ({e}): {v:?}"))?;
        let h = &r.message_hash;
        if k.as_ref() != hash_key(h).as_slice() {
            return Err(format!("{h} is stored under another key"));
        }
        let active = store.active.contains_key(&k).map_err(|e| e.to_string())?;
        if active == r.state.is_terminal() {
            return Err(format!("{h}: state {} but active={active}", r.state.name()));
        }
        let keys = index_keys(&r, &k);
        let mut indexed = vec![
            ("by_nonce", &store.by_nonce, keys.nonce),
            ("by_time", &store.by_time, keys.time),
        ];
        if let Some(tx) = keys.tx {
            indexed.push(("by_tx", &store.by_tx, tx));
        }
        for a in keys.addresses {
            indexed.push(("by_addr", &store.by_addr, a));
        }
        for (name, tree, key) in indexed {
            if !tree.contains_key(&key).map_err(|e| e.to_string())? {
                return Err(format!("{h} is missing from {name}"));
            }
        }
        if let Some(nonce) = r.pending_tx.as_ref().and_then(|p| p.sequence) {
            let d = r.destination_domain.0;
            let counter = snap.counters.get(&d).copied().unwrap_or(0);
            if counter <= nonce {
                return Err(format!(
                    "{h} was submitted with nonce {nonce} of domain {d}, whose counter is {counter}"
                ));
            }
            if !used.insert((d, nonce)) {
                return Err(format!("nonce {nonce} of domain {d} used twice"));
            }
        }
        hashes.insert(k.to_vec());
        snap.progress.insert(h.clone(), rank(&r.state));
    }
    for (name, tree) in [
        ("active", &store.active),
        ("by_tx", &store.by_tx),
        ("by_nonce", &store.by_nonce),
        ("by_addr", &store.by_addr),
        ("by_time", &store.by_time),
    ] {
        for entry in tree.iter() {
            let (k, _) = entry.map_err(|e| e.to_string())?;
            if k.len() < 32 || !hashes.contains(&k[k.len() - 32..]) {
                return Err(format!("{name} has an entry for no record: {k:?}"));
            }
        }
    }
    Ok(snap)
}

/// Nothing seen before went backwards: counters, and how far each message got.
fn compare(before: &Snapshot, now: &Snapshot) -> Result<(), String> {
    for (d, was) in &before.counters {
        let is = now.counters.get(d).copied().unwrap_or(0);
        if is < *was {
            return Err(format!(
                "domain {d}'s nonce counter went back from {was} to {is}"
            ));
        }
    }
    for (h, was) in &before.progress {
        match now.progress.get(h) {
            None => return Err(format!("{h} (seen before) is gone")),
            Some(is) if is < was => return Err(format!("{h} went back from step {was} to {is}")),
            Some(_) => {}
        }
    }
    Ok(())
}

/// What the child acknowledged as flushed is there.
fn check_acks(snap: &Snapshot, acks: &[String]) -> Result<(), String> {
    for line in acks {
        let parts: Vec<&str> = line.split(' ').collect();
        let (hash, at_least) = match parts.as_slice() {
            ["s", hash, domain, next] => {
                let d: u32 = domain.parse().map_err(|_| format!("ack {line:?}"))?;
                let next: u64 = next.parse().map_err(|_| format!("ack {line:?}"))?;
                let is = snap.counters.get(&d).copied().unwrap_or(0);
                if is < next {
                    return Err(format!(
                        "acknowledged counter {next} of domain {d} is {is} after the crash"
                    ));
                }
                (*hash, 3)
            }
            ["c", hash] => (*hash, 4),
            _ => return Err(format!("unexpected ack {line:?}")),
        };
        match snap.progress.get(hash) {
            Some(step) if *step >= at_least => {}
            other => {
                return Err(format!(
                    "{hash} was acknowledged at step {at_least} but is at {other:?} after the crash"
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
        Store::open(sled::open(dir).unwrap()).unwrap()
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
        self.db().flush().map(|_| ()).map_err(|e| e.to_string())
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
    let snap = store_stress::concurrent::<Store>("relayer store");
    assert_eq!(snap.counters.len(), LANES as usize);
}

#[test]
fn kill_and_reopen_cycles() {
    let test = format!(
        "{}::kill_and_reopen_cycles",
        module_path!().split_once("::").unwrap().1
    );
    store_stress::kill_and_reopen_cycles::<Store>("relayer store", &test);
}

/// The root cause of the hang the process-wide lock papered over (docs/decisions.md,
/// "Storage"): `flush_async` runs the flush on sled's IO pool (7 threads, which does not grow
/// while they are busy), and the flush waits for the log write, a job queued on that same
/// pool. Eight flushes at once take every thread and wait for a job none is left to run.
/// Passes when sled hangs — if it fails, sled stopped deadlocking here.
#[test]
#[allow(clippy::disallowed_methods)] // the call under test
#[ignore = "reproduces sled 0.34's flush_async deadlock: leaves a hung pool behind"]
fn sled_0_34_flush_async_deadlocks_its_io_pool() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let rt = runtime();
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..8u64)
        .map(|t| {
            let (db, done) = (db.clone(), done.clone());
            rt.spawn(async move {
                for i in 0u64.. {
                    db.insert((t << 32 | i).to_be_bytes(), &[1]).unwrap();
                    db.flush_async().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Hung: no flush completes for 5 s (each takes milliseconds).
    let (mut last, mut still) = (0, 0);
    for _ in 0..60 {
        std::thread::sleep(Duration::from_secs(1));
        let now = done.load(Ordering::Relaxed);
        still = if now == last { still + 1 } else { 0 };
        last = now;
        if still == 5 {
            eprintln!("sled hung after {now} flush_async calls from 8 tasks");
            for t in tasks {
                t.abort();
            }
            rt.shutdown_background();
            // Dropping the last handle flushes, which would wait on the hung pool forever.
            std::mem::forget((db, dir));
            return;
        }
    }
    panic!("8 concurrent flush_async ran 60 s without hanging: sled no longer deadlocks here");
}
