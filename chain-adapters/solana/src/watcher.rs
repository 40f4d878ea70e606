//! The Solana source watcher (DESIGN §4): every transaction touching the bridge mint, read at
//! `finalized` commitment through `getSignaturesForAddress` (newest first, paginated, from
//! the persisted cursor), classified by the bridge-burn rule; a bridge burn becomes its CCTP
//! message with nonce `slot << 20 | index in block` (from `getBlock`). The cursor is the
//! newest signature handled; it is stored only after the consumer stored what it read.

use crate::burn::{burn_message, check_evm_shape, classify, BridgeBurn};
use crate::rpc::SolanaError;
use crate::transaction::SeenTransaction;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_rpc_client_types::config::RpcBlockConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signature;
use solana_transaction_status_client_types::TransactionDetails;
use std::collections::HashMap;
use std::str::FromStr;
use usd1_core::{Domain, Message, B256};

const CURSOR_KEY: &[u8] = b"newest";
const PAGE: usize = 1000;

/// A bridge burn read as final.
#[derive(Debug, Clone)]
pub struct SolanaBurn {
    pub message: Message,
    pub hash: B256,
    pub signature: String,
    pub slot: u64,
    /// Unix seconds of the block.
    pub block_time: u64,
}

#[derive(Debug, Default)]
pub struct SolanaBatch {
    pub burns: Vec<SolanaBurn>,
    /// (signature, reason) of transactions that burn the mint but are not bridge burns.
    pub rejected: Vec<(String, &'static str)>,
    newest: Option<String>,
}

pub struct SolanaWatcher {
    rpc: crate::rpc::SolanaRpc,
    mint: Pubkey,
    /// Where the cursor is kept. None: a reader of single burns (`burn_in`, e.g. the CLI
    /// following its own burn), which keeps no cursor and cannot `poll` or `commit`.
    tree: Option<sled::Tree>,
    /// Destination domain → its registered TokenMessenger (the message's recipient).
    messengers: HashMap<Domain, B256>,
    /// The configured chain name and domain (what the services label it with).
    name: String,
    domain: Domain,
}

fn rpc(method: &'static str) -> impl Fn(solana_rpc_client_api::client_error::Error) -> SolanaError {
    move |e| SolanaError::Rpc {
        method,
        detail: e.to_string(),
    }
}

fn finalized() -> Option<CommitmentConfig> {
    Some(CommitmentConfig::finalized())
}

impl SolanaWatcher {
    pub fn new(
        url: &str,
        mint: Pubkey,
        tree: sled::Tree,
        messengers: HashMap<Domain, B256>,
    ) -> Self {
        Self {
            rpc: crate::rpc::SolanaRpc::new(url),
            mint,
            tree: Some(tree),
            messengers,
            name: "solana".into(),
            domain: Domain::SOLANA,
        }
    }

    /// Names the chain as the config does (metric labels, logs).
    pub fn named(mut self, name: &str, domain: Domain) -> Self {
        self.name = name.to_string();
        self.domain = domain;
        self
    }

    /// The highest finalized slot.
    async fn final_slot(&self) -> Result<u64, SolanaError> {
        self.rpc
            .read(|c| c.get_slot_with_commitment(CommitmentConfig::finalized()))
            .await
            .map_err(rpc("getSlot"))
    }

    fn tree(&self) -> Result<&sled::Tree, SolanaError> {
        self.tree.as_ref().ok_or_else(|| {
            SolanaError::Invalid("a burn reader keeps no cursor: it cannot poll".into())
        })
    }

    fn cursor(&self) -> Result<Option<Signature>, SolanaError> {
        let stored = self
            .tree()?
            .get(CURSOR_KEY)
            .map_err(|e| SolanaError::Invalid(format!("store: {e}")))?;
        Ok(stored.and_then(|v| {
            std::str::from_utf8(&v)
                .ok()
                .and_then(|s| Signature::from_str(s).ok())
        }))
    }

    /// Reads through every node of `urls` in turn (the first that answers).
    pub fn with_fallback(mut self, urls: &[String]) -> Result<Self, SolanaError> {
        self.rpc = crate::rpc::SolanaRpc::with_fallback(urls)?;
        Ok(self)
    }

