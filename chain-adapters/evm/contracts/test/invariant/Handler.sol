// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Usd1Token} from "../../src/Usd1Token.sol";
import {MessageTransmitter} from "../../src/MessageTransmitter.sol";
import {TokenMessenger} from "../../src/TokenMessenger.sol";
import {Message, BurnMessage} from "../../src/Message.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// The cheatcodes the handler uses (forge-std is not available here; see ../utils/Test.sol).
interface HandlerVm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function prank(address sender) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
}

interface IOwnable2Step {
    function owner() external view returns (address);
    function pendingOwner() external view returns (address);
    function transferOwnership(address newOwner) external;
    function acceptOwnership() external;
    function renounceOwnership() external;
}

/// One bridge deployment (one chain).
struct Chain {
    uint32 domain;
    Usd1Token token;
    MessageTransmitter transmitter;
    TokenMessenger messenger;
}

/// The invariant fuzzer's only target (see ../Invariants.t.sol). Every action bounds its random
/// inputs, acts as the right (or, for attacks, the wrong) account with `prank`, and never reverts
/// itself: the bridge's reverts are caught, and an outcome the model did not predict (an attack
/// that succeeded, a valid delivery refused, an emitted message other than expected) is recorded
/// in `violations`, which an invariant requires to stay 0. Ghost variables feed the others.
///
/// Two real chains (0: domain A, 1: domain B) plus a simulated remote domain C whose messages the
/// handler writes itself; the attesters sign only messages a source actually emitted (for A and
/// B, the `MessageSent` bytes captured with `recordLogs`; for C, the handler's own burns).
contract BridgeHandler {
    HandlerVm internal constant vm = HandlerVm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint32 public constant DOMAIN_C = 5;
    uint32 public constant DOMAIN_UNKNOWN = 99;
    bytes32 public constant C_MESSENGER = bytes32(uint256(0xC0FFEE));
    bytes32 public constant C_TOKEN = bytes32(uint256(0xC70CE));
    uint256 public constant LIMIT = 1_000_000e6;
    uint256 public constant MAX_REMOTE_AMOUNT = 10_000_000e6;
    uint256 public constant MAX_FRESH = 16;
    /// Whom unauthorized calls try to appoint (never an actor, attester or owner).
    address internal constant STRANGER = address(0x5742A6E7);
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    bytes32 internal constant MESSAGE_SENT = keccak256("MessageSent(bytes)");

    Chain[2] internal chains;
    address public immutable deployer;

    // ---- accounts ----
    address[] public actors;
    /// Every address that may hold USD1 on either chain: actors, fresh addresses, the contracts.
    address[] public holders;
    mapping(address => bool) internal isHolder;
    uint256 internal freshCount;
    /// Attester candidates: enabled, disabled and never-enabled keys (the outsider).
    uint256[] internal poolKeys;
    mapping(address => uint256) internal keyOf;

    // ---- messages ----
    struct Msg {
        bytes message;
        uint256 dst; // chain index that may receive it
        uint32 srcDomain;
        uint64 nonce;
        uint256 amount;
        address recipient;
        bytes32 caller; // destination caller, 0 for anyone
        address depositor; // 0 for messages from the simulated domain C
    }

    Msg[] internal msgs;
    uint256[] internal realIdx; // msgs from chain A or B (replaceable by their depositor)
    uint256[] internal receivedIdx;
    uint64 internal cNonce;

    // ---- ghosts ----
    uint256[2] public initialSupply;
    uint256[2] public mintedByValidReceives; // Σ amounts of validly attested messages received
    uint256[2] public burned;
    /// burnedTo[s][d]: burned on chain s towards chain d; mintedFrom[d][s]: minted on d from s.
    uint256[2][2] public burnedTo;
    uint256[2][2] public mintedFrom;
    uint256[2] public burnedToC;
    uint256[2] public mintedFromC;
    /// Per destination chain, per keccak256(source, nonce): successful receives.
    mapping(uint256 => mapping(bytes32 => uint256)) public receiveCount;
    /// Every (source, nonce) key a message for the chain was built with (received or not).
    mapping(uint256 => bytes32[]) internal keysOf;
    mapping(uint256 => mapping(bytes32 => bool)) internal keySeen;
    uint256 public burnsOverLimit;
    uint256 public violations;
    string public firstViolation;

    // ---- model of the administration (checked against the contracts) ----
    address[6] public modelOwner; // 0..2: token, transmitter, messenger of chain 0; 3..5: chain 1
    address[6] public modelPending;
    mapping(uint256 => mapping(address => bool)) public modelEnabled;
    uint256[2] public modelEnabledCount;
    uint256[2] public modelThreshold;

    // ---- what happened (for the report of a long campaign) ----
    mapping(bytes32 => uint256) public count;

    constructor(Chain[2] memory chains_, address[] memory actors_, uint256[] memory poolKeys_, uint256 enabled) {
        deployer = msg.sender;
        for (uint256 c = 0; c < 2; c++) {
            chains[c] = chains_[c];
            initialSupply[c] = chains_[c].token.totalSupply();
            modelThreshold[c] = chains_[c].transmitter.signatureThreshold();
            modelEnabledCount[c] = enabled;
            for (uint256 i = 0; i < 3; i++) {
                modelOwner[c * 3 + i] = msg.sender;
            }
            _addHolder(address(chains_[c].token));
            _addHolder(address(chains_[c].transmitter));
            _addHolder(address(chains_[c].messenger));
        }
        for (uint256 i = 0; i < actors_.length; i++) {
            actors.push(actors_[i]);
            _addHolder(actors_[i]);
        }
        _addHolder(msg.sender);
        for (uint256 i = 0; i < poolKeys_.length; i++) {
            poolKeys.push(poolKeys_[i]);
            address a = vm.addr(poolKeys_[i]);
            keyOf[a] = poolKeys_[i];
            if (i < enabled) {
                modelEnabled[0][a] = true;
                modelEnabled[1][a] = true;
            }
        }
    }

    // =====================================================================================
    // Views for the invariants
    // =====================================================================================

    function holdersLength() external view returns (uint256) {
        return holders.length;
    }

    function keysLength(uint256 c) external view returns (uint256) {
        return keysOf[c].length;
    }

    function keyAt(uint256 c, uint256 i) external view returns (bytes32) {
        return keysOf[c][i];
    }

    function poolLength() external view returns (uint256) {
        return poolKeys.length;
    }

    function poolAddress(uint256 i) external view returns (address) {
        return vm.addr(_poolKey(i));
    }

    function ownedContract(uint256 i) public view returns (IOwnable2Step) {
        Chain storage ch = chains[i / 3];
        uint256 k = i % 3;
        return IOwnable2Step(k == 0 ? address(ch.token) : k == 1 ? address(ch.transmitter) : address(ch.messenger));
    }

    function messagesLength() external view returns (uint256) {
        return msgs.length;
    }

    // =====================================================================================
    // Burns
    // =====================================================================================

    struct Deposit {
        uint256 s; // source chain
        uint256 d; // 0 the other chain, 3 C, 4 an unknown domain, 5 its own domain
        uint32 destDomain;
        address from;
        uint256 limit;
        uint256 amount;
        address recipient;
        bytes32 caller;
        bool expectOk;
        string refusal; // why the burn must be refused, "" if it must succeed
    }

    /// depositForBurn(WithCaller) by a random actor: to the other chain, to C, to an unknown domain
    /// or to its own domain; amounts within, at, just over and far over the burn limit, and 0.
    function depositForBurn(
        uint256 chainSeed,
        uint256 actorSeed,
        uint256 amountSeed,
        uint256 destSeed,
        uint256 recipientSeed,
        uint256 callerSeed
    ) external {
        Deposit memory p;
        p.s = chainSeed % 2;
        Chain storage ch = chains[p.s];
        p.from = _actor(actorSeed);
        uint256 d = destSeed % 8; // 0..4 the other chain, 5 C, 6 an unknown domain, 7 its own domain
        p.d = d < 5 ? 0 : d - 2;
        p.destDomain = p.d == 0 ? chains[1 - p.s].domain : p.d == 3 ? DOMAIN_C : p.d == 4 ? DOMAIN_UNKNOWN : ch.domain;
        p.limit = ch.messenger.burnLimitsPerMessage(address(ch.token));
        uint256 balance = ch.token.balanceOf(p.from);
        p.amount = _amount(amountSeed, p.limit, balance);
        p.recipient = recipientSeed % 16 == 0 ? address(0) : _recipient(recipientSeed >> 4, 1 - p.s);
        p.caller = callerSeed % 4 == 0 ? Message.addressToBytes32(_actor(callerSeed >> 2)) : bytes32(0);
        p.refusal = _depositRefusal(ch, p, balance);
        p.expectOk = bytes(p.refusal).length == 0;

        (bool ok, uint64 nonce) = _deposit(ch, p);
        if (!ok) {
            if (p.expectOk) _violate("depositForBurn refused a valid burn");
            _count(string.concat("deposit.refused.", p.refusal));
            return;
        }
        _count("deposit.ok");
        if (p.amount > p.limit) {
            burnsOverLimit++;
            _violate("a burn above the burn limit succeeded");
        }
        if (!p.expectOk) _violate("depositForBurn succeeded where it must not");
        burned[p.s] += p.amount;

        bytes memory expected = _burnMessage(ch, p, nonce);
        if (keccak256(_sentMessage(vm.getRecordedLogs(), address(ch.transmitter))) != keccak256(expected)) {
            _violate("depositForBurn emitted another message than the burn");
        }
        if (p.d == 3) {
            burnedToC[p.s] += p.amount;
            return;
        }
        burnedTo[p.s][1 - p.s] += p.amount;
        realIdx.push(msgs.length);
        _push(Msg(expected, 1 - p.s, ch.domain, nonce, p.amount, p.recipient, p.caller, p.from));
    }

    function _depositRefusal(Chain storage ch, Deposit memory p, uint256 balance)
        internal
        view
        returns (string memory)
    {
        if (p.amount == 0) return "zeroAmount";
        if (p.recipient == address(0)) return "zeroRecipient";
        if (p.d > 3) return "unknownDestination";
        if (p.amount > p.limit) return "overLimit";
        if (ch.transmitter.paused()) return "transmitterPaused";
        if (ch.token.paused()) return "tokenPaused";
        if (ch.token.blocklisted(p.from)) return "senderFrozen";
        if (balance < p.amount) return "balance";
        if (!ch.token.isMinter(address(ch.messenger))) return "notMinter";
        return "";
    }

    /// The message a burn must emit.
    function _burnMessage(Chain storage ch, Deposit memory p, uint64 nonce) internal view returns (bytes memory) {
        bytes memory body = BurnMessage.format(
            0,
            Message.addressToBytes32(address(ch.token)),
            Message.addressToBytes32(p.recipient),
            p.amount,
            Message.addressToBytes32(p.from)
        );
        return Message.format(
            0,
            ch.domain,
            p.destDomain,
            nonce,
            Message.addressToBytes32(address(ch.messenger)),
            ch.messenger.remoteTokenMessengers(p.destDomain),
            p.caller,
            body
        );
    }

    /// The burn itself, as p.from, recording the logs (read by the caller on success).
    function _deposit(Chain storage ch, Deposit memory p) internal returns (bool ok, uint64 nonce) {
        bytes32 recipient = Message.addressToBytes32(p.recipient);
        address token = address(ch.token);
        vm.recordLogs();
        vm.prank(p.from);
        if (p.caller == bytes32(0)) {
            try ch.messenger.depositForBurn(p.amount, p.destDomain, recipient, token) returns (uint64 n) {
                return (true, n);
            } catch {}
        } else {
            try ch.messenger.depositForBurnWithCaller(p.amount, p.destDomain, recipient, token, p.caller) returns (
                uint64 n
            ) {
                return (true, n);
            } catch {}
        }
        vm.getRecordedLogs();
    }

    /// A burn on the simulated domain C towards chain A or B (what C's attesters would attest).
    function remoteBurn(uint256 destSeed, uint256 amountSeed, uint256 recipientSeed, uint256 callerSeed) external {
        uint256 d = destSeed % 2;
        uint256 amount = 1 + amountSeed % MAX_REMOTE_AMOUNT;
        address recipient = _recipient(recipientSeed, d);
        bytes32 caller = callerSeed % 4 == 0 ? Message.addressToBytes32(_actor(callerSeed >> 2)) : bytes32(0);
        uint64 nonce = cNonce++;
        bytes memory m =
            _cMessage(0, chains[d].domain, nonce, C_MESSENGER, caller, _burnBody(C_TOKEN, recipient, amount));
        _push(Msg(m, d, DOMAIN_C, nonce, amount, recipient, caller, address(0)));
        _count("remoteBurn");
    }

    // =====================================================================================
    // Receives
    // =====================================================================================

    /// Delivers a known message (pending, replaced, or already received) with a valid m-of-n
    /// attestation from a random subset of the destination's enabled attesters, usually by the
    /// named destination caller. Already received => must revert (NonceAlreadyUsed when nothing
    /// else is in the way); otherwise it must succeed unless paused, frozen or out of allowance.
    function receiveMessage(uint256 idxSeed, uint256 subsetSeed, uint256 callerSeed) external {
        uint256 n = msgs.length;
        if (n == 0) return;
        // Prefer a message not received yet (replays have their own action).
        uint256 start = idxSeed % n;
        uint256 i = start;
        for (uint256 j = 0; j < n; j++) {
            uint256 k = (start + j) % n;
            Msg storage m = msgs[k];
            if (receiveCount[m.dst][keccak256(abi.encodePacked(m.srcDomain, m.nonce))] == 0) {
                i = k;
                break;
            }
        }
        _receive(i, subsetSeed, callerSeed);
    }

    /// Replays a message already received (or its replacement twin): must revert.
    function replayReceived(uint256 idxSeed, uint256 subsetSeed) external {
        if (receivedIdx.length == 0) return;
        _receive(receivedIdx[idxSeed % receivedIdx.length], subsetSeed, 1);
    }

    struct Delivery {
        address caller;
        bool callerOk;
        bytes32 key;
        bool already;
        bool transmitterPaused;
        bool expectOk;
        string refusal; // why the delivery must be refused, "" if it must succeed
        uint256 supplyBefore;
        uint256 balanceBefore;
    }

    function _receive(uint256 i, uint256 subsetSeed, uint256 callerSeed) internal {
        Msg storage m = msgs[i];
        Chain storage ch = chains[m.dst];
        (bytes memory attestation, bool signed) = _validAttestation(m.dst, m.message, subsetSeed);
        if (!signed) return;
        Delivery memory e;
        e.caller = m.caller == bytes32(0) || callerSeed % 4 == 0
            ? _actor(callerSeed >> 2)
            : Message.bytes32ToAddress(m.caller);
        e.callerOk = m.caller == bytes32(0) || Message.addressToBytes32(e.caller) == m.caller;
        e.key = keccak256(abi.encodePacked(m.srcDomain, m.nonce));
        e.already = receiveCount[m.dst][e.key] > 0;
        e.transmitterPaused = ch.transmitter.paused();
        e.refusal = _refusal(ch, m, e);
        e.expectOk = bytes(e.refusal).length == 0;
        e.supplyBefore = ch.token.totalSupply();
        e.balanceBefore = ch.token.balanceOf(m.recipient);

        vm.prank(e.caller);
        try ch.transmitter.receiveMessage(m.message, attestation) returns (bool ok) {
            if (!ok) _violate("receiveMessage returned false");
            _received(i, e);
        } catch (bytes memory err) {
            _count(string.concat("receive.refused.", e.refusal));
            if (e.expectOk) _violate("receiveMessage refused a valid delivery");
            if (
                e.already && e.callerOk && !e.transmitterPaused
                    && keccak256(err)
                        != keccak256(
                            abi.encodeWithSelector(MessageTransmitter.NonceAlreadyUsed.selector, m.srcDomain, m.nonce)
                        )
            ) {
                _violate("a replay reverted for another reason than NonceAlreadyUsed");
            }
        }
    }

    function _refusal(Chain storage ch, Msg storage m, Delivery memory e) internal view returns (string memory) {
        if (e.transmitterPaused) return "transmitterPaused";
        if (!e.callerOk) return "wrongCaller";
        if (e.already) return "replay";
        if (ch.token.paused()) return "tokenPaused";
        if (ch.token.blocklisted(m.recipient)) return "recipientFrozen";
        if (!ch.token.isMinter(address(ch.messenger))) return "notMinter";
        if (ch.token.minterAllowance(address(ch.messenger)) < m.amount) return "mintAllowance";
        return "";
    }

    /// Bookkeeping of a successful receive of msgs[i].
    function _received(uint256 i, Delivery memory e) internal {
        Msg storage m = msgs[i];
        Usd1Token token = chains[m.dst].token;
        receiveCount[m.dst][e.key]++;
        _count(e.already ? "receive.REPLAYED" : "receive.ok");
        if (e.already) _violate("a (source, nonce) was received twice");
        if (!e.callerOk) _violate("a message was delivered by another than its destination caller");
        if (!e.expectOk) _violate("receiveMessage succeeded where it must not");
        if (token.totalSupply() != e.supplyBefore + m.amount) _violate("receive minted another amount");
        if (token.balanceOf(m.recipient) != e.balanceBefore + m.amount) _violate("receive credited another amount");
        mintedByValidReceives[m.dst] += m.amount;
        if (m.srcDomain == DOMAIN_C) {
            mintedFromC[m.dst] += m.amount;
        } else {
            mintedFrom[m.dst][1 - m.dst] += m.amount;
        }
        receivedIdx.push(i);
    }

    /// The model of one receiveMessages call.
    struct Batch {
        uint256 d; // destination chain
        uint256[] idx; // msgs delivered, in order (duplicates allowed)
        bytes[] messages;
        bytes[] attestations;
        address caller;
        bool[] receives; // by the model: received (not skipped)
        uint256 received;
        uint256 minted;
        bool expectOk;
        string refusal; // why the batch must revert, "" if it must succeed
        uint256 supplyBefore;
        uint256[] balanceBefore;
    }

    /// Delivers 1..4 known messages for one chain in one receiveMessages: pending ones, received
    /// ones and the same one twice, each with a valid m-of-n attestation. By the model, the batch
    /// reverts whole when the transmitter is paused or any message is refused (a caller other than
    /// its destination caller, whether or not it is already received; the token refusing a mint:
    /// paused, frozen recipient, not a minter, allowance used up by the batch); otherwise a
    /// (source, nonce) already received, before or earlier in the batch, is skipped and every other
    /// message mints, once.
    function receiveBatch(uint256 chainSeed, uint256 pickSeed, uint256 subsetSeed, uint256 callerSeed) external {
        uint256 n = msgs.length;
        if (n == 0) return;
        Batch memory b;
        b.d = chainSeed % 2;
        uint256 size = 1 + pickSeed % 4;
        b.idx = new uint256[](size);
        b.messages = new bytes[](size);
        b.attestations = new bytes[](size);
        for (uint256 j = 0; j < size; j++) {
            uint256 r = uint256(keccak256(abi.encode(pickSeed, j)));
            if (j > 0 && r % 5 == 0) {
                b.idx[j] = b.idx[j - 1]; // the same message again
            } else {
                (uint256 i, bool found) = _messageFor(b.d, r % n);
                if (!found) return;
                b.idx[j] = i;
            }
            bool signed;
            (b.attestations[j], signed) =
                _validAttestation(b.d, msgs[b.idx[j]].message, uint256(keccak256(abi.encode(subsetSeed, j))));
            if (!signed) return;
            b.messages[j] = msgs[b.idx[j]].message;
        }
        b.caller = _batchCaller(b, callerSeed);
        b.refusal = _predictBatch(b);
        b.expectOk = bytes(b.refusal).length == 0;
        Chain storage ch = chains[b.d];
        b.supplyBefore = ch.token.totalSupply();
        b.balanceBefore = new uint256[](size);
        for (uint256 j = 0; j < size; j++) {
            b.balanceBefore[j] = ch.token.balanceOf(msgs[b.idx[j]].recipient);
        }

        vm.prank(b.caller);
        try ch.transmitter.receiveMessages(b.messages, b.attestations) returns (uint256 received) {
            if (!b.expectOk) _violate("receiveMessages succeeded where it must not");
            if (received != b.received) _violate("receiveMessages received another number than the model");
            _batchReceived(b);
        } catch {
            _count(string.concat("batch.refused.", b.refusal));
            if (b.expectOk) _violate("receiveMessages refused a valid batch");
        }
    }

    /// The first message for chain d from msgs[start] on (wrapping around).
    function _messageFor(uint256 d, uint256 start) internal view returns (uint256, bool) {
        uint256 n = msgs.length;
        for (uint256 k = 0; k < n; k++) {
            uint256 i = (start + k) % n;
            if (msgs[i].dst == d) return (i, true);
        }
        return (0, false);
    }

    /// Usually the first destination caller named in the batch (else an actor); sometimes an actor.
    function _batchCaller(Batch memory b, uint256 seed) internal view returns (address) {
        if (seed % 4 != 0) {
            for (uint256 j = 0; j < b.idx.length; j++) {
                bytes32 c = msgs[b.idx[j]].caller;
                if (c != bytes32(0)) return Message.bytes32ToAddress(c);
            }
        }
        return _actor(seed >> 2);
    }

    /// Fills b.receives, b.received and b.minted; returns why the batch must revert ("" if not).
    function _predictBatch(Batch memory b) internal view returns (string memory) {
        Chain storage ch = chains[b.d];
        uint256 size = b.idx.length;
        b.receives = new bool[](size);
        if (ch.transmitter.paused()) return "transmitterPaused";
        uint256 allowance = ch.token.minterAllowance(address(ch.messenger));
        for (uint256 j = 0; j < size; j++) {
            Msg storage m = msgs[b.idx[j]];
            // Checked before the nonce: a wrong caller is refused even for a used nonce.
            if (m.caller != bytes32(0) && m.caller != Message.addressToBytes32(b.caller)) return "wrongCaller";
            bytes32 key = keccak256(abi.encodePacked(m.srcDomain, m.nonce));
            bool already = receiveCount[b.d][key] > 0;
            for (uint256 k = 0; k < j && !already; k++) {
                Msg storage earlier = msgs[b.idx[k]];
                already = b.receives[k] && keccak256(abi.encodePacked(earlier.srcDomain, earlier.nonce)) == key;
            }
            if (already) continue;
            if (ch.token.paused()) return "tokenPaused";
            if (ch.token.blocklisted(m.recipient)) return "recipientFrozen";
            if (!ch.token.isMinter(address(ch.messenger))) return "notMinter";
            if (allowance < m.amount) return "mintAllowance";
            allowance -= m.amount;
            b.receives[j] = true;
            b.received++;
            b.minted += m.amount;
        }
        return "";
    }

    /// Checks and bookkeeping of a successful batch.
    function _batchReceived(Batch memory b) internal {
        Chain storage ch = chains[b.d];
        if (ch.token.totalSupply() != b.supplyBefore + b.minted) _violate("receiveMessages minted another amount");
        for (uint256 j = 0; j < b.idx.length; j++) {
            // Each recipient's balance grew by the sum of its received messages.
            address recipient = msgs[b.idx[j]].recipient;
            uint256 expected = b.balanceBefore[j];
            for (uint256 k = 0; k < b.idx.length; k++) {
                if (b.receives[k] && msgs[b.idx[k]].recipient == recipient) expected += msgs[b.idx[k]].amount;
            }
            if (ch.token.balanceOf(recipient) != expected) _violate("receiveMessages credited another amount");
        }
        for (uint256 j = 0; j < b.idx.length; j++) {
            if (!b.receives[j]) continue;
            Msg storage m = msgs[b.idx[j]];
            bytes32 key = keccak256(abi.encodePacked(m.srcDomain, m.nonce));
            if (receiveCount[b.d][key] > 0) _violate("a (source, nonce) was received twice");
            receiveCount[b.d][key]++;
            mintedByValidReceives[b.d] += m.amount;
            if (m.srcDomain == DOMAIN_C) {
                mintedFromC[b.d] += m.amount;
            } else {
                mintedFrom[b.d][1 - b.d] += m.amount;
            }
            receivedIdx.push(b.idx[j]);
        }
        _count("batch.ok");
        if (b.received < b.idx.length) _count("batch.skipped");
    }

    /// Delivers a known message with an attestation that is not a valid m-of-n one: too few or
    /// too many signatures, a disabled or never-enabled signer, descending order, a duplicated
    /// signer, signatures over another message, a tampered message, a high-s twin, garbage.
    function receiveWithBadAttestation(uint256 idxSeed, uint256 kindSeed, uint256 subsetSeed) external {
        if (msgs.length == 0) return;
        Msg storage m = msgs[idxSeed % msgs.length];
        (address[] memory signers, bool ok) = _validSigners(m.dst, subsetSeed);
        if (!ok) return;
        uint256 t = signers.length;
        bytes memory message = m.message;
        bytes memory attestation;
        uint256 kind = kindSeed % 9;
        if (t < 2 && (kind == 3 || kind == 4)) kind = 0; // needs two signatures
        if (kind == 0) {
            // Too few: the first t-1 of a valid set.
            address[] memory fewer = new address[](t - 1);
            for (uint256 j = 0; j + 1 < t; j++) {
                fewer[j] = signers[j];
            }
            attestation = _sign(fewer, message);
            _count("bad.tooFew");
        } else if (kind == 1) {
            // Too many: a valid set plus one more signature.
            address[] memory more = new address[](t + 1);
            for (uint256 j = 0; j < t; j++) {
                more[j] = signers[j];
            }
            more[t] = _notEnabled(m.dst, subsetSeed);
            attestation = _sign(_sorted(more), message);
            _count("bad.tooMany");
        } else if (kind == 2) {
            // One signer not enabled (disabled, or never an attester), in ascending order.
            signers[(subsetSeed >> 128) % t] = _notEnabled(m.dst, subsetSeed);
            attestation = _sign(_sorted(signers), message);
            _count("bad.notEnabled");
        } else if (kind == 3) {
            // Descending order.
            for (uint256 j = 0; j < t / 2; j++) {
                (signers[j], signers[t - 1 - j]) = (signers[t - 1 - j], signers[j]);
            }
            attestation = _sign(signers, message);
            _count("bad.descending");
        } else if (kind == 4) {
            // The same enabled signer twice.
            signers[1] = signers[0];
            attestation = _sign(signers, message);
            _count("bad.duplicate");
        } else if (kind == 5) {
            // Valid signatures over another message.
            attestation = _sign(signers, abi.encodePacked(message, uint8(0)));
            _count("bad.otherMessage");
        } else if (kind == 6) {
            // A valid attestation, then the message's amount is raised.
            attestation = _sign(signers, message);
            message = _copy(message);
            message[message.length - 33] = bytes1(uint8(message[message.length - 33]) ^ 0x01);
            _count("bad.tampered");
        } else if (kind == 7) {
            // The malleable high-s twin of one signature.
            attestation = _sign(signers, message);
            uint256 offset = ((subsetSeed >> 128) % t) * 65;
            uint256 sValue;
            assembly {
                sValue := mload(add(add(attestation, 64), offset))
            }
            sValue = SECP256K1_N - sValue;
            assembly {
                mstore(add(add(attestation, 64), offset), sValue)
            }
            attestation[offset + 64] =
                attestation[offset + 64] == bytes1(uint8(27)) ? bytes1(uint8(28)) : bytes1(uint8(27));
            _count("bad.highS");
        } else {
            // Right length, random bytes.
            attestation = new bytes(65 * t);
            for (uint256 j = 0; j < attestation.length; j += 32) {
                bytes32 word = keccak256(abi.encode(subsetSeed, j));
                assembly {
                    mstore(add(add(attestation, 32), j), word)
                }
            }
            _count("bad.garbage");
        }
        address caller = m.caller == bytes32(0) ? _actor(subsetSeed) : Message.bytes32ToAddress(m.caller);
        bool paused = chains[m.dst].transmitter.paused();
        vm.prank(caller);
        try chains[m.dst].transmitter.receiveMessage(message, attestation) {
            _violate("a message was received without a valid m-of-n attestation");
        } catch (bytes memory err) {
            // The attestation is checked first: it must be what is refused.
            if (!paused && !_isAttestationError(err)) _violate("a bad attestation was refused for another reason");
        }
    }

    function _isAttestationError(bytes memory err) internal pure returns (bool) {
        if (err.length < 4) return false;
        bytes4 selector;
        assembly {
            selector := mload(add(err, 32))
        }
        return selector == MessageTransmitter.InvalidAttestationLength.selector
            || selector == MessageTransmitter.SignerNotAscending.selector
            || selector == MessageTransmitter.SignerNotAttester.selector
            || selector == ECDSA.ECDSAInvalidSignature.selector || selector == ECDSA.ECDSAInvalidSignatureS.selector;
    }

    // =====================================================================================
    // Replacements
    // =====================================================================================

    /// replaceDepositForBurn of an earlier burn (or replacement) by its depositor, with the source
    /// chain's attestation; the new message joins the pending ones (same nonce as the original).
    /// Also by someone else, with a tampered original, and directly on the transmitter: must revert.
    function replaceDepositForBurn(uint256 idxSeed, uint256 recipientSeed, uint256 callerSeed, uint256 modeSeed)
        external
    {
        if (realIdx.length == 0) return;
        Msg memory m = msgs[realIdx[idxSeed % realIdx.length]];
        uint256 s = 1 - m.dst;
        Chain storage ch = chains[s];
        (bytes memory attestation, bool signed) = _validAttestation(s, m.message, modeSeed >> 8);
        if (!signed) return;
        address newRecipient = recipientSeed % 16 == 0 ? address(0) : _recipient(recipientSeed >> 4, m.dst);
        bytes32 newCaller = callerSeed % 4 == 0 ? Message.addressToBytes32(_actor(callerSeed >> 2)) : bytes32(0);
        uint256 mode = modeSeed % 8;

        if (mode == 0) {
            // Someone other than the depositor.
            address attacker = _otherActor(modeSeed >> 16, m.depositor);
            vm.prank(attacker);
            try ch.messenger
            .replaceDepositForBurn(m.message, attestation, newCaller, Message.addressToBytes32(attacker)) {
                _violate("replaceDepositForBurn by another than the depositor");
            } catch {}
            _count("replace.byOther");
            return;
        }
        if (mode == 1) {
            // The depositor with the original's amount raised (its attestation no longer holds).
            bytes memory tampered = _copy(m.message);
            tampered[tampered.length - 33] = bytes1(uint8(tampered[tampered.length - 33]) ^ 0x01);
            vm.prank(m.depositor);
            try ch.messenger
                .replaceDepositForBurn(tampered, attestation, newCaller, Message.addressToBytes32(m.depositor)) {
                _violate("replaceDepositForBurn accepted a tampered original");
            } catch {}
            _count("replace.tampered");
            return;
        }
        if (mode == 2) {
            // Straight to the transmitter: only the original sender (the messenger) may replace.
            address attacker = _actor(modeSeed >> 16);
            bytes memory body = _burnBody(Message.addressToBytes32(address(ch.token)), attacker, m.amount);
            vm.prank(attacker);
            try ch.transmitter.replaceMessage(m.message, attestation, body, bytes32(0)) {
                _violate("replaceMessage by another than the original sender");
            } catch {}
            _count("replace.direct");
            return;
        }

        bool expectOk = newRecipient != address(0) && !ch.transmitter.paused();
        vm.recordLogs();
        vm.prank(m.depositor);
        try ch.messenger
        .replaceDepositForBurn(m.message, attestation, newCaller, Message.addressToBytes32(newRecipient)) {
            if (!expectOk) _violate("replaceDepositForBurn succeeded where it must not");
            _recordReplacement(m, newRecipient, newCaller);
        } catch {
            vm.getRecordedLogs();
            if (expectOk) _violate("replaceDepositForBurn refused a valid replacement");
            _count("replace.reverted");
        }
    }

    /// Checks the replacement the source emitted and adds it to the pending messages.
    function _recordReplacement(Msg memory m, address newRecipient, bytes32 newCaller) internal {
        Chain storage ch = chains[1 - m.dst];
        bytes memory body = BurnMessage.format(
            0,
            Message.addressToBytes32(address(ch.token)),
            Message.addressToBytes32(newRecipient),
            m.amount,
            Message.addressToBytes32(m.depositor)
        );
        bytes memory expected = Message.format(
            0,
            ch.domain,
            chains[m.dst].domain,
            m.nonce,
            Message.addressToBytes32(address(ch.messenger)),
            Message.addressToBytes32(address(chains[m.dst].messenger)),
            newCaller,
            body
        );
        if (keccak256(_sentMessage(vm.getRecordedLogs(), address(ch.transmitter))) != keccak256(expected)) {
            _violate("replaceDepositForBurn emitted another message than the replacement");
        }
        realIdx.push(msgs.length);
        _push(Msg(expected, m.dst, m.srcDomain, m.nonce, m.amount, newRecipient, newCaller, m.depositor));
        _count("replace.ok");
    }

    // =====================================================================================
    // Attacks with a *valid* attestation of a message that must still not mint
    // =====================================================================================

    function attack(uint256 kindSeed, uint256 dstSeed, uint256 amountSeed, uint256 actorSeed) external {
        uint256 d = dstSeed % 2;
        Chain storage ch = chains[d];
        address attacker = _actor(actorSeed);
        uint256 amount = 1 + amountSeed % MAX_REMOTE_AMOUNT;
        bytes memory body = _burnBody(C_TOKEN, attacker, amount);
        bytes memory message;
        uint256 kind = kindSeed % 11;
        if (kind == 0) {
            // A burn body sent straight through the source transmitter (really emitted, so
            // attested): the destination messenger must refuse a sender other than the messenger.
            Chain storage src = chains[1 - d];
            bytes memory fake = _burnBody(Message.addressToBytes32(address(src.token)), attacker, amount);
            vm.recordLogs();
            vm.prank(attacker);
            try src.transmitter.sendMessage(ch.domain, Message.addressToBytes32(address(ch.messenger)), fake) {
                message = _sentMessage(vm.getRecordedLogs(), address(src.transmitter));
            } catch {
                vm.getRecordedLogs();
                _count("attack.sendMessage.paused");
                return;
            }
            _count("attack.rawSendMessage");
        } else if (kind == 1) {
            message = _cMessage(0, ch.domain, cNonce++, bytes32(uint256(0xBADC0DE)), bytes32(0), body);
            _count("attack.unknownSender");
        } else if (kind == 2) {
            message = _cMessage(
                0, ch.domain, cNonce++, C_MESSENGER, bytes32(0), _burnBody(bytes32(uint256(0x70CE)), attacker, amount)
            );
            _count("attack.unlinkedToken");
        } else if (kind == 3) {
            uint32 wrong = amountSeed % 2 == 0 ? chains[1 - d].domain : DOMAIN_UNKNOWN;
            message = _cMessage(0, wrong, cNonce++, C_MESSENGER, bytes32(0), body);
            _count("attack.wrongDestination");
        } else if (kind == 4) {
            message = _cMessage(1, ch.domain, cNonce++, C_MESSENGER, bytes32(0), body);
            _count("attack.wrongVersion");
        } else if (kind == 5) {
            bytes memory bad =
                amountSeed % 2 == 0 ? abi.encodePacked(body, uint8(0)) : abi.encodePacked(uint32(1), _slice(body, 4));
            message = _cMessage(0, ch.domain, cNonce++, C_MESSENGER, bytes32(0), bad);
            _count("attack.malformedBody");
        } else if (kind == 6) {
            // A known message delivered to the other chain's transmitter.
            if (msgs.length == 0) return;
            Msg storage m = msgs[amountSeed % msgs.length];
            (bytes memory a, bool s) = _validAttestation(1 - m.dst, m.message, actorSeed);
            if (!s) return;
            vm.prank(attacker);
            try chains[1 - m.dst].transmitter.receiveMessage(m.message, a) {
                _violate("a message was received on another chain than its destination");
            } catch {}
            _count("attack.otherChain");
            return;
        } else if (kind == 7) {
            vm.prank(attacker);
            try ch.messenger.handleReceiveMessage(DOMAIN_C, C_MESSENGER, body) {
                _violate("handleReceiveMessage called by another than the transmitter");
            } catch {}
            _count("attack.directHandle");
            return;
        } else if (kind == 8) {
            vm.prank(attacker);
            try ch.token.mint(attacker, amount) {
                _violate("mint by a non-minter");
            } catch {}
            _count("attack.directMint");
            return;
        } else if (kind == 9) {
            vm.prank(attacker);
            try ch.token.burn(amount) {
                _violate("burn by a non-minter");
            } catch {}
            _count("attack.directBurn");
            return;
        } else {
            // A validly attested message addressed to another recipient than the messenger.
            message = Message.format(
                0,
                DOMAIN_C,
                ch.domain,
                cNonce++,
                C_MESSENGER,
                Message.addressToBytes32(address(ch.token)),
                bytes32(0),
                body
            );
            _count("attack.otherRecipient");
        }
        (bytes memory attestation, bool signed) = _validAttestation(d, message, amountSeed);
        if (!signed) return;
        vm.prank(attacker);
        try ch.transmitter.receiveMessage(message, attestation) {
            _violate("an attested message not from a linked remote messenger minted");
        } catch {}
    }

    // =====================================================================================
    // Token movements and pauses
    // =====================================================================================

    /// An ERC-20 transfer between holders: refused exactly when paused or either side is frozen.
    function transfer(uint256 chainSeed, uint256 fromSeed, uint256 toSeed, uint256 amountSeed) external {
        Usd1Token token = chains[chainSeed % 2].token;
        address from = holders[fromSeed % holders.length];
        address to = _recipient(toSeed, chainSeed % 2);
        uint256 balance = token.balanceOf(from);
        uint256 amount = balance == 0 ? 0 : amountSeed % (balance + 1);
        bool expectOk = !token.paused() && !token.blocklisted(from) && !token.blocklisted(to);
        vm.prank(from);
        try token.transfer(to, amount) {
            if (!expectOk) _violate("a transfer succeeded while paused or frozen");
            _count("transfer.ok");
        } catch {
            if (expectOk) _violate("a transfer was refused");
            _count("transfer.reverted");
        }
    }

    // Pauses, freezes, allowance removals and zero limits stop most actions until undone, so
    // they are drawn one time in eight (sixteen) and the undoing the rest of the time.

    function pauseTransmitter(uint256 chainSeed, uint256 onSeed) external {
        MessageTransmitter t = chains[chainSeed % 2].transmitter;
        bool on = onSeed % 8 == 0;
        address p = t.pauser();
        vm.prank(p);
        if (on) t.pause();
        else t.unpause();
        _count(on ? "transmitter.pause" : "transmitter.unpause");
    }

    function pauseToken(uint256 chainSeed, uint256 onSeed) external {
        Usd1Token t = chains[chainSeed % 2].token;
        bool on = onSeed % 8 == 0;
        address p = t.pauser();
        if (on == t.paused()) return; // OpenZeppelin refuses pausing twice
        vm.prank(p);
        if (on) t.pause();
        else t.unpause();
        _count(on ? "token.pause" : "token.unpause");
    }

    function blocklist(uint256 chainSeed, uint256 actorSeed, uint256 onSeed) external {
        Usd1Token t = chains[chainSeed % 2].token;
        bool on = onSeed % 8 == 0;
        address b = t.blocklister();
        address who = _actor(actorSeed);
        vm.prank(b);
        if (on) t.blocklist(who);
        else t.unBlocklist(who);
        _count(on ? "token.blocklist" : "token.unBlocklist");
    }

    /// The master minter changes the messenger's mint allowance (or removes and restores it).
    function setMintAllowance(uint256 chainSeed, uint256 allowanceSeed) external {
        Chain storage ch = chains[chainSeed % 2];
        address mm = ch.token.masterMinter();
        uint256 mode = allowanceSeed % 16;
        uint256 allowance = mode == 1 ? (allowanceSeed >> 8) % MAX_REMOTE_AMOUNT : type(uint256).max;
        vm.prank(mm);
        if (mode == 0) {
            ch.token.removeMinter(address(ch.messenger));
        } else {
            ch.token.configureMinter(address(ch.messenger), allowance);
        }
        _count("token.setMintAllowance");
    }

    function setBurnLimit(uint256 chainSeed, uint256 limitSeed) external {
        Chain storage ch = chains[chainSeed % 2];
        address o = ch.messenger.owner();
        uint256 mode = limitSeed % 8;
        uint256 limit = mode == 0 ? 0 : mode == 1 ? (limitSeed >> 8) % (2 * LIMIT) : LIMIT;
        vm.prank(o);
        ch.messenger.setMaxBurnAmountPerMessage(address(ch.token), limit);
        _count("messenger.setBurnLimit");
    }

    // =====================================================================================
    // Attesters and threshold (by the attester manager, within the contract's rules)
    // =====================================================================================

    function enableAttester(uint256 chainSeed, uint256 keySeed) external {
        uint256 c = chainSeed % 2;
        MessageTransmitter t = chains[c].transmitter;
        address a = vm.addr(_poolKey(keySeed));
        bool expectOk = !modelEnabled[c][a];
        address manager = t.attesterManager();
        vm.prank(manager);
        try t.enableAttester(a) {
            if (!expectOk) _violate("an enabled attester was enabled again");
            modelEnabled[c][a] = true;
            modelEnabledCount[c]++;
            _count("attester.enable");
        } catch {
            if (expectOk) _violate("enableAttester refused a new attester");
        }
    }

    function disableAttester(uint256 chainSeed, uint256 keySeed) external {
        uint256 c = chainSeed % 2;
        MessageTransmitter t = chains[c].transmitter;
        address a = vm.addr(_poolKey(keySeed));
        bool expectOk = modelEnabled[c][a] && modelEnabledCount[c] > modelThreshold[c];
        address manager = t.attesterManager();
        vm.prank(manager);
        try t.disableAttester(a) {
            if (!expectOk) _violate("disableAttester went below the threshold or disabled a non-attester");
            modelEnabled[c][a] = false;
            modelEnabledCount[c]--;
            _count("attester.disable");
        } catch {
            if (expectOk) _violate("disableAttester refused");
        }
    }

    function setSignatureThreshold(uint256 chainSeed, uint256 thresholdSeed) external {
        uint256 c = chainSeed % 2;
        MessageTransmitter t = chains[c].transmitter;
        uint256 threshold = thresholdSeed % (poolKeys.length + 2);
        bool expectOk = threshold != 0 && threshold <= modelEnabledCount[c];
        address manager = t.attesterManager();
        vm.prank(manager);
        try t.setSignatureThreshold(threshold) {
            if (!expectOk) _violate("setSignatureThreshold accepted an impossible threshold");
            modelThreshold[c] = threshold;
            _count("attester.setThreshold");
        } catch {
            if (expectOk) _violate("setSignatureThreshold refused a possible threshold");
        }
    }

    // =====================================================================================
    // Ownership and roles
    // =====================================================================================

    /// The owner of one of the six contracts nominates a new owner (or clears the nomination).
    function transferOwnership(uint256 contractSeed, uint256 newOwnerSeed) external {
        uint256 i = contractSeed % 6;
        IOwnable2Step o = ownedContract(i);
        address nominee =
            newOwnerSeed % 8 == 0 ? address(0) : newOwnerSeed % 8 == 1 ? deployer : _actor(newOwnerSeed >> 3);
        address current = o.owner();
        vm.prank(current);
        o.transferOwnership(nominee);
        modelPending[i] = nominee;
        _count("ownership.transfer");
    }

    /// The nominee (or, sometimes, someone else: must revert) accepts.
    function acceptOwnership(uint256 contractSeed, uint256 callerSeed) external {
        uint256 i = contractSeed % 6;
        IOwnable2Step o = ownedContract(i);
        address pending = modelPending[i];
        address caller = pending != address(0) && callerSeed % 4 != 0 ? pending : _actor(callerSeed >> 2);
        bool expectOk = pending != address(0) && caller == pending;
        vm.prank(caller);
        try o.acceptOwnership() {
            if (!expectOk) _violate("acceptOwnership by another than the pending owner");
            modelOwner[i] = caller;
            modelPending[i] = address(0);
            _count("ownership.accept");
        } catch {
            if (expectOk) _violate("the pending owner could not accept");
            _count("ownership.accept.reverted");
        }
    }

    /// The owner appoints a role: the token's pauser, blocklister or master minter, the
    /// transmitter's pauser or attester manager. The zero address must be refused.
    function rotateRole(uint256 chainSeed, uint256 roleSeed, uint256 whoSeed) external {
        Chain storage ch = chains[chainSeed % 2];
        address who = whoSeed % 16 == 0 ? address(0) : _actor(whoSeed >> 4);
        uint256 role = roleSeed % 5;
        address target = role < 3 ? address(ch.token) : address(ch.transmitter);
        bytes memory data = role == 0
            ? abi.encodeCall(Usd1Token.updatePauser, (who))
            : role == 1
                ? abi.encodeCall(Usd1Token.updateBlocklister, (who))
                : role == 2
                    ? abi.encodeCall(Usd1Token.updateMasterMinter, (who))
                    : role == 3
                        ? abi.encodeCall(MessageTransmitter.updatePauser, (who))
                        : abi.encodeCall(MessageTransmitter.updateAttesterManager, (who));
        address o = IOwnable2Step(target).owner();
        vm.prank(o);
        (bool ok,) = target.call(data);
        if (ok != (who != address(0))) _violate("a role update went against its rules");
        _count("role.rotate");
    }

    /// Someone without the role tries a privileged call: all must revert. The owner's
    /// renounceOwnership must revert too.
    function unauthorized(uint256 chainSeed, uint256 opSeed, uint256 actorSeed) external {
        uint256 c = chainSeed % 2;
        uint256 op = opSeed % 18;
        (address target, bytes memory data, address holder) = _privileged(c, op, actorSeed);
        address caller = op == 17 ? holder : _otherActor(actorSeed, holder);
        vm.prank(caller);
        (bool ok,) = target.call(data);
        if (ok) _violate("a privileged call succeeded without the role");
        _count("attack.unauthorized");
    }

    /// The privileged call `op` of `unauthorized` on chain c, and the account that may make it
    /// (for 16, acceptOwnership, the pending owner; for 17, renounceOwnership, the owner).
    function _privileged(uint256 c, uint256 op, uint256 seed)
        internal
        view
        returns (address target, bytes memory data, address holder)
    {
        Chain storage ch = chains[c];
        address t = address(ch.transmitter);
        address m = address(ch.messenger);
        address k = address(ch.token);
        if (op == 0) return (t, abi.encodeCall(MessageTransmitter.pause, ()), ch.transmitter.pauser());
        address manager = ch.transmitter.attesterManager();
        if (op == 1) return (t, abi.encodeCall(MessageTransmitter.enableAttester, (STRANGER)), manager);
        if (op == 2) {
            return (t, abi.encodeCall(MessageTransmitter.disableAttester, (vm.addr(poolKeys[0]))), manager);
        }
        if (op == 3) return (t, abi.encodeCall(MessageTransmitter.setSignatureThreshold, (1)), manager);
        if (op == 4) {
            return (t, abi.encodeCall(MessageTransmitter.updateAttesterManager, (STRANGER)), ch.transmitter.owner());
        }
        if (op == 5) return (t, abi.encodeCall(MessageTransmitter.setMaxMessageBodySize, (0)), ch.transmitter.owner());
        if (op == 15) {
            return (t, abi.encodeCall(IOwnable2Step.transferOwnership, (STRANGER)), ch.transmitter.owner());
        }
        address mOwner = ch.messenger.owner();
        if (op == 6) {
            return (m, abi.encodeCall(TokenMessenger.setMaxBurnAmountPerMessage, (k, type(uint256).max)), mOwner);
        }
        if (op == 7) {
            return (m, abi.encodeCall(TokenMessenger.addRemoteTokenMessenger, (77, bytes32(uint256(0xBAD)))), mOwner);
        }
        if (op == 8) return (m, abi.encodeCall(TokenMessenger.removeRemoteTokenMessenger, (DOMAIN_C)), mOwner);
        if (op == 9) {
            return (m, abi.encodeCall(TokenMessenger.linkTokenPair, (k, 77, bytes32(uint256(0x70CE)))), mOwner);
        }
        if (op == 10) return (m, abi.encodeCall(TokenMessenger.unlinkTokenPair, (k, DOMAIN_C, C_TOKEN)), mOwner);
        if (op == 16) return (m, abi.encodeCall(IOwnable2Step.acceptOwnership, ()), ch.messenger.pendingOwner());
        if (op == 11) {
            return
                (k, abi.encodeCall(Usd1Token.configureMinter, (STRANGER, type(uint256).max)), ch.token.masterMinter());
        }
        if (op == 12) return (k, abi.encodeCall(Usd1Token.pause, ()), ch.token.pauser());
        if (op == 13) return (k, abi.encodeCall(Usd1Token.blocklist, (actors[0])), ch.token.blocklister());
        if (op == 14) return (k, abi.encodeCall(Usd1Token.updateMasterMinter, (STRANGER)), ch.token.owner());
        IOwnable2Step owned = ownedContract(c * 3 + seed % 3);
        return (address(owned), abi.encodeCall(IOwnable2Step.renounceOwnership, ()), owned.owner());
    }

    // =====================================================================================
    // Helpers
    // =====================================================================================

    function _violate(string memory what) internal {
        if (violations == 0) firstViolation = what;
        violations++;
    }

    function _count(string memory what) internal {
        count[keccak256(bytes(what))]++;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _otherActor(uint256 seed, address not_) internal view returns (address a) {
        for (uint256 j = 0; j < actors.length; j++) {
            a = actors[(seed % actors.length + j) % actors.length];
            if (a != not_) return a;
        }
    }

    function _poolKey(uint256 seed) internal view returns (uint256) {
        return poolKeys[seed % poolKeys.length];
    }

    /// A mint recipient on chain d: mostly an actor, sometimes a fresh address (which joins the
    /// holders), rarely one of chain d's contracts.
    function _recipient(uint256 seed, uint256 d) internal returns (address a) {
        uint256 mode = seed % 16;
        if (mode == 0 && freshCount < MAX_FRESH) {
            a = vm.addr(0xF00D0000 + freshCount++);
            _addHolder(a);
        } else if (mode == 1) {
            a = (seed >> 4) % 2 == 0 ? address(chains[d].messenger) : address(chains[d].token);
        } else {
            a = _actor(seed >> 4);
        }
    }

    function _addHolder(address a) internal {
        if (!isHolder[a]) {
            isHolder[a] = true;
            holders.push(a);
        }
    }

    function _push(Msg memory m) internal {
        bytes32 key = keccak256(abi.encodePacked(m.srcDomain, m.nonce));
        if (!keySeen[m.dst][key]) {
            keySeen[m.dst][key] = true;
            keysOf[m.dst].push(key);
        }
        msgs.push(m);
    }

    /// amountSeed picks: within min(limit, balance) (half the time), exactly the limit,
    /// limit + 1, anything up to 3 × limit + 1, or 0.
    function _amount(uint256 seed, uint256 limit, uint256 balance) internal pure returns (uint256) {
        uint256 mode = seed % 8;
        uint256 r = seed >> 8;
        if (mode < 4) {
            uint256 cap = limit < balance ? limit : balance;
            return cap == 0 ? 1 : 1 + r % cap;
        }
        if (mode == 4) return limit;
        if (mode == 5) return limit + 1;
        if (mode == 6) return r % (3 * limit + 2);
        return 0;
    }

    function _burnBody(bytes32 token, address recipient, uint256 amount) internal pure returns (bytes memory) {
        return BurnMessage.format(0, token, Message.addressToBytes32(recipient), amount, bytes32(uint256(0xDE9051703)));
    }

    /// A message from the simulated domain C to a chain's messenger.
    function _cMessage(
        uint32 version_,
        uint32 destDomain,
        uint64 nonce,
        bytes32 sender,
        bytes32 caller,
        bytes memory body
    ) internal view returns (bytes memory) {
        address messenger = destDomain == chains[0].domain ? address(chains[0].messenger) : address(chains[1].messenger);
        return Message.format(
            version_, DOMAIN_C, destDomain, nonce, sender, Message.addressToBytes32(messenger), caller, body
        );
    }

    /// The last MessageSent(bytes) the transmitter emitted in `logs`.
    function _sentMessage(HandlerVm.Log[] memory logs, address transmitter) internal pure returns (bytes memory m) {
        for (uint256 j = logs.length; j > 0; j--) {
            HandlerVm.Log memory l = logs[j - 1];
            if (l.emitter == transmitter && l.topics.length == 1 && l.topics[0] == MESSAGE_SENT) {
                return abi.decode(l.data, (bytes));
            }
        }
    }

    /// `threshold` distinct enabled attesters of chain c, picked by `seed`, in ascending order
    /// (read from the transmitter: an attester signs by the configuration it sees on-chain).
    function _validSigners(uint256 c, uint256 seed) internal returns (address[] memory chosen, bool ok) {
        MessageTransmitter t = chains[c].transmitter;
        uint256 n = t.getNumEnabledAttesters();
        uint256 threshold = t.signatureThreshold();
        if (threshold == 0 || threshold > n) {
            _violate("the transmitter's threshold is outside 1..enabled attesters");
            return (chosen, false);
        }
        address[] memory enabled = new address[](n);
        for (uint256 j = 0; j < n; j++) {
            enabled[j] = t.getEnabledAttester(j);
            if (keyOf[enabled[j]] == 0) {
                _violate("an unknown attester is enabled");
                return (chosen, false);
            }
        }
        chosen = new address[](threshold);
        for (uint256 j = 0; j < threshold; j++) {
            uint256 k = j + uint256(keccak256(abi.encode(seed, j))) % (n - j);
            (enabled[j], enabled[k]) = (enabled[k], enabled[j]);
            chosen[j] = enabled[j];
        }
        return (_sorted(chosen), true);
    }

    function _validAttestation(uint256 c, bytes memory message, uint256 seed) internal returns (bytes memory, bool) {
        (address[] memory signers, bool ok) = _validSigners(c, seed);
        if (!ok) return ("", false);
        return (_sign(signers, message), true);
    }

    /// A pool key not enabled on chain c (a disabled attester), else the never-enabled outsider.
    function _notEnabled(uint256 c, uint256 seed) internal view returns (address) {
        for (uint256 j = 0; j < poolKeys.length; j++) {
            address a = vm.addr(poolKeys[(seed % poolKeys.length + j) % poolKeys.length]);
            if (!chains[c].transmitter.isEnabledAttester(a)) return a;
        }
        return vm.addr(0xBAD);
    }

    function _sign(address[] memory signers, bytes memory message) internal view returns (bytes memory out) {
        bytes32 digest = keccak256(message);
        for (uint256 j = 0; j < signers.length; j++) {
            uint256 key = keyOf[signers[j]];
            if (key == 0) key = 0xBAD;
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
            out = bytes.concat(out, abi.encodePacked(r, s, v));
        }
    }

    function _sorted(address[] memory a) internal pure returns (address[] memory) {
        for (uint256 j = 1; j < a.length; j++) {
            address x = a[j];
            uint256 k = j;
            while (k > 0 && a[k - 1] > x) {
                a[k] = a[k - 1];
                k--;
            }
            a[k] = x;
        }
        return a;
    }

    function _copy(bytes memory b) internal pure returns (bytes memory) {
        return bytes.concat(b);
    }

    function _slice(bytes memory b, uint256 from) internal pure returns (bytes memory out) {
        out = new bytes(b.length - from);
        for (uint256 j = 0; j < out.length; j++) {
            out[j] = b[from + j];
        }
    }
}
