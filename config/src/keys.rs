use crate::SignerConfig;
use alloy::signers::local::PrivateKeySigner;
use thiserror::Error;

/// Key errors name the file, never its content.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("cannot read key file {0}: {1}")]
    Read(String, String),
    #[error("key file {0} does not hold a 32-byte hex private key")]
    BadHex(String),
    #[error(
        "key file {0} is a keystore but the environment variable {1} (its password) is not set"
    )]
    NoPassword(String, String),
    #[error("cannot decrypt keystore {0}: {1}")]
    Keystore(String, String),
}

/// Loads an EVM signer from a hex key file or a JSON keystore.
pub fn load_evm_signer(cfg: &SignerConfig) -> Result<PrivateKeySigner, KeyError> {
    let path = cfg.key_file.display().to_string();
    let text = std::fs::read_to_string(&cfg.key_file)
        .map_err(|e| KeyError::Read(path.clone(), e.to_string()))?;
    let text = text.trim();
    if text.starts_with('{') {
        let password = std::env::var(&cfg.password_env)
            .map_err(|_| KeyError::NoPassword(path.clone(), cfg.password_env.clone()))?;
        return PrivateKeySigner::decrypt_keystore(&cfg.key_file, password)
            .map_err(|e| KeyError::Keystore(path, e.to_string()));
    }
    text.trim_start_matches("0x")
        .parse::<PrivateKeySigner>()
        .map_err(|_| KeyError::BadHex(path))
}
