//! The relayer's own watchers: every final message bound for a destination this relayer
//! serves enters the queue as `Observed` (idempotently: a message is queued once).

use crate::store::Store;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use usd1_core::{Domain, HistoryEntry, Message, MessageRecord, MessageState};
use usd1_evm::{EvmBlockSource, Watcher};
use usd1_runtime::now_ms;

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

/// Watch health per chain, for `/readyz`: (last good poll ms, caught up).
pub type FeedStatus = Arc<std::sync::RwLock<std::collections::BTreeMap<String, (u64, bool, u64)>>>;

pub async fn run(
    store: Store,
    name: String,
    watcher: Watcher<EvmBlockSource>,
    destinations: Arc<HashSet<Domain>>,
    poll: Duration,
    status: FeedStatus,
    wake: Arc<tokio::sync::Notify>,
) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match step(&store, &watcher, &destinations).await {
            Ok((new, caught_up)) => {
                let mut s = status.write().unwrap_or_else(|p| p.into_inner());
                s.insert(name.clone(), (now_ms(), caught_up, poll.as_millis() as u64));
                if new > 0 {
                    wake.notify_one();
                }
            }
            Err(e) => {
                tracing::warn!(chain = %name, error = %e, "relayer watch step failed; retrying next poll")
            }
        }
    }
}

async fn step(
    store: &Store,
    watcher: &Watcher<EvmBlockSource>,
    destinations: &HashSet<Domain>,
) -> Result<(usize, bool), String> {
    let batch = watcher.poll().await.map_err(|e| e.to_string())?;
    if !batch.orphaned.is_empty() {
        // Marked durably before the cursor moves past the reorg.
        crate::violations::note(store, &batch.orphaned)
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut new = 0;
    for m in &batch.final_messages {
        if !destinations.contains(&m.message.destination_domain) {
            tracing::debug!(message_hash = %m.hash, destination = m.message.destination_domain.0, "not a destination this relayer serves");
            continue;
        }
        let source_tx = format!("{:#x}", m.tx_hash);
        let record = new_record(
            &m.message,
            &m.raw,
            &source_tx,
            m.block_number,
            m.block_timestamp,
        );
        if store
            .observe(&record, Some(&m.tx_hash))
            .await
            .map_err(|e| e.to_string())?
        {
            tracing::info!(message_hash = %m.hash, source = m.message.source_domain.0,
                destination = m.message.destination_domain.0, nonce = m.message.nonce, "observed");
            new += 1;
        }
    }
    // Queued messages are durable before the cursor passes them.
    store.flush().await.map_err(|e| e.to_string())?;
    watcher.commit(&batch).await.map_err(|e| e.to_string())?;
    let next = watcher.cursor().map_err(|e| e.to_string())?;
    Ok((new, next > batch.final_height))
}

/// The relayer's Solana watcher: finalized bridge burns bound for a destination it serves.
pub async fn run_solana(
    store: Store,
    name: String,
    watcher: usd1_solana::watcher::SolanaWatcher,
    destinations: Arc<HashSet<Domain>>,
    poll: Duration,
    status: FeedStatus,
    wake: Arc<tokio::sync::Notify>,
) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match solana_step(&store, &watcher, &destinations).await {
            Ok(new) => {
                status
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.clone(), (now_ms(), true, poll.as_millis() as u64));
                if new > 0 {
                    wake.notify_one();
                }
            }
            Err(e) => {
                tracing::warn!(chain = %name, error = %e, "relayer solana watch step failed; retrying next poll")
            }
        }
    }
}

async fn solana_step(
    store: &Store,
    watcher: &usd1_solana::watcher::SolanaWatcher,
    destinations: &HashSet<Domain>,
) -> Result<usize, String> {
    let batch = watcher.poll().await.map_err(|e| e.to_string())?;
    let mut new = 0;
    for b in &batch.burns {
        if !destinations.contains(&b.message.destination_domain) {
            continue;
        }
        let record = new_record(
            &b.message,
            &b.message.encode(),
            &b.signature,
            b.slot,
            b.block_time,
        );
        if store
            .observe(&record, None)
            .await
            .map_err(|e| e.to_string())?
        {
            tracing::info!(message_hash = %b.hash, source = b.message.source_domain.0,
                destination = b.message.destination_domain.0, nonce = b.message.nonce, "observed");
            new += 1;
        }
    }
    store.flush().await.map_err(|e| e.to_string())?;
    watcher.commit(&batch).await.map_err(|e| e.to_string())?;
    Ok(new)
}
