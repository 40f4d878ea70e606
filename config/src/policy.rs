//! The relayer's relay policy (DESIGN §6): a relayer spends its own funds, so it carries only
//! what it was set up for. By default: burns whose `sender` is the source domain's
//! TokenMessenger (Solana: the mint) and whose `recipient` is the destination's, with an
//! amount at least the route's minimum. Anything else is `Skipped` unless `allow` names its
//! (source, sender, recipient). Every delivery has a gas cap, and a message the destination
//! keeps refusing for reasons chain state does not explain is `Failed` after `max_refusals`.

use serde::{Deserialize, Serialize};
use usd1_core::{Domain, B256, U256};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayPolicyConfig {
    /// The smallest burn relayed on any route, in USD1 (decimal string).
    #[serde(default = "default_min_amount")]
    pub min_amount: String,
    /// Per-route minimums that replace `min_amount`.
    #[serde(default)]
    pub routes: Vec<RouteMinimum>,
    /// Messages relayed although they are not bridge burns (or below the minimum).
    #[serde(default)]
    pub allow: Vec<AllowedMessage>,
    /// The most gas one EVM delivery may use; a delivery estimated above it is skipped.
    #[serde(default = "default_max_delivery_gas")]
    pub max_delivery_gas: u64,
    /// Unexplained refusals (dry runs or reverted deliveries) before a message is `Failed`.
    #[serde(default = "default_max_refusals")]
    pub max_refusals: u32,
}

impl Default for RelayPolicyConfig {
    fn default() -> Self {
        Self {
            min_amount: default_min_amount(),
            routes: Vec::new(),
            allow: Vec::new(),
            max_delivery_gas: default_max_delivery_gas(),
            max_refusals: default_max_refusals(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteMinimum {
    pub source: Domain,
    pub destination: Domain,
    pub min_amount: String,
}

/// A (source, sender, recipient) relayed whatever its body. `sender`/`recipient` are 32-byte
/// words as `0x` + 64 hex, an EVM address (`0x` + 40 hex, left-padded), or a base58 Solana key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedMessage {
    pub source: Domain,
    pub sender: String,
    pub recipient: String,
}

fn default_min_amount() -> String {
    "0.01".into()
}
fn default_max_delivery_gas() -> u64 {
    300_000
}
fn default_max_refusals() -> u32 {
    5
}

/// A 32-byte CCTP word from config text (see [`AllowedMessage`]).
pub fn parse_word(text: &str) -> Option<B256> {
    if let Some(hex_digits) = text.strip_prefix("0x") {
        let bytes = hex::decode(hex_digits).ok()?;
        return match bytes.len() {
            20 => {
                let mut word = [0u8; 32];
                word[12..].copy_from_slice(&bytes);
                Some(B256::from(word))
            }
            32 => Some(B256::from_slice(&bytes)),
            _ => None,
        };
    }
    let bytes = bs58::decode(text).into_vec().ok()?;
    (bytes.len() == 32).then(|| B256::from_slice(&bytes))
}

impl RelayPolicyConfig {
    pub fn min_amount_units(&self) -> Result<U256, (String, String)> {
        parse(&self.min_amount, "relayer.policy.min_amount")
    }

    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        self.min_amount_units()?;
        for (i, r) in self.routes.iter().enumerate() {
            parse(
                &r.min_amount,
                &format!("relayer.policy.routes[{i}].min_amount"),
            )?;
        }
        for (i, a) in self.allow.iter().enumerate() {
            for (field, text) in [("sender", &a.sender), ("recipient", &a.recipient)] {
                if parse_word(text).is_none() {
                    return Err((
                        format!("relayer.policy.allow[{i}].{field}"),
                        format!("{text:?} is not 0x + 64 hex, an EVM address or a base58 key"),
                    ));
                }
            }
        }
        if self.max_delivery_gas < 50_000 {
            return Err((
                "relayer.policy.max_delivery_gas".into(),
                "must be at least 50000 (a delivery needs ~120k-160k)".into(),
            ));
        }
        if self.max_refusals == 0 {
            return Err((
                "relayer.policy.max_refusals".into(),
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

fn parse(text: &str, field: &str) -> Result<U256, (String, String)> {
    usd1_core::parse_amount(text, usd1_core::USD1_DECIMALS)
        .map_err(|e| (field.to_string(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_from_hex_addresses_and_base58() {
        let addr = parse_word("0x90f79bf6eb2c4f870365e785982e1f101e93b906").unwrap();
        assert_eq!(&addr[..12], &[0u8; 12]);
        assert_eq!(addr[31], 0x06);
        let word = parse_word(&format!("0x{}", "ab".repeat(32))).unwrap();
        assert_eq!(word, B256::repeat_byte(0xab));
        let key = bs58::encode([7u8; 32]).into_string();
        assert_eq!(parse_word(&key).unwrap(), B256::repeat_byte(7));
        for bad in ["", "0x", "0x1234", "hello", "0xzz"] {
            assert!(parse_word(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn validation_names_the_field() {
        let mut p = RelayPolicyConfig::default();
        assert!(p.validate().is_ok());
        p.allow.push(AllowedMessage {
            source: Domain(0),
            sender: "nope".into(),
            recipient: "0x90f79bf6eb2c4f870365e785982e1f101e93b906".into(),
        });
        assert_eq!(
            p.validate().unwrap_err().0,
            "relayer.policy.allow[0].sender"
        );
        let p = RelayPolicyConfig {
            min_amount: "-1".into(),
            ..Default::default()
        };
        assert_eq!(p.validate().unwrap_err().0, "relayer.policy.min_amount");
    }
}
