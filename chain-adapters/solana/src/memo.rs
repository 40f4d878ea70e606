//! The memos of DESIGN §4. A Solana bridge burn carries exactly one
//! `usd1:burn:v1:<destinationDomain>:<mintRecipient 64 hex>[:<destinationCaller 64 hex>]`;
//! a mint carries `usd1:mint:v1:<sourceDomain>:<nonce>:<message_hash hex>`.

use thiserror::Error;
use usd1_core::{Domain, B256};

const BURN_PREFIX: &str = "usd1:burn:v1:";

/// Why a memo is not a bridge burn memo (used as a metric label: a bounded set).
#[derive(Debug, Error, PartialEq, Eq, Clone, Copy)]
pub enum MemoError {
    #[error("not a usd1 burn memo")]
    NotBurnMemo,
    #[error("destination domain is not a decimal u32")]
    BadDomain,
    #[error("mint recipient is not 64 hex digits")]
    BadRecipient,
    #[error("destination caller is not 64 hex digits")]
    BadCaller,
    #[error("zero mint recipient")]
    ZeroRecipient,
    #[error("unexpected extra fields")]
    ExtraFields,
}

impl MemoError {
    pub fn label(self) -> &'static str {
        match self {
            Self::NotBurnMemo => "not_burn_memo",
            Self::BadDomain => "bad_domain",
            Self::BadRecipient => "bad_recipient",
            Self::BadCaller => "bad_caller",
            Self::ZeroRecipient => "zero_recipient",
            Self::ExtraFields => "extra_fields",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurnMemo {
    pub destination_domain: Domain,
    pub mint_recipient: B256,
    /// Zero: anyone may deliver.
    pub destination_caller: B256,
}

fn hex32(field: &str, err: MemoError) -> Result<B256, MemoError> {
    if field.len() != 64 || !field.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err);
    }
    let bytes = hex::decode(field).map_err(|_| err)?;
    Ok(B256::from_slice(&bytes))
}

impl BurnMemo {
    pub fn parse(text: &str) -> Result<Self, MemoError> {
        let rest = text
            .strip_prefix(BURN_PREFIX)
            .ok_or(MemoError::NotBurnMemo)?;
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() > 3 {
            return Err(MemoError::ExtraFields);
        }
        if parts.len() < 2 {
            return Err(MemoError::BadRecipient);
        }
        let domain = parts[0];
        if domain.is_empty() || !domain.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MemoError::BadDomain);
        }
        let destination_domain = Domain(domain.parse().map_err(|_| MemoError::BadDomain)?);
        let mint_recipient = hex32(parts[1], MemoError::BadRecipient)?;
        if mint_recipient.is_zero() {
            return Err(MemoError::ZeroRecipient);
        }
        let destination_caller = match parts.get(2) {
            Some(c) => hex32(c, MemoError::BadCaller)?,
            None => B256::ZERO,
        };
        Ok(Self {
            destination_domain,
            mint_recipient,
            destination_caller,
        })
    }

    pub fn format(&self) -> String {
        let mut s = format!(
            "{BURN_PREFIX}{}:{}",
            self.destination_domain.0,
            hex::encode(self.mint_recipient)
        );
        if !self.destination_caller.is_zero() {
            s.push(':');
            s.push_str(&hex::encode(self.destination_caller));
        }
        s
    }
}

/// The memo instruction of a bridge burn: the burn's authority (`owner`) is listed as its
/// signer, as the bridge-burn rule requires (SPL Memo then checks that it signed).
pub fn burn_memo_instruction(
    text: &str,
    owner: &solana_sdk::pubkey::Pubkey,
) -> solana_sdk::instruction::Instruction {
    spl_memo_interface::instruction::build_memo(&crate::memo_program(), text.as_bytes(), &[owner])
}

/// The memo of the canonical mint transaction of a message.
pub fn mint_memo(source_domain: Domain, nonce: u64, message_hash: &B256) -> String {
    format!(
        "usd1:mint:v1:{}:{nonce}:{}",
        source_domain.0,
        hex::encode(message_hash)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const R: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const C: &str = "00000000000000000000000090f79bf6eb2c4f870365e785982e1f101e93b906";

    #[test]
    fn parses_the_documented_forms() {
        let m = BurnMemo::parse(&format!("usd1:burn:v1:0:{R}")).unwrap();
        assert_eq!(m.destination_domain, Domain(0));
        assert_eq!(m.mint_recipient, B256::repeat_byte(0x11));
        assert!(m.destination_caller.is_zero());
        let with_caller = BurnMemo::parse(&format!("usd1:burn:v1:6:{R}:{C}")).unwrap();
        assert_eq!(with_caller.destination_domain, Domain(6));
        assert_eq!(with_caller.destination_caller[31], 0x06);
    }

    #[test]
    fn rejects_everything_else_with_a_reason() {
        let cases = [
            ("hello", MemoError::NotBurnMemo),
            (&format!("usd1:burn:v2:0:{R}"), MemoError::NotBurnMemo),
            (&format!("usd1:burn:v1:x:{R}"), MemoError::BadDomain),
            (&format!("usd1:burn:v1::{R}"), MemoError::BadDomain),
            (&format!("usd1:burn:v1:-1:{R}"), MemoError::BadDomain),
            (
                &format!("usd1:burn:v1:99999999999:{R}"),
                MemoError::BadDomain,
            ),
            ("usd1:burn:v1:0:abcd", MemoError::BadRecipient),
            ("usd1:burn:v1:0", MemoError::BadRecipient),
            (
                &format!("usd1:burn:v1:0:{}", "0".repeat(64)),
                MemoError::ZeroRecipient,
            ),
            (&format!("usd1:burn:v1:0:{R}:zz"), MemoError::BadCaller),
            (
                &format!("usd1:burn:v1:0:{R}:{C}:{C}"),
                MemoError::ExtraFields,
            ),
        ];
        for (text, err) in cases {
            assert_eq!(BurnMemo::parse(text), Err(err), "{text}");
        }
    }

    #[test]
    fn the_mint_memo_names_source_nonce_and_hash() {
        let h = B256::repeat_byte(0xcd);
        assert_eq!(
            mint_memo(Domain(0), 42, &h),
            format!("usd1:mint:v1:0:42:{}", "cd".repeat(32))
        );
    }

    proptest! {
        #[test]
        fn format_then_parse_roundtrips(d in any::<u32>(), r in any::<[u8; 32]>(), c in any::<[u8; 32]>()) {
            prop_assume!(r != [0u8; 32]);
            let m = BurnMemo { destination_domain: Domain(d), mint_recipient: B256::from(r), destination_caller: B256::from(c) };
            prop_assert_eq!(BurnMemo::parse(&m.format()), Ok(m));
        }

        #[test]
        fn parse_never_panics(s in ".{0,200}") {
            let _ = BurnMemo::parse(&s);
        }
    }
}
