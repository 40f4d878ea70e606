//! A local devnet of real processes on loopback: anvil chains, the bridge contracts, `n`
//! attesters and one relayer, each with its own config, key, store and log file. Used by
//! the `usd1-devnet` command and by the end-to-end tests.

use crate::contracts::{self, Deployment};
use crate::process::{free_port, wait_until, Service};
use alloy::primitives::{keccak256, Address, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use usd1_config::{
    AttesterConfig, AuditSettings, BridgeEndpoints, CliConfig, EvmChainConfig, Finality, LogFormat,
    RelayerConfig, RelayerSettings, ServiceConfig, SignerConfig,
};
use usd1_core::Domain;

mod operate;

/// USD1 (base units) the devnet issues on Solana at setup: `solana::SolanaNet::start` mints
/// 1,000,000 USD1 to its user with the multisig (part of the issued total).
pub const SOLANA_ISSUED: u64 = 1_000_000_000_000;

/// anvil's well-known first accounts (mnemonic "test test … junk"): deployer, relayer, users.
pub const ANVIL_KEYS: [&str; 5] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
];

#[derive(Clone, Debug)]
pub struct DevnetOptions {
    pub work_dir: PathBuf,
    /// (name, domain) of each chain.
    pub chains: Vec<(String, Domain)>,
    pub attesters: usize,
    pub threshold: u64,
    /// Seconds between blocks; None leaves mining to the caller (anvil_mine).
    pub block_time: Option<u64>,
    pub confirmations: u64,
    /// USD1 (base units) issued to the demo user on every chain.
    pub initial_balance: U256,
    /// Fixed RPC ports (the devnet command); None picks free ones (tests).
    pub base_port: Option<u16>,
    /// Also run Agave's test validator with the bridge mint (domain 5).
    pub solana: bool,
    /// Test fixture: every EVM chain's transmitter is a `StringErrorTransmitter`, refusing with
    /// Circle's `Error(string)` revert strings instead of custom errors (see `usd1_e2e::fixtures`).
    pub string_errors: bool,
    /// The relayer's relay policy (`Devnet::set_relay_policy` changes it on a running devnet).
    pub relay_policy: usd1_config::RelayPolicyConfig,
    /// The relayer's `max_batch` (`Devnet::set_max_batch` changes it on a running devnet).
    pub max_batch: usize,
    /// The attesters' governor; None: [`devnet_governor`]. Without its own
    /// `admin_token_file`, the devnet's ([`Devnet::governor_token_file`]) is used.
    pub governor: Option<usd1_config::GovernorConfig>,
    /// What the attesters and the relayer are given as a chain's RPC URLs; None: the node's.
    pub service_rpc: Option<ServiceRpc>,
    /// The services' watchers poll every this many ms (`poll_interval_ms`).
    pub poll_interval_ms: u64,
    /// Give the services each node's websocket (`ws_url`): watchers read a block as it is
    /// pushed instead of at their next poll.
    pub heads: bool,
    /// Remove `work_dir` when the devnet is dropped, unless the thread is panicking (a failed
    /// test keeps its logs). Tests set it; the devnet command keeps its directory.
    pub remove_work_dir_on_drop: bool,
}

/// Maps (chain name, the node's RPC URL) to the URLs the services' configs list, e.g. a
/// fault-injecting proxy and a healthy one (`usd1-chaos`). The CLI config keeps the node's.
#[derive(Clone)]
pub struct ServiceRpc(pub std::sync::Arc<RpcUrlMap>);

/// (chain name, the node's URL) → the URLs a service is given.
pub type RpcUrlMap = dyn Fn(&str, &str) -> Vec<String> + Send + Sync;

impl std::fmt::Debug for ServiceRpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceRpc(..)")
    }
}

/// The blocks each of the devnet watchers' log queries covers (`max_block_range`).
pub const MAX_BLOCK_RANGE: u64 = 500;

