//! The supply audit's index (sled): per EVM chain, its bridge burns up to a final height with
//! that block's hash, and the receipts seen at a final height (see `audit`'s module doc for
//! why the audit's figures stay those of a full rescan).
//!
//! Keys in one tree (so that each write is one atomic batch):
//! - `c` ‖ domain → cursor: identity (32) ‖ next block (8) ‖ [last indexed block (8) ‖ its
//!   hash (32)];
//! - `b` ‖ source domain ‖ nonce → destination (4) ‖ amount (32): one entry per (source,
//!   nonce), the first message seen (a replacement is the same burn);
//! - `r` ‖ destination ‖ source ‖ nonce → (): received at a final height of the destination.
//!   Claims are never closed and `usedNonces` never reset, so this stays true;
//! - `t` ‖ destination ‖ source ‖ nonce → pinned block (8): received at that pinned block,
//!   not final yet; `p` ‖ destination → the newest such block (8) ‖ its hash (32). They count
//!   while that block is still the chain's (it is an ancestor-or-self of every pin after it),
//!   and become `r` once their block is final; a reorg drops them (they are read again).

use super::{scan, AuditSource, SentBurn};
use alloy::primitives::B256;
use std::collections::HashSet;
use usd1_core::audit::ChainReads;
use usd1_core::traits::ChainError;
use usd1_core::{Domain, U256};

/// What the layout is: another value starts the whole index over.
const VERSION: &[u8] = b"audit-index-v1";
const VERSION_KEY: &[u8] = b"version";
const CURSOR: u8 = b'c';
const BURN: u8 = b'b';
const RECEIVED: u8 = b'r';
const PENDING: u8 = b't';
const PENDING_PIN: u8 = b'p';
/// Log queries per commit while a long history is indexed (progress survives a crash).
const QUERIES_PER_COMMIT: u64 = 64;

fn store(e: sled::Error) -> ChainError {
    ChainError::Rejected(format!("the audit index: {e}"))
}

/// Where a chain's index stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    identity: B256,
    /// The first block not indexed.
    next: u64,
    /// The last block indexed and its hash (None before any).
    last: Option<(u64, B256)>,
}

impl Cursor {
    fn fresh(identity: B256, start_block: u64) -> Self {
        Self {
            identity,
            next: start_block,
            last: None,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(80);
        v.extend_from_slice(self.identity.as_slice());
        v.extend_from_slice(&self.next.to_be_bytes());
        if let Some((h, hash)) = self.last {
            v.extend_from_slice(&h.to_be_bytes());
            v.extend_from_slice(hash.as_slice());
        }
        v
    }

    fn decode(v: &[u8]) -> Option<Self> {
        let identity = B256::from_slice(v.get(..32)?);
        let next = u64::from_be_bytes(v.get(32..40)?.try_into().ok()?);
        let last = match v.len() {
            40 => None,
            80 => Some((
                u64::from_be_bytes(v[40..48].try_into().ok()?),
                B256::from_slice(&v[48..80]),
            )),
            _ => return None,
        };
        Some(Self {
            identity,
            next,
            last,
        })
    }
}

fn cursor_key(domain: Domain) -> [u8; 5] {
    let mut k = [CURSOR; 5];
    k[1..].copy_from_slice(&domain.0.to_be_bytes());
    k
}

fn burn_key(source: Domain, nonce: u64) -> [u8; 13] {
    let mut k = [BURN; 13];
    k[1..5].copy_from_slice(&source.0.to_be_bytes());
    k[5..].copy_from_slice(&nonce.to_be_bytes());
    k
}

fn received_key(destination: Domain, source: Domain, nonce: u64) -> [u8; 17] {
    let mut k = [RECEIVED; 17];
    k[1..5].copy_from_slice(&destination.0.to_be_bytes());
    k[5..9].copy_from_slice(&source.0.to_be_bytes());
    k[9..].copy_from_slice(&nonce.to_be_bytes());
    k
}

fn pending_key(destination: Domain, source: Domain, nonce: u64) -> [u8; 17] {
    let mut k = received_key(destination, source, nonce);
    k[0] = PENDING;
    k
}

/// (source, nonce) of a `r` or `t` key.
fn receipt_of(key: &[u8]) -> Option<(Domain, u64)> {
    Some((
        Domain(u32::from_be_bytes(key.get(5..9)?.try_into().ok()?)),
        u64::from_be_bytes(key.get(9..17)?.try_into().ok()?),
    ))
}

fn prefix(kind: u8, domain: Domain) -> [u8; 5] {
    let mut k = [kind; 5];
    k[1..].copy_from_slice(&domain.0.to_be_bytes());
    k
}

/// The audit's index of burns and receipts, in one sled tree (the relayer's `audit/evm` in
/// its store; the CLI's in a local store).
#[derive(Clone)]
pub struct AuditIndex {
    tree: sled::Tree,
}

impl AuditIndex {
    /// Opens the index in `tree`; one written by another layout is started over.
    pub fn open(tree: sled::Tree) -> Result<Self, ChainError> {
        let index = Self { tree };
        let version = index.tree.get(VERSION_KEY).map_err(store)?;
        if version.as_deref() != Some(VERSION) {
            if version.is_some() {
                tracing::warn!("supply audit index: another layout; starting it over");
            }
            index.clear()?;
        }
        Ok(index)
    }

