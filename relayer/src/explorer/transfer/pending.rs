//! The timeline of a burn the relayer has not recorded yet (not final on its source chain).

use super::{phase, stage, utc, TransferQuery};
use crate::explorer::onchain::OnChain;
use crate::explorer::{usd1, Explorer, LOOK_TIMEOUT};
use alloy::primitives::B256;
use serde_json::{json, Value};
use std::str::FromStr;
use usd1_core::{Domain, Message};
use usd1_solana::solana_sdk::signature::Signature;

impl Explorer {
    /// A burn the relayer has not recorded (it records final burns only).
    pub(super) async fn pending_view(&self, h: &B256, q: TransferQuery) -> Value {
        let hash = format!("{h:#x}");
        let answers = self.attester_answers(h).await;
        let seen = answers
            .iter()
            .any(|a| a.status != "unseen" && a.status != "unreachable");
        let mut message: Option<Message> = None;
        let mut burned = stage(
            "burned",
            "Burned".into(),
            "active",
            "looking for the burn on its source chain".into(),
        );
        let mut fin = stage(
            "source-final",
            "Final on the source chain".into(),
            "waiting",
            String::new(),
        );
        let mut source_domain = q.source.map(Domain);
        if let (Some(d), Some(tx)) = (source_domain, q.tx.as_deref()) {
            fin["label"] = json!(format!("Final on {}", self.chain_name(d)));
            if let Some(chain) = self.evm.iter().position(|c| c.domain == d) {
                if let Ok(txh) = B256::from_str(tx) {
                    if let Some(OnChain::Mined {
                        block, messages, ..
                    }) = self.find_evm_tx(txh).await
                    {
                        message = messages.into_iter().find(|m| m.hash() == *h);
                        if message.is_some() {
                            burned["status"] = json!("done");
                            burned["detail"] =
                                json!(format!("in block {block} on {}", self.chain_name(d)));
                            burned["txs"] = json!([self.tx(d, tx)]);
                            match self.evm_finality(chain, block).await {
                                Some(f) => {
                                    fin["status"] =
                                        json!(if f.is_final { "done" } else { "active" });
                                    fin["detail"] = json!(if f.is_final {
                                        format!(
                                            "{}; the relayer picks it up on its next poll",
                                            f.text
                                        )
                                    } else {
                                        f.text
                                    });
                                    fin["etaSeconds"] = json!(f.eta_s.map(|s| s.ceil()));
                                }
                                None => {
                                    fin["status"] = json!("active");
                                    fin["detail"] =
                                        json!(format!("{} did not answer", self.chain_name(d)));
                                }
                            }
                        }
                    }
                }
            } else if let (Some(s), Ok(sig)) = (&self.solana, Signature::from_str(tx)) {
                if s.domain == d {
                    if let Ok(Ok(Some(o))) =
                        tokio::time::timeout(LOOK_TIMEOUT, s.rpc.outcome(&sig)).await
                    {
                        burned["status"] = json!("done");
                        burned["detail"] = json!(format!("in slot {} on {}", o.slot, s.name));
                        burned["txs"] = json!([self.tx(d, tx)]);
                        if o.finalized {
                            fin["status"] = json!("done");
                            fin["detail"] =
                                json!("finalized; the relayer picks it up on its next poll");
                        } else {
                            let eta = self.solana_eta(o.slot).await;
                            fin["status"] = json!("active");
                            fin["detail"] = json!(format!(
                                "landed in slot {}; waiting for finalized commitment",
                                o.slot
                            ));
                            fin["etaSeconds"] = json!(eta.map(|s| s.ceil()));
                        }
                    }
                }
            }
        } else {
            source_domain = None;
        }
        if message.is_none() && burned["status"] != "done" && !seen {
            return json!({
                "status": "not_found",
                "messageHash": hash,
                "note": "Not found: the relayer has no record of this message, no attester has seen \
                         it, and it is not in the given source transaction.",
            });
        }
        if burned["status"] != "done" && seen {
            burned["status"] = json!("done");
            burned["detail"] = json!("seen by the attesters");
            if fin["status"] == "waiting" {
                fin["status"] = json!("active");
                fin["detail"] = json!("the attesters are waiting for it to be final");
            }
        }
        let destination = message.as_ref().map(|m| m.destination_domain);
        let set = match destination {
            Some(d) => self.attester_set(d).await,
            None => None,
        };
        let (detail, held) = self.attester_stage_detail(&answers, &set);
        let mut attested = stage("attested", "Attested".into(), "waiting", detail);
        if let Some(until) = held {
            attested["status"] = json!("held");
            attested["detail"] = json!(format!(
                "held by the governor until {} UTC; {}",
                utc(until),
                attested["detail"].as_str().unwrap_or("")
            ));
        } else if fin["status"] == "done" {
            attested["status"] = json!("active");
        }
        let dest_name = destination
            .map(|d| self.chain_name(d))
            .unwrap_or_else(|| "the destination".into());
        let stages = vec![
            burned,
            fin,
            attested,
            stage(
                "submitted",
                format!("Submitted to {dest_name}"),
                "waiting",
                String::new(),
            ),
            stage(
                "minted",
                format!("Minted on {dest_name}"),
                "waiting",
                String::new(),
            ),
            stage(
                "final",
                format!("Final on {dest_name}"),
                "waiting",
                String::new(),
            ),
        ];
        let body = message.as_ref().and_then(|m| m.burn_body().ok());
        json!({
            "status": "pending",
            "messageHash": hash,
            "transfer": {
                "messageHash": hash,
                "state": "not_final",
                "sourceDomain": source_domain,
                "sourceChain": source_domain.map(|d| self.chain_name(d)),
                "destinationDomain": destination,
                "destinationChain": destination.map(|d| self.chain_name(d)),
                "nonce": message.as_ref().map(|m| m.nonce),
                "amount": body.as_ref().map(|b| usd1(b.amount)),
                "sender": match (&body, source_domain) { (Some(b), Some(d)) => Some(self.word(d, &b.message_sender)), _ => None },
                "recipient": match (&body, destination) { (Some(b), Some(d)) => Some(self.word(d, &b.mint_recipient)), _ => None },
                "sourceTx": match (source_domain, q.tx.as_deref()) { (Some(d), Some(t)) => Some(self.tx(d, t)), _ => None },
                "stages": stages,
                "phase": phase(&stages),
                "terminal": false,
                "replacements": [],
            },
            "note": "Not final on its source chain yet: the relayer records a burn once it is final.",
        })
    }
}
