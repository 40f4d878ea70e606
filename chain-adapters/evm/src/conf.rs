//! An EVM chain's settings: the fields of a `kind = "evm"` entry of the config's `chains`
//! (the config crate reads the file and routes each entry here by its kind).

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use usd1_core::setting::{check_explorer_url, check_rpc_urls, check_ws_url, InvalidSetting};
use usd1_core::Domain;

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

/// One EVM chain, described once and shared by every process that touches it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmChainConfig {
    pub domain: Domain,
    /// Tried in order; the next one is used when one fails.
    pub rpc_urls: Vec<String>,
    pub finality: Finality,
    pub message_transmitter: Address,
    pub token_messenger: Address,
    pub token: Address,
    /// Where a fresh watcher starts reading.
    #[serde(default)]
    pub start_block: u64,
    /// A websocket URL of a node of this chain (ws:// or wss://): the watchers subscribe to
    /// its new heads and read each block as it comes, instead of at their next poll. Only a
    /// wake-up: everything is still read, and checked, through `rpc_urls`, and polling goes
    /// on beside it (alone while the socket is down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ws_url: Option<String>,
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

impl EvmChainConfig {
    /// The settings a process can run with; the error names the field within the entry.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_rpc_urls(&self.rpc_urls)?;
        if self.poll_interval_ms == 0 {
            return Err(InvalidSetting::new(
                "poll_interval_ms",
                "must be greater than 0",
            ));
        }
        if let Some(url) = &self.ws_url {
            check_ws_url(url)?;
        }
        if let Some(url) = &self.explorer_tx_url {
            check_explorer_url(url)?;
        }
        if self.max_block_range == 0 {
            return Err(InvalidSetting::new(
                "max_block_range",
                "must be greater than 0",
            ));
        }
        for (field, a) in [
            ("message_transmitter", self.message_transmitter),
            ("token_messenger", self.token_messenger),
            ("token", self.token),
        ] {
            if a == Address::ZERO {
                return Err(InvalidSetting::new(field, "must not be the zero address"));
            }
        }
        Ok(())
    }

    /// This chain as a remote of the others: its domain and the TokenMessenger that burns
    /// toward them (what they register as the domain's remote messenger).
    pub fn remote_messenger(&self) -> (Domain, B256) {
        (
            self.domain,
            usd1_core::message::address_to_bytes32(self.token_messenger),
        )
    }
}
