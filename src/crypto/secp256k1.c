/* See include/linkd/secp256k1.h. */
#include "linkd/secp256k1.h"

#include <errno.h>
#include <gmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "linkd/keccak.h"

#include <secp256k1_recovery.h>

const lk_scalar lk_scalar_order = {{
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
        0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
}};

const lk_scalar lk_scalar_half_order = {{
        0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa1,
}};

/* The field prime P. */
static const uint8_t field_prime[32] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xfc, 0x2f,
};

/* ---- the context and randomness ---- */

static secp256k1_context *context;
static pthread_once_t context_once = PTHREAD_ONCE_INIT;

static void create_context(void) {
        context = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
        uint8_t seed[32];
        /* Blinding is a defence in depth: without randomness the context
         * still computes correctly. */
        if (lk_random_bytes(NULL, seed, sizeof seed) == 0 && !secp256k1_context_randomize(context, seed))
                abort();
        explicit_bzero(seed, sizeof seed);
}

const secp256k1_context *lk_secp256k1_context(void) {
        pthread_once(&context_once, create_context);
        return context;
}

int lk_random_bytes(const lk_random *random, uint8_t *out, size_t len) {
        if (random)
                return random->fill(random->arg, out, len);
        for (size_t got = 0; got < len;) {
                ssize_t r = getrandom(out + got, len - got, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t)r;
        }
        return 0;
}

/* ---- scalars ---- */

/* a < b as 32-byte big-endian numbers; for public values. */
static bool less_than(const uint8_t a[static 32], const uint8_t b[static 32]) {
        return memcmp(a, b, 32) < 0;
}

bool lk_scalar_in_range(const uint8_t bytes[static LK_SCALAR_LEN]) {
        return less_than(bytes, lk_scalar_order.b);
}

void lk_scalar_reduce(lk_scalar *ret, const uint8_t bytes[static LK_SCALAR_LEN]) {
        memcpy(ret->b, bytes, LK_SCALAR_LEN);
        if (lk_scalar_in_range(bytes))
                return;
        /* 2N > 2^256: one subtraction reduces any 256-bit number. */
        int borrow = 0;
        for (int i = LK_SCALAR_LEN - 1; i >= 0; i--) {
                int d = bytes[i] - lk_scalar_order.b[i] - borrow;
                borrow = d < 0;
                ret->b[i] = (uint8_t)(d + (borrow ? 256 : 0));
        }
}

void lk_scalar_from_u64(lk_scalar *ret, uint64_t v) {
        memset(ret->b, 0, LK_SCALAR_LEN);
        for (int i = 0; i < 8; i++)
                ret->b[LK_SCALAR_LEN - 1 - i] = (uint8_t)(v >> (8 * i));
}

bool lk_scalar_is_zero(const lk_scalar *a) {
        uint8_t any = 0;
        for (size_t i = 0; i < LK_SCALAR_LEN; i++)
                any |= a->b[i];
        return any == 0;
}

bool lk_scalar_equal(const lk_scalar *a, const lk_scalar *b) {
        uint8_t diff = 0;
        for (size_t i = 0; i < LK_SCALAR_LEN; i++)
                diff |= a->b[i] ^ b->b[i];
        return diff == 0;
}

int lk_scalar_random(lk_scalar *ret, const lk_random *random) {
        for (;;) {
                int r = lk_random_bytes(random, ret->b, LK_SCALAR_LEN);
                if (r < 0)
                        return r;
                if (secp256k1_ec_seckey_verify(lk_secp256k1_context(), ret->b))
                        return 0;
        }
}

/* libsecp256k1 refuses zero operands and zero results (a secret key of 0
 * is invalid); in a group zero is an ordinary value.  Checking for it
 * reveals only whether a value is zero, which for secrets happens with
 * probability 2^-256. */
void lk_scalar_add(lk_scalar *ret, const lk_scalar *a, const lk_scalar *b) {
        lk_scalar t = *a;
        if (lk_scalar_is_zero(&t))
                t = *b;
        else if (!secp256k1_ec_seckey_tweak_add(lk_secp256k1_context(), t.b, b->b))
                memset(t.b, 0, sizeof t.b); /* a + b = N */
        *ret = t;
        lk_scalar_wipe(&t);
}

void lk_scalar_negate(lk_scalar *ret, const lk_scalar *a) {
        lk_scalar t = *a;
        if (!lk_scalar_is_zero(&t) && !secp256k1_ec_seckey_negate(lk_secp256k1_context(), t.b))
                abort(); /* a is below N by construction */
        *ret = t;
        lk_scalar_wipe(&t);
}

