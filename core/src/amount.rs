//! USD1 amounts as decimal strings, never floats: "12.5" ↔ 12_500_000 base units.
//!
//! One rule, everywhere (CLI flags, `[audit] issued_total`): ASCII digits, optionally a point
//! followed by 1 to `decimals` digits — `12`, `12.5`, `0.000001`. Nothing else: no sign, no
//! spaces, no leading point (`.5`: write `0.5`), no trailing point (`5.`: write `5`), no
//! exponent, no `_` or `,` separators. The amount must be greater than zero.

use alloy_primitives::U256;
use thiserror::Error;

/// USD1 has 6 decimals on every chain.
pub const USD1_DECIMALS: u32 = 6;

/// Why a text is not an amount. Shown as `amount "…" <problem>; <the rule>`.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("amount {text:?} {problem}; amounts are written like 12.5 or 0.5: digits, optionally a point and up to {decimals} decimals")]
pub struct AmountError {
    /// What was typed.
    pub text: String,
    pub problem: AmountProblem,
    /// The decimals the rule allows.
    pub decimals: u32,
}

#[derive(Debug, Error, PartialEq, Eq, Clone, Copy)]
pub enum AmountProblem {
    #[error("is empty")]
    Empty,
    #[error("contains a space")]
    Whitespace,
    #[error("has a sign (amounts are positive: write 3, not +3 or -3)")]
    Sign,
    #[error("starts with a point (write 0.5, not .5)")]
    LeadingPoint,
    #[error("ends with a point (write 5, not 5.)")]
    TrailingPoint,
    #[error("has more than one point")]
    TwoPoints,
    #[error("is not a decimal number (only the digits 0-9 and one point)")]
    NotDecimal,
    #[error("has too many decimal places")]
    TooPrecise,
    #[error("is zero; it must be greater than zero")]
    Zero,
    #[error("is too large")]
    TooLarge,
}

/// Parses a positive decimal string into base units with `decimals` places, by the rule in
/// the module's documentation.
pub fn parse_amount(text: &str, decimals: u32) -> Result<U256, AmountError> {
    let fail = |problem| AmountError {
        text: text.into(),
        problem,
        decimals,
    };
    if text.is_empty() {
        return Err(fail(AmountProblem::Empty));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(fail(AmountProblem::Whitespace));
    }
    if text.starts_with(['+', '-']) {
        return Err(fail(AmountProblem::Sign));
    }
    if !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(fail(AmountProblem::NotDecimal));
    }
    let (whole, frac) = match text.split_once('.') {
        None => (text, None),
        Some((_, f)) if f.contains('.') => return Err(fail(AmountProblem::TwoPoints)),
        Some(("", _)) => return Err(fail(AmountProblem::LeadingPoint)),
        Some((_, "")) => return Err(fail(AmountProblem::TrailingPoint)),
        Some((w, f)) => (w, Some(f)),
    };
    let frac = frac.unwrap_or("");
    if frac.len() > decimals as usize {
        return Err(fail(AmountProblem::TooPrecise));
    }
    // Only ASCII digits are left, so a failure here is an overflow.
    let padded = format!("{whole}{frac:0<width$}", width = decimals as usize);
    let value = U256::from_str_radix(&padded, 10).map_err(|_| fail(AmountProblem::TooLarge))?;
    if value.is_zero() {
        return Err(fail(AmountProblem::Zero));
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

    fn problem(text: &str) -> Option<AmountProblem> {
        parse_amount(text, 6).err().map(|e| e.problem)
    }

    #[test]
    fn parses_decimal_strings_exactly() {
        assert_eq!(parse_amount("12.5", 6), Ok(U256::from(12_500_000u64)));
        assert_eq!(parse_amount("0.000001", 6), Ok(U256::from(1u64)));
        assert_eq!(parse_amount("7", 6), Ok(U256::from(7_000_000u64)));
        assert_eq!(parse_amount("0.5", 6), Ok(U256::from(500_000u64)));
        assert_eq!(parse_amount("3.0", 6), Ok(U256::from(3_000_000u64)));
        assert_eq!(parse_amount("007.25", 6), Ok(U256::from(7_250_000u64)));
    }

    #[test]
    fn one_rule_no_lenience() {
        use AmountProblem::*;
        for (text, why) in [
            ("", Empty),
            (" 1", Whitespace),
            ("1 ", Whitespace),
            ("1\n", Whitespace),
            ("1 000", Whitespace),
            ("\u{a0}1", Whitespace),
            (".5", LeadingPoint),
            (".", LeadingPoint),
            ("5.", TrailingPoint),
            ("1.2.3", TwoPoints),
            ("-1", Sign),
            ("+3", Sign),
            ("1e6", NotDecimal),
            ("1E6", NotDecimal),
            ("1_000", NotDecimal),
            ("1,5", NotDecimal),
            ("abc", NotDecimal),
            ("0x10", NotDecimal),
            ("١", NotDecimal), // a non-ASCII digit
            ("1.0000001", TooPrecise),
            ("0", Zero),
            ("0.000000", Zero),
        ] {
            assert_eq!(problem(text), Some(why), "{text:?}");
        }
        assert_eq!(problem(&"9".repeat(90)), Some(TooLarge));
    }

    #[test]
    fn every_refusal_names_the_rule() {
        for bad in ["", " 1", ".5", "5.", "1e6", "-1", "1.0000001", "0"] {
            let e = parse_amount(bad, 6).unwrap_err().to_string();
            assert!(e.starts_with(&format!("amount {bad:?} ")), "{e}");
            assert!(
                e.contains("amounts are written like 12.5 or 0.5: digits, optionally a point and up to 6 decimals"),
                "{e}"
            );
        }
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

        #[test]
        fn parse_never_panics_and_what_parses_formats_back(text in "\\PC{0,40}") {
            if let Ok(a) = parse_amount(&text, 6) {
                prop_assert!(!a.is_zero());
                prop_assert_eq!(parse_amount(&format_amount(a, 6), 6), Ok(a));
            }
        }

        #[test]
        fn near_misses_never_panic_and_accept_only_the_rule(text in "[ 0-9._+eE-]{0,30}") {
            let strict = {
                let (w, f) = text.split_once('.').unwrap_or((&text, "1"));
                !w.is_empty()
                    && w.bytes().all(|b| b.is_ascii_digit())
                    && (1..=6).contains(&f.len())
                    && f.bytes().all(|b| b.is_ascii_digit())
            };
            match parse_amount(&text, 6) {
                Ok(a) => {
                    prop_assert!(strict, "accepted {:?}", text);
                    // Same value as its canonical spelling.
                    prop_assert_eq!(parse_amount(&format_amount(a, 6), 6), Ok(a));
                }
                Err(e) => prop_assert!(
                    !strict || matches!(e.problem, AmountProblem::Zero | AmountProblem::TooLarge),
                    "refused {:?}: {}", text, e
                ),
            }
        }
    }
}
