//! What the relayer's and the attester's store stress tests share (feature `test-util`,
//! enabled by their dev-dependencies only): how long a run lasts, a watchdog that turns a hang
//! into a failure with a clear message, and kill-and-reopen cycles — the test binary started
//! again as a writer child, SIGKILLed at a random moment, its database then reopened and
//! checked by the parent.
//!
//! CI runs each test briefly; `USD1_STORE_SOAK_SECS=600` runs each for ten minutes.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Seconds each stress test runs (the soak profile); unset, the brief CI run.
pub const SOAK_ENV: &str = "USD1_STORE_SOAK_SECS";
/// Set in a test binary started by [`kill_and_reopen`]: the database directory to write to.
pub const CHILD_ENV: &str = "USD1_STORE_STRESS_CHILD";
/// Seeds the kill moments (printed at the start of every run, to replay one).
pub const SEED_ENV: &str = "USD1_STORE_STRESS_SEED";
/// A child stops by itself after this long, should its parent have died without killing it.
const CHILD_LIFETIME: Duration = Duration::from_secs(120);

/// How long a stress test runs: `USD1_STORE_SOAK_SECS` when set, else `ci`.
pub fn run_for(ci: Duration) -> Duration {
    std::env::var(SOAK_ENV)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(ci)
}

/// Fails the whole test process when no operation completes for `stall`: a deadlocked store
/// would otherwise hang CI until its global timeout, with nothing said about why.
pub struct Watchdog {
    counter: Counter,
    done: Arc<AtomicBool>,
}

/// Completed operations, counted by the tasks a [`Watchdog`] watches.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn tick(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Watchdog {
    pub fn start(test: &str, stall: Duration) -> Self {
        let counter = Counter::default();
        let done = Arc::new(AtomicBool::new(false));
        let (c, d, test) = (counter.clone(), done.clone(), test.to_string());
        let poll = (stall / 20).clamp(Duration::from_millis(10), Duration::from_secs(1));
        std::thread::spawn(move || {
            let (mut seen, mut since) = (c.get(), Instant::now());
            while !d.load(Ordering::Relaxed) {
                std::thread::sleep(poll);
                let now = c.get();
                if now != seen {
                    (seen, since) = (now, Instant::now());
                } else if since.elapsed() >= stall {
                    eprintln!(
                        "{test}: HANG: no store operation completed in {stall:?} ({now} before \
                         that); the store is stuck (a sled deadlock?). Failing instead of hanging."
                    );
                    std::process::exit(101);
                }
            }
        });
        Self { counter, done }
    }

    pub fn counter(&self) -> Counter {
        self.counter.clone()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// In a test binary started by [`kill_and_reopen`]: the database directory to write to.
pub fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD_ENV).map(PathBuf::from)
}

/// In the child: tells the parent that `what` is durable. Call it only after the flush that
/// made it so: the parent checks every acknowledged line against the reopened database.
pub fn ack(what: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    // A closed pipe means the parent is gone; the child stops at its lifetime anyway.
    let _ = writeln!(out, "ack {what}").and_then(|_| out.flush());
}

/// In the child: whether it has outlived [`CHILD_LIFETIME`] (its parent is gone).
pub fn child_expired(started: Instant) -> bool {
    started.elapsed() > CHILD_LIFETIME
}

/// What a kill-and-reopen run did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cycles {
    pub cycles: u64,
    pub acks: u64,
    /// Cycles in which the child acknowledged nothing (killed while starting or recovering).
    pub silent: u64,
}

