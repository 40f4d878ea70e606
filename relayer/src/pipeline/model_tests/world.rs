//! The world the model test drives: a relayer (the real `Pipeline` over a real sled store in
//! a directory, reopened after a crash), an EVM-like and a Solana-like destination, and
//! attesters that sign what they have seen final. Applies the generated operations and
//! checks the properties.

use super::chain::{Deliverer, Mode};
use super::destination::ModelChain;
use super::process::Process;
use super::{Dest, Op};
use crate::attesters::SignatureSource;
use crate::feed::new_record;
use crate::pipeline::{Pipeline, Settings, Target};
use crate::policy::RelayPolicy;
use crate::store::Store;
use alloy::signers::{local::PrivateKeySigner, SignerSync};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::sync::Mutex;
use usd1_core::{BurnBody, Domain, Message, MessageRecord, Signature65, B256, U256};

mod properties;

pub use properties::Tally;

pub const EVM: Domain = Domain(6);
pub const SOLANA: Domain = Domain::SOLANA;
/// Source domains and their TokenMessengers.
const SOURCES: [(Domain, B256); 2] = [
    (Domain(0), B256::repeat_byte(0x10)),
    (Domain(1), B256::repeat_byte(0x11)),
];
const EVM_MESSENGER: B256 = B256::repeat_byte(0x16);
const SOLANA_MINT: B256 = B256::repeat_byte(0x15);
/// Unexplained refusals before a message is `Failed` (low, so that path is reached).
pub const MAX_REFUSALS: u32 = 3;
const NEVER: Duration = Duration::from_secs(3600);
/// Rounds of (tick, mine) the quiet phase may take before the queue must be empty.
const SETTLE_ROUNDS: usize = 60;

/// Attesters that sign a message once they have seen its burn final (`attest`).
pub struct ModelAttesters {
    keys: Vec<PrivateKeySigner>,
    signed: StdMutex<HashMap<B256, Vec<Signature65>>>,
}

impl ModelAttesters {
    fn new() -> Self {
        let keys = (1..=3u8)
            .map(|i| PrivateKeySigner::from_bytes(&B256::with_last_byte(i)).unwrap())
            .collect();
        Self {
            keys,
            signed: StdMutex::default(),
        }
    }

    /// Two of the three sign (the threshold): enough, and signatures cost time in a debug
    /// build.
    fn attest(&self, hash: B256) {
        let mut signed = self.signed.lock().unwrap();
        signed.entry(hash).or_insert_with(|| {
            self.keys[..2]
                .iter()
                .map(|k| Signature65::from_signature(&k.sign_hash_sync(&hash).unwrap()).unwrap())
                .collect()
        });
    }
}

#[async_trait]
impl SignatureSource for ModelAttesters {
    async fn collect(&self, hash: &B256) -> Vec<Signature65> {
        self.signed
            .lock()
            .unwrap()
            .get(hash)
            .cloned()
            .unwrap_or_default()
    }
}

fn burn(source: (Domain, B256), to: Domain, nonce: u64, variant: u64) -> Message {
    let recipient = if to == EVM {
        EVM_MESSENGER
    } else {
        SOLANA_MINT
    };
    // A replacement (same source and nonce) differs in its body, so in its hash.
    let body = BurnBody {
        version: 0,
        burn_token: B256::repeat_byte(1),
        mint_recipient: B256::repeat_byte(2),
        amount: U256::from(10_000_000u64 + variant),
        message_sender: B256::repeat_byte(3),
    };
    Message {
        version: 0,
        source_domain: source.0,
        destination_domain: to,
        nonce,
        sender: source.1,
        recipient,
        destination_caller: B256::ZERO,
        body: body.encode(),
    }
}

/// The earlier burn a `u8` names.
fn pick(messages: &[Message], i: u8) -> &Message {
    &messages[i as usize % messages.len()]
}

pub struct World {
    dir: tempfile::TempDir,
    process: Arc<Process>,
    evm: Arc<ModelChain>,
    solana: Arc<ModelChain>,
    attesters: Arc<ModelAttesters>,
    pipeline: Option<Pipeline>,
    messages: Vec<Message>,
    /// The next burn nonce of each source.
    nonces: [u64; 2],
    crashes_mid_tick: u64,
}

