use super::*;
use crate::mint_tx::canonical_mint_message;
use solana_sdk::hash::Hash;
use usd1_core::{BurnBody, U256};

const MESSENGER: B256 = B256::repeat_byte(4);
const TOKEN: B256 = B256::repeat_byte(1);

struct Setup {
    policy: CosignPolicy,
    facts: ChainFacts,
    message: Message,
}

impl Setup {
    fn new() -> Self {
        let mut members: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();
        members.sort();
        let policy = CosignPolicy {
            domain: Domain::SOLANA,
            mint: Pubkey::new_unique(),
            multisig: Pubkey::new_unique(),
            claim_authority: Pubkey::new_unique(),
            sources: vec![(Domain(0), MESSENGER, TOKEN)],
        };
        let body = BurnBody {
            version: 0,
            burn_token: TOKEN,
            mint_recipient: B256::from(Pubkey::new_unique().to_bytes()),
            amount: U256::from(12_500_000u64),
            message_sender: B256::repeat_byte(3),
        };
        let message = Message {
            version: 0,
            source_domain: Domain(0),
            destination_domain: Domain::SOLANA,
            nonce: 9,
            sender: MESSENGER,
            recipient: B256::from(policy.mint.to_bytes()),
            destination_caller: B256::ZERO,
            body: body.encode(),
        };
        Self {
            policy,
            facts: ChainFacts {
                members,
                m: 2,
                rent_exempt_lamports: 890_880,
            },
            message,
        }
    }

    /// The canonical transaction bytes, paid by `payer`, signed by the first two members.
    fn canonical(&self, payer: &Pubkey) -> Vec<u8> {
        let params = MintParams {
            message: &self.message,
            mint: self.policy.mint,
            multisig: self.policy.multisig,
            claim_authority: self.policy.claim_authority,
            rent_exempt_lamports: self.facts.rent_exempt_lamports,
        };
        canonical_mint_message(&params, &self.facts.members[..2], payer, Hash::new_unique())
            .unwrap()
            .serialize()
    }

    fn me(&self) -> Pubkey {
        self.facts.members[0]
    }
}

fn message_with_caller(caller: B256) -> Message {
    Message {
        version: 0,
        source_domain: Domain(0),
        destination_domain: Domain::SOLANA,
        nonce: 1,
        sender: B256::ZERO,
        recipient: B256::ZERO,
        destination_caller: caller,
        body: vec![],
    }
}

#[test]
fn a_destination_caller_must_be_the_fee_payer() {
    let payer = Pubkey::new_unique();
    assert!(check_caller(&message_with_caller(B256::ZERO), &payer).is_ok());
    assert!(check_caller(&message_with_caller(B256::from(payer.to_bytes())), &payer).is_ok());
    let other = Pubkey::new_unique();
    let err = check_caller(&message_with_caller(B256::from(other.to_bytes())), &payer).unwrap_err();
    assert_eq!(
        err,
        CosignRefusal::WrongPayer {
            caller: other,
            payer
        }
    );
    assert!(err.to_string().contains(&other.to_string()), "{err}");
}

#[test]
fn the_canonical_mint_of_a_good_burn_passes_and_its_bytes_are_signed() {
    let s = Setup::new();
    let raw = s.canonical(&Pubkey::new_unique());
    let ok = s
        .policy
        .verify(&s.message, &raw, &s.facts, &s.me())
        .unwrap();
    assert_eq!(ok.canonical, raw);
    assert_eq!(ok.candidate.serialize(), raw);
}

#[test]
fn each_burn_check_refuses_with_its_reason() {
    let s = Setup::new();
    let refuse = |edit: &dyn Fn(&mut Message)| {
        let mut m = s.message.clone();
        edit(&mut m);
        s.policy.check_message(&m).unwrap_err()
    };
    assert_eq!(
        refuse(&|m| m.destination_domain = Domain(6)),
        CosignRefusal::WrongDestination {
            got: Domain(6),
            want: Domain::SOLANA
        }
    );
    assert_eq!(
        refuse(&|m| m.recipient = B256::repeat_byte(9)),
        CosignRefusal::NotToMint
    );
    assert_eq!(
        refuse(&|m| m.source_domain = Domain(7)),
        CosignRefusal::UnknownSource(Domain(7))
    );
    assert_eq!(
        refuse(&|m| m.sender = B256::repeat_byte(9)),
        CosignRefusal::WrongSender
    );
    assert!(matches!(
        refuse(&|m| m.body.truncate(100)),
        CosignRefusal::NotBurn(_)
    ));
    assert_eq!(
        refuse(&|m| m.body[4..36].copy_from_slice(&[9; 32])),
        CosignRefusal::WrongToken
    );
}

#[test]
fn trailing_bytes_another_transaction_and_a_wrong_payer_are_refused() {
    let mut s = Setup::new();
    let payer = Pubkey::new_unique();
    let mut raw = s.canonical(&payer);
    raw.push(0);
    assert_eq!(
        s.policy.verify(&s.message, &raw, &s.facts, &s.me()),
        Err(CosignRefusal::Transaction(MintTxError::TrailingBytes(1)))
    );
    assert!(matches!(
        s.policy.verify(&s.message, &[1, 2, 3], &s.facts, &s.me()),
        Err(CosignRefusal::Transaction(MintTxError::Malformed(_)))
    ));
    let outsider = Pubkey::new_unique();
    let raw = s.canonical(&payer);
    assert!(matches!(
        s.policy.verify(&s.message, &raw, &s.facts, &outsider),
        Err(CosignRefusal::Transaction(MintTxError::Signers(_)))
    ));
    let caller = Pubkey::new_unique();
    s.message.destination_caller = B256::from(caller.to_bytes());
    let raw = s.canonical(&payer);
    assert_eq!(
        s.policy.verify(&s.message, &raw, &s.facts, &s.me()),
        Err(CosignRefusal::WrongPayer { caller, payer })
    );
    assert!(s
        .policy
        .verify(&s.message, &s.canonical(&caller), &s.facts, &s.me())
        .is_ok());
}
