/* RLP and transactions.  The signed transactions are byte-for-byte
 * ethers 6's (Wallet.signTransaction: RFC 6979 nonces, low s), for the
 * same key and fields; decoding recovers the fields and the sender; bad
 * and non-canonical encodings are refused with the reason geth gives. */
#include "lktest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/rlp.h"
#include "linkd/tx.h"

#define KEY "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

static uint8_t *unhex_alloc(const char *hex, size_t *ret_len) {
        size_t n = (strlen(hex) - 2) / 2;
        uint8_t *b = lk_malloc(n ? n : 1);
        lktest_unhex(hex, b, n);
        *ret_len = n;
        return b;
}

static void rlp_known_encodings(void **state) {
        (void)state;
        lk_buf b = LK_BUF_INIT;
        lk_rlp_put_bytes(&b, (const uint8_t *)"dog", 3);
        size_t list = lk_rlp_list_begin(&b);
        lk_rlp_put_bytes(&b, (const uint8_t *)"cat", 3);
        lk_rlp_put_bytes(&b, (const uint8_t *)"dog", 3);
        lk_rlp_list_end(&b, list);
        lk_rlp_put_uint(&b, 0);
        lk_rlp_put_uint(&b, 15);
        lk_rlp_put_uint(&b, 1024);
        lktest_assert_hex((const uint8_t *)b.data, b.len, "83646f67c88363617483646f67800f820400");
        lk_buf_reset(&b);
        const char *lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
        lk_rlp_put_bytes(&b, (const uint8_t *)lorem, strlen(lorem));
        assert_int_equal((uint8_t)b.data[0], 0xb8);
        assert_int_equal((uint8_t)b.data[1], 56);
        lk_buf_done(&b);
}

static void rlp_refuses_what_geth_refuses(void **state) {
        (void)state;
        static const struct {
                const char *hex, *want;
        } bad[] = {
                {"0x8100", "rlp: non-canonical size information"},      /* a byte < 0x80 wrapped */
                {"0xb80100", "rlp: non-canonical size information"},    /* long form for 1 byte */
                {"0xb90001", "rlp: non-canonical size information"},    /* leading zero in the size */
                {"0x83646f", "rlp: value size exceeds available input length"},
                {"0xc88363617483646f", "rlp: value size exceeds available input length"},
                {"0x8001", "rlp: input contains more than one value"},
                {"0x", "rlp: input ends where an item should start"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                size_t len;
                uint8_t *in = unhex_alloc(bad[i].hex, &len);
                lk_rlp_item item;
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_rlp_decode(in, len, &item, &err), -EINVAL);
                assert_string_equal(err.msg, bad[i].want);
                lk_free(in);
        }
        uint8_t word[32];
        lk_rlp_item leading_zero = {false, (const uint8_t *)"\x00\x01", 2};
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rlp_uint(&leading_zero, word, 32, &err), -EINVAL);
        assert_string_equal(err.msg, "rlp: non-canonical integer (leading zero bytes)");
}

typedef struct vector {
        lk_tx tx;
        const char *raw, *hash;
} vector;

