//! The fuzz targets of usd1-bridge, one `pub fn <target>(data: &[u8])` each. Each drives the
//! production code on arbitrary bytes and panics only on a bug: a panic in that code, or a
//! broken property checked here (a decoded message re-encodes to its input, an assembled
//! attestation verifies, an approved co-sign request is exactly the canonical transaction…).
//!
//! `fuzz/` runs them under cargo-fuzz (nightly); the `replays_the_committed_corpus` test runs
//! every file of `fuzz/corpus/<target>/` through them on stable, so CI catches a regression.

mod attestation;
mod burn;
mod config;
mod cosign;
mod memo;
mod message;
mod reader;
pub mod seeds;

pub use attestation::attestation_assembly;
pub use burn::solana_burn;
pub use config::config_parse;
pub use cosign::cosign_request;
pub use memo::burn_memo;
pub use message::message_decode;

/// A target: runs the production code on one input, panics on a bug.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its `fuzz/fuzz_targets/<name>.rs` and corpus folder).
pub const TARGETS: &[(&str, Target)] = &[
    ("message_decode", message_decode),
    ("burn_memo", burn_memo),
    ("solana_burn", solana_burn),
    ("cosign_request", cosign_request),
    ("attestation_assembly", attestation_assembly),
    ("config_parse", config_parse),
];
