//! The state machine against a fake destination and fake attesters (the e2e tests use
//! real chains and processes; these pin down each transition and the crash windows).

use super::*;
use crate::feed::new_record;
use alloy::signers::{local::PrivateKeySigner, SignerSync};
use async_trait::async_trait;
use std::collections::HashSet;
use std::sync::Mutex as StdMutex;
use usd1_core::state::PendingTx;
use usd1_core::traits::AccountSequence;
use usd1_core::{BurnBody, Signature65, U256};

#[derive(Default)]
struct FakeChain {
    received: StdMutex<HashSet<u64>>,
    signed: StdMutex<Vec<PendingTx>>,
    /// The slot of each delivery signed, in order.
    slots: StdMutex<Vec<Slot>>,
    /// Self-transfers signed to use up a nonce.
    fillers: StdMutex<Vec<PendingTx>>,
    broadcasts: StdMutex<Vec<String>>,
    /// The bytes of each broadcast, in order.
    broadcast_bytes: StdMutex<Vec<String>>,
    /// tx hash → (success, confirmations); final at 2 (this fake chain's finality rule)
    mined: StdMutex<HashMap<String, (bool, u64)>>,
    /// What the next dry runs say (`None`: it would succeed).
    dry_run: StdMutex<Option<DryRun>>,
    /// Said once each, in order, before `dry_run` (the chain moving between two dry runs).
    dry_runs_once: StdMutex<std::collections::VecDeque<DryRun>>,
    /// `prepare_delivery` refuses with this (as Solana's attesters may refuse to co-sign).
    sign_refusal: StdMutex<Option<String>>,
    paused: StdMutex<bool>,
    attesters: StdMutex<Vec<Address>>,
    /// Solana-like: no account nonces, and `prepare_delivery` waits for `cosign_gate`.
    no_account_nonces: bool,
    cosign_gate: Option<Arc<tokio::sync::Barrier>>,
    /// tx hashes that can never land any more (a Solana blockhash past its validity).
    expired: StdMutex<HashSet<String>>,
    /// Nonces of `received` whose receipt is not final yet (a reorg could still take it).
    received_not_final: StdMutex<HashSet<u64>>,
    /// The submitter account's numbers used by transactions in blocks.
    used_sequence: StdMutex<u64>,
    /// Takes batches (`receiveMessages`); `batch_entry_point`: its contract has one.
    batching: bool,
    batch_entry_point: bool,
    /// What the next batch dry runs say (`None`: it would succeed).
    batch_dry_run: StdMutex<Option<DryRun>>,
    /// Each batch signed: its messages' nonces and the transaction.
    batches: StdMutex<Vec<(Vec<u64>, PendingTx)>>,
    /// Nonces our batches skipped as already received.
    skipped: StdMutex<HashSet<u64>>,
    /// How many times a batch's skips were read (its receipt, on a real chain).
    skipped_reads: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl usd1_core::traits::BatchDelivery for FakeChain {
    async fn supports_batches(&self) -> Result<bool, ChainError> {
        Ok(self.batch_entry_point)
    }
    async fn simulate_batch(
        &self,
        _: &[usd1_core::traits::BatchEntry<'_>],
    ) -> Result<DryRun, ChainError> {
        Ok(self
            .batch_dry_run
            .lock()
            .unwrap()
            .clone()
            .unwrap_or(DryRun::Succeeds))
    }
    async fn prepare_batch(
        &self,
        entries: &[usd1_core::traits::BatchEntry<'_>],
        slot: Slot,
    ) -> Result<PendingTx, ChainError> {
        let mut seed = b"batch".to_vec();
        let mut nonces = Vec::new();
        for e in entries {
            seed.extend_from_slice(e.message);
            nonces.push(Message::decode(e.message).unwrap().nonce);
        }
        seed.extend_from_slice(&slot.sequence.unwrap_or(u64::MAX).to_be_bytes());
        let tx = PendingTx {
            tx_hash: format!("{:#x}", alloy::primitives::keccak256(seed)),
            // A batch's bytes are long (each member's message and attestation).
            raw: format!("0x02{}", "ba".repeat(600)),
            sequence: slot.sequence,
            sent_at_ms: 0,
            valid_until: None,
        };
        self.batches.lock().unwrap().push((nonces, tx.clone()));
        Ok(tx)
    }
    async fn skipped(&self, _: &str) -> Result<Vec<(Domain, u64)>, ChainError> {
        self.skipped_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let skipped = self.skipped.lock().unwrap();
        Ok(skipped.iter().map(|n| (Domain(0), *n)).collect())
    }
}

#[async_trait]
impl Destination for FakeChain {
    fn domain(&self) -> Domain {
        Domain(6)
    }
    async fn is_received(&self, m: &Message) -> Result<bool, ChainError> {
        Ok(self.received.lock().unwrap().contains(&m.nonce))
    }
    async fn is_received_final(&self, m: &Message) -> Result<bool, ChainError> {
        Ok(self.is_received(m).await?
            && !self.received_not_final.lock().unwrap().contains(&m.nonce))
    }
    async fn simulate_delivery(&self, _: &[u8], _: &[u8]) -> Result<DryRun, ChainError> {
        if let Some(once) = self.dry_runs_once.lock().unwrap().pop_front() {
            return Ok(once);
        }
        Ok(self
            .dry_run
            .lock()
            .unwrap()
            .clone()
            .unwrap_or(DryRun::Succeeds))
    }
    async fn is_paused(&self) -> Result<bool, ChainError> {
        Ok(*self.paused.lock().unwrap())
    }
    fn sequence(&self) -> Option<&dyn AccountSequence> {
        (!self.no_account_nonces).then_some(self as &dyn AccountSequence)
    }
    fn batches(&self) -> Option<&dyn usd1_core::traits::BatchDelivery> {
        self.batching
            .then_some(self as &dyn usd1_core::traits::BatchDelivery)
    }
    async fn prepare_delivery(
        &self,
        message: &[u8],
        _: &usd1_core::proof::Proof,
        slot: Slot,
    ) -> Result<usd1_core::proof::Prepared, ChainError> {
        if let Some(reason) = self.sign_refusal.lock().unwrap().clone() {
            return Err(ChainError::Rejected(reason));
        }
        if let Some(gate) = &self.cosign_gate {
            // Like waiting for attesters' co-signatures: every delivery must get here at
            // once for any of them to go on.
            gate.wait().await;
        }
        let mut seed = message.to_vec();
        seed.extend_from_slice(&slot.sequence.unwrap_or(u64::MAX).to_be_bytes());
        seed.extend_from_slice(&slot.attempt.to_be_bytes());
        let tx = PendingTx {
            tx_hash: format!("{:#x}", alloy::primitives::keccak256(seed)),
            raw: "0x00".into(),
            sequence: slot.sequence,
            sent_at_ms: 0,
            valid_until: None,
        };
        self.signed.lock().unwrap().push(tx.clone());
        self.slots.lock().unwrap().push(slot);
        Ok(usd1_core::proof::Prepared::Signed(tx))
    }
    async fn broadcast(&self, tx: &PendingTx) -> Result<(), ChainError> {
        self.broadcasts.lock().unwrap().push(tx.tx_hash.clone());
        self.broadcast_bytes.lock().unwrap().push(tx.raw.clone());
        Ok(())
    }
    async fn tx_status(
        &self,
        tx_hash: &str,
        _valid_until: Option<u64>,
    ) -> Result<TxStatus, ChainError> {
        if self.expired.lock().unwrap().contains(tx_hash) {
            return Ok(TxStatus::Expired);
        }
        Ok(match self.mined.lock().unwrap().get(tx_hash) {
            Some((success, confirmations)) => TxStatus::Included {
                success: *success,
                block: 1,
                is_final: *confirmations >= 2,
                fee_paid: 1,
            },
            None => TxStatus::Unknown,
        })
    }
    async fn verifier(&self) -> Result<Verifier, ChainError> {
        Ok(Verifier::Attestation {
            attesters: self.attesters.lock().unwrap().clone(),
            threshold: 2,
        })
    }
}

#[async_trait]
impl AccountSequence for FakeChain {
    async fn next_on_chain(&self) -> Result<u64, ChainError> {
        Ok(0)
    }
    async fn used_on_chain(&self) -> Result<u64, ChainError> {
        Ok(*self.used_sequence.lock().unwrap())
    }
    async fn sign_filler(&self, slot: Slot) -> Result<PendingTx, ChainError> {
        let tx = PendingTx {
            tx_hash: format!("{:#x}", B256::with_last_byte(0xf0 + slot.attempt as u8)),
            raw: "0x01".into(),
            sequence: slot.sequence,
            sent_at_ms: 0,
            valid_until: None,
        };
        self.fillers.lock().unwrap().push(tx.clone());
        Ok(tx)
    }
}

/// No destination here takes co-signatures.
struct NoCoSigners;

#[async_trait]
impl crate::proof::CoSigners for NoCoSigners {
    async fn reachable(&self) -> Vec<(String, [u8; 32])> {
        Vec::new()
    }
    async fn cosign(
        &self,
        _: &str,
        _: &[u8; 32],
        _: &B256,
        _: &[u8],
    ) -> Result<[u8; 64], crate::proof::CoSignError> {
        unreachable!("no destination here takes co-signatures")
    }
}

#[derive(Default)]
struct FakeAttesters(StdMutex<Vec<Signature65>>);

#[async_trait]
impl SignatureSource for FakeAttesters {
    async fn collect(&self, _: &B256) -> Vec<Signature65> {
        self.0.lock().unwrap().clone()
    }
}

struct Harness {
    chain: Arc<FakeChain>,
    attesters: Arc<FakeAttesters>,
    keys: Vec<PrivateKeySigner>,
    db: sled::Db,
}

impl Harness {
    fn new() -> Self {
        let keys: Vec<PrivateKeySigner> = (1..=3u8)
            .map(|i| PrivateKeySigner::from_bytes(&B256::with_last_byte(i)).unwrap())
            .collect();
        let chain = Arc::new(FakeChain {
            attesters: StdMutex::new(keys.iter().map(|k| k.address()).collect()),
            ..Default::default()
        });
        let db = sled::Config::new().temporary(true).open().unwrap();
        Self {
            chain,
            attesters: Arc::default(),
            keys,
            db,
        }
    }

    /// A pipeline over the same store and chain: a new one is a relayer restart.
    fn pipeline(&self, stuck_after: Duration) -> Pipeline {
        self.pipeline_with(stuck_after, usd1_config::RelayPolicyConfig::default())
    }

    fn pipeline_with(
        &self,
        stuck_after: Duration,
        policy: usd1_config::RelayPolicyConfig,
    ) -> Pipeline {
        let target = Target {
            chain: self.chain.clone(),
            submit_lock: Mutex::new(()),
            verifier: Mutex::new(None),
        };
        Pipeline {
            store: Store::open(self.db.clone()).unwrap(),
            targets: HashMap::from([(Domain(6), target)]),
            signatures: self.attesters.clone(),
            cosigners: Arc::new(NoCoSigners),
            settings: Settings {
                max_refusals: policy.max_refusals,
                retry_base: Duration::ZERO,
                retry_max: Duration::ZERO,
                stuck_after,
                receipt_poll: Duration::ZERO,
                max_concurrent_steps: 64,
                steps_per_tick: 1,
                max_batch: 1,
            },
            names: Default::default(),
            policy: RelayPolicy::new(
                &policy,
                HashMap::from([(Domain(0), SENDER), (Domain(6), RECIPIENT)]),
            )
            .unwrap(),
            deciding: Default::default(),
            shared: Default::default(),
        }
    }

    fn sign_with(&self, n: usize, m: &Message) {
        let h = m.hash();
        *self.attesters.0.lock().unwrap() = self.keys[..n]
            .iter()
            .map(|k| Signature65::from_signature(&k.sign_hash_sync(&h).unwrap()).unwrap())
            .collect();
    }
}

/// The TokenMessengers of domains 0 and 6, as the harness's relay policy knows them.
const SENDER: B256 = B256::repeat_byte(4);
const RECIPIENT: B256 = B256::repeat_byte(5);

fn message(nonce: u64) -> Message {
    let body = BurnBody {
        version: 0,
        burn_token: B256::repeat_byte(1),
        mint_recipient: B256::repeat_byte(2),
        amount: U256::from(10_000_000u64),
        message_sender: B256::repeat_byte(3),
    };
    Message {
        version: 0,
        source_domain: Domain(0),
        destination_domain: Domain(6),
        nonce,
        sender: SENDER,
        recipient: RECIPIENT,
        destination_caller: B256::ZERO,
        body: body.encode(),
    }
}

async fn observe(p: &Pipeline, m: &Message) {
    p.store
        .observe(&new_record(m, &m.encode(), "0x00", 1, 0))
        .await
        .unwrap();
}

async fn state(p: &Pipeline, m: &Message) -> MessageState {
    p.store.get(&m.hash()).await.unwrap().unwrap().state
}

const NEVER: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_message_is_attested_submitted_once_and_confirmed() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(3, &m);
    p.tick().await.unwrap();
    assert_eq!(state(&p, &m).await, MessageState::Attested);
    p.tick().await.unwrap();
    let tx = h.chain.signed.lock().unwrap()[0].tx_hash.clone();
    assert_eq!(
        state(&p, &m).await,
        MessageState::Submitted {
            tx_hash: tx.clone()
        }
    );
    assert_eq!(
        p.store.next_nonce(Domain(6)).await.unwrap(),
        Some(1),
        "nonce counter persisted with the submission"
    );
    h.chain.mined.lock().unwrap().insert(tx.clone(), (true, 1));
    p.tick().await.unwrap();
    assert!(
        matches!(state(&p, &m).await, MessageState::Submitted { .. }),
        "1 of 2 confirmations"
    );
    h.chain.mined.lock().unwrap().insert(tx.clone(), (true, 2));
    p.tick().await.unwrap();
    assert_eq!(state(&p, &m).await, MessageState::Confirmed { tx_hash: tx });
    assert_eq!(
        h.chain.signed.lock().unwrap().len(),
        1,
        "exactly one delivery signed"
    );
    let history: Vec<String> = p
        .store
        .get(&m.hash())
        .await
        .unwrap()
        .unwrap()
        .history
        .into_iter()
        .map(|e| e.state)
        .collect();
    assert_eq!(
        history,
        ["observed", "attested", "submitted", "included", "confirmed"]
    );
}

#[tokio::test]
async fn below_threshold_it_waits_then_completes() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(1, &m);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    let r = p.store.get(&m.hash()).await.unwrap().unwrap();
    assert_eq!(r.state, MessageState::Attesting);
    assert!(r.attempts >= 1, "retry persisted");
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    assert_eq!(state(&p, &m).await, MessageState::Attested);
}

#[tokio::test]
async fn a_message_already_received_is_delivered_without_a_transaction() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(7);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    h.chain.received.lock().unwrap().insert(7);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    assert_eq!(state(&p, &m).await, MessageState::Delivered);
    assert!(h.chain.signed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_restart_after_submitting_resends_the_same_transaction() {
    let h = Harness::new();
    let m = message(1);
    {
        let p = h.pipeline(NEVER);
        observe(&p, &m).await;
        h.sign_with(2, &m);
        p.tick().await.unwrap();
        p.tick().await.unwrap();
    }
    let first = h.chain.signed.lock().unwrap()[0].tx_hash.clone();
    let p = h.pipeline(NEVER);
    p.tick().await.unwrap();
    assert_eq!(
        h.chain.signed.lock().unwrap().len(),
        1,
        "nothing new signed after the restart"
    );
    assert_eq!(
        h.chain.broadcasts.lock().unwrap().last(),
        Some(&first),
        "the stored bytes are re-sent"
    );
}

#[tokio::test]
async fn a_stuck_transaction_is_replaced_at_the_same_nonce_with_a_higher_fee() {
    let h = Harness::new();
    let p = h.pipeline(Duration::ZERO);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    let signed = h.chain.signed.lock().unwrap().clone();
    assert_eq!(signed.len(), 2);
    assert_eq!(signed[0].sequence, signed[1].sequence);
    // The adapter raises its fee bid with the try (EVM: `raised`, tested there).
    let slots = h.chain.slots.lock().unwrap().clone();
    assert!(slots[1].attempt > slots[0].attempt, "{slots:?}");
    // The first one is what got mined after all: it still counts.
    h.chain
        .mined
        .lock()
        .unwrap()
        .insert(signed[0].tx_hash.clone(), (true, 5));
    p.tick().await.unwrap();
    assert_eq!(
        state(&p, &m).await,
        MessageState::Confirmed {
            tx_hash: signed[0].tx_hash.clone()
        }
    );
}

async fn record(p: &Pipeline, m: &Message) -> MessageRecord {
    p.store.get(&m.hash()).await.unwrap().unwrap()
}

fn reverts(reason: &str) -> Option<DryRun> {
    Some(DryRun::Reverts {
        reason: reason.into(),
    })
}

#[tokio::test]
async fn a_refusal_while_paused_is_retried_uncounted_and_unexplained_ones_fail_at_the_bound() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    // Any revert text at all: what it means is read from the chain.
    *h.chain.dry_run.lock().unwrap() = reverts("Pausable: paused");
    *h.chain.paused.lock().unwrap() = true;
    for _ in 0..10 {
        p.tick().await.unwrap();
    }
    let r = record(&p, &m).await;
    assert_eq!(
        r.state,
        MessageState::Attested,
        "paused: waits, for as long as it takes"
    );
    assert_eq!(r.refusals, 0);
    assert!(r.last_error.unwrap().contains("paused"));

    *h.chain.paused.lock().unwrap() = false;
    *h.chain.dry_run.lock().unwrap() = reverts("Invalid handler");
    for _ in 0..4 {
        p.tick().await.unwrap();
    }
    let r = record(&p, &m).await;
    assert_eq!(r.state, MessageState::Attested);
    assert_eq!(r.refusals, 4);
    assert_eq!(r.last_error.as_deref(), Some("Invalid handler"));
    p.tick().await.unwrap();
    assert_eq!(
        state(&p, &m).await,
        MessageState::Failed {
            reason: "refused 5 times: Invalid handler".into()
        }
    );
    assert!(p.store.active().await.unwrap().is_empty());
    assert!(h.chain.signed.lock().unwrap().is_empty(), "nothing sent");
}

#[tokio::test]
async fn a_refusal_after_a_stored_signer_was_disabled_collects_again_and_delivers() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(3, &m);
    p.tick().await.unwrap();
    let stored = record(&p, &m).await.attestation.unwrap();
    // The destination disables the lowest signer, whose signature is first in the stored
    // attestation; it refuses with a text no selector table knows.
    let h_ = m.hash();
    let raw = hex::decode(stored.trim_start_matches("0x")).unwrap();
    let first = Signature65::parse(&raw[..65])
        .unwrap()
        .recover(&h_)
        .unwrap();
    h.chain.attesters.lock().unwrap().retain(|a| *a != first);
    *h.chain.dry_run.lock().unwrap() = reverts("Invalid signature: not attester");
    p.tick().await.unwrap();
    let r = record(&p, &m).await;
    assert_eq!(r.state, MessageState::Attesting, "collecting again");
    assert_eq!(r.refusals, 0, "explained by chain state: not counted");
    *h.chain.dry_run.lock().unwrap() = None;
    p.tick().await.unwrap();
    let r = record(&p, &m).await;
    assert_eq!(r.state, MessageState::Attested);
    let again = hex::decode(r.attestation.unwrap().trim_start_matches("0x")).unwrap();
    let enabled = h.chain.attesters.lock().unwrap().clone();
    assert!(attestation_satisfies(&h_, &again, &enabled, 2));
    p.tick().await.unwrap();
    assert!(matches!(
        state(&p, &m).await,
        MessageState::Submitted { .. }
    ));
}

