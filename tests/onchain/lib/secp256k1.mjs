// Minimal secp256k1 arithmetic plus the Chainlink VRF / Schnorr formulas
// (reference crypto-evm.md, sections 2 and 3), written from the reference's
// definitions rather than from any prover's source, so it can check linkd's
// output independently.  Not constant time: test use only, never for secrets
// that matter.

import { keccak256 } from 'ethers';

export const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;
export const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
export const G = [
  0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798n,
  0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8n,
];
// SchnorrSECP256K1.sol refuses public keys whose x is not below this.
export const HALF_Q = (N >> 1n) + 1n;
export const TWO_256 = 1n << 256n;

export const mod = (a, m) => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

export function modPow(base, exp, m) {
  let result = 1n;
  base = mod(base, m);
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % m;
    base = (base * base) % m;
    exp >>= 1n;
  }
  return result;
}

// Extended Euclid: much faster than Fermat for BigInt.
export function modInv(a, m) {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  if (r0 === 0n) throw new Error('no inverse of 0');
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

export const isOnCurve = ([x, y]) =>
  x < P && y < P && mod(y * y - x * x * x - 7n, P) === 0n;

// Affine points are [x, y]; the point at infinity is null.
export function pointAdd(p, q) {
  if (p === null) return q;
  if (q === null) return p;
  if (p[0] === q[0]) {
    if (mod(p[1] + q[1], P) === 0n) return null;
    const l = mod(3n * p[0] * p[0] * modInv(2n * p[1], P), P);
    const x = mod(l * l - 2n * p[0], P);
    return [x, mod(l * (p[0] - x) - p[1], P)];
  }
  const l = mod((q[1] - p[1]) * modInv(q[0] - p[0], P), P);
  const x = mod(l * l - p[0] - q[0], P);
  return [x, mod(l * (p[0] - x) - p[1], P)];
}

// Jacobian coordinates inside scalar multiplication: one inversion per
// multiplication instead of one per step.
function jacDouble([x, y, z]) {
  if (y === 0n) return [0n, 1n, 0n];
  const yy = (y * y) % P;
  const s = (4n * x * yy) % P;
  const m = (3n * x * x) % P;
  const x3 = mod(m * m - 2n * s, P);
  return [x3, mod(m * (s - x3) - 8n * yy * yy, P), (2n * y * z) % P];
}

function jacAddAffine(j, [qx, qy]) {
  const [x, y, z] = j;
  if (z === 0n) return [qx, qy, 1n];
  const zz = (z * z) % P;
  const u2 = (qx * zz) % P;
  const s2 = (qy * zz * z) % P;
  const h = mod(u2 - x, P);
  const r = mod(s2 - y, P);
  if (h === 0n) return r === 0n ? jacDouble(j) : [0n, 1n, 0n];
  const hh = (h * h) % P;
  const hhh = (hh * h) % P;
  const v = (x * hh) % P;
  const x3 = mod(r * r - hhh - 2n * v, P);
  return [x3, mod(r * (v - x3) - y * hhh, P), (z * h) % P];
}

export function pointMul(k, p) {
  k = mod(k, N);
  let acc = [0n, 1n, 0n];
  for (let i = BigInt(k.toString(2).length) - 1n; i >= 0n; i--) {
    acc = jacDouble(acc);
    if ((k >> i) & 1n) acc = jacAddAffine(acc, p);
  }
  if (acc[2] === 0n) return null;
  const zi = modInv(acc[2], P);
  const zi2 = (zi * zi) % P;
  return [(acc[0] * zi2) % P, (acc[1] * zi2 * zi) % P];
}

// ---- byte helpers -------------------------------------------------------

export const hex32 = (x) => x.toString(16).padStart(64, '0');
export const hexWord = (x) => '0x' + hex32(x);
const hexOf = (s) => s.replace(/^0x/i, '').toLowerCase();

// keccak over the concatenation of hex chunks (no 0x prefixes) as a uint256.
export const keccakHex = (...chunks) => BigInt(keccak256('0x' + chunks.join('')));

// Ethereum address of a point: last 20 bytes of keccak(u256(x) ‖ u256(y)).
export const address = ([x, y]) =>
  '0x' + keccakHex(hex32(x), hex32(y)).toString(16).padStart(64, '0').slice(24);

// ---- VRF (reference section 2) -----------------------------------------

export const keyHash = (pk) => hexWord(keccakHex(hex32(pk[0]), hex32(pk[1])));

export const vrfOutput = (gamma) => keccakHex(hex32(3n), hex32(gamma[0]), hex32(gamma[1]));

// V2: the proof is for keccak(u256(preSeed) ‖ blockHash).
export const v2Seed = (preSeed, blockHash) => keccakHex(hex32(preSeed), hex32(BigInt(blockHash)));

function fieldHash(hexBytes) {
  let r = keccakHex(hexBytes);
  while (r >= P) r = keccakHex(hex32(r));
  return r;
}

export function hashToCurve(pk, seed) {
  let x = fieldHash(hex32(1n) + hex32(pk[0]) + hex32(pk[1]) + hex32(seed));
  for (;;) {
    const y2 = mod(x * x * x + 7n, P);
    let y = modPow(y2, (P + 1n) / 4n, P);
    if ((y * y) % P === y2) {
      if (y & 1n) y = P - y;
      return [x, y];
    }
    x = fieldHash(hex32(x));
  }
}

// c = keccak(u256(2) ‖ H ‖ PK ‖ Γ ‖ V ‖ uWitness)
export const vrfChallenge = (h, pk, gamma, v, uWitness) =>
  keccakHex(hex32(2n), ...[h, pk, gamma, v].flatMap((q) => [hex32(q[0]), hex32(q[1])]), hexOf(uWitness));

// zInv the contract expects for cGammaWitness + sHashWitness: the projective Z
// of VRF._projectiveECAdd is lz^5 with lz = sHashWitness.x - cGammaWitness.x.
export const zInvFor = (cGammaWitness, sHashWitness) =>
  modInv(modPow(mod(sHashWitness[0] - cGammaWitness[0], P), 5n, P), P);

// The 416-byte MarshaledProof (reference 2.6), 0x-hex.
export function marshalProof({ pk, gamma, c, s, seed, uWitness, cGammaWitness, sHashWitness, zInv }) {
  return '0x' + [
    pk[0], pk[1], gamma[0], gamma[1], c, s, seed, BigInt(uWitness),
    cGammaWitness[0], cGammaWitness[1], sHashWitness[0], sHashWitness[1], zInv,
  ].map(hex32).join('');
}

// A prover with an explicit nonce, for fixtures and for tampering that needs
// consistent witnesses.  Fields are BigInts / hex addresses.
export function vrfProve(sk, seed, nonce) {
  const pk = pointMul(sk, G);
  const h = hashToCurve(pk, seed);
  const gamma = pointMul(sk, h);
  const uWitness = address(pointMul(nonce, G));
  const c = vrfChallenge(h, pk, gamma, pointMul(nonce, h), uWitness);
  const s = mod(nonce - c * sk, N);
  return withWitnesses({ pk, gamma, c, s, seed, uWitness }, h);
}

// Adds the witnesses VRF.sol checks the linear combination with
// (cGammaWitness = c*gamma, sHashWitness = s*H, zInv); h defaults to the
// hash-to-curve point of the proof's seed.
export function withWitnesses(proof, h = hashToCurve(proof.pk, proof.seed)) {
  const cGammaWitness = pointMul(proof.c, proof.gamma);
  const sHashWitness = pointMul(proof.s, h);
  return { ...proof, cGammaWitness, sHashWitness, zInv: zInvFor(cGammaWitness, sHashWitness) };
}

// ---- Schnorr (reference section 3) --------------------------------------

// e = keccak(u256(PKx) ‖ parity byte ‖ u256(m) ‖ Raddr)
export const schnorrChallenge = (pkX, parity, msgHash, rAddr) =>
  keccakHex(hex32(pkX), parity ? '01' : '00', hex32(msgHash), hexOf(rAddr));

export function schnorrSign(sk, msgHash, nonce) {
  const pk = pointMul(sk, G);
  const rAddr = address(pointMul(nonce, G));
  const parity = Number(pk[1] & 1n);
  const e = schnorrChallenge(pk[0], parity, msgHash, rAddr);
  return { pkX: pk[0], pkYParity: parity, signature: mod(nonce - sk * e, N), msgHash, nonceTimesGeneratorAddress: rAddr };
}
