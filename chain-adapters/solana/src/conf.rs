//! A Solana cluster's settings: the fields of the `kind = "solana"` entry of the config's
//! `chains` (the config crate reads the file and routes the entry here by its kind).

use serde::{Deserialize, Serialize};
use solana_sdk::pubkey::Pubkey;
use std::path::PathBuf;
use usd1_core::setting::{check_explorer_url, check_rpc_urls, InvalidSetting};
use usd1_core::Domain;

/// The Solana cluster, if the deployment has one (DESIGN §4). Keys are written as base58
/// strings, as the Solana CLI prints them, and read once into keys here (a bad one is an error
/// naming its field when the file is loaded); key files are Solana CLI keypair JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolanaConfig {
    /// Label in metrics and logs.
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default = "default_domain")]
    pub domain: Domain,
    pub rpc_urls: Vec<String>,
    /// The bridge mint; toward other chains it is Solana's identity (remote messenger and token).
    #[serde(with = "base58")]
    pub mint: Pubkey,
    /// The SPL multisig of the attesters' ed25519 keys, the mint's authority.
    #[serde(with = "base58")]
    pub multisig: Pubkey,
    /// The claim authority in use, and those retired (still checked for existing claims).
    #[serde(with = "base58")]
    pub claim_authority: Pubkey,
    #[serde(default, with = "base58::list")]
    pub retired_claim_authorities: Vec<Pubkey>,
    /// Attester only: this attester's ed25519 key, one of the multisig's signers.
    #[serde(default)]
    pub cosign_key_file: Option<PathBuf>,
    /// Relayer only: the fee payer of mint transactions, and the claim authority's key.
    #[serde(default)]
    pub payer_key_file: Option<PathBuf>,
    #[serde(default)]
    pub claim_authority_key_file: Option<PathBuf>,
    /// Relayer only: the bearer token it presents to the attesters' co-sign route (a file
    /// holding the token the attesters list for this relayer in `cosign_tokens`).
    #[serde(default)]
    pub cosign_token_file: Option<PathBuf>,
    /// Attester only: the callers allowed to ask for co-signatures, one bearer token each.
    /// None listed: the co-sign route answers 403 (co-signing disabled).
    #[serde(default)]
    pub cosign_tokens: Vec<CosignToken>,
    /// Attester only: co-sign requests per second allowed to each caller (burst: twice that).
    #[serde(default = "default_cosign_rate")]
    pub cosign_rate_per_s: u32,
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// A block explorer's transaction page, `{tx}` standing for the signature (e.g.
    /// "https://explorer.solana.com/tx/{tx}"): the relayer's explorer links there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explorer_tx_url: Option<String>,
}

/// A caller of the co-sign route: `name` labels logs and keys its rate limit; the token is
/// read from `token_file` at start.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CosignToken {
    pub name: String,
    pub token_file: PathBuf,
}

/// The shortest bearer token accepted (characters).
pub const MIN_TOKEN_LEN: usize = 32;

/// Why a bearer token could not be read. The token itself never appears in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read token file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("token file {path}: the token must be at least {MIN_TOKEN_LEN} characters")]
    TooShort { path: String },
    #[error("token file {path}: the token must be printable ASCII without spaces")]
    NotPrintable { path: String },
    /// The setting that named the file, and what was wrong with it.
    #[error("{setting}: {source}")]
    In {
        setting: String,
        source: Box<TokenError>,
    },
    #[error("solana.cosign_tokens: {first} and {second} have the same token")]
    Shared { first: String, second: String },
}

impl TokenError {
    /// This error, said of the setting that named the file.
    pub fn in_setting(self, setting: impl Into<String>) -> Self {
        Self::In {
            setting: setting.into(),
            source: Box::new(self),
        }
    }
}

/// Reads a bearer token file: its content without surrounding whitespace, at least
/// `MIN_TOKEN_LEN` characters, printable ASCII (it travels in an HTTP header).
pub fn read_token_file(path: &std::path::Path) -> Result<String, TokenError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let token = text.trim();
    if token.len() < MIN_TOKEN_LEN {
        return Err(TokenError::TooShort { path: shown });
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TokenError::NotPrintable { path: shown });
    }
    Ok(token.to_string())
}

fn default_name() -> String {
    "solana".into()
}
fn default_domain() -> Domain {
    Domain::SOLANA
}
fn default_poll_ms() -> u64 {
    1000
}
/// Per caller, and callers are relayers holding a token: the bound is on a misbehaving one,
/// not on an honest backlog. At 20 a relayer could mint at most ~27 messages a second on
/// Solana through three attesters (two co-signatures each), a fraction of what the chain and
/// the relayer do (docs/benchmarks.md: 216 mints/s with the rate out of the way).
pub fn default_cosign_rate() -> u32 {
    200
}

