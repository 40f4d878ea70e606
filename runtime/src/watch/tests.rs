//! The loop's order against a scripted source and intake: nothing is committed before the
//! intake stored it, and a failed intake leaves the burns to be read again.

use super::*;
use std::sync::Mutex;
use usd1_core::source::{Checkpoint, Rejected, SourceBatch};
use usd1_core::{Domain, Message, TxRef};

/// A source with burns at heights 1..=n, all final; its cursor moves only on commit.
struct Scripted {
    burns: Vec<ObservedBurn>,
    cursor: Mutex<u64>,
    commits: Mutex<u32>,
    /// Heights one poll reads at most (a long history takes several polls).
    per_poll: u64,
    /// Heads to push: each `()` sent here is one.
    heads: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<()>>>,
}

fn burn(nonce: u64) -> ObservedBurn {
    let message = Message {
        version: 0,
        source_domain: Domain(0),
        destination_domain: Domain(6),
        nonce,
        sender: B256::ZERO,
        recipient: B256::ZERO,
        destination_caller: B256::ZERO,
        body: vec![],
    };
    ObservedBurn::new(
        message,
        TxRef::from_hash(B256::with_last_byte(nonce as u8)),
        nonce,
        0,
    )
}

#[async_trait]
impl Source for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn domain(&self) -> Domain {
        Domain(0)
    }
    fn rejection_reasons(&self) -> &'static [&'static str] {
        &["malformed"]
    }
    async fn poll(&self) -> Result<SourceBatch, SourceError> {
        let from = *self.cursor.lock().unwrap();
        let last = self.burns.len() as u64;
        let to = last.min(from.saturating_add(self.per_poll - 1));
        let burns: Vec<_> = self
            .burns
            .iter()
            .filter(|b| b.height >= from && b.height <= to)
            .cloned()
            .collect();
        Ok(SourceBatch {
            burns,
            unconfirmed: vec![],
            orphaned: vec![],
            rejected: vec![Rejected {
                tx: "0x01".into(),
                reason: "malformed",
                detail: String::new(),
            }],
            head: last,
            final_height: last,
            next: to + 1,
            checkpoint: Checkpoint::new(to + 1),
        })
    }
    async fn commit(&self, batch: &SourceBatch) -> Result<(), SourceError> {
        let next = batch
            .checkpoint
            .get::<u64>()
            .ok_or(SourceError::ForeignBatch("x".into()))?;
        *self.cursor.lock().unwrap() = *next;
        *self.commits.lock().unwrap() += 1;
        Ok(())
    }
    async fn follow_heads(&self, on_head: usd1_core::source::OnHead) {
        let heads = self.heads.lock().unwrap().take();
        let Some(mut heads) = heads else {
            return std::future::pending().await;
        };
        while heads.recv().await.is_some() {
            on_head();
        }
    }
}

/// Stores nonces; fails while `fail` is set.
#[derive(Default)]
struct Stored {
    nonces: Mutex<Vec<u64>>,
    fail: Mutex<bool>,
}

#[async_trait]
impl Intake for Stored {
    async fn take(
        &self,
        _: &dyn Source,
        _: Vec<B256>,
        burns: Vec<ObservedBurn>,
    ) -> Result<usize, IntakeError> {
        if *self.fail.lock().unwrap() {
            return Err("disk full".into());
        }
        let mut stored = self.nonces.lock().unwrap();
        stored.extend(burns.iter().map(|b| b.message.nonce));
        Ok(burns.len())
    }
    fn report(&self, _: &dyn Source, _: Result<Progress, WatchError>) {}
}

fn scripted(n: u64) -> Scripted {
    Scripted {
        burns: (1..=n).map(burn).collect(),
        cursor: Mutex::new(1),
        commits: Mutex::new(0),
        per_poll: u64::MAX,
        heads: Mutex::new(None),
    }
}

#[tokio::test]
async fn a_failed_intake_commits_nothing_and_the_burns_are_read_again() {
    let source = scripted(3);
    let intake = Stored::default();
    *intake.fail.lock().unwrap() = true;
    let err = step(&source, &intake).await.unwrap_err();
    assert!(matches!(err, WatchError::Intake(_)), "{err}");
    assert_eq!(
        *source.commits.lock().unwrap(),
        0,
        "cursor moved past unstored burns"
    );

    *intake.fail.lock().unwrap() = false;
    let progress = step(&source, &intake).await.unwrap();
    assert_eq!(*intake.nonces.lock().unwrap(), vec![1, 2, 3]);
    assert_eq!(
        (progress.new, progress.next, progress.caught_up),
        (3, 4, true)
    );
    assert_eq!(*source.commits.lock().unwrap(), 1);
}

