/* Bridges in bridge_types (see include/linkd/bridges.h), with the checks
 * Chainlink's BridgeTypesController makes. */
#include "linkd/bridges.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "../auth/auth.h"
#include "linkd/alloc.h"
#include "registry.h"

#define DIGEST_HEX_LEN (2 * SHA256_DIGEST_SIZE)
#define SALT_BYTES 16
/* NUMERIC(78) on PostgreSQL: enough for any uint256. */
#define MAX_PAYMENT_DIGITS 78
#define NOT_FOUND "bridge not found"
#define COLUMNS "name, url, confirmations, minimum_contract_payment, outgoing_token, created_at, updated_at"

/* ---- shared with initiators.c ---- */

bool lk__registry_name_ok(const char *name) {
        if (!*name)
                return false;
        for (const char *p = name; *p; p++) {
                char c = *p;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                          c == '-';
                if (!ok)
                        return false;
        }
        return true;
}

char *lk__registry_lower(const char *name) {
        char *s = lk_strdup(name);
        for (char *p = s; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        return s;
}

int lk__registry_page_check(int64_t page, int64_t size, lk_err *err) {
        if (size < 1 || size > LK_PAGE_MAX_SIZE)
                return lk_err_set(err, -EINVAL, "invalid size param: must be from 1 to %d", LK_PAGE_MAX_SIZE);
        /* the bound keeps the offset from overflowing */
        if (page < 1 || page > INT64_MAX / LK_PAGE_MAX_SIZE)
                return lk_err_set(err, -EINVAL, "invalid page param: must be a positive integer");
        return 0;
}

/* ---- checks ---- */

int lk_bridge_name_parse(const char *name, char **ret_name, lk_err *err) {
        if (!name || !*name)
                return lk_err_set(err, -EINVAL, "No name specified");
        if (!lk__registry_name_ok(name))
                return lk_err_set(err, -EINVAL, "task type validation: name %.64s contains invalid characters", name);
        *ret_name = lk__registry_lower(name);
        return 0;
}

int lk_bridge_url_check(const char *url, lk_err *err) {
        if (!url || !*url)
                return lk_err_set(err, -EINVAL, "URL must be present");
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL;
        int r = 0;
        if (!u)
                r = lk_err_set(err, -ENOMEM, "out of memory");
        else if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
                 curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
                 curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
                r = lk_err_set(err, -EINVAL, "invalid URL: it does not parse or names no host");
        else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
                r = lk_err_set(err, -EINVAL, "invalid URL: the scheme must be http or https");
        curl_free(scheme);
        curl_free(host);
        curl_url_cleanup(u);
        return r;
}

/* Chainlink's *assets.Link: a whole number of juels, not negative; kept
 * without leading zeros so both backends give it back alike. */
static int payment_parse(const char *text, char **ret_payment, lk_err *err) {
        if (!text) {
                *ret_payment = NULL;
                return 0;
        }
        const char *digits = text + (*text == '-');
        size_t len = strlen(digits);
        if (len == 0 || strspn(digits, "0123456789") != len)
                return lk_err_set(err, -EINVAL, "invalid minimumContractPayment: must be a whole number of juels");
        while (*digits == '0' && digits[1])
                digits++;
        if (*text == '-' && *digits != '0')
                return lk_err_set(err, -EINVAL, "MinimumContractPayment must be positive");
        if (strlen(digits) > MAX_PAYMENT_DIGITS)
                return lk_err_set(err, -EINVAL, "invalid minimumContractPayment: too large");
        *ret_payment = lk_strdup(digits);
        return 0;
}

/* ---- rows ---- */

void lk_bridge_done(lk_bridge *bridge) {
        if (!bridge)
                return;
        lk_free(bridge->name);
        lk_free(bridge->url);
        lk_free(bridge->minimum_contract_payment);
        lk_free(bridge->outgoing_token);
        *bridge = (lk_bridge){0};
}

lk_bridge *lk_bridges_free(lk_bridge *items, size_t count) {
        for (size_t i = 0; items && i < count; i++)
                lk_bridge_done(&items[i]);
        lk_free(items);
        return NULL;
}

static void read_bridge(lk_stmt *st, lk_bridge *b) {
        b->name = lk_strdup(lk_stmt_text(st, 0, NULL));
        b->url = lk_strdup(lk_stmt_text(st, 1, NULL));
        b->confirmations = (uint32_t)lk_stmt_int64(st, 2);
        b->minimum_contract_payment = lk_stmt_is_null(st, 3) ? NULL : lk_strdup(lk_stmt_text(st, 3, NULL));
        b->outgoing_token = lk_strdup(lk_stmt_text(st, 4, NULL));
        b->created_at = lk_stmt_time(st, 5);
        b->updated_at = lk_stmt_time(st, 6);
}

typedef struct bridge_args {
        const char *name;
        const lk_bridge_request *request;
        const char *payment;
        const char *salt, *hash, *outgoing_token;
        lk_usec now;
        int64_t limit, offset, total;
        lk_bridge *items;
        size_t count;
} bridge_args;

/* The bridge a->name into a->items[0], or -ENOENT. */
static int select_bridge(lk_db *db, bridge_args *a, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT " COLUMNS " FROM bridge_types WHERE name = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->name, SIZE_MAX);
        if ((r = lk_stmt_step(st, err)) == 1) {
                a->items = lk_calloc(1, sizeof *a->items);
                a->count = 1;
                read_bridge(st, a->items);
        }
        lk_stmt_done(st);
        return r < 0 ? r : r == 0 ? lk_err_set(err, -ENOENT, NOT_FOUND) : 0;
}

