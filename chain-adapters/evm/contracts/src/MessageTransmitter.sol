// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Message} from "./Message.sol";

/// Implemented by a message's recipient (our TokenMessenger).
interface IMessageHandler {
    function handleReceiveMessage(uint32 sourceDomain, bytes32 sender, bytes calldata messageBody)
        external
        returns (bool);
}

/// Sends CCTP v1 messages and receives them with an m-of-n attestation: exactly
/// `signatureThreshold` 65-byte secp256k1 signatures over keccak256(message), in strictly
/// ascending signer order, each by an enabled attester. A (sourceDomain, nonce) is received once.
/// `receiveMessage` is CCTP v1's; `receiveMessages` (ours) receives a batch in one transaction.
///
/// Roles, as in CCTP v1: the owner (two-step transfer, cannot be renounced) appoints the
/// `attesterManager` (enables/disables attesters, sets the threshold) and the `pauser`
/// (pauses/unpauses), and sets the max body size. The deployer starts in all three.
contract MessageTransmitter is Ownable2Step {
    uint32 public immutable localDomain;
    uint32 public constant version = 0;
    uint256 public constant SIGNATURE_LENGTH = 65;

    /// What every receive (and send) reads, packed in one storage slot so a transaction pays one
    /// cold SLOAD for all of it instead of one per variable. The public views `paused()`,
    /// `nextAvailableNonce()`, `signatureThreshold()` and `maxMessageBodySize()` keep CCTP v1's
    /// selectors and return types. `signatureThreshold` fits 64 bits because it never exceeds the
    /// number of enabled attesters; `maxBodySizeCapped` is min(maxMessageBodySize, 2^64 - 1), and
    /// the exact value (any uint256) is kept in `_maxMessageBodySize` (see `_checkBodySize`).
    struct Hot {
        bool paused;
        uint64 nextAvailableNonce;
        uint64 signatureThreshold;
        uint64 maxBodySizeCapped;
    }

    Hot private _hot;
    uint256 private _maxMessageBodySize;
    address public attesterManager;
    address public pauser;
    /// keccak256(abi.encodePacked(uint32 sourceDomain, uint64 nonce)) => 1 once received.
    mapping(bytes32 => uint256) public usedNonces;
    mapping(address => bool) public isEnabledAttester;
    address[] private enabledAttesters;

    event MessageSent(bytes message);
    event MessageReceived(
        address indexed caller, uint32 sourceDomain, uint64 indexed nonce, bytes32 sender, bytes messageBody
    );
    /// In `receiveMessages` only: the (sourceDomain, nonce) was already received (by an earlier
    /// transaction or earlier in the same batch), so this message was skipped without minting.
    event MessageSkipped(uint32 sourceDomain, uint64 indexed nonce);
    event AttesterEnabled(address indexed attester);
    event AttesterDisabled(address indexed attester);
    event SignatureThresholdUpdated(uint256 oldSignatureThreshold, uint256 newSignatureThreshold);
    event MaxMessageBodySizeUpdated(uint256 newMaxMessageBodySize);
    event Pause();
    event Unpause();
    event AttesterManagerUpdated(address indexed previousAttesterManager, address indexed newAttesterManager);
    event PauserUpdated(address indexed previousPauser, address indexed newPauser);

    error Paused();
    error MessageBodyTooLarge(uint256 size, uint256 max);
    error InvalidRecipient();
    error InvalidDestinationCaller();
    error InvalidAttestationLength(uint256 length, uint256 expected);
    error SignerNotAscending(address signer, address previous);
    error SignerNotAttester(address signer);
    error InvalidDestinationDomain(uint32 domain);
    error InvalidMessageVersion(uint32 version);
    error CallerNotDestinationCaller(address caller);
    error NonceAlreadyUsed(uint32 sourceDomain, uint64 nonce);
    error HandlerRejected();
    error NotOriginalSender();
    error NotLocalSourceDomain(uint32 domain);
    error InvalidThreshold(uint256 threshold);
    error AttesterAlreadyEnabled(address attester);
    error AttesterNotEnabled(address attester);
    error TooFewAttesters();
    error NotAttesterManager();
    error NotPauser();
    error ZeroAddress();
    error RenounceOwnershipDisabled();
    error EmptyBatch();
    error BatchLengthMismatch(uint256 messages, uint256 attestations);

    modifier whenNotPaused() {
        if (_hot.paused) revert Paused();
        _;
    }

    modifier onlyAttesterManager() {
        if (msg.sender != attesterManager) revert NotAttesterManager();
        _;
    }

    modifier onlyPauser() {
        if (msg.sender != pauser) revert NotPauser();
        _;
    }

    constructor(uint32 localDomain_, address[] memory attesters, uint256 threshold, uint256 maxMessageBodySize_)
        Ownable(msg.sender)
    {
        localDomain = localDomain_;
        _setMaxMessageBodySize(maxMessageBodySize_);
        _setAttesterManager(msg.sender);
        _setPauser(msg.sender);
        for (uint256 i = 0; i < attesters.length; i++) {
            _enableAttester(attesters[i]);
        }
        if (threshold == 0 || threshold > attesters.length) revert InvalidThreshold(threshold);
        // threshold <= attesters.length, far below 2^64: the cast cannot truncate.
        _hot.signatureThreshold = uint64(threshold);
        emit SignatureThresholdUpdated(0, threshold);
    }

    // ---- sending ----

    function sendMessage(uint32 destinationDomain, bytes32 recipient, bytes calldata messageBody)
        external
        whenNotPaused
        returns (uint64)
    {
        return _sendMessage(destinationDomain, recipient, bytes32(0), messageBody);
    }

    function sendMessageWithCaller(
        uint32 destinationDomain,
        bytes32 recipient,
        bytes32 destinationCaller,
        bytes calldata messageBody
    ) external whenNotPaused returns (uint64) {
        if (destinationCaller == bytes32(0)) revert InvalidDestinationCaller();
        return _sendMessage(destinationDomain, recipient, destinationCaller, messageBody);
    }

    /// Re-emits an attested message with a new body and destination caller under the same
    /// nonce; the destination accepts only one of the two, so nothing can be minted twice.
    function replaceMessage(
        bytes calldata originalMessage,
        bytes calldata originalAttestation,
        bytes calldata newMessageBody,
        bytes32 newDestinationCaller
    ) external whenNotPaused {
        _verifyAttestation(originalMessage, originalAttestation, _hot.signatureThreshold);
        Message.validate(originalMessage);
        if (Message.version(originalMessage) != version) revert InvalidMessageVersion(Message.version(originalMessage));
        if (Message.sourceDomain(originalMessage) != localDomain) {
            revert NotLocalSourceDomain(Message.sourceDomain(originalMessage));
        }
        if (Message.sender(originalMessage) != Message.addressToBytes32(msg.sender)) revert NotOriginalSender();
        _checkBodySize(newMessageBody.length, _hot.maxBodySizeCapped);
        emit MessageSent(
            Message.format(
                version,
                localDomain,
                Message.destinationDomain(originalMessage),
                Message.nonce(originalMessage),
                Message.sender(originalMessage),
                Message.recipient(originalMessage),
                newDestinationCaller,
                newMessageBody
            )
        );
    }

    function _sendMessage(uint32 destinationDomain, bytes32 recipient, bytes32 destinationCaller, bytes calldata body)
        internal
        returns (uint64 nonce)
    {
        Hot memory hot = _hot;
        _checkBodySize(body.length, hot.maxBodySizeCapped);
        if (recipient == bytes32(0)) revert InvalidRecipient();
        nonce = hot.nextAvailableNonce;
        _hot.nextAvailableNonce = nonce + 1;
        emit MessageSent(
            Message.format(
                version,
                localDomain,
                destinationDomain,
                nonce,
                Message.addressToBytes32(msg.sender),
                recipient,
                destinationCaller,
                body
            )
        );
    }

    /// Reverts when size > maxMessageBodySize. `capped` is min(maxMessageBodySize, 2^64 - 1), from
    /// the hot slot; the exact value is read only when size exceeds it, so the usual (passing)
    /// case costs no extra SLOAD: size > min(max, cap) && size > max  <=>  size > max.
    function _checkBodySize(uint256 size, uint256 capped) internal view {
        if (size > capped && size > _maxMessageBodySize) revert MessageBodyTooLarge(size, _maxMessageBodySize);
    }

    // ---- receiving ----

    /// CCTP v1's entry point: receives one message, or reverts (a used nonce reverts
    /// NonceAlreadyUsed). Virtual only for a test fixture (test/StringErrorTransmitter.sol) that
    /// reports refusals as Circle's transmitter does; nothing in src/ overrides it.
    function receiveMessage(bytes calldata message, bytes calldata attestation) external virtual returns (bool) {
        // Paused is checked inside _receive, first, as the whenNotPaused modifier did.
        return _receive(message, attestation, false);
    }

    /// Receives `messages[i]` with `attestations[i]` for every i, in order, in one transaction.
    /// Each message gets exactly receiveMessage's checks, and any refusal (bad attestation,
    /// malformed, body too large, wrong destination domain or version, another destination
    /// caller, the handler reverting or returning false) reverts the whole batch with the error
    /// receiveMessage would give. The one exception: a message whose (sourceDomain, nonce) is
    /// already used (received earlier, or earlier in this batch) is skipped, after its other
    /// checks pass, with `MessageSkipped` and without calling the handler, so a relayer's batch
    /// is not undone by another relayer that landed one of its messages first.
    /// @return received the number of messages received (handled and marked used), i.e.
    ///         messages.length minus the number skipped; 0 when every message was already used.
    function receiveMessages(bytes[] calldata messages, bytes[] calldata attestations)
        external
        returns (uint256 received)
    {
        if (_hot.paused) revert Paused();
        uint256 n = messages.length;
        if (n == 0) revert EmptyBatch();
        if (attestations.length != n) revert BatchLengthMismatch(n, attestations.length);
        for (uint256 i = 0; i < n; i++) {
            if (_receive(messages[i], attestations[i], true)) received++;
        }
    }

    /// The one receive path of receiveMessage and receiveMessages. Returns true once the message
    /// is received; false only when its nonce is already used and `skipUsed` (else that reverts).
    /// The hot slot is read here, per message: a handler may have paused the transmitter or
    /// changed the threshold or body size earlier in a batch, and each message must see the
    /// configuration receiveMessage would see at that point (after the first, a warm SLOAD).
    function _receive(bytes calldata message, bytes calldata attestation, bool skipUsed) internal returns (bool) {
        _checkReceivable(message, attestation);
        uint32 sourceDomain = Message.sourceDomain(message);
        uint64 nonce = Message.nonce(message);
        bytes32 key = keccak256(abi.encodePacked(sourceDomain, nonce));
        if (usedNonces[key] != 0) {
            if (!skipUsed) revert NonceAlreadyUsed(sourceDomain, nonce);
            emit MessageSkipped(sourceDomain, nonce);
            return false;
        }
        // Marked before the handler runs: a handler re-entering with the same message (through
        // either entry point) finds it used.
        usedNonces[key] = 1;

        bytes32 sender = Message.sender(message);
        bytes calldata body = Message.body(message);
        address handler = Message.bytes32ToAddress(Message.recipient(message));
        if (!IMessageHandler(handler).handleReceiveMessage(sourceDomain, sender, body)) revert HandlerRejected();
        emit MessageReceived(msg.sender, sourceDomain, nonce, sender, body);
        return true;
    }

    /// receiveMessage's checks before the nonce, in its order: not paused, the attestation, a
    /// whole header, the body size, the destination domain, the version, the destination caller.
    function _checkReceivable(bytes calldata message, bytes calldata attestation) internal view {
        Hot memory hot = _hot;
        if (hot.paused) revert Paused();
        _verifyAttestation(message, attestation, hot.signatureThreshold);
        Message.validate(message);
        _checkBodySize(message.length - Message.BODY, hot.maxBodySizeCapped);
        if (Message.destinationDomain(message) != localDomain) {
            revert InvalidDestinationDomain(Message.destinationDomain(message));
        }
        if (Message.version(message) != version) revert InvalidMessageVersion(Message.version(message));
        bytes32 caller = Message.destinationCaller(message);
        if (caller != bytes32(0) && caller != Message.addressToBytes32(msg.sender)) {
            revert CallerNotDestinationCaller(msg.sender);
        }
    }

    /// Exactly `threshold` signatures, ascending by signer (so no signer counts twice), each by an
    /// enabled attester. OpenZeppelin's ECDSA rejects high-s and v other than 27/28; its calldata
    /// variant reads r, s and v straight from the attestation instead of copying each signature
    /// to memory first (same checks, same errors).
    function _verifyAttestation(bytes calldata message, bytes calldata attestation, uint256 threshold) internal view {
        uint256 expected = SIGNATURE_LENGTH * threshold;
        if (attestation.length != expected) revert InvalidAttestationLength(attestation.length, expected);
        bytes32 digest = keccak256(message);
        address previous = address(0);
        for (uint256 i = 0; i < threshold; i++) {
            uint256 offset = i * SIGNATURE_LENGTH;
            address signer = ECDSA.recoverCalldata(digest, attestation[offset:offset + SIGNATURE_LENGTH]);
            if (signer <= previous) revert SignerNotAscending(signer, previous);
            if (!isEnabledAttester[signer]) revert SignerNotAttester(signer);
            previous = signer;
        }
    }

    // ---- administration ----

    function enableAttester(address attester) external onlyAttesterManager {
        _enableAttester(attester);
    }

    function disableAttester(address attester) external onlyAttesterManager {
        if (!isEnabledAttester[attester]) revert AttesterNotEnabled(attester);
        if (enabledAttesters.length <= _hot.signatureThreshold) revert TooFewAttesters();
        isEnabledAttester[attester] = false;
        for (uint256 i = 0; i < enabledAttesters.length; i++) {
            if (enabledAttesters[i] == attester) {
                enabledAttesters[i] = enabledAttesters[enabledAttesters.length - 1];
                enabledAttesters.pop();
                break;
            }
        }
        emit AttesterDisabled(attester);
    }

    function setSignatureThreshold(uint256 threshold) external onlyAttesterManager {
        if (threshold == 0 || threshold > enabledAttesters.length) revert InvalidThreshold(threshold);
        emit SignatureThresholdUpdated(_hot.signatureThreshold, threshold);
        // threshold <= enabledAttesters.length, far below 2^64: the cast cannot truncate.
        _hot.signatureThreshold = uint64(threshold);
    }

    function setMaxMessageBodySize(uint256 size) external onlyOwner {
        _setMaxMessageBodySize(size);
        emit MaxMessageBodySizeUpdated(size);
    }

    function pause() external onlyPauser {
        _hot.paused = true;
        emit Pause();
    }

    function unpause() external onlyPauser {
        _hot.paused = false;
        emit Unpause();
    }

    function updateAttesterManager(address newAttesterManager) external onlyOwner {
        _setAttesterManager(newAttesterManager);
    }

    function updatePauser(address newPauser) external onlyOwner {
        _setPauser(newPauser);
    }

    /// Disabled (as in CCTP): an ownerless transmitter could never rotate its roles again.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceOwnershipDisabled();
    }

    // ---- views (CCTP v1's getters, same selectors and return types as public variables had) ----

    function paused() public view returns (bool) {
        return _hot.paused;
    }

    function nextAvailableNonce() public view returns (uint64) {
        return _hot.nextAvailableNonce;
    }

    function signatureThreshold() public view returns (uint256) {
        return _hot.signatureThreshold;
    }

    function maxMessageBodySize() public view returns (uint256) {
        return _maxMessageBodySize;
    }

    function getNumEnabledAttesters() external view returns (uint256) {
        return enabledAttesters.length;
    }

    function getEnabledAttester(uint256 index) external view returns (address) {
        return enabledAttesters[index];
    }

    function _setMaxMessageBodySize(uint256 size) internal {
        _maxMessageBodySize = size;
        _hot.maxBodySizeCapped = size > type(uint64).max ? type(uint64).max : uint64(size);
    }

    function _setAttesterManager(address newAttesterManager) internal {
        if (newAttesterManager == address(0)) revert ZeroAddress();
        emit AttesterManagerUpdated(attesterManager, newAttesterManager);
        attesterManager = newAttesterManager;
    }

    function _setPauser(address newPauser) internal {
        if (newPauser == address(0)) revert ZeroAddress();
        emit PauserUpdated(pauser, newPauser);
        pauser = newPauser;
    }

    function _enableAttester(address attester) internal {
        if (attester == address(0) || isEnabledAttester[attester]) revert AttesterAlreadyEnabled(attester);
        isEnabledAttester[attester] = true;
        enabledAttesters.push(attester);
        emit AttesterEnabled(attester);
    }
}
