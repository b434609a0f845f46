#!/usr/bin/env node
// ethers' AbiCoder for tests/pipeline/test_abi.c and test_tasks_ethabi.c.
// Reads a JSON list of cases {types: [...], values: [...], hex: "0x...",
// signature: "f(uint256)"} (hex and signature optional) from the file
// named by the first argument; writes a JSON list, one entry per case:
// {hex: ethers' encoding of values, decoded: ethers' decoding of hex,
// selector: the first four bytes of the signature's keccak-256} or
// {error: "..."}.  Decoded values are normalised as the C test writes
// them: integers as decimal strings, addresses and bytes as lowercase
// 0x-hex, arrays and tuples as arrays.
//
//   node tests/onchain/abi-coder.mjs cases.json

import { readFileSync } from 'node:fs';
import { AbiCoder, ParamType, id } from 'ethers';

const coder = AbiCoder.defaultAbiCoder();

function normalise(type, v) {
  switch (type.baseType) {
    case 'tuple':
      return type.components.map((c, i) => normalise(c, v[i]));
    case 'array':
      return Array.from(v, (x) => normalise(type.arrayChildren, x));
    case 'address':
      return v.toLowerCase();
    case 'bool':
    case 'string':
      return v;
    default:
      if (typeof v === 'bigint') return v.toString();
      return v.toLowerCase();
  }
}

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = cases.map(({ types, values, hex, signature }) => {
  try {
    const params = types.map((t) => ParamType.from(t));
    const answer = { hex: coder.encode(types, values) };
    if (hex !== undefined) {
      const decoded = coder.decode(types, hex);
      answer.decoded = params.map((p, i) => normalise(p, decoded[i]));
    }
    if (signature !== undefined) answer.selector = id(signature).slice(0, 10);
    return answer;
  } catch (e) {
    return { error: String(e.shortMessage ?? e.message) };
  }
});
process.stdout.write(JSON.stringify(out));
