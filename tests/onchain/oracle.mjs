#!/usr/bin/env node
// The oracle harness: Chainlink's own contracts on an external chain (a
// ganache that linkd's tests, `make demo` or a benchmark started), for linkd
// to answer directrequest and VRF v2 jobs against.  See README.md.
//
//   node tests/onchain/oracle.mjs deploy --rpc URL --oracle-address 0x.. [--vrf-public-key 0x..] --out FILE
//   node tests/onchain/oracle.mjs request-direct --rpc URL --deploy FILE --job-id UUID [--count N] ...
//   node tests/onchain/oracle.mjs cancel-direct --rpc URL --deploy FILE --request-id 0x..
//   node tests/onchain/oracle.mjs request-vrf --rpc URL --deploy FILE [--count N] [--num-words W] ...
//   node tests/onchain/oracle.mjs status --rpc URL --deploy FILE
//   node tests/onchain/oracle.mjs register-vrf-key --rpc URL --deploy FILE --vrf-public-key 0x..
//   node tests/onchain/oracle.mjs mine --rpc URL [--blocks N] | increase-time --rpc URL --seconds S
//   node tests/onchain/oracle.mjs snapshot --rpc URL | revert --rpc URL --id ID
//
// Every command prints one JSON object on stdout and exits 0, or prints the
// error on stderr and exits 1.  uint256 values are
// decimal strings, bytes32 and addresses 0x-hex (addresses EIP-55), block
// numbers and counts JSON numbers.  Transactions are sent with
// eth_sendTransaction from the node's unlocked accounts (ganache's), so the
// harness holds no keys.  Compiled contracts are cached in $ONCHAIN_CACHE
// (default $LINKD_BUILD_ROOT/onchain-cache, else tests/onchain/.cache).

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
// As tests/onchain/run: $ONCHAIN_CACHE, else the build tree's when run by
// the test suite, else tests/onchain/.cache.
const CACHE_DIR = process.env.ONCHAIN_CACHE ||
  (process.env.LINKD_BUILD_ROOT ? join(process.env.LINKD_BUILD_ROOT, 'onchain-cache') : join(HERE, '.cache'));

class UsageError extends Error {}

// Loaded in main() so that a missing `npm ci` is reported with its fix.
let ethers;
let ec;
let contracts;
let rpcLib;
let cbor;

// ---- contracts ------------------------------------------------------------

const OPTIMIZED = { optimizer: { enabled: true, runs: 200 }, evmVersion: 'paris' };
const P080 = '@chainlink/contracts-0.8.0';
const P111 = '@chainlink/contracts-1.1.1';
const OURS = join(HERE, 'contracts');

// Every contract is compiled with solc 0.8.19 (evmVersion paris: no PUSH0).
// VRFCoordinatorV2 comes from 0.8.0, whose copy has a floating pragma (1.x
// pins 0.8.6 through ChainSpecificUtil_v0_8_6.sol); the Operator and the v0.8
// LinkToken from 1.1.1 (0.8.0 has only the v0.7 Operator).
const SPECS = {
  LinkToken: { pkg: P111, file: 'src/v0.8/shared/token/ERC677/LinkToken.sol' },
  Operator: { pkg: P111, file: 'src/v0.8/operatorforwarder/Operator.sol' },
  LinkdDirectConsumer: { dir: OURS, file: 'LinkdDirectConsumer.sol' },
  MockV3Aggregator: { pkg: P080, file: 'src/v0.8/tests/MockV3Aggregator.sol' },
  BlockhashStore: { pkg: P111, file: 'src/v0.8/vrf/dev/BlockhashStore.sol' },
  VRFCoordinatorV2: { pkg: P080, file: 'src/v0.8/vrf/VRFCoordinatorV2.sol' },
  LinkdVRFConsumer: { dir: OURS, file: 'LinkdVRFConsumer.sol' },
};

const artifactCache = new Map();
function artifact(name) {
  if (!artifactCache.has(name)) {
    const spec = { ...SPECS[name], name, compiler: 'solc', settings: OPTIMIZED };
    const started = performance.now();
    const a = contracts.compile(spec, CACHE_DIR);
    if (!a.cached) console.error(`oracle.mjs: compiled ${name} with ${a.compiler} in ${Math.round(performance.now() - started)} ms (cached in ${CACHE_DIR})`);
    artifactCache.set(name, { ...a, iface: new ethers.Interface(a.abi) });
  }
  return artifactCache.get(name);
}
const iface = (name) => artifact(name).iface;
// Every ABI, for decoding custom errors in revert data.
const allAbis = () => Object.keys(SPECS).map((n) => artifact(n).abi);

// ---- output ---------------------------------------------------------------

const jsonOf = (value, indent) =>
  JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v), indent);
const print = (value) => process.stdout.write(jsonOf(value, process.stdout.isTTY ? 2 : undefined) + '\n');

function writeJsonFile(path, value) {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, jsonOf(value, 2) + '\n');
    renameSync(tmp, path);
  } catch (e) {
    throw new Error(`cannot write ${path}: ${e.message}`);
  }
}

// ---- argument parsing -------------------------------------------------------

function uintArg(o, name, fallback, { min = 0n, max = (1n << 256n) - 1n } = {}) {
  const raw = o[name];
  if (raw === undefined) return fallback;
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(raw)) throw new UsageError(`--${name} ${raw}: not a non-negative integer`);
  const v = BigInt(raw);
  if (v < min || v > max) throw new UsageError(`--${name} ${raw}: must be between ${min} and ${max}`);
  return v;
}
const smallArg = (o, name, fallback, range) => Number(uintArg(o, name, BigInt(fallback), range));

// LINK amounts given in LINK (decimals allowed) into juels.
function linkArg(o, name, fallback) {
  const raw = o[name];
  if (raw === undefined) return ethers.parseUnits(fallback, 18);
  try {
    const v = ethers.parseUnits(raw, 18);
    if (v < 0n) throw new Error('negative');
    return v;
  } catch {
    throw new UsageError(`--${name} ${raw}: not an amount of LINK (e.g. 1000 or 0.5)`);
  }
}

