#!/usr/bin/env node
// On-chain check of linkd's VRF proofs and Schnorr signatures against
// Chainlink's own contracts (VRF.sol through VRFTestHelper, and
// SchnorrSECP256K1.sol) on an in-process ganache chain.
//
//   node tests/onchain/verify.mjs INPUT.json
//
// INPUT.json = {"vrf": [proof, ...], "schnorr": [signature, ...],
// "ethdss": [signature, ...]}, each entry as printed by `linkd vrf prove` /
// `linkd schnorr sign` (ethdss: by tests/tools/ethdss_sign; see README.md).
// Prints TAP, one case per kind of check; exits 0 iff every case is ok.
// Artifacts are cached in $ONCHAIN_CACHE (default tests/onchain/.cache).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The npm dependencies (and the modules using them) are loaded in main(), so
// that a missing `npm ci` shows up as a TAP failure that says how to fix it.
let ethers;
let ec;
let contracts;

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
const CACHE_DIR = process.env.ONCHAIN_CACHE || join(HERE, '.cache');
// eth_calls in flight at once: ganache runs them one after another anyway,
// but keeping a queue saves the round trip between them.
const CONCURRENCY = 32;
// Tampers marked `deep` get far into the verification and cost about as much
// as a valid proof, so they run on an evenly spread subset of at most this
// many proofs (all of them with ONCHAIN_TAMPER_ALL=1); the cheap ones and the
// Schnorr tampers always run on every entry.
const DEEP_LIMIT = process.env.ONCHAIN_TAMPER_ALL === '1' ? Infinity : 50;

// ---- TAP ----------------------------------------------------------------

const cases = [];
function report(description, failures) {
  const n = cases.length + 1;
  if (!failures.length) {
    console.log(`ok ${n} - ${description}`);
  } else {
    const shown = failures.slice(0, 5).join('; ');
    const more = failures.length > 5 ? `; and ${failures.length - 5} more` : '';
    console.log(`not ok ${n} - ${description}: ${failures.length} failed: ${shown}${more}`);
  }
  cases.push(failures.length === 0);
}
const skip = (description, why) => {
  console.log(`ok ${cases.length + 1} - ${description} # SKIP ${why}`);
  cases.push(true);
};

// ---- input parsing ----------------------------------------------------------

function num(value, field) {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value)) {
    const v = BigInt(value);
    if (v < ec.TWO_256) return v;
  }
  throw new Error(`${field}: not a uint256: ${JSON.stringify(value)}`);
}
function point(value, field) {
  if (!Array.isArray(value) || value.length !== 2) throw new Error(`${field}: not an [x, y] pair`);
  return [num(value[0], `${field}[0]`), num(value[1], `${field}[1]`)];
}
function addr(value, field) {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) throw new Error(`${field}: not a 20-byte 0x address`);
  return value.toLowerCase();
}
function hexBytes(value, field) {
  if (typeof value !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(value)) throw new Error(`${field}: not 0x-hex bytes`);
  return value.toLowerCase();
}

// Parses a proof and checks what needs no chain: the keyHash, the marshaled
// form and (for V2) the seed derivation.  Returns the proof in BigInts.
function parseVrf(o) {
  if (typeof o !== 'object' || o === null) throw new Error('not a JSON object');
  const p = {
    pk: point(o.pk, 'pk'),
    gamma: point(o.gamma, 'gamma'),
    c: num(o.c, 'c'),
    s: num(o.s, 's'),
    seed: num(o.seed, 'seed'),
    uWitness: addr(o.uWitness, 'uWitness'),
    cGammaWitness: point(o.cGammaWitness, 'cGammaWitness'),
    sHashWitness: point(o.sHashWitness, 'sHashWitness'),
    zInv: num(o.zInv, 'zInv'),
    output: num(o.output, 'output'),
  };
  // As linkd vrf prove --block-hash prints a VRFCoordinatorV2 proof: `seed`
  // is the request's preSeed, the proof is for keccak(preSeed ‖ blockHash),
  // and `marshaled` carries that actual seed.
  if ('blockHash' in o) {
    p.preSeed = p.seed;
    p.seed = ec.v2Seed(p.preSeed, num(o.blockHash, 'blockHash'));
  }
  const keyHash = hexBytes(o.keyHash, 'keyHash');
  if (keyHash !== ec.keyHash(p.pk)) throw new Error(`keyHash ${keyHash} != keccak(pk) ${ec.keyHash(p.pk)}`);
  const marshaled = hexBytes(o.marshaled, 'marshaled');
  const expected = ec.marshalProof(p);
  if (marshaled.length !== expected.length) throw new Error(`marshaled is ${(marshaled.length - 2) / 2} bytes, not 416`);
  if (marshaled !== expected) {
    const at = [...marshaled].findIndex((ch, i) => ch !== expected[i]);
    throw new Error(`marshaled differs from the fields from byte ${(at - 2) >> 1} on (layout: reference 2.6)`);
  }
  return p;
}

