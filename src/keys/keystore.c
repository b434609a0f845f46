/* See include/linkd/keystore.h.  A row layer over table keys (id, type,
 * encrypted: the crypto object's JSON, created_at)
 * serves both kinds of key; each kind names its keys and writes its
 * export format. */
#include "linkd/keystore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/hex.h"
#include "linkd/uuid.h"

#define VRF "vrf"
#define ETH "eth"
#define ID_MAX LK_VRF_KEY_ID_LEN /* the longer of the two kinds of id */

static lk_scrypt_params scrypt_of(const lk_keystore_options *o) {
        return o->scrypt.n ? o->scrypt : LK_SCRYPT_STANDARD;
}

/* ---- ids ---- */

static void vrf_id_of(const lk_point *pk, char out[static LK_VRF_KEY_ID_LEN + 1]) {
        uint8_t short_form[LK_POINT_SHORT_LEN];
        lk_point_to_short(pk, short_form);
        out[0] = '0';
        out[1] = 'x';
        lk_hex_encode(out + 2, short_form, sizeof short_form);
}

/* A VRF key id back to its point. */
static int point_of_id(const char *id, lk_point *ret, lk_err *err) {
        uint8_t short_form[LK_POINT_SHORT_LEN];
        if (!lk_hex_decode_prefixed(id, short_form, sizeof short_form))
                return lk_err_set(err, -EINVAL, "a VRF key id is 0x and %d hex digits", 2 * LK_POINT_SHORT_LEN);
        int r = lk_point_from_short(ret, short_form, err);
        if (r < 0)
                lk_err_prefix(err, "VRF key id");
        return r;
}

/* An address in any case to its EIP-55 text, the id of an Ethereum key. */
static int eth_id_of(const char *address, char out[static 43], lk_err *err) {
        uint8_t b[LK_ADDRESS_LEN];
        if (!lk_hex_decode_prefixed(address, b, sizeof b))
                return lk_err_set(err, -EINVAL, "an address is 0x and 40 hex digits");
        lk_eth_address_text(b, out);
        return 0;
}

/* ---- rows ---- */

typedef struct key_row {
        char id[ID_MAX + 1];
        lk_usec created_at;
} key_row;

typedef struct row_args {
        const char *id, *type, *crypto;
        lk_usec created_at;
        char *found_crypto; /* read: the crypto of id, or of any key when id is NULL */
        key_row *rows;      /* list */
        size_t count;
        int64_t deleted;
} row_args;

