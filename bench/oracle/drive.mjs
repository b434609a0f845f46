// bench/oracle's driver: makes the requests linkd answers, times them, and
// joins them with the fulfilments linkd's database says it broadcast.
// Contracts come from tests/onchain/oracle.mjs deploy (its --deploy file);
// transactions are sent with eth_sendTransaction from the deployer, one of
// ganache's unlocked accounts.  Every time is this machine's wall clock in
// milliseconds (performance.timeOrigin + performance.now(), fractional),
// the clock linkd's timestamps are read on too.
//
//   node bench/oracle/drive.mjs baseline --rpc URL --count N [--warmup W]
//       N pre-signed value transfers (a fresh key funded first), each sent
//       alone with eth_sendRawTransaction; the round trip of each.
//   node bench/oracle/drive.mjs latency --rpc URL --ws URL --deploy FILE --kind direct|vrf
//       --oracle 0x.. --count N [--job-id UUID] [--warmup W] [--gap-ms G] [--timeout-ms T] --out FILE
//       N requests (after W untimed ones), one at a time: each is sent, and
//       the next only after the oracle's fulfilment of it is mined (seen
//       through a newHeads subscription and the oracle's nonce) and G ms
//       more have passed.  Each request's t0 is when the newHeads of its
//       block came (ganache announces the block before it answers the
//       eth_sendTransaction that mined it, and linkd hears the same
//       announcement); when its eth_sendTransaction returned is kept too.
//   node bench/oracle/drive.mjs burst --rpc URL --ws URL --deploy FILE --kind direct|vrf --oracle 0x..
//       --count N [--per-tx K] [--job-id UUID] [--timeout-ms T] --out FILE
//       N requests at once (K per transaction for direct requests; the VRF
//       consumer makes one a transaction): sent with the miner stopped and
//       mined together by miner_start (tFirst = when the first of their
//       blocks' newHeads came), then waits until the oracle's nonce says
//       all N are answered (or nothing moved for T ms).
//   node bench/oracle/drive.mjs fulfil-baseline --rpc URL --deploy FILE --job-id UUID --key FILE
//       --key-password FILE --count N [--warmup W] --out FILE
//       N fresh direct requests, each answered by ethers with the oracle's
//       key (a v3 key file exported from linkd) through fulfillOracleRequest,
//       as the job answers it: pre-signed, sent one at a time, each round
//       trip timed.  Run with linkd stopped.
//   node bench/oracle/drive.mjs report --db FILE [--baseline FILE] [--fulfil-baseline FILE] [--latency-direct FILE]
//       [--latency-vrf FILE] [--burst-direct FILE] [--burst-vrf FILE]
//       Joins each request with linkd's fulfilment (evm_txes.initial_broadcast_at,
//       set when eth_sendRawTransaction returned) and prints key=value lines.
//
// A request's fulfilment is the evm_txes row whose payload holds its id:
// fulfillOracleRequest(requestId, ...) has the request id at bytes 4..36,
// fulfillRandomWords(proof, rc) the preSeed as the proof's seed at bytes
// 196..228; a payload that has it elsewhere (another job's layout) is found
// by a search.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'tests/onchain/package.json'));
const { ethers } = require('ethers');
const WebSocket = require('ws');
const { Rpc, qty, num } = await import(path.join(root, 'tests/onchain/lib/rpc.mjs'));

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const ORACLE_REQUEST = ethers.id('OracleRequest(bytes32,address,bytes32,uint256,address,bytes4,uint256,uint256,bytes)');
const RANDOM_WORDS_REQUESTED = ethers.id('RandomWordsRequested(bytes32,uint256,uint256,uint64,uint16,uint32,uint32,address)');
const consumers = new ethers.Interface([
  'function request(bytes32 specId, uint256 payment, uint256 count, bool multiword, bool operatorRequest, (string[] keys, string[] values, string[] intKeys, int256[] intValues) params) returns (bytes32[])',
]);
const vrfConsumer = new ethers.Interface([
  'function request(bytes32 keyHash, uint64 subId, uint16 minimumRequestConfirmations, uint32 callbackGasLimit, uint32 numWords) returns (uint256)',
]);