/* Clears what a failed attempt (or a retried transaction) read. */
static void reset(bridge_args *a) {
        a->items = lk_bridges_free(a->items, a->count);
        a->count = 0;
}

static int run_bound(lk_db *db, const char *sql, bridge_args *a, int64_t *ret_changes, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        const lk_bridge_request *q = a->request;
        lk_stmt_bind_text(st, 1, a->name, SIZE_MAX);
        if (q) {
                lk_stmt_bind_text(st, 2, q->url, SIZE_MAX);
                lk_stmt_bind_int64(st, 3, q->confirmations);
                if (a->payment)
                        lk_stmt_bind_text(st, 4, a->payment, SIZE_MAX);
                else
                        lk_stmt_bind_null(st, 4);
                lk_stmt_bind_time(st, 5, a->now);
        }
        if (a->salt) {
                lk_stmt_bind_text(st, 6, a->hash, SIZE_MAX);
                lk_stmt_bind_text(st, 7, a->salt, SIZE_MAX);
                lk_stmt_bind_text(st, 8, a->outgoing_token, SIZE_MAX);
        }
        r = lk_stmt_run(st, err);
        if (ret_changes)
                *ret_changes = lk_stmt_changes(st);
        lk_stmt_done(st);
        return r;
}

/* ---- create, get, update, delete ---- */

static int create_body(lk_db *db, void *arg, lk_err *err) {
        bridge_args *a = arg;
        reset(a);
        int r = run_bound(db,
                          "INSERT INTO bridge_types (name, url, confirmations, minimum_contract_payment, created_at,"
                          " incoming_token_hash, salt, outgoing_token, updated_at)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $5)",
                          a, NULL, err);
        if (r == -EEXIST)
                return lk_err_set(err, -EEXIST, "Bridge Type %s already exists", a->name);
        return r < 0 ? r : select_bridge(db, a, err);
}

/* A checked request: the lowercase name (when with_name) and payment. */
static int check_request(const lk_bridge_request *q, bool with_name, char **ret_name, char **ret_payment,
                         lk_err *err) {
        char *name = NULL;
        int r = with_name ? lk_bridge_name_parse(q->name, &name, err) : 0;
        if (r >= 0)
                r = lk_bridge_url_check(q->url, err);
        if (r >= 0)
                r = payment_parse(q->minimum_contract_payment, ret_payment, err);
        if (r < 0)
                return lk_free(name), r;
        if (with_name)
                *ret_name = name;
        return 0;
}

static int new_secrets(char incoming[static LK_BRIDGE_TOKEN_LEN + 1], char salt[static 2 * SALT_BYTES + 1],
                       char outgoing[static LK_BRIDGE_TOKEN_LEN + 1], lk_err *err) {
        int r = lk__random_hex(incoming, LK_BRIDGE_TOKEN_LEN / 2, err);
        if (r >= 0)
                r = lk__random_hex(salt, SALT_BYTES, err);
        if (r >= 0)
                r = lk__random_hex(outgoing, LK_BRIDGE_TOKEN_LEN / 2, err);
        return r;
}

int lk_bridge_create(lk_store *store, const lk_bridge_request *request, lk_bridge *ret_bridge,
                     char ret_incoming_token[static LK_BRIDGE_TOKEN_LEN + 1], lk_err *err) {
        char *name = NULL, *payment = NULL;
        int r = check_request(request, true, &name, &payment, err);
        if (r < 0)
                return r;
        char incoming[LK_BRIDGE_TOKEN_LEN + 1], salt[2 * SALT_BYTES + 1], outgoing[LK_BRIDGE_TOKEN_LEN + 1],
                hash[DIGEST_HEX_LEN + 1];
        bridge_args a = {.name = name, .request = request, .payment = payment, .now = lk_now_realtime()};
        if ((r = new_secrets(incoming, salt, outgoing, err)) >= 0) {
                lk__digest_hex(salt, incoming, hash);
                a.salt = salt;
                a.hash = hash;
                a.outgoing_token = outgoing;
                r = lk_store_tx(store, create_body, &a, err);
        }
        if (r >= 0) {
                *ret_bridge = a.items[0];
                lk_free(a.items);
                memcpy(ret_incoming_token, incoming, sizeof incoming);
        } else {
                reset(&a);
        }
        explicit_bzero(incoming, sizeof incoming);
        lk_free(name);
        lk_free(payment);
        return r;
}

