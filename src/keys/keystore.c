/* See include/linkd/keystore.h. */
#include "linkd/keystore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/eth.h"
#include "linkd/hex.h"

#define VRF "vrf"

static lk_scrypt_params scrypt_of(const lk_keystore_options *o) {
        return o->scrypt.n ? o->scrypt : LK_SCRYPT_STANDARD;
}

static void id_of(const lk_point *pk, char out[static LK_VRF_KEY_ID_LEN + 1]) {
        static const char digits[] = "0123456789abcdef";
        uint8_t short_form[LK_POINT_SHORT_LEN];
        lk_point_to_short(pk, short_form);
        out[0] = '0';
        out[1] = 'x';
        for (size_t i = 0; i < sizeof short_form; i++) {
                out[2 + 2 * i] = digits[short_form[i] >> 4];
                out[3 + 2 * i] = digits[short_form[i] & 15];
        }
        out[LK_VRF_KEY_ID_LEN] = '\0';
}

/* A key id back to its point; -EINVAL when it is not one. */
static int point_of_id(const char *id, lk_point *ret, lk_err *err) {
        uint8_t short_form[LK_POINT_SHORT_LEN];
        if (strlen(id) != LK_VRF_KEY_ID_LEN || id[0] != '0' || (id[1] != 'x' && id[1] != 'X'))
                return lk_err_set(err, -EINVAL, "a VRF key id is 0x and %d hex digits", 2 * LK_POINT_SHORT_LEN);
        for (size_t i = 0; i < sizeof short_form; i++) {
                int hi = lk_hex_digit(id[2 + 2 * i]), lo = lk_hex_digit(id[3 + 2 * i]);
                if (hi < 0 || lo < 0)
                        return lk_err_set(err, -EINVAL, "a VRF key id is 0x and %d hex digits",
                                          2 * LK_POINT_SHORT_LEN);
                short_form[i] = (uint8_t)(hi << 4 | lo);
        }
        int r = lk_point_from_short(ret, short_form, err);
        if (r < 0)
                lk_err_prefix(err, "VRF key id");
        return r;
}

/* ---- rows ---- */

typedef struct row_args {
        const char *id, *type, *crypto;
        lk_usec created_at;
        char *found_crypto;          /* read: the crypto of id, or of any key when id is NULL */
        lk_vrf_key_info *items;      /* list */
        size_t count;
} row_args;

static int read_crypto(lk_db *db, void *arg, lk_err *err) {
        row_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              a->id ? "SELECT crypto FROM encrypted_keys WHERE id = $1"
                                    : "SELECT crypto FROM encrypted_keys ORDER BY created_at LIMIT 1",
                              &st, err);
        if (r < 0)
                return r;
        if (a->id)
                lk_stmt_bind_text(st, 1, a->id, SIZE_MAX);
        lk_freep(&a->found_crypto);
        if ((r = lk_stmt_step(st, err)) == 1)
                a->found_crypto = lk_strdup(lk_stmt_text(st, 0, NULL));
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int insert_key(lk_db *db, void *arg, lk_err *err) {
        row_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT 1 FROM encrypted_keys WHERE id = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->id, SIZE_MAX);
        r = lk_stmt_step(st, err);
        lk_stmt_done(st);
        if (r != 0)
                return r < 0 ? r : lk_err_set(err, -EEXIST, "key %s already exists", a->id);
        r = lk_db_prepare(db, "INSERT INTO encrypted_keys (id, type, crypto, created_at) VALUES ($1, $2, $3, $4)",
                          &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->id, SIZE_MAX);
        lk_stmt_bind_text(st, 2, a->type, SIZE_MAX);
        lk_stmt_bind_text(st, 3, a->crypto, SIZE_MAX);
        lk_stmt_bind_time(st, 4, a->created_at);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

