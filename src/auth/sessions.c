/* Session tokens and API tokens (see include/linkd/auth.h).  The store
 * keeps digests only: a copy of the database opens no session. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "linkd/alloc.h"

#define BAD_CREDENTIALS "invalid or expired credentials"
#define DIGEST_HEX_LEN (2 * SHA256_DIGEST_SIZE)

typedef struct token_args {
        const char *email;
        const char *key;    /* the session's digest, or the API token's access key */
        const char *salt;
        const char *hashed; /* the API secret's digest, to store */
        const char *secret; /* the API secret presented */
        lk_usec now, idle_timeout;
        char *found_email;
        lk_role role;
        bool expired;       /* the session was idle too long */
        bool stale;         /* last_used is old enough to be worth writing again */
        bool mismatch;      /* the API secret is not the token's */
} token_args;

/* ---- sessions ---- */

static int bind_new_session(lk_stmt *st, void *arg, lk_err *err) {
        token_args *a = arg;
        lk_stmt_bind_text(st, 1, a->key, SIZE_MAX);
        lk_stmt_bind_text(st, 2, a->email, SIZE_MAX);
        lk_stmt_bind_time(st, 3, a->now);
        return 0;
}

int lk_session_create(lk_store *store, const char *email, char ret_token[static LK_SESSION_TOKEN_LEN + 1],
                      lk_err *err) {
        char token[LK_SESSION_TOKEN_LEN + 1], digest[DIGEST_HEX_LEN + 1];
        int r = lk__random_hex(token, LK_SESSION_TOKEN_LEN / 2, err);
        if (r < 0)
                return r;
        lk__digest_hex(token, NULL, digest);
        token_args a = {.email = email, .key = digest, .now = lk_now_realtime()};
        lk__statement o = {"INSERT INTO sessions (id, email, last_used) VALUES ($1, $2, $3)", bind_new_session, NULL,
                           &a, false, 0};
        if ((r = lk__statement_run(store, &o, err)) < 0) {
                explicit_bzero(token, sizeof token);
                return r == -EINVAL ? lk_err_set(err, -ENOENT, "no user with email %s", email) : r;
        }
        memcpy(ret_token, token, sizeof token);
        explicit_bzero(token, sizeof token);
        return 0;
}

/* How stale last_used may get before a request writes it again: a write
 * (an fsync on SQLite) per request would cost more than the request, and
 * the idle timeout only needs last_used to within a small part of it. */
static lk_usec touch_interval(lk_usec idle_timeout) {
        lk_usec tenth = idle_timeout / 10;
        return tenth < 60 * LK_USEC_PER_SEC ? tenth : 60 * LK_USEC_PER_SEC;
}

/* Reads the session: a read transaction, so that a request that needs no
 * write does not queue behind the writers. */
