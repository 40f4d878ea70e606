use crate::chain::validate_all;
use crate::Validate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use usd1_core::Domain;
use usd1_evm::conf::EvmChainConfig;

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
    pub chains: BTreeMap<String, EvmChainConfig>,
    #[serde(default)]
    pub solana: Option<crate::SolanaConfig>,
    /// Per source chain: the rolling limit and the big-transfer hold (DESIGN §10). Omitted:
    /// the defaults govern every source chain.
    #[serde(default)]
    pub governor: crate::GovernorConfig,
}

impl AttesterConfig {
    /// (name, domain) of every source chain this attester watches, Solana included.
    pub fn sources(&self) -> Vec<(String, Domain)> {
        let mut out: Vec<(String, Domain)> = self
            .chains
            .iter()
            .map(|(name, c)| (name.clone(), c.domain))
            .collect();
        if let Some(solana) = &self.solana {
            out.push((solana.name.clone(), solana.domain));
        }
        out
    }
}

impl Validate for AttesterConfig {
    const SECTIONS: &'static [&'static str] =
        &["service", "signer", "chains", "solana", "governor"];
    fn validate(&self) -> Result<(), (String, String)> {
        validate_all(&self.chains, self.solana.as_ref())?;
        if let Some(solana) = &self.solana {
            if solana.cosign_key_file.is_none() {
                return Err((
                    "solana.cosign_key_file".into(),
                    "an attester needs its ed25519 key to co-sign".into(),
                ));
            }
        }
        self.governor.validate(&self.sources())?;
        Ok(())
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
    /// The most records the queue works on at once (collecting signatures, dry runs,
    /// signing, receipts): bounds the RPC load and memory of a large backlog.
    #[serde(default = "default_max_concurrent_steps")]
    pub max_concurrent_steps: usize,
    /// The most messages one delivery transaction carries where the destination takes
    /// batches (our MessageTransmitter's `receiveMessages`, found in its code; Circle's has
    /// none): a backlog for one destination goes in batches, at ~65k gas a mint in a batch
    /// of 20 against ~113k alone. 1: one delivery per message. At most 256.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Deliver only to these destinations / from these sources (empty: all). Lets several
    /// relayers split the load.
    #[serde(default)]
    pub destinations: Vec<Domain>,
    #[serde(default)]
    pub sources: Vec<Domain>,
    /// What this relayer carries and spends on (DESIGN §6).
    #[serde(default)]
    pub policy: crate::RelayPolicyConfig,
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
fn default_max_concurrent_steps() -> usize {
    64
}
fn default_max_batch() -> usize {
    20
}
/// A batch of 256 is ~16.5M gas: within a block's 30M, with room for others' transactions.
const MAX_BATCH: usize = 256;

/// The supply audit: Σ supply over all chains + in-flight burns against what was issued.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The issuer's own figure of USD1 outstanding (a decimal string, e.g. "2000000"). The
    /// bridge cannot know it from the chains: an extra mint by an admin key would be counted.
    #[serde(default)]
    pub issued_total: Option<String>,
    /// How often the relayer re-audits (for the supply metrics).
    #[serde(default = "default_audit_interval")]
    pub interval_ms: u64,
}

fn default_audit_interval() -> u64 {
    30_000
}

impl AuditSettings {
    fn validate(&self, section: &str) -> Result<(), (String, String)> {
        if let Some(total) = &self.issued_total {
            if let Err(e) = usd1_core::parse_amount(total, usd1_core::USD1_DECIMALS) {
                return Err((format!("{section}.issued_total"), e.to_string()));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayerConfig {
    pub service: ServiceConfig,
    /// The account that pays for deliveries on EVM destinations.
    pub submitter: SignerConfig,
    pub relayer: RelayerSettings,
    #[serde(default)]
    pub audit: AuditSettings,
    pub chains: BTreeMap<String, EvmChainConfig>,
    /// Solana as a source (its bridge burns are queued for EVM destinations).
    #[serde(default)]
    pub solana: Option<crate::SolanaConfig>,
}

impl Validate for RelayerConfig {
    const SECTIONS: &'static [&'static str] = &[
        "service",
        "submitter",
        "relayer",
        "audit",
        "chains",
        "solana",
    ];
    fn validate(&self) -> Result<(), (String, String)> {
        if self.relayer.max_concurrent_steps == 0 {
            return Err((
                "relayer.max_concurrent_steps".into(),
                "must be at least 1".into(),
            ));
        }
        if !(1..=MAX_BATCH).contains(&self.relayer.max_batch) {
            return Err((
                "relayer.max_batch".into(),
                format!("must be from 1 to {MAX_BATCH}"),
            ));
        }
        validate_all(&self.chains, self.solana.as_ref())?;
        if let Some(solana) = &self.solana {
            // Both keys or neither (Solana then only a source): one alone would silently
            // leave Solana undelivered.
            match (&solana.payer_key_file, &solana.claim_authority_key_file) {
                (Some(_), None) => {
                    return Err((
                        "solana.claim_authority_key_file".into(),
                        "is required with solana.payer_key_file to deliver to Solana".into(),
                    ))
                }
                (None, Some(_)) => {
                    return Err((
                        "solana.payer_key_file".into(),
                        "is required with solana.claim_authority_key_file to deliver to Solana"
                            .into(),
                    ))
                }
                _ => {}
            }
        }
        self.audit.validate("audit")?;
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
        r.policy.validate()?;
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

/// The `usd1` command line's config: the user's key, where the bridge's services are, the
/// chains. Everything but `chains` is optional: each command says what it needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliConfig {
    #[serde(default)]
    pub user: Option<SignerConfig>,
    /// The user's Solana keypair (Solana CLI JSON), for burns on Solana.
    #[serde(default)]
    pub solana_user: Option<SolanaUser>,
    #[serde(default)]
    pub solana: Option<crate::SolanaConfig>,
    #[serde(default)]
    pub bridge: BridgeEndpoints,
    #[serde(default)]
    pub audit: AuditSettings,
    pub chains: BTreeMap<String, EvmChainConfig>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeEndpoints {
    /// A relayer's API (status, aggregated attestations).
    #[serde(default)]
    pub relayer: Option<String>,
    /// The attesters' APIs (progress, self-relay).
    #[serde(default)]
    pub attesters: Vec<String>,
}

impl Validate for CliConfig {
    const SECTIONS: &'static [&'static str] =
        &["user", "solana_user", "bridge", "audit", "chains", "solana"];
    fn validate(&self) -> Result<(), (String, String)> {
        validate_all(&self.chains, self.solana.as_ref())?;
        self.audit.validate("audit")?;
        for url in self
            .bridge
            .relayer
            .iter()
            .chain(self.bridge.attesters.iter())
        {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(("bridge".into(), format!("{url:?} is not an http(s) URL")));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolanaUser {
    pub key_file: PathBuf,
}
