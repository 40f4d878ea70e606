use serde::{Deserialize, Serialize};
use std::fmt;

/// A chain's CCTP domain id (DESIGN §2): Ethereum 0, Avalanche 1, OP 2, Arbitrum 3,
/// Solana 5, Base 6, Polygon 7. The devnet uses 0 and 6 for its EVM chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Domain(pub u32);

impl Domain {
    pub const ETHEREUM: Domain = Domain(0);
    pub const SOLANA: Domain = Domain(5);
    pub const BASE: Domain = Domain(6);

    /// Circle's name for the domain, where it has one.
    pub fn well_known_name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "ethereum",
            1 => "avalanche",
            2 => "optimism",
            3 => "arbitrum",
            5 => "solana",
            6 => "base",
            7 => "polygon",
            _ => return None,
        })
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
