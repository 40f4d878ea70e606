//! The watcher against a scripted chain: finality, reorgs above and below it, restarts.

use super::*;
use async_trait::async_trait;
use std::sync::Mutex;
use usd1_core::{BurnBody, U256};

/// A chain of blocks, each with a hash and its logs; `reorg_from` replaces the tail.
struct FakeChain {
    blocks: Mutex<Vec<(B256, Vec<SentLog>)>>,
    fork: Mutex<u8>,
}

impl FakeChain {
    fn new(height: u64) -> Self {
        let chain = Self {
            blocks: Mutex::new(Vec::new()),
            fork: Mutex::new(0),
        };
        chain.mine(height + 1);
        chain
    }

    fn mine(&self, n: u64) {
        let fork = *self.fork.lock().unwrap();
        let mut blocks = self.blocks.lock().unwrap();
        for _ in 0..n {
            let h = blocks.len() as u64;
            blocks.push((block_hash(h, fork), vec![]));
        }
    }

    /// Adds a message to the newest block.
    fn burn(&self, nonce: u64) -> B256 {
        let mut blocks = self.blocks.lock().unwrap();
        let h = blocks.len() as u64 - 1;
        let hash = blocks[h as usize].0;
        blocks[h as usize].1.push(SentLog {
            message: message(nonce).encode(),
            block_number: h,
            block_hash: hash,
            tx_hash: B256::with_last_byte(nonce as u8),
            log_index: 0,
            block_timestamp: h,
        });
        message(nonce).hash()
    }

    /// Drops every block from `height` on, and mines `n` new ones on another fork.
    fn reorg_from(&self, height: u64, n: u64) {
        *self.fork.lock().unwrap() += 1;
        self.blocks.lock().unwrap().truncate(height as usize);
        self.mine(n);
    }
}

fn block_hash(h: u64, fork: u8) -> B256 {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&h.to_be_bytes());
    b[31] = fork;
    B256::from(b)
}

fn message(nonce: u64) -> Message {
    let body = BurnBody {
        version: 0,
        burn_token: B256::repeat_byte(1),
        mint_recipient: B256::repeat_byte(2),
        amount: U256::from(5u64),
        message_sender: B256::repeat_byte(3),
    };
    Message {
        version: 0,
        source_domain: Domain(0),
        destination_domain: Domain(6),
        nonce,
        sender: B256::repeat_byte(4),
        recipient: B256::repeat_byte(5),
        destination_caller: B256::ZERO,
        body: body.encode(),
    }
}

#[async_trait]
impl BlockSource for &FakeChain {
    async fn head(&self) -> Result<u64, ChainError> {
        Ok(self.blocks.lock().unwrap().len() as u64 - 1)
    }
    async fn final_height(&self, finality: Finality, head: u64) -> Result<u64, ChainError> {
        match finality {
            Finality::Confirmations { confirmations } => Ok(head.saturating_sub(confirmations)),
            _ => Ok(head),
        }
    }
    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        Ok(self
            .blocks
            .lock()
            .unwrap()
            .get(number as usize)
            .map(|b| b.0))
    }
    async fn message_logs(&self, from: u64, to: u64) -> Result<Vec<SentLog>, ChainError> {
        let blocks = self.blocks.lock().unwrap();
        Ok((from..=to)
            .filter_map(|h| blocks.get(h as usize))
            .flat_map(|b| b.1.clone())
            .collect())
    }
    async fn final_logs(
        &self,
        from: u64,
        to: u64,
        _finality: Finality,
    ) -> Result<Option<(Vec<SentLog>, B256)>, ChainError> {
        let Some(hash) = self.block_hash(to).await? else {
            return Ok(None);
        };
        Ok(Some((self.message_logs(from, to).await?, hash)))
    }
}

fn watcher<'a>(chain: &'a FakeChain, tree: &sled::Tree) -> Watcher<&'a FakeChain> {
    Watcher::new(
        chain,
        tree.clone(),
        "test",
        Domain(0),
        Finality::Confirmations { confirmations: 3 },
        4,
        0,
        true,
    )
}

