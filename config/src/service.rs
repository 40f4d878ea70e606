use crate::chain::{validate_chains, ChainConfig};
use crate::Validate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use usd1_core::Domain;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// What every service has: where it listens, where it keeps its sled store, how it logs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub listen: SocketAddr,
    pub db_path: PathBuf,
    #[serde(default)]
    pub log_format: LogFormat,
}

/// A key given by file: a hex private key, or a JSON keystore whose password is read from
/// the environment variable named by `password_env` (default `USD1_KEYSTORE_PASSWORD`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    pub key_file: PathBuf,
    #[serde(default = "default_password_env")]
    pub password_env: String,
}

fn default_password_env() -> String {
    "USD1_KEYSTORE_PASSWORD".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttesterConfig {
    pub service: ServiceConfig,
    pub signer: SignerConfig,
    pub chains: BTreeMap<String, ChainConfig>,
}

impl Validate for AttesterConfig {
    const SECTIONS: &'static [&'static str] = &["service", "signer", "chains"];
    fn validate(&self) -> Result<(), (String, String)> {
        validate_chains(&self.chains)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayerSettings {
    /// Base URLs of the attesters' APIs.
    pub attesters: Vec<String>,
    /// Per-request timeout toward an attester.
    #[serde(default = "default_attester_timeout")]
    pub attester_timeout_ms: u64,
    /// First retry delay; each retry doubles it (with jitter) up to `retry_max_ms`.
    #[serde(default = "default_retry_base")]
    pub retry_base_ms: u64,
    #[serde(default = "default_retry_max")]
    pub retry_max_ms: u64,
    /// A delivery not mined after this long is replaced with a higher fee.
    #[serde(default = "default_stuck")]
    pub stuck_after_ms: u64,
    /// Deliver only to these destinations / from these sources (empty: all). Lets several
    /// relayers split the load.
    #[serde(default)]
    pub destinations: Vec<Domain>,
    #[serde(default)]
    pub sources: Vec<Domain>,
}

fn default_attester_timeout() -> u64 {
    2000
}
fn default_retry_base() -> u64 {
    500
}
fn default_retry_max() -> u64 {
    30_000
}
fn default_stuck() -> u64 {
    30_000
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayerConfig {
    pub service: ServiceConfig,
    /// The account that pays for deliveries on EVM destinations.
    pub submitter: SignerConfig,
    pub relayer: RelayerSettings,
    pub chains: BTreeMap<String, ChainConfig>,
}

impl Validate for RelayerConfig {
    const SECTIONS: &'static [&'static str] = &["service", "submitter", "relayer", "chains"];
    fn validate(&self) -> Result<(), (String, String)> {
        validate_chains(&self.chains)?;
        let r = &self.relayer;
        if r.attesters.is_empty() {
            return Err((
                "relayer.attesters".into(),
                "must list at least one attester URL".into(),
            ));
        }
        for url in &r.attesters {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err((
                    "relayer.attesters".into(),
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
        }
        if r.retry_base_ms == 0 || r.retry_max_ms < r.retry_base_ms {
            return Err((
                "relayer.retry_base_ms".into(),
                "must be > 0 and <= relayer.retry_max_ms".into(),
            ));
        }
        let known: Vec<Domain> = self.chains.values().map(|c| c.domain).collect();
        for (field, list) in [
            ("relayer.destinations", &r.destinations),
            ("relayer.sources", &r.sources),
        ] {
            if let Some(d) = list.iter().find(|d| !known.contains(d)) {
                return Err((
                    field.into(),
                    format!("domain {d} is not one of the configured chains"),
                ));
            }
        }
        Ok(())
    }
}
