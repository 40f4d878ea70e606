//! Agave's test validator (tools/solana-validator) as a devnet process.

use crate::error::{setup, DevnetError};
use crate::process::{wait_until, Service};
use std::path::{Path, PathBuf};
use std::time::Duration;
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::signature::{read_keypair_file, Keypair};

/// `USD1_SOLANA_VALIDATOR`, or where deploy/setup.sh builds it.
pub fn validator_path() -> PathBuf {
    if let Some(p) = std::env::var_os("USD1_SOLANA_VALIDATOR") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/usd1-bridge/validator-target/release/usd1-solana-validator")
}

/// How many ports from the RPC port up the validator binds (see tools/solana-validator).
pub const PORTS: u16 = 34;

/// A base port with the `PORTS` ports above it free on 127.0.0.1 (TCP and UDP) right now.
pub fn free_port_block() -> Result<u16, DevnetError> {
    let seed = std::process::id() as u16;
    for attempt in 0..200u16 {
        let base = 20_000
            + (seed
                .wrapping_mul(97)
                .wrapping_add(attempt.wrapping_mul(211))
                % 400)
                * 100;
        let free = (base..base + PORTS).all(|p| {
            std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
                && std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()
        });
        if free {
            return Ok(base);
        }
    }
    Err(DevnetError::Setup(
        "no free block of ports for the Solana validator".into(),
    ))
}

pub struct SolanaValidator {
    pub rpc_url: String,
    /// The genesis account holding the cluster's SOL: funds everything on the devnet.
    pub faucet: Keypair,
    _process: Service,
}

impl SolanaValidator {
    pub(crate) fn kill_blocking(&mut self) {
        self._process.kill_blocking();
    }

    pub async fn start(work_dir: &Path, rpc_port: u16) -> Result<Self, DevnetError> {
        let ledger = work_dir.join("solana-ledger");
        let _ = std::fs::remove_dir_all(&ledger);
        std::fs::create_dir_all(work_dir.join("keys")).map_err(setup)?;
        std::fs::create_dir_all(work_dir.join("logs")).map_err(setup)?;
        let faucet_path = work_dir.join("keys/solana-faucet.json");
        let bin = validator_path();
        let log =
            std::fs::File::create(work_dir.join("logs/solana-validator.log")).map_err(setup)?;
        let child = tokio::process::Command::new(&bin)
            .arg("--ledger")
            .arg(&ledger)
            .args(["--rpc-port", &rpc_port.to_string()])
            .arg("--mint-keypair")
            .arg(&faucet_path)
            .stdout(log.try_clone().map_err(setup)?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                DevnetError::Setup(format!(
                    "cannot start {}: {e} (build it: see tools/solana-validator/README.md; deploy/setup.sh does)",
                    bin.display()
                ))
            })?;
        let process = Service::from_child("solana-validator", child);
        let rpc_url = format!("http://127.0.0.1:{rpc_port}");
        let rpc = SolanaRpc::new(&rpc_url);
        wait_until(
            Duration::from_secs(90),
            "the Solana validator to be healthy",
            || rpc.healthy(),
        )
        .await?;
        // Genesis programs (SPL Token, ATA, Memo) can be invoked only once the cluster has
        // moved past its first slots.
        wait_until(
            Duration::from_secs(30),
            "the Solana validator's slot 2",
            || async { rpc.client().get_slot().await.is_ok_and(|slot| slot >= 2) },
        )
        .await?;
        let faucet = read_keypair_file(&faucet_path)
            .map_err(|e| setup(format!("{}: {e}", faucet_path.display())))?;
        Ok(Self {
            rpc_url,
            faucet,
            _process: process,
        })
    }
}

/// The devnet's Solana side: the validator, the bridge mint (authority: a multisig of the
/// attesters' ed25519 keys), the claim authority.
pub struct SolanaNet {
    pub validator: SolanaValidator,
    pub bridge: crate::bridge_mint::BridgeMint,
    pub attester_keys: Vec<Keypair>,
    pub claim_authority: Keypair,
    /// Claim authorities retired by `Devnet::rotate_claim_authority`, oldest first.
    pub retired: Vec<usd1_solana::Pubkey>,
    /// A user holding SOL and USD1 on Solana (minted at setup by the multisig, as issuance).
    pub user: Keypair,
    /// Pays the relayer's mint transactions (funded at setup).
    pub relayer_payer: Keypair,
    /// (caller name, bearer token) the attesters accept on `/v1/solana/cosign`: `relayer`
    /// (the devnet's relayer) and `operator` (extra relayers, and tests acting as a relayer).
    /// Random per devnet.
    pub cosign_tokens: Vec<(String, String)>,
}

