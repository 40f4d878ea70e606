//! The governor's decisions as pure functions of the limits, the window's entries, the
//! queue of window holds and the burn: no clock, no store. Every time here is source-chain
//! time (the burn block's Unix seconds), so attesters with the same config and the same final
//! view hold the same messages and plan the same releases; the wall clock only decides when a
//! planned release is carried out (see `super`). The unit tests drive them with a fake clock.
//!
//! The rules (as Wormhole's governor):
//! - a burn of at least `big_transfer` is held until `burn time + big_transfer_delay` and,
//!   when released, does not count toward the window;
//! - any other burn is signed at once, counted at its burn time, if nothing is queued ahead
//!   of it on its chain and the window ending at its burn time has room; else it joins the
//!   chain's queue;
//! - the queue is released in burn order: its head at the earliest time (not before its burn,
//!   nor before the previous release) when the window has room for it, counted at that time;
//!   or, at the latest, one window after its burn, then not counted.
//!
//! The window ending at `t` holds the entries stamped in `(t - window, t]`.

use serde::{Deserialize, Serialize};

/// USD1 base units.
pub type Amount = u128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// None: off (burns are still counted, never held for the window).
    pub daily_limit: Option<Amount>,
    /// None: off.
    pub big_transfer: Option<Amount>,
    pub window_secs: u64,
    pub big_delay_secs: u64,
}

/// Why a message is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// At least the big-transfer threshold: held for the delay (or until operators act).
    BigTransfer,
    /// The window had no room, or window holds were queued ahead of it.
    Window,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Sign now, counted in the window at the burn time.
    Sign,
    /// Hold; `release_at` is the latest it is held.
    Hold { kind: HoldKind, release_at: u64 },
}

/// A chain's window entries (stamp, amount), sorted, with prefix sums.
#[derive(Clone, Debug, Default)]
pub struct Window {
    secs: u64,
    stamps: Vec<u64>,
    /// `prefix[i]`: the sum of the first `i` amounts.
    prefix: Vec<Amount>,
}

impl Window {
    pub fn new(secs: u64, entries: impl IntoIterator<Item = (u64, Amount)>) -> Self {
        let mut entries: Vec<(u64, Amount)> = entries.into_iter().collect();
        entries.sort_unstable();
        let mut w = Window {
            secs,
            stamps: Vec::with_capacity(entries.len()),
            prefix: Vec::with_capacity(entries.len() + 1),
        };
        w.prefix.push(0);
        for (stamp, amount) in entries {
            w.stamps.push(stamp);
            let last = *w.prefix.last().unwrap_or(&0);
            w.prefix.push(last.saturating_add(amount));
        }
        w
    }

    /// The sum of the entries stamped at or before `t`.
    fn through(&self, t: u64) -> Amount {
        let n = self.stamps.partition_point(|s| *s <= t);
        self.prefix[n]
    }

    /// The value in the window ending at `at`: entries stamped in `(at - window, at]`.
    pub fn used(&self, at: u64) -> Amount {
        let below = match at.checked_sub(self.secs) {
            Some(start) => self.through(start),
            None => 0,
        };
        self.through(at).saturating_sub(below)
    }

    pub fn push(&mut self, stamp: u64, amount: Amount) {
        let at = self.stamps.partition_point(|s| *s <= stamp);
        self.stamps.insert(at, stamp);
        // `prefix[at]` sums what comes before it; every later sum grows by `amount`
        // (appending, the usual case, touches nothing else).
        self.prefix
            .insert(at + 1, self.prefix[at].saturating_add(amount));
        for p in &mut self.prefix[at + 2..] {
            *p = p.saturating_add(amount);
        }
    }