#[tokio::test]
async fn a_refusal_of_a_message_received_meanwhile_is_delivered() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(4);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    // A destination that says nothing useful; usedNonces does.
    *h.chain.dry_run.lock().unwrap() = reverts("reverted without a reason");
    h.chain.sign_refusal.lock().unwrap().replace("x".into());
    h.chain.received.lock().unwrap().insert(4);
    p.tick().await.unwrap();
    assert_eq!(state(&p, &m).await, MessageState::Delivered);
}

/// Unpaused between the dry run and the relayer's reading of `paused()` (an e2e run
/// counted that as a refusal): a refusal is counted only if a dry run made after the chain
/// was read still fails.
#[tokio::test]
async fn a_refusal_the_chain_no_longer_makes_is_not_counted() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    let paused = reverts("Pausable: paused");
    h.chain.dry_runs_once.lock().unwrap().extend(paused);
    p.tick().await.unwrap();
    let r = record(&p, &m).await;
    assert_eq!(r.refusals, 0, "{:?}", r.last_error);
    p.tick().await.unwrap();
    assert!(matches!(
        state(&p, &m).await,
        MessageState::Submitted { .. }
    ));
}

#[tokio::test]
async fn a_refused_co_signature_counts_like_any_refusal() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    *h.chain.sign_refusal.lock().unwrap() = Some("422: not canonical".into());
    for _ in 0..5 {
        p.tick().await.unwrap();
    }
    assert_eq!(
        state(&p, &m).await,
        MessageState::Failed {
            reason: "refused 5 times: 422: not canonical".into()
        }
    );
}

