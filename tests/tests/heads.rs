//! Pushed heads drive the watchers: with polling every ten minutes, a transfer still goes
//! through within a minute, because each node's websocket wakes the attesters' and the
//! relayer's watchers as blocks come. Without the subscription, nothing after the first poll
//! at start would read the burn before the wait below ends.

use std::time::Duration;
use usd1_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn watchers_polling_every_ten_minutes_relay_a_transfer_on_pushed_heads() {
    let d = devnet("heads", |o| {
        o.poll_interval_ms = 600_000;
        assert!(
            o.heads,
            "the devnet gives the services each node's websocket"
        );
    })
    .await;
    let burn = burn(&d, "ethereum", "base", 3_000_000).await;
    if let Err(e) = usd1_deploy::client::wait_for_status(
        &d.relayer_url,
        &burn.message_hash,
        "confirmed",
        Duration::from_secs(60),
    )
    .await
    {
        panic!("{e}; logs in {}", d.log_dir().display());
    }
    assert_eq!(
        balance(&d, "base", recipient()).await,
        alloy::primitives::U256::from(3_000_000u64)
    );
}
