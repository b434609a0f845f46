/* See include/linkd/ethdss.h. */
#include "linkd/ethdss.h"

#include <errno.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/keccak.h"

struct lk_dss {
        lk_scalar secret;
        lk_point *participants; /* n */
        size_t n, t;
        lk_dist_key_share long_share, random_share;
        uint8_t message[32];
        uint8_t session_id[32];
        lk_scalar challenge;
        uint8_t nonce_address[LK_ADDRESS_LEN]; /* addr(V) */
        lk_pri_share *partials;                /* up to n */
        bool *have;                            /* n */
        size_t partial_count;
};

static void copy_share(lk_dist_key_share *to, const lk_dist_key_share *from) {
        *to = *from;
        to->commits = lk_malloc(from->t * sizeof *from->commits);
        memcpy(to->commits, from->commits, from->t * sizeof *from->commits);
}

/* keccak(each long commitment in the 33-byte form ‖ each random one). */
static void session_id(const lk_dss *d, uint8_t out[static 32]) {
        lk_keccak k;
        lk_keccak_init(&k);
        const lk_dist_key_share *shares[2] = {&d->long_share, &d->random_share};
        for (int s = 0; s < 2; s++)
                for (size_t i = 0; i < shares[s]->t; i++) {
                        uint8_t short_form[LK_POINT_SHORT_LEN];
                        lk_point_to_short(&shares[s]->commits[i], short_form);
                        lk_keccak_update(&k, short_form, sizeof short_form);
                }
        lk_keccak_final(&k, out);
}

int lk_dss_new(const lk_scalar *secret, const lk_point *participants, size_t n, size_t t,
               const lk_dist_key_share *long_share, const lk_dist_key_share *random_share,
               const uint8_t message[static 32], lk_dss **ret, lk_err *err) {
        if (t < 1 || t > n || long_share->t != t || random_share->t != t)
                return lk_err_set(err, -EINVAL, "the shares' threshold is not t = %zu of n = %zu", t, n);
        if (long_share->share.index >= n || long_share->share.index != random_share->share.index)
                return lk_err_set(err, -EINVAL, "the shares' index is not a participant's");
        lk_point mine;
        lk_point_base_mul(&mine, secret);
        if (!lk_point_equal(&mine, &participants[long_share->share.index]))
                return lk_err_set(err, -EINVAL, "the long-term key is not participant %u's",
                                  long_share->share.index);
        lk_dss *d = lk_calloc(1, sizeof *d);
        d->secret = *secret;
        d->n = n;
        d->t = t;
        d->participants = lk_malloc(n * sizeof *participants);
        memcpy(d->participants, participants, n * sizeof *participants);
        copy_share(&d->long_share, long_share);
        copy_share(&d->random_share, random_share);
        memcpy(d->message, message, 32);
        d->partials = lk_calloc(n, sizeof *d->partials);
        d->have = lk_calloc(n, sizeof *d->have);
        session_id(d, d->session_id);
        lk_point_address(&d->random_share.commits[0], d->nonce_address);
        lk_schnorr_challenge(&d->long_share.commits[0], message, d->nonce_address, &d->challenge);
        *ret = d;
        return 0;
}

lk_dss *lk_dss_free(lk_dss *d) {
        if (!d)
                return NULL;
        lk_scalar_wipe(&d->secret);
        lk_dist_key_share_done(&d->long_share);
        lk_dist_key_share_done(&d->random_share);
        lk_free(d->participants);
        lk_free(d->partials);
        lk_free(d->have);
        lk_free(d);
        return NULL;
}

/* What a partial's sender signs: keccak(keccak(u256(γ)) ‖ sessionID). */
static void partial_digest(const lk_pri_share *partial, const uint8_t session[static 32], uint8_t out[static 32]) {
        uint8_t input[64];
        lk_keccak256(partial->value.b, 32, input);
        memcpy(input + 32, session, 32);
        lk_keccak256(input, sizeof input, out);
}

static void keep(lk_dss *d, const lk_pri_share *partial) {
        d->partials[d->partial_count++] = *partial;
        d->have[partial->index] = true;
}

int lk_dss_partial_sign(lk_dss *d, const lk_random *random, lk_dss_partial *ret, lk_err *err) {
        lk_dss_partial p = {.partial = {.index = d->long_share.share.index}};
        if (d->have[p.partial.index])
                return lk_err_set(err, -EALREADY, "this participant has signed already");
        lk_scalar e_alpha;
        lk_scalar_mul(&e_alpha, &d->challenge, &d->long_share.share.value);
        lk_scalar_sub(&p.partial.value, &d->random_share.share.value, &e_alpha);
        lk_scalar_wipe(&e_alpha);
        memcpy(p.session_id, d->session_id, 32);
        uint8_t digest[32];
        partial_digest(&p.partial, p.session_id, digest);
        int r = lk_schnorr_sign(&d->secret, digest, random, &p.signature, err);
        if (r < 0)
                return r;
        keep(d, &p.partial);
        *ret = p;
        return 0;
}

int lk_dss_process_partial(lk_dss *d, const lk_dss_partial *p, lk_err *err) {
        uint32_t i = p->partial.index;
        if (i >= d->n)
                return lk_err_set(err, -EINVAL, "partial signature from index %u of %zu participants", i, d->n);
        if (memcmp(p->session_id, d->session_id, 32) != 0)
                return lk_err_set(err, -EINVAL, "partial signature from %u is for another session", i);
        uint8_t digest[32];
        partial_digest(&p->partial, p->session_id, digest);
        if (lk_schnorr_verify(&d->participants[i], digest, &p->signature, NULL) < 0)
                return lk_err_set(err, -EINVAL, "partial signature from %u is not signed by its key", i);
        if (d->have[i])
                return lk_err_set(err, -EALREADY, "partial signature from %u received twice", i);
        /* γ_i·G must be V(i) − e·X(i) */
        lk_point random_at, long_at, e_long_at, want, got;
        lk_pub_poly_eval(d->random_share.commits, d->t, i, &random_at);
        lk_pub_poly_eval(d->long_share.commits, d->t, i, &long_at);
        lk_point_mul_public(&e_long_at, &long_at, &d->challenge);
        lk_point_sub(&want, &random_at, &e_long_at);
        lk_point_base_mul(&got, &p->partial.value);
        if (!lk_point_equal(&want, &got))
                return lk_err_set(err, -EINVAL, "partial signature from %u is invalid", i);
        keep(d, &p->partial);
        return 0;
}

bool lk_dss_enough_partials(const lk_dss *d) {
        return d->partial_count >= d->t;
}

int lk_dss_signature(const lk_dss *d, lk_schnorr_signature *ret, lk_err *err) {
        if (!lk_dss_enough_partials(d))
                return lk_err_set(err, -EAGAIN, "%zu partial signatures of the %zu needed", d->partial_count, d->t);
        lk_schnorr_signature sig;
        int r = lk_shares_recover(d->partials, d->partial_count, d->t, &sig.s, err);
        if (r < 0)
                return r;
        memcpy(sig.nonce_address, d->nonce_address, LK_ADDRESS_LEN);
        *ret = sig;
        return 0;
}
