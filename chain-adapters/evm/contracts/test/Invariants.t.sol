// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// Forge invariant tests of the bridge: two deployments (domains A = 0 and B = 6) in one EVM plus
// a simulated remote domain C = 5, driven by test/invariant/Handler.sol, the fuzzer's only target.
// The handler's actions: depositForBurn (random users, amounts within / at / over the burn limit,
// to known and unknown domains, with and without a destination caller), burns on C, receiving
// pending messages with a valid m-of-n attestation (random attester subset, sorted), batched
// receives (receiveMessages of pending, already received and repeated messages: skips and
// whole-batch refusals as the model predicts), receiving with invalid attestations (too few / too many, disabled or never-enabled signer, descending,
// duplicate, over another message, tampered message, high-s twin, garbage), replays,
// replaceDepositForBurn (by the depositor; by someone else, with a tampered original and straight
// on the transmitter, which must revert), attested messages that must not mint (raw sendMessage
// with a burn body, unknown sender, unlinked token, wrong destination / version / body /
// recipient, delivery to the other chain), direct mint / burn / handleReceiveMessage, transfers,
// pauses of transmitters and tokens, blocklisting, mint allowances, burn limits, enabling /
// disabling attesters and threshold changes, Ownable2Step transfers and acceptances of the six
// contracts, role rotations, and privileged calls by accounts without the role.
//
// CI runs the short campaign of foundry.toml's [invariant] section (runs = 64, depth = 64, per
// invariant function). A long campaign, from chain-adapters/evm/contracts:
//
//   FOUNDRY_INVARIANT_RUNS=2000 FOUNDRY_INVARIANT_DEPTH=200 \
//     nice ../../../node_modules/.bin/forge test --use ./tools/solc --match-contract Invariant
//
// FOUNDRY_INVARIANT_SHOW_METRICS=true prints the calls per handler action of each campaign;
// `-vv --match-test test_handlerReachesTheOutcomes` how the actions turned out on a fixed walk.
// A failing sequence is printed (shrunk), saved under cache/invariant/ and replayed first by the
// next run with the same settings.

import {Test} from "./utils/Test.sol";
import {BridgeHandler, Chain} from "./invariant/Handler.sol";
import {Usd1Token} from "../src/Usd1Token.sol";
import {MessageTransmitter} from "../src/MessageTransmitter.sol";
import {TokenMessenger} from "../src/TokenMessenger.sol";
import {Message} from "../src/Message.sol";

interface InvariantVm {
    function addr(uint256 privateKey) external pure returns (address);
    function prank(address sender) external;
}

