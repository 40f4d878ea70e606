//! What the scripted benchmarks (`usd1-bench-audit`, `usd1-bench-backlog`) share: burns on
//! the devnet, their messages, attestations signed with the devnet's keys, a bare loop of
//! deliveries, and waiting for blocks.

use crate::contracts::{wallet_provider, DeployError};
use crate::devnet::ANVIL_KEYS;
use crate::{Devnet, DevnetError};
use alloy::primitives::{address, keccak256, Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::SolEvent;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use usd1_core::attestation::{assemble_attestation, AttestationError, Signature65};
use usd1_core::message::address_to_bytes32;
use usd1_core::Domain;
use usd1_evm::bindings::MessageTransmitter::{self, MessageSent};
use usd1_evm::bindings::{TokenMessenger, Usd1Token};

pub mod backfill;
pub mod cpu;
pub mod seals;
pub mod solana;

/// 1 USD1 per burn.
pub const AMOUNT: u64 = 1_000_000;
const GWEI: u128 = 1_000_000_000;

/// What stops the bench (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The devnet, or its user helpers (the messenger's approval).
    #[error(transparent)]
    Devnet(#[from] DevnetError),
    /// A provider for a chain could not be made.
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// A contract call or transaction could not be sent.
    #[error(transparent)]
    Contract(#[from] alloy::contract::Error),
    /// A chain's JSON-RPC answered with an error, or not at all.
    #[error(transparent)]
    Rpc(#[from] alloy::transports::TransportError),
    /// A `MessageSent` log's message is not a CCTP message.
    #[error(transparent)]
    Message(#[from] usd1_core::message::MessageError),
    /// The Solana validator's RPC answered with an error, or not at all.
    #[error(transparent)]
    Solana(#[from] usd1_solana::rpc::SolanaError),
    /// A message's Solana mint transaction could not be built.
    #[error(transparent)]
    MintTx(#[from] usd1_solana::mint_tx::MintTxError),
    /// A Solana transaction could not be signed by its signers.
    #[error("signing a Solana transaction: {0}")]
    SolanaSign(String),
    /// A `MessageSent` log did not decode.
    #[error(transparent)]
    Decode(#[from] alloy::sol_types::Error),
    /// anvil's account key did not parse.
    #[error(transparent)]
    Key(#[from] alloy::signers::local::LocalSignerError),
    /// An attester key could not sign.
    #[error(transparent)]
    Sign(#[from] alloy::signers::Error),
    /// The attestation could not be assembled from the signatures.
    #[error(transparent)]
    Attestation(#[from] AttestationError),
    /// The `usd1` binary could not be started.
    #[error("{}: {source}", .bin.display())]
    Spawn {
        bin: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `usd1 audit` exited non-zero or printed no `OK:`.
    #[error("usd1 audit {extra:?} failed:\n{output}")]
    AuditFailed { extra: Vec<String>, output: String },
    /// The history's `MessageSent` logs do not match the burns sent.
    #[error("{messages} messages for {burns} burns")]
    Messages { messages: usize, burns: usize },
    /// base's supply grew by something other than the history's burns.
    #[error("base minted {minted}, not {burns} burns' worth")]
    Minted { minted: U256, burns: usize },
    #[error("the backlog was not minted within 600 s ({0})")]
    NotMinted(String),
    #[error("no complete attestation of {0} within 300 s")]
    NotSigned(B256),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("transaction {0} reverted")]
    Reverted(B256),
    #[error("no block number")]
    NoBlockNumber(B256),
    #[error("transaction {hash} not mined after {} s", .after.as_secs())]
    NotMined { hash: B256, after: Duration },
}

pub async fn supply(p: &DynProvider, token: Address) -> Result<U256, BenchError> {
    Ok(Usd1Token::new(token, p.clone())
        .totalSupply()
        .call()
        .await?)
}

/// Fees high enough for any base fee the full blocks lead to.
pub fn fees() -> (u128, u128) {
    (200 * GWEI, GWEI)
}

/// Waits for `hash` to be mined; returns its block.
pub async fn mined(p: &DynProvider, hash: B256) -> Result<u64, BenchError> {
    const PATIENCE: Duration = Duration::from_secs(240);
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(r) = p.get_transaction_receipt(hash).await? {
            if !r.status() {
                return Err(BenchError::Reverted(hash));
            }
            return r.block_number.ok_or(BenchError::NoBlockNumber(hash));
        }
        if Instant::now() > deadline {
            return Err(BenchError::NotMined {
                hash,
                after: PATIENCE,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `n` burns of 1 USD1 ethereum → base by the devnet user, sent back to back with explicit
/// nonces; returns the first and last block they are in.
pub async fn burn(d: &Devnet, n: usize) -> Result<(u64, u64), BenchError> {
    burn_spaced(d, n, Duration::ZERO).await
}

/// Who the bench's EVM burns pay: anvil's account 3.
pub fn recipient() -> B256 {
    address_to_bytes32(address!("0x90F79bf6EB2c4f870365E785982E1f101E93b906"))
}

/// `n` burns as [`burn`], one every `spacing` (single transfers spread over blocks).
pub async fn burn_spaced(
    d: &Devnet,
    n: usize,
    spacing: Duration,
) -> Result<(u64, u64), BenchError> {
    burn_toward(d, n, Domain::BASE, recipient(), spacing).await
}

/// `n` burns of 1 USD1 on ethereum toward `recipient` on `destination`, back to back with
/// explicit nonces (one every `spacing`); returns the first and last block they are in.
pub async fn burn_toward(
    d: &Devnet,
    n: usize,
    destination: Domain,
    recipient: B256,
    spacing: Duration,
) -> Result<(u64, u64), BenchError> {
    burn_from(d, "ethereum", n, destination, recipient, spacing).await
}

/// As [`burn_toward`], on the EVM chain named `source`.
pub async fn burn_from(
    d: &Devnet,
    source: &str,
    n: usize,
    destination: Domain,
    recipient: B256,
    spacing: Duration,
) -> Result<(u64, u64), BenchError> {
    let c = d.chain(source);
    let p = wallet_provider(&c.rpc_url, &d.user)?;
    crate::client::User {
        key: d.user.clone(),
    }
    .approve(&p, &c.deployment)
    .await?;
    let mut nonce = p.get_transaction_count(d.user.address()).pending().await?;
    let messenger = TokenMessenger::new(c.deployment.messenger, p.clone());
    let (max_fee, tip) = fees();
    let mut hashes = Vec::with_capacity(n);
    for _ in 0..n {
        let sent = messenger
            .depositForBurn(
                U256::from(AMOUNT),
                destination.0,
                recipient,
                c.deployment.token,
            )
            .nonce(nonce)
            .gas(200_000)
            .max_fee_per_gas(max_fee)
            .max_priority_fee_per_gas(tip)
            .send()
            .await?;
        hashes.push(*sent.tx_hash());
        nonce += 1;
        if !spacing.is_zero() {
            tokio::time::sleep(spacing).await;
        }
    }
    let (Some(first), Some(last)) = (hashes.first(), hashes.last()) else {
        return Err(BenchError::Messages {
            messages: 0,
            burns: n,
        });
    };
    let first = mined(&c.admin, *first).await?;
    let last = mined(&c.admin, *last).await?;
    Ok((first, last))
}

/// The raw `MessageSent` messages of `blocks`, in order.
pub async fn sent_messages(
    p: &DynProvider,
    transmitter: Address,
    (from, to): (u64, u64),
) -> Result<Vec<Vec<u8>>, BenchError> {
    let filter = Filter::new()
        .address(transmitter)
        .event_signature(MessageSent::SIGNATURE_HASH)
        .from_block(from)
        .to_block(to);
    let logs = p.get_logs(&filter).await?;
    Ok(logs
        .iter()
        .map(|l| {
            l.log_decode::<MessageSent>()
                .map(|m| m.inner.data.message.to_vec())
        })
        .collect::<Result<_, _>>()?)
}

/// Each message's attestation, signed with the devnet's attester keys.
pub fn attest(d: &Devnet, messages: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, BenchError> {
    let attesters: Vec<Address> = d.attester_keys.iter().map(|k| k.address()).collect();
    let threshold = d.options.threshold as usize;
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        let hash = keccak256(message);
        let mut signatures = Vec::with_capacity(threshold);
        for k in d.attester_keys.iter().take(threshold) {
            let s = k.sign_hash_sync(&hash)?;
            signatures.push(Signature65::from_signature(&s)?);
        }
        out.push(assemble_attestation(
            &hash,
            &signatures,
            &attesters,
            threshold,
        )?);
    }
    Ok(out)
}

/// `receiveMessage` on base for every message with its attestation, sent back to back by
/// anvil's account 4 (a bare loop: no store, no dry run); returns the last one's block.
pub async fn deliver_singles(
    d: &Devnet,
    messages: &[Vec<u8>],
    attestations: &[Vec<u8>],
) -> Result<u64, BenchError> {
    let c = d.chain("base");
    let sender: PrivateKeySigner = ANVIL_KEYS[4].parse()?;
    let p = wallet_provider(&c.rpc_url, &sender)?;
    let transmitter = MessageTransmitter::new(c.deployment.transmitter, p.clone());
    let mut nonce = p.get_transaction_count(sender.address()).pending().await?;
    let (max_fee, tip) = fees();
    let mut last = B256::ZERO;
    for (message, attestation) in messages.iter().zip(attestations) {
        let sent = transmitter
            .receiveMessage(message.clone().into(), attestation.clone().into())
            .nonce(nonce)
            .gas(400_000)
            .max_fee_per_gas(max_fee)
            .max_priority_fee_per_gas(tip)
            .send()
            .await?;
        last = *sent.tx_hash();
        nonce += 1;
    }
    mined(&c.admin, last).await
}

/// Until every chain's head is 3 blocks past now (2 confirmations: what was mined is final).
pub async fn wait_final(d: &Devnet) -> Result<(), BenchError> {
    for c in &d.chains {
        let target = c.admin.get_block_number().await? + 3;
        while c.admin.get_block_number().await? < target {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// The relayer's record's time from `observed` (the burn seen final) to `submitted` (the
/// delivery broadcast), in ms, from its history as the relayer's API gives it.
pub fn observed_to_submitted_ms(record: &serde_json::Value) -> Option<u64> {
    Some(history_at_ms(record, "submitted")?.saturating_sub(history_at_ms(record, "observed")?))
}

/// When the relayer's record (as its API gives it) first reached `state`, in Unix ms.
pub fn history_at_ms(record: &serde_json::Value, state: &str) -> Option<u64> {
    record["history"]
        .as_array()?
        .iter()
        .find(|h| h["state"] == state)?["at_ms"]
        .as_u64()
}

/// Whether the attester's answer at `url` is a complete attestation.
pub async fn signed(client: &reqwest::Client, url: &str) -> bool {
    let Ok(answer) = client.get(url).send().await else {
        return false;
    };
    answer.status().is_success()
        && answer
            .json::<serde_json::Value>()
            .await
            .is_ok_and(|v| v["status"] == "complete")
}