static int list_keys(lk_db *db, void *arg, lk_err *err) {
        row_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT id, created_at FROM encrypted_keys WHERE type = $1 ORDER BY created_at, id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->type, SIZE_MAX);
        lk_freep(&a->items);
        a->count = 0;
        size_t cap = 0;
        while ((r = lk_stmt_step(st, err)) == 1) {
                lk_vrf_key_info info = {.created_at = lk_stmt_time(st, 1)};
                snprintf(info.id, sizeof info.id, "%s", lk_stmt_text(st, 0, NULL));
                if (point_of_id(info.id, &info.public_key, NULL) < 0)
                        continue; /* not a VRF id: not a row this code wrote */
                if (a->count == cap) {
                        cap = cap ? 2 * cap : 8;
                        a->items = lk_realloc(a->items, cap * sizeof *a->items);
                }
                a->items[a->count++] = info;
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

/* ---- the password ---- */

static int decrypt_text(const char *crypto_text, const char *password, uint8_t secret[static 32], lk_err *err) {
        json_error_t error;
        json_t *crypto = json_loads(crypto_text, 0, &error);
        if (!crypto)
                return lk_err_set(err, -EIO, "a stored key is not JSON: %s", error.text);
        int r = lk_keyfile_decrypt(crypto, password, secret, err);
        json_decref(crypto);
        return r;
}

/* The node's keys share one password: refuse another. */
static int check_password(lk_store *store, const char *password, lk_err *err) {
        row_args a = {.id = NULL};
        int r = lk_store_read(store, read_crypto, &a, err);
        if (r == 0 && a.found_crypto) {
                uint8_t secret[32];
                r = decrypt_text(a.found_crypto, password, secret, err);
                explicit_bzero(secret, sizeof secret);
                if (r == -EACCES)
                        lk_err_set(err, r, "the password does not open this node's keys");
        }
        lk_free(a.found_crypto);
        return r;
}

/* Encrypts secret with the node's password and stores it as id. */
static int store_secret(lk_store *store, const lk_vrf_key_info *info, const lk_scalar *secret,
                        const lk_keystore_options *o, lk_err *err) {
        json_t *crypto = NULL;
        int r = lk_keyfile_encrypt(secret->b, o->password, scrypt_of(o), o->random, &crypto, err);
        if (r < 0)
                return r;
        char *text = json_dumps(crypto, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(crypto);
        row_args a = {.id = info->id, .type = VRF, .crypto = text, .created_at = info->created_at};
        r = lk_store_tx(store, insert_key, &a, err);
        free(text);
        return r;
}

/* ---- the API ---- */

int lk_keystore_vrf_create(lk_store *store, const lk_keystore_options *o, lk_vrf_key_info *ret, lk_err *err) {
        int r = check_password(store, o->password, err);
        if (r < 0)
                return r;
        lk_scalar secret;
        if ((r = lk_scalar_random(&secret, o->random)) < 0)
                return lk_err_set(err, r, "cannot read random bytes for a key");
        lk_vrf_key_info info = {.created_at = lk_now_realtime()};
        lk_point_base_mul(&info.public_key, &secret);
        id_of(&info.public_key, info.id);
        r = store_secret(store, &info, &secret, o, err);
        lk_scalar_wipe(&secret);
        if (r == 0)
                *ret = info;
        return r;
}

int lk_keystore_vrf_list(lk_store *store, lk_vrf_key_info **ret, size_t *ret_count, lk_err *err) {
        row_args a = {.type = VRF};
        int r = lk_store_read(store, list_keys, &a, err);
        if (r < 0) {
                lk_free(a.items);
                return r;
        }
        *ret = a.items;
        *ret_count = a.count;
        return 0;
}

int lk_keystore_vrf_secret(lk_store *store, const char *id, const char *password, lk_scalar *ret, lk_err *err) {
        lk_point pk;
        int r = point_of_id(id, &pk, err);
        if (r < 0)
                return r;
        char canonical[LK_VRF_KEY_ID_LEN + 1];
        id_of(&pk, canonical);
        row_args a = {.id = canonical};
        if ((r = lk_store_read(store, read_crypto, &a, err)) < 0)
                return r;
        if (!a.found_crypto)
                return lk_err_set(err, -ENOENT, "no VRF key %s", canonical);
        lk_scalar secret;
        r = decrypt_text(a.found_crypto, password, secret.b, err);
        lk_free(a.found_crypto);
        lk_point check;
        if (r == 0) {
                lk_point_base_mul(&check, &secret);
                if (!lk_point_equal(&check, &pk))
                        r = lk_err_set(err, -EIO, "stored key %s does not hold its own secret", canonical);
        }
        if (r == 0)
                *ret = secret;
        lk_scalar_wipe(&secret);
        return r;
}

int lk_keystore_vrf_export(lk_store *store, const char *id, const lk_keystore_options *o,
                           const char *export_password, char **ret_json, lk_err *err) {
        lk_scalar secret;
        int r = lk_keystore_vrf_secret(store, id, o->password, &secret, err);
        if (r < 0)
                return r;
        json_t *crypto = NULL;
        r = lk_keyfile_encrypt(secret.b, export_password, scrypt_of(o), o->random, &crypto, err);
        lk_point pk;
        uint8_t address[LK_ADDRESS_LEN];
        char address_hex[2 * LK_ADDRESS_LEN + 1], key_id[LK_VRF_KEY_ID_LEN + 1];
        lk_point_base_mul(&pk, &secret);
        lk_scalar_wipe(&secret);
        if (r < 0)
                return r;
        lk_point_address(&pk, address);
        for (size_t i = 0; i < LK_ADDRESS_LEN; i++)
                snprintf(address_hex + 2 * i, 3, "%02x", address[i]);
        id_of(&pk, key_id);
        json_t *file = json_pack("{s:s, s:{s:s, s:o, s:i}}", "PublicKey", key_id, "vrf_key", "address", address_hex,
                                 "crypto", crypto, "version", 3);
        char *text = json_dumps(file, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(file);
        *ret_json = lk_strdup(text);
        free(text);
        return 0;
}

int lk_keystore_vrf_import(lk_store *store, const char *json, size_t len, const char *file_password,
                           const lk_keystore_options *o, lk_vrf_key_info *ret, lk_err *err) {
        json_error_t error;
        json_t *file = json_loadb(json, len, 0, &error);
        if (!file)
                return lk_err_set(err, -EINVAL, "key file: line %d: %s", error.line, error.text);
        const char *id = json_string_value(json_object_get(file, "PublicKey"));
        const json_t *vrf_key = json_object_get(file, "vrf_key");
        lk_vrf_key_info info = {.created_at = lk_now_realtime()};
        lk_scalar secret;
        int r = 0;
        if (!id || !json_is_object(vrf_key))
                r = lk_err_set(err, -EINVAL, "key file: want PublicKey and vrf_key (a VRF key export)");
        if (r == 0 && (r = point_of_id(id, &info.public_key, err)) < 0)
                lk_err_prefix(err, "key file: PublicKey");
        if (r == 0)
                r = lk_keyfile_decrypt(lk_keyfile_crypto(vrf_key), file_password, secret.b, err);
        json_decref(file);
        if (r < 0)
                return r;
        lk_point check;
        lk_point_base_mul(&check, &secret);
        if (!lk_point_equal(&check, &info.public_key)) {
                lk_scalar_wipe(&secret);
                return lk_err_set(err, -EINVAL, "key file: PublicKey is not the public key of its secret");
        }
        id_of(&info.public_key, info.id);
        r = check_password(store, o->password, err);
        if (r == 0)
                r = store_secret(store, &info, &secret, o, err);
        lk_scalar_wipe(&secret);
        if (r == 0)
                *ret = info;
        return r;
}
