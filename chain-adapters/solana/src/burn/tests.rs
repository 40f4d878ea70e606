use super::*;
use solana_sdk::instruction::Instruction;

/// A real SPL instruction as the watcher would see it.
fn seen(ix: Instruction) -> SeenInstruction {
    SeenInstruction {
        program: ix.program_id,
        accounts: ix.accounts.iter().map(|a| a.pubkey).collect(),
        data: ix.data,
    }
}

struct Keys {
    mint: Pubkey,
    account: Pubkey,
    owner: Pubkey,
}

fn keys() -> Keys {
    Keys {
        mint: Pubkey::new_unique(),
        account: Pubkey::new_unique(),
        owner: Pubkey::new_unique(),
    }
}

fn burn(k: &Keys, amount: u64) -> SeenInstruction {
    seen(
        spl_token_interface::instruction::burn(
            &token_program(),
            &k.account,
            &k.mint,
            &k.owner,
            &[],
            amount,
        )
        .unwrap(),
    )
}

fn burn_checked(k: &Keys, amount: u64) -> SeenInstruction {
    seen(
        spl_token_interface::instruction::burn_checked(
            &token_program(),
            &k.account,
            &k.mint,
            &k.owner,
            &[],
            amount,
            6,
        )
        .unwrap(),
    )
}

/// The memo as a bridge burn carries it: signed by the burn's owner.
fn memo_by(text: &str, signer: &Pubkey) -> SeenInstruction {
    seen(crate::memo::burn_memo_instruction(text, signer))
}

/// A memo listing no signer.
fn unsigned_memo(text: &str) -> SeenInstruction {
    seen(spl_memo_interface::instruction::build_memo(
        &memo_program(),
        text.as_bytes(),
        &[],
    ))
}

/// The transaction's signers: a fee payer and the owner.
fn signers(k: &Keys) -> Vec<Pubkey> {
    vec![Pubkey::new_unique(), k.owner]
}

const RECIPIENT: &str = "00000000000000000000000090f79bf6eb2c4f870365e785982e1f101e93b906";

fn good_memo() -> String {
    format!("usd1:burn:v1:6:{RECIPIENT}")
}

#[test]
fn a_burn_with_its_memo_is_a_bridge_burn() {
    let k = keys();
    for b in [burn(&k, 2_500_000), burn_checked(&k, 2_500_000)] {
        let found = classify(
            &[b, memo_by(&good_memo(), &k.owner)],
            true,
            &signers(&k),
            &k.mint,
        )
        .unwrap()
        .unwrap();
        assert_eq!(found.amount, 2_500_000);
        assert_eq!(found.authority, k.owner);
        assert_eq!(found.memo.destination_domain, Domain(6));
    }
}

#[test]
fn unrelated_transactions_are_ignored() {
    let k = keys();
    let other_mint = Keys {
        mint: Pubkey::new_unique(),
        ..keys()
    };
    let memo = memo_by(&good_memo(), &k.owner);
    assert_eq!(
        classify(std::slice::from_ref(&memo), true, &signers(&k), &k.mint),
        Ok(None)
    );
    assert_eq!(
        classify(&[burn(&other_mint, 5), memo], true, &signers(&k), &k.mint),
        Ok(None)
    );
}

#[test]
fn burns_that_break_the_rule_are_never_bridge_burns() {
    let k = keys();
    let memo = |text: &str| memo_by(text, &k.owner);
    let cases: Vec<(Vec<SeenInstruction>, bool, NotBridgeBurn)> = vec![
        (vec![burn(&k, 5)], true, NotBridgeBurn::NoMemo),
        (
            vec![burn(&k, 5), memo("hello")],
            true,
            NotBridgeBurn::BadMemo(MemoError::NotBurnMemo),
        ),
        (
            vec![burn(&k, 5), burn(&k, 6), memo(&good_memo())],
            true,
            NotBridgeBurn::SeveralBurns,
        ),
        (
            vec![burn(&k, 5), memo(&good_memo()), memo(&good_memo())],
            true,
            NotBridgeBurn::SeveralMemos,
        ),
        (
            vec![burn(&k, 5), memo(&good_memo())],
            false,
            NotBridgeBurn::FailedTransaction,
        ),
        (
            vec![
                burn(&k, 5),
                seen(spl_memo_interface::instruction::build_memo(
                    &memo_program(),
                    &[0xff, 0xfe],
                    &[&k.owner],
                )),
            ],
            true,
            NotBridgeBurn::MemoNotUtf8,
        ),
        (
            vec![burn(&k, 0), memo(&good_memo())],
            true,
            NotBridgeBurn::ZeroAmount,
        ),
        (
            vec![burn_checked(&k, 0), memo(&good_memo())],
            true,
            NotBridgeBurn::ZeroAmount,
        ),
        (
            vec![burn(&k, 5), unsigned_memo(&good_memo())],
            true,
            NotBridgeBurn::MemoNotSignedByOwner,
        ),
        (
            vec![burn(&k, 5), memo_by(&good_memo(), &Pubkey::new_unique())],
            true,
            NotBridgeBurn::MemoNotSignedByOwner,
        ),
    ];
    for (ixs, ok, why) in cases {
        assert_eq!(classify(&ixs, ok, &signers(&k), &k.mint), Err(why));
    }
}

