/* Threshold secrets over the secp256k1 group: Shamir shares, public
 * (Feldman) commitment polynomials, Lagrange recovery, and a Pedersen
 * distributed key generation (Gennaro et al.'s joint-Feldman protocol,
 * kyber's dkg/pedersen) in which no participant ever knows the shared
 * secret: each deals a random polynomial, checks the shares it receives
 * against the dealers' commitments, and keeps the sum of the qualified
 * dealers' shares.
 *
 * Indices run from 0; as in kyber, share i is the polynomial's value at
 * x = i + 1.  The transport between participants is the caller's (in
 * process in the tests); deals carry secret shares and must travel
 * privately. */
#ifndef LINKD_DKG_H
#define LINKD_DKG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/secp256k1.h"

typedef struct lk_pri_share {
        uint32_t index;
        lk_scalar value;
} lk_pri_share;

/* A participant's result: its share of the secret and the public
 * polynomial (t commitments; commits[0] is the shared public key). */
typedef struct lk_dist_key_share {
        size_t t;
        lk_point *commits; /* owned */
        lk_pri_share share;
} lk_dist_key_share;

/* Wipes the share and frees the commitments; accepts NULL. */
void lk_dist_key_share_done(lk_dist_key_share *s);

/* Σ commits[k]·(index+1)^k: share index's public value. */
void lk_pub_poly_eval(const lk_point *commits, size_t t, uint32_t index, lk_point *ret);
/* The polynomial's value at 0 from count ≥ t shares with distinct
 * indices (Lagrange); -EINVAL for too few or repeated indices. */
int lk_shares_recover(const lk_pri_share *shares, size_t count, size_t t, lk_scalar *ret, lk_err *err);

/* ---- the DKG ---- */

typedef struct lk_dkg lk_dkg;

/* What dealer sends recipient: the secret share f(recipient + 1) and the
 * dealer's commitments (borrowed from the dealer, t of them). */
typedef struct lk_dkg_deal {
        uint32_t dealer, recipient;
        lk_scalar share;
        const lk_point *commits;
        size_t t;
} lk_dkg_deal;

/* Participant index of n with threshold t (1 ≤ t ≤ n): draws its random
 * polynomial of degree t − 1 from random (NULL: the kernel). */
int lk_dkg_new(uint32_t index, size_t n, size_t t, const lk_random *random, lk_dkg **ret, lk_err *err);
lk_dkg *lk_dkg_free(lk_dkg *d);
/* The deal for recipient (wipe deal.share once sent). */
void lk_dkg_deal_for(const lk_dkg *d, uint32_t recipient, lk_dkg_deal *ret);
/* Checks the share against the dealer's commitments and keeps both;
 * -EINVAL (naming the dealer) when the share does not match them, which
 * the participants answer by leaving the dealer out of the qualified set. */
int lk_dkg_receive(lk_dkg *d, const lk_dkg_deal *deal, lk_err *err);
/* The key share from the dealers marked in qualified (n flags, agreed by
 * all); -EINVAL when a qualified dealer's deal was not received. */
int lk_dkg_finish(const lk_dkg *d, const bool *qualified, lk_dist_key_share *ret, lk_err *err);

#endif
