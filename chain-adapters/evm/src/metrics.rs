//! Watcher metrics (DESIGN §8), in the process-wide default registry. Labels: chain names.

use prometheus::{register_int_counter_vec, register_int_gauge_vec, IntCounterVec, IntGaugeVec};
use std::sync::LazyLock;

fn fail(e: prometheus::Error) -> ! {
    panic!("metric registration at startup: {e}")
}

pub static WATCHER_HEAD: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "usd1_watcher_head_block",
        "Latest block seen per chain",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static WATCHER_FINALIZED: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "usd1_watcher_finalized_block",
        "Highest final block per chain",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static WATCHER_LAG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "usd1_watcher_lag_blocks",
        "Final blocks not yet read per chain",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static REORGS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_reorgs_total",
        "Reorgs detected below the watcher cursor",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static ORPHANED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_orphaned_burns_total",
        "Burns seen in blocks that were reorged away",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static FINALITY_VIOLATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_finality_violations_total",
        "Messages read as final whose blocks were later reorged away (a reorg deeper than the finality rule)",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static HEADS_SUBSCRIBED: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "usd1_head_subscription_up",
        "1 while a chain's new heads are pushed over its websocket, 0 while it is polled only",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static HEADS_PUSHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_heads_pushed_total",
        "New heads pushed over the websocket, each waking the chain's watcher",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
