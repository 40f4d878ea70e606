// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMessageHandler} from "../src/MessageTransmitter.sol";

/// TEST FIXTURE, never deployed in production: a message recipient whose behaviour is chosen
/// by the first byte of the message body, for testing how a relayer treats bad recipients.
///   0x01  burns GAS_TO_BURN gas (writes fresh storage slots), then accepts
///   0x02  reverts with Error("TestRecipient: refused for good")
///   0x03  returns false (the transmitter then refuses the message)
///   else  (or an empty body) accepts
/// Accepting counts the message and emits `Received`. Anyone may call it.
contract TestRecipient is IMessageHandler {
    uint8 public constant BURN_GAS = 0x01;
    uint8 public constant REVERT = 0x02;
    uint8 public constant RETURN_FALSE = 0x03;
    uint256 public constant GAS_TO_BURN = 4_500_000;
    string public constant REFUSAL = "TestRecipient: refused for good";

    /// Messages accepted so far.
    uint256 public received;
    /// Number of slots of `sink` written so far: the next write always goes to a fresh slot,
    /// so burning costs the same every time.
    uint256 public sinkLength;
    mapping(uint256 => uint256) private sink;

    event Received(uint32 sourceDomain, bytes32 sender, bytes body);

    function handleReceiveMessage(uint32 sourceDomain, bytes32 sender, bytes calldata body)
        external
        returns (bool)
    {
        uint8 mode = body.length == 0 ? 0 : uint8(body[0]);
        if (mode == BURN_GAS) {
            _burnGas();
        } else if (mode == REVERT) {
            revert(REFUSAL);
        } else if (mode == RETURN_FALSE) {
            return false;
        }
        received += 1;
        emit Received(sourceDomain, sender, body);
        return true;
    }

    function _burnGas() private {
        uint256 start = gasleft();
        uint256 i = sinkLength;
        while (start - gasleft() < GAS_TO_BURN) {
            sink[i] = i + 1;
            i++;
        }
        sinkLength = i;
    }
}
