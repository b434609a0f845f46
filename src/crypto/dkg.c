/* See include/linkd/dkg.h. */
#include "linkd/dkg.h"

#include <errno.h>
#include <string.h>

#include "linkd/alloc.h"

struct lk_dkg {
        uint32_t index;
        size_t n, t;
        lk_scalar *coefficients; /* t, secret */
        lk_point *commits;       /* t */
        bool *received;          /* n */
        lk_scalar *shares;       /* n: the share from each dealer */
        lk_point *dealer_commits; /* n × t */
};

void lk_dist_key_share_done(lk_dist_key_share *s) {
        if (!s)
                return;
        lk_scalar_wipe(&s->share.value);
        lk_free(s->commits);
        s->commits = NULL;
}

/* ---- polynomials ---- */

static void scalar_of_index(lk_scalar *ret, uint32_t index) {
        lk_scalar_from_u64(ret, (uint64_t)index + 1);
}

/* Σ coefficients[k]·x^k by Horner's rule, in constant time. */
static void poly_eval(const lk_scalar *coefficients, size_t t, uint32_t index, lk_scalar *ret) {
        lk_scalar x, acc = coefficients[t - 1];
        scalar_of_index(&x, index);
        for (size_t k = t - 1; k-- > 0;) {
                lk_scalar_mul(&acc, &acc, &x);
                lk_scalar_add(&acc, &acc, &coefficients[k]);
        }
        *ret = acc;
        lk_scalar_wipe(&acc);
}

void lk_pub_poly_eval(const lk_point *commits, size_t t, uint32_t index, lk_point *ret) {
        lk_scalar x;
        scalar_of_index(&x, index);
        lk_point acc = commits[t - 1];
        for (size_t k = t - 1; k-- > 0;) {
                lk_point_mul_public(&acc, &acc, &x);
                lk_point_add(&acc, &acc, &commits[k]);
        }
        *ret = acc;
}

int lk_shares_recover(const lk_pri_share *shares, size_t count, size_t t, lk_scalar *ret, lk_err *err) {
        if (t == 0 || count < t)
                return lk_err_set(err, -EINVAL, "%zu shares, %zu needed", count, t);
        lk_scalar acc = {{0}};
        for (size_t i = 0; i < t; i++) {
                /* λ_i = Π_{j≠i} x_j / (x_j − x_i), the indices being public */
                lk_scalar xi, num, den, lambda, term;
                scalar_of_index(&xi, shares[i].index);
                lk_scalar_from_u64(&num, 1);
                lk_scalar_from_u64(&den, 1);
                for (size_t j = 0; j < t; j++) {
                        if (j == i)
                                continue;
                        if (shares[j].index == shares[i].index)
                                return lk_err_set(err, -EINVAL, "share %u appears twice", shares[i].index);
                        lk_scalar xj, diff;
                        scalar_of_index(&xj, shares[j].index);
                        lk_scalar_mul(&num, &num, &xj);
                        lk_scalar_sub(&diff, &xj, &xi);
                        lk_scalar_mul(&den, &den, &diff);
                }
                if (lk_scalar_inverse_public(&den, &den) < 0)
                        return lk_err_set(err, -EINVAL, "share indices are not distinct");
                lk_scalar_mul(&lambda, &num, &den);
                lk_scalar_mul(&term, &lambda, &shares[i].value);
                lk_scalar_add(&acc, &acc, &term);
                lk_scalar_wipe(&term);
        }
        *ret = acc;
        lk_scalar_wipe(&acc);
        return 0;
}

/* ---- the DKG ---- */

int lk_dkg_new(uint32_t index, size_t n, size_t t, const lk_random *random, lk_dkg **ret, lk_err *err) {
        if (t < 1 || t > n || index >= n)
                return lk_err_set(err, -EINVAL, "want 1 <= t <= n and index < n (t %zu, n %zu, index %u)", t, n,
                                  index);
        lk_dkg *d = lk_calloc(1, sizeof *d);
        *d = (lk_dkg){.index = index, .n = n, .t = t};
        d->coefficients = lk_calloc(t, sizeof *d->coefficients);
        d->commits = lk_calloc(t, sizeof *d->commits);
        d->received = lk_calloc(n, sizeof *d->received);
        d->shares = lk_calloc(n, sizeof *d->shares);
        d->dealer_commits = lk_calloc(n * t, sizeof *d->dealer_commits);
        for (size_t k = 0; k < t; k++) {
                int r = lk_scalar_random(&d->coefficients[k], random);
                if (r < 0) {
                        lk_dkg_free(d);
                        return lk_err_set(err, r, "cannot read random bytes for the polynomial");
                }
                lk_point_base_mul(&d->commits[k], &d->coefficients[k]);
        }
        *ret = d;
        return 0;
}

lk_dkg *lk_dkg_free(lk_dkg *d) {
        if (!d)
                return NULL;
        for (size_t k = 0; k < d->t; k++)
                lk_scalar_wipe(&d->coefficients[k]);
        for (size_t i = 0; i < d->n; i++)
                lk_scalar_wipe(&d->shares[i]);
        lk_free(d->coefficients);
        lk_free(d->commits);
        lk_free(d->received);
        lk_free(d->shares);
        lk_free(d->dealer_commits);
        lk_free(d);
        return NULL;
}

void lk_dkg_deal_for(const lk_dkg *d, uint32_t recipient, lk_dkg_deal *ret) {
        *ret = (lk_dkg_deal){.dealer = d->index, .recipient = recipient, .commits = d->commits, .t = d->t};
        poly_eval(d->coefficients, d->t, recipient, &ret->share);
}

int lk_dkg_receive(lk_dkg *d, const lk_dkg_deal *deal, lk_err *err) {
        if (deal->recipient != d->index || deal->dealer >= d->n || deal->t != d->t)
                return lk_err_set(err, -EINVAL, "deal from %u is not for this participant or this threshold",
                                  deal->dealer);
        lk_point expected, got;
        lk_pub_poly_eval(deal->commits, deal->t, d->index, &expected);
        lk_point_base_mul(&got, &deal->share);
        if (!lk_point_equal(&expected, &got))
                return lk_err_set(err, -EINVAL, "the share from dealer %u does not match its commitments",
                                  deal->dealer);
        d->shares[deal->dealer] = deal->share;
        memcpy(&d->dealer_commits[deal->dealer * d->t], deal->commits, d->t * sizeof *deal->commits);
        d->received[deal->dealer] = true;
        return 0;
}

int lk_dkg_finish(const lk_dkg *d, const bool *qualified, lk_dist_key_share *ret, lk_err *err) {
        lk_dist_key_share s = {.t = d->t, .share = {.index = d->index}};
        s.commits = lk_calloc(d->t, sizeof *s.commits);
        for (size_t k = 0; k < d->t; k++)
                lk_point_infinity(&s.commits[k]);
        size_t dealers = 0;
        for (size_t i = 0; i < d->n; i++) {
                if (!qualified[i])
                        continue;
                if (!d->received[i]) {
                        lk_dist_key_share_done(&s);
                        return lk_err_set(err, -EINVAL, "no deal from qualified dealer %zu", i);
                }
                lk_scalar_add(&s.share.value, &s.share.value, &d->shares[i]);
                for (size_t k = 0; k < d->t; k++)
                        lk_point_add(&s.commits[k], &s.commits[k], &d->dealer_commits[i * d->t + k]);
                dealers++;
        }
        if (dealers == 0) {
                lk_dist_key_share_done(&s);
                return lk_err_set(err, -EINVAL, "no qualified dealers");
        }
        *ret = s;
        return 0;
}
