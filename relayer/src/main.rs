//! `usd1-relayer`: watches the source chains itself, queues every final message in sled,
//! collects `threshold` attester signatures, delivers to the destination, and follows the
//! delivery to confirmation. Untrusted: it can delay a mint, never forge or repeat one.

mod api;
mod attesters;
mod compose;
mod explorer;
mod feed;
mod metrics;
mod pipeline;
mod policy;
mod proof;
mod start;
mod store;
mod supply;
mod violations;

use pipeline::Pipeline;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use usd1_config::{load_evm_signer, RelayerConfig};
use usd1_evm::EvmDestination;

#[tokio::main]
async fn main() {
    usd1_evm::tls::install();
    let config: RelayerConfig = usd1_runtime::start_service(
        "usd1-relayer",
        "Carries attested usd1 burn messages to their destination chains",
        |c: &RelayerConfig| c.service.log_format,
    );
    usd1_runtime::exit_on_error("usd1-relayer", run(config).await);
}

/// How often the queue is scanned when nothing new arrives.
const TICK: Duration = Duration::from_millis(250);

async fn run(config: RelayerConfig) -> Result<(), start::StartError> {
    // A key file the config names but that cannot be used is a config error: exit 2.
    let signer = load_evm_signer(&config.submitter, "submitter.key_file")
        .unwrap_or_else(|e| usd1_runtime::fatal_config("usd1-relayer", e));
    let db = usd1_runtime::service_error::open_store(&config.service.db_path)?;
    let store = store::Store::open(db)?;
    let compose::Chains {
        rpcs,
        targets,
        balances,
        cosign_token,
    } = compose::chains(&config, &signer)?;
    let destinations: Arc<HashSet<_>> = Arc::new(targets.keys().copied().collect());
    let pipeline = Arc::new(compose::pipeline(&config, &store, targets, cosign_token)?);
    metrics::init(&pipeline.names, pipeline.targets.keys().copied());

    let feeds: feed::FeedStatus = Default::default();
    let wake = Arc::new(Notify::new());
    let sources = compose::sources(&config, &store, &rpcs)?;
    let expected_feeds = sources.len();
    for (source, poll_interval_ms) in sources {
        let poll = Duration::from_millis(poll_interval_ms);
        let queue = feed::Queue {
            store: store.clone(),
            destinations: destinations.clone(),
            status: feeds.clone(),
            poll,
            wake: wake.clone(),
        };
        let unwoken = usd1_runtime::watch::Wake::default();
        tokio::spawn(usd1_runtime::watch::run(
            source,
            poll,
            Arc::new(queue),
            unwoken,
        ));
    }
    tokio::spawn(run_pipeline(pipeline.clone(), wake));
    tokio::spawn(sample_queue_depth(store.clone()));
    compose::spawn_supply_audit(&config, &store, &rpcs)?;
    tokio::spawn(watch_balances(balances));

    let listener = usd1_runtime::service_error::bind(config.service.listen).await?;
    tracing::info!(listen = %config.service.listen, submitter = %signer.address(), "usd1-relayer started");
    let explorer = explorer::Explorer::new(
        &config,
        store.clone(),
        &rpcs,
        pipeline
            .targets
            .iter()
            .map(|(d, t)| (*d, t.chain.clone()))
            .collect(),
    )?;
    let api = api::ApiState {
        store: store.clone(),
        feeds,
        expected_feeds,
        explorer: Some(Arc::new(explorer)),
    };
    usd1_runtime::service_error::serve_api(listener, api::router(api)).await?;
    store.flush().await?;
    Ok(())
}

/// Syncs the account nonces (retrying until the destinations answer), then advances the
/// queue every tick, or at once when a watcher queued something new.
async fn run_pipeline(pipeline: Arc<Pipeline>, wake: Arc<Notify>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match pipeline.sync_nonces().await {
            Ok(()) => break,
            Err(e) => tracing::warn!(error = %e, "cannot read submitter nonces yet; retrying"),
        }
    }
    loop {
        match pipeline.tick().await {
            // A full batch: more is due now, go on without waiting.
            Ok(due) if due >= pipeline.batch() => {
                tokio::task::yield_now().await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "queue tick failed"),
        }
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {}
        }
    }
}

/// The queue-depth gauge, sampled once a second apart from the ticks: counting a deep queue
/// is O(queue), which a tick with nothing due must not pay.
async fn sample_queue_depth(store: store::Store) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match store.queue_depth().await {
            Ok(by_state) => metrics::set_queue_depth(&by_state),
            Err(e) => tracing::warn!(error = %e, "cannot count the queue"),
        }
    }
}

async fn watch_balances(dests: Vec<(String, Arc<EvmDestination>)>) {
    let mut tick = tokio::time::interval(Duration::from_secs(15));
    loop {
        tick.tick().await;
        for (name, d) in &dests {
            if let Ok(wei) = d.balance().await {
                metrics::BALANCE
                    .with_label_values(&[name])
                    .set((wei / 1_000_000_000) as i64);
            }
        }
    }
}
