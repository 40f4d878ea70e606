use crate::error::AttesterError;
use alloy::signers::{local::PrivateKeySigner, SignerSync};
use usd1_core::{Signature65, B256};

/// Signs message hashes for EVM destinations: secp256k1 over the raw hash, low s, v 27/28.
pub struct EvmAttesterKey(pub PrivateKeySigner);

impl EvmAttesterKey {
    pub fn sign(&self, hash: &B256) -> Result<Signature65, AttesterError> {
        let sig = self
            .0
            .sign_hash_sync(hash)
            .map_err(|e| AttesterError::Sign(e.to_string()))?;
        Signature65::from_signature(&sig).map_err(|e| AttesterError::Sign(e.to_string()))
    }
}