#[test]
fn the_owner_listed_on_the_memo_must_also_have_signed_the_transaction() {
    // An inner memo carries no signer flags: listing the owner is not enough.
    let k = keys();
    let ixs = [burn(&k, 5), memo_by(&good_memo(), &k.owner)];
    let payer_only = [Pubkey::new_unique()];
    assert_eq!(
        classify(&ixs, true, &payer_only, &k.mint),
        Err(NotBridgeBurn::MemoNotSignedByOwner)
    );
    assert!(classify(&ixs, true, &signers(&k), &k.mint)
        .unwrap()
        .is_some());
}

#[test]
fn burn_data_is_read_as_spl_token_reads_it_trailing_bytes_ignored() {
    // SPL Token accepts a Burn/BurnChecked with bytes after its fields: such a burn must be
    // seen (and judged by the rule), never silently skipped.
    let k = keys();
    for mut b in [burn(&k, 4_000_000), burn_checked(&k, 4_000_000)] {
        b.data.extend_from_slice(&[0xaa; 7]);
        let found = classify(
            &[b.clone(), memo_by(&good_memo(), &k.owner)],
            true,
            &signers(&k),
            &k.mint,
        )
        .unwrap()
        .expect("a padded burn is a bridge burn");
        assert_eq!(found.amount, 4_000_000);
        assert_eq!(
            classify(&[b], true, &signers(&k), &k.mint),
            Err(NotBridgeBurn::NoMemo),
            "and without a memo it is rejected, not ignored"
        );
    }
    // Too short for SPL Token too: the program refuses it, so it burns nothing.
    let mut short = burn(&k, 5);
    short.data.truncate(5);
    assert_eq!(
        classify(
            &[short, memo_by(&good_memo(), &k.owner)],
            true,
            &signers(&k),
            &k.mint
        ),
        Ok(None)
    );
}

#[test]
fn evm_destinations_need_evm_shaped_recipient_and_caller() {
    let memo = |recipient: B256, caller: B256| BurnMemo {
        destination_domain: Domain(0),
        mint_recipient: recipient,
        destination_caller: caller,
    };
    let address = B256::left_padding_from(&[0x90; 20]);
    assert_eq!(check_evm_shape(&memo(address, B256::ZERO)), Ok(()));
    assert_eq!(check_evm_shape(&memo(address, address)), Ok(()));
    let mut high = address;
    high[0] = 1;
    assert_eq!(
        check_evm_shape(&memo(high, B256::ZERO)),
        Err(NotBridgeBurn::BadRecipientShape),
        "a Solana-style 32-byte recipient cannot receive on an EVM chain"
    );
    assert_eq!(
        check_evm_shape(&memo(B256::repeat_byte(0x11), B256::ZERO)),
        Err(NotBridgeBurn::BadRecipientShape)
    );
    assert_eq!(
        check_evm_shape(&memo(address, high)),
        Err(NotBridgeBurn::BadCallerShape)
    );
    assert_eq!(
        NotBridgeBurn::BadRecipientShape.label(),
        "bad_recipient_shape"
    );
    assert_eq!(NotBridgeBurn::ZeroAmount.label(), "zero_amount");
    assert_eq!(
        NotBridgeBurn::MemoNotSignedByOwner.label(),
        "memo_not_signed_by_owner"
    );
}

#[test]
fn the_message_follows_design_section_4() {
    let k = keys();
    let b = classify(
        &[burn_checked(&k, 7_000_000), memo_by(&good_memo(), &k.owner)],
        true,
        &signers(&k),
        &k.mint,
    )
    .unwrap()
    .unwrap();
    let messenger = B256::repeat_byte(0x77);
    let m = burn_message(&b, &k.mint, 1234, 3, messenger).unwrap();
    assert_eq!(m.source_domain, Domain::SOLANA);
    assert_eq!(m.destination_domain, Domain(6));
    assert_eq!(m.nonce, (1234 << 20) | 3);
    assert_eq!(m.sender, B256::from(k.mint.to_bytes()), "sender = the mint");
    assert_eq!(
        m.recipient, messenger,
        "recipient = the destination's TokenMessenger"
    );
    let body = m.burn_body().unwrap();
    assert_eq!(body.burn_token, B256::from(k.mint.to_bytes()));
    assert_eq!(body.message_sender, B256::from(k.owner.to_bytes()));
    assert_eq!(body.amount, U256::from(7_000_000u64));
    assert_eq!(hex::encode(body.mint_recipient), RECIPIENT);
}
