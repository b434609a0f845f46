#!/usr/bin/env node
// Self-test of the oracle harness (oracle.mjs), in TAP: starts ganache in
// this process (an HTTP server on a random port of 127.0.0.1, chain ID
// 1337), runs the harness's commands against it as linkd's tests do, and
// plays the oracle itself with a random key: it answers direct requests
// through Operator.fulfillOracleRequest2 / fulfillOracleRequest, with a
// response computed here from the request's decoded parameters, and a VRF
// request with a proof from lib/secp256k1.mjs's prover (for keccak(preSeed ‖
// blockHash), submitted with seed = preSeed; reference crypto-evm.md 2.6,
// 2.7).  Then checks what `status` counts.  Exit 0 iff every case is ok.
//
//   node tests/onchain/oracle-selftest.mjs

import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ORACLE = join(HERE, 'oracle.mjs');
const require = createRequire(import.meta.url);

let ethers;
let ec;
let Rpc;
let failureOf;

// ---- TAP ----------------------------------------------------------------

let n = 0;
let failed = 0;
function ok(cond, description, detail) {
  n += 1;
  if (cond) {
    console.log(`ok ${n} - ${description}`);
  } else {
    failed += 1;
    console.log(`not ok ${n} - ${description}`);
    if (detail !== undefined) for (const line of String(typeof detail === 'string' ? detail : show(detail)).split('\n')) console.log(`#   ${line}`);
  }
  return cond;
}
const show = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x));
const eq = (got, want, description) => ok(got === want, description, `got ${show(got)}, want ${show(want)}`);

// ---- the harness, as a subprocess ---------------------------------------------

// Runs oracle.mjs; resolves to {code, json, stderr}.
function harness(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [ORACLE, ...args], { maxBuffer: 64 << 20, env: process.env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      let json = null;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : null;
      } catch {
        json = null;
      }
      resolve({ code, json, stderr: stderr.trim(), stdout });
    });
  });
}

// Runs a command that must succeed; its JSON, or throws.
async function must(description, args) {
  const r = await harness(args);
  if (r.code !== 0 || !r.json) {
    ok(false, description, `exit ${r.code}: ${r.stderr || r.stdout}`);
    throw new Error(`${args[0]} failed; cannot go on`);
  }
  return r.json;
}

// ---- the oracle: signs with its own key, like linkd would ------------------------

class Oracle {
  constructor(rpc, wallet, chainId) {
    this.rpc = rpc;
    this.wallet = wallet;
    this.chainId = chainId;
  }

  // Why tx would fail (eth_estimateGas's revert), or null if it would not.
  async refusal(to, data) {
    try {
      await this.rpc.call('eth_estimateGas', [{ from: this.wallet.address, to, data }]);
      return null;
    } catch (e) {
      return failureOf(e, [OPERATOR_ABI, COORDINATOR_ABI]);
    }
  }

  async send(to, data, gasLimit) {
    const [nonce, gasPrice] = await Promise.all([
      this.rpc.call('eth_getTransactionCount', [this.wallet.address, 'pending']),
      this.rpc.call('eth_gasPrice'),
    ]);
    const raw = await this.wallet.signTransaction({ type: 0, chainId: this.chainId, nonce: Number(nonce), gasPrice, gasLimit, to, data });
    const hash = await this.rpc.call('eth_sendRawTransaction', [raw]);
    const [receipt] = await this.rpc.receipts([hash]);
    return receipt;
  }
}

// Written from the reference (crypto-evm.md 2.6, 3.x; Operator.sol), not
// taken from the compiled ABIs, so that the selectors are checked too.
const OPERATOR_ABI = [
  'function isAuthorizedSender(address sender) view returns (bool)',
  'function fulfillOracleRequest(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes32 data) returns (bool)',
  'function fulfillOracleRequest2(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes data) returns (bool)',
  'event OracleResponse(bytes32 indexed requestId)',
];
const COORDINATOR_ABI = [
  'function fulfillRandomWords((uint256[2] pk, uint256[2] gamma, uint256 c, uint256 s, uint256 seed, address uWitness, uint256[2] cGammaWitness, uint256[2] sHashWitness, uint256 zInv) proof, (uint64 blockNum, uint64 subId, uint32 callbackGasLimit, uint32 numWords, address sender) rc) returns (uint96)',
  'event RandomWordsFulfilled(uint256 indexed requestId, uint256 outputSeed, uint96 payment, bool success)',
  'error NoCorrespondingRequest()',
];

