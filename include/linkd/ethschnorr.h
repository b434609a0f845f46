/* Schnorr signatures as SchnorrSECP256K1.sol verifies them (Chainlink's
 * ethschnorr, ../shared/reference/crypto-evm.md section 3):
 *
 *   e = keccak(PKx ‖ parity byte ‖ u256(m) ‖ addr(R)) mod N,  s = k − d·e,
 *   valid when addr(e·PK + s·G) = addr(R).
 *
 * The message is always the full 32-byte word, as the contract hashes it
 * (Chainlink's Go code hashes big.Int.Bytes(), which differs for messages
 * below 2^248 and then fails on chain).  The contract requires PKx < HALF_Q;
 * lk_schnorr_key_generate only returns such keys. */
#ifndef LINKD_ETHSCHNORR_H
#define LINKD_ETHSCHNORR_H

#include <stdbool.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/secp256k1.h"

typedef struct lk_schnorr_signature {
        lk_scalar s;
        uint8_t nonce_address[LK_ADDRESS_LEN]; /* addr(k·G): nonceTimesGeneratorAddress */
} lk_schnorr_signature;

/* A secret whose public key the contract accepts (PKx < HALF_Q). */
int lk_schnorr_key_generate(lk_scalar *ret_secret, lk_point *ret_public, const lk_random *random, lk_err *err);
/* Whether the contract accepts pk as a signing key. */
bool lk_schnorr_public_key_usable(const lk_point *pk);

void lk_schnorr_challenge(const lk_point *pk, const uint8_t message[static 32],
                          const uint8_t nonce_address[static LK_ADDRESS_LEN], lk_scalar *ret);

int lk_schnorr_sign(const lk_scalar *secret, const uint8_t message[static 32], const lk_random *random,
                    lk_schnorr_signature *ret, lk_err *err);
/* With the given nonce, for known-answer tests and ethdss. */
int lk_schnorr_sign_with_nonce(const lk_scalar *secret, const uint8_t message[static 32], const lk_scalar *nonce,
                               lk_schnorr_signature *ret, lk_err *err);
/* 0 when valid; -EINVAL saying why otherwise (the contract's reverts,
 * then "signature does not verify"). */
int lk_schnorr_verify(const lk_point *pk, const uint8_t message[static 32], const lk_schnorr_signature *signature,
                      lk_err *err);

#endif
