//! `usd1 status`, `usd1 balance` and `usd1 audit`.

use crate::context::{unreachable, CliError, Context};
use crate::transfer::{attester_answer, governor_release, AttesterAnswer};
use alloy::primitives::{Address, B256, U256};
use std::path::{Path, PathBuf};
use usd1_core::audit::{Balance, ForeignChain};
use usd1_core::{format_amount, parse_amount, Message, USD1_DECIMALS};
use usd1_evm::audit::{audit as run_audit, audit_indexed, AuditIndex, AuditedChain};
use usd1_evm::bindings::Usd1Token;
use usd1_solana::audit::SolanaAudit;

fn usd1(a: U256) -> String {
    format_amount(a, USD1_DECIMALS)
}

/// By message hash, else as a source transaction hash on any configured chain.
pub async fn status(ctx: &Context, id: &str) -> Result<(), CliError> {
    let id: B256 = id.parse().map_err(|_| {
        CliError::usage(format!(
            "{id:?} is neither a message hash nor a transaction hash (0x + 64 hex digits)"
        ))
    })?;
    let relayer = ctx.relayer()?.trim_end_matches('/').to_string();
    let get = |url: String| async move {
        let resp = ctx.http.get(&url).send().await.map_err(|e| {
            CliError::failed(format!("cannot reach the relayer at {relayer}: {e}\n  (is [bridge] relayer right, and the relayer running?)", relayer = url))
        })?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        resp.json::<serde_json::Value>()
            .await
            .map(Some)
            .map_err(|e| CliError::failed(format!("bad relayer answer: {e}")))
    };
    if let Some(m) = get(format!("{relayer}/v1/messages/{id:#x}")).await? {
        let held = governor_hold(ctx, &m).await;
        print_message(ctx, &m, held);
        return Ok(());
    }
    let mut found = false;
    for chain in ctx.chains() {
        if let Some(v) = get(format!(
            "{relayer}/v1/transactions/{}/{id:#x}",
            chain.config.domain
        ))
        .await?
        {
            for m in v["messages"].as_array().into_iter().flatten() {
                let held = governor_hold(ctx, m).await;
                print_message(ctx, m, held);
                found = true;
            }
        }
    }
    if found {
        return Ok(());
    }
    // Not final yet? The relayer queues only final burns, but the attesters see them earlier.
    for chain in ctx.chains() {
        for url in &ctx.config.bridge.attesters {
            let url = format!(
                "{}/v1/messages/{}/{id:#x}",
                url.trim_end_matches('/'),
                chain.config.domain
            );
            let Ok(Some(v)) = get(url).await else {
                continue;
            };
            for m in v["messages"].as_array().into_iter().flatten() {
                out!("message  {}", m["messageHash"].as_str().unwrap_or("?"));
                out!("source   {} tx {id:#x}", chain.name);
                let status = m["status"].as_str().unwrap_or("?");
                match m["releaseAt"].as_u64() {
                    Some(at) if status == "pending_governor" => out!(
                        "status   {status}: final on {}, {}",
                        chain.name,
                        usd1_config::held_by_governor_text(at)
                    ),
                    _ => out!(
                        "status   {status} (seen by the attesters; not final on {} yet)",
                        chain.name
                    ),
                }
                found = true;
            }
            if found {
                return Ok(());
            }
        }
    }
    {
        Err(CliError::failed(format!(
            "the relayer knows no message or source transaction {id:#x}\n  (a burn appears once it is final on its chain; check the hash and try again shortly)"
        )))
    }
}

fn name(ctx: &Context, d: &serde_json::Value) -> String {
    let domain = d.as_u64().unwrap_or(u64::MAX);
    let known = ctx
        .chains()
        .find(|c| u64::from(c.config.domain.0) == domain)
        .map(|c| c.name.to_string());
    format!("{} ({domain})", known.unwrap_or_else(|| "unknown".into()))
}