fn tree() -> sled::Tree {
    sled::Config::new()
        .temporary(true)
        .open()
        .unwrap()
        .open_tree("w")
        .unwrap()
}

async fn poll_commit(w: &Watcher<&FakeChain>) -> Batch {
    let b = w.poll().await.unwrap();
    w.commit(&b).await.unwrap();
    b
}

fn hashes(ms: &[ObservedBurn]) -> Vec<B256> {
    ms.iter().map(|m| m.hash).collect()
}

#[tokio::test]
async fn a_burn_is_reported_only_once_final() {
    let chain = FakeChain::new(10);
    let tree = tree();
    let w = watcher(&chain, &tree);
    poll_commit(&w).await;
    let h = chain.burn(1);
    chain.mine(2);
    let b = poll_commit(&w).await;
    assert!(
        b.final_messages.is_empty(),
        "2 confirmations of 3 is not final"
    );
    assert_eq!(hashes(&b.unconfirmed), vec![h]);
    chain.mine(1);
    let b = poll_commit(&w).await;
    assert_eq!(hashes(&b.final_messages), vec![h]);
    let b = poll_commit(&w).await;
    assert!(b.final_messages.is_empty(), "reported once");
}

#[tokio::test]
async fn a_burn_orphaned_before_finality_is_never_reported() {
    let chain = FakeChain::new(10);
    let tree = tree();
    let w = watcher(&chain, &tree);
    poll_commit(&w).await;
    chain.mine(1);
    let orphan = chain.burn(1);
    chain.mine(1);
    let b = poll_commit(&w).await;
    assert_eq!(hashes(&b.unconfirmed), vec![orphan]);
    // Blocks 11.. are replaced by a fork where nonce 2 was burned instead.
    chain.reorg_from(11, 2);
    let replacement = chain.burn(2);
    chain.mine(5);
    let mut reported = Vec::new();
    for _ in 0..3 {
        reported.extend(hashes(&poll_commit(&w).await.final_messages));
    }
    assert_eq!(reported, vec![replacement]);
}

#[tokio::test]
async fn a_reorg_below_the_cursor_rewinds_and_reads_the_new_fork() {
    let chain = FakeChain::new(2);
    let tree = tree();
    let w = watcher(&chain, &tree);
    let old = chain.burn(1);
    chain.mine(8);
    let b = poll_commit(&w).await;
    assert_eq!(hashes(&b.final_messages), vec![old]);
    // A reorg deeper than the finality rule: block 2 onwards replaced.
    chain.reorg_from(2, 1);
    let new = chain.burn(7);
    chain.mine(8);
    let b = poll_commit(&w).await;
    assert!(
        b.rewound_to.is_some_and(|r| r <= 2),
        "rewound to {:?}",
        b.rewound_to
    );
    assert_eq!(hashes(&b.final_messages), vec![new]);
}

#[tokio::test]
async fn the_cursor_survives_a_restart() {
    let chain = FakeChain::new(2);
    let tree = tree();
    chain.burn(1);
    chain.mine(8);
    assert_eq!(
        poll_commit(&watcher(&chain, &tree))
            .await
            .final_messages
            .len(),
        1
    );
    let again = watcher(&chain, &tree);
    assert_eq!(again.cursor().unwrap(), 8);
    assert!(
        poll_commit(&again).await.final_messages.is_empty(),
        "nothing reported twice"
    );
}

#[tokio::test]
async fn an_uncommitted_batch_is_read_again() {
    let chain = FakeChain::new(2);
    let tree = tree();
    let h = chain.burn(1);
    chain.mine(8);
    let w = watcher(&chain, &tree);
    assert_eq!(hashes(&w.poll().await.unwrap().final_messages), vec![h]);
    // The consumer crashed before storing: the same message comes again.
    assert_eq!(hashes(&w.poll().await.unwrap().final_messages), vec![h]);
}

