/* External initiators in external_initiators (see
 * include/linkd/bridges.h), with the checks Chainlink's
 * ExternalInitiatorsController makes. */
#include <errno.h>
#include <string.h>

#include "../auth/auth.h"
#include "linkd/alloc.h"
#include "linkd/bridges.h"
#include "registry.h"

#define DIGEST_HEX_LEN (2 * SHA256_DIGEST_SIZE)
#define SALT_BYTES 16
#define OUTGOING_BYTES 32
#define NOT_FOUND "external initiator not found"
#define BAD_CREDENTIALS "invalid external initiator credentials"
#define COLUMNS "id, name, url, access_key, outgoing_token, outgoing_secret, created_at, updated_at"

void lk_external_initiator_done(lk_external_initiator *ei) {
        if (!ei)
                return;
        lk_free(ei->name);
        lk_free(ei->url);
        lk_free(ei->access_key);
        lk_free(ei->outgoing_token);
        if (ei->outgoing_secret)
                explicit_bzero(ei->outgoing_secret, strlen(ei->outgoing_secret));
        lk_free(ei->outgoing_secret);
        *ei = (lk_external_initiator){0};
}

lk_external_initiator *lk_external_initiators_free(lk_external_initiator *items, size_t count) {
        for (size_t i = 0; items && i < count; i++)
                lk_external_initiator_done(&items[i]);
        lk_free(items);
        return NULL;
}

int lk_external_initiator_name_check(const char *name, lk_err *err) {
        if (!name || !*name)
                return lk_err_set(err, -EINVAL, "No name specified");
        if (!lk__registry_name_ok(name))
                return lk_err_set(err, -EINVAL, "Name must be alphanumeric and may contain '_' or '-'");
        return 0;
}

static void read_initiator(lk_stmt *st, lk_external_initiator *ei) {
        ei->id = lk_stmt_int64(st, 0);
        ei->name = lk_strdup(lk_stmt_text(st, 1, NULL));
        ei->url = lk_stmt_is_null(st, 2) ? NULL : lk_strdup(lk_stmt_text(st, 2, NULL));
        ei->access_key = lk_strdup(lk_stmt_text(st, 3, NULL));
        ei->outgoing_token = lk_strdup(lk_stmt_text(st, 4, NULL));
        ei->outgoing_secret = lk_strdup(lk_stmt_text(st, 5, NULL));
        ei->created_at = lk_stmt_time(st, 6);
        ei->updated_at = lk_stmt_time(st, 7);
}

typedef struct ei_args {
        const char *name, *url;
        const char *access_key, *salt, *hash, *outgoing_token, *outgoing_secret;
        const char *secret; /* presented to lk_external_initiator_authenticate */
        lk_usec now;
        int64_t limit, offset, total;
        lk_external_initiator *items;
        size_t count;
        bool mismatch;
} ei_args;

static void reset(ei_args *a) {
        a->items = lk_external_initiators_free(a->items, a->count);
        a->count = 0;
}

/* The initiator a->name into a->items[0], or -ENOENT. */
static int select_initiator(lk_db *db, ei_args *a, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT " COLUMNS " FROM external_initiators WHERE name = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->name, SIZE_MAX);
        if ((r = lk_stmt_step(st, err)) == 1) {
                a->items = lk_calloc(1, sizeof *a->items);
                a->count = 1;
                read_initiator(st, a->items);
        }
        lk_stmt_done(st);
        return r < 0 ? r : r == 0 ? lk_err_set(err, -ENOENT, NOT_FOUND) : 0;
}

/* ---- create ---- */

