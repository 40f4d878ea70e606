//! The one error of the devnet's setup, which every module of this crate returns.

use crate::contracts::DeployError;

#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("devnet: {0}")]
    Setup(String),
    #[error(transparent)]
    Deploy(#[from] DeployError),
}

/// A setup error with this text.
pub fn setup(e: impl std::fmt::Display) -> DevnetError {
    DevnetError::Setup(e.to_string())
}
