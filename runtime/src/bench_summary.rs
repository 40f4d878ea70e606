//! `deploy/bench.sh`'s closing table: one row per target of the relay issue, each with what
//! this run measured. Rows go to the tab-separated file named by `USD1_BENCH_SUMMARY`, which
//! the script prints last; without it they are not kept. Here so that the bench binaries
//! (usd1-deploy) and the services' figure tests (the relayer's queue at scale) share it.

use std::io::Write;

/// The variable naming the summary file.
pub const VAR: &str = "USD1_BENCH_SUMMARY";

/// Appends a row: the figure, its target, what this run measured, and whether the target is
/// met (None: a figure measured without a target, or one this run cannot tell).
pub fn row(what: &str, target: &str, measured: &str, met: Option<bool>) {
    let Some(path) = std::env::var_os(VAR) else {
        return;
    };
    let met = match met {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "-",
    };
    // Tabs and newlines would shift the columns.
    let clean = |s: &str| s.replace(['\t', '\n'], " ");
    let line = format!(
        "{}\t{}\t{}\t{met}\n",
        clean(what),
        clean(target),
        clean(measured)
    );
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    // The figure was printed above; a summary that cannot be written is not worth failing for.
    if let Err(e) = written {
        eprintln!("bench summary {}: {e}", path.to_string_lossy());
    }
}
