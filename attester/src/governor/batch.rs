//! Deciding one poll's burns together (a backfill reads thousands at once). While a chain has
//! no holds, a decision reads nothing that the decisions before it in the poll did not make
//! themselves: the window (kept in memory), the chain's meta, and "no window hold queued"
//! (so the release step has nothing to do). Those decisions are made in memory, exactly as
//! one [`Governor::admit`] after another would make them, and their signatures are written in
//! one transaction. The first burn that would be held, or a burn of a chain with holds, ends
//! the run: what was decided is written, and the rest go one by one through `admit`.

use super::{candidate, count_signed, signed_record, Admitted, Final, Governor, Host, Windows};
use crate::error::AttesterError;
use crate::governor::logic::{self, Decision};
use crate::store::{GovernorChange, GovernorMeta, SignedMessage};
use std::collections::{BTreeMap, HashSet};
use usd1_core::{Domain, B256};

/// A signature decided in memory, with what its transaction records.
struct Decided {
    record: SignedMessage,
    hash: B256,
    window: Option<(u64, u128)>,
    meta: Option<GovernorMeta>,
}

impl Governor {
    /// Admits `finals` (in chain order) with the outcomes one `admit` after another would
    /// have, writing the signatures of the run before the first hold in one transaction.
    /// The caller flushes before its watcher's cursor moves past them.
    pub fn admit_all(
        &self,
        state: &dyn Host,
        finals: &[Final<'_>],
        now: u64,
    ) -> Result<Vec<Admitted>, AttesterError> {
        let mut admitted = {
            let mut windows = self.lock();
            self.admit_run(state, &mut windows, finals, now)?
        };
        for f in &finals[admitted.len()..] {
            admitted.push(self.admit(state, f, now)?);
        }
        Ok(admitted)
    }

    /// Decides the longest run of `finals` that needs no hold, writes its signatures, and
    /// returns its outcomes (Signed, or Known for what was handled before).
    fn admit_run(
        &self,
        state: &dyn Host,
        windows: &mut Windows,
        finals: &[Final<'_>],
        now: u64,
    ) -> Result<Vec<Admitted>, AttesterError> {
        let mut metas = BTreeMap::new();
        let written = self
            .decide_run(state, windows, &mut metas, finals, now)
            .and_then(|(admitted, decided)| {
                let writes: Vec<_> = decided
                    .iter()
                    .map(|d| {
                        let change = GovernorChange {
                            window: d.window,
                            released: None,
                            meta: d.meta,
                        };
                        (&d.record, &d.hash, change)
                    })
                    .collect();
                let store = state.store().blocking();
                store
                    .commit_signatures(&writes)
                    .map_err(AttesterError::Store)?;
                decided.iter().for_each(|d| count_signed(state, &d.record));
                Ok(admitted)
            });
        if written.is_err() {
            // Window entries added in memory that were not stored.
            metas.keys().for_each(|d| windows.forget(*d));
        }
        written
    }

    /// The run's decisions, in memory: window entries are added to `windows` and each
    /// chain's new meta to `metas` as they are made; nothing is written.
    fn decide_run(
        &self,
        state: &dyn Host,
        windows: &mut Windows,
        metas: &mut BTreeMap<Domain, GovernorMeta>,
        finals: &[Final<'_>],
        now: u64,
    ) -> Result<(Vec<Admitted>, Vec<Decided>), AttesterError> {
        let store = state.store().blocking();
        let e = AttesterError::Store;
        let mut admitted = Vec::with_capacity(finals.len());
        let mut decided: Vec<Decided> = Vec::new();
        let mut seen: HashSet<B256> = HashSet::new();
        // Holds and drops are written under the governor's lock, which this run holds: with
        // none stored now, none appears before it ends, and no burn needs the two reads.
        let any_held = store.any_held_or_dropped().map_err(e)?;
        for f in finals {
            // Handled before (read again after a restart, or twice in one poll): as `admit`.
            if seen.contains(f.hash)
                || store.is_signed(f.hash).map_err(e)?
                || (any_held && store.hold(f.hash).map_err(e)?.is_some())
            {
                admitted.push(Admitted::Known);
                continue;
            }
            if any_held && store.dropped(f.hash).map_err(e)?.is_some() {
                tracing::warn!(message_hash = %f.hash, "read again, dropped by the operators: not signed");
                admitted.push(Admitted::Known);
                continue;
            }
            let domain = f.message.source_domain;
            let mut hold = candidate(f, now);
            let (window, meta) = match (self.chains.get(&domain), self.governed_amount(f.message)) {
                (Some(chain), Some(amount)) => {
                    let meta = match metas.get(&domain) {
                        Some(m) => *m,
                        // A chain with holds has releases to make first: `admit` does it.
                        None if !store.holds(domain).map_err(e)?.is_empty() => break,
                        None => store.governor_meta(domain).map_err(e)?,
                    };
                    let burn_time = hold.burn_time;
                    let decision = logic::decide(
                        &chain.limits,
                        windows.get(store, domain, chain.limits.window_secs)?,
                        false,
                        meta.last_release,
                        burn_time,
                        amount,
                    );
                    if decision != Decision::Sign {
                        break;
                    }
                    let meta = GovernorMeta {
                        latest_burn: meta.latest_burn.max(burn_time),
                        ..meta
                    };
                    metas.insert(domain, meta);
                    windows.push(domain, burn_time, amount);
                    hold.amount = amount;
                    (Some((burn_time, amount)), Some(meta))
                }
                // Not a burn: it moves no value, so it is not governed.
                _ => (None, None),
            };
            decided.push(Decided {
                record: signed_record(state, &hold, f.hash)?,
                hash: *f.hash,
                window,
                meta,
            });
            seen.insert(*f.hash);
            admitted.push(Admitted::Signed);
        }
        Ok((admitted, decided))
    }
}
