//! SIGKILLs at random moments: the relayer, a random attester, or several attesters at once
//! (sometimes leaving fewer than the threshold running), each restarted after a random pause.

use crate::net::SharedNet;
use crate::plan::Plan;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::time::Duration;

#[derive(Default, Debug)]
pub struct Kills {
    pub relayer: usize,
    pub one_attester: usize,
    /// Kill cycles that took down several attesters at once.
    pub several_attesters: usize,
    /// Of those, the ones that left fewer running than the threshold.
    pub below_threshold: usize,
    /// Restarts that failed (a service that cannot come back is a finding).
    pub restart_errors: Vec<String>,
}

impl Kills {
    pub fn cycles(&self) -> usize {
        self.relayer + self.one_attester + self.several_attesters
    }
}

/// Kills `plan.kills` times, spread over about `spread`, then returns with every service up.
pub async fn run(net: SharedNet, plan: &Plan, spread: Duration) -> Kills {
    let mut rng = StdRng::seed_from_u64(plan.seed_of(2));
    let mut k = Kills::default();
    let gap_ms = (spread.as_millis() as u64 / (plan.kills as u64 + 1)).clamp(1_000, 30_000);
    let (attesters, threshold) = {
        let d = net.read().await;
        (d.attester_urls.len(), d.options.threshold as usize)
    };
    for _ in 0..plan.kills {
        tokio::time::sleep(Duration::from_millis(
            rng.gen_range(gap_ms / 2..=gap_ms * 3 / 2),
        ))
        .await;
        let pause = Duration::from_millis(rng.gen_range(500..=5_000));
        let roll: f64 = rng.gen();
        if roll < 0.4 {
            net.write().await.kill_relayer().await;
            k.relayer += 1;
            tokio::time::sleep(pause).await;
            restart(&net, None, &mut k).await;
        } else {
            let several = roll >= 0.8 && attesters > 1;
            let n = if several {
                rng.gen_range(2..=attesters)
            } else {
                1
            };
            let mut all: Vec<usize> = (0..attesters).collect();
            all.shuffle(&mut rng);
            let victims = all[..n].to_vec();
            {
                let mut d = net.write().await;
                for i in &victims {
                    d.stop_attester(*i).await;
                }
            }
            if several {
                k.several_attesters += 1;
                if attesters - n < threshold {
                    k.below_threshold += 1;
                }
            } else {
                k.one_attester += 1;
            }
            tokio::time::sleep(pause).await;
            for i in victims {
                restart(&net, Some(i), &mut k).await;
            }
        }
    }
    k
}

/// Starts the relayer (None) or attester `i` again, a few tries (its RPC is faulty too).
async fn restart(net: &SharedNet, attester: Option<usize>, k: &mut Kills) {
    let mut last = String::new();
    for _ in 0..5 {
        let mut d = net.write().await;
        let started = match attester {
            None => d.start_relayer().await,
            Some(i) => d.start_attester(i).await,
        };
        match started {
            Ok(()) => return,
            Err(e) => last = e.to_string(),
        }
        drop(d);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let who = attester.map_or("the relayer".to_string(), |i| format!("attester {}", i + 1));
    k.restart_errors
        .push(format!("{who} did not come back: {last}"));
}