void lk_scalar_sub(lk_scalar *ret, const lk_scalar *a, const lk_scalar *b) {
        lk_scalar minus_b;
        lk_scalar_negate(&minus_b, b);
        lk_scalar_add(ret, a, &minus_b);
        lk_scalar_wipe(&minus_b);
}

void lk_scalar_mul(lk_scalar *ret, const lk_scalar *a, const lk_scalar *b) {
        lk_scalar t = *a;
        if (lk_scalar_is_zero(&t) || lk_scalar_is_zero(b))
                memset(t.b, 0, sizeof t.b);
        else if (!secp256k1_ec_seckey_tweak_mul(lk_secp256k1_context(), t.b, b->b))
                abort(); /* a product of non-zero scalars mod a prime is non-zero */
        *ret = t;
        lk_scalar_wipe(&t);
}

int lk_scalar_inverse_public(lk_scalar *ret, const lk_scalar *a) {
        mpz_t x, n;
        mpz_inits(x, n, NULL);
        mpz_import(x, LK_SCALAR_LEN, 1, 1, 1, 0, a->b);
        mpz_import(n, LK_SCALAR_LEN, 1, 1, 1, 0, lk_scalar_order.b);
        int ok = mpz_invert(x, x, n);
        if (ok) {
                size_t count;
                memset(ret->b, 0, LK_SCALAR_LEN);
                uint8_t buf[LK_SCALAR_LEN];
                mpz_export(buf, &count, 1, 1, 1, 0, x);
                memcpy(ret->b + LK_SCALAR_LEN - count, buf, count);
        }
        mpz_clears(x, n, NULL);
        return ok ? 0 : -EDOM;
}

void lk_scalar_wipe(lk_scalar *a) {
        explicit_bzero(a->b, sizeof a->b);
}

/* ---- points ---- */

void lk_point_infinity(lk_point *ret) {
        memset(ret, 0, sizeof *ret);
        ret->infinity = true;
}

void lk_point_base_mul(lk_point *ret, const lk_scalar *k) {
        lk_point p = {.infinity = false};
        if (lk_scalar_is_zero(k) || !secp256k1_ec_pubkey_create(lk_secp256k1_context(), &p.key, k->b))
                lk_point_infinity(&p);
        *ret = p;
}

void lk_point_mul(lk_point *ret, const lk_point *p, const lk_scalar *k) {
        lk_point r = *p;
        if (r.infinity || lk_scalar_is_zero(k) ||
            !secp256k1_ec_pubkey_tweak_mul(lk_secp256k1_context(), &r.key, k->b))
                lk_point_infinity(&r);
        *ret = r;
}

void lk_point_add(lk_point *ret, const lk_point *a, const lk_point *b) {
        if (a->infinity) {
                *ret = *b;
                return;
        }
        if (b->infinity) {
                *ret = *a;
                return;
        }
        const secp256k1_pubkey *both[2] = {&a->key, &b->key};
        lk_point r = {.infinity = false};
        if (!secp256k1_ec_pubkey_combine(lk_secp256k1_context(), &r.key, both, 2))
                lk_point_infinity(&r); /* b = -a */
        *ret = r;
}

/* Recovery with R = p: r = p.x mod N, the recovery id p's parity (plus 2
 * when p.x ≥ N), s' = a·r and e = −b·r give r⁻¹·(a·r·p + b·r·G). */
void lk_point_lincomb_public(lk_point *ret, const lk_scalar *a, const lk_point *p, const lk_scalar *b) {
        if (p->infinity || lk_scalar_is_zero(a)) {
                lk_point_base_mul(ret, b);
                return;
        }
        uint8_t short_form[LK_POINT_SHORT_LEN];
        lk_point_to_short(p, short_form);
        lk_scalar r, s_prime, e;
        lk_scalar_reduce(&r, short_form);
        int recovery_id = short_form[32] | (lk_scalar_in_range(short_form) ? 0 : 2);
        if (lk_scalar_is_zero(&r)) { /* p.x = 0 or N: no such points on secp256k1, but stay exact */
                lk_point ap, bg;
                lk_point_mul(&ap, p, a);
                lk_point_base_mul(&bg, b);
                lk_point_add(ret, &ap, &bg);
                return;
        }
        lk_scalar_mul(&s_prime, a, &r);
        lk_scalar_mul(&e, b, &r);
        lk_scalar_negate(&e, &e);
        const secp256k1_context *ctx = lk_secp256k1_context();
        uint8_t compact[64];
        memcpy(compact, r.b, 32);
        memcpy(compact + 32, s_prime.b, 32);
        secp256k1_ecdsa_recoverable_signature sig;
        lk_point q = {.infinity = false};
        if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, compact, recovery_id) ||
            !secp256k1_ecdsa_recover(ctx, &q.key, &sig, e.b))
                lk_point_infinity(&q); /* the sum is the identity */
        *ret = q;
}