    /// Forgets everything (`usd1 audit --rebuild`): the next audit reads every chain again.
    pub fn clear(&self) -> Result<(), ChainError> {
        let mut b = sled::Batch::default();
        for key in self.tree.iter().keys() {
            b.remove(key.map_err(store)?);
        }
        b.insert(VERSION_KEY, VERSION);
        self.tree.apply_batch(b).map_err(store)
    }

    pub fn flush(&self) -> Result<(), ChainError> {
        self.tree.flush().map_err(store)?;
        Ok(())
    }

    pub(crate) fn cursor(&self, domain: Domain) -> Result<Option<Cursor>, ChainError> {
        Ok(self
            .tree
            .get(cursor_key(domain))
            .map_err(store)?
            .and_then(|v| Cursor::decode(&v)))
    }

    /// The final height the chain is indexed through, if any.
    pub fn indexed_through(&self, domain: Domain) -> Result<Option<u64>, ChainError> {
        Ok(self.cursor(domain)?.and_then(|c| c.last.map(|(h, _)| h)))
    }

    /// Drops the chain's cursor, its burns, and the receipts seen on it (as a destination).
    fn reset(&self, domain: Domain) -> Result<(), ChainError> {
        let mut b = sled::Batch::default();
        b.remove(&cursor_key(domain));
        b.remove(&prefix(PENDING_PIN, domain));
        for kind in [BURN, RECEIVED, PENDING] {
            for key in self.tree.scan_prefix(prefix(kind, domain)).keys() {
                b.remove(key.map_err(store)?);
            }
        }
        self.tree.apply_batch(b).map_err(store)
    }

    /// Stores the burns of newly indexed blocks with the cursor after them, atomically.
    fn commit(
        &self,
        domain: Domain,
        cursor: &Cursor,
        burns: &[SentBurn],
    ) -> Result<(), ChainError> {
        let mut b = sled::Batch::default();
        let mut added = HashSet::new();
        for burn in burns {
            let key = burn_key(domain, burn.nonce);
            // The first message of a (source, nonce) is the burn; a replacement is the same.
            if self.tree.contains_key(key).map_err(store)? || !added.insert(burn.nonce) {
                continue;
            }
            let mut v = Vec::with_capacity(36);
            v.extend_from_slice(&burn.destination.0.to_be_bytes());
            v.extend_from_slice(&burn.amount.to_be_bytes::<32>());
            b.insert(&key, v);
        }
        b.insert(&cursor_key(domain), cursor.encode());
        self.tree.apply_batch(b).map_err(store)
    }