static int create_body(lk_db *db, void *arg, lk_err *err) {
        ei_args *a = arg;
        reset(a);
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "INSERT INTO external_initiators (name, url, access_key, salt, hashed_secret,"
                              " outgoing_token, outgoing_secret, created_at, updated_at)"
                              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->name, SIZE_MAX);
        if (a->url)
                lk_stmt_bind_text(st, 2, a->url, SIZE_MAX);
        else
                lk_stmt_bind_null(st, 2);
        lk_stmt_bind_text(st, 3, a->access_key, SIZE_MAX);
        lk_stmt_bind_text(st, 4, a->salt, SIZE_MAX);
        lk_stmt_bind_text(st, 5, a->hash, SIZE_MAX);
        lk_stmt_bind_text(st, 6, a->outgoing_token, SIZE_MAX);
        lk_stmt_bind_text(st, 7, a->outgoing_secret, SIZE_MAX);
        lk_stmt_bind_time(st, 8, a->now);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        if (r == -EEXIST)
                return lk_err_set(err, -EEXIST, "Name %s already exists", a->name);
        return r < 0 ? r : select_initiator(db, a, err);
}

typedef struct credentials {
        char access_key[LK_EI_ACCESS_KEY_LEN + 1];
        char secret[LK_EI_SECRET_LEN + 1];
        char salt[2 * SALT_BYTES + 1];
        char hash[DIGEST_HEX_LEN + 1];
        char outgoing_token[2 * OUTGOING_BYTES + 1];
        char outgoing_secret[2 * OUTGOING_BYTES + 1];
} credentials;

static int new_credentials(credentials *c, lk_err *err) {
        int r = lk__random_hex(c->access_key, LK_EI_ACCESS_KEY_LEN / 2, err);
        if (r >= 0)
                r = lk__random_hex(c->secret, LK_EI_SECRET_LEN / 2, err);
        if (r >= 0)
                r = lk__random_hex(c->salt, SALT_BYTES, err);
        if (r >= 0)
                r = lk__random_hex(c->outgoing_token, OUTGOING_BYTES, err);
        if (r >= 0)
                r = lk__random_hex(c->outgoing_secret, OUTGOING_BYTES, err);
        if (r >= 0)
                lk__digest_hex(c->salt, c->secret, c->hash);
        return r;
}

int lk_external_initiator_create(lk_store *store, const char *name, const char *url, lk_external_initiator *ret_ei,
                                 char ret_secret[static LK_EI_SECRET_LEN + 1], lk_err *err) {
        int r = lk_external_initiator_name_check(name, err);
        if (r >= 0 && url)
                r = lk_bridge_url_check(url, err);
        if (r < 0)
                return r;
        credentials c;
        char *lower = lk__registry_lower(name);
        ei_args a = {.name = lower, .url = url, .now = lk_now_realtime()};
        if ((r = new_credentials(&c, err)) >= 0) {
                a.access_key = c.access_key;
                a.salt = c.salt;
                a.hash = c.hash;
                a.outgoing_token = c.outgoing_token;
                a.outgoing_secret = c.outgoing_secret;
                r = lk_store_tx(store, create_body, &a, err);
        }
        if (r >= 0) {
                *ret_ei = a.items[0];
                lk_free(a.items);
                memcpy(ret_secret, c.secret, sizeof c.secret);
        } else {
                reset(&a);
        }
        explicit_bzero(&c, sizeof c);
        lk_free(lower);
        return r;
}

/* ---- get, exists, delete ---- */

static int get_body(lk_db *db, void *arg, lk_err *err) {
        reset(arg);
        return select_initiator(db, arg, err);
}

int lk_external_initiator_get(lk_store *store, const char *name, lk_external_initiator *ret_ei, lk_err *err) {
        if (!name)
                return lk_err_set(err, -ENOENT, NOT_FOUND);
        char *lower = lk__registry_lower(name);
        ei_args a = {.name = lower};
        int r = lk_store_read(store, get_body, &a, err);
        if (r >= 0) {
                *ret_ei = a.items[0];
                lk_free(a.items);
        } else {
                reset(&a);
        }
        lk_free(lower);
        return r;
}

