//! The relayer's state machine (DESIGN §6). Each due record advances one step per tick:
//!
//! - `Observed`/`Attesting`: outside the relay policy → `Skipped` (nothing spent); else
//!   collect signatures; with `threshold` of them → `Attested`.
//! - `Attested` (for a destination that takes batches: parked, and delivered with the others
//!   of the tick for that destination as one batch, see `batch`; alone otherwise, or when
//!   the batch's dry run would revert): already received on the destination → `Delivered`; a dry run above the gas
//!   cap → `Skipped`; a refusal is read from chain state (below); otherwise a delivery is
//!   signed (where the destination has an account sequence, at its next persisted number,
//!   stored with the counter in one transaction), flushed, and only then broadcast →
//!   `Submitted`.
//! - `Submitted`: a successful receipt final under the destination's rule → `Confirmed`; a
//!   reverted one is a refusal; nothing mined after `stuck_after` → the same number is
//!   re-signed as the next try (a higher fee); expired → rebuilt.
//!
//! A refusal (dry run, co-signing, or a reverted delivery) is explained by chain state, never
//! by the revert's selector (DESIGN §6): the (source, nonce) received → `Delivered`; the
//! stored attestation no longer valid against the attester set and threshold read now →
//! collect again; the destination paused → retry later, uncounted. Anything else counts, and
//! at the policy's `max_refusals` the message is `Failed` with the reason.
//!
//! Every retry is scheduled with exponential backoff and jitter, and persisted, with the
//! error that caused it kept on the record for the status API.

use crate::attesters::SignatureSource;
use crate::metrics;
use crate::policy::RelayPolicy;
use crate::proof::{signed_delivery, CoSigners, Delivery};
use crate::store::{Store, StoreError};
use futures_util::StreamExt;
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tracing::Instrument;
use usd1_core::proof::Verifier;
use usd1_core::state::PendingTx;
use usd1_core::traits::{ChainError, Destination, DryRun, Slot, TxStatus};
use usd1_core::{
    assemble_attestation, attestation_satisfies, Address, Domain, HistoryEntry, Message,
    MessageRecord, MessageState, B256,
};
use usd1_runtime::now_ms;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Unexplained refusals before a message is `Failed`.
    pub max_refusals: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub stuck_after: Duration,
    /// How often a submitted transaction's receipt is checked.
    pub receipt_poll: Duration,
    /// The most records stepped at once.
    pub max_concurrent_steps: usize,
    /// Steps one record may take in one tick when each finds its input already there (e.g.
    /// signatures collected → deliver at once). [`STEPS_PER_TICK`] in the service; the unit
    /// tests take 1 to pin down each transition.
    pub steps_per_tick: usize,
    /// The most messages one delivery transaction carries, where the destination takes
    /// batches (`relayer.max_batch`); 1: one delivery per message.
    pub max_batch: usize,
}

/// Enough for observed → attested → submitted → a first receipt check, and a bound so that
/// no record can spin within a tick.
pub const STEPS_PER_TICK: usize = 4;

/// A destination with what the relayer keeps about it.
pub struct Target {
    pub chain: Arc<dyn Destination>,
    /// Serialises nonce allocation, signing and broadcasting per submitter account.
    pub submit_lock: Mutex<()>,
    /// Who the destination checks deliveries against, read from its chain, and when.
    pub verifier: Mutex<Option<(Verifier, u64)>>,
}

/// How long a verifier read from the destination is trusted before being re-read.
const VERIFIER_TTL_MS: u64 = 30_000;

pub struct Pipeline {
    pub store: Store,
    pub targets: HashMap<Domain, Target>,
    pub signatures: Arc<dyn SignatureSource>,
    /// The attesters as co-signers, for destinations that take co-signatures.
    pub cosigners: Arc<dyn CoSigners>,
    pub settings: Settings,
    pub names: metrics::ChainNames,
    pub policy: RelayPolicy,
    /// The (source domain, nonce) of each burn between "does another burn of it go first?"
    /// and its submission being stored: a burn and its replacements decide one at a time.
    pub deciding: Deciding,
    /// What a batch's members share while they follow its transaction.
    pub shared: shared_tx::SharedTxs,
}

/// Burns whose delivery is being decided, by (source domain, nonce).
#[derive(Default)]
pub struct Deciding(std::sync::Mutex<std::collections::HashSet<(Domain, u64)>>);

/// One (source domain, nonce) being decided; released when dropped.
pub struct Claim<'a> {
    deciding: &'a Deciding,
    key: (Domain, u64),
}

