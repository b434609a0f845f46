/* Chainlink's secp256k1 VRF (core/services/keystore/keys/vrfkey,
 * core/services/vrf/proof), verified on chain by VRF.sol inside
 * VRFCoordinatorV2.  ../shared/reference/crypto-evm.md section 2 is the
 * specification: hash-to-curve by try-and-increment, the challenge over
 * H, PK, Γ, V and addr(U), the witnesses Solidity needs, the 416-byte
 * marshaled proof and the V2 seed and ABI forms.
 *
 * Proofs take a fresh nonce each time (not RFC 6979): only Γ and the
 * output are deterministic. */
#ifndef LINKD_VRF_H
#define LINKD_VRF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/secp256k1.h"

#define LK_VRF_MARSHALED_LEN 416
#define LK_WORD 32

typedef struct lk_vrf_proof {
        lk_point pk;
        lk_point gamma;
        uint8_t c[LK_WORD];      /* the full 256-bit challenge hash; < N */
        lk_scalar s;
        uint8_t seed[LK_WORD];   /* the seed the proof is for */
        uint8_t output[LK_WORD]; /* keccak(3 ‖ Γ) */
} lk_vrf_proof;

/* What VRF.sol needs beside the proof, because it cannot multiply. */
typedef struct lk_vrf_solidity_proof {
        lk_vrf_proof proof;
        uint8_t u_witness[LK_ADDRESS_LEN]; /* addr(c·PK + s·G) */
        lk_point c_gamma_witness;          /* c·Γ */
        lk_point s_hash_witness;           /* s·H */
        uint8_t z_inv[LK_WORD];            /* the inverse of the contract's projective z */
} lk_vrf_solidity_proof;

/* hashToCurve(pk, seed): the point with an even y that VRF.sol derives. */
int lk_vrf_hash_to_curve(const lk_point *pk, const uint8_t seed[static LK_WORD], lk_point *ret, lk_err *err);

/* A proof for seed under the secret key (PK = secret·G), with a nonce
 * from random (NULL: the kernel).  The proof is checked before it is
 * returned. */
int lk_vrf_prove(const lk_scalar *secret, const uint8_t seed[static LK_WORD], const lk_random *random,
                 lk_vrf_proof *ret, lk_err *err);
/* As lk_vrf_prove with the given nonce (Go's GenerateProofWithNonce), for
 * known-answer tests; -EAGAIN when that nonce is the degenerate one. */
int lk_vrf_prove_with_nonce(const lk_scalar *secret, const uint8_t seed[static LK_WORD], const lk_scalar *nonce,
                            lk_vrf_proof *ret, lk_err *err);
/* 0 when the proof holds (and its output is keccak(3 ‖ Γ)); -EINVAL with
 * the reason otherwise. */
int lk_vrf_verify(const lk_vrf_proof *proof, lk_err *err);

/* The witnesses (Go's SolidityPrecalculations). */
int lk_vrf_solidity(const lk_vrf_proof *proof, lk_vrf_solidity_proof *ret, lk_err *err);
/* The 416-byte form: PK, Γ, c, s, seed, uWitness (left-padded), cΓ, sH, zInv. */
void lk_vrf_marshal(const lk_vrf_solidity_proof *proof, uint8_t out[static LK_VRF_MARSHALED_LEN]);
/* Reads PK, Γ, c, s and seed back (as Go does) and recomputes the
 * output; the witnesses are checked to be the ones the proof implies. */
int lk_vrf_unmarshal(const uint8_t in[static LK_VRF_MARSHALED_LEN], lk_vrf_solidity_proof *ret, lk_err *err);

/* keyHash = keccak(PKx ‖ PKy), VRFCoordinatorV2's hashOfKey. */
void lk_vrf_key_hash(const lk_point *pk, uint8_t out[static LK_WORD]);
/* The V2 actual seed keccak(preSeed ‖ blockHash). */
void lk_vrf_seed_v2(const uint8_t pre_seed[static LK_WORD], const uint8_t block_hash[static LK_WORD],
                    uint8_t out[static LK_WORD]);
/* requestId = keccak(keyHash ‖ preSeed). */
void lk_vrf_request_id(const uint8_t key_hash[static LK_WORD], const uint8_t pre_seed[static LK_WORD],
                       uint8_t out[static LK_WORD]);
/* randomWords[i] = keccak(output ‖ u256(i)) for i < count. */
void lk_vrf_random_words(const uint8_t output[static LK_WORD], uint32_t count, uint8_t (*out)[LK_WORD]);

/* VRFCoordinatorV2's RequestCommitment. */
typedef struct lk_vrf_request_commitment {
        uint64_t block_num;
        uint64_t sub_id;
        uint32_t callback_gas_limit;
        uint32_t num_words;
        uint8_t sender[LK_ADDRESS_LEN];
} lk_vrf_request_commitment;

#define LK_VRF_FULFILL_CALLDATA_LEN (4 + 18 * LK_WORD)
/* The calldata of fulfillRandomWords(Proof, RequestCommitment) (selector
 * 0xaf198b97): the proof's 13 words with the seed replaced by pre_seed,
 * as the coordinator expects, then the commitment's 5. */
void lk_vrf_fulfill_calldata(const lk_vrf_solidity_proof *proof, const uint8_t pre_seed[static LK_WORD],
                             const lk_vrf_request_commitment *rc, uint8_t out[static LK_VRF_FULFILL_CALLDATA_LEN]);

#endif
