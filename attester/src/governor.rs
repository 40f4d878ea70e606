//! The governor (DESIGN §10, as Wormhole's guardians do it): per source chain, a rolling
//! limit on the value this attester signs and a big-transfer threshold. A final burn that
//! would push the window past its limit, or is itself at least the threshold, is **held**
//! instead of signed, and signed when the window has room (in burn order) or when its delay
//! has passed — or when operators release it; operators may also drop it (never signed).
//!
//! - Only burns move value: messages whose sender is the source chain's registered
//!   TokenMessenger (Solana: the bridge mint) with a burn body. Anyone's `sendMessage` is
//!   signed as before, never held (the destination TokenMessenger mints only for messages
//!   from its registered remote messengers, so such a message mints nothing).
//! - Decisions are pure functions of source-chain time ([`logic`]): the burn's block time
//!   stamps the window, big transfers wait until `burn time + delay`, window holds are planned
//!   from the window's entries. The wall clock only says when a planned release is carried out
//!   (a task checks every second) and what the metrics' "window used now" is.
//! - Holds, the window and releases are in the attester's sled store; a release (signature,
//!   hold removed, window entry, chain meta) is one transaction, flushed before the tick ends,
//!   so kill -9 neither forgets a hold nor counts a message twice (signatures are RFC 6979,
//!   so signing again after a crash gives the same bytes).

pub mod api;
mod batch;
pub mod logic;

use crate::error::AttesterError;
use crate::metrics;
use crate::signer::EvmAttesterKey;
use crate::store::BlockingStore;
use crate::store::Store;
use crate::store::{GovernorChange, Hold, SignedMessage};
use logic::{Decision, HoldKind, Limits, Queued, Window};
use serde_json::{json, Value};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Mutex;
use usd1_config::AttesterConfig;
use usd1_core::message::address_to_bytes32;
use usd1_core::{format_amount, Domain, Message, TxRef, B256, U256, USD1_DECIMALS};
use usd1_runtime::now_ms;
use usd1_runtime::ServiceError;

/// One source chain's governor settings.
pub struct ChainGovernor {
    pub name: String,
    pub limits: Limits,
    /// The source's registered TokenMessenger (Solana: the mint), as a message sender.
    pub messenger: B256,
}

pub struct Governor {
    pub chains: BTreeMap<Domain, ChainGovernor>,
    /// The operators' bearer token for release and drop; None: those routes answer 403.
    admin_token: Option<String>,
    /// One decision at a time: the watch loops, the release task and the admin routes. A
    /// decision is sync code reading and writing the store ([`crate::store::BlockingStore`])
    /// under this lock; async callers run it whole on tokio's blocking pool
    /// (`AppState::blocking`), so neither the lock nor the disk holds up an async worker.
    /// The lock also guards the window entries' cache ([`Windows`]).
    lock: Mutex<Windows>,
}

/// Each source chain's window entries, read from the store on first use and then kept in
/// step with it: every entry is written by [`sign`], which adds it here once its transaction
/// is stored, and pruned by [`Governor::tick`], after which the next use reads the store
/// again. Before, every decision read the chain's whole window from sled, so a backfill of n
/// burns cost O(n²) (5,138 burns: 4.4 s, each decision slower than the last).
#[derive(Default)]
struct Windows(BTreeMap<Domain, Window>);

impl Windows {
    fn get(
        &mut self,
        store: &BlockingStore,
        domain: Domain,
        secs: u64,
    ) -> Result<&Window, AttesterError> {
        Ok(match self.0.entry(domain) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let entries = store.window(domain).map_err(AttesterError::Store)?;
                v.insert(Window::new(secs, entries))
            }
        })
    }

    /// A window entry now in the store.
    fn push(&mut self, domain: Domain, stamp: u64, amount: u128) {
        if let Some(w) = self.0.get_mut(&domain) {
            w.push(stamp, amount);
        }
    }

    /// Read the store again next time (entries pruned, or a write whose outcome is unknown).
    fn forget(&mut self, domain: Domain) {
        self.0.remove(&domain);
    }
}

