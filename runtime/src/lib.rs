//! What every usd1 service process shares: logging setup, loading its config or exiting
//! with one clear line, the JSON error shape of its HTTP API, `/metrics`, and shutdown.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use std::path::Path;
use usd1_config::{LogFormat, Validate};

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
pub fn exit_on_error(program: &str, result: Result<(), String>) {
    if let Err(e) = result {
        tracing::error!(error = %e, "{program} stopped");
        eprintln!("{program}: {e}");
        std::process::exit(1);
    }
}

/// Parses a 0x-prefixed 32-byte hash from a URL path.
pub fn parse_hash(text: &str, what: &str) -> Result<usd1_core::B256, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("{what} must be 0x followed by 64 hex digits")))
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
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
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
