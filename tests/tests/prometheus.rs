//! The alert rules pass `promtool check` and their unit tests, and a real Prometheus scraping
//! a devnet holds every series the dashboard and the alert rules use.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use usd1_deploy::process::free_port;
use usd1_e2e::*;

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn promtool(args: &[&str]) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(deploy_dir().join("prometheus"))
        .output()
        .expect("promtool (Debian package prometheus; deploy/setup.sh installs it)");
    assert!(
        out.status.success(),
        "promtool {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn alert_rules_and_config_pass_promtool_and_their_unit_tests() {
    promtool(&["check", "rules", "alerts.yml"]);
    promtool(&["test", "rules", "alerts.test.yml"]);
    promtool(&["check", "config", "prometheus.yml"]);
}

/// Metric names in the dashboard's and the rules' expressions.
fn referenced_metrics() -> BTreeSet<String> {
    let text = std::fs::read_to_string(deploy_dir().join("grafana/usd1-bridge.json")).unwrap()
        + &std::fs::read_to_string(deploy_dir().join("prometheus/alerts.yml")).unwrap();
    let mut names = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("usd1_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names.remove("usd1_"); // "usd1-bridge" style words
    names
}

async fn query(prom: &str, q: &str) -> Vec<serde_json::Value> {
    let url =
        reqwest::Url::parse_with_params(&format!("{prom}/api/v1/query"), &[("query", q)]).unwrap();
    let v: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_prometheus_scrapes_every_series_the_dashboard_and_alerts_use() {
    let mut d = devnet("prometheus", |_| {}).await;
    let prom = d.start_prometheus(free_port().unwrap()).await.unwrap();
    let burn = burn(&d, "ethereum", "base", 1_500_000).await;
    wait_confirmed(&d, &burn.message_hash).await;

    eventually(
        TRANSFER_TIMEOUT,
        "Prometheus to scrape the confirmed transfer",
        || async {
            query(
                &prom,
                "sum(usd1_relayer_messages_total{state=\"confirmed\"})",
            )
            .await
            .first()
            .and_then(|r| r["value"][1].as_str().map(|v| v == "1"))
            .unwrap_or(false)
        },
    )
    .await;
    eventually(
        TRANSFER_TIMEOUT,
        "3 attesters and a relayer to be up in Prometheus",
        || async { query(&prom, "up{job=~\"usd1-.*\"} == 1").await.len() == 4 },
    )
    .await;
    let names = referenced_metrics();
    assert!(names.len() >= 15, "{names:?}");
    for name in &names {
        let found = query(&prom, &format!("count({{__name__=\"{name}\"}})")).await;
        assert!(
            !found.is_empty(),
            "Prometheus has no series {name}, which the dashboard or an alert uses"
        );
    }
    let discrepancy = query(&prom, "usd1_supply_discrepancy").await;
    assert_eq!(discrepancy[0]["value"][1], "0");
    let rules: serde_json::Value = reqwest::get(format!("{prom}/api/v1/rules"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let loaded = rules["data"]["groups"][0]["rules"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    let in_file = std::fs::read_to_string(usd1_deploy::prometheus::rules_path())
        .unwrap()
        .lines()
        .filter(|l| l.trim_start().starts_with("- alert:"))
        .count();
    assert_eq!(loaded, in_file, "every alert rule of alerts.yml is loaded");
    d.stop().await;
}
