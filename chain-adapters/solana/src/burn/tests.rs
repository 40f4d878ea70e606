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

fn memo(text: &str) -> SeenInstruction {
    seen(spl_memo_interface::instruction::build_memo(
        &memo_program(),
        text.as_bytes(),
        &[],
    ))
}

const RECIPIENT: &str = "00000000000000000000000090f79bf6eb2c4f870365e785982e1f101e93b906";

fn good_memo() -> String {
    format!("usd1:burn:v1:6:{RECIPIENT}")
}

#[test]
fn a_burn_with_its_memo_is_a_bridge_burn() {
    let k = keys();
    for b in [burn(&k, 2_500_000), burn_checked(&k, 2_500_000)] {
        let found = classify(&[b, memo(&good_memo())], true, &k.mint)
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
    assert_eq!(classify(&[memo(&good_memo())], true, &k.mint), Ok(None));
    assert_eq!(
        classify(&[burn(&other_mint, 5), memo(&good_memo())], true, &k.mint),
        Ok(None)
    );
}

#[test]
fn burns_that_break_the_rule_are_never_bridge_burns() {
    let k = keys();
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
                    &[],
                )),
            ],
            true,
            NotBridgeBurn::MemoNotUtf8,
        ),
    ];
    for (ixs, ok, why) in cases {
        assert_eq!(classify(&ixs, ok, &k.mint), Err(why));
    }
}

#[test]
fn the_message_follows_design_section_4() {
    let k = keys();
    let b = classify(
        &[burn_checked(&k, 7_000_000), memo(&good_memo())],
        true,
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
