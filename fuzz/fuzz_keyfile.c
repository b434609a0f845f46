/* libFuzzer target for key files (Ethereum v3, as linkd keys vrf import
 * and the keystore read them).
 *
 * The input is parsed as JSON and its "crypto" object decrypted with a
 * fixed password.  Cost parameters are capped first (scrypt n to 1024, r
 * to 8, PBKDF2 rounds to 1000) so that the fuzzer explores the parsing
 * rather than waiting on the KDF; the bounds linkd itself enforces are
 * tested in tests/crypto/test_keyfile.c.  Every failure must come with a
 * message and one of the documented codes. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "linkd/keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

static void cap(json_t *params, const char *key, json_int_t max) {
        json_t *v = json_object_get(params, key);
        if (json_is_integer(v) && json_integer_value(v) > max)
                json_object_set_new(params, key, json_integer(max));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_error_t error;
        json_t *file = json_loadb((const char *)data, size, 0, &error);
        if (!file)
                return 0;
        json_t *crypto = (json_t *)lk_keyfile_crypto(file);
        if (!crypto)
                crypto = file;
        json_t *params = json_object_get(crypto, "kdfparams");
        cap(params, "n", 1024);
        cap(params, "r", 8);
        cap(params, "c", 1000);
        uint8_t secret[32];
        lk_err err = LK_ERR_INIT;
        int r = lk_keyfile_decrypt(crypto, "fuzz", secret, &err);
        if (r < 0)
                check(err.msg[0] != '\0' && (r == -EINVAL || r == -EACCES || r == -ENOMEM));
        json_decref(file);
        return 0;
}
