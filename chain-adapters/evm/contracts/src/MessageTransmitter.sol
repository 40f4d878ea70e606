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
///
/// Roles, as in CCTP v1: the owner (two-step transfer, cannot be renounced) appoints the
/// `attesterManager` (enables/disables attesters, sets the threshold) and the `pauser`
/// (pauses/unpauses), and sets the max body size. The deployer starts in all three.
contract MessageTransmitter is Ownable2Step {
    uint32 public immutable localDomain;
    uint32 public constant version = 0;
    uint256 public constant SIGNATURE_LENGTH = 65;

    uint256 public maxMessageBodySize;
    uint64 public nextAvailableNonce;
    uint256 public signatureThreshold;
    bool public paused;
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

    modifier whenNotPaused() {
        if (paused) revert Paused();
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
        maxMessageBodySize = maxMessageBodySize_;
        _setAttesterManager(msg.sender);
        _setPauser(msg.sender);
        for (uint256 i = 0; i < attesters.length; i++) {
            _enableAttester(attesters[i]);
        }
        if (threshold == 0 || threshold > attesters.length) revert InvalidThreshold(threshold);
        signatureThreshold = threshold;
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
        _verifyAttestation(originalMessage, originalAttestation);
        Message.validate(originalMessage);
        if (Message.version(originalMessage) != version) revert InvalidMessageVersion(Message.version(originalMessage));
        if (Message.sourceDomain(originalMessage) != localDomain) {
            revert NotLocalSourceDomain(Message.sourceDomain(originalMessage));
        }
        if (Message.sender(originalMessage) != Message.addressToBytes32(msg.sender)) revert NotOriginalSender();
        _checkBodySize(newMessageBody.length);
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
        _checkBodySize(body.length);
        if (recipient == bytes32(0)) revert InvalidRecipient();
        nonce = nextAvailableNonce;
        nextAvailableNonce = nonce + 1;
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

    function _checkBodySize(uint256 size) internal view {
        if (size > maxMessageBodySize) revert MessageBodyTooLarge(size, maxMessageBodySize);
    }

    // ---- receiving ----

    /// Virtual only for a test fixture (test/StringErrorTransmitter.sol) that reports refusals as
    /// Circle's transmitter does; nothing in src/ overrides it.
    function receiveMessage(bytes calldata message, bytes calldata attestation)
        external
        virtual
        whenNotPaused
        returns (bool)
    {
        _verifyAttestation(message, attestation);
        Message.validate(message);
        _checkBodySize(message.length - Message.BODY);
        if (Message.destinationDomain(message) != localDomain) {
            revert InvalidDestinationDomain(Message.destinationDomain(message));
        }
        if (Message.version(message) != version) revert InvalidMessageVersion(Message.version(message));
        bytes32 caller = Message.destinationCaller(message);
        if (caller != bytes32(0) && caller != Message.addressToBytes32(msg.sender)) {
            revert CallerNotDestinationCaller(msg.sender);
        }

        uint32 sourceDomain = Message.sourceDomain(message);
        uint64 nonce = Message.nonce(message);
        bytes32 key = keccak256(abi.encodePacked(sourceDomain, nonce));
        if (usedNonces[key] != 0) revert NonceAlreadyUsed(sourceDomain, nonce);
        usedNonces[key] = 1;

        bytes32 sender = Message.sender(message);
        bytes calldata body = Message.body(message);
        address handler = Message.bytes32ToAddress(Message.recipient(message));
        if (!IMessageHandler(handler).handleReceiveMessage(sourceDomain, sender, body)) revert HandlerRejected();
        emit MessageReceived(msg.sender, sourceDomain, nonce, sender, body);
        return true;
    }

    /// Exactly `signatureThreshold` signatures, ascending by signer (so no signer counts twice),
    /// each by an enabled attester. OpenZeppelin's ECDSA rejects high-s and v other than 27/28.
    function _verifyAttestation(bytes calldata message, bytes calldata attestation) internal view {
        uint256 expected = SIGNATURE_LENGTH * signatureThreshold;
        if (attestation.length != expected) revert InvalidAttestationLength(attestation.length, expected);
        bytes32 digest = keccak256(message);
        address previous = address(0);
        for (uint256 i = 0; i < signatureThreshold; i++) {
            bytes memory signature = attestation[i * SIGNATURE_LENGTH:(i + 1) * SIGNATURE_LENGTH];
            address signer = ECDSA.recover(digest, signature);
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
        if (enabledAttesters.length <= signatureThreshold) revert TooFewAttesters();
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
        emit SignatureThresholdUpdated(signatureThreshold, threshold);
        signatureThreshold = threshold;
    }

    function setMaxMessageBodySize(uint256 size) external onlyOwner {
        maxMessageBodySize = size;
        emit MaxMessageBodySizeUpdated(size);
    }

    function pause() external onlyPauser {
        paused = true;
        emit Pause();
    }

    function unpause() external onlyPauser {
        paused = false;
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

    function getNumEnabledAttesters() external view returns (uint256) {
        return enabledAttesters.length;
    }

    function getEnabledAttester(uint256 index) external view returns (address) {
        return enabledAttesters[index];
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
