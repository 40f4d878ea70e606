//! What the members of one batch share while each follows the batch's transaction within a
//! tick: its status and, once final, what it skipped, each read from the chain once per tick
//! instead of once per member (a batch's receipt holds every member's logs), and its
//! re-broadcast, sent once per tick instead of once per member. A 2,000-message backlog in
//! batches of 20 asked anvil for receipts 7,778 times and re-sent transactions it already had
//! 2,647 times (each a signature recovery on the node), on the node whose CPU was the limit
//! (docs/benchmarks.md). Kept for one tick only: the next tick reads the chain again, as
//! each member would have; a member about to act on "not landed" reads afresh. Keyed by the
//! transaction's hash alone: only EVM destinations take batches, and there a status does not
//! depend on a try's `valid_until` (a Solana blockhash's expiry would).

use std::collections::HashMap;
use std::sync::Mutex;
use usd1_core::traits::TxStatus;
use usd1_core::Domain;

#[derive(Default)]
pub struct SharedTxs(Mutex<HashMap<String, Seen>>);

#[derive(Default)]
struct Seen {
    status: Option<TxStatus>,
    skipped: Option<Vec<(Domain, u64)>>,
    sent: bool,
}

impl SharedTxs {
    /// A new tick: nothing read or sent yet.
    pub fn new_tick(&self) {
        self.lock().clear();
    }

    /// The status another member read for `tx` in this tick.
    pub fn status(&self, tx: &str) -> Option<TxStatus> {
        self.lock().get(tx)?.status.clone()
    }

    pub fn remember_status(&self, tx: &str, status: &TxStatus) {
        self.lock().entry(tx.to_string()).or_default().status = Some(status.clone());
    }

    /// What `tx` skipped, as another member read it in this tick.
    pub fn skipped(&self, tx: &str) -> Option<Vec<(Domain, u64)>> {
        self.lock().get(tx)?.skipped.clone()
    }

    pub fn remember_skipped(&self, tx: &str, skipped: &[(Domain, u64)]) {
        self.lock().entry(tx.to_string()).or_default().skipped = Some(skipped.to_vec());
    }

    /// Whether `tx` is still to be sent again in this tick; counts it as sent.
    pub fn resend_due(&self, tx: &str) -> bool {
        !std::mem::replace(
            &mut self.lock().entry(tx.to_string()).or_default().sent,
            true,
        )
    }

    /// The re-send of `tx` failed: another member may try it in this tick.
    pub fn resend_failed(&self, tx: &str) {
        if let Some(seen) = self.lock().get_mut(tx) {
            seen.sent = false;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Seen>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_shared_within_a_tick_and_read_again_in_the_next() {
        let shared = SharedTxs::default();
        assert_eq!(shared.status("0x01"), None);
        shared.remember_status("0x01", &TxStatus::Unknown);
        assert_eq!(shared.status("0x01"), Some(TxStatus::Unknown));
        assert_eq!(shared.status("0x02"), None, "another transaction");
        shared.new_tick();
        assert_eq!(shared.status("0x01"), None, "the next tick reads the chain");
    }

    #[test]
    fn a_transaction_is_resent_once_per_tick_whichever_member_asks() {
        let shared = SharedTxs::default();
        assert!(shared.resend_due("0x01"));
        assert!(!shared.resend_due("0x01"), "another member, same tick");
        assert!(shared.resend_due("0x02"), "another transaction");
        shared.new_tick();
        assert!(shared.resend_due("0x01"), "the next tick");
        shared.resend_failed("0x01");
        assert!(
            shared.resend_due("0x01"),
            "a failed re-send: another member tries"
        );
    }
}