// ---- requests ------------------------------------------------------------------

// The specId of a job: Chainlink's string form of its external job ID (the
// ASCII of its 32 hex digits), as ChainlinkClient requests carry it.
function specIdOf(jobId) {
  const digits = jobId.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(digits)) throw new Error(`--job-id ${jobId}: not a UUID`);
  return '0x' + Buffer.from(digits, 'ascii').toString('hex');
}

// The kind's request transaction (`perTx` requests in it) and the ids the
// receipt's logs give: the request id of each OracleRequest, the preSeed of
// each RandomWordsRequested (the 2nd word of either's data).
function requestKind(o, d) {
  if (o.kind === 'direct') {
    if (!o['job-id']) throw new Error('--job-id is required for direct requests');
    const specId = specIdOf(o['job-id']);
    const payment = BigInt(d.defaultPayment);
    return {
      to: d.directConsumer,
      emitter: d.operator,
      topic: ORACLE_REQUEST,
      data: (perTx) => consumers.encodeFunctionData('request', [specId, payment, perTx, false, false, [[], [], ['value'], [42n]]]),
    };
  }
  if (o.kind === 'vrf') {
    if (!d.keyHash) throw new Error('the deployment has no VRF key (deploy with --vrf-public-key)');
    return {
      to: d.vrfConsumer,
      emitter: d.vrfCoordinator,
      topic: RANDOM_WORDS_REQUESTED,
      // Chainlink's VRF v2 listener answers a request of block B once the
      // head is B + minConfs (getConfirmedAt; its simulation at "latest"
      // fails while B is the head: blockhash(B) is unknown there), so one
      // block is mined after each request, at once.
      confirmBlock: true,
      data: () => vrfConsumer.encodeFunctionData('request', [d.keyHash, BigInt(d.subId), 1, 200000, 1]),
    };
  }
  throw new Error(`--kind ${o.kind}: want direct or vrf`);
}

function idsIn(receipt, kind) {
  if (receipt.status !== '0x1') throw new Error(`request transaction ${receipt.transactionHash} failed`);
  return receipt.logs
    .filter((l) => l.address.toLowerCase() === kind.emitter.toLowerCase() && l.topics[0] === kind.topic)
    .map((l) => l.data.slice(2 + 64, 2 + 128).toLowerCase());
}

// Gas for a transaction shape, estimated once.
async function gasFor(rpc, tx) {
  const estimate = BigInt(await rpc.call('eth_estimateGas', [tx]));
  return qty((estimate * 6n) / 5n + 20000n);
}

const nonceOf = async (rpc, address) => num(await rpc.call('eth_getTransactionCount', [address, 'latest']));

// ---- newHeads ---------------------------------------------------------------------

// The chain's tip from a newHeads subscription, and waits on it.
class Heads {
  constructor(url) {
    this.url = url;
    this.tip = -1;
    this.waiters = new Set();
    this.seen = new Map(); // block number -> when its head came
  }

  async open() {
    this.ws = new WebSocket(this.url);
    await new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      if (msg.method === 'eth_subscription' && msg.params?.result?.number) {
        const n = num(msg.params.result.number);
        if (!this.seen.has(n)) this.seen.set(n, now());
        if (n > this.tip) this.tip = n;
        for (const w of [...this.waiters]) if (this.tip >= w.number) w.resolve(true);
      }
    });
    const subscribed = new Promise((resolve, reject) => {
      const onReply = (raw) => {
        const msg = JSON.parse(raw.toString());
        if (msg.id !== 1) return;
        this.ws.off('message', onReply);
        if (msg.error) reject(new Error(`eth_subscribe newHeads: ${msg.error.message}`));
        else resolve();
      };
      this.ws.on('message', onReply);
    });
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
    await subscribed;
  }

  // true once the tip reaches number, false at the deadline.
  waitFor(number, deadline) {
    if (this.tip >= number) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { number };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        resolve(false);
      }, Math.max(0, deadline - now()));
      w.resolve = (v) => {
        clearTimeout(timer);
        this.waiters.delete(w);
        resolve(v);
      };
      this.waiters.add(w);
    });
  }

  close() {
    this.ws?.terminate();
  }
}