void lk_point_mul_public(lk_point *ret, const lk_point *p, const lk_scalar *k) {
        static const lk_scalar zero;
        lk_point_lincomb_public(ret, k, p, &zero);
}

void lk_point_negate(lk_point *ret, const lk_point *a) {
        lk_point r = *a;
        if (!r.infinity && !secp256k1_ec_pubkey_negate(lk_secp256k1_context(), &r.key))
                abort();
        *ret = r;
}

void lk_point_sub(lk_point *ret, const lk_point *a, const lk_point *b) {
        lk_point minus_b;
        lk_point_negate(&minus_b, b);
        lk_point_add(ret, a, &minus_b);
}

bool lk_point_equal(const lk_point *a, const lk_point *b) {
        if (a->infinity || b->infinity)
                return a->infinity == b->infinity;
        return secp256k1_ec_pubkey_cmp(lk_secp256k1_context(), &a->key, &b->key) == 0;
}

void lk_point_to_long(const lk_point *p, uint8_t out[static LK_POINT_LEN]) {
        if (p->infinity) {
                memset(out, 0, LK_POINT_LEN);
                return;
        }
        uint8_t sec1[65];
        size_t len = sizeof sec1;
        secp256k1_ec_pubkey_serialize(lk_secp256k1_context(), sec1, &len, &p->key, SECP256K1_EC_UNCOMPRESSED);
        memcpy(out, sec1 + 1, LK_POINT_LEN);
}

int lk_point_from_long(lk_point *ret, const uint8_t in[static LK_POINT_LEN], lk_err *err) {
        if (!less_than(in, field_prime) || !less_than(in + 32, field_prime))
                return lk_err_set(err, -EINVAL, "point coordinate is not below the field prime");
        if (lk_bytes_are_zero(in, LK_POINT_LEN))
                return lk_err_set(err, -EINVAL, "point is the identity (0, 0)");
        uint8_t sec1[65] = {0x04};
        memcpy(sec1 + 1, in, LK_POINT_LEN);
        lk_point p = {.infinity = false};
        if (!secp256k1_ec_pubkey_parse(lk_secp256k1_context(), &p.key, sec1, sizeof sec1))
                return lk_err_set(err, -EINVAL, "point is not on the curve");
        *ret = p;
        return 0;
}

void lk_point_to_short(const lk_point *p, uint8_t out[static LK_POINT_SHORT_LEN]) {
        if (p->infinity) {
                memset(out, 0, LK_POINT_SHORT_LEN);
                return;
        }
        uint8_t sec1[33];
        size_t len = sizeof sec1;
        secp256k1_ec_pubkey_serialize(lk_secp256k1_context(), sec1, &len, &p->key, SECP256K1_EC_COMPRESSED);
        memcpy(out, sec1 + 1, 32);
        out[32] = sec1[0] == 0x03;
}

int lk_point_from_short(lk_point *ret, const uint8_t in[static LK_POINT_SHORT_LEN], lk_err *err) {
        if (in[32] > 1)
                return lk_err_set(err, -EINVAL, "point's parity byte is 0x%02x, not 0x00 or 0x01", in[32]);
        if (!less_than(in, field_prime))
                return lk_err_set(err, -EINVAL, "point coordinate is not below the field prime");
        uint8_t sec1[33] = {(uint8_t)(0x02 + in[32])};
        memcpy(sec1 + 1, in, 32);
        lk_point p = {.infinity = false};
        if (!secp256k1_ec_pubkey_parse(lk_secp256k1_context(), &p.key, sec1, sizeof sec1))
                return lk_err_set(err, -EINVAL, "no point on the curve has that x coordinate");
        *ret = p;
        return 0;
}

void lk_point_x(const lk_point *p, uint8_t out[static 32]) {
        uint8_t s[LK_POINT_SHORT_LEN];
        lk_point_to_short(p, s);
        memcpy(out, s, 32);
}

bool lk_point_y_is_odd(const lk_point *p) {
        uint8_t s[LK_POINT_SHORT_LEN];
        lk_point_to_short(p, s);
        return s[32] == 1;
}

void lk_point_address(const lk_point *p, uint8_t out[static LK_ADDRESS_LEN]) {
        uint8_t xy[LK_POINT_LEN], hash[LK_KECCAK256_LEN];
        lk_point_to_long(p, xy);
        lk_keccak256(xy, sizeof xy, hash);
        memcpy(out, hash + 12, LK_ADDRESS_LEN);
}
