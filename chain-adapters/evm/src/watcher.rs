//! The finality-aware `MessageSent` watcher (DESIGN §3). It reads logs in chunked ranges up
//! to the final height only, and keeps in sled its cursor plus the hash of every block it
//! read past that held a message, and of each range's last block. Before reading on, it
//! checks the newest stored hash against the chain; on a mismatch it walks back to the
//! newest block still on the chain, rewinds there, and counts the reorg.

use crate::conf::Finality;
use crate::metrics;
use crate::source::{BlockSource, SentLog};
use alloy::primitives::B256;
use std::collections::BTreeMap;
use thiserror::Error;
use usd1_core::source::Rejected;
use usd1_core::traits::ChainError;
use usd1_core::{Domain, Message, ObservedBurn, TxRef};

/// How many ranges one poll reads at most, so a long catch-up still reports progress.
const MAX_CHUNKS_PER_POLL: usize = 20;
/// Stored block hashes kept below the cursor (older ones are pruned).
const HASH_WINDOW: usize = 2048;
const NEXT_KEY: &[u8] = b"next";
const HASH_PREFIX: u8 = b'h';
/// Messages of orphaned blocks not read again yet: hash → the height past which the cursor
/// must be for them to be named (their highest orphaned height + [`REINCLUSION_WINDOW`]).
const SUSPECT_PREFIX: u8 = b's';
/// Blocks a burn of an orphaned block has to be mined again (and read as final) in the new
/// fork before it is named a finality violation: a reorged-away transaction often lands a
/// few blocks later, and naming it would withhold a good burn's signature.
const REINCLUSION_WINDOW: u64 = 32;

#[derive(Debug, Error)]
pub enum WatchError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("store: {0}")]
    Store(#[from] sled::Error),
    #[error("chain {0} changed while it was read; will read again")]
    Moved(String),
}

#[derive(Debug, Default)]
pub struct Batch {
    /// Messages in blocks at or below the final height, in chain order.
    pub final_messages: Vec<ObservedBurn>,
    /// Messages above the final height (for "pending confirmations" answers); may vanish.
    pub unconfirmed: Vec<ObservedBurn>,
    /// `MessageSent` logs that are not a message of this chain (counted by the watch loop).
    pub rejected: Vec<Rejected>,
    pub head: u64,
    pub final_height: u64,
    /// Set when a reorg made the watcher rewind: the first height read again.
    pub rewound_to: Option<u64>,
    /// Messages read as final from blocks the chain no longer has, and not read again from
    /// the new fork: a finality violation (they may have been attested, even minted). The
    /// protocol cannot undo it; the services mark them and operators are alerted.
    pub orphaned: Vec<B256>,
    /// Messages of orphaned blocks still waiting to be read again (hash, name after height).
    suspects: Vec<(B256, u64)>,
    pub(crate) next: u64,
    /// Height → (block hash, the hashes of the messages read from that block).
    hashes: BTreeMap<u64, (B256, Vec<B256>)>,
}

pub struct Watcher<S> {
    source: S,
    tree: sled::Tree,
    chain: String,
    domain: Domain,
    finality: Finality,
    chunk: u64,
    start_block: u64,
    track_unconfirmed: bool,
    /// A websocket URL whose pushed heads wake the watch loop (`crate::heads`).
    heads_url: Option<String>,
}

