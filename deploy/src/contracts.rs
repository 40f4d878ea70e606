//! Deploys and links the bridge contracts on an EVM chain from the committed artifacts.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use usd1_core::message::address_to_bytes32;
use usd1_core::Domain;
use usd1_evm::bindings::{MessageTransmitter, TokenMessenger, Usd1Token};

/// Largest body a transmitter accepts (a burn body is 132 bytes).
pub const MAX_MESSAGE_BODY: u64 = 8192;
/// Per-message burn limit on the devnet: 1,000,000 USD1.
pub const BURN_LIMIT: u64 = 1_000_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("deploy: {0}")]
    Chain(String),
}

fn err(e: impl std::fmt::Display) -> DeployError {
    DeployError::Chain(e.to_string())
}

#[derive(Clone, Copy, Debug)]
pub struct Deployment {
    pub domain: Domain,
    pub token: Address,
    pub transmitter: Address,
    pub messenger: Address,
}

/// Waits for a sent transaction's receipt (the devnet's deployment steps are sequential).
async fn mined(
    sent: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> Result<alloy::rpc::types::TransactionReceipt, DeployError> {
    sent.map_err(err)?.get_receipt().await.map_err(err)
}

/// A provider that signs with `key` and fills nonce, gas and chain id.
pub fn wallet_provider(url: &str, key: &PrivateKeySigner) -> Result<DynProvider, DeployError> {
    usd1_evm::tls::install();
    let url = url.parse().map_err(err)?;
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_http(url)
        .erased())
}

/// Deploys token, transmitter (with the attesters and threshold) and messenger; makes the
/// messenger the token's minter and sets the burn limit. The deployer stays admin.
pub async fn deploy(
    provider: &DynProvider,
    admin: Address,
    domain: Domain,
    attesters: &[Address],
    threshold: u64,
) -> Result<Deployment, DeployError> {
    deploy_with(provider, admin, domain, attesters, threshold, false).await
}

/// [`deploy`], or with `string_errors` the test fixture `StringErrorTransmitter` (refuses with
/// Circle's `Error(string)` revert strings, defined below; a test fixture, see `usd1_e2e::fixtures`) as the transmitter.
pub async fn deploy_with(
    provider: &DynProvider,
    admin: Address,
    domain: Domain,
    attesters: &[Address],
    threshold: u64,
    string_errors: bool,
) -> Result<Deployment, DeployError> {
    let token = Usd1Token::deploy(provider.clone(), "USD1".into(), "USD1".into(), admin)
        .await
        .map_err(err)?;
    let transmitter = if string_errors {
        deploy_string_error_transmitter(provider, domain, attesters, threshold).await?
    } else {
        *MessageTransmitter::deploy(
            provider.clone(),
            domain.0,
            attesters.to_vec(),
            U256::from(threshold),
            U256::from(MAX_MESSAGE_BODY),
        )
        .await
        .map_err(err)?
        .address()
    };
    let messenger = TokenMessenger::deploy(provider.clone(), transmitter)
        .await
        .map_err(err)?;
    mined(
        token
            .configureMinter(*messenger.address(), U256::MAX)
            .send()
            .await,
    )
    .await?;
    mined(
        messenger
            .setMaxBurnAmountPerMessage(*token.address(), U256::from(BURN_LIMIT))
            .send()
            .await,
    )
    .await?;
    Ok(Deployment {
        domain,
        token: *token.address(),
        transmitter,
        messenger: *messenger.address(),
    })
}

/// Registers `remote`'s messenger and token on `local`'s messenger.
pub async fn link(
    provider: &DynProvider,
    local: &Deployment,
    remote: &Deployment,
) -> Result<(), DeployError> {
    link_words(
        provider,
        local,
        remote.domain,
        address_to_bytes32(remote.messenger),
        address_to_bytes32(remote.token),
    )
    .await
}

/// Registers a remote domain's messenger and token, given as 32-byte words (a Solana mint is
/// both, DESIGN §4).
pub async fn link_words(
    provider: &DynProvider,
    local: &Deployment,
    domain: Domain,
    messenger: alloy::primitives::B256,
    token: alloy::primitives::B256,
) -> Result<(), DeployError> {
    let m = TokenMessenger::new(local.messenger, provider.clone());
    mined(m.addRemoteTokenMessenger(domain.0, messenger).send().await).await?;
    mined(m.linkTokenPair(local.token, domain.0, token).send().await).await?;
    Ok(())
}

/// Mints `amount` (base units) to `to` with the admin key, as the issuer would.
pub async fn issue(
    provider: &DynProvider,
    admin: Address,
    d: &Deployment,
    to: Address,
    amount: U256,
) -> Result<(), DeployError> {
    let token = Usd1Token::new(d.token, provider.clone());
    let me = admin;
    if !token.isMinter(me).call().await.map_err(err)? {
        mined(token.configureMinter(me, U256::MAX).send().await).await?;
    }
    mined(token.mint(to, amount).send().await).await?;
    Ok(())
}

// A test fixture (chain-adapters/evm/contracts/test/): a transmitter that refuses with
// Circle's `Error(string)` revert strings. It lives here, not in the e2e tests' `usd1_e2e::fixtures`, because
// `deploy_with` can deploy it in place of the production transmitter.
alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    StringErrorTransmitter,
    "../chain-adapters/evm/artifacts/StringErrorTransmitter.json"
);

/// Deploys a [`StringErrorTransmitter`] with the same constructor as the production
/// MessageTransmitter (the deployer becomes owner, attester manager and pauser).
pub async fn deploy_string_error_transmitter(
    provider: &DynProvider,
    domain: Domain,
    attesters: &[Address],
    threshold: u64,
) -> Result<Address, DeployError> {
    let t = StringErrorTransmitter::deploy(
        provider.clone(),
        domain.0,
        attesters.to_vec(),
        U256::from(threshold),
        U256::from(MAX_MESSAGE_BODY),
    )
    .await
    .map_err(|e| DeployError::Chain(e.to_string()))?;
    Ok(*t.address())
}
