//! The relay policy (DESIGN §6): which messages this relayer spends its funds on. By
//! default a burn whose `sender` is the source domain's TokenMessenger (Solana: the mint) and
//! whose `recipient` is the destination's, of at least the route's minimum amount; a message
//! named by the allowlist whatever it is; anything else is skipped before any work is done.

use std::collections::HashMap;
use usd1_config::{parse_word, RelayPolicyConfig};
use usd1_core::{format_amount, Domain, Message, B256, U256, USD1_DECIMALS};
use usd1_runtime::ServiceError;

pub struct RelayPolicy {
    /// Each domain's bridge identity: its TokenMessenger as a word (Solana: the mint).
    messengers: HashMap<Domain, B256>,
    min_amount: U256,
    route_minimums: HashMap<(Domain, Domain), U256>,
    allow: Vec<(Domain, B256, B256)>,
}

impl RelayPolicy {
    /// `messengers`: every configured chain's bridge identity. The config was validated at
    /// load, so its texts parse.
    pub fn new(
        config: &RelayPolicyConfig,
        messengers: HashMap<Domain, B256>,
    ) -> Result<Self, ServiceError> {
        let amount = |text: &str| {
            usd1_core::parse_amount(text, USD1_DECIMALS)
                .map_err(|e| ServiceError::setting("relayer.policy", e.to_string()))
        };
        let word = |text: &str| {
            parse_word(text).ok_or_else(|| {
                ServiceError::setting("relayer.policy.allow", format!("{text:?} is not a word"))
            })
        };
        Ok(Self {
            messengers,
            min_amount: amount(&config.min_amount)?,
            route_minimums: config
                .routes
                .iter()
                .map(|r| Ok(((r.source, r.destination), amount(&r.min_amount)?)))
                .collect::<Result<_, ServiceError>>()?,
            allow: config
                .allow
                .iter()
                .map(|a| Ok((a.source, word(&a.sender)?, word(&a.recipient)?)))
                .collect::<Result<_, ServiceError>>()?,
        })
    }

    /// `None`: relay it. `Some(reason)`: skip it, for that reason.
    pub fn skip_reason(&self, m: &Message) -> Option<String> {
        if self
            .allow
            .iter()
            .any(|(d, s, r)| *d == m.source_domain && *s == m.sender && *r == m.recipient)
        {
            return None;
        }
        let not_allowed = "and it is not on this relayer's allowlist";
        match self.messengers.get(&m.source_domain) {
            Some(messenger) if *messenger == m.sender => {}
            _ => {
                return Some(format!(
                "not a bridge burn: the sender is not domain {}'s TokenMessenger, {not_allowed}",
                m.source_domain
            ))
            }
        }
        match self.messengers.get(&m.destination_domain) {
            Some(messenger) if *messenger == m.recipient => {}
            _ => {
                return Some(format!(
                "not a bridge burn: the recipient is not domain {}'s TokenMessenger, {not_allowed}",
                m.destination_domain
            ))
            }
        }
        let body = match m.burn_body() {
            Ok(b) => b,
            Err(e) => return Some(format!("not a burn message ({e}), {not_allowed}")),
        };
        let minimum = self
            .route_minimums
            .get(&(m.source_domain, m.destination_domain))
            .copied()
            .unwrap_or(self.min_amount);
        (body.amount < minimum).then(|| {
            format!(
                "the amount {} USD1 is below this route's minimum of {} USD1",
                format_amount(body.amount, USD1_DECIMALS),
                format_amount(minimum, USD1_DECIMALS)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use usd1_config::{AllowedMessage, RouteMinimum};
    use usd1_core::BurnBody;

    const MESSENGER_A: B256 = B256::repeat_byte(0xa);
    const MESSENGER_B: B256 = B256::repeat_byte(0xb);

    fn burn(amount: u64) -> Message {
        Message {
            version: 0,
            source_domain: Domain(0),
            destination_domain: Domain(6),
            nonce: 1,
            sender: MESSENGER_A,
            recipient: MESSENGER_B,
            destination_caller: B256::ZERO,
            body: BurnBody {
                version: 0,
                burn_token: B256::repeat_byte(1),
                mint_recipient: B256::repeat_byte(2),
                amount: U256::from(amount),
                message_sender: B256::repeat_byte(3),
            }
            .encode(),
        }
    }

    fn policy(config: RelayPolicyConfig) -> RelayPolicy {
        let messengers = [(Domain(0), MESSENGER_A), (Domain(6), MESSENGER_B)].into();
        RelayPolicy::new(&config, messengers).unwrap()
    }

    #[test]
    fn bridge_burns_at_or_above_the_minimum_are_relayed() {
        let p = policy(RelayPolicyConfig::default());
        assert_eq!(p.skip_reason(&burn(10_000)), None, "0.01 USD1");
        let dust = p.skip_reason(&burn(1)).unwrap();
        assert!(
            dust.contains("0.000001") && dust.contains("minimum"),
            "{dust}"
        );
    }

    #[test]
    fn a_route_minimum_replaces_the_default() {
        let p = policy(RelayPolicyConfig {
            routes: vec![RouteMinimum {
                source: Domain(0),
                destination: Domain(6),
                min_amount: "5".into(),
            }],
            ..Default::default()
        });
        assert!(p.skip_reason(&burn(4_999_999)).is_some());
        assert_eq!(p.skip_reason(&burn(5_000_000)), None);
    }

    #[test]
    fn other_senders_recipients_and_bodies_are_skipped_unless_allowed() {
        let p = policy(RelayPolicyConfig::default());
        let mut other_sender = burn(10_000_000);
        other_sender.sender = B256::repeat_byte(0xee);
        assert!(p.skip_reason(&other_sender).unwrap().contains("sender"));
        let mut other_recipient = burn(10_000_000);
        other_recipient.recipient = B256::repeat_byte(0xee);
        assert!(p
            .skip_reason(&other_recipient)
            .unwrap()
            .contains("recipient"));
        let mut not_burn = burn(10_000_000);
        not_burn.body = vec![1, 2, 3];
        assert!(p.skip_reason(&not_burn).unwrap().contains("not a burn"));
        let mut unknown_destination = burn(10_000_000);
        unknown_destination.destination_domain = Domain(99);
        assert!(p.skip_reason(&unknown_destination).is_some());

        let allowed = policy(RelayPolicyConfig {
            allow: vec![AllowedMessage {
                source: Domain(0),
                sender: format!("0x{}", "ee".repeat(32)),
                recipient: format!("0x{}", "0b".repeat(32)),
            }],
            ..Default::default()
        });
        assert_eq!(allowed.skip_reason(&other_sender), None);
        let mut tiny = other_sender.clone();
        tiny.body = vec![];
        assert_eq!(allowed.skip_reason(&tiny), None, "any body once allowed");
    }
}