    /// The earliest time at or after `from` when `amount` more fits under `limit`, given
    /// that nothing is stamped after `from` (then the window only empties as time passes).
    pub fn earliest_fit(&self, from: u64, amount: Amount, limit: Amount) -> Option<u64> {
        if amount > limit {
            return None;
        }
        let fits = |t: u64| self.used(t).saturating_add(amount) <= limit;
        if fits(from) {
            return Some(from);
        }
        // The window loses an entry at `stamp + window`: try each such moment in order.
        self.stamps
            .iter()
            .map(|s| s.saturating_add(self.secs))
            .filter(|t| *t > from)
            .find(|t| fits(*t))
    }
}

/// What to do with a governed burn of `amount` at `burn_time`, given the chain's window, whether
/// window holds are still queued on the chain, and the time of its last window release.
pub fn decide(
    limits: &Limits,
    window: &Window,
    queued: bool,
    last_release: u64,
    burn_time: u64,
    amount: Amount,
) -> Decision {
    if limits.big_transfer.is_some_and(|big| amount >= big) {
        return Decision::Hold {
            kind: HoldKind::BigTransfer,
            release_at: burn_time.saturating_add(limits.big_delay_secs),
        };
    }
    let Some(limit) = limits.daily_limit else {
        return Decision::Sign;
    };
    // A release after this burn's time means the queue was not empty at its time.
    let behind_queue = queued || last_release > burn_time;
    if !behind_queue && window.used(burn_time).saturating_add(amount) <= limit {
        Decision::Sign
    } else {
        Decision::Hold {
            kind: HoldKind::Window,
            release_at: burn_time.saturating_add(limits.window_secs),
        }
    }
}

/// A window hold, in the chain's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    pub burn_time: u64,
    pub amount: Amount,
}

/// When a queued hold is released, and whether it then counts toward the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planned {
    pub at: u64,
    pub counted: bool,
}

