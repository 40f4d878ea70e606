//! A real Prometheus scraping the devnet's services, with the committed alert rules.

use crate::devnet::Devnet;
use crate::error::{setup, DevnetError};
use crate::process::{wait_until, Service};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The committed rule file (deploy/prometheus/alerts.yml).
pub fn rules_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("prometheus")
        .join("alerts.yml")
}

/// Whether a `prometheus` binary is on PATH (deploy/setup.sh installs Debian's).
pub fn available() -> bool {
    std::process::Command::new("prometheus")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Devnet {
    /// Writes a prometheus.yml for this devnet's ports and starts Prometheus on `port`;
    /// returns its URL once it is ready.
    pub async fn start_prometheus(&mut self, port: u16) -> Result<String, DevnetError> {
        let dir = self.options.work_dir.clone();
        let target = |url: &str| format!("\"{}\"", url.trim_start_matches("http://"));
        let attesters: Vec<String> = self.attester_urls.iter().map(|u| target(u)).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\nscrape_configs:\n  \
             - job_name: usd1-attester\n    static_configs:\n      - targets: [{attesters}]\n  \
             - job_name: usd1-relayer\n    static_configs:\n      - targets: [{relayer}]\n",
            rules = rules_path().display(),
            attesters = attesters.join(", "),
            relayer = target(&self.relayer_url),
        );
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).map_err(setup)?;
        let log = std::fs::File::create(dir.join("logs").join("prometheus.log")).map_err(setup)?;
        let child = tokio::process::Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("prometheus-data").display()
            ))
            .stdout(log.try_clone().map_err(setup)?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                DevnetError::Setup(format!(
                    "cannot start prometheus: {e} (apt-get install prometheus)"
                ))
            })?;
        let url = format!("http://127.0.0.1:{port}");
        let ready = format!("{url}/-/ready");
        let client = reqwest::Client::new();
        wait_until(Duration::from_secs(30), "prometheus to be ready", || {
            let req = client.get(&ready).send();
            async move { req.await.map(|r| r.status().is_success()).unwrap_or(false) }
        })
        .await?;
        self.prometheus = Some(Service::from_child("prometheus", child));
        Ok(url)
    }
}
