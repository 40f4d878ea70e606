//! `usd1-attester`: watches every configured source chain itself, signs each final burn
//! message once with its own key, persists the signature before serving it over HTTP.

mod api;
mod metrics;
mod signer;
mod state;
mod store;
mod watch;

use clap::Parser;
use state::{AppState, ChainStatus};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use usd1_config::{load_evm_signer, AttesterConfig};
use usd1_evm::{EvmBlockSource, EvmRpc, Watcher};

#[derive(Parser)]
#[command(
    name = "usd1-attester",
    version,
    about = "Signs final usd1 burn messages and serves the signatures"
)]
struct Args {
    /// The attester's TOML config (every value overridable by USD1_… variables).
    #[arg(long, short, env = "USD1_CONFIG")]
    config: PathBuf,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    usd1_evm::tls::install();
    let config: AttesterConfig = usd1_runtime::load_config_or_exit("usd1-attester", &args.config);
    usd1_runtime::init_tracing(config.service.log_format);
    if let Err(e) = run(config).await {
        tracing::error!(error = %e, "usd1-attester stopped");
        eprintln!("usd1-attester: {e}");
        std::process::exit(1);
    }
}

async fn run(config: AttesterConfig) -> Result<(), String> {
    let key = load_evm_signer(&config.signer).map_err(|e| e.to_string())?;
    let address = key.address();
    let db = sled::open(&config.service.db_path).map_err(|e| {
        format!(
            "cannot open store {}: {e}",
            config.service.db_path.display()
        )
    })?;
    let store = store::Store::open(db.clone()).map_err(|e| e.to_string())?;
    let names = config
        .chains
        .iter()
        .map(|(n, c)| (c.domain, n.clone()))
        .collect();
    let state = Arc::new(AppState {
        store,
        key: signer::EvmAttesterKey(key),
        unconfirmed: RwLock::new(Default::default()),
        chains: RwLock::new(Default::default()),
        names,
    });

    metrics::init(&state);
    for (name, chain) in &config.chains {
        let rpc = Arc::new(EvmRpc::new(name, &chain.rpc_urls).map_err(|e| e.to_string())?);
        let tree = db
            .open_tree(format!("watcher/{}", chain.domain))
            .map_err(|e| e.to_string())?;
        let source = EvmBlockSource {
            rpc,
            transmitter: chain.message_transmitter,
        };
        let watcher = Watcher::new(
            source,
            tree,
            name,
            chain.domain,
            chain.finality,
            chain.max_block_range,
            chain.start_block,
            true,
        );
        state
            .chains
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                name.clone(),
                ChainStatus {
                    domain: chain.domain.0,
                    poll_interval_ms: chain.poll_interval_ms,
                    ..Default::default()
                },
            );
        tokio::spawn(watch::run(
            state.clone(),
            name.clone(),
            watcher,
            Duration::from_millis(chain.poll_interval_ms),
        ));
    }

    let listener = tokio::net::TcpListener::bind(config.service.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.service.listen))?;
    tracing::info!(listen = %config.service.listen, attester = %address, chains = config.chains.len(), "usd1-attester started");
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(usd1_runtime::shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    db.flush_async().await.map_err(|e| e.to_string())?;
    Ok(())
}