function addressArg(raw, what) {
  if (typeof raw !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(raw)) throw new UsageError(`${what} ${raw}: not a 20-byte 0x address`);
  try {
    return ethers.getAddress(raw);
  } catch {
    // A mixed-case address with a wrong checksum.
    throw new UsageError(`${what} ${raw}: bad EIP-55 checksum (give it in lower case to skip the check)`);
  }
}

function bytes32Arg(raw, what) {
  if (typeof raw !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(raw)) throw new UsageError(`${what} ${raw}: not a 0x-hex bytes32`);
  return raw.toLowerCase();
}

// A VRF public key: the 64-byte uncompressed x ‖ y (with or without SEC1's
// 04 prefix), or Chainlink's 33-byte form x ‖ parity byte (00 even, 01 odd;
// linkd's VRF key ID).  Must be on the curve.
function publicKeyArg(raw) {
  const hex = typeof raw === 'string' ? raw.replace(/^0x/i, '') : '';
  let x;
  let y;
  if (/^(04)?[0-9a-fA-F]{128}$/.test(hex)) {
    const body = hex.length === 130 ? hex.slice(2) : hex;
    x = BigInt('0x' + body.slice(0, 64));
    y = BigInt('0x' + body.slice(64));
  } else if (/^[0-9a-fA-F]{64}0[01]$/.test(hex)) {
    x = BigInt('0x' + hex.slice(0, 64));
    const y2 = ec.mod(x * x * x + 7n, ec.P);
    y = ec.modPow(y2, (ec.P + 1n) / 4n, ec.P);
    if ((y * y) % ec.P !== y2) throw new UsageError(`--vrf-public-key ${raw}: x is not on secp256k1`);
    if (Number(y & 1n) !== Number(hex.slice(64))) y = ec.P - y;
  } else {
    throw new UsageError(`--vrf-public-key ${raw}: want 0x + 128 hex digits (x ‖ y), or Chainlink's 33-byte x ‖ 00/01`);
  }
  if (!ec.isOnCurve([x, y])) throw new UsageError(`--vrf-public-key ${raw}: (x, y) is not on secp256k1`);
  return [x, y];
}

