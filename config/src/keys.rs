use crate::SignerConfig;
use alloy::signers::local::PrivateKeySigner;
use thiserror::Error;

/// Key errors name the config field and the file, never the file's content. The first
/// member of every variant is the field (`signer.key_file`, `submitter.key_file`, …).
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("{0}: cannot read {1}: {2}")]
    Read(String, String, String),
    #[error("{0}: {1} does not hold a 32-byte hex private key (or a JSON keystore)")]
    BadHex(String, String),
    #[error("{0}: {1} is a keystore but the environment variable {2} (its password) is not set")]
    NoPassword(String, String, String),
    #[error("{0}: cannot decrypt keystore {1}: {2}")]
    Keystore(String, String, String),
}

impl KeyError {
    /// The config field whose file is at fault.
    pub fn field(&self) -> &str {
        match self {
            Self::Read(f, ..) | Self::BadHex(f, ..) | Self::NoPassword(f, ..) => f,
            Self::Keystore(f, ..) => f,
        }
    }
}

/// Loads an EVM signer from a hex key file or a JSON keystore. `field` is where the config
/// names the file (`signer.key_file`, `submitter.key_file`, `user.key_file`), so an error
/// says which setting to fix.
pub fn load_evm_signer(cfg: &SignerConfig, field: &str) -> Result<PrivateKeySigner, KeyError> {
    let path = cfg.key_file.display().to_string();
    let text = std::fs::read_to_string(&cfg.key_file)
        .map_err(|e| KeyError::Read(field.into(), path.clone(), e.to_string()))?;
    let text = text.trim();
    if text.starts_with('{') {
        let password = std::env::var(&cfg.password_env).map_err(|_| {
            KeyError::NoPassword(field.into(), path.clone(), cfg.password_env.clone())
        })?;
        return PrivateKeySigner::decrypt_keystore(&cfg.key_file, password)
            .map_err(|e| KeyError::Keystore(field.into(), path, e.to_string()));
    }
    text.trim_start_matches("0x")
        .parse::<PrivateKeySigner>()
        .map_err(|_| KeyError::BadHex(field.into(), path))
}