impl<S: BlockSource> Watcher<S> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: S,
        tree: sled::Tree,
        chain: &str,
        domain: Domain,
        finality: Finality,
        chunk: u64,
        start_block: u64,
        track_unconfirmed: bool,
    ) -> Self {
        // Every series this watcher can move exists from the start (at 0).
        metrics::REORGS.with_label_values(&[chain]);
        metrics::ORPHANED.with_label_values(&[chain]);
        metrics::FINALITY_VIOLATIONS.with_label_values(&[chain]);
        Self {
            source,
            tree,
            chain: chain.into(),
            domain,
            finality,
            chunk: chunk.max(1),
            start_block,
            track_unconfirmed,
            heads_url: None,
        }
    }

    /// Follows `url`'s new heads (`eth_subscribe("newHeads")`) to poll as each block comes.
    pub fn with_heads_url(mut self, url: Option<String>) -> Self {
        self.heads_url = url;
        self
    }

    /// The next block to read.
    pub fn cursor(&self) -> Result<u64, WatchError> {
        Ok(match self.tree.get(NEXT_KEY)? {
            Some(v) if v.len() == 8 => u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])),
            _ => self.start_block,
        })
    }

    /// Reads what became final since the last commit. Nothing is stored until `commit`,
    /// which the caller does after it has stored the messages.
    pub async fn poll(&self) -> Result<Batch, WatchError> {
        let head = self.source.head().await?;
        let final_height = self
            .source
            .final_height(self.finality, head)
            .await?
            .min(head);
        let mut batch = Batch {
            head,
            final_height,
            ..Default::default()
        };
        let mut next = self.cursor()?;
        let mut suspects = self.suspects()?;
        if let Some((rewound, gone, highest)) = self.check_reorg().await? {
            next = rewound;
            batch.rewound_to = Some(rewound);
            let after = highest.saturating_add(REINCLUSION_WINDOW);
            suspects.extend(gone.into_iter().map(|h| (h, after)));
        }

        let mut chunks = 0;
        while next <= final_height && chunks < MAX_CHUNKS_PER_POLL {
            let to = final_height.min(next.saturating_add(self.chunk - 1));
            // One node's view of the range, bracketed by its hash of `to`.
            let Some((logs, after)) = self.source.final_logs(next, to, self.finality).await? else {
                return Err(WatchError::Moved(self.chain.clone()));
            };
            if logs
                .iter()
                .any(|l| l.block_number == to && l.block_hash != after)
            {
                return Err(WatchError::Moved(self.chain.clone()));
            }
            for log in logs {
                let entry = batch
                    .hashes
                    .entry(log.block_number)
                    .or_insert((log.block_hash, Vec::new()));
                match self.to_message(log) {
                    Ok(m) => {
                        entry.1.push(m.hash);
                        batch.final_messages.push(m);
                    }
                    Err(rejected) => batch.rejected.push(rejected),
                }
            }
            batch.hashes.entry(to).or_insert((after, Vec::new()));
            next = to + 1;
            chunks += 1;
        }
        batch.next = next;
        // A burn the new fork has again (same message) is not lost; one not read again by
        // the time the cursor is past its window is.
        suspects.retain(|(h, _)| !batch.final_messages.iter().any(|m| m.hash == *h));
        let (orphaned, waiting): (Vec<_>, Vec<_>) =
            suspects.into_iter().partition(|(_, after)| next > *after);
        let orphaned: Vec<B256> = orphaned.into_iter().map(|(h, _)| h).collect();
        batch.suspects = waiting;
        if !orphaned.is_empty() {
            tracing::error!(chain = %self.chain, messages = ?orphaned,
                "finality violation: messages read as final are no longer on the chain");
            metrics::FINALITY_VIOLATIONS
                .with_label_values(&[&self.chain])
                .inc_by(orphaned.len() as u64);
        }
        batch.orphaned = orphaned;

        if self.track_unconfirmed && final_height < head && next > final_height {
            let to = head.min(final_height + self.chunk);
            for log in self.source.message_logs(final_height + 1, to).await? {
                // Rejections are reported once, when the log is read as final.
                if let Ok(m) = self.to_message(log) {
                    batch.unconfirmed.push(m);
                }
            }
        }

        metrics::WATCHER_HEAD
            .with_label_values(&[&self.chain])
            .set(head as i64);
        metrics::WATCHER_FINALIZED
            .with_label_values(&[&self.chain])
            .set(final_height as i64);
        metrics::WATCHER_LAG
            .with_label_values(&[&self.chain])
            .set(final_height.saturating_sub(next.saturating_sub(1)) as i64);
        Ok(batch)
    }

    /// Stores the batch's cursor and block hashes (after a rewind, dropping the orphaned
    /// ones) and flushes.
    pub async fn commit(&self, batch: &Batch) -> Result<(), WatchError> {
        if let Some(rewound) = batch.rewound_to {
            for entry in self.tree.range(hash_key(rewound)..hash_key(u64::MAX)) {
                let (k, _) = entry?;
                self.tree.remove(k)?;
            }
        }
        let mut b = sled::Batch::default();
        for (height, (hash, messages)) in &batch.hashes {
            let mut value = hash.to_vec();
            value.extend_from_slice(&(messages.len() as u32).to_be_bytes());
            for m in messages {
                value.extend_from_slice(m.as_slice());
            }
            b.insert(&hash_key(*height), value);
        }
        for entry in self.tree.scan_prefix([SUSPECT_PREFIX]) {
            b.remove(entry?.0);
        }
        for (hash, after) in &batch.suspects {
            let mut key = vec![SUSPECT_PREFIX];
            key.extend_from_slice(hash.as_slice());
            b.insert(key, &after.to_be_bytes());
        }
        b.insert(NEXT_KEY, &batch.next.to_be_bytes());
        self.tree.apply_batch(b)?;
        self.prune()?;
        self.tree.flush()?;
        Ok(())
    }

    /// Compares stored hashes, newest first, with the chain's; if the newest no longer
    /// matches, returns the height to read from again and the messages read from the
    /// orphaned blocks.
    async fn check_reorg(&self) -> Result<Option<(u64, Vec<B256>, u64)>, WatchError> {
        let mut first = true;
        let (mut orphaned_blocks, mut orphaned_messages) = (0u64, Vec::new());
        let mut highest = 0;
        for entry in self.tree.range(hash_key(0)..hash_key(u64::MAX)).rev() {
            let (k, v) = entry?;
            let height = height_of(&k);
            let (stored, count, messages) = stored_block(&v);
            // A node without the block (behind, or lagging after a failover) says nothing
            // about a reorg: read again later rather than take it for one.
            let Some(on_chain) = self.source.block_hash(height).await? else {
                return Err(WatchError::Moved(self.chain.clone()));
            };
            if on_chain == stored {
                if first {
                    return Ok(None);
                }
                self.count_reorg(height + 1, orphaned_blocks, orphaned_messages.len() as u64);
                return Ok(Some((height + 1, orphaned_messages, highest)));
            }
            if first {
                highest = height;
            }
            first = false;
            orphaned_blocks += 1;
            // Blocks stored before message hashes were kept only have a count.
            if messages.len() < count as usize {
                tracing::warn!(chain = %self.chain, height, count, "orphaned block's messages not known by hash");
            }
            orphaned_messages.extend(messages);
        }
        if first {
            return Ok(None);
        }
        // Nothing stored is on the chain any more: read everything again.
        self.count_reorg(
            self.start_block,
            orphaned_blocks,
            orphaned_messages.len() as u64,
        );
        Ok(Some((self.start_block, orphaned_messages, highest)))
    }

    /// The stored suspects (messages of orphaned blocks not read again yet).
    fn suspects(&self) -> Result<Vec<(B256, u64)>, WatchError> {
        let mut out = Vec::new();
        for entry in self.tree.scan_prefix([SUSPECT_PREFIX]) {
            let (k, v) = entry?;
            if let (Some(hash), Some(after)) = (k.get(1..33), v.get(..8)) {
                let after = u64::from_be_bytes(after.try_into().unwrap_or([0; 8]));
                out.push((B256::from_slice(hash), after));
            }
        }
        Ok(out)
    }

    /// A reorg below the cursor, which only ever reaches the final height: what was read
    /// as final is gone. `usd1_orphaned_burns_total` counts the messages read from the
    /// orphaned blocks (not the blocks).
    fn count_reorg(&self, from: u64, blocks: u64, messages: u64) {
        tracing::error!(chain = %self.chain, from, orphaned_blocks = blocks, orphaned_messages = messages,
            "reorg below the final height: rewinding");
        metrics::REORGS.with_label_values(&[&self.chain]).inc();
        metrics::ORPHANED
            .with_label_values(&[&self.chain])
            .inc_by(messages);
    }

    fn to_message(&self, log: SentLog) -> Result<ObservedBurn, Rejected> {
        let reject = |reason: &'static str, detail: String| Rejected {
            tx: format!("{:#x}", log.tx_hash),
            reason,
            detail,
        };
        let message =
            Message::decode(&log.message).map_err(|e| reject("malformed", e.to_string()))?;
        if message.source_domain != self.domain {
            return Err(reject(
                "wrong_source_domain",
                format!("domain {}", message.source_domain),
            ));
        }
        Ok(ObservedBurn {
            hash: message.hash(),
            message,
            raw: log.message,
            tx: TxRef::from_hash(log.tx_hash),
            height: log.block_number,
            time: log.block_timestamp,
        })
    }

    fn prune(&self) -> Result<(), WatchError> {
        let count = self.tree.scan_prefix([HASH_PREFIX]).count();
        if count > HASH_WINDOW {
            for entry in self
                .tree
                .scan_prefix([HASH_PREFIX])
                .take(count - HASH_WINDOW)
            {
                self.tree.remove(entry?.0)?;
            }
        }
        Ok(())
    }
}

fn hash_key(height: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = HASH_PREFIX;
    k[1..].copy_from_slice(&height.to_be_bytes());
    k
}

/// A stored block: its hash, then (since messages were counted) a 4-byte message count, then
/// (since finality violations are named) the hashes of those messages.
fn stored_block(value: &[u8]) -> (B256, u32, Vec<B256>) {
    let hash = value.get(..32).map(B256::from_slice).unwrap_or_default();
    let count = value
        .get(32..36)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0);
    let messages = value
        .get(36..)
        .unwrap_or_default()
        .chunks_exact(32)
        .map(B256::from_slice)
        .collect();
    (hash, count, messages)
}

fn height_of(key: &[u8]) -> u64 {
    key.get(1..9)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

mod as_source;
#[cfg(test)]
mod tests;
