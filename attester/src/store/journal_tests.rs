//! The journal (`journal.rs`): a backfill's run is served from its commit on, by hash, by
//! source transaction and in the count, before and after it is indexed, across a stop, and
//! while it is being indexed; small runs and runs past the cap are indexed at once.

use super::journal::{JOURNAL_AT, JOURNAL_ENTRY, PENDING_MAX};
use super::{GovernorChange, SignedMessage, Store};
use std::sync::atomic::{AtomicBool, Ordering};
use usd1_core::{Domain, TxRef, B256, U256};

/// `n` signed records from `from` on; each two share a source transaction.
fn records(from: u64, n: u64) -> Vec<(SignedMessage, B256)> {
    (from..from + n)
        .map(|i| {
            let hash = B256::from(U256::from(i) + U256::from(1));
            let tx = B256::from((U256::from(i / 2) + U256::from(1)) << 8);
            let record = SignedMessage {
                message: format!("0x{}", "0b".repeat(40)),
                message_hash: format!("{hash:#x}"),
                signature: format!("0x{}", "5a".repeat(65)),
                source_domain: Domain(0),
                destination_domain: Domain(6),
                nonce: i,
                source_tx: format!("{tx:#x}"),
                source_block: i / 10,
                signed_at_ms: 1,
            };
            (record, hash)
        })
        .collect()
}

/// Commits `run` as the governor's batch does (with a window entry each).
fn commit(store: &Store, run: &[(SignedMessage, B256)]) {
    let writes: Vec<_> = run
        .iter()
        .map(|(r, h)| {
            let change = GovernorChange {
                window: Some((1_000 + r.source_block, 5)),
                ..Default::default()
            };
            (r, h, change)
        })
        .collect();
    store.blocking().commit_signatures(&writes).unwrap();
}

fn tx_of(r: &SignedMessage) -> TxRef {
    TxRef::parse(&r.source_tx).unwrap()
}

/// Every record reads back by hash and by its transaction, and counts.
fn assert_served(store: &Store, run: &[(SignedMessage, B256)]) {
    let s = store.blocking();
    for (r, h) in run {
        assert_eq!(s.get(h).unwrap().as_ref(), Some(r), "by hash");
        assert!(s.is_signed(h).unwrap());
        let mut by_tx = s.by_tx(r.source_domain, &tx_of(r)).unwrap();
        by_tx.sort_by_key(|m| m.nonce);
        let mut expected: Vec<&SignedMessage> = run
            .iter()
            .map(|(m, _)| m)
            .filter(|m| m.source_tx == r.source_tx)
            .collect();
        expected.sort_by_key(|m| m.nonce);
        assert_eq!(by_tx.iter().collect::<Vec<_>>(), expected, "by transaction");
    }
    assert_eq!(s.count(), run.len());
}

fn temporary() -> Store {
    Store::open(sled::Config::new().temporary(true).open().unwrap()).unwrap()
}

#[test]
fn a_backfills_run_is_served_from_the_journal_then_from_the_indexes() {
    let store = temporary();
    let run = records(0, 2 * JOURNAL_ENTRY as u64 + 3);
    commit(&store, &run);
    let s = store.blocking();
    assert_eq!(s.journal.len(), 3, "entries of {JOURNAL_ENTRY} records");
    assert_eq!(s.signed.len(), 0, "not indexed yet");
    assert_eq!(s.pending_count(), run.len());
    assert_eq!(
        s.window(Domain(0)).unwrap().len(),
        14,
        "the window, with the journal"
    );
    assert_served(&store, &run);

    assert_eq!(s.index_journal().unwrap(), run.len());
    assert_eq!((s.journal.len(), s.pending_count()), (0, 0));
    assert_eq!((s.signed.len(), s.by_tx.len()), (run.len(), run.len()));
    assert_served(&store, &run);
}

#[test]
fn a_small_run_is_indexed_at_once() {
    let store = temporary();
    let run = records(0, JOURNAL_AT as u64 - 1);
    commit(&store, &run);
    let s = store.blocking();
    assert_eq!((s.journal.len(), s.pending_count()), (0, 0));
    assert_eq!(s.signed.len(), run.len());
    assert_served(&store, &run);
}