#[tokio::test]
async fn messages_from_another_domain_are_rejected() {
    let chain = FakeChain::new(2);
    let w = Watcher::new(
        &chain,
        tree(),
        "test",
        Domain(6),
        Finality::Confirmations { confirmations: 0 },
        100,
        0,
        false,
    );
    chain.burn(1);
    let batch = w.poll().await.unwrap();
    assert!(batch.final_messages.is_empty());
    let reasons: Vec<_> = batch.rejected.iter().map(|r| r.reason).collect();
    assert_eq!(reasons, ["wrong_source_domain"]);
}

#[tokio::test]
async fn orphaned_burns_are_counted_by_message_not_by_block() {
    let chain = FakeChain::new(2);
    let tree = tree();
    let w = Watcher::new(
        &chain,
        tree.clone(),
        "orphans",
        Domain(0),
        Finality::Confirmations { confirmations: 3 },
        4,
        0,
        true,
    );
    let orphaned = || metrics::ORPHANED.with_label_values(&["orphans"]).get();
    let reorgs = || metrics::REORGS.with_label_values(&["orphans"]).get();

    // A deep reorg that orphans blocks holding no message: a reorg, no orphaned burn.
    chain.mine(10);
    poll_commit(&w).await;
    chain.reorg_from(5, 1);
    chain.mine(10);
    poll_commit(&w).await;
    assert_eq!((reorgs(), orphaned()), (1, 0));

    // Two burns in one block and one in the next, all final, then orphaned: three.
    let h = chain.blocks.lock().unwrap().len() as u64;
    chain.burn(1);
    chain.burn(2);
    chain.mine(1);
    chain.burn(3);
    chain.mine(10);
    let b = poll_commit(&w).await;
    assert_eq!(b.final_messages.len(), 3);
    chain.reorg_from(h - 1, 1);
    chain.mine(10);
    poll_commit(&w).await;
    assert_eq!((reorgs(), orphaned()), (2, 3));
}

#[tokio::test]
async fn a_reorg_deeper_than_finality_names_the_messages_it_orphaned() {
    let chain = FakeChain::new(2);
    let tree = tree();
    let w = watcher(&chain, &tree);
    let violations = || {
        metrics::FINALITY_VIOLATIONS
            .with_label_values(&["test"])
            .get()
    };
    let before = violations();
    let kept = chain.burn(1);
    chain.mine(1);
    let lost = chain.burn(2);
    chain.mine(1);
    let late = chain.burn(3);
    chain.mine(8);
    let b = poll_commit(&w).await;
    assert_eq!(hashes(&b.final_messages), vec![kept, lost, late]);

    // Blocks 3 onwards replaced: burn 2 is gone for good; burn 3 comes back, but only
    // later than the next poll reads (as a reorged-away transaction often does).
    chain.reorg_from(3, 1);
    chain.mine(8);
    let b = poll_commit(&w).await;
    assert!(b.rewound_to.is_some());
    assert!(b.orphaned.is_empty(), "nothing named before its window");
    chain.mine(4);
    assert_eq!(chain.burn(3), late);
    chain.mine(40);
    let b = poll_commit(&w).await;
    assert_eq!(hashes(&b.final_messages), vec![late], "read again");
    assert_eq!(
        b.orphaned,
        vec![lost],
        "named once past its window: the burn the chain no longer has"
    );
    assert_eq!(violations() - before, 1);

    // Named once: the next poll has nothing to report.
    chain.mine(2);
    assert!(poll_commit(&w).await.orphaned.is_empty());
}

#[tokio::test]
async fn a_node_missing_a_stored_block_is_not_taken_for_a_reorg() {
    let chain = FakeChain::new(2);
    let tree = tree();
    let w = watcher(&chain, &tree);
    chain.burn(1);
    chain.mine(8);
    poll_commit(&w).await;
    // A lagging node (after a failover) lacks the newest blocks the watcher stored.
    chain.blocks.lock().unwrap().truncate(5);
    assert!(matches!(w.poll().await, Err(WatchError::Moved(_))));
}