/// What the governor's decisions use of the attester: its store, its key, its chain names.
/// (The attester's state implements it; the governor does not depend on that state.)
pub trait Host {
    fn store(&self) -> &Store;
    fn key(&self) -> &EvmAttesterKey;
    fn label(&self, d: Domain) -> &str;
}

/// A final message, as a watcher read it.
pub struct Final<'a> {
    pub message: &'a Message,
    pub raw: &'a [u8],
    pub hash: &'a B256,
    /// The burn's transaction (the signature is indexed by it).
    pub source_tx: &'a TxRef,
    pub block: u64,
    pub block_time: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Admitted {
    /// Signed now.
    Signed,
    /// Signed, held or dropped before: nothing changed.
    Known,
    Held {
        kind: HoldKind,
        release_at: u64,
    },
}

/// What the API answers for a message the governor has (not signed).
#[derive(Debug, PartialEq, Eq)]
pub enum Pending {
    /// Held; signed by `release_at` (source-chain seconds) unless operators act.
    Held {
        kind: HoldKind,
        release_at: u64,
    },
    Dropped,
}

#[derive(Debug, PartialEq, Eq)]
pub enum AdminOutcome {
    /// Signed now (release), with the signature.
    Released(String),
    /// Signed before: the signature.
    AlreadySigned(String),
    Dropped,
    AlreadyDropped,
    /// Neither held, dropped nor signed here.
    Unknown,
}

fn to_units(amount: U256) -> u128 {
    u128::try_from(amount).unwrap_or(u128::MAX)
}

/// USD1 as a decimal string.
pub fn usd1(amount: u128) -> String {
    format_amount(U256::from(amount), USD1_DECIMALS)
}

fn limit_text(limit: Option<u128>) -> String {
    limit.map(usd1).unwrap_or_else(|| "off".into())
}

impl Governor {
    pub fn new(chains: BTreeMap<Domain, ChainGovernor>, admin_token: Option<String>) -> Self {
        Self {
            chains,
            admin_token,
            lock: Mutex::new(Windows::default()),
        }
    }

