use super::pin::{one_slot, ClaimState};
use super::*;
use crate::burn::SeenInstruction;
use crate::claim::claim_address;
use crate::memo::BurnMemo;
use crate::token_program;
use crate::transaction::SeenTransaction;
use crate::{memo_program, spl_memo_instruction};
use solana_sdk::account::Account;
use usd1_core::B256;

fn seen(ix: solana_sdk::instruction::Instruction) -> SeenInstruction {
    SeenInstruction {
        program: ix.program_id,
        accounts: ix.accounts.iter().map(|a| a.pubkey).collect(),
        data: ix.data,
    }
}

struct Fixture {
    mint: Pubkey,
    owner: Pubkey,
    account: Pubkey,
}

impl Fixture {
    fn new() -> Self {
        Self {
            mint: Pubkey::new_unique(),
            owner: Pubkey::new_unique(),
            account: Pubkey::new_unique(),
        }
    }

    fn burn(&self, amount: u64) -> SeenInstruction {
        seen(
            spl_token_interface::instruction::burn_checked(
                &token_program(),
                &self.account,
                &self.mint,
                &self.owner,
                &[],
                amount,
                6,
            )
            .unwrap(),
        )
    }

    fn memo(&self, text: &str) -> SeenInstruction {
        let mut ix = seen(spl_memo_instruction(&memo_program(), text.as_bytes()));
        ix.accounts.push(self.owner);
        ix
    }

    fn tx(&self, instructions: Vec<SeenInstruction>, succeeded: bool) -> SeenTransaction {
        SeenTransaction {
            instructions,
            succeeded,
            block_time: 0,
            signers: vec![self.owner],
        }
    }
}

fn evm(domains: &[u32]) -> HashSet<Domain> {
    domains.iter().map(|&d| Domain(d)).collect()
}

fn burn_memo(domain: u32, recipient: B256) -> String {
    format!("usd1:burn:v1:{domain}:{}", hex::encode(recipient))
}

fn evm_recipient() -> B256 {
    let mut w = [0u8; 32];
    w[31] = 7;
    B256::from(w)
}

#[test]
fn a_bridge_burn_is_judged_as_the_watcher_does() {
    let f = Fixture::new();
    let tx = f.tx(
        vec![f.burn(5), f.memo(&burn_memo(0, evm_recipient()))],
        true,
    );
    assert_eq!(
        judge(&tx, &f.mint, &evm(&[0, 6])),
        Burned::Bridge {
            destination: Domain(0),
            amount: 5
        }
    );
    // Toward a domain no EVM chain has: still a bridge burn (counted toward unknown).
    assert_eq!(
        judge(&tx, &f.mint, &evm(&[6])),
        Burned::Bridge {
            destination: Domain(0),
            amount: 5
        }
    );
}

#[test]
fn burns_that_are_not_bridge_burns_are_outside_with_what_they_burned() {
    let f = Fixture::new();
    let domains = evm(&[0]);
    let no_memo = f.tx(vec![f.burn(3)], true);
    assert_eq!(
        judge(&no_memo, &f.mint, &domains),
        Burned::Outside {
            amount: U256::from(3u64),
            reason: "no_memo"
        }
    );
    let memo = f.memo(&burn_memo(0, evm_recipient()));
    let two = f.tx(vec![f.burn(3), f.burn(4), memo.clone()], true);
    assert_eq!(
        judge(&two, &f.mint, &domains),
        Burned::Outside {
            amount: U256::from(7u64),
            reason: "several_burns"
        }
    );
    // A 32-byte recipient toward an EVM chain is refused by the watcher.
    let solana_shaped = f.memo(&burn_memo(0, B256::repeat_byte(9)));
    let tx = f.tx(vec![f.burn(2), solana_shaped], true);
    assert!(matches!(
        judge(&tx, &f.mint, &domains),
        Burned::Outside { amount, .. } if amount == U256::from(2u64)
    ));
}

#[test]
fn failed_transactions_and_other_mints_burn_nothing() {
    let f = Fixture::new();
    let domains = evm(&[0]);
    let failed = f.tx(vec![f.burn(3)], false);
    assert_eq!(judge(&failed, &f.mint, &domains), Burned::Nothing);
    let other = Fixture::new();
    let tx = f.tx(vec![other.burn(3)], true);
    assert_eq!(judge(&tx, &f.mint, &domains), Burned::Nothing);
    assert_eq!(burned(&[other.burn(3)], &f.mint), U256::ZERO);
    let memo = BurnMemo::parse(&burn_memo(0, evm_recipient())).unwrap();
    assert_eq!(memo.destination_domain, Domain(0));
}

