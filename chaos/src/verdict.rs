//! The end of a run, judged from the chains alone: wait until quiet (no faults, every service
//! up), then `usd1 audit` (Σ supply + in flight = issued, and how many burns are not minted),
//! each EVM destination's `MessageReceived` log (no (source, nonce) twice), and the relayer's
//! records (none left in a non-terminal state, every `Skipped`/`Failed` with its reason).

use crate::error::ChaosError;
use crate::net::SharedNet;
use crate::traffic::{Kind, Sent};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use usd1_evm::bindings::MessageTransmitter;

const TERMINAL: [&str; 4] = ["confirmed", "delivered", "skipped", "failed"];

#[derive(Debug, Default)]
pub struct Verdict {
    pub audit_ok: bool,
    pub audit_line: String,
    /// Burns on the chains not minted once the run went quiet.
    pub lost: usize,
    /// Burns on the chains, per the audit.
    pub burns: usize,
    /// (source, nonce) pairs an EVM destination received more than once.
    pub duplicates: usize,
    /// Relayer records still not terminal once quiet.
    pub unfinished: Vec<String>,
    /// Skipped or failed records, with their reasons (an empty reason is a violation).
    pub explained: Vec<String>,
    pub unexplained: Vec<String>,
    /// Burn → mint latencies (ms) of plain transfers the relayer delivered.
    pub latencies_ms: Vec<u64>,
    /// The slowest transfers: (ms, route, source transaction), slowest first.
    pub slowest: Vec<(u64, String, String)>,
    /// Sent burns the chains no longer have (dropped by a reorg before they were final).
    pub dropped_by_reorg: usize,
    pub quiet_after: Duration,
    /// `usd1_finality_violations_total` summed over the attesters and the relayer: shallow
    /// reorgs must never change what was attested.
    pub finality_violations: u64,
}

impl Verdict {
    pub fn violations(&self) -> usize {
        self.lost
            + self.duplicates
            + self.unfinished.len()
            + self.unexplained.len()
            + usize::from(!self.audit_ok)
            + self.finality_violations as usize
    }
}

struct Audit {
    ok: bool,
    not_minted: usize,
    burns: usize,
    line: String,
}

/// `usd1 audit` against the nodes themselves (the CLI config has no proxy).
fn audit(
    net_cli: &std::path::Path,
    index: &std::path::Path,
    fresh: bool,
) -> Result<Audit, ChaosError> {
    let mut cmd = std::process::Command::new(usd1_deploy::process::bin_path("usd1"));
    cmd.arg("--config").arg(net_cli).arg("audit");
    if fresh {
        cmd.arg("--no-index");
    }
    let out = cmd
        .env("USD1_AUDIT_INDEX", index)
        .output()
        .map_err(|source| ChaosError::Spawn {
            what: "usd1 audit",
            source,
        })?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    // "  in flight   12.5 USD1  (3 of 120 burns not minted yet)"
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("in flight"))
        .unwrap_or_default()
        .to_string();
    let counts = line
        .split('(')
        .nth(1)
        .map(|r| r.split_whitespace().collect::<Vec<_>>())
        .unwrap_or_default();
    let parse = |i: usize| counts.get(i).and_then(|w| w.parse().ok());
    let verdict = text
        .lines()
        .find(|l| l.starts_with("OK:") || l.contains("DISCREPANCY"))
        .unwrap_or("no verdict printed")
        .to_string();
    Ok(Audit {
        ok: out.status.success(),
        not_minted: parse(0).unwrap_or(usize::MAX),
        burns: parse(2).unwrap_or(0),
        line: format!("{} | {}", line.trim(), verdict.trim()),
    })
}

/// Every relayer record, page by page.
async fn relayer_records(relayer: &str) -> Result<Vec<serde_json::Value>, ChaosError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{relayer}/v1/messages?limit=1000");
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let v: serde_json::Value = reqwest::get(&url)
            .await
            .map_err(ChaosError::RelayerList)?
            .json()
            .await
            .map_err(ChaosError::RelayerList)?;
        out.extend(v["messages"].as_array().cloned().unwrap_or_default());
        match v["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => return Ok(out),
        }
    }
}

fn is_terminal(r: &serde_json::Value) -> bool {
    r["status"].as_str().is_some_and(|s| TERMINAL.contains(&s))
}