    /// A watcher for the configured cluster: messages are addressed to each remote chain's
    /// messenger (`messengers`: domain → the TokenMessenger registered for it).
    pub fn from_config(
        solana: &crate::conf::SolanaConfig,
        messengers: HashMap<Domain, B256>,
        tree: sled::Tree,
    ) -> Result<Self, SolanaError> {
        Self::configured(solana, messengers, Some(tree))
    }

    /// A reader of single burns (`burn_in`) for the configured cluster: no cursor, no store.
    pub fn reader(
        solana: &crate::conf::SolanaConfig,
        messengers: HashMap<Domain, B256>,
    ) -> Result<Self, SolanaError> {
        Self::configured(solana, messengers, None)
    }

    fn configured(
        solana: &crate::conf::SolanaConfig,
        messengers: HashMap<Domain, B256>,
        tree: Option<sled::Tree>,
    ) -> Result<Self, SolanaError> {
        Ok(Self {
            rpc: crate::rpc::SolanaRpc::with_fallback(&solana.rpc_urls)?,
            mint: solana.mint,
            tree,
            messengers,
            name: solana.name.clone(),
            domain: solana.domain,
        })
    }

    /// Reads what became final since the stored cursor. Nothing is stored until `commit`.
    pub async fn poll(&self) -> Result<SolanaBatch, SolanaError> {
        let until = self.cursor()?;
        let mut newest_first = Vec::new();
        let mut before = None;
        loop {
            let config = || GetConfirmedSignaturesForAddress2Config {
                before,
                until,
                limit: Some(PAGE),
                commitment: finalized(),
            };
            let page = self
                .rpc
                .read(|c| c.get_signatures_for_address_with_config(&self.mint, config()))
                .await
                .map_err(rpc("getSignaturesForAddress"))?;
            let full = page.len() == PAGE;
            before = page
                .last()
                .and_then(|s| Signature::from_str(&s.signature).ok());
            newest_first.extend(page);
            if !full || before.is_none() {
                break;
            }
        }
        let mut batch = SolanaBatch {
            newest: newest_first.first().map(|s| s.signature.clone()),
            ..Default::default()
        };
        let mut block_index: HashMap<u64, Vec<String>> = HashMap::new();
        for info in newest_first.iter().rev() {
            let signature = Signature::from_str(&info.signature)
                .map_err(|e| SolanaError::Invalid(e.to_string()))?;
            let tx = self.transaction(&signature).await?;
            let block_time = tx.block_time;
            let burn = match classify(&tx.instructions, tx.succeeded, &tx.signers, &self.mint) {
                Ok(None) => continue,
                Ok(Some(b)) => b,
                Err(why) => {
                    batch.rejected.push((info.signature.clone(), why.label()));
                    continue;
                }
            };
            let messenger = match self.destination(&burn) {
                Ok(m) => m,
                Err(why) => {
                    batch.rejected.push((info.signature.clone(), why));
                    continue;
                }
            };
            if let std::collections::hash_map::Entry::Vacant(e) = block_index.entry(info.slot) {
                e.insert(self.block_signatures(info.slot).await?);
            }
            let index = block_index[&info.slot]
                .iter()
                .position(|s| *s == info.signature)
                .ok_or_else(|| {
                    SolanaError::Invalid(format!(
                        "{} is not in block {}",
                        info.signature, info.slot
                    ))
                })?;
            let message = burn_message(&burn, &self.mint, info.slot, index as u64, messenger)
                .map_err(|e| SolanaError::Invalid(e.to_string()))?;
            batch.burns.push(SolanaBurn {
                hash: message.hash(),
                message,
                signature: info.signature.clone(),
                slot: info.slot,
                block_time,
            });
        }
        Ok(batch)
    }