impl SolanaConfig {
    /// The settings a process can run with; the error names the field within the entry.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_rpc_urls(&self.rpc_urls)?;
        let mut names = std::collections::BTreeSet::new();
        for t in &self.cosign_tokens {
            if t.name.trim().is_empty() {
                return Err(InvalidSetting::new(
                    "cosign_tokens",
                    "every entry needs a non-empty name",
                ));
            }
            if !names.insert(t.name.as_str()) {
                return Err(InvalidSetting::new(
                    "cosign_tokens",
                    format!("the name {:?} is listed twice", t.name),
                ));
            }
        }
        if self.cosign_rate_per_s == 0 {
            return Err(InvalidSetting::new("cosign_rate_per_s", "must be > 0"));
        }
        if let Some(url) = &self.explorer_tx_url {
            check_explorer_url(url)?;
        }
        Ok(())
    }

    /// Solana's identity toward other chains, as their messages name it (remote messenger
    /// and token): the mint (DESIGN §4).
    pub fn bridge_identity(&self) -> usd1_core::B256 {
        usd1_core::B256::from(self.mint.to_bytes())
    }

    /// Attester: (name, token) of every configured co-sign caller, tokens read from their
    /// files. Two callers with the same token are refused (the name would be ambiguous).
    pub fn read_cosign_tokens(&self) -> Result<Vec<(String, String)>, TokenError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for t in &self.cosign_tokens {
            let token = read_token_file(&t.token_file)
                .map_err(|e| e.in_setting(format!("solana.cosign_tokens ({})", t.name)))?;
            if let Some((other, _)) = out.iter().find(|(_, known)| *known == token) {
                return Err(TokenError::Shared {
                    first: t.name.clone(),
                    second: other.clone(),
                });
            }
            out.push((t.name.clone(), token));
        }
        Ok(out)
    }
}

/// Keys as base58 text in the file (what the Solana CLI prints), [`Pubkey`]s once read.
mod base58 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use solana_sdk::pubkey::Pubkey;
    use std::str::FromStr;

    pub fn serialize<S: Serializer>(key: &Pubkey, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(key)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pubkey, D::Error> {
        parse(&String::deserialize(d)?).map_err(D::Error::custom)
    }

    pub fn parse(text: &str) -> Result<Pubkey, NotAKey> {
        Pubkey::from_str(text).map_err(|_| NotAKey(text.to_string()))
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{0:?} is not a base58 public key")]
    pub struct NotAKey(String);

    pub mod list {
        use super::*;

        pub fn serialize<S: Serializer>(keys: &[Pubkey], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(keys.iter().map(|k| k.to_string()))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Pubkey>, D::Error> {
            Vec::<String>::deserialize(d)?
                .iter()
                .map(|k| parse(k).map_err(D::Error::custom))
                .collect()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A valid cluster's settings (other modules' tests build on it).
    pub(crate) fn config() -> SolanaConfig {
        SolanaConfig {
            name: default_name(),
            domain: default_domain(),
            rpc_urls: vec!["http://127.0.0.1:8899".into()],
            mint: Pubkey::new_unique(),
            multisig: Pubkey::new_unique(),
            claim_authority: Pubkey::new_unique(),
            retired_claim_authorities: vec![],
            cosign_key_file: None,
            payer_key_file: None,
            claim_authority_key_file: None,
            cosign_token_file: None,
            cosign_tokens: vec![],
            cosign_rate_per_s: default_cosign_rate(),
            poll_interval_ms: default_poll_ms(),
            explorer_tx_url: None,
        }
    }

    fn token_file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn cosign_tokens_are_read_trimmed_and_checked() {
        let good = token_file(&format!("{}\n", "a".repeat(40)));
        let short = token_file("tooshort\n");
        let spaced = token_file(&format!("{} {}", "a".repeat(20), "b".repeat(20)));
        let mut c = config();
        c.cosign_tokens = vec![CosignToken {
            name: "relayer-1".into(),
            token_file: good.path().into(),
        }];
        assert!(c.validate().is_ok());
        assert_eq!(
            c.read_cosign_tokens().unwrap(),
            vec![("relayer-1".to_string(), "a".repeat(40))]
        );
        for bad in [&short, &spaced] {
            c.cosign_tokens[0].token_file = bad.path().into();
            let err = c.read_cosign_tokens().unwrap_err().to_string();
            assert!(err.contains("relayer-1"), "{err}");
            assert!(!err.contains("tooshort"), "the token is never shown: {err}");
        }
        c.cosign_tokens[0].token_file = "/nonexistent/token".into();
        assert!(c.read_cosign_tokens().is_err());
    }

    #[test]
    fn cosign_token_names_are_non_empty_and_unique_and_tokens_distinct() {
        let f = token_file(&"x".repeat(32));
        let entry = |name: &str| CosignToken {
            name: name.into(),
            token_file: f.path().into(),
        };
        let mut c = config();
        c.cosign_tokens = vec![entry(" ")];
        assert_eq!(c.validate().unwrap_err().field, "cosign_tokens");
        c.cosign_tokens = vec![entry("a"), entry("a")];
        assert!(c.validate().unwrap_err().reason.contains("twice"));
        c.cosign_tokens = vec![entry("a"), entry("b")];
        assert!(c.validate().is_ok());
        assert!(c
            .read_cosign_tokens()
            .unwrap_err()
            .to_string()
            .contains("same token"));
        c.cosign_tokens.clear();
        c.cosign_rate_per_s = 0;
        assert_eq!(c.validate().unwrap_err().field, "cosign_rate_per_s");
    }

    #[test]
    fn keys_are_base58_in_the_file_and_keys_once_read() {
        let c = config();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["mint"], c.mint.to_string());
        let mut bad = json.clone();
        bad["multisig"] = "not-a-key".into();
        let e = serde_json::from_value::<SolanaConfig>(bad).unwrap_err();
        assert!(
            e.to_string()
                .contains("\"not-a-key\" is not a base58 public key"),
            "{e}"
        );
        let mut retired = json;
        retired["retired_claim_authorities"] = serde_json::json!([c.mint.to_string(), "x"]);
        assert!(serde_json::from_value::<SolanaConfig>(retired).is_err());
    }
}
