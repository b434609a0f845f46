/* See include/linkd/vrf.h.  Field arithmetic on public values (hash to
 * curve, zInv) is GMP's; everything on points is libsecp256k1's through
 * lk_point; the secret key only meets lk_point_base_mul, lk_point_mul and
 * lk_scalar arithmetic. */
#include "linkd/vrf.h"

#include <errno.h>
#include <gmp.h>
#include <string.h>

#include "linkd/keccak.h"

enum { HASH_TO_CURVE_PREFIX = 1, SCALAR_FROM_POINTS_PREFIX = 2, RANDOM_OUTPUT_PREFIX = 3 };

/* ---- field arithmetic (public values) ---- */

typedef struct field {
        mpz_t p;
} field;

/* P, the order of secp256k1's base field, big-endian. */
static const uint8_t FIELD_P[LK_WORD] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xfc, 0x2f,
};

static void field_init(field *f) {
        mpz_init(f->p);
        mpz_import(f->p, LK_WORD, 1, 1, 1, 0, FIELD_P);
}

static void field_done(field *f) {
        mpz_clear(f->p);
}

static void word_to_mpz(mpz_t out, const uint8_t word[static LK_WORD]) {
        mpz_import(out, LK_WORD, 1, 1, 1, 0, word);
}

static void mpz_to_word(uint8_t out[static LK_WORD], const mpz_t v) {
        size_t count = 0;
        uint8_t buf[LK_WORD];
        memset(out, 0, LK_WORD);
        mpz_export(buf, &count, 1, 1, 1, 0, v);
        memcpy(out + LK_WORD - count, buf, count);
}

static void put_u256(uint8_t out[static LK_WORD], uint64_t v) {
        lk_scalar s;
        lk_scalar_from_u64(&s, v);
        memcpy(out, s.b, LK_WORD);
}

/* fieldHash: keccak, rehashed until the result is below P.  Both are
 * 32-byte big-endian words, so memcmp orders them. */
static void field_hash(const uint8_t *data, size_t len, uint8_t out[static LK_WORD]) {
        lk_keccak256(data, len, out);
        while (memcmp(out, FIELD_P, LK_WORD) >= 0)
                lk_keccak256(out, LK_WORD, out);
}

/* hashToCurve: candidates x from fieldHash until x³ + 7 is a square; of
 * its two roots VRF.sol keeps the even one, which is what decoding the
 * short form x ‖ 0x00 gives (libsecp256k1 takes the square root). */
int lk_vrf_hash_to_curve(const lk_point *pk, const uint8_t seed[static LK_WORD], lk_point *ret, lk_err *err) {
        if (pk->infinity)
                return lk_err_set(err, -EINVAL, "public key is the identity");
        uint8_t input[4 * LK_WORD];
        put_u256(input, HASH_TO_CURVE_PREFIX);
        lk_point_to_long(pk, input + LK_WORD);
        memcpy(input + 3 * LK_WORD, seed, LK_WORD);
        uint8_t candidate[LK_POINT_SHORT_LEN] = {0};
        field_hash(input, sizeof input, candidate);
        while (lk_point_from_short(ret, candidate, NULL) != 0)
                field_hash(candidate, LK_WORD, candidate);
        return 0;
}

/* ---- the proof ---- */

/* c = keccak(2 ‖ H ‖ PK ‖ Γ ‖ V ‖ addr(U)), not reduced. */
static void challenge(const lk_point *h, const lk_point *pk, const lk_point *gamma, const lk_point *v,
                      const uint8_t u_address[static LK_ADDRESS_LEN], uint8_t out[static LK_WORD]) {
        uint8_t input[LK_WORD + 4 * LK_POINT_LEN + LK_ADDRESS_LEN];
        put_u256(input, SCALAR_FROM_POINTS_PREFIX);
        lk_point_to_long(h, input + LK_WORD);
        lk_point_to_long(pk, input + LK_WORD + LK_POINT_LEN);
        lk_point_to_long(gamma, input + LK_WORD + 2 * LK_POINT_LEN);
        lk_point_to_long(v, input + LK_WORD + 3 * LK_POINT_LEN);
        memcpy(input + LK_WORD + 4 * LK_POINT_LEN, u_address, LK_ADDRESS_LEN);
        lk_keccak256(input, sizeof input, out);
}