// "key=value" pairs of a repeated option.
function pairs(list, name, parse) {
  return (list ?? []).map((entry) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${name} ${entry}: want KEY=VALUE`);
    return [entry.slice(0, eq), parse(entry.slice(eq + 1), entry)];
  });
}

// specId forms of an external job ID (Chainlink's ExternalIDEncode*ToTopic):
// string = the ASCII of the 32 lower-case hex digits of the UUID without
// dashes; bytes = the 16 UUID bytes, right-padded with zeros.
export function specIdsOf(jobId) {
  const m = typeof jobId === 'string' && jobId.match(/^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/i);
  if (!m) throw new UsageError(`--job-id ${jobId}: not a UUID`);
  const digits = m.slice(1).join('').toLowerCase();
  return {
    externalJobID: `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20)}`,
    string: '0x' + Buffer.from(digits, 'ascii').toString('hex'),
    bytes: '0x' + digits + '0'.repeat(32),
  };
}

// ---- chain ------------------------------------------------------------------

class Chain {
  constructor(url) {
    this.rpc = new rpcLib.Rpc(url);
  }

  async accounts() {
    if (!this.accountList) this.accountList = (await this.rpc.call('eth_accounts')).map((a) => ethers.getAddress(a));
    return this.accountList;
  }

  async account(index) {
    const list = await this.accounts();
    if (index >= list.length) throw new UsageError(`--from-account ${index}: the node has ${list.length} unlocked accounts`);
    return list[index];
  }

  async blockNumber() {
    return rpcLib.num(await this.rpc.call('eth_blockNumber'));
  }

  async block(tag) {
    const b = await this.rpc.call('eth_getBlockByNumber', [typeof tag === 'number' ? rpcLib.qty(tag) : tag, false]);
    if (!b) throw new Error(`block ${tag} not found`);
    return b;
  }

  // Why a mined transaction failed: replays it as a call on its parent
  // block's state (exact with one transaction a block, as instamine makes).
  async whyFailed(tx, receipt) {
    try {
      await this.rpc.call('eth_call', [tx, rpcLib.qty(rpcLib.num(receipt.blockNumber) - 1)]);
      return `ran out of gas or failed only in its block (gas used ${rpcLib.num(receipt.gasUsed)} of ${rpcLib.num(tx.gas)})`;
    } catch (e) {
      return rpcLib.failureOf(e, allAbis());
    }
  }

  // Estimates, sends and waits for one transaction; its receipt.  `what`
  // names it in errors.
  async send(what, { from, to, data, value, gas }) {
    const tx = { from, data };
    if (to) tx.to = to;
    if (value) tx.value = rpcLib.qty(value);
    if (gas) {
      tx.gas = rpcLib.qty(gas);
    } else {
      try {
        const estimate = BigInt(await this.rpc.call('eth_estimateGas', [tx]));
        tx.gas = rpcLib.qty((estimate * 5n) / 4n + 10000n);
      } catch (e) {
        throw new Error(`${what}: ${rpcLib.failureOf(e, allAbis())}`);
      }
    }
    let hash;
    try {
      hash = await this.rpc.call('eth_sendTransaction', [tx]);
    } catch (e) {
      throw new Error(`${what}: ${rpcLib.failureOf(e, allAbis())}`);
    }
    const [receipt] = await this.rpc.receipts([hash]);
    if (receipt.status !== '0x1') throw new Error(`${what}: transaction ${hash} failed: ${await this.whyFailed(tx, receipt)}`);
    this.firstBlock ??= rpcLib.num(receipt.blockNumber);
    return receipt;
  }

  async deploy(name, args, from) {
    const a = artifact(name);
    const data = a.bytecode + a.iface.encodeDeploy(args).slice(2);
    const receipt = await this.send(`deploying ${name}`, { from, data });
    return ethers.getAddress(receipt.contractAddress);
  }

  async transact(what, from, name, to, fn, args, extra = {}) {
    return this.send(what, { from, to, data: iface(name).encodeFunctionData(fn, args), ...extra });
  }

  async view(name, to, fn, args = [], block = 'latest') {
    const i = iface(name);
    let raw;
    try {
      raw = await this.rpc.call('eth_call', [{ to, data: i.encodeFunctionData(fn, args) }, block]);
    } catch (e) {
      throw new Error(`${name}.${fn} at ${to}: ${rpcLib.failureOf(e, allAbis())}`);
    }
    if (raw === '0x') throw new Error(`${name}.${fn}: no contract at ${to} (wrong --deploy file for this chain?)`);
    const out = i.decodeFunctionResult(fn, raw);
    return out.length === 1 ? out[0] : out;
  }

  // Logs of address with topic0 = the event's, from `from` to latest.
  async logs(name, address, event, from, topics = []) {
    const ev = iface(name).getEvent(event);
    const raw = await this.rpc.call('eth_getLogs', [{ address, fromBlock: rpcLib.qty(from), toBlock: 'latest', topics: [ev.topicHash, ...topics] }]);
    return raw.map((log) => ({ log, args: iface(name).decodeEventLog(ev, log.data, log.topics) }));
  }
}

// The logs of a receipt that are `event` of contract `name` at `address`.
function eventsIn(receipt, name, address, event) {
  const i = iface(name);
  const topic = i.getEvent(event).topicHash;
  return receipt.logs
    .filter((l) => l.address.toLowerCase() === address.toLowerCase() && l.topics[0] === topic)
    .map((l) => ({ log: l, args: i.decodeEventLog(event, l.data, l.topics) }));
}

function readDeployment(path) {
  if (!path) throw new UsageError('--deploy FILE is required (the file `deploy --out FILE` wrote)');
  let d;
  try {
    d = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`--deploy ${path}: ${e.message}`);
  }
  for (const key of ['chainId', 'deployer', 'deployBlock', 'linkToken', 'operator', 'directConsumer', 'vrfCoordinator', 'vrfConsumer', 'subId']) {
    if (d[key] === undefined) throw new Error(`--deploy ${path}: no "${key}" (not written by oracle.mjs deploy?)`);
  }
  return d;
}

async function checkChain(chain, d, path) {
  const chainId = rpcLib.num(await chain.rpc.call('eth_chainId'));
  if (chainId !== d.chainId) throw new Error(`--deploy ${path} is for chain ${d.chainId}, but ${chain.rpc.url} is chain ${chainId}`);
  const code = await chain.rpc.call('eth_getCode', [d.operator, 'latest']);
  if (code === '0x') throw new Error(`--deploy ${path}: no Operator at ${d.operator} on ${chain.rpc.url} (chain restarted, or reverted to before the deployment?)`);
}

// ---- deploy -----------------------------------------------------------------

// Defaults: the LINK minted to the deployer (max supply is 1e9 LINK), what
// the direct-request consumer and the VRF subscription get, and the oracle's
// ETH.  A VRF fulfilment costs (gas used + gasAfterPaymentCalculation) ×
// gas price / weiPerUnitLink: about 0.1 LINK at 1 gwei with the feed below.
const DEFAULTS = {
  mintLink: '100000000',
  consumerLink: '1000000',
  subscriptionLink: '1000000',
  fundEth: '100',
  payment: 10n ** 17n, // 0.1 LINK a direct request
  weiPerUnitLink: 4n * 10n ** 15n, // 0.004 ETH a LINK
  minConfs: 1,
  maxGasLimit: 2500000,
  stalenessSeconds: 86400,
  gasAfterPaymentCalculation: 33285,
  flatFeePPM: 500, // 0.0005 LINK a fulfilment
};

async function cmdDeploy(o) {
  if (!o['oracle-address']) throw new UsageError('--oracle-address 0x.. is required (the key linkd fulfils with)');
  if (!o.out) throw new UsageError('--out FILE is required');
  const oracle = addressArg(o['oracle-address'], '--oracle-address');
  const pk = o['vrf-public-key'] ? publicKeyArg(o['vrf-public-key']) : null;
  const mintLink = linkArg(o, 'mint-link', DEFAULTS.mintLink);
  const consumerLink = linkArg(o, 'consumer-link', DEFAULTS.consumerLink);
  const subscriptionLink = linkArg(o, 'subscription-link', DEFAULTS.subscriptionLink);
  if (consumerLink + subscriptionLink > mintLink) throw new UsageError('--consumer-link + --subscription-link exceed --mint-link');
  let fundWei;
  try {
    fundWei = ethers.parseEther(o['fund-eth'] ?? DEFAULTS.fundEth);
  } catch {
    throw new UsageError(`--fund-eth ${o['fund-eth']}: not an amount of ETH`);
  }
  const minConfs = smallArg(o, 'vrf-min-confs', DEFAULTS.minConfs, { max: 200n });
  const maxGasLimit = smallArg(o, 'vrf-max-gas-limit', DEFAULTS.maxGasLimit, { max: 0xffffffffn });
  const job = o['job-id'] ? specIdsOf(o['job-id']) : null;

  // Compile everything before the first transaction, so that a compiler
  // error leaves the chain untouched.
  for (const name of Object.keys(SPECS)) artifact(name);

  const chain = new Chain(o.rpc);
  const chainId = rpcLib.num(await chain.rpc.call('eth_chainId'));
  const deployer = await chain.account(smallArg(o, 'from-account', 0, { max: 1000n }));
  const link = await chain.deploy('LinkToken', [], deployer);
  await chain.transact('LinkToken.grantMintRole', deployer, 'LinkToken', link, 'grantMintRole', [deployer]);
  await chain.transact('LinkToken.mint', deployer, 'LinkToken', link, 'mint', [deployer, mintLink]);

  const operator = await chain.deploy('Operator', [link, deployer], deployer);
  await chain.transact('Operator.setAuthorizedSenders', deployer, 'Operator', operator, 'setAuthorizedSenders', [[oracle]]);
  const directConsumer = await chain.deploy('LinkdDirectConsumer', [link, operator], deployer);
  await chain.transact('funding the direct consumer', deployer, 'LinkToken', link, 'transfer', [directConsumer, consumerLink]);

  const feed = await chain.deploy('MockV3Aggregator', [18, DEFAULTS.weiPerUnitLink], deployer);
  const blockhashStore = await chain.deploy('BlockhashStore', [], deployer);
  const coordinator = await chain.deploy('VRFCoordinatorV2', [link, blockhashStore, feed], deployer);
  const fee = DEFAULTS.flatFeePPM;
  const vrfConfig = {
    minimumRequestConfirmations: minConfs,
    maxGasLimit,
    stalenessSeconds: DEFAULTS.stalenessSeconds,
    gasAfterPaymentCalculation: DEFAULTS.gasAfterPaymentCalculation,
    fallbackWeiPerUnitLink: DEFAULTS.weiPerUnitLink,
    fulfillmentFlatFeeLinkPPM: fee,
  };
  await chain.transact('VRFCoordinatorV2.setConfig', deployer, 'VRFCoordinatorV2', coordinator, 'setConfig', [
    minConfs, maxGasLimit, DEFAULTS.stalenessSeconds, DEFAULTS.gasAfterPaymentCalculation, DEFAULTS.weiPerUnitLink,
    [fee, fee, fee, fee, fee, 0, 0, 0, 0],
  ]);
  const keyHash = pk ? ec.keyHash(pk) : null;
  if (pk) await chain.transact('VRFCoordinatorV2.registerProvingKey', deployer, 'VRFCoordinatorV2', coordinator, 'registerProvingKey', [oracle, pk]);

  const created = await chain.transact('VRFCoordinatorV2.createSubscription', deployer, 'VRFCoordinatorV2', coordinator, 'createSubscription', []);
  const [sub] = eventsIn(created, 'VRFCoordinatorV2', coordinator, 'SubscriptionCreated');
  if (!sub) throw new Error('VRFCoordinatorV2.createSubscription logged no SubscriptionCreated');
  const subId = sub.args.subId;
  const vrfConsumer = await chain.deploy('LinkdVRFConsumer', [coordinator], deployer);
  await chain.transact('VRFCoordinatorV2.addConsumer', deployer, 'VRFCoordinatorV2', coordinator, 'addConsumer', [subId, vrfConsumer]);
  await chain.transact('funding the VRF subscription', deployer, 'LinkToken', link, 'transferAndCall', [
    coordinator, subscriptionLink, ethers.AbiCoder.defaultAbiCoder().encode(['uint64'], [subId]),
  ]);

  if (fundWei > 0n) await chain.send('funding the oracle address', { from: deployer, to: oracle, value: fundWei, gas: 21000n });

  const deployment = {
    rpc: o.rpc,
    chainId,
    deployer,
    oracleAddress: oracle,
    deployBlock: chain.firstBlock,
    lastBlock: await chain.blockNumber(),
    linkToken: link,
    operator,
    directConsumer,
    linkEthFeed: feed,
    blockhashStore,
    vrfCoordinator: coordinator,
    vrfConsumer,
    subId: subId.toString(),
    keyHash,
    vrfPublicKey: pk ? '0x' + ec.hex32(pk[0]) + ec.hex32(pk[1]) : null,
    vrfPublicKeyCompressed: pk ? '0x' + ec.hex32(pk[0]) + (pk[1] & 1n ? '01' : '00') : null,
    vrfConfig,
    defaultPayment: DEFAULTS.payment.toString(),
    operatorExpirySeconds: 300,
    link: {
      minted: mintLink.toString(),
      directConsumer: consumerLink.toString(),
      subscription: subscriptionLink.toString(),
    },
    oracleFundedWei: fundWei.toString(),
    job: job ? { externalJobID: job.externalJobID, specIdString: job.string, specIdBytes: job.bytes } : null,
    compiler: artifact('Operator').compiler,
  };
  writeJsonFile(o.out, deployment);
  print(deployment);
}

async function cmdRegisterVrfKey(o) {
  const d = readDeployment(o.deploy);
  if (!o['vrf-public-key']) throw new UsageError('--vrf-public-key is required');
  const pk = publicKeyArg(o['vrf-public-key']);
  const oracle = o['oracle-address'] ? addressArg(o['oracle-address'], '--oracle-address') : d.oracleAddress;
  const chain = new Chain(o.rpc);
  await checkChain(chain, d, o.deploy);
  const receipt = await chain.transact('VRFCoordinatorV2.registerProvingKey', d.deployer, 'VRFCoordinatorV2', d.vrfCoordinator,
    'registerProvingKey', [oracle, pk]);
  d.keyHash = ec.keyHash(pk);
  d.vrfPublicKey = '0x' + ec.hex32(pk[0]) + ec.hex32(pk[1]);
  d.vrfPublicKeyCompressed = '0x' + ec.hex32(pk[0]) + (pk[1] & 1n ? '01' : '00');
  d.vrfOracleAddress = oracle;
  writeJsonFile(o.deploy, d);
  print({ keyHash: d.keyHash, oracleAddress: oracle, txHash: receipt.transactionHash, blockNumber: rpcLib.num(receipt.blockNumber) });
}

// ---- direct requests ---------------------------------------------------------

// Sends the transactions without waiting for each (batches of
// eth_sendTransaction; the node assigns the nonces), then waits for all
// receipts; any failure throws, naming the first failed transaction and
// why.  The gas limit is estimated once for each distinct transaction.
async function sendMany(chain, what, txs, timeoutMs) {
  const gasOf = new Map();
  for (const tx of txs) {
    const key = JSON.stringify(tx);
    if (gasOf.has(key)) continue;
    try {
      const gas = BigInt(await chain.rpc.call('eth_estimateGas', [tx]));
      gasOf.set(key, rpcLib.qty((gas * 6n) / 5n + 20000n));
    } catch (e) {
      throw new Error(`${what}: ${rpcLib.failureOf(e, allAbis())}`);
    }
  }
  const sent = txs.map((tx) => ({ ...tx, gas: gasOf.get(JSON.stringify(tx)) }));
  const results = await chain.rpc.batch(sent.map((tx) => ['eth_sendTransaction', [tx]]));
  const refused = results.findIndex((r) => r.error);
  if (refused >= 0) {
    throw new Error(`${what}: transaction ${refused + 1} of ${txs.length}: ${rpcLib.failureOf(results[refused].error, allAbis())}` +
      (refused ? ` (${refused} were sent)` : ''));
  }
  const hashes = results.map((r) => r.result);
  const receipts = await chain.rpc.receipts(hashes, { timeoutMs });
  const failed = receipts.findIndex((r) => r.status !== '0x1');
  if (failed >= 0) {
    const bad = receipts.filter((r) => r.status !== '0x1').length;
    throw new Error(`${what}: ${bad} of ${txs.length} transactions failed; the first, ${hashes[failed]}: ` +
      await chain.whyFailed(sent[failed], receipts[failed]));
  }
  return receipts;
}

function describeOracleRequest({ log, args }) {
  let params;
  let cborError;
  try {
    params = cbor.decodeRequestData(args.data);
  } catch (e) {
    cborError = e.message;
  }
  return {
    requestId: args.requestId,
    specId: args.specId,
    requester: args.requester,
    payment: args.payment.toString(),
    callbackAddr: args.callbackAddr,
    callbackFunctionId: args.callbackFunctionId,
    cancelExpiration: args.cancelExpiration.toString(),
    dataVersion: Number(args.dataVersion),
    data: args.data,
    ...(params ? { params } : { cborError }),
    txHash: log.transactionHash,
    blockNumber: rpcLib.num(log.blockNumber),
    blockHash: log.blockHash,
    logIndex: rpcLib.num(log.logIndex),
  };
}

async function cmdRequestDirect(o) {
  const d = readDeployment(o.deploy);
  let specId;
  let job = null;
  if (o['spec-id']) {
    if (o['job-id']) throw new UsageError('give --job-id or --spec-id, not both');
    specId = bytes32Arg(o['spec-id'], '--spec-id');
  } else if (o['job-id']) {
    job = specIdsOf(o['job-id']);
    const form = o['spec-id-form'] ?? 'string';
    if (form !== 'string' && form !== 'bytes') throw new UsageError(`--spec-id-form ${form}: want string or bytes`);
    specId = job[form];
  } else {
    throw new UsageError('--job-id UUID (the job\'s externalJobID) or --spec-id 0x<bytes32> is required');
  }
  const count = smallArg(o, 'count', 1, { min: 1n, max: 100000n });
  const payment = uintArg(o, 'payment', BigInt(d.defaultPayment));
  const multiword = Boolean(o.multiword);
  const dataVersion = smallArg(o, 'data-version', multiword ? 2 : 1, { min: 1n, max: 2n });

  const strings = [];
  if (o.url !== undefined) strings.push(['get', o.url]);
  if (o.path !== undefined) strings.push(['path', o.path]);
  strings.push(...pairs(o.param, 'param', (v) => v));
  const ints = pairs(o['int-param'], 'int-param', (v, entry) => {
    if (!/^-?[0-9]+$/.test(v)) throw new UsageError(`--int-param ${entry}: not an integer`);
    const n = BigInt(v);
    if (n < -(1n << 255n) || n >= 1n << 255n) throw new UsageError(`--int-param ${entry}: outside int256`);
    return n;
  });

  const chain = new Chain(o.rpc);
  await checkChain(chain, d, o.deploy);
  const from = o['from-account'] !== undefined ? await chain.account(smallArg(o, 'from-account', 0, { max: 1000n })) : d.deployer;
  const balance = await chain.view('LinkToken', d.linkToken, 'balanceOf', [d.directConsumer]);
  if (balance < payment * BigInt(count)) {
    throw new Error(`the direct consumer holds ${balance} juels, ${count} requests of ${payment} need ${payment * BigInt(count)}: ` +
      'lower --payment, or deploy with a larger --consumer-link');
  }

  const perTx = smallArg(o, 'per-tx', 1, { min: 1n, max: 1000n });
  const encode = (n) => iface('LinkdDirectConsumer').encodeFunctionData('request', [
    specId, payment, n, multiword, dataVersion === 2,
    [strings.map(([k]) => k), strings.map(([, v]) => v), ints.map(([k]) => k), ints.map(([, v]) => v)],
  ]);
  const txs = [];
  for (let left = count; left > 0; left -= perTx) txs.push({ from, to: d.directConsumer, data: encode(Math.min(perTx, left)) });
  const started = performance.now();
  const receipts = await sendMany(chain, 'direct request', txs, smallArg(o, 'timeout', 120, { min: 1n, max: 86400n }) * 1000);
  const requests = receipts.flatMap((r, i) => {
    const found = eventsIn(r, 'Operator', d.operator, 'OracleRequest');
    const want = Math.min(perTx, count - i * perTx);
    if (found.length !== want) throw new Error(`transaction ${r.transactionHash} logged ${found.length} OracleRequest events, not ${want}`);
    return found.map(describeOracleRequest);
  });
  print({
    count,
    specId,
    ...(job ? { externalJobID: job.externalJobID, specIdString: job.string, specIdBytes: job.bytes } : {}),
    from,
    operator: d.operator,
    consumer: d.directConsumer,
    payment: payment.toString(),
    multiword,
    dataVersion,
    transactions: txs.length,
    elapsedMs: Math.round(performance.now() - started),
    firstBlock: requests[0].blockNumber,
    lastBlock: requests.at(-1).blockNumber,
    requestIds: requests.map((r) => r.requestId),
    requests,
  });
}

async function findOracleRequest(chain, d, requestId) {
  const found = (await chain.logs('Operator', d.operator, 'OracleRequest', d.deployBlock)).filter((e) => e.args.requestId === requestId);
  if (!found.length) throw new Error(`no OracleRequest ${requestId} logged by the Operator ${d.operator} since block ${d.deployBlock}`);
  return found.at(-1);
}

async function cmdCancelDirect(o) {
  const d = readDeployment(o.deploy);
  if (!o['request-id']) throw new UsageError('--request-id 0x.. is required');
  const requestId = bytes32Arg(o['request-id'], '--request-id');
  const chain = new Chain(o.rpc);
  await checkChain(chain, d, o.deploy);
  const from = o['from-account'] !== undefined ? await chain.account(smallArg(o, 'from-account', 0, { max: 1000n })) : d.deployer;
  const request = await findOracleRequest(chain, d, requestId);
  if (request.args.callbackAddr.toLowerCase() !== d.directConsumer.toLowerCase()) {
    throw new Error(`request ${requestId} was made by ${request.args.callbackAddr}, not by the harness's consumer ${d.directConsumer}`);
  }
  const expiration = request.args.cancelExpiration;

  // Operator.cancelOracleRequest requires expiration <= block.timestamp.
  let advanced = 0n;
  if (!o['no-time-travel']) {
    const now = BigInt((await chain.block('latest')).timestamp);
    if (now < expiration) {
      advanced = expiration - now + 1n;
      await chain.rpc.call('evm_increaseTime', [Number(advanced)]);
      await chain.rpc.call('evm_mine', []);
    }
  }
  const receipt = await chain.transact(`cancelling ${requestId}`, from, 'LinkdDirectConsumer', d.directConsumer, 'cancel', [
    requestId, request.args.payment, request.args.callbackFunctionId, expiration,
  ]);
  const cancelled = eventsIn(receipt, 'Operator', d.operator, 'CancelOracleRequest');
  if (cancelled.length !== 1) throw new Error(`cancel transaction ${receipt.transactionHash} logged no CancelOracleRequest`);
  print({
    requestId,
    cancelled: true,
    payment: request.args.payment.toString(),
    cancelExpiration: expiration.toString(),
    secondsAdvanced: Number(advanced),
    txHash: receipt.transactionHash,
    blockNumber: rpcLib.num(receipt.blockNumber),
  });
}

