//! The co-sign request check (`usd1_solana::cosign_verify`): a relayer, untrusted, sends an
//! attester transaction bytes to co-sign for a message; the attester must sign only the
//! canonical mint of a burn it accepts.
//!
//! Input: `message length (2) ‖ message ‖ transaction bytes`. The attester's configuration
//! is fixed (see [`policy`]); the message is arbitrary, as it would be if a source chain
//! emitted anything.

use crate::reader::Reader;
use std::sync::OnceLock;
use usd1_core::{Domain, Message, B256, U256};
use usd1_solana::cosign_verify::{ChainFacts, CosignPolicy, CosignRefusal};
use usd1_solana::mint_tx::{canonical_mint_message, mint_signers, MintParams, MintTxError};
use usd1_solana::solana_sdk::hash::Hash;
use usd1_solana::Pubkey;

/// Source chains' TokenMessenger and token words (EVM addresses, left-padded).
pub const SOURCES: [(u32, [u8; 32], [u8; 32]); 2] = [
    (0, evm_word(0xa0), evm_word(0xb0)),
    (6, evm_word(0xa6), evm_word(0xb6)),
];

const fn evm_word(fill: u8) -> [u8; 32] {
    let mut w = [fill; 32];
    let mut i = 0;
    while i < 12 {
        w[i] = 0;
        i += 1;
    }
    w
}

/// The attester configuration every input is checked against.
pub fn policy() -> &'static (CosignPolicy, ChainFacts, Pubkey) {
    static POLICY: OnceLock<(CosignPolicy, ChainFacts, Pubkey)> = OnceLock::new();
    POLICY.get_or_init(|| {
        let members = vec![
            Pubkey::new_from_array([0x31; 32]),
            Pubkey::new_from_array([0x32; 32]),
            Pubkey::new_from_array([0x33; 32]),
        ];
        let me = members[1];
        let policy = CosignPolicy {
            domain: Domain::SOLANA,
            mint: Pubkey::new_from_array([0x21; 32]),
            multisig: Pubkey::new_from_array([0x22; 32]),
            claim_authority: Pubkey::new_from_array([0x23; 32]),
            sources: SOURCES
                .iter()
                .map(|(d, messenger, token)| {
                    (Domain(*d), B256::from(*messenger), B256::from(*token))
                })
                .collect(),
        };
        let facts = ChainFacts {
            members,
            m: 2,
            rent_exempt_lamports: 890_880,
        };
        (policy, facts, me)
    })
}

/// The canonical mint of `message` for a payer and blockhash, signed by the first `m`
/// members (`me` among them), serialized: what a well-behaved relayer sends.
pub fn canonical_request(
    message: &Message,
    payer: &Pubkey,
    blockhash: Hash,
) -> Result<Vec<u8>, MintTxError> {
    let (policy, facts, _) = policy();
    let params = MintParams {
        message,
        mint: policy.mint,
        multisig: policy.multisig,
        claim_authority: policy.claim_authority,
        rent_exempt_lamports: facts.rent_exempt_lamports,
    };
    let signers = &facts.members[..facts.m];
    Ok(canonical_mint_message(&params, signers, payer, blockhash)?.serialize())
}

pub fn cosign_request(data: &[u8]) {
    let mut r = Reader::new(data);
    let len = usize::from(r.u16());
    let Ok(message) = Message::decode(r.bytes(len)) else {
        return;
    };
    let raw = r.rest();
    let (policy, facts, me) = policy();
    match policy.verify(&message, raw, facts, me) {
        Ok(approval) => {
            // What gets signed is exactly what was asked, and it is the canonical mint.
            assert_eq!(approval.canonical, raw, "only the exact bytes are signed");
            assert_eq!(approval.candidate.serialize(), raw);
            let signers = mint_signers(&approval.candidate).ok();
            assert!(signers
                .as_ref()
                .is_some_and(|s| s.contains(me) && s.len() == facts.m));
            let caller = message.destination_caller;
            assert!(caller.is_zero() || caller.0 == approval.payer().to_bytes());
        }
        Err(CosignRefusal::Transaction(_) | CosignRefusal::WrongPayer { .. }) => {
            // The message passed; the canonical mint a relayer would build for it passes too
            // (when the amount fits Solana's u64), so no acceptable burn is stuck.
            let payer = if message.destination_caller.is_zero() {
                Pubkey::new_from_array([0x77; 32])
            } else {
                Pubkey::new_from_array(message.destination_caller.0)
            };
            let blockhash = Hash::new_from_array(message.hash().0);
            match canonical_request(&message, &payer, blockhash) {
                Ok(good) => {
                    let approved = policy.verify(&message, &good, facts, me);
                    assert!(approved.is_ok(), "canonical mint refused: {approved:?}");
                }
                Err(e) => {
                    let amount = message.burn_body().map(|b| b.amount).ok();
                    assert!(
                        matches!(e, MintTxError::AmountTooLarge(_))
                            && amount.is_some_and(|a| a > U256::from(u64::MAX)),
                        "no canonical mint for an accepted burn: {e}"
                    );
                }
            }
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seeds::seeds;

    fn seed(name: &str) -> Vec<u8> {
        seeds()
            .into_iter()
            .find(|(t, n, _)| *t == "cosign_request" && *n == name)
            .unwrap()
            .2
    }

    fn verdict(data: &[u8]) -> Result<(), CosignRefusal> {
        let mut r = Reader::new(data);
        let len = usize::from(r.u16());
        let message = Message::decode(r.bytes(len)).unwrap();
        let (policy, facts, me) = policy();
        policy.verify(&message, r.rest(), facts, me).map(|_| ())
    }

    #[test]
    fn the_seeds_reach_approval_and_each_refusal() {
        assert_eq!(verdict(&seed("canonical")), Ok(()));
        assert_eq!(verdict(&seed("caller_pays")), Ok(()));
        assert_eq!(
            verdict(&seed("trailing_byte")),
            Err(CosignRefusal::Transaction(MintTxError::TrailingBytes(1)))
        );
        assert!(matches!(
            verdict(&seed("wrong_payer")),
            Err(CosignRefusal::WrongPayer { .. })
        ));
    }
}
