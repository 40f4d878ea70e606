//! Burn-memo parsing (`usd1_solana::memo`): the text of any memo on a transaction that burns
//! the bridge mint, chosen by whoever burned.

use usd1_solana::burn::check_evm_shape;
use usd1_solana::memo::BurnMemo;

pub fn burn_memo(data: &[u8]) {
    // The watcher refuses a memo that is not UTF-8 before parsing it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match BurnMemo::parse(text) {
        Ok(memo) => {
            assert!(
                !memo.mint_recipient.is_zero(),
                "a zero recipient is refused"
            );
            let formatted = memo.format();
            assert_eq!(BurnMemo::parse(&formatted), Ok(memo), "format → parse");
            // The canonical form is lowercase hex, a decimal domain without leading zeros
            // and no zero caller: what was parsed is that, up to those spellings.
            assert!(
                text.eq_ignore_ascii_case(&formatted) || text.len() > formatted.len(),
                "{text:?} parsed as {formatted:?}"
            );
            let _ = check_evm_shape(&memo);
        }
        Err(e) => {
            let _ = e.label();
        }
    }
}
