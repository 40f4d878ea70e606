// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Message, BurnMessage} from "./Message.sol";
import {IMessageHandler} from "./MessageTransmitter.sol";

interface IMessageTransmitter {
    function localDomain() external view returns (uint32);
    function sendMessage(uint32 destinationDomain, bytes32 recipient, bytes calldata messageBody)
        external
        returns (uint64);
    function sendMessageWithCaller(
        uint32 destinationDomain,
        bytes32 recipient,
        bytes32 destinationCaller,
        bytes calldata messageBody
    ) external returns (uint64);
    function replaceMessage(
        bytes calldata originalMessage,
        bytes calldata originalAttestation,
        bytes calldata newMessageBody,
        bytes32 newDestinationCaller
    ) external;
}

interface IUsd1Token {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function burn(uint256 amount) external;
    function mint(address to, uint256 amount) external returns (bool);
}

/// Burns USD1 into a CCTP v1 burn message and mints on receipt of one (DESIGN §3). It is the
/// token's minter, keeps the remote messenger of each domain, the remote → local token map and
/// a per-message burn limit per token (CCTP's TokenMinter, folded in). Administered by its owner
/// (two-step transfer, cannot be renounced). It has no pause of its own: the transmitter's and the
/// token's pausers stop burns and mints.
contract TokenMessenger is IMessageHandler, Ownable2Step {
    uint32 public constant messageBodyVersion = 0;
    IMessageTransmitter public immutable localMessageTransmitter;
    uint32 public immutable localDomain;

    mapping(uint32 => bytes32) public remoteTokenMessengers;
    /// keccak256(abi.encodePacked(remoteDomain, remoteToken)) => local token
    mapping(bytes32 => address) public remoteTokensToLocalTokens;
    /// 0 means the token cannot be burned here.
    mapping(address => uint256) public burnLimitsPerMessage;

    event DepositForBurn(
        uint64 indexed nonce,
        address indexed burnToken,
        uint256 amount,
        address indexed depositor,
        bytes32 mintRecipient,
        uint32 destinationDomain,
        bytes32 destinationTokenMessenger,
        bytes32 destinationCaller
    );
    event MintAndWithdraw(address indexed mintRecipient, uint256 amount, address indexed mintToken);
    event RemoteTokenMessengerAdded(uint32 domain, bytes32 tokenMessenger);
    event RemoteTokenMessengerRemoved(uint32 domain, bytes32 tokenMessenger);
    event TokenPairLinked(address localToken, uint32 remoteDomain, bytes32 remoteToken);
    event TokenPairUnlinked(address localToken, uint32 remoteDomain, bytes32 remoteToken);
    event SetBurnLimitPerMessage(address indexed token, uint256 burnLimitPerMessage);

    error ZeroAmount();
    error ZeroMintRecipient();
    error NoRemoteTokenMessenger(uint32 domain);
    error BurnLimitExceeded(uint256 amount, uint256 limit);
    error NotLocalMessageTransmitter();
    error UnknownRemoteSender(uint32 domain, bytes32 sender);
    error UnsupportedToken(uint32 domain, bytes32 remoteToken);
    error NotOriginalDepositor();
    error InvalidOriginalMessage();
    error AlreadySet();
    error TransferFailed();
    error ZeroAddress();
    error TokenPairAlreadyLinked(uint32 remoteDomain, bytes32 remoteToken);
    error TokenPairNotLinked(uint32 remoteDomain, bytes32 remoteToken);
    error RenounceOwnershipDisabled();

    constructor(address messageTransmitter) Ownable(msg.sender) {
        localMessageTransmitter = IMessageTransmitter(messageTransmitter);
        localDomain = IMessageTransmitter(messageTransmitter).localDomain();
    }

    function depositForBurn(uint256 amount, uint32 destinationDomain, bytes32 mintRecipient, address burnToken)
        external
        returns (uint64)
    {
        return _depositForBurn(amount, destinationDomain, mintRecipient, burnToken, bytes32(0));
    }

    function depositForBurnWithCaller(
        uint256 amount,
        uint32 destinationDomain,
        bytes32 mintRecipient,
        address burnToken,
        bytes32 destinationCaller
    ) external returns (uint64) {
        return _depositForBurn(amount, destinationDomain, mintRecipient, burnToken, destinationCaller);
    }

    /// The original depositor changes the recipient or caller of a burn not yet minted. The new
    /// message keeps the nonce, so the destination mints one of the two, never both.
    function replaceDepositForBurn(
        bytes calldata originalMessage,
        bytes calldata originalAttestation,
        bytes32 newDestinationCaller,
        bytes32 newMintRecipient
    ) external {
        if (newMintRecipient == bytes32(0)) revert ZeroMintRecipient();
        Message.validate(originalMessage);
        bytes calldata body = Message.body(originalMessage);
        BurnMessage.validate(body, messageBodyVersion);
        if (BurnMessage.messageSender(body) != Message.addressToBytes32(msg.sender)) revert NotOriginalDepositor();
        bytes memory newBody = BurnMessage.format(
            messageBodyVersion,
            BurnMessage.burnToken(body),
            newMintRecipient,
            BurnMessage.amount(body),
            BurnMessage.messageSender(body)
        );
        localMessageTransmitter.replaceMessage(originalMessage, originalAttestation, newBody, newDestinationCaller);
        _emitReplacedDeposit(originalMessage, newMintRecipient, newDestinationCaller);
    }

    function _emitReplacedDeposit(bytes calldata originalMessage, bytes32 newMintRecipient, bytes32 newDestinationCaller)
        internal
    {
        bytes calldata body = Message.body(originalMessage);
        emit DepositForBurn(
            Message.nonce(originalMessage),
            Message.bytes32ToAddress(BurnMessage.burnToken(body)),
            BurnMessage.amount(body),
            msg.sender,
            newMintRecipient,
            Message.destinationDomain(originalMessage),
            Message.recipient(originalMessage),
            newDestinationCaller
        );
    }

    function handleReceiveMessage(uint32 remoteDomain, bytes32 sender, bytes calldata messageBody)
        external
        override
        returns (bool)
    {
        if (msg.sender != address(localMessageTransmitter)) revert NotLocalMessageTransmitter();
        if (sender == bytes32(0) || remoteTokenMessengers[remoteDomain] != sender) {
            revert UnknownRemoteSender(remoteDomain, sender);
        }
        BurnMessage.validate(messageBody, messageBodyVersion);
        bytes32 remoteToken = BurnMessage.burnToken(messageBody);
        address localToken = remoteTokensToLocalTokens[keccak256(abi.encodePacked(remoteDomain, remoteToken))];
        if (localToken == address(0)) revert UnsupportedToken(remoteDomain, remoteToken);
        address recipient = Message.bytes32ToAddress(BurnMessage.mintRecipient(messageBody));
        uint256 amount = BurnMessage.amount(messageBody);
        IUsd1Token(localToken).mint(recipient, amount);
        emit MintAndWithdraw(recipient, amount, localToken);
        return true;
    }

    function _depositForBurn(
        uint256 amount,
        uint32 destinationDomain,
        bytes32 mintRecipient,
        address burnToken,
        bytes32 destinationCaller
    ) internal returns (uint64 nonce) {
        if (amount == 0) revert ZeroAmount();
        if (mintRecipient == bytes32(0)) revert ZeroMintRecipient();
        bytes32 destinationMessenger = remoteTokenMessengers[destinationDomain];
        if (destinationMessenger == bytes32(0)) revert NoRemoteTokenMessenger(destinationDomain);
        uint256 limit = burnLimitsPerMessage[burnToken];
        if (amount > limit) revert BurnLimitExceeded(amount, limit);

        if (!IUsd1Token(burnToken).transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
        IUsd1Token(burnToken).burn(amount);

        bytes memory body = BurnMessage.format(
            messageBodyVersion,
            Message.addressToBytes32(burnToken),
            mintRecipient,
            amount,
            Message.addressToBytes32(msg.sender)
        );
        nonce = destinationCaller == bytes32(0)
            ? localMessageTransmitter.sendMessage(destinationDomain, destinationMessenger, body)
            : localMessageTransmitter.sendMessageWithCaller(destinationDomain, destinationMessenger, destinationCaller, body);
        emit DepositForBurn(
            nonce, burnToken, amount, msg.sender, mintRecipient, destinationDomain, destinationMessenger, destinationCaller
        );
    }

    // ---- administration ----

    function addRemoteTokenMessenger(uint32 domain, bytes32 tokenMessenger) external onlyOwner {
        if (tokenMessenger == bytes32(0)) revert UnknownRemoteSender(domain, tokenMessenger);
        if (remoteTokenMessengers[domain] != bytes32(0)) revert AlreadySet();
        remoteTokenMessengers[domain] = tokenMessenger;
        emit RemoteTokenMessengerAdded(domain, tokenMessenger);
    }

    function removeRemoteTokenMessenger(uint32 domain) external onlyOwner {
        bytes32 old = remoteTokenMessengers[domain];
        delete remoteTokenMessengers[domain];
        emit RemoteTokenMessengerRemoved(domain, old);
    }

    /// Links a remote token to a local one. A linked pair is never overwritten (as in CCTP's
    /// TokenMinter): changing what a remote token mints takes an explicit unlink first.
    function linkTokenPair(address localToken, uint32 remoteDomain, bytes32 remoteToken) external onlyOwner {
        if (localToken == address(0)) revert ZeroAddress();
        bytes32 key = keccak256(abi.encodePacked(remoteDomain, remoteToken));
        if (remoteTokensToLocalTokens[key] != address(0)) revert TokenPairAlreadyLinked(remoteDomain, remoteToken);
        remoteTokensToLocalTokens[key] = localToken;
        emit TokenPairLinked(localToken, remoteDomain, remoteToken);
    }

    /// Unlinks a pair; `localToken` must be the one it is linked to.
    function unlinkTokenPair(address localToken, uint32 remoteDomain, bytes32 remoteToken) external onlyOwner {
        bytes32 key = keccak256(abi.encodePacked(remoteDomain, remoteToken));
        address linked = remoteTokensToLocalTokens[key];
        if (linked == address(0) || linked != localToken) revert TokenPairNotLinked(remoteDomain, remoteToken);
        delete remoteTokensToLocalTokens[key];
        emit TokenPairUnlinked(localToken, remoteDomain, remoteToken);
    }

    function setMaxBurnAmountPerMessage(address token, uint256 limit) external onlyOwner {
        burnLimitsPerMessage[token] = limit;
        emit SetBurnLimitPerMessage(token, limit);
    }

    /// Disabled (as in CCTP): an ownerless messenger could never be reconfigured.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceOwnershipDisabled();
    }
}