/// The devnet attesters' governor: every demo and test transfer passes (1,000,000 USD1 per
/// 24 h and source chain; a transfer of 100,000 USD1 or more waits 24 h, or an operator's
/// `usd1 governor release`).
pub fn devnet_governor() -> usd1_config::GovernorConfig {
    usd1_config::GovernorConfig {
        daily_limit: "1000000".into(),
        big_transfer: "100000".into(),
        ..Default::default()
    }
}

impl DevnetOptions {
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        Self {
            work_dir: work_dir.into(),
            chains: vec![("ethereum".into(), Domain(0)), ("base".into(), Domain(6))],
            attesters: 3,
            threshold: 2,
            block_time: Some(1),
            confirmations: 2,
            initial_balance: U256::from(1_000_000_000_000u64),
            base_port: None,
            solana: false,
            relay_policy: Default::default(),
            max_batch: 20,
            string_errors: false,
            remove_work_dir_on_drop: false,
            governor: None,
            service_rpc: None,
            poll_interval_ms: 250,
            heads: true,
        }
    }
}

pub struct Chain {
    pub name: String,
    pub domain: Domain,
    pub rpc_url: String,
    pub deployment: Deployment,
    pub admin: DynProvider,
    _anvil: Service,
}

impl Chain {
    /// The node's websocket (anvil serves it on its RPC port).
    pub fn ws_url(&self) -> String {
        self.rpc_url.replacen("http://", "ws://", 1)
    }
}

pub struct Devnet {
    pub options: DevnetOptions,
    pub chains: Vec<Chain>,
    pub attester_keys: Vec<PrivateKeySigner>,
    pub attester_urls: Vec<String>,
    attesters: Vec<Option<Service>>,
    pub relayer_url: String,
    relayer: Option<Service>,
    pub(crate) prometheus: Option<Service>,
    extra_relayers: Vec<Service>,
    pub solana: Option<crate::solana::SolanaNet>,
    pub user: PrivateKeySigner,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if !self.options.remove_work_dir_on_drop || std::thread::panicking() {
            return;
        }
        // Every process first, so none writes into the directory while it is removed.
        let services = self.attesters.iter_mut().flatten();
        let services = services.chain(self.relayer.as_mut());
        let services = services.chain(self.prometheus.as_mut());
        let services = services.chain(self.extra_relayers.iter_mut());
        let services = services.chain(self.chains.iter_mut().map(|c| &mut c._anvil));
        services.for_each(Service::kill_blocking);
        if let Some(sol) = self.solana.as_mut() {
            sol.validator.kill_blocking();
        }
        if let Err(e) = std::fs::remove_dir_all(&self.options.work_dir) {
            eprintln!("could not remove {}: {e}", self.options.work_dir.display());
        }
    }
}

use crate::error::setup;
pub use crate::error::DevnetError;

fn key(hex: &str) -> Result<PrivateKeySigner, DevnetError> {
    hex.parse().map_err(setup)
}

