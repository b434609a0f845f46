/* See include/linkd/keyfile.h. */
#include "linkd/keyfile.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/pbkdf2.h>
#include <sodium.h>

#include "linkd/hex.h"
#include "linkd/keccak.h"

/* A file may ask for at most this much scrypt memory (128·r·n bytes) and
 * this many PBKDF2 rounds: above what any wallet writes, below what would
 * hurt the node. */
#define MAX_SCRYPT_MEMORY (UINT64_C(1) << 30)
#define MAX_SCRYPT_P 16
#define MAX_PBKDF2_ROUNDS 10000000

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void init_sodium(void) {
        if (sodium_init() < 0)
                abort();
}

static json_t *hex_string(const uint8_t *b, size_t n) {
        char text[2 * 64 + 1];
        lk_hex_encode(text, b, n);
        return json_string(text);
}

static int scrypt(const char *password, const uint8_t *salt, size_t salt_len, lk_scrypt_params params,
                  uint8_t derived[static 32]) {
        pthread_once(&sodium_once, init_sodium);
        return crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)password, strlen(password), salt, salt_len,
                                                     params.n, params.r, params.p, derived, 32) == 0
                       ? 0
                       : -ENOMEM;
}

static void aes_ctr(const uint8_t key[static 16], const uint8_t iv[static 16], const uint8_t *in, uint8_t *out,
                    size_t len) {
        struct aes128_ctx aes;
        uint8_t counter[AES_BLOCK_SIZE];
        memcpy(counter, iv, sizeof counter);
        aes128_set_encrypt_key(&aes, key);
        ctr_crypt(&aes, (nettle_cipher_func *)aes128_encrypt, AES_BLOCK_SIZE, counter, len, out, in);
        explicit_bzero(&aes, sizeof aes);
}

static void mac_of(const uint8_t derived[static 32], const uint8_t *ciphertext, size_t len, uint8_t out[static 32]) {
        lk_keccak k;
        lk_keccak_init(&k);
        lk_keccak_update(&k, derived + 16, 16);
        lk_keccak_update(&k, ciphertext, len);
        lk_keccak_final(&k, out);
}

int lk_keyfile_encrypt(const uint8_t secret[static 32], const char *password, lk_scrypt_params params,
                       const lk_random *random, json_t **ret_crypto, lk_err *err) {
        uint8_t salt[32], iv[16], derived[32], ciphertext[32], mac[32];
        int r = lk_random_bytes(random, salt, sizeof salt);
        if (r == 0)
                r = lk_random_bytes(random, iv, sizeof iv);
        if (r < 0)
                return lk_err_set(err, r, "cannot read random bytes for the key file");
        if (scrypt(password, salt, sizeof salt, params, derived) < 0)
                return lk_err_set(err, -ENOMEM, "scrypt failed (n %llu, r %u, p %u)", (unsigned long long)params.n,
                                  params.r, params.p);
        aes_ctr(derived, iv, secret, ciphertext, sizeof ciphertext);
        mac_of(derived, ciphertext, sizeof ciphertext, mac);
        explicit_bzero(derived, sizeof derived);
        *ret_crypto = json_pack("{s:s, s:o, s:{s:o}, s:s, s:{s:i, s:I, s:i, s:i, s:o}, s:o}", "cipher", "aes-128-ctr",
                                "ciphertext", hex_string(ciphertext, sizeof ciphertext), "cipherparams", "iv",
                                hex_string(iv, sizeof iv), "kdf", "scrypt", "kdfparams", "dklen", 32, "n",
                                (json_int_t)params.n, "p", (int)params.p, "r", (int)params.r, "salt",
                                hex_string(salt, sizeof salt), "mac", hex_string(mac, sizeof mac));
        return 0;
}

/* ---- reading ---- */

/* Member key of object as exactly len bytes of hex (an optional 0x
 * allowed); len 0 takes any even length up to max and sets *ret_len. */
