// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {StringErrorTransmitter} from "./StringErrorTransmitter.sol";
import {TestRecipient} from "./TestRecipient.sol";
import {Usd1Token} from "../src/Usd1Token.sol";
import {MessageTransmitter} from "../src/MessageTransmitter.sol";
import {TokenMessenger} from "../src/TokenMessenger.sol";
import {Message} from "../src/Message.sol";

/// The test fixtures: TestRecipient's modes through both our MessageTransmitter and the
/// StringErrorTransmitter, and the latter's Circle-style `Error(string)` refusals.
/// Messages come from domain A (built here) and are received on domain B.
contract FixturesTest is Test {
    uint32 constant A = 0;
    uint32 constant B = 6;
    uint256 constant MAX_BODY = 8192;
    uint256 constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    uint256[3] attesterKeys = [uint256(0xA11CE), uint256(0xB0B), uint256(0xCA401)];
    uint256 constant OUTSIDER_KEY = 0xBAD;

    MessageTransmitter plain;
    StringErrorTransmitter strings;
    TestRecipient target;
    uint64 nextNonce;

    function setUp() public {
        address[] memory attesters = attesterAddresses();
        plain = new MessageTransmitter(B, attesters, 2, MAX_BODY);
        strings = new StringErrorTransmitter(B, attesters, 2, MAX_BODY);
        target = new TestRecipient();
    }

    // ---- helpers ----

    function attesterAddresses() internal view returns (address[] memory attesters) {
        attesters = new address[](3);
        for (uint256 i = 0; i < 3; i++) {
            attesters[i] = vm.addr(attesterKeys[i]);
        }
    }

    function both() internal view returns (MessageTransmitter[2] memory) {
        return [plain, MessageTransmitter(address(strings))];
    }

    /// A fresh (nonce) message from A to B for the TestRecipient.
    function build(uint32 version_, uint32 destination, bytes32 caller, bytes memory body)
        internal
        returns (bytes memory)
    {
        return Message.format(
            version_,
            A,
            destination,
            nextNonce++,
            Message.addressToBytes32(address(this)),
            Message.addressToBytes32(address(target)),
            caller,
            body
        );
    }

    function toTarget(bytes memory body) internal returns (bytes memory) {
        return build(0, B, bytes32(0), body);
    }

    function sig(uint256 key, bytes memory message) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, keccak256(message));
        return abi.encodePacked(r, s, v);
    }

    function sortedKeys(uint256 k1, uint256 k2) internal pure returns (uint256[] memory keys) {
        keys = new uint256[](2);
        (keys[0], keys[1]) = vm.addr(k1) < vm.addr(k2) ? (k1, k2) : (k2, k1);
    }

    function attest(uint256[] memory keys, bytes memory message) internal pure returns (bytes memory out) {
        for (uint256 i = 0; i < keys.length; i++) {
            out = bytes.concat(out, sig(keys[i], message));
        }
    }

    function validAttestation(bytes memory message) internal view returns (bytes memory) {
        return attest(sortedKeys(attesterKeys[0], attesterKeys[1]), message);
    }

    function stringError(string memory reason) internal pure returns (bytes memory) {
        return abi.encodeWithSignature("Error(string)", reason);
    }

    function nonceKey(bytes memory message) internal pure returns (bytes32) {
        uint32 source;
        uint64 nonce;
        assembly {
            source := shr(224, mload(add(message, 36)))
            nonce := shr(192, mload(add(message, 44)))
        }
        return keccak256(abi.encodePacked(source, nonce));
    }

    // ---- TestRecipient through both transmitters ----

    function test_recipientAcceptsPlainBodies() public {
        MessageTransmitter[2] memory ts = both();
        for (uint256 i = 0; i < 2; i++) {
            bytes memory m = toTarget(hex"00aabb");
            assertTrue(ts[i].receiveMessage(m, validAttestation(m)), "received");
            assertEq(ts[i].usedNonces(nonceKey(m)), 1, "nonce used");
            bytes memory empty = toTarget("");
            assertTrue(ts[i].receiveMessage(empty, validAttestation(empty)), "empty body received");
        }
        assertEq(target.received(), 4, "all four recorded");
    }

    function test_recipientBurnsGas() public {
        MessageTransmitter[2] memory ts = both();
        for (uint256 i = 0; i < 2; i++) {
            bytes memory m = toTarget(hex"01");
            bytes memory a = validAttestation(m);
            uint256 before = gasleft();
            assertTrue(ts[i].receiveMessage(m, a), "received with enough gas");
            assertTrue(before - gasleft() >= target.GAS_TO_BURN(), "burned the gas");
        }
        assertEq(target.received(), 2, "recorded after burning");
    }

    function test_recipientOutOfGasRevertsWithoutData() public {
        MessageTransmitter[2] memory ts = both();
        for (uint256 i = 0; i < 2; i++) {
            bytes memory m = toTarget(hex"01ff");
            bytes memory a = validAttestation(m);
            (bool ok, bytes memory ret) =
                address(ts[i]).call{gas: 1_000_000}(abi.encodeCall(MessageTransmitter.receiveMessage, (m, a)));
            assertTrue(!ok, "out of gas");
            assertEq(ret.length, 0, "no revert data");
            assertEq(ts[i].usedNonces(nonceKey(m)), 0, "nonce still free");
        }
        assertEq(target.received(), 0, "nothing recorded");
    }

    function test_recipientRevertBubblesUnchanged() public {
        MessageTransmitter[2] memory ts = both();
        for (uint256 i = 0; i < 2; i++) {
            bytes memory m = toTarget(hex"02");
            bytes memory a = validAttestation(m);
            vm.expectRevert(stringError("TestRecipient: refused for good"));
            ts[i].receiveMessage(m, a);
        }
        assertEq(target.received(), 0, "nothing recorded");
    }

    function test_recipientReturningFalse() public {
        bytes memory m = toTarget(hex"03");
        bytes memory a = validAttestation(m);
        vm.expectRevert(MessageTransmitter.HandlerRejected.selector);
        plain.receiveMessage(m, a);
        vm.expectRevert(stringError("handleReceiveMessage() failed"));
        strings.receiveMessage(m, a);
    }

    function test_recipientCallableByAnyone() public {
        assertTrue(target.handleReceiveMessage(A, bytes32(0), hex"07"), "direct call accepted");
        assertEq(target.received(), 1, "recorded");
    }

    // ---- StringErrorTransmitter's refusals ----

    function test_stringNonceAlreadyUsed() public {
        bytes memory m = toTarget(hex"00");
        strings.receiveMessage(m, validAttestation(m));
        bytes memory other = attest(sortedKeys(attesterKeys[1], attesterKeys[2]), m);
        vm.expectRevert(stringError("Nonce already used"));
        strings.receiveMessage(m, other);
    }

    function test_stringNotAttester() public {
        bytes memory m = toTarget(hex"00");
        bytes memory a = attest(sortedKeys(attesterKeys[0], OUTSIDER_KEY), m);
        vm.expectRevert(stringError("Invalid signature: not attester"));
        strings.receiveMessage(m, a);
    }

    function test_stringDisabledAttester() public {
        bytes memory m = toTarget(hex"00");
        bytes memory a = attest(sortedKeys(attesterKeys[0], attesterKeys[2]), m);
        strings.disableAttester(vm.addr(attesterKeys[2]));
        assertEq(strings.getNumEnabledAttesters(), 2, "two left");
        vm.expectRevert(stringError("Invalid signature: not attester"));
        strings.receiveMessage(m, a);
    }

    function test_stringAttestationLength() public {
        bytes memory m = toTarget(hex"00");
        bytes memory one = sig(attesterKeys[0], m);
        vm.expectRevert(stringError("Invalid attestation length"));
        strings.receiveMessage(m, one);
        bytes memory three = bytes.concat(validAttestation(m), sig(attesterKeys[2], m));
        vm.expectRevert(stringError("Invalid attestation length"));
        strings.receiveMessage(m, three);
    }

    function test_stringSignatureOrderOrDupe() public {
        bytes memory m = toTarget(hex"00");
        uint256[] memory keys = sortedKeys(attesterKeys[0], attesterKeys[1]);
        (keys[0], keys[1]) = (keys[1], keys[0]);
        bytes memory unsorted = attest(keys, m);
        vm.expectRevert(stringError("Invalid signature order or dupe"));
        strings.receiveMessage(m, unsorted);
        bytes memory dupe = bytes.concat(sig(attesterKeys[0], m), sig(attesterKeys[0], m));
        vm.expectRevert(stringError("Invalid signature order or dupe"));
        strings.receiveMessage(m, dupe);
    }

    function test_stringBadSignatures() public {
        bytes memory m = toTarget(hex"00");
        uint256[] memory keys = sortedKeys(attesterKeys[0], attesterKeys[1]);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[0], keccak256(m));
        bytes memory second = sig(keys[1], m);
        bytes memory highS =
            abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27), second);
        vm.expectRevert(stringError("ECDSA: invalid signature 's' value"));
        strings.receiveMessage(m, highS);
        bytes memory badV = abi.encodePacked(r, s, uint8(29), second);
        vm.expectRevert(stringError("ECDSA: invalid signature 'v' value"));
        strings.receiveMessage(m, badV);
        bytes memory zeroR = abi.encodePacked(bytes32(0), s, v, second);
        vm.expectRevert(stringError("ECDSA: invalid signature"));
        strings.receiveMessage(m, zeroR);
    }

    function test_stringPaused() public {
        bytes memory m = toTarget(hex"00");
        bytes memory a = validAttestation(m);
        strings.pause();
        assertTrue(strings.paused(), "paused view");
        vm.expectRevert(stringError("Pausable: paused"));
        strings.receiveMessage(m, a);
        strings.unpause();
        assertTrue(strings.receiveMessage(m, a), "received after unpause");
    }

    function test_stringInvalidDestinationDomain() public {
        bytes memory m = build(0, A, bytes32(0), hex"00");
        bytes memory a = validAttestation(m);
        vm.expectRevert(stringError("Invalid destination domain"));
        strings.receiveMessage(m, a);
    }

    function test_stringInvalidVersion() public {
        bytes memory m = build(1, B, bytes32(0), hex"00");
        bytes memory a = validAttestation(m);
        vm.expectRevert(stringError("Invalid message version"));
        strings.receiveMessage(m, a);
    }

    function test_stringInvalidCaller() public {
        address caller = address(0xCA11);
        bytes memory m = build(0, B, Message.addressToBytes32(caller), hex"00");
        bytes memory a = validAttestation(m);
        vm.expectRevert(stringError("Invalid caller for message"));
        strings.receiveMessage(m, a);
        vm.prank(caller);
        assertTrue(strings.receiveMessage(m, a), "the named caller may deliver");
    }

    function test_stringMalformedMessage() public {
        bytes memory m = new bytes(100);
        bytes memory a = validAttestation(m);
        vm.expectRevert(stringError("Malformed message"));
        strings.receiveMessage(m, a);
    }

    function test_stringBodyTooLarge() public {
        bytes memory m = toTarget(new bytes(MAX_BODY + 1));
        bytes memory a = validAttestation(m);
        vm.expectRevert(stringError("Message body exceeds max size"));
        strings.receiveMessage(m, a);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.MessageBodyTooLarge.selector, MAX_BODY + 1, MAX_BODY));
        plain.receiveMessage(m, a);
    }

    function test_stringTransmitterKeepsViewsAndSending() public {
        assertEq(strings.localDomain(), B, "domain");
        assertEq(strings.signatureThreshold(), 2, "threshold");
        assertEq(strings.getNumEnabledAttesters(), 3, "attesters");
        address[] memory attesters = attesterAddresses();
        for (uint256 i = 0; i < 3; i++) {
            assertEq(strings.getEnabledAttester(i), attesters[i], "attester order");
        }
        assertTrue(!strings.paused(), "not paused");
        assertEq(strings.sendMessage(A, Message.addressToBytes32(address(target)), hex"02"), 0, "first nonce");
        assertEq(strings.nextAvailableNonce(), 1, "nonce advanced");
    }

    // ---- a USD1 transfer into a StringErrorTransmitter chain ----

    function test_transferMintsThroughStringTransmitter() public {
        address user = address(0x1111);
        address recipient = address(0x2222);
        address[] memory attesters = attesterAddresses();
        Usd1Token tokenA = new Usd1Token("USD1", "USD1", address(this));
        MessageTransmitter transmitterA = new MessageTransmitter(A, attesters, 2, MAX_BODY);
        TokenMessenger messengerA = new TokenMessenger(address(transmitterA));
        Usd1Token tokenB = new Usd1Token("USD1", "USD1", address(this));
        TokenMessenger messengerB = new TokenMessenger(address(strings));
        tokenA.configureMinter(address(messengerA), type(uint256).max);
        tokenB.configureMinter(address(messengerB), type(uint256).max);
        messengerA.setMaxBurnAmountPerMessage(address(tokenA), 1_000_000e6);
        messengerA.addRemoteTokenMessenger(B, Message.addressToBytes32(address(messengerB)));
        messengerA.linkTokenPair(address(tokenA), B, Message.addressToBytes32(address(tokenB)));
        messengerB.addRemoteTokenMessenger(A, Message.addressToBytes32(address(messengerA)));
        messengerB.linkTokenPair(address(tokenB), A, Message.addressToBytes32(address(tokenA)));
        tokenA.configureMinter(address(this), type(uint256).max);
        tokenA.mint(user, 10e6);
        vm.startPrank(user);
        tokenA.approve(address(messengerA), type(uint256).max);
        uint64 nonce = messengerA.depositForBurn(3e6, B, Message.addressToBytes32(recipient), address(tokenA));
        vm.stopPrank();

        bytes memory body = abi.encodePacked(
            uint32(0),
            Message.addressToBytes32(address(tokenA)),
            Message.addressToBytes32(recipient),
            uint256(3e6),
            Message.addressToBytes32(user)
        );
        bytes memory m = Message.format(
            0,
            A,
            B,
            nonce,
            Message.addressToBytes32(address(messengerA)),
            Message.addressToBytes32(address(messengerB)),
            bytes32(0),
            body
        );
        assertTrue(strings.receiveMessage(m, validAttestation(m)), "received");
        assertEq(tokenB.balanceOf(recipient), 3e6, "minted");

        // A refusal by the TokenMessenger (our custom error) bubbles up unchanged.
        bytes memory forged = Message.format(
            0, A, B, nonce + 1, bytes32(uint256(0x99)), Message.addressToBytes32(address(messengerB)), bytes32(0), body
        );
        bytes memory a = validAttestation(forged);
        vm.expectRevert(abi.encodeWithSelector(TokenMessenger.UnknownRemoteSender.selector, A, bytes32(uint256(0x99))));
        strings.receiveMessage(forged, a);
    }
}
