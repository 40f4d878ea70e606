//! Reorgs with `anvil_reorg`, with a transaction in the new blocks so block hashes really
//! change: below the finality rule (nothing attested may change on a source; a dropped mint
//! on a destination must be sent again), or deeper than it (a finality violation).

use crate::error::ChaosError;
use crate::net::SharedNet;
use crate::plan::Plan;
use alloy::providers::Provider;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::Duration;

/// anvil's 6th dev account: sends the transactions of the new blocks (it is no bridge user).
const REORG_SENDER: &str = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";

/// Replaces the newest `depth` blocks of `chain` with new ones holding a self-transfer.
pub async fn reorg(net: &SharedNet, chain: &str, depth: u64) -> Result<(), ChaosError> {
    let d = net.read().await;
    let c = d
        .chains
        .iter()
        .find(|c| c.name == chain)
        .ok_or_else(|| ChaosError::NoChain(chain.to_string()))?;
    let tx = serde_json::json!({"from": REORG_SENDER, "to": REORG_SENDER, "value": "0x1"});
    c.admin
        .raw_request::<_, serde_json::Value>("anvil_reorg".into(), (depth, vec![(tx, 0u64)]))
        .await
        .map(|_| ())
        .map_err(|source| ChaosError::Reorg {
            chain: chain.to_string(),
            source,
        })
}

/// `plan.reorgs` shallow reorgs (depth 1, below the devnet's 2-block finality rule) on
/// random EVM chains, spread over about `spread`. Returns the count per chain and errors.
pub async fn run(
    net: SharedNet,
    plan: &Plan,
    spread: Duration,
) -> (BTreeMap<String, usize>, Vec<String>) {
    let mut rng = StdRng::seed_from_u64(plan.seed_of(3));
    let chains: Vec<String> = net
        .read()
        .await
        .chains
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let gap_ms = (spread.as_millis() as u64 / (plan.reorgs as u64 + 1)).clamp(1_000, 60_000);
    let mut done = BTreeMap::new();
    let mut errors = Vec::new();
    for _ in 0..plan.reorgs {
        tokio::time::sleep(Duration::from_millis(
            rng.gen_range(gap_ms / 2..=gap_ms * 3 / 2),
        ))
        .await;
        let chain = chains[rng.gen_range(0..chains.len())].clone();
        match reorg(&net, &chain, 1).await {
            Ok(()) => *done.entry(chain).or_insert(0) += 1,
            Err(e) => errors.push(e.to_string()),
        }
    }
    (done, errors)
}