// ---- commands -------------------------------------------------------------------

async function cmdBaseline(o) {
  const rpc = new Rpc(o.rpc);
  const count = Number(o.count ?? 1000);
  const warmup = Number(o.warmup ?? 10);
  const [funder] = await rpc.call('eth_accounts');
  const chainId = num(await rpc.call('eth_chainId'));
  const wallet = ethers.Wallet.createRandom();
  const gwei = 1000000000n;
  await rpc.receipts([await rpc.call('eth_sendTransaction', [{
    from: funder, to: wallet.address, value: qty(ethers.parseEther('10')), gas: qty(21000),
  }])]);
  const signed = [];
  for (let i = 0; i < warmup + count; i++) {
    signed.push(await wallet.signTransaction({
      type: 2, chainId, nonce: i, to: '0x' + 'be'.repeat(19) + (i & 0xff).toString(16).padStart(2, '0'), value: 1n,
      gasLimit: 21000n, maxPriorityFeePerGas: gwei, maxFeePerGas: 20n * gwei,
    }));
  }
  const times = [];
  const started = now();
  for (let i = 0; i < signed.length; i++) {
    const t = now();
    await rpc.call('eth_sendRawTransaction', [signed[i]]);
    if (i >= warmup) times.push(now() - t);
  }
  const timed = times.reduce((a, b) => a + b, 0);
  const out = { count, warmup, ...stats(times), per_s: (count / timed) * 1000, wall_s: (now() - started) / 1000 };
  writeOut(o, out);
  console.log(`baseline: ${count} eth_sendRawTransaction p50 ${out.p50.toFixed(2)} ms p99 ${out.p99.toFixed(2)} ms`);
}

async function cmdLatency(o) {
  const rpc = new Rpc(o.rpc);
  const d = JSON.parse(readFileSync(o.deploy, 'utf8'));
  const kind = requestKind(o, d);
  const count = Number(o.count ?? 1000);
  const warmup = Number(o.warmup ?? 5);
  const gap = Number(o['gap-ms'] ?? 20);
  const timeout = Number(o['timeout-ms'] ?? 10000);
  const tx = { from: d.deployer, to: kind.to, data: kind.data(1) };
  tx.gas = await gasFor(rpc, tx);
  const heads = new Heads(o.ws);
  await heads.open();
  const requests = [];
  let unanswered = 0;
  let skipped = 0;
  try {
    let answered = await nonceOf(rpc, o.oracle);
    const tip = num(await rpc.call('eth_blockNumber'));
    if (tip > heads.tip) heads.tip = tip;
    for (let i = 0; i < warmup + count; i++) {
      // The chain is quiet between requests: the request is mined in the
      // block after the tip, its fulfilment in the one after that.
      const before = heads.tip;
      const tSent = now();
      const hash = await rpc.call('eth_sendTransaction', [tx]);
      const t0 = now();
      if (kind.confirmBlock) await rpc.call('evm_mine', []);
      const deadline = t0 + timeout;
      let ok = false;
      for (let want = before + 2; await heads.waitFor(want, deadline); want = heads.tip + 1) {
        if (await nonceOf(rpc, o.oracle) > answered) {
          ok = true;
          break;
        }
      }
      const [receipt] = await rpc.receipts([hash]);
      const ids = idsIn(receipt, kind);
      if (ids.length !== 1) throw new Error(`request ${hash} logged ${ids.length} requests, not 1`);
      if (ok) answered += 1;
      else {
        unanswered += 1;
        // What linkd does not answer in T ms it may answer later: wait for
        // it, so that the next request is alone again.
        const late = await nonceOf(rpc, o.oracle);
        answered = late;
      }
      const block = num(receipt.blockNumber);
      if (i >= warmup) requests.push({ id: ids[0], tSent, tReturned: t0, tHead: heads.seen.get(block), block, answered: ok });
      else skipped += 1;
      if (!ok && (i === 0 || unanswered >= 3)) {
        console.error(`latency ${o.kind}: ${unanswered} request(s) not answered within ${timeout} ms; stopping`);
        break;
      }
      if (gap > 0) await sleep(gap);
    }
  } finally {
    heads.close();
  }
  writeOut(o, { kind: o.kind, count, warmup: skipped, unanswered, requests });
  console.log(`latency ${o.kind}: ${requests.length} timed requests sent one at a time, ${unanswered} not answered within ${timeout} ms`);
  if (requests.length === 0 || unanswered > 0) process.exitCode = 3;
}

