//! When each block of a timed run appeared on the node, read by asking its number every
//! few milliseconds: anvil records a block's time in whole seconds only, and how far apart
//! blocks are sealed tells whether the miner kept its interval (a block sealed a few
//! milliseconds after the one before can only carry what arrived in those milliseconds).

use alloy::providers::{DynProvider, Provider};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How often the node is asked: 50 cheap calls a second, fine enough to tell a block sealed
/// at once after another (a missed tick made up) from one a block interval later.
const POLL: Duration = Duration::from_millis(20);

/// A running watch of a node's block number.
pub struct SealWatch {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Vec<(u64, Instant)>>,
}

/// Blocks and the moment each was first seen.
pub struct Seals(Vec<(u64, Instant)>);

impl SealWatch {
    pub fn start(node: DynProvider) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut seen: Vec<(u64, Instant)> = Vec::new();
            let mut tick = tokio::time::interval(POLL);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                // A failed read is a missed poll: the next one sees the block.
                let Ok(number) = node.get_block_number().await else {
                    continue;
                };
                if seen.last().is_none_or(|(last, _)| number > *last) {
                    seen.push((number, Instant::now()));
                }
            }
            seen
        });
        Self { stop, task }
    }

    pub async fn stop(self) -> Seals {
        let _ = self.stop.send(());
        Seals(self.task.await.unwrap_or_default())
    }
}

impl Seals {
    /// When block `number` was first seen (with the block after it when both appeared in one
    /// poll); None if the watch ended before it.
    pub fn seen(&self, number: u64) -> Option<Instant> {
        self.0.iter().find(|(n, _)| *n >= number).map(|(_, at)| *at)
    }

    /// The first block seen after `at`, and when: the one after the head seen at or before
    /// `at` (the first reading, taken when the watch began, is not a seal).
    pub fn first_after(&self, at: Instant) -> Option<(u64, Instant)> {
        let i = self.0.iter().position(|(_, seen)| *seen > at)?;
        let (number, seen) = self.0[i];
        let block = match i {
            0 => number,
            _ => self.0[i - 1].0 + 1,
        };
        Some((block, seen))
    }

    /// Milliseconds from the block before to each of `first..=last` (a block seen in the
    /// same poll as the one before it shows 0: they were sealed within one poll). The first
    /// reading is when the watch began, not a seal: the block after it has no gap.
    pub fn gaps_ms(&self, first: u64, last: u64) -> Vec<u64> {
        let mut gaps = Vec::new();
        for w in self.0.windows(2).skip(1) {
            let ((before, seen_before), (number, seen)) = (w[0], w[1]);
            for block in (before + 1)..=number {
                if (first..=last).contains(&block) {
                    let gap = if block == before + 1 {
                        seen.duration_since(seen_before).as_millis() as u64
                    } else {
                        0
                    };
                    gaps.push(gap);
                }
            }
        }
        gaps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_between_seals_seen_not_from_the_watchs_start() {
        let t = Instant::now();
        let ms = |n: u64| t + Duration::from_millis(n);
        // Block 10 was there when the watch began; 12 and 13 appeared in one poll.
        let seals = Seals(vec![(10, ms(0)), (11, ms(400)), (13, ms(1_400))]);
        assert_eq!(seals.gaps_ms(11, 13), vec![1_000, 0]);
        assert_eq!(seals.gaps_ms(13, 13), vec![0]);
    }

    #[test]
    fn a_block_is_seen_with_the_poll_that_first_showed_it_and_the_next_one_follows_a_moment() {
        let t = Instant::now();
        let ms = |n: u64| t + Duration::from_millis(n);
        let seals = Seals(vec![(10, ms(0)), (11, ms(400)), (13, ms(1_400))]);
        assert_eq!(seals.seen(11), Some(ms(400)));
        assert_eq!(seals.seen(12), Some(ms(1_400)), "seen with 13, in one poll");
        assert_eq!(seals.seen(14), None);
        assert_eq!(seals.first_after(ms(100)), Some((11, ms(400))));
        assert_eq!(seals.first_after(ms(400)), Some((12, ms(1_400))));
        assert_eq!(seals.first_after(ms(1_400)), None);
    }
}
