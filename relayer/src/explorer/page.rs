//! The page itself (`/explorer`: its HTML, script, style sheet and icon, embedded in the
//! binary) and the configuration it reads first.

use super::{shown, Explorer};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;
use usd1_core::MessageState;
use usd1_runtime::extract::Json;

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const STYLE_CSS: &str = include_str!("style.css");
const FAVICON_SVG: &str = include_str!("favicon.svg");

/// Everything the page loads comes from here; nothing from the internet.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}
pub(super) async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}
pub(super) async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}
pub(super) async fn favicon() -> Response {
    asset("image/svg+xml", FAVICON_SVG)
}

pub(super) async fn config(State(x): State<Arc<Explorer>>) -> Json<Value> {
    let mut chains: Vec<Value> = x
        .evm
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "domain": c.domain, "kind": "evm",
                "finality": x.finality_text(c.domain),
                "explorerTxUrl": c.explorer_tx_url,
            })
        })
        .collect();
    if let Some(s) = &x.solana {
        chains.push(json!({
            "name": s.name, "domain": s.domain, "kind": "solana",
            "finality": x.finality_text(s.domain),
            "explorerTxUrl": s.explorer_tx_url,
        }));
    }
    chains.sort_by_key(|c| c["domain"].as_u64());
    shown(json!({
        "chains": chains,
        "attesters": x.attesters.len(),
        "states": MessageState::NAMES,
    }))
}