#[tokio::test]
async fn committed_burns_are_not_taken_twice() {
    let source = scripted(2);
    let intake = Stored::default();
    step(&source, &intake).await.unwrap();
    let again = step(&source, &intake).await.unwrap();
    assert_eq!(again.new, 0);
    assert_eq!(*intake.nonces.lock().unwrap(), vec![1, 2]);
}

#[tokio::test]
async fn rejections_are_counted_by_chain_and_reason() {
    let source = scripted(0);
    let before = REJECTED.with_label_values(&["scripted", "malformed"]).get();
    step(&source, &Stored::default()).await.unwrap();
    let after = REJECTED.with_label_values(&["scripted", "malformed"]).get();
    assert_eq!(after - before, 1);
}

/// Sends the (tokio) time of every poll's report.
struct Timed(tokio::sync::mpsc::UnboundedSender<tokio::time::Instant>);

#[async_trait]
impl Intake for Timed {
    async fn take(
        &self,
        _: &dyn Source,
        _: Vec<B256>,
        b: Vec<ObservedBurn>,
    ) -> Result<usize, IntakeError> {
        Ok(b.len())
    }
    fn report(&self, _: &dyn Source, _: Result<Progress, WatchError>) {
        let _ = self.0.send(tokio::time::Instant::now());
    }
}

const HOUR: Duration = Duration::from_secs(3600);

type Polls = tokio::sync::mpsc::UnboundedReceiver<tokio::time::Instant>;

/// A loop over a source with nothing to read, polling hourly: its wake, its polls' times,
/// and its first poll's (an interval's first tick is at once).
async fn hourly() -> (Wake, Polls, tokio::time::Instant) {
    let (tx, mut polls) = tokio::sync::mpsc::unbounded_channel();
    let wake = Wake::default();
    let source = Arc::new(scripted(0));
    tokio::spawn(run(source, HOUR, Arc::new(Timed(tx)), wake.clone()));
    let first = polls.recv().await.unwrap();
    (wake, polls, first)
}

#[tokio::test(start_paused = true)]
async fn a_woken_loop_polls_at_once_not_at_its_interval() {
    let (wake, mut polls, first) = hourly().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        polls.try_recv().is_err(),
        "polled again before its interval or a wake"
    );
    wake.now();
    let second = polls.recv().await.unwrap();
    assert_eq!(
        second - first,
        Duration::from_secs(1),
        "woken, it polls at once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_pushed_head_polls_at_once_and_the_follower_stops_with_the_loop() {
    let (push, heads) = tokio::sync::mpsc::unbounded_channel();
    let (tx, mut polls) = tokio::sync::mpsc::unbounded_channel();
    let source = Scripted {
        heads: Mutex::new(Some(heads)),
        ..scripted(0)
    };
    let watch = tokio::spawn(run(
        Arc::new(source),
        HOUR,
        Arc::new(Timed(tx)),
        Wake::default(),
    ));
    let first = polls.recv().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(polls.try_recv().is_err(), "polled before a head came");
    push.send(()).unwrap();
    let second = polls.recv().await.unwrap();
    assert_eq!(
        second - first,
        Duration::from_secs(1),
        "a head, a poll at once"
    );
    watch.abort();
    let _ = watch.await;
    // The follower went with the loop: nobody takes heads any more.
    tokio::task::yield_now().await;
    assert!(push.is_closed(), "the head follower outlived its loop");
}

#[tokio::test(start_paused = true)]
async fn a_flood_of_wakes_polls_at_most_once_per_gap() {
    let (wake, mut polls, first) = hourly().await;
    // 1,000 wakes over one second, e.g. a peer asking for the same pending burn in a loop.
    for _ in 0..1000 {
        wake.now();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut times = vec![first];
    while let Ok(t) = polls.try_recv() {
        times.push(t);
    }
    let most = 1 + (Duration::from_secs(1).as_millis() / MIN_WAKE_GAP.as_millis()) as usize + 1;
    assert!(
        times.len() > 10 && times.len() <= most,
        "{} polls",
        times.len()
    );
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= MIN_WAKE_GAP,
            "two polls {:?} apart",
            pair[1] - pair[0]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_loop_behind_the_chain_polls_again_at_once_until_caught_up() {
    let (tx, mut polls) = tokio::sync::mpsc::unbounded_channel();
    let source = Scripted {
        per_poll: 2,
        ..scripted(7)
    };
    tokio::spawn(run(
        Arc::new(source),
        HOUR,
        Arc::new(Timed(tx)),
        Wake::default(),
    ));
    let first = polls.recv().await.unwrap();
    for _ in 0..3 {
        // heights 1-2 first, then 3-4, 5-6, 7: caught up after the fourth
        let next = polls.recv().await.unwrap();
        assert!(
            next - first < Duration::from_secs(1),
            "waited {:?}",
            next - first
        );
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(
        polls.try_recv().is_err(),
        "caught up, it waits for its interval"
    );
}
