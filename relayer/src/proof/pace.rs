//! Keeps this relayer's co-sign requests within the rate an attester allows each caller (it
//! says so in `GET /v1/solana/signer`). Without it a Solana-bound backlog sent every request
//! at once: the attesters refused most of them (429: 372 refusals for a backlog of 200 in
//! one bench run), and each refused message waited out a retry, its other co-signature wasted.
//!
//! A token bucket like the attester's, kept below it: the attester allows `rate` a second in
//! bursts of `2 × rate`; this one spends 9/10 of the rate in bursts of `rate`, so requests
//! that reach the attester closer together than they left stay within its bucket. A request
//! reserves its token and waits for it (tokens can go below zero: each waiter has its own
//! slot in time), so concurrent steps need no loop and no lock across the wait. A reserved
//! token is not given back when its request is cancelled or fails: the relayer then sends
//! less than it could for a moment, never more than the attester allows.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Pacer {
    /// Tokens a second.
    rate: f64,
    burst: f64,
    /// (tokens, when last counted); tokens below zero are reserved by waiting requests.
    bucket: Mutex<(f64, Instant)>,
}

impl Pacer {
    /// For an attester that allows `allowed_per_s` a second per caller; 0: no pacing.
    pub fn new(allowed_per_s: u32, now: Instant) -> Option<Self> {
        (allowed_per_s > 0).then(|| {
            let burst = f64::from(allowed_per_s);
            Self {
                rate: burst * 0.9,
                burst,
                bucket: Mutex::new((burst, now)),
            }
        })
    }

    fn refilled(&self, bucket: &mut (f64, Instant), now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.1).as_secs_f64();
        bucket.0 = (bucket.0 + elapsed * self.rate).min(self.burst);
        bucket.1 = now.max(bucket.1);
    }

    /// How long a request made at `now` would wait for its token.
    pub fn wait_at(&self, now: Instant) -> Duration {
        let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        self.refilled(&mut bucket, now);
        self.wait_for(bucket.0 - 1.0)
    }

    /// Reserves a token for a request made at `now`: how long it waits before it is sent.
    /// None, and nothing reserved, when that would be longer than `longest`.
    pub fn reserve(&self, now: Instant, longest: Duration) -> Option<Duration> {
        let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        self.refilled(&mut bucket, now);
        let wait = self.wait_for(bucket.0 - 1.0);
        (wait <= longest).then(|| {
            bucket.0 -= 1.0;
            wait
        })
    }

    /// The wait until the bucket is back at `after` tokens from below zero.
    fn wait_for(&self, after: f64) -> Duration {
        if after >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-after / self.rate)
        }
    }
}

/// The attester's bucket, as it refuses (`attester::cosign::RateLimiter`): `rate` a second,
/// bursts of twice that, full at first. What the relayer's tests check pacing against.
#[cfg(test)]
pub(super) struct AttesterBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

#[cfg(test)]
impl AttesterBucket {
    pub(super) fn new(rate: u32, now: Instant) -> Self {
        let rate = f64::from(rate);
        Self {
            rate,
            tokens: 2.0 * rate,
            last: now,
        }
    }

    /// Takes a token for a request arriving at `now`, if there is one.
    pub(super) fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(2.0 * self.rate);
        self.last = now.max(self.last);
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_rate_then_nine_tenths_of_it() {
        let t0 = Instant::now();
        let p = Pacer::new(50, t0).unwrap();
        let long = Duration::from_secs(60);
        for i in 0..50 {
            assert_eq!(p.reserve(t0, long), Some(Duration::ZERO), "request {i}");
        }
        // The 51st waits for a token at 45 a second; 44 more, and the last waits one second.
        let first_wait = p.reserve(t0, long).unwrap();
        assert!(
            (first_wait.as_secs_f64() - 1.0 / 45.0).abs() < 1e-6,
            "{first_wait:?}"
        );
        let waits: Vec<Duration> = (0..44).map(|_| p.reserve(t0, long).unwrap()).collect();
        let last = waits.last().unwrap().as_secs_f64();
        assert!((last - 1.0).abs() < 1e-6, "{last}");
        assert!(waits.windows(2).all(|w| w[0] < w[1]), "each its own slot");
    }

    #[test]
    fn within_any_second_it_sends_fewer_than_the_attester_allows() {
        // The attester's bucket: `rate` a second, bursts of twice that. Sent as reserved, a
        // thousand requests made at once never find it empty.
        let t0 = Instant::now();
        let p = Pacer::new(20, t0).unwrap();
        let mut sends: Vec<Duration> = (0..1000)
            .map(|_| p.reserve(t0, Duration::from_secs(3600)).unwrap())
            .collect();
        sends.sort();
        let mut attester = AttesterBucket::new(20, t0);
        for at in sends {
            assert!(
                attester.allow(t0 + at),
                "the attester would refuse the request sent at {at:?}"
            );
        }
    }

    #[test]
    fn a_wait_longer_than_allowed_reserves_nothing() {
        let t0 = Instant::now();
        let p = Pacer::new(10, t0).unwrap();
        for _ in 0..10 {
            p.reserve(t0, Duration::ZERO).unwrap();
        }
        assert_eq!(p.reserve(t0, Duration::ZERO), None);
        assert!(p.wait_at(t0) > Duration::ZERO);
        // Nothing was taken by the refused reservation: one token's time later, one goes.
        let later = t0 + Duration::from_secs_f64(1.0 / 9.0 + 1e-6);
        assert_eq!(p.reserve(later, Duration::ZERO), Some(Duration::ZERO));
    }

    #[test]
    fn no_rate_no_pacing() {
        assert!(Pacer::new(0, Instant::now()).is_none());
    }
}