static void signed_like_ethers(void **state) {
        (void)state;
        uint8_t secret[32], data[100], init[2] = {0x60, 0x00};
        lktest_unhex(KEY, secret, 32);
        for (int i = 0; i < 100; i++)
                data[i] = (uint8_t)i;
        lk_eth_key key;
        assert_int_equal(lk_eth_key_from_secret(&key, secret, NULL), 0);
        vector v[3] = {
                {{.type = LK_TX_LEGACY, .chain_id = 1337, .nonce = 7, .gas_limit = 21000, .has_to = true},
                 "0xf86d078504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080820a96a09c1b8"
                 "045833648234f5c866abd63fc7206680a80d79fef755fb3c8686630d12a9f862a6a08dc8324c8f7f98b011495e1ef6e394562"
                 "b40db5d93a550151b66055",
                 "c14bf8e1eecaa7f30d59012ab90a3618201226561a2369d76580d59ef184a770"},
                {{.type = LK_TX_DYNAMIC_FEE, .chain_id = 1, .nonce = 0, .gas_limit = 500000, .has_to = true,
                  .data = data, .data_len = sizeof data},
                 "0x02f8d101808459682f008506fc23ac008307a1209400000000000000000000000000000000000000ee80b864000102030405"
                 "060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637"
                 "38393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60616263c080a04aefbfd"
                 "35e60aa0375c9d38e8df2f5487babf3dd8c1777b289bce58f5de874eaa023447a0ad37287ffac7da5756896d5b172d746fa95"
                 "46ba870957fc0df72b29dd",
                 "5333234053aa0c729a67565ec91afdfc8224901c8e72d5243c3f5fc74e5bd29e"},
                {{.type = LK_TX_DYNAMIC_FEE, .chain_id = 11155111, .nonce = 300, .gas_limit = 1000000,
                  .has_to = false, .data = init, .data_len = sizeof init},
                 "0x02f85683aa36a782012c8001830f42408005826000c001a05bf2ca50c10e0a40ff2a2531b014991c132b527b9b117e6f414f"
                 "b0adee8f8faca0089238a92c2ff0787ae6413b3510b1b1ebd8d65c49540bc12a7d650f9c4dff72",
                 "76b15eb1e6f8b9684529b78adb44342a7bdc39f986b8a0b7aa57479d0b699ca4"},
        };
        lktest_unhex("4a817c800", v[0].tx.gas_price, 32);
        lktest_unhex("3535353535353535353535353535353535353535", v[0].tx.to, LK_ADDRESS_LEN);
        lktest_unhex("de0b6b3a7640000", v[0].tx.value, 32);
        lktest_unhex("59682f00", v[1].tx.max_priority_fee_per_gas, 32);
        lktest_unhex("6fc23ac00", v[1].tx.max_fee_per_gas, 32);
        lktest_unhex("ee", v[1].tx.to, LK_ADDRESS_LEN);
        lktest_unhex("1", v[2].tx.max_fee_per_gas, 32);
        lktest_unhex("5", v[2].tx.value, 32);
        for (size_t i = 0; i < 3; i++) {
                lk_buf raw = LK_BUF_INIT;
                uint8_t hash[32], from[LK_ADDRESS_LEN], decoded_hash[32];
                lk_err err = LK_ERR_INIT;
                if (lk_tx_sign(&v[i].tx, &key, &raw, hash, &err) < 0)
                        fail_msg("sign: %s", err.msg);
                size_t want_len;
                uint8_t *want = unhex_alloc(v[i].raw, &want_len);
                if (raw.len != want_len || memcmp(raw.data, want, want_len) != 0)
                        lktest_assert_hex((const uint8_t *)raw.data, raw.len, v[i].raw);
                lktest_assert_hex(hash, 32, v[i].hash);
                lk_tx back;
                if (lk_tx_decode(want, want_len, &back, from, decoded_hash, &err) < 0)
                        fail_msg("decode: %s", err.msg);
                assert_memory_equal(from, key.address, LK_ADDRESS_LEN);
                assert_memory_equal(decoded_hash, hash, 32);
                assert_int_equal(back.type, v[i].tx.type);
                assert_int_equal(back.chain_id, v[i].tx.chain_id);
                assert_int_equal(back.nonce, v[i].tx.nonce);
                assert_int_equal(back.gas_limit, v[i].tx.gas_limit);
                assert_int_equal(back.has_to, v[i].tx.has_to);
                assert_int_equal(back.data_len, v[i].tx.data_len);
                assert_memory_equal(back.value, v[i].tx.value, 32);
                /* a flipped byte in the signature recovers someone else, or nothing */
                want[want_len - 1] ^= 1;
                if (lk_tx_decode(want, want_len, &back, from, decoded_hash, &err) == 0)
                        assert_memory_not_equal(from, key.address, LK_ADDRESS_LEN);
                lk_free(want);
                lk_buf_done(&raw);
        }
}

static void bad_transactions(void **state) {
        (void)state;
        static const struct {
                const char *hex, *want;
        } bad[] = {
                {"0x01c0", "transaction: type 1 is not one linkd reads"},
                {"0x02c0", "transaction: chainId is missing"},
                {"0x80", "transaction: not a list"},
                {"0xc50102030405", "transaction: to is not an address"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                size_t len;
                uint8_t *in = unhex_alloc(bad[i].hex, &len);
                lk_tx tx;
                uint8_t from[LK_ADDRESS_LEN], hash[32];
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_tx_decode(in, len, &tx, from, hash, &err), -EINVAL);
                assert_string_equal(err.msg, bad[i].want);
                lk_free(in);
        }
        lk_tx legacy = {.type = LK_TX_LEGACY};
        lk_eth_key key;
        uint8_t secret[32], hash[32];
        lktest_unhex(KEY, secret, 32);
        assert_int_equal(lk_eth_key_from_secret(&key, secret, NULL), 0);
        lk_buf raw = LK_BUF_INIT;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_tx_sign(&legacy, &key, &raw, hash, &err), -EINVAL);
        assert_string_equal(err.msg, "a legacy transaction needs a chain id (EIP-155)");
        lk_buf_done(&raw);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(rlp_known_encodings),
                cmocka_unit_test(rlp_refuses_what_geth_refuses),
                cmocka_unit_test(signed_like_ethers),
                cmocka_unit_test(bad_transactions),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
