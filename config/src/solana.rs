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
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
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
        Ok(())
    }
}
