//! Several attested messages for one destination in one transaction, where the destination
//! can take a batch (`Destination::batches`). A record that is, or becomes during a tick,
//! `Attested` for such a destination is parked; the tick's batcher groups the parked records
//! by destination and sends a group when it holds `Settings::max_batch`, when it has waited
//! [`LINGER`] for more, or when the tick's steps are done (a group of one goes alone). So a
//! backlog whose signatures are collected in the tick goes in batches, and a lone transfer
//! waits at most [`LINGER`]. A group is checked as
//! single deliveries are (received already, another burn of its (source, nonce) going first),
//! then dry-run as a whole: if the batch would revert, or the chain has no batch entry point,
//! each record is delivered alone, whose own dry run says which is refused and why.
//!
//! A batch takes one account number, allocated and stored with every member's `Submitted`
//! record and the counter in one sled transaction, then flushed, then broadcast: the same
//! exactly-once rules as a single delivery (DESIGN §6). Each member then follows the shared
//! transaction on its own: a success final under the destination's rule confirms each; a
//! revert sends each back to `Attested` (its next dry run explains it); a member that
//! replaces the stuck batch re-signs its own message at that number, and the others find
//! the number used by another transaction and go again (`sequence_lost`).

use super::{delivery_bytes, Claim, Pipeline, StepError, Target};
use crate::metrics;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::HashMap;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Duration, Instant};
use usd1_core::traits::{BatchDelivery, BatchEntry, ChainError, DryRun, Slot};
use usd1_core::{Domain, Message, MessageRecord, MessageState};
use usd1_runtime::now_ms;

/// How long a group waits for more records of its destination before it goes: a lone
/// transfer is delayed this much at most, a backlog fills groups long before.
const LINGER: Duration = Duration::from_millis(5);

/// A record taken into a batch: its delivery bytes, and the claim on its (source, nonce)
/// held until the submission is stored.
struct Member<'a> {
    record: MessageRecord,
    bytes: (Vec<u8>, Vec<u8>),
    _claim: Claim<'a>,
}

impl Pipeline {
    /// Whether `r` waits for the batcher: `Attested`, for a destination that takes batches.
    pub(super) fn batchable(&self, r: &MessageRecord) -> bool {
        r.state == MessageState::Attested
            && self
                .targets
                .get(&r.destination_domain)
                .is_some_and(|t| t.chain.batches().is_some())
    }

    /// Delivers the records the tick's steps park, grouped by destination: a group goes when
    /// it is full (`max_batch`), when it has waited [`LINGER`] for more, or when the steps
    /// are done. A group of one is delivered alone.
    pub(super) async fn batcher(&self, mut parking: UnboundedReceiver<MessageRecord>) {
        let mut groups: HashMap<Domain, (Vec<MessageRecord>, Instant)> = HashMap::new();
        let mut sending = FuturesUnordered::new();
        let mut open = true;
        while open || !groups.is_empty() || !sending.is_empty() {
            let lingered = groups.values().map(|(_, since)| *since + LINGER).min();
            tokio::select! {
                next = parking.recv(), if open => match next {
                    Some(r) => {
                        let domain = r.destination_domain;
                        let group = groups.entry(domain).or_insert_with(|| (Vec::new(), Instant::now()));
                        group.0.push(r);
                        if group.0.len() >= self.settings.max_batch {
                            if let Some((records, _)) = groups.remove(&domain) {
                                sending.push(self.send_group(domain, records));
                            }
                        }
                    }
                    None => {
                        open = false;
                        for (domain, (records, _)) in groups.drain() {
                            sending.push(self.send_group(domain, records));
                        }
                    }
                },
                _ = tokio::time::sleep_until(lingered.unwrap_or_else(Instant::now)), if lingered.is_some() => {
                    let now = Instant::now();
                    let due: Vec<Domain> = groups
                        .iter()
                        .filter(|(_, (_, since))| *since + LINGER <= now)
                        .map(|(d, _)| *d)
                        .collect();
                    for domain in due {
                        if let Some((records, _)) = groups.remove(&domain) {
                            sending.push(self.send_group(domain, records));
                        }
                    }
                }
                Some(()) = sending.next(), if !sending.is_empty() => {}
            }
        }
    }

