//! Group commit of saves, and of flushes. sled 0.34 holds its concurrency lock shared
//! through every flush and a transaction takes it exclusively, so each transaction waits for
//! the flush in progress: with a backlog's dozens of steps saving at once and batches flushing, one save
//! took ~10 ms (measured), and the steps waited on each other's. Here a save is queued and
//! whoever holds the turn writes everything queued in one transaction, in the order it was
//! queued (a record's saves are awaited one after another, so a later one is never written
//! first). Each save stays atomic: it is inside one transaction, with the others of its group.
//! A save is not to be cancelled (nothing does): one dropped while queued is written by the
//! next group, after its caller has moved on.

use super::{due_key_of, RecordWrite, Store, StoreError};
use sled::transaction::{ConflictableTransactionError, Transactional};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Saves waiting for a commit, and the turn whose holder makes it.
#[derive(Default)]
pub(super) struct Commits {
    queued: Mutex<Vec<Save>>,
    /// Held by the blocking write itself (an owned guard moved into it): a leader whose
    /// caller gives up mid-write does not let the next group start beside its own.
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Transactions made (tests check that saves share them).
    made: AtomicU64,
    /// Flushes asked for (a ticket each), the highest ticket a finished flush covers, and
    /// the turn whose holder flushes.
    flushes_asked: AtomicU64,
    flushed_upto: AtomicU64,
    flush_turn: tokio::sync::Mutex<()>,
    /// sled flushes made (tests check that flushes share them).
    flushes_made: AtomicU64,
}

/// One save: its records' writes, the nonce counter it moves (domain key, next nonce), a
/// batch transaction's bytes (key, bytes), and where its outcome goes.
pub(super) struct Save {
    writes: Vec<RecordWrite>,
    nonce: Option<([u8; 4], u64)>,
    batch_tx: Option<(Vec<u8>, Vec<u8>)>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

impl Store {
    /// Writes `writes`, the nonce counter and a batch's bytes in one transaction with the other saves queued
    /// by then; returns once it is written (not flushed).
    pub(super) async fn commit(
        &self,
        writes: Vec<RecordWrite>,
        nonce: Option<([u8; 4], u64)>,
        batch_tx: Option<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let (done, mut outcome) = oneshot::channel();
        self.queue().push(Save {
            writes,
            nonce,
            batch_tx,
            done,
        });
        // Answered by a leader that took this save into its group, or the turn to lead.
        let turn = tokio::select! {
            answered = &mut outcome => return answered_or_not_run(answered),
            turn = self.commits.turn.clone().lock_owned() => turn,
        };
        // Empty when a leader took this save meanwhile (its answer is on the way).
        let group = std::mem::take(&mut *self.queue());
        if !group.is_empty() {
            // Answered from the blocking call: a leader whose caller gives up while it runs
            // still answers the rest of its group.
            let _ = self
                .run(move |s| {
                    let written = s.write_group(&group);
                    for save in group {
                        let _ = save.done.send(copy(&written));
                    }
                    drop(turn);
                    Ok(())
                })
                .await;
        }
        answered_or_not_run(outcome.await)
    }