async function cmdBurst(o) {
  const rpc = new Rpc(o.rpc);
  const d = JSON.parse(readFileSync(o.deploy, 'utf8'));
  const kind = requestKind(o, d);
  const count = Number(o.count ?? 1000);
  const perTx = o.kind === 'direct' ? Number(o['per-tx'] ?? 10) : 1;
  const timeout = Number(o['timeout-ms'] ?? 30000);
  const txs = [];
  for (let left = count; left > 0; left -= perTx) txs.push({ from: d.deployer, to: kind.to, data: kind.data(Math.min(perTx, left)) });
  const gas = new Map();
  for (const tx of txs) {
    if (!gas.has(tx.data)) gas.set(tx.data, await gasFor(rpc, tx));
    tx.gas = gas.get(tx.data);
  }
  const heads = new Heads(o.ws);
  await heads.open();
  let out;
  try {
    const start = await nonceOf(rpc, o.oracle);
    const before = num(await rpc.call('eth_blockNumber'));
    // The requests go into the pool with the miner stopped, and are mined
    // together when it starts again (as many blocks as their gas needs),
    // so that no request transaction is sent while linkd sends its
    // fulfilments: ganache's eager instamine can leave a transaction sent
    // while it mines others unmined until the next one comes (linkd's
    // send then times out).
    if (await rpc.call('miner_stop') !== true) throw new Error('miner_stop failed');
    let hashes;
    let tMineCalled;
    let tMineReturned;
    try {
      hashes = await rpc.batchOk(txs.map((tx) => ['eth_sendTransaction', [tx]]));
    } finally {
      tMineCalled = now();
      await rpc.call('miner_start');
      tMineReturned = now();
    }
    if (kind.confirmBlock) await rpc.call('evm_mine', []);
    const receipts = await rpc.receipts(hashes);
    const ids = receipts.flatMap((r) => idsIn(r, kind));
    if (ids.length !== count) throw new Error(`the burst's ${txs.length} transactions logged ${ids.length} requests, not ${count}`);
    const blocks = [...new Set(receipts.map((r) => num(r.blockNumber)))].sort((a, b) => a - b);
    // When the first block of requests was mined: its newHeads, else the
    // call that mined it.
    const tFirst = heads.seen.get(blocks[0]) ?? tMineCalled;
    let answered = 0;
    let moved = now();
    for (;;) {
      const n = (await nonceOf(rpc, o.oracle)) - start;
      if (n > answered) {
        answered = n;
        moved = now();
      }
      if (answered >= count || now() - moved > timeout) break;
      await sleep(100);
    }
    out = {
      kind: o.kind, count, perTx, transactions: txs.length, blocks: blocks.length, firstBlock: blocks[0], before,
      tMineCalled, tFirst, tMineReturned, answered, gasUsed: receipts.reduce((a, r) => a + num(r.gasUsed), 0), ids,
    };
  } finally {
    heads.close();
  }
  writeOut(o, out);
  console.log(`burst ${o.kind}: ${count} requests in ${out.transactions} transactions mined in ${out.blocks} blocks, ` +
    `${out.answered} fulfilments mined`);
  if (out.answered < count) process.exitCode = 3;
}

