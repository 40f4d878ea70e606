//! One lock for every sled write transaction and flush in a process. sled 0.34 can deadlock
//! when `flush_async` calls run concurrently with multi-tree transactions (seen here: the
//! relayer hung after a restart, its flusher threads parked behind a transaction), so writes
//! that must be durable go through here, and flushes are synchronous (milliseconds) under it.

use std::sync::Mutex;

static WRITES: Mutex<()> = Mutex::new(());

/// Runs `f` (a sled transaction, batch or flush) with no other one running in this process.
pub fn serialized<T>(f: impl FnOnce() -> T) -> T {
    let _guard = WRITES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f()
}
