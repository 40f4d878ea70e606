//! The relayer process as the model chains see it: alive, or crashed at some call (which then
//! never answers, nor does any after it, so the tick stops exactly there), and how
//! concurrent steps of one tick interleave (each call yields to the others a pseudo-random
//! number of times, from a seed the test generates).

use std::sync::Mutex as StdMutex;
use tokio::sync::Notify;

#[derive(Default)]
pub struct Process {
    state: StdMutex<State>,
    died: Notify,
}

#[derive(Default)]
struct State {
    /// Calls still answered before the crash, when one is armed.
    calls_before_crash: Option<u32>,
    dead: bool,
    /// xorshift state; 0: no yielding.
    interleave: u64,
}

impl Process {
    /// The process dies at the call after the next `calls` ones.
    pub fn arm_crash(&self, calls: u32) {
        self.state.lock().unwrap().calls_before_crash = Some(calls);
    }

    /// A new process: alive, nothing armed.
    pub fn restart(&self) {
        let mut s = self.state.lock().unwrap();
        s.calls_before_crash = None;
        s.dead = false;
    }

    pub fn interleave(&self, seed: u64) {
        self.state.lock().unwrap().interleave = seed;
    }

    /// Returns once the process has died.
    pub async fn died(&self) {
        loop {
            let notified = self.died.notified();
            if self.state.lock().unwrap().dead {
                return;
            }
            notified.await;
        }
    }

    /// Before every chain call: yields as the interleaving says, then returns, or never if
    /// the process is dead (or dies at this call).
    pub async fn enter(&self) {
        let yields = {
            let mut s = self.state.lock().unwrap();
            if let Some(left) = s.calls_before_crash.as_mut() {
                if *left == 0 {
                    s.dead = true;
                } else {
                    *left -= 1;
                }
            }
            if s.dead {
                self.died.notify_one();
                None
            } else {
                Some(next_yields(&mut s.interleave))
            }
        };
        let Some(yields) = yields else {
            return std::future::pending().await;
        };
        for _ in 0..yields {
            tokio::task::yield_now().await;
        }
    }
}

/// 0, 1 or 2 yields, from a xorshift64 step.
fn next_yields(x: &mut u64) -> u32 {
    if *x == 0 {
        return 0;
    }
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    (*x % 3) as u32
}
