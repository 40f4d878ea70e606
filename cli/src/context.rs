//! What every command needs: the config, the chains by name, the user's key, HTTP.

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use usd1_config::{CliConfig, EvmChainConfig};
use usd1_evm::EvmRpc;
use usd1_solana::solana_sdk::pubkey::Pubkey;

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
    pub config: &'a EvmChainConfig,
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
        usd1_config::load_evm_signer(signer, "user.key_file")
            .map_err(|e| CliError::usage(e.to_string()))
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

/// An EVM address typed by a person (`--recipient`, `--address`), checked strictly before
/// anything touches a chain: `0x` and 40 hex digits; all lower case or all upper case, or
/// else the EIP-55 checksum must match (a mixed-case address with a wrong checksum is a
/// typo); never the zero address, which belongs to nobody.
pub fn evm_address(flag: &str, text: &str) -> Result<Address, CliError> {
    const HOW: &str =
        "write 0x followed by 40 hex digits, e.g. 0x90F79bf6EB2c4f870365E785982E1f101E93b906";
    let bad = |why: String| {
        CliError::usage(format!(
            "{flag} {text:?} is not an EVM address: {why}; {HOW}"
        ))
    };
    let Some(digits) = text.strip_prefix("0x") else {
        return Err(bad("it does not start with 0x".into()));
    };
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(
            "it has characters other than hex digits (0-9, a-f) after 0x".into(),
        ));
    }
    if digits.len() != 40 {
        return Err(bad(format!(
            "it has {} hex digits after 0x, not 40",
            digits.len()
        )));
    }
    let lower = digits.bytes().any(|b| b.is_ascii_lowercase());
    let upper = digits.bytes().any(|b| b.is_ascii_uppercase());
    let address = if lower && upper {
        Address::parse_checksummed(text, None).map_err(|_| {
            CliError::usage(format!(
                "{flag} {text:?} fails its EIP-55 checksum: its mix of upper- and lower-case \
                 letters does not match the address, so it is probably mistyped; copy the \
                 address again from where it came from"
            ))
        })?
    } else {
        text.parse::<Address>().map_err(|e| bad(e.to_string()))?
    };
    if address.is_zero() {
        return Err(CliError::usage(format!(
            "{flag} is the zero address, which belongs to nobody (tokens sent there are lost, \
             and the bridge refuses to mint to it); give the address of the wallet that \
             should receive the USD1"
        )));
    }
    Ok(address)
}

/// A Solana wallet typed by a person (`--recipient` with `--to solana`): a base58 32-byte
/// public key, not the all-zero key (`11111111111111111111111111111111`, the System
/// Program), which is no wallet.
pub fn solana_wallet(flag: &str, text: &str) -> Result<Pubkey, CliError> {
    let key = Pubkey::from_str(text).map_err(|_| {
        CliError::usage(format!(
            "{flag} {text:?} is not a Solana address: write the wallet's public key in \
             base58 (32 to 44 characters, no spaces), as `solana address` prints it"
        ))
    })?;
    if key == Pubkey::default() {
        return Err(CliError::usage(format!(
            "{flag} is the all-zero Solana key {key} (the System Program), which is no wallet; \
             give the address of the wallet that should receive the USD1"
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

    fn refused(text: &str) -> String {
        let e = evm_address("--recipient", text).unwrap_err();
        assert_eq!(e.code, 2, "{text:?}: bad input exits 2");
        e.message
    }

    #[test]
    fn evm_addresses_in_every_accepted_spelling() {
        let a: Address = GOOD.parse().unwrap();
        assert_eq!(evm_address("--recipient", GOOD).unwrap(), a);
        assert_eq!(evm_address("--recipient", &GOOD.to_lowercase()).unwrap(), a);
        let upper = format!("0x{}", GOOD[2..].to_uppercase());
        assert_eq!(evm_address("--recipient", &upper).unwrap(), a);
    }

    #[test]
    fn a_mixed_case_address_must_pass_eip55() {
        // One letter's case flipped: a typo the checksum catches.
        let typo = GOOD.replacen("F79", "f79", 1);
        assert!(typo != GOOD && typo != GOOD.to_lowercase());
        let e = refused(&typo);
        assert!(e.contains("EIP-55 checksum"), "{e}");
        assert!(e.contains("mistyped"), "{e}");
    }

    #[test]
    fn the_zero_address_is_refused_in_every_spelling() {
        for zero in [
            "0x0000000000000000000000000000000000000000".to_string(),
            format!("0x{}", "0".repeat(40)),
        ] {
            let e = refused(&zero);
            assert!(e.contains("zero address"), "{e}");
        }
    }

    #[test]
    fn malformed_evm_addresses_say_what_is_wrong() {
        for (text, says) in [
            ("0x1234", "4 hex digits after 0x, not 40"),
            (&GOOD[2..], "does not start with 0x"),
            (&format!("0X{}", &GOOD[2..]), "does not start with 0x"),
            (&format!(" {GOOD}"), "does not start with 0x"),
            (&format!("{GOOD} "), "other than hex digits"),
            (&format!("{GOOD}00"), "42 hex digits"),
            (&GOOD.replace('b', "g"), "other than hex digits"),
            ("", "does not start with 0x"),
            ("0x", "0 hex digits"),
        ] {
            let e = refused(text);
            assert!(e.contains("is not an EVM address"), "{text:?}: {e}");
            assert!(e.contains(says), "{text:?}: {e}");
            assert!(e.contains("0x followed by 40 hex digits"), "{text:?}: {e}");
        }
    }

    #[test]
    fn solana_wallets_are_base58_32_bytes_and_not_zero() {
        let wallet = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
        assert_eq!(
            solana_wallet("--recipient", wallet).unwrap().to_string(),
            wallet
        );
        let e = solana_wallet("--recipient", "11111111111111111111111111111111").unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.message.contains("all-zero Solana key"), "{}", e.message);
        for bad in [
            "",
            "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
            &format!(" {wallet}"),
            &wallet[..20],
            "0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl",
        ] {
            let e = solana_wallet("--recipient", bad).unwrap_err();
            assert_eq!(e.code, 2);
            assert!(
                e.message.contains("is not a Solana address"),
                "{bad:?}: {}",
                e.message
            );
        }
    }
}