#[test]
fn past_the_cap_a_run_is_indexed_at_once() {
    let store = temporary();
    let first = records(0, PENDING_MAX as u64 - 10);
    commit(&store, &first);
    let second = records(PENDING_MAX as u64, JOURNAL_AT as u64);
    commit(&store, &second);
    let s = store.blocking();
    assert_eq!(
        s.pending_count(),
        first.len(),
        "the second run would pass the cap"
    );
    assert_eq!(s.signed.len(), second.len());
    let all: Vec<_> = first.iter().chain(&second).cloned().collect();
    assert_eq!(s.count(), all.len());
    s.index_journal().unwrap();
    assert_eq!(s.signed.len(), all.len());
}

#[test]
fn a_journal_left_at_a_stop_is_indexed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let run = records(0, 300);
    {
        let store = Store::open(sled::open(dir.path()).unwrap()).unwrap();
        commit(&store, &run);
        store.blocking().flush().unwrap();
        assert_eq!(store.blocking().pending_count(), run.len());
    } // stopped before the indexer ran
    let store = Store::open(sled::open(dir.path()).unwrap()).unwrap();
    let s = store.blocking();
    assert_eq!((s.journal.len(), s.pending_count()), (0, 0));
    assert_eq!(s.signed.len(), run.len());
    assert_served(&store, &run);
    assert_eq!(s.window(Domain(0)).unwrap().len(), 30);
}

#[test]
fn readers_find_every_record_while_the_journal_is_indexed() {
    let store = temporary();
    let run = records(0, 2_000);
    commit(&store, &run);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for reader in 0..2 {
            let (store, run, done) = (&store, &run, &done);
            scope.spawn(move || {
                let mut rounds = 0;
                while !done.load(Ordering::Acquire) || rounds == 0 {
                    for (r, h) in run.iter().skip(reader).step_by(7) {
                        let s = store.blocking();
                        assert!(s.get(h).unwrap().is_some(), "{h} missed by hash");
                        let by_tx = s.by_tx(r.source_domain, &tx_of(r)).unwrap();
                        assert_eq!(by_tx.len(), 2, "{h} missed by transaction");
                    }
                    rounds += 1;
                }
            });
        }
        store.blocking().index_journal().unwrap();
        done.store(true, Ordering::Release);
    });
    assert_eq!(store.blocking().pending_count(), 0);
}

#[tokio::test]
async fn the_journal_is_indexed_only_after_a_quiet_moment() {
    let store = temporary();
    let run = records(0, 100);
    commit(&store, &run);
    assert_eq!(
        store.index_journal_if_quiet(60_000).await.unwrap(),
        0,
        "just written"
    );
    assert_eq!(store.blocking().pending_count(), run.len());
    assert_eq!(store.index_journal_if_quiet(0).await.unwrap(), run.len());
    assert_eq!(store.blocking().pending_count(), 0);
    assert_eq!(
        store.index_journal_if_quiet(0).await.unwrap(),
        0,
        "nothing left"
    );
}

/// The indexer running while runs are journaled (what a quiet moment between two runs of a
/// backfill allows): every record ends indexed, none is left pending for ever.
#[test]
fn runs_journaled_while_the_indexer_runs_all_end_indexed() {
    let store = temporary();
    let runs: Vec<Vec<(SignedMessage, B256)>> = (0..10u64)
        .map(|i| records(i * JOURNAL_AT as u64, JOURNAL_AT as u64))
        .collect();
    let done = AtomicBool::new(false);
    // The writer preempted between its commit and the records becoming pending.
    store
        .blocking()
        .pause_after_commit_us
        .store(30_000, Ordering::Relaxed);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Acquire) {
                store.blocking().index_journal().unwrap();
            }
        });
        for run in &runs {
            commit(&store, run);
        }
        done.store(true, Ordering::Release);
    });
    let s = store.blocking();
    s.index_journal().unwrap();
    let total = runs.len() * JOURNAL_AT;
    assert_eq!(s.pending_count(), 0, "records left pending for ever");
    assert_eq!((s.signed.len(), s.journal.len()), (total, 0));
    assert_eq!(s.count(), total);
}

#[test]
fn a_corrupt_journal_entry_stops_the_open_with_an_error_naming_it() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    db.open_tree("journal")
        .unwrap()
        .insert(7u64.to_be_bytes(), b"[{\"not\": \"a record\"".as_slice())
        .unwrap();
    let err = Store::open(db)
        .err()
        .expect("a corrupt journal is an error");
    assert!(err.to_string().contains("journal entry 7"), "{err}");
}
