//! The `due` index: what a tick reads is what is due, in time order, and every write keeps
//! the index in step with the records (moved, removed when terminal, built for old stores).

use super::*;
use usd1_core::MessageState;

pub(super) fn record(nonce: u64, due_at: u64) -> MessageRecord {
    let m = super::stress_tests::message(0, 0, nonce);
    let tx = format!("{:#x}", B256::with_last_byte(nonce as u8));
    let mut r = crate::feed::new_record(&m, &m.encode(), &tx, 1, 1);
    r.next_attempt_at_ms = due_at;
    r
}

fn nonces(records: &[MessageRecord]) -> Vec<u64> {
    records.iter().map(|r| r.nonce).collect()
}

pub(super) fn store() -> Store {
    Store::open(sled::Config::new().temporary(true).open().unwrap()).unwrap()
}

#[tokio::test]
async fn only_what_is_due_is_read_longest_waiting_first() {
    let s = store();
    for (nonce, due) in [(1, 300), (2, 100), (3, 5_000), (4, 200)] {
        s.observe(&record(nonce, due)).await.unwrap();
    }
    assert_eq!(nonces(&s.due(1_000, 10).await.unwrap()), vec![2, 4, 1]);
    assert_eq!(nonces(&s.due(1_000, 2).await.unwrap()), vec![2, 4], "limit");
    assert!(s.due(50, 10).await.unwrap().is_empty(), "nothing due yet");
}

#[tokio::test]
async fn a_poll_observed_at_once_is_queued_and_indexed_like_one_at_a_time() {
    let s = store();
    let known = record(3, 100);
    s.observe(&known).await.unwrap();
    let mut twice = record(1, 200);
    let batch = vec![record(2, 300), twice.clone(), known.clone(), {
        twice.observed_at_ms = 99;
        twice
    }];
    let new = s.observe_all(&batch).await.unwrap();
    assert_eq!(
        new,
        vec![true, true, false, false],
        "known and repeated ones are not new"
    );
    assert_eq!(nonces(&s.due(1_000, 10).await.unwrap()), vec![3, 1, 2]);
    for nonce in [1, 2, 3] {
        let found = s.by_nonce(Domain(0), nonce).await.unwrap();
        assert_eq!(nonces(&found), vec![nonce], "indexed by (source, nonce)");
    }
    assert_eq!(s.by_time.len(), 3, "the repeat indexed no second time");
    assert_eq!(s.observe_all(&[]).await.unwrap(), Vec::<bool>::new());
}

#[tokio::test]
async fn a_save_moves_the_record_in_the_index_and_a_terminal_one_leaves_it() {
    let s = store();
    let (mut a, mut b) = (record(1, 100), record(2, 100));
    s.observe(&a).await.unwrap();
    s.observe(&b).await.unwrap();
    a.next_attempt_at_ms = 9_000;
    s.save(&a, None).await.unwrap();
    assert_eq!(nonces(&s.due(1_000, 10).await.unwrap()), vec![2]);
    assert_eq!(nonces(&s.due(9_000, 10).await.unwrap()), vec![2, 1]);
    b.transition(
        MessageState::Confirmed {
            tx_hash: "0x01".into(),
        },
        100,
        None,
    );
    s.save(&b, None).await.unwrap();
    assert_eq!(nonces(&s.due(9_000, 10).await.unwrap()), vec![1]);
    assert_eq!(
        s.due.len(),
        1,
        "one entry per active record, none left behind"
    );
    let depth = s.queue_depth().await.unwrap();
    assert_eq!(depth.get("observed"), Some(&1));
    assert_eq!(depth.values().sum::<usize>(), 1);
}

#[tokio::test]
async fn a_store_written_before_the_index_is_indexed_at_open() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let s = Store::open(db.clone()).unwrap();
    s.observe(&record(1, 100)).await.unwrap();
    s.observe(&record(2, 7_000)).await.unwrap();
    // As an older relayer left it: no `due` tree, `active` values empty.
    s.due.clear().unwrap();
    for key in s.active.iter().keys() {
        s.active.insert(key.unwrap(), &[]).unwrap();
    }
    db.remove(DUE_INDEXED_KEY).unwrap();
    let reopened = Store::open(db).unwrap();
    assert_eq!(nonces(&reopened.due(1_000, 10).await.unwrap()), vec![1]);
    assert_eq!(nonces(&reopened.due(7_000, 10).await.unwrap()), vec![1, 2]);
    assert_eq!(
        reopened.queue_depth().await.unwrap().get("observed"),
        Some(&2)
    );
}

