//! What every usd1 service process shares: logging setup, loading its config or exiting
//! with one clear line, the HTTP server with its limits ([`serve`]), the JSON error shape of
//! its HTTP API (with the [`extract`] extractors that keep it), `/metrics`, and shutdown.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use std::path::Path;
use usd1_config::{LogFormat, Validate};

pub mod auth;
pub mod bench_summary;
mod blocking;
pub mod extract;
mod redact;
mod serve;
pub mod service_error;
pub mod store;
#[cfg(feature = "test-util")]
pub mod store_stress;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod watch;

pub use blocking::{blocking, NotRun};
pub use redact::{redact_json, redact_urls};
pub use serve::{harden, raise_fd_limit, serve, serve_with_shutdown, ServerLimits};
pub use service_error::ServiceError;

/// The command line every service takes.
#[derive(clap::Parser)]
struct ServiceArgs {
    /// The service's TOML config (every value overridable by USD1_<SECTION>__<KEY> variables).
    #[arg(long, short, env = "USD1_CONFIG")]
    config: std::path::PathBuf,
}

/// A service's start: parses `--config`, loads and validates it (exit 2 with one line on a
/// bad one), and sets up logging in the format the config asks for.
pub fn start_service<T: DeserializeOwned + Validate>(
    program: &'static str,
    about: &'static str,
    log_format: impl Fn(&T) -> LogFormat,
) -> T {
    use clap::{CommandFactory, FromArgMatches};
    let command = ServiceArgs::command()
        .name(program)
        .about(about)
        .version(env!("CARGO_PKG_VERSION"));
    let args = ServiceArgs::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    let config: T = load_config_or_exit(program, &args.config);
    init_tracing(log_format(&config));
    config
}

/// Ends the process after `run` returned: exit 1 with the error logged and printed.
pub fn exit_on_error(program: &str, result: Result<(), impl std::fmt::Display>) {
    if let Err(e) = result {
        tracing::error!(error = %e, "{program} stopped");
        eprintln!("{program}: {e}");
        std::process::exit(1);
    }
}

/// Ends the process at start-up because of its config (a key file it names is missing,
/// unreadable or malformed): exit 2 with one line, like a bad config file. `message` names
/// the field, e.g. `signer.key_file: cannot read /x/y: No such file or directory`.
pub fn fatal_config(program: &str, message: impl std::fmt::Display) -> ! {
    tracing::error!(error = %message, "{program} cannot start");
    eprintln!("{program}: {message}");
    std::process::exit(2);
}

/// `/{sourceDomain}/{tx}` of a by-transaction route: a domain number and a source
/// transaction ([`parse_source_tx`]).
pub fn parse_source_path(
    domain: &str,
    tx: &str,
) -> Result<(usd1_core::Domain, usd1_core::TxRef), ApiError> {
    let domain = domain
        .parse()
        .map(usd1_core::Domain)
        .map_err(|_| ApiError::bad_request("source domain must be a number"))?;
    Ok((domain, parse_source_tx(tx)?))
}

/// A source transaction as a client names it: an EVM hash (strict, like [`parse_hash`]) or
/// a base58 signature of 64 bytes (Solana).
pub fn parse_source_tx(text: &str) -> Result<usd1_core::TxRef, ApiError> {
    let refused = || {
        ApiError::bad_request(
            "transaction must be 0x followed by 64 lowercase hex digits (EVM) or a base58 signature (Solana)",
        )
    };
    if text.starts_with("0x") {
        return parse_hash(text, "transaction hash")
            .map(usd1_core::TxRef::from_hash)
            .map_err(|_| refused());
    }
    match usd1_core::TxRef::parse(text) {
        Some(tx) if tx.as_bytes().len() == 64 => Ok(tx),
        _ => Err(refused()),
    }
}

/// Parses a 32-byte hash given to the API: exactly `0x` and 64 lowercase hex digits, as Iris
/// writes them (no missing prefix, no `0X`, no upper case, nothing around it).
pub fn parse_hash(text: &str, what: &str) -> Result<usd1_core::B256, ApiError> {
    let strict = text.len() == 66
        && text.starts_with("0x")
        && text[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let refused = || {
        ApiError::bad_request(format!(
            "{what} must be 0x followed by 64 lowercase hex digits"
        ))
    };
    if !strict {
        return Err(refused());
    }
    text.parse().map_err(|_| refused())
}

/// Loads the config or exits with status 2 and one line naming the problem (no panic).
pub fn load_config_or_exit<T: DeserializeOwned + Validate>(program: &str, path: &Path) -> T {
    match usd1_config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{program}: {e}");
            std::process::exit(2);
        }
    }
}

/// Logs go to stderr, as text or one JSON object a line; `RUST_LOG` filters (default info).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Text => builder.with_ansi(false).init(),
    }
}

/// An API error: `{"error": "..."}` with its status code.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self(StatusCode::NOT_FOUND, msg.into())
    }
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        tracing::error!(error = %msg, "request failed");
        Self(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the service log".into(),
        )
    }
}

impl IntoResponse for ApiError {
    /// The text is shown without URLs (an RPC URL can carry an API key).
    fn into_response(self) -> Response {
        let text = redact_urls(&self.1);
        (self.0, Json(serde_json::json!({ "error": text }))).into_response()
    }
}

/// The default registry in Prometheus text format.
pub async fn metrics() -> Response {
    let mut out = String::new();
    let encoder = prometheus::TextEncoder::new();
    match encoder.encode_utf8(&prometheus::gather(), &mut out) {
        Ok(()) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], out).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_hash_accepts_only_0x_and_64_lowercase_hex_digits() {
        let hex = "ab".repeat(32);
        let good = format!("0x{hex}");
        assert_eq!(
            parse_hash(&good, "message hash").unwrap(),
            good.parse::<usd1_core::B256>().unwrap()
        );
        assert!(parse_hash(&format!("0x{}", "0".repeat(64)), "h").is_ok());
        for bad in [
            hex.clone(),                        // no prefix
            format!("0X{hex}"),                 // upper-case prefix
            format!("0x{}", "AB".repeat(32)),   // upper-case digits
            format!("0x{}Ab", "ab".repeat(31)), // mixed case
            format!("0x{}", &hex[..62]),        // too short
            format!("0x{hex}00"),               // too long
            format!(" {good}"),                 // whitespace
            format!("{good}\n"),                // trailing newline
            format!("0x{}zz", "ab".repeat(31)), // not hex
            format!("0x{}é", "ab".repeat(31)),  // not ASCII (same byte length)
            "0x".into(),
            String::new(),
        ] {
            let e = parse_hash(&bad, "message hash").unwrap_err();
            assert_eq!(e.0, StatusCode::BAD_REQUEST, "{bad:?}");
            assert_eq!(
                e.1, "message hash must be 0x followed by 64 lowercase hex digits",
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn api_error_texts_never_carry_urls() {
        let response = ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rpc https://user:pw@rpc.example/v3/KEY?apikey=KEY failed".into(),
        )
        .into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v, serde_json::json!({ "error": "rpc <url> failed" }));
    }
}