    /// Every source chain of the config (Solana included) with its limits.
    pub fn from_config(
        config: &AttesterConfig,
        admin_token: Option<String>,
    ) -> Result<Self, AttesterError> {
        let mut chains = BTreeMap::new();
        let mut add = |name: &str, domain: Domain, messenger: B256| -> Result<(), AttesterError> {
            let l = config
                .governor
                .limits(name, domain)
                .map_err(|(field, reason)| ServiceError::setting(field, reason))?;
            let limits = Limits {
                daily_limit: l.daily_limit.map(to_units),
                big_transfer: l.big_transfer.map(to_units),
                window_secs: l.window_secs,
                big_delay_secs: l.big_transfer_delay_secs,
            };
            chains.insert(
                domain,
                ChainGovernor {
                    name: name.to_string(),
                    limits,
                    messenger,
                },
            );
            Ok(())
        };
        for (name, chain) in &config.chains {
            add(
                name,
                chain.domain,
                address_to_bytes32(chain.token_messenger),
            )?;
        }
        if let Some(solana) = &config.solana {
            add(&solana.name, solana.domain, solana.bridge_identity())?;
        }
        Ok(Self::new(chains, admin_token))
    }

    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.lock.lock().unwrap_or_else(|poisoned| {
            // A decision panicked part way: what it kept in memory may not be in the store.
            let mut windows = poisoned.into_inner();
            windows.0.clear();
            windows
        })
    }

    /// The value a message moves, when the governor counts it: a burn by its source chain's
    /// registered TokenMessenger (Solana: the mint).
    pub fn governed_amount(&self, m: &Message) -> Option<u128> {
        let chain = self.chains.get(&m.source_domain)?;
        if m.sender != chain.messenger {
            return None;
        }
        m.burn_body().ok().map(|b| to_units(b.amount))
    }

    /// A final message: signed at once, held, or (read again) left as it is. The caller
    /// flushes before its watcher's cursor moves past it.
    pub fn admit(
        &self,
        state: &dyn Host,
        f: &Final<'_>,
        now: u64,
    ) -> Result<Admitted, AttesterError> {
        let mut windows = self.lock();
        let store = state.store().blocking();
        let e = AttesterError::Store;
        if store.get(f.hash).map_err(e)?.is_some() || store.hold(f.hash).map_err(e)?.is_some() {
            return Ok(Admitted::Known);
        }
        if store.dropped(f.hash).map_err(e)?.is_some() {
            tracing::warn!("read again, dropped by the operators: not signed");
            return Ok(Admitted::Known);
        }
        let domain = f.message.source_domain;
        let mut candidate = candidate(f, now);
        let burn_time = candidate.burn_time;
        let (Some(chain), Some(amount)) =
            (self.chains.get(&domain), self.governed_amount(f.message))
        else {
            // Not a burn: it moves no value, so it is not governed.
            sign(state, &mut windows, &candidate, GovernorChange::default())?;
            return Ok(Admitted::Signed);
        };
        candidate.amount = amount;
        // Releases due by this burn's time happen first: the queue as it stood then.
        self.release_due(state, &mut windows, domain, chain, now.max(burn_time))?;
        let mut meta = store.governor_meta(domain).map_err(e)?;
        meta.latest_burn = meta.latest_burn.max(burn_time);
        let queued = store
            .holds(domain)
            .map_err(e)?
            .iter()
            .any(|h| h.kind == HoldKind::Window);
        let window = windows.get(store, domain, chain.limits.window_secs)?;
        let decision = logic::decide(
            &chain.limits,
            window,
            queued,
            meta.last_release,
            burn_time,
            amount,
        );
        match decision {
            Decision::Sign => {
                let change = GovernorChange {
                    window: Some((burn_time, amount)),
                    released: None,
                    meta: Some(meta),
                };
                sign(state, &mut windows, &candidate, change)?;
                Ok(Admitted::Signed)
            }
            Decision::Hold { kind, release_at } => {
                candidate.kind = kind;
                candidate.release_at = release_at;
                store.put_hold(&candidate, meta).map_err(e)?;
                Ok(Admitted::Held { kind, release_at })
            }
        }
    }

    /// Signs what is due on `domain` at `now`: big transfers past their delay, and the window
    /// queue's head as long as its planned release has come. Under the lock; the caller flushes.
    fn release_due(
        &self,
        state: &dyn Host,
        windows: &mut Windows,
        domain: Domain,
        chain: &ChainGovernor,
        now: u64,
    ) -> Result<usize, AttesterError> {
        let store = state.store().blocking();
        let e = AttesterError::Store;
        let holds = store.holds(domain).map_err(e)?;
        let mut released = 0;
        for h in holds
            .iter()
            .filter(|h| h.kind == HoldKind::BigTransfer && h.release_at <= now)
        {
            let span = tracing::info_span!("governor", message_hash = %h.message_hash);
            let _enter = span.enter();
            sign(
                state,
                windows,
                h,
                GovernorChange {
                    released: Some(h),
                    ..Default::default()
                },
            )?;
            tracing::info!(amount = %usd1(h.amount), "big transfer released: its delay has passed");
            released += 1;
        }
        let queue: Vec<&Hold> = holds
            .iter()
            .filter(|h| h.kind == HoldKind::Window)
            .collect();
        if queue.is_empty() {
            return Ok(released);
        }
        let mut meta = store.governor_meta(domain).map_err(e)?;
        let plan = self.plan(state, windows, domain, chain, &queue, meta.last_release)?;
        for (p, h) in plan.iter().zip(&queue) {
            if p.at > now {
                break;
            }
            meta.last_release = meta.last_release.max(p.at);
            let span = tracing::info_span!("governor", message_hash = %h.message_hash);
            let _enter = span.enter();
            sign(
                state,
                windows,
                h,
                GovernorChange {
                    window: p.counted.then_some((p.at, h.amount)),
                    released: Some(h),
                    meta: Some(meta),
                },
            )?;
            if p.counted {
                tracing::info!(amount = %usd1(h.amount), "released: the window has room");
            } else {
                tracing::info!(amount = %usd1(h.amount), "released: held for a whole window");
            }
            released += 1;
        }
        Ok(released)
    }

    fn plan(
        &self,
        state: &dyn Host,
        windows: &mut Windows,
        domain: Domain,
        chain: &ChainGovernor,
        queue: &[&Hold],
        last_release: u64,
    ) -> Result<Vec<logic::Planned>, AttesterError> {
        let window = windows
            .get(state.store().blocking(), domain, chain.limits.window_secs)?
            .clone();
        let queued: Vec<Queued> = queue
            .iter()
            .map(|h| Queued {
                burn_time: h.burn_time,
                amount: h.amount,
            })
            .collect();
        Ok(logic::schedule(
            &chain.limits,
            window,
            &queued,
            last_release,
        ))
    }

    /// The release task's step (every second): releases what is due, forgets window entries
    /// no decision can look at any more, flushes, and updates the metrics.
    pub fn tick(&self, state: &dyn Host, now: u64) -> Result<usize, AttesterError> {
        let mut windows = self.lock();
        let store = state.store().blocking();
        let e = AttesterError::Store;
        let mut released = 0;
        for (domain, chain) in &self.chains {
            released += self.release_due(state, &mut windows, *domain, chain, now)?;
            let meta = store.governor_meta(*domain).map_err(e)?;
            let oldest_queued = store
                .holds(*domain)
                .map_err(e)?
                .iter()
                .filter(|h| h.kind == HoldKind::Window)
                .map(|h| h.burn_time)
                .min()
                .unwrap_or(u64::MAX);
            // Later burns and plans look at windows ending at or after these times; two
            // windows back is out of all of them, with room for block times that step back.
            let horizon = meta.latest_burn.min(oldest_queued).min(now);
            if let Some(through) = horizon.checked_sub(2 * chain.limits.window_secs) {
                if store.prune_window(*domain, through).map_err(e)? > 0 {
                    windows.forget(*domain);
                }
            }
        }
        if released > 0 {
            store.flush().map_err(AttesterError::Store)?;
        }
        self.update_metrics(state, &mut windows, now)?;
        Ok(released)
    }

    fn update_metrics(
        &self,
        state: &dyn Host,
        windows: &mut Windows,
        now: u64,
    ) -> Result<(), AttesterError> {
        let store = state.store().blocking();
        let e = AttesterError::Store;
        for (domain, chain) in &self.chains {
            let window = windows.get(store, *domain, chain.limits.window_secs)?;
            let holds = store.holds(*domain).map_err(e)?;
            let value: u128 = holds.iter().map(|h| h.amount).fold(0, u128::saturating_add);
            let label = [chain.name.as_str()];
            metrics::GOVERNOR_WINDOW_USED
                .with_label_values(&label)
                .set(as_usd1(window.used(now)));
            metrics::GOVERNOR_HELD
                .with_label_values(&label)
                .set(holds.len() as i64);
            metrics::GOVERNOR_HELD_VALUE
                .with_label_values(&label)
                .set(as_usd1(value));
        }
        Ok(())
    }

    /// Whether the governor has the message (held, with when it is planned to be signed, or
    /// dropped); None when it has not.
    pub fn pending(&self, state: &dyn Host, hash: &B256) -> Result<Option<Pending>, AttesterError> {
        let mut windows = self.lock();
        let store = state.store().blocking();
        if let Some(h) = store.hold(hash).map_err(AttesterError::Store)? {
            let release_at = self.planned_release(state, &mut windows, &h)?;
            return Ok(Some(Pending::Held {
                kind: h.kind,
                release_at,
            }));
        }
        if store.dropped(hash).map_err(AttesterError::Store)?.is_some() {
            return Ok(Some(Pending::Dropped));
        }
        Ok(None)
    }

    /// When a hold is planned to be signed (source-chain seconds): a big transfer at the end of
    /// its delay; a window hold when the plan of its chain's queue reaches it.
    fn planned_release(
        &self,
        state: &dyn Host,
        windows: &mut Windows,
        h: &Hold,
    ) -> Result<u64, AttesterError> {
        let Some(chain) = self.chains.get(&h.source_domain) else {
            return Ok(h.release_at);
        };
        if h.kind == HoldKind::BigTransfer {
            return Ok(h.release_at);
        }
        let holds = state
            .store()
            .blocking()
            .holds(h.source_domain)
            .map_err(AttesterError::Store)?;
        let queue: Vec<&Hold> = holds
            .iter()
            .filter(|q| q.kind == HoldKind::Window)
            .collect();
        let meta = state
            .store()
            .blocking()
            .governor_meta(h.source_domain)
            .map_err(AttesterError::Store)?;
        let plan = self.plan(
            state,
            windows,
            h.source_domain,
            chain,
            &queue,
            meta.last_release,
        )?;
        Ok(queue
            .iter()
            .zip(plan)
            .find(|(q, _)| q.message_hash == h.message_hash)
            .map(|(_, p)| p.at)
            .unwrap_or(h.release_at))
    }

    /// Operators: sign a held (or dropped) message now. It does not count toward the window
    /// (as Wormhole's manual release), and the queue behind it keeps its plan.
    pub fn release(&self, state: &dyn Host, hash: &B256) -> Result<AdminOutcome, AttesterError> {
        let mut windows = self.lock();
        let store = state.store().blocking();
        let e = AttesterError::Store;
        if let Some(m) = store.get(hash).map_err(e)? {
            return Ok(AdminOutcome::AlreadySigned(m.signature));
        }
        let hold = match store.hold(hash).map_err(e)? {
            Some(h) => h,
            None => match store.dropped(hash).map_err(e)? {
                Some(h) => h,
                None => return Ok(AdminOutcome::Unknown),
            },
        };
        let signature = sign(
            state,
            &mut windows,
            &hold,
            GovernorChange {
                released: Some(&hold),
                ..Default::default()
            },
        )?;
        store.flush().map_err(AttesterError::Store)?;
        tracing::warn!(message_hash = %hold.message_hash, amount = %usd1(hold.amount), "released by the operators");
        Ok(AdminOutcome::Released(signature))
    }

    /// Operators: never sign this held message (unless they release it later).
    pub fn drop_held(&self, state: &dyn Host, hash: &B256) -> Result<AdminOutcome, AttesterError> {
        let _guard = self.lock();
        let store = state.store().blocking();
        let e = AttesterError::Store;
        if let Some(m) = store.get(hash).map_err(e)? {
            return Ok(AdminOutcome::AlreadySigned(m.signature));
        }
        if store.dropped(hash).map_err(e)?.is_some() {
            return Ok(AdminOutcome::AlreadyDropped);
        }
        let Some(hold) = store.hold(hash).map_err(e)? else {
            return Ok(AdminOutcome::Unknown);
        };
        store.drop_hold(&hold, now_ms()).map_err(e)?;
        store.flush().map_err(AttesterError::Store)?;
        tracing::warn!(message_hash = %hold.message_hash, amount = %usd1(hold.amount), "dropped by the operators: it will not be signed");
        Ok(AdminOutcome::Dropped)
    }

    /// Per chain: limits, the window's use now, holds; then every hold and dropped message.
    pub fn status(&self, state: &dyn Host, now: u64) -> Result<Value, AttesterError> {
        let mut windows = self.lock();
        let store = state.store().blocking();
        let e = AttesterError::Store;
        let mut chains = Vec::new();
        let mut held = Vec::new();
        for (domain, chain) in &self.chains {
            let l = &chain.limits;
            let used = windows.get(store, *domain, l.window_secs)?.used(now);
            let holds = store.holds(*domain).map_err(e)?;
            let value: u128 = holds.iter().map(|h| h.amount).fold(0, u128::saturating_add);
            chains.push(json!({
                "chain": chain.name,
                "domain": domain.0,
                "dailyLimit": limit_text(l.daily_limit),
                "bigTransfer": limit_text(l.big_transfer),
                "windowSecs": l.window_secs,
                "bigTransferDelaySecs": l.big_delay_secs,
                "windowUsed": usd1(used),
                "windowRemaining": l.daily_limit.map(|limit| usd1(limit.saturating_sub(used))),
                "held": holds.len(),
                "heldValue": usd1(value),
            }));
            for h in &holds {
                let release_at = self.planned_release(state, &mut windows, h)?;
                held.push(hold_json(h, &chain.name, Some(release_at)));
            }
        }
        let dropped: Vec<Value> = store
            .all_dropped()
            .map_err(e)?
            .iter()
            .map(|h| {
                let name = self
                    .chains
                    .get(&h.source_domain)
                    .map(|c| c.name.as_str())
                    .unwrap_or("other");
                hold_json(h, name, None)
            })
            .collect();
        Ok(json!({
            "now": now,
            "adminConfigured": self.admin_token.is_some(),
            "chains": chains,
            "held": held,
            "dropped": dropped,
        }))
    }
}

