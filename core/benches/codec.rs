use alloy::signers::{local::PrivateKeySigner, SignerSync};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use usd1_core::{assemble_attestation, BurnBody, Domain, Message, Signature65, B256, U256};

fn message() -> Message {
    let body = BurnBody {
        version: 0,
        burn_token: B256::repeat_byte(1),
        mint_recipient: B256::repeat_byte(2),
        amount: U256::from(12_500_000u64),
        message_sender: B256::repeat_byte(3),
    };
    Message {
        version: 0,
        source_domain: Domain(0),
        destination_domain: Domain(6),
        nonce: 7,
        sender: B256::repeat_byte(4),
        recipient: B256::repeat_byte(5),
        destination_caller: B256::ZERO,
        body: body.encode(),
    }
}

fn codec(c: &mut Criterion) {
    let m = message();
    let raw = m.encode();
    c.bench_function("message_encode", |b| b.iter(|| black_box(&m).encode()));
    c.bench_function("message_decode_with_burn_body", |b| {
        b.iter(|| Message::decode(black_box(&raw)).and_then(|m| m.burn_body()))
    });
    c.bench_function("message_hash", |b| b.iter(|| black_box(&m).hash()));
}

/// What the relayer does per message: recover 3 signatures, keep 2 in signer order.
fn assembly(c: &mut Criterion) {
    let m = message();
    let hash = m.hash();
    let keys: Vec<PrivateKeySigner> = (1..=3u8)
        .map(|i| PrivateKeySigner::from_bytes(&B256::with_last_byte(i)).expect("key"))
        .collect();
    let attesters: Vec<_> = keys.iter().map(|k| k.address()).collect();
    let sigs: Vec<Signature65> = keys
        .iter()
        .map(|k| {
            Signature65::from_signature(&k.sign_hash_sync(&hash).expect("sign")).expect("low s")
        })
        .collect();
    c.bench_function("assemble_attestation_2_of_3", |b| {
        b.iter(|| assemble_attestation(black_box(&hash), black_box(&sigs), &attesters, 2))
    });
    c.bench_function("attester_sign_secp256k1", |b| {
        b.iter(|| keys[0].sign_hash_sync(black_box(&hash)))
    });
}

criterion_group!(benches, codec, assembly);
criterion_main!(benches);
