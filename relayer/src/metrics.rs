//! Relayer metrics (DESIGN §8). Labels are chain names and state names: bounded sets.

use crate::pipeline::Pipeline;
use prometheus::{
    register_histogram_vec, register_int_counter_vec, register_int_gauge_vec, HistogramVec,
    IntCounterVec, IntGaugeVec,
};
use std::sync::LazyLock;
use usd1_core::{Domain, MessageRecord, MessageState};
use usd1_runtime::now_ms;

fn fail(e: prometheus::Error) -> ! {
    panic!("metric registration at startup: {e}")
}

static MESSAGES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_relayer_messages_total",
        "Messages entering each state, by source and destination",
        &["source", "destination", "state"]
    )
    .unwrap_or_else(|e| fail(e))
});
static QUEUE: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "usd1_relayer_queue_depth",
        "Messages not yet terminal, by state",
        &["state"]
    )
    .unwrap_or_else(|e| fail(e))
});
static END_TO_END: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "usd1_relayer_observed_to_confirmed_seconds",
        "From a final burn observed by the relayer to its confirmed mint",
        &["source", "destination"],
        vec![1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 900.0]
    )
    .unwrap_or_else(|e| fail(e))
});
static FEES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "usd1_relayer_fees_paid_wei_total",
        "Fees paid for deliveries",
        &["destination"]
    )
    .unwrap_or_else(|e| fail(e))
});
pub static BALANCE: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "usd1_relayer_submitter_balance_gwei",
        "Submitter account balance",
        &["destination"]
    )
    .unwrap_or_else(|e| fail(e))
});

pub fn entered(p: &Pipeline, r: &MessageRecord, state: &str) {
    MESSAGES
        .with_label_values(&[
            p.label(r.source_domain),
            p.label(r.destination_domain),
            state,
        ])
        .inc();
}

pub fn set_queue_depth(active: &[MessageRecord]) {
    for name in MessageState::NAMES {
        let n = active.iter().filter(|r| r.state.name() == name).count();
        QUEUE.with_label_values(&[name]).set(n as i64);
    }
}

pub fn fees(p: &Pipeline, destination: Domain, wei: u128) {
    FEES.with_label_values(&[p.label(destination)])
        .inc_by(wei.min(u64::MAX as u128) as u64);
}

pub fn end_to_end(p: &Pipeline, r: &MessageRecord) {
    let secs = now_ms().saturating_sub(r.observed_at_ms) as f64 / 1000.0;
    END_TO_END
        .with_label_values(&[p.label(r.source_domain), p.label(r.destination_domain)])
        .observe(secs);
}