contract BridgeInvariantTest is Test {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    uint32 constant A = 0;
    uint32 constant B = 6;
    uint256 constant ACTORS = 6;
    uint256 constant INITIAL_BALANCE = 5_000_000e6;

    BridgeHandler handler;
    Chain[2] chains;

    function setUp() public {
        // Five attester candidates: the first three enabled with threshold 2 on both chains.
        uint256[] memory pool = new uint256[](5);
        pool[0] = 0xA11CE;
        pool[1] = 0xB0B;
        pool[2] = 0xCA401;
        pool[3] = 0xD00D;
        pool[4] = 0xE1E1E;
        address[] memory attesters = new address[](3);
        for (uint256 i = 0; i < 3; i++) {
            attesters[i] = InvariantVm(address(vm)).addr(pool[i]);
        }
        address[] memory actors = new address[](ACTORS);
        for (uint256 i = 0; i < ACTORS; i++) {
            actors[i] = InvariantVm(address(vm)).addr(0xAC7000 + i);
        }

        chains[0] = deploy(A, attesters);
        chains[1] = deploy(B, attesters);
        for (uint256 c = 0; c < 2; c++) {
            Chain memory local = chains[c];
            Chain memory remote = chains[1 - c];
            local.messenger.addRemoteTokenMessenger(remote.domain, Message.addressToBytes32(address(remote.messenger)));
            local.messenger
                .linkTokenPair(address(local.token), remote.domain, Message.addressToBytes32(address(remote.token)));
            // The simulated domain C: BridgeHandler's DOMAIN_C, C_MESSENGER and C_TOKEN.
            local.messenger.addRemoteTokenMessenger(5, bytes32(uint256(0xC0FFEE)));
            local.messenger.linkTokenPair(address(local.token), 5, bytes32(uint256(0xC70CE)));
            // Initial balances, minted by this contract as a temporary minter.
            local.token.configureMinter(address(this), type(uint256).max);
            for (uint256 i = 0; i < ACTORS; i++) {
                local.token.mint(actors[i], INITIAL_BALANCE);
                InvariantVm(address(vm)).prank(actors[i]);
                local.token.approve(address(local.messenger), type(uint256).max);
            }
            local.token.removeMinter(address(this));
        }
        handler = new BridgeHandler(chains, actors, pool, 3);
    }

    function deploy(uint32 domain, address[] memory attesters) internal returns (Chain memory ch) {
        ch.domain = domain;
        ch.token = new Usd1Token("USD1", "USD1", address(this));
        ch.transmitter = new MessageTransmitter(domain, attesters, 2, 8192);
        ch.messenger = new TokenMessenger(address(ch.transmitter));
        ch.token.configureMinter(address(ch.messenger), type(uint256).max);
        ch.messenger.setMaxBurnAmountPerMessage(address(ch.token), 1_000_000e6);
    }

    // ---- what the fuzzer calls (forge reads these like forge-std's StdInvariant) ----

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory s = new bytes4[](23);
        s[0] = BridgeHandler.depositForBurn.selector;
        s[1] = BridgeHandler.remoteBurn.selector;
        s[2] = BridgeHandler.receiveMessage.selector;
        s[3] = BridgeHandler.replayReceived.selector;
        s[4] = BridgeHandler.receiveWithBadAttestation.selector;
        s[5] = BridgeHandler.replaceDepositForBurn.selector;
        s[6] = BridgeHandler.attack.selector;
        s[7] = BridgeHandler.transfer.selector;
        s[8] = BridgeHandler.pauseTransmitter.selector;
        s[9] = BridgeHandler.pauseToken.selector;
        s[10] = BridgeHandler.blocklist.selector;
        s[11] = BridgeHandler.setMintAllowance.selector;
        s[12] = BridgeHandler.setBurnLimit.selector;
        s[13] = BridgeHandler.enableAttester.selector;
        s[14] = BridgeHandler.disableAttester.selector;
        s[15] = BridgeHandler.setSignatureThreshold.selector;
        s[16] = BridgeHandler.transferOwnership.selector;
        s[17] = BridgeHandler.acceptOwnership.selector;
        s[18] = BridgeHandler.rotateRole.selector;
        s[19] = BridgeHandler.unauthorized.selector;
        // Burns and deliveries weigh double: the other actions matter through them.
        s[20] = BridgeHandler.receiveMessage.selector;
        s[21] = BridgeHandler.depositForBurn.selector;
        s[22] = BridgeHandler.receiveBatch.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), s);
    }

    // ---- the handler is not degenerate ----

    /// A fixed pseudo-random walk of 600 handler calls (no campaign): the outcomes that give the
    /// invariants their teeth (mints by valid receives, refused replays, replacements, attester
    /// and ownership changes, batches that mint and that skip) must all happen, so a handler change that made, say, every receive
    /// revert fails here instead of passing vacuously. -vv prints every outcome's count.
    function test_handlerReachesTheOutcomes() public {
        bytes4[] memory actions = targetSelectors()[0].selectors;
        for (uint256 i = 0; i < 600; i++) {
            uint256 r = uint256(keccak256(abi.encode("walk", i)));
            bytes memory args = abi.encode(
                keccak256(abi.encode(r, 1)),
                keccak256(abi.encode(r, 2)),
                keccak256(abi.encode(r, 3)),
                keccak256(abi.encode(r, 4)),
                keccak256(abi.encode(r, 5)),
                keccak256(abi.encode(r, 6))
            );
            bytes4 action = actions[r % actions.length];
            (bool ok, bytes memory ret) = address(handler).call(bytes.concat(action, args));
            if (!ok) {
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
        invariant_balancesSumToTotalSupply();
        invariant_nonceReceivedAtMostOnce();
        invariant_supplyOnlyFromAttestedReceives();
        invariant_burnLimitHeld();
        invariant_noUnexpectedOutcome();
        invariant_administrationMatchesModel();

        // Logged (-vv) for the record; the ones before `required` must have happened.
        string[54] memory all = [
            "deposit.ok",
            "deposit.refused.overLimit",
            "remoteBurn",
            "receive.ok",
            "receive.refused.replay",
            "bad.tooFew",
            "bad.notEnabled",
            "bad.tampered",
            "replace.ok",
            "attack.unauthorized",
            "attester.enable",
            "attester.disable",
            "attester.setThreshold",
            "ownership.transfer",
            "ownership.accept",
            "ownership.accept.reverted",
            "batch.ok",
            "batch.skipped",
            // informational from here
            "deposit.refused.zeroAmount",
            "deposit.refused.zeroRecipient",
            "deposit.refused.unknownDestination",
            "deposit.refused.transmitterPaused",
            "deposit.refused.tokenPaused",
            "deposit.refused.senderFrozen",
            "deposit.refused.balance",
            "deposit.refused.notMinter",
            "receive.refused.transmitterPaused",
            "receive.refused.wrongCaller",
            "receive.refused.tokenPaused",
            "receive.refused.recipientFrozen",
            "receive.refused.notMinter",
            "receive.refused.mintAllowance",
            "bad.tooMany",
            "bad.descending",
            "bad.duplicate",
            "bad.otherMessage",
            "bad.highS",
            "bad.garbage",
            "replace.byOther",
            "replace.tampered",
            "replace.direct",
            "replace.reverted",
            "attack.rawSendMessage",
            "attack.unknownSender",
            "attack.unlinkedToken",
            "attack.otherChain",
            "attack.directMint",
            "role.rotate",
            "batch.refused.transmitterPaused",
            "batch.refused.wrongCaller",
            "batch.refused.tokenPaused",
            "batch.refused.recipientFrozen",
            "batch.refused.notMinter",
            "batch.refused.mintAllowance"
        ];
        uint256 required = 18;
        for (uint256 i = 0; i < all.length; i++) {
            log(all[i], handler.count(keccak256(bytes(all[i]))));
        }
        for (uint256 i = 0; i < required; i++) {
            assertTrue(handler.count(keccak256(bytes(all[i]))) > 0, all[i]);
        }
    }

    function log(string memory what, uint256 n) internal view {
        address console = 0x000000000000000000636F6e736F6c652e6c6f67;
        (bool ok,) = console.staticcall(abi.encodeWithSignature("log(string,uint256)", what, n));
        ok;
    }

    // ---- invariants ----

    /// Σ balances over every possible holder = totalSupply, on each chain.
    function invariant_balancesSumToTotalSupply() public view {
        uint256 n = handler.holdersLength();
        for (uint256 c = 0; c < 2; c++) {
            Usd1Token token = chains[c].token;
            uint256 sum = 0;
            for (uint256 i = 0; i < n; i++) {
                sum += token.balanceOf(handler.holders(i));
            }
            assertEq(sum, token.totalSupply(), "sum of balances != totalSupply");
        }
    }

    /// Each (source, nonce) is received at most once, and the transmitter's usedNonces says
    /// exactly which were.
    function invariant_nonceReceivedAtMostOnce() public view {
        for (uint256 c = 0; c < 2; c++) {
            MessageTransmitter t = chains[c].transmitter;
            uint256 n = handler.keysLength(c);
            for (uint256 i = 0; i < n; i++) {
                bytes32 key = handler.keyAt(c, i);
                uint256 received = handler.receiveCount(c, key);
                assertTrue(received <= 1, "a (source, nonce) was received more than once");
                assertEq(t.usedNonces(key), received, "usedNonces disagrees with the receives");
            }
        }
    }

    /// totalSupply = initial + Σ validly attested receives − Σ burns, on each chain: nothing
    /// mints without a valid m-of-n attestation. And no chain mints more from the other than
    /// the other burned towards it.
    function invariant_supplyOnlyFromAttestedReceives() public view {
        for (uint256 c = 0; c < 2; c++) {
            assertEq(
                chains[c].token.totalSupply() + handler.burned(c),
                handler.initialSupply(c) + handler.mintedByValidReceives(c),
                "totalSupply != initial + attested mints - burns"
            );
            assertTrue(
                handler.mintedFrom(c, 1 - c) <= handler.burnedTo(1 - c, c), "minted more than was burned towards it"
            );
            assertEq(
                handler.mintedByValidReceives(c),
                handler.mintedFrom(c, 1 - c) + handler.mintedFromC(c),
                "mints not from a known source"
            );
        }
    }

    /// No single burn above the burn limit (the one in force at the time) succeeded.
    function invariant_burnLimitHeld() public view {
        assertEq(handler.burnsOverLimit(), 0, "a burn above the burn limit succeeded");
    }

    /// Every action's outcome was the one the model predicts: no attack succeeded, no valid
    /// delivery, burn or administrative step was refused, emitted messages were as expected.
    function invariant_noUnexpectedOutcome() public view {
        if (handler.violations() != 0) revert AssertionFailed(handler.firstViolation());
    }

    /// Attester sets, thresholds (within 1..enabled) and owners (moved only by the two steps)
    /// are what the handler's model says.
    function invariant_administrationMatchesModel() public view {
        uint256 pool = handler.poolLength();
        for (uint256 c = 0; c < 2; c++) {
            MessageTransmitter t = chains[c].transmitter;
            uint256 enabled = t.getNumEnabledAttesters();
            uint256 threshold = t.signatureThreshold();
            assertEq(enabled, handler.modelEnabledCount(c), "number of enabled attesters");
            assertEq(threshold, handler.modelThreshold(c), "threshold");
            assertTrue(threshold >= 1 && threshold <= enabled, "threshold outside 1..enabled attesters");
            for (uint256 i = 0; i < pool; i++) {
                address a = handler.poolAddress(i);
                assertTrue(t.isEnabledAttester(a) == handler.modelEnabled(c, a), "attester enabled flag");
            }
            for (uint256 i = 0; i < enabled; i++) {
                assertTrue(handler.modelEnabled(c, t.getEnabledAttester(i)), "enabled list");
            }
        }
        for (uint256 i = 0; i < 6; i++) {
            assertEq(handler.ownedContract(i).owner(), handler.modelOwner(i), "owner");
            assertEq(handler.ownedContract(i).pendingOwner(), handler.modelPending(i), "pending owner");
        }
    }
}