static int hex_member(const json_t *object, const char *where, const char *key, uint8_t *out, size_t len, size_t max,
                      size_t *ret_len, lk_err *err) {
        const char *text = json_string_value(json_object_get(object, key));
        if (!text)
                return lk_err_set(err, -EINVAL, "key file: %s.%s is missing or not a string", where, key);
        if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
                text += 2;
        size_t n = strlen(text);
        if (n % 2 || (len && n != 2 * len) || (!len && (n == 0 || n > 2 * max)))
                return lk_err_set(err, -EINVAL, "key file: %s.%s has the wrong length", where, key);
        for (size_t i = 0; i < n / 2; i++) {
                int hi = lk_hex_digit(text[2 * i]), lo = lk_hex_digit(text[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return lk_err_set(err, -EINVAL, "key file: %s.%s is not hex", where, key);
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        if (ret_len)
                *ret_len = n / 2;
        return 0;
}

static int int_member(const json_t *object, const char *key, json_int_t min, json_int_t max, json_int_t *ret,
                      lk_err *err) {
        const json_t *v = json_object_get(object, key);
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return lk_err_set(err, -EINVAL, "key file: kdfparams.%s must be an integer from %lld to %lld", key,
                                  (long long)min, (long long)max);
        *ret = json_integer_value(v);
        return 0;
}

/* The derived key the file's kdf gives for password. */
static int derive(const json_t *crypto, const char *password, uint8_t derived[static 32], lk_err *err) {
        const char *kdf = json_string_value(json_object_get(crypto, "kdf"));
        const json_t *params = json_object_get(crypto, "kdfparams");
        if (!kdf || !json_is_object(params))
                return lk_err_set(err, -EINVAL, "key file: crypto.kdf or crypto.kdfparams is missing");
        uint8_t salt[64];
        size_t salt_len;
        json_int_t dklen, n, r, p, c;
        int rc = hex_member(params, "kdfparams", "salt", salt, 0, sizeof salt, &salt_len, err);
        if (rc == 0)
                rc = int_member(params, "dklen", 32, 32, &dklen, err);
        if (rc < 0)
                return rc;
        if (strcmp(kdf, "scrypt") == 0) {
                if ((rc = int_member(params, "n", 2, INT64_C(1) << 30, &n, err)) < 0 ||
                    (rc = int_member(params, "r", 1, 1024, &r, err)) < 0 ||
                    (rc = int_member(params, "p", 1, MAX_SCRYPT_P, &p, err)) < 0)
                        return rc;
                if ((n & (n - 1)) != 0 || (uint64_t)n * (uint64_t)r * 128 > MAX_SCRYPT_MEMORY)
                        return lk_err_set(err, -EINVAL, "key file: scrypt n must be a power of 2 and 128·r·n at "
                                                        "most 1 GiB");
                lk_scrypt_params sp = {(uint64_t)n, (uint32_t)r, (uint32_t)p};
                if (scrypt(password, salt, salt_len, sp, derived) < 0)
                        return lk_err_set(err, -ENOMEM, "key file: scrypt failed");
                return 0;
        }
        if (strcmp(kdf, "pbkdf2") == 0) {
                const char *prf = json_string_value(json_object_get(params, "prf"));
                if (!prf || strcmp(prf, "hmac-sha256") != 0)
                        return lk_err_set(err, -EINVAL, "key file: kdfparams.prf must be hmac-sha256");
                if ((rc = int_member(params, "c", 1, MAX_PBKDF2_ROUNDS, &c, err)) < 0)
                        return rc;
                pbkdf2_hmac_sha256(strlen(password), (const uint8_t *)password, (unsigned)c, salt_len, salt, 32,
                                   derived);
                return 0;
        }
        return lk_err_set(err, -EINVAL, "key file: kdf must be scrypt or pbkdf2");
}

int lk_keyfile_decrypt(const json_t *crypto, const char *password, uint8_t ret_secret[static 32], lk_err *err) {
        if (!json_is_object(crypto))
                return lk_err_set(err, -EINVAL, "key file: crypto is missing or not an object");
        const char *cipher = json_string_value(json_object_get(crypto, "cipher"));
        if (!cipher || strcmp(cipher, "aes-128-ctr") != 0)
                return lk_err_set(err, -EINVAL, "key file: crypto.cipher must be aes-128-ctr");
        const json_t *cipherparams = json_object_get(crypto, "cipherparams");
        uint8_t iv[16], ciphertext[32], mac[32], want[32], derived[32];
        int r = hex_member(crypto, "crypto", "ciphertext", ciphertext, sizeof ciphertext, 0, NULL, err);
        if (r == 0)
                r = hex_member(crypto, "crypto", "mac", mac, sizeof mac, 0, NULL, err);
        if (r == 0 && !json_is_object(cipherparams))
                r = lk_err_set(err, -EINVAL, "key file: crypto.cipherparams is missing");
        if (r == 0)
                r = hex_member(cipherparams, "cipherparams", "iv", iv, sizeof iv, 0, NULL, err);
        if (r == 0)
                r = derive(crypto, password, derived, err);
        if (r < 0)
                return r;
        mac_of(derived, ciphertext, sizeof ciphertext, want);
        if (sodium_memcmp(want, mac, sizeof mac) != 0) {
                explicit_bzero(derived, sizeof derived);
                return lk_err_set(err, -EACCES, "could not decrypt key with given password");
        }
        aes_ctr(derived, iv, ciphertext, ret_secret, 32);
        explicit_bzero(derived, sizeof derived);
        return 0;
}

const json_t *lk_keyfile_crypto(const json_t *file) {
        const json_t *crypto = json_object_get(file, "crypto");
        return crypto ? crypto : json_object_get(file, "Crypto");
}
