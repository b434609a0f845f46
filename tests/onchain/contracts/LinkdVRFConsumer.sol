// SPDX-License-Identifier: MIT
// linkd's own test consumer for VRF v2 jobs (tests/onchain/oracle.mjs): asks
// VRFCoordinatorV2 for random words and logs every delivery, so that each
// request's words (and how many times they came) can be read back.
pragma solidity 0.8.19;

import {VRFConsumerBaseV2} from "@chainlink/contracts-0.8.0/src/v0.8/vrf/VRFConsumerBaseV2.sol";
import {VRFCoordinatorV2Interface} from "@chainlink/contracts-0.8.0/src/v0.8/interfaces/VRFCoordinatorV2Interface.sol";

contract LinkdVRFConsumer is VRFConsumerBaseV2 {
  VRFCoordinatorV2Interface public immutable coordinator;
  // Deliveries per request (the coordinator deletes its commitment first,
  // so more than one would be a coordinator bug), and the last request served.
  mapping(uint256 => uint256) public fulfilments;
  uint256 public lastRequestId;

  event WordsReceived(uint256 indexed requestId, uint256[] randomWords);

  constructor(address vrfCoordinator) VRFConsumerBaseV2(vrfCoordinator) {
    coordinator = VRFCoordinatorV2Interface(vrfCoordinator);
  }

  function request(
    bytes32 keyHash,
    uint64 subId,
    uint16 minimumRequestConfirmations,
    uint32 callbackGasLimit,
    uint32 numWords
  ) external returns (uint256) {
    return coordinator.requestRandomWords(keyHash, subId, minimumRequestConfirmations, callbackGasLimit, numWords);
  }

  function fulfillRandomWords(uint256 requestId, uint256[] memory randomWords) internal override {
    fulfilments[requestId] += 1;
    lastRequestId = requestId;
    emit WordsReceived(requestId, randomWords);
  }
}
