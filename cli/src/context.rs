//! What every command needs: the config, the chains by name, the user's key, HTTP.

use alloy::network::EthereumWallet;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use std::path::Path;
use std::sync::Arc;
use usd1_config::{ChainConfig, CliConfig};
use usd1_evm::EvmRpc;

/// A failure with what went wrong and how to fix it; `code` is the exit status.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: i32,
}

impl CliError {
    /// The user's input or setup is wrong (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
        }
    }
    /// Something failed while doing it (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

pub struct Context {
    pub config: CliConfig,
    pub http: reqwest::Client,
}

pub struct Chain<'a> {
    pub name: &'a str,
    pub config: &'a ChainConfig,
}

impl Context {
    pub fn load(path: &Path) -> Result<Self, CliError> {
        let config: CliConfig = usd1_config::load(path).map_err(|e| {
            CliError::usage(format!(
                "{e}\n  (pass --config FILE; the devnet writes .devnet/usd1.toml)"
            ))
        })?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| CliError::failed(format!("cannot make an HTTP client: {e}")))?;
        Ok(Self { config, http })
    }

    pub fn chain(&self, name: &str) -> Result<Chain<'_>, CliError> {
        match self.config.chains.get_key_value(name) {
            Some((n, c)) => Ok(Chain { name: n, config: c }),
            None => Err(CliError::usage(format!(
                "no chain named {name:?} in the config; configured: {}",
                self.config
                    .chains
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    pub fn chains(&self) -> impl Iterator<Item = Chain<'_>> {
        self.config
            .chains
            .iter()
            .map(|(n, c)| Chain { name: n, config: c })
    }

    pub fn user_key(&self) -> Result<PrivateKeySigner, CliError> {
        let signer = self.config.user.as_ref().ok_or_else(|| {
            CliError::usage(
                "this command needs your key: add [user] key_file = \"…\" to the config",
            )
        })?;
        usd1_config::load_evm_signer(signer).map_err(|e| CliError::usage(e.to_string()))
    }

    pub fn relayer(&self) -> Result<&str, CliError> {
        self.config.bridge.relayer.as_deref().ok_or_else(|| {
            CliError::usage(
                "this command needs a relayer: add [bridge] relayer = \"http://…\" to the config",
            )
        })
    }
}

impl Chain<'_> {
    pub fn rpc(&self) -> Result<Arc<EvmRpc>, CliError> {
        EvmRpc::new(self.name, &self.config.rpc_urls)
            .map(Arc::new)
            .map_err(|e| CliError::usage(e.to_string()))
    }

    /// A provider that signs as `key` (nonce, gas, fees filled in), on the first RPC URL.
    pub fn wallet(&self, key: &PrivateKeySigner) -> Result<DynProvider, CliError> {
        let url = self.config.rpc_urls[0]
            .parse()
            .map_err(|e| CliError::usage(format!("chains.{}.rpc_urls: {e}", self.name)))?;
        Ok(ProviderBuilder::new()
            .wallet(EthereumWallet::from(key.clone()))
            .connect_http(url)
            .erased())
    }
}

/// An RPC failure, phrased for a person.
pub fn unreachable(chain: &str, e: impl std::fmt::Display) -> CliError {
    CliError::failed(format!("cannot reach chain {chain}: {e}\n  (is its RPC URL in the config right, and the node running?)"))
}