/// Kills its child when dropped (a failed check must not leave a writer running).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// For `run_for`: starts this test binary again running `test` (its path in the crate, e.g.
/// `store::stress_tests::kill_and_reopen_cycles`) as a writer child on `dir`, SIGKILLs it at
/// a random moment within `kill_within` of its start, and hands the lines it acknowledged
/// (see [`ack`]) to `check`, which reopens the database and checks it. Panics with the
/// cycle and the seed when `check` fails. `counter` ticks once per cycle (for a watchdog).
pub fn kill_and_reopen(
    test: &str,
    dir: &Path,
    run_for: Duration,
    kill_within: (Duration, Duration),
    counter: &Counter,
    mut check: impl FnMut(u64, Vec<String>) -> Result<(), String>,
) -> Cycles {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{test}: kill-and-reopen for {run_for:?}, {SEED_ENV}={seed}");
    let mut rng = XorShift(seed | 1);
    let exe = std::env::current_exe().expect("the test binary's path");
    let (low, high) = kill_within;
    let span = high.saturating_sub(low).as_millis().max(1) as u64;
    let started = Instant::now();
    let mut done = Cycles::default();
    while started.elapsed() < run_for {
        let mut child = Running(
            Command::new(&exe)
                .args([test, "--exact", "--nocapture", "--test-threads", "1"])
                .env(CHILD_ENV, dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the writer child"),
        );
        let stdout = child.0.stdout.take().expect("the child's stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("ack ").map(str::to_string))
                .collect::<Vec<_>>()
        });
        let wait = low + Duration::from_millis(rng.next() % span);
        std::thread::sleep(wait);
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("{test}: cycle {}: the writer child exited by itself ({status}) before it was killed", done.cycles);
        }
        child.0.kill().expect("SIGKILL the writer child");
        child.0.wait().expect("reap the writer child");
        let acks = reader.join().expect("the child's output");
        done.cycles += 1;
        done.acks += acks.len() as u64;
        if acks.is_empty() {
            done.silent += 1;
        }
        if let Err(e) = check(done.cycles, acks) {
            panic!(
                "{test}: cycle {} (killed {wait:?} after its start): {e}\nreplay with {SEED_ENV}={seed}",
                done.cycles
            );
        }
        counter.tick();
    }
    done
}

/// Enough randomness for kill moments, without a dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Writer tasks, one per lane.
pub const LANES: u64 = 16;
/// Tasks that only flush, as the watch loops and the shutdown do.
pub const FLUSHERS: usize = 4;
/// Tasks that only read, as the API and the metrics do.
pub const SCANNERS: usize = 4;
/// The runtime's worker threads.
pub const WORKERS: usize = 4;
/// No operation completing for this long is a hang.
pub const STALL: Duration = Duration::from_secs(30);
/// Kill-and-reopen starts over from an empty database every this many cycles, so the
/// whole-database check stays quick in a ten-minute soak.
pub const CYCLES_PER_DB: u64 = 40;

/// What a run did, counted by the tasks.
#[derive(Default)]
pub struct Figures {
    pub transitions: AtomicU64,
    pub flushes: AtomicU64,
    pub scans: AtomicU64,
}

/// What one writer task is given.
pub struct Lane {
    /// Distinguishes the records of this run (a kill-and-reopen child's start time).
    pub generation: u64,
    pub lane: u64,
    pub stop: Arc<AtomicBool>,
    pub figures: Arc<Figures>,
    pub progress: Counter,
    /// Print an [`ack`] line for each transition once it is flushed.
    pub ack: bool,
}

/// A service's store under this harness: what its writers, flushers and readers do, and
/// what a reopened database must hold.
#[async_trait::async_trait]
pub trait Stressed: Clone + Send + Sync + 'static {
    /// What a check of a reopened database found, to compare with the next one.
    type Snapshot: Default + Send;
    fn open(dir: &Path) -> Self;
    /// One writer's transitions until `lane.stop`.
    async fn lane(self, lane: Lane);
    /// A flush with nothing of its own to flush.
    async fn flush(&self);
    /// One round of what the readers do (`round` varies what they read).
    async fn scan(&self, round: u64);
    /// Flushes synchronously (before a reopen).
    fn flush_now(&self) -> Result<(), String>;
    /// Every record whole and consistent; what the database holds.
    fn check(&self) -> Result<Self::Snapshot, String>;
    /// Nothing seen `before` went backwards in `now`.
    fn compare(before: &Self::Snapshot, now: &Self::Snapshot) -> Result<(), String>;
    /// What the writer child acknowledged as flushed is in `snap`.
    fn check_acks(snap: &Self::Snapshot, acks: &[String]) -> Result<(), String>;
    /// How many messages `snap` holds (for the figures printed).
    fn messages(snap: &Self::Snapshot) -> usize;
}

/// A multi-thread runtime of [`WORKERS`] workers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("a test runtime")
}

/// The lanes, flushers and scanners on `store` until `stop`.
pub async fn workload<S: Stressed>(
    store: &S,
    generation: u64,
    stop: &Arc<AtomicBool>,
    figures: &Arc<Figures>,
    progress: &Counter,
    ack: bool,
) {
    let mut tasks = Vec::new();
    for lane in 0..LANES {
        tasks.push(tokio::spawn(store.clone().lane(Lane {
            generation,
            lane,
            stop: stop.clone(),
            figures: figures.clone(),
            progress: progress.clone(),
            ack,
        })));
    }
    // Beside the lanes: flushers (fsync) and scanners (readers), each looping until stopped.
    let flushers = std::iter::repeat_n(true, FLUSHERS);
    for flusher in flushers.chain(std::iter::repeat_n(false, SCANNERS)) {
        let (store, stop, figures, progress) = (
            store.clone(),
            stop.clone(),
            figures.clone(),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let done = if flusher {
                    store.flush().await;
                    &figures.flushes
                } else {
                    store.scan(round).await;
                    &figures.scans
                };
                done.fetch_add(1, Ordering::Relaxed);
                progress.tick();
            }
        }));
    }
    for t in tasks {
        t.await.expect("a stress task");
    }
}

