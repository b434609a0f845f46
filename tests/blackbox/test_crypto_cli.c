/* Black-box: `linkd vrf prove|verify` and `linkd schnorr sign` as an
 * operator (or tests/onchain) runs them. */
#include "lktest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"

typedef struct fixture {
        char *dir;
        char *key_2a, *key_1, *key_3, *bad_key;
} fixture;

#define WORD(hex) "0x" hex

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        f->key_2a = lktest_write_file(f->dir, "2a.key",
                                      WORD("000000000000000000000000000000000000000000000000000000000000002a") "\n");
        f->key_1 = lktest_write_file(f->dir, "1.key",
                                     WORD("0000000000000000000000000000000000000000000000000000000000000001") "\n");
        f->key_3 = lktest_write_file(f->dir, "3.key",
                                     WORD("0000000000000000000000000000000000000000000000000000000000000003") "\n");
        f->bad_key = lktest_write_file(f->dir, "bad.key", "hunter2\n");
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lktest_rmrf(f->dir);
        lk_free(f->key_2a);
        lk_free(f->key_1);
        lk_free(f->key_3);
        lk_free(f->bad_key);
        lk_free(f);
        return 0;
}

static char *run(const char *const *argv, int want_status, const char *stderr_has) {
        return lktest_run_expect(argv, want_status, stderr_has);
}

static const char *field(json_t *j, const char *key) {
        const char *v = json_string_value(json_object_get(j, key));
        if (!v)
                fail_msg("no string %s", key);
        return v;
}

static void prove_and_verify(void **state) {
        fixture *f = *state;
        const char *prove[] = {"vrf", "prove", "--key-file", f->key_2a, "--seed", "16", NULL};
        char *out = run(prove, 0, NULL);
        json_t *j = lktest_json(out);
        /* Γ and the output are deterministic (the reference's vector) */
        assert_string_equal(field(j, "output"), WORD("9b42bb95bad0dcf91c778ec1456e8d651893541833936e143326dc2f89a24c3d"));
        assert_string_equal(field(j, "keyHash"), WORD("150f17c3937a04fcff63a894ae3dffee97f92db0201d11cb8877c89738353bce"));
        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "gamma"), 0)),
                            WORD("044b26bf2fb58af0e2420fb3ca84e887807f5001903cc02acb4e625dd4b6532d"));
        assert_int_equal(strlen(field(j, "marshaled")), 2 + 2 * 416);
        char *proof_file = lktest_write_file(f->dir, "proof.json", out);
        const char *verify[] = {"vrf", "verify", proof_file, NULL};
        char *verified = run(verify, 0, NULL);
        json_t *v = lktest_json(verified);
        assert_true(json_is_true(json_object_get(v, "valid")));
        assert_string_equal(field(v, "output"), field(j, "output"));
        json_decref(v);
        lk_free(verified);
        /* the marshaled proof alone, then with c changed */
        char *marshaled = lk_strdup(field(j, "marshaled"));
        char *bare = lktest_write_file(f->dir, "proof.hex", marshaled);
        lk_free(run(verify, 0, NULL));
        const char *verify_bare[] = {"vrf", "verify", bare, NULL};
        lk_free(run(verify_bare, 0, NULL));
        marshaled[2 + 2 * 128 + 63] = marshaled[2 + 2 * 128 + 63] == '0' ? '1' : '0';
        char *tampered = lktest_write_file(f->dir, "tampered.hex", marshaled);
        const char *verify_tampered[] = {"vrf", "verify", tampered, NULL};
        lk_free(run(verify_tampered, 1, "invalid proof"));
        lk_free(tampered);
        lk_free(bare);
        lk_free(marshaled);
        lk_free(proof_file);
        json_decref(j);
        lk_free(out);
}