static void output_of(const lk_point *gamma, uint8_t out[static LK_WORD]) {
        uint8_t input[LK_WORD + LK_POINT_LEN];
        put_u256(input, RANDOM_OUTPUT_PREFIX);
        lk_point_to_long(gamma, input + LK_WORD);
        lk_keccak256(input, sizeof input, out);
}


/* What a verifier derives from a proof: H = hashToCurve(PK, seed),
 * U = c·PK + s·G, c·Γ and s·H (all from public values, so by the fast
 * variable-time forms). */
typedef struct derived {
        lk_point h, u, c_gamma, s_h;
} derived;

static int derive(const lk_vrf_proof *proof, derived *d, lk_err *err) {
        if (proof->pk.infinity || proof->gamma.infinity)
                return lk_err_set(err, -EINVAL, "public key or gamma is the identity");
        if (!lk_scalar_in_range(proof->c) || !lk_scalar_in_range(proof->s.b))
                return lk_err_set(err, -EINVAL, "c or s is not below the group order");
        int r = lk_vrf_hash_to_curve(&proof->pk, proof->seed, &d->h, err);
        if (r < 0)
                return r;
        lk_scalar c;
        memcpy(c.b, proof->c, LK_WORD);
        lk_point_lincomb_public(&d->u, &c, &proof->pk, &proof->s);
        lk_point_mul_public(&d->c_gamma, &proof->gamma, &c);
        lk_point_mul_public(&d->s_h, &d->h, &proof->s);
        return 0;
}

/* The verification proper, on what derive found. */
static int check(const lk_vrf_proof *proof, const derived *d, lk_err *err) {
        lk_point v;
        lk_point_add(&v, &d->c_gamma, &d->s_h);
        uint8_t u_address[LK_ADDRESS_LEN], c_check[LK_WORD], output[LK_WORD];
        lk_point_address(&d->u, u_address);
        challenge(&d->h, &proof->pk, &proof->gamma, &v, u_address, c_check);
        if (memcmp(c_check, proof->c, LK_WORD) != 0)
                return lk_err_set(err, -EINVAL, "invalid proof: the challenge does not match");
        output_of(&proof->gamma, output);
        if (memcmp(output, proof->output, LK_WORD) != 0)
                return lk_err_set(err, -EINVAL, "the output is not the hash of gamma");
        return 0;
}

int lk_vrf_prove_with_nonce(const lk_scalar *secret, const uint8_t seed[static LK_WORD], const lk_scalar *nonce,
                            lk_vrf_proof *ret, lk_err *err) {
        if (lk_scalar_is_zero(secret))
                return lk_err_set(err, -EINVAL, "the secret key is zero");
        lk_vrf_proof p = {.s = {{0}}};
        lk_point h, u, v;
        lk_point_base_mul(&p.pk, secret);
        int r = lk_vrf_hash_to_curve(&p.pk, seed, &h, err);
        if (r < 0)
                return r;
        lk_point_mul(&p.gamma, &h, secret);
        lk_point_base_mul(&u, nonce);
        lk_point_mul(&v, &h, nonce);
        uint8_t u_address[LK_ADDRESS_LEN];
        lk_point_address(&u, u_address);
        challenge(&h, &p.pk, &p.gamma, &v, u_address, p.c);
        if (!lk_scalar_in_range(p.c))
                return lk_err_set(err, -EAGAIN, "the challenge is not below the group order");
        lk_scalar c, c_secret;
        memcpy(c.b, p.c, LK_WORD);
        lk_scalar_mul(&c_secret, &c, secret);
        lk_scalar_sub(&p.s, nonce, &c_secret);
        lk_scalar_wipe(&c_secret);
        memcpy(p.seed, seed, LK_WORD);
        output_of(&p.gamma, p.output);
        derived d;
        if (derive(&p, &d, err) < 0 || check(&p, &d, err) < 0) {
                lk_err_prefix(err, "the new proof does not verify");
                if (err)
                        err->code = -EIO;
                return -EIO;
        }
        /* VRF.sol adds c·Γ and s·H with a formula that fails on equal points */
        if (lk_point_equal(&d.c_gamma, &d.s_h))
                return lk_err_set(err, -EAGAIN, "c·Γ equals s·H for this nonce");
        *ret = p;
        return 0;
}

