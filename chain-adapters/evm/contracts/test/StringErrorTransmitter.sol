// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Message} from "../src/Message.sol";
import {IMessageHandler, MessageTransmitter} from "../src/MessageTransmitter.sol";

/// TEST FIXTURE, never deployed in production: our MessageTransmitter whose `receiveMessage`
/// refuses the way Circle's CCTP v1 MessageTransmitter does, with `Error(string)` revert
/// strings instead of our custom errors, in Circle's order of checks. It accepts exactly the
/// messages ours accepts (same attestation rule, body size limit, destination caller and nonce
/// checks), emits the same `MessageReceived`, and calls the recipient's handler directly, so a
/// handler's revert bubbles up unchanged; a handler returning false gives
/// "handleReceiveMessage() failed". Everything else (sending, administration, the views
/// `usedNonces`, `paused`, `signatureThreshold`, `getNumEnabledAttesters`,
/// `getEnabledAttester`) is inherited unchanged, and so is the batch `receiveMessages`, which keeps
/// our custom errors (Circle's v1 transmitter has no batch entry point to mimic).
contract StringErrorTransmitter is MessageTransmitter {
    /// secp256k1n / 2: a higher `s` is malleable (OpenZeppelin 3.4's ECDSA, which Circle uses).
    uint256 private constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    constructor(uint32 localDomain_, address[] memory attesters, uint256 threshold, uint256 maxMessageBodySize_)
        MessageTransmitter(localDomain_, attesters, threshold, maxMessageBodySize_)
    {}

    function receiveMessage(bytes calldata message, bytes calldata attestation) external override returns (bool) {
        require(!paused(), "Pausable: paused");
        _verifyAttestationSignatures(message, attestation);
        require(message.length >= Message.BODY, "Malformed message");
        // Circle checks the body size on send only; kept here so both transmitters accept the
        // same messages (string as Circle's send-side check).
        require(message.length - Message.BODY <= maxMessageBodySize(), "Message body exceeds max size");
        require(Message.destinationDomain(message) == localDomain, "Invalid destination domain");
        bytes32 caller = Message.destinationCaller(message);
        if (caller != bytes32(0)) {
            require(caller == Message.addressToBytes32(msg.sender), "Invalid caller for message");
        }
        require(Message.version(message) == version, "Invalid message version");

        uint32 sourceDomain = Message.sourceDomain(message);
        uint64 nonce = Message.nonce(message);
        bytes32 key = keccak256(abi.encodePacked(sourceDomain, nonce));
        require(usedNonces[key] == 0, "Nonce already used");
        usedNonces[key] = 1;

        bytes32 sender = Message.sender(message);
        bytes calldata body = Message.body(message);
        address handler = Message.bytes32ToAddress(Message.recipient(message));
        require(
            IMessageHandler(handler).handleReceiveMessage(sourceDomain, sender, body), "handleReceiveMessage() failed"
        );
        emit MessageReceived(msg.sender, sourceDomain, nonce, sender, body);
        return true;
    }

    /// Circle's Attestable._verifyAttestationSignatures with OpenZeppelin 3.4's ECDSA.recover.
    function _verifyAttestationSignatures(bytes calldata message, bytes calldata attestation) private view {
        uint256 threshold = signatureThreshold();
        require(attestation.length == SIGNATURE_LENGTH * threshold, "Invalid attestation length");
        bytes32 digest = keccak256(message);
        address previous = address(0);
        for (uint256 i = 0; i < threshold; i++) {
            address signer = _recover(digest, attestation[i * SIGNATURE_LENGTH:(i + 1) * SIGNATURE_LENGTH]);
            require(signer > previous, "Invalid signature order or dupe");
            require(isEnabledAttester[signer], "Invalid signature: not attester");
            previous = signer;
        }
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        require(uint256(s) <= HALF_N, "ECDSA: invalid signature 's' value");
        require(v == 27 || v == 28, "ECDSA: invalid signature 'v' value");
        signer = ecrecover(digest, v, r, s);
        require(signer != address(0), "ECDSA: invalid signature");
    }
}
