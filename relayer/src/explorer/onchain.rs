//! What a source chain says about an EVM transaction the relayer has not recorded.

use super::{Explorer, LOOK_TIMEOUT};
use alloy::primitives::B256;
use alloy::providers::Provider;
use serde_json::{json, Value};
use usd1_core::Message;
use usd1_evm::bindings::MessageTransmitter::MessageSent;

/// What a source chain says about an EVM transaction hash.
pub(super) enum OnChain {
    Mined {
        chain: usize,
        block: u64,
        success: bool,
        messages: Vec<Message>,
    },
    Mempool {
        chain: usize,
    },
}

impl Explorer {
    /// Looks for an EVM transaction on every configured EVM chain.
    pub(super) async fn find_evm_tx(&self, h: B256) -> Option<OnChain> {
        let looks = self.evm.iter().enumerate().map(|(i, c)| async move {
            let receipt = c.rpc.call("eth_getTransactionReceipt", |p| async move {
                p.get_transaction_receipt(h).await
            });
            match tokio::time::timeout(LOOK_TIMEOUT, receipt).await {
                Ok(Ok(Some(r))) => {
                    let messages = r
                        .inner
                        .logs()
                        .iter()
                        .filter(|l| l.address() == c.transmitter)
                        .filter_map(|l| l.log_decode::<MessageSent>().ok())
                        .filter_map(|l| Message::decode(&l.inner.data.message).ok())
                        .collect();
                    return Some(OnChain::Mined {
                        chain: i,
                        block: r.block_number.unwrap_or(0),
                        success: r.status(),
                        messages,
                    });
                }
                Ok(Ok(None)) => {}
                _ => return None,
            }
            let tx = c.rpc.call("eth_getTransactionByHash", |p| async move {
                p.get_transaction_by_hash(h).await
            });
            match tokio::time::timeout(LOOK_TIMEOUT, tx).await {
                Ok(Ok(Some(_))) => Some(OnChain::Mempool { chain: i }),
                _ => None,
            }
        });
        futures_util::future::join_all(looks)
            .await
            .into_iter()
            .flatten()
            .next()
    }

    pub(super) async fn evm_tx_answer(&self, h: B256, found: OnChain) -> Value {
        let tx = format!("{h:#x}");
        match found {
            OnChain::Mempool { chain } => {
                let c = &self.evm[chain];
                json!({
                    "status": "pending",
                    "kind": "transaction",
                    "sourceDomain": c.domain,
                    "sourceTx": self.tx(c.domain, &tx),
                    "messages": [],
                    "note": format!("Sent on {}, not in a block yet.", c.name),
                })
            }
            OnChain::Mined {
                chain,
                block,
                success,
                messages,
            } => {
                let c = &self.evm[chain];
                if !success {
                    return json!({
                        "status": "not_bridge",
                        "sourceTx": self.tx(c.domain, &tx),
                        "note": format!("This transaction on {} (block {block}) reverted: nothing was burned.", c.name),
                    });
                }
                if messages.is_empty() {
                    return json!({
                        "status": "not_bridge",
                        "sourceTx": self.tx(c.domain, &tx),
                        "note": format!("This transaction on {} (block {block}) emitted no bridge message: it is not a bridge burn.", c.name),
                    });
                }
                let finality = self.evm_finality(chain, block).await;
                let note = match &finality {
                    Some(f) if f.is_final => format!(
                        "Burned on {} in block {block} and final; the relayer lists it on its next poll.",
                        c.name
                    ),
                    Some(f) => format!(
                        "Burned on {} in block {block}, not final yet: {}. The relayer lists a burn once it is final.",
                        c.name, f.text
                    ),
                    None => format!("Burned on {} in block {block}.", c.name),
                };
                json!({
                    "status": "pending",
                    "kind": "transaction",
                    "sourceDomain": c.domain,
                    "sourceTx": self.tx(c.domain, &tx),
                    "messages": messages.iter().map(|m| json!({
                        "messageHash": format!("{:#x}", m.hash()),
                        "sourceDomain": m.source_domain,
                        "destinationDomain": m.destination_domain,
                        "destinationChain": self.chain_name(m.destination_domain),
                    })).collect::<Vec<_>>(),
                    "note": note,
                })
            }
        }
    }
}
