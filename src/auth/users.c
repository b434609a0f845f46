/* Users, sessions and API tokens over lk_store (see include/linkd/auth.h). */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "auth.h"
#include "linkd/alloc.h"

#define BAD_LOGIN "invalid email or password"

/* ---- helpers ---- */

/* ---- users ---- */

typedef struct user_args {
        const char *email;
        const char *hashed_password;
        lk_role role;
        char *found_hash;
        lk_usec now;
} user_args;

static int bind_new_user(lk_stmt *st, void *arg, lk_err *err) {
        user_args *a = arg;
        lk_stmt_bind_text(st, 1, a->email, SIZE_MAX);
        lk_stmt_bind_text(st, 2, a->hashed_password, SIZE_MAX);
        lk_stmt_bind_text(st, 3, lk_role_name(a->role), SIZE_MAX);
        return 0;
}

/* The policy, then the hash. */
static int hash_new_password(const char *password, const char *email, char **ret_hash, lk_err *err) {
        int r = lk_password_check(password, email, err);
        return r < 0 ? r : lk_password_hash(password, ret_hash, err);
}

int lk_user_create(lk_store *store, const char *email, const char *password, lk_role role, lk_err *err) {
        if (!lk__valid_email(email))
                return lk_err_set(err, -EINVAL, "invalid email address");
        char *hash;
        int r = hash_new_password(password, email, &hash, err);
        if (r < 0)
                return r;
        user_args a = {.email = email, .hashed_password = hash, .role = role};
        lk__statement o = {"INSERT INTO users (email, hashed_password, role) VALUES ($1, $2, $3)", bind_new_user,
                           NULL, &a, false, 0};
        r = lk__statement_run(store, &o, err);
        lk_free(hash);
        if (r == -EEXIST)
                return lk_err_set(err, -EEXIST, "a user with email %s already exists", email);
        return r;
}

static int bind_email(lk_stmt *st, void *arg, lk_err *err) {
        lk_stmt_bind_text(st, 1, ((user_args *)arg)->email, SIZE_MAX);
        return 0;
}

static int read_user(lk_stmt *st, void *arg, lk_err *err) {
        user_args *a = arg;
        a->found_hash = lk_strdup(lk_stmt_text(st, 0, NULL));
        return lk_role_parse(lk_stmt_text(st, 1, NULL), &a->role, err);
}

/* A valid encoding that no password matches, verified against when the
 * email is unknown so that the answer takes as long as for a known one. */
static const char *decoy_hash(void) {
        return "$argon2id$v=19$m=19456,t=2,p=1$bGlua2QtZGVjb3ktc2FsdA$"
               "ZGVjb3lkZWNveWRlY295ZGVjb3lkZWNveWRlY295ZGU";
}

int lk_user_authenticate(lk_store *store, const char *email, const char *password, lk_role *ret_role,
                         lk_err *err) {
        user_args a = {.email = email};
        lk__statement o = {"SELECT hashed_password, role FROM users WHERE email = $1", bind_email, read_user, &a,
                           false, 0};
        int r = lk_store_read(store, lk__statement_body, &o, err);
        if (r < 0) {
                lk_free(a.found_hash);
                return r;
        }
        bool match = lk_password_verify(o.found ? a.found_hash : decoy_hash(), password) == 0;
        lk_free(a.found_hash);
        if (!o.found || !match)
                return lk_err_set(err, -EACCES, BAD_LOGIN);
        *ret_role = a.role;
        return 0;
}

static int bind_role_update(lk_stmt *st, void *arg, lk_err *err) {
        user_args *a = arg;
        lk_stmt_bind_text(st, 1, a->email, SIZE_MAX);
        lk_stmt_bind_text(st, 2, a->hashed_password ? a->hashed_password : lk_role_name(a->role), SIZE_MAX);
        lk_stmt_bind_time(st, 3, lk_now_realtime());
        return 0;
}

static int update_user(lk_store *store, const char *sql, user_args *a, lk_err *err) {
        lk__statement o = {sql, bind_role_update, NULL, a, false, 0};
        int r = lk__statement_run(store, &o, err);
        if (r == 0 && o.changes == 0)
                return lk_err_set(err, -ENOENT, "no user with email %s", a->email);
        return r;
}

int lk_user_set_role(lk_store *store, const char *email, lk_role role, lk_err *err) {
        user_args a = {.email = email, .role = role};
        return update_user(store, "UPDATE users SET role = $2, updated_at = $3 WHERE email = $1", &a, err);
}

int lk_user_set_password(lk_store *store, const char *email, const char *password, lk_err *err) {
        char *hash;
        int r = hash_new_password(password, email, &hash, err);
        if (r < 0)
                return r;
        user_args a = {.email = email, .hashed_password = hash};
        r = update_user(store, "UPDATE users SET hashed_password = $2, updated_at = $3 WHERE email = $1", &a, err);
        lk_free(hash);
        return r;
}

int lk_user_delete(lk_store *store, const char *email, lk_err *err) {
        user_args a = {.email = email};
        lk__statement o = {"DELETE FROM users WHERE email = $1", bind_email, NULL, &a, false, 0};
        int r = lk__statement_run(store, &o, err);
        if (r == 0 && o.changes == 0)
                return lk_err_set(err, -ENOENT, "no user with email %s", email);
        return r;
}

typedef struct list_args {
        lk_user_fn fn;
        void *arg;
} list_args;

static int list_body(lk_db *db, void *arg, lk_err *err) {
        list_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT email, role, created_at FROM users ORDER BY email", &st, err);
        if (r < 0)
                return r;
        while ((r = lk_stmt_step(st, err)) == 1) {
                lk_role role = LK_ROLE_VIEW;
                lk_role_parse(lk_stmt_text(st, 1, NULL), &role, NULL);
                a->fn(a->arg, lk_stmt_text(st, 0, NULL), role, lk_stmt_time(st, 2));
        }
        lk_stmt_done(st);
        return r;
}

int lk_user_list(lk_store *store, lk_user_fn fn, void *arg, lk_err *err) {
        list_args a = {fn, arg};
        return lk_store_read(store, list_body, &a, err);
}

static int bind_nothing(lk_stmt *st, void *arg, lk_err *err) {
        return 0;
}

static int read_count(lk_stmt *st, void *arg, lk_err *err) {
        *(int64_t *)arg = lk_stmt_int64(st, 0);
        return 0;
}

int lk_user_count_admins(lk_store *store, int64_t *ret_count, lk_err *err) {
        int64_t count = 0;
        lk__statement o = {"SELECT COUNT(*) FROM users WHERE role = 'admin'", bind_nothing, read_count, &count,
                           false, 0};
        int r = lk_store_read(store, lk__statement_body, &o, err);
        if (r == 0)
                *ret_count = count;
        return r;
}
