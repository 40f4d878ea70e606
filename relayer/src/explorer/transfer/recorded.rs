//! The timeline of a transfer the relayer has recorded: from its history, the stored
//! attestation and the destination.

use super::{phase, stage, utc};
use crate::explorer::{summary, usd1, Explorer, LOOK_TIMEOUT};
use alloy::primitives::{Address, B256, U256};
use serde_json::{json, Value};
use usd1_core::traits::TxStatus;
use usd1_core::{format_amount, Message, MessageRecord, MessageState, Signature65};

impl Explorer {
    pub(super) async fn recorded_view(&self, h: &B256, r: &MessageRecord) -> Value {
        let message = Message::decode_hex(&r.message).ok();
        let body = message.as_ref().and_then(|m| m.burn_body().ok());
        let (src, dst) = (r.source_domain, r.destination_domain);
        let dest_name = self.chain_name(dst);
        let src_name = self.chain_name(src);
        let state = &r.state;
        let terminal = state.is_terminal();
        let has_history = |s: &str| r.history.iter().any(|e| e.state == s);
        let first_at = |s: &str| r.history.iter().find(|e| e.state == s).map(|e| e.at_ms);
        let set = self.attester_set(dst).await;

        // Burned, final on the source: the relayer records final burns only.
        let mut burned = stage(
            "burned",
            "Burned".into(),
            "done",
            format!(
                "on {src_name}, {} {}",
                if self.is_solana(src) { "slot" } else { "block" },
                r.source_block
            ),
        );
        burned["atMs"] = json!(r.burned_at_ms);
        burned["txs"] = json!([self.tx(src, &r.source_tx)]);
        let mut fin = stage(
            "source-final",
            format!("Final on {src_name}"),
            "done",
            format!("final under {}", self.finality_text(src)),
        );
        fin["atMs"] = json!(r.observed_at_ms);

        // Attested: which signatures the stored attestation carries, or the attesters' word.
        let mut attested = stage("attested", "Attested".into(), "waiting", String::new());
        if let Some(a) = &r.attestation {
            let signers: Vec<Address> = alloy::hex::decode(a.trim_start_matches("0x"))
                .unwrap_or_default()
                .chunks(65)
                .filter_map(|c| Signature65::parse(c).ok())
                .filter_map(|s| s.recover(h).ok())
                .collect();
            // Which configured attester each signer is: learnt from their answers.
            if signers.iter().any(|s| !self.knows_signer(s)) {
                self.attester_answers(h).await;
            }
            let signers: Vec<String> = signers.iter().map(|s| self.attester_label(s)).collect();
            let n = match &set {
                Some((s, _)) if !s.is_empty() => s.len(),
                _ => self.attesters.len(),
            };
            attested["status"] = json!("done");
            attested["detail"] = json!(format!(
                "{} of {n} attesters: {}",
                signers.len(),
                signers.join(", ")
            ));
            attested["atMs"] = json!(first_at("attested").or(Some(r.attested_at_ms)));
        } else if matches!(state, MessageState::Delivered) {
            attested["status"] = json!("done");
            attested["detail"] =
                json!("not needed by this relayer: the destination had received it already");
        } else if !terminal {
            let answers = self.attester_answers(h).await;
            let (detail, held) = self.attester_stage_detail(&answers, &set);
            attested["status"] = json!("active");
            attested["detail"] = json!(detail);
            if let Some(until) = held {
                attested["status"] = json!("held");
                attested["detail"] = json!(format!(
                    "held by the governor until {} UTC; {detail}",
                    utc(until)
                ));
            }
        }

        // Submitted: every delivery transaction of ours (replacements and fillers marked).
        let mut submitted = stage(
            "submitted",
            format!("Submitted to {dest_name}"),
            "waiting",
            String::new(),
        );
        let live = match state {
            MessageState::Submitted { tx_hash } | MessageState::Confirmed { tx_hash } => {
                match self.destinations.get(&dst) {
                    Some(d) => tokio::time::timeout(LOOK_TIMEOUT, d.tx_status(tx_hash, None))
                        .await
                        .ok()
                        .and_then(Result::ok),
                    None => None,
                }
            }
            _ => None,
        };
        let fee = |wei: u128| {
            if self.is_solana(dst) {
                format!("{} SOL", format_amount(U256::from(wei), 9))
            } else {
                format!("{} ETH", format_amount(U256::from(wei), 18))
            }
        };
        if !r.sent_txs.is_empty() {
            submitted["status"] = json!("done");
            submitted["txs"] = json!(r
                .sent_txs
                .iter()
                .map(|t| {
                    let mut v = self.tx(dst, t);
                    v["filler"] = json!(r.filler_txs.contains(t));
                    v
                })
                .collect::<Vec<_>>());
            let mut detail = match r.sent_txs.len() {
                1 => "one transaction".to_string(),
                n => {
                    format!("{n} transactions (each replacing the one before, same account nonce)")
                }
            };
            if let Some(TxStatus::Included { fee_paid, .. }) = &live {
                detail.push_str(&format!("; fee {}", fee(*fee_paid)));
            }
            submitted["detail"] = json!(detail);
            submitted["atMs"] = json!(first_at("submitted"));
        } else if matches!(state, MessageState::Delivered) {
            submitted["status"] = json!("done");
            submitted["detail"] = json!("by someone else (another relayer or the user)");
        } else if matches!(state, MessageState::Attested) {
            submitted["status"] = json!("active");
            submitted["detail"] = json!("checking the destination and sending");
        }

        // Minted (landed), then final on the destination.
        let mut minted = stage(
            "minted",
            format!("Minted on {dest_name}"),
            "waiting",
            String::new(),
        );
        let mut final_ = stage(
            "final",
            format!("Final on {dest_name}"),
            "waiting",
            String::new(),
        );
        let included = match &live {
            Some(TxStatus::Included {
                success: true,
                block,
                ..
            }) => Some(*block),
            _ => None,
        };
        let confirmations = match included {
            Some(block) => self.confirmations(dst, block).await,
            None => None,
        };
        let landed = has_history("included")
            || included.is_some()
            || matches!(
                state,
                MessageState::Confirmed { .. } | MessageState::Delivered
            );
        if landed {
            minted["status"] = json!("done");
            minted["atMs"] = json!(first_at("included")
                .or_else(|| first_at("confirmed"))
                .or_else(|| first_at("delivered")));
            minted["detail"] = json!(match (&included, state) {
                (Some(block), _) => format!(
                    "{} USD1 in {} {block}",
                    body.as_ref().map(|b| usd1(b.amount)).unwrap_or_default(),
                    if self.is_solana(dst) { "slot" } else { "block" }
                ),
                (None, MessageState::Delivered) => "received on the destination".to_string(),
                _ => r
                    .history
                    .iter()
                    .find(|e| e.state == "included")
                    .and_then(|e| e.detail.clone())
                    .unwrap_or_else(|| "minted".into()),
            });
            if let Some(tx) = state.tx_hash().or(r
                .history
                .iter()
                .find(|e| e.state == "included")
                .and_then(|e| e.tx_hash.as_deref()))
            {
                minted["txs"] = json!([self.tx(dst, tx)]);
            }
        } else if matches!(state, MessageState::Submitted { .. }) {
            minted["status"] = json!("active");
            minted["detail"] = json!("waiting for the transaction to land");
        }
        match state {
            MessageState::Confirmed { .. } => {
                final_["status"] = json!("done");
                final_["detail"] = json!(match confirmations {
                    Some((k, _)) => {
                        format!("{k} confirmations (final at {})", self.finality_text(dst))
                    }
                    None => format!("final under {}", self.finality_text(dst)),
                });
                final_["atMs"] = json!(first_at("confirmed"));
            }
            MessageState::Delivered => {
                final_["status"] = json!("done");
                final_["detail"] = json!(r
                    .history
                    .iter()
                    .rev()
                    .find(|e| e.state == "delivered")
                    .and_then(|e| e.detail.clone())
                    .unwrap_or_else(|| "received on the destination".into()));
                final_["atMs"] = json!(first_at("delivered"));
            }
            _ if landed => {
                final_["status"] = json!("active");
                final_["detail"] = json!(match confirmations {
                    Some((k, n)) => format!(
                        "{k} of {n} confirmations; final under {}",
                        self.finality_text(dst)
                    ),
                    _ => format!("waiting for {}", self.finality_text(dst)),
                });
            }
            _ => {}
        }
        let mut stages = vec![burned, fin, attested, submitted, minted, final_];
        // Skipped or failed: the first stage not reached carries the reason.
        let outcome = match state {
            MessageState::Skipped { reason } => Some(("skipped", reason.clone())),
            MessageState::Failed { reason } => Some(("failed", reason.clone())),
            _ => None,
        };
        if let Some((kind, reason)) = &outcome {
            if let Some(s) = stages.iter_mut().find(|s| s["status"] != "done") {
                s["status"] = json!(kind);
                s["detail"] = json!(reason);
            }
            for s in stages
                .iter_mut()
                .filter(|s| s["status"] == "waiting" || s["status"] == "active")
            {
                s["status"] = json!("not_reached");
            }
        }
        let replacements: Vec<Value> = self
            .store
            .by_nonce(src, r.nonce)
            .await
            .unwrap_or_default()
            .iter()
            .filter(|o| o.message_hash != r.message_hash)
            .map(|o| summary(self, o))
            .collect();
        json!({
            "status": "found",
            "messageHash": r.message_hash,
            "transfer": {
                "messageHash": r.message_hash,
                "state": state.name(),
                "sourceDomain": src,
                "sourceChain": src_name,
                "destinationDomain": dst,
                "destinationChain": dest_name,
                "nonce": r.nonce,
                "amount": body.as_ref().map(|b| usd1(b.amount)),
                "sender": body.as_ref().map(|b| self.word(src, &b.message_sender)),
                "recipient": body.as_ref().map(|b| self.word(dst, &b.mint_recipient)),
                "sourceTx": self.tx(src, &r.source_tx),
                "stages": stages,
                "phase": phase(&stages),
                "terminal": terminal,
                "outcome": outcome.map(|(k, reason)| json!({ "kind": k, "reason": reason })),
                "lastError": r.last_error,
                "refusals": r.refusals,
                "replacements": replacements,
                "history": r.history,
            },
        })
    }
}
