//! What operators do to a running devnet, as tests need it: move to a new Solana claim
//! authority with the old one retired (DESIGN §4), as after the claim authority's key
//! leaked; change the relayer's relay policy. The configs are rewritten and the processes
//! restarted.

use super::{setup, Devnet, DevnetError};
use usd1_solana::solana_sdk::signature::{Keypair, Signer};

/// The port of a loopback service URL (`http://127.0.0.1:PORT`).
fn port_of(url: &str) -> Result<u16, DevnetError> {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .ok_or_else(|| setup(format!("no port in {url}")))
}

impl Devnet {
    /// Retires the current claim authority and starts using a new one; returns the retired
    /// key (a test plays the one who leaked it).
    pub async fn rotate_claim_authority(&mut self) -> Result<Keypair, DevnetError> {
        let sol = self
            .solana
            .as_mut()
            .ok_or_else(|| setup("the devnet has no Solana side"))?;
        let old = std::mem::replace(&mut sol.claim_authority, Keypair::new());
        sol.retired.push(old.pubkey());
        for i in 0..self.attesters.len() {
            self.stop_attester(i).await;
            self.write_attester_config(i, port_of(&self.attester_urls[i])?)?;
            self.start_attester(i).await?;
        }
        self.kill_relayer().await;
        self.write_relayer_config(port_of(&self.relayer_url)?)?;
        self.start_relayer().await?;
        Ok(old)
    }

    /// Starts the relayer (killed first if running) with another `max_batch`, its store kept.
    pub async fn set_max_batch(&mut self, max_batch: usize) -> Result<(), DevnetError> {
        self.options.max_batch = max_batch;
        self.kill_relayer().await;
        self.write_relayer_config(port_of(&self.relayer_url)?)?;
        self.start_relayer().await
    }

    /// Restarts the relayer with another relay policy (its store, and so its queue, kept).
    pub async fn set_relay_policy(
        &mut self,
        policy: usd1_config::RelayPolicyConfig,
    ) -> Result<(), DevnetError> {
        self.options.relay_policy = policy;
        self.kill_relayer().await;
        self.write_relayer_config(port_of(&self.relayer_url)?)?;
        self.start_relayer().await
    }
}
