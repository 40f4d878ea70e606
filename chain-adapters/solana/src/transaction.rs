//! Reading one landed transaction as the bridge needs it: every instruction (top-level, then
//! inner) with its accounts resolved to keys (static keys, then addresses loaded from lookup
//! tables), whether it succeeded, and its block time. Used by the source watcher (bridge
//! burns) and by the claim check (what the transaction that created a claim did).

use crate::burn::SeenInstruction;
use crate::rpc::SolanaError;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_types::config::RpcTransactionConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signature;
use solana_transaction_status_client_types::{UiInstruction, UiTransactionEncoding};
use std::str::FromStr;

/// A landed transaction as the bridge reads it.
#[derive(Debug, Clone)]
pub struct SeenTransaction {
    /// Top-level, then inner instructions.
    pub instructions: Vec<SeenInstruction>,
    pub succeeded: bool,
    /// Unix seconds of its block.
    pub block_time: u64,
    /// The keys that signed it (the first `num_required_signatures` static account keys).
    pub signers: Vec<Pubkey>,
}

/// (instructions, succeeded, block time in Unix seconds) of a landed transaction.
pub async fn read_instructions(
    client: &RpcClient,
    signature: &Signature,
    commitment: CommitmentConfig,
) -> Result<(Vec<SeenInstruction>, bool, u64), SolanaError> {
    let tx = read_transaction(client, signature, commitment).await?;
    Ok((tx.instructions, tx.succeeded, tx.block_time))
}

/// A landed transaction: its instructions, outcome, block time and signers.
pub async fn read_transaction(
    client: &RpcClient,
    signature: &Signature,
    commitment: CommitmentConfig,
) -> Result<SeenTransaction, SolanaError> {
    let config = RpcTransactionConfig {
        encoding: Some(UiTransactionEncoding::Base64),
        commitment: Some(commitment),
        max_supported_transaction_version: Some(0),
    };
    let tx = crate::rpc::retried(|| client.get_transaction_with_config(signature, config))
        .await
        .map_err(|e| SolanaError::Rpc {
            method: "getTransaction",
            detail: e.to_string(),
        })?;
    let block_time = tx.block_time.unwrap_or(0).max(0) as u64;
    let meta = tx
        .transaction
        .meta
        .ok_or_else(|| SolanaError::Invalid("transaction without meta".into()))?;
    let decoded = tx
        .transaction
        .transaction
        .decode()
        .ok_or_else(|| SolanaError::Invalid("undecodable transaction".into()))?;
    let mut keys: Vec<Pubkey> = decoded.message.static_account_keys().to_vec();
    let signers: Vec<Pubkey> = keys
        .iter()
        .take(decoded.message.header().num_required_signatures as usize)
        .copied()
        .collect();
    let loaded: Option<solana_transaction_status_client_types::UiLoadedAddresses> =
        meta.loaded_addresses.clone().into();
    if let Some(loaded) = loaded {
        for k in loaded.writable.iter().chain(loaded.readonly.iter()) {
            keys.push(Pubkey::from_str(k).map_err(|e| SolanaError::Invalid(e.to_string()))?);
        }
    }
    let key = |i: u8| keys.get(i as usize).copied().unwrap_or_default();
    let mut out: Vec<SeenInstruction> = decoded
        .message
        .instructions()
        .iter()
        .map(|ix| SeenInstruction {
            program: key(ix.program_id_index),
            accounts: ix.accounts.iter().map(|&a| key(a)).collect(),
            data: ix.data.clone(),
        })
        .collect();
    let inner: Option<Vec<solana_transaction_status_client_types::UiInnerInstructions>> =
        meta.inner_instructions.into();
    for group in inner.unwrap_or_default() {
        for ix in group.instructions {
            if let UiInstruction::Compiled(c) = ix {
                let data = bs58::decode(&c.data)
                    .into_vec()
                    .map_err(|e| SolanaError::Invalid(e.to_string()))?;
                out.push(SeenInstruction {
                    program: key(c.program_id_index),
                    accounts: c.accounts.iter().map(|&a| key(a)).collect(),
                    data,
                });
            }
        }
    }
    Ok(SeenTransaction {
        instructions: out,
        succeeded: meta.err.is_none(),
        block_time,
        signers,
    })
}
