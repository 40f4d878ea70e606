//! The attester's governor (DESIGN §10): per source chain, a rolling limit on the value the
//! attester signs and a big-transfer threshold, both in USD1 (decimal strings) or `"off"`.
//!
//! ```toml
//! [governor]
//! window_secs = 86400              # the rolling window (default 24 h)
//! big_transfer_delay_secs = 86400  # how long a big transfer is held (default 24 h)
//! daily_limit = "10000000"         # default for every source chain (this is the default)
//! big_transfer = "1000000"         # default for every source chain (this is the default)
//! admin_token_file = "/etc/usd1/governor-admin.token"  # release/drop; absent: 403
//!
//! [governor.chains.ethereum]       # a source chain by name, or by domain ("6")
//! daily_limit = "50000000"
//! big_transfer = "off"             # "off": no big-transfer hold on this chain
//! ```
//!
//! A chain without its own section, or a field left out, takes the section's default; a
//! config without `[governor]` governs every source chain with the defaults above.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use usd1_core::{Domain, U256};

/// The default rolling limit per source chain, USD1.
pub const DEFAULT_DAILY_LIMIT: &str = "10000000";
/// The default big-transfer threshold per source chain, USD1.
pub const DEFAULT_BIG_TRANSFER: &str = "1000000";
/// The default window and big-transfer delay: 24 hours.
pub const DEFAULT_WINDOW_SECS: u64 = 86_400;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GovernorConfig {
    /// The rolling window over which `daily_limit` applies, seconds of source-chain time.
    #[serde(default = "default_window")]
    pub window_secs: u64,
    /// How long a big transfer is held after its burn, seconds.
    #[serde(default = "default_window")]
    pub big_transfer_delay_secs: u64,
    /// Default for chains without their own: USD1 signed per window, or "off".
    #[serde(default = "default_daily_limit")]
    pub daily_limit: String,
    /// Default for chains without their own: a burn of at least this is held, or "off".
    #[serde(default = "default_big_transfer")]
    pub big_transfer: String,
    /// The operators' bearer token for the admin routes (release, drop): at least 32
    /// characters, read at start. None: the admin routes answer 403.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_file: Option<PathBuf>,
    /// Per source chain, by its name or its domain number.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub chains: BTreeMap<String, GovernorChainConfig>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GovernorChainConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub big_transfer: Option<String>,
}

impl Default for GovernorConfig {
    fn default() -> Self {
        Self {
            window_secs: DEFAULT_WINDOW_SECS,
            big_transfer_delay_secs: DEFAULT_WINDOW_SECS,
            daily_limit: default_daily_limit(),
            big_transfer: default_big_transfer(),
            admin_token_file: None,
            chains: BTreeMap::new(),
        }
    }
}

fn default_window() -> u64 {
    DEFAULT_WINDOW_SECS
}
fn default_daily_limit() -> String {
    DEFAULT_DAILY_LIMIT.into()
}
fn default_big_transfer() -> String {
    DEFAULT_BIG_TRANSFER.into()
}

/// One source chain's limits, in USD1 base units (None: off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GovernorLimits {
    pub daily_limit: Option<U256>,
    pub big_transfer: Option<U256>,
    pub window_secs: u64,
    pub big_transfer_delay_secs: u64,
}

/// "off" or a positive decimal USD1 amount; the error names `field`.
pub fn parse_limit(text: &str, field: &str) -> Result<Option<U256>, (String, String)> {
    if text == "off" {
        return Ok(None);
    }
    usd1_core::parse_amount(text, usd1_core::USD1_DECIMALS)
        .map(Some)
        .map_err(|e| (field.to_string(), format!("{e} (or \"off\")")))
}

impl GovernorConfig {
    /// The section key (`governor.chains.<key>`) that names this chain, if any.
    fn key_for(&self, name: &str, domain: Domain) -> Option<&str> {
        let by_domain = domain.0.to_string();
        self.chains
            .keys()
            .find(|k| k.as_str() == name || **k == by_domain)
            .map(String::as_str)
    }

    /// The limits of the source chain `name` (domain `domain`). Call after `validate`.
    pub fn limits(&self, name: &str, domain: Domain) -> Result<GovernorLimits, (String, String)> {
        let own = self.key_for(name, domain).map(|k| (k, &self.chains[k]));
        let pick =
            |field: &str, default: &String, own_value: Option<&String>| match (own, own_value) {
                (Some((key, _)), Some(v)) => {
                    parse_limit(v, &format!("governor.chains.{key}.{field}"))
                }
                _ => parse_limit(default, &format!("governor.{field}")),
            };
        Ok(GovernorLimits {
            daily_limit: pick(
                "daily_limit",
                &self.daily_limit,
                own.and_then(|(_, c)| c.daily_limit.as_ref()),
            )?,
            big_transfer: pick(
                "big_transfer",
                &self.big_transfer,
                own.and_then(|(_, c)| c.big_transfer.as_ref()),
            )?,
            window_secs: self.window_secs,
            big_transfer_delay_secs: self.big_transfer_delay_secs,
        })
    }

