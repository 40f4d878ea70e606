//! The table a run prints.

use crate::kills::Kills;
use crate::plan::Plan;
use crate::proxy::{Fault, Faults};
use crate::traffic::{Kind, Traffic};
use crate::verdict::Verdict;
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Report<'a> {
    pub plan: &'a Plan,
    pub traffic: &'a Traffic,
    pub kills: &'a Kills,
    pub faults: &'a Faults,
    pub reorgs: &'a BTreeMap<String, usize>,
    pub verdict: &'a Verdict,
    pub wall: Duration,
    pub notes: &'a [String],
}

fn pct(sorted: &[u64], p: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    format!("{:.1} s", sorted[i] as f64 / 1000.0)
}

impl Report<'_> {
    pub fn print(&self) {
        let row = |k: &str, v: String| println!("| {k:<34} | {v:<44} |");
        let t = self.traffic;
        let v = self.verdict;
        println!(
            "\nchaos report (seed {}, replay: --seed {})",
            self.plan.seed, self.plan.seed
        );
        println!("| {:<34} | {:<44} |", "what", "measured");
        println!("|{}|{}|", "-".repeat(36), "-".repeat(46));
        let mut routes: BTreeMap<String, usize> = BTreeMap::new();
        for s in &t.sent {
            *routes.entry(format!("{} → {}", s.from, s.to)).or_insert(0) += 1;
        }
        let plain = t.sent.iter().filter(|s| s.kind != Kind::Replaced).count();
        row(
            "transfers sent",
            format!("{plain} (+{} replacements)", t.replacements),
        );
        for (r, n) in &routes {
            row(&format!("  {r}"), n.to_string());
        }
        row(
            "self-relayed by the user",
            format!(
                "{} ({} landed before the relayer)",
                t.self_relays, t.self_relays_landed
            ),
        );
        row(
            "burns the user could not send",
            t.send_errors.len().to_string(),
        );
        row(
            "kill cycles",
            format!(
                "{} (relayer {}, one attester {}, several {} of which {} below threshold)",
                self.kills.cycles(),
                self.kills.relayer,
                self.kills.one_attester,
                self.kills.several_attesters,
                self.kills.below_threshold
            ),
        );
        let injected: u64 = Fault::ALL.iter().map(|f| self.faults.count(*f)).sum();
        row(
            "RPC requests via faulty proxies",
            format!(
                "{} ({} faults, {:.1} %)",
                self.faults.requests(),
                injected,
                100.0 * injected as f64 / self.faults.requests().max(1) as f64
            ),
        );
        for f in Fault::ALL {
            row(&format!("  {}", f.name()), self.faults.count(f).to_string());
        }
        let reorgs: usize = self.reorgs.values().sum();
        let per_chain: Vec<String> = self
            .reorgs
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        row(
            "reorgs (depth 1)",
            format!("{reorgs} ({})", per_chain.join(", ")),
        );
        row("burns on the chains (audit)", v.burns.to_string());
        row("burns dropped by a reorg", v.dropped_by_reorg.to_string());
        row("duplicates", v.duplicates.to_string());
        row(
            "finality violations (metrics)",
            v.finality_violations.to_string(),
        );
        row("lost (not minted once quiet)", v.lost.to_string());
        row("records left unfinished", v.unfinished.len().to_string());
        row(
            "skipped/failed (explained)",
            format!(
                "{} ({} without a reason)",
                v.explained.len(),
                v.unexplained.len()
            ),
        );
        row(
            "audit",
            if v.audit_ok {
                "exact".into()
            } else {
                "FAILED".into()
            },
        );
        row(
            "latency burn → mint, p50 / p99",
            format!(
                "{} / {} (n = {})",
                pct(&v.latencies_ms, 0.5),
                pct(&v.latencies_ms, 0.99),
                v.latencies_ms.len()
            ),
        );
        row(
            "quiet after traffic",
            format!("{:.0} s", v.quiet_after.as_secs_f64()),
        );
        row("wall time", format!("{:.0} s", self.wall.as_secs_f64()));
        println!("\naudit: {}", v.audit_line);
        for e in v.unfinished.iter().chain(&v.unexplained) {
            println!("VIOLATION: {e}");
        }
        for (ms, route, tx) in &v.slowest {
            println!("slowest: {:.1} s {route} {tx}", *ms as f64 / 1000.0);
        }
        for e in &v.explained {
            println!("explained: {e}");
        }
        for e in self.notes.iter().chain(&t.send_errors) {
            println!("note: {e}");
        }
        match v.violations() {
            0 => println!("\nOK: every burn minted exactly once; supply exact"),
            n => println!("\nFAILED: {n} violation(s)"),
        }
    }
}