// The direct burst's second baseline: the fulfilments linkd would send,
// made by ethers with the oracle's own key (exported from linkd's
// keystore; linkd stopped) for fresh requests, pre-signed, and sent one at
// a time: ganache's round trip of exactly the transaction a fulfilment is.
async function cmdFulfilBaseline(o) {
  const rpc = new Rpc(o.rpc);
  const d = JSON.parse(readFileSync(o.deploy, 'utf8'));
  const kind = requestKind({ ...o, kind: 'direct' }, d);
  const count = Number(o.count ?? 1000);
  const warmup = Number(o.warmup ?? 10);
  const wallet = await ethers.Wallet.fromEncryptedJson(readFileSync(o.key, 'utf8'), readFileSync(o['key-password'], 'utf8').trim());
  const operator = new ethers.Interface([
    'event OracleRequest(bytes32 indexed specId, address requester, bytes32 requestId, uint256 payment, address callbackAddr, bytes4 callbackFunctionId, uint256 cancelExpiration, uint256 dataVersion, bytes data)',
    'function fulfillOracleRequest(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes32 data) returns (bool)',
  ]);
  const total = warmup + count;
  const txs = [];
  for (let left = total; left > 0; left -= 10) txs.push({ from: d.deployer, to: kind.to, data: kind.data(Math.min(10, left)) });
  const gas = new Map();
  for (const tx of txs) {
    if (!gas.has(tx.data)) gas.set(tx.data, await gasFor(rpc, tx));
    tx.gas = gas.get(tx.data);
  }
  const receipts = await rpc.receipts(await rpc.batchOk(txs.map((tx) => ['eth_sendTransaction', [tx]])));
  const requests = receipts.flatMap((r) => r.logs
    .filter((l) => l.address.toLowerCase() === d.operator.toLowerCase() && l.topics[0] === ORACLE_REQUEST)
    .map((l) => operator.decodeEventLog('OracleRequest', l.data, l.topics)));
  const chainId = num(await rpc.call('eth_chainId'));
  let nonce = await nonceOf(rpc, wallet.address);
  const value = ethers.zeroPadValue(ethers.toBeHex(4200n), 32);
  const signed = [];
  for (const r of requests) {
    signed.push(await wallet.signTransaction({
      type: 0, chainId, nonce: nonce++, to: d.operator, gasLimit: 1000000n, gasPrice: 20000000000n,
      data: operator.encodeFunctionData('fulfillOracleRequest', [r.requestId, r.payment, r.callbackAddr, r.callbackFunctionId, r.cancelExpiration, value]),
    }));
  }
  const times = [];
  const hashes = [];
  for (let i = 0; i < signed.length; i++) {
    const t = now();
    hashes.push(await rpc.call('eth_sendRawTransaction', [signed[i]]));
    if (i >= warmup) times.push(now() - t);
  }
  const failed = (await rpc.receipts(hashes)).filter((r) => r.status !== '0x1').length;
  const timed = times.reduce((a, b) => a + b, 0);
  const out = { count, warmup, failed, ...stats(times), per_s: (count / timed) * 1000 };
  writeOut(o, out);
  console.log(`fulfilment baseline: ${count} fulfillOracleRequest sent by ethers, p50 ${out.p50.toFixed(2)} ms, ${failed} failed`);
  if (failed) process.exitCode = 1;
}

// ---- the report -------------------------------------------------------------------

// Percentiles by nearest rank.
function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const rank = (p) => s[Math.max(0, Math.ceil(p * s.length) - 1)];
  return { n: s.length, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: s.at(-1), min: s[0], mean: s.reduce((a, b) => a + b, 0) / s.length };
}

