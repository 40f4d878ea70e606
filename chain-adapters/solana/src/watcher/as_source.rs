//! The Solana watcher as the services see every source chain: a [`Source`].

use super::{SolanaBatch, SolanaWatcher};
use crate::rpc::SolanaError;
use async_trait::async_trait;
use usd1_core::source::{Checkpoint, Rejected, Source, SourceBatch, SourceError};
use usd1_core::{Domain, ObservedBurn, TxRef};

impl From<SolanaError> for SourceError {
    fn from(e: SolanaError) -> Self {
        match e {
            SolanaError::Rpc { method, detail } => {
                SourceError::Chain(usd1_core::traits::ChainError::Rpc { method, detail })
            }
            SolanaError::Invalid(detail) => SourceError::Invalid(detail),
            e @ SolanaError::Config { .. } => SourceError::Invalid(e.to_string()),
        }
    }
}

#[async_trait]
impl Source for SolanaWatcher {
    fn name(&self) -> &str {
        &self.name
    }

    fn domain(&self) -> Domain {
        self.domain
    }

    fn rejection_reasons(&self) -> &'static [&'static str] {
        crate::burn::REJECTION_REASONS
    }

    async fn poll(&self) -> Result<SourceBatch, SourceError> {
        let mut batch = SolanaWatcher::poll(self).await?;
        // Asked after the listing: every signature it returned is at or below this slot.
        let final_slot = self.final_slot().await?;
        let burns = std::mem::take(&mut batch.burns)
            .into_iter()
            .map(|b| {
                let tx = TxRef::parse(&b.signature).ok_or_else(|| {
                    SourceError::Invalid(format!("{:?} is not a signature", b.signature))
                })?;
                Ok(ObservedBurn::new(b.message, tx, b.slot, b.block_time))
            })
            .collect::<Result<Vec<_>, SourceError>>()?;
        let rejected = std::mem::take(&mut batch.rejected)
            .into_iter()
            .map(|(tx, reason)| Rejected {
                tx,
                reason,
                detail: "burns the bridge mint but is not a bridge burn".into(),
            })
            .collect();
        Ok(SourceBatch {
            burns,
            unconfirmed: Vec::new(),
            orphaned: Vec::new(),
            rejected,
            head: final_slot,
            final_height: final_slot,
            next: final_slot + 1,
            checkpoint: Checkpoint::new(batch),
        })
    }

    async fn commit(&self, batch: &SourceBatch) -> Result<(), SourceError> {
        let own: &SolanaBatch = batch
            .checkpoint
            .get()
            .ok_or_else(|| SourceError::ForeignBatch(self.name.clone()))?;
        Ok(SolanaWatcher::commit(self, own).await?)
    }
}