fn hold_json(h: &Hold, chain: &str, release_at: Option<u64>) -> Value {
    let mut v = json!({
        "messageHash": h.message_hash,
        "source": chain,
        "sourceDomain": h.source_domain.0,
        "destinationDomain": h.destination_domain.0,
        "nonce": h.nonce,
        "amount": usd1(h.amount),
        "reason": h.kind,
        "burnTime": h.burn_time,
        "sourceTx": h.source_tx,
        "sourceBlock": h.source_block,
    });
    if let Some(at) = release_at {
        v["releaseAt"] = json!(at);
    }
    if let Some(at) = h.dropped_at_ms {
        v["droppedAtMs"] = json!(at);
    }
    v
}

fn as_usd1(units: u128) -> f64 {
    units as f64 / 1e6
}

/// A final message as the governor records it: what it would hold, or signs.
fn candidate(f: &Final<'_>, now: u64) -> Hold {
    Hold {
        message: alloy::hex::encode_prefixed(f.raw),
        message_hash: format!("{:#x}", f.hash),
        source_domain: f.message.source_domain,
        destination_domain: f.message.destination_domain,
        nonce: f.message.nonce,
        source_tx: f.source_tx.to_string(),
        source_block: f.block,
        amount: 0,
        // A block without a time (an RPC that does not know it) never counts as old.
        burn_time: if f.block_time == 0 { now } else { f.block_time },
        kind: HoldKind::Window,
        release_at: 0,
        held_at_ms: now_ms(),
        dropped_at_ms: None,
    }
}

