//! New heads pushed by a node (`eth_subscribe("newHeads")` over a websocket) wake a watcher
//! the moment a block is sealed, instead of at its next poll: the burn that a block makes
//! final is read within a round trip of it, not up to a poll interval later.
//!
//! A pushed head is only a wake-up. Its content is not even decoded: what the watcher reads,
//! and every check it makes, still go through its RPC URLs. So a lying socket can never make
//! the watcher read something else, and a flooding one wakes it at most once per
//! [`Timing::wake_gap`]. When the socket fails or falls silent, polling at the configured
//! interval carries on, and the follower connects again after a growing pause.

use crate::metrics;
use alloy::providers::{Provider, ProviderBuilder, WsConnect};
use alloy::pubsub::{ConnectionHandle, PubSubConnect};
use alloy::transports::ws::WebSocketConfig;
use alloy::transports::{TransportErrorKind, TransportResult};
use std::future::Future;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
pub use usd1_core::source::OnHead;

/// A head notification is under 2 KiB; a node sending more than this in one message is
/// cut off rather than buffered.
const MAX_MESSAGE: usize = 256 * 1024;

/// The follower's clock.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Longest wait for the socket to open and the subscription to be confirmed.
    pub connect_timeout: Duration,
    /// A subscription that pushes nothing for this long is taken as dead: a stalled node,
    /// or one that dropped the subscription, looks exactly like a quiet chain otherwise.
    pub silence: Duration,
    /// Least time between two wakes: a head arriving sooner is folded into one wake at the
    /// end of the gap (so the last head is never lost), whatever rate the node pushes at.
    pub wake_gap: Duration,
    /// The pause after the first failure; it doubles up to `max_pause` while failures
    /// repeat, and is reset only by a subscription that lived `steady` or longer.
    pub first_pause: Duration,
    pub max_pause: Duration,
    pub steady: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            // Five of Ethereum's 12 s slots.
            silence: Duration::from_secs(60),
            wake_gap: Duration::from_millis(250),
            first_pause: Duration::from_millis(500),
            max_pause: Duration::from_secs(30),
            steady: Duration::from_secs(30),
        }
    }
}

/// Follows `url`'s new heads for as long as the process runs, calling `on_head` for each.
pub async fn follow(chain: String, url: String, on_head: OnHead) {
    follow_with(chain, url, on_head, Timing::default()).await
}

/// [`follow`] on a given clock.
pub async fn follow_with(chain: String, url: String, on_head: OnHead, timing: Timing) {
    let up = Subscribed::new(&chain);
    let pushed = metrics::HEADS_PUSHED.with_label_values(&[&chain]);
    let mut pause = timing.first_pause;
    loop {
        match subscribe(&url, timing.connect_timeout).await {
            Ok((provider, mut heads)) => {
                up.set(true);
                let since = Instant::now();
                tracing::info!(chain = %chain, "following new heads over the websocket");
                let mut wakes = Paced::new(timing.wake_gap);
                let why = loop {
                    let silent_until = Instant::now() + timing.silence;
                    tokio::select! {
                        head = heads.recv() => match head {
                            // Lagged: `skipped` heads came faster than they were
                            // taken and were dropped; they still mean "new head".
                            Ok(_) | Err(RecvError::Lagged(_)) => {
                                let skipped = match head {
                                    Err(RecvError::Lagged(skipped)) => skipped,
                                    _ => 1,
                                };
                                pushed.inc_by(skipped);
                                if wakes.head(Instant::now()) {
                                    on_head();
                                }
                            }
                            Err(RecvError::Closed) => break "the socket closed",
                        },
                        _ = tokio::time::sleep_until(wakes.due().unwrap_or(silent_until)) => {
                            if wakes.due().is_some() {
                                wakes.woke(Instant::now());
                                on_head();
                            } else {
                                break "it pushed nothing for too long";
                            }
                        }
                    }
                };
                up.set(false);
                drop(provider);
                if since.elapsed() >= timing.steady {
                    pause = timing.first_pause;
                }
                tracing::warn!(chain = %chain, reason = why, retry_ms = pause.as_millis() as u64,
                    "the head subscription ended; polling until it is back");
            }
            Err(e) => {
                tracing::warn!(chain = %chain, error = %e, retry_ms = pause.as_millis() as u64,
                    "cannot follow new heads; polling until it can");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(timing.max_pause);
    }
}

/// Wakes at most once per gap; a head inside the gap is owed a wake at its end.
struct Paced {
    gap: Duration,
    last: Option<Instant>,
    owed: bool,
}

impl Paced {
    fn new(gap: Duration) -> Self {
        Self {
            gap,
            last: None,
            owed: false,
        }
    }

    /// A head came at `now`: whether to wake at once (otherwise one wake is owed).
    fn head(&mut self, now: Instant) -> bool {
        match self.last {
            Some(last) if now < last + self.gap => {
                self.owed = true;
                false
            }
            _ => {
                self.woke(now);
                true
            }
        }
    }

    /// When the owed wake is due, if one is.
    fn due(&self) -> Option<Instant> {
        match (self.owed, self.last) {
            (true, Some(last)) => Some(last + self.gap),
            _ => None,
        }
    }

    fn woke(&mut self, now: Instant) {
        self.last = Some(now);
        self.owed = false;
    }
}

/// `usd1_head_subscription_up` for one chain, back at 0 however the follower ends.
struct Subscribed(prometheus::IntGauge);

impl Subscribed {
    fn new(chain: &str) -> Self {
        let gauge = metrics::HEADS_SUBSCRIBED.with_label_values(&[chain]);
        gauge.set(0);
        Self(gauge)
    }
    fn set(&self, up: bool) {
        self.0.set(up as i64);
    }
}

impl Drop for Subscribed {
    fn drop(&mut self) {
        self.0.set(0);
    }
}

/// A websocket that is never reconnected behind the follower's back: alloy would reconnect
/// at once and without a timeout, keeping the subscription (and the gauge) "up" through it.
/// Here a dropped socket ends the subscription, and [`follow_with`] reconnects with its
/// timeout and pause.
#[derive(Clone)]
struct Once(WsConnect);

impl PubSubConnect for Once {
    fn is_local(&self) -> bool {
        self.0.is_local()
    }

    fn connect(&self) -> impl Future<Output = TransportResult<ConnectionHandle>> + Send {
        self.0.connect()
    }

    fn try_reconnect(&self) -> impl Future<Output = TransportResult<ConnectionHandle>> + Send {
        std::future::ready(Err(TransportErrorKind::non_retryable_str(
            "the head follower reconnects itself",
        )))
    }
}

type Heads = alloy::pubsub::RawSubscription;

/// Opens the socket and subscribes. The provider is returned with the subscription: it owns
/// the connection, which closes when it is dropped.
async fn subscribe(url: &str, timeout: Duration) -> Result<(impl Provider, Heads), String> {
    let connect = Once(
        WsConnect::new(url).with_config(
            WebSocketConfig::default()
                .max_message_size(Some(MAX_MESSAGE))
                .max_frame_size(Some(MAX_MESSAGE)),
        ),
    );
    let attempt = async {
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_pubsub_with(connect)
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        let heads = provider
            .subscribe_blocks()
            .await
            .map_err(|e| format!("subscribing to newHeads: {e}"))?
            .into_raw();
        Ok((provider, heads))
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| format!("no subscription within {timeout:?}"))?
}

#[cfg(test)]
mod tests;
