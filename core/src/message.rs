//! The CCTP v1 wire format (DESIGN §2): a 116-byte big-endian header, then the body; a burn
//! body is exactly 132 bytes. `message_hash = keccak256(message)`.

use crate::Domain;
use alloy_primitives::{keccak256, Address, B256, U256};
use thiserror::Error;

pub const HEADER_LEN: usize = 116;
pub const BURN_BODY_LEN: usize = 132;
pub const MESSAGE_VERSION: u32 = 0;
pub const BURN_BODY_VERSION: u32 = 0;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MessageError {
    #[error("message is {0} bytes; a CCTP v1 message has at least {HEADER_LEN}")]
    TooShort(usize),
    #[error("burn body is {0} bytes; it must be exactly {BURN_BODY_LEN}")]
    BurnBodyLength(usize),
    #[error("unsupported message version {0}")]
    Version(u32),
    #[error("unsupported burn body version {0}")]
    BurnBodyVersion(u32),
    #[error("invalid hex: {0}")]
    Hex(String),
}

/// One CCTP v1 message: header fields plus the opaque body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub version: u32,
    pub source_domain: Domain,
    pub destination_domain: Domain,
    pub nonce: u64,
    pub sender: B256,
    pub recipient: B256,
    pub destination_caller: B256,
    pub body: Vec<u8>,
}

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.body.len());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.source_domain.0.to_be_bytes());
        out.extend_from_slice(&self.destination_domain.0.to_be_bytes());
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(self.sender.as_slice());
        out.extend_from_slice(self.recipient.as_slice());
        out.extend_from_slice(self.destination_caller.as_slice());
        out.extend_from_slice(&self.body);
        out
    }

    /// Parses the header of any version-0 message; the body is kept as is.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        if bytes.len() < HEADER_LEN {
            return Err(MessageError::TooShort(bytes.len()));
        }
        let version = be_u32(&bytes[0..4]);
        if version != MESSAGE_VERSION {
            return Err(MessageError::Version(version));
        }
        Ok(Self {
            version,
            source_domain: Domain(be_u32(&bytes[4..8])),
            destination_domain: Domain(be_u32(&bytes[8..12])),
            nonce: u64::from_be_bytes(fixed(&bytes[12..20])),
            sender: B256::from_slice(&bytes[20..52]),
            recipient: B256::from_slice(&bytes[52..84]),
            destination_caller: B256::from_slice(&bytes[84..116]),
            body: bytes[HEADER_LEN..].to_vec(),
        })
    }

    pub fn decode_hex(text: &str) -> Result<Self, MessageError> {
        let raw = hex::decode(text.trim_start_matches("0x"))
            .map_err(|e| MessageError::Hex(e.to_string()))?;
        Self::decode(&raw)
    }

    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    pub fn burn_body(&self) -> Result<BurnBody, MessageError> {
        BurnBody::decode(&self.body)
    }

    /// The destination's replay key, as `MessageTransmitter.usedNonces` indexes it:
    /// keccak256(abi.encodePacked(uint32 sourceDomain, uint64 nonce)).
    pub fn used_nonce_key(&self) -> B256 {
        let mut packed = [0u8; 12];
        packed[..4].copy_from_slice(&self.source_domain.0.to_be_bytes());
        packed[4..].copy_from_slice(&self.nonce.to_be_bytes());
        keccak256(packed)
    }
}

/// The 132-byte body of a burn message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BurnBody {
    pub version: u32,
    pub burn_token: B256,
    pub mint_recipient: B256,
    pub amount: U256,
    pub message_sender: B256,
}

