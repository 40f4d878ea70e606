//! `usd1-attester`: watches every configured source chain itself, signs each final burn
//! message once with its own key, persists the signature before serving it over HTTP.

mod api;
mod compose;
mod cosign;
mod error;
mod governor;
mod metrics;
mod signer;
mod state;
mod store;
mod violations;
mod watch;

use error::AttesterError;
use std::sync::Arc;
use usd1_config::{load_evm_signer, AttesterConfig};

#[tokio::main]
async fn main() {
    usd1_evm::tls::install();
    let config: AttesterConfig = usd1_runtime::start_service(
        "usd1-attester",
        "Signs final usd1 burn messages and serves the signatures",
        |c: &AttesterConfig| c.service.log_format,
    );
    usd1_runtime::exit_on_error("usd1-attester", run(config).await);
}

async fn run(config: AttesterConfig) -> Result<(), AttesterError> {
    // A key file the config names but that cannot be used is a config error: exit 2.
    let key = load_evm_signer(&config.signer, "signer.key_file")
        .unwrap_or_else(|e| usd1_runtime::fatal_config("usd1-attester", e));
    let address = key.address();
    let db = usd1_runtime::service_error::open_store(&config.service.db_path)?;
    let state = Arc::new(compose::state(&config, &db, key)?);
    state.init_metrics();
    compose::spawn_governor_releases(state.clone());
    compose::spawn_journal_indexer(state.store.clone(), compose::JOURNAL_QUIET_MS);
    compose::spawn_watchers(&state, compose::sources(&config, &db)?);

    let listener = usd1_runtime::service_error::bind(config.service.listen).await?;
    tracing::info!(listen = %config.service.listen, attester = %address, chains = config.chains.len(), "usd1-attester started");
    let store = state.store.clone();
    usd1_runtime::service_error::serve_api(listener, api::router(state)).await?;
    // A graceful stop indexes the journal (a watcher still in a backfill may journal one
    // more run after this: the next open indexes it); flushed whatever the outcome.
    let indexed = store.index_journal().await;
    store.flush().await?;
    indexed?;
    Ok(())
}
