//! The attester's own Solana watcher: every finalized bridge burn is signed (secp256k1, for
//! its EVM destination) like any other final message; transactions that burn the mint but
//! break the rule are counted by reason and never signed.

use crate::state::AppState;
use crate::watch::{attest, SourceTx};
use std::sync::Arc;
use std::time::Duration;
use usd1_runtime::now_ms;
use usd1_solana::watcher::SolanaWatcher;

pub async fn run(state: Arc<AppState>, name: String, watcher: SolanaWatcher, poll: Duration) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = step(&state, &name, &watcher).await;
        let mut chains = state.chains.write().unwrap_or_else(|p| p.into_inner());
        let status = chains.entry(name.clone()).or_default();
        match result {
            Ok(()) => {
                // Read up to the finalized tip: caught up.
                status.next_block = status.final_height + 1;
                status.last_ok_ms = now_ms();
                status.last_error = None;
            }
            Err(e) => {
                tracing::warn!(chain = %name, error = %e, "solana watch step failed; retrying next poll");
                status.last_error = Some(e);
            }
        }
    }
}

async fn step(state: &Arc<AppState>, name: &str, watcher: &SolanaWatcher) -> Result<(), String> {
    let batch = watcher.poll().await.map_err(|e| e.to_string())?;
    for (signature, reason) in &batch.rejected {
        tracing::warn!(chain = name, %signature, reason, "burns the bridge mint but is not a bridge burn: not attested");
        usd1_evm::metrics::REJECTED_LOGS
            .with_label_values(&[name, reason])
            .inc();
    }
    // Signed (the governor's sync decisions) and flushed in one blocking call: signatures
    // are durable before the cursor moves past them.
    let batch = state
        .blocking(move |state| {
            for b in &batch.burns {
                let source = SourceTx::Solana(b.signature.clone());
                attest(
                    state,
                    &b.message,
                    &b.message.encode(),
                    &b.hash,
                    &source,
                    b.slot,
                    b.block_time,
                )?;
            }
            state.store.blocking().flush().map_err(|e| e.to_string())?;
            Ok(batch)
        })
        .await?;
    watcher.commit(&batch).await.map_err(|e| e.to_string())
}
