#!/usr/bin/env node
// Writes an input for verify.mjs with COUNT VRF proofs and COUNT Schnorr
// signatures from the independent JavaScript prover in lib/secp256k1.mjs, in
// the format `linkd vrf prove` / `linkd schnorr sign` print.  Keys, seeds and
// nonces are derived from the index, so the output is reproducible.  It is
// for exercising the harness itself (load, timing, negative tests) and for
// cross-checking linkd's output field by field; it is not a linkd test.
//
//   node tests/onchain/gen-fixtures.mjs [COUNT] > /tmp/proofs.json

import * as ec from './lib/secp256k1.mjs';

const count = Number(process.argv[2] ?? 200);
const derive = (label, i) => ec.mod(ec.keccakHex(Buffer.from(`${label}/${i}`).toString('hex')), ec.N - 1n) + 1n;
const word = ec.hexWord;
const pair = (q) => q.map(word);

function vrfEntry(i) {
  const sk = derive('vrf-sk', i);
  // Every fourth proof is a V2 one: proven for keccak(preSeed ‖ blockHash).
  const v2 = i % 4 === 3;
  const preSeed = derive('vrf-preseed', i);
  const blockHash = word(derive('vrf-blockhash', i));
  const seed = v2 ? ec.v2Seed(preSeed, blockHash) : derive('vrf-seed', i);
  const p = ec.vrfProve(sk, seed, derive('vrf-nonce', i));
  return {
    // linkd's V2 form: `seed` is the preSeed, `blockHash` beside it.
    pk: pair(p.pk), gamma: pair(p.gamma), c: word(p.c), s: word(p.s), seed: word(v2 ? preSeed : p.seed),
    uWitness: p.uWitness,
    cGammaWitness: pair(p.cGammaWitness), sHashWitness: pair(p.sHashWitness), zInv: word(p.zInv),
    output: word(ec.vrfOutput(p.gamma)), keyHash: ec.keyHash(p.pk), marshaled: ec.marshalProof(p),
    ...(v2 ? { blockHash } : {}),
  };
}

function schnorrEntry(i) {
  // The contract only accepts keys with x < HALF_Q: resample as linkd must.
  let sk = derive('schnorr-sk', i);
  while (ec.pointMul(sk, ec.G)[0] >= ec.HALF_Q) sk = derive('schnorr-sk', `${i}+${sk}`);
  const sig = ec.schnorrSign(sk, derive('schnorr-msg', i), derive('schnorr-nonce', i));
  // Alternate the two accepted encodings of pkYParity.
  return { ...sig, pkX: word(sig.pkX), pkYParity: i % 2 ? `0x${sig.pkYParity}` : sig.pkYParity,
    signature: word(sig.signature), msgHash: word(sig.msgHash) };
}

const range = (n) => Array.from({ length: n }, (_, i) => i);
process.stdout.write(JSON.stringify({ vrf: range(count).map(vrfEntry), schnorr: range(count).map(schnorrEntry) }) + '\n');