#[tokio::test]
async fn a_delivery_above_the_gas_cap_is_skipped_and_nothing_is_sent() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    *h.chain.dry_run.lock().unwrap() = Some(DryRun::TooCostly {
        reason: "needs 4700000 gas".into(),
    });
    p.tick().await.unwrap();
    assert_eq!(
        state(&p, &m).await,
        MessageState::Skipped {
            reason: "needs 4700000 gas".into()
        }
    );
    assert!(h.chain.signed.lock().unwrap().is_empty());
    assert!(p.store.active().await.unwrap().is_empty(), "terminal");
}

#[tokio::test]
async fn messages_outside_the_relay_policy_are_skipped_before_any_work() {
    let h = Harness::new();
    let p = h.pipeline_with(
        NEVER,
        usd1_config::RelayPolicyConfig {
            min_amount: "1".into(),
            ..Default::default()
        },
    );
    let mut spam = message(1);
    spam.sender = B256::repeat_byte(0xee);
    let mut dust = message(2);
    dust.body = BurnBody {
        amount: U256::from(1u64),
        ..dust.burn_body().unwrap()
    }
    .encode();
    let fine = message(3);
    for m in [&spam, &dust, &fine] {
        observe(&p, m).await;
    }
    h.sign_with(2, &fine);
    p.tick().await.unwrap();
    for m in [&spam, &dust] {
        let r = record(&p, m).await;
        assert!(
            matches!(r.state, MessageState::Skipped { .. }),
            "{:?}",
            r.state
        );
        assert!(r.attestation.is_none(), "no signatures even collected");
    }
    assert!(record(&p, &dust).await.history.last().is_some());
    assert_eq!(state(&p, &fine).await, MessageState::Attested);
}