impl Deciding {
    /// `None` while another burn of this (source, nonce) is being decided.
    pub fn claim(&self, source: Domain, nonce: u64) -> Option<Claim<'_>> {
        let fresh = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((source, nonce));
        // Built only when taken: a `Claim` dropped unused would release someone else's.
        fresh.then(|| Claim {
            deciding: self,
            key: (source, nonce),
        })
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut set = self.deciding.0.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.key);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("stored message is corrupt: {0}")]
    Corrupt(String),
}

impl Pipeline {
    /// Brings each destination's nonce counter up to the chain's, for a new store or after
    /// transactions were sent from this account by something else.
    pub async fn sync_nonces(&self) -> Result<(), StepError> {
        for (domain, target) in &self.targets {
            let Some(sequence) = target.chain.sequence() else {
                continue;
            };
            let chain = sequence.next_on_chain().await?;
            let stored = self.store.next_nonce(*domain).await?.unwrap_or(0);
            if chain > stored {
                self.store.set_next_nonce(*domain, chain).await?;
            }
        }
        self.store.flush().await?;
        Ok(())
    }

    /// The most due records one tick takes: a backlog is worked through in batches (the run
    /// loop goes on at once after a full one), so memory stays bounded however deep it is.
    /// Large against the step bound because a tick ends only when its batcher has sent the
    /// last group its steps parked: each tick boundary idles the steps for that tail
    /// (~250 ms a boundary in a 500-message backlog at 4× the bound), and a record is a few
    /// kB in memory.
    pub fn batch(&self) -> usize {
        self.settings.max_concurrent_steps.max(1).saturating_mul(16)
    }

    /// Advances the records due now (up to [`Pipeline::batch`]), each as far as its inputs
    /// allow; returns how many were due.
    pub async fn tick(&self) -> Result<usize, StepError> {
        crate::violations::apply_noted(&self.store).await?;
        self.shared.new_tick();
        let due = self.store.due(now_ms(), self.batch()).await?;
        let count = due.len();
        // Records are independent except for nonce allocation, which the per-target lock
        // orders; running them together keeps one slow attester from stalling the batch,
        // and the bound keeps a large backlog's RPC load and memory in check.
        // A record that is (or becomes) `Attested` for a destination that takes batches is
        // parked, and the batcher delivers the parked ones together (`batch`).
        let (parked, parking) = tokio::sync::mpsc::unbounded_channel();
        let batching = self.settings.max_batch >= 2;
        let steps = async move {
            futures_util::stream::iter(due)
                .map(|r| self.advance(r, batching))
                .buffer_unordered(self.settings.max_concurrent_steps.max(1))
                .for_each(|waiting| {
                    if let Some(r) = waiting {
                        // The batcher ends only after every sender is dropped: it is there.
                        let _ = parked.send(r);
                    }
                    async {}
                })
                .await;
        };
        tokio::join!(steps, self.batcher(parking));
        Ok(count)
    }

    /// Steps `r` on while each step leaves it in a new state that is due at once: its input
    /// is already there, and waiting for the next tick would only add latency. Each step
    /// hands back the record as it stored it, so nothing is read again between steps.
    /// With `park`, a record ready to be delivered in a batch is handed back instead.
    async fn advance(&self, mut r: MessageRecord, park: bool) -> Option<MessageRecord> {
        let hash = r.message_hash.clone();
        for _ in 0..self.settings.steps_per_tick.max(1) {
            if park && self.batchable(&r) {
                return Some(r);
            }
            let before = r.state.clone();
            match self.step(r).await {
                Ok(next) if next.state != before && next.next_attempt_at_ms <= now_ms() => {
                    r = next;
                }
                Ok(_) => return None,
                Err(e) => {
                    tracing::warn!(message_hash = %hash, error = %e, "step failed; will retry");
                    return None;
                }
            }
        }
        None
    }

    async fn verifier(&self, target: &Target) -> Result<Verifier, ChainError> {
        let mut cached = target.verifier.lock().await;
        if let Some((verifier, at)) = cached.as_ref() {
            if now_ms().saturating_sub(*at) < VERIFIER_TTL_MS {
                return Ok(verifier.clone());
            }
        }
        let verifier = target.chain.verifier().await?;
        *cached = Some((verifier.clone(), now_ms()));
        Ok(verifier)
    }

    /// The delivery signed with the proof the destination's verifier wants.
    async fn sign(
        &self,
        target: &Target,
        delivery: &Delivery<'_>,
        slot: Slot,
    ) -> Result<PendingTx, StepError> {
        let verifier = self.verifier(target).await?;
        let tx = signed_delivery(
            target.chain.as_ref(),
            &verifier,
            self.cosigners.as_ref(),
            delivery,
            slot,
        )
        .await?;
        Ok(tx)
    }