impl Devnet {
    pub async fn start(mut options: DevnetOptions) -> Result<Self, DevnetError> {
        usd1_evm::tls::install();
        // Only a devnet that started removes its directory: a failed start keeps the logs
        // that say why.
        let remove_work_dir_on_drop = std::mem::take(&mut options.remove_work_dir_on_drop);
        std::fs::create_dir_all(options.work_dir.join("logs")).map_err(setup)?;
        std::fs::create_dir_all(options.work_dir.join("keys")).map_err(setup)?;
        let deployer = key(ANVIL_KEYS[0])?;
        let user = key(ANVIL_KEYS[2])?;
        // Fixed attester keys, so a devnet's addresses are the same every run.
        let attester_keys: Vec<PrivateKeySigner> = (1..=options.attesters)
            .map(|i| {
                PrivateKeySigner::from_bytes(&keccak256(format!("usd1-devnet-attester-{i}")))
                    .map_err(setup)
            })
            .collect::<Result<_, _>>()?;
        let attester_addresses: Vec<Address> = attester_keys.iter().map(|k| k.address()).collect();

        let mut chains = Vec::new();
        for (i, (name, domain)) in options.chains.iter().enumerate() {
            let port = match options.base_port {
                Some(p) => p + i as u16,
                None => free_port()?,
            };
            let anvil = start_anvil(&options.work_dir, name, port, 31337 + domain.0 as u64)?;
            let rpc_url = format!("http://127.0.0.1:{port}");
            let admin = contracts::wallet_provider(&rpc_url, &deployer)?;
            wait_until(Duration::from_secs(30), "anvil to answer", || {
                let admin = admin.clone();
                async move { admin.get_chain_id().await.is_ok() }
            })
            .await?;
            // Deploy with instant mining, then switch to the devnet's block time.
            let deployment = contracts::deploy_with(
                &admin,
                deployer.address(),
                *domain,
                &attester_addresses,
                options.threshold,
                options.string_errors,
            )
            .await?;
            contracts::issue(
                &admin,
                deployer.address(),
                &deployment,
                user.address(),
                options.initial_balance,
            )
            .await?;
            chains.push(Chain {
                name: name.clone(),
                domain: *domain,
                rpc_url,
                deployment,
                admin,
                _anvil: anvil,
            });
        }
        for a in &chains {
            for b in &chains {
                if a.domain != b.domain {
                    contracts::link(&a.admin, &a.deployment, &b.deployment).await?;
                }
            }
        }
        if let Some(secs) = options.block_time {
            // Each chain's block timer starts when interval mining is set. Set back to back,
            // the chains sealed within 3 ms of each other every block, a lockstep no two real
            // chains keep: a transfer toward the later one could never reach the block sealed
            // just after its finality. Spread evenly over the interval instead (two chains:
            // half a block apart), each direction has the same time to reach it.
            let started = tokio::time::Instant::now();
            let n = chains.len() as u32;
            for (i, c) in chains.iter().enumerate() {
                tokio::time::sleep_until(started + Duration::from_secs(secs) * i as u32 / n).await;
                c.admin
                    .raw_request::<_, ()>("evm_setIntervalMining".into(), (secs,))
                    .await
                    .map_err(setup)?;
                c.admin
                    .raw_request::<_, ()>("evm_setAutomine".into(), (false,))
                    .await
                    .map_err(setup)?;
            }
        }

        let mut net = Devnet {
            attester_urls: Vec::new(),
            attesters: Vec::new(),
            relayer_url: String::new(),
            relayer: None,
            prometheus: None,
            extra_relayers: Vec::new(),
            solana: None,
            options,
            chains,
            attester_keys,
            user,
        };
        if net.options.solana {
            let port = match net.options.base_port {
                Some(p) => p + 400,
                None => crate::solana::free_port_block()?,
            };
            let solana = crate::solana::SolanaNet::start(
                &net.options.work_dir,
                port,
                net.options.attesters,
                net.options.threshold,
            )
            .await?;
            for c in &net.chains {
                solana.register_on(&c.admin, &c.deployment).await?;
            }
            net.solana = Some(solana);
        }
        net.write_governor_token()?;
        for i in 0..net.options.attesters {
            let port = match net.options.base_port {
                Some(p) => p + 100 + i as u16,
                None => free_port()?,
            };
            net.attester_urls.push(format!("http://127.0.0.1:{port}"));
            net.write_attester_config(i, port)?;
            net.attesters.push(None);
            net.start_attester(i).await?;
        }
        let port = match net.options.base_port {
            Some(p) => p + 200,
            None => free_port()?,
        };
        net.relayer_url = format!("http://127.0.0.1:{port}");
        net.write_relayer_config(port)?;
        net.write_cli_config()?;
        net.start_relayer().await?;
        net.options.remove_work_dir_on_drop = remove_work_dir_on_drop;
        Ok(net)
    }

    pub fn chain(&self, name: &str) -> &Chain {
        self.chains
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no chain named {name}"))
    }