    /// The chain's indexed burns, by nonce.
    pub fn burns_of(&self, domain: Domain) -> Result<Vec<SentBurn>, ChainError> {
        let mut out = Vec::new();
        for entry in self.tree.scan_prefix(prefix(BURN, domain)) {
            let (k, v) = entry.map_err(store)?;
            let (Some(nonce), Some(destination), Some(amount)) = (
                k.get(5..13).and_then(|b| b.try_into().ok()),
                v.get(..4).and_then(|b| b.try_into().ok()),
                v.get(4..36),
            ) else {
                return Err(ChainError::Rejected(
                    "the audit index holds a malformed burn: rebuild it".into(),
                ));
            };
            out.push(SentBurn {
                destination: Domain(u32::from_be_bytes(destination)),
                nonce: u64::from_be_bytes(nonce),
                amount: U256::from_be_slice(amount),
            });
        }
        Ok(out)
    }

    /// Whether `destination` received (source, nonce) at a final height.
    pub fn received(
        &self,
        destination: Domain,
        source: Domain,
        nonce: u64,
    ) -> Result<bool, ChainError> {
        self.tree
            .contains_key(received_key(destination, source, nonce))
            .map_err(store)
    }

    /// The newest pinned block that receipts not final yet were seen at, with its hash.
    fn pending_pin(&self, destination: Domain) -> Result<Option<(u64, B256)>, ChainError> {
        let v = self
            .tree
            .get(prefix(PENDING_PIN, destination))
            .map_err(store)?;
        Ok(v.filter(|v| v.len() == 40).map(|v| {
            (
                u64::from_be_bytes(v[..8].try_into().unwrap_or([0; 8])),
                B256::from_slice(&v[8..40]),
            )
        }))
    }

    /// The receipts on `c` seen at a pinned block not final then, that still count at `pin`:
    /// those whose block is still the chain's (checked once, at the newest such block) and at
    /// or below `pin`. Those now at or below `final_height` are remembered for good; after a
    /// reorg they are all dropped (the audit reads them again).
    pub(crate) async fn pending_receipts<C: AuditSource>(
        &self,
        c: &C,
        final_height: Option<u64>,
        pin: u64,
    ) -> Result<HashSet<(Domain, u64)>, ChainError> {
        let d = c.domain();
        let Some((newest, hash)) = self.pending_pin(d)? else {
            return Ok(HashSet::new());
        };
        if newest > pin {
            // The chain reads lower than when they were seen (another RPC node?): not usable
            // at this pin, still true on the chain they were seen on.
            return Ok(HashSet::new());
        }
        let mut b = sled::Batch::default();
        let mut out = HashSet::new();
        if c.block_hash(newest).await? != Some(hash) {
            tracing::warn!(
                chain = c.name(),
                block = newest,
                "supply audit index: receipts seen at a block since reorged away; reading them again"
            );
            for key in self.tree.scan_prefix(prefix(PENDING, d)).keys() {
                b.remove(key.map_err(store)?);
            }
            b.remove(&prefix(PENDING_PIN, d));
        } else {
            for entry in self.tree.scan_prefix(prefix(PENDING, d)) {
                let (k, v) = entry.map_err(store)?;
                let (Some((source, nonce)), Some(at)) = (
                    receipt_of(&k),
                    v.get(..8)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_be_bytes),
                ) else {
                    b.remove(k);
                    continue;
                };
                if final_height.is_some_and(|f| at <= f) {
                    b.insert(&received_key(d, source, nonce), &[]);
                    b.remove(k);
                } else {
                    out.insert((source, nonce));
                }
            }
            if out.is_empty() {
                b.remove(&prefix(PENDING_PIN, d));
            }
        }
        self.tree.apply_batch(b).map_err(store)?;
        Ok(out)
    }

    /// Remembers receipts read at `pin` (whose hash is `hash`): for good if `pin` is final,
    /// else until their block is final (see [`Self::pending_receipts`]).
    pub(crate) fn remember_receipts(
        &self,
        destination: Domain,
        pin: u64,
        hash: B256,
        final_height: Option<u64>,
        receipts: &[(Domain, u64)],
    ) -> Result<(), ChainError> {
        if receipts.is_empty() {
            return Ok(());
        }
        let mut b = sled::Batch::default();
        if final_height.is_some_and(|f| pin <= f) {
            for &(source, nonce) in receipts {
                b.insert(&received_key(destination, source, nonce), &[]);
            }
        } else {
            if self
                .pending_pin(destination)?
                .is_some_and(|(newest, _)| newest > pin)
            {
                return Ok(()); // read lower than before: read again next time
            }
            // The older ones were checked on this chain in this audit: `pin` vouches for them.
            for &(source, nonce) in receipts {
                b.insert(&pending_key(destination, source, nonce), &pin.to_be_bytes());
            }
            let mut v = pin.to_be_bytes().to_vec();
            v.extend_from_slice(hash.as_slice());
            b.insert(&prefix(PENDING_PIN, destination), v);
        }
        self.tree.apply_batch(b).map_err(store)
    }