/// The release plan of a chain's queue (in burn order), from its window and last release.
pub fn schedule(
    limits: &Limits,
    mut window: Window,
    queue: &[Queued],
    last_release: u64,
) -> Vec<Planned> {
    let mut last = last_release;
    queue
        .iter()
        .map(|q| {
            let cap = q.burn_time.saturating_add(limits.window_secs);
            let from = q.burn_time.max(last);
            let fit = match limits.daily_limit {
                None => Some(from),
                Some(limit) => window.earliest_fit(from, q.amount, limit),
            };
            let planned = match fit {
                Some(at) if at < cap => Planned { at, counted: true },
                _ => Planned {
                    at: cap.max(from),
                    counted: false,
                },
            };
            if planned.counted {
                window.push(planned.at, q.amount);
            }
            last = planned.at;
            planned
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u64 = 15;

    fn limits(daily: Option<Amount>, big: Option<Amount>) -> Limits {
        Limits {
            daily_limit: daily,
            big_transfer: big,
            window_secs: W,
            big_delay_secs: 8,
        }
    }

    /// A fake chain: the governor's state, driven burn by burn and tick by tick with a fake
    /// clock, as the attester drives it (releases due at a burn's time happen before it).
    #[derive(Default)]
    struct Chain {
        limits: Option<Limits>,
        entries: Vec<(u64, Amount)>,
        queue: Vec<(u32, Queued)>,
        bigs: Vec<(u32, u64)>,
        last_release: u64,
        /// (id, signed at fake time, counted stamp)
        signed: Vec<(u32, u64, Option<u64>)>,
    }

    impl Chain {
        fn new(l: Limits) -> Self {
            Chain {
                limits: Some(l),
                ..Default::default()
            }
        }
        fn l(&self) -> Limits {
            self.limits.unwrap()
        }
        fn window(&self) -> Window {
            Window::new(W, self.entries.iter().copied())
        }
        fn tick(&mut self, now: u64) {
            let l = self.l();
            let due: Vec<(u32, u64)> = self.bigs.iter().copied().filter(|b| b.1 <= now).collect();
            self.bigs.retain(|b| b.1 > now);
            for (id, _) in due {
                self.signed.push((id, now, None));
            }
            let queue: Vec<Queued> = self.queue.iter().map(|q| q.1).collect();
            let plan = schedule(&l, self.window(), &queue, self.last_release);
            let mut released = 0;
            for (p, (id, q)) in plan.iter().zip(self.queue.clone()) {
                if p.at > now {
                    break;
                }
                if p.counted {
                    self.entries.push((p.at, q.amount));
                }
                self.last_release = p.at;
                self.signed.push((id, now, p.counted.then_some(p.at)));
                released += 1;
            }
            self.queue.drain(..released);
        }
        fn burn(&mut self, id: u32, t: u64, amount: Amount, now: u64) -> Decision {
            self.tick(now.max(t));
            let l = self.l();
            let d = decide(
                &l,
                &self.window(),
                !self.queue.is_empty(),
                self.last_release,
                t,
                amount,
            );
            match d {
                Decision::Sign => {
                    self.entries.push((t, amount));
                    self.signed.push((id, now, Some(t)));
                }
                Decision::Hold {
                    kind: HoldKind::BigTransfer,
                    release_at,
                } => self.bigs.push((id, release_at)),
                Decision::Hold { .. } => self.queue.push((
                    id,
                    Queued {
                        burn_time: t,
                        amount,
                    },
                )),
            }
            d
        }
        fn signed_ids(&self) -> Vec<u32> {
            self.signed.iter().map(|s| s.0).collect()
        }
    }

    #[test]
    fn the_window_counts_entries_in_its_half_open_interval() {
        let w = Window::new(10, [(100, 1), (105, 2), (110, 4)]);
        assert_eq!(w.used(99), 0);
        assert_eq!(w.used(100), 1);
        assert_eq!(w.used(109), 3);
        assert_eq!(w.used(110), 6, "100 leaves the window at 110");
        assert_eq!(w.used(115), 4);
        assert_eq!(w.used(120), 0);
        assert_eq!(w.used(5), 0, "before the epoch + window");
        let mut w = w;
        w.push(107, 8);
        w.push(120, 16);
        assert_eq!(w.used(110), 14);
        assert_eq!(w.used(119), 4);
        assert_eq!(w.used(120), 16, "110 leaves as 120 comes in");
    }

    #[test]
    fn a_big_transfer_is_held_for_its_delay_and_not_counted() {
        let mut c = Chain::new(limits(Some(100), Some(50)));
        assert_eq!(
            c.burn(1, 1000, 50, 1002),
            Decision::Hold {
                kind: HoldKind::BigTransfer,
                release_at: 1008
            },
            "at the threshold is big"
        );
        assert_eq!(c.burn(2, 1001, 49, 1003), Decision::Sign, "below it is not");
        c.tick(1007);
        assert_eq!(c.signed_ids(), vec![2]);
        c.tick(1008);
        assert_eq!(c.signed_ids(), vec![2, 1]);
        assert_eq!(
            c.signed[1].2, None,
            "a released big transfer is not counted"
        );
        assert_eq!(c.window().used(1008), 49);
    }

    #[test]
    fn a_run_over_the_window_is_partly_held_and_released_as_it_slides() {
        let mut c = Chain::new(limits(Some(10), None));
        assert_eq!(c.burn(1, 100, 4, 102), Decision::Sign);
        assert_eq!(c.burn(2, 101, 4, 103), Decision::Sign);
        assert!(matches!(
            c.burn(3, 102, 4, 104),
            Decision::Hold {
                kind: HoldKind::Window,
                release_at: 117
            }
        ));
        assert!(
            matches!(c.burn(4, 103, 1, 105), Decision::Hold { .. }),
            "fits, but waits behind the queue (burn order)"
        );
        let queue: Vec<Queued> = c.queue.iter().map(|q| q.1).collect();
        let plan = schedule(&c.l(), c.window(), &queue, c.last_release);
        assert_eq!(
            plan,
            vec![
                Planned {
                    at: 115,
                    counted: true
                },
                Planned {
                    at: 115,
                    counted: true
                }
            ],
            "burn 1 leaves the window at 115: room for 3 (8) and then 4 (9)"
        );
        c.tick(114);
        assert_eq!(c.signed_ids(), vec![1, 2]);
        c.tick(115);
        assert_eq!(c.signed_ids(), vec![1, 2, 3, 4]);
        assert_eq!(c.window().used(115), 4 + 4 + 1);
        // A burn at 110 that was final only now: at its time the queue was not empty.
        assert!(matches!(c.burn(5, 110, 1, 116), Decision::Hold { .. }));
        // It fits right behind them: released with them, at 115 (10 of 10).
        c.tick(116);
        assert_eq!(c.signed_ids(), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn releases_keep_burn_order_and_slide_one_entry_at_a_time() {
        let mut c = Chain::new(limits(Some(10), Some(10)));
        for (id, t) in [(1, 100), (2, 101), (3, 102)] {
            c.burn(id, t, 5, t);
        }
        // 1 and 2 fill the window; 3 waits for 1 to leave (115), 4 for 2 (116).
        c.burn(4, 103, 5, 103);
        c.tick(115);
        assert_eq!(c.signed_ids(), vec![1, 2, 3]);
        assert_eq!(c.signed[2].2, Some(115), "counted when released");
        c.tick(116);
        assert_eq!(c.signed_ids(), vec![1, 2, 3, 4]);
        assert_eq!(c.signed[3].2, Some(116));
    }

    #[test]
    fn a_hold_that_never_fits_is_released_after_one_window_uncounted() {
        let mut c = Chain::new(limits(Some(10), None));
        assert!(matches!(c.burn(1, 100, 11, 100), Decision::Hold { .. }));
        c.tick(114);
        assert!(c.signed.is_empty());
        c.tick(115);
        assert_eq!(c.signed, vec![(1, 115, None)]);
        assert_eq!(c.last_release, 115);
        assert!(
            matches!(c.burn(2, 114, 1, 115), Decision::Hold { .. }),
            "burned while 1 was queued"
        );
        assert_eq!(c.burn(3, 116, 1, 116), Decision::Sign);
    }

    #[test]
    fn several_holds_can_fit_at_the_same_moment() {
        let mut c = Chain::new(limits(Some(10), None));
        c.burn(1, 100, 9, 100);
        c.burn(2, 101, 5, 101);
        c.burn(3, 102, 5, 102);
        let queue: Vec<Queued> = c.queue.iter().map(|q| q.1).collect();
        let plan = schedule(&c.l(), c.window(), &queue, 0);
        // 2 fits at 115 (1 leaves); 3 then makes 10 at 115: fits too.
        assert_eq!(
            plan,
            vec![
                Planned {
                    at: 115,
                    counted: true
                },
                Planned {
                    at: 115,
                    counted: true
                }
            ]
        );
    }

    #[test]
    fn off_means_off() {
        let mut c = Chain::new(limits(None, None));
        for id in 0..100 {
            assert_eq!(c.burn(id, 100 + id as u64, 1_000_000, 200), Decision::Sign);
        }
        let mut c = Chain::new(limits(Some(10), None));
        assert_eq!(c.burn(1, 100, 10, 100), Decision::Sign, "at the limit fits");
        assert!(matches!(c.burn(2, 100, 1, 100), Decision::Hold { .. }));
    }

    #[test]
    fn the_plan_is_the_same_whenever_it_is_computed() {
        // Two attesters reading the same burns at different wall-clock times plan alike.
        let burns = [
            (1, 100, 6),
            (2, 101, 3),
            (3, 102, 4),
            (4, 104, 2),
            (5, 130, 9),
        ];
        let run = |lag: u64| {
            let mut c = Chain::new(limits(Some(10), Some(9)));
            for (id, t, amount) in burns {
                c.burn(id, t, amount, t + lag);
            }
            c.tick(10_000);
            let mut out: Vec<(u32, Option<u64>)> = c.signed.iter().map(|s| (s.0, s.2)).collect();
            out.sort();
            out
        };
        assert_eq!(run(0), run(3));
        assert_eq!(run(0), run(40));
    }
}
