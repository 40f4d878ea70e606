//! What a user does: burn on one chain toward another, read balances and supply, and follow
//! a transfer through the relayer's status API.

use crate::contracts::{wallet_provider, Deployment};
use crate::error::{setup, DevnetError};
use crate::process::wait_until;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use std::time::Duration;
use usd1_core::message::address_to_bytes32;
use usd1_core::{Domain, Message};
use usd1_evm::bindings::{TokenMessenger, Usd1Token};

/// A burn as the source chain recorded it.
#[derive(Clone, Debug)]
pub struct Burn {
    pub tx_hash: B256,
    pub message: Message,
    pub raw: Vec<u8>,
    pub message_hash: B256,
}

pub struct User {
    pub key: PrivateKeySigner,
}

impl User {
    pub fn address(&self) -> Address {
        self.key.address()
    }

    pub fn provider(&self, rpc_url: &str) -> Result<DynProvider, DevnetError> {
        Ok(wallet_provider(rpc_url, &self.key)?)
    }

    /// Approves the messenger (once) and sends `depositForBurn`; waits for the receipt.
    pub async fn burn(
        &self,
        rpc_url: &str,
        source: &Deployment,
        destination: Domain,
        recipient: Address,
        amount: U256,
    ) -> Result<Burn, DevnetError> {
        self.burn_to(
            rpc_url,
            source,
            destination,
            address_to_bytes32(recipient),
            amount,
        )
        .await
    }

    /// The same, to a 32-byte recipient (a Solana wallet).
    pub async fn burn_to(
        &self,
        rpc_url: &str,
        source: &Deployment,
        destination: Domain,
        recipient: B256,
        amount: U256,
    ) -> Result<Burn, DevnetError> {
        let p = self.provider(rpc_url)?;
        self.approve(&p, source).await?;
        let messenger = TokenMessenger::new(source.messenger, p.clone());
        let receipt = messenger
            .depositForBurn(amount, destination.0, recipient, source.token)
            .send()
            .await
            .map_err(setup)?
            .get_receipt()
            .await
            .map_err(setup)?;
        burn_from_receipt(&receipt)
    }

    /// `replaceDepositForBurn`: the same burn (source domain and nonce) under a new message
    /// with another mint recipient; `attestation` is the original's full attestation.
    pub async fn replace_burn(
        &self,
        rpc_url: &str,
        source: &Deployment,
        original: &Burn,
        attestation: &[u8],
        new_recipient: B256,
    ) -> Result<Burn, DevnetError> {
        let p = self.provider(rpc_url)?;
        let receipt = TokenMessenger::new(source.messenger, p)
            .replaceDepositForBurn(
                original.raw.clone().into(),
                attestation.to_vec().into(),
                B256::ZERO,
                new_recipient,
            )
            .send()
            .await
            .map_err(setup)?
            .get_receipt()
            .await
            .map_err(setup)?;
        burn_from_receipt(&receipt)
    }

    /// Sends `n` burns back to back without waiting between them; returns their tx hashes.
    pub async fn burn_many(
        &self,
        rpc_url: &str,
        source: &Deployment,
        destination: Domain,
        recipient: Address,
        amount: U256,
        n: usize,
    ) -> Result<Vec<B256>, DevnetError> {
        let p = self.provider(rpc_url)?;
        self.approve(&p, source).await?;
        let messenger = TokenMessenger::new(source.messenger, p.clone());
        let mut hashes = Vec::with_capacity(n);
        for _ in 0..n {
            let pending = messenger
                .depositForBurn(
                    amount,
                    destination.0,
                    address_to_bytes32(recipient),
                    source.token,
                )
                .gas(200_000)
                .send()
                .await
                .map_err(setup)?;
            hashes.push(*pending.tx_hash());
        }
        Ok(hashes)
    }

    /// Lets the messenger pull this user's tokens (once per chain).
    pub async fn approve(&self, p: &DynProvider, source: &Deployment) -> Result<(), DevnetError> {
        let token = Usd1Token::new(source.token, p.clone());
        let allowance = token
            .allowance(self.address(), source.messenger)
            .call()
            .await
            .map_err(setup)?;
        if allowance < U256::from(u128::MAX) {
            token
                .approve(source.messenger, U256::MAX)
                .send()
                .await
                .map_err(setup)?
                .get_receipt()
                .await
                .map_err(setup)?;
        }
        Ok(())
    }
}

pub fn burn_from_receipt(
    receipt: &alloy::rpc::types::TransactionReceipt,
) -> Result<Burn, DevnetError> {
    if !receipt.status() {
        return Err(DevnetError::Setup(format!(
            "burn transaction {} reverted",
            receipt.transaction_hash
        )));
    }
    let raw = usd1_evm::receipts::sent_messages(receipt)
        .into_iter()
        .next()
        .ok_or_else(|| DevnetError::Setup("no MessageSent in the burn receipt".into()))?;
    let message = Message::decode(&raw).map_err(setup)?;
    Ok(Burn {
        tx_hash: receipt.transaction_hash,
        message_hash: message.hash(),
        message,
        raw,
    })
}

pub async fn balance(
    provider: &DynProvider,
    token: Address,
    who: Address,
) -> Result<U256, DevnetError> {
    Usd1Token::new(token, provider.clone())
        .balanceOf(who)
        .call()
        .await
        .map_err(setup)
}

pub async fn total_supply(provider: &DynProvider, token: Address) -> Result<U256, DevnetError> {
    Usd1Token::new(token, provider.clone())
        .totalSupply()
        .call()
        .await
        .map_err(setup)
}

/// The relayer's view of a message, or None while it does not know it.
pub async fn relayer_status(relayer_url: &str, hash: &B256) -> Option<serde_json::Value> {
    let resp = reqwest::get(format!("{relayer_url}/v1/messages/{hash:#x}"))
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

/// Waits until the relayer reports the message in `status` (e.g. "confirmed").
pub async fn wait_for_status(
    relayer_url: &str,
    hash: &B256,
    status: &str,
    timeout: Duration,
) -> Result<serde_json::Value, DevnetError> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let last = relayer_status(relayer_url, hash).await;
        if let Some(v) = last.as_ref().filter(|v| v["status"] == status) {
            return Ok(v.clone());
        }
        if std::time::Instant::now() >= deadline {
            let seen = last
                .map(|v| v["status"].to_string())
                .unwrap_or_else(|| "unknown to the relayer".into());
            return Err(DevnetError::Setup(format!(
                "timed out after {timeout:?} waiting for {hash:#x} to be {status} (it is {seen})"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Formats base units with 6 decimals: 12500000 → "12.5".
pub fn format_usd1(amount: U256) -> String {
    let units = U256::from(1_000_000u64);
    let whole = amount / units;
    let frac = (amount % units).to::<u64>();
    if frac == 0 {
        format!("{whole}")
    } else {
        format!("{whole}.{}", format!("{frac:06}").trim_end_matches('0'))
    }
}

/// An RPC poll until `check` holds on the chain at `rpc_url` (used for balances).
pub async fn wait_for_balance(
    provider: &DynProvider,
    token: Address,
    who: Address,
    at_least: U256,
    timeout: Duration,
) -> Result<(), DevnetError> {
    wait_until(
        timeout,
        &format!("{who} to hold {}", format_usd1(at_least)),
        || {
            let p = provider.clone();
            async move {
                balance(&p, token, who)
                    .await
                    .map(|b| b >= at_least)
                    .unwrap_or(false)
            }
        },
    )
    .await
}
