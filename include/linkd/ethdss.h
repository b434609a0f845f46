/* Distributed Schnorr signatures as Chainlink's ethdss makes them (kyber's
 * sign/dss, Stinson–Strobl 2001, with ethschnorr's challenge;
 * ../shared/reference/crypto-evm.md section 4): t of n participants, each
 * holding a share α_i of a long-term key X and β_i of a one-time key V
 * (both from lk_dkg, no dealer), publish partial signatures
 * γ_i = β_i − e·α_i with e = challenge(X, addr(V), m); any t valid ones
 * interpolate to s, and (s, addr(V)) verifies as an ordinary ethschnorr
 * signature under X, on SchnorrSECP256K1.sol too when X's x is below
 * HALF_Q.
 *
 * Each partial is authenticated by an ethschnorr signature of its sender's
 * long-term key over keccak(keccak(u256(γ_i)) ‖ sessionID) and checked
 * against the public polynomials: γ_i·G = V(i) − e·X(i). */
#ifndef LINKD_ETHDSS_H
#define LINKD_ETHDSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/dkg.h"
#include "linkd/err.h"
#include "linkd/ethschnorr.h"

typedef struct lk_dss_partial {
        lk_pri_share partial;
        uint8_t session_id[32];
        lk_schnorr_signature signature;
} lk_dss_partial;

typedef struct lk_dss lk_dss;

/* One participant's signing session for message.  secret is its
 * long-term key, participants the n long-term public keys by index (its
 * own at long_share->share.index); both shares come from DKGs among the
 * same n with threshold t.  The shares and keys are copied. */
int lk_dss_new(const lk_scalar *secret, const lk_point *participants, size_t n, size_t t,
               const lk_dist_key_share *long_share, const lk_dist_key_share *random_share,
               const uint8_t message[static 32], lk_dss **ret, lk_err *err);
lk_dss *lk_dss_free(lk_dss *d);
/* This participant's partial signature (kept as one of the partials too). */
int lk_dss_partial_sign(lk_dss *d, const lk_random *random, lk_dss_partial *ret, lk_err *err);
/* Checks another's partial and keeps it; -EINVAL saying what is wrong
 * (index, session, signature, duplicate, or the partial itself). */
int lk_dss_process_partial(lk_dss *d, const lk_dss_partial *partial, lk_err *err);
bool lk_dss_enough_partials(const lk_dss *d);
/* The signature from t valid partials; -EAGAIN with fewer. */
int lk_dss_signature(const lk_dss *d, lk_schnorr_signature *ret, lk_err *err);

#endif