#[test]
fn burned_reads_burn_data_as_spl_token_does() {
    let f = Fixture::new();
    let mut plain = seen(
        spl_token_interface::instruction::burn(
            &token_program(),
            &f.account,
            &f.mint,
            &f.owner,
            &[],
            11,
        )
        .unwrap(),
    );
    assert_eq!(
        burned(&[plain.clone(), f.burn(4)], &f.mint),
        U256::from(15u64)
    );
    plain.data.push(0xff); // trailing bytes: SPL Token ignores them, so must we
    assert_eq!(burned(&[plain], &f.mint), U256::from(11u64));
}

#[test]
fn reads_count_only_when_they_share_one_slot() {
    assert_eq!(one_slot(&[7, 7, 7]), Some(7));
    assert_eq!(one_slot(&[7]), Some(7));
    assert_eq!(one_slot(&[7, 8]), None);
    assert_eq!(one_slot(&[]), None);
}

fn account(owner: Pubkey) -> Option<Account> {
    Some(Account {
        lamports: 890_880,
        data: vec![],
        owner,
        executable: false,
        rent_epoch: 0,
    })
}

#[test]
fn what_is_established_for_good_outlives_the_process() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let tree = db.open_tree("audit/solana").unwrap();
    let audit = SolanaAudit::new(
        "solana".into(),
        Domain::SOLANA,
        "http://127.0.0.1:9",
        Pubkey::new_unique(),
        Pubkey::new_unique(),
        Pubkey::new_unique(),
        vec![],
        evm(&[0]),
    )
    .with_index(tree.clone());
    let burn = |nonce, amount: u64| OutboundBurn {
        destination: Domain(0),
        nonce,
        amount: U256::from(amount),
    };
    let retired_claim = Pubkey::new_unique();
    {
        let mut known = audit.known();
        known.received.insert((Domain(6), 9));
        known.retired.insert(retired_claim, true);
        known.floor = 120;
    }
    audit
        .save(Changes {
            received: vec![(Domain(6), 9)],
            bridge: vec![],
        })
        .unwrap();
    {
        let mut known = audit.known();
        known.bridge = vec![burn(100 << 20, 5), burn((110 << 20) | 3, 7)];
        known.outside = (2, U256::from(11u64));
        known.scanned_through = Some(120);
    }
    let bridge = audit.known().bridge.clone();
    audit
        .save(Changes {
            received: vec![],
            bridge,
        })
        .unwrap();
    assert_eq!(Known::load(&tree).unwrap(), *audit.known());
    assert_eq!(Known::load(&tree).unwrap().floor, 120);
}

#[tokio::test]
async fn which_claims_count_as_received() {
    let (current, old) = (Pubkey::new_unique(), Pubkey::new_unique());
    let audit = SolanaAudit::new(
        "solana".into(),
        Domain::SOLANA,
        "http://127.0.0.1:9", // never called: every retired claim below is decided
        Pubkey::new_unique(),
        Pubkey::new_unique(),
        current,
        vec![old],
        evm(&[0]),
    );
    let burn = (Domain(0), 42);
    let state = |c, r| ClaimState {
        current: c,
        retired: vec![(old, r)],
    };
    let system = solana_system_interface::program::ID;
    // Under the current authority: allocated to the Memo program.
    assert!(audit
        .counts(burn, &state(account(memo_program()), None))
        .await
        .unwrap());
    // Lamports sent to the address (still the System program's) are no claim.
    assert!(!audit
        .counts(burn, &state(account(system), None))
        .await
        .unwrap());
    assert!(!audit.counts(burn, &state(None, None)).await.unwrap());
    // Under a retired authority: only if its creating transaction minted.
    let old_claim = claim_address(&old, burn.0, burn.1).unwrap();
    audit.known().retired.insert(old_claim, false);
    assert!(
        !audit
            .counts(burn, &state(None, account(memo_program())))
            .await
            .unwrap(),
        "bare"
    );
    audit.known().retired.insert(old_claim, true);
    assert!(audit
        .counts(burn, &state(None, account(memo_program())))
        .await
        .unwrap());
    assert!(
        !audit.counts(burn, &state(None, None)).await.unwrap(),
        "not there at the pinned slot: not received there"
    );
}