/// "held by the governor until …" when the relayer still waits for signatures and attesters
/// answer `pending_governor` (the latest of their release times, to be safe).
async fn governor_hold(ctx: &Context, m: &serde_json::Value) -> Option<String> {
    if !matches!(m["status"].as_str(), Some("observed" | "attesting")) {
        return None;
    }
    let hash: B256 = m["messageHash"].as_str()?.parse().ok()?;
    let mut held = Vec::new();
    for url in &ctx.config.bridge.attesters {
        if let AttesterAnswer::Held(at) = attester_answer(ctx, url, &hash).await {
            held.push(at);
        }
    }
    let n = held.len();
    let at = governor_release(held, n)?;
    Some(format!(
        "{} ({n} of {} attesters hold it)",
        usd1_config::held_by_governor_text(at),
        ctx.config.bridge.attesters.len()
    ))
}

fn print_message(ctx: &Context, m: &serde_json::Value, held: Option<String>) {
    out!("message  {}", m["messageHash"].as_str().unwrap_or("?"));
    out!(
        "route    {} → {}, nonce {}",
        name(ctx, &m["sourceDomain"]),
        name(ctx, &m["destinationDomain"]),
        m["nonce"]
    );
    if let Some(body) = m["message"]
        .as_str()
        .and_then(|h| Message::decode_hex(h).ok())
        .and_then(|m| m.burn_body().ok())
    {
        out!(
            "amount   {} USD1 to {}",
            usd1(body.amount),
            Address::from_word(body.mint_recipient)
        );
    }
    out!("status   {}", m["status"].as_str().unwrap_or("?"));
    if let Some(reason) = m["reason"].as_str() {
        out!("reason   {reason}");
    }
    if let Some(held) = &held {
        // The attesters' governors hold it (DESIGN §10): waiting, not stuck.
        out!("waiting  {held}");
    }
    if let Some(error) = m["lastError"].as_str() {
        if error.starts_with("held by the governor") {
            if held.is_none() {
                out!("waiting  {error}");
            }
        } else {
            let refusals = m["refusals"].as_u64().unwrap_or(0);
            out!("last     {error} (refusals so far: {refusals})");
        }
    }
    out!(
        "source   tx {} (block {})",
        m["sourceTx"].as_str().unwrap_or("?"),
        m["sourceBlock"]
    );
    for tx in m["destinationTxs"].as_array().into_iter().flatten() {
        out!("sent     tx {}", tx.as_str().unwrap_or("?"));
    }
    out!("history");
    for h in m["history"].as_array().into_iter().flatten() {
        let at = h["at_ms"].as_u64().unwrap_or(0);
        let extra = [
            h["tx_hash"].as_str().map(|t| format!("tx {t}")),
            h["detail"].as_str().map(str::to_string),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("  ");
        out!(
            "  {}  {:<10} {extra}",
            utc(at),
            h["state"].as_str().unwrap_or("?")
        );
    }
    out!();
}

/// "HH:MM:SS.mmm UTC" of a Unix time in ms (the date is in the hash's block anyway).
fn utc(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

pub async fn balance(ctx: &Context, address: Option<String>) -> Result<(), CliError> {
    let who: Address = match address {
        Some(a) => a
            .parse()
            .map_err(|_| CliError::usage(format!("{a:?} is not an EVM address")))?,
        None => ctx.user_key()?.address(),
    };
    let mut total = U256::ZERO;
    out!("USD1 balances of {who}");
    for chain in ctx.chains() {
        let (rpc, token) = (chain.rpc()?, chain.config.token);
        let b = rpc
            .call("eth_call", |p| async move {
                Usd1Token::new(token, p).balanceOf(who).call().await
            })
            .await
            .map_err(|e| unreachable(chain.name, e))?;
        total += b;
        out!("  {:<12} {:>20}", chain.name, usd1(b));
    }
    out!("  {:<12} {:>20}", "total", usd1(total));
    Ok(())
}

/// `usd1 audit`'s options.
pub struct AuditOptions {
    pub issued: Option<String>,
    /// Forget the index first (it is built again from each chain's start).
    pub rebuild: bool,
    /// Read every chain from its start, keeping no index (the full rescan).
    pub no_index: bool,
    /// Where the index is kept (default: [`default_index_path`]).
    pub index: Option<PathBuf>,
    /// Name the receipts no burn backs, even when the sums add up.
    pub receipts: bool,
    /// The config file, whose path names the default index.
    pub config: PathBuf,
}

/// `$XDG_CACHE_HOME` (else `~/.cache`) `/usd1-bridge/audit-<hash of the config's path>`: one
/// index per config, outside the work tree.
pub fn default_index_path(config: &Path) -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    let path = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    let hash = alloy::primitives::keccak256(path.to_string_lossy().as_bytes());
    Some(
        cache
            .join("usd1-bridge")
            .join(format!("audit-{}", alloy::hex::encode(&hash[..8]))),
    )
}

/// The audit's local store: (store, EVM index, Solana's tree).
fn open_index(path: &Path, rebuild: bool) -> Result<(sled::Db, AuditIndex, sled::Tree), CliError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::failed(format!(
                "cannot create {}: {e}\n  (pass --index DIR, or --no-index)",
                dir.display()
            ))
        })?;
    }
    let db = sled::open(path).map_err(|e| {
        CliError::failed(format!(
            "cannot open the audit index {}: {e}\n  (is another `usd1 audit` running with it? wait, or pass --no-index)",
            path.display()
        ))
    })?;
    let failed = |e: String| CliError::failed(format!("the audit index {}: {e}", path.display()));
    let evm = db
        .open_tree("audit/evm")
        .map_err(|e| failed(e.to_string()))?;
    let index = AuditIndex::open(evm).map_err(|e| failed(e.to_string()))?;
    let solana = db
        .open_tree("audit/solana")
        .map_err(|e| failed(e.to_string()))?;
    if rebuild {
        index.clear().map_err(|e| failed(e.to_string()))?;
        let mut b = sled::Batch::default();
        for key in solana.iter().keys() {
            b.remove(key.map_err(|e| failed(e.to_string()))?);
        }
        solana.apply_batch(b).map_err(|e| failed(e.to_string()))?;
    }
    Ok((db, index, solana))
}