/// Lanes, flushers and scanners on one database for `run_for` (8 s in CI), then a reopen
/// that must hold every record whole; prints the figures and returns the reopened
/// database's snapshot. `what` names the store.
pub fn concurrent<S: Stressed>(what: &str) -> S::Snapshot {
    let run_for = run_for(Duration::from_secs(8));
    let watchdog = Watchdog::start(&format!("{what}: concurrent"), STALL);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let figures = Arc::new(Figures::default());
    let started = Instant::now();
    {
        let store = S::open(dir.path());
        let stop = Arc::new(AtomicBool::new(false));
        runtime().block_on(async {
            let timer = {
                let stop = stop.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(run_for).await;
                    stop.store(true, Ordering::Relaxed);
                })
            };
            workload(&store, 1, &stop, &figures, &watchdog.counter(), false).await;
            timer.await.expect("the timer");
        });
        store.flush_now().expect("a final flush");
        store.check().expect("the database after the run");
    }
    // Reopened, it holds the same (and every record is still whole).
    let snap = S::open(dir.path()).check().expect("the reopened database");
    let transitions = figures.transitions.load(Ordering::Relaxed);
    eprintln!(
        "{what}, concurrent: {} s, {LANES} lanes + {FLUSHERS} flushers + {SCANNERS} \
         scanners on {WORKERS} workers: {transitions} transitions, {} flushes, {} scans, \
         {} messages, 0 hangs",
        started.elapsed().as_secs(),
        figures.flushes.load(Ordering::Relaxed),
        figures.scans.load(Ordering::Relaxed),
        S::messages(&snap),
    );
    assert!(transitions > 0, "{what}: no transition in {run_for:?}");
    snap
}

/// The writer child of [`kill_and_reopen_cycles`]: the workload on `dir`, acknowledging what
/// it flushed, until it is killed.
fn child<S: Stressed>(dir: &Path) {
    let started = Instant::now();
    let store = S::open(dir);
    let generation = crate::now_ms();
    let stop = Arc::new(AtomicBool::new(false));
    let figures = Arc::new(Figures::default());
    runtime().block_on(async {
        let expiry = {
            let stop = stop.clone();
            tokio::spawn(async move {
                while !child_expired(started) {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                stop.store(true, Ordering::Relaxed);
            })
        };
        let counter = Counter::default();
        workload(&store, generation, &stop, &figures, &counter, true).await;
        expiry.await.expect("the expiry timer");
    });
}

/// [`kill_and_reopen`] with `S`'s checks (8 s in CI): each cycle reopens the database,
/// checks it, compares it with the last and checks the child's acknowledgements; every
/// [`CYCLES_PER_DB`] the database starts afresh. `test` is the calling test's path in its
/// crate, which the child runs; in the child, this runs the writer instead.
pub fn kill_and_reopen_cycles<S: Stressed>(what: &str, test: &str) {
    if let Some(dir) = child_dir() {
        return child::<S>(&dir);
    }
    let run_for = run_for(Duration::from_secs(8));
    let watchdog = Watchdog::start(&format!("{what}: kill-and-reopen"), STALL);
    let root = tempfile::tempdir().expect("a temporary directory");
    let dir = root.path().join("db");
    let mut seen = S::Snapshot::default();
    let started = Instant::now();
    let done = kill_and_reopen(
        test,
        &dir,
        run_for,
        (Duration::from_millis(30), Duration::from_millis(1500)),
        &watchdog.counter(),
        |cycle, acks| {
            let store = S::open(&dir);
            let snap = store.check()?;
            S::compare(&seen, &snap)?;
            S::check_acks(&snap, &acks)?;
            store.flush_now()?;
            drop(store);
            seen = snap;
            if cycle % CYCLES_PER_DB == 0 {
                std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
                seen = S::Snapshot::default();
            }
            Ok(())
        },
    );
    eprintln!(
        "{what}, kill-and-reopen: {} s, {} cycles ({} killed before acknowledging \
         anything), {} acknowledged flushed transitions checked, 0 hangs",
        started.elapsed().as_secs(),
        done.cycles,
        done.silent,
        done.acks,
    );
    assert!(done.cycles > 0 && done.acks > 0, "{done:?}");
}
