//! An EVM chain of the config as the services use it.

use crate::conf::EvmChainConfig;
use crate::{EvmBlockSource, EvmRpc, Watcher};
use std::sync::Arc;

/// The chain's `MessageSent` watcher, its cursor in `tree`. `track_unconfirmed`: also read
/// burns above the final height (the attester answers "pending confirmations" with them).
pub fn source(
    name: &str,
    chain: &EvmChainConfig,
    rpc: Arc<EvmRpc>,
    tree: sled::Tree,
    track_unconfirmed: bool,
) -> Watcher<EvmBlockSource> {
    let blocks = EvmBlockSource {
        rpc,
        transmitter: chain.message_transmitter,
    };
    Watcher::new(
        blocks,
        tree,
        name,
        chain.domain,
        chain.finality,
        chain.max_block_range,
        chain.start_block,
        track_unconfirmed,
    )
    .with_heads_url(chain.ws_url.clone())
}
