/* Black-box: `linkd keys vrf|eth` as an operator runs it, on SQLite with the
 * standard scrypt cost: create and list, one password per node, export to
 * a 0600 file in Chainlink's format and import into another node, the
 * errors for wrong passwords and files. */
#include "lktest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "linkd/alloc.h"

typedef struct fixture {
        char *dir, *config_a, *config_b, *password, *export_password, *wrong;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        char *text = lk_asprintf("RootDir = '%s/a'\n", f->dir);
        f->config_a = lktest_write_file(f->dir, "a.toml", text);
        lk_free(text);
        text = lk_asprintf("RootDir = '%s/b'\n", f->dir);
        f->config_b = lktest_write_file(f->dir, "b.toml", text);
        lk_free(text);
        f->password = lktest_write_file(f->dir, "password", "node-keystore-password\n");
        f->export_password = lktest_write_file(f->dir, "export-password", "export-password\n");
        f->wrong = lktest_write_file(f->dir, "wrong", "not-the-password\n");
        chmod(f->password, 0600);
        chmod(f->export_password, 0600);
        chmod(f->wrong, 0600);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lktest_rmrf(f->dir);
        lk_free(f->config_a);
        lk_free(f->config_b);
        lk_free(f->password);
        lk_free(f->export_password);
        lk_free(f->wrong);
        lk_free(f);
        return 0;
}

static void create_export_import(void **state) {
        fixture *f = *state;
        const char *create[] = {"keys", "vrf", "create", "--config", f->config_a, "--password", f->password, "--json",
                                NULL};
        char *out = lktest_run_expect(create, 0, NULL);
        json_t *created = lktest_json(out);
        const char *id = json_string_value(json_object_get(created, "id"));
        assert_int_equal(strlen(id), 2 + 66);
        assert_int_equal(strlen(json_string_value(json_object_get(created, "keyHash"))), 66);
        lk_free(out);
        /* a second key needs the same password */
        const char *wrong[] = {"keys", "vrf", "create", "--config", f->config_a, "--password", f->wrong, NULL};
        lk_free(lktest_run_expect(wrong, 2, "the password does not open this node's keys"));
        const char *list[] = {"keys", "vrf", "list", "--config", f->config_a, NULL};
        out = lktest_run_expect(list, 0, NULL);
        assert_non_null(strstr(out, id));
        lk_free(out);

        char *export_path = lk_asprintf("%s/export.json", f->dir);
        const char *export[] = {"keys", "vrf", "export", id, "--config", f->config_a, "--password", f->password,
                                "--new-password", f->export_password, "--output", export_path, NULL};
        lk_free(lktest_run_expect(export, 0, NULL));
        struct stat st;
        assert_int_equal(stat(export_path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        char *exported = lktest_read_file(export_path);
        json_t *file = lktest_json(exported);
        assert_string_equal(json_string_value(json_object_get(file, "PublicKey")), id);
        json_t *crypto = json_object_get(json_object_get(file, "vrf_key"), "crypto");
        assert_string_equal(json_string_value(json_object_get(crypto, "kdf")), "scrypt");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(crypto, "kdfparams"), "n")), 262144);
        json_decref(file);
        lk_free(exported);

        /* into another node, whose password is another */
        const char *bad_old[] = {"keys", "vrf", "import", export_path, "--config", f->config_b, "--password", f->wrong,
                                 "--old-password", f->password, NULL};
        lk_free(lktest_run_expect(bad_old, 2, "could not decrypt key with given password"));
        const char *import[] = {"keys", "vrf", "import", export_path, "--config", f->config_b, "--password", f->wrong,
                                "--old-password", f->export_password, NULL};
        out = lktest_run_expect(import, 0, NULL);
        assert_non_null(strstr(out, id));
        lk_free(out);
        lk_free(lktest_run_expect(import, 2, "already exists"));
        const char *list_b[] = {"keys", "vrf", "list", "--config", f->config_b, "--json", NULL};
        out = lktest_run_expect(list_b, 0, NULL);
        assert_non_null(strstr(out, id));
        lk_free(out);
        lk_free(export_path);
        json_decref(created);
}

static void ethereum_keys(void **state) {
        fixture *f = *state;
        const char *create[] = {"keys", "eth", "create", "--config", f->config_a, "--password", f->password, "--json",
                                NULL};
        char *out = lktest_run_expect(create, 0, NULL);
        json_t *created = lktest_json(out);
        lk_free(out);
        const char *address = json_string_value(json_object_get(created, "address"));
        assert_int_equal(strlen(address), 42);
        char *export_path = lk_asprintf("%s/eth.json", f->dir);
        const char *export[] = {"keys", "eth", "export", address, "--config", f->config_a, "--password", f->password,
                                "--new-password", f->export_password, "--output", export_path, NULL};
        lk_free(lktest_run_expect(export, 0, NULL));
        char *exported = lktest_read_file(export_path);
        json_t *file = lktest_json(exported);
        assert_int_equal(json_integer_value(json_object_get(file, "version")), 3);
        assert_int_equal(strlen(json_string_value(json_object_get(file, "address"))), 40);
        json_decref(file);
        lk_free(exported);
        const char *wrong_delete[] = {"keys", "eth", "delete", address, "--config", f->config_a, "--password", f->wrong,
                                      NULL};
        lk_free(lktest_run_expect(wrong_delete, 2, "could not decrypt key with given password"));
        const char *delete[] = {"keys", "eth", "delete", address, "--config", f->config_a, "--password", f->password,
                                NULL};
        lk_free(lktest_run_expect(delete, 0, NULL));
        const char *list[] = {"keys", "eth", "list", "--config", f->config_a, NULL};
        out = lktest_run_expect(list, 0, NULL);
        assert_null(strstr(out, address));
        lk_free(out);
        const char *import[] = {"keys", "eth", "import", export_path, "--config", f->config_a, "--password",
                                f->password, "--old-password", f->export_password, NULL};
        out = lktest_run_expect(import, 0, NULL);
        assert_non_null(strstr(out, address));
        lk_free(out);
        lk_free(export_path);
        json_decref(created);
}

static void usage_errors(void **state) {
        fixture *f = *state;
        const char *no_password[] = {"keys", "vrf", "create", "--config", f->config_a, NULL};
        lk_free(lktest_run_expect(no_password, 2, "--password FILE is required"));
        const char *no_id[] = {"keys", "vrf", "export", "--config", f->config_a, NULL};
        lk_free(lktest_run_expect(no_id, 2, "usage"));
        const char *bad_id[] = {"keys", "vrf", "export", "0x12", "--config", f->config_a, "--password", f->password,
                                "--new-password", f->export_password, NULL};
        lk_free(lktest_run_expect(bad_id, 2, "a VRF key id is 0x and 66 hex digits"));
        const char *no_file[] = {"keys", "vrf", "import", "/nonexistent/key.json", "--config", f->config_a,
                                 "--password", f->password, "--old-password", f->password, NULL};
        lk_free(lktest_run_expect(no_file, 2, "/nonexistent/key.json"));
        const char *unknown[] = {"keys", "vrf", "rotate", "--config", f->config_a, NULL};
        lk_free(lktest_run_expect(unknown, 2, "unknown keys vrf command"));
        const char *flag_value[] = {"keys", "vrf", "create", "--password", NULL};
        lk_free(lktest_run_expect(flag_value, 2, "--password needs a value"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(create_export_import, setup, teardown),
                cmocka_unit_test_setup_teardown(ethereum_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(usage_errors, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
