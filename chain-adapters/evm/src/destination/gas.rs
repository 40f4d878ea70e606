//! A batch's gas limit without an `eth_estimateGas` every time. A node estimates by binary
//! search, running the call again and again; under a backlog those runs were most of the
//! destination node's CPU (anvil: each run of a batch of 20 recovers 40 signatures; profiled
//! with `perf`, docs/benchmarks.md). So once a batch has been estimated, the next batch's dry
//! run is one `eth_call` at the gas limit its transaction will carry: run within that limit,
//! on the state the dry run reads, the transaction runs within it too. A call that does not (out of gas, or any refusal) gets the
//! full dry run: `eth_call` without a limit for the refusal's reason, then the estimate.

use super::EvmDestination;
use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use std::sync::atomic::{AtomicU64, Ordering};
use usd1_core::traits::ChainError;

/// A transaction's base cost, left out of what is learned per message.
const TX_BASE: u64 = 21_000;

/// The gas limit a delivery's transaction carries over an estimate of it (gas left over is
/// not paid; too little and the transaction fails, paid).
pub(super) fn with_margin(estimate: u64) -> u64 {
    estimate.saturating_mul(13) / 10
}

/// Every this many guesses, none: the dry run is done in full and the figure learned again
/// (a guess that keeps passing would otherwise never come down).
const RELEARN_EVERY: u64 = 32;

/// Gas a message of a batch took at the last estimate (0: none yet).
#[derive(Default)]
pub(super) struct GasGuess {
    per_message: AtomicU64,
    guesses: AtomicU64,
}

impl GasGuess {
    /// Learns from an estimate of `messages` messages in one transaction, unless it is above
    /// `cap` (such a batch is refused as too costly, and is no guide to the next).
    pub(super) fn learn(&self, estimate: u64, messages: usize, cap: u64) {
        if estimate > cap {
            return;
        }
        let n = messages.max(1) as u64;
        let per = estimate.saturating_sub(TX_BASE).div_ceil(n).max(1);
        self.per_message.store(per, Ordering::Relaxed);
    }

    /// The gas `messages` messages should fit in, within `cap`: the limit the dry run's one
    /// call runs at (the transaction then carries it with the margin, as over an estimate).
    /// None before the first estimate, and every [`RELEARN_EVERY`]th time.
    pub(super) fn fit(&self, messages: usize, cap: u64) -> Option<u64> {
        let per = self.per_message.load(Ordering::Relaxed);
        let nth = self.guesses.fetch_add(1, Ordering::Relaxed) + 1;
        (per > 0 && !nth.is_multiple_of(RELEARN_EVERY)).then(|| {
            TX_BASE
                .saturating_add(per.saturating_mul(messages as u64))
                .min(cap)
        })
    }
}

