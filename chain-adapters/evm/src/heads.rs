//! New heads pushed by a node (`eth_subscribe("newHeads")` over a websocket) wake a watcher
//! the moment a block is sealed, instead of at its next poll: the burn that a block makes
//! final is read within a round trip of it, not up to a poll interval later.
//!
//! A pushed head is only a wake-up. Its content is not even decoded: what the watcher reads,
//! and every check it makes, still go through its RPC URLs. So a lying or flooding socket can
//! at most make the watcher poll sooner (no more often than the watch loop's least gap
//! between polls), never make it read something else. When the socket fails, polling at the
//! configured interval carries on, and the follower connects again after a growing pause.

use crate::metrics;
use alloy::providers::{Provider, ProviderBuilder, WsConnect};
use alloy::transports::ws::WebSocketConfig;
use std::time::Duration;

/// Longest wait for the socket to open and the subscription to be confirmed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause after the first failure; it doubles up to [`MAX_PAUSE`] while failures repeat.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const MAX_PAUSE: Duration = Duration::from_secs(30);
/// A head notification is under 2 KiB; a node sending more than this in one message is
/// cut off rather than buffered.
const MAX_MESSAGE: usize = 256 * 1024;

pub use usd1_core::source::OnHead;

/// Follows `url`'s new heads for as long as the process runs, calling `on_head` for each.
pub async fn follow(chain: String, url: String, on_head: OnHead) {
    let up = metrics::HEADS_SUBSCRIBED.with_label_values(&[&chain]);
    let pushed = metrics::HEADS_PUSHED.with_label_values(&[&chain]);
    up.set(0);
    let mut pause = FIRST_PAUSE;
    loop {
        match subscribe(&url).await {
            Ok((provider, mut heads)) => {
                up.set(1);
                pause = FIRST_PAUSE;
                tracing::info!(chain = %chain, "following new heads over the websocket");
                // Lagged (heads came faster than they were taken) still means "new head".
                while !matches!(
                    heads.recv().await,
                    Err(tokio::sync::broadcast::error::RecvError::Closed)
                ) {
                    pushed.inc();
                    on_head();
                }
                up.set(0);
                drop(provider);
                tracing::warn!(chain = %chain, "the head subscription ended; polling until it is back");
            }
            Err(e) => {
                tracing::warn!(chain = %chain, error = %e, retry_ms = pause.as_millis() as u64,
                    "cannot follow new heads; polling until it can");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

type Heads = alloy::pubsub::RawSubscription;

/// Opens the socket and subscribes. The provider is returned with the subscription: it owns
/// the connection, which closes when it is dropped.
async fn subscribe(url: &str) -> Result<(impl Provider, Heads), String> {
    // alloy tries once itself to reconnect (and subscribe again) when the socket drops; past
    // that the subscription ends and `follow` retries with its pause, the gauge at 0.
    let connect = WsConnect::new(url).with_max_retries(1).with_config(
        WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE)),
    );
    let attempt = async {
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_ws(connect)
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        let heads = provider
            .subscribe_blocks()
            .await
            .map_err(|e| format!("subscribing to newHeads: {e}"))?
            .into_raw();
        Ok((provider, heads))
    };
    tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| format!("no subscription within {CONNECT_TIMEOUT:?}"))?
}

#[cfg(test)]
mod tests;
