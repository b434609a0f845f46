// SPDX-License-Identifier: MIT
// linkd's own test consumer for directrequest jobs (tests/onchain/oracle.mjs):
// Chainlink's ChainlinkClient (from the npm package) builds the CBOR request
// and sends it to the Operator; unlike the packages' test consumers, the
// specId, the payment and the request's parameters are arguments, so one
// deployment serves any job.
pragma solidity 0.8.19;

import {ChainlinkClient} from "@chainlink/contracts-1.1.1/src/v0.8/ChainlinkClient.sol";
import {Chainlink} from "@chainlink/contracts-1.1.1/src/v0.8/Chainlink.sol";

contract LinkdDirectConsumer is ChainlinkClient {
  using Chainlink for Chainlink.Request;

  // The last answer, and every single-word answer by request.
  bytes32 public lastRequestId;
  uint256 public lastValue;
  mapping(bytes32 => uint256) public values;
  // The last multi-word answer.
  uint256 public usd;
  uint256 public eur;
  uint256 public jpy;
  // Callbacks that went through (each also emits ChainlinkFulfilled).
  uint256 public fulfilments;

  event DirectValue(bytes32 indexed requestId, uint256 value);
  event DirectMultiword(bytes32 indexed requestId, uint256 usd, uint256 eur, uint256 jpy);

  constructor(address link, address operator) {
    _setChainlinkToken(link);
    _setChainlinkOracle(operator);
  }

  // A request's parameters: CBOR text strings, then CBOR integers.
  struct Params {
    string[] keys;
    string[] values;
    string[] intKeys;
    int256[] intValues;
  }

  // Sends `count` requests for specId, each paying `payment` juels (the
  // consumer pays from its own LINK); count > 1 puts that many OracleRequest
  // logs in one transaction.  The CBOR buffer holds the string parameters,
  // then the integer ones, in the order given.  operatorRequest: the
  // Operator's operatorRequest (data version 2, answerable only by
  // fulfillOracleRequest2) rather than the legacy oracleRequest (data
  // version 1, answerable by fulfillOracleRequest and fulfillOracleRequest2).
  // multiword: the callback is fulfillMultiword(requestId, usd, eur, jpy),
  // else fulfill(requestId, value).
  function request(
    bytes32 specId,
    uint256 payment,
    uint256 count,
    bool multiword,
    bool operatorRequest,
    Params calldata params
  ) external returns (bytes32[] memory requestIds) {
    require(params.keys.length == params.values.length, "keys and values differ in length");
    require(params.intKeys.length == params.intValues.length, "intKeys and intValues differ in length");
    bytes4 callback = multiword ? this.fulfillMultiword.selector : this.fulfill.selector;
    Chainlink.Request memory req = operatorRequest
      ? _buildOperatorRequest(specId, callback)
      : _buildChainlinkRequest(specId, address(this), callback);
    for (uint256 i = 0; i < params.keys.length; i++) req._add(params.keys[i], params.values[i]);
    for (uint256 i = 0; i < params.intKeys.length; i++) req._addInt(params.intKeys[i], params.intValues[i]);
    // Sending does not change req (the nonce lives in ChainlinkClient).
    requestIds = new bytes32[](count);
    for (uint256 i = 0; i < count; i++) {
      requestIds[i] = operatorRequest ? _sendOperatorRequest(req, payment) : _sendChainlinkRequest(req, payment);
    }
  }

  // Cancels a pending request (the Operator refunds the payment); the
  // arguments are those of its OracleRequest log.
  function cancel(bytes32 requestId, uint256 payment, bytes4 callbackFunctionId, uint256 expiration) external {
    _cancelChainlinkRequest(requestId, payment, callbackFunctionId, expiration);
  }

  function fulfill(bytes32 requestId, uint256 value) external recordChainlinkFulfillment(requestId) {
    lastRequestId = requestId;
    lastValue = value;
    values[requestId] = value;
    fulfilments += 1;
    emit DirectValue(requestId, value);
  }

  function fulfillMultiword(
    bytes32 requestId,
    uint256 usdValue,
    uint256 eurValue,
    uint256 jpyValue
  ) external recordChainlinkFulfillment(requestId) {
    lastRequestId = requestId;
    usd = usdValue;
    eur = eurValue;
    jpy = jpyValue;
    fulfilments += 1;
    emit DirectMultiword(requestId, usdValue, eurValue, jpyValue);
  }
}