// linkd's SQLite times: "2024-05-01 12:34:56.123456+00:00" (UTC).
function parseTime(text) {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(?:\+00:00|Z)?$/.exec(text);
  if (!m) throw new Error(`cannot read the time ${text}`);
  return Date.parse(`${m[1]}T${m[2]}Z`) + Number((m[3] ?? '0').padEnd(6, '0')) / 1000;
}

// Fulfilments linkd broadcast: payload hex and when.
function fulfilments(db) {
  const out = execFileSync('sqlite3', ['-readonly', '-cmd', '.timeout 10000', db,
    'SELECT lower(hex(encoded_payload)), initial_broadcast_at FROM evm_txes WHERE initial_broadcast_at IS NOT NULL'],
  { encoding: 'utf8', maxBuffer: 1 << 30 });
  return out.split('\n').filter(Boolean).map((line) => {
    const [payload, at] = line.split('|');
    return { payload, t1: parseTime(at) };
  });
}

// id (64 hex digits) -> the first broadcast of a fulfilment holding it.
function indexer(rows) {
  const at = new Map();
  for (const { payload, t1 } of rows) {
    for (const offset of [8, 8 + 6 * 64]) { // bytes 4..36; bytes 196..228
      const id = payload.slice(offset, offset + 64);
      if (id.length === 64 && !(at.get(id) <= t1)) at.set(id, t1);
    }
  }
  return (id) => {
    if (at.has(id)) return at.get(id);
    let best;
    for (const { payload, t1 } of rows) {
      for (let k = payload.indexOf(id); k >= 0; k = payload.indexOf(id, k + 1)) {
        if (k % 2 === 0 && !(best <= t1)) best = t1;
      }
    }
    return best;
  };
}

// How long the runs' tasks of a type took (created_at to finished_at of
// the stored task runs), in ms: where a run's time goes.
function taskTimes(db, type) {
  const out = execFileSync('sqlite3', ['-readonly', '-cmd', '.timeout 10000', db,
    `SELECT created_at, finished_at FROM pipeline_task_runs WHERE type = '${type}' AND finished_at IS NOT NULL AND error IS NULL`],
  { encoding: 'utf8', maxBuffer: 1 << 30 });
  return out.split('\n').filter(Boolean).map((line) => {
    const [a, b] = line.split('|');
    return parseTime(b) - parseTime(a);
  });
}

const fmt = (v, digits = 2) => (v === undefined || Number.isNaN(v) ? 'nan' : v.toFixed(digits));