    fn send_group(&self, domain: Domain, mut records: Vec<MessageRecord>) -> BoxFuture<'_, ()> {
        if records.len() >= 2 {
            return Box::pin(self.deliver_batch(domain, records));
        }
        Box::pin(async move {
            if let Some(r) = records.pop() {
                self.advance(r, false).await;
            }
        })
    }

    /// Delivers `records` (all `Attested`, all for `domain`) as one batch where it can; the
    /// others, and all of them when the batch cannot go, are stepped alone.
    pub(super) async fn deliver_batch(&self, domain: Domain, records: Vec<MessageRecord>) {
        let alone = match self.try_batch(domain, records).await {
            Ok(alone) => alone,
            Err((e, alone)) => {
                tracing::warn!(destination = domain.0, error = %e, "batch not sent; delivering alone");
                alone
            }
        };
        // One after another, not together: records of one (source, nonce) (a burn and its
        // replacement) stepped at once each find the other deciding and both wait, every
        // time (the model test found it).
        for r in alone {
            self.advance(r, false).await;
        }
    }

    /// Sends what it can of `records` as one batch; returns the records to step alone.
    async fn try_batch(
        &self,
        domain: Domain,
        records: Vec<MessageRecord>,
    ) -> Result<Vec<MessageRecord>, (StepError, Vec<MessageRecord>)> {
        let Some((target, batches)) = self
            .targets
            .get(&domain)
            .and_then(|t| Some((t, t.chain.batches()?)))
        else {
            return Ok(records);
        };
        match batches.supports_batches().await {
            Ok(true) => {}
            Ok(false) => return Ok(records),
            Err(e) => return Err((e.into(), records)),
        }
        let (members, mut alone) = match self.members(target, records).await {
            Ok(split) => split,
            Err((e, records)) => return Err((e, records)),
        };
        if members.len() < 2 {
            alone.extend(members.into_iter().map(|m| m.record));
            return Ok(alone);
        }
        let entries: Vec<BatchEntry<'_>> = members
            .iter()
            .map(|m| BatchEntry {
                message: &m.bytes.0,
                attestation: &m.bytes.1,
            })
            .collect();
        let verdict = batches.simulate_batch(&entries).await;
        if !matches!(verdict, Ok(DryRun::Succeeds)) {
            if let Ok(dry_run) = &verdict {
                tracing::info!(
                    destination = domain.0,
                    size = members.len(),
                    ?dry_run,
                    "the batch would not go; delivering its messages alone"
                );
            }
            drop(entries);
            alone.extend(members.into_iter().map(|m| m.record));
            return match verdict {
                Err(e) => Err((e.into(), alone)),
                Ok(_) => Ok(alone),
            };
        }
        match self.submit_batch(target, batches, &entries, &members).await {
            Ok(()) => Ok(alone),
            Err(e) => {
                drop(entries);
                alone.extend(members.into_iter().map(|m| m.record));
                Err((e, alone))
            }
        }
    }

    /// The records that may go in the batch (claimed), and those to step alone: received
    /// already, another burn of the (source, nonce) deciding or going first.
    async fn members(
        &self,
        target: &Target,
        records: Vec<MessageRecord>,
    ) -> Result<(Vec<Member<'_>>, Vec<MessageRecord>), (StepError, Vec<MessageRecord>)> {
        // Each member's checks read the chain: asked for all of them at once.
        let checked =
            futures_util::future::join_all(records.into_iter().map(|r| self.member(target, r)))
                .await;
        let mut members = Vec::new();
        let mut alone = Vec::new();
        let mut failure = None;
        for check in checked {
            match check {
                Ok(Ok(m)) => members.push(m),
                Ok(Err(r)) => alone.push(r),
                Err((e, r)) => {
                    alone.push(r);
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            None => Ok((members, alone)),
            Some(e) => {
                alone.extend(members.into_iter().map(|m: Member<'_>| m.record));
                Err((e, alone))
            }
        }
    }

    /// `r` as a batch member, or back to be stepped alone.
    async fn member(
        &self,
        target: &Target,
        r: MessageRecord,
    ) -> Result<Result<Member<'_>, MessageRecord>, (StepError, MessageRecord)> {
        let message = match Message::decode_hex(&r.message) {
            Ok(m) => m,
            Err(_) => return Ok(Err(r)),
        };
        let bytes = match delivery_bytes(&r) {
            Ok(b) => b,
            Err(_) => return Ok(Err(r)),
        };
        match target.chain.is_received(&message).await {
            Ok(false) => {}
            Ok(true) => return Ok(Err(r)),
            Err(e) => return Err((e.into(), r)),
        }
        let Some(claim) = self.deciding.claim(r.source_domain, r.nonce) else {
            return Ok(Err(r));
        };
        match self.replacement_going_first(&r).await {
            Ok(None) => Ok(Ok(Member {
                record: r,
                bytes,
                _claim: claim,
            })),
            Ok(Some(_)) => Ok(Err(r)),
            Err(e) => Err((e, r)),
        }
    }

    /// Signs the batch at the account's next number, stores every member `Submitted` with the
    /// counter in one transaction, flushes, then broadcasts.
    async fn submit_batch(
        &self,
        target: &Target,
        batches: &dyn BatchDelivery,
        entries: &[BatchEntry<'_>],
        members: &[Member<'_>],
    ) -> Result<(), StepError> {
        let guard = self.account_lock(target).await;
        let sequence = self.next_sequence(target).await?;
        let mut tx = batches
            .prepare_batch(entries, Slot::first(sequence))
            .await
            .map_err(|e| match e {
                ChainError::Rejected(reason) => {
                    StepError::Chain(ChainError::Rejected(format!("batch not signed: {reason}")))
                }
                other => StepError::Chain(other),
            })?;
        tx.sent_at_ms = now_ms();
        let detail = match sequence {
            Some(n) => format!("in a batch of {}, account nonce {n}", members.len()),
            None => format!("in a batch of {}", members.len()),
        };
        // The bytes are stored once, beside the members: each member keeps the rest.
        let member_tx = tx.without_raw();
        let mut records: Vec<MessageRecord> = members.iter().map(|m| m.record.clone()).collect();
        for r in &mut records {
            r.batch_txs.push(tx.tx_hash.clone());
            self.mark_submitted(r, &member_tx, Some(detail.clone()));
        }
        self.store
            .save_batch(&records, sequence.map(|n| n + 1), &tx)
            .await?;
        drop(guard);
        // Durable before the broadcast, as a single delivery: a crash re-sends these bytes.
        self.store.flush().await?;
        for r in &records {
            metrics::entered(&self.names, r, "submitted");
            tracing::info!(message_hash = %r.message_hash, tx = %tx.tx_hash, %detail, "transition");
        }
        if let Err(e) = target.chain.broadcast(&tx).await {
            tracing::warn!(error = %e, "broadcast failed; it will be re-sent");
        }
        Ok(())
    }
}
