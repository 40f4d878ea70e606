//! What a delivery's status needs from its receipt: success, block, and the fee paid, read
//! without its logs. A batch's receipt carries every member's logs (four a mint), and the
//! relayer asks for it every receipt poll until it is final: decoding them into alloy's
//! receipt was the relayer's largest JSON cost under a batched backlog (docs/benchmarks.md).
//! The fields are read as the node gives them; a receipt without `status` (before
//! Byzantium: a state root instead) is read in full by the caller.

use alloy::primitives::{U128, U64};
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptStatus {
    #[serde(default)]
    status: Option<U64>,
    #[serde(default)]
    block_number: Option<U64>,
    gas_used: U64,
    /// Absent on some nodes' older receipts: `gas_price` is counted instead, as alloy's
    /// receipt does.
    #[serde(default)]
    effective_gas_price: Option<U128>,
    #[serde(default)]
    gas_price: Option<U128>,
}

impl ReceiptStatus {
    /// Whether the transaction succeeded; None when the receipt has no `status`; an error
    /// for a status that is neither 0 nor 1 (a node's answer that cannot be read).
    pub fn success(&self) -> Result<Option<bool>, String> {
        match self.status.map(|s| s.to::<u64>()) {
            None => Ok(None),
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            Some(other) => Err(format!("receipt status {other} is neither 0 nor 1")),
        }
    }

    /// The block it is in; None for a receipt without one (pending, on some nodes).
    pub fn block(&self) -> Option<u64> {
        self.block_number.map(|b| b.to::<u64>())
    }

    pub fn fee_paid(&self) -> u128 {
        let price = self
            .effective_gas_price
            .or(self.gas_price)
            .map_or(0, |p| p.to::<u128>());
        u128::from(self.gas_used.to::<u64>()).saturating_mul(price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch's receipt as anvil answers it (two of its logs shown).
    const RECEIPT: &str = r#"{"type":"0x2","status":"0x1","cumulativeGasUsed":"0x125a1c",
        "logs":[{"address":"0x5fbdb2315678afecb367f032d93f642f64180aa3","topics":[
        "0x58200b4c34ae05ee816d710053fff3fb75af4395915d3d2a771b24aa10e3cc5d",
        "0x0000000000000000000000000000000000000000000000000000000000000000"],
        "data":"0x00000000000000000000000000000000000000000000000000000000000f4240",
        "blockHash":"0x8f1b7e4b4c0b0d5c9c2c7a1e0f0b1a2c3d4e5f60718293a4b5c6d7e8f9a0b1c2",
        "blockNumber":"0x2a","blockTimestamp":"0x6744a1b0",
        "transactionHash":"0x1d2c3b4a5968778695a4b3c2d1e0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c",
        "transactionIndex":"0x0","logIndex":"0x0","removed":false},
        {"address":"0x5fbdb2315678afecb367f032d93f642f64180aa3","topics":[
        "0x58200b4c34ae05ee816d710053fff3fb75af4395915d3d2a771b24aa10e3cc5d"],"data":"0x",
        "blockHash":"0x8f1b7e4b4c0b0d5c9c2c7a1e0f0b1a2c3d4e5f60718293a4b5c6d7e8f9a0b1c2",
        "blockNumber":"0x2a","blockTimestamp":"0x6744a1b0",
        "transactionHash":"0x1d2c3b4a5968778695a4b3c2d1e0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c",
        "transactionIndex":"0x0","logIndex":"0x1","removed":false}],
        "logsBloom":"BLOOM",
        "transactionHash":"0x1d2c3b4a5968778695a4b3c2d1e0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c",
        "transactionIndex":"0x0",
        "blockHash":"0x8f1b7e4b4c0b0d5c9c2c7a1e0f0b1a2c3d4e5f60718293a4b5c6d7e8f9a0b1c2",
        "blockNumber":"0x2a","gasUsed":"0x125a1c","effectiveGasPrice":"0x3b9aca07",
        "from":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "to":"0x5fbdb2315678afecb367f032d93f642f64180aa3","contractAddress":null}"#;

    fn receipt() -> String {
        RECEIPT.replace("BLOOM", &format!("0x{}", "00".repeat(256)))
    }

    #[test]
    fn a_receipt_read_without_its_logs_says_what_the_full_receipt_says() {
        let full: alloy::rpc::types::TransactionReceipt = serde_json::from_str(&receipt()).unwrap();
        let lean: ReceiptStatus = serde_json::from_str(&receipt()).unwrap();
        assert_eq!(lean.success(), Ok(Some(full.status())));
        assert_eq!(lean.block(), full.block_number);
        assert_eq!(
            lean.fee_paid(),
            full.gas_used as u128 * full.effective_gas_price
        );
        let reverted = receipt().replace(r#""status":"0x1""#, r#""status":"0x0""#);
        let lean: ReceiptStatus = serde_json::from_str(&reverted).unwrap();
        assert_eq!(lean.success(), Ok(Some(false)));
    }

    /// A node's answer is checked, not trusted: a receipt with no block (pending, on some
    /// nodes) is not in a block, and a status that is neither 0 nor 1 is an error.
    #[test]
    fn a_receipt_without_a_block_or_with_a_bad_status_is_not_taken() {
        let pending = receipt().replace(r#""blockNumber":"0x2a","gasUsed""#, r#""gasUsed""#);
        let lean: ReceiptStatus = serde_json::from_str(&pending).unwrap();
        assert_eq!(lean.block(), None);
        let odd = receipt().replace(r#""status":"0x1""#, r#""status":"0x2""#);
        let lean: ReceiptStatus = serde_json::from_str(&odd).unwrap();
        assert!(lean.success().is_err());
    }

    /// Without `effectiveGasPrice` (older nodes), the fee is counted at `gasPrice`, as
    /// alloy's receipt did.
    #[test]
    fn the_fee_falls_back_to_the_gas_price() {
        let old = receipt().replace(r#""effectiveGasPrice""#, r#""gasPrice""#);
        let lean: ReceiptStatus = serde_json::from_str(&old).unwrap();
        assert_eq!(lean.fee_paid(), 0x125a1c * 0x3b9aca07);
    }

    #[test]
    fn a_receipt_without_a_status_says_so() {
        let old = receipt().replace(
            r#""status":"0x1""#,
            r#""root":"0x8f1b7e4b4c0b0d5c9c2c7a1e0f0b1a2c3d4e5f60718293a4b5c6d7e8f9a0b1c2""#,
        );
        let lean: ReceiptStatus = serde_json::from_str(&old).unwrap();
        assert_eq!(lean.success(), Ok(None));
    }
}
