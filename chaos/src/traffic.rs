//! The users: several EVM users and the Solana user send transfers with random amounts in
//! every direction the devnet has, some replaced with `replaceDepositForBurn`, some delivered
//! by the user itself while the relayer also tries. Each burn's send time is kept for the
//! latency figures; what really happened is read back from the chains at the end.

use crate::error::ChaosError;
use crate::net::SharedNet;
use crate::plan::Plan;
use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use usd1_core::Domain;
use usd1_deploy::client::User;
use usd1_deploy::contracts::{wallet_provider, Deployment};
use usd1_deploy::devnet::ANVIL_KEYS;
use usd1_evm::bindings::{MessageTransmitter, Usd1Token};

/// How long a user waits for anything (a receipt, an attestation) before moving on.
const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Replaced,
    SelfRelayed,
}

/// One burn the run sent (a replacement is a second burn of the same (source, nonce)).
#[derive(Clone, Debug)]
pub struct Sent {
    pub from: String,
    pub to: String,
    pub source: Domain,
    /// The source transaction: an EVM hash or a Solana signature.
    pub source_tx: String,
    pub kind: Kind,
    /// Wall-clock ms when the burn was known included.
    pub sent_at_ms: u64,
}

#[derive(Default, Debug)]
pub struct Traffic {
    pub sent: Vec<Sent>,
    /// Burns that failed to send (a fault on the user's side, a reorg): not counted as sent.
    pub send_errors: Vec<String>,
    pub replacements: usize,
    pub self_relays: usize,
    /// Self-deliveries that landed before the relayer's (the rest lost the race, as expected).
    pub self_relays_landed: usize,
}

