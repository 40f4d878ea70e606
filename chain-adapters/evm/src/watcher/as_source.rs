//! The watcher as the services see every source chain: a [`Source`].

use super::{Batch, WatchError, Watcher};
use crate::source::BlockSource;
use async_trait::async_trait;
use usd1_core::source::{Checkpoint, OnHead, Source, SourceBatch, SourceError};
use usd1_core::Domain;

impl From<WatchError> for SourceError {
    fn from(e: WatchError) -> Self {
        match e {
            WatchError::Chain(e) => SourceError::Chain(e),
            WatchError::Store(e) => SourceError::Store(e.to_string()),
            WatchError::Moved(chain) => SourceError::Moved(chain),
        }
    }
}

#[async_trait]
impl<S: BlockSource + 'static> Source for Watcher<S> {
    fn name(&self) -> &str {
        &self.chain
    }

    fn domain(&self) -> Domain {
        self.domain
    }

    fn rejection_reasons(&self) -> &'static [&'static str] {
        &["malformed", "wrong_source_domain"]
    }

    async fn poll(&self) -> Result<SourceBatch, SourceError> {
        let mut batch = Watcher::poll(self).await?;
        Ok(SourceBatch {
            burns: std::mem::take(&mut batch.final_messages),
            unconfirmed: std::mem::take(&mut batch.unconfirmed),
            orphaned: std::mem::take(&mut batch.orphaned),
            rejected: std::mem::take(&mut batch.rejected),
            head: batch.head,
            final_height: batch.final_height,
            next: batch.next,
            checkpoint: Checkpoint::new(batch),
        })
    }

    async fn commit(&self, batch: &SourceBatch) -> Result<(), SourceError> {
        let own: &Batch = batch
            .checkpoint
            .get()
            .ok_or_else(|| SourceError::ForeignBatch(self.chain.clone()))?;
        Ok(Watcher::commit(self, own).await?)
    }

    async fn follow_heads(&self, on_head: OnHead) {
        match &self.heads_url {
            Some(url) => crate::heads::follow(self.chain.clone(), url.clone(), on_head).await,
            None => std::future::pending().await,
        }
    }
}
