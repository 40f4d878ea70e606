use crate::bindings::MessageTransmitter::MessageSent;
use alloy::rpc::types::TransactionReceipt;

/// The raw messages a transaction's `MessageSent` logs carry, in log order.
pub fn sent_messages(receipt: &TransactionReceipt) -> Vec<Vec<u8>> {
    receipt
        .inner
        .logs()
        .iter()
        .filter_map(|l| l.log_decode::<MessageSent>().ok())
        .map(|l| l.inner.data.message.to_vec())
        .collect()
}
