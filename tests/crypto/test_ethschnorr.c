/* Schnorr signatures as SchnorrSECP256K1.sol checks them: the reference's
 * known answer (verified on chain by Chainlink's contract), the contract's
 * preconditions, and seeded random keys and messages, including messages
 * with leading zero bytes (where Chainlink's Go code goes wrong). */
#include "lktest.h"
#include "cryptotest.h"

#include <errno.h>
#include <string.h>

#include "linkd/ethschnorr.h"

/* The reference's vector: secret 1, nonce 2, message 1. */
typedef struct vector {
        lk_scalar secret, nonce;
        uint8_t message[32];
        lk_point pk;
        lk_schnorr_signature sig;
} vector;

static vector reference_vector(void) {
        vector v;
        lktest_unhex("1", v.secret.b, 32);
        lktest_unhex("2", v.nonce.b, 32);
        lktest_unhex("1", v.message, 32);
        lk_point_base_mul(&v.pk, &v.secret);
        assert_int_equal(lk_schnorr_sign_with_nonce(&v.secret, v.message, &v.nonce, &v.sig, NULL), 0);
        return v;
}

static void known_answer(void **state) {
        (void)state;
        vector v = reference_vector();
        lk_schnorr_signature sig = v.sig;
        lktest_assert_hex(sig.nonce_address, LK_ADDRESS_LEN, "2B5AD5c4795c026514f8317c7a215E218DcCD6cF");
        lktest_assert_hex(sig.s.b, 32, "2091592ee5192790e3ec8275a7e2eb0b1da78bdcaa5985b9d423a4de30de34da");
        assert_int_equal(lk_schnorr_verify(&v.pk, v.message, &sig, NULL), 0);
}

static void the_contracts_preconditions(void **state) {
        (void)state;
        vector v = reference_vector();
        const lk_point pk = v.pk;
        const lk_schnorr_signature sig = v.sig;
        const uint8_t *message = v.message;
        lk_err err = LK_ERR_INIT;
        lk_schnorr_signature bad = sig;
        bad.s.b[31] ^= 1;
        assert_int_equal(lk_schnorr_verify(&pk, message, &bad, &err), -EINVAL);
        assert_string_equal(err.msg, "signature does not verify");
        uint8_t other[32];
        lktest_unhex("2", other, 32);
        assert_int_equal(lk_schnorr_verify(&pk, other, &sig, &err), -EINVAL);
        memset(other, 0, sizeof other);
        assert_int_equal(lk_schnorr_verify(&pk, other, &sig, &err), -EINVAL);
        assert_string_equal(err.msg, "no zero inputs allowed");
        bad = sig;
        bad.s = lk_scalar_order;
        assert_int_equal(lk_schnorr_verify(&pk, message, &bad, &err), -EINVAL);
        assert_string_equal(err.msg, "signature must be reduced modulo Q");
        /* 3·G has x > HALF_Q */
        lk_scalar three;
        lktest_unhex("3", three.b, 32);
        lk_point big_x;
        lk_point_base_mul(&big_x, &three);
        assert_false(lk_schnorr_public_key_usable(&big_x));
        assert_int_equal(lk_schnorr_verify(&big_x, message, &sig, &err), -EINVAL);
        assert_string_equal(err.msg, "Public-key x >= HALF_Q");
}

static void random_keys_and_messages(void **state) {
        (void)state;
        lktest_stream stream;
        const lk_random *random = lktest_stream_init(&stream, 3);
        for (int i = 0; i < 200; i++) {
                lk_scalar secret;
                lk_point pk;
                assert_int_equal(lk_schnorr_key_generate(&secret, &pk, random, NULL), 0);
                assert_true(lk_schnorr_public_key_usable(&pk));
                uint8_t message[32];
                assert_int_equal(lk_random_bytes(random, message, sizeof message), 0);
                if (i % 4 == 0)
                        message[0] = 0; /* below 2^248 */
                message[31] |= 1;
                lk_schnorr_signature sig;
                assert_int_equal(lk_schnorr_sign(&secret, message, random, &sig, NULL), 0);
                assert_int_equal(lk_schnorr_verify(&pk, message, &sig, NULL), 0);
                message[5] ^= 0x10;
                assert_int_equal(lk_schnorr_verify(&pk, message, &sig, NULL), -EINVAL);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(known_answer),
                cmocka_unit_test(the_contracts_preconditions),
                cmocka_unit_test(random_keys_and_messages),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
