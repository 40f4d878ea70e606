// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test, Vm} from "./utils/Test.sol";
import {Usd1Token} from "../src/Usd1Token.sol";
import {IMessageHandler, MessageTransmitter} from "../src/MessageTransmitter.sol";
import {TokenMessenger} from "../src/TokenMessenger.sol";
import {Message, BurnMessage} from "../src/Message.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// Two bridge deployments (domains 0 and 6) in one EVM, with 3 attesters and threshold 2.
contract BridgeTest is Test {
    uint32 constant A = 0;
    uint32 constant B = 6;
    uint256 constant LIMIT = 1_000_000e6;
    uint256 constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    uint256[3] attesterKeys = [uint256(0xA11CE), uint256(0xB0B), uint256(0xCA401)];
    uint256 constant OUTSIDER_KEY = 0xBAD;

    address user = address(0x1111);
    address recipient = address(0x2222);

    Usd1Token tokenA;
    Usd1Token tokenB;
    MessageTransmitter transmitterA;
    MessageTransmitter transmitterB;
    TokenMessenger messengerA;
    TokenMessenger messengerB;

    function setUp() public {
        address[] memory attesters = new address[](3);
        for (uint256 i = 0; i < 3; i++) {
            attesters[i] = vm.addr(attesterKeys[i]);
        }
        (tokenA, transmitterA, messengerA) = deploy(A, attesters);
        (tokenB, transmitterB, messengerB) = deploy(B, attesters);
        link(messengerA, B, address(messengerB), address(tokenA), address(tokenB));
        link(messengerB, A, address(messengerA), address(tokenB), address(tokenA));
        tokenA.configureMinter(address(this), type(uint256).max);
        tokenA.mint(user, 10_000_000e6);
        vm.prank(user);
        tokenA.approve(address(messengerA), type(uint256).max);
    }

    function deploy(uint32 domain, address[] memory attesters)
        internal
        returns (Usd1Token token, MessageTransmitter transmitter, TokenMessenger messenger)
    {
        token = new Usd1Token("USD1", "USD1", address(this));
        transmitter = new MessageTransmitter(domain, attesters, 2, 8192);
        messenger = new TokenMessenger(address(transmitter));
        token.configureMinter(address(messenger), type(uint256).max);
        messenger.setMaxBurnAmountPerMessage(address(token), LIMIT);
    }

    function link(TokenMessenger local, uint32 remoteDomain, address remote, address localToken, address remoteToken)
        internal
    {
        local.addRemoteTokenMessenger(remoteDomain, Message.addressToBytes32(remote));
        local.linkTokenPair(localToken, remoteDomain, Message.addressToBytes32(remoteToken));
    }

    // ---- helpers ----

    function burnAtoB(uint256 amount) internal returns (bytes memory message) {
        vm.prank(user);
        uint64 nonce = messengerA.depositForBurn(amount, B, Message.addressToBytes32(recipient), address(tokenA));
        message = expectedMessage(nonce, amount, recipient, bytes32(0));
    }

    function expectedMessage(uint64 nonce, uint256 amount, address to, bytes32 caller)
        internal
        view
        returns (bytes memory)
    {
        bytes memory body = BurnMessage.format(
            0,
            Message.addressToBytes32(address(tokenA)),
            Message.addressToBytes32(to),
            amount,
            Message.addressToBytes32(user)
        );
        return Message.format(
            0,
            A,
            B,
            nonce,
            Message.addressToBytes32(address(messengerA)),
            Message.addressToBytes32(address(messengerB)),
            caller,
            body
        );
    }

    function sig(uint256 key, bytes memory message) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, keccak256(message));
        return abi.encodePacked(r, s, v);
    }

    /// Signatures of `keys`, in the order given.
    function attest(uint256[] memory keys, bytes memory message) internal pure returns (bytes memory out) {
        for (uint256 i = 0; i < keys.length; i++) {
            out = bytes.concat(out, sig(keys[i], message));
        }
    }

    /// Two attesters' signatures in ascending signer order: a valid attestation.
    function validAttestation(bytes memory message) internal view returns (bytes memory) {
        return attest(sortedKeys(attesterKeys[0], attesterKeys[1]), message);
    }

    function sortedKeys(uint256 k1, uint256 k2) internal pure returns (uint256[] memory keys) {
        keys = new uint256[](2);
        (keys[0], keys[1]) = vm.addr(k1) < vm.addr(k2) ? (k1, k2) : (k2, k1);
    }

    // ---- receiving ----

    function test_validAttestationMints() public {
        bytes memory message = burnAtoB(125e6);
        assertEq(tokenA.balanceOf(user), 10_000_000e6 - 125e6, "burned from user");
        assertTrue(transmitterB.receiveMessage(message, validAttestation(message)), "received");
        assertEq(tokenB.balanceOf(recipient), 125e6, "minted to recipient");
        assertEq(transmitterB.usedNonces(keccak256(abi.encodePacked(A, uint64(0)))), 1, "nonce used");
    }

    function test_anyPairOfAttestersMints() public {
        for (uint256 i = 0; i < 3; i++) {
            bytes memory message = burnAtoB(1e6);
            uint256[] memory keys = sortedKeys(attesterKeys[i], attesterKeys[(i + 1) % 3]);
            transmitterB.receiveMessage(message, attest(keys, message));
        }
        assertEq(tokenB.balanceOf(recipient), 3e6, "three mints");
    }

    function test_rejectsUnsortedSignatures() public {
        bytes memory message = burnAtoB(1e6);
        uint256[] memory keys = sortedKeys(attesterKeys[0], attesterKeys[1]);
        (keys[0], keys[1]) = (keys[1], keys[0]);
        bytes memory attestation = attest(keys, message);
        vm.expectRevert(
            abi.encodeWithSelector(MessageTransmitter.SignerNotAscending.selector, vm.addr(keys[1]), vm.addr(keys[0]))
        );
        transmitterB.receiveMessage(message, attestation);
    }

    function test_rejectsDuplicatedSignature() public {
        bytes memory message = burnAtoB(1e6);
        uint256[] memory keys = new uint256[](2);
        keys[0] = attesterKeys[0];
        keys[1] = attesterKeys[0];
        bytes memory attestation = attest(keys, message);
        vm.expectRevert(
            abi.encodeWithSelector(
                MessageTransmitter.SignerNotAscending.selector, vm.addr(keys[0]), vm.addr(keys[0])
            )
        );
        transmitterB.receiveMessage(message, attestation);
    }

    function test_rejectsShortAttestation() public {
        bytes memory message = burnAtoB(1e6);
        bytes memory one = sig(attesterKeys[0], message);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.InvalidAttestationLength.selector, 65, 130));
        transmitterB.receiveMessage(message, one);
    }

    function test_rejectsOverlongAttestation() public {
        bytes memory message = burnAtoB(1e6);
        bytes memory three = bytes.concat(validAttestation(message), sig(attesterKeys[2], message));
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.InvalidAttestationLength.selector, 195, 130));
        transmitterB.receiveMessage(message, three);
    }

    function test_rejectsNonAttester() public {
        bytes memory message = burnAtoB(1e6);
        bytes memory attestation = attest(sortedKeys(attesterKeys[0], OUTSIDER_KEY), message);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.SignerNotAttester.selector, vm.addr(OUTSIDER_KEY)));
        transmitterB.receiveMessage(message, attestation);
    }

    function test_rejectsHighS() public {
        bytes memory message = burnAtoB(1e6);
        uint256[] memory keys = sortedKeys(attesterKeys[0], attesterKeys[1]);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[0], keccak256(message));
        // (r, n - s, v ^ 1) is the same signature's malleable twin; only low s is accepted.
        bytes memory twin = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        bytes memory attestation = bytes.concat(twin, sig(keys[1], message));
        vm.expectRevert(
            abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureS.selector, bytes32(SECP256K1_N - uint256(s)))
        );
        transmitterB.receiveMessage(message, attestation);
    }

    function test_rejectsWrongDestinationDomain() public {
        vm.prank(user);
        messengerA.depositForBurn(1e6, B, Message.addressToBytes32(recipient), address(tokenA));
        // The same bytes cannot be received on domain A itself.
        bytes memory message = expectedMessage(0, 1e6, recipient, bytes32(0));
        bytes memory attestation = validAttestation(message);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.InvalidDestinationDomain.selector, B));
        transmitterA.receiveMessage(message, attestation);
    }

    function test_rejectsWrongVersion() public {
        bytes memory message = burnAtoB(1e6);
        message[3] = 0x01;
        bytes memory attestation = validAttestation(message);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.InvalidMessageVersion.selector, 1));
        transmitterB.receiveMessage(message, attestation);
    }

    function test_rejectsWrongDestinationCaller() public {
        address caller = address(0xCA11);
        vm.prank(user);
        uint64 nonce = messengerA.depositForBurnWithCaller(
            1e6, B, Message.addressToBytes32(recipient), address(tokenA), Message.addressToBytes32(caller)
        );
        bytes memory message = expectedMessage(nonce, 1e6, recipient, Message.addressToBytes32(caller));
        bytes memory attestation = validAttestation(message);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.CallerNotDestinationCaller.selector, address(this)));
        transmitterB.receiveMessage(message, attestation);
        vm.prank(caller);
        transmitterB.receiveMessage(message, attestation);
        assertEq(tokenB.balanceOf(recipient), 1e6, "the named caller may deliver");
    }

    function test_rejectsSecondReceive() public {
        bytes memory message = burnAtoB(7e6);
        bytes memory attestation = validAttestation(message);
        transmitterB.receiveMessage(message, attestation);
        // Even with another valid set of signers, the (domain, nonce) is spent.
        bytes memory other = attest(sortedKeys(attesterKeys[1], attesterKeys[2]), message);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.NonceAlreadyUsed.selector, A, uint64(0)));
        transmitterB.receiveMessage(message, other);
        assertEq(tokenB.balanceOf(recipient), 7e6, "minted once");
    }

    function test_rejectsUnknownRemoteMessenger() public {
        bytes memory message = burnAtoB(1e6);
        // Rewrite the sender: a message from an unregistered contract on domain A.
        for (uint256 i = 0; i < 32; i++) {
            message[20 + i] = 0;
        }
        message[51] = 0x99;
        bytes memory attestation = validAttestation(message);
        vm.expectRevert(
            abi.encodeWithSelector(TokenMessenger.UnknownRemoteSender.selector, A, bytes32(uint256(0x99)))
        );
        transmitterB.receiveMessage(message, attestation);
    }

    // ---- batch receive (receiveMessages) ----

    bytes32 constant MESSAGE_RECEIVED = keccak256("MessageReceived(address,uint32,uint64,bytes32,bytes)");
    bytes32 constant MESSAGE_SKIPPED = keccak256("MessageSkipped(uint32,uint64)");

    function bytesList(bytes memory a) internal pure returns (bytes[] memory l) {
        l = new bytes[](1);
        l[0] = a;
    }

    function bytesList(bytes memory a, bytes memory b) internal pure returns (bytes[] memory l) {
        l = new bytes[](2);
        (l[0], l[1]) = (a, b);
    }

    function bytesList(bytes memory a, bytes memory b, bytes memory c) internal pure returns (bytes[] memory l) {
        l = new bytes[](3);
        (l[0], l[1], l[2]) = (a, b, c);
    }

    function attestAll(bytes[] memory messages) internal view returns (bytes[] memory attestations) {
        attestations = new bytes[](messages.length);
        for (uint256 i = 0; i < messages.length; i++) {
            attestations[i] = validAttestation(messages[i]);
        }
    }

    function nonceKey(uint32 source, uint64 nonce) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(source, nonce));
    }

    /// The usedNonces key of a message (Message's readers take calldata; this one memory).
    function keyOf(bytes memory message) internal pure returns (bytes32) {
        uint32 source;
        uint64 nonce;
        assembly {
            source := shr(224, mload(add(message, 36)))
            nonce := shr(192, mload(add(message, 44)))
        }
        return nonceKey(source, nonce);
    }

    /// The nonces of transmitterB's MessageReceived (or MessageSkipped) events in `logs`, in
    /// order; each must name source domain A.
    function noncesOf(Vm.Log[] memory logs, bytes32 topic) internal view returns (uint64[] memory found) {
        uint256 n = 0;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter == address(transmitterB) && logs[i].topics[0] == topic) n++;
        }
        found = new uint64[](n);
        n = 0;
        for (uint256 i = 0; i < logs.length; i++) {
            Vm.Log memory l = logs[i];
            if (l.emitter != address(transmitterB) || l.topics[0] != topic) continue;
            // MessageReceived: topics (sig, caller, nonce); MessageSkipped: (sig, nonce). The
            // source domain is the first data word of both.
            found[n++] = uint64(uint256(l.topics[topic == MESSAGE_RECEIVED ? 2 : 1]));
            assertEq(uint256(bytes32(l.data)), A, "source domain in the event");
        }
    }

    function assertNonces(uint64[] memory got, uint64[] memory want, string memory what) internal pure {
        assertEq(got.length, want.length, what);
        for (uint256 i = 0; i < got.length; i++) {
            assertEq(got[i], want[i], what);
        }
    }

    function nonceList(uint64 a) internal pure returns (uint64[] memory l) {
        l = new uint64[](1);
        l[0] = a;
    }

    function nonceList(uint64 a, uint64 b) internal pure returns (uint64[] memory l) {
        l = new uint64[](2);
        (l[0], l[1]) = (a, b);
    }

    function nonceList(uint64 a, uint64 b, uint64 c) internal pure returns (uint64[] memory l) {
        l = new uint64[](3);
        (l[0], l[1], l[2]) = (a, b, c);
    }

    function test_batchReceivesEachMessage() public {
        address[3] memory to = [recipient, address(0x3333), address(0x4444)];
        bytes[] memory messages = new bytes[](3);
        for (uint256 i = 0; i < 3; i++) {
            vm.prank(user);
            uint64 nonce = messengerA.depositForBurn((i + 1) * 1e6, B, Message.addressToBytes32(to[i]), address(tokenA));
            messages[i] = expectedMessage(nonce, (i + 1) * 1e6, to[i], bytes32(0));
        }
        vm.recordLogs();
        assertEq(transmitterB.receiveMessages(messages, attestAll(messages)), 3, "three received");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertNonces(noncesOf(logs, MESSAGE_RECEIVED), nonceList(0, 1, 2), "MessageReceived, in order");
        assertEq(noncesOf(logs, MESSAGE_SKIPPED).length, 0, "nothing skipped");
        for (uint256 i = 0; i < 3; i++) {
            assertEq(tokenB.balanceOf(to[i]), (i + 1) * 1e6, "minted to each recipient");
            assertEq(transmitterB.usedNonces(nonceKey(A, uint64(i))), 1, "nonce used");
        }
        assertEq(tokenB.totalSupply(), 6e6, "supply = the three amounts");
    }

    function test_batchSkipsAUsedNonceAndMintsTheOthers() public {
        bytes memory m0 = burnAtoB(1e6);
        bytes memory m1 = burnAtoB(2e6);
        bytes memory m2 = burnAtoB(4e6);
        transmitterB.receiveMessage(m1, validAttestation(m1));
        bytes[] memory messages = bytesList(m0, m1, m2);
        vm.recordLogs();
        assertEq(transmitterB.receiveMessages(messages, attestAll(messages)), 2, "two received");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertNonces(noncesOf(logs, MESSAGE_SKIPPED), nonceList(1), "the used nonce is skipped");
        assertNonces(noncesOf(logs, MESSAGE_RECEIVED), nonceList(0, 2), "the others are received");
        assertEq(tokenB.balanceOf(recipient), 7e6, "each minted once");
        assertEq(tokenB.totalSupply(), 7e6, "supply");
        // All used now: a batch of them is a no-op that does not revert.
        vm.recordLogs();
        assertEq(transmitterB.receiveMessages(messages, attestAll(messages)), 0, "nothing left to receive");
        assertNonces(noncesOf(vm.getRecordedLogs(), MESSAGE_SKIPPED), nonceList(0, 1, 2), "all skipped");
        assertEq(tokenB.totalSupply(), 7e6, "supply unchanged");
    }

    function test_batchDuplicateMintsOnce() public {
        bytes memory m = burnAtoB(5e6);
        // The same message twice, even with two different valid attester sets.
        bytes[] memory attestations =
            bytesList(validAttestation(m), attest(sortedKeys(attesterKeys[1], attesterKeys[2]), m));
        vm.recordLogs();
        assertEq(transmitterB.receiveMessages(bytesList(m, m), attestations), 1, "received once");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertNonces(noncesOf(logs, MESSAGE_RECEIVED), nonceList(0), "first received");
        assertNonces(noncesOf(logs, MESSAGE_SKIPPED), nonceList(0), "second skipped");
        assertEq(tokenB.balanceOf(recipient), 5e6, "minted once");
        assertEq(tokenB.totalSupply(), 5e6, "supply");
    }

    function test_batchReplacementTwinsMintOnce() public {
        bytes memory original = burnAtoB(3e6);
        address newRecipient = address(0x3333);
        vm.prank(user);
        messengerA.replaceDepositForBurn(
            original, validAttestation(original), bytes32(0), Message.addressToBytes32(newRecipient)
        );
        bytes memory replaced = expectedMessage(0, 3e6, newRecipient, bytes32(0));
        // Two different messages, both validly attested, sharing (A, 0): only the first mints.
        bytes[] memory messages = bytesList(replaced, original);
        vm.recordLogs();
        assertEq(transmitterB.receiveMessages(messages, attestAll(messages)), 1, "one of the twins");
        assertNonces(noncesOf(vm.getRecordedLogs(), MESSAGE_SKIPPED), nonceList(0), "the other skipped");
        assertEq(tokenB.balanceOf(newRecipient), 3e6, "the replacement minted");
        assertEq(tokenB.balanceOf(recipient), 0, "the original did not");
    }

    /// How receiveMessage refuses `message` with `attestation` in the current state.
    function refusal(bytes memory message, bytes memory attestation) internal returns (bytes memory err) {
        bool ok;
        (ok, err) =
            address(transmitterB).call(abi.encodeCall(MessageTransmitter.receiveMessage, (message, attestation)));
        assertTrue(!ok, "receiveMessage refuses it");
    }

    /// `bad` (with `badAttestation`) is refused by receiveMessage with `expected`; a batch with it
    /// before or after a valid message reverts whole with the error receiveMessage gives for it
    /// at that point, and receives nothing.
    function checkBatchRefusal(bytes memory bad, bytes memory badAttestation, bytes memory expected) internal {
        bytes memory good = burnAtoB(1e6);
        bytes memory goodAttestation = validAttestation(good);
        uint256 supply = tokenB.totalSupply();
        vm.expectRevert(expected);
        transmitterB.receiveMessage(bad, badAttestation);
        vm.expectRevert(expected);
        transmitterB.receiveMessages(bytesList(bad, good), bytesList(badAttestation, goodAttestation));
        // After the valid one, as receiveMessage refuses it once that one is received (the same
        // error, except where the first mint changed what is checked, e.g. the mint allowance).
        uint256 before = vm.snapshotState();
        transmitterB.receiveMessage(good, goodAttestation);
        bytes memory afterGood = refusal(bad, badAttestation);
        vm.revertToState(before);
        vm.expectRevert(afterGood);
        transmitterB.receiveMessages(bytesList(good, bad), bytesList(goodAttestation, badAttestation));
        assertEq(transmitterB.usedNonces(keyOf(good)), 0, "good one not received");
        assertEq(tokenB.totalSupply(), supply, "nothing minted");
        // The valid message alone still goes through.
        assertEq(transmitterB.receiveMessages(bytesList(good), bytesList(goodAttestation)), 1, "good one alone");
    }

    function test_batchRefusedAttestationsRevertWhole() public {
        bytes memory m = burnAtoB(1e6);
        checkBatchRefusal(
            m,
            attest(sortedKeys(attesterKeys[0], OUTSIDER_KEY), m),
            abi.encodeWithSelector(MessageTransmitter.SignerNotAttester.selector, vm.addr(OUTSIDER_KEY))
        );

        m = burnAtoB(1e6);
        uint256[] memory keys = sortedKeys(attesterKeys[0], attesterKeys[1]);
        (keys[0], keys[1]) = (keys[1], keys[0]);
        checkBatchRefusal(
            m,
            attest(keys, m),
            abi.encodeWithSelector(MessageTransmitter.SignerNotAscending.selector, vm.addr(keys[1]), vm.addr(keys[0]))
        );

        m = burnAtoB(1e6);
        checkBatchRefusal(
            m,
            sig(attesterKeys[0], m),
            abi.encodeWithSelector(MessageTransmitter.InvalidAttestationLength.selector, 65, 130)
        );

        m = burnAtoB(1e6);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[1], keccak256(m));
        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        checkBatchRefusal(
            m,
            bytes.concat(abi.encodePacked(r, highS, v == 27 ? uint8(28) : uint8(27)), sig(keys[0], m)),
            abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureS.selector, highS)
        );

        // Signatures over other bytes recover other signers.
        m = burnAtoB(1e6);
        bytes memory tampered = bytes.concat(m);
        tampered[tampered.length - 33] = 0x7f;
        (bool ok, bytes memory err) = address(transmitterB)
            .call(abi.encodeCall(MessageTransmitter.receiveMessage, (tampered, validAttestation(m))));
        assertTrue(!ok, "a tampered message is refused");
        checkBatchRefusal(tampered, validAttestation(m), err);
    }

    function test_batchRefusedMessagesRevertWhole() public {
        // For another destination domain (A).
        bytes memory m = Message.format(
            0,
            A,
            A,
            99,
            Message.addressToBytes32(address(messengerA)),
            Message.addressToBytes32(address(messengerB)),
            bytes32(0),
            hex"00"
        );
        checkBatchRefusal(
            m, validAttestation(m), abi.encodeWithSelector(MessageTransmitter.InvalidDestinationDomain.selector, A)
        );

        m = burnAtoB(1e6);
        m[3] = 0x01;
        checkBatchRefusal(
            m, validAttestation(m), abi.encodeWithSelector(MessageTransmitter.InvalidMessageVersion.selector, 1)
        );

        m = new bytes(115);
        checkBatchRefusal(m, validAttestation(m), abi.encodeWithSelector(Message.MessageTooShort.selector));

        m = Message.format(
            0,
            A,
            B,
            98,
            Message.addressToBytes32(address(messengerA)),
            Message.addressToBytes32(address(messengerB)),
            bytes32(0),
            new bytes(8193)
        );
        checkBatchRefusal(
            m, validAttestation(m), abi.encodeWithSelector(MessageTransmitter.MessageBodyTooLarge.selector, 8193, 8192)
        );

        // For a named destination caller, delivered by another.
        vm.prank(user);
        uint64 nonce = messengerA.depositForBurnWithCaller(
            1e6, B, Message.addressToBytes32(recipient), address(tokenA), Message.addressToBytes32(address(0xCA11))
        );
        m = expectedMessage(nonce, 1e6, recipient, Message.addressToBytes32(address(0xCA11)));
        checkBatchRefusal(
            m,
            validAttestation(m),
            abi.encodeWithSelector(MessageTransmitter.CallerNotDestinationCaller.selector, address(this))
        );
    }

    function test_batchHandlerRefusalsRevertWhole() public {
        // The messenger refuses an unknown remote sender.
        bytes memory m = burnAtoB(1e6);
        for (uint256 i = 0; i < 32; i++) {
            m[20 + i] = 0;
        }
        m[51] = 0x99;
        checkBatchRefusal(
            m,
            validAttestation(m),
            abi.encodeWithSelector(TokenMessenger.UnknownRemoteSender.selector, A, bytes32(uint256(0x99)))
        );

        // The token refuses a frozen recipient, and an amount over the mint allowance.
        address frozen = address(0xF0F0);
        tokenB.blocklist(frozen);
        vm.prank(user);
        uint64 nonce = messengerA.depositForBurn(1e6, B, Message.addressToBytes32(frozen), address(tokenA));
        m = expectedMessage(nonce, 1e6, frozen, bytes32(0));
        checkBatchRefusal(m, validAttestation(m), abi.encodeWithSelector(Usd1Token.AccountBlocklisted.selector, frozen));

        tokenB.configureMinter(address(messengerB), 5e6);
        m = burnAtoB(6e6);
        checkBatchRefusal(
            m, validAttestation(m), abi.encodeWithSelector(Usd1Token.MintAllowanceExceeded.selector, 6e6, 5e6)
        );
    }

    /// A used nonce is skipped only once its other checks pass: with an attestation or a caller
    /// that receiveMessage would refuse, the batch reverts with that refusal instead.
    function test_batchUsedNonceStillNeedsItsChecks() public {
        bytes memory m = burnAtoB(1e6);
        transmitterB.receiveMessage(m, validAttestation(m));
        bytes memory bad = attest(sortedKeys(attesterKeys[0], OUTSIDER_KEY), m);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.SignerNotAttester.selector, vm.addr(OUTSIDER_KEY)));
        transmitterB.receiveMessages(bytesList(m), bytesList(bad));

        vm.prank(user);
        uint64 nonce = messengerA.depositForBurnWithCaller(
            1e6, B, Message.addressToBytes32(recipient), address(tokenA), Message.addressToBytes32(address(0xCA11))
        );
        bytes memory withCaller = expectedMessage(nonce, 1e6, recipient, Message.addressToBytes32(address(0xCA11)));
        bytes memory a = validAttestation(withCaller);
        vm.prank(address(0xCA11));
        transmitterB.receiveMessage(withCaller, a);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.CallerNotDestinationCaller.selector, address(this)));
        transmitterB.receiveMessages(bytesList(withCaller), bytesList(a));
        vm.prank(address(0xCA11));
        assertEq(transmitterB.receiveMessages(bytesList(withCaller), bytesList(a)), 0, "skipped for the named caller");
    }

    function test_batchByTheDestinationCaller() public {
        address caller = address(0xCA11);
        bytes[] memory messages = new bytes[](2);
        for (uint256 i = 0; i < 2; i++) {
            vm.prank(user);
            uint64 nonce = messengerA.depositForBurnWithCaller(
                1e6, B, Message.addressToBytes32(recipient), address(tokenA), Message.addressToBytes32(caller)
            );
            messages[i] = expectedMessage(nonce, 1e6, recipient, Message.addressToBytes32(caller));
        }
        bytes memory anyone = burnAtoB(1e6);
        bytes[] memory all = bytesList(messages[0], anyone, messages[1]);
        bytes[] memory attestations = attestAll(all);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.CallerNotDestinationCaller.selector, address(this)));
        transmitterB.receiveMessages(all, attestations);
        vm.recordLogs();
        vm.prank(caller);
        assertEq(transmitterB.receiveMessages(all, attestations), 3, "the named caller delivers all three");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 seen = 0;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter == address(transmitterB) && logs[i].topics[0] == MESSAGE_RECEIVED) {
                assertEq(logs[i].topics[1], Message.addressToBytes32(caller), "MessageReceived names the caller");
                seen++;
            }
        }
        assertEq(seen, 3, "three MessageReceived");
        assertEq(tokenB.balanceOf(recipient), 3e6, "minted");
    }

    function test_batchLengthMismatchAndEmpty() public {
        bytes memory m = burnAtoB(1e6);
        bytes memory a = validAttestation(m);
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.BatchLengthMismatch.selector, 2, 1));
        transmitterB.receiveMessages(bytesList(m, m), bytesList(a));
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.BatchLengthMismatch.selector, 1, 2));
        transmitterB.receiveMessages(bytesList(m), bytesList(a, a));
        vm.expectRevert(MessageTransmitter.EmptyBatch.selector);
        transmitterB.receiveMessages(new bytes[](0), new bytes[](0));
        vm.expectRevert(MessageTransmitter.EmptyBatch.selector);
        transmitterB.receiveMessages(new bytes[](0), bytesList(a));
        assertEq(transmitterB.usedNonces(keyOf(m)), 0, "nothing received");
    }

    function test_batchPaused() public {
        bytes memory m = burnAtoB(1e6);
        bytes memory a = validAttestation(m);
        transmitterB.pause();
        vm.expectRevert(MessageTransmitter.Paused.selector);
        transmitterB.receiveMessages(bytesList(m), bytesList(a));
        // Paused is checked first, before the batch's shape.
        vm.expectRevert(MessageTransmitter.Paused.selector);
        transmitterB.receiveMessages(new bytes[](0), new bytes[](0));
        transmitterB.unpause();
        assertEq(transmitterB.receiveMessages(bytesList(m), bytesList(a)), 1, "received after unpause");
    }

    /// A recipient that re-enters the transmitter with the message being received (through the
    /// batch and the single entry point) finds its nonce already used: nothing is handled twice.
    function test_batchReentrantHandlerFindsTheNonceUsed() public {
        ReentrantRecipient rr = new ReentrantRecipient(transmitterB);
        bytes memory m = Message.format(
            0, A, B, 77, bytes32(uint256(0xAB)), Message.addressToBytes32(address(rr)), bytes32(0), hex"00"
        );
        bytes memory a = validAttestation(m);
        rr.arm(m, a);
        vm.recordLogs();
        assertEq(transmitterB.receiveMessages(bytesList(m), bytesList(a)), 1, "outer batch received it");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(rr.handled(), 1, "handled once");
        assertEq(rr.innerReceived(), 0, "the re-entrant batch received nothing");
        assertEq(
            keccak256(rr.innerError()),
            keccak256(abi.encodeWithSelector(MessageTransmitter.NonceAlreadyUsed.selector, A, uint64(77))),
            "the re-entrant receiveMessage was refused"
        );
        assertNonces(noncesOf(logs, MESSAGE_SKIPPED), nonceList(77), "the inner one skipped");
        assertNonces(noncesOf(logs, MESSAGE_RECEIVED), nonceList(77), "received once");

        // The same through receiveMessage.
        m = Message.format(
            0, A, B, 78, bytes32(uint256(0xAB)), Message.addressToBytes32(address(rr)), bytes32(0), hex"00"
        );
        a = validAttestation(m);
        rr.arm(m, a);
        assertTrue(transmitterB.receiveMessage(m, a), "received");
        assertEq(rr.handled(), 2, "handled once more");
        assertEq(rr.innerReceived(), 0, "the re-entrant batch received nothing");
    }

    // ---- sending ----

    function test_burnLimit() public {
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(TokenMessenger.BurnLimitExceeded.selector, LIMIT + 1, LIMIT));
        messengerA.depositForBurn(LIMIT + 1, B, Message.addressToBytes32(recipient), address(tokenA));
        vm.prank(user);
        messengerA.depositForBurn(LIMIT, B, Message.addressToBytes32(recipient), address(tokenA));
    }

    function test_rejectsUnknownDestination() public {
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(TokenMessenger.NoRemoteTokenMessenger.selector, uint32(99)));
        messengerA.depositForBurn(1e6, 99, Message.addressToBytes32(recipient), address(tokenA));
    }

    function test_pauseTransmitter() public {
        bytes memory message = burnAtoB(1e6);
        bytes memory attestation = validAttestation(message);
        transmitterB.pause();
        vm.expectRevert(MessageTransmitter.Paused.selector);
        transmitterB.receiveMessage(message, attestation);
        transmitterA.pause();
        vm.prank(user);
        vm.expectRevert(MessageTransmitter.Paused.selector);
        messengerA.depositForBurn(1e6, B, Message.addressToBytes32(recipient), address(tokenA));
        transmitterB.unpause();
        transmitterB.receiveMessage(message, attestation);
        assertEq(tokenB.balanceOf(recipient), 1e6, "minted after unpause");
    }

    function test_pauseToken() public {
        tokenA.pause();
        vm.prank(user);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        messengerA.depositForBurn(1e6, B, Message.addressToBytes32(recipient), address(tokenA));
    }

    function test_blocklist() public {
        tokenA.blocklist(user);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(Usd1Token.AccountBlocklisted.selector, user));
        messengerA.depositForBurn(1e6, B, Message.addressToBytes32(recipient), address(tokenA));
        tokenA.unBlocklist(user);
        // A frozen recipient cannot receive a mint; the message stays unused and can land later.
        bytes memory message = burnAtoB(1e6);
        bytes memory attestation = validAttestation(message);
        tokenB.blocklist(recipient);
        vm.expectRevert(abi.encodeWithSelector(Usd1Token.AccountBlocklisted.selector, recipient));
        transmitterB.receiveMessage(message, attestation);
        assertEq(transmitterB.usedNonces(keccak256(abi.encodePacked(A, uint64(0)))), 0, "not spent");
        tokenB.unBlocklist(recipient);
        transmitterB.receiveMessage(message, attestation);
    }

    function test_mintAllowance() public {
        tokenB.configureMinter(address(messengerB), 5e6);
        bytes memory message = burnAtoB(6e6);
        bytes memory attestation = validAttestation(message);
        vm.expectRevert(abi.encodeWithSelector(Usd1Token.MintAllowanceExceeded.selector, 6e6, 5e6));
        transmitterB.receiveMessage(message, attestation);
    }

    function test_replaceDepositForBurn() public {
        bytes memory original = burnAtoB(3e6);
        bytes memory attestation = validAttestation(original);
        address newRecipient = address(0x3333);
        vm.prank(user);
        messengerA.replaceDepositForBurn(original, attestation, bytes32(0), Message.addressToBytes32(newRecipient));
        bytes memory replaced = expectedMessage(0, 3e6, newRecipient, bytes32(0));
        bytes memory replacedAttestation = validAttestation(replaced);
        transmitterB.receiveMessage(replaced, replacedAttestation);
        assertEq(tokenB.balanceOf(newRecipient), 3e6, "minted to the new recipient");
        // The original shares the nonce: it can no longer mint.
        vm.expectRevert(abi.encodeWithSelector(MessageTransmitter.NonceAlreadyUsed.selector, A, uint64(0)));
        transmitterB.receiveMessage(original, attestation);
    }

    function test_replaceDepositForBurnOnlyByDepositor() public {
        bytes memory original = burnAtoB(3e6);
        bytes memory attestation = validAttestation(original);
        vm.prank(address(0xEE));
        vm.expectRevert(TokenMessenger.NotOriginalDepositor.selector);
        messengerA.replaceDepositForBurn(original, attestation, bytes32(0), Message.addressToBytes32(address(0xEE)));
    }

    // ---- ownership (two-step) ----

    address newOwner = address(0x0E1);
    address outsider = address(0x0B5);

    /// `ownerOnly` is a call only the owner may make. Until the pending owner accepts, the old
    /// owner keeps every power and the pending one has none; nobody else can accept.
    function checkTwoStepOwnership(address c, bytes memory ownerOnly) internal {
        Ownable2Step o = Ownable2Step(c);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        o.transferOwnership(outsider);

        o.transferOwnership(newOwner);
        assertEq(o.owner(), address(this), "owner unchanged until accepted");
        assertEq(o.pendingOwner(), newOwner, "pending owner");
        vm.prank(newOwner);
        (bool ok,) = c.call(ownerOnly);
        assertTrue(!ok, "pending owner has no power yet");
        (ok,) = c.call(ownerOnly);
        assertTrue(ok, "old owner keeps its power until accepted");
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        o.acceptOwnership();

        vm.prank(newOwner);
        o.acceptOwnership();
        assertEq(o.owner(), newOwner, "new owner");
        assertEq(o.pendingOwner(), address(0), "no pending owner");
        (ok,) = c.call(ownerOnly);
        assertTrue(!ok, "old owner lost its power");
        vm.prank(newOwner);
        (ok,) = c.call(ownerOnly);
        assertTrue(ok, "new owner has it");
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        o.transferOwnership(address(this));
    }

    function test_transmitterTwoStepOwnership() public {
        checkTwoStepOwnership(
            address(transmitterB), abi.encodeCall(MessageTransmitter.updatePauser, (address(this)))
        );
    }

    function test_messengerTwoStepOwnership() public {
        checkTwoStepOwnership(
            address(messengerB), abi.encodeCall(TokenMessenger.setMaxBurnAmountPerMessage, (address(tokenB), LIMIT))
        );
    }

    function test_tokenTwoStepOwnership() public {
        checkTwoStepOwnership(address(tokenB), abi.encodeCall(Usd1Token.updatePauser, (address(this))));
    }

    function test_pendingOwnerCanBeReplaced() public {
        transmitterB.transferOwnership(outsider);
        transmitterB.transferOwnership(newOwner);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        transmitterB.acceptOwnership();
        vm.prank(newOwner);
        transmitterB.acceptOwnership();
        assertEq(transmitterB.owner(), newOwner, "the last nominee accepted");
    }

    function test_renounceOwnershipDisabled() public {
        vm.expectRevert(MessageTransmitter.RenounceOwnershipDisabled.selector);
        transmitterB.renounceOwnership();
        vm.expectRevert(TokenMessenger.RenounceOwnershipDisabled.selector);
        messengerB.renounceOwnership();
        vm.expectRevert(Usd1Token.RenounceOwnershipDisabled.selector);
        tokenB.renounceOwnership();
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        transmitterB.renounceOwnership();
        assertEq(transmitterB.owner(), address(this), "still owned");
    }

    // ---- transmitter roles ----

    function test_transmitterRolesStartWithDeployer() public {
        address deployer = address(0xDE9);
        address[] memory attesters = new address[](1);
        attesters[0] = vm.addr(attesterKeys[0]);
        vm.prank(deployer);
        MessageTransmitter t = new MessageTransmitter(9, attesters, 1, 8192);
        assertEq(t.owner(), deployer, "owner");
        assertEq(t.attesterManager(), deployer, "attester manager");
        assertEq(t.pauser(), deployer, "pauser");
    }

    function test_attesterManagerRole() public {
        address manager = address(0xA77);
        address extra = vm.addr(OUTSIDER_KEY);
        vm.startPrank(outsider);
        vm.expectRevert(MessageTransmitter.NotAttesterManager.selector);
        transmitterB.enableAttester(extra);
        vm.expectRevert(MessageTransmitter.NotAttesterManager.selector);
        transmitterB.disableAttester(vm.addr(attesterKeys[0]));
        vm.expectRevert(MessageTransmitter.NotAttesterManager.selector);
        transmitterB.setSignatureThreshold(1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        transmitterB.updateAttesterManager(outsider);
        vm.stopPrank();

        vm.expectRevert(MessageTransmitter.ZeroAddress.selector);
        transmitterB.updateAttesterManager(address(0));
        transmitterB.updateAttesterManager(manager);
        assertEq(transmitterB.attesterManager(), manager, "rotated");

        // The owner no longer manages attesters itself...
        vm.expectRevert(MessageTransmitter.NotAttesterManager.selector);
        transmitterB.enableAttester(extra);
        vm.expectRevert(MessageTransmitter.NotAttesterManager.selector);
        transmitterB.setSignatureThreshold(1);
        // ...the manager does, and cannot appoint another manager.
        vm.startPrank(manager);
        transmitterB.enableAttester(extra);
        assertTrue(transmitterB.isEnabledAttester(extra), "enabled");
        transmitterB.setSignatureThreshold(3);
        assertEq(transmitterB.signatureThreshold(), 3, "threshold");
        transmitterB.setSignatureThreshold(2);
        transmitterB.disableAttester(extra);
        assertTrue(!transmitterB.isEnabledAttester(extra), "disabled");
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, manager));
        transmitterB.updateAttesterManager(manager);
        vm.stopPrank();
    }

    function test_pauserRole() public {
        address p = address(0x9A5);
        vm.startPrank(outsider);
        vm.expectRevert(MessageTransmitter.NotPauser.selector);
        transmitterB.pause();
        vm.expectRevert(MessageTransmitter.NotPauser.selector);
        transmitterB.unpause();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        transmitterB.updatePauser(outsider);
        vm.stopPrank();

        vm.expectRevert(MessageTransmitter.ZeroAddress.selector);
        transmitterB.updatePauser(address(0));
        transmitterB.updatePauser(p);
        assertEq(transmitterB.pauser(), p, "rotated");
        vm.expectRevert(MessageTransmitter.NotPauser.selector);
        transmitterB.pause();

        vm.startPrank(p);
        transmitterB.pause();
        assertTrue(transmitterB.paused(), "paused");
        transmitterB.unpause();
        assertTrue(!transmitterB.paused(), "unpaused");
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, p));
        transmitterB.updatePauser(p);
        vm.stopPrank();
    }

    // ---- token roles ----

    function test_tokenRoles() public {
        address p = address(0x9A5);
        address b = address(0xB1C);
        address mm = address(0x3E3);
        vm.startPrank(outsider);
        vm.expectRevert(Usd1Token.NotPauser.selector);
        tokenB.pause();
        vm.expectRevert(Usd1Token.NotBlocklister.selector);
        tokenB.blocklist(user);
        vm.expectRevert(Usd1Token.NotMasterMinter.selector);
        tokenB.configureMinter(outsider, 1);
        vm.expectRevert(Usd1Token.NotMasterMinter.selector);
        tokenB.removeMinter(address(messengerB));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        tokenB.updatePauser(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        tokenB.updateBlocklister(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        tokenB.updateMasterMinter(outsider);
        vm.stopPrank();

        vm.expectRevert(Usd1Token.ZeroAddress.selector);
        tokenB.updatePauser(address(0));
        vm.expectRevert(Usd1Token.ZeroAddress.selector);
        tokenB.updateBlocklister(address(0));
        vm.expectRevert(Usd1Token.ZeroAddress.selector);
        tokenB.updateMasterMinter(address(0));
        tokenB.updatePauser(p);
        tokenB.updateBlocklister(b);
        tokenB.updateMasterMinter(mm);
        assertEq(tokenB.pauser(), p, "pauser");
        assertEq(tokenB.blocklister(), b, "blocklister");
        assertEq(tokenB.masterMinter(), mm, "master minter");

        // The owner no longer holds the roles itself.
        vm.expectRevert(Usd1Token.NotPauser.selector);
        tokenB.pause();
        vm.expectRevert(Usd1Token.NotBlocklister.selector);
        tokenB.blocklist(user);
        vm.expectRevert(Usd1Token.NotMasterMinter.selector);
        tokenB.configureMinter(address(this), 1);

        vm.prank(p);
        tokenB.pause();
        assertTrue(tokenB.paused(), "paused by the pauser");
        vm.prank(p);
        tokenB.unpause();
        vm.prank(b);
        tokenB.blocklist(user);
        assertTrue(tokenB.blocklisted(user), "blocklisted by the blocklister");
        vm.prank(mm);
        tokenB.configureMinter(address(0x5EED), 7);
        assertEq(tokenB.minterAllowance(address(0x5EED)), 7, "minter configured by the master minter");
    }

    function test_tokenRolesStartWithAdmin() public {
        address admin = address(0xAD);
        Usd1Token t = new Usd1Token("USD1", "USD1", admin);
        assertEq(t.owner(), admin, "owner");
        assertEq(t.pauser(), admin, "pauser");
        assertEq(t.blocklister(), admin, "blocklister");
        assertEq(t.masterMinter(), admin, "master minter");
    }

    // ---- token pairs ----

    function test_linkTokenPairRefusesOverwrite() public {
        bytes32 remote = Message.addressToBytes32(address(tokenA));
        bytes32 key = keccak256(abi.encodePacked(A, remote));
        vm.expectRevert(abi.encodeWithSelector(TokenMessenger.TokenPairAlreadyLinked.selector, A, remote));
        messengerB.linkTokenPair(address(0xBADBAD), A, remote);
        // Not even to the same local token: a link is made once.
        vm.expectRevert(abi.encodeWithSelector(TokenMessenger.TokenPairAlreadyLinked.selector, A, remote));
        messengerB.linkTokenPair(address(tokenB), A, remote);
        assertEq(messengerB.remoteTokensToLocalTokens(key), address(tokenB), "link unchanged");
    }

    function test_linkTokenPairRejectsZeroAndNonOwner() public {
        bytes32 remote = bytes32(uint256(0x70CE));
        vm.expectRevert(TokenMessenger.ZeroAddress.selector);
        messengerB.linkTokenPair(address(0), A, remote);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        messengerB.linkTokenPair(address(tokenB), A, remote);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        messengerB.unlinkTokenPair(address(tokenB), A, Message.addressToBytes32(address(tokenA)));
    }

    function test_unlinkThenLinkChangesThePair() public {
        bytes32 remote = Message.addressToBytes32(address(tokenA));
        bytes32 key = keccak256(abi.encodePacked(A, remote));
        vm.expectRevert(abi.encodeWithSelector(TokenMessenger.TokenPairNotLinked.selector, A, remote));
        messengerB.unlinkTokenPair(address(0xBADBAD), A, remote);
        vm.expectRevert(abi.encodeWithSelector(TokenMessenger.TokenPairNotLinked.selector, uint32(99), remote));
        messengerB.unlinkTokenPair(address(tokenB), 99, remote);

        messengerB.unlinkTokenPair(address(tokenB), A, remote);
        assertEq(messengerB.remoteTokensToLocalTokens(key), address(0), "unlinked");
        bytes memory message = burnAtoB(4e6);
        bytes memory attestation = validAttestation(message);
        vm.expectRevert(abi.encodeWithSelector(TokenMessenger.UnsupportedToken.selector, A, remote));
        transmitterB.receiveMessage(message, attestation);

        Usd1Token replacement = new Usd1Token("USD1", "USD1", address(this));
        replacement.configureMinter(address(messengerB), type(uint256).max);
        messengerB.linkTokenPair(address(replacement), A, remote);
        assertEq(messengerB.remoteTokensToLocalTokens(key), address(replacement), "relinked");
        transmitterB.receiveMessage(message, attestation);
        assertEq(replacement.balanceOf(recipient), 4e6, "minted in the newly linked token");
        assertEq(tokenB.balanceOf(recipient), 0, "not in the old one");
    }

    // ---- fuzz ----

    function testFuzz_burnAndMintConserveSupply(uint256 amount, address to) public {
        amount = bound(amount, 1, LIMIT);
        vm.assume(to != address(0) && uint160(to) > 0x100000 && to != address(messengerA) && to != user);
        uint256 supplyBefore = tokenA.totalSupply() + tokenB.totalSupply();
        vm.prank(user);
        uint64 nonce = messengerA.depositForBurn(amount, B, Message.addressToBytes32(to), address(tokenA));
        bytes memory message = expectedMessage(nonce, amount, to, bytes32(0));
        transmitterB.receiveMessage(message, validAttestation(message));
        assertEq(tokenB.balanceOf(to), amount, "exact amount");
        assertEq(tokenA.totalSupply() + tokenB.totalSupply(), supplyBefore, "supply unchanged");
    }

    function testFuzz_rejectsGarbageAttestation(bytes memory attestation) public {
        bytes memory message = burnAtoB(1e6);
        vm.expectRevert();
        transmitterB.receiveMessage(message, attestation);
    }

    function testFuzz_rejectsAnyTamperedByte(uint256 index, uint8 flip) public {
        bytes memory message = burnAtoB(1e6);
        bytes memory attestation = validAttestation(message);
        index = bound(index, 0, message.length - 1);
        vm.assume(flip != 0);
        message[index] = bytes1(uint8(message[index]) ^ flip);
        // A changed message recovers other signers, which are not attesters (or not ascending).
        vm.expectRevert();
        transmitterB.receiveMessage(message, attestation);
    }

    /// The state a receive can change on chain B: balances, supply, used nonces, the allowance.
    function stateB(address[4] memory holders, uint64 nonceCount) internal view returns (bytes32 h) {
        h = keccak256(abi.encode(tokenB.totalSupply(), tokenB.minterAllowance(address(messengerB))));
        for (uint256 i = 0; i < 4; i++) {
            h = keccak256(abi.encode(h, tokenB.balanceOf(holders[i])));
        }
        for (uint64 k = 0; k < nonceCount; k++) {
            h = keccak256(abi.encode(h, transmitterB.usedNonces(nonceKey(A, k))));
        }
    }

    /// A batch ends in the same state as its messages sent one by one through receiveMessage
    /// (where a used nonce reverts NonceAlreadyUsed and changes nothing), and reports as received
    /// the ones receiveMessage accepted. Drawn: 4 nonces with two messages each (an original and
    /// a replacement twin to another recipient), some received before, and a batch of 1..10 of
    /// them, duplicates and twins included, each with a random valid pair of attesters.
    function testFuzz_batchMatchesOneByOne(uint256 seed) public {
        // The gas differs with the draw; not metering it keeps the .gas-snapshot row stable.
        vm.pauseGasMetering();
        address[4] memory holders = [recipient, address(0x3333), address(0x4444), address(0x5555)];
        bytes[2][4] memory pool;
        for (uint64 k = 0; k < 4; k++) {
            uint256 amount = 1e6 * (1 + uint256(keccak256(abi.encode(seed, "amount", k))) % 1000);
            for (uint256 v = 0; v < 2; v++) {
                address to = holders[uint256(keccak256(abi.encode(seed, "to", k, v))) % 4];
                pool[k][v] = expectedMessage(k, amount, to, bytes32(0));
            }
            // A third of the nonces were received before the batch, in one of their versions.
            uint256 r = uint256(keccak256(abi.encode(seed, "before", k)));
            if (r % 3 == 0) {
                transmitterB.receiveMessage(pool[k][(r >> 8) & 1], validAttestation(pool[k][(r >> 8) & 1]));
            }
        }
        uint256 n = 1 + uint256(keccak256(abi.encode(seed, "length"))) % 10;
        bytes[] memory messages = new bytes[](n);
        bytes[] memory attestations = new bytes[](n);
        for (uint256 i = 0; i < n; i++) {
            uint256 r = uint256(keccak256(abi.encode(seed, "pick", i)));
            messages[i] = pool[r % 4][(r >> 8) & 1];
            uint256 first = (r >> 16) % 3;
            attestations[i] =
                attest(sortedKeys(attesterKeys[first], attesterKeys[(first + 1 + (r >> 24) % 2) % 3]), messages[i]);
        }

        uint256 start = vm.snapshotState();
        uint256 received = transmitterB.receiveMessages(messages, attestations);
        bytes32 batched = stateB(holders, 4);
        vm.revertToState(start);

        uint256 accepted = 0;
        for (uint256 i = 0; i < n; i++) {
            try transmitterB.receiveMessage(messages[i], attestations[i]) returns (bool ok) {
                assertTrue(ok, "receiveMessage returns true");
                accepted++;
            } catch (bytes memory err) {
                uint64 nonce;
                bytes memory m = messages[i];
                assembly {
                    nonce := shr(192, mload(add(m, 44)))
                }
                assertEq(
                    keccak256(err),
                    keccak256(abi.encodeWithSelector(MessageTransmitter.NonceAlreadyUsed.selector, A, nonce)),
                    "one by one, only a used nonce is refused"
                );
            }
        }
        assertEq(received, accepted, "the batch received what receiveMessage accepted");
        assertEq(stateB(holders, 4), batched, "same final state");
    }

    /// A batch of valid messages with one refused message among them reverts with the error
    /// receiveMessage gives for it at that point, and changes nothing.
    function testFuzz_batchWithOneRefusalChangesNothing(uint256 seed) public {
        vm.pauseGasMetering();
        address[4] memory holders = [recipient, address(0x3333), address(0x4444), address(0x5555)];
        uint256 n = 2 + seed % 6;
        uint256 badAt = (seed >> 8) % n;
        uint256 kind = (seed >> 16) % 4;
        bytes[] memory messages = new bytes[](n);
        bytes[] memory attestations = new bytes[](n);
        for (uint256 i = 0; i < n; i++) {
            address to = holders[(seed >> (24 + 2 * i)) % 4];
            vm.prank(user);
            uint64 nonce = messengerA.depositForBurn(1e6 + i, B, Message.addressToBytes32(to), address(tokenA));
            messages[i] = expectedMessage(nonce, 1e6 + i, to, bytes32(0));
            attestations[i] = validAttestation(messages[i]);
        }
        bytes memory bad = messages[badAt];
        if (kind == 0) {
            attestations[badAt] = attest(sortedKeys(attesterKeys[seed % 3], OUTSIDER_KEY), bad);
        } else if (kind == 1) {
            bad[bad.length - 1] ^= bytes1(0x01); // the depositor field: the attestation no longer holds
        } else if (kind == 2) {
            tokenB.blocklist(address(0x6666));
            bad = expectedMessage(uint64(100 + badAt), 1e6, address(0x6666), bytes32(0));
            messages[badAt] = bad;
            attestations[badAt] = validAttestation(bad);
        } else {
            bad = expectedMessage(uint64(100 + badAt), 1e6, recipient, Message.addressToBytes32(address(0xCA11)));
            messages[badAt] = bad;
            attestations[badAt] = validAttestation(bad);
        }
        bytes32 initial = stateB(holders, uint64(n));

        // What receiveMessage says of the refused one after the ones before it are received.
        uint256 start = vm.snapshotState();
        for (uint256 i = 0; i < badAt; i++) {
            transmitterB.receiveMessage(messages[i], attestations[i]);
        }
        bytes memory expected = refusal(messages[badAt], attestations[badAt]);
        vm.revertToState(start);

        vm.expectRevert(expected);
        transmitterB.receiveMessages(messages, attestations);
        assertEq(stateB(holders, uint64(n)), initial, "nothing changed");
    }
}

/// A message recipient that, while handling a message, tries to receive that same message again
/// through receiveMessages and receiveMessage (test_batchReentrantHandlerFindsTheNonceUsed).
contract ReentrantRecipient is IMessageHandler {
    MessageTransmitter internal immutable transmitter;
    bytes internal message;
    bytes internal attestation;
    uint256 public handled;
    uint256 public innerReceived;
    bytes public innerError;

    constructor(MessageTransmitter transmitter_) {
        transmitter = transmitter_;
    }

    function arm(bytes calldata message_, bytes calldata attestation_) external {
        message = message_;
        attestation = attestation_;
    }

    function handleReceiveMessage(uint32, bytes32, bytes calldata) external returns (bool) {
        handled++;
        bytes[] memory messages = new bytes[](1);
        bytes[] memory attestations = new bytes[](1);
        messages[0] = message;
        attestations[0] = attestation;
        innerReceived = transmitter.receiveMessages(messages, attestations);
        try transmitter.receiveMessage(message, attestation) {
            innerError = "";
        } catch (bytes memory err) {
            innerError = err;
        }
        return true;
    }
}