function parseSchnorr(o) {
  if (typeof o !== 'object' || o === null) throw new Error('not a JSON object');
  const parity = num(o.pkYParity, 'pkYParity');
  if (parity > 1n) throw new Error(`pkYParity must be 0 or 1, got ${parity}`);
  return {
    pkX: num(o.pkX, 'pkX'),
    pkYParity: Number(parity),
    signature: num(o.signature, 'signature'),
    msgHash: num(o.msgHash, 'msgHash'),
    nonceTimesGeneratorAddress: addr(o.nonceTimesGeneratorAddress, 'nonceTimesGeneratorAddress'),
  };
}

// ---- chain ------------------------------------------------------------------

class Chain {
  constructor() {
    const ganache = require('ganache');
    this.provider = ganache.provider({
      logging: { quiet: true },
      chain: { allowUnlimitedContractSize: true },
      wallet: { totalAccounts: 1, deterministic: true },
    });
  }

  request(method, ...params) {
    return this.provider.request({ method, params });
  }

  async deploy({ abi, bytecode }) {
    const [from] = await this.request('eth_accounts');
    const hash = await this.request('eth_sendTransaction', { from, data: bytecode, gas: '0x1c9c380' });
    const receipt = await this.request('eth_getTransactionReceipt', hash);
    if (receipt?.status !== '0x1') throw new Error('deployment failed');
    return { address: receipt.contractAddress, iface: new ethers.Interface(abi) };
  }

  // Static call.  Resolves to {result} (decoded) or {revert: reason}; any
  // other error (transport, ABI) throws.
  async call({ address, iface }, fn, args) {
    const data = iface.encodeFunctionData(fn, args);
    try {
      const raw = await this.request('eth_call', { to: address, data }, 'latest');
      return { result: iface.decodeFunctionResult(fn, raw)[0] };
    } catch (e) {
      if (typeof e.data !== 'string' || !/revert/.test(e.message)) throw e;
      return { revert: revertReason(e.data) };
    }
  }

  async estimateGas({ address, iface }, fn, args) {
    return BigInt(await this.request('eth_estimateGas', { to: address, data: iface.encodeFunctionData(fn, args) }));
  }

  close() {
    return this.provider.disconnect();
  }
}

function revertReason(data) {
  if (data.startsWith('0x08c379a0')) return ethers.AbiCoder.defaultAbiCoder().decode(['string'], '0x' + data.slice(10))[0];
  return data === '0x' ? '(no reason)' : `(revert data ${data})`;
}

// Runs check(entry) over the entries, CONCURRENCY at a time, and returns the
// failure messages (check returns one, or null when fine), with the indices
// of the failed entries as `.failed`.  An exception, say from a degenerate
// value that breaks a tamper's arithmetic, is that entry's failure rather
// than the end of the run.
async function failuresOf(entries, what, check) {
  const failures = [];
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const entry = entries[next++];
      try {
        const failure = await check(entry);
        if (failure) failures.push([entry.i, `${what} #${entry.i}: ${failure}`]);
      } catch (e) {
        failures.push([entry.i, `${what} #${entry.i}: ${e.message}`]);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, entries.length) }, worker));
  failures.sort((a, b) => a[0] - b[0]);
  return Object.assign(failures.map(([, message]) => message), { failed: new Set(failures.map(([i]) => i)) });
}

