//! The `chains` table: each entry's fields are its adapter's (`usd1_evm::conf`,
//! `usd1_solana::conf`); here, what holds across entries, and where an entry's field is.

use std::collections::BTreeMap;
use usd1_core::setting::InvalidSetting;
use usd1_evm::conf::EvmChainConfig;

/// An adapter's complaint about one field of the entry at `entry` (`chains.ethereum`,
/// `solana`), as the config's dotted field path and reason.
pub(crate) fn in_entry(entry: &str) -> impl Fn(InvalidSetting) -> (String, String) + '_ {
    move |e| (format!("{entry}.{}", e.field), e.reason)
}

fn validate_chains(chains: &BTreeMap<String, EvmChainConfig>) -> Result<(), (String, String)> {
    if chains.is_empty() {
        return Err((
            "chains".into(),
            "at least one chain must be configured".into(),
        ));
    }
    let mut seen = BTreeMap::new();
    for (name, chain) in chains {
        chain
            .validate()
            .map_err(in_entry(&format!("chains.{name}")))?;
        if let Some(other) = seen.insert(chain.domain, name) {
            return Err((
                format!("chains.{name}.domain"),
                format!("domain {} is also used by chain {other}", chain.domain),
            ));
        }
    }
    Ok(())
}

/// Every chain of the file: the EVM ones, the Solana cluster if any, no domain twice.
pub(crate) fn validate_all(
    chains: &BTreeMap<String, EvmChainConfig>,
    solana: Option<&usd1_solana::conf::SolanaConfig>,
) -> Result<(), (String, String)> {
    validate_chains(chains)?;
    let Some(solana) = solana else {
        return Ok(());
    };
    solana.validate().map_err(in_entry("solana"))?;
    if chains.values().any(|c| c.domain == solana.domain) {
        return Err((
            "solana.domain".into(),
            format!("domain {} is also an EVM chain's", solana.domain),
        ));
    }
    Ok(())
}

/// domain → TokenMessenger of every EVM chain: the remote messengers a Solana watcher
/// accepts burns toward.
pub fn remote_messengers(
    chains: &BTreeMap<String, EvmChainConfig>,
) -> std::collections::HashMap<usd1_core::Domain, usd1_core::B256> {
    chains
        .values()
        .map(EvmChainConfig::remote_messenger)
        .collect()
}
