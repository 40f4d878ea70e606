//! The persistent index: what earlier audits established for good, kept in a sled tree.

use super::{rpc, Changes, Known, SolanaAudit};
use crate::rpc::SolanaError;
use solana_sdk::pubkey::Pubkey;
use usd1_core::audit::OutboundBurn;
use usd1_core::{Domain, U256};

/// The index's keys (one tree; each write one batch).
const IDENTITY_KEY: &[u8] = b"identity";
const META_KEY: &[u8] = b"meta";
const BURN: u8 = b'b';
const RECEIVED: u8 = b'r';
const RETIRED: u8 = b't';

fn received_key((source, nonce): (Domain, u64)) -> [u8; 13] {
    let mut k = [RECEIVED; 13];
    k[1..5].copy_from_slice(&source.0.to_be_bytes());
    k[5..].copy_from_slice(&nonce.to_be_bytes());
    k
}

fn burn_key(nonce: u64) -> [u8; 9] {
    let mut k = [BURN; 9];
    k[1..].copy_from_slice(&nonce.to_be_bytes());
    k
}

fn retired_key(claim: &Pubkey) -> [u8; 33] {
    let mut k = [RETIRED; 33];
    k[1..].copy_from_slice(claim.as_ref());
    k
}

impl Known {
    /// The scalars, stored as JSON under `meta` (the outside amount in decimal base units).
    fn meta(&self) -> serde_json::Value {
        serde_json::json!({
            "scanned_through": self.scanned_through,
            "floor": self.floor,
            "outside_count": self.outside.0,
            "outside_amount": self.outside.1.to_string(),
        })
    }

    /// Reads what `tree` holds (written by `save`).
    pub(super) fn load(tree: &sled::Tree) -> Result<Self, SolanaError> {
        let bad = |what: &str| SolanaError::Invalid(format!("the Solana audit index: {what}"));
        let mut known = Known::default();
        if let Some(v) = tree.get(META_KEY).map_err(index_error)? {
            let meta: serde_json::Value =
                serde_json::from_slice(&v).map_err(|e| bad(&e.to_string()))?;
            known.scanned_through = meta["scanned_through"].as_u64();
            known.floor = meta["floor"].as_u64().ok_or_else(|| bad("no floor"))?;
            known.outside = (
                meta["outside_count"]
                    .as_u64()
                    .ok_or_else(|| bad("no outside count"))? as usize,
                meta["outside_amount"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| bad("no outside amount"))?,
            );
        }
        for entry in tree.scan_prefix([BURN]) {
            let (k, v) = entry.map_err(index_error)?;
            let (Some(nonce), Some(destination), Some(amount)) = (
                k.get(1..9).and_then(|b| b.try_into().ok()),
                v.get(..4).and_then(|b| b.try_into().ok()),
                v.get(4..36),
            ) else {
                return Err(bad("a malformed burn"));
            };
            known.bridge.push(OutboundBurn {
                destination: Domain(u32::from_be_bytes(destination)),
                nonce: u64::from_be_bytes(nonce),
                amount: U256::from_be_slice(amount),
            });
        }
        for key in tree.scan_prefix([RECEIVED]).keys() {
            let k = key.map_err(index_error)?;
            let (Some(source), Some(nonce)) = (
                k.get(1..5).and_then(|b| b.try_into().ok()),
                k.get(5..13).and_then(|b| b.try_into().ok()),
            ) else {
                return Err(bad("a malformed receipt"));
            };
            known.received.insert((
                Domain(u32::from_be_bytes(source)),
                u64::from_be_bytes(nonce),
            ));
        }
        for entry in tree.scan_prefix([RETIRED]) {
            let (k, v) = entry.map_err(index_error)?;
            let claim = k
                .get(1..33)
                .and_then(|b| Pubkey::try_from(b).ok())
                .ok_or_else(|| bad("a malformed retired claim"))?;
            known.retired.insert(claim, v.first() == Some(&1));
        }
        Ok(known)
    }
}

fn index_error(e: sled::Error) -> SolanaError {
    SolanaError::Invalid(format!("the Solana audit index: {e}"))
}

impl SolanaAudit {
    /// Loads the index once per process: its burns, receipts and slots, if it belongs to this
    /// mint on this cluster; else it starts over.
    pub(super) async fn load(&self) -> Result<(), SolanaError> {
        let Some(tree) = &self.index else {
            return Ok(());
        };
        self.loaded
            .get_or_try_init(|| async {
                let genesis = self
                    .rpc
                    .client()
                    .get_genesis_hash()
                    .await
                    .map_err(rpc("getGenesisHash"))?;
                let identity = format!("{}@{genesis}", self.mint);
                let stored = tree.get(IDENTITY_KEY).map_err(index_error)?;
                if stored.as_deref() == Some(identity.as_bytes()) {
                    *self.known() = Known::load(tree)?;
                    return Ok(());
                }
                if stored.is_some() {
                    tracing::warn!(%identity, "solana audit index: another mint or cluster; starting it over");
                }
                let mut b = sled::Batch::default();
                for key in tree.iter().keys() {
                    b.remove(key.map_err(index_error)?);
                }
                b.insert(IDENTITY_KEY, identity.as_bytes());
                tree.apply_batch(b).map_err(index_error)?;
                *self.known() = Known::default();
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Writes `changes`, the retired claims' decisions and the slots, in one batch.
    pub(super) fn save(&self, changes: Changes) -> Result<(), SolanaError> {
        let Some(tree) = &self.index else {
            return Ok(());
        };
        let mut b = sled::Batch::default();
        {
            let known = self.known();
            for r in &changes.received {
                b.insert(&received_key(*r), &[]);
            }
            for burn in &changes.bridge {
                let mut v = Vec::with_capacity(36);
                v.extend_from_slice(&burn.destination.0.to_be_bytes());
                v.extend_from_slice(&burn.amount.to_be_bytes::<32>());
                b.insert(&burn_key(burn.nonce), v);
            }
            for (claim, minted) in &known.retired {
                b.insert(retired_key(claim).to_vec(), vec![u8::from(*minted)]);
            }
            let meta = serde_json::to_vec(&known.meta())
                .map_err(|e| SolanaError::Invalid(e.to_string()))?;
            b.insert(META_KEY, meta);
        }
        tree.apply_batch(b).map_err(index_error)
    }
}