// ---- VRF requests ------------------------------------------------------------

async function cmdRequestVrf(o) {
  const d = readDeployment(o.deploy);
  const keyHash = o['key-hash'] ? bytes32Arg(o['key-hash'], '--key-hash') : d.keyHash;
  if (!keyHash) throw new UsageError('no proving key: deploy with --vrf-public-key, run register-vrf-key, or give --key-hash');
  const count = smallArg(o, 'count', 1, { min: 1n, max: 100000n });
  const numWords = smallArg(o, 'num-words', 1, { min: 1n, max: 500n });
  const callbackGasLimit = smallArg(o, 'callback-gas-limit', 200000, { max: 0xffffffffn });
  const minConfs = smallArg(o, 'min-confs', d.vrfConfig?.minimumRequestConfirmations ?? 1, { max: 0xffffn });

  const chain = new Chain(o.rpc);
  await checkChain(chain, d, o.deploy);
  const from = o['from-account'] !== undefined ? await chain.account(smallArg(o, 'from-account', 0, { max: 1000n })) : d.deployer;
  const data = iface('LinkdVRFConsumer').encodeFunctionData('request', [keyHash, BigInt(d.subId), minConfs, callbackGasLimit, numWords]);
  const started = performance.now();
  const txs = Array.from({ length: count }, () => ({ from, to: d.vrfConsumer, data }));
  const receipts = await sendMany(chain, 'VRF request', txs, smallArg(o, 'timeout', 120, { min: 1n, max: 86400n }) * 1000);
  const requests = receipts.map((r) => {
    const found = eventsIn(r, 'VRFCoordinatorV2', d.vrfCoordinator, 'RandomWordsRequested');
    if (found.length !== 1) throw new Error(`transaction ${r.transactionHash} logged ${found.length} RandomWordsRequested events, not 1`);
    const { log, args } = found[0];
    return {
      requestId: args.requestId.toString(),
      requestIdHex: ec.hexWord(args.requestId),
      preSeed: args.preSeed.toString(),
      keyHash: args.keyHash,
      subId: args.subId.toString(),
      minimumRequestConfirmations: Number(args.minimumRequestConfirmations),
      callbackGasLimit: Number(args.callbackGasLimit),
      numWords: Number(args.numWords),
      sender: args.sender,
      txHash: log.transactionHash,
      blockNumber: rpcLib.num(log.blockNumber),
      blockHash: log.blockHash,
      logIndex: rpcLib.num(log.logIndex),
    };
  });
  print({
    count,
    keyHash,
    subId: d.subId,
    from,
    coordinator: d.vrfCoordinator,
    consumer: d.vrfConsumer,
    elapsedMs: Math.round(performance.now() - started),
    firstBlock: requests[0].blockNumber,
    lastBlock: requests.at(-1).blockNumber,
    requestIds: requests.map((r) => r.requestId),
    requests,
  });
}