const randomScalar = () => {
  for (;;) {
    const k = BigInt('0x' + randomBytes(32).toString('hex'));
    if (k > 0n && k < ec.N) return k;
  }
};

// ---- ganache --------------------------------------------------------------------

async function startGanache() {
  const ganache = require('ganache');
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = randomInt(20000, 60000);
    const server = ganache.server({
      chain: { chainId: 1337 },
      wallet: { deterministic: true, totalAccounts: 4 },
      miner: { instamine: 'eager' },
      logging: { quiet: true },
    });
    try {
      await server.listen(port, '127.0.0.1');
      return { server, url: `http://127.0.0.1:${port}` };
    } catch {
      await server.close().catch(() => {});
    }
  }
  throw new Error('no free port for ganache after 10 tries');
}

// ---- the test ---------------------------------------------------------------

async function run(url, dir) {
  const rpc = new Rpc(url);
  const coder = ethers.AbiCoder.defaultAbiCoder();
  const operatorIface = new ethers.Interface(OPERATOR_ABI);
  const coordinatorIface = new ethers.Interface(COORDINATOR_ABI);
  const wallet = new ethers.Wallet(ethers.hexlify(randomBytes(32)));
  const oracle = new Oracle(rpc, wallet, 1337);
  const vrfSecret = randomScalar();
  const vrfKey = ec.pointMul(vrfSecret, ec.G);
  const jobId = '0eec7e1d-d0d2-476c-a1a8-' + randomBytes(6).toString('hex');
  const deployFile = join(dir, 'deploy.json');
  const rpcArgs = ['--rpc', url];

  // -- deploy
  const started = performance.now();
  const d = await must('deploy', ['deploy', ...rpcArgs, '--oracle-address', wallet.address.toLowerCase(),
    '--vrf-public-key', '0x' + ec.hex32(vrfKey[0]) + ec.hex32(vrfKey[1]), '--job-id', jobId.toUpperCase(), '--out', deployFile]);
  ok(true, `deploy: LinkToken, Operator, consumers, VRFCoordinatorV2 deployed (${Math.round(performance.now() - started)} ms)`);
  eq(d.oracleAddress, wallet.address, 'deploy: the oracle address is EIP-55');
  eq(d.keyHash, ec.keyHash(vrfKey), 'deploy: keyHash = keccak(abi.encode(uint256[2] pk))');
  eq(d.vrfPublicKeyCompressed, '0x' + ec.hex32(vrfKey[0]) + (vrfKey[1] & 1n ? '01' : '00'), 'deploy: the 33-byte key form ends in the parity byte');
  eq(d.job.specIdString, '0x' + Buffer.from(jobId.replace(/-/g, '')).toString('hex'), 'deploy: specId string form = ASCII of the dashless UUID');
  eq(BigInt(await rpc.call('eth_getBalance', [wallet.address, 'latest'])), 100n * 10n ** 18n, 'deploy: the oracle holds 100 ETH');
  const authorized = operatorIface.decodeFunctionResult('isAuthorizedSender',
    await rpc.call('eth_call', [{ to: d.operator, data: operatorIface.encodeFunctionData('isAuthorizedSender', [wallet.address]) }, 'latest']))[0];
  eq(authorized, true, 'deploy: the Operator authorizes the oracle address');

  // -- direct requests
  const direct = await must('request-direct', ['request-direct', ...rpcArgs, '--deploy', deployFile, '--job-id', jobId, '--count', '3',
    '--url', 'https://example.com/price?x=1', '--path', 'USD', '--param', 'note=a=b', '--int-param', 'times=100', '--int-param', 'neg=-5']);
  eq(direct.requests.length, 3, 'request-direct --count 3: three requests');
  eq(new Set(direct.requestIds).size, 3, 'request-direct: request ids differ');
  eq(direct.specId, d.job.specIdString, 'request-direct: specId = the job ID\'s string form');
  const [r0, r1, r2] = direct.requests;
  ok(JSON.stringify(r0.params) === JSON.stringify({ get: 'https://example.com/price?x=1', path: 'USD', note: 'a=b', times: 100, neg: -5 }),
    'request-direct: the CBOR data decodes to the parameters given', r0.params);
  ok(direct.requests.every((r) => r.dataVersion === 1 && r.callbackAddr === d.directConsumer && r.specId === d.job.specIdString),
    'request-direct: data version 1, callback = the consumer, in every OracleRequest', direct.requests);

  // The oracle's answer, computed from the request.
  const answerOf = (r) => BigInt(r.params.times) * 31337n + BigInt(r.params.path.length);
  const fulfil2 = (r, words) => operatorIface.encodeFunctionData('fulfillOracleRequest2', [
    r.requestId, r.payment, r.callbackAddr, r.callbackFunctionId, r.cancelExpiration,
    coder.encode(['bytes32', ...words.map(() => 'uint256')], [r.requestId, ...words]),
  ]);
  let receipt = await oracle.send(d.operator, fulfil2(r0, [answerOf(r0)]), 500000);
  eq(receipt.status, '0x1', 'fulfillOracleRequest2 from the oracle key answers request 1');
  const refused = await oracle.refusal(d.operator, fulfil2(r0, [answerOf(r0) + 1n]));
  ok(/Must have a valid requestId/.test(refused ?? ''), 'a second answer to request 1 is refused (Must have a valid requestId)', refused);

  const fulfil1 = operatorIface.encodeFunctionData('fulfillOracleRequest', [
    r1.requestId, r1.payment, r1.callbackAddr, r1.callbackFunctionId, r1.cancelExpiration, ethers.toBeHex(answerOf(r1) + 1n, 32),
  ]);
  receipt = await oracle.send(d.operator, fulfil1, 500000);
  eq(receipt.status, '0x1', 'fulfillOracleRequest (single word, data version 1) answers request 2');

  const early = await harness(['cancel-direct', ...rpcArgs, '--deploy', deployFile, '--request-id', r2.requestId, '--no-time-travel']);
  ok(early.code === 1 && /Request is not expired/.test(early.stderr), 'cancel-direct --no-time-travel before expiry fails: Request is not expired', early);
  const cancel = await must('cancel-direct', ['cancel-direct', ...rpcArgs, '--deploy', deployFile, '--request-id', r2.requestId]);
  ok(cancel.cancelled && cancel.secondsAdvanced > 0, 'cancel-direct advances time past the expiration and cancels request 3', cancel);
  const late = await oracle.refusal(d.operator, fulfil2(r2, [1n]));
  ok(/Must have a valid requestId/.test(late ?? ''), 'answering the cancelled request 3 is refused', late);

  const multi = await must('request-direct --multiword', ['request-direct', ...rpcArgs, '--deploy', deployFile, '--job-id', jobId,
    '--multiword', '--param', 'urlUSD=http://x/usd', '--param', 'pathUSD=USD']);
  const m = multi.requests[0];
  eq(m.dataVersion, 2, 'request-direct --multiword: an operatorRequest (data version 2)');
  const v1Refusal = await oracle.refusal(d.operator, operatorIface.encodeFunctionData('fulfillOracleRequest', [
    m.requestId, m.payment, m.callbackAddr, m.callbackFunctionId, m.cancelExpiration, ethers.ZeroHash]));
  ok(/Data versions must match/.test(v1Refusal ?? ''), 'fulfillOracleRequest (version 1) is refused for it', v1Refusal);
  const words = [1234n, 5678n, 91011n];
  receipt = await oracle.send(d.operator, fulfil2(m, words), 500000);
  eq(receipt.status, '0x1', 'fulfillOracleRequest2 answers the multi-word request');

  // -- VRF
  const vrf = await must('request-vrf', ['request-vrf', ...rpcArgs, '--deploy', deployFile, '--count', '2', '--num-words', '3',
    '--callback-gas-limit', '300000']);
  eq(vrf.requests.length, 2, 'request-vrf --count 2: two requests');
  const [v0, v1] = vrf.requests;
  const preSeedOf = (nonce) => BigInt(ethers.keccak256(coder.encode(['bytes32', 'address', 'uint64', 'uint64'], [d.keyHash, d.vrfConsumer, d.subId, nonce])));
  // addConsumer sets the consumer's nonce to 1; each request uses it + 1.
  ok(BigInt(v0.preSeed) === preSeedOf(2) && BigInt(v1.preSeed) === preSeedOf(3),
    'request-vrf: preSeed = keccak(abi.encode(keyHash, sender, subId, nonce))', vrf.requests);
  ok(BigInt(v0.requestId) === BigInt(ethers.keccak256(coder.encode(['bytes32', 'uint256'], [d.keyHash, v0.preSeed]))),
    'request-vrf: requestId = keccak(abi.encode(keyHash, preSeed))');
  const block = await rpc.call('eth_getBlockByNumber', ['0x' + v0.blockNumber.toString(16), false]);
  eq(v0.blockHash, block.hash, 'request-vrf: the request\'s block hash');

  const proof = ec.vrfProve(vrfSecret, ec.v2Seed(BigInt(v0.preSeed), BigInt(block.hash)), randomScalar());
  const proofTuple = [proof.pk, proof.gamma, proof.c, proof.s, BigInt(v0.preSeed), proof.uWitness, proof.cGammaWitness, proof.sHashWitness, proof.zInv];
  const rc = [v0.blockNumber, d.subId, v0.callbackGasLimit, v0.numWords, v0.sender];
  const fulfilVrf = coordinatorIface.encodeFunctionData('fulfillRandomWords', [proofTuple, rc]);
  eq(fulfilVrf.slice(0, 10), '0xaf198b97', 'fulfillRandomWords selector is 0xaf198b97');
  receipt = await oracle.send(d.vrfCoordinator, fulfilVrf, v0.callbackGasLimit + 400000);
  eq(receipt.status, '0x1', 'fulfillRandomWords with a JS proof for keccak(preSeed ‖ blockHash) answers VRF request 1');
  const again = await oracle.refusal(d.vrfCoordinator, fulfilVrf);
  ok(/NoCorrespondingRequest/.test(again ?? ''), 'a second fulfilment of VRF request 1 is refused (NoCorrespondingRequest)', again);

  // -- status
  const s = await must('status', ['status', ...rpcArgs, '--deploy', deployFile]);
  const by = s.direct.byRequest;
  const once = (id) => by[id] && by[id].oracleRequests === 1 && by[id].oracleResponses === 1 && by[id].chainlinkFulfilled === 1;
  ok(once(r0.requestId) && by[r0.requestId].value === answerOf(r0).toString(),
    'status: request 1 answered once, with the value computed', by[r0.requestId]);
  ok(once(r1.requestId) && by[r1.requestId].value === (answerOf(r1) + 1n).toString(), 'status: request 2 answered once', by[r1.requestId]);
  ok(by[r2.requestId]?.cancelled === 1 && by[r2.requestId].chainlinkCancelled === 1 && by[r2.requestId].oracleResponses === 0 &&
    by[r2.requestId].chainlinkFulfilled === 0,
    'status: request 3 cancelled, never answered', by[r2.requestId]);
  ok(once(m.requestId) && JSON.stringify(by[m.requestId].multiword) === JSON.stringify({ usd: '1234', eur: '5678', jpy: '91011' }),
    'status: the multi-word request answered once with usd/eur/jpy', by[m.requestId]);
  ok(by[r0.requestId].responses[0].from === wallet.address, 'status: responses name their sender (the oracle)', by[r0.requestId].responses);
  ok(s.direct.requests === 4 && s.direct.responses === 3 && s.direct.fulfilled === 3 && s.direct.cancelled === 1 &&
    s.direct.answeredOnce === 3 && s.direct.answeredMoreThanOnce === 0 && s.direct.unanswered === 0,
  'status: direct totals (4 requests, 3 answered once, 1 cancelled)', { ...s.direct, byRequest: undefined });
  ok(s.direct.lastRequestId === m.requestId && s.direct.usd === '1234' && s.direct.fulfilments === 3,
    'status: the consumer\'s stored last answer', { ...s.direct, byRequest: undefined });

  const output = ec.vrfOutput(proof.gamma);
  const wordsWant = Array.from({ length: 3 }, (_, i) => BigInt(ethers.keccak256(coder.encode(['uint256', 'uint256'], [output, i]))).toString());
  const w0 = s.vrf.byRequest[v0.requestId];
  ok(w0 && w0.fulfilments === 1 && w0.success[0] === true && w0.callbacks === 1 && w0.outputSeed === output.toString(),
    'status: VRF request 1 fulfilled once, successfully, outputSeed = the proof\'s output', w0);
  ok(w0 && JSON.stringify(w0.randomWords) === JSON.stringify(wordsWant), 'status: the consumer got words keccak(abi.encode(output, i))', w0);
  const w1 = s.vrf.byRequest[v1.requestId];
  ok(w1 && w1.requested === 1 && w1.fulfilments === 0, 'status: VRF request 2 pending', w1);
  ok(s.vrf.requests === 2 && s.vrf.fulfilments === 1 && s.vrf.answeredOnce === 1 && s.vrf.unanswered === 1 && s.vrf.answeredMoreThanOnce === 0,
    'status: VRF totals', { ...s.vrf, byRequest: undefined });

  // -- snapshot / mine / revert
  const snap = await must('snapshot', ['snapshot', ...rpcArgs]);
  const mined = await must('mine', ['mine', ...rpcArgs, '--blocks', '5']);
  eq(mined.blockNumber, snap.blockNumber + 5, 'mine --blocks 5 adds five blocks');
  await must('request-vrf after the snapshot', ['request-vrf', ...rpcArgs, '--deploy', deployFile]);
  const during = await must('status', ['status', ...rpcArgs, '--deploy', deployFile]);
  eq(during.vrf.requests, 3, 'a VRF request after the snapshot is counted');
  const back = await must('revert', ['revert', ...rpcArgs, '--id', snap.id]);
  eq(back.blockNumber, snap.blockNumber, 'revert goes back to the snapshot\'s block');
  const after = await must('status', ['status', ...rpcArgs, '--deploy', deployFile]);
  eq(after.vrf.requests, 2, 'status after the revert no longer counts that request');

  // -- a batch of requests in few transactions
  const batch = await must('request-direct --count 40 --per-tx 20', ['request-direct', ...rpcArgs, '--deploy', deployFile,
    '--spec-id', d.job.specIdBytes, '--count', '40', '--per-tx', '20']);
  ok(batch.transactions === 2 && new Set(batch.requestIds).size === 40 && batch.requests.every((r) => r.specId === d.job.specIdBytes),
    'request-direct --count 40 --per-tx 20: 40 distinct requests in 2 transactions, with the --spec-id given', { ...batch, requests: undefined });

  // -- a second proving key, given in Chainlink's 33-byte form
  const key2 = ec.pointMul(randomScalar(), ec.G);
  const reg = await must('register-vrf-key', ['register-vrf-key', ...rpcArgs, '--deploy', deployFile,
    '--vrf-public-key', '0x' + ec.hex32(key2[0]) + (key2[1] & 1n ? '01' : '00')]);
  eq(reg.keyHash, ec.keyHash(key2), 'register-vrf-key with a 33-byte key: keyHash of the decompressed key');
  const dup = await harness(['register-vrf-key', ...rpcArgs, '--deploy', deployFile, '--vrf-public-key', '0x' + ec.hex32(key2[0]) + ec.hex32(key2[1])]);
  ok(dup.code === 1 && /ProvingKeyAlreadyRegistered/.test(dup.stderr), 'registering it again fails with the coordinator\'s custom error', dup);

  // -- errors
  const badJob = await harness(['request-direct', ...rpcArgs, '--deploy', deployFile, '--job-id', 'not-a-uuid']);
  ok(badJob.code === 1 && /not a UUID/.test(badJob.stderr) && badJob.stdout === '', 'a bad --job-id: exit 1, the reason on stderr, nothing on stdout', badJob);
  const noNode = await harness(['status', '--rpc', 'http://127.0.0.1:1', '--deploy', deployFile]);
  ok(noNode.code === 1 && /cannot reach/.test(noNode.stderr), 'an unreachable --rpc: exit 1, says so', noNode);
  const noFile = await harness(['status', ...rpcArgs, '--deploy', join(dir, 'missing.json')]);
  ok(noFile.code === 1 && /missing\.json/.test(noFile.stderr), 'a missing --deploy file: exit 1, names it', noFile);
}

async function main() {
  try {
    [ethers, ec, { Rpc, failureOf }] = await Promise.all([import('ethers'), import('./lib/secp256k1.mjs'), import('./lib/rpc.mjs')]);
    require.resolve('ganache');
  } catch (e) {
    console.log('1..1');
    console.log(`not ok 1 - ${e.message} (install with: npm ci --prefix ${HERE} --ignore-scripts)`);
    return 1;
  }
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'oracle-selftest-'));
  let chain;
  try {
    chain = await startGanache();
    console.log(`# ganache on ${chain.url}`);
    await run(chain.url, dir);
  } catch (e) {
    ok(false, `self-test aborted: ${e.message}`, e.stack);
  } finally {
    if (chain) await chain.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`1..${n}`);
  console.log(`# ${n - failed} of ${n} ok in ${Math.round(performance.now() - started)} ms`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
