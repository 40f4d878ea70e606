use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use usd1_core::Domain;

/// The Solana cluster, if the deployment has one (DESIGN §4). Keys are base58 strings as the
/// Solana CLI prints them; key files are Solana CLI keypair JSON.
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
    pub mint: String,
    /// The SPL multisig of the attesters' ed25519 keys, the mint's authority.
    pub multisig: String,
    /// The claim authority in use, and those retired (still checked for existing claims).
    pub claim_authority: String,
    #[serde(default)]
    pub retired_claim_authorities: Vec<String>,
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
fn default_cosign_rate() -> u32 {
    20
}

fn is_pubkey(s: &str) -> bool {
    bs58::decode(s).into_vec().is_ok_and(|v| v.len() == 32)
}

impl SolanaConfig {
    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        if self.rpc_urls.is_empty() {
            return Err((
                "solana.rpc_urls".into(),
                "must list at least one URL".into(),
            ));
        }
        if let Some(url) = self
            .rpc_urls
            .iter()
            .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err((
                "solana.rpc_urls".into(),
                format!("{url:?} is not an http(s) URL"),
            ));
        }
        for (field, key) in [
            ("mint", &self.mint),
            ("multisig", &self.multisig),
            ("claim_authority", &self.claim_authority),
        ] {
            if !is_pubkey(key) {
                return Err((
                    format!("solana.{field}"),
                    format!("{key:?} is not a base58 public key"),
                ));
            }
        }
        if let Some(k) = self
            .retired_claim_authorities
            .iter()
            .find(|k| !is_pubkey(k))
        {
            return Err((
                "solana.retired_claim_authorities".into(),
                format!("{k:?} is not a base58 public key"),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for t in &self.cosign_tokens {
            if t.name.trim().is_empty() {
                return Err((
                    "solana.cosign_tokens".into(),
                    "every entry needs a non-empty name".into(),
                ));
            }
            if !names.insert(t.name.as_str()) {
                return Err((
                    "solana.cosign_tokens".into(),
                    format!("the name {:?} is listed twice", t.name),
                ));
            }
        }
        if self.cosign_rate_per_s == 0 {
            return Err(("solana.cosign_rate_per_s".into(), "must be > 0".into()));
        }
        if let Some(url) = &self.explorer_tx_url {
            crate::chain::check_explorer_url(url)
                .map_err(|e| ("solana.explorer_tx_url".into(), e))?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn config() -> SolanaConfig {
        SolanaConfig {
            name: default_name(),
            domain: default_domain(),
            rpc_urls: vec!["http://127.0.0.1:8899".into()],
            mint: "11111111111111111111111111111111".into(),
            multisig: "11111111111111111111111111111111".into(),
            claim_authority: "11111111111111111111111111111111".into(),
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

    /// The file alone (no `USD1_` overrides: other tests set some), validated.
    fn file<T: serde::de::DeserializeOwned + crate::Validate>(path: &std::path::Path) -> T {
        use figment::providers::{Format, Toml};
        let text = std::fs::read_to_string(path).unwrap();
        let (text, _) = crate::families::loaded_view(&text).unwrap();
        let c: T = figment::Figment::new()
            .merge(Toml::string(&text))
            .extract()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err((field, why)) = c.validate() {
            panic!("{}: {field}: {why}", path.display());
        }
        c
    }

    #[test]
    fn example_and_production_attesters_listen_on_loopback_only() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for path in [
            root.join("examples/attester.toml"),
            root.join("../deploy/config/attester.production.toml"),
        ] {
            let c: crate::AttesterConfig = file(&path);
            assert!(
                c.service.listen.ip().is_loopback(),
                "{}: an attester behind its TLS proxy listens on 127.0.0.1",
                path.display()
            );
        }
        let example: crate::AttesterConfig = file(&root.join("examples/attester.toml"));
        let solana = example
            .solana
            .expect("the example shows a chain of kind \"solana\"");
        assert!(!solana.cosign_tokens.is_empty(), "and its co-sign callers");
        let relayer: crate::RelayerConfig = file(&root.join("examples/relayer.toml"));
        assert!(relayer.solana.unwrap().cosign_token_file.is_some());
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
        assert_eq!(c.validate().unwrap_err().0, "solana.cosign_tokens");
        c.cosign_tokens = vec![entry("a"), entry("a")];
        assert!(c.validate().unwrap_err().1.contains("twice"));
        c.cosign_tokens = vec![entry("a"), entry("b")];
        assert!(c.validate().is_ok());
        assert!(c
            .read_cosign_tokens()
            .unwrap_err()
            .to_string()
            .contains("same token"));
        c.cosign_tokens.clear();
        c.cosign_rate_per_s = 0;
        assert_eq!(c.validate().unwrap_err().0, "solana.cosign_rate_per_s");
    }
}
