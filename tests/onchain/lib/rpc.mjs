// A small Ethereum JSON-RPC client over HTTP (Node's fetch) for the oracle
// harness: single calls, batches (one HTTP request for many calls, which is
// what makes a thousand requests quick), receipt polling, and revert reasons
// decoded from the node's error (ganache puts the revert data in
// error.data.result, geth-style nodes in error.data).

import { AbiCoder, Interface } from 'ethers';

export class RpcError extends Error {
  constructor(method, error) {
    super(`${method}: ${error.message ?? JSON.stringify(error)}`);
    this.method = method;
    this.code = error.code;
    this.data = error.data;
    this.rpcMessage = error.message;
  }
}

export class Rpc {
  constructor(url, { timeoutMs = 30000, batchSize = 100 } = {}) {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`--rpc ${url}: not a URL (want e.g. http://127.0.0.1:8545)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`--rpc ${url}: only http(s) JSON-RPC URLs are supported`);
    }
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.batchSize = batchSize;
    this.nextId = 1;
  }

  async post(body, what) {
    let response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const why = e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (e.cause?.message ?? e.message);
      throw new Error(`${what}: cannot reach the JSON-RPC node at ${this.url}: ${why}`);
    }
    const text = await response.text();
    if (!response.ok) throw new Error(`${what}: HTTP ${response.status} from ${this.url}: ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`${what}: ${this.url} answered with non-JSON: ${text.slice(0, 200)}`);
    }
  }

  async call(method, params = []) {
    const reply = await this.post({ jsonrpc: '2.0', id: this.nextId++, method, params }, method);
    if (reply.error) throw new RpcError(method, reply.error);
    return reply.result;
  }

  // calls: [[method, params], ...]; resolves to one {result} or {error:
  // RpcError} per call, in order, sending batchSize calls per HTTP request.
  async batch(calls) {
    const out = [];
    for (let i = 0; i < calls.length; i += this.batchSize) {
      const chunk = calls.slice(i, i + this.batchSize);
      const first = this.nextId;
      this.nextId += chunk.length;
      const body = chunk.map(([method, params], k) => ({ jsonrpc: '2.0', id: first + k, method, params }));
      const replies = await this.post(body, `batch of ${chunk.length} ${chunk[0][0]}`);
      if (!Array.isArray(replies)) {
        throw new Error(`batch of ${chunk[0][0]}: the node did not answer with a list: ${JSON.stringify(replies).slice(0, 200)}`);
      }
      const byId = new Map(replies.map((r) => [r.id, r]));
      chunk.forEach(([method], k) => {
        const r = byId.get(first + k);
        if (!r) out.push({ error: new RpcError(method, { message: 'no reply in the batch' }) });
        else if (r.error) out.push({ error: new RpcError(method, r.error) });
        else out.push({ result: r.result });
      });
    }
    return out;
  }

  // Like batch, but the first error throws.
  async batchOk(calls) {
    const results = await this.batch(calls);
    const failed = results.findIndex((r) => r.error);
    if (failed >= 0) throw new Error(`call ${failed + 1} of ${results.length}: ${results[failed].error.message}`);
    return results.map((r) => r.result);
  }

  // Polls until every hash has a receipt; returns them in order.  The
  // interval grows from 10 ms to 250 ms, so instamine chains answer at once
  // and chains with a block time are not hammered.
  async receipts(hashes, { timeoutMs = 120000 } = {}) {
    const found = new Array(hashes.length).fill(null);
    const deadline = Date.now() + timeoutMs;
    let pause = 10;
    for (;;) {
      const pending = [];
      found.forEach((r, i) => r === null && pending.push(i));
      if (!pending.length) return found;
      const results = await this.batchOk(pending.map((i) => ['eth_getTransactionReceipt', [hashes[i]]]));
      results.forEach((r, k) => {
        if (r) found[pending[k]] = r;
      });
      if (found.every((r) => r !== null)) return found;
      if (Date.now() > deadline) {
        const left = found.filter((r) => r === null).length;
        throw new Error(`${left} of ${hashes.length} transactions not mined within ${timeoutMs / 1000} s (first: ${hashes[found.indexOf(null)]})`);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(250, pause * 2);
    }
  }
}

// ---- quantities -------------------------------------------------------

export const qty = (v) => '0x' + BigInt(v).toString(16);
export const num = (hex) => Number(BigInt(hex));

// ---- revert reasons -------------------------------------------------------

const PANIC = {
  0x01: 'assert failed',
  0x11: 'arithmetic overflow or underflow',
  0x12: 'division by zero',
  0x21: 'invalid enum value',
  0x31: 'pop of an empty array',
  0x32: 'array index out of bounds',
  0x41: 'out of memory',
  0x51: 'call of an uninitialised function',
};

// The revert data in a node's error, if any: ganache gives
// {message, data: {result: '0x..', reason}} (or, for some errors,
// data: '0x..'), geth data: '0x..'.
export function revertData(e) {
  const d = e?.data;
  if (typeof d === 'string' && /^0x[0-9a-fA-F]*$/.test(d)) return d;
  if (d && typeof d === 'object') {
    if (typeof d.result === 'string' && /^0x[0-9a-fA-F]*$/.test(d.result)) return d.result;
    if (typeof d.data === 'string' && /^0x[0-9a-fA-F]*$/.test(d.data)) return d.data;
  }
  return null;
}

// Human-readable reason for revert data: Error(string), Panic(uint256), or
// a custom error of one of the given ABIs (VRFCoordinatorV2 uses those).
export function decodeRevert(data, abis = []) {
  if (!data || data === '0x') return 'reverted without a reason';
  const coder = AbiCoder.defaultAbiCoder();
  try {
    if (data.startsWith('0x08c379a0')) return `reverted: ${coder.decode(['string'], '0x' + data.slice(10))[0]}`;
    if (data.startsWith('0x4e487b71')) {
      const code = Number(coder.decode(['uint256'], '0x' + data.slice(10))[0]);
      return `panicked: ${PANIC[code] ?? `code 0x${code.toString(16)}`}`;
    }
  } catch {
    // fall through to the raw data
  }
  for (const abi of abis) {
    try {
      const parsed = new Interface(abi).parseError(data);
      if (parsed) return `reverted with ${parsed.name}(${parsed.args.map(String).join(', ')})`;
    } catch {
      // not this ABI's error
    }
  }
  return `reverted with data ${data}`;
}

// Why a call or transaction failed, from the node's error.
export function failureOf(e, abis) {
  const data = revertData(e);
  if (data !== null) return decodeRevert(data, abis);
  return e?.rpcMessage ?? e?.message ?? String(e);
}
