//! Test fixtures, kept out of the production crates: bindings for the test-only contracts in
//! `chain-adapters/evm/contracts/test/` (a message recipient that burns gas or refuses; the
//! transmitter that refuses with Circle's `Error(string)` revert strings is deployed by the
//! devnet's `string_errors` option, so its binding stays in `usd1_deploy::contracts`) and the
//! helpers that drive them: deploy a recipient, send an arbitrary message, and act as a
//! transmitter's owner (disable an attester, pause).

use alloy::primitives::{Address, B256, U256};
use alloy::providers::DynProvider;
use usd1_core::Domain;
use usd1_deploy::client::{burn_from_receipt, Burn, User};
use usd1_deploy::contracts::Deployment;
use usd1_deploy::devnet::Chain;
use usd1_deploy::error::{setup, DevnetError};
use usd1_evm::bindings::MessageTransmitter;

pub use usd1_deploy::contracts::{deploy_string_error_transmitter, StringErrorTransmitter};

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    TestRecipient,
    "../chain-adapters/evm/artifacts/TestRecipient.json"
);

/// What a [`TestRecipient`] does with a message, chosen by the body's first byte; any other
/// first byte (or an empty body) is accepted and recorded.
pub mod recipient_mode {
    /// Burns [`super::TEST_RECIPIENT_GAS`] gas, then accepts.
    pub const BURN_GAS: u8 = 0x01;
    /// Reverts with `Error(`[`super::TEST_RECIPIENT_REFUSAL`]`)`.
    pub const REVERT: u8 = 0x02;
    /// Returns false: the transmitter refuses (`HandlerRejected()`, or
    /// `Error("handleReceiveMessage() failed")` from a StringErrorTransmitter).
    pub const RETURN_FALSE: u8 = 0x03;
    /// Accepted (any byte other than the three above).
    pub const ACCEPT: u8 = 0x00;
}

/// The revert string of a [`TestRecipient`] in [`recipient_mode::REVERT`].
pub const TEST_RECIPIENT_REFUSAL: &str = "TestRecipient: refused for good";
/// Gas a [`TestRecipient`] burns in [`recipient_mode::BURN_GAS`] (its handler alone).
pub const TEST_RECIPIENT_GAS: u64 = 4_500_000;

/// Any message the source chain's transmitter emitted (the same fields as a burn's).
pub type SentMessage = Burn;

/// Deploys a [`TestRecipient`] with `provider`'s signer; returns its address (use
/// `usd1_core::message::address_to_bytes32` for a message's recipient).
pub async fn deploy_test_recipient(provider: &DynProvider) -> Result<Address, DevnetError> {
    let r = TestRecipient::deploy(provider.clone())
        .await
        .map_err(setup)?;
    Ok(*r.address())
}

/// How many messages the [`TestRecipient`] at `recipient` has accepted.
pub async fn test_recipient_received(
    provider: &DynProvider,
    recipient: Address,
) -> Result<U256, DevnetError> {
    TestRecipient::new(recipient, provider.clone())
        .received()
        .call()
        .await
        .map_err(setup)
}

/// A user sending any message, not only burns.
#[allow(async_fn_in_trait)] // used by tests only, never as `dyn`
pub trait SendMessage {
    /// Sends `MessageTransmitter.sendMessage(destination, recipient, body)` on the source
    /// chain; waits for the receipt and returns the emitted message.
    async fn send_message(
        &self,
        rpc_url: &str,
        source: &Deployment,
        destination: Domain,
        recipient: B256,
        body: Vec<u8>,
    ) -> Result<SentMessage, DevnetError>;
}

impl SendMessage for User {
    async fn send_message(
        &self,
        rpc_url: &str,
        source: &Deployment,
        destination: Domain,
        recipient: B256,
        body: Vec<u8>,
    ) -> Result<SentMessage, DevnetError> {
        let p = self.provider(rpc_url)?;
        let receipt = MessageTransmitter::new(source.transmitter, p)
            .sendMessage(destination.0, recipient, body.into())
            .send()
            .await
            .map_err(setup)?
            .get_receipt()
            .await
            .map_err(setup)?;
        // A message's receipt reads as a burn's: the first `MessageSent`.
        burn_from_receipt(&receipt)
    }
}

/// The owner's (= attester manager's and pauser's: the devnet deployer, anvil key 0) actions
/// on a chain's transmitter, either kind. Each waits for its receipt.
#[allow(async_fn_in_trait)] // used by tests only, never as `dyn`
pub trait TransmitterOwner {
    /// `disableAttester(attester)`: refused on chain (`TooFewAttesters`) unless more than
    /// `signatureThreshold` attesters stay enabled (the default devnet has 3 for 2).
    async fn disable_attester(&self, attester: Address) -> Result<(), DevnetError>;
    /// `enableAttester(attester)`, e.g. to undo [`TransmitterOwner::disable_attester`].
    async fn enable_attester(&self, attester: Address) -> Result<(), DevnetError>;
    /// `pause()`: the transmitter refuses to send and receive.
    async fn pause_transmitter(&self) -> Result<(), DevnetError>;
    /// `unpause()`.
    async fn unpause_transmitter(&self) -> Result<(), DevnetError>;
}

fn transmitter(chain: &Chain) -> MessageTransmitter::MessageTransmitterInstance<DynProvider> {
    MessageTransmitter::new(chain.deployment.transmitter, chain.admin.clone())
}

impl TransmitterOwner for Chain {
    async fn disable_attester(&self, attester: Address) -> Result<(), DevnetError> {
        mined(transmitter(self).disableAttester(attester).send().await).await
    }

    async fn enable_attester(&self, attester: Address) -> Result<(), DevnetError> {
        mined(transmitter(self).enableAttester(attester).send().await).await
    }

    async fn pause_transmitter(&self) -> Result<(), DevnetError> {
        mined(transmitter(self).pause().send().await).await
    }

    async fn unpause_transmitter(&self) -> Result<(), DevnetError> {
        mined(transmitter(self).unpause().send().await).await
    }
}

async fn mined(
    sent: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> Result<(), DevnetError> {
    let receipt = sent.map_err(setup)?.get_receipt().await.map_err(setup)?;
    if !receipt.status() {
        return Err(setup(format!(
            "transaction {} reverted",
            receipt.transaction_hash
        )));
    }
    Ok(())
}
