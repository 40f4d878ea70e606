//! What a chaos run does: how many transfers, kills, faults and reorgs, from one seed.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// CI's: a few minutes (~100 transfers, ~5 kills, 10 % faults, 2 shallow reorgs).
    Short,
    /// docs/reliability.md's: ≥ 1,000 transfers, ≥ 20 kill cycles, 20 % faults, ≥ 5 reorgs.
    Long,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Transfers under kills, RPC faults and reorgs below the finality rule: nothing may be
    /// duplicated or lost.
    Soak,
    /// A source reorg deeper than the finality rule after a burn was attested: the protocol
    /// cannot prevent what follows; the check is that operators are told at once.
    FinalityViolation,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub scenario: Scenario,
    pub seed: u64,
    pub transfers: usize,
    pub kills: usize,
    /// Share of RPC requests answered with a fault (0..1).
    pub fault_rate: f64,
    pub max_delay: Duration,
    pub reorgs: usize,
    pub solana: bool,
    /// Share of EVM → EVM transfers replaced with `replaceDepositForBurn`.
    pub replace_share: f64,
    /// Share of EVM → EVM transfers the user also delivers itself.
    pub self_relay_share: f64,
    /// How long the run may take to go quiet once traffic and faults stop.
    pub quiet_timeout: Duration,
}

impl Plan {
    pub fn of(profile: Profile, scenario: Scenario, seed: u64) -> Self {
        let (transfers, kills, fault_rate, reorgs) = match profile {
            Profile::Short => (100, 5, 0.10, 2),
            Profile::Long => (1000, 24, 0.20, 6),
        };
        Self {
            scenario,
            seed,
            transfers,
            kills,
            fault_rate,
            max_delay: Duration::from_millis(2500),
            reorgs,
            solana: true,
            replace_share: 0.15,
            self_relay_share: 0.2,
            quiet_timeout: Duration::from_secs(match profile {
                Profile::Short => 240,
                Profile::Long => 900,
            }),
        }
    }

    /// The seed of one part of the run, so each part replays on its own.
    pub fn seed_of(&self, part: u64) -> u64 {
        self.seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(part)
    }
}
