//! Chain-agnostic core of usd1-bridge: domains, the CCTP v1 message and burn-body codec,
//! message hashes, attestation assembly, the relayer's message states, and the traits
//! that chain adapters implement.

pub mod amount;
pub mod attestation;
pub mod audit;
pub mod domain;
pub mod message;
pub mod proof;
pub mod setting;
pub mod source;
pub mod state;
pub mod traits;

pub use alloy_primitives::{Address, B256, U256};
pub use amount::{format_amount, parse_amount, AmountError, USD1_DECIMALS};
pub use attestation::{assemble_attestation, attestation_satisfies, AttestationError, Signature65};
pub use domain::Domain;
pub use message::{BurnBody, Message, MessageError};
pub use source::{ObservedBurn, Source, SourceBatch, SourceError, TxRef};
pub use state::{HistoryEntry, MessageRecord, MessageState};
