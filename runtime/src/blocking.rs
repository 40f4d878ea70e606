//! Blocking work — sled transactions, flushes (fsync) and scans — off the async workers, on
//! tokio's blocking pool. A store call that waits on the disk would otherwise stall every task
//! on its worker; and sled's own `flush_async` must not be used at all (docs/decisions.md,
//! "Storage": it runs the flush on sled's small IO pool, which the flush then waits on).

use std::fmt;

/// The runtime was shutting down and the blocking call never started, so nothing it would
/// have written was written (tokio never cancels a blocking task once it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotRun;

impl fmt::Display for NotRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the runtime is shutting down: the blocking call did not run")
    }
}

impl std::error::Error for NotRun {}

/// Runs `f` on tokio's blocking pool and waits for it without holding up a worker. A panic
/// in `f` is carried on to the caller, as if `f` had run inline. Once started, `f` runs to
/// its end even if the caller's future is dropped (a transaction is never cut in half).
pub async fn blocking<T, F>(f: F) -> Result<T, NotRun>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(NotRun),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_on_another_thread_and_returns_its_value() {
        let here = std::thread::current().id();
        let there = blocking(|| std::thread::current().id()).await.unwrap();
        assert_ne!(here, there);
    }

    #[tokio::test]
    #[should_panic(expected = "boom")]
    async fn a_panic_reaches_the_caller() {
        let _ = blocking(|| panic!("boom")).await;
    }
}
