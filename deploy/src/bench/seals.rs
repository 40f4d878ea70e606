//! When each block of a timed run was sealed, as the node pushes it (`eth_subscribe`
//! newHeads over its websocket; anvil records a block's time in whole seconds only): to
//! within the push's loopback hop, where polling the block number could be a poll late.
//! How far apart blocks are sealed tells whether the miner kept its interval (a block sealed
//! a few milliseconds after the one before can only carry what arrived in those ms).

use alloy::providers::{Provider, ProviderBuilder, WsConnect};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running watch of a node's new heads.
pub struct SealWatch {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Vec<Seal>>,
}

/// A block and when its head was pushed, as an instant and in Unix ms (to set beside the
/// relayer's history, which is in Unix ms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seal {
    pub number: u64,
    pub at: Instant,
    pub unix_ms: u64,
}

/// Blocks and the moment each was sealed, the first entry being the head when the watch
/// began (not a seal).
pub struct Seals(Vec<Seal>);

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl SealWatch {
    /// Subscribes to `ws_url`'s new heads; returns once the subscription is confirmed.
    pub async fn start(ws_url: &str) -> Result<Self, alloy::transports::TransportError> {
        let node = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_ws(WsConnect::new(ws_url))
            .await?;
        // The head first: a block sealed before the subscription is confirmed is then
        // pushed after it, not taken for the starting head.
        let head = node.get_block_number().await?;
        let mut heads = node.subscribe_blocks().await?;
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let _node = node; // owns the socket
            let mut seen = vec![Seal {
                number: head,
                at: Instant::now(),
                unix_ms: unix_ms(),
            }];
            loop {
                let header = tokio::select! {
                    _ = &mut stopped => break,
                    h = heads.recv() => h,
                };
                let header = match header {
                    Ok(header) => header,
                    // Heads missed: the next one pushed stands for them.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                };
                let (at, unix_ms) = (Instant::now(), unix_ms());
                if seen.last().is_none_or(|s| header.number > s.number) {
                    seen.push(Seal {
                        number: header.number,
                        at,
                        unix_ms,
                    });
                }
            }
            seen
        });
        Ok(Self { stop, task })
    }

    pub async fn stop(self) -> Seals {
        let _ = self.stop.send(());
        Seals(self.task.await.unwrap_or_default())
    }
}

impl Seals {
    /// When block `number` was sealed (with a later one, if its own push was missed); None
    /// if the watch ended before it.
    pub fn seen(&self, number: u64) -> Option<Seal> {
        self.0.iter().find(|s| s.number >= number).copied()
    }

    /// The first block sealed after `at`: the one after the head at `at` (the first entry,
    /// the head when the watch began, is not a seal).
    pub fn first_after(&self, at: Instant) -> Option<Seal> {
        let i = self.0.iter().position(|s| s.at > at)?;
        let mut seal = self.0[i];
        if i > 0 {
            seal.number = self.0[i - 1].number + 1;
        }
        Some(seal)
    }

    /// Milliseconds from the block before to each of `first..=last` (a block pushed with a
    /// later one shows 0). The first entry is when the watch began, not a seal: the block
    /// after it has no gap.
    pub fn gaps_ms(&self, first: u64, last: u64) -> Vec<u64> {
        let mut gaps = Vec::new();
        for w in self.0.windows(2).skip(1) {
            let (before, seal) = (w[0], w[1]);
            for block in (before.number + 1)..=seal.number {
                if (first..=last).contains(&block) {
                    let gap = if block == before.number + 1 {
                        seal.at.duration_since(before.at).as_millis() as u64
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
    use std::time::Duration;

    fn seals(t: Instant, blocks: &[(u64, u64)]) -> Seals {
        Seals(
            blocks
                .iter()
                .map(|&(number, ms)| Seal {
                    number,
                    at: t + Duration::from_millis(ms),
                    unix_ms: 1_000_000 + ms,
                })
                .collect(),
        )
    }

    #[test]
    fn gaps_are_between_seals_not_from_the_watchs_start() {
        let t = Instant::now();
        // Block 10 was the head when the watch began; 12 came with 13.
        let seals = seals(t, &[(10, 0), (11, 400), (13, 1_400)]);
        assert_eq!(seals.gaps_ms(11, 13), vec![1_000, 0]);
        assert_eq!(seals.gaps_ms(13, 13), vec![0]);
    }

    #[test]
    fn a_block_is_sealed_when_pushed_and_the_next_one_follows_the_moment_asked() {
        let t = Instant::now();
        let ms = |n: u64| t + Duration::from_millis(n);
        let seals = seals(t, &[(10, 0), (11, 400), (13, 1_400)]);
        assert_eq!(seals.seen(11).map(|s| s.at), Some(ms(400)));
        assert_eq!(seals.seen(11).map(|s| s.unix_ms), Some(1_000_400));
        assert_eq!(
            seals.seen(12).map(|s| s.at),
            Some(ms(1_400)),
            "came with 13"
        );
        assert!(seals.seen(14).is_none());
        let after = |at| seals.first_after(at).map(|s| (s.number, s.at));
        assert_eq!(after(ms(100)), Some((11, ms(400))));
        assert_eq!(after(ms(400)), Some((12, ms(1_400))));
        assert_eq!(after(ms(1_400)), None);
    }
}
