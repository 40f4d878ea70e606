//! Configuration of usd1-bridge processes (DESIGN §7): one TOML file per process, every
//! value overridable by `USD1_…` environment variables (`__` separates levels, e.g.
//! `USD1_CHAINS__ETHEREUM__RPC_URLS='["http://10.0.0.1:8545"]'`), validated at start so a
//! bad file gives one clear error naming the field.

mod chain;
mod keys;
mod service;
mod solana;

pub use chain::{ChainConfig, ChainKind, Finality};
pub use keys::{load_evm_signer, KeyError};
pub use service::{
    AttesterConfig, AuditSettings, BridgeEndpoints, CliConfig, LogFormat, RelayerConfig,
    RelayerSettings, ServiceConfig, SignerConfig, SolanaUser,
};
pub use solana::SolanaConfig;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::de::DeserializeOwned;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("config {path}: field `{field}`: {reason}")]
    Invalid {
        path: String,
        field: String,
        reason: String,
    },
}

/// Types that can check themselves once parsed; the error names the offending field.
pub trait Validate {
    /// The top-level tables of the file: only `USD1_<SECTION>__…` variables override it,
    /// so unrelated `USD1_` variables (USD1_CONFIG, USD1_KEYSTORE_PASSWORD…) are left alone.
    const SECTIONS: &'static [&'static str];
    fn validate(&self) -> Result<(), (String, String)>;
}

/// Reads `path`, applies `USD1_` overrides, checks the result.
pub fn load<T: DeserializeOwned + Validate>(path: &Path) -> Result<T, ConfigError> {
    let shown = path.display().to_string();
    // Read first so that a missing file is its own clear error, not an empty config.
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let config: T = Figment::new()
        .merge(Toml::string(&text))
        .merge(Env::prefixed("USD1_").split("__").filter(|key| {
            let section = key.as_str().split('.').next().unwrap_or_default();
            key.as_str().contains('.')
                && T::SECTIONS.iter().any(|s| section.eq_ignore_ascii_case(s))
        }))
        .extract()
        .map_err(|e| ConfigError::Parse {
            path: shown.clone(),
            reason: describe(e),
        })?;
    config
        .validate()
        .map_err(|(field, reason)| ConfigError::Invalid {
            path: shown,
            field,
            reason,
        })?;
    Ok(config)
}

/// figment's message, with the key path spelled as in the file.
fn describe(e: figment::Error) -> String {
    let mut out = String::new();
    for (i, err) in e.into_iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        if err.path.is_empty() {
            out.push_str(&err.kind.to_string());
        } else {
            out.push_str(&format!("field `{}`: {}", err.path.join("."), err.kind));
        }
    }
    out
}

#[cfg(test)]
mod tests;
