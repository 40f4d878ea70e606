use crate::error::AttesterError;
use alloy::signers::{local::PrivateKeySigner, SignerSync};
use std::collections::HashMap;
use std::sync::Mutex;
use usd1_core::{Signature65, B256};

mod run;
pub use run::{helpers_for, SigningRun};

/// Signs message hashes for EVM destinations: secp256k1 over the raw hash, low s, v 27/28.
pub struct EvmAttesterKey {
    pub signer: PrivateKeySigner,
    /// Signatures made ahead, on every core, for a batch about to be attested one by one
    /// (the governor decides in order; signing needs no order). RFC 6979 makes a signature
    /// a function of the key and the hash, so one made ahead is the one `sign` would make.
    ahead: Mutex<HashMap<B256, Signature65>>,
}

impl EvmAttesterKey {
    pub fn new(signer: PrivateKeySigner) -> Self {
        Self {
            signer,
            ahead: Mutex::default(),
        }
    }

    pub fn sign(&self, hash: &B256) -> Result<Signature65, AttesterError> {
        if let Some(sig) = self.ahead_lock().remove(hash) {
            return Ok(sig);
        }
        self.sign_now(hash)
    }

    fn sign_now(&self, hash: &B256) -> Result<Signature65, AttesterError> {
        let sig = self
            .signer
            .sign_hash_sync(hash)
            .map_err(|e| AttesterError::Sign(e.to_string()))?;
        Signature65::from_signature(&sig).map_err(|e| AttesterError::Sign(e.to_string()))
    }

    /// Signs `hashes` on every core, for the `sign` calls that follow (what the watcher's
    /// `sign_and_attest` does while it writes, here alone: the tests' and figures' way).
    #[cfg(test)]
    pub fn sign_ahead(&self, hashes: &[B256]) {
        let run = SigningRun::new(self, hashes);
        std::thread::scope(|scope| {
            for _ in 0..helpers_for(hashes.len()) {
                scope.spawn(|| run.help());
            }
            run.help();
        });
    }

    /// Drops what was signed ahead for `hashes` and not used (burns the governor held, or
    /// known ones). Only those: another chain's watcher may have signed its own ahead.
    pub fn forget_ahead(&self, hashes: &[B256]) {
        let mut ahead = self.ahead_lock();
        for h in hashes {
            ahead.remove(h);
        }
    }

    fn ahead_lock(&self) -> std::sync::MutexGuard<'_, HashMap<B256, Signature65>> {
        self.ahead.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_made_ahead_is_the_one_made_at_once() {
        let key = EvmAttesterKey::new(PrivateKeySigner::random());
        let hashes: Vec<B256> = (0..64u8).map(B256::repeat_byte).collect();
        let at_once: Vec<Signature65> = hashes.iter().map(|h| key.sign_now(h).unwrap()).collect();
        key.sign_ahead(&hashes);
        for (h, expected) in hashes.iter().zip(&at_once) {
            assert_eq!(&key.sign(h).unwrap(), expected);
        }
        assert!(key.ahead_lock().is_empty(), "each used once");
        key.sign_ahead(&hashes[..3]);
        key.sign_ahead(&hashes[10..12]); // another chain's, signed ahead at the same time
        key.forget_ahead(&hashes[..3]);
        assert_eq!(key.ahead_lock().len(), 2, "the other chain's are kept");
        key.forget_ahead(&hashes[10..12]);
        assert!(key.ahead_lock().is_empty());
    }
}

/// The figure behind docs/benchmarks.md ("Signing a backfill"): not a timed test, a
/// measurement run by `deploy/bench-scale.sh` (release build). 5,090 message hashes (the
/// issue's backfill) signed one by one, as before, against signed ahead on every core and
/// then taken one by one, side by side in one run (medians of 5).
#[test]
#[ignore = "a measurement: deploy/bench-scale.sh"]
fn backfill_signing_figures() {
    use std::time::Instant;
    let key = EvmAttesterKey::new(PrivateKeySigner::random());
    let hashes: Vec<B256> = (0..5_090u64)
        .map(|i| B256::left_padding_from(&i.to_be_bytes()))
        .collect();
    let median = |f: &dyn Fn()| {
        let mut runs: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        runs[2]
    };
    let one_by_one = median(&|| {
        for h in &hashes {
            key.sign_now(h).unwrap();
        }
    });
    let ahead = median(&|| {
        key.sign_ahead(&hashes);
        for h in &hashes {
            key.sign(h).unwrap();
        }
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "signing {} hashes, medians of 5, {cores} cores:",
        hashes.len()
    );
    println!("  one by one (before): {one_by_one:.1} ms");
    println!("  ahead on every core: {ahead:.1} ms");
    println!("  ratio: {:.2}x", one_by_one / ahead);
}