static int read_crypto(lk_db *db, void *arg, lk_err *err) {
        row_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              a->id ? "SELECT encrypted FROM keys WHERE id = $1"
                                    : "SELECT encrypted FROM keys WHERE type IN ('vrf', 'eth') ORDER BY created_at"
                                      " LIMIT 1",
                              &st, err);
        if (r < 0)
                return r;
        if (a->id)
                lk_stmt_bind_text(st, 1, a->id, SIZE_MAX);
        lk_freep(&a->found_crypto);
        if ((r = lk_stmt_step(st, err)) == 1) {
                size_t len = 0;
                const char *blob = lk_stmt_blob(st, 0, &len);
                a->found_crypto = lk_strndup(blob ? blob : "", len);
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int insert_key(lk_db *db, void *arg, lk_err *err) {
        row_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT 1 FROM keys WHERE id = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->id, SIZE_MAX);
        r = lk_stmt_step(st, err);
        lk_stmt_done(st);
        if (r != 0)
                return r < 0 ? r : lk_err_set(err, -EEXIST, "key %s already exists", a->id);
        r = lk_db_prepare(db, "INSERT INTO keys (id, type, encrypted, created_at) VALUES ($1, $2, $3, $4)", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->id, SIZE_MAX);
        lk_stmt_bind_text(st, 2, a->type, SIZE_MAX);
        lk_stmt_bind_blob(st, 3, a->crypto, strlen(a->crypto));
        lk_stmt_bind_time(st, 4, a->created_at);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

static int list_rows(lk_db *db, void *arg, lk_err *err) {
        row_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT id, created_at FROM keys WHERE type = $1 ORDER BY created_at, id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->type, SIZE_MAX);
        lk_freep(&a->rows);
        a->count = 0;
        size_t cap = 0;
        while ((r = lk_stmt_step(st, err)) == 1) {
                if (a->count == cap) {
                        cap = cap ? 2 * cap : 8;
                        a->rows = lk_realloc(a->rows, cap * sizeof *a->rows);
                }
                key_row *row = &a->rows[a->count++];
                snprintf(row->id, sizeof row->id, "%s", lk_stmt_text(st, 0, NULL));
                row->created_at = lk_stmt_time(st, 1);
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int delete_row(lk_db *db, void *arg, lk_err *err) {
        row_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "DELETE FROM keys WHERE id = $1 AND type = $2", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->id, SIZE_MAX);
        lk_stmt_bind_text(st, 2, a->type, SIZE_MAX);
        r = lk_stmt_run(st, err);
        a->deleted = lk_stmt_changes(st);
        lk_stmt_done(st);
        return r;
}

/* ---- secrets ---- */

static int decrypt_text(const char *crypto_text, const char *password, uint8_t secret[static 32], lk_err *err) {
        json_error_t error;
        json_t *crypto = json_loads(crypto_text, 0, &error);
        if (!crypto)
                return lk_err_set(err, -EIO, "a stored key is not JSON: %s", error.text);
        int r = lk_keyfile_decrypt(crypto, password, secret, err);
        json_decref(crypto);
        return r;
}

/* The secret stored as id; -ENOENT when there is none. */
static int open_secret(lk_store *store, const char *id, const char *what, const char *password, lk_scalar *ret,
                       lk_err *err) {
        row_args a = {.id = id};
        int r = lk_store_read(store, read_crypto, &a, err);
        if (r < 0)
                return r;
        if (!a.found_crypto)
                return lk_err_set(err, -ENOENT, "no %s key %s", what, id);
        r = decrypt_text(a.found_crypto, password, ret->b, err);
        lk_free(a.found_crypto);
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

/* Encrypts secret with the node's password and stores it. */
static int store_secret(lk_store *store, const char *id, const char *type, lk_usec created_at,
                        const lk_scalar *secret, const lk_keystore_options *o, lk_err *err) {
        int r = check_password(store, o->password, err);
        if (r < 0)
                return r;
        json_t *crypto = NULL;
        if ((r = lk_keyfile_encrypt(secret->b, o->password, scrypt_of(o), o->random, &crypto, err)) < 0)
                return r;
        char *text = json_dumps(crypto, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(crypto);
        row_args a = {.id = id, .type = type, .crypto = text, .created_at = created_at};
        r = lk_store_tx(store, insert_key, &a, err);
        free(text);
        return r;
}

static int list_type(lk_store *store, const char *type, key_row **ret, size_t *ret_count, lk_err *err) {
        row_args a = {.type = type};
        int r = lk_store_read(store, list_rows, &a, err);
        if (r < 0) {
                lk_free(a.rows);
                return r;
        }
        *ret = a.rows;
        *ret_count = a.count;
        return 0;
}

/* The "crypto" object of secret under export_password (a new reference). */
static int export_crypto(const lk_scalar *secret, const lk_keystore_options *o, const char *export_password,
                         json_t **ret, lk_err *err) {
        return lk_keyfile_encrypt(secret->b, export_password, scrypt_of(o), o->random, ret, err);
}

static char *dump(json_t *file) {
        char *text = json_dumps(file, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(file);
        char *copy = lk_strdup(text);
        free(text);
        return copy;
}

/* ---- VRF keys ---- */

int lk_keystore_vrf_create(lk_store *store, const lk_keystore_options *o, lk_vrf_key_info *ret, lk_err *err) {
        lk_scalar secret;
        int r = lk_scalar_random(&secret, o->random);
        if (r < 0)
                return lk_err_set(err, r, "cannot read random bytes for a key");
        lk_vrf_key_info info = {.created_at = lk_now_realtime()};
        lk_point_base_mul(&info.public_key, &secret);
        vrf_id_of(&info.public_key, info.id);
        r = store_secret(store, info.id, VRF, info.created_at, &secret, o, err);
        lk_scalar_wipe(&secret);
        if (r == 0)
                *ret = info;
        return r;
}

int lk_keystore_vrf_list(lk_store *store, lk_vrf_key_info **ret, size_t *ret_count, lk_err *err) {
        key_row *rows = NULL;
        size_t count = 0;
        int r = list_type(store, VRF, &rows, &count, err);
        if (r < 0)
                return r;
        lk_vrf_key_info *keys = lk_calloc(count ? count : 1, sizeof *keys);
        size_t n = 0;
        for (size_t i = 0; i < count; i++) {
                lk_vrf_key_info *k = &keys[n];
                snprintf(k->id, sizeof k->id, "%s", rows[i].id);
                k->created_at = rows[i].created_at;
                n += point_of_id(k->id, &k->public_key, NULL) == 0; /* skip what this code did not write */
        }
        lk_free(rows);
        *ret = keys;
        *ret_count = n;
        return 0;
}

int lk_keystore_vrf_secret(lk_store *store, const char *id, const char *password, lk_scalar *ret, lk_err *err) {
        lk_point pk, check;
        int r = point_of_id(id, &pk, err);
        if (r < 0)
                return r;
        char canonical[LK_VRF_KEY_ID_LEN + 1];
        vrf_id_of(&pk, canonical);
        lk_scalar secret;
        if ((r = open_secret(store, canonical, "VRF", password, &secret, err)) < 0)
                return r;
        lk_point_base_mul(&check, &secret);
        if (!lk_point_equal(&check, &pk))
                r = lk_err_set(err, -EIO, "stored key %s does not hold its own secret", canonical);
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
        r = export_crypto(&secret, o, export_password, &crypto, err);
        lk_point pk;
        lk_point_base_mul(&pk, &secret);
        lk_scalar_wipe(&secret);
        if (r < 0)
                return r;
        uint8_t address[LK_ADDRESS_LEN];
        char address_hex[2 * LK_ADDRESS_LEN + 1], key_id[LK_VRF_KEY_ID_LEN + 1];
        lk_point_address(&pk, address);
        lk_hex_encode(address_hex, address, sizeof address);
        vrf_id_of(&pk, key_id);
        *ret_json = dump(json_pack("{s:s, s:{s:s, s:o, s:i}}", "PublicKey", key_id, "vrf_key", "address", address_hex,
                                   "crypto", crypto, "version", 3));
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
        vrf_id_of(&info.public_key, info.id);
        r = store_secret(store, info.id, VRF, info.created_at, &secret, o, err);
        lk_scalar_wipe(&secret);
        if (r == 0)
                *ret = info;
        return r;
}

/* ---- Ethereum keys ---- */

static int store_eth(lk_store *store, const lk_eth_key *key, const lk_keystore_options *o, lk_eth_key_info *ret,
                     lk_err *err) {
        lk_eth_key_info info = {.created_at = lk_now_realtime()};
        lk_eth_address_text(key->address, info.address);
        int r = store_secret(store, info.address, ETH, info.created_at, &key->secret, o, err);
        if (r == 0)
                *ret = info;
        return r;
}

int lk_keystore_eth_create(lk_store *store, const lk_keystore_options *o, lk_eth_key_info *ret, lk_err *err) {
        lk_eth_key key;
        int r = lk_eth_key_generate(&key, o->random, err);
        if (r == 0)
                r = store_eth(store, &key, o, ret, err);
        lk_eth_key_wipe(&key);
        return r;
}

int lk_keystore_eth_list(lk_store *store, lk_eth_key_info **ret, size_t *ret_count, lk_err *err) {
        key_row *rows = NULL;
        size_t count = 0;
        int r = list_type(store, ETH, &rows, &count, err);
        if (r < 0)
                return r;
        lk_eth_key_info *keys = lk_calloc(count ? count : 1, sizeof *keys);
        size_t n = 0;
        for (size_t i = 0; i < count; i++) {
                if (eth_id_of(rows[i].id, keys[n].address, NULL) < 0)
                        continue; /* skip what this code did not write */
                keys[n++].created_at = rows[i].created_at;
        }
        lk_free(rows);
        *ret = keys;
        *ret_count = n;
        return 0;
}

int lk_keystore_eth_key(lk_store *store, const char *address, const char *password, lk_eth_key *ret, lk_err *err) {
        char id[43];
        int r = eth_id_of(address, id, err);
        if (r < 0)
                return r;
        lk_scalar secret;
        lk_eth_key key;
        if ((r = open_secret(store, id, "Ethereum", password, &secret, err)) < 0)
                return r;
        r = lk_eth_key_from_secret(&key, secret.b, err);
        lk_scalar_wipe(&secret);
        char check[43];
        if (r == 0) {
                lk_eth_address_text(key.address, check);
                if (strcmp(check, id) != 0)
                        r = lk_err_set(err, -EIO, "stored key %s does not hold its own secret", id);
        }
        if (r == 0)
                *ret = key;
        lk_eth_key_wipe(&key);
        return r;
}

int lk_keystore_eth_export(lk_store *store, const char *address, const lk_keystore_options *o,
                           const char *export_password, char **ret_json, lk_err *err) {
        lk_eth_key key;
        int r = lk_keystore_eth_key(store, address, o->password, &key, err);
        if (r < 0)
                return r;
        json_t *crypto = NULL;
        r = export_crypto(&key.secret, o, export_password, &crypto, err);
        char address_hex[2 * LK_ADDRESS_LEN + 1], uuid[37];
        lk_hex_encode(address_hex, key.address, LK_ADDRESS_LEN);
        lk_eth_key_wipe(&key);
        if (r == 0 && lk_uuid_v4(uuid) < 0)
                r = lk_err_set(err, -EIO, "cannot read random bytes for the file's id");
        if (r < 0) {
                json_decref(crypto);
                return r;
        }
        *ret_json = dump(json_pack("{s:s, s:o, s:s, s:i}", "address", address_hex, "crypto", crypto, "id", uuid,
                                   "version", 3));
        return 0;
}

int lk_keystore_eth_import(lk_store *store, const char *json, size_t len, const char *file_password,
                           const lk_keystore_options *o, lk_eth_key_info *ret, lk_err *err) {
        json_error_t error;
        json_t *file = json_loadb(json, len, 0, &error);
        if (!file)
                return lk_err_set(err, -EINVAL, "key file: line %d: %s", error.line, error.text);
        const char *claimed = json_string_value(json_object_get(file, "address"));
        char claimed_id[43] = "";
        lk_scalar secret;
        lk_eth_key key;
        int r = 0;
        if (claimed) {
                char prefixed[64];
                snprintf(prefixed, sizeof prefixed, "%s%s", strncmp(claimed, "0x", 2) == 0 ? "" : "0x", claimed);
                if ((r = eth_id_of(prefixed, claimed_id, err)) < 0)
                        lk_err_prefix(err, "key file: address");
        }
        if (r == 0)
                r = lk_keyfile_decrypt(lk_keyfile_crypto(file), file_password, secret.b, err);
        json_decref(file);
        if (r == 0) {
                r = lk_eth_key_from_secret(&key, secret.b, err);
                lk_scalar_wipe(&secret);
        }
        if (r < 0)
                return r;
        char id[43];
        lk_eth_address_text(key.address, id);
        if (*claimed_id && strcmp(claimed_id, id) != 0)
                r = lk_err_set(err, -EINVAL, "key file: address is not the address of its secret");
        if (r == 0)
                r = store_eth(store, &key, o, ret, err);
        lk_eth_key_wipe(&key);
        return r;
}

int lk_keystore_eth_delete(lk_store *store, const char *address, const char *password, lk_err *err) {
        lk_eth_key key;
        int r = lk_keystore_eth_key(store, address, password, &key, err);
        if (r < 0)
                return r;
        char id[43];
        lk_eth_address_text(key.address, id);
        lk_eth_key_wipe(&key);
        row_args a = {.id = id, .type = ETH};
        r = lk_store_tx(store, delete_row, &a, err);
        if (r == 0 && a.deleted != 1)
                r = lk_err_set(err, -ENOENT, "no Ethereum key %s", id);
        return r;
}