// m entries spread evenly over the list, the first one included.
const spread = (list, m) =>
  list.length <= m ? list : Array.from({ length: m }, (_, k) => list[Math.floor((k * list.length) / m)]);

function show({ revert, result }) {
  if (revert !== undefined) return `reverted '${revert}'`;
  return `returned ${typeof result === 'bigint' ? ec.hexWord(result) : result}`;
}

// ---- VRF ----------------------------------------------------------------

// VRFTestHelper.randomValueFromVRFProof_(VRF.Proof proof, uint256 seed):
// verifies `proof` for `seed` and returns the output.  Like
// VRFCoordinatorV2, the tuple carries the preSeed for V2 proofs while the
// proof is checked against the actual seed (the helper ignores proof.seed).
const VRF_FN = 'randomValueFromVRFProof_';
const vrfArgs = (p, seed = p.seed) => [
  [p.pk, p.gamma, p.c, p.s, p.preSeed ?? p.seed, p.uWitness, p.cGammaWitness, p.sHashWitness, p.zInv],
  seed,
];

// Each tamper leaves exactly one thing wrong.  The expected reason follows
// from the order of checks in VRF._verifyVRFProof (reference 2.5): pk/gamma
// on curve, then addr(c*pk+s*g) == uWitness, then c*gamma and s*H (the
// hash-to-curve point of the seed) witnesses, then z*zInv == 1, then the
// challenge hash.
const VRF_TAMPERS = [
  {
    what: "c with its low bit flipped (witnesses as given) rejected with 'addr(c*pk+s*g)!=_uWitness'",
    expect: 'addr(c*pk+s*g)!=_uWitness',
    apply: (p) => ({ p: { ...p, c: p.c ^ 1n } }),
  },
  {
    // Recomputing uWitness, c*gamma and zInv for the flipped c gets past every
    // witness check, so only the final challenge comparison can catch it.
    what: "c with its low bit flipped and every witness recomputed for it rejected with 'invalid proof'",
    deep: true,
    expect: 'invalid proof',
    apply: (p) => {
      const c = p.c ^ 1n;
      const uWitness = ec.address(ec.pointAdd(ec.pointMul(c, p.pk), ec.pointMul(p.s, ec.G)));
      const cGammaWitness = ec.pointMul(c, p.gamma);
      return { p: { ...p, c, uWitness, cGammaWitness, zInv: ec.zInvFor(cGammaWitness, p.sHashWitness) } };
    },
  },
  {
    what: "s + 1 rejected with 'addr(c*pk+s*g)!=_uWitness'",
    expect: 'addr(c*pk+s*g)!=_uWitness',
    apply: (p) => ({ p: { ...p, s: p.s === ec.N - 1n ? p.s - 1n : p.s + 1n } }),
  },
  {
    // A different seed hashes to a different H, so s*H no longer matches.
    what: "wrong seed (seed + 1) rejected with 'Second mul check failed'",
    deep: true,
    expect: 'Second mul check failed',
    apply: (p) => ({ p, seed: (p.seed + 1n) % ec.TWO_256 }),
  },
  {
    what: "gamma replaced by gamma + G (on the curve) rejected with 'First mul check failed'",
    deep: true,
    expect: 'First mul check failed',
    apply: (p) => ({ p: { ...p, gamma: ec.pointAdd(p.gamma, ec.G) } }),
  },
  {
    what: "zInv + 1 rejected with 'invZ must be inverse of z'",
    deep: true,
    expect: 'invZ must be inverse of z',
    apply: (p) => ({ p: { ...p, zInv: (p.zInv + 1n) % ec.P } }),
  },
];

