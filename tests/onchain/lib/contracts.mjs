// Compiles Chainlink's own contracts straight from the npm packages in
// node_modules (nothing of theirs is copied into this repository) with the
// solc-js compilers that the npm `solc` packages ship, caching the result.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';

const require = createRequire(import.meta.url);

export const CONTRACTS = {
  // VRF.sol (v0.8) behind its test helper, which exposes the internal
  // verification functions.  1.1.1 is the package version the reference
  // checked; 0.8.19 emits no PUSH0 (its default evmVersion is paris).
  vrf: {
    pkg: '@chainlink/contracts-1.1.1',
    file: 'src/v0.8/vrf/testhelpers/VRFTestHelper.sol',
    name: 'VRFTestHelper',
    compiler: 'solc',
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'paris' },
  },
  // Only the 0.x packages still ship the Schnorr verifier; its pragma is
  // ^0.5.0, hence the second compiler (npm alias of solc 0.5.17).
  schnorr: {
    pkg: '@chainlink/contracts-0.8.0',
    file: 'src/v0.5/dev/SchnorrSECP256K1.sol',
    name: 'SchnorrSECP256K1',
    compiler: 'solc-0.5',
    settings: { optimizer: { enabled: true, runs: 200 } },
  },
};

const packageRoot = (pkg) => dirname(require.resolve(`${pkg}/package.json`));

// A source unit name that starts with a scoped npm package
// ("@chainlink/contracts-1.1.1/src/...") is read from that package in
// node_modules; any other name from the spec's own root (its package, or
// `dir` for contracts of our own in tests/onchain/contracts).
function sourcePath(root, unit) {
  const scoped = unit.match(/^(@[^/]+\/[^/]+)\/(.+)$/);
  if (scoped) return join(packageRoot(scoped[1]), scoped[2]);
  return join(root, unit);
}

// Gathers the contract and everything it imports so that the compiler needs
// no import callback -- whose signature differs between solc-js 0.5 (a
// function) and 0.6+ ({import: fn}) -- and so that the cache key covers every
// source read.  Imports are relative, or name a scoped npm package (solc's
// rule: a relative import resolves against the importing unit's name, so the
// package's own relative imports stay inside it).
function collectSources(root, entry) {
  const sources = {};
  const pending = [entry];
  while (pending.length) {
    const path = pending.pop();
    if (sources[path]) continue;
    let content;
    try {
      content = readFileSync(sourcePath(root, path), 'utf8');
    } catch (e) {
      throw new Error(`cannot read Solidity source ${path}: ${e.message}`);
    }
    sources[path] = { content };
    for (const [, target] of content.matchAll(/^\s*import\s+(?:[^'"]*?from\s+)?["']([^"']+)["']/gm)) {
      if (target.startsWith('.')) pending.push(posix.normalize(posix.join(posix.dirname(path), target)));
      else if (target.startsWith('@')) pending.push(posix.normalize(target));
      else throw new Error(`${path}: import ${target} is neither relative nor a scoped npm package`);
    }
  }
  return sources;
}

function standardInput(spec) {
  return {
    language: 'Solidity',
    sources: collectSources(spec.dir ?? packageRoot(spec.pkg), spec.file),
    settings: { ...spec.settings, outputSelection: { [spec.file]: { [spec.name]: ['abi', 'evm.bytecode.object'] } } },
  };
}

// Returns {abi, bytecode, cached}.  The cache key hashes the compiler version
// and the complete standard-JSON input (sources + settings), so a change of
// package, compiler or settings recompiles.  The version is read from the
// compiler package's package.json: loading soljson itself costs ~0.5 s.
export function compile(spec, cacheDir) {
  const input = standardInput(spec);
  const compilerVersion = require(`${spec.compiler}/package.json`).version;
  const key = createHash('sha256').update(JSON.stringify({ compilerVersion, input })).digest('hex');
  const cacheFile = join(cacheDir, `${spec.name}-${key.slice(0, 24)}.json`);
  try {
    return { ...JSON.parse(readFileSync(cacheFile, 'utf8')), cached: true };
  } catch {
    // not cached yet (or unreadable): compile below
  }

  const solc = require(spec.compiler);
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(`${spec.name}: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const contract = output.contracts[spec.file][spec.name];
  const artifact = { compiler: solc.version(), abi: contract.abi, bytecode: '0x' + contract.evm.bytecode.object };

  // Write then rename, so a concurrent run never reads a half-written file.
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(artifact));
  renameSync(tmp, cacheFile);
  return { ...artifact, cached: false };
}
