//! The relayer's queue intake: every final message bound for a destination this relayer
//! serves enters the queue as `Observed` (idempotently: a message is queued once).

use crate::store::Store;
use async_trait::async_trait;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use usd1_core::{Domain, HistoryEntry, Message, MessageRecord, MessageState, ObservedBurn};
use usd1_core::{Source, B256};
use usd1_runtime::now_ms;
use usd1_runtime::watch::{Intake, IntakeError, Progress, WatchError};

pub fn new_record(
    m: &Message,
    raw: &[u8],
    source_tx: &str,
    block: u64,
    block_timestamp: u64,
) -> MessageRecord {
    let now = now_ms();
    MessageRecord {
        message_hash: format!("{:#x}", m.hash()),
        message: format!("0x{}", hex::encode(raw)),
        source_domain: m.source_domain,
        destination_domain: m.destination_domain,
        nonce: m.nonce,
        source_tx: source_tx.to_string(),
        source_block: block,
        state: MessageState::Observed,
        attestation: None,
        signatures: 0,
        attempts: 0,
        refusals: 0,
        last_error: None,
        next_attempt_at_ms: now,
        pending_tx: None,
        sent_txs: Vec::new(),
        filler_txs: Vec::new(),
        batch_txs: Vec::new(),
        observed_at_ms: now,
        burned_at_ms: block_timestamp * 1000,
        attested_at_ms: 0,
        finality_violated: false,
        history: vec![HistoryEntry {
            at_ms: now,
            state: "observed".into(),
            tx_hash: Some(source_tx.to_string()),
            detail: None,
        }],
    }
}

/// Watch health per chain, for `/readyz`: (last good poll ms, caught up, poll interval ms).
pub type FeedStatus = Arc<std::sync::RwLock<std::collections::BTreeMap<String, (u64, bool, u64)>>>;

/// The relayer's side of the one watch loop (usd1_runtime::watch) every source chain runs:
/// queue each final message bound for a destination this relayer serves, flushed before the
/// loop moves the source's cursor.
pub struct Queue {
    pub store: Store,
    pub destinations: Arc<HashSet<Domain>>,
    pub status: FeedStatus,
    pub poll: Duration,
    /// Wakes the pipeline when something new is queued.
    pub wake: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl Intake for Queue {
    async fn take(
        &self,
        _source: &dyn Source,
        orphaned: Vec<B256>,
        burns: Vec<ObservedBurn>,
    ) -> Result<usize, IntakeError> {
        if !orphaned.is_empty() {
            // Marked durably before the cursor moves past the reorg.
            crate::violations::note(&self.store, &orphaned).await?;
        }
        let mut records = Vec::with_capacity(burns.len());
        let mut queued = Vec::with_capacity(burns.len());
        for burn in &burns {
            let m = &burn.message;
            if !self.destinations.contains(&m.destination_domain) {
                tracing::debug!(message_hash = %burn.hash, destination = m.destination_domain.0, "not a destination this relayer serves");
                continue;
            }
            records.push(new_record(
                m,
                &burn.raw,
                burn.tx.as_str(),
                burn.height,
                burn.time,
            ));
            queued.push(burn);
        }
        // One transaction for the poll: a backlog's messages reach the pipeline together,
        // not one commit at a time.
        let fresh = self.store.observe_all(&records).await?;
        let mut new = 0;
        for (burn, _) in queued.iter().zip(&fresh).filter(|(_, is_new)| **is_new) {
            let m = &burn.message;
            tracing::info!(message_hash = %burn.hash, source = m.source_domain.0,
                destination = m.destination_domain.0, nonce = m.nonce, "observed");
            new += 1;
        }
        // Queued messages are durable before the cursor passes them.
        self.store.flush().await?;
        Ok(new)
    }

    fn report(&self, source: &dyn Source, outcome: Result<Progress, WatchError>) {
        // A failed poll was logged by the loop; /readyz sees its age.
        let Ok(progress) = outcome else { return };
        self.status
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                source.name().to_string(),
                (now_ms(), progress.caught_up, self.poll.as_millis() as u64),
            );
        if progress.new > 0 {
            self.wake.notify_one();
        }
    }
}
