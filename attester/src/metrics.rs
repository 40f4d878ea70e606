use prometheus::{
    register_gauge_vec, register_histogram_vec, register_int_counter_vec, register_int_gauge,
    register_int_gauge_vec, GaugeVec, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
};
use std::sync::LazyLock;

fn fail(e: prometheus::Error) -> ! {
    panic!("metric registration at startup: {e}")
}

pub static OBSERVED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_messages_observed_total",
        "Final messages seen",
        &["source", "destination"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static ATTESTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_messages_attested_total",
        "Messages signed",
        &["source", "destination"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static SIGNATURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_attester_signatures_total",
        "Signatures made, by scheme",
        &["scheme"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static FINAL_TO_ATTESTED: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "usd1_latency_final_to_attested_seconds",
        "From reading a final message to its persisted signature",
        &["source"],
        vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static BURN_TO_FINAL: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "usd1_latency_burn_to_final_seconds",
        "From the burn's block time to this attester reading it as final",
        &["source"],
        vec![1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0]
    )
    .unwrap_or_else(|e| fail(e))
});

/// Signatures journaled and not indexed yet (served from memory): grows during a backfill,
/// back to 0 once the attester has been idle for a moment (store::journal).
pub static JOURNAL_PENDING: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "usd1_attester_journal_pending",
        "Signatures journaled and not yet indexed (served from memory)"
    )
    .unwrap_or_else(|e| fail(e))
});

pub static GOVERNOR_WINDOW_USED: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        "usd1_governor_window_used",
        "USD1 signed from this source chain in the governor's rolling window ending now",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static GOVERNOR_WINDOW_LIMIT: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        "usd1_governor_window_limit",
        "The governor's rolling limit for this source chain, USD1 (0: off)",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static GOVERNOR_HELD: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "usd1_governor_held",
        "Final burns from this source chain the governor holds",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static GOVERNOR_HELD_VALUE: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        "usd1_governor_held_value",
        "USD1 the governor holds from this source chain",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
