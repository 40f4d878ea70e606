//! The finality-violation scenario (filled in below).

use crate::plan::Plan;

pub async fn run(_plan: Plan, _work_dir: &std::path::Path) -> Result<usize, String> {
    Err("not yet".into())
}