#[tokio::test]
async fn a_reverted_delivery_counts_and_the_message_fails_at_the_bound() {
    let h = Harness::new();
    let p = h.pipeline_with(
        NEVER,
        usd1_config::RelayPolicyConfig {
            max_refusals: 2,
            ..Default::default()
        },
    );
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    for round in 0..2 {
        p.tick().await.unwrap();
        let tx = h.chain.signed.lock().unwrap()[round].tx_hash.clone();
        h.chain.mined.lock().unwrap().insert(tx, (false, 3));
        p.tick().await.unwrap();
    }
    let r = record(&p, &m).await;
    assert!(
        matches!(r.state, MessageState::Failed { .. }),
        "{:?}",
        r.state
    );
    assert_eq!(h.chain.signed.lock().unwrap().len(), 2, "no third attempt");
}

#[tokio::test]
async fn no_lock_is_held_while_co_signatures_are_gathered() {
    let keys: Vec<PrivateKeySigner> = (1..=3u8)
        .map(|i| PrivateKeySigner::from_bytes(&B256::with_last_byte(i)).unwrap())
        .collect();
    let mut h = Harness::new();
    h.chain = Arc::new(FakeChain {
        attesters: StdMutex::new(keys.iter().map(|k| k.address()).collect()),
        no_account_nonces: true,
        cosign_gate: Some(Arc::new(tokio::sync::Barrier::new(2))),
        ..Default::default()
    });
    let p = h.pipeline(NEVER);
    let (a, b) = (message(1), message(2));
    observe(&p, &a).await;
    observe(&p, &b).await;
    // Both signed by every attester.
    let sigs: Vec<Signature65> = [&a, &b]
        .iter()
        .flat_map(|m| {
            let hash = m.hash();
            keys.iter().map(move |k| {
                Signature65::from_signature(&k.sign_hash_sync(&hash).unwrap()).unwrap()
            })
        })
        .collect();
    *h.attesters.0.lock().unwrap() = sigs;
    p.tick().await.unwrap();
    // Each delivery waits until the other one is waiting too: under a lock this never ends.
    tokio::time::timeout(Duration::from_secs(10), p.tick())
        .await
        .expect("two deliveries gather co-signatures at once")
        .unwrap();
    assert!(matches!(
        state(&p, &a).await,
        MessageState::Submitted { .. }
    ));
    assert!(matches!(
        state(&p, &b).await,
        MessageState::Submitted { .. }
    ));
}