    /// Makes everything written so far durable (sled's synchronous flush, off the workers).
    /// One flush at a time, each covering every flush asked for before it started: sled holds
    /// its concurrency lock through a flush, so overlapping flushes kept every transaction
    /// (a delivery's, under its account's nonce lock) waiting for one or another of them.
    pub async fn flush(&self) -> Result<(), StoreError> {
        // Asked after this caller's writes: a flush that starts later covers them.
        let ticket = self.commits.flushes_asked.fetch_add(1, Ordering::SeqCst) + 1;
        let _turn = self.commits.flush_turn.lock().await;
        if self.commits.flushed_upto.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let upto = self.commits.flushes_asked.load(Ordering::SeqCst);
        self.run(|s| {
            s.commits.flushes_made.fetch_add(1, Ordering::Relaxed);
            s.db.flush()?;
            Ok(())
        })
        .await?;
        self.commits.flushed_upto.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Save>> {
        self.commits
            .queued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn write_group(&self, group: &[Save]) -> Result<(), StoreError> {
        self.commits.made.fetch_add(1, Ordering::Relaxed);
        let trees = (
            &self.messages,
            &self.active,
            &self.nonces,
            &self.due,
            &self.batch_txs,
        );
        trees.transaction(|(m, a, n, d, b)| {
            for save in group {
                for w in &save.writes {
                    m.insert(w.key.as_slice(), w.value.as_slice())?;
                    let before = if w.terminal {
                        a.remove(w.key.as_slice())?
                    } else {
                        a.insert(w.key.as_slice(), w.active.as_slice())?
                    };
                    // Reads this transaction's own earlier writes: a record saved twice in
                    // one group moves its `due` entry twice.
                    if let Some(old) = before.and_then(|v| due_key_of(&v, &w.key)) {
                        d.remove(old)?;
                    }
                    if !w.terminal {
                        d.insert(w.due.as_slice(), &[])?;
                    }
                }
                if let Some((domain, next)) = &save.nonce {
                    n.insert(domain, &next.to_be_bytes())?;
                }
                if let Some((key, bytes)) = &save.batch_tx {
                    b.insert(key.as_slice(), bytes.as_slice())?;
                }
            }
            Ok::<_, ConflictableTransactionError<serde_json::Error>>(())
        })?;
        Ok(())
    }

    #[cfg(test)]
    pub(super) fn commits_made(&self) -> u64 {
        self.commits.made.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    pub(super) fn flushes_made(&self) -> u64 {
        self.commits.flushes_made.load(Ordering::Relaxed)
    }
}

/// No answer: the blocking call never ran (the runtime is shutting down).
fn answered_or_not_run(
    answer: Result<Result<(), StoreError>, oneshot::error::RecvError>,
) -> Result<(), StoreError> {
    answer.unwrap_or(Err(StoreError::NotRun(usd1_runtime::NotRun)))
}

/// The group's outcome for each of its saves.
fn copy(written: &Result<(), StoreError>) -> Result<(), StoreError> {
    match written {
        Ok(()) => Ok(()),
        Err(StoreError::Sled(e)) => Err(StoreError::Sled(e.clone())),
        Err(StoreError::NotRun(n)) => Err(StoreError::NotRun(*n)),
        Err(StoreError::Corrupt(e)) => Err(StoreError::Corrupt(serde::de::Error::custom(e))),
        Err(StoreError::NewerFormat {
            service,
            stored,
            supported,
        }) => Err(StoreError::NewerFormat {
            service,
            stored: *stored,
            supported: *supported,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::due_tests::{record, store};
    use usd1_core::MessageState;

    /// A backlog's steps save at once: every save is written, with its `due` entry, and they
    /// share transactions; a record saved twice in a row keeps its second save.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_saves_are_all_written_sharing_transactions() {
        let s = store();
        let records: Vec<_> = (1..=200).map(|n| record(n, 100 + n)).collect();
        let saves = records.iter().map(|r| {
            let s = s.clone();
            let mut r = r.clone();
            tokio::spawn(async move {
                r.transition(MessageState::Attesting, 1, None);
                s.save(&r, None).await?;
                r.next_attempt_at_ms = 5_000 + r.nonce;
                s.save(&r, Some(r.nonce)).await
            })
        });
        for done in futures_util::future::join_all(saves).await {
            done.unwrap().unwrap();
        }
        assert!(
            s.commits_made() < 400,
            "{} transactions for 400 saves",
            s.commits_made()
        );
        assert!(
            s.due(4_999, 500).await.unwrap().is_empty(),
            "first saves' entries moved"
        );
        let due = s.due(10_000, 500).await.unwrap();
        assert_eq!(due.len(), 200);
        assert!(due.iter().all(|r| r.state == MessageState::Attesting));
        assert_eq!(s.due.len(), 200, "one entry a record");
        let next = s.next_nonce(records[0].destination_domain).await.unwrap();
        assert!(next.is_some_and(|n| (1..=200).contains(&n)));
    }

    /// Flushes asked for at once share sled flushes (a flush that started after a caller
    /// asked covers what it wrote before).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_flushes_share_sled_flushes() {
        let s = store();
        let flushes = (1..=100u64).map(|n| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut r = record(n, 100 + n);
                r.transition(MessageState::Attesting, 1, None);
                s.save(&r, Some(n)).await?;
                s.flush().await
            })
        });
        for done in futures_util::future::join_all(flushes).await {
            done.unwrap().unwrap();
        }
        let made = s.flushes_made();
        assert!((1..100).contains(&made), "{made} flushes for 100 asked");
        assert_eq!(s.messages.len(), 100);
    }
}
