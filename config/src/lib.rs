//! Configuration of usd1-bridge processes (DESIGN §7): one TOML file per process, every
//! value overridable by `USD1_…` environment variables (`__` separates levels, e.g.
//! `USD1_CHAINS__ETHEREUM__RPC_URLS='["http://10.0.0.1:8545"]'`), validated at start so a
//! bad file gives one clear error naming the field.

mod chain;
mod families;
mod governor;
mod keys;
mod policy;
mod service;

pub use chain::remote_messengers;
pub use families::to_toml;
pub use governor::{
    held_by_governor_text, parse_limit, utc_datetime, GovernorChainConfig, GovernorConfig,
    GovernorLimits, DEFAULT_BIG_TRANSFER, DEFAULT_DAILY_LIMIT, DEFAULT_WINDOW_SECS,
};
pub use keys::{load_evm_signer, KeyError};
pub use policy::{parse_word, AllowedMessage, RelayPolicyConfig, RouteMinimum};
pub use service::{
    AttesterConfig, AuditSettings, BridgeEndpoints, CliConfig, LogFormat, RelayerConfig,
    RelayerSettings, ServiceConfig, SignerConfig, SolanaUser,
};
pub use usd1_evm::conf::{EvmChainConfig, Finality};
pub use usd1_solana::conf::{
    read_token_file, CosignToken, SolanaConfig, TokenError, MIN_TOKEN_LEN,
};

use figment::providers::{Env, Format, Toml};
use figment::{Figment, Provider};
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
    /// A `USD1_…` environment variable's value is wrong (the reason names the variable).
    #[error("{reason}")]
    Env { reason: String },
}

/// Types that can check themselves once parsed; the error names the offending field.
pub trait Validate {
    /// The top-level tables of the file: only `USD1_<SECTION>__…` variables override it,
    /// so unrelated `USD1_` variables (USD1_CONFIG, USD1_KEYSTORE_PASSWORD…) are left alone.
    const SECTIONS: &'static [&'static str];
    fn validate(&self) -> Result<(), (String, String)>;
}

