//! Contract deployment and the local devnet (anvil chains, attesters, relayer), plus the
//! user-side helpers the demo and the end-to-end tests share.
pub mod bench;
pub mod bridge_mint;
pub mod client;
pub mod contracts;
pub mod demo_solana;
pub mod devnet;
pub mod error;
pub mod process;
pub mod prometheus;
pub mod solana;

pub use devnet::{Devnet, DevnetError, DevnetOptions};
