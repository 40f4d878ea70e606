//! Starting inputs for each target: well-formed ones, so the fuzzer explores from the shapes
//! production sees instead of finding them byte by byte. `examples/write_seeds.rs` writes
//! them out; the committed corpus is what fuzzing grew from them, minimised.

use crate::cosign::{canonical_request, policy, SOURCES};
use usd1_core::{BurnBody, Domain, Message, B256, U256};
use usd1_solana::memo::BurnMemo;
use usd1_solana::solana_sdk::hash::Hash;
use usd1_solana::Pubkey;

/// (target, seed name, bytes).
pub type Seed = (&'static str, &'static str, Vec<u8>);

fn burn_to_solana(destination_caller: B256) -> Message {
    let (policy, _, _) = policy();
    let (domain, messenger, token) = SOURCES[0];
    let body = BurnBody {
        version: 0,
        burn_token: B256::from(token),
        mint_recipient: B256::repeat_byte(0x5a),
        amount: U256::from(12_500_000u64),
        message_sender: B256::repeat_byte(0x3c),
    };
    Message {
        version: 0,
        source_domain: Domain(domain),
        destination_domain: Domain::SOLANA,
        nonce: 42,
        sender: B256::from(messenger),
        recipient: B256::from(policy.mint.to_bytes()),
        destination_caller,
        body: body.encode(),
    }
}

/// `message length ‖ message ‖ transaction`, as the cosign target reads it.
fn cosign_input(message: &Message, tx: &[u8]) -> Vec<u8> {
    let raw = message.encode();
    let mut out = (raw.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&raw);
    out.extend_from_slice(tx);
    out
}

fn cosign_seeds() -> Vec<Seed> {
    let plain = burn_to_solana(B256::ZERO);
    let caller = Pubkey::new_from_array([0x66; 32]);
    let with_caller = burn_to_solana(B256::from(caller.to_bytes()));
    let payer = Pubkey::new_from_array([0x77; 32]);
    let tx = |m: &Message, p: &Pubkey| {
        canonical_request(m, p, Hash::new_from_array([9; 32])).unwrap_or_default()
    };
    let mut trailing = tx(&plain, &payer);
    trailing.push(0);
    vec![
        (
            "cosign_request",
            "canonical",
            cosign_input(&plain, &tx(&plain, &payer)),
        ),
        (
            "cosign_request",
            "trailing_byte",
            cosign_input(&plain, &trailing),
        ),
        (
            "cosign_request",
            "caller_pays",
            cosign_input(&with_caller, &tx(&with_caller, &caller)),
        ),
        (
            "cosign_request",
            "wrong_payer",
            cosign_input(&with_caller, &tx(&with_caller, &payer)),
        ),
    ]
}

/// `flags ‖ slot ‖ index ‖ instructions` for the solana_burn target: a burn of the mint by
/// key 1, and a memo signed by it.
fn burn_input(memo: &str, amount: u64) -> Vec<u8> {
    let mut out = vec![0b0010]; // succeeded; the burner signed
    out.extend_from_slice(&300_000_000u64.to_be_bytes());
    out.extend_from_slice(&7u16.to_be_bytes());
    // Burn (tag 8, amount LE): accounts token account, mint, burner.
    let mut data = vec![8u8];
    data.extend_from_slice(&amount.to_le_bytes());
    out.extend_from_slice(&[3, 3, 2, 0, 1, data.len() as u8]);
    out.extend_from_slice(&data);
    // Memo (program 4 = Memo v3), signed by the burner.
    out.extend_from_slice(&[4, 1, 1, memo.len() as u8]);
    out.extend_from_slice(memo.as_bytes());
    out
}

fn memo_seeds() -> Vec<String> {
    let evm = B256::left_padding_from(&[0xab; 20]);
    vec![
        BurnMemo {
            destination_domain: Domain(0),
            mint_recipient: evm,
            destination_caller: B256::ZERO,
        }
        .format(),
        BurnMemo {
            destination_domain: Domain(6),
            mint_recipient: evm,
            destination_caller: B256::left_padding_from(&[0xcd; 20]),
        }
        .format(),
    ]
}

fn attestation_input(threshold: u8, setup: u8, records: &[(u8, u8)]) -> Vec<u8> {
    let mut out = vec![threshold, setup];
    for (tag, key) in records {
        out.extend_from_slice(&[*tag, *key]);
    }
    out
}

pub fn seeds() -> Vec<Seed> {
    let mut out: Vec<Seed> = Vec::new();
    let message = burn_to_solana(B256::ZERO);
    out.push(("message_decode", "burn", message.encode()));
    out.push((
        "message_decode",
        "header_only",
        message.encode()[..116].to_vec(),
    ));
    out.push((
        "message_decode",
        "hex",
        format!("0x{}", hex::encode(message.encode())).into_bytes(),
    ));
    for (i, memo) in memo_seeds().into_iter().enumerate() {
        let name = ["memo_evm", "memo_evm_caller"][i];
        out.push(("burn_memo", name, memo.clone().into_bytes()));
        out.push(("solana_burn", name, burn_input(&memo, 1_000_000)));
    }
    out.extend(cosign_seeds());
    // Threshold 2, message 0, all four enabled: signatures of keys 2, 0, 1; a raw one.
    out.push((
        "attestation_assembly",
        "two_of_three",
        attestation_input(2, 0b11110, &[(1, 2), (1, 0), (1, 1)]),
    ));
    out.push((
        "attestation_assembly",
        "duplicate_and_other_hash",
        attestation_input(2, 0b01110, &[(1, 0), (1, 0), (2, 1), (3, 1)]),
    ));
    let configs: [(&str, u8, &str); 4] = [
        (
            "attester_example",
            0,
            include_str!("../../config/examples/attester.toml"),
        ),
        (
            "relayer_example",
            1,
            include_str!("../../config/examples/relayer.toml"),
        ),
        (
            "attester_production",
            0,
            include_str!("../../deploy/config/attester.production.toml"),
        ),
        (
            "relayer_production",
            1,
            include_str!("../../deploy/config/relayer.production.toml"),
        ),
    ];
    for (name, kind, text) in configs {
        let mut input = vec![kind];
        input.extend_from_slice(compact(text).as_bytes());
        out.push(("config_parse", name, input));
    }
    // Overrides: one good, one bad value, one bad key.
    let env = [
        (
            "env_good",
            "SERVICE__LISTEN=0.0.0.0:7009\0CHAINS__ETHEREUM__RPC_URLS=[\"http://10.0.0.1:8545\"]",
        ),
        ("env_bad_value", "SERVICE__LISTEN=nope"),
        ("env_unknown_key", "SERVICE__LISTN=127.0.0.1:1"),
    ];
    for (name, vars) in env {
        let mut input = vec![0];
        input.extend_from_slice(compact(configs[0].2).as_bytes());
        input.push(0);
        input.extend_from_slice(vars.as_bytes());
        out.push(("config_parse", name, input));
    }
    out
}

/// A config without its comments and blank lines: the same config in half the bytes, so each
/// execution parses less text (it is TOML parsing that bounds this target's speed).
fn compact(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = line.trim();
        // A comment starts at a `#` outside a string (the examples' strings hold no quotes).
        let mut in_string = false;
        let end = line
            .char_indices()
            .find(|&(_, c)| {
                in_string ^= c == '"';
                c == '#' && !in_string
            })
            .map_or(line.len(), |(i, _)| i);
        let kept = line[..end].trim_end();
        if !kept.is_empty() {
            out.push_str(kept);
            out.push('\n');
        }
    }
    out
}