/// Waits until the relayer has nothing unfinished and the audit has nothing in flight.
pub async fn wait_quiet(net: &SharedNet, timeout: Duration) -> Duration {
    let began = Instant::now();
    let (relayer, cli, index) = {
        let d = net.read().await;
        (
            d.relayer_url.clone(),
            d.cli_config_path(),
            d.options.work_dir.join("audit-index"),
        )
    };
    // A burn still in a node's pool (one the reorg put back, a send that timed out) lands
    // later and must be minted too: quiet only once every pool is empty and every chain has
    // gone far enough past that moment for what was mined before it to be final.
    let (nodes, confirmations) = {
        let d = net.read().await;
        let nodes: Vec<_> = d.chains.iter().map(|c| c.admin.clone()).collect();
        (nodes, d.options.confirmations)
    };
    let mut chains_quiet = ChainsQuiet::new(confirmations);
    while began.elapsed() < timeout {
        let mut now = Vec::with_capacity(nodes.len());
        for node in &nodes {
            now.push(pool_and_head(node).await);
        }
        if !chains_quiet.saw(&now) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let settled = match relayer_records(&relayer).await {
            Ok(records) => records.iter().all(is_terminal),
            Err(_) => false,
        };
        if settled {
            let cli = cli.clone();
            let index = index.clone();
            let a = tokio::task::spawn_blocking(move || audit(&cli, &index, false)).await;
            if matches!(a, Ok(Ok(ref a)) if a.not_minted == 0) {
                return began.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    began.elapsed()
}

/// A node's (transactions in its pool, head); None when it did not answer.
async fn pool_and_head(node: &alloy::providers::DynProvider) -> Option<(u64, u64)> {
    let status: serde_json::Value = node.raw_request("txpool_status".into(), ()).await.ok()?;
    let count = |k: &str| {
        status[k]
            .as_str()
            .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
            .or_else(|| status[k].as_u64())
    };
    let pooled = count("pending")? + count("queued")?;
    Some((pooled, node.get_block_number().await.ok()?))
}

/// Whether the chains are quiet: every pool empty, and every head past the heads seen when
/// the pools were first all empty by more than the finality rule's confirmations.
struct ChainsQuiet {
    confirmations: u64,
    empty_at: Option<Vec<u64>>,
}

impl ChainsQuiet {
    fn new(confirmations: u64) -> Self {
        Self {
            confirmations,
            empty_at: None,
        }
    }

    /// One look at every chain: (pooled transactions, head) each, None if it did not answer.
    fn saw(&mut self, chains: &[Option<(u64, u64)>]) -> bool {
        let Some(now) = chains.iter().copied().collect::<Option<Vec<_>>>() else {
            return false;
        };
        if now.iter().any(|(pooled, _)| *pooled > 0) {
            self.empty_at = None;
            return false;
        }
        let heads: Vec<u64> = now.iter().map(|(_, head)| *head).collect();
        let from = self.empty_at.get_or_insert_with(|| heads.clone());
        heads
            .iter()
            .zip(from.iter())
            .all(|(head, from)| *head > from + self.confirmations)
    }
}

pub async fn judge(net: &SharedNet, sent: &[Sent], quiet_after: Duration) -> Verdict {
    let mut v = Verdict {
        quiet_after,
        ..Default::default()
    };
    let (relayer, cli, index, chains, services) = {
        let d = net.read().await;
        let mut services = d.attester_urls.clone();
        services.push(d.relayer_url.clone());
        let chains: Vec<(String, String, alloy::primitives::Address)> = d
            .chains
            .iter()
            .map(|c| (c.name.clone(), c.rpc_url.clone(), c.deployment.transmitter))
            .collect();
        (
            d.relayer_url.clone(),
            d.cli_config_path(),
            d.options.work_dir.join("audit-index-final"),
            chains,
            services,
        )
    };
    for url in services {
        v.finality_violations += metric_sum(&url, "usd1_finality_violations_total").await;
    }
    match tokio::task::spawn_blocking(move || audit(&cli, &index, true)).await {
        Ok(Ok(a)) => {
            v.audit_ok = a.ok;
            v.lost = a.not_minted;
            v.burns = a.burns;
            v.audit_line = a.line;
        }
        Ok(Err(e)) => v.audit_line = e.to_string(),
        Err(e) => v.audit_line = e.to_string(),
    }
    for (name, url, transmitter) in chains {
        match received_twice(&url, transmitter).await {
            Ok(n) => v.duplicates += n,
            Err(e) => v
                .unexplained
                .push(format!("reading {name}'s receipts: {e}")),
        }
    }
    match relayer_records(&relayer).await {
        Ok(records) => {
            for r in records {
                let hash = r["messageHash"].as_str().unwrap_or("?").to_string();
                let status = r["status"].as_str().unwrap_or("?");
                if !is_terminal(&r) {
                    v.unfinished.push(format!("{hash} {status}"));
                } else if status == "skipped" || status == "failed" {
                    let reason = r["reason"].as_str().unwrap_or_default();
                    let line = format!("{hash} {status}: {reason}");
                    if reason.is_empty() {
                        v.unexplained.push(line);
                    } else {
                        v.explained.push(line);
                    }
                }
            }
        }
        Err(e) => v.unexplained.push(e.to_string()),
    }
    latencies(&relayer, sent, &mut v).await;
    v
}

/// How many (source, nonce) pairs the transmitter's `MessageReceived` log has more than once.
async fn received_twice(
    url: &str,
    transmitter: alloy::primitives::Address,
) -> Result<usize, ChaosError> {
    let p = ProviderBuilder::new().connect_http(url.parse().map_err(|source| ChaosError::Url {
        url: url.to_string(),
        source,
    })?);
    let filter = Filter::new()
        .address(transmitter)
        .event_signature(MessageTransmitter::MessageReceived::SIGNATURE_HASH)
        .from_block(0);
    let logs = p.get_logs(&filter).await?;
    let mut seen: BTreeMap<(u32, u64), usize> = BTreeMap::new();
    for log in logs {
        let e = log.log_decode::<MessageTransmitter::MessageReceived>()?;
        *seen
            .entry((e.inner.data.sourceDomain, e.inner.data.nonce))
            .or_insert(0) += 1;
    }
    Ok(seen.values().filter(|n| **n > 1).count())
}

/// Burn → mint (the first `included`, or `confirmed`) per plain transfer, from the relayer's
/// records found by source transaction.
async fn latencies(relayer: &str, sent: &[Sent], v: &mut Verdict) {
    for s in sent.iter().filter(|s| s.kind == Kind::Plain) {
        let url = format!("{relayer}/v1/transactions/{}/{}", s.source.0, s.source_tx);
        let Ok(resp) = reqwest::get(&url).await else {
            continue;
        };
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            v.dropped_by_reorg += 1;
            continue;
        }
        let Ok(body) = resp.json::<serde_json::Value>().await else {
            continue;
        };
        let minted = body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|m| m["history"].as_array().cloned().unwrap_or_default())
            .filter(|h| matches!(h["state"].as_str(), Some("included" | "confirmed")))
            .filter_map(|h| h["at_ms"].as_u64())
            .min();
        if let Some(at) = minted {
            let ms = at.saturating_sub(s.sent_at_ms);
            v.latencies_ms.push(ms);
            let route = format!("{} → {}", s.from, s.to);
            v.slowest.push((ms, route, s.source_tx.clone()));
        }
    }
    v.latencies_ms.sort_unstable();
    v.slowest.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
    v.slowest.truncate(3);
}

/// The sum of a counter's series on a service's `/metrics` (0 when unreadable).
async fn metric_sum(url: &str, name: &str) -> u64 {
    let Ok(r) = reqwest::get(format!("{url}/metrics")).await else {
        return 0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[cfg(test)]
mod quiet_tests {
    use super::ChainsQuiet;

    #[test]
    fn quiet_needs_empty_pools_and_finality_past_the_moment_they_emptied() {
        let mut q = ChainsQuiet::new(2);
        // A burn still pooled on the second chain: not quiet, however far the heads are.
        assert!(!q.saw(&[Some((0, 100)), Some((1, 50))]));
        // Pools empty at heads 101 / 51: what was mined by then is final 3 blocks later.
        assert!(!q.saw(&[Some((0, 101)), Some((0, 51))]));
        assert!(!q.saw(&[Some((0, 103)), Some((0, 54))]));
        assert!(q.saw(&[Some((0, 104)), Some((0, 54))]));
        // A transaction back in a pool (a reorg returned it) starts the wait again.
        assert!(!q.saw(&[Some((1, 105)), Some((0, 55))]));
        assert!(!q.saw(&[Some((0, 106)), Some((0, 56))]));
        assert!(q.saw(&[Some((0, 109)), Some((0, 59))]));
        // A node that does not answer is not quiet.
        assert!(!q.saw(&[None, Some((0, 60))]));
    }
}