    /// The chains as the services see them (through [`DevnetOptions::service_rpc`]).
    fn chain_configs(&self) -> BTreeMap<String, EvmChainConfig> {
        let mut chains = self.cli_chain_configs();
        for (name, cfg) in chains.iter_mut() {
            if self.options.heads {
                cfg.ws_url = Some(self.chain(name).ws_url());
            }
            cfg.rpc_urls = self.service_urls(name, &cfg.rpc_urls[0]);
        }
        chains
    }

    fn service_urls(&self, chain: &str, node_url: &str) -> Vec<String> {
        match &self.options.service_rpc {
            Some(map) => (map.0)(chain, node_url),
            None => vec![node_url.to_string()],
        }
    }

    /// The chains with their nodes' own RPC URLs.
    fn cli_chain_configs(&self) -> BTreeMap<String, EvmChainConfig> {
        self.chains
            .iter()
            .map(|c| {
                let cfg = EvmChainConfig {
                    domain: c.domain,
                    rpc_urls: vec![c.rpc_url.clone()],
                    finality: Finality::Confirmations {
                        confirmations: self.options.confirmations,
                    },
                    message_transmitter: c.deployment.transmitter,
                    token_messenger: c.deployment.messenger,
                    token: c.deployment.token,
                    start_block: 0,
                    ws_url: None,
                    poll_interval_ms: self.options.poll_interval_ms,
                    max_block_range: MAX_BLOCK_RANGE,
                    delivery_confirmations: 1,
                    explorer_tx_url: None,
                };
                (c.name.clone(), cfg)
            })
            .collect()
    }

    fn write_key(&self, name: &str, key: &PrivateKeySigner) -> Result<PathBuf, DevnetError> {
        let path = self
            .options
            .work_dir
            .join("keys")
            .join(format!("{name}.key"));
        std::fs::write(&path, format!("0x{}\n", alloy::hex::encode(key.to_bytes())))
            .map_err(setup)?;
        Ok(path)
    }

    /// What the issuer issued on the devnet: the demo user's starting balance on each EVM
    /// chain, and on Solana what `solana::SolanaNet::start` mints to its user.
    pub fn issued_total(&self) -> String {
        let mut total = self.options.initial_balance * U256::from(self.chains.len());
        if self.solana.is_some() {
            total += U256::from(SOLANA_ISSUED);
        }
        usd1_core::format_amount(total, usd1_core::USD1_DECIMALS)
    }

    /// The `usd1` command line's config for this devnet (the demo user's key).
    pub fn cli_config_path(&self) -> PathBuf {
        self.options.work_dir.join("usd1.toml")
    }

    fn write_cli_config(&self) -> Result<(), DevnetError> {
        let (solana, solana_user) = match &self.solana {
            Some(sol) => {
                let (config, user) = sol.cli_config(&self.options.work_dir)?;
                (
                    Some(config),
                    Some(usd1_config::SolanaUser { key_file: user }),
                )
            }
            None => (None, None),
        };
        let config = CliConfig {
            solana,
            solana_user,
            user: Some(SignerConfig {
                key_file: self.write_key("user", &self.user)?,
                password_env: "USD1_KEYSTORE_PASSWORD".into(),
            }),
            bridge: BridgeEndpoints {
                relayer: Some(self.relayer_url.clone()),
                attesters: self.attester_urls.clone(),
            },
            audit: AuditSettings {
                issued_total: Some(self.issued_total()),
                interval_ms: 30_000,
            },
            chains: self.cli_chain_configs(),
        };
        write_toml(&self.cli_config_path(), &config)
    }

    pub fn attester_config_path(&self, i: usize) -> PathBuf {
        self.options
            .work_dir
            .join(format!("attester-{}.toml", i + 1))
    }

    pub fn relayer_config_path(&self) -> PathBuf {
        self.options.work_dir.join("relayer.toml")
    }

    /// The attesters' governor admin token (`usd1 governor release|drop --token-file`).
    pub fn governor_token_file(&self) -> PathBuf {
        self.options
            .work_dir
            .join("keys")
            .join("governor-admin.token")
    }

