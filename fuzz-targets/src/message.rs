//! CCTP v1 message and burn-body decoding (`usd1_core::message`): what every attester and
//! relayer runs on bytes read from a chain or an attester's answer.

use usd1_core::message::HEADER_LEN;
use usd1_core::{BurnBody, Message};

pub fn message_decode(data: &[u8]) {
    match Message::decode(data) {
        Ok(m) => {
            // The header is fixed-width and the body opaque: nothing is lost or normalised.
            assert_eq!(m.encode(), data, "decode → encode is the identity");
            let _ = (m.hash(), m.used_nonce_key());
            if let Ok(body) = m.burn_body() {
                assert_eq!(body.encode(), m.body, "burn body decode → encode");
            }
        }
        Err(_) => assert!(
            data.len() < HEADER_LEN || data[..4] != [0; 4],
            "only a short or non-version-0 message is refused"
        ),
    }
    if let Ok(body) = BurnBody::decode(data) {
        assert_eq!(body.encode(), data, "burn body decode → encode");
    }
    // The hex form (attester answers, the CLI) decodes to the same message.
    let hex_form = Message::decode_hex(&format!("0x{}", hex::encode(data)));
    assert_eq!(
        hex_form,
        Message::decode(data),
        "hex and raw decoding agree"
    );
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(m) = Message::decode_hex(text) {
            let raw = hex::decode(text.trim_start_matches("0x"));
            assert_eq!(raw.as_deref().ok(), Some(m.encode().as_slice()));
        }
    }
}
