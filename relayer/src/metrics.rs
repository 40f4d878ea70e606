//! Relayer metrics (DESIGN §8). Labels are chain names and state names: bounded sets.

use prometheus::{
    register_histogram_vec, register_int_counter_vec, register_int_gauge_vec, HistogramVec,
    IntCounterVec, IntGaugeVec,
};
use std::collections::HashMap;
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
const LATENCY_BUCKETS: [f64; 12] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0,
];

static END_TO_END: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "usd1_latency_end_to_end_seconds",
        "From the burn's block time to its confirmed mint",
        &["source", "destination"],
        LATENCY_BUCKETS.to_vec()
    )
    .unwrap_or_else(|e| fail(e))
});
static ATTESTED_TO_MINTED: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "usd1_latency_attested_to_minted_seconds",
        "From the attestation being complete to the confirmed mint",
        &["source", "destination"],
        LATENCY_BUCKETS.to_vec()
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

/// Domain → configured chain name: the metric labels (a bounded set; `other` beyond it).
#[derive(Default)]
pub struct ChainNames(pub HashMap<Domain, String>);

impl ChainNames {
    pub fn label(&self, d: Domain) -> &str {
        self.0.get(&d).map(String::as_str).unwrap_or("other")
    }
}

pub fn entered(p: &ChainNames, r: &MessageRecord, state: &str) {
    MESSAGES
        .with_label_values(&[
            p.label(r.source_domain),
            p.label(r.destination_domain),
            state,
        ])
        .inc();
}

/// The queue-depth gauge from the store's count of active records per state.
pub fn set_queue_depth(by_state: &std::collections::BTreeMap<String, usize>) {
    for name in MessageState::NAMES {
        let n = by_state.get(name).copied().unwrap_or(0);
        QUEUE.with_label_values(&[name]).set(n as i64);
    }
}

pub fn fees(p: &ChainNames, destination: Domain, wei: u128) {
    FEES.with_label_values(&[p.label(destination)])
        .inc_by(wei.min(u64::MAX as u128) as u64);
}

/// Records the latencies that end at a confirmed mint.
pub fn minted(p: &ChainNames, r: &MessageRecord) {
    let labels = [p.label(r.source_domain), p.label(r.destination_domain)];
    let now = now_ms();
    if r.burned_at_ms > 0 {
        END_TO_END
            .with_label_values(&labels)
            .observe(now.saturating_sub(r.burned_at_ms) as f64 / 1000.0);
    }
    if r.attested_at_ms > 0 {
        ATTESTED_TO_MINTED
            .with_label_values(&labels)
            .observe(now.saturating_sub(r.attested_at_ms) as f64 / 1000.0);
    }
}

/// Creates every (source, destination, state) series and the fee series at 0, so rates and
/// alerts see them before the first message.
pub fn init(p: &ChainNames, destinations: impl Iterator<Item = Domain>) {
    let names: Vec<&str> = p.0.values().map(String::as_str).collect();
    for src in &names {
        for dst in &names {
            if src != dst {
                END_TO_END.with_label_values(&[src, dst]);
                ATTESTED_TO_MINTED.with_label_values(&[src, dst]);
                for state in MessageState::NAMES {
                    MESSAGES.with_label_values(&[src, dst, state]);
                }
            }
        }
    }
    for domain in destinations {
        FEES.with_label_values(&[p.label(domain)]);
    }
}
