//! `usd1 governor status | release <hash> | drop <hash>`: the attesters' governors (DESIGN
//! §10), against every attester in `[bridge] attesters` (or those given with `--attester`).
//! `release` and `drop` need the attester's admin token (`--token-file`, the file named by its
//! `governor.admin_token_file`); `status` is public.

use crate::context::{CliError, Context};
use alloy::primitives::B256;
use serde_json::Value;
use std::path::Path;
use usd1_config::{held_by_governor_text, utc_datetime};

pub enum Action {
    Status,
    Release(String),
    Drop(String),
}

pub async fn governor(
    ctx: &Context,
    action: Action,
    token_file: Option<&Path>,
    only: &[String],
) -> Result<(), CliError> {
    let urls: Vec<String> = if only.is_empty() {
        ctx.config.bridge.attesters.clone()
    } else {
        only.to_vec()
    };
    if urls.is_empty() {
        return Err(CliError::usage(
            "no attester URLs: add [bridge] attesters = [\"http://…\"] to the config, or pass --attester URL",
        ));
    }
    let token = token_file
        .map(|p| {
            usd1_config::read_token_file(p)
                .map_err(|e| CliError::usage(format!("--token-file: {e}")))
        })
        .transpose()?;
    let (route, hash) = match &action {
        Action::Status => return status(ctx, &urls, token.as_deref()).await,
        Action::Release(h) => ("release", parse_hash(h)?),
        Action::Drop(h) => ("drop", parse_hash(h)?),
    };
    let token = token.ok_or_else(|| {
        CliError::usage(format!(
            "governor {route} needs the attesters' admin token: --token-file FILE"
        ))
    })?;
    let mut failures = 0;
    for url in &urls {
        let base = url.trim_end_matches('/');
        let answer = ctx
            .http
            .post(format!("{base}/v1/governor/{route}/{hash:#x}"))
            .bearer_auth(&token)
            .send()
            .await;
        let line = match answer {
            Err(e) => {
                failures += 1;
                format!("cannot reach it: {e}")
            }
            Ok(resp) => {
                let code = resp.status();
                let body: Value = resp.json().await.unwrap_or_default();
                if code.is_success() {
                    match (route, body["released"].as_bool(), body["dropped"].as_bool()) {
                        ("release", Some(true), _) => "released: signed now".to_string(),
                        ("release", _, _) => "already signed".to_string(),
                        (_, _, Some(true)) => "dropped: it will not sign this message".to_string(),
                        _ => "already dropped".to_string(),
                    }
                } else {
                    failures += 1;
                    format!(
                        "refused ({}): {}",
                        code.as_u16(),
                        body["error"].as_str().unwrap_or("no reason given")
                    )
                }
            }
        };
        out!("{base}  {line}");
    }
    if failures > 0 {
        return Err(CliError::failed(format!(
            "{failures} of {} attesters did not {route} {hash:#x}",
            urls.len()
        )));
    }
    Ok(())
}

fn parse_hash(text: &str) -> Result<B256, CliError> {
    text.parse().map_err(|_| {
        CliError::usage(format!(
            "{text:?} is not a message hash (0x + 64 hex digits)"
        ))
    })
}

async fn status(ctx: &Context, urls: &[String], token: Option<&str>) -> Result<(), CliError> {
    let mut failures = 0;
    for url in urls {
        let base = url.trim_end_matches('/');
        let mut request = ctx.http.get(format!("{base}/v1/governor"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let answer = match request.send().await {
            Ok(resp) if resp.status().is_success() => resp.json::<Value>().await.ok(),
            _ => None,
        };
        let Some(v) = answer else {
            failures += 1;
            out!("attester {base}: no governor status (is it running?)");
            continue;
        };
        out!("attester {base}");
        for c in v["chains"].as_array().into_iter().flatten() {
            let limit = c["dailyLimit"].as_str().unwrap_or("?");
            let window = match limit {
                "off" => format!(
                    "{} USD1 signed, no limit",
                    c["windowUsed"].as_str().unwrap_or("?")
                ),
                _ => format!(
                    "{} of {limit} USD1 used",
                    c["windowUsed"].as_str().unwrap_or("?")
                ),
            };
            let big = match c["bigTransfer"].as_str().unwrap_or("?") {
                "off" => "big transfers: off".to_string(),
                b => format!(
                    "big transfers ≥ {b} USD1 held {} s",
                    c["bigTransferDelaySecs"]
                ),
            };
            out!(
                "  {:<10} window {window} (per {} s); {big}; held {} ({} USD1)",
                c["chain"].as_str().unwrap_or("?"),
                c["windowSecs"],
                c["held"],
                c["heldValue"].as_str().unwrap_or("?"),
            );
        }
        for h in v["held"].as_array().into_iter().flatten() {
            out!(
                "  held     {}  {} USD1 from {} (domain {} → {}, nonce {}), {}: {}",
                h["messageHash"].as_str().unwrap_or("?"),
                h["amount"].as_str().unwrap_or("?"),
                h["source"].as_str().unwrap_or("?"),
                h["sourceDomain"],
                h["destinationDomain"],
                h["nonce"],
                h["reason"].as_str().unwrap_or("?"),
                held_by_governor_text(h["releaseAt"].as_u64().unwrap_or(0))
            );
        }
        for h in v["dropped"].as_array().into_iter().flatten() {
            let at = h["droppedAtMs"].as_u64().unwrap_or(0) / 1000;
            out!(
                "  dropped  {}  {} USD1 from {} (nonce {}), dropped {}",
                h["messageHash"].as_str().unwrap_or("?"),
                h["amount"].as_str().unwrap_or("?"),
                h["source"].as_str().unwrap_or("?"),
                h["nonce"],
                utc_datetime(at)
            );
        }
    }
    if failures == urls.len() {
        return Err(CliError::failed("no attester answered"));
    }
    Ok(())
}
