//! How far a burn is from final on its source chain, and the time left.

use super::{
    Explorer, SolanaSide, CACHE_MS, LOOK_TIMEOUT, SOLANA_FINALITY_SLOTS, SOLANA_SLOT_SECS,
};
use alloy::providers::Provider;
use serde_json::{json, Value};
use usd1_config::Finality;
use usd1_evm::{BlockSource, EvmBlockSource};
use usd1_runtime::now_ms;

pub(super) struct SourceFinality {
    pub(super) is_final: bool,
    pub(super) text: String,
    pub(super) eta_s: Option<f64>,
}

impl Explorer {
    /// Seconds per block on an EVM chain, from the last 20 blocks' timestamps (cached).
    async fn block_time(&self, chain: usize) -> f64 {
        let c = &self.evm[chain];
        if let Some((at, bt)) = self
            .block_times
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&c.domain)
        {
            if now_ms().saturating_sub(*at) < CACHE_MS {
                return *bt;
            }
        }
        let read = async {
            let head = c.rpc.head().await.ok()?;
            let time = |n: u64| async move {
                c.rpc
                    .call("eth_getBlockByNumber", |p| async move {
                        p.get_block_by_number(n.into()).await
                    })
                    .await
                    .ok()
                    .flatten()
                    .map(|b| b.header.timestamp)
            };
            let span = head.min(20);
            if span == 0 {
                return None;
            }
            let (t1, t0) = tokio::join!(time(head), time(head - span));
            Some(((t1? as f64 - t0? as f64) / span as f64).max(0.1))
        };
        let bt = tokio::time::timeout(LOOK_TIMEOUT, read)
            .await
            .ok()
            .flatten()
            .unwrap_or(12.0);
        self.block_times
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(c.domain, (now_ms(), bt));
        bt
    }

    /// How far a burn in `block` is from final on EVM chain `chain`, with the time left.
    pub(super) async fn evm_finality(&self, chain: usize, block: u64) -> Option<SourceFinality> {
        let c = &self.evm[chain];
        let source = EvmBlockSource {
            rpc: c.rpc.clone(),
            transmitter: c.transmitter,
        };
        let read = async {
            let head = source.head().await.ok()?;
            let final_height = source.final_height(c.finality, head).await.ok()?;
            Some((head, final_height))
        };
        let (head, final_height) = tokio::time::timeout(LOOK_TIMEOUT, read).await.ok()??;
        let bt = self.block_time(chain).await;
        let poll = c.poll_ms as f64 / 1000.0;
        if block <= final_height {
            return Some(SourceFinality {
                is_final: true,
                text: format!("final under {}", self.finality_text(c.domain)),
                eta_s: Some(0.0),
            });
        }
        let (text, blocks_left) = match c.finality {
            Finality::Confirmations { confirmations } => {
                let k = head.saturating_sub(block).min(confirmations);
                (
                    format!("{k} of {confirmations} confirmations"),
                    (block + confirmations).saturating_sub(head),
                )
            }
            _ => (
                format!(
                    "in block {block}; {} is block {final_height}",
                    self.finality_text(c.domain)
                ),
                block.saturating_sub(final_height),
            ),
        };
        Some(SourceFinality {
            is_final: false,
            text,
            eta_s: Some(blocks_left as f64 * bt + poll),
        })
    }

    /// Seconds until a Solana slot is finalized, estimated from the finalized slot.
    pub(super) async fn solana_eta(&self, slot: u64) -> Option<f64> {
        let s = self.solana.as_ref()?;
        let finalized = tokio::time::timeout(
            LOOK_TIMEOUT,
            self.solana_rpc(s, "getSlot", json!([{ "commitment": "finalized" }])),
        )
        .await
        .ok()
        .flatten()
        .and_then(|v| v.as_u64());
        let poll = s.poll_ms as f64 / 1000.0;
        Some(match finalized {
            Some(f) if f >= slot => poll,
            Some(f) => (slot - f) as f64 * SOLANA_SLOT_SECS + poll,
            None => SOLANA_FINALITY_SLOTS as f64 * SOLANA_SLOT_SECS + poll,
        })
    }

    /// A raw Solana JSON-RPC call's `result`.
    pub(super) async fn solana_rpc(
        &self,
        s: &SolanaSide,
        method: &str,
        params: Value,
    ) -> Option<Value> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let v: Value = self
            .http
            .post(&s.url)
            .json(&body)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v.get("result").cloned()
    }
}