/// `h`'s message (whose hash is `hash`) signed, with the key's signature made ahead if it
/// was, as stored.
fn signed_record(state: &dyn Host, h: &Hold, hash: &B256) -> Result<SignedMessage, AttesterError> {
    Ok(SignedMessage {
        message: h.message.clone(),
        message_hash: h.message_hash.clone(),
        signature: state.key().sign(hash)?.to_hex(),
        source_domain: h.source_domain,
        destination_domain: h.destination_domain,
        nonce: h.nonce,
        source_tx: h.source_tx.clone(),
        source_block: h.source_block,
        signed_at_ms: now_ms(),
    })
}

/// Counts a stored signature.
fn count_signed(state: &dyn Host, r: &SignedMessage) {
    let (src, dst) = (
        state.label(r.source_domain),
        state.label(r.destination_domain),
    );
    metrics::ATTESTED.with_label_values(&[src, dst]).inc();
    metrics::SIGNATURES.with_label_values(&["secp256k1"]).inc();
}

/// Signs `h`'s message, stores the signature with the governor's `change` in one transaction
/// and counts it; returns the signature. The caller flushes.
fn sign(
    state: &dyn Host,
    windows: &mut Windows,
    h: &Hold,
    change: GovernorChange<'_>,
) -> Result<String, AttesterError> {
    let hash = h.hash();
    let record = signed_record(state, h, &hash)?;
    let entry = change.window;
    if let Err(e) = state
        .store()
        .blocking()
        .commit_signature(&record, &hash, change)
    {
        windows.forget(h.source_domain);
        return Err(AttesterError::Store(e));
    }
    if let Some((stamp, amount)) = entry {
        windows.push(h.source_domain, stamp, amount);
    }
    count_signed(state, &record);
    Ok(record.signature)
}

#[cfg(test)]
mod tests;