/// Reads `path`, applies `USD1_` overrides, checks the result. A bad value that came from
/// an environment variable is blamed on the variable ([`ConfigError::Env`]), not the file.
pub fn load<T: DeserializeOwned + Validate>(path: &Path) -> Result<T, ConfigError> {
    let shown = path.display().to_string();
    // Read first so that a missing file is its own clear error, not an empty config.
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    // Solana written as a `chains` entry is read as the `[solana]` section it replaces.
    let (text, solana) = families::loaded_view(&text).map_err(|e| ConfigError::Parse {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    refuse_env_values_figment_mishandles(T::SECTIONS)?;
    let entry = solana.clone();
    let env = Env::prefixed(ENV_PREFIX)
        .split("__")
        .map(
            move |key| match entry.as_ref().and_then(|e| e.env_key(key.as_str())) {
                Some(moved) => moved.into(),
                None => key.into(),
            },
        )
        .filter(|key| overrides_a_section(key.as_str(), T::SECTIONS));
    let in_file = |text: String| match &solana {
        Some(e) => e.in_file(&text),
        None => text,
    };
    let field_in_file = |field: &str| match &solana {
        Some(e) => e.field_in_file(field),
        None => field.to_string(),
    };
    let env_source = env.metadata().name;
    let figment = Figment::new().merge(Toml::string(&text)).merge(env);
    let config: T = figment.extract().map_err(|e| {
        let (from_env, reason) = describe(e, &figment, &env_source, &field_in_file);
        let reason = in_file(reason);
        if from_env {
            ConfigError::Env { reason }
        } else {
            ConfigError::Parse {
                path: shown.clone(),
                reason,
            }
        }
    })?;
    config.validate().map_err(|(field, reason)| {
        let from_env = figment
            .find_metadata(&field)
            .is_some_and(|m| m.name == env_source);
        let field = field_in_file(&field);
        let reason = in_file(reason);
        match env_var(&field.split('.').collect::<Vec<_>>()) {
            Some((var, value)) if from_env => ConfigError::Env {
                reason: format!("{}: {reason}", overrides(&var, &value, &field)),
            },
            _ => ConfigError::Invalid {
                path: shown,
                field,
                reason,
            },
        }
    })?;
    Ok(config)
}

const ENV_PREFIX: &str = "USD1_";

/// figment's message, with the key path spelled as in the file; errors in values that came
/// from `USD1_` variables name the variable. `.0`: every error came from a variable.
fn describe(
    e: figment::Error,
    figment: &Figment,
    env_source: &str,
    field_in_file: &dyn Fn(&str) -> String,
) -> (bool, String) {
    let mut out = String::new();
    let mut all_env = true;
    for (i, err) in e.into_iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        let field = err.path.join(".");
        let mut path: Vec<&str> = err.path.iter().map(String::as_str).collect();
        let unknown = match &err.kind {
            figment::error::Kind::UnknownField(key, _) => Some(key.as_str()),
            _ => None,
        };
        // figment reports an unknown key at the key; in case it is ever at its table.
        if let Some(key) = unknown.filter(|k| path.last() != Some(k)) {
            path.push(key);
        }
        let from_env = figment
            .find_metadata(&path.join("."))
            .or(err.metadata.as_ref())
            .is_some_and(|m| m.name == env_source);
        let file_path = field_in_file(&path.join("."));
        match env_var(&file_path.split('.').collect::<Vec<_>>()) {
            // An unknown key's value is never shown: it may be a secret set under a wrong name.
            Some((var, value)) if from_env => {
                if unknown.is_some() {
                    out.push_str(&format!("{var} (environment variable): {}", err.kind));
                } else {
                    let var = overrides(&var, &value, &field);
                    out.push_str(&format!("{var}: {}", err.kind));
                }
            }
            _ => {
                all_env = false;
                if err.path.is_empty() {
                    out.push_str(&err.kind.to_string());
                } else {
                    out.push_str(&format!("field `{field}`: {}", err.kind));
                }
            }
        }
    }
    (all_env, out)
}

/// `USD1_SERVICE__LISTEN="nope" (environment variable overriding `service.listen`)`.
fn overrides(var: &str, value: &str, field: &str) -> String {
    let value = if value.chars().count() > 120 {
        format!("{:?}…", value.chars().take(120).collect::<String>())
    } else {
        format!("{value:?}")
    };
    format!("{var}={value} (environment variable overriding `{field}`)")
}

/// Deeper `[`/`{` nesting than this in a `USD1_` value is refused: figment parses a value
/// recursively, and thousands of levels overflow the stack (found by fuzzing). No config
/// value nests more than a few levels; brackets inside quotes count too, which no real
/// value comes near.
const MAX_ENV_NESTING: usize = 16;

/// A config key (dotted, from a `USD1_` name) that the loaded config's sections take; other
/// `USD1_` variables (e.g. `USD1_KEYSTORE_PASSWORD`, another service's sections) are left alone.
fn overrides_a_section(key: &str, sections: &[&str]) -> bool {
    let section = key.split('.').next().unwrap_or_default();
    key.contains('.') && sections.iter().any(|s| section.eq_ignore_ascii_case(s))
}

fn refuse_env_values_figment_mishandles(sections: &[&str]) -> Result<(), ConfigError> {
    // vars_os: `std::env::vars` panics on a variable that is not UTF-8.
    for (name, value) in std::env::vars_os() {
        let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
            continue;
        };
        let Some(rest) = without_prefix(name) else {
            continue;
        };
        let key = rest.replace("__", ".").to_lowercase();
        if !overrides_a_section(&key, sections) {
            continue;
        }
        let problem = if nesting(value) > MAX_ENV_NESTING {
            format!("is nested deeper than {MAX_ENV_NESTING} levels")
        } else if escape_after_non_ascii(value) {
            "has a `\\` escape after non-ASCII text, which figment 0.10 misreads".to_string()
        } else {
            continue;
        };
        // The value is not shown: it may be long, and could be a secret.
        return Err(ConfigError::Env {
            reason: format!(
                "{name} (environment variable overriding `{key}`): its value {problem}"
            ),
        });
    }
    Ok(())
}

/// figment 0.10 unescapes a quoted value by slicing it at a character index taken for a byte
/// index: after non-ASCII text, a `\` panics or silently cuts the text (found by fuzzing).
fn escape_after_non_ascii(value: &str) -> bool {
    value.find('\\').is_some_and(|at| !value[..at].is_ascii())
}

/// The deepest `[`/`{` nesting in `text`.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The `USD1_` variable that sets the config key `path` (matched as figment does: the
/// prefix and the key case-insensitively, `__` between levels), with its value.
fn env_var(path: &[&str]) -> Option<(String, String)> {
    if path.is_empty() {
        return None;
    }
    // vars_os: `std::env::vars` panics on a variable that is not UTF-8.
    let mut vars = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    vars.find(|(name, _)| {
        without_prefix(name).is_some_and(|rest| {
            rest.split("__").count() == path.len()
                && rest
                    .split("__")
                    .zip(path)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        })
    })
}

/// `name` after the `USD1_` prefix (matched case-insensitively, as figment does), if it has
/// the prefix and something after it.
fn without_prefix(name: &str) -> Option<&str> {
    let n = ENV_PREFIX.len();
    (name.len() > n && name.is_char_boundary(n) && name[..n].eq_ignore_ascii_case(ENV_PREFIX))
        .then(|| &name[n..])
}

#[cfg(test)]
mod tests;