    /// One step of `r`; returns the record as the step stored it.
    async fn step(&self, r: MessageRecord) -> Result<MessageRecord, StepError> {
        let message =
            Message::decode_hex(&r.message).map_err(|e| StepError::Corrupt(e.to_string()))?;
        let span = tracing::info_span!("relay", message_hash = %message.hash(), source = message.source_domain.0,
            destination = message.destination_domain.0, nonce = message.nonce);
        self.step_in_span(r, message).instrument(span).await
    }

    async fn step_in_span(
        &self,
        mut r: MessageRecord,
        message: Message,
    ) -> Result<MessageRecord, StepError> {
        let hash = message.hash();
        let result = match (
            self.targets.get(&message.destination_domain),
            r.state.clone(),
        ) {
            (None, _) => {
                self.fail(&mut r, "destination is not configured on this relayer")
                    .await
            }
            (Some(target), MessageState::Observed | MessageState::Attesting) => {
                match self.policy.skip_reason(&message) {
                    Some(reason) => self.skip(&mut r, reason).await,
                    None => self.collect(&mut r, &hash, target).await,
                }
            }
            (Some(target), MessageState::Attested) => self.deliver(&mut r, &message, target).await,
            (Some(target), MessageState::Submitted { .. }) => {
                self.follow(&mut r, &message, target).await
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            // A failed step leaves the state as it was; only the persisted schedule moves.
            self.retry_later(&mut r, &e.to_string());
            self.store.save(&r, None).await?;
            return Err(e);
        }
        Ok(r)
    }

    async fn collect(
        &self,
        r: &mut MessageRecord,
        hash: &B256,
        target: &Target,
    ) -> Result<(), StepError> {
        let verifier = self.verifier(target).await?;
        let threshold = verifier.threshold();
        let signatures = self.signatures.collect(hash).await;
        let set: Vec<Address> = match verifier {
            Verifier::Attestation { attesters, .. } => attesters,
            // The chain checks co-signatures, not this attestation: `threshold` attesters
            // having signed shows the burn final before any is asked to co-sign.
            Verifier::CoSigners { .. } => signatures
                .iter()
                .filter_map(|s| s.recover(hash).ok())
                .collect(),
        };
        match assemble_attestation(hash, &signatures, &set, threshold) {
            Ok(attestation) => {
                r.attestation = Some(format!("0x{}", hex::encode(attestation)));
                r.signatures = threshold;
                r.attested_at_ms = now_ms();
                let detail = format!("{threshold} of {} attesters", set.len());
                self.transition(r, MessageState::Attested, Some(detail))
                    .await
            }
            Err(e) => {
                r.signatures = signatures.len().min(set.len());
                // Held by the attesters' governors (DESIGN §10): say until when, not "stuck".
                let held = self
                    .signatures
                    .governor_release(hash, threshold.saturating_sub(r.signatures));
                let why = held.map_or_else(|| e.to_string(), usd1_config::held_by_governor_text);
                if r.state == MessageState::Observed {
                    self.transition(r, MessageState::Attesting, Some(why.clone()))
                        .await?;
                }
                self.retry_later(r, &why);
                if let Some(at) = held {
                    // Ask again when it is due, not a long backoff later.
                    let due = at.saturating_mul(1000).max(now_ms()) + 500;
                    r.next_attempt_at_ms = r.next_attempt_at_ms.min(due);
                }
                self.store.save(r, None).await?;
                Ok(())
            }
        }
    }

    async fn deliver(
        &self,
        r: &mut MessageRecord,
        message: &Message,
        target: &Target,
    ) -> Result<(), StepError> {
        if target.chain.is_received(message).await? {
            return self
                .received_elsewhere(
                    r,
                    message,
                    target,
                    "already received on the destination".into(),
                )
                .await;
        }
        // Held until the submission is stored: another burn of this (source, nonce) reads
        // it as in flight, never as merely attested while this one is being sent.
        let Some(_claim) = self.deciding.claim(r.source_domain, r.nonce) else {
            let why = "another burn with the same source and nonce is being delivered";
            self.retry_later(r, why);
            self.store.save(r, None).await?;
            return Ok(());
        };
        if let Some(first) = self.replacement_going_first(r).await? {
            // Not counted: that delivery will either land (and this one be `Delivered`) or
            // come back to `Attested`, when this one may go.
            let why = format!(
                "waiting for the delivery of {first}, a burn with the same source and nonce"
            );
            self.retry_later(r, &why);
            self.store.save(r, None).await?;
            return Ok(());
        }
        let (raw, attestation) = delivery_bytes(r)?;
        match target.chain.simulate_delivery(&raw, &attestation).await? {
            DryRun::Succeeds => {}
            DryRun::Reverts { reason } => {
                return self.refused(r, message, target, reason, true).await
            }
            DryRun::TooCostly { reason } => return self.skip(r, reason).await,
            DryRun::Undeliverable { reason } => return self.fail(r, &reason).await,
        }

        let _guard = self.account_lock(target).await;
        let sequence = self.next_sequence(target).await?;
        let hash = message.hash();
        let delivery = Delivery {
            message: &raw,
            hash: &hash,
            attestation: &attestation,
        };
        let mut tx = match self.sign(target, &delivery, Slot::first(sequence)).await {
            Ok(tx) => tx,
            Err(StepError::Chain(ChainError::Rejected(reason))) => {
                drop(_guard);
                return self.refused(r, message, target, reason, false).await;
            }
            Err(e) => return Err(e),
        };
        tx.sent_at_ms = now_ms();
        self.mark_submitted(r, &tx, sequence.map(|n| format!("account nonce {n}")));
        self.store.save(r, sequence.map(|n| n + 1)).await?;
        // The counter is written: the next delivery may take its number while this one is
        // made durable and sent. Every broadcast still follows a flush made after its own
        // record was written, and a node holds a later nonce until the earlier one arrives.
        drop(_guard);
        // The signed transaction and the nonce counter are durable before the broadcast, so
        // a crash right after re-sends these bytes instead of signing something new.
        self.store.flush().await?;
        metrics::entered(&self.names, r, "submitted");
        if let Err(e) = target.chain.broadcast(&tx).await {
            tracing::warn!(error = %e, "broadcast failed; it will be re-sent");
        }
        Ok(())
    }

    async fn follow(
        &self,
        r: &mut MessageRecord,
        message: &Message,
        target: &Target,
    ) -> Result<(), StepError> {
        let Some(pending) = r.pending_tx.clone() else {
            return Err(StepError::Corrupt(
                "submitted without a stored transaction".into(),
            ));
        };
        // Any of the transactions of this attempt (the first, or a replacement) may be the one
        // that was mined.
        let mut expired = false;
        for tx_hash in current_attempt(r).iter().rev() {
            let valid_until = (*tx_hash == pending.tx_hash)
                .then_some(pending.valid_until)
                .flatten();
            let status = self.status_of(target, r, tx_hash, valid_until).await?;
            if status == TxStatus::Expired && *tx_hash == pending.tx_hash {
                expired = true;
            }
            if let TxStatus::Included {
                success,
                block,
                is_final,
                fee_paid,
            } = status
            {
                if success && r.filler_txs.contains(tx_hash) {
                    metrics::fees(&self.names, message.destination_domain, fee_paid);
                    let detail = format!(
                        "delivered by someone else; our account nonce {} was filled by {tx_hash}",
                        pending.sequence.unwrap_or_default()
                    );
                    return self.received_elsewhere(r, message, target, detail).await;
                }
                if !success {
                    metrics::fees(&self.names, message.destination_domain, fee_paid);
                    if target.chain.is_received(message).await? {
                        let detail = format!(
                            "our transaction {tx_hash} reverted: someone else delivered first"
                        );
                        return self.received_elsewhere(r, message, target, detail).await;
                    }
                    // Counted now (a reverted delivery cost gas); the next dry run reads
                    // the chain state that explains it.
                    r.refusals = r.refusals.saturating_add(1);
                    let detail = format!("transaction {tx_hash} reverted; checking again");
                    r.last_error = Some(detail.clone());
                    if r.refusals >= self.settings.max_refusals {
                        return self.fail(r, &detail).await;
                    }
                    return self
                        .transition(r, MessageState::Attested, Some(detail))
                        .await;
                }
                // Final only under the destination's own finality rule: before that a reorg
                // can drop the mint, and the transaction is re-sent if it vanishes.
                if is_final {
                    metrics::fees(&self.names, message.destination_domain, fee_paid);
                    // Only a batch can have skipped it: a single delivery's receipt is not
                    // read a second time.
                    let batches = target
                        .chain
                        .batches()
                        .filter(|_| r.batch_txs.contains(tx_hash));
                    if let Some(batches) = batches {
                        let key = (message.source_domain, message.nonce);
                        if self.skipped_by(batches, tx_hash).await?.contains(&key) {
                            let detail = format!(
                                "our batch {tx_hash} skipped it: someone else delivered it first"
                            );
                            return self.received_elsewhere(r, message, target, detail).await;
                        }
                    }
                    metrics::minted(&self.names, r);
                    return self
                        .transition(
                            r,
                            MessageState::Confirmed {
                                tx_hash: tx_hash.clone(),
                            },
                            None,
                        )
                        .await;
                }
                // Landed, not final yet: the user can see the mint now (DESIGN §6 records
                // it once per transaction).
                if !r
                    .history
                    .iter()
                    .any(|h| h.state == "included" && h.tx_hash.as_deref() == Some(tx_hash))
                {
                    r.history.push(HistoryEntry {
                        at_ms: now_ms(),
                        state: "included".into(),
                        tx_hash: Some(tx_hash.clone()),
                        detail: Some(format!(
                            "minted at height {block}; waiting for the destination's finality"
                        )),
                    });
                }
                r.next_attempt_at_ms = now_ms() + self.settings.receipt_poll.as_millis() as u64;
                self.store.save(r, None).await?;
                return Ok(());
            }
        }

        // Not landed. If another transaction of the account used its number, no try of this
        // attempt can ever be mined: decide again from the chain, at a new number.
        if let (Some(n), Some(sequence)) = (pending.sequence, target.chain.sequence()) {
            let used = sequence.used_on_chain().await?;
            if used > n && !self.any_try_landed(r, target).await? {
                return self.sequence_lost(r, message, target, n, used).await;
            }
        }
        // Not landed, and delivered by someone else: without an account sequence, ours is
        // given up; with one (EVM), its number must still be used: a filler uses it up.
        let filling = !r.filler_txs.is_empty();
        let slot = Slot {
            sequence: pending.sequence,
            attempt: r.sent_txs.len() as u32,
        };
        if !filling && target.chain.is_received(message).await? {
            // A batch's status may be another member's read from earlier in this tick: our
            // own batch may have landed since. Read afresh before taking it for someone
            // else's delivery; landed, the next tick confirms it.
            if r.batch_txs.contains(&pending.tx_hash)
                && matches!(
                    target
                        .chain
                        .tx_status(&pending.tx_hash, pending.valid_until)
                        .await?,
                    TxStatus::Included { .. }
                )
            {
                r.next_attempt_at_ms = now_ms();
                self.store.save(r, None).await?;
                return Ok(());
            }
            let Some(sequence) = target.chain.sequence() else {
                let detail = "delivered by someone else; ours did not land".to_string();
                return self.received_elsewhere(r, message, target, detail).await;
            };
            let _guard = self.account_lock(target).await;
            let filler = sequence.sign_filler(slot).await?;
            let detail = format!(
                "delivered by someone else while ours was not mined: filling account nonce {} with a self-transfer",
                pending.sequence.unwrap_or_default()
            );
            return self.replace_pending(r, target, filler, detail, true).await;
        }
        // A replacement supersedes a stuck transaction only where both take one account
        // sequence number (EVM). Without one (Solana) both could land, the second a revert
        // that costs a fee: it is rebuilt only once its blockhash expired.
        let stuck = target.chain.sequence().is_some()
            && now_ms().saturating_sub(pending.sent_at_ms)
                >= self.settings.stuck_after.as_millis() as u64;
        if expired || stuck {
            let _guard = self.account_lock(target).await;
            if let (true, Some(sequence)) = (filling, target.chain.sequence()) {
                let filler = sequence.sign_filler(slot).await?;
                let detail = "the nonce filler was not mined: replaced with a higher fee";
                return self
                    .replace_pending(r, target, filler, detail.into(), true)
                    .await;
            }
            let (raw, attestation) = delivery_bytes(r)?;
            let delivery = Delivery {
                message: &raw,
                hash: &message.hash(),
                attestation: &attestation,
            };
            let tx = self.sign(target, &delivery, slot).await?;
            let detail = if expired {
                "its blockhash expired before it landed: rebuilt".to_string()
            } else {
                format!(
                    "not mined after {:?}: replaced with a higher fee",
                    self.settings.stuck_after
                )
            };
            return self.replace_pending(r, target, tx, detail, false).await;
        }
        // Not mined yet: send the stored bytes again (a node may have dropped them, or we
        // crashed between storing and sending); nodes ignore a transaction they already have.
        // A batch's transaction is sent again once a tick, not once for each member.
        let shared = r.batch_txs.contains(&pending.tx_hash);
        if !shared || self.shared.resend_due(&pending.tx_hash) {
            let sent = match self.with_bytes(pending.clone()).await {
                Ok(pending) => target
                    .chain
                    .broadcast(&pending)
                    .await
                    .map_err(StepError::from),
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                // Another member of the batch may try it again in this tick.
                self.shared.resend_failed(&pending.tx_hash);
                return Err(e);
            }
        }
        r.next_attempt_at_ms = now_ms() + self.settings.receipt_poll.as_millis() as u64;
        self.store.save(r, None).await?;
        Ok(())
    }

    /// What batch `tx_hash` skipped, as another member read it in this tick when one did
    /// ([`shared_tx`]).
    async fn skipped_by(
        &self,
        batches: &dyn usd1_core::traits::BatchDelivery,
        tx_hash: &str,
    ) -> Result<Vec<(Domain, u64)>, ChainError> {
        if let Some(skipped) = self.shared.skipped(tx_hash) {
            return Ok(skipped);
        }
        let skipped = batches.skipped(tx_hash).await?;
        self.shared.remember_skipped(tx_hash, &skipped);
        Ok(skipped)
    }

    /// `pending` with its signed bytes: a batch member's record keeps them in the store's
    /// `batch_txs`, once for the whole batch.
    async fn with_bytes(&self, mut pending: PendingTx) -> Result<PendingTx, StepError> {
        if pending.raw.is_empty() {
            pending.raw = self
                .store
                .batch_tx_bytes(&pending.tx_hash)
                .await?
                .ok_or_else(|| {
                    StepError::Corrupt(format!(
                        "the bytes of batch transaction {} are not stored",
                        pending.tx_hash
                    ))
                })?;
        }
        Ok(pending)
    }

    /// The status of `tx_hash`; for a batch's transaction, as another member read it in
    /// this tick when one did ([`shared_tx`]).
    async fn status_of(
        &self,
        target: &Target,
        r: &MessageRecord,
        tx_hash: &str,
        valid_until: Option<u64>,
    ) -> Result<TxStatus, ChainError> {
        let shared = r.batch_txs.iter().any(|b| b == tx_hash);
        if let Some(status) = self.shared.status(tx_hash).filter(|_| shared) {
            return Ok(status);
        }
        let status = target.chain.tx_status(tx_hash, valid_until).await?;
        if shared {
            self.shared.remember_status(tx_hash, &status);
        }
        Ok(status)
    }

    /// Whether a try of this attempt is in a block now: asked again after the account's
    /// used count, so a try mined between the two reads is not taken for a lost number.
    async fn any_try_landed(&self, r: &MessageRecord, target: &Target) -> Result<bool, StepError> {
        for tx_hash in current_attempt(r) {
            if let TxStatus::Included { .. } = target.chain.tx_status(&tx_hash, None).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Number `n` of the submitter account was used by a transaction that is none of this
    /// attempt's tries (`used`: the account's count in blocks now). Delivered meanwhile by
    /// someone else: that ends it; otherwise it goes again, at a number past `used`.
    async fn sequence_lost(
        &self,
        r: &mut MessageRecord,
        message: &Message,
        target: &Target,
        n: u64,
        used: u64,
    ) -> Result<(), StepError> {
        {
            let _guard = self.account_lock(target).await;
            let domain = target.chain.domain();
            if self.store.next_nonce(domain).await?.unwrap_or(0) < used {
                self.store.set_next_nonce(domain, used).await?;
            }
        }
        let detail = format!("account nonce {n} was used by another transaction");
        if target.chain.is_received(message).await? {
            let detail = format!("{detail}; the message was delivered by someone else");
            return self.received_elsewhere(r, message, target, detail).await;
        }
        let detail = format!("{detail}: sending it again at a new one");
        self.transition(r, MessageState::Attested, Some(detail))
            .await
    }

    /// The hash of another burn of this (source, nonce) (an original and its
    /// `replaceDepositForBurn` replacements) that is delivered first: one in flight, or one
    /// attested and first in hash order. Read from the store, so two deliveries of one tick
    /// (under no common lock on Solana) agree on which goes; the other would be a second
    /// delivery that can only revert.
    async fn replacement_going_first(
        &self,
        r: &MessageRecord,
    ) -> Result<Option<String>, StepError> {
        let first = self
            .store
            .by_nonce(r.source_domain, r.nonce)
            .await?
            .into_iter()
            .find(|other| match other.state {
                MessageState::Submitted { .. } => other.message_hash != r.message_hash,
                MessageState::Attested => other.message_hash < r.message_hash,
                _ => false,
            });
        Ok(first.map(|other| other.message_hash))
    }

    /// `r` is sent in `tx` (its pending transaction now), and its receipt is asked for after
    /// the receipt poll; the caller stores it.
    fn mark_submitted(&self, r: &mut MessageRecord, tx: &PendingTx, detail: Option<String>) {
        r.sent_txs.push(tx.tx_hash.clone());
        r.pending_tx = Some(tx.clone());
        let state = MessageState::Submitted {
            tx_hash: tx.tx_hash.clone(),
        };
        r.transition(state, now_ms(), detail);
        r.next_attempt_at_ms = now_ms() + self.settings.receipt_poll.as_millis() as u64;
    }

    /// Makes `tx` (same account nonce as the pending one) the pending transaction: stored and
    /// flushed, then broadcast, so a crash re-sends these bytes.
    async fn replace_pending(
        &self,
        r: &mut MessageRecord,
        target: &Target,
        mut tx: PendingTx,
        detail: String,
        filler: bool,
    ) -> Result<(), StepError> {
        tx.sent_at_ms = now_ms();
        if filler {
            r.filler_txs.push(tx.tx_hash.clone());
        }
        self.mark_submitted(r, &tx, Some(detail));
        self.store.save(r, None).await?;
        self.store.flush().await?;
        if let Err(e) = target.chain.broadcast(&tx).await {
            tracing::warn!(error = %e, "broadcast failed; it will be re-sent");
        }
        Ok(())
    }

    async fn transition(
        &self,
        r: &mut MessageRecord,
        state: MessageState,
        detail: Option<String>,
    ) -> Result<(), StepError> {
        // "Received on the destination" by a message a finality violation orphaned is not
        // this burn's delivery: its recipient got nothing, and operators must see that.
        let state = match state {
            MessageState::Delivered => {
                match crate::violations::nonce_taken_by_orphan(&self.store, r).await? {
                    Some(reason) => MessageState::Failed { reason },
                    None => MessageState::Delivered,
                }
            }
            other => other,
        };
        let name = state.name();
        tracing::info!(
            state = name,
            detail = detail.as_deref().unwrap_or(""),
            "transition"
        );
        r.transition(state.clone(), now_ms(), detail);
        self.store.save(r, None).await?;
        // Durable before anything it enables. Signatures collected enable nothing outside
        // the store (a delivery flushes its own record before it is broadcast), and lost in
        // a crash they are collected again: a backlog's hundreds of `Attested` transitions
        // are not each an fsync.
        if state != MessageState::Attested || !r.sent_txs.is_empty() {
            self.store.flush().await?;
        }
        metrics::entered(&self.names, r, name);
        Ok(())
    }

    /// The destination shows the message received by a transaction not ours. That ends the
    /// message only once the receipt is final under the destination's rule: until then it
    /// is checked again later; if a reorg took it away, the message is delivered again (found
    /// by the chaos soak: a user's self-delivery reorged away left the record `delivered`
    /// and the burn never minted).
    async fn received_elsewhere(
        &self,
        r: &mut MessageRecord,
        message: &Message,
        target: &Target,
        detail: String,
    ) -> Result<(), StepError> {
        if target.chain.is_received_final(message).await? {
            return self
                .transition(r, MessageState::Delivered, Some(detail))
                .await;
        }
        if target.chain.is_received(message).await? {
            self.retry_later(
                r,
                &format!("{detail}; waiting for that receipt to be final"),
            );
            self.store.save(r, None).await?;
            return Ok(());
        }
        let detail = format!("{detail}, but a reorg took that receipt away: delivering it again");
        self.transition(r, MessageState::Attested, Some(detail))
            .await
    }

    async fn fail(&self, r: &mut MessageRecord, reason: &str) -> Result<(), StepError> {
        tracing::error!(reason, "message failed for good");
        self.transition(
            r,
            MessageState::Failed {
                reason: reason.to_string(),
            },
            None,
        )
        .await
    }

    async fn skip(&self, r: &mut MessageRecord, reason: String) -> Result<(), StepError> {
        tracing::info!(reason, "message skipped by the relay policy");
        self.transition(r, MessageState::Skipped { reason }, None)
            .await
    }

    /// The destination refused (dry run, co-signing or a reverted delivery): what chain state
    /// says decides what happens, whatever the revert looked like.
    async fn refused(
        &self,
        r: &mut MessageRecord,
        message: &Message,
        target: &Target,
        reason: String,
        from_dry_run: bool,
    ) -> Result<(), StepError> {
        if target.chain.is_received(message).await? {
            let detail = format!("already received on the destination ({reason})");
            return self.received_elsewhere(r, message, target, detail).await;
        }
        let verifier = target.chain.verifier().await?;
        *target.verifier.lock().await = Some((verifier.clone(), now_ms()));
        if let Verifier::Attestation {
            attesters,
            threshold,
        } = &verifier
        {
            if !self.attestation_still_valid(r, message, attesters, *threshold)? {
                r.attestation = None;
                let detail = format!(
                    "the stored attestation no longer satisfies the destination's {threshold} of {} attesters ({reason}): collecting again",
                    attesters.len()
                );
                return self
                    .transition(r, MessageState::Attesting, Some(detail))
                    .await;
            }
        }
        if target.chain.is_paused().await? {
            self.retry_later(r, &format!("the destination is paused ({reason})"));
            self.store.save(r, None).await?;
            return Ok(());
        }
        // A dry run's refusal: the chain may have moved between it and these reads
        // (unpaused between the dry run and `paused()`: an e2e run counted that). Counted
        // only if a dry run made now still fails.
        if from_dry_run && self.dry_run_now(target, r).await? == DryRun::Succeeds {
            self.retry_later(r, &format!("refused ({reason}), but not any more: again"));
            r.next_attempt_at_ms = now_ms();
            self.store.save(r, None).await?;
            return Ok(());
        }
        r.refusals = r.refusals.saturating_add(1);
        tracing::warn!(
            refusals = r.refusals,
            reason,
            "the destination refused the delivery"
        );
        if r.refusals >= self.settings.max_refusals {
            let reason = format!("refused {} times: {reason}", r.refusals);
            return self.fail(r, &reason).await;
        }
        self.retry_later(r, &reason);
        self.store.save(r, None).await?;
        Ok(())
    }

    /// The delivery's dry run as the chain answers it now.
    async fn dry_run_now(&self, target: &Target, r: &MessageRecord) -> Result<DryRun, StepError> {
        let (raw, attestation) = delivery_bytes(r)?;
        Ok(target.chain.simulate_delivery(&raw, &attestation).await?)
    }

    fn attestation_still_valid(
        &self,
        r: &MessageRecord,
        message: &Message,
        set: &[Address],
        threshold: usize,
    ) -> Result<bool, StepError> {
        let (_, attestation) = delivery_bytes(r)?;
        Ok(attestation_satisfies(
            &message.hash(),
            &attestation,
            set,
            threshold,
        ))
    }

    /// The per-account lock, where deliveries use account nonces (not on Solana, so no lock
    /// is held while co-signatures are gathered).
    async fn account_lock<'a>(
        &self,
        target: &'a Target,
    ) -> Option<tokio::sync::MutexGuard<'a, ()>> {
        if target.chain.sequence().is_some() {
            Some(target.submit_lock.lock().await)
        } else {
            None
        }
    }

    /// The account number the next delivery to `target` takes, where its chain has them:
    /// the stored counter (call under the account lock; the caller stores it advanced).
    async fn next_sequence(&self, target: &Target) -> Result<Option<u64>, StepError> {
        if target.chain.sequence().is_none() {
            return Ok(None);
        }
        let stored = self.store.next_nonce(target.chain.domain()).await?;
        Ok(Some(stored.unwrap_or(0)))
    }

    /// Schedules the next attempt: base · 2^attempts, capped, times a jitter in [0.5, 1.5).
    fn retry_later(&self, r: &mut MessageRecord, why: &str) {
        r.last_error = Some(why.to_string());
        let base = self.settings.retry_base.as_millis() as u64;
        let max = self.settings.retry_max.as_millis() as u64;
        let delay = base.saturating_mul(1u64 << r.attempts.min(20)).min(max);
        let jitter = rand::thread_rng().gen_range(0.5..1.5);
        r.attempts = r.attempts.saturating_add(1);
        r.next_attempt_at_ms = now_ms() + (delay as f64 * jitter) as u64;
        tracing::debug!(attempts = r.attempts, why, "retry scheduled");
    }
}

/// The transactions of the current delivery attempt: those sent since the record last
/// became `Attested`. An earlier attempt ended with a receipt already acted on (a revert):
/// read again, it would count once more and end this attempt while its transaction may
/// still land, and the next attempt would be a second delivery.
fn current_attempt(r: &MessageRecord) -> Vec<String> {
    let start = r
        .history
        .iter()
        .rposition(|h| h.state == "attested")
        .map_or(0, |i| i + 1);
    r.history[start..]
        .iter()
        .filter(|h| h.state == "submitted")
        .filter_map(|h| h.tx_hash.clone())
        .collect()
}

/// The stored message and attestation as bytes, for a delivery.
fn delivery_bytes(r: &MessageRecord) -> Result<(Vec<u8>, Vec<u8>), StepError> {
    let decode = |h: &str| {
        hex::decode(h.trim_start_matches("0x")).map_err(|e| StepError::Corrupt(e.to_string()))
    };
    Ok((
        decode(&r.message)?,
        decode(r.attestation.as_deref().unwrap_or_default())?,
    ))
}

mod batch;
#[cfg(test)]
mod model_tests;
pub mod shared_tx;
#[cfg(test)]
mod tests;