#[tokio::test]
async fn our_reverted_delivery_after_someone_else_delivered_is_delivered() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(3);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    let tx = h.chain.signed.lock().unwrap()[0].tx_hash.clone();
    h.chain.received.lock().unwrap().insert(3);
    h.chain.mined.lock().unwrap().insert(tx, (false, 3));
    p.tick().await.unwrap();
    assert_eq!(state(&p, &m).await, MessageState::Delivered);
}

#[tokio::test]
async fn nonces_are_assigned_in_sequence_across_messages() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    for n in 0..5 {
        let m = message(n);
        observe(&p, &m).await;
    }
    // Each message needs its own signatures: sign them all by making the fake sign every hash.
    for n in 0..5 {
        h.sign_with(2, &message(n));
        p.tick().await.unwrap();
    }
    p.tick().await.unwrap();
    let mut nonces: Vec<u64> = h
        .chain
        .signed
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.sequence.unwrap())
        .collect();
    nonces.sort();
    assert_eq!(nonces, vec![0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn an_expired_transaction_is_rebuilt_at_once() {
    let h = Harness::new();
    let p = h.pipeline(NEVER); // no fee-bump replacement would ever fire
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    let first = h.chain.signed.lock().unwrap()[0].tx_hash.clone();
    h.chain.expired.lock().unwrap().insert(first.clone());
    p.tick().await.unwrap();
    let signed = h.chain.signed.lock().unwrap().clone();
    assert_eq!(signed.len(), 2, "rebuilt although stuck_after never passed");
    let r = p.store.get(&m.hash()).await.unwrap().unwrap();
    assert_eq!(
        r.state,
        MessageState::Submitted {
            tx_hash: signed[1].tx_hash.clone()
        }
    );
    assert!(r
        .history
        .last()
        .unwrap()
        .detail
        .as_deref()
        .unwrap()
        .contains("expired"));
}

#[tokio::test]
async fn a_delivery_that_cannot_be_mined_after_someone_else_delivered_fills_its_nonce() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(5);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    let ours = h.chain.signed.lock().unwrap()[0].clone();
    // Ours is never mined (too low a fee, an unfunded account); another relayer delivers.
    h.chain.received.lock().unwrap().insert(5);
    p.tick().await.unwrap();
    let fillers = h.chain.fillers.lock().unwrap().clone();
    assert_eq!(fillers.len(), 1, "a self-transfer at our nonce");
    assert_eq!(fillers[0].sequence, ours.sequence);
    let r = record(&p, &m).await;
    assert!(
        matches!(r.state, MessageState::Submitted { .. }),
        "{:?}",
        r.state
    );
    assert_eq!(r.filler_txs, vec![fillers[0].tx_hash.clone()]);
    assert_eq!(
        h.chain.broadcasts.lock().unwrap().last(),
        Some(&fillers[0].tx_hash)
    );
    // Still waiting: no second filler, the same bytes re-sent.
    p.tick().await.unwrap();
    assert_eq!(h.chain.fillers.lock().unwrap().len(), 1);
    h.chain
        .mined
        .lock()
        .unwrap()
        .insert(fillers[0].tx_hash.clone(), (true, 1));
    p.tick().await.unwrap();
    let r = record(&p, &m).await;
    assert_eq!(r.state, MessageState::Delivered);
    assert!(r
        .history
        .last()
        .unwrap()
        .detail
        .as_deref()
        .unwrap()
        .contains("filled"));
    assert_eq!(
        h.chain.signed.lock().unwrap().len(),
        1,
        "no second delivery"
    );
}

#[tokio::test]
async fn a_landing_not_yet_final_is_recorded_once_in_the_history() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    let tx = h.chain.signed.lock().unwrap()[0].tx_hash.clone();
    h.chain.mined.lock().unwrap().insert(tx.clone(), (true, 1));
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    let included: Vec<_> = record(&p, &m)
        .await
        .history
        .into_iter()
        .filter(|e| e.state == "included")
        .collect();
    assert_eq!(included.len(), 1);
    assert_eq!(included[0].tx_hash.as_deref(), Some(tx.as_str()));
    h.chain.mined.lock().unwrap().insert(tx.clone(), (true, 2));
    p.tick().await.unwrap();
    let states: Vec<String> = record(&p, &m)
        .await
        .history
        .into_iter()
        .map(|e| e.state)
        .collect();
    assert_eq!(
        states,
        ["observed", "attested", "submitted", "included", "confirmed"]
    );
}