impl EvmDestination {
    /// Whether `request` runs within `gas` (one `eth_call` at `latest`, as the estimates). Any answer the node
    /// gives (a revert, out of gas) is `false`: the caller then dry-runs in full. Only a
    /// failure to get an answer is an error.
    pub(super) async fn runs_within(
        &self,
        request: &TransactionRequest,
        gas: u64,
    ) -> Result<bool, ChainError> {
        self.rpc
            .call("eth_call", |p| {
                let r = request.clone().with_gas_limit(gas);
                async move {
                    match p.call(r).block(BlockId::latest()).await {
                        Ok(_) => Ok(true),
                        Err(e) if e.as_error_resp().is_some() => Ok(false),
                        Err(e) => Err(e),
                    }
                }
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_guessed_before_an_estimate() {
        assert_eq!(GasGuess::default().fit(20, u64::MAX), None);
    }

    #[test]
    fn a_guess_scales_with_the_messages_within_the_cap() {
        let g = GasGuess::default();
        // A batch of 20 estimated at 1,221,000: 60,000 a message over the base.
        g.learn(1_221_000, 20, u64::MAX);
        assert_eq!(g.fit(20, u64::MAX), Some(1_221_000));
        assert_eq!(g.fit(5, u64::MAX), Some(21_000 + 5 * 60_000));
        assert_eq!(g.fit(20, 1_000_000), Some(1_000_000), "never above the cap");
        g.learn(1_021_000, 20, u64::MAX);
        assert_eq!(g.fit(20, u64::MAX), Some(1_021_000), "the last estimate");
    }

    #[test]
    fn an_estimate_above_the_cap_teaches_nothing() {
        let g = GasGuess::default();
        g.learn(1_221_000, 20, 4_000_000);
        g.learn(9_000_000, 20, 4_000_000);
        assert_eq!(g.fit(20, 4_000_000), Some(1_221_000));
    }

    #[test]
    fn every_so_often_there_is_no_guess_so_the_figure_is_learned_again() {
        let g = GasGuess::default();
        g.learn(1_221_000, 20, u64::MAX);
        let misses = (0..RELEARN_EVERY * 3)
            .filter(|_| g.fit(20, u64::MAX).is_none())
            .count();
        assert_eq!(misses, 3);
    }

    #[test]
    fn a_tiny_or_zero_estimate_still_guesses_something() {
        let g = GasGuess::default();
        g.learn(0, 0, u64::MAX);
        assert!(g.fit(1, u64::MAX).is_some_and(|l| l > 0));
    }

    use crate::rpc::scripted::answering_node;
    use crate::rpc::EvmRpc;
    use alloy::primitives::Address;
    use alloy::signers::local::PrivateKeySigner;
    use std::sync::atomic::AtomicU32;
    use std::sync::{Arc, Mutex};
    use usd1_core::traits::{BatchDelivery, BatchEntry, DryRun};
    use usd1_core::Domain;

    /// After one batch is estimated, the next batch's dry run is one `eth_call` and no
    /// estimate; a batch that does not run within its learned limit is dry-run in full, and
    /// its refusal is reported with the node's reason, not as a limit too low.
    #[tokio::test]
    async fn a_batch_is_estimated_once_then_dry_run_with_one_call_at_its_limit() {
        let asked = Arc::new(Mutex::new(Vec::<String>::new()));
        let calls = Arc::new(AtomicU32::new(0));
        let (log, count) = (asked.clone(), calls.clone());
        let (url, _) = answering_node(Arc::new(move |method: &str, _| {
            log.lock().unwrap().push(method.to_string());
            let word = format!("\"0x{}\"", "00".repeat(31) + "02");
            match method {
                "eth_estimateGas" => Some(Ok("\"0x12a1f8\"".into())),
                "eth_call" => match count.fetch_add(1, Ordering::SeqCst) {
                    // The first batch in full; the second at its limit.
                    0 | 1 => Some(Ok(word)),
                    // The third: out of gas at its limit, then a revert in full.
                    2 => Some(Err(r#"{"code":-32000,"message":"out of gas"}"#.into())),
                    _ => Some(Err(
                        r#"{"code":3,"message":"execution reverted","data":"0xdeadbeef"}"#.into(),
                    )),
                },
                _ => Some(Err(r#"{"code":-32601,"message":"not scripted"}"#.into())),
            }
        }))
        .await;
        let rpc = Arc::new(EvmRpc::new("base", &[url]).unwrap());
        let signer = PrivateKeySigner::random();
        let d = EvmDestination::new(
            rpc,
            Domain(6),
            (Address::repeat_byte(1), Address::repeat_byte(2)),
            1_000_000,
            signer,
        );
        let (m, a) = (vec![1u8; 248], vec![2u8; 130]);
        let entries = vec![
            BatchEntry {
                message: &m,
                attestation: &a,
            };
            2
        ];
        let methods = |asked: &Mutex<Vec<String>>| std::mem::take(&mut *asked.lock().unwrap());

        assert!(matches!(
            d.simulate_batch(&entries).await.unwrap(),
            DryRun::Succeeds
        ));
        assert_eq!(methods(&asked), ["eth_call", "eth_estimateGas"]);

        assert!(matches!(
            d.simulate_batch(&entries).await.unwrap(),
            DryRun::Succeeds
        ));
        assert_eq!(methods(&asked), ["eth_call"], "one run, no estimate");

        let verdict = d.simulate_batch(&entries).await.unwrap();
        assert!(matches!(verdict, DryRun::Reverts { .. }), "{verdict:?}");
        assert_eq!(
            methods(&asked),
            ["eth_call", "eth_call"],
            "at the limit, then in full"
        );
    }
}
