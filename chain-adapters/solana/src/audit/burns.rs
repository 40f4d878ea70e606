//! The burns: the mint's finalized transactions up to the pin, judged one by one.

use super::{judge, rpc, Burned, Changes, SolanaAudit};
use crate::nonce::solana_nonce;
use crate::rpc::SolanaError;
use crate::transaction::read_transaction;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_rpc_client_types::config::RpcBlockConfig;
use solana_sdk::signature::Signature;
use solana_transaction_status_client_types::TransactionDetails;
use std::collections::HashMap;
use std::str::FromStr;
use usd1_core::audit::OutboundBurn;
use usd1_core::U256;

/// Signatures per `getSignaturesForAddress` page (the RPC's limit).
const PAGE: usize = 1000;

impl SolanaAudit {
    /// The burns of finalized transactions at slots ≤ `slot`: bridge burns, and (count,
    /// amount) burned outside the bridge.
    pub async fn read_burns(
        &self,
        slot: u64,
    ) -> Result<(Vec<OutboundBurn>, (usize, U256)), SolanaError> {
        let after = {
            let known = self.known();
            match known.scanned_through {
                Some(through) if through >= slot => {
                    if through > slot {
                        return Err(SolanaError::Invalid(format!(
                            "the pin (slot {slot}) is older than burns already read (to slot {through})"
                        )));
                    }
                    let through = known.scanned_through;
                    drop(known);
                    self.note(|r| r.through = through);
                    let known = self.known();
                    return Ok((known.bridge.clone(), known.outside));
                }
                through => through,
            }
        };
        let mut newest_first = Vec::new();
        let mut before = None;
        'pages: loop {
            let config = GetConfirmedSignaturesForAddress2Config {
                before,
                until: None,
                limit: Some(PAGE),
                commitment: Some(CommitmentConfig::finalized()),
            };
            let page = self
                .rpc
                .client()
                .get_signatures_for_address_with_config(&self.mint, config)
                .await
                .map_err(rpc("getSignaturesForAddress"))?;
            self.note(|r| r.log_queries += 1);
            let full = page.len() == PAGE;
            before = page
                .last()
                .and_then(|s| Signature::from_str(&s.signature).ok());
            for info in page {
                if after.is_some_and(|a| info.slot <= a) {
                    break 'pages;
                }
                if info.slot <= slot && info.err.is_none() {
                    newest_first.push(info);
                }
            }
            if !full || before.is_none() {
                break;
            }
        }
        let mut bridge = Vec::new();
        let mut outside = (0usize, U256::ZERO);
        let mut blocks: HashMap<u64, Vec<String>> = HashMap::new();
        for info in newest_first.iter().rev() {
            let signature = Signature::from_str(&info.signature)
                .map_err(|e| SolanaError::Invalid(e.to_string()))?;
            let tx = read_transaction(self.rpc.client(), &signature, CommitmentConfig::finalized())
                .await?;
            match judge(&tx, &self.mint, &self.evm_domains) {
                Burned::Nothing => {}
                Burned::Outside { amount, reason } => {
                    tracing::info!(signature = %info.signature, reason, %amount,
                        "solana audit: burned outside the bridge");
                    outside.0 += 1;
                    outside.1 += amount;
                }
                Burned::Bridge {
                    destination,
                    amount,
                } => {
                    if let std::collections::hash_map::Entry::Vacant(e) = blocks.entry(info.slot) {
                        e.insert(self.block_signatures(info.slot).await?);
                    }
                    let index = blocks[&info.slot]
                        .iter()
                        .position(|s| *s == info.signature)
                        .ok_or_else(|| {
                            SolanaError::Invalid(format!(
                                "{} is not in block {}",
                                info.signature, info.slot
                            ))
                        })?;
                    let nonce = solana_nonce(info.slot, index as u64)
                        .map_err(|e| SolanaError::Invalid(e.to_string()))?;
                    bridge.push(OutboundBurn {
                        destination,
                        nonce,
                        amount: U256::from(amount),
                    });
                }
            }
        }
        {
            let mut known = self.known();
            known.bridge.extend(bridge.iter().copied());
            known.outside.0 += outside.0;
            known.outside.1 += outside.1;
            known.scanned_through = Some(slot);
            known.floor = known.floor.max(slot);
        }
        self.save(Changes {
            received: vec![],
            bridge,
        })?;
        let first = after.map_or(0, |a| a + 1);
        self.note(|r| {
            r.through = Some(slot);
            if r.indexed {
                r.added = Some((first, slot));
            } else {
                r.unindexed = Some((first, slot));
            }
        });
        let known = self.known();
        Ok((known.bridge.clone(), known.outside))
    }

    /// The block's transaction signatures, in block order.
    async fn block_signatures(&self, slot: u64) -> Result<Vec<String>, SolanaError> {
        let config = RpcBlockConfig {
            encoding: None,
            transaction_details: Some(TransactionDetails::Signatures),
            rewards: Some(false),
            commitment: Some(CommitmentConfig::finalized()),
            max_supported_transaction_version: Some(0),
        };
        let block = self
            .rpc
            .client()
            .get_block_with_config(slot, config)
            .await
            .map_err(rpc("getBlock"))?;
        Ok(block.signatures.unwrap_or_default())
    }
}