int lk_external_initiator_exists(lk_store *store, const char *name, bool *ret_exists, lk_err *err) {
        lk_external_initiator ei;
        lk_err ignored = LK_ERR_INIT;
        int r = lk_external_initiator_get(store, name, &ei, &ignored);
        if (r < 0 && r != -ENOENT)
                return lk_err_set(err, r, "%s", ignored.msg);
        lk_external_initiator_done(r == 0 ? &ei : NULL);
        *ret_exists = r == 0;
        return 0;
}

static int delete_body(lk_db *db, void *arg, lk_err *err) {
        ei_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "DELETE FROM external_initiators WHERE name = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->name, SIZE_MAX);
        r = lk_stmt_run(st, err);
        int64_t changes = lk_stmt_changes(st);
        lk_stmt_done(st);
        return r < 0 ? r : changes == 0 ? lk_err_set(err, -ENOENT, NOT_FOUND) : 0;
}

int lk_external_initiator_delete(lk_store *store, const char *name, lk_err *err) {
        if (!name)
                return lk_err_set(err, -ENOENT, NOT_FOUND);
        char *lower = lk__registry_lower(name);
        ei_args a = {.name = lower};
        int r = lk_store_tx(store, delete_body, &a, err);
        lk_free(lower);
        return r;
}

/* ---- list ---- */

static int list_body(lk_db *db, void *arg, lk_err *err) {
        ei_args *a = arg;
        reset(a);
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT COUNT(*) FROM external_initiators", &st, err);
        if (r < 0)
                return r;
        if ((r = lk_stmt_step(st, err)) == 1)
                a->total = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        if (r < 0 || (r = lk_db_prepare(db,
                                        "SELECT " COLUMNS " FROM external_initiators ORDER BY name LIMIT $1 OFFSET $2",
                                        &st, err)) < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->limit);
        lk_stmt_bind_int64(st, 2, a->offset);
        a->items = lk_calloc((size_t)a->limit, sizeof *a->items);
        while ((r = lk_stmt_step(st, err)) == 1)
                read_initiator(st, &a->items[a->count++]);
        lk_stmt_done(st);
        return r;
}

int lk_external_initiator_list(lk_store *store, int64_t page, int64_t size, lk_external_initiator **ret_items,
                               size_t *ret_count, int64_t *ret_total, lk_err *err) {
        int r = lk__registry_page_check(page, size, err);
        if (r < 0)
                return r;
        ei_args a = {.limit = size, .offset = (page - 1) * size};
        if ((r = lk_store_read(store, list_body, &a, err)) < 0) {
                reset(&a);
                return r;
        }
        *ret_items = a.items;
        *ret_count = a.count;
        *ret_total = a.total;
        return 0;
}

/* ---- authentication (X-Chainlink-EA-AccessKey / X-Chainlink-EA-Secret) ---- */

static int authenticate_body(lk_db *db, void *arg, lk_err *err) {
        ei_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT name, salt, hashed_secret FROM external_initiators WHERE access_key = $1",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->access_key, SIZE_MAX);
        a->mismatch = true;
        reset(a);
        if ((r = lk_stmt_step(st, err)) == 1) {
                size_t len;
                const char *stored = lk_stmt_text(st, 2, &len);
                a->mismatch = !lk__secret_matches(lk_stmt_text(st, 1, NULL), a->secret, stored, len);
                a->items = lk_calloc(1, sizeof *a->items);
                a->count = 1;
                a->items->name = lk_strdup(lk_stmt_text(st, 0, NULL));
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

int lk_external_initiator_authenticate(lk_store *store, const char *access_key, const char *secret, char **ret_name,
                                       lk_err *err) {
        if (!access_key || !secret || !*access_key)
                return lk_err_set(err, -EACCES, BAD_CREDENTIALS);
        ei_args a = {.access_key = access_key, .secret = secret};
        int r = lk_store_read(store, authenticate_body, &a, err);
        if (r >= 0 && a.mismatch)
                r = lk_err_set(err, -EACCES, BAD_CREDENTIALS);
        if (r >= 0) {
                *ret_name = a.items->name;
                a.items->name = NULL;
        }
        reset(&a);
        return r;
}