    /// The bridge burn in one transaction, once it is final: `Ok(None)` while it is not
    /// (or not readable yet), an error naming the rule when it is not a bridge burn.
    pub async fn burn_in(&self, signature: &Signature) -> Result<Option<SolanaBurn>, SolanaError> {
        let asked = [*signature];
        let statuses = self
            .rpc
            .read(|c| c.get_signature_statuses(&asked))
            .await
            .map_err(rpc("getSignatureStatuses"))?;
        let Some(status) = statuses.value.into_iter().next().flatten() else {
            return Ok(None);
        };
        if !status.satisfies_commitment(CommitmentConfig::finalized()) {
            return Ok(None);
        }
        let tx = self.transaction(signature).await?;
        let block_time = tx.block_time;
        let burn = match classify(&tx.instructions, tx.succeeded, &tx.signers, &self.mint) {
            Ok(Some(b)) => b,
            Ok(None) => {
                return Err(SolanaError::Invalid(
                    "the transaction burns no bridge USD1".into(),
                ))
            }
            Err(why) => {
                return Err(SolanaError::Invalid(format!(
                    "not a bridge burn: {}",
                    why.label()
                )))
            }
        };
        let messenger = self.destination(&burn).map_err(|why| {
            SolanaError::Invalid(match why {
                "unknown_destination" => "its destination domain is not configured".into(),
                other => format!("not a bridge burn: {other}"),
            })
        })?;
        let index = self
            .block_signatures(status.slot)
            .await?
            .iter()
            .position(|s| *s == signature.to_string())
            .ok_or_else(|| SolanaError::Invalid("not found in its block".into()))?;
        let message = burn_message(&burn, &self.mint, status.slot, index as u64, messenger)
            .map_err(|e| SolanaError::Invalid(e.to_string()))?;
        Ok(Some(SolanaBurn {
            hash: message.hash(),
            message,
            signature: signature.to_string(),
            slot: status.slot,
            block_time,
        }))
    }

    /// Stores the batch's cursor and flushes; call after storing the burns.
    pub async fn commit(&self, batch: &SolanaBatch) -> Result<(), SolanaError> {
        if let Some(newest) = &batch.newest {
            let tree = self.tree()?;
            tree.insert(CURSOR_KEY, newest.as_bytes())
                .map_err(|e| SolanaError::Invalid(format!("store: {e}")))?;
            tree.flush()
                .map_err(|e| SolanaError::Invalid(format!("store: {e}")))?;
        }
        Ok(())
    }

    async fn transaction(&self, signature: &Signature) -> Result<SeenTransaction, SolanaError> {
        self.rpc
            .read(|c| {
                crate::transaction::read_transaction(c, signature, CommitmentConfig::finalized())
            })
            .await
    }

    /// The destination's TokenMessenger, once the burn's memo fits the destination: every
    /// destination with a messenger is an EVM chain, so the recipient (and a non-zero
    /// caller) must be EVM addresses. Otherwise the rejection's label.
    fn destination(&self, burn: &BridgeBurn) -> Result<B256, &'static str> {
        let messenger = self
            .messengers
            .get(&burn.memo.destination_domain)
            .ok_or("unknown_destination")?;
        check_evm_shape(&burn.memo).map_err(|why| why.label())?;
        Ok(*messenger)
    }

    /// The block's transaction signatures, in block order.
    async fn block_signatures(&self, slot: u64) -> Result<Vec<String>, SolanaError> {
        let config = RpcBlockConfig {
            encoding: None,
            transaction_details: Some(TransactionDetails::Signatures),
            rewards: Some(false),
            commitment: finalized(),
            max_supported_transaction_version: Some(0),
        };
        let block = self
            .rpc
            .read(|c| c.get_block_with_config(slot, config))
            .await
            .map_err(rpc("getBlock"))?;
        Ok(block.signatures.unwrap_or_default())
    }
}

mod as_source;

#[cfg(test)]
mod reader_tests {
    use super::*;

    #[tokio::test]
    async fn a_reader_keeps_no_cursor_so_it_cannot_poll_or_commit() {
        let reader = SolanaWatcher::reader(&crate::conf::tests::config(), HashMap::new()).unwrap();
        // Refused before any RPC is asked: the node in the config is not running.
        let e = reader.poll().await.unwrap_err().to_string();
        assert!(e.contains("no cursor"), "{e}");
        let batch = SolanaBatch {
            newest: Some("x".into()),
            ..Default::default()
        };
        assert!(reader.commit(&batch).await.is_err());
    }
}
