/* See include/linkd/ethschnorr.h. */
#include "linkd/ethschnorr.h"

#include <errno.h>
#include <string.h>

#include "linkd/keccak.h"

bool lk_schnorr_public_key_usable(const lk_point *pk) {
        uint8_t x[32];
        lk_point_x(pk, x);
        return !pk->infinity && memcmp(x, lk_scalar_half_order.b, 32) < 0;
}

int lk_schnorr_key_generate(lk_scalar *ret_secret, lk_point *ret_public, const lk_random *random, lk_err *err) {
        for (;;) {
                int r = lk_scalar_random(ret_secret, random);
                if (r < 0)
                        return lk_err_set(err, r, "cannot read random bytes for a key");
                lk_point_base_mul(ret_public, ret_secret);
                if (lk_schnorr_public_key_usable(ret_public))
                        return 0;
        }
}

void lk_schnorr_challenge(const lk_point *pk, const uint8_t message[static 32],
                          const uint8_t nonce_address[static LK_ADDRESS_LEN], lk_scalar *ret) {
        uint8_t input[LK_POINT_SHORT_LEN + 32 + LK_ADDRESS_LEN], hash[32];
        lk_point_to_short(pk, input);
        memcpy(input + LK_POINT_SHORT_LEN, message, 32);
        memcpy(input + LK_POINT_SHORT_LEN + 32, nonce_address, LK_ADDRESS_LEN);
        lk_keccak256(input, sizeof input, hash);
        lk_scalar_reduce(ret, hash);
}

int lk_schnorr_sign_with_nonce(const lk_scalar *secret, const uint8_t message[static 32], const lk_scalar *nonce,
                               lk_schnorr_signature *ret, lk_err *err) {
        if (lk_scalar_is_zero(secret) || lk_scalar_is_zero(nonce))
                return lk_err_set(err, -EINVAL, "the secret key and the nonce must not be zero");
        lk_point pk, r_point;
        lk_point_base_mul(&pk, secret);
        lk_point_base_mul(&r_point, nonce);
        lk_schnorr_signature sig;
        lk_point_address(&r_point, sig.nonce_address);
        lk_scalar e, e_secret;
        lk_schnorr_challenge(&pk, message, sig.nonce_address, &e);
        lk_scalar_mul(&e_secret, &e, secret);
        lk_scalar_sub(&sig.s, nonce, &e_secret);
        lk_scalar_wipe(&e_secret);
        *ret = sig;
        return 0;
}

int lk_schnorr_sign(const lk_scalar *secret, const uint8_t message[static 32], const lk_random *random,
                    lk_schnorr_signature *ret, lk_err *err) {
        lk_scalar nonce;
        int r = lk_scalar_random(&nonce, random);
        if (r < 0)
                return lk_err_set(err, r, "cannot read random bytes for the nonce");
        r = lk_schnorr_sign_with_nonce(secret, message, &nonce, ret, err);
        lk_scalar_wipe(&nonce);
        return r;
}

int lk_schnorr_verify(const lk_point *pk, const uint8_t message[static 32], const lk_schnorr_signature *signature,
                      lk_err *err) {
        if (pk->infinity)
                return lk_err_set(err, -EINVAL, "no zero inputs allowed");
        if (!lk_schnorr_public_key_usable(pk))
                return lk_err_set(err, -EINVAL, "Public-key x >= HALF_Q");
        if (!lk_scalar_in_range(signature->s.b))
                return lk_err_set(err, -EINVAL, "signature must be reduced modulo Q");
        if (lk_scalar_is_zero(&signature->s) || lk_bytes_are_zero(message, 32) ||
            lk_bytes_are_zero(signature->nonce_address, LK_ADDRESS_LEN))
                return lk_err_set(err, -EINVAL, "no zero inputs allowed");
        lk_scalar e;
        lk_point sum;
        lk_schnorr_challenge(pk, message, signature->nonce_address, &e);
        lk_point_lincomb_public(&sum, &e, pk, &signature->s);
        uint8_t address[LK_ADDRESS_LEN];
        lk_point_address(&sum, address);
        if (memcmp(address, signature->nonce_address, LK_ADDRESS_LEN) != 0)
                return lk_err_set(err, -EINVAL, "signature does not verify");
        return 0;
}
