//! Contract bindings generated from the committed artifacts (`artifacts/*.json`, refreshed by
//! `contracts/build.sh`), so building the Rust side needs neither node nor solc.
#![allow(clippy::too_many_arguments)]

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    MessageTransmitter,
    "artifacts/MessageTransmitter.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    TokenMessenger,
    "artifacts/TokenMessenger.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Usd1Token,
    "artifacts/Usd1Token.json"
);