int lk_vrf_prove(const lk_scalar *secret, const uint8_t seed[static LK_WORD], const lk_random *random,
                 lk_vrf_proof *ret, lk_err *err) {
        for (;;) {
                lk_scalar nonce;
                int r = lk_scalar_random(&nonce, random);
                if (r < 0)
                        return lk_err_set(err, r, "cannot read random bytes for the nonce");
                r = lk_vrf_prove_with_nonce(secret, seed, &nonce, ret, err);
                lk_scalar_wipe(&nonce);
                if (r != -EAGAIN)
                        return r;
        }
}

int lk_vrf_verify(const lk_vrf_proof *proof, lk_err *err) {
        derived d;
        int r = derive(proof, &d, err);
        return r < 0 ? r : check(proof, &d, err);
}

/* ---- what Solidity needs ---- */

int lk_vrf_solidity(const lk_vrf_proof *proof, lk_vrf_solidity_proof *ret, lk_err *err) {
        lk_vrf_solidity_proof sp = {.proof = *proof};
        derived d;
        int r = derive(proof, &d, err);
        if (r < 0)
                return r;
        lk_point_address(&d.u, sp.u_witness);
        sp.c_gamma_witness = d.c_gamma;
        sp.s_hash_witness = d.s_h;
        if (sp.c_gamma_witness.infinity || sp.s_hash_witness.infinity)
                return lk_err_set(err, -EINVAL, "c·Γ or s·H is the identity");
        /* VRF.sol's projective sum of two affine points (z = 1) has
         * z = (qx − px)⁵. */
        uint8_t px[LK_WORD], qx[LK_WORD];
        lk_point_x(&sp.c_gamma_witness, px);
        lk_point_x(&sp.s_hash_witness, qx);
        field f;
        field_init(&f);
        mpz_t a, b;
        mpz_inits(a, b, NULL);
        word_to_mpz(a, qx);
        word_to_mpz(b, px);
        mpz_sub(a, a, b);
        mpz_mod(a, a, f.p);
        mpz_powm_ui(a, a, 5, f.p);
        int invertible = mpz_invert(a, a, f.p);
        mpz_to_word(sp.z_inv, a);
        mpz_clears(a, b, NULL);
        field_done(&f);
        if (!invertible)
                return lk_err_set(err, -EINVAL, "points in sum must be distinct");
        *ret = sp;
        return 0;
}

void lk_vrf_marshal(const lk_vrf_solidity_proof *sp, uint8_t out[static LK_VRF_MARSHALED_LEN]) {
        lk_point_to_long(&sp->proof.pk, out);
        lk_point_to_long(&sp->proof.gamma, out + 64);
        memcpy(out + 128, sp->proof.c, LK_WORD);
        memcpy(out + 160, sp->proof.s.b, LK_WORD);
        memcpy(out + 192, sp->proof.seed, LK_WORD);
        memset(out + 224, 0, 12);
        memcpy(out + 236, sp->u_witness, LK_ADDRESS_LEN);
        lk_point_to_long(&sp->c_gamma_witness, out + 256);
        lk_point_to_long(&sp->s_hash_witness, out + 320);
        memcpy(out + 384, sp->z_inv, LK_WORD);
}

