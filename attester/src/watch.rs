//! The attester's side of the one watch loop (usd1_runtime::watch) every source chain runs:
//! sign each new final burn once (or let the governor hold it), persist and flush, before the
//! loop moves the source's cursor.

use crate::error::AttesterError;
use crate::governor::{Admitted, Final};
use crate::metrics;
use crate::signer::{helpers_for, SigningRun};
use crate::state::{AppState, Unconfirmed};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Instant;
use usd1_core::{ObservedBurn, Source, B256};
use usd1_runtime::now_ms;
use usd1_runtime::watch::{Intake, IntakeError, Progress, WatchError};

pub struct Attest(pub Arc<AppState>);

/// A poll with at least this many burns is a backfill: it logs how long it took, one line a
/// part, and each burn at debug.
const BACKFILL_LOG_AT: usize = 100;

/// Burns decided and written together (one transaction): the parts after it are signed
/// meanwhile on the other cores.
const PART: usize = 512;

/// The first part's size; each part after it is twice the one before, up to `PART`.
/// Nothing is written before the first part is signed, so it is small; the rest grow to
/// `PART` so that a backfill writes a transaction per 512 burns.
const FIRST_PART: usize = 64;

/// Where a poll's parts end: `FIRST_PART`, then twice the part before, up to `PART`.
fn part_ends(len: usize) -> Vec<usize> {
    let mut ends = Vec::new();
    let (mut end, mut size) = (FIRST_PART.min(len), FIRST_PART);
    while end > ends.last().copied().unwrap_or(0) {
        ends.push(end);
        size = (size * 2).min(PART);
        end = (end + size).min(len);
    }
    ends
}

/// A poll's burns, part by part: each part's signatures are made on every core (helper
/// threads, and this one while it would wait) while the governor decides and stores the
/// part before (one transaction each), so signing and writing a backfill overlap instead of
/// following each other. Sync: a blocking thread.
pub(crate) fn sign_and_attest(
    state: &AppState,
    burns: &[ObservedBurn],
) -> Result<(), AttesterError> {
    let hashes: Vec<B256> = burns.iter().map(|b| b.hash).collect();
    // Decided for the whole poll: its first parts are smaller than the threshold.
    let backfill = burns.len() >= BACKFILL_LOG_AT;
    let run = SigningRun::new(&state.key, &hashes);
    let attested = std::thread::scope(|scope| {
        for _ in 0..helpers_for(hashes.len()) {
            scope.spawn(|| run.help());
        }
        // However this ends (an error, a panic), the helpers stop signing.
        let _stop = run.stop_on_drop();
        let mut start = 0;
        for end in part_ends(burns.len()) {
            run.wait_signed_before(end);
            attest_all(state, &burns[start..end], backfill)?;
            start = end;
        }
        Ok(())
    });
    // What was signed ahead and not used (held, or known already) is dropped, whatever the
    // outcome: the helpers were joined when the scope ended.
    state.key.forget_ahead(&hashes);
    attested
}

#[async_trait]
impl Intake for Attest {
    async fn take(
        &self,
        source: &dyn Source,
        orphaned: Vec<B256>,
        burns: Vec<ObservedBurn>,
    ) -> Result<usize, IntakeError> {
        if !orphaned.is_empty() {
            // Durable before the cursor moves past the reorg, so a restart cannot forget it.
            self.0.violations.mark(&orphaned, now_ms()).await?;
            tracing::error!(chain = source.name(), messages = ?orphaned,
                "signed messages whose burns were reorged away are no longer served");
        }
        // Signed (the governor's sync decisions) and flushed in one blocking call: signatures
        // are durable before the cursor moves past them. They are served from their commit
        // on, a few ms before the flush: a crash in between reads the burns again and the
        // governor decides them again (the same signature bytes, RFC 6979; the same decision
        // unless a hold came due for release in between, docs/decisions.md "Governor").
        let count = burns.len();
        self.0
            .blocking(move |state| {
                let started = Instant::now();
                sign_and_attest(state, &burns)?;
                let attested_in = started.elapsed();
                if burns.is_empty() {
                    return Ok(()); // nothing written: no flush (a poll with nothing new)
                }
                state.store.blocking().flush()?;
                if burns.len() >= BACKFILL_LOG_AT {
                    tracing::info!(
                        burns = burns.len(),
                        attest_ms = attested_in.as_millis() as u64,
                        flush_ms = (started.elapsed() - attested_in).as_millis() as u64,
                        "a poll's burns attested together"
                    );
                }
                Ok::<_, AttesterError>(())
            })
            .await?;
        Ok(count)
    }