/// The co-sign caller of the devnet's own relayer.
pub const RELAYER_CALLER: &str = "relayer";
/// The co-sign caller of extra relayers and of tests that play the relayer.
pub const OPERATOR_CALLER: &str = "operator";

fn random_token() -> String {
    // 32 bytes from the OS's generator (an ed25519 secret), as 64 hex characters.
    hex::encode(Keypair::new().secret_bytes())
}

impl SolanaNet {
    pub async fn start(
        work_dir: &Path,
        rpc_port: u16,
        attesters: usize,
        threshold: u64,
    ) -> Result<Self, DevnetError> {
        use usd1_solana::solana_sdk::signature::Signer;
        let validator = SolanaValidator::start(work_dir, rpc_port).await?;
        let rpc = SolanaRpc::new(&validator.rpc_url);
        let attester_keys: Vec<Keypair> = (0..attesters).map(|_| Keypair::new()).collect();
        let members: Vec<_> = attester_keys.iter().map(|k| k.pubkey()).collect();
        let m = u8::try_from(threshold).map_err(setup)?;
        let bridge = crate::bridge_mint::create_bridge_mint(
            &rpc,
            &validator.faucet,
            &members,
            m,
            &validator.faucet.pubkey(),
        )
        .await
        .map_err(setup)?;
        let user = Keypair::new();
        let signers: Vec<&Keypair> = attester_keys.iter().take(m as usize).collect();
        issue_on_solana(
            &rpc,
            &validator.faucet,
            &bridge,
            &signers,
            &user.pubkey(),
            1_000_000_000_000,
        )
        .await?;
        let relayer_payer = Keypair::new();
        issue_on_solana(
            &rpc,
            &validator.faucet,
            &bridge,
            &signers,
            &relayer_payer.pubkey(),
            0,
        )
        .await?;
        Ok(Self {
            validator,
            bridge,
            attester_keys,
            claim_authority: Keypair::new(),
            retired: Vec::new(),
            user,
            relayer_payer,
            cosign_tokens: [RELAYER_CALLER, OPERATOR_CALLER]
                .iter()
                .map(|name| (name.to_string(), random_token()))
                .collect(),
        })
    }

    /// The bearer token of co-sign caller `name` (`RELAYER_CALLER` or `OPERATOR_CALLER`).
    pub fn cosign_token(&self, name: &str) -> &str {
        self.cosign_tokens
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
            .unwrap_or_else(|| panic!("no co-sign caller {name}"))
    }

