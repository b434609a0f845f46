/* The node's keys in its database, on SQLite and PostgreSQL.  VRF keys: created
 * keys open with the node's password only, survive export and import with
 * another password, and a node's keys all share one password; nothing
 * secret is stored in the clear.  Ethereum keys: created, imported from
 * ethers' file, exported, deleted and imported back. */
#include "lktest.h"
#include "cryptotest.h"
#include "test_db.h"

#include <errno.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/keystore.h"

#define NODE_PASSWORD "node-keystore-password"
/* Fast scrypt for tests; the CLI's black-box test uses the standard cost. */
#define LIGHT {1024, 8, 1}

typedef struct scan {
        char secret_hex[65];
        int rows, clear;
} scan;

static int scan_rows(lk_db *db, void *arg, lk_err *err) {
        scan *s = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT encrypted FROM keys", &st, err);
        if (r < 0)
                return r;
        while ((r = lk_stmt_step(st, err)) == 1) {
                size_t len = 0;
                const char *blob = lk_stmt_blob(st, 0, &len);
                char *text = lk_strndup(blob, len);
                s->rows++;
                s->clear += strstr(text, s->secret_hex) != NULL;
                lk_free(text);
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static void create_list_and_open(void **state) {
        lktest_db *db = *state;
        lktest_stream stream;
        lk_keystore_options o = {.password = NODE_PASSWORD, .scrypt = LIGHT,
                                 .random = lktest_stream_init(&stream, 41)};
        lk_vrf_key_info a, b;
        lk_err err = LK_ERR_INIT;
        if (lk_keystore_vrf_create(db->store, &o, &a, &err) < 0 || lk_keystore_vrf_create(db->store, &o, &b, &err) < 0)
                fail_msg("create: %s", err.msg);
        assert_string_not_equal(a.id, b.id);
        lk_vrf_key_info *keys = NULL;
        size_t count = 0;
        assert_int_equal(lk_keystore_vrf_list(db->store, &keys, &count, &err), 0);
        assert_int_equal(count, 2);
        assert_string_equal(keys[0].id, a.id);
        assert_true(lk_point_equal(&keys[1].public_key, &b.public_key));
        lk_free(keys);
        lk_scalar secret;
        assert_int_equal(lk_keystore_vrf_secret(db->store, a.id, NODE_PASSWORD, &secret, &err), 0);
        lk_point pk;
        lk_point_base_mul(&pk, &secret);
        assert_true(lk_point_equal(&pk, &a.public_key));
        assert_int_equal(lk_keystore_vrf_secret(db->store, a.id, "another password", &secret, &err), -EACCES);
        scan sc = {.rows = 0};
        for (int i = 0; i < 32; i++)
                snprintf(sc.secret_hex + 2 * i, 3, "%02x", secret.b[i]);
        assert_int_equal(lk_store_read(db->store, scan_rows, &sc, &err), 0);
        assert_int_equal(sc.rows, 2);
        assert_int_equal(sc.clear, 0);
        /* one password for a node's keys */
        lk_keystore_options other = o;
        other.password = "another password";
        assert_int_equal(lk_keystore_vrf_create(db->store, &other, &a, &err), -EACCES);
        assert_string_equal(err.msg, "the password does not open this node's keys");
        char unknown[LK_VRF_KEY_ID_LEN + 1];
        snprintf(unknown, sizeof unknown, "%s", b.id);
        unknown[LK_VRF_KEY_ID_LEN - 1] = unknown[LK_VRF_KEY_ID_LEN - 1] == '0' ? '1' : '0'; /* the other parity */
        assert_int_equal(lk_keystore_vrf_secret(db->store, unknown, NODE_PASSWORD, &secret, &err), -ENOENT);
        assert_int_equal(lk_keystore_vrf_secret(db->store, "0x1234", NODE_PASSWORD, &secret, &err), -EINVAL);
}

static void export_and_import(void **state) {
        lktest_db *db = *state;
        lktest_stream stream;
        lk_keystore_options o = {.password = NODE_PASSWORD, .scrypt = LIGHT,
                                 .random = lktest_stream_init(&stream, 42)};
        lk_vrf_key_info a, back;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_keystore_vrf_create(db->store, &o, &a, &err), 0);
        char *json = NULL;
        assert_int_equal(lk_keystore_vrf_export(db->store, a.id, &o, "export password", &json, &err), 0);
        assert_non_null(strstr(json, "\"PublicKey\""));
        assert_non_null(strstr(json, a.id));
        assert_non_null(strstr(json, "\"vrf_key\""));
        /* already here */
        assert_int_equal(lk_keystore_vrf_import(db->store, json, strlen(json), "export password", &o, &back, &err),
                         -EEXIST);
        assert_int_equal(lk_keystore_vrf_import(db->store, json, strlen(json), "wrong", &o, &back, &err), -EACCES);
        /* a PublicKey that is not the secret's */
        char *forged = lk_strdup(json);
        char *at = strstr(forged, a.id) + LK_VRF_KEY_ID_LEN - 1;
        *at = *at == '0' ? '1' : '0';
        assert_int_equal(lk_keystore_vrf_import(db->store, forged, strlen(forged), "export password", &o, &back, &err),
                         -EINVAL);
        assert_string_equal(err.msg, "key file: PublicKey is not the public key of its secret");
        lk_free(forged);
        assert_int_equal(lk_keystore_vrf_import(db->store, "{", 1, "x", &o, &back, &err), -EINVAL);
        assert_int_equal(lk_keystore_vrf_import(db->store, "{}", 2, "x", &o, &back, &err), -EINVAL);
        lk_free(json);
}

static const char ethers_file[] = LKTEST_ETHERS_KEY_FILE;

static void ethereum_keys(void **state) {
        lktest_db *db = *state;
        lktest_stream stream;
        lk_keystore_options o = {.password = NODE_PASSWORD, .scrypt = LIGHT,
                                 .random = lktest_stream_init(&stream, 43)};
        lk_err err = LK_ERR_INIT;
        lk_eth_key_info created, imported;
        assert_int_equal(lk_keystore_eth_create(db->store, &o, &created, &err), 0);
        assert_int_equal(strlen(created.address), 42);
        /* another wallet's file */
        if (lk_keystore_eth_import(db->store, ethers_file, strlen(ethers_file), "testpassword", &o, &imported, &err) < 0)
                fail_msg("import: %s", err.msg);
        assert_string_equal(imported.address, "0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b");
        lk_eth_key key;
        assert_int_equal(lk_keystore_eth_key(db->store, "0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b", NODE_PASSWORD,
                                             &key, &err),
                         0);
        lktest_assert_hex(key.secret.b, 32, "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d");
        lk_eth_key_wipe(&key);
        lk_eth_key_info *keys = NULL;
        size_t count = 0;
        assert_int_equal(lk_keystore_eth_list(db->store, &keys, &count, &err), 0);
        assert_int_equal(count, 2);
        lk_free(keys);
        /* a file whose address is not its key's */
        char *forged = lk_strdup(ethers_file);
        forged[strlen("{\"address\":\"") + 2] = 'f';
        assert_int_equal(lk_keystore_eth_import(db->store, forged, strlen(forged), "testpassword", &o, &imported, &err),
                         -EINVAL);
        assert_string_equal(err.msg, "key file: address is not the address of its secret");
        lk_free(forged);
        /* export, delete, import back */
        char *json = NULL;
        assert_int_equal(lk_keystore_eth_export(db->store, created.address, &o, "export password", &json, &err), 0);
        assert_int_equal(lk_keystore_eth_delete(db->store, created.address, "wrong", &err), -EACCES);
        assert_int_equal(lk_keystore_eth_delete(db->store, created.address, NODE_PASSWORD, &err), 0);
        assert_int_equal(lk_keystore_eth_key(db->store, created.address, NODE_PASSWORD, &key, &err), -ENOENT);
        if (lk_keystore_eth_import(db->store, json, strlen(json), "export password", &o, &imported, &err) < 0)
                fail_msg("import back: %s", err.msg);
        assert_string_equal(imported.address, created.address);
        lk_free(json);
        assert_int_equal(lk_keystore_eth_key(db->store, "0x12", NODE_PASSWORD, &key, &err), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                LKTEST_BOTH_BACKENDS(create_list_and_open),
                LKTEST_BOTH_BACKENDS(export_and_import),
                LKTEST_BOTH_BACKENDS(ethereum_keys),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
