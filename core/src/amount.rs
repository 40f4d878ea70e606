//! USD1 amounts as decimal strings, never floats: "12.5" ↔ 12_500_000 base units.

use alloy_primitives::U256;
use thiserror::Error;

/// USD1 has 6 decimals on every chain.
pub const USD1_DECIMALS: u32 = 6;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AmountError {
    #[error("amount is empty; write it like 12.5")]
    Empty,
    #[error("amount {0:?} is not a decimal number; write it like 12.5 (digits and one '.')")]
    NotDecimal(String),
    #[error("amount {0:?} has more than {1} decimal places (USD1's smallest unit is 0.000001)")]
    TooPrecise(String, u32),
    #[error("amount must be greater than zero")]
    Zero,
    #[error("amount {0:?} is too large")]
    TooLarge(String),
}

/// Parses a positive decimal string into base units with `decimals` places.
pub fn parse_amount(text: &str, decimals: u32) -> Result<U256, AmountError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(AmountError::Empty);
    }
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Err(AmountError::NotDecimal(t.into()));
    }
    if frac.len() > decimals as usize {
        return Err(AmountError::TooPrecise(t.into(), decimals));
    }
    let padded = format!("{whole}{frac:0<width$}", width = decimals as usize);
    let value = U256::from_str_radix(&padded, 10).map_err(|_| AmountError::TooLarge(t.into()))?;
    if value.is_zero() {
        return Err(AmountError::Zero);
    }
    Ok(value)
}

/// Formats base units with `decimals` places, without trailing zeros: 12_500_000 → "12.5".
pub fn format_amount(amount: U256, decimals: u32) -> String {
    let unit = U256::from(10u64).pow(U256::from(decimals));
    let whole = amount / unit;
    let frac = amount % unit;
    if frac.is_zero() {
        return whole.to_string();
    }
    let frac = format!("{:0>width$}", frac.to_string(), width = decimals as usize);
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_decimal_strings_exactly() {
        assert_eq!(parse_amount("12.5", 6), Ok(U256::from(12_500_000u64)));
        assert_eq!(parse_amount("0.000001", 6), Ok(U256::from(1u64)));
        assert_eq!(parse_amount("7", 6), Ok(U256::from(7_000_000u64)));
        assert_eq!(parse_amount(".5", 6), Ok(U256::from(500_000u64)));
        assert_eq!(parse_amount("3.", 6), Ok(U256::from(3_000_000u64)));
    }

    #[test]
    fn rejects_what_is_not_an_amount() {
        assert_eq!(parse_amount("", 6), Err(AmountError::Empty));
        assert_eq!(parse_amount("0", 6), Err(AmountError::Zero));
        assert!(matches!(
            parse_amount("1.0000001", 6),
            Err(AmountError::TooPrecise(..))
        ));
        for bad in ["-1", "1e6", "1,5", "abc", ".", "1.2.3", "+3", "0x10"] {
            assert!(
                matches!(parse_amount(bad, 6), Err(AmountError::NotDecimal(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_amount(&"9".repeat(90), 6),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn formats_without_trailing_zeros() {
        assert_eq!(format_amount(U256::from(12_500_000u64), 6), "12.5");
        assert_eq!(format_amount(U256::from(1u64), 6), "0.000001");
        assert_eq!(format_amount(U256::from(2_000_000u64), 6), "2");
        assert_eq!(format_amount(U256::ZERO, 6), "0");
    }

    proptest! {
        #[test]
        fn format_then_parse_roundtrips(units in 1u128..u128::MAX) {
            let a = U256::from(units);
            prop_assert_eq!(parse_amount(&format_amount(a, 6), 6), Ok(a));
        }
    }
}
