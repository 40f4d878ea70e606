//! What the watcher reads from a chain, behind a trait so reorg handling is unit-tested
//! against a scripted chain; `EvmBlockSource` is the real one.

use crate::bindings::MessageTransmitter::MessageSent;
use crate::conf::Finality;
use crate::rpc::{EvmRpc, FinalOn};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use async_trait::async_trait;
use std::sync::Arc;
use usd1_core::traits::ChainError;

/// One `MessageSent` log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentLog {
    pub message: Vec<u8>,
    pub block_number: u64,
    pub block_hash: B256,
    pub tx_hash: B256,
    pub log_index: u64,
    /// Unix seconds of the block (the burn's time).
    pub block_timestamp: u64,
}

#[async_trait]
pub trait BlockSource: Send + Sync {
    async fn head(&self) -> Result<u64, ChainError>;
    /// The highest block that counts as final under `finality`.
    async fn final_height(&self, finality: Finality, head: u64) -> Result<u64, ChainError>;
    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError>;
    async fn message_logs(&self, from: u64, to: u64) -> Result<Vec<SentLog>, ChainError>;
    /// The `MessageSent` logs of `from..=to` as one node saw them, with that node's hash of
    /// block `to` before and after the query, from a node on which `to` is final under
    /// `finality` (so they describe one chain, and a node that had not reached `to` cannot
    /// answer with a partial range). None: the source knows `to` is not there (test fakes; the
    /// RPC source fails the read instead, after asking every node).
    async fn final_logs(
        &self,
        from: u64,
        to: u64,
        finality: Finality,
    ) -> Result<Option<(Vec<SentLog>, B256)>, ChainError>;
}

pub struct EvmBlockSource {
    pub rpc: Arc<EvmRpc>,
    pub transmitter: Address,
}

impl EvmBlockSource {
    async fn block_time(&self, number: u64) -> Result<u64, ChainError> {
        let block = self
            .rpc
            .call("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(number.into()).await
            })
            .await?;
        Ok(block.map(|b| b.header.timestamp).unwrap_or(0))
    }
}

#[async_trait]
impl BlockSource for EvmBlockSource {
    async fn head(&self) -> Result<u64, ChainError> {
        self.rpc.head().await
    }

    async fn final_height(&self, finality: Finality, head: u64) -> Result<u64, ChainError> {
        let tag = match finality {
            Finality::Confirmations { confirmations } => {
                return Ok(head.saturating_sub(confirmations))
            }
            Finality::Finalized => BlockNumberOrTag::Finalized,
            Finality::Safe => BlockNumberOrTag::Safe,
        };
        let block = self
            .rpc
            .call("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(tag).await
            })
            .await?;
        // Before the chain has a finalized block, nothing is final.
        Ok(block.map(|b| b.header.number).unwrap_or(0))
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        let block = self
            .rpc
            .call("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(number.into()).await
            })
            .await?;
        Ok(block.map(|b| b.header.hash))
    }

    async fn message_logs(&self, from: u64, to: u64) -> Result<Vec<SentLog>, ChainError> {
        let filter = self.filter(from, to);
        let logs = self.rpc.call("eth_getLogs", |p| {
            let filter = filter.clone();
            async move { p.get_logs(&filter).await }
        });
        self.decode(logs.await?).await
    }

    async fn final_logs(
        &self,
        from: u64,
        to: u64,
        finality: Finality,
    ) -> Result<Option<(Vec<SentLog>, B256)>, ChainError> {
        let final_on = match finality {
            Finality::Confirmations { confirmations } => {
                FinalOn::Head(to.saturating_add(confirmations))
            }
            Finality::Finalized => FinalOn::Tag(BlockNumberOrTag::Finalized),
            Finality::Safe => FinalOn::Tag(BlockNumberOrTag::Safe),
        };
        let filter = self.filter(from, to);
        let (logs, hash) = self.rpc.consistent_logs(&filter, to, final_on).await?;
        Ok(Some((self.decode(logs).await?, hash)))
    }
}

impl EvmBlockSource {
    fn filter(&self, from: u64, to: u64) -> Filter {
        Filter::new()
            .address(self.transmitter)
            .event_signature(MessageSent::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to)
    }

    async fn decode(&self, logs: Vec<Log>) -> Result<Vec<SentLog>, ChainError> {
        let mut out = Vec::new();
        let mut times = std::collections::HashMap::new();
        for log in logs {
            let (Some(block_number), Some(block_hash), Some(tx_hash), Some(log_index)) = (
                log.block_number,
                log.block_hash,
                log.transaction_hash,
                log.log_index,
            ) else {
                // A pending log: not in a block yet.
                continue;
            };
            // Nodes that do not put the block's time in the log are asked for the block.
            let block_timestamp = match log.block_timestamp {
                Some(t) => t,
                None => match times.get(&block_number) {
                    Some(t) => *t,
                    None => {
                        let t = self.block_time(block_number).await?;
                        times.insert(block_number, t);
                        t
                    }
                },
            };
            match log.log_decode::<MessageSent>() {
                Ok(decoded) => out.push(SentLog {
                    message: decoded.inner.data.message.to_vec(),
                    block_number,
                    block_hash,
                    tx_hash,
                    log_index,
                    block_timestamp,
                }),
                Err(e) => {
                    tracing::warn!(chain = self.rpc.chain(), %tx_hash, error = %e, "undecodable MessageSent log")
                }
            }
        }
        Ok(out)
    }
}
