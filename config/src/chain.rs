use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use usd1_core::Domain;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainKind {
    Evm,
    Solana,
}

/// When a block counts as final (DESIGN §3): the chain's `finalized` or `safe` tag, or a
/// number of confirmations below the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Finality {
    Finalized,
    Safe,
    #[serde(untagged)]
    Confirmations {
        confirmations: u64,
    },
}

/// One chain, described once and shared by every process that touches it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    pub domain: Domain,
    pub kind: ChainKind,
    /// Tried in order; the next one is used when one fails.
    pub rpc_urls: Vec<String>,
    pub finality: Finality,
    pub message_transmitter: Address,
    pub token_messenger: Address,
    pub token: Address,
    /// Where a fresh watcher starts reading.
    #[serde(default)]
    pub start_block: u64,
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Largest `eth_getLogs` range asked for at once.
    #[serde(default = "default_log_chunk")]
    pub max_block_range: u64,
    /// Confirmations a delivery needs on this chain (as destination) before it is Confirmed.
    #[serde(default = "default_confirmations")]
    pub delivery_confirmations: u64,
    /// A block explorer's transaction page, `{tx}` standing for the hash (e.g.
    /// "https://etherscan.io/tx/{tx}"): the relayer's explorer links there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explorer_tx_url: Option<String>,
}

fn default_poll_ms() -> u64 {
    1000
}
fn default_log_chunk() -> u64 {
    500
}
fn default_confirmations() -> u64 {
    1
}

impl ChainConfig {
    pub(crate) fn validate(&self, name: &str) -> Result<(), (String, String)> {
        let field = |f: &str| format!("chains.{name}.{f}");
        if self.kind != ChainKind::Evm {
            return Err((
                field("kind"),
                "only \"evm\" chains are supported by this build".into(),
            ));
        }
        if self.rpc_urls.is_empty() {
            return Err((field("rpc_urls"), "must list at least one URL".into()));
        }
        for url in &self.rpc_urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err((field("rpc_urls"), format!("{url:?} is not an http(s) URL")));
            }
        }
        if self.poll_interval_ms == 0 {
            return Err((field("poll_interval_ms"), "must be greater than 0".into()));
        }
        if let Some(url) = &self.explorer_tx_url {
            check_explorer_url(url).map_err(|e| (field("explorer_tx_url"), e))?;
        }
        if self.max_block_range == 0 {
            return Err((field("max_block_range"), "must be greater than 0".into()));
        }
        for (f, a) in [
            ("message_transmitter", self.message_transmitter),
            ("token_messenger", self.token_messenger),
            ("token", self.token),
        ] {
            if a == Address::ZERO {
                return Err((field(f), "must not be the zero address".into()));
            }
        }
        Ok(())
    }
}

/// A block explorer URL template: http(s), with `{tx}` where the transaction goes.
pub(crate) fn check_explorer_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{url:?} is not an http(s) URL"));
    }
    if !url.contains("{tx}") {
        return Err(format!(
            "{url:?} has no {{tx}} where the transaction hash goes"
        ));
    }
    Ok(())
}

pub(crate) fn validate_chains(
    chains: &std::collections::BTreeMap<String, ChainConfig>,
) -> Result<(), (String, String)> {
    if chains.is_empty() {
        return Err((
            "chains".into(),
            "at least one chain must be configured".into(),
        ));
    }
    let mut seen = std::collections::BTreeMap::new();
    for (name, chain) in chains {
        chain.validate(name)?;
        if let Some(other) = seen.insert(chain.domain, name) {
            return Err((
                format!("chains.{name}.domain"),
                format!("domain {} is also used by chain {other}", chain.domain),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_explorer_url;

    #[test]
    fn explorer_urls_are_http_with_a_tx_placeholder() {
        assert!(check_explorer_url("https://etherscan.io/tx/{tx}").is_ok());
        assert!(check_explorer_url("http://127.0.0.1:4000/tx/{tx}?cluster=custom").is_ok());
        let e = check_explorer_url("https://etherscan.io/tx/").unwrap_err();
        assert!(e.contains("{tx}"), "{e}");
        let e = check_explorer_url("javascript:alert(1)//{tx}").unwrap_err();
        assert!(e.contains("not an http(s) URL"), "{e}");
    }
}