#[derive(Clone)]
struct Evm {
    name: String,
    domain: Domain,
    rpc_url: String,
    deployment: Deployment,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Gives the extra users USD1 on every EVM chain (from the devnet's user).
pub async fn fund_users(net: &SharedNet, users: &[PrivateKeySigner]) -> Result<(), ChaosError> {
    let d = net.read().await;
    for c in &d.chains {
        let p = wallet_provider(&c.rpc_url, &d.user)?;
        let token = Usd1Token::new(c.deployment.token, p);
        for u in users {
            token
                .transfer(u.address(), U256::from(100_000_000_000u64))
                .send()
                .await?
                .get_receipt()
                .await?;
        }
    }
    Ok(())
}

pub fn extra_users() -> Result<Vec<PrivateKeySigner>, ChaosError> {
    ANVIL_KEYS[3..]
        .iter()
        .map(|k| k.parse().map_err(ChaosError::Key))
        .collect()
}

/// Runs every user's stream to the end; `plan.transfers` burns in all.
pub async fn run(net: SharedNet, plan: &Plan, users: Vec<PrivateKeySigner>) -> Traffic {
    let (evms, relayer_url, main_user, solana) = {
        let d = net.read().await;
        let evms: Vec<Evm> = d
            .chains
            .iter()
            .map(|c| Evm {
                name: c.name.clone(),
                domain: c.domain,
                rpc_url: c.rpc_url.clone(),
                deployment: c.deployment,
            })
            .collect();
        (
            evms,
            d.relayer_url.clone(),
            d.user.clone(),
            d.solana.is_some(),
        )
    };
    // Streams: the devnet user (EVM ⇄ EVM and toward Solana), a user whose burns are
    // sometimes replaced, one who sometimes self-relays, and the Solana user.
    let solana_share = if solana { plan.transfers / 5 } else { 0 };
    let rest = plan.transfers - solana_share;
    let counts = [rest - 2 * (rest / 3), rest / 3, rest / 3];
    let mut streams = Vec::new();
    let roles = [Role::Main, Role::Replacer, Role::SelfRelayer];
    let keys = [main_user, users[0].clone(), users[1].clone()];
    for (i, role) in roles.into_iter().enumerate() {
        let s = Stream {
            role,
            user: User {
                key: keys[i].clone(),
            },
            evms: evms.clone(),
            relayer_url: relayer_url.clone(),
            solana,
            rng: StdRng::seed_from_u64(plan.seed_of(10 + i as u64)),
            plan: plan.clone(),
            net: net.clone(),
        };
        streams.push(tokio::spawn(s.run(counts[i])));
    }
    if solana {
        let s = Stream {
            role: Role::Solana,
            user: User {
                key: keys[0].clone(),
            },
            evms: evms.clone(),
            relayer_url,
            solana,
            rng: StdRng::seed_from_u64(plan.seed_of(20)),
            plan: plan.clone(),
            net,
        };
        streams.push(tokio::spawn(s.run(solana_share)));
    }
    let mut all = Traffic::default();
    for s in streams {
        match s.await {
            Ok(t) => {
                all.sent.extend(t.sent);
                all.send_errors.extend(t.send_errors);
                all.replacements += t.replacements;
                all.self_relays += t.self_relays;
                all.self_relays_landed += t.self_relays_landed;
            }
            Err(e) => all.send_errors.push(format!("a user stream panicked: {e}")),
        }
    }
    all
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Main,
    Replacer,
    SelfRelayer,
    Solana,
}

struct Stream {
    role: Role,
    user: User,
    evms: Vec<Evm>,
    relayer_url: String,
    solana: bool,
    rng: StdRng,
    plan: Plan,
    net: SharedNet,
}

impl Stream {
    async fn run(mut self, count: usize) -> Traffic {
        let mut t = Traffic::default();
        for _ in 0..count {
            // 1 to 500 USD1, to the cent: well inside the devnet governor's limits.
            let amount = self.rng.gen_range(100u64..=50_000) * 10_000;
            let result = match self.role {
                Role::Solana => self.solana_burn(amount, &mut t).await,
                _ => self.evm_burn(amount, &mut t).await,
            };
            if let Err(e) = result {
                t.send_errors.push(e.to_string());
            }
        }
        t
    }

    async fn solana_burn(&mut self, amount: u64, t: &mut Traffic) -> Result<(), ChaosError> {
        let to = self.evms[self.rng.gen_range(0..self.evms.len())].clone();
        let recipient = Address::from(self.rng.gen::<[u8; 20]>());
        let signature = {
            let d = self.net.read().await;
            tokio::time::timeout(
                PATIENCE,
                usd1_deploy::demo_solana::solana_burn_to(&d, to.domain, recipient, amount),
            )
            .await
            .map_err(|_| ChaosError::Timeout {
                what: "a Solana burn".into(),
                until: "confirmed",
            })??
        };
        t.sent.push(Sent {
            from: "solana".into(),
            to: to.name,
            source: Domain::SOLANA,
            source_tx: signature,
            kind: Kind::Plain,
            sent_at_ms: now_ms(),
        });
        Ok(())
    }

    async fn evm_burn(&mut self, amount: u64, t: &mut Traffic) -> Result<(), ChaosError> {
        let from = self.evms[self.rng.gen_range(0..self.evms.len())].clone();
        let toward_solana = self.role == Role::Main && self.solana && self.rng.gen_bool(0.3);
        let (to_name, to_domain, recipient) = if toward_solana {
            let d = self.net.read().await;
            let sol = d
                .solana
                .as_ref()
                .ok_or(ChaosError::Missing("no Solana side"))?;
            use usd1_solana::solana_sdk::signature::Signer;
            let wallet = B256::from(sol.user.pubkey().to_bytes());
            ("solana".to_string(), Domain::SOLANA, wallet)
        } else {
            let to = self
                .evms
                .iter()
                .find(|c| c.domain != from.domain)
                .cloned()
                .ok_or(ChaosError::Missing("one EVM chain only"))?;
            let r = Address::from(self.rng.gen::<[u8; 20]>());
            (to.name, to.domain, r.into_word())
        };
        let burn = tokio::time::timeout(
            PATIENCE,
            self.user.burn_to(
                &from.rpc_url,
                &from.deployment,
                to_domain,
                recipient,
                U256::from(amount),
            ),
        )
        .await
        .map_err(|_| ChaosError::Timeout {
            what: format!("a burn on {}", from.name),
            until: "mined",
        })??;
        let sent_at_ms = now_ms();
        let mut kind = Kind::Plain;
        if !toward_solana
            && self.role == Role::Replacer
            && self.rng.gen_bool(self.plan.replace_share)
        {
            kind = Kind::Replaced;
        }
        if !toward_solana
            && self.role == Role::SelfRelayer
            && self.rng.gen_bool(self.plan.self_relay_share)
        {
            kind = Kind::SelfRelayed;
        }
        t.sent.push(Sent {
            from: from.name.clone(),
            to: to_name.clone(),
            source: from.domain,
            source_tx: format!("{:#x}", burn.tx_hash),
            kind,
            sent_at_ms,
        });
        match kind {
            Kind::Plain => {}
            Kind::Replaced => {
                let attestation = self.attestation(&burn.message_hash).await?;
                let new_recipient = Address::from(self.rng.gen::<[u8; 20]>()).into_word();
                let replaced = tokio::time::timeout(
                    PATIENCE,
                    self.user.replace_burn(
                        &from.rpc_url,
                        &from.deployment,
                        &burn,
                        &attestation,
                        new_recipient,
                    ),
                )
                .await
                .map_err(|_| ChaosError::Timeout {
                    what: "a replacement".into(),
                    until: "mined",
                })?
                .map_err(ChaosError::Replace)?;
                t.replacements += 1;
                t.sent.push(Sent {
                    from: from.name,
                    to: to_name,
                    source: from.domain,
                    source_tx: format!("{:#x}", replaced.tx_hash),
                    kind: Kind::Replaced,
                    sent_at_ms: now_ms(),
                });
            }
            Kind::SelfRelayed => {
                let attestation = self.attestation(&burn.message_hash).await?;
                let to = self
                    .evms
                    .iter()
                    .find(|c| c.domain == to_domain)
                    .ok_or(ChaosError::Missing("no such EVM chain"))?;
                t.self_relays += 1;
                if self.deliver(to, &burn.raw, &attestation).await {
                    t.self_relays_landed += 1;
                }
            }
        }
        Ok(())
    }

    /// The relayer's aggregated attestation, once it has one (it may be down for a while).
    async fn attestation(&self, hash: &B256) -> Result<Vec<u8>, ChaosError> {
        let url = format!("{}/v1/attestations/{hash:#x}", self.relayer_url);
        let deadline = std::time::Instant::now() + PATIENCE;
        while std::time::Instant::now() < deadline {
            if let Ok(resp) = reqwest::get(&url).await {
                if let Ok(v) = resp.json::<serde_json::Value>().await {
                    if let Some(hex) = v["attestation"].as_str() {
                        if let Ok(bytes) = hex::decode(hex.trim_start_matches("0x")) {
                            return Ok(bytes);
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(ChaosError::NoAttestation {
            hash: *hash,
            within: PATIENCE,
        })
    }

    /// `receiveMessage` from the user; false when it reverted (the relayer was first) or
    /// could not be sent.
    async fn deliver(&self, to: &Evm, raw: &[u8], attestation: &[u8]) -> bool {
        let Ok(p) = self.user.provider(&to.rpc_url) else {
            return false;
        };
        let transmitter = MessageTransmitter::new(to.deployment.transmitter, p);
        let call = transmitter
            .receiveMessage(raw.to_vec().into(), attestation.to_vec().into())
            .gas(300_000);
        let Ok(pending) = call.send().await else {
            return false;
        };
        matches!(
            tokio::time::timeout(PATIENCE, pending.get_receipt()).await,
            Ok(Ok(r)) if r.status()
        )
    }
}
