use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use usd1_core::{BurnBody, Domain, Message, B256, U256};

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

criterion_group!(benches, codec);
criterion_main!(benches);