/// A directory for sled where fsync costs nothing when there is one (tmpfs), so that the
/// test's many flushes do not dominate its time.
fn store_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("usd1-model-")
            .tempdir_in(shm)
        {
            return dir;
        }
    }
    tempfile::tempdir().unwrap()
}

impl World {
    pub async fn new() -> Self {
        let process = Arc::new(Process::default());
        let attesters = Arc::new(ModelAttesters::new());
        let addresses: Vec<_> = attesters.keys.iter().map(|k| k.address()).collect();
        let chain = |domain, mode| {
            Arc::new(ModelChain::new(
                domain,
                mode,
                process.clone(),
                addresses.clone(),
            ))
        };
        let mut world = Self {
            dir: store_dir(),
            evm: chain(EVM, Mode::Evm),
            solana: chain(SOLANA, Mode::Solana),
            process,
            attesters,
            pipeline: None,
            messages: Vec::new(),
            nonces: [0; 2],
            crashes_mid_tick: 0,
        };
        world.start().await;
        world
    }

    /// Opens the store from its directory and starts a relayer on it, as `main` does.
    async fn start(&mut self) {
        // After a crash, a store call may still be finishing on the blocking pool (begun, it
        // runs to its end): the old handle on the database, and its file lock, go with it.
        let mut db = sled::open(self.dir.path());
        for _ in 0..5000 {
            if db.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            db = sled::open(self.dir.path());
        }
        let db = db.unwrap();
        let target = |chain: &Arc<ModelChain>| Target {
            chain: chain.clone(),
            submit_lock: Mutex::new(()),
            verifier: Mutex::new(None),
        };
        let mut messengers: HashMap<Domain, B256> = SOURCES.into_iter().collect();
        messengers.insert(EVM, EVM_MESSENGER);
        messengers.insert(SOLANA, SOLANA_MINT);
        let pipeline = Pipeline {
            store: Store::open(db).unwrap(),
            targets: HashMap::from([(EVM, target(&self.evm)), (SOLANA, target(&self.solana))]),
            signatures: self.attesters.clone(),
            cosigners: self.solana.clone(),
            settings: Settings {
                max_refusals: MAX_REFUSALS,
                // Every retry and receipt poll is due at the next tick: the test's ticks are
                // its clock.
                retry_base: Duration::ZERO,
                retry_max: Duration::ZERO,
                stuck_after: NEVER,
                receipt_poll: Duration::ZERO,
                max_concurrent_steps: 64,
                steps_per_tick: crate::pipeline::STEPS_PER_TICK,
                // Small, so that batches and single deliveries both happen.
                max_batch: 3,
            },
            names: Default::default(),
            policy: RelayPolicy::new(&Default::default(), messengers).unwrap(),
            deciding: Default::default(),
            shared: Default::default(),
        };
        // `main` retries this until the destinations answer; injected outages are finite.
        let mut synced = false;
        for _ in 0..1000 {
            if pipeline.sync_nonces().await.is_ok() {
                synced = true;
                break;
            }
        }
        assert!(synced, "sync_nonces never succeeded");
        self.pipeline = Some(pipeline);
    }

    fn pipeline(&self) -> &Pipeline {
        self.pipeline.as_ref().unwrap()
    }

    fn chain(&self, d: Dest) -> &ModelChain {
        match d {
            Dest::Evm => &self.evm,
            Dest::Solana => &self.solana,
        }
    }

    fn chain_of(&self, domain: Domain) -> &ModelChain {
        if domain == EVM {
            &self.evm
        } else {
            &self.solana
        }
    }

    async fn tick(&self, interleave: u64) {
        self.process.interleave(interleave);
        self.pipeline().tick().await.unwrap();
        self.process.interleave(0);
    }