// ---- status -----------------------------------------------------------------

const where = ({ log }) => ({ txHash: log.transactionHash, blockNumber: rpcLib.num(log.blockNumber) });

// Counts of what is on chain now (canonical logs only): each request with
// the number of times it was answered, so a test can prove once-only.
async function cmdStatus(o) {
  const d = readDeployment(o.deploy);
  const chain = new Chain(o.rpc);
  await checkChain(chain, d, o.deploy);
  const from = o['from-block'] !== undefined ? smallArg(o, 'from-block', 0) : d.deployBlock;
  const blockNumber = await chain.blockNumber();
  const C = 'LinkdDirectConsumer';
  const V = 'LinkdVRFConsumer';

  const [oracleRequests, responses, cancels, requested, fulfilled, cancelledByClient, values, multiwords] = await Promise.all([
    chain.logs('Operator', d.operator, 'OracleRequest', from),
    chain.logs('Operator', d.operator, 'OracleResponse', from),
    chain.logs('Operator', d.operator, 'CancelOracleRequest', from),
    chain.logs(C, d.directConsumer, 'ChainlinkRequested', from),
    chain.logs(C, d.directConsumer, 'ChainlinkFulfilled', from),
    chain.logs(C, d.directConsumer, 'ChainlinkCancelled', from),
    chain.logs(C, d.directConsumer, 'DirectValue', from),
    chain.logs(C, d.directConsumer, 'DirectMultiword', from),
  ]);

  // Who sent each response (linkd's key, one hopes).
  const responseTxs = [...new Set(responses.map((e) => e.log.transactionHash))];
  const senders = new Map();
  const txs = await chain.rpc.batchOk(responseTxs.map((h) => ['eth_getTransactionByHash', [h]]));
  txs.forEach((tx, i) => senders.set(responseTxs[i], tx ? ethers.getAddress(tx.from) : null));

  const byRequest = new Map();
  const entry = (id) => {
    if (!byRequest.has(id)) {
      byRequest.set(id, {
        oracleRequests: 0, chainlinkRequested: 0, oracleResponses: 0, chainlinkFulfilled: 0, cancelled: 0, chainlinkCancelled: 0, responses: [],
      });
    }
    return byRequest.get(id);
  };
  for (const e of oracleRequests) {
    const r = entry(e.args.requestId);
    r.oracleRequests += 1;
    Object.assign(r, {
      specId: e.args.specId,
      requester: e.args.requester,
      payment: e.args.payment.toString(),
      dataVersion: Number(e.args.dataVersion),
      cancelExpiration: e.args.cancelExpiration.toString(),
      requestBlock: rpcLib.num(e.log.blockNumber),
      requestTx: e.log.transactionHash,
    });
  }
  for (const e of requested) entry(e.args.id).chainlinkRequested += 1;
  for (const e of responses) {
    const r = entry(e.args.requestId);
    r.oracleResponses += 1;
    r.responses.push({ ...where(e), from: senders.get(e.log.transactionHash) });
  }
  for (const e of fulfilled) entry(e.args.id).chainlinkFulfilled += 1;
  for (const e of cancels) entry(e.args.requestId).cancelled += 1;
  for (const e of cancelledByClient) entry(e.args.id).chainlinkCancelled += 1;
  for (const e of values) entry(e.args.requestId).value = e.args.value.toString();
  for (const e of multiwords) {
    entry(e.args.requestId).multiword = { usd: e.args.usd.toString(), eur: e.args.eur.toString(), jpy: e.args.jpy.toString() };
  }

  const all = [...byRequest.values()];
  const made = all.filter((r) => r.oracleRequests > 0);
  const direct = {
    lastRequestId: await chain.view(C, d.directConsumer, 'lastRequestId'),
    lastValue: (await chain.view(C, d.directConsumer, 'lastValue')).toString(),
    usd: (await chain.view(C, d.directConsumer, 'usd')).toString(),
    eur: (await chain.view(C, d.directConsumer, 'eur')).toString(),
    jpy: (await chain.view(C, d.directConsumer, 'jpy')).toString(),
    fulfilments: Number(await chain.view(C, d.directConsumer, 'fulfilments')),
    consumerLinkBalance: (await chain.view('LinkToken', d.linkToken, 'balanceOf', [d.directConsumer])).toString(),
    requests: oracleRequests.length,
    responses: responses.length,
    fulfilled: fulfilled.length,
    cancelled: cancels.length,
    answeredOnce: made.filter((r) => r.oracleResponses === 1).length,
    answeredMoreThanOnce: made.filter((r) => r.oracleResponses > 1).length,
    unanswered: made.filter((r) => r.oracleResponses === 0 && r.cancelled === 0).length,
    responsesToUnknownRequests: all.filter((r) => r.oracleRequests === 0 && r.oracleResponses > 0).length,
    byRequest: Object.fromEntries(byRequest),
  };

  const [vrfRequested, vrfFulfilled, words] = await Promise.all([
    chain.logs('VRFCoordinatorV2', d.vrfCoordinator, 'RandomWordsRequested', from),
    chain.logs('VRFCoordinatorV2', d.vrfCoordinator, 'RandomWordsFulfilled', from),
    chain.logs(V, d.vrfConsumer, 'WordsReceived', from),
  ]);
  const vrfBy = new Map();
  const vrfEntry = (id) => {
    const key = id.toString();
    if (!vrfBy.has(key)) vrfBy.set(key, { requestIdHex: ec.hexWord(id), requested: 0, fulfilments: 0, callbacks: 0, success: [], fulfils: [] });
    return vrfBy.get(key);
  };
  for (const e of vrfRequested) {
    const r = vrfEntry(e.args.requestId);
    r.requested += 1;
    Object.assign(r, {
      preSeed: e.args.preSeed.toString(),
      keyHash: e.args.keyHash,
      subId: e.args.subId.toString(),
      sender: e.args.sender,
      minimumRequestConfirmations: Number(e.args.minimumRequestConfirmations),
      callbackGasLimit: Number(e.args.callbackGasLimit),
      numWords: Number(e.args.numWords),
      requestBlock: rpcLib.num(e.log.blockNumber),
      requestTx: e.log.transactionHash,
    });
  }
  for (const e of vrfFulfilled) {
    const r = vrfEntry(e.args.requestId);
    r.fulfilments += 1;
    r.success.push(e.args.success);
    r.outputSeed = e.args.outputSeed.toString();
    r.payment = e.args.payment.toString();
    r.fulfils.push(where(e));
  }
  for (const e of words) {
    const r = vrfEntry(e.args.requestId);
    r.callbacks += 1;
    r.randomWords = e.args.randomWords.map(String);
  }
  const vrfAll = [...vrfBy.values()];
  const vrfMade = vrfAll.filter((r) => r.requested > 0);
  const [subBalance, subReqCount, subOwner, subConsumers] = await chain.view('VRFCoordinatorV2', d.vrfCoordinator, 'getSubscription', [BigInt(d.subId)]);
  const vrf = {
    keyHash: d.keyHash,
    subscription: { subId: d.subId, balance: subBalance.toString(), reqCount: Number(subReqCount), owner: subOwner, consumers: [...subConsumers] },
    lastRequestId: (await chain.view(V, d.vrfConsumer, 'lastRequestId')).toString(),
    requests: vrfRequested.length,
    fulfilments: vrfFulfilled.length,
    successful: vrfFulfilled.filter((e) => e.args.success).length,
    callbacks: words.length,
    answeredOnce: vrfMade.filter((r) => r.fulfilments === 1).length,
    answeredMoreThanOnce: vrfMade.filter((r) => r.fulfilments > 1).length,
    unanswered: vrfMade.filter((r) => r.fulfilments === 0).length,
    byRequest: Object.fromEntries(vrfBy),
  };

  print({ blockNumber, fromBlock: from, direct, vrf });
}