int lk_vrf_unmarshal(const uint8_t in[static LK_VRF_MARSHALED_LEN], lk_vrf_solidity_proof *ret, lk_err *err) {
        lk_vrf_proof p = {.s = {{0}}};
        int r = lk_point_from_long(&p.pk, in, err);
        if (r < 0) {
                lk_err_prefix(err, "public key");
                return r;
        }
        if ((r = lk_point_from_long(&p.gamma, in + 64, err)) < 0) {
                lk_err_prefix(err, "gamma");
                return r;
        }
        if (!lk_scalar_in_range(in + 128) || !lk_scalar_in_range(in + 160))
                return lk_err_set(err, -EINVAL, "c or s is not below the group order");
        memcpy(p.c, in + 128, LK_WORD);
        memcpy(p.s.b, in + 160, LK_WORD);
        memcpy(p.seed, in + 192, LK_WORD);
        output_of(&p.gamma, p.output);
        lk_vrf_solidity_proof sp;
        if ((r = lk_vrf_solidity(&p, &sp, err)) < 0)
                return r;
        uint8_t again[LK_VRF_MARSHALED_LEN];
        lk_vrf_marshal(&sp, again);
        if (memcmp(again + 224, in + 224, LK_VRF_MARSHALED_LEN - 224) != 0)
                return lk_err_set(err, -EINVAL, "the witnesses are not the ones the proof implies");
        *ret = sp;
        return 0;
}

/* ---- V2 ---- */

void lk_vrf_key_hash(const lk_point *pk, uint8_t out[static LK_WORD]) {
        uint8_t xy[LK_POINT_LEN];
        lk_point_to_long(pk, xy);
        lk_keccak256(xy, sizeof xy, out);
}

static void hash_two_words(const uint8_t a[static LK_WORD], const uint8_t b[static LK_WORD],
                           uint8_t out[static LK_WORD]) {
        uint8_t input[2 * LK_WORD];
        memcpy(input, a, LK_WORD);
        memcpy(input + LK_WORD, b, LK_WORD);
        lk_keccak256(input, sizeof input, out);
}

void lk_vrf_seed_v2(const uint8_t pre_seed[static LK_WORD], const uint8_t block_hash[static LK_WORD],
                    uint8_t out[static LK_WORD]) {
        hash_two_words(pre_seed, block_hash, out);
}

void lk_vrf_request_id(const uint8_t key_hash[static LK_WORD], const uint8_t pre_seed[static LK_WORD],
                       uint8_t out[static LK_WORD]) {
        hash_two_words(key_hash, pre_seed, out);
}

void lk_vrf_random_words(const uint8_t output[static LK_WORD], uint32_t count, uint8_t (*out)[LK_WORD]) {
        for (uint32_t i = 0; i < count; i++) {
                uint8_t index[LK_WORD];
                put_u256(index, i);
                hash_two_words(output, index, out[i]);
        }
}

static uint8_t *put_address_word(uint8_t *at, const uint8_t address[static LK_ADDRESS_LEN]) {
        memset(at, 0, 12);
        memcpy(at + 12, address, LK_ADDRESS_LEN);
        return at + LK_WORD;
}

void lk_vrf_fulfill_calldata(const lk_vrf_solidity_proof *sp, const uint8_t pre_seed[static LK_WORD],
                             const lk_vrf_request_commitment *rc, uint8_t out[static LK_VRF_FULFILL_CALLDATA_LEN]) {
        static const uint8_t selector[4] = {0xaf, 0x19, 0x8b, 0x97};
        uint8_t marshaled[LK_VRF_MARSHALED_LEN];
        lk_vrf_marshal(sp, marshaled);
        memcpy(marshaled + 192, pre_seed, LK_WORD);
        memcpy(out, selector, 4);
        memcpy(out + 4, marshaled, LK_VRF_MARSHALED_LEN);
        uint8_t *at = out + 4 + LK_VRF_MARSHALED_LEN;
        put_u256(at, rc->block_num);
        put_u256(at + LK_WORD, rc->sub_id);
        put_u256(at + 2 * LK_WORD, rc->callback_gas_limit);
        put_u256(at + 3 * LK_WORD, rc->num_words);
        put_address_word(at + 4 * LK_WORD, rc->sender);
}
