//! The properties the model test checks, over the world's relayer store and chains: after
//! every operation, once the quiet phase has settled, and a tally of what happened.

use super::World;
use crate::pipeline::model_tests::chain::{Deliverer, Waste};
use std::collections::{BTreeMap, HashSet};
use usd1_core::{Domain, MessageRecord, MessageState};

/// Counts by what they count.
pub type Tally = BTreeMap<String, u64>;

/// Texts of the pipeline's history details, and what the tally calls them.
const HISTORY_MARKERS: [(&str, &str); 7] = [
    ("in a batch of", "sent in a batch"),
    (
        "was used by another transaction",
        "account nonce lost to another transaction",
    ),
    ("expired before it landed", "rebuilt after blockhash expiry"),
    ("replaced with a higher fee", "replaced with a higher fee"),
    ("filling account nonce", "nonce filler sent"),
    ("reverted; checking again", "revert counted"),
    (
        "someone else",
        "delivered by another (ours not landed or reverted)",
    ),
];

impl World {
    /// What must hold after every operation.
    pub async fn check(&self) -> Result<(), String> {
        for chain in [&self.evm, &self.solana] {
            let s = chain.state();
            if let Some(v) = s.violations.first() {
                return Err(format!("{:?}: {v}", chain.mode));
            }
        }
        for r in self.records().await {
            self.check_record(&r)?;
        }
        let stored = self.stored_nonce().await;
        let mined = self.evm.state().mined_nonce;
        if stored < mined {
            return Err(format!(
                "the stored account nonce {stored} is below the {mined} mined"
            ));
        }
        Ok(())
    }

    /// A record's state agrees with its destination's chain.
    fn check_record(&self, r: &MessageRecord) -> Result<(), String> {
        let chain = self.chain_of(r.destination_domain).state();
        let key = (r.source_domain, r.nonce);
        let by = chain.used.get(&key);
        let ours = |tx: &str| {
            matches!(by, Some(Deliverer::Us { tx: t, message_hash })
                if t == tx && format!("{message_hash:#x}") == r.message_hash)
        };
        match &r.state {
            MessageState::Confirmed { tx_hash } if !ours(tx_hash) => Err(format!(
                "{} is confirmed by {tx_hash}, but the chain has {key:?} delivered by {by:?}",
                r.message_hash
            )),
            MessageState::Delivered if by.is_none() => Err(format!(
                "{} is delivered, but the chain has not received {key:?}",
                r.message_hash
            )),
            state if state.is_terminal() && !matches!(state, MessageState::Confirmed { .. }) => {
                match by {
                    Some(Deliverer::Us { tx, message_hash })
                        if format!("{message_hash:#x}") == r.message_hash =>
                    {
                        Err(format!(
                            "{} ended {} although our {tx} delivered it",
                            r.message_hash,
                            state.name()
                        ))
                    }
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// Every record with its history, for a failure's message.
    pub async fn describe(&self) -> String {
        let mut out = String::new();
        for r in self.records().await {
            out += &format!("\n{} {:?} sent {:?}", r.message_hash, r.state, r.sent_txs);
            for h in &r.history {
                out += &format!("\n    {} {:?} {:?}", h.state, h.tx_hash, h.detail);
            }
        }
        out
    }

    /// What must hold once everything settled.
    pub(super) async fn check_final(&self) -> Result<(), String> {
        let records = self.records().await;
        let keys: HashSet<(Domain, Domain, u64)> = self
            .messages
            .iter()
            .map(|m| (m.destination_domain, m.source_domain, m.nonce))
            .collect();
        for (to, source, nonce) in keys {
            let siblings: Vec<&MessageRecord> = records
                .iter()
                .filter(|r| r.source_domain == source && r.nonce == nonce)
                .collect();
            let confirmed = siblings
                .iter()
                .filter(|r| matches!(r.state, MessageState::Confirmed { .. }))
                .count();
            let received = self
                .chain_of(to)
                .state()
                .used
                .contains_key(&(source, nonce));
            let given_up = siblings
                .iter()
                .all(|r| matches!(r.state, MessageState::Failed { .. }));
            // By anyone: ours found by their receipts, another relayer's by `usedNonces`.
            let landings = self.chain_of(to).state().landings(&(source, nonce));
            if landings > 1 || confirmed > 1 || (!received && !given_up) {
                return Err(format!(
                    "({source:?}, {nonce}): received {received} ({landings} landings), records {:?}",
                    siblings.iter().map(|r| &r.state).collect::<Vec<_>>()
                ));
            }
        }
        let stored = self.stored_nonce().await;
        let evm = self.evm.state();
        if !evm.mempool.is_empty() || stored != evm.mined_nonce {
            return Err(format!(
                "account nonces left unfilled: stored {stored}, mined {}, pending {:?}",
                evm.mined_nonce, evm.mempool
            ));
        }
        Ok(())
    }

    /// What happened in this run, to show the model reaches the paths it is about: how the
    /// messages ended, notable steps of their histories, and what transactions wasted.
    pub async fn tally(&self) -> Tally {
        let mut tally = Tally::new();
        let mut add = |what: String, n: u64| *tally.entry(what).or_default() += n;
        add("crashes mid-tick".into(), self.crashes_mid_tick);
        for r in self.records().await {
            add(format!("ended {}", r.state.name()), 1);
            for h in &r.history {
                let detail = h.detail.as_deref().unwrap_or_default();
                for (marker, what) in HISTORY_MARKERS {
                    if detail.contains(marker) {
                        add(what.to_string(), 1);
                    }
                }
            }
        }
        for chain in [&self.evm, &self.solana] {
            let Waste {
                reverted_as_received,
                reverted_otherwise,
                fillers,
                skipped_in_batches,
            } = chain.state().waste;
            let mode = chain.mode;
            add(
                format!("{mode:?} reverts: already received"),
                reverted_as_received,
            );
            add(
                format!("{mode:?} reverts: injected or paused"),
                reverted_otherwise,
            );
            add(format!("{mode:?} nonce fillers mined"), fillers);
            add(
                format!("{mode:?} batch members skipped as received"),
                skipped_in_batches,
            );
        }
        tally
    }
}
