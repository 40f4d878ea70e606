//! A poll's hashes signed ahead, a few at a time, by every core, in order: helper threads
//! take chunks from a shared counter, and the thread that decides and writes the poll takes
//! chunks too whenever the part it needs next is not signed yet. So as many threads sign as
//! there are cores, and none waits while there is something to sign.
//!
//! Why not one signing thread a core beside the writer: that is one thread more than the
//! cores, and the scheduler's time slices then left a core idle at the end of each part (a
//! thread preempted with its last hashes while the other had finished): a part of 512 took
//! ~27 ms instead of ~15 ms of both cores' time (docs/benchmarks.md, "Attester backfill").

use super::EvmAttesterKey;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use usd1_core::B256;

/// Hashes a thread takes at a time: small, so the last chunk of a part is short (~0.4 ms),
/// and large enough that taking one costs nothing against signing it.
const CHUNK: usize = 8;

/// One poll's signing, shared by the threads that sign it.
pub struct SigningRun<'a> {
    key: &'a EvmAttesterKey,
    hashes: &'a [B256],
    /// The next chunk no thread has taken.
    next: AtomicUsize,
    /// Per chunk: its signatures are in the key's `ahead` map.
    signed: Vec<AtomicBool>,
    stopped: AtomicBool,
}

impl<'a> SigningRun<'a> {
    pub fn new(key: &'a EvmAttesterKey, hashes: &'a [B256]) -> Self {
        Self {
            key,
            hashes,
            next: AtomicUsize::new(0),
            signed: (0..hashes.len().div_ceil(CHUNK))
                .map(|_| AtomicBool::new(false))
                .collect(),
            stopped: AtomicBool::new(false),
        }
    }

    /// Takes the next chunk and signs it into the key's `ahead` map; false when none is left
    /// or the run was stopped. A hash whose signing fails is left out: `sign` tries it again
    /// and reports the error where it is used.
    pub fn sign_next(&self) -> bool {
        if self.stopped.load(Ordering::Acquire) {
            return false;
        }
        let chunk = self.next.fetch_add(1, Ordering::Relaxed);
        let Some(done) = self.signed.get(chunk) else {
            return false;
        };
        // Marked done even if signing panics: a waiting thread moves on (what is missing
        // from `ahead` is signed by `sign` where it is used) instead of waiting for ever.
        let _done = MarkDone(done);
        let from = chunk * CHUNK;
        let hashes = &self.hashes[from..(from + CHUNK).min(self.hashes.len())];
        let signatures: Vec<_> = hashes
            .iter()
            .filter_map(|h| self.key.sign_now(h).ok().map(|s| (*h, s)))
            .collect();
        self.key.ahead_lock().extend(signatures);
        true
    }

    /// Returns once every hash before `end` is signed, signing chunks itself meanwhile (the
    /// ones it needs, or later ones while another thread finishes one it needs).
    /// Once the run is stopped it returns at once: what is not signed is signed by `sign`.
    pub fn wait_signed_before(&self, end: usize) {
        for done in &self.signed[..end.div_ceil(CHUNK).min(self.signed.len())] {
            while !done.load(Ordering::Acquire) {
                if self.stopped.load(Ordering::Acquire) {
                    return;
                }
                if !self.sign_next() {
                    // Every chunk is taken: another thread is finishing this one (< 1 ms).
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Signs chunks until none is left: a helper thread's loop.
    pub fn help(&self) {
        while self.sign_next() {}
    }

    /// No chunk is taken after this (the poll failed: its rest is not needed).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// Stops the run when dropped: the helpers stop however the poll ends (an error, a
    /// panic), not only when every chunk is taken.
    pub fn stop_on_drop(&self) -> impl Drop + '_ {
        StopOnDrop(self)
    }
}

struct MarkDone<'a>(&'a AtomicBool);

impl Drop for MarkDone<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

struct StopOnDrop<'r, 'a>(&'r SigningRun<'a>);

impl Drop for StopOnDrop<'_, '_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// How many threads to add beside the caller's for `hashes` hashes: every other core, unless
/// they are too few to share.
pub fn helpers_for(hashes: usize) -> usize {
    if hashes < 2 * CHUNK {
        return 0;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get()) - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::local::PrivateKeySigner;

    fn hashes(n: u64) -> Vec<B256> {
        (0..n)
            .map(|i| B256::left_padding_from(&i.to_be_bytes()))
            .collect()
    }

    #[test]
    fn helpers_and_the_waiting_thread_sign_every_hash_once_with_the_keys_signature() {
        let key = EvmAttesterKey::new(PrivateKeySigner::random());
        let hashes = hashes(203); // not a whole number of chunks
        let run = SigningRun::new(&key, &hashes);
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| run.help());
            }
            for end in [1, 64, 65, 203] {
                run.wait_signed_before(end);
                let ahead = key.ahead_lock();
                assert!(hashes[..end].iter().all(|h| ahead.contains_key(h)));
            }
        });
        let ahead = key.ahead_lock().clone();
        assert_eq!(ahead.len(), hashes.len());
        for h in &hashes {
            assert_eq!(ahead[h], key.sign_now(h).unwrap());
        }
    }

    #[test]
    fn with_no_helper_the_waiting_thread_signs_what_it_waits_for() {
        let key = EvmAttesterKey::new(PrivateKeySigner::random());
        let hashes = hashes(20);
        let run = SigningRun::new(&key, &hashes);
        run.wait_signed_before(9);
        // Two chunks of 8 cover the first 9; nothing past them was signed.
        assert_eq!(key.ahead_lock().len(), 16);
        run.wait_signed_before(20);
        assert_eq!(key.ahead_lock().len(), 20);
        assert!(!run.sign_next(), "nothing is left");
    }

    #[test]
    fn a_stopped_run_takes_no_chunk() {
        let key = EvmAttesterKey::new(PrivateKeySigner::random());
        let hashes = hashes(40);
        let run = SigningRun::new(&key, &hashes);
        assert!(run.sign_next());
        run.stop();
        assert!(!run.sign_next());
        run.help();
        assert_eq!(key.ahead_lock().len(), CHUNK, "only the chunk taken before");
        run.wait_signed_before(hashes.len()); // returns: nothing is signed past the stop
        assert_eq!(key.ahead_lock().len(), CHUNK);
    }

    #[test]
    fn a_run_stops_when_its_guard_is_dropped() {
        let key = EvmAttesterKey::new(PrivateKeySigner::random());
        let hashes = hashes(40);
        let run = SigningRun::new(&key, &hashes);
        drop(run.stop_on_drop());
        assert!(!run.sign_next());
    }

    #[test]
    fn a_poll_too_small_to_share_gets_no_helper() {
        assert_eq!(helpers_for(1), 0);
        assert_eq!(helpers_for(2 * CHUNK - 1), 0);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(helpers_for(5_000), cores - 1);
    }
}
