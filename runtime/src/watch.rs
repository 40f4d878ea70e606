//! One loop per source chain, the same for every service and every chain family: poll what
//! became final, hand it to the service's [`Intake`] (which stores it durably), and only then
//! commit the source's cursor, so a crash between the two reads the burns again rather than
//! losing them. What a service does with a burn (sign it, queue it) is its own; the order of
//! these steps is not.

use async_trait::async_trait;
use prometheus::{register_int_counter_vec, IntCounterVec};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Notify;
use usd1_core::source::{Source, SourceError};
use usd1_core::{ObservedBurn, B256};

/// Transactions that touched a bridge contract or mint but are not a burn to attest, by chain
/// and reason (DESIGN §8).
pub static REJECTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_rejected_messages_total",
        "Source logs or transactions that are not valid bridge messages, by reason",
        &["chain", "reason"]
    )
    .unwrap_or_else(|e| panic!("metric registration at startup: {e}"))
});

pub type IntakeError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Error)]
pub enum WatchError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("storing what was read: {0}")]
    Intake(IntakeError),
}

/// What one poll did, once committed.
#[derive(Debug)]
pub struct Progress {
    pub head: u64,
    pub final_height: u64,
    /// The next height the source will read.
    pub next: u64,
    /// Everything final has been read.
    pub caught_up: bool,
    /// Burns the intake had not seen before.
    pub new: usize,
    /// Burns seen above the final height (sources that track them).
    pub unconfirmed: Vec<ObservedBurn>,
}

/// A service's side of the loop.
#[async_trait]
pub trait Intake: Send + Sync {
    /// Stores, durably, what one poll read: first marks for the `orphaned` messages (read as
    /// final earlier, their blocks gone since), then the final burns. Returns how many burns
    /// were new. The source's cursor moves past them only after this returns `Ok`.
    async fn take(
        &self,
        source: &dyn Source,
        orphaned: Vec<B256>,
        burns: Vec<ObservedBurn>,
    ) -> Result<usize, IntakeError>;

    /// After each poll: what it did, or why it failed (it is tried again next poll).
    fn report(&self, source: &dyn Source, outcome: Result<Progress, WatchError>);
}

/// Asks a watch loop to poll now instead of at its next interval: an attester's watcher is
/// woken when a relayer waits for a burn it has seen but not yet as final, so the signature
/// follows finality by one poll's round trips instead of up to a whole interval. Wakes that
/// arrive while a poll runs fold into one more poll.
#[derive(Clone, Debug, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn now(&self) {
        self.0.notify_one();
    }

    /// Returns once woken (at once if a wake came since the last return).
    pub async fn woken(&self) {
        self.0.notified().await
    }
}

/// The least time between two polls' starts when woken: wakes come from peers' requests, so
/// they can ask for at most this many extra polls (40 a second), whatever they send.
pub const MIN_WAKE_GAP: Duration = Duration::from_millis(25);

/// Polls `source` every `poll`, when woken (at most once per [`MIN_WAKE_GAP`]), and again at
/// once while it is behind the chain, for as long as the process runs.
pub async fn run(source: Arc<dyn Source>, poll: Duration, intake: Arc<dyn Intake>, wake: Wake) {
    for reason in source.rejection_reasons() {
        REJECTED.with_label_values(&[source.name(), reason]);
    }
    // Pushed heads wake the loop like a peer does: it polls as each block comes, and the
    // interval below is what is left when nothing is pushed.
    let _heads = FollowHeads::spawn(source.clone(), wake.clone());
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut behind = false;
    loop {
        // Behind the chain (a backfill: one poll reads a bounded number of ranges), the next
        // poll goes at once, so a long history is read as fast as the node serves it.
        if !behind {
            tokio::select! {
                _ = tick.tick() => {}
                _ = wake.woken() => {}
            }
        }
        let started = tokio::time::Instant::now();
        let outcome = step(&*source, &*intake).await;
        if let Err(e) = &outcome {
            tracing::warn!(chain = source.name(), error = %e, "watch step failed; retrying next poll");
        }
        behind = matches!(&outcome, Ok(p) if !p.caught_up);
        intake.report(&*source, outcome);
        if !behind {
            tokio::time::sleep_until(started + MIN_WAKE_GAP.min(poll)).await;
        }
    }
}

/// The source's head follower, stopped with the watch loop that started it.
struct FollowHeads(tokio::task::JoinHandle<()>);

impl FollowHeads {
    fn spawn(source: Arc<dyn Source>, wake: Wake) -> Self {
        Self(tokio::spawn(async move {
            source.follow_heads(Arc::new(move || wake.now())).await
        }))
    }
}

impl Drop for FollowHeads {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One poll: read, store, commit.
pub async fn step(source: &dyn Source, intake: &dyn Intake) -> Result<Progress, WatchError> {
    let mut batch = source.poll().await?;
    for r in &batch.rejected {
        tracing::warn!(chain = source.name(), tx = %r.tx, reason = r.reason, detail = %r.detail,
            "not a burn to attest: ignored");
        REJECTED.with_label_values(&[source.name(), r.reason]).inc();
    }
    let orphaned = std::mem::take(&mut batch.orphaned);
    if !orphaned.is_empty() {
        tracing::error!(chain = source.name(), messages = ?orphaned,
            "finality violation: messages read as final are no longer on the chain");
    }
    let burns = std::mem::take(&mut batch.burns);
    let new = intake
        .take(source, orphaned, burns)
        .await
        .map_err(WatchError::Intake)?;
    source.commit(&batch).await?;
    Ok(Progress {
        head: batch.head,
        final_height: batch.final_height,
        next: batch.next,
        caught_up: batch.caught_up(),
        new,
        unconfirmed: std::mem::take(&mut batch.unconfirmed),
    })
}

#[cfg(test)]
mod tests;