/// Exit 0 when Σ supply + in flight = issued, 1 on a discrepancy.
pub async fn audit(ctx: &Context, options: AuditOptions) -> Result<(), CliError> {
    let issued_text = options.issued.or_else(|| ctx.config.audit.issued_total.clone()).ok_or_else(|| {
        CliError::usage("no issued total to compare with: pass --issued AMOUNT or set [audit] issued_total in the config")
    })?;
    let issued = parse_amount(&issued_text, USD1_DECIMALS)
        .map_err(|e| CliError::usage(format!("issued total: {e}")))?;
    let mut chains = Vec::new();
    for c in ctx.chains() {
        chains.push(AuditedChain {
            name: c.name.to_string(),
            domain: c.config.domain,
            rpc: c.rpc()?,
            token: c.config.token,
            transmitter: c.config.message_transmitter,
            messenger: c.config.token_messenger,
            start_block: c.config.start_block,
            max_block_range: c.config.max_block_range,
            finality: c.config.finality,
        });
    }
    let index = if options.no_index {
        None
    } else {
        let path = match options.index {
            Some(p) => p,
            None => default_index_path(&options.config).ok_or_else(|| {
                CliError::usage("no cache directory for the audit index (neither XDG_CACHE_HOME nor HOME is set): pass --index DIR or --no-index")
            })?,
        };
        Some((open_index(&path, options.rebuild)?, path))
    };
    let solana = match &ctx.config.solana {
        Some(sol) => {
            let s = SolanaAudit::from_config(
                sol,
                ctx.config.chains.values().map(|c| c.domain).collect(),
            )
            .map_err(|e| CliError::usage(format!("the [solana] section: {e}")))?;
            Some(match &index {
                Some(((_, _, tree), _)) => s.with_index(tree.clone()),
                None => s,
            })
        }
        None => None,
    };
    let foreign = solana.as_ref().map(|s| s as &dyn ForeignChain);
    let report = match &index {
        Some(((_, evm, _), _)) => audit_indexed(&chains, foreign, evm).await,
        None => run_audit(&chains, foreign).await,
    }
    .map_err(|e| CliError::failed(format!("audit could not read the chains: {e}")))?;
    out!("supply audit");
    for s in &report.supplies {
        out!(
            "  {:<12} {:>20} USD1  ({})",
            s.chain,
            usd1(s.supply),
            s.height
        );
    }
    out!(
        "  {:<12} {:>20} USD1  ({} of {} burns not minted yet)",
        "in flight",
        usd1(report.in_flight()),
        report.in_flight_count(),
        report.burns().len()
    );
    for ((source, destination), route) in report.routes() {
        let route_name = format!(
            "{} → {}",
            report.chain_name(source),
            report.chain_name(destination)
        );
        out!(
            "    {:<18} {:>12} USD1  ({} of {} burns not minted yet)",
            route_name,
            usd1(route.in_flight),
            route.in_flight_count,
            route.burns
        );
    }
    if !report.to_unknown_domains().is_zero() {
        out!(
            "  {:<12} {:>20} USD1  (burned toward domains not in the config)",
            "unknown",
            usd1(report.to_unknown_domains())
        );
    }
    for o in &report.outside_bridge {
        out!(
            "  {:<12} {:>20} USD1  ({} transactions burned outside the bridge on {})",
            "outside",
            usd1(o.amount),
            o.count,
            o.chain
        );
    }
    let accounted = report.accounted();
    out!("  {:<12} {:>20} USD1", "Σ", usd1(accounted));
    out!("  {:<12} {:>20} USD1", "issued", usd1(issued));
    match &index {
        Some((_, path)) => out!(
            "index {} (--rebuild starts it over, --no-index reads everything)",
            path.display()
        ),
        None => out!("no index: every chain read from its start"),
    }
    for reads in &report.reads {
        out!("  {reads}");
    }
    let balance = report.balance(issued);
    let unbacked = if options.receipts || balance != Balance::Exact {
        unbacked(&chains).await?
    } else {
        0
    };
    let (sign, diff) = match balance {
        Balance::Exact if unbacked > 0 => {
            return Err(CliError::failed(format!(
                "FINALITY VIOLATION: the sums add up, but {unbacked} receipt(s) are backed by no burn on their source (see above)"
            )))
        }
        Balance::Exact => {
            out!("OK: supply over all chains plus in-flight burns equals the issued total");
            return Ok(());
        }
        Balance::Excess(d) => ("+", d),
        Balance::Shortfall(d) => ("-", d),
    };
    Err(CliError::failed(format!(
        "DISCREPANCY: Σ supply + in flight is {sign}{} USD1 off the issued total (minted without a burn, or burned without a mint)",
        usd1(diff)
    )))
}

/// Prints the receipts no burn on their source backs; returns how many.
async fn unbacked(chains: &[AuditedChain]) -> Result<usize, CliError> {
    let found = usd1_evm::audit::unbacked_receipts(chains)
        .await
        .map_err(|e| CliError::failed(format!("comparing receipts with burns: {e}")))?;
    if found.is_empty() {
        out!("receipts: every EVM receipt matches a burn on its source");
    }
    for u in &found {
        let why = match u.reused_by {
            Some(hash) => format!(
                "the source's burn with that nonce is now {hash:#x}: its recipient got nothing"
            ),
            None => "the source has no burn with that nonce".to_string(),
        };
        out!(
            "UNBACKED: (source {}, nonce {}) minted {} USD1 on {}: {why}",
            u.source.0,
            u.nonce,
            usd1(u.amount),
            u.destination
        );
    }
    Ok(found.len())
}