    fn report(&self, source: &dyn Source, outcome: Result<Progress, WatchError>) {
        let state = &self.0;
        let mut chains = state.chains.write().unwrap_or_else(|p| p.into_inner());
        let status = chains.entry(source.name().to_string()).or_default();
        let progress = match outcome {
            Ok(p) => p,
            Err(e) => {
                status.last_error = Some(e.to_string());
                return;
            }
        };
        status.head = progress.head;
        status.final_height = progress.final_height;
        status.next_block = progress.next;
        status.last_ok_ms = now_ms();
        status.last_error = None;
        drop(chains);
        let domain = source.domain();
        let mut unconfirmed = state.unconfirmed.write().unwrap_or_else(|p| p.into_inner());
        unconfirmed.retain(|_, u| u.source_domain != domain);
        for burn in progress.unconfirmed {
            unconfirmed.insert(
                burn.hash,
                Unconfirmed {
                    source_domain: burn.message.source_domain,
                    message: alloy::hex::encode_prefixed(&burn.raw),
                    source_tx: burn.tx,
                },
            );
        }
    }
}

/// Signs each final burn once, unless the governor holds it: a message signed (or held, or
/// dropped) before is left as it is. The governor decides them in chain order and writes a
/// run of signatures in one transaction; what is written here is flushed by the caller
/// before its cursor moves. Sync (the governor's decisions): call it on a blocking thread.
/// A `backfill`'s burns log one line (below), each burn's at debug: a line a burn cost more
/// than deciding it, and floods the operators' logs.
pub fn attest_all(
    state: &AppState,
    burns: &[ObservedBurn],
    backfill: bool,
) -> Result<(), AttesterError> {
    let started = Instant::now();
    let now = now_ms() / 1000;
    let finals: Vec<Final<'_>> = burns
        .iter()
        .map(|burn| Final {
            message: &burn.message,
            raw: &burn.raw,
            hash: &burn.hash,
            source_tx: &burn.tx,
            block: burn.height,
            block_time: burn.time,
        })
        .collect();
    let admitted = state.governor.admit_all(state, &finals, now)?;
    let mut signed = 0;
    for (burn, admitted) in burns.iter().zip(admitted) {
        signed += usize::from(matches!(admitted, Admitted::Signed));
        report(state, burn, admitted, now, started, backfill);
    }
    if let (true, Some(first), Some(last)) = (backfill, burns.first(), burns.last()) {
        tracing::info!(
            burns = burns.len(),
            signed,
            first_nonce = first.message.nonce,
            last_nonce = last.message.nonce,
            blocks = %format!("{}–{}", first.height, last.height),
            "attested a backfill's part (each burn logged at debug)"
        );
    }
    Ok(())
}

/// Metrics and a log line (at debug in a backfill) for one burn the governor decided.
fn report(
    state: &AppState,
    burn: &ObservedBurn,
    admitted: Admitted,
    now: u64,
    started: Instant,
    backfill: bool,
) {
    let message = &burn.message;
    let span = if backfill {
        tracing::debug_span!("attest", message_hash = %burn.hash, source = message.source_domain.0,
            destination = message.destination_domain.0, nonce = message.nonce)
    } else {
        tracing::info_span!("attest", message_hash = %burn.hash, source = message.source_domain.0,
            destination = message.destination_domain.0, nonce = message.nonce)
    };
    let _enter = span.enter();
    let src = state.label(message.source_domain);
    let dst = state.label(message.destination_domain);
    metrics::OBSERVED.with_label_values(&[src, dst]).inc();
    if admitted == Admitted::Known {
        return; // handled before (re-read after a restart): keep what is stored
    }
    metrics::BURN_TO_FINAL
        .with_label_values(&[src])
        .observe(now.saturating_sub(burn.time) as f64);
    match admitted {
        Admitted::Held { kind, release_at } => {
            // Named here as well: a backfill's span (at debug) is off at the default level.
            tracing::warn!(
                message_hash = %burn.hash,
                nonce = message.nonce,
                block = burn.height,
                ?kind,
                release_at,
                "held by the governor"
            );
        }
        _ => {
            metrics::FINAL_TO_ATTESTED
                .with_label_values(&[src])
                .observe(started.elapsed().as_secs_f64());
            if backfill {
                tracing::debug!(block = burn.height, "attested");
            } else {
                tracing::info!(block = burn.height, "attested");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_a_poll_once_in_order_growing_from_a_small_one() {
        assert!(part_ends(0).is_empty());
        assert_eq!(part_ends(1), [1]);
        assert_eq!(part_ends(FIRST_PART), [FIRST_PART]);
        assert_eq!(part_ends(FIRST_PART + 1), [FIRST_PART, FIRST_PART + 1]);
        let (a, b, c) = (FIRST_PART, 3 * FIRST_PART, 7 * FIRST_PART);
        assert_eq!(part_ends(5_000)[..3], [a, b, c], "64, then 128, then 256");
        let ends = part_ends(5_000);
        let sizes: Vec<usize> = ends
            .iter()
            .scan(0, |start, &end| Some(end - std::mem::replace(start, end)))
            .collect();
        assert_eq!(ends.last(), Some(&5_000), "every burn is in a part");
        assert!(sizes.iter().all(|&s| s > 0 && s <= PART), "{sizes:?}");
        assert!(
            sizes[3..sizes.len() - 1].iter().all(|&s| s == PART),
            "{sizes:?}"
        );
    }
}