    /// Checks the section against the attester's source chains, (name, domain) each.
    pub fn validate(&self, sources: &[(String, Domain)]) -> Result<(), (String, String)> {
        for (field, value) in [
            ("window_secs", self.window_secs),
            ("big_transfer_delay_secs", self.big_transfer_delay_secs),
        ] {
            if value == 0 || value > 366 * 86_400 {
                return Err((
                    format!("governor.{field}"),
                    "must be between 1 and 31622400 seconds (366 days)".into(),
                ));
            }
        }
        parse_limit(&self.daily_limit, "governor.daily_limit")?;
        parse_limit(&self.big_transfer, "governor.big_transfer")?;
        let mut seen: BTreeMap<Domain, &str> = BTreeMap::new();
        for key in self.chains.keys() {
            let Some((_, domain)) = sources
                .iter()
                .find(|(name, domain)| name == key || domain.0.to_string() == *key)
            else {
                let known: Vec<String> =
                    sources.iter().map(|(n, d)| format!("{n} ({d})")).collect();
                return Err((
                    format!("governor.chains.{key}"),
                    format!(
                        "is neither the name nor the domain of a source chain (known: {})",
                        known.join(", ")
                    ),
                ));
            };
            if let Some(other) = seen.insert(*domain, key) {
                return Err((
                    format!("governor.chains.{key}"),
                    format!("names the same chain as governor.chains.{other}"),
                ));
            }
        }
        for (name, domain) in sources {
            let limits = self.limits(name, *domain)?;
            if let (Some(limit), Some(big)) = (limits.daily_limit, limits.big_transfer) {
                if big > limit {
                    let field = match self.key_for(name, *domain) {
                        Some(key) if self.chains[key].big_transfer.is_some() => {
                            format!("governor.chains.{key}.big_transfer")
                        }
                        Some(key) if self.chains[key].daily_limit.is_some() => {
                            format!("governor.chains.{key}.daily_limit")
                        }
                        _ => "governor.big_transfer".into(),
                    };
                    return Err((
                        field,
                        format!(
                            "{name}: the big-transfer threshold ({} USD1) exceeds the daily limit ({} USD1): a transfer between the two could never fit the window",
                            usd1_core::format_amount(big, usd1_core::USD1_DECIMALS),
                            usd1_core::format_amount(limit, usd1_core::USD1_DECIMALS)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The admin bearer token, read from `admin_token_file` (None when not configured).
    pub fn read_admin_token(&self) -> Result<Option<String>, crate::TokenError> {
        self.admin_token_file
            .as_deref()
            .map(|path| {
                crate::read_token_file(path).map_err(|e| e.in_setting("governor.admin_token_file"))
            })
            .transpose()
    }
}

/// What the relayer and the `usd1` command line show for a message an attester's governor
/// holds: "held by the governor until 2025-01-02 03:04:05 UTC".
pub fn held_by_governor_text(release_at: u64) -> String {
    format!("held by the governor until {}", utc_datetime(release_at))
}

/// "YYYY-MM-DD HH:MM:SS UTC" of a Unix time in seconds.
pub fn utc_datetime(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        (rest / 60) % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<(String, Domain)> {
        vec![
            ("ethereum".into(), Domain(0)),
            ("base".into(), Domain(6)),
            ("solana".into(), Domain(5)),
        ]
    }

    fn usd1(text: &str) -> Option<U256> {
        Some(usd1_core::parse_amount(text, 6).unwrap())
    }

    #[test]
    fn defaults_apply_to_every_chain() {
        let g = GovernorConfig::default();
        g.validate(&sources()).unwrap();
        let l = g.limits("base", Domain(6)).unwrap();
        assert_eq!(l.daily_limit, usd1("10000000"));
        assert_eq!(l.big_transfer, usd1("1000000"));
        assert_eq!((l.window_secs, l.big_transfer_delay_secs), (86_400, 86_400));
    }

    #[test]
    fn chains_by_name_or_domain_and_off() {
        let mut g = GovernorConfig {
            big_transfer: "off".into(),
            ..Default::default()
        };
        g.chains.insert(
            "ethereum".into(),
            GovernorChainConfig {
                daily_limit: Some("20.5".into()),
                big_transfer: Some("5".into()),
            },
        );
        g.chains.insert(
            "6".into(),
            GovernorChainConfig {
                daily_limit: Some("off".into()),
                big_transfer: None,
            },
        );
        g.validate(&sources()).unwrap();
        let eth = g.limits("ethereum", Domain(0)).unwrap();
        assert_eq!(
            (eth.daily_limit, eth.big_transfer),
            (usd1("20.5"), usd1("5"))
        );
        let base = g.limits("base", Domain(6)).unwrap();
        assert_eq!((base.daily_limit, base.big_transfer), (None, None));
        let sol = g.limits("solana", Domain(5)).unwrap();
        assert_eq!(
            (sol.daily_limit, sol.big_transfer),
            (usd1("10000000"), None)
        );
    }

    #[test]
    fn validation_names_the_field() {
        let field = |g: &GovernorConfig| g.validate(&sources()).unwrap_err().0;
        let mut g = GovernorConfig {
            window_secs: 0,
            ..Default::default()
        };
        assert_eq!(field(&g), "governor.window_secs");
        g.window_secs = 60;
        g.daily_limit = "lots".into();
        assert_eq!(field(&g), "governor.daily_limit");
        g.daily_limit = "0".into();
        assert_eq!(field(&g), "governor.daily_limit");
        g.daily_limit = "100".into();
        assert_eq!(field(&g), "governor.big_transfer", "1000000 > 100");
        g.big_transfer = "10".into();
        g.chains.insert("polygon".into(), Default::default());
        assert_eq!(field(&g), "governor.chains.polygon");
        g.chains.clear();
        g.chains.insert("base".into(), Default::default());
        g.chains.insert("6".into(), Default::default());
        let (f, why) = g.validate(&sources()).unwrap_err();
        assert!(f.starts_with("governor.chains."), "{f}");
        assert!(why.contains("same chain"), "{why}");
        g.chains.clear();
        g.chains.insert(
            "base".into(),
            GovernorChainConfig {
                daily_limit: None,
                big_transfer: Some("-1".into()),
            },
        );
        assert_eq!(field(&g), "governor.chains.base.big_transfer");
        g.chains.get_mut("base").unwrap().big_transfer = Some("200".into());
        assert_eq!(field(&g), "governor.chains.base.big_transfer", "200 > 100");
    }

    #[test]
    fn admin_token_is_read_and_checked() {
        let mut g = GovernorConfig::default();
        assert_eq!(g.read_admin_token().unwrap(), None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.token");
        std::fs::write(&path, "short\n").unwrap();
        g.admin_token_file = Some(path.clone());
        let err = g.read_admin_token().unwrap_err().to_string();
        assert!(err.starts_with("governor.admin_token_file"), "{err}");
        assert!(!err.contains("short\n"), "{err}");
        std::fs::write(&path, format!("{}\n", "k".repeat(40))).unwrap();
        assert_eq!(g.read_admin_token().unwrap(), Some("k".repeat(40)));
    }

    /// An attester config file with `governor` appended, parsed and validated (no `USD1_`
    /// overrides: other tests set some).
    fn attester(governor: &str) -> Result<crate::AttesterConfig, String> {
        use crate::Validate;
        use figment::providers::{Format, Toml};
        let text = format!(
            r#"
[service]
listen = "127.0.0.1:7001"
db_path = "/tmp/a1"

[signer]
key_file = "/tmp/k"

[chains.ethereum]
domain = 0
kind = "evm"
rpc_urls = ["http://127.0.0.1:8545"]
finality = "finalized"
message_transmitter = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
token_messenger = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
token = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
{governor}"#
        );
        let (text, _) = crate::families::loaded_view(&text).map_err(|e| e.to_string())?;
        let c: crate::AttesterConfig = figment::Figment::new()
            .merge(Toml::string(&text))
            .extract()
            .map_err(|e| e.to_string())?;
        c.validate()
            .map_err(|(field, why)| format!("{field}: {why}"))?;
        Ok(c)
    }

    #[test]
    fn the_section_in_a_file() {
        let c = attester("").unwrap();
        assert_eq!(
            c.governor,
            GovernorConfig::default(),
            "omitted: the defaults"
        );
        let c = attester(
            "[governor]\nwindow_secs = 60\nadmin_token_file = \"/etc/t\"\n[governor.chains.0]\nbig_transfer = \"off\"\n",
        )
        .unwrap();
        let l = c.governor.limits("ethereum", Domain(0)).unwrap();
        assert_eq!((l.big_transfer, l.window_secs), (None, 60));
        let err = attester("[governor.chains.ethereum]\ndaily_limit = \"1,000\"\n").unwrap_err();
        assert!(
            err.starts_with("governor.chains.ethereum.daily_limit: "),
            "{err}"
        );
        let err = attester("[governor]\nlimit = \"1\"\n").unwrap_err();
        assert!(err.contains("limit"), "unknown fields are refused: {err}");
    }

    #[test]
    fn utc_datetimes() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_datetime(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_datetime(1_735_787_045), "2025-01-02 03:04:05 UTC");
        assert_eq!(
            held_by_governor_text(1_735_787_045),
            "held by the governor until 2025-01-02 03:04:05 UTC"
        );
    }
}
