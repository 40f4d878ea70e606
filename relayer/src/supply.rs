//! Supply metrics (DESIGN §8, §10): every chain's total supply (Solana's mint included when
//! `[solana]` is configured), the burns in flight, what was burned outside the bridge, and —
//! when the issuer's total is configured — the discrepancy, which must stay 0.
//!
//! The audit keeps its index in the relayer's store (trees `audit/evm` and `audit/solana`),
//! so each run reads the blocks since the last one, not the history.

use prometheus::{
    register_gauge, register_gauge_vec, register_int_counter, Gauge, GaugeVec, IntCounter,
};
use std::sync::LazyLock;
use std::time::Duration;
use usd1_core::audit::{Balance, ForeignChain};
use usd1_core::traits::ChainError;
use usd1_core::{format_amount, U256, USD1_DECIMALS};
use usd1_evm::audit::{audit, audit_indexed, AuditIndex, AuditedChain};
use usd1_solana::audit::SolanaAudit;

fn fail(e: prometheus::Error) -> ! {
    panic!("metric registration at startup: {e}")
}

static SUPPLY: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!("usd1_supply", "USD1 total supply per chain", &["chain"])
        .unwrap_or_else(|e| fail(e))
});
static IN_FLIGHT: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!("usd1_supply_in_flight", "USD1 burned and not yet minted")
        .unwrap_or_else(|e| fail(e))
});
static OUTSIDE_BRIDGE: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        "usd1_supply_burned_outside_bridge",
        "USD1 burned on a chain by transactions that are not bridge burns",
        &["chain"]
    )
    .unwrap_or_else(|e| fail(e))
});
static ISSUED: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!("usd1_supply_issued", "USD1 the issuer says is outstanding")
        .unwrap_or_else(|e| fail(e))
});
static DISCREPANCY: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!(
        "usd1_supply_discrepancy",
        "Σ supply + in flight − issued, in USD1 (must be 0)"
    )
    .unwrap_or_else(|e| fail(e))
});
static AUDIT_ERRORS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "usd1_supply_audit_errors_total",
        "Supply audits that could not complete"
    )
    .unwrap_or_else(|e| fail(e))
});

/// USD1 as a float, for gauges (exact to the base unit below 9·10⁹ USD1).
fn usd1(amount: U256) -> f64 {
    format_amount(amount, USD1_DECIMALS)
        .parse()
        .unwrap_or(f64::NAN)
}

/// The last completed audit, for `/v1/supply` (the explorer): when it finished (unix ms), the
/// report, and the issuer's total if configured.
#[derive(Clone)]
pub struct LatestAudit {
    pub at_ms: u64,
    pub report: usd1_core::audit::SupplyAudit,
    pub issued: Option<U256>,
}

pub static LATEST: std::sync::RwLock<Option<LatestAudit>> = std::sync::RwLock::new(None);

/// The audit's index in the relayer's store, and Solana's tree beside it.
fn open_index(db: &sled::Db) -> Result<(AuditIndex, sled::Tree), ChainError> {
    let tree = |name| {
        db.open_tree(name)
            .map_err(|e| ChainError::Rejected(format!("the audit index ({name}): {e}")))
    };
    let index = AuditIndex::open(tree("audit/evm")?)?;
    Ok((index, tree("audit/solana")?))
}

/// Audits every `every`; `solana` (from `[solana]`) adds Solana's mint and burns.
pub async fn run(
    db: sled::Db,
    chains: Vec<AuditedChain>,
    solana: Option<SolanaAudit>,
    issued: Option<U256>,
    every: Duration,
) {
    LazyLock::force(&AUDIT_ERRORS); // exported at 0 from the start
    let (index, solana) = match open_index(&db) {
        Ok((index, tree)) => (Some(index), solana.map(|s| s.with_index(tree))),
        Err(e) => {
            // Still audited, by reading every chain from its start each time.
            tracing::error!(error = %e, "supply audit: cannot open its index in the store; auditing without one");
            (None, solana)
        }
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let foreign = solana.as_ref().map(|s| s as &dyn ForeignChain);
        let result = match &index {
            Some(index) => audit_indexed(&chains, foreign, index).await,
            None => audit(&chains, foreign).await,
        };
        match result {
            Ok(report) => {
                for r in &report.reads {
                    tracing::debug!(reads = %r, "supply audit");
                }
                for s in &report.supplies {
                    SUPPLY.with_label_values(&[&s.chain]).set(usd1(s.supply));
                }
                for o in &report.outside_bridge {
                    OUTSIDE_BRIDGE
                        .with_label_values(&[&o.chain])
                        .set(usd1(o.amount));
                }
                IN_FLIGHT.set(usd1(report.in_flight() + report.to_unknown_domains()));
                if let Some(issued) = issued {
                    ISSUED.set(usd1(issued));
                    let diff = match report.balance(issued) {
                        Balance::Exact => 0.0,
                        Balance::Excess(d) => usd1(d),
                        Balance::Shortfall(d) => -usd1(d),
                    };
                    DISCREPANCY.set(diff);
                    if diff != 0.0 {
                        tracing::error!(
                            discrepancy_usd1 = diff,
                            "supply discrepancy: Σ supply + in flight ≠ issued"
                        );
                    }
                }
                *LATEST.write().unwrap_or_else(|p| p.into_inner()) = Some(LatestAudit {
                    at_ms: usd1_runtime::now_ms(),
                    report,
                    issued,
                });
            }
            Err(e) => {
                AUDIT_ERRORS.inc();
                tracing::warn!(error = %e, "supply audit failed; retrying next interval");
            }
        }
    }
}