    /// Writes caller `name`'s token to keys/cosign-<name>.token (owner-only) and returns
    /// the path.
    fn write_token(&self, work_dir: &Path, name: &str) -> Result<PathBuf, DevnetError> {
        let path = work_dir.join("keys").join(format!("cosign-{name}.token"));
        std::fs::write(&path, format!("{}\n", self.cosign_token(name))).map_err(setup)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(setup)?;
        }
        Ok(path)
    }

    /// Registers Solana (domain 5) on an EVM messenger: the mint is its remote messenger and
    /// remote token (DESIGN §4).
    pub async fn register_on(
        &self,
        admin: &alloy::providers::DynProvider,
        d: &crate::contracts::Deployment,
    ) -> Result<(), DevnetError> {
        let mint = alloy::primitives::B256::from(self.bridge.mint.to_bytes());
        crate::contracts::link_words(admin, d, usd1_core::Domain::SOLANA, mint, mint).await?;
        Ok(())
    }

    /// The `[solana]` section without keys (the CLI's), and the Solana user's keypair file.
    pub fn cli_config(
        &self,
        work_dir: &Path,
    ) -> Result<(usd1_config::SolanaConfig, PathBuf), DevnetError> {
        use usd1_solana::solana_sdk::signature::write_keypair_file;
        let user_file = work_dir.join("keys/solana-user.json");
        write_keypair_file(&self.user, &user_file).map_err(|e| setup(e.to_string()))?;
        let mut config = self.relayer_config(work_dir, RELAYER_CALLER)?;
        config.payer_key_file = None;
        config.claim_authority_key_file = None;
        config.cosign_token_file = None;
        Ok((config, user_file))
    }

    /// The relayer's `[solana]` section: its fee payer and the claim authority (keys
    /// written to keys/), the co-sign token of `caller`, no co-signing key.
    pub fn relayer_config(
        &self,
        work_dir: &Path,
        caller: &str,
    ) -> Result<usd1_config::SolanaConfig, DevnetError> {
        use usd1_solana::solana_sdk::signature::{write_keypair_file, Signer};
        let payer_file = work_dir.join("keys/relayer-solana-payer.json");
        let claim_file = work_dir.join("keys/claim-authority.json");
        write_keypair_file(&self.relayer_payer, &payer_file).map_err(|e| setup(e.to_string()))?;
        write_keypair_file(&self.claim_authority, &claim_file).map_err(|e| setup(e.to_string()))?;
        Ok(usd1_config::SolanaConfig {
            payer_key_file: Some(payer_file),
            claim_authority_key_file: Some(claim_file),
            cosign_token_file: Some(self.write_token(work_dir, caller)?),
            cosign_tokens: vec![],
            cosign_rate_per_s: usd1_solana::conf::default_cosign_rate(),
            name: "solana".into(),
            domain: usd1_core::Domain::SOLANA,
            rpc_urls: vec![self.validator.rpc_url.clone()],
            mint: self.bridge.mint,
            multisig: self.bridge.multisig,
            claim_authority: self.claim_authority.pubkey(),
            retired_claim_authorities: self.retired.clone(),
            cosign_key_file: None,
            poll_interval_ms: 500,
            explorer_tx_url: None,
        })
    }

    /// The `[solana]` section of attester `i`'s config (its key written to keys/).
    pub fn attester_config(
        &self,
        work_dir: &Path,
        i: usize,
    ) -> Result<usd1_config::SolanaConfig, DevnetError> {
        use usd1_solana::solana_sdk::signature::{write_keypair_file, Signer};
        let key_file = work_dir
            .join("keys")
            .join(format!("attester-{}-solana.json", i + 1));
        write_keypair_file(&self.attester_keys[i], &key_file).map_err(|e| setup(e.to_string()))?;
        Ok(usd1_config::SolanaConfig {
            name: "solana".into(),
            domain: usd1_core::Domain::SOLANA,
            rpc_urls: vec![self.validator.rpc_url.clone()],
            mint: self.bridge.mint,
            multisig: self.bridge.multisig,
            claim_authority: self.claim_authority.pubkey(),
            retired_claim_authorities: self.retired.clone(),
            cosign_key_file: Some(key_file),
            payer_key_file: None,
            claim_authority_key_file: None,
            cosign_token_file: None,
            cosign_tokens: self
                .cosign_tokens
                .iter()
                .map(|(name, _)| {
                    Ok(usd1_config::CosignToken {
                        name: name.clone(),
                        token_file: self.write_token(work_dir, name)?,
                    })
                })
                .collect::<Result<_, DevnetError>>()?,
            cosign_rate_per_s: usd1_solana::conf::default_cosign_rate(),
            poll_interval_ms: 500,
            explorer_tx_url: None,
        })
    }
}

/// Funds `wallet` with 1 SOL and mints `amount` USD1 (if not 0) to it with the multisig.
pub async fn issue_on_solana(
    rpc: &SolanaRpc,
    payer: &Keypair,
    bridge: &crate::bridge_mint::BridgeMint,
    signers: &[&Keypair],
    wallet: &usd1_solana::Pubkey,
    amount: u64,
) -> Result<(), DevnetError> {
    use usd1_solana::solana_sdk::signature::Signer;
    use usd1_solana::solana_sdk::transaction::Transaction;
    let transfer = usd1_solana::solana_system_interface::instruction::transfer(
        &payer.pubkey(),
        wallet,
        1_000_000_000,
    );
    let mut ixs = vec![transfer];
    let mut all: Vec<&Keypair> = vec![payer];
    if amount > 0 {
        let ata = usd1_solana::associated_token_address(wallet, &bridge.mint);
        let signer_keys: Vec<usd1_solana::Pubkey> = signers.iter().map(|k| k.pubkey()).collect();
        let signer_refs: Vec<&usd1_solana::Pubkey> = signer_keys.iter().collect();
        ixs.push(usd1_solana::create_ata_idempotent(
            &payer.pubkey(),
            wallet,
            &bridge.mint,
        ));
        ixs.push(
            usd1_solana::spl_token_interface::instruction::mint_to_checked(
                &usd1_solana::token_program(),
                &bridge.mint,
                &ata,
                &bridge.multisig,
                &signer_refs,
                amount,
                6,
            )
            .map_err(setup)?,
        );
        all.extend_from_slice(signers);
    }
    let (blockhash, _) = rpc.blockhash().await.map_err(setup)?;
    let tx = Transaction::new_signed_with_payer(&ixs, Some(&payer.pubkey()), &all, blockhash);
    rpc.client()
        .send_and_confirm_transaction(&tx)
        .await
        .map_err(setup)?;
    Ok(())
}
