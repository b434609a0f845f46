/* The secp256k1 group as Chainlink's kyber suite presents it
 * (core/services/signatures/secp256k1), on libsecp256k1: every point
 * operation and every operation on a secret scalar is the library's, which
 * keeps them constant-time; GMP serves only public field arithmetic
 * (src/crypto/field.h).
 *
 * Encodings Chainlink uses and the contracts hash:
 *   long form   64 bytes x ‖ y, big-endian (kyber's "LongMarshal");
 *   short form  33 bytes x ‖ parity, the parity byte *last*, 0x00 for an
 *               even y and 0x01 for an odd one (kyber's MarshalBinary; not
 *               SEC1's 02/03 ‖ x);
 *   address     the last 20 bytes of keccak256(long form).
 * Scalars are 32 bytes big-endian, below the group order N.
 *
 * The library's context is the one process-wide object here: created once
 * (and randomised against side channels) on first use, read-only after. */
#ifndef LINKD_SECP256K1_H
#define LINKD_SECP256K1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "linkd/err.h"

#define LK_SCALAR_LEN 32
#define LK_POINT_LEN 64
#define LK_POINT_SHORT_LEN 33
#define LK_ADDRESS_LEN 20

/* A source of random bytes: 0, or a negative errno.  Production code
 * passes NULL for the kernel's CSPRNG; tests pass a seeded one. */
typedef struct lk_random {
        int (*fill)(void *arg, uint8_t *out, size_t len);
        void *arg;
} lk_random;

/* Fills out from random, or from getrandom(2) when random is NULL. */
int lk_random_bytes(const lk_random *random, uint8_t *out, size_t len);

typedef struct lk_scalar {
        uint8_t b[LK_SCALAR_LEN]; /* big-endian, < N */
} lk_scalar;

/* The point at infinity is a flag: libsecp256k1's keys cannot hold it. */
typedef struct lk_point {
        bool infinity;
        secp256k1_pubkey key;
} lk_point;

/* The library's context (see above). */
const secp256k1_context *lk_secp256k1_context(void);

/* ---- scalars ---- */

/* The group order N and (N >> 1) + 1, the Schnorr contract's HALF_Q. */
extern const lk_scalar lk_scalar_order;
extern const lk_scalar lk_scalar_half_order;

/* bytes < N (the scalars Chainlink's RepresentsScalar accepts). */
bool lk_scalar_in_range(const uint8_t bytes[static LK_SCALAR_LEN]);
/* bytes as a number, reduced mod N (kyber's SetBytes).  For public
 * values: hashes, challenges. */
void lk_scalar_reduce(lk_scalar *ret, const uint8_t bytes[static LK_SCALAR_LEN]);
void lk_scalar_from_u64(lk_scalar *ret, uint64_t v);
bool lk_scalar_is_zero(const lk_scalar *a);
/* Whether b[0..n) are all zero, in time that depends on n only (the
 * bytes may be secret). */
static inline bool lk_bytes_are_zero(const uint8_t *b, size_t n) {
        uint8_t any = 0;
        for (size_t i = 0; i < n; i++)
                any |= b[i];
        return any == 0;
}
bool lk_scalar_equal(const lk_scalar *a, const lk_scalar *b);
/* Uniform in [1, N). */
int lk_scalar_random(lk_scalar *ret, const lk_random *random);
/* Arithmetic mod N, constant-time in the values (the library's).  ret may
 * be an argument. */
void lk_scalar_add(lk_scalar *ret, const lk_scalar *a, const lk_scalar *b);
void lk_scalar_sub(lk_scalar *ret, const lk_scalar *a, const lk_scalar *b);
void lk_scalar_mul(lk_scalar *ret, const lk_scalar *a, const lk_scalar *b);
void lk_scalar_negate(lk_scalar *ret, const lk_scalar *a);
/* a⁻¹ mod N, for public values only (Lagrange coefficients); -EDOM for 0. */
int lk_scalar_inverse_public(lk_scalar *ret, const lk_scalar *a);
/* Zeroes a secret in a way the compiler keeps. */
void lk_scalar_wipe(lk_scalar *a);

/* ---- points ---- */

void lk_point_infinity(lk_point *ret);
/* k·G; the identity for k = 0. */
void lk_point_base_mul(lk_point *ret, const lk_scalar *k);
/* k·p. */
void lk_point_mul(lk_point *ret, const lk_point *p, const lk_scalar *k);
void lk_point_add(lk_point *ret, const lk_point *a, const lk_point *b);
/* a·p + b·G and k·p for public values only (verifiers): variable-time, as
 * fast as an ECDSA verification, by the trick the contracts play with
 * ecrecover (recovery computes r⁻¹·(s·R − e·G) for a chosen R). */
void lk_point_lincomb_public(lk_point *ret, const lk_scalar *a, const lk_point *p, const lk_scalar *b);
void lk_point_mul_public(lk_point *ret, const lk_point *p, const lk_scalar *k);
void lk_point_sub(lk_point *ret, const lk_point *a, const lk_point *b);
void lk_point_negate(lk_point *ret, const lk_point *a);
bool lk_point_equal(const lk_point *a, const lk_point *b);

/* The long form; the identity as 64 zero bytes (btcec's (0, 0)). */
void lk_point_to_long(const lk_point *p, uint8_t out[static LK_POINT_LEN]);
/* A point on the curve from its long form; -EINVAL (saying why) for
 * coordinates ≥ P, (0, 0) or a pair off the curve. */
int lk_point_from_long(lk_point *ret, const uint8_t in[static LK_POINT_LEN], lk_err *err);
void lk_point_to_short(const lk_point *p, uint8_t out[static LK_POINT_SHORT_LEN]);
int lk_point_from_short(lk_point *ret, const uint8_t in[static LK_POINT_SHORT_LEN], lk_err *err);
/* The x coordinate, and whether y is odd; the identity has x = 0, even. */
void lk_point_x(const lk_point *p, uint8_t out[static 32]);
bool lk_point_y_is_odd(const lk_point *p);
/* Ethereum's address of the point (of the identity: of 64 zero bytes). */
void lk_point_address(const lk_point *p, uint8_t out[static LK_ADDRESS_LEN]);

#endif
