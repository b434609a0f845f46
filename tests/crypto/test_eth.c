/* Ethereum keys and recoverable ECDSA.  The known answers were computed
 * with ethers 6 (SigningKey: RFC 6979 nonces, low s), an independent
 * implementation. */
#include "lktest.h"
#include "cryptotest.h"

#include <errno.h>
#include <string.h>

#include "linkd/eth.h"
#include "linkd/keccak.h"

static void addresses(void **state) {
        (void)state;
        uint8_t secret[32];
        lk_eth_key key;
        char text[43];
        lktest_unhex("1", secret, sizeof secret);
        assert_int_equal(lk_eth_key_from_secret(&key, secret, NULL), 0);
        lk_eth_address_text(key.address, text);
        assert_string_equal(text, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
        lktest_unhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", secret, sizeof secret);
        assert_int_equal(lk_eth_key_from_secret(&key, secret, NULL), 0);
        lk_eth_address_text(key.address, text);
        assert_string_equal(text, "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
        lk_err err = LK_ERR_INIT;
        memset(secret, 0, sizeof secret);
        assert_int_equal(lk_eth_key_from_secret(&key, secret, &err), -EINVAL);
        assert_string_equal(err.msg, "the secret key is zero or not below the group order");
        lk_eth_key_wipe(&key);
        assert_true(lk_scalar_is_zero(&key.secret));
}

static void signatures_match_ethers(void **state) {
        (void)state;
        uint8_t secret[32], hash[32], sig[LK_ETH_SIGNATURE_LEN], address[LK_ADDRESS_LEN];
        lk_eth_key key;
        lktest_unhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", secret, sizeof secret);
        assert_int_equal(lk_eth_key_from_secret(&key, secret, NULL), 0);
        lk_keccak256("linkd", 5, hash);
        lktest_assert_hex(hash, sizeof hash, "4c35f725a7ec8c4a1da19fb32e9bc11974bd21e4280f76adc987be3a27d8e966");
        assert_int_equal(lk_eth_sign(&key, hash, sig, NULL), 0);
        lktest_assert_hex(sig, 64,
                          "b242c66f91d9a59c280d7869de4d9e0b3f35d45b3bf7d484c8534b5253740ab4"
                          "7fe3a9227de7c14c3ea7e72acb138e6bc8291f4239b8df5cdd9f5d977b12b1a3");
        assert_int_equal(lk_eth_v_legacy(sig[64]), 28);
        assert_int_equal(lk_eth_recover(hash, sig, address, NULL), 0);
        assert_memory_equal(address, key.address, LK_ADDRESS_LEN);
        sig[64] = 28; /* a legacy v is accepted too */
        assert_int_equal(lk_eth_recover(hash, sig, address, NULL), 0);
        assert_memory_equal(address, key.address, LK_ADDRESS_LEN);
        lk_err err = LK_ERR_INIT;
        sig[64] = 2;
        assert_int_equal(lk_eth_recover(hash, sig, address, &err), -EINVAL);
        assert_string_equal(err.msg, "invalid signature recovery id 2");
}

static void v_values(void **state) {
        (void)state;
        assert_int_equal(lk_eth_v_legacy(0), 27);
        assert_int_equal(lk_eth_v_eip155(1, 1), 38);
        assert_int_equal(lk_eth_v_eip155(0, 1337), 2709);
        assert_int_equal(lk_eth_recovery_id(2709, 1337), 0);
        assert_int_equal(lk_eth_recovery_id(2710, 1337), 1);
        assert_int_equal(lk_eth_recovery_id(28, 0), 1);
        assert_int_equal(lk_eth_recovery_id(37, 0), -EINVAL);
        assert_int_equal(lk_eth_recovery_id(37, 2), -EINVAL);
}

static void personal_messages(void **state) {
        (void)state;
        uint8_t hash[32];
        lk_eth_personal_hash("hello", 5, hash);
        lktest_assert_hex(hash, sizeof hash, "50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750");
}

/* Random keys sign and recover; a changed hash recovers someone else. */
static void round_trips(void **state) {
        (void)state;
        lktest_stream stream;
        const lk_random *random = lktest_stream_init(&stream, 11);
        for (int i = 0; i < 200; i++) {
                lk_eth_key key;
                uint8_t hash[32], sig[LK_ETH_SIGNATURE_LEN], address[LK_ADDRESS_LEN];
                assert_int_equal(lk_eth_key_generate(&key, random, NULL), 0);
                assert_int_equal(lk_random_bytes(random, hash, sizeof hash), 0);
                assert_int_equal(lk_eth_sign(&key, hash, sig, NULL), 0);
                assert_int_equal(lk_eth_recover(hash, sig, address, NULL), 0);
                assert_memory_equal(address, key.address, LK_ADDRESS_LEN);
                hash[0] ^= 1;
                if (lk_eth_recover(hash, sig, address, NULL) == 0)
                        assert_memory_not_equal(address, key.address, LK_ADDRESS_LEN);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(addresses),
                cmocka_unit_test(signatures_match_ethers),
                cmocka_unit_test(v_values),
                cmocka_unit_test(personal_messages),
                cmocka_unit_test(round_trips),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