// ---- chain helpers ------------------------------------------------------------

async function cmdMine(o) {
  const blocks = smallArg(o, 'blocks', 1, { min: 1n, max: 100000n });
  const chain = new Chain(o.rpc);
  const before = await chain.blockNumber();
  const options = { blocks };
  if (o.timestamp !== undefined) options.timestamp = smallArg(o, 'timestamp', 0);
  await chain.rpc.call('evm_mine', [options]);
  const latest = await chain.block('latest');
  const after = rpcLib.num(latest.number);
  if (after !== before + blocks) throw new Error(`evm_mine of ${blocks} blocks took the chain from ${before} to ${after}`);
  print({ mined: blocks, blockNumber: after, blockHash: latest.hash, timestamp: rpcLib.num(latest.timestamp) });
}

async function cmdIncreaseTime(o) {
  if (o.seconds === undefined) throw new UsageError('--seconds S is required');
  const seconds = smallArg(o, 'seconds', 0, { max: 10n ** 9n });
  const chain = new Chain(o.rpc);
  const total = await chain.rpc.call('evm_increaseTime', [seconds]);
  await chain.rpc.call('evm_mine', []);
  const latest = await chain.block('latest');
  print({ increasedBy: seconds, totalOffset: Number(total), blockNumber: rpcLib.num(latest.number), timestamp: rpcLib.num(latest.timestamp) });
}