async function checkVrf(chain, helper, entries) {
  const label = (n) => `${n} VRF proof${n === 1 ? '' : 's'}`;
  if (!entries.length) {
    skip('VRF proofs', 'none in input');
    skip('VRF proofs on chain', 'none in input');
    for (const t of VRF_TAMPERS) skip(`tampered VRF proofs: ${t.what}`, 'none in input');
    return;
  }

  const proofs = [];
  const parseFailures = [];
  entries.forEach((o, i) => {
    try {
      proofs.push({ i, p: parseVrf(o) });
    } catch (e) {
      parseFailures.push(`proof #${i}: ${e.message}`);
    }
  });
  const v2 = entries.filter((o) => o && 'blockHash' in o).length;
  report(`${label(entries.length)}: fields parse, keyHash = keccak(pk), marshaled matches the fields` +
    (v2 ? `, seed = keccak(preSeed ‖ blockHash) (${v2} V2)` : ''), parseFailures);

  const verified = await failuresOf(proofs, 'proof', async ({ p }) => {
    const outcome = await chain.call(helper, VRF_FN, vrfArgs(p));
    if (outcome.revert !== undefined) return show(outcome);
    return outcome.result === p.output ? null : `output ${ec.hexWord(outcome.result)}, expected ${ec.hexWord(p.output)}`;
  });
  report(`${label(proofs.length)} verify with VRFTestHelper.${VRF_FN} and return their output`, verified);

  // Tampering tells something only about a proof that verified; the others
  // have been reported already.
  const good = proofs.filter(({ i }) => !verified.failed.has(i));
  const subset = spread(good, DEEP_LIMIT);
  for (const t of VRF_TAMPERS) {
    const tampered = t.deep ? subset : good;
    const failures = await failuresOf(tampered, 'proof', async ({ p }) => {
      const { p: bad, seed } = t.apply(p);
      const outcome = await chain.call(helper, VRF_FN, vrfArgs(bad, seed));
      return outcome.revert === t.expect ? null : show(outcome);
    });
    const count = tampered.length < good.length ? `${tampered.length} of ${label(good.length)}` : label(good.length);
    report(`${count}${good.length === proofs.length ? '' : ' (those that verify)'} tampered: ${t.what}`, failures);
  }

  // Gas is informative only (the reference measured 50-55k).
  if (good.length) {
    const gas = await chain.estimateGas(helper, VRF_FN, vrfArgs(good[0].p)).catch((e) => `failed (${e.message})`);
    console.log(`# eth_estimateGas of ${VRF_FN} on proof #${good[0].i}: ${gas}`);
  }
}

// ---- Schnorr ------------------------------------------------------------

const SCHNORR_FN = 'verifySignature';
const schnorrArgs = (s) => [s.pkX, s.pkYParity, s.signature, s.msgHash, s.nonceTimesGeneratorAddress];
// Nudges a value by one without leaving [1, limit): the contract reverts on
// zero and on values it does not accept, which would hide a wrong `false`.
const bump = (x, limit) => (x + 1n < limit ? x + 1n : x - 1n);

// Wrong signatures must make verifySignature return false, not revert.
const SCHNORR_TAMPERS = [
  { what: 'signature + 1 returns false', expect: false, apply: (s) => ({ ...s, signature: bump(s.signature, ec.N) }) },
  { what: 'msgHash + 1 returns false', expect: false, apply: (s) => ({ ...s, msgHash: bump(s.msgHash, ec.TWO_256) }) },
  { what: 'pkYParity flipped returns false', expect: false, apply: (s) => ({ ...s, pkYParity: 1 - s.pkYParity }) },
  {
    what: "pkX = HALF_Q reverts with 'Public-key x >= HALF_Q'",
    expect: 'Public-key x >= HALF_Q',
    apply: (s) => ({ ...s, pkX: ec.HALF_Q }),
  },
];

