/* Ethereum v3 key files: the Web3 Secret Storage PBKDF2 vector and an
 * ethers-written scrypt file decrypt to their key; linkd's own files round
 * trip; wrong passwords and malformed or hostile files are refused with
 * what is wrong. */
#include "lktest.h"
#include "cryptotest.h"

#include <errno.h>
#include <string.h>

#include "linkd/keyfile.h"

#define SECRET "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"

static const char pbkdf2_file[] =
        "{\"crypto\":{\"cipher\":\"aes-128-ctr\",\"cipherparams\":{\"iv\":\"6087dab2f9fdbbfaddc31a909735c1e6\"},"
        "\"ciphertext\":\"5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46\",\"kdf\":\"pbkdf2\","
        "\"kdfparams\":{\"c\":262144,\"dklen\":32,\"prf\":\"hmac-sha256\","
        "\"salt\":\"ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd\"},"
        "\"mac\":\"517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2\"},"
        "\"id\":\"3198bc9c-6672-5ab3-d995-4942343ae5b6\",\"version\":3}";

static const char ethers_file[] = LKTEST_ETHERS_KEY_FILE;

static json_t *parse(const char *text) {
        json_error_t error;
        json_t *j = json_loads(text, JSON_DECODE_ANY, &error);
        if (!j)
                fail_msg("%s", error.text);
        return j;
}

static void other_wallets_files(void **state) {
        (void)state;
        const char *files[] = {pbkdf2_file, ethers_file};
        for (size_t i = 0; i < 2; i++) {
                json_t *file = parse(files[i]);
                uint8_t secret[32];
                lk_err err = LK_ERR_INIT;
                if (lk_keyfile_decrypt(lk_keyfile_crypto(file), "testpassword", secret, &err) < 0)
                        fail_msg("%s", err.msg);
                lktest_assert_hex(secret, sizeof secret, SECRET);
                assert_int_equal(lk_keyfile_decrypt(lk_keyfile_crypto(file), "testpassword!", secret, &err), -EACCES);
                assert_string_equal(err.msg, "could not decrypt key with given password");
                json_decref(file);
        }
}

static void round_trips(void **state) {
        (void)state;
        lktest_stream stream;
        const lk_random *random = lktest_stream_init(&stream, 31);
        uint8_t secret[32], back[32];
        lktest_unhex(SECRET, secret, sizeof secret);
        lk_scrypt_params light = {1024, 8, 1};
        json_t *crypto = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_keyfile_encrypt(secret, "correct horse battery staple", light, random, &crypto, &err), 0);
        assert_int_equal(lk_keyfile_decrypt(crypto, "correct horse battery staple", back, &err), 0);
        assert_memory_equal(back, secret, 32);
        char *text = json_dumps(crypto, JSON_COMPACT);
        assert_null(strstr(text, SECRET)); /* the secret is not in the file */
        assert_non_null(strstr(text, "\"n\":1024"));
        free(text);
        json_decref(crypto);
        /* Chainlink's standard cost, once */
        assert_int_equal(lk_keyfile_encrypt(secret, "pw", LK_SCRYPT_STANDARD, random, &crypto, &err), 0);
        assert_int_equal(lk_keyfile_decrypt(crypto, "pw", back, &err), 0);
        assert_memory_equal(back, secret, 32);
        json_decref(crypto);
}

/* Each edit of the ethers file and the error it must give. */
static void malformed_and_hostile_files(void **state) {
        (void)state;
        static const struct {
                const char *path, *value, *want;
        } cases[] = {
                {"cipher", "\"aes-256-gcm\"", "key file: crypto.cipher must be aes-128-ctr"},
                {"ciphertext", "\"8bb0\"", "key file: crypto.ciphertext has the wrong length"},
                {"mac", "\"zz\"", "key file: crypto.mac has the wrong length"},
                {"cipherparams", "{}", "key file: cipherparams.iv is missing or not a string"},
                {"kdf", "\"argon2\"", "key file: kdf must be scrypt or pbkdf2"},
                {"kdfparams.n", "1000", "key file: scrypt n must be a power of 2 and 128·r·n at most 1 GiB"},
                {"kdfparams.n", "1073741824", "key file: scrypt n must be a power of 2 and 128·r·n at most 1 GiB"},
                {"kdfparams.p", "1000", "key file: kdfparams.p must be an integer from 1 to 16"},
                {"kdfparams.dklen", "64", "key file: kdfparams.dklen must be an integer from 32 to 32"},
                {"kdfparams.salt", "\"\"", "key file: kdfparams.salt has the wrong length"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                json_t *file = parse(ethers_file);
                json_t *crypto = json_object_get(file, "Crypto");
                json_t *value = parse(cases[i].value);
                const char *dot = strchr(cases[i].path, '.');
                if (dot)
                        json_object_set_new(json_object_get(crypto, "kdfparams"), dot + 1, value);
                else
                        json_object_set_new(crypto, cases[i].path, value);
                uint8_t secret[32];
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_keyfile_decrypt(crypto, "testpassword", secret, &err), -EINVAL);
                assert_string_equal(err.msg, cases[i].want);
                json_decref(file);
        }
        uint8_t secret[32];
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_keyfile_decrypt(NULL, "x", secret, &err), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(other_wallets_files),
                cmocka_unit_test(round_trips),
                cmocka_unit_test(malformed_and_hostile_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