async function cmdSnapshot(o) {
  const chain = new Chain(o.rpc);
  const id = await chain.rpc.call('evm_snapshot', []);
  print({ id, blockNumber: await chain.blockNumber() });
}

async function cmdRevert(o) {
  if (!o.id) throw new UsageError('--id ID (from snapshot) is required');
  const chain = new Chain(o.rpc);
  const reverted = await chain.rpc.call('evm_revert', [o.id]);
  if (reverted !== true) throw new Error(`evm_revert ${o.id}: the node has no such snapshot (ganache's snapshots are single-use, and a revert drops the later ones)`);
  const latest = await chain.block('latest');
  print({ reverted: true, id: o.id, blockNumber: rpcLib.num(latest.number), blockHash: latest.hash });
}

// ---- main -------------------------------------------------------------------

const str = { type: 'string' };
const COMMON = { rpc: str, help: { type: 'boolean' } };
const COMMANDS = {
  deploy: {
    run: cmdDeploy,
    options: {
      'oracle-address': str, 'vrf-public-key': str, out: str, 'from-account': str, 'job-id': str, 'fund-eth': str,
      'mint-link': str, 'consumer-link': str, 'subscription-link': str, 'vrf-min-confs': str, 'vrf-max-gas-limit': str,
    },
  },
  'register-vrf-key': { run: cmdRegisterVrfKey, options: { deploy: str, 'vrf-public-key': str, 'oracle-address': str } },
  'request-direct': {
    run: cmdRequestDirect,
    options: {
      deploy: str, 'job-id': str, 'spec-id': str, 'spec-id-form': str, count: str, payment: str, multiword: { type: 'boolean' },
      'data-version': str, 'from-account': str, url: str, path: str, param: { type: 'string', multiple: true },
      'int-param': { type: 'string', multiple: true }, 'per-tx': str, timeout: str,
    },
  },
  'cancel-direct': { run: cmdCancelDirect, options: { deploy: str, 'request-id': str, 'from-account': str, 'no-time-travel': { type: 'boolean' } } },
  'request-vrf': {
    run: cmdRequestVrf,
    options: {
      deploy: str, count: str, 'num-words': str, 'callback-gas-limit': str, 'min-confs': str, 'key-hash': str, 'from-account': str, timeout: str,
    },
  },
  status: { run: cmdStatus, options: { deploy: str, 'from-block': str } },
  mine: { run: cmdMine, options: { blocks: str, timestamp: str } },
  'increase-time': { run: cmdIncreaseTime, options: { seconds: str } },
  snapshot: { run: cmdSnapshot, options: {} },
  revert: { run: cmdRevert, options: { id: str } },
};