/// The figures behind docs/benchmarks.md ("Relayer queue at 100k"): not a timed test, a
/// measurement run by `deploy/bench-scale.sh` (release build). Fills a store with
/// `USD1_QUEUE_RECORDS` (default 100,000) active records, none due, and times side by side
/// what a tick read before the `due` index (every active record, decoded) and what it
/// reads now, plus the queue-depth count, with the process's resident memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: deploy/bench-scale.sh"]
async fn queue_scale_figures() {
    use std::time::Instant;
    let n: u64 = std::env::var("USD1_QUEUE_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    // Opened as the service opens it (its page-cache bound included).
    let s = Store::open(usd1_runtime::service_error::open_store(dir.path()).unwrap()).unwrap();
    let far = u64::MAX / 2;
    let started = Instant::now();
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in (w..n).step_by(4) {
                    s.observe(&record(1 + i, far)).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    s.flush().await.unwrap();
    println!(
        "filled {n} records in {:.1} s; RSS {} MB",
        started.elapsed().as_secs_f64(),
        rss_mb()
    );
    // The median of 5 runs: (ms, what it returned).
    macro_rules! median {
        ($e:expr) => {{
            let mut runs = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                let got = $e;
                runs.push((t.elapsed().as_secs_f64() * 1000.0, got));
            }
            runs.sort_by(|a, b| a.0.total_cmp(&b.0));
            runs[2]
        }};
    }
    // The tick as it is now first, so the resident memory it leaves is its own.
    let (indexed, due) = median!(s.due(1_000, 256).await.unwrap().len());
    let (depth, _) = median!(s.queue_depth().await.unwrap().values().sum::<usize>());
    let rss_now = rss_mb();
    let (full, all) = median!(s.active().await.unwrap().len());
    println!("medians of 5, {n} active records, none due:");
    println!("  read the due ones (the tick now):            {indexed:.3} ms ({due} records)");
    println!("  count the queue by state (1 s gauge):       {depth:.1} ms");
    println!("  RSS after the ticks and counts: {rss_now} MB");
    println!("  read every active record (the tick before): {full:.1} ms ({all} records)");
    println!("  ratio before/now: {:.0}x", full / indexed.max(0.001));
    println!("  RSS after reading every record: {} MB", rss_mb());
    usd1_runtime::bench_summary::row(
        &format!("a tick with nothing due, {n} queued"),
        "<= 10 ms",
        &format!("{indexed:.3} ms (reading every record, as before the index: {full:.1} ms)"),
        Some(indexed <= 10.0),
    );
    // 0: /proc not readable, nothing measured.
    usd1_runtime::bench_summary::row(
        &format!("relayer RSS, {n} queued"),
        "<= 200 MB",
        &format!("{rss_now} MB"),
        Some(rss_now > 0 && rss_now <= 200),
    );
}

fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// The attestation route reads only the record's attestation: none yet, then the one
/// stored, and nothing for a message the relayer does not know.
#[tokio::test]
async fn the_attestation_alone_is_read_as_stored() {
    let s = store();
    let mut r = record(1, 100);
    let hash: B256 = r.message_hash.parse().unwrap();
    assert_eq!(s.attestation(&hash).await.unwrap(), None, "unknown");
    s.observe(&r).await.unwrap();
    assert_eq!(
        s.attestation(&hash).await.unwrap(),
        Some(None),
        "not attested yet"
    );
    r.attestation = Some("0xabcd".into());
    s.save(&r, None).await.unwrap();
    assert_eq!(
        s.attestation(&hash).await.unwrap(),
        Some(Some("0xabcd".into()))
    );
    assert_eq!(
        s.get(&hash).await.unwrap().unwrap().attestation,
        r.attestation
    );
}

/// A batch's members are stored `Submitted` with the nonce counter and the batch's bytes in
/// one save; after a flush and a reopen of the database, the members hold no bytes and the
/// batch's are there once.
#[tokio::test]
async fn a_batch_is_stored_with_its_bytes_once_and_read_back_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let tx = usd1_core::state::PendingTx {
        tx_hash: format!("{:#x}", B256::with_last_byte(0xba)),
        raw: format!("0x02{}", "ab".repeat(500)),
        sequence: Some(7),
        sent_at_ms: 1,
        valid_until: None,
    };
    let members: Vec<MessageRecord> = (1..=3)
        .map(|n| {
            let mut r = record(n, 100);
            r.pending_tx = Some(tx.without_raw());
            r.batch_txs.push(tx.tx_hash.clone());
            r.transition(
                MessageState::Submitted {
                    tx_hash: tx.tx_hash.clone(),
                },
                1,
                None,
            );
            r
        })
        .collect();
    {
        let s = Store::open(sled::open(dir.path()).unwrap()).unwrap();
        for r in &members {
            s.observe(r).await.unwrap();
        }
        s.save_batch(&members, Some(8), &tx).await.unwrap();
        s.flush().await.unwrap();
    }
    let s = Store::open(sled::open(dir.path()).unwrap()).unwrap();
    assert_eq!(
        s.batch_tx_bytes(&tx.tx_hash).await.unwrap(),
        Some(tx.raw.clone())
    );
    assert_eq!(
        s.next_nonce(members[0].destination_domain).await.unwrap(),
        Some(8)
    );
    for r in &members {
        let stored = s
            .get(&r.message_hash.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.pending_tx, Some(tx.without_raw()));
        assert!(matches!(stored.state, MessageState::Submitted { .. }));
    }
    assert_eq!(s.batch_txs.len(), 1);
}
