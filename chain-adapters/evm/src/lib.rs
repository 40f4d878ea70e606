//! EVM chain adapter for usd1-bridge: contract bindings, an RPC client with fallback, the
//! finality-aware `MessageSent` watcher, and the `receiveMessage` destination.
pub mod audit;
pub mod bindings;
pub mod conf;
pub mod connect;
pub mod destination;
pub mod heads;
pub mod metrics;
pub mod receipts;
pub mod rpc;
pub mod source;
pub mod tls;
pub mod watcher;

pub use destination::EvmDestination;
pub use rpc::EvmRpc;
pub use source::{BlockSource, EvmBlockSource};
pub use watcher::{Batch, WatchError, Watcher};
