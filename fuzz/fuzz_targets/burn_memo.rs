#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| usd1_fuzz_targets::burn_memo(data));