    /// A fresh random admin token (64 hex characters), owner-only.
    fn write_governor_token(&self) -> Result<(), DevnetError> {
        let path = self.governor_token_file();
        let token = alloy::hex::encode(PrivateKeySigner::random().to_bytes());
        std::fs::write(&path, format!("{token}\n")).map_err(setup)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(setup)?;
        }
        Ok(())
    }

    fn governor_config(&self) -> usd1_config::GovernorConfig {
        let mut governor = self
            .options
            .governor
            .clone()
            .unwrap_or_else(devnet_governor);
        if governor.admin_token_file.is_none() {
            governor.admin_token_file = Some(self.governor_token_file());
        }
        governor
    }

    fn write_attester_config(&self, i: usize, port: u16) -> Result<(), DevnetError> {
        let config = AttesterConfig {
            service: ServiceConfig {
                listen: format!("127.0.0.1:{port}").parse().map_err(setup)?,
                db_path: self.attester_db_path(i),
                log_format: LogFormat::Text,
            },
            signer: SignerConfig {
                key_file: self.write_key(&format!("attester-{}", i + 1), &self.attester_keys[i])?,
                password_env: "USD1_KEYSTORE_PASSWORD".into(),
            },
            chains: self.chain_configs(),
            solana: match &self.solana {
                Some(sol) => {
                    let mut cfg = sol.attester_config(&self.options.work_dir, i)?;
                    cfg.rpc_urls = self.service_urls(&cfg.name, &cfg.rpc_urls[0]);
                    Some(cfg)
                }
                None => None,
            },
            governor: self.governor_config(),
        };
        write_toml(&self.attester_config_path(i), &config)
    }

    fn write_relayer_config(&self, port: u16) -> Result<(), DevnetError> {
        self.write_relayer_config_as("relayer", port, ANVIL_KEYS[1], &self.relayer_config_path())
    }

    /// A relayer config named `name`, with its own store and submitter key.
    fn write_relayer_config_as(
        &self,
        name: &str,
        port: u16,
        submitter: &str,
        path: &Path,
    ) -> Result<(), DevnetError> {
        let config = RelayerConfig {
            service: ServiceConfig {
                listen: format!("127.0.0.1:{port}").parse().map_err(setup)?,
                db_path: self.options.work_dir.join("data").join(name),
                log_format: LogFormat::Text,
            },
            submitter: SignerConfig {
                key_file: self.write_key(name, &key(submitter)?)?,
                password_env: "USD1_KEYSTORE_PASSWORD".into(),
            },
            relayer: RelayerSettings {
                attesters: self.attester_urls.clone(),
                attester_timeout_ms: 1000,
                retry_base_ms: 200,
                retry_max_ms: 2000,
                stuck_after_ms: 20_000,
                max_concurrent_steps: 64,
                max_batch: self.options.max_batch,
                destinations: vec![],
                sources: vec![],
                policy: self.options.relay_policy.clone(),
            },
            // Solana included (its mint and its burns): the discrepancy must stay 0.
            audit: AuditSettings {
                issued_total: Some(self.issued_total()),
                interval_ms: 2000,
            },
            chains: self.chain_configs(),
            solana: match &self.solana {
                // The devnet's relayer has its own co-sign token; extra ones share the operator's.
                Some(sol) => {
                    let caller = if name == "relayer" {
                        crate::solana::RELAYER_CALLER
                    } else {
                        crate::solana::OPERATOR_CALLER
                    };
                    let mut cfg = sol.relayer_config(&self.options.work_dir, caller)?;
                    cfg.rpc_urls = self.service_urls(&cfg.name, &cfg.rpc_urls[0]);
                    Some(cfg)
                }
                None => None,
            },
        };
        write_toml(path, &config)
    }

    /// Starts another, independent relayer (its own store, port and submitter account: anvil
    /// key `key_index`); relayers share nothing. Returns its URL.
    pub async fn start_extra_relayer(
        &mut self,
        name: &str,
        key_index: usize,
    ) -> Result<String, DevnetError> {
        let port = free_port()?;
        let path = self.options.work_dir.join(format!("{name}.toml"));
        let submitter = ANVIL_KEYS
            .get(key_index)
            .ok_or_else(|| setup(format!("no anvil key {key_index}")))?;
        self.write_relayer_config_as(name, port, submitter, &path)?;
        let url = format!("http://127.0.0.1:{port}");
        let svc = Service::spawn(&self.options.work_dir, name, "usd1-relayer", &path)?;
        svc.wait_healthy(&url).await?;
        self.extra_relayers.push(svc);
        Ok(url)
    }

    pub async fn start_attester(&mut self, i: usize) -> Result<(), DevnetError> {
        self.spawn_attester(i)?;
        if let Some(svc) = &self.attesters[i] {
            svc.wait_healthy(&self.attester_urls[i]).await?;
        }
        Ok(())
    }

    /// Starts attester `i` without waiting for it to answer (a bench times what follows).
    pub fn spawn_attester(&mut self, i: usize) -> Result<(), DevnetError> {
        let name = format!("attester-{}", i + 1);
        let svc = Service::spawn(
            &self.options.work_dir,
            &name,
            "usd1-attester",
            &self.attester_config_path(i),
        )?;
        self.attesters[i] = Some(svc);
        Ok(())
    }

    /// Attester `i`'s store (sled directory).
    pub fn attester_db_path(&self, i: usize) -> PathBuf {
        self.options
            .work_dir
            .join(format!("data/attester-{}", i + 1))
    }

    /// Stops attester `i` abruptly (SIGKILL).
    pub async fn stop_attester(&mut self, i: usize) {
        if let Some(mut svc) = self.attesters[i].take() {
            svc.kill().await;
        }
    }

    pub async fn start_relayer(&mut self) -> Result<(), DevnetError> {
        let svc = Service::spawn(
            &self.options.work_dir,
            "relayer",
            "usd1-relayer",
            &self.relayer_config_path(),
        )?;
        svc.wait_healthy(&self.relayer_url).await?;
        self.relayer = Some(svc);
        Ok(())
    }

    /// Kills the relayer with SIGKILL: no shutdown code runs.
    pub async fn kill_relayer(&mut self) {
        if let Some(mut svc) = self.relayer.take() {
            svc.kill().await;
        }
    }

    /// Kills every process (anvil included, when the Devnet is dropped).
    pub async fn stop(mut self) {
        if let Some(mut p) = self.prometheus.take() {
            p.kill().await;
        }
        self.kill_relayer().await;
        for mut r in std::mem::take(&mut self.extra_relayers) {
            r.kill().await;
        }
        for i in 0..self.attesters.len() {
            self.stop_attester(i).await;
        }
    }

    pub fn log_dir(&self) -> PathBuf {
        self.options.work_dir.join("logs")
    }
}

fn write_toml<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), DevnetError> {
    // Solana as a `kind = "solana"` entry of `chains`, as configs are written today.
    let text = usd1_config::to_toml(value).map_err(setup)?;
    std::fs::write(path, text).map_err(setup)
}

fn start_anvil(
    work_dir: &Path,
    name: &str,
    port: u16,
    chain_id: u64,
) -> Result<Service, DevnetError> {
    let anvil = crate::process::anvil_path();
    let log = std::fs::File::create(work_dir.join("logs").join(format!("anvil-{name}.log")))
        .map_err(setup)?;
    let child = tokio::process::Command::new(&anvil)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--chain-id",
            &chain_id.to_string(),
        ])
        .args(["--accounts", "10", "--balance", "100000"])
        // Old states anvil spills to disk go under the work dir (not ~/.foundry, where a killed
        // anvil leaves them behind), and at most this many.
        .arg("--cache-path")
        .arg(work_dir.join(format!("anvil-{name}-states")))
        .args(["--max-persisted-states", "2000"])
        .stdout(log.try_clone().map_err(setup)?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            DevnetError::Setup(format!(
                "cannot start {}: {e} (run `npm ci` at the repo root)",
                anvil.display()
            ))
        })?;
    Ok(Service::from_child(name, child))
}