const USAGE = `usage: node tests/onchain/oracle.mjs COMMAND --rpc URL [options]   (see tests/onchain/README.md)
  deploy           --oracle-address 0x.. --out FILE [--vrf-public-key 0x..] [--job-id UUID] [--from-account I]
                   [--fund-eth 100] [--mint-link 1e8] [--consumer-link 1e6] [--subscription-link 1e6]
                   [--vrf-min-confs 1] [--vrf-max-gas-limit 2500000]
  register-vrf-key --deploy FILE --vrf-public-key 0x.. [--oracle-address 0x..]
  request-direct   --deploy FILE (--job-id UUID [--spec-id-form string|bytes] | --spec-id 0x..) [--count N]
                   [--payment JUELS] [--multiword] [--data-version 1|2] [--from-account I] [--url X] [--path Y]
                   [--param KEY=VALUE ...] [--int-param KEY=N ...] [--per-tx K] [--timeout S]
  cancel-direct    --deploy FILE --request-id 0x.. [--no-time-travel] [--from-account I]
  request-vrf      --deploy FILE [--count N] [--num-words W] [--callback-gas-limit G] [--min-confs C]
                   [--key-hash 0x..] [--from-account I] [--timeout S]
  status           --deploy FILE [--from-block B]
  mine             [--blocks N] [--timestamp T]
  increase-time    --seconds S
  snapshot
  revert           --id ID`;

async function main() {
  const [name, ...rest] = process.argv.slice(2);
  const command = COMMANDS[name];
  if (!command) {
    console.error(name && name !== '--help' && name !== 'help' ? `oracle.mjs: unknown command ${name}\n${USAGE}` : USAGE);
    return name === '--help' || name === 'help' ? 0 : 1;
  }
  let o;
  try {
    ({ values: o } = parseArgs({ args: rest, options: { ...COMMON, ...command.options }, strict: true, allowPositionals: false }));
  } catch (e) {
    console.error(`oracle.mjs ${name}: ${e.message}\n${USAGE}`);
    return 1;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    if (!o.rpc) throw new UsageError('--rpc URL is required (e.g. http://127.0.0.1:8545)');
    try {
      [ethers, ec, contracts, rpcLib, cbor] = await Promise.all([
        import('ethers'), import('./lib/secp256k1.mjs'), import('./lib/contracts.mjs'), import('./lib/rpc.mjs'), import('./lib/cbor.mjs'),
      ]);
    } catch (e) {
      throw new Error(`${e.message} (install with: npm ci --prefix ${HERE} --ignore-scripts)`);
    }
    await command.run(o);
    return 0;
  } catch (e) {
    console.error(`oracle.mjs ${name}: ${e.message}`);
    if (process.env.ORACLE_DEBUG) console.error(e.stack);
    return 1;
  }
}

process.exitCode = await main();
