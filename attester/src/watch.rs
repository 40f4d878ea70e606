//! One loop per source chain: read what became final, sign each new message once (or let the
//! governor hold it), persist and flush, then advance the watcher's cursor.

use crate::governor::{Admitted, Final};
use crate::metrics;
use crate::state::{AppState, Unconfirmed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use usd1_core::{Message, B256};
use usd1_evm::{EvmBlockSource, Watcher};
use usd1_runtime::now_ms;

pub async fn run(
    state: Arc<AppState>,
    name: String,
    watcher: Watcher<EvmBlockSource>,
    poll: Duration,
) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = step(&state, &name, &watcher).await;
        let mut chains = state.chains.write().unwrap_or_else(|p| p.into_inner());
        let status = chains.entry(name.clone()).or_default();
        match result {
            Ok((head, final_height, next)) => {
                status.head = head;
                status.final_height = final_height;
                status.next_block = next;
                status.last_ok_ms = now_ms();
                status.last_error = None;
            }
            Err(e) => {
                tracing::warn!(chain = %name, error = %e, "watch step failed; retrying next poll");
                status.last_error = Some(e);
            }
        }
    }
}

async fn step(
    state: &Arc<AppState>,
    name: &str,
    watcher: &Watcher<EvmBlockSource>,
) -> Result<(u64, u64, u64), String> {
    let batch = watcher.poll().await.map_err(|e| e.to_string())?;
    if !batch.orphaned.is_empty() {
        // Durable before the cursor moves past the reorg, so a restart cannot forget it.
        state
            .violations
            .mark(&batch.orphaned, now_ms())
            .await
            .map_err(|e| e.to_string())?;
        tracing::error!(chain = %name, messages = ?batch.orphaned,
            "finality violation: signed messages whose burns were reorged away are no longer served");
    }
    // The batch is signed (the governor's sync decisions) and flushed in one blocking call:
    // signatures are durable before the cursor moves past them and before they are served.
    let batch = state
        .blocking(move |state| {
            for m in &batch.final_messages {
                let source = SourceTx::Evm(m.tx_hash);
                attest(
                    state,
                    &m.message,
                    &m.raw,
                    &m.hash,
                    &source,
                    m.block_number,
                    m.block_timestamp,
                )?;
            }
            state.store.blocking().flush().map_err(|e| e.to_string())?;
            Ok(batch)
        })
        .await?;
    watcher.commit(&batch).await.map_err(|e| e.to_string())?;

    let domain = state
        .names
        .iter()
        .find(|(_, n)| n.as_str() == name)
        .map(|(d, _)| *d);
    let mut unconfirmed = state.unconfirmed.write().unwrap_or_else(|p| p.into_inner());
    unconfirmed.retain(|_, u| Some(u.source_domain) != domain);
    for m in batch.unconfirmed {
        unconfirmed.insert(
            m.hash,
            Unconfirmed {
                source_domain: m.message.source_domain,
                message: format!("0x{}", hex::encode(&m.raw)),
                source_tx: m.tx_hash,
            },
        );
    }
    let next = watcher.cursor().map_err(|e| e.to_string())?;
    Ok((batch.head, batch.final_height, next))
}

/// Where a message's burn happened: an EVM transaction hash, or a Solana signature.
pub enum SourceTx {
    Evm(B256),
    Solana(String),
}

/// Signs a final message once, unless the governor holds it: a message signed (or held, or
/// dropped) before is left as it is. What is written here is flushed by the caller before its
/// cursor moves. Sync (the governor's decision): call it on a blocking thread.
pub fn attest(
    state: &AppState,
    message: &Message,
    raw: &[u8],
    hash: &B256,
    source: &SourceTx,
    block: u64,
    block_time: u64,
) -> Result<(), String> {
    let span = tracing::info_span!("attest", message_hash = %hash, source = message.source_domain.0,
        destination = message.destination_domain.0, nonce = message.nonce);
    let _enter = span.enter(); // no await below
    let src = state.label(message.source_domain);
    let dst = state.label(message.destination_domain);
    metrics::OBSERVED.with_label_values(&[src, dst]).inc();
    let (source_tx, evm_source_tx) = match source {
        SourceTx::Evm(tx) => (format!("{tx:#x}"), Some(*tx)),
        SourceTx::Solana(sig) => (sig.clone(), None),
    };
    let started = Instant::now();
    let now = now_ms() / 1000;
    let admitted = state.governor.admit(
        state,
        &Final {
            message,
            raw,
            hash,
            source_tx,
            evm_source_tx,
            block,
            block_time,
        },
        now,
    )?;
    if admitted == Admitted::Known {
        return Ok(()); // handled before (re-read after a restart): keep what is stored
    }
    metrics::BURN_TO_FINAL
        .with_label_values(&[src])
        .observe(now.saturating_sub(block_time) as f64);
    match admitted {
        Admitted::Held { kind, release_at } => {
            tracing::warn!(block, ?kind, release_at, "held by the governor");
        }
        _ => {
            metrics::FINAL_TO_ATTESTED
                .with_label_values(&[src])
                .observe(started.elapsed().as_secs_f64());
            tracing::info!(block, "attested");
        }
    }
    Ok(())
}
