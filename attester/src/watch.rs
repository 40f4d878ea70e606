//! One loop per source chain: read what became final, sign each new message once, persist
//! and flush the signature, then advance the watcher's cursor.

use crate::metrics;
use crate::state::{AppState, Unconfirmed};
use crate::store::SignedMessage;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    state: &AppState,
    name: &str,
    watcher: &Watcher<EvmBlockSource>,
) -> Result<(u64, u64, u64), String> {
    let batch = watcher.poll().await.map_err(|e| e.to_string())?;
    for m in &batch.final_messages {
        let span = tracing::info_span!("attest", message_hash = %m.hash, source = m.message.source_domain.0,
            destination = m.message.destination_domain.0, nonce = m.message.nonce);
        let _enter = span.enter();
        let (src, dst) = (
            state.label(m.message.source_domain),
            state.label(m.message.destination_domain),
        );
        metrics::OBSERVED.with_label_values(&[src, dst]).inc();
        if state
            .store
            .get(&m.hash)
            .map_err(|e| e.to_string())?
            .is_some()
        {
            continue; // signed before (re-read after a restart): keep the stored signature
        }
        let since_burn = (now_ms() / 1000).saturating_sub(m.block_timestamp);
        metrics::BURN_TO_FINAL
            .with_label_values(&[src])
            .observe(since_burn as f64);
        let started = Instant::now();
        let signature = state.key.sign(&m.hash)?;
        let record = SignedMessage {
            message: format!("0x{}", hex::encode(&m.raw)),
            message_hash: format!("{:#x}", m.hash),
            signature: signature.to_hex(),
            source_domain: m.message.source_domain,
            destination_domain: m.message.destination_domain,
            nonce: m.message.nonce,
            source_tx: format!("{:#x}", m.tx_hash),
            source_block: m.block_number,
            signed_at_ms: now_ms(),
        };
        state
            .store
            .insert(&record, &m.hash, &m.tx_hash)
            .map_err(|e| e.to_string())?;
        metrics::ATTESTED.with_label_values(&[src, dst]).inc();
        metrics::SIGNATURES.with_label_values(&["secp256k1"]).inc();
        metrics::FINAL_TO_ATTESTED
            .with_label_values(&[src])
            .observe(started.elapsed().as_secs_f64());
        tracing::info!(block = m.block_number, "attested");
    }
    // Signatures are durable before the cursor moves past them and before they are served.
    state
        .store
        .db
        .flush_async()
        .await
        .map_err(|e| e.to_string())?;
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
