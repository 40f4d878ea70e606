// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {Usd1Token} from "../src/Usd1Token.sol";
import {MessageTransmitter} from "../src/MessageTransmitter.sol";
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
}
