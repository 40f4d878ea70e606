//! The pure part of an attester's co-sign check (DESIGN §4): whether a transaction a relayer
//! asks it to co-sign is the canonical mint of a message it has seen final. It lives here,
//! beside the canonical transaction it compares against, so that it can be tested and fuzzed
//! without an attester; the attester adds what needs state or a chain (its store, caller
//! credentials, rate limits, the claim lookup, the co-sign records).
//!
//! A request passes when
//! - the message is bound for Solana, addressed to the bridge mint, sent by its source
//!   chain's own TokenMessenger and burns that chain's USD1;
//! - the transaction bytes are, byte for byte, the canonical mint of the message (signer set:
//!   `m` multisig members in ascending order, this attester included; any fee payer and
//!   blockhash) and nothing else;
//! - the fee payer is the message's `destinationCaller` when that is set.

use crate::mint_tx::{check_canonical_bytes, MintParams, MintTxError};
use solana_sdk::message::Message as SolanaMessage;
use solana_sdk::pubkey::Pubkey;
use thiserror::Error;
use usd1_core::{Domain, Message, B256};

/// What an attester is configured with: fixed for its lifetime.
#[derive(Debug, Clone)]
pub struct CosignPolicy {
    /// Solana's domain.
    pub domain: Domain,
    pub mint: Pubkey,
    pub multisig: Pubkey,
    pub claim_authority: Pubkey,
    /// Source domain → (its TokenMessenger, its token) as 32-byte words.
    pub sources: Vec<(Domain, B256, B256)>,
}

/// What the attester reads once from the chain: the multisig's members and threshold, and
/// the rent-exempt minimum of the claim account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFacts {
    pub members: Vec<Pubkey>,
    pub m: usize,
    pub rent_exempt_lamports: u64,
}

/// Why a co-sign request is refused. The texts are what the attester answers.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CosignRefusal {
    #[error("the message is bound for domain {got}, not Solana ({want})")]
    WrongDestination { got: Domain, want: Domain },
    #[error("the message is not addressed to the bridge mint")]
    NotToMint,
    #[error("source domain {0} is not a configured chain")]
    UnknownSource(Domain),
    #[error("the message was not sent by the source chain's TokenMessenger")]
    WrongSender,
    #[error("not a burn: {0}")]
    NotBurn(String),
    #[error("the burned token is not the source chain's USD1")]
    WrongToken,
    /// The bytes are not the canonical transaction (or not a transaction message at all:
    /// [`MintTxError::Malformed`]).
    #[error(transparent)]
    Transaction(MintTxError),
    #[error("the message's destinationCaller is {caller}: only that key may pay for its mint, not {payer}")]
    WrongPayer { caller: Pubkey, payer: Pubkey },
}

/// A request that passed: the decoded transaction and the canonical bytes to sign (always
/// the rebuilt ones, never the request's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignApproval {
    pub candidate: SolanaMessage,
    pub canonical: Vec<u8>,
}

impl CosignApproval {
    /// The fee payer (the transaction's first account).
    pub fn payer(&self) -> Pubkey {
        // check_canonical_bytes only passes a transaction that has a payer.
        self.candidate
            .account_keys
            .first()
            .copied()
            .unwrap_or_default()
    }
}

impl CosignPolicy {
    /// The burn checks that do not depend on the transaction.
    pub fn check_message(&self, m: &Message) -> Result<(), CosignRefusal> {
        if m.destination_domain != self.domain {
            return Err(CosignRefusal::WrongDestination {
                got: m.destination_domain,
                want: self.domain,
            });
        }
        if m.recipient != B256::from(self.mint.to_bytes()) {
            return Err(CosignRefusal::NotToMint);
        }
        let Some((_, messenger, token)) =
            self.sources.iter().find(|(d, _, _)| *d == m.source_domain)
        else {
            return Err(CosignRefusal::UnknownSource(m.source_domain));
        };
        if m.sender != *messenger {
            return Err(CosignRefusal::WrongSender);
        }
        let body = m
            .burn_body()
            .map_err(|e| CosignRefusal::NotBurn(e.to_string()))?;
        if body.burn_token != *token {
            return Err(CosignRefusal::WrongToken);
        }
        Ok(())
    }

    /// The transaction checks, for a message that passed [`Self::check_message`]: `raw` is
    /// exactly the canonical mint, `me` among its signers, paid by the destination caller if
    /// the message names one.
    pub fn check_transaction(
        &self,
        message: &Message,
        raw: &[u8],
        facts: &ChainFacts,
        me: &Pubkey,
    ) -> Result<CosignApproval, CosignRefusal> {
        let params = MintParams {
            message,
            mint: self.mint,
            multisig: self.multisig,
            claim_authority: self.claim_authority,
            rent_exempt_lamports: facts.rent_exempt_lamports,
        };
        // Exactly the canonical bytes: bincode alone would accept "canonical ‖ anything".
        let (candidate, canonical) =
            check_canonical_bytes(raw, &params, &facts.members, facts.m, me)
                .map_err(CosignRefusal::Transaction)?;
        let approval = CosignApproval {
            candidate,
            canonical,
        };
        check_caller(message, &approval.payer())?;
        Ok(approval)
    }

    /// Both checks, in the attester's order.
    pub fn verify(
        &self,
        message: &Message,
        raw: &[u8],
        facts: &ChainFacts,
        me: &Pubkey,
    ) -> Result<CosignApproval, CosignRefusal> {
        self.check_message(message)?;
        self.check_transaction(message, raw, facts, me)
    }
}

/// A message with a `destinationCaller` is delivered only by that key: the fee payer (the
/// transaction's first account) must be it.
pub fn check_caller(message: &Message, payer: &Pubkey) -> Result<(), CosignRefusal> {
    if message.destination_caller.is_zero() || message.destination_caller.0 == payer.to_bytes() {
        return Ok(());
    }
    Err(CosignRefusal::WrongPayer {
        caller: Pubkey::new_from_array(message.destination_caller.0),
        payer: *payer,
    })
}

#[cfg(test)]
mod tests;
