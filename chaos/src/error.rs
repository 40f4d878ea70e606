//! The one error of the chaos tool: what stops a run (exit 2), or one burn a user could not
//! send (counted in the report, not fatal).

use alloy::primitives::B256;
use std::time::Duration;
use usd1_deploy::contracts::DeployError;
use usd1_deploy::DevnetError;

/// What parsing a URL fails with (`url::ParseError`, named through reqwest's `Url`).
type UrlError = <reqwest::Url as std::str::FromStr>::Err;

#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    /// The devnet, or one of its user-side helpers (a burn, a replacement's provider).
    #[error(transparent)]
    Devnet(#[from] DevnetError),
    /// A provider for a chain could not be made.
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// A contract call could not be sent.
    #[error(transparent)]
    Contract(#[from] alloy::contract::Error),
    /// A sent transaction's receipt could not be had.
    #[error(transparent)]
    Pending(#[from] alloy::providers::PendingTransactionError),
    /// A chain's JSON-RPC answered with an error, or not at all.
    #[error(transparent)]
    Rpc(#[from] alloy::transports::TransportError),
    /// `anvil_reorg` failed on `chain`.
    #[error("anvil_reorg on {chain}: {source}")]
    Reorg {
        chain: String,
        #[source]
        source: alloy::transports::TransportError,
    },
    /// A log did not decode as the event asked for.
    #[error(transparent)]
    Decode(#[from] alloy::sol_types::Error),
    #[error("{url}: {source}")]
    Url {
        url: String,
        #[source]
        source: UrlError,
    },
    #[error("anvil key: {0}")]
    Key(#[source] alloy::signers::local::LocalSignerError),
    /// The devnet has no chain of this name.
    #[error("no chain {0}")]
    NoChain(String),
    /// Something the run needs is not there (a Solana side, a second EVM chain, a block).
    #[error("{0}")]
    Missing(&'static str),
    /// A user gave up waiting for `what` to be `until` (a receipt, a confirmation).
    #[error("{what} was not {until} in time")]
    Timeout { what: String, until: &'static str },
    #[error("replacing a burn: {0}")]
    Replace(#[source] DevnetError),
    #[error("no attestation for {hash:#x} within {within:?}")]
    NoAttestation { hash: B256, within: Duration },
    /// The relayer's list of messages could not be read.
    #[error("relayer list: {0}")]
    RelayerList(#[source] reqwest::Error),
    /// `what` (e.g. `usd1 audit`) could not be started.
    #[error("running {what}: {source}")]
    Spawn {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A task of the run (the users, the kills, the reorgs) panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts are those the `String` errors had (the report counts and prints them).
    #[test]
    fn messages_keep_their_wording() {
        let timeout = ChaosError::Timeout {
            what: "a burn on ethereum".into(),
            until: "mined",
        };
        assert_eq!(
            timeout.to_string(),
            "a burn on ethereum was not mined in time"
        );
        let hash = B256::repeat_byte(0xab);
        let none = ChaosError::NoAttestation {
            hash,
            within: Duration::from_secs(60),
        };
        assert_eq!(
            none.to_string(),
            format!("no attestation for {hash:#x} within 60s")
        );
        assert_eq!(
            ChaosError::NoChain("base".into()).to_string(),
            "no chain base"
        );
        assert_eq!(
            ChaosError::Missing("no Solana side").to_string(),
            "no Solana side"
        );
        let spawn = ChaosError::Spawn {
            what: "usd1 audit",
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        };
        assert_eq!(spawn.to_string(), "running usd1 audit: gone");
    }
}