#[tokio::test]
async fn a_receipt_by_someone_else_ends_the_message_only_once_final() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(8);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    // Someone else (the user) delivered it; the block is not final yet.
    h.chain.received.lock().unwrap().insert(8);
    h.chain.received_not_final.lock().unwrap().insert(8);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    assert_eq!(state(&p, &m).await, MessageState::Attested, "not ended");
    assert!(
        h.chain.signed.lock().unwrap().is_empty(),
        "nothing sent meanwhile"
    );

    // A reorg takes that receipt away: the relayer delivers it itself.
    h.chain.received.lock().unwrap().remove(&8);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    assert!(
        matches!(state(&p, &m).await, MessageState::Submitted { .. }),
        "{:?}",
        state(&p, &m).await
    );
    assert_eq!(h.chain.signed.lock().unwrap().len(), 1);

    // Had it stayed and become final, the message would have ended delivered.
    let m2 = message(9);
    observe(&p, &m2).await;
    h.sign_with(2, &m2);
    h.chain.received.lock().unwrap().insert(9);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    assert_eq!(state(&p, &m2).await, MessageState::Delivered);
}

#[tokio::test]
async fn a_record_whose_inputs_are_all_there_goes_from_observed_to_submitted_in_one_tick() {
    let h = Harness::new();
    let mut p = h.pipeline(NEVER);
    p.settings.steps_per_tick = STEPS_PER_TICK;
    p.settings.receipt_poll = Duration::from_secs(60);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    let signed = h.chain.signed.lock().unwrap().clone();
    assert_eq!(signed.len(), 1, "signed in the tick that collected");
    assert_eq!(
        state(&p, &m).await,
        MessageState::Submitted {
            tx_hash: signed[0].tx_hash.clone()
        }
    );
    assert_eq!(
        h.chain.broadcasts.lock().unwrap().clone(),
        vec![signed[0].tx_hash.clone()],
        "broadcast once; the receipt is checked a poll later, not in the same tick"
    );
}

#[tokio::test]
async fn a_record_waiting_for_signatures_takes_one_step_per_tick() {
    let h = Harness::new();
    let mut p = h.pipeline(NEVER);
    p.settings.steps_per_tick = STEPS_PER_TICK;
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(1, &m); // below the threshold of 2
    p.tick().await.unwrap();
    assert_eq!(state(&p, &m).await, MessageState::Attesting);
    assert!(h.chain.signed.lock().unwrap().is_empty());
}

/// Found by the model once records advanced several states per tick: a burn and its
/// replacement (same source and nonce) decided in the same tick which goes first, each
/// reading the other before it was submitted, and both were sent.
#[tokio::test]
async fn a_burn_and_its_replacement_decided_in_one_tick_send_one_delivery() {
    let h = Harness::new();
    let mut p = h.pipeline(NEVER);
    p.settings.steps_per_tick = STEPS_PER_TICK;
    p.settings.receipt_poll = Duration::from_secs(60);
    let a = message(1);
    let mut b = a.clone();
    b.body = BurnBody {
        amount: U256::from(20_000_000u64),
        ..BurnBody::decode(&a.body).unwrap()
    }
    .encode();
    observe(&p, &a).await;
    observe(&p, &b).await;
    let both: Vec<Signature65> = [&a, &b]
        .iter()
        .flat_map(|m| {
            h.keys[..2].iter().map(|k| {
                Signature65::from_signature(&k.sign_hash_sync(&m.hash()).unwrap()).unwrap()
            })
        })
        .collect();
    *h.attesters.0.lock().unwrap() = both;
    for _ in 0..3 {
        p.tick().await.unwrap();
    }
    assert_eq!(
        h.chain.signed.lock().unwrap().len(),
        1,
        "one delivery of the (source, nonce), not one per burn"
    );
}

#[tokio::test]
async fn no_delivery_is_sent_while_another_burn_of_its_source_and_nonce_is_being_decided() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    assert_eq!(state(&p, &m).await, MessageState::Attested);
    let claim = p.deciding.claim(Domain(0), 1).expect("free");
    assert!(p.deciding.claim(Domain(0), 1).is_none(), "one at a time");
    p.tick().await.unwrap();
    assert!(h.chain.signed.lock().unwrap().is_empty());
    assert_eq!(state(&p, &m).await, MessageState::Attested);
    drop(claim);
    p.tick().await.unwrap();
    assert_eq!(
        h.chain.signed.lock().unwrap().len(),
        1,
        "sent once released"
    );
}

/// Another transaction of the submitter account (an operator's, by hand) took the number of
/// a delivery in flight: the delivery can never be mined, so it goes again at a new number,
/// instead of being re-sent at the used one for ever.
#[tokio::test]
async fn a_delivery_whose_account_nonce_another_transaction_used_goes_again_at_a_new_one() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    let first = h.chain.signed.lock().unwrap()[0].clone();
    assert_eq!(first.sequence, Some(0));
    assert!(matches!(
        state(&p, &m).await,
        MessageState::Submitted { .. }
    ));

    *h.chain.used_sequence.lock().unwrap() = 1;
    for _ in 0..3 {
        p.tick().await.unwrap();
    }
    let signed = h.chain.signed.lock().unwrap().clone();
    assert_eq!(signed.len(), 2, "sent again once: {signed:?}");
    assert_eq!(signed[1].sequence, Some(1), "at the next number");
    assert_eq!(
        state(&p, &m).await,
        MessageState::Submitted {
            tx_hash: signed[1].tx_hash.clone()
        }
    );
    let r = record(&p, &m).await;
    assert!(
        r.history.iter().any(|e| e
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("account nonce 0 was used"))),
        "the history says why: {:?}",
        r.history
    );
}