/* Runs body for the bridge called name; on success hands over items[0]. */
static int by_name(lk_store *store, const char *name, lk_tx_fn body, bool write, bridge_args *a, lk_bridge *ret,
                   lk_err *err) {
        char *lower = NULL;
        int r = lk_bridge_name_parse(name, &lower, err);
        if (r < 0)
                return r;
        a->name = lower;
        r = write ? lk_store_tx(store, body, a, err) : lk_store_read(store, body, a, err);
        if (r >= 0 && ret) {
                *ret = a->items[0];
                lk_free(a->items);
        } else {
                reset(a);
        }
        lk_free(lower);
        return r;
}

static int get_body(lk_db *db, void *arg, lk_err *err) {
        reset(arg);
        return select_bridge(db, arg, err);
}

int lk_bridge_get(lk_store *store, const char *name, lk_bridge *ret_bridge, lk_err *err) {
        bridge_args a = {0};
        return by_name(store, name, get_body, false, &a, ret_bridge, err);
}

static int update_body(lk_db *db, void *arg, lk_err *err) {
        bridge_args *a = arg;
        reset(a);
        int64_t changes = 0;
        int r = run_bound(db,
                          "UPDATE bridge_types SET url = $2, confirmations = $3, minimum_contract_payment = $4,"
                          " updated_at = $5 WHERE name = $1",
                          a, &changes, err);
        if (r < 0)
                return r;
        return changes == 0 ? lk_err_set(err, -ENOENT, NOT_FOUND) : select_bridge(db, a, err);
}

int lk_bridge_update(lk_store *store, const char *name, const lk_bridge_request *request, lk_bridge *ret_bridge,
                     lk_err *err) {
        char *payment = NULL;
        int r = check_request(request, false, NULL, &payment, err);
        if (r < 0)
                return r;
        bridge_args a = {.request = request, .payment = payment, .now = lk_now_realtime()};
        r = by_name(store, name, update_body, true, &a, ret_bridge, err);
        lk_free(payment);
        return r;
}

static int delete_body(lk_db *db, void *arg, lk_err *err) {
        int64_t changes = 0;
        int r = run_bound(db, "DELETE FROM bridge_types WHERE name = $1", arg, &changes, err);
        return r < 0 ? r : changes == 0 ? lk_err_set(err, -ENOENT, NOT_FOUND) : 0;
}

int lk_bridge_delete(lk_store *store, const char *name, lk_err *err) {
        bridge_args a = {0};
        return by_name(store, name, delete_body, true, &a, NULL, err);
}

/* ---- list ---- */

static int count_body(lk_db *db, const char *sql, int64_t *ret_total, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        if ((r = lk_stmt_step(st, err)) == 1)
                *ret_total = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int list_body(lk_db *db, void *arg, lk_err *err) {
        bridge_args *a = arg;
        reset(a);
        int r = count_body(db, "SELECT COUNT(*) FROM bridge_types", &a->total, err);
        lk_stmt *st;
        if (r < 0 || (r = lk_db_prepare(db, "SELECT " COLUMNS " FROM bridge_types ORDER BY name LIMIT $1 OFFSET $2",
                                        &st, err)) < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->limit);
        lk_stmt_bind_int64(st, 2, a->offset);
        a->items = lk_calloc((size_t)a->limit, sizeof *a->items);
        while ((r = lk_stmt_step(st, err)) == 1)
                read_bridge(st, &a->items[a->count++]);
        lk_stmt_done(st);
        return r;
}

int lk_bridge_list(lk_store *store, int64_t page, int64_t size, lk_bridge **ret_items, size_t *ret_count,
                   int64_t *ret_total, lk_err *err) {
        int r = lk__registry_page_check(page, size, err);
        if (r < 0)
                return r;
        bridge_args a = {.limit = size, .offset = (page - 1) * size};
        if ((r = lk_store_read(store, list_body, &a, err)) < 0) {
                reset(&a);
                return r;
        }
        *ret_items = a.items;
        *ret_count = a.count;
        *ret_total = a.total;
        return 0;
}
