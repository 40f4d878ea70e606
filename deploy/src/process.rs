//! Child processes of the devnet, and waiting for conditions with a deadline.

use crate::error::{setup, DevnetError};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
pub struct Service {
    pub name: String,
    child: tokio::process::Child,
}

impl Service {
    pub fn from_child(name: &str, child: tokio::process::Child) -> Self {
        Self {
            name: name.into(),
            child,
        }
    }

    /// Starts one of our binaries with `--config`, logging to `<work>/logs/<name>.log`.
    pub fn spawn(
        work_dir: &Path,
        name: &str,
        binary: &str,
        config: &Path,
    ) -> Result<Self, DevnetError> {
        let bin = bin_path(binary);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(work_dir.join("logs").join(format!("{name}.log")))
            .map_err(setup)?;
        let child = tokio::process::Command::new(&bin)
            .arg("--config")
            .arg(config)
            .stdout(log.try_clone().map_err(setup)?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                DevnetError::Setup(format!(
                    "cannot start {}: {e} (build it: cargo build --bins)",
                    bin.display()
                ))
            })?;
        Ok(Self::from_child(name, child))
    }

    pub async fn wait_healthy(&self, base_url: &str) -> Result<(), DevnetError> {
        let url = format!("{base_url}/healthz");
        let client = reqwest::Client::new();
        wait_until(
            Duration::from_secs(30),
            &format!("{} to answer on {url}", self.name),
            || {
                let req = client.get(&url).send();
                async move { req.await.map(|r| r.status().is_success()).unwrap_or(false) }
            },
        )
        .await
    }

    /// SIGKILL, then reap.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGKILL, and wait (blocking, at most 5 s) until the process is gone: for `Drop`, before
    /// its files are removed.
    pub fn kill_blocking(&mut self) {
        let _ = self.child.start_kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Polls `check` every 100 ms until it holds, or fails after `timeout` naming `what`.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, check: F) -> Result<(), DevnetError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_until_every(timeout, Duration::from_millis(100), what, check).await
}

/// [`wait_until`], asking every `every` (a bench timing what it waits for asks often).
pub async fn wait_until_every<F, Fut>(
    timeout: Duration,
    every: Duration,
    what: &str,
    mut check: F,
) -> Result<(), DevnetError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(DevnetError::Setup(format!(
                "timed out after {timeout:?} waiting for {what}"
            )));
        }
        tokio::time::sleep(every).await;
    }
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> Result<u16, DevnetError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(setup)?;
    Ok(l.local_addr().map_err(setup)?.port())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `USD1_ANVIL`, or the anvil that `npm ci` put in the repo's node_modules.
pub fn anvil_path() -> PathBuf {
    std::env::var_os("USD1_ANVIL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("node_modules/.bin/anvil"))
}

/// Our binaries: `USD1_BIN_DIR`, or the directory of the running executable (test
/// executables live one level down, in `deps/`).
pub fn bin_path(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("USD1_BIN_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}