/// The same, when the message was meanwhile delivered by someone else: nothing is sent again.
#[tokio::test]
async fn a_used_account_nonce_with_the_message_delivered_elsewhere_ends_delivered() {
    let h = Harness::new();
    let p = h.pipeline(NEVER);
    let m = message(1);
    observe(&p, &m).await;
    h.sign_with(2, &m);
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    *h.chain.used_sequence.lock().unwrap() = 1;
    h.chain.received.lock().unwrap().insert(m.nonce);
    p.tick().await.unwrap();
    assert_eq!(h.chain.signed.lock().unwrap().len(), 1);
    assert!(
        h.chain.fillers.lock().unwrap().is_empty(),
        "no filler: the number is used"
    );
    assert_eq!(state(&p, &m).await, MessageState::Delivered);
}

/// A harness whose chain takes batches (its contract has `receiveMessages` when
/// `entry_point`), and a pipeline that batches up to 20.
fn batching(entry_point: bool, stuck_after: Duration) -> (Harness, Pipeline) {
    let mut h = Harness::new();
    let chain = FakeChain {
        attesters: StdMutex::new(h.keys.iter().map(|k| k.address()).collect()),
        batching: true,
        batch_entry_point: entry_point,
        ..Default::default()
    };
    h.chain = Arc::new(chain);
    let mut p = h.pipeline(stuck_after);
    p.settings.max_batch = 20;
    (h, p)
}

/// Observed and attested (each signed by two attesters) in one tick, ready to deliver.
async fn attested(h: &Harness, p: &Pipeline, nonces: &[u64]) -> Vec<Message> {
    let messages: Vec<Message> = nonces.iter().map(|n| message(*n)).collect();
    let mut signatures = Vec::new();
    for m in &messages {
        observe(p, m).await;
        let hash = m.hash();
        for k in &h.keys[..2] {
            signatures
                .push(Signature65::from_signature(&k.sign_hash_sync(&hash).unwrap()).unwrap());
        }
    }
    // The fake attesters answer every message with all of these: each message's attestation
    // keeps the two that recover to attesters over its own hash.
    *h.attesters.0.lock().unwrap() = signatures;
    p.tick().await.unwrap();
    for m in &messages {
        assert_eq!(state(p, m).await, MessageState::Attested);
    }
    messages
}

#[tokio::test]
async fn attested_messages_for_one_destination_go_in_one_transaction_at_one_nonce() {
    let (h, p) = batching(true, NEVER);
    let messages = attested(&h, &p, &[1, 2, 3]).await;
    p.tick().await.unwrap();
    let batches = h.chain.batches.lock().unwrap().clone();
    assert_eq!(batches.len(), 1, "one batch: {batches:?}");
    let (mut nonces, tx) = batches[0].clone();
    nonces.sort();
    assert_eq!(nonces, vec![1, 2, 3]);
    assert_eq!(tx.sequence, Some(0));
    assert!(
        h.chain.signed.lock().unwrap().is_empty(),
        "no single delivery"
    );
    assert_eq!(
        *h.chain.broadcasts.lock().unwrap(),
        vec![tx.tx_hash.clone()]
    );
    assert_eq!(p.store.next_nonce(Domain(6)).await.unwrap(), Some(1));
    for m in &messages {
        let r = record(&p, m).await;
        assert_eq!(
            r.state,
            MessageState::Submitted {
                tx_hash: tx.tx_hash.clone()
            }
        );
        assert_eq!(r.pending_tx.as_ref().map(|t| &t.tx_hash), Some(&tx.tx_hash));
    }
    h.chain
        .mined
        .lock()
        .unwrap()
        .insert(tx.tx_hash.clone(), (true, 5));
    p.tick().await.unwrap();
    for m in &messages {
        assert_eq!(
            state(&p, m).await,
            MessageState::Confirmed {
                tx_hash: tx.tx_hash.clone()
            }
        );
    }
}

#[tokio::test]
async fn a_batch_that_would_revert_goes_as_single_deliveries() {
    let (h, p) = batching(true, NEVER);
    let messages = attested(&h, &p, &[1, 2]).await;
    *h.chain.batch_dry_run.lock().unwrap() = reverts("SignerNotAttester");
    p.tick().await.unwrap();
    assert!(h.chain.batches.lock().unwrap().is_empty());
    let mut sequences: Vec<_> = h
        .chain
        .signed
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.sequence)
        .collect();
    sequences.sort();
    assert_eq!(
        sequences,
        vec![Some(0), Some(1)],
        "each alone, at its own number"
    );
    for m in &messages {
        assert!(matches!(state(&p, m).await, MessageState::Submitted { .. }));
    }
}