// kind names the entries: "Schnorr signature", or "ethdss threshold
// signature" for group signatures, which the contract checks the same way.
async function checkSchnorr(chain, verifier, entries, kind = 'Schnorr signature') {
  const label = (n) => `${n} ${kind}${n === 1 ? '' : 's'}`;
  if (!entries.length) {
    skip(`${kind}s verify`, 'none in input');
    for (const t of SCHNORR_TAMPERS) skip(`tampered ${kind}s: ${t.what}`, 'none in input');
    return;
  }

  const sigs = [];
  const failures = [];
  entries.forEach((o, i) => {
    try {
      sigs.push({ i, s: parseSchnorr(o) });
    } catch (e) {
      failures.push(`signature #${i}: ${e.message}`);
    }
  });
  const verified = await failuresOf(sigs, 'signature', async ({ s }) => {
    const outcome = await chain.call(verifier, SCHNORR_FN, schnorrArgs(s));
    return outcome.result === true ? null : show(outcome);
  });
  report(`${label(entries.length)} parse and verify with SchnorrSECP256K1.${SCHNORR_FN}`, [...failures, ...verified]);

  const good = sigs.filter(({ i }) => !verified.failed.has(i));
  for (const t of SCHNORR_TAMPERS) {
    const bad = await failuresOf(good, 'signature', async ({ s }) => {
      const outcome = await chain.call(verifier, SCHNORR_FN, schnorrArgs(t.apply(s)));
      const got = outcome.revert !== undefined ? outcome.revert : outcome.result;
      return got === t.expect ? null : show(outcome);
    });
    report(`${label(good.length)}${good.length === sigs.length ? '' : ' (those that verify)'} tampered: ${t.what}`, bad);
  }
}

// ---- main ---------------------------------------------------------------

const PLAN = 1 + 2 + VRF_TAMPERS.length + 2 * (1 + SCHNORR_TAMPERS.length);

async function main() {
  if (process.argv.length !== 3) {
    console.error('usage: node tests/onchain/verify.mjs INPUT.json');
    process.exit(2);
  }
  console.log(`1..${PLAN}`);
  const started = performance.now();
  const ms = (since) => `${Math.round(performance.now() - since)} ms`;

  let input;
  let chain;
  let helper;
  let verifier;
  try {
    try {
      [ethers, ec, contracts] = await Promise.all([import('ethers'), import('./lib/secp256k1.mjs'), import('./lib/contracts.mjs')]);
    } catch (e) {
      throw new Error(`${e.message} (install with: npm ci --prefix ${HERE} --ignore-scripts)`);
    }
    try {
      input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
    } catch (e) {
      throw new Error(`${process.argv[2]}: ${e.message}`);
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error('input is not a JSON object');
    for (const kind of ['vrf', 'schnorr', 'ethdss']) {
      if (input[kind] !== undefined && !Array.isArray(input[kind])) throw new Error(`"${kind}" must be a list`);
    }
    const { CONTRACTS, compile } = contracts;
    const compiling = performance.now();
    const vrfArtifact = compile(CONTRACTS.vrf, CACHE_DIR);
    const schnorrArtifact = compile(CONTRACTS.schnorr, CACHE_DIR);
    console.log(`# compiled in ${ms(compiling)}: VRFTestHelper with ${vrfArtifact.compiler}${vrfArtifact.cached ? ' (cached)' : ''}, ` +
      `SchnorrSECP256K1 with ${schnorrArtifact.compiler}${schnorrArtifact.cached ? ' (cached)' : ''}`);
    chain = new Chain();
    helper = await chain.deploy(vrfArtifact);
    verifier = await chain.deploy(schnorrArtifact);
    report(`input read; VRFTestHelper (${CONTRACTS.vrf.pkg}) and SchnorrSECP256K1 (${CONTRACTS.schnorr.pkg}) compiled and deployed`, []);
  } catch (e) {
    for (let n = 1; n <= PLAN; n++) console.log(`not ok ${n} - setup failed: ${e.message.split('\n')[0]}`);
    for (const line of String(e.stack || e).split('\n')) console.log(`# ${line}`);
    process.exitCode = 1;
    if (chain) await chain.close();
    return;
  }

  const checking = performance.now();
  await checkVrf(chain, helper, input.vrf || []);
  await checkSchnorr(chain, verifier, input.schnorr || []);
  await checkSchnorr(chain, verifier, input.ethdss || [], 'ethdss threshold signature');
  console.log(`# checks took ${ms(checking)}; total ${ms(started)}`);
  await chain.close();
  process.exitCode = cases.every(Boolean) ? 0 : 1;
}

await main();