    /// Brings the chain's index to `final_height`, from where it stopped: checks first that
    /// the last indexed block is still the chain's (else starts over from `start_block`,
    /// loudly), then reads the blocks in between. Returns the height it covers.
    pub(crate) async fn extend<C: AuditSource>(
        &self,
        c: &C,
        final_height: u64,
        reads: &mut ChainReads,
    ) -> Result<Option<u64>, ChainError> {
        let domain = c.domain();
        let identity = c.identity();
        let fresh = Cursor::fresh(identity, c.start_block());
        let mut cursor = match self.cursor(domain)? {
            None => fresh,
            Some(stored) if stored.identity != identity => {
                tracing::warn!(chain = c.name(), "supply audit index: the chain's contracts or start_block changed; indexing it again from start_block");
                self.reset(domain)?;
                reads.rebuilt = Some("the chain's contracts or start_block changed".into());
                fresh
            }
            Some(stored) => match stored.last {
                Some((height, hash)) => {
                    let now = c.block_hash(height).await?;
                    if now == Some(hash) {
                        stored
                    } else {
                        tracing::error!(
                            chain = c.name(),
                            block = height,
                            indexed = %hash,
                            now = ?now,
                            "supply audit index: the indexed block is no longer on the chain (a reorg deeper than the finality rule, or another chain at this URL): indexing again from start_block"
                        );
                        self.reset(domain)?;
                        reads.rebuilt = Some(format!(
                            "block {height} is not the one indexed (a reorg deeper than finality?)"
                        ));
                        fresh
                    }
                }
                None => stored,
            },
        };
        reads.before = cursor.last.map(|(h, _)| h);
        let first = cursor.next;
        let segment = c
            .max_block_range()
            .max(1)
            .saturating_mul(QUERIES_PER_COMMIT);
        while cursor.next <= final_height {
            let end = final_height.min(cursor.next.saturating_add(segment - 1));
            // Final blocks do not change; if the chain says otherwise mid-read, read again
            // later rather than store logs under a hash they do not belong to.
            let before = c.block_hash(end).await?;
            let burns = scan(c, cursor.next, end, reads).await?;
            let after = c.block_hash(end).await?;
            let hash = match (before, after) {
                (Some(a), Some(b)) if a == b => b,
                _ => {
                    return Err(ChainError::rpc(
                        "eth_getBlockByNumber",
                        format!(
                            "{}: final block {end} changed while it was read; will read again",
                            c.name()
                        ),
                    ))
                }
            };
            cursor.next = end.saturating_add(1);
            cursor.last = Some((end, hash));
            self.commit(domain, &cursor, &burns)?;
            if end == u64::MAX {
                break;
            }
        }
        if cursor.next > first {
            reads.added = Some((first, cursor.next - 1));
        }
        reads.through = cursor.last.map(|(h, _)| h);
        Ok(reads.through)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let id = B256::repeat_byte(7);
        for c in [
            Cursor::fresh(id, 5),
            Cursor {
                identity: id,
                next: 11,
                last: Some((10, B256::repeat_byte(1))),
            },
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        assert_eq!(Cursor::decode(&[0; 41]), None);
    }

    #[test]
    fn keys_sort_by_chain_then_nonce() {
        assert!(burn_key(Domain(0), 255) < burn_key(Domain(0), 256));
        assert!(burn_key(Domain(0), u64::MAX) < burn_key(Domain(6), 0));
        assert!(burn_key(Domain(6), 1).starts_with(&prefix(BURN, Domain(6))));
        assert!(received_key(Domain(6), Domain(0), 1).starts_with(&prefix(RECEIVED, Domain(6))));
    }
}
