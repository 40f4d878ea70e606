// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// CCTP v1 message layout (DESIGN §2): a 116-byte header, then the body. Big-endian.
library Message {
    uint256 internal constant VERSION = 0;
    uint256 internal constant SOURCE_DOMAIN = 4;
    uint256 internal constant DESTINATION_DOMAIN = 8;
    uint256 internal constant NONCE = 12;
    uint256 internal constant SENDER = 20;
    uint256 internal constant RECIPIENT = 52;
    uint256 internal constant DESTINATION_CALLER = 84;
    uint256 internal constant BODY = 116;

    error MessageTooShort();

    function format(
        uint32 version_,
        uint32 sourceDomain_,
        uint32 destinationDomain_,
        uint64 nonce_,
        bytes32 sender_,
        bytes32 recipient_,
        bytes32 destinationCaller_,
        bytes memory body_
    ) internal pure returns (bytes memory) {
        return abi.encodePacked(
            version_, sourceDomain_, destinationDomain_, nonce_, sender_, recipient_, destinationCaller_, body_
        );
    }

    function validate(bytes calldata m) internal pure {
        if (m.length < BODY) revert MessageTooShort();
    }

    function version(bytes calldata m) internal pure returns (uint32) {
        return uint32(bytes4(m[VERSION:SOURCE_DOMAIN]));
    }

    function sourceDomain(bytes calldata m) internal pure returns (uint32) {
        return uint32(bytes4(m[SOURCE_DOMAIN:DESTINATION_DOMAIN]));
    }

    function destinationDomain(bytes calldata m) internal pure returns (uint32) {
        return uint32(bytes4(m[DESTINATION_DOMAIN:NONCE]));
    }

    function nonce(bytes calldata m) internal pure returns (uint64) {
        return uint64(bytes8(m[NONCE:SENDER]));
    }

    function sender(bytes calldata m) internal pure returns (bytes32) {
        return bytes32(m[SENDER:RECIPIENT]);
    }

    function recipient(bytes calldata m) internal pure returns (bytes32) {
        return bytes32(m[RECIPIENT:DESTINATION_CALLER]);
    }

    function destinationCaller(bytes calldata m) internal pure returns (bytes32) {
        return bytes32(m[DESTINATION_CALLER:BODY]);
    }

    function body(bytes calldata m) internal pure returns (bytes calldata) {
        return m[BODY:];
    }

    function addressToBytes32(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    function bytes32ToAddress(bytes32 b) internal pure returns (address) {
        return address(uint160(uint256(b)));
    }
}

/// CCTP v1 burn body (DESIGN §2): exactly 132 bytes.
library BurnMessage {
    uint256 internal constant LENGTH = 132;

    error InvalidBurnMessage();

    function format(uint32 version_, bytes32 burnToken_, bytes32 mintRecipient_, uint256 amount_, bytes32 sender_)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(version_, burnToken_, mintRecipient_, amount_, sender_);
    }

    function validate(bytes calldata b, uint32 expectedVersion) internal pure {
        if (b.length != LENGTH || uint32(bytes4(b[0:4])) != expectedVersion) revert InvalidBurnMessage();
    }

    function burnToken(bytes calldata b) internal pure returns (bytes32) {
        return bytes32(b[4:36]);
    }

    function mintRecipient(bytes calldata b) internal pure returns (bytes32) {
        return bytes32(b[36:68]);
    }

    function amount(bytes calldata b) internal pure returns (uint256) {
        return uint256(bytes32(b[68:100]));
    }

    function messageSender(bytes calldata b) internal pure returns (bytes32) {
        return bytes32(b[100:132]);
    }
}
