//! The devnet under chaos: every service's RPC traffic goes through a fault-injecting proxy,
//! with a second, healthy proxy per chain listed after it so the services' fallback is
//! exercised (Solana services use their first URL only: they get the faulty one).

use crate::plan::Plan;
use crate::proxy::{Faults, Proxy};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::RwLock;
use usd1_deploy::devnet::ServiceRpc;
use usd1_deploy::{Devnet, DevnetError, DevnetOptions};

pub type SharedNet = Arc<RwLock<Devnet>>;

pub async fn start(plan: &Plan, work_dir: &Path) -> Result<(SharedNet, Arc<Faults>), DevnetError> {
    usd1_evm::tls::install();
    // No faults while the devnet deploys; the run turns them on once it is up.
    let faults = Faults::new(0.0, plan.max_delay, plan.seed_of(1));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| DevnetError::Setup(e.to_string()))?;
    // One pair of proxies per chain, made the first time a config asks for the chain.
    let made: Mutex<HashMap<String, Vec<String>>> = Mutex::new(HashMap::new());
    let f = faults.clone();
    let service_rpc = ServiceRpc(Arc::new(move |chain: &str, node: &str| {
        let mut made = made.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(urls) = made.get(chain) {
            return urls.clone();
        }
        let urls = match (
            Proxy::start(node, Some(f.clone()), client.clone()),
            Proxy::start(node, None, client.clone()),
        ) {
            (Ok(faulty), Ok(healthy)) => vec![faulty.url, healthy.url],
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, chain, "no proxy: the service talks to the node");
                vec![node.to_string()]
            }
        };
        made.insert(chain.to_string(), urls.clone());
        urls
    }));
    let mut options = DevnetOptions::new(work_dir);
    options.solana = plan.solana;
    options.service_rpc = Some(service_rpc);
    let _ = std::fs::remove_dir_all(work_dir);
    let devnet = Devnet::start(options).await?;
    Ok((Arc::new(RwLock::new(devnet)), faults))
}
