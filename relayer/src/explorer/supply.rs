//! The latest supply audit, as the page shows it.

use super::{shown, usd1};
use alloy::primitives::U256;
use serde_json::{json, Value};
use usd1_runtime::extract::Json;

pub(super) async fn supply() -> Json<Value> {
    let latest = crate::supply::LATEST
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let Some(l) = latest else {
        return shown(json!({
            "available": false,
            "note": "No supply audit has completed yet (the relayer audits periodically).",
        }));
    };
    let r = &l.report;
    let routes: Vec<Value> = r
        .routes()
        .iter()
        .map(|((s, d), route)| {
            json!({
                "source": r.chain_name(*s), "sourceDomain": s,
                "destination": r.chain_name(*d), "destinationDomain": d,
                "burns": route.burns,
                "inFlightCount": route.in_flight_count,
                "inFlight": usd1(route.in_flight),
            })
        })
        .collect();
    let chains: Vec<Value> = r
        .supplies
        .iter()
        .map(|s| {
            let in_flight_from = r
                .routes()
                .iter()
                .filter(|((src, _), _)| *src == s.domain)
                .fold(U256::ZERO, |a, (_, route)| a + route.in_flight);
            json!({
                "chain": s.chain, "domain": s.domain,
                "height": s.height.to_string(),
                "supply": usd1(s.supply),
                "inFlightFrom": usd1(in_flight_from),
            })
        })
        .collect();
    let (discrepancy, balanced) = match l.issued.map(|i| r.balance(i)) {
        Some(usd1_core::audit::Balance::Exact) => (Some("0".to_string()), Some(true)),
        Some(usd1_core::audit::Balance::Excess(d)) => (Some(usd1(d)), Some(false)),
        Some(usd1_core::audit::Balance::Shortfall(d)) => {
            (Some(format!("-{}", usd1(d))), Some(false))
        }
        None => (None, None),
    };
    shown(json!({
        "available": true,
        "atMs": l.at_ms,
        "chains": chains,
        "totalSupply": usd1(r.total_supply()),
        "inFlight": usd1(r.in_flight()),
        "inFlightCount": r.in_flight_count(),
        "toUnknownDomains": usd1(r.to_unknown_domains()),
        "outsideBridge": r.outside_bridge.iter().map(|o| json!({
            "chain": o.chain, "count": o.count, "amount": usd1(o.amount),
        })).collect::<Vec<_>>(),
        "routes": routes,
        "accounted": usd1(r.accounted()),
        "issued": l.issued.map(usd1),
        "discrepancy": discrepancy,
        "balanced": balanced,
    }))
}