    pub async fn apply(&mut self, op: &Op) {
        match op {
            Op::Burn {
                source,
                to,
                replaces,
                attested,
            } => {
                let (source, nonce, to) = match replaces.filter(|_| !self.messages.is_empty()) {
                    Some(i) => {
                        let original = pick(&self.messages, i);
                        let source = SOURCES.iter().find(|s| s.0 == original.source_domain);
                        (
                            *source.unwrap(),
                            original.nonce,
                            original.destination_domain,
                        )
                    }
                    None => {
                        let s = *source as usize % SOURCES.len();
                        self.nonces[s] += 1;
                        let to = if *to == Dest::Evm { EVM } else { SOLANA };
                        (SOURCES[s], self.nonces[s], to)
                    }
                };
                let m = burn(source, to, nonce, self.messages.len() as u64);
                let record = new_record(&m, &m.encode(), "0x00", 1, 0);
                self.pipeline().store.observe(&record).await.unwrap();
                if *attested {
                    self.attesters.attest(m.hash());
                }
                self.messages.push(m);
            }
            Op::Attest(i) if !self.messages.is_empty() => {
                self.attesters.attest(pick(&self.messages, *i).hash());
            }
            Op::OtherDelivers(i) if !self.messages.is_empty() => {
                let m = pick(&self.messages, *i);
                let mut chain = self.chain_of(m.destination_domain).state();
                chain
                    .used
                    .entry((m.source_domain, m.nonce))
                    .or_insert(Deliverer::Other);
            }
            Op::Attest(_) | Op::OtherDelivers(_) => {}
            Op::Tick { interleave } => self.tick(*interleave).await,
            Op::StuckTimeout { interleave } => {
                // As if `stuck_after` passed since every pending transaction was sent.
                self.pipeline.as_mut().unwrap().settings.stuck_after = Duration::ZERO;
                self.tick(*interleave).await;
                self.pipeline.as_mut().unwrap().settings.stuck_after = NEVER;
            }
            Op::Mine {
                chain,
                include,
                drop_mask,
            } => self
                .chain(*chain)
                .state()
                .mine(*include as usize, *drop_mask),
            Op::RpcFailures {
                chain,
                calls,
                lands,
            } => {
                let mut s = self.chain(*chain).state();
                s.faults.rpc_failures += *calls as u32;
                s.faults.failed_broadcast_lands = *lands;
            }
            Op::Refuse(chain) => self.chain(*chain).state().faults.refused_dry_runs += 1,
            Op::Revert(chain) => self.chain(*chain).state().faults.reverted_landings += 1,
            Op::ExpireBlockhashes => self.solana.state().expire_blockhashes(),
            Op::Pause(on) => self.evm.state().paused = *on,
            Op::Crash { at_call } => self.crash(*at_call).await,
        }
    }

    /// The process dies (in a tick, at the chain call after `at_call` ones; or between
    /// ticks) and a new one starts on the same store directory.
    async fn crash(&mut self, at_call: Option<u8>) {
        if let Some(calls) = at_call {
            self.process.arm_crash(calls as u32);
            let p = self.pipeline.as_ref().unwrap();
            tokio::select! {
                biased;
                done = p.tick() => { done.unwrap(); }
                _ = self.process.died() => self.crashes_mid_tick += 1,
            }
        }
        self.pipeline = None;
        self.process.restart();
        self.start().await;
    }

    async fn records(&self) -> Vec<MessageRecord> {
        let all = self.pipeline().store.scan(None, usize::MAX, |_| true);
        all.await.unwrap()
    }

    async fn active(&self) -> Vec<MessageRecord> {
        self.pipeline().store.active().await.unwrap()
    }

    async fn stored_nonce(&self) -> u64 {
        let stored = self.pipeline().store.next_nonce(EVM).await;
        stored.unwrap().unwrap_or(0)
    }

    /// The quiet phase: no more faults, every burn attested, blocks mined and the queue
    /// ticked until it is empty (or the bound says something is stuck).
    pub async fn settle(&mut self) -> Result<(), String> {
        for chain in [&self.evm, &self.solana] {
            let mut s = chain.state();
            s.faults = Default::default();
            s.paused = false;
        }
        for m in &self.messages {
            self.attesters.attest(m.hash());
        }
        for _ in 0..SETTLE_ROUNDS {
            self.tick(0).await;
            self.check().await?;
            if self.active().await.is_empty() {
                return self.check_final().await;
            }
            for chain in [&self.evm, &self.solana] {
                chain.state().mine(usize::MAX, 0);
            }
        }
        let stuck: Vec<String> = self
            .active()
            .await
            .iter()
            .map(|r| format!("{} {:?} ({:?})", r.message_hash, r.state, r.last_error))
            .collect();
        Err(format!(
            "not settled after {SETTLE_ROUNDS} quiet rounds: {}",
            stuck.join("; ")
        ))
    }
}