impl BurnBody {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BURN_BODY_LEN);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(self.burn_token.as_slice());
        out.extend_from_slice(self.mint_recipient.as_slice());
        out.extend_from_slice(&self.amount.to_be_bytes::<32>());
        out.extend_from_slice(self.message_sender.as_slice());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        if bytes.len() != BURN_BODY_LEN {
            return Err(MessageError::BurnBodyLength(bytes.len()));
        }
        let version = be_u32(&bytes[0..4]);
        if version != BURN_BODY_VERSION {
            return Err(MessageError::BurnBodyVersion(version));
        }
        Ok(Self {
            version,
            burn_token: B256::from_slice(&bytes[4..36]),
            mint_recipient: B256::from_slice(&bytes[36..68]),
            amount: U256::from_be_slice(&bytes[68..100]),
            message_sender: B256::from_slice(&bytes[100..132]),
        })
    }
}

/// An EVM address left-padded to 32 bytes.
pub fn address_to_bytes32(address: Address) -> B256 {
    address.into_word()
}

/// The low 20 bytes of a bytes32, as the EVM contracts read an address from one.
pub fn bytes32_to_address(word: B256) -> Address {
    Address::from_word(word)
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes(fixed(b))
}

fn fixed<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Message {
        let body = BurnBody {
            version: 0,
            burn_token: B256::repeat_byte(0x11),
            mint_recipient: B256::repeat_byte(0x22),
            amount: U256::from(1_250_000u64),
            message_sender: B256::repeat_byte(0x33),
        };
        Message {
            version: 0,
            source_domain: Domain(0),
            destination_domain: Domain(6),
            nonce: 42,
            sender: B256::repeat_byte(0x44),
            recipient: B256::repeat_byte(0x55),
            destination_caller: B256::ZERO,
            body: body.encode(),
        }
    }

    #[test]
    fn header_fields_sit_at_the_documented_offsets() {
        let raw = sample().encode();
        assert_eq!(raw.len(), HEADER_LEN + BURN_BODY_LEN);
        assert_eq!(&raw[4..8], &0u32.to_be_bytes());
        assert_eq!(&raw[8..12], &6u32.to_be_bytes());
        assert_eq!(&raw[12..20], &42u64.to_be_bytes());
        assert_eq!(raw[20], 0x44);
        assert_eq!(raw[52], 0x55);
        assert_eq!(raw[116 + 4], 0x11);
        assert_eq!(raw[116 + 36], 0x22);
        assert_eq!(
            U256::from_be_slice(&raw[116 + 68..116 + 100]),
            U256::from(1_250_000u64)
        );
        assert_eq!(raw[116 + 100], 0x33);
    }

    #[test]
    fn used_nonce_key_matches_abi_encode_packed() {
        let m = sample();
        let mut packed = Vec::new();
        packed.extend_from_slice(&0u32.to_be_bytes());
        packed.extend_from_slice(&42u64.to_be_bytes());
        assert_eq!(m.used_nonce_key(), keccak256(packed));
    }

    #[test]
    fn short_and_wrong_version_messages_are_errors() {
        assert_eq!(Message::decode(&[0u8; 10]), Err(MessageError::TooShort(10)));
        let mut raw = sample().encode();
        raw[3] = 1;
        assert_eq!(Message::decode(&raw), Err(MessageError::Version(1)));
        assert_eq!(
            BurnBody::decode(&[0u8; 131]),
            Err(MessageError::BurnBodyLength(131))
        );
        assert!(Message::decode_hex("0xzz").is_err());
    }

    proptest! {
        #[test]
        fn message_roundtrips(src in any::<u32>(), dst in any::<u32>(), nonce in any::<u64>(),
                              sender in any::<[u8; 32]>(), body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let m = Message { version: 0, source_domain: Domain(src), destination_domain: Domain(dst), nonce,
                sender: B256::from(sender), recipient: B256::ZERO, destination_caller: B256::repeat_byte(7), body };
            prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn burn_body_roundtrips(amount in any::<[u8; 32]>(), who in any::<[u8; 32]>()) {
            let b = BurnBody { version: 0, burn_token: B256::from(who), mint_recipient: B256::from(who),
                amount: U256::from_be_bytes(amount), message_sender: B256::ZERO };
            prop_assert_eq!(BurnBody::decode(&b.encode()).unwrap(), b);
        }

        #[test]
        fn decode_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Message::decode(&raw).map(|m| m.burn_body());
        }
    }
}