function cmdReport(o) {
  const find = indexer(fulfilments(o.db));
  const lines = [];
  const put = (k, v) => lines.push(`${k}=${v}`);
  if (o.baseline) {
    const b = JSON.parse(readFileSync(o.baseline, 'utf8'));
    put('baseline_n', b.count);
    put('baseline_p50_ms', fmt(b.p50, 3));
    put('baseline_p99_ms', fmt(b.p99, 3));
    put('baseline_max_ms', fmt(b.max, 3));
    put('baseline_per_s', fmt(b.per_s, 1));
  }
  if (o['fulfil-baseline']) {
    const b = JSON.parse(readFileSync(o['fulfil-baseline'], 'utf8'));
    put('fulfil_baseline_n', b.count);
    put('fulfil_baseline_failed', b.failed);
    put('fulfil_baseline_p50_ms', fmt(b.p50, 3));
    put('fulfil_baseline_p99_ms', fmt(b.p99, 3));
    put('fulfil_baseline_per_s', fmt(b.per_s, 1));
  }
  for (const kind of ['direct', 'vrf']) {
    const file = o[`latency-${kind}`];
    if (file) {
      const l = JSON.parse(readFileSync(file, 'utf8'));
      const lat = [];
      const sendRtt = [];
      let missing = 0;
      const fromReturn = [];
      const headFirst = [];
      for (const r of l.requests) {
        const t1 = find(r.id);
        // t0: when the request's block was announced (newHeads), else when
        // its eth_sendTransaction returned.
        const t0 = r.tHead ?? r.tReturned;
        if (t1 === undefined) missing += 1;
        else {
          lat.push(t1 - t0);
          fromReturn.push(t1 - r.tReturned);
        }
        sendRtt.push(r.tReturned - r.tSent);
        if (r.tHead !== undefined) headFirst.push(r.tReturned - r.tHead);
      }
      const s = stats(lat);
      const rtt = stats(sendRtt);
      const ret = stats(fromReturn);
      const lead = stats(headFirst);
      put(`${kind}_n`, s.n);
      put(`${kind}_not_fulfilled`, missing);
      put(`${kind}_p50_ms`, fmt(s.p50));
      put(`${kind}_p90_ms`, fmt(s.p90));
      put(`${kind}_p99_ms`, fmt(s.p99));
      put(`${kind}_max_ms`, fmt(s.max));
      put(`${kind}_min_ms`, fmt(s.min));
      put(`${kind}_request_send_p50_ms`, fmt(rtt.p50));
      put(`${kind}_heads_seen`, lead.n);
      put(`${kind}_return_after_head_p50_ms`, fmt(lead.p50));
      put(`${kind}_from_return_p50_ms`, fmt(ret.p50));
      put(`${kind}_from_return_p99_ms`, fmt(ret.p99));
      if (s.min < 0) put(`${kind}_warning`, 'a_fulfilment_broadcast_before_its_request_block_was_announced');
    }
    const burst = o[`burst-${kind}`];
    if (burst) {
      const b = JSON.parse(readFileSync(burst, 'utf8'));
      let last = -Infinity;
      let found = 0;
      for (const id of b.ids) {
        const t1 = find(id);
        if (t1 !== undefined) {
          found += 1;
          if (t1 > last) last = t1;
        }
      }
      const seconds = (last - b.tFirst) / 1000;
      put(`${kind}_burst_n`, b.count);
      put(`${kind}_burst_transactions`, b.transactions);
      put(`${kind}_burst_fulfilled`, found);
      put(`${kind}_burst_s`, fmt(seconds, 3));
      put(`${kind}_burst_per_s`, fmt(found / seconds, 1));
      put(`${kind}_burst_blocks`, b.blocks);
      put(`${kind}_burst_mine_s`, fmt((b.tMineReturned - b.tMineCalled) / 1000, 3));
    }
  }
  for (const type of ['ethabidecodelog', 'vrfv2', 'estimategaslimit', 'ethcall']) {
    const t = taskTimes(o.db, type);
    if (t.length) {
      const st = stats(t);
      put(`task_${type}_n`, st.n);
      put(`task_${type}_p50_ms`, fmt(st.p50, 3));
      put(`task_${type}_p99_ms`, fmt(st.p99, 3));
    }
  }
  console.log(lines.join('\n'));
}

// ---- main -------------------------------------------------------------------------

function writeOut(o, value) {
  if (o.out) writeFileSync(o.out, JSON.stringify(value) + '\n');
}

const str = { type: 'string' };
const COMMANDS = { baseline: cmdBaseline, latency: cmdLatency, burst: cmdBurst, 'fulfil-baseline': cmdFulfilBaseline, report: cmdReport };
const [name, ...rest] = process.argv.slice(2);
if (!COMMANDS[name]) {
  console.error('usage: node bench/oracle/drive.mjs baseline|latency|burst|report [options] (see the head of this file)');
  process.exit(2);
}
const { values: o } = parseArgs({
  args: rest,
  options: Object.fromEntries(['rpc', 'ws', 'deploy', 'kind', 'oracle', 'count', 'warmup', 'job-id', 'gap-ms', 'timeout-ms',
    'per-tx', 'out', 'db', 'baseline', 'fulfil-baseline', 'key', 'key-password', 'latency-direct', 'latency-vrf', 'burst-direct', 'burst-vrf'].map((k) => [k, str])),
  strict: true,
});
try {
  await COMMANDS[name](o);
} catch (e) {
  console.error(`drive.mjs ${name}: ${e.message}`);
  process.exitCode = 1;
}