static void prove_for_a_v2_request(void **state) {
        fixture *f = *state;
        const char *prove[] = {"vrf", "prove", "--key-file", f->key_2a, "--seed", "12345", "--block-hash",
                               WORD("00000000000000000000000000000000000000000000000000000000000000aa"), NULL};
        char *out = run(prove, 0, NULL);
        json_t *j = lktest_json(out);
        assert_string_equal(field(j, "seed"), WORD("0000000000000000000000000000000000000000000000000000000000003039"));
        assert_string_equal(field(j, "output"), WORD("0eccd8984a4335b747231f0f143e80553296e595213700c6dd3a9ee0737e8658"));
        /* the marshaled form holds the actual seed keccak(preSeed ‖ blockHash) */
        assert_memory_equal(field(j, "marshaled") + 2 + 2 * 192,
                            "c0dfe91f3b9ec6e8595845c18b2cf5e1d20800c53439ccd3c50b609f97545317", 64);
        json_decref(j);
        lk_free(out);
}

static void schnorr_signatures(void **state) {
        fixture *f = *state;
        const char *sign[] = {"schnorr", "sign", "--key-file", f->key_1, "--msg", "0x01", NULL};
        char *out = run(sign, 0, NULL);
        json_t *j = lktest_json(out);
        assert_string_equal(field(j, "pkX"), WORD("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"));
        assert_int_equal(json_integer_value(json_object_get(j, "pkYParity")), 0);
        assert_string_equal(field(j, "msgHash"), WORD("0000000000000000000000000000000000000000000000000000000000000001"));
        assert_int_equal(strlen(field(j, "nonceTimesGeneratorAddress")), 42);
        json_decref(j);
        lk_free(out);
        /* 3·G's x is above HALF_Q: the contract would refuse the key */
        const char *big_x[] = {"schnorr", "sign", "--key-file", f->key_3, "--msg", "0x01", NULL};
        lk_free(run(big_x, 2, "HALF_Q"));
        const char *zero[] = {"schnorr", "sign", "--key-file", f->key_1, "--msg", "0x0", NULL};
        lk_free(run(zero, 2, "--msg"));
}

static void bad_input_is_named_and_secrets_are_not_repeated(void **state) {
        fixture *f = *state;
        char *out = NULL, *err = NULL;
        const char *bad_key[] = {"vrf", "prove", "--key-file", f->bad_key, "--seed", "1", NULL};
        assert_int_equal(lktest_run(bad_key, &out, &err), 2);
        assert_non_null(strstr(err, "bad.key"));
        assert_null(strstr(err, "hunter2"));
        lk_free(out);
        lk_free(err);
        const char *bad_seed[] = {"vrf", "prove", "--key-file", f->key_2a, "--seed", "-1", NULL};
        lk_free(run(bad_seed, 2, "--seed"));
        char big[100] = "0x1";
        memset(big + 3, '0', 64);
        const char *too_big[] = {"vrf", "prove", "--key-file", f->key_2a, "--seed", big, NULL};
        lk_free(run(too_big, 2, "--seed"));
        const char *bad_hash[] = {"vrf", "prove", "--key-file", f->key_2a, "--seed", "1", "--block-hash", "0x12", NULL};
        lk_free(run(bad_hash, 2, "--block-hash"));
        char *junk = lktest_write_file(f->dir, "junk.json", "{\"marshaled\": \"0x1234\"}");
        const char *verify_junk[] = {"vrf", "verify", junk, NULL};
        lk_free(run(verify_junk, 2, "junk.json"));
        lk_free(junk);
        const char *missing[] = {"vrf", "verify", "/nonexistent/proof.json", NULL};
        lk_free(run(missing, 2, "/nonexistent/proof.json"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(prove_and_verify, setup, teardown),
                cmocka_unit_test_setup_teardown(prove_for_a_v2_request, setup, teardown),
                cmocka_unit_test_setup_teardown(schnorr_signatures, setup, teardown),
                cmocka_unit_test_setup_teardown(bad_input_is_named_and_secrets_are_not_repeated, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