static int read_session_body(lk_db *db, void *arg, lk_err *err) {
        token_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT s.email, u.role, s.last_used FROM sessions s JOIN users u"
                                  " ON u.email = s.email WHERE s.id = $1",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->key, SIZE_MAX);
        lk_freep(&a->found_email);
        if ((r = lk_stmt_step(st, err)) == 1) {
                a->found_email = lk_strdup(lk_stmt_text(st, 0, NULL));
                lk_role_parse(lk_stmt_text(st, 1, NULL), &a->role, NULL);
                lk_usec last_used = lk_stmt_time(st, 2);
                a->expired = last_used + a->idle_timeout < a->now;
                a->stale = last_used + touch_interval(a->idle_timeout) < a->now;
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int bind_touch(lk_stmt *st, void *arg, lk_err *err) {
        token_args *a = arg;
        lk_stmt_bind_text(st, 1, a->key, SIZE_MAX);
        lk_stmt_bind_time(st, 2, a->now);
        return 0;
}

static int bind_key(lk_stmt *st, void *arg, lk_err *err);

/* An expired session is forgotten; a stale one marked used now. */
static int expire_or_touch(lk_store *store, token_args *a, lk_err *err) {
        lk__statement o = {a->expired ? "DELETE FROM sessions WHERE id = $1"
                                      : "UPDATE sessions SET last_used = $2 WHERE id = $1",
                           a->expired ? bind_key : bind_touch, NULL, a, false, 0};
        return lk__statement_run(store, &o, err);
}

int lk_session_check(lk_store *store, const char *token, lk_usec idle_timeout, char **ret_email, lk_role *ret_role,
                     lk_err *err) {
        if (!token || strlen(token) != LK_SESSION_TOKEN_LEN)
                return lk_err_set(err, -EACCES, BAD_CREDENTIALS);
        char digest[DIGEST_HEX_LEN + 1];
        lk__digest_hex(token, NULL, digest);
        token_args a = {.key = digest, .now = lk_now_realtime(), .idle_timeout = idle_timeout};
        int r = lk_store_read(store, read_session_body, &a, err);
        if (r == 0 && a.found_email && (a.expired || a.stale))
                r = expire_or_touch(store, &a, err);
        if (r < 0 || !a.found_email || a.expired) {
                lk_free(a.found_email);
                return r < 0 ? r : lk_err_set(err, -EACCES, BAD_CREDENTIALS);
        }
        *ret_email = a.found_email;
        *ret_role = a.role;
        return 0;
}

static int bind_key(lk_stmt *st, void *arg, lk_err *err) {
        lk_stmt_bind_text(st, 1, ((token_args *)arg)->key, SIZE_MAX);
        return 0;
}

int lk_session_delete(lk_store *store, const char *token, lk_err *err) {
        if (!token)
                return 0;
        char digest[DIGEST_HEX_LEN + 1];
        lk__digest_hex(token, NULL, digest);
        token_args a = {.key = digest};
        lk__statement o = {"DELETE FROM sessions WHERE id = $1", bind_key, NULL, &a, false, 0};
        return lk__statement_run(store, &o, err);
}

/* ---- API tokens ---- */

static int replace_token_body(lk_db *db, void *arg, lk_err *err) {
        token_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "DELETE FROM api_tokens WHERE email = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->email, SIZE_MAX);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        if (r < 0)
                return r;
        r = lk_db_prepare(db, "INSERT INTO api_tokens (access_key, email, salt, hashed_secret) VALUES ($1, $2, $3, $4)",
                          &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->key, SIZE_MAX);
        lk_stmt_bind_text(st, 2, a->email, SIZE_MAX);
        lk_stmt_bind_text(st, 3, a->salt, SIZE_MAX);
        lk_stmt_bind_text(st, 4, a->hashed, SIZE_MAX);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

int lk_api_token_create(lk_store *store, const char *email, char ret_key[static LK_API_KEY_LEN + 1],
                        char ret_secret[static LK_API_SECRET_LEN + 1], lk_err *err) {
        char key[LK_API_KEY_LEN + 1], secret[LK_API_SECRET_LEN + 1], salt[33], digest[DIGEST_HEX_LEN + 1];
        int r = lk__random_hex(key, LK_API_KEY_LEN / 2, err);
        if (r >= 0)
                r = lk__random_hex(secret, LK_API_SECRET_LEN / 2, err);
        if (r >= 0)
                r = lk__random_hex(salt, 16, err);
        if (r >= 0) {
                lk__digest_hex(salt, secret, digest);
                token_args a = {.email = email, .key = key, .salt = salt, .hashed = digest};
                r = lk_store_tx(store, replace_token_body, &a, err);
                if (r == -EINVAL)
                        r = lk_err_set(err, -ENOENT, "no user with email %s", email);
        }
        if (r >= 0) {
                memcpy(ret_key, key, sizeof key);
                memcpy(ret_secret, secret, sizeof secret);
        }
        explicit_bzero(secret, sizeof secret);
        return r;
}

static int read_token(lk_stmt *st, void *arg, lk_err *err) {
        token_args *a = arg;
        a->found_email = lk_strdup(lk_stmt_text(st, 0, NULL));
        lk_role_parse(lk_stmt_text(st, 1, NULL), &a->role, NULL);
        size_t len;
        const char *stored = lk_stmt_text(st, 3, &len);
        a->mismatch = !lk__secret_matches(lk_stmt_text(st, 2, NULL), a->secret, stored, len);
        return 0;
}

int lk_api_token_check(lk_store *store, const char *key, const char *secret, char **ret_email, lk_role *ret_role,
                       lk_err *err) {
        if (!key || !secret)
                return lk_err_set(err, -EACCES, BAD_CREDENTIALS);
        token_args a = {.key = key, .secret = secret};
        lk__statement o = {"SELECT t.email, u.role, t.salt, t.hashed_secret FROM api_tokens t JOIN users u"
                           " ON u.email = t.email WHERE t.access_key = $1",
                           bind_key, read_token, &a, false, 0};
        int r = lk_store_read(store, lk__statement_body, &o, err);
        if (r < 0 || !o.found || a.mismatch) {
                lk_free(a.found_email);
                return r < 0 ? r : lk_err_set(err, -EACCES, BAD_CREDENTIALS);
        }
        *ret_email = a.found_email;
        *ret_role = a.role;
        return 0;
}

static int bind_token_email(lk_stmt *st, void *arg, lk_err *err) {
        lk_stmt_bind_text(st, 1, ((token_args *)arg)->email, SIZE_MAX);
        return 0;
}

int lk_api_token_delete(lk_store *store, const char *email, lk_err *err) {
        token_args a = {.email = email};
        lk__statement o = {"DELETE FROM api_tokens WHERE email = $1", bind_token_email, NULL, &a, false, 0};
        int r = lk__statement_run(store, &o, err);
        if (r == 0 && o.changes == 0)
                return lk_err_set(err, -ENOENT, "%s has no API token", email);
        return r;
}