#[tokio::test]
async fn a_transmitter_without_the_batch_entry_point_gets_single_deliveries() {
    let (h, p) = batching(false, NEVER);
    attested(&h, &p, &[1, 2]).await;
    p.tick().await.unwrap();
    assert!(h.chain.batches.lock().unwrap().is_empty());
    assert_eq!(h.chain.signed.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_message_received_already_stays_out_of_the_batch() {
    let (h, p) = batching(true, NEVER);
    let messages = attested(&h, &p, &[1, 2, 3]).await;
    h.chain.received.lock().unwrap().insert(2);
    p.tick().await.unwrap();
    let batches = h.chain.batches.lock().unwrap().clone();
    let mut nonces = batches[0].0.clone();
    nonces.sort();
    assert_eq!(nonces, vec![1, 3]);
    assert_eq!(state(&p, &messages[1]).await, MessageState::Delivered);
}

/// The members of a batch final in one tick read what it skipped once, not once each (on a
/// real chain: the batch's receipt, all its members' logs, twenty times over).
#[tokio::test]
async fn a_final_batchs_skips_are_read_once_for_all_its_members() {
    let (h, p) = batching(true, NEVER);
    let (messages, tx) = batch_mined_final(&h, &p, &[1, 2, 3, 4]).await;
    h.chain.received.lock().unwrap().extend([1, 2, 3, 4]);
    h.chain.skipped.lock().unwrap().insert(3);
    p.tick().await.unwrap();
    for m in &messages {
        let expected = if m.nonce == 3 {
            MessageState::Delivered
        } else {
            MessageState::Confirmed {
                tx_hash: tx.tx_hash.clone(),
            }
        };
        assert_eq!(state(&p, m).await, expected);
    }
    assert_eq!(
        h.chain
            .skipped_reads
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

/// `nonces` attested, sent in one batch, and that batch mined and final.
async fn batch_mined_final(h: &Harness, p: &Pipeline, nonces: &[u64]) -> (Vec<Message>, PendingTx) {
    let messages = attested(h, p, nonces).await;
    p.tick().await.unwrap();
    let (_, tx) = h.chain.batches.lock().unwrap()[0].clone();
    h.chain
        .mined
        .lock()
        .unwrap()
        .insert(tx.tx_hash.clone(), (true, 5));
    (messages, tx)
}

/// A batch's signed bytes are stored once, not in each member's record (a backlog in batches
/// of 20 wrote them twenty times at each member's save); a restart re-sends them whole.
#[tokio::test]
async fn a_batchs_bytes_are_stored_once_and_a_restart_resends_them_whole() {
    let (h, p) = batching(true, NEVER);
    let messages = attested(&h, &p, &[1, 2, 3]).await;
    p.tick().await.unwrap();
    let (_, tx) = h.chain.batches.lock().unwrap()[0].clone();
    let stored = |m: &Message| {
        let tree = p.store.db().open_tree("messages").unwrap();
        String::from_utf8(tree.get(m.hash()).unwrap().unwrap().to_vec()).unwrap()
    };
    for m in &messages {
        assert!(
            !stored(m).contains(&tx.raw),
            "a member's record holds the batch's bytes"
        );
    }
    drop(p);
    let mut p = h.pipeline(NEVER);
    p.settings.max_batch = 20;
    p.tick().await.unwrap();
    assert!(
        h.chain.signed.lock().unwrap().is_empty(),
        "nothing signed anew"
    );
    assert_eq!(
        *h.chain.broadcast_bytes.lock().unwrap(),
        vec![tx.raw.clone(), tx.raw.clone()],
        "sent, then sent again whole once after the restart"
    );
}

/// A member that replaces the stuck batch sends its own message at the batch's number; the
/// others find the number used by that transaction and go again, each once, at new numbers.
#[tokio::test]
async fn a_stuck_batch_replaced_by_one_member_sends_the_others_again_not_twice() {
    let (h, p) = batching(true, Duration::ZERO);
    let messages = attested(&h, &p, &[1, 2]).await;
    p.tick().await.unwrap();
    let (_, batch) = h.chain.batches.lock().unwrap()[0].clone();
    // Not mined: each member re-signs its own message at number 0, a higher fee.
    p.tick().await.unwrap();
    let replacements = h.chain.signed.lock().unwrap().clone();
    assert_eq!(replacements.len(), 2);
    assert!(replacements.iter().all(|t| t.sequence == Some(0)));
    // The first replacement is what the chain mined at number 0.
    let mined = replacements[0].clone();
    let mut winner = None;
    for m in &messages {
        if record(&p, m).await.sent_txs.contains(&mined.tx_hash) {
            winner = Some(m.clone());
        }
    }
    let winner = winner.expect("one member signed it");
    let loser = messages.iter().find(|m| m.nonce != winner.nonce).unwrap();
    h.chain
        .mined
        .lock()
        .unwrap()
        .insert(mined.tx_hash.clone(), (true, 5));
    h.chain.received.lock().unwrap().insert(winner.nonce);
    *h.chain.used_sequence.lock().unwrap() = 1;
    p.tick().await.unwrap();
    p.tick().await.unwrap();
    assert_eq!(
        state(&p, &winner).await,
        MessageState::Confirmed {
            tx_hash: mined.tx_hash.clone()
        }
    );
    let r = record(&p, loser).await;
    assert!(
        matches!(r.state, MessageState::Submitted { .. }),
        "{:?}",
        r.state
    );
    assert_eq!(
        r.pending_tx.as_ref().and_then(|t| t.sequence),
        Some(1),
        "sent again once, at a new number"
    );
    assert!(r.sent_txs.contains(&batch.tx_hash));
    let at_one = h
        .chain
        .signed
        .lock()
        .unwrap()
        .iter()
        .filter(|t| t.sequence == Some(1))
        .count();
    assert_eq!(at_one, 1);
}

/// Someone else delivered a member between our check and the block: the batch skipped it,
/// and the record says delivered by someone else, not confirmed by our transaction.
#[tokio::test]
async fn a_member_the_batch_skipped_ends_delivered_not_confirmed() {
    let (h, p) = batching(true, NEVER);
    let (messages, tx) = batch_mined_final(&h, &p, &[1, 2]).await;
    h.chain.received.lock().unwrap().extend([1, 2]);
    h.chain.skipped.lock().unwrap().insert(2);
    p.tick().await.unwrap();
    assert_eq!(
        state(&p, &messages[0]).await,
        MessageState::Confirmed {
            tx_hash: tx.tx_hash.clone()
        }
    );
    assert_eq!(state(&p, &messages[1]).await, MessageState::Delivered);
}
