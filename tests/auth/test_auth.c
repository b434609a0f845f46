/* Users, passwords, sessions and API tokens, on SQLite and PostgreSQL. */
#include "lktest.h"
#include "test_db.h"

#include <argon2.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/auth.h"
#include "linkd/config.h"
#include "linkd/store.h"

#define PASSWORD "correct-horse-battery-42"

typedef lktest_db fixture;

static void create_user(fixture *f, const char *email, lk_role role) {
        lk_err err = LK_ERR_INIT;
        if (lk_user_create(f->store, email, PASSWORD, role, &err) < 0)
                fail_msg("create %s: %s", email, err.msg);
}

static void assert_error(int got, int want_code, const lk_err *err, const char *want_msg) {
        assert_int_equal(got, want_code);
        assert_string_equal(err->msg, want_msg);
}

/* ---- without a store ---- */

static void roles_parse_and_order(void **state) {
        lk_role r;
        lk_err err = LK_ERR_INIT;
        const char *names[] = {"view", "run", "edit", "admin"};
        for (int i = 0; i < 4; i++) {
                assert_int_equal(lk_role_parse(names[i], &r, &err), 0);
                assert_int_equal(r, i);
                assert_string_equal(lk_role_name(r), names[i]);
        }
        assert_true(LK_ROLE_ADMIN > LK_ROLE_EDIT && LK_ROLE_EDIT > LK_ROLE_RUN && LK_ROLE_RUN > LK_ROLE_VIEW);
        assert_error(lk_role_parse("root", &r, &err), -EINVAL, &err,
                     "invalid role \"root\": use admin, edit, run or view");
}

static void password_policy(void **state) {
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_password_check(PASSWORD, "ops@example.com", &err), 0);
        assert_error(lk_password_check("short-1", NULL, &err), -EINVAL, &err,
                     "password must be at least 16 characters long");
        assert_error(lk_password_check("0123456789012345678901234567890123456789012345678901", NULL, &err), -EINVAL,
                     &err, "password must be at most 50 characters long");
        assert_error(lk_password_check("operator-operator-1", "operator@example.com", &err), -EINVAL, &err,
                     "password must not contain the email's name");
}

static void hashes_are_argon2id_salted_and_verified(void **state) {
        char *a, *b;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_password_hash(PASSWORD, &a, &err), 0);
        assert_int_equal(lk_password_hash(PASSWORD, &b, &err), 0);
        assert_true(strncmp(a, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
        assert_string_not_equal(a, b); /* a fresh salt each time */
        assert_null(strstr(a, PASSWORD));
        assert_int_equal(lk_password_verify(a, PASSWORD), 0);
        assert_int_equal(lk_password_verify(b, PASSWORD), 0);
        assert_int_equal(lk_password_verify(a, PASSWORD "x"), -EACCES);
        assert_int_equal(lk_password_verify(a, ""), -EACCES);
        assert_int_equal(lk_password_verify("$2y$10$bcrypt-is-not-accepted", PASSWORD), -EINVAL);
        assert_int_equal(lk_password_verify("$argon2id$v=19$garbage", PASSWORD), -EINVAL);
        assert_int_equal(lk_password_verify(NULL, PASSWORD), -EINVAL);
        lk_free(a);
        lk_free(b);
}

static void login_limiter_counts_per_address_and_email(void **state) {
        lk_usec minute = 60 * LK_USEC_PER_SEC, t = 1000 * minute;
        lk_login_limiter *l = lk_login_limiter_new(3, 10 * minute);
        for (int i = 0; i < 2; i++)
                lk_login_limiter_failed(l, "10.0.0.1", "a@example.com", t + i);
        assert_false(lk_login_limiter_blocked(l, "10.0.0.1", "a@example.com", t + 2));
        lk_login_limiter_failed(l, "10.0.0.1", "a@example.com", t + 2);
        assert_true(lk_login_limiter_blocked(l, "10.0.0.1", "a@example.com", t + 3));
        /* the address is blocked for every email, the email from every address */
        assert_true(lk_login_limiter_blocked(l, "10.0.0.1", "b@example.com", t + 3));
        assert_true(lk_login_limiter_blocked(l, "10.0.0.2", "a@example.com", t + 3));
        assert_false(lk_login_limiter_blocked(l, "10.0.0.2", "b@example.com", t + 3));
        /* until the oldest failure leaves the window */
        assert_true(lk_login_limiter_blocked(l, "10.0.0.1", "a@example.com", t + 10 * minute - 1));
        assert_false(lk_login_limiter_blocked(l, "10.0.0.1", "a@example.com", t + 10 * minute + 1));
        /* a flood of made-up emails: memory stays bounded, and the address
         * behind it is blocked */
        char email[64];
        for (int i = 0; i < 10000; i++) {
                snprintf(email, sizeof email, "u%d@example.com", i);
                lk_login_limiter_failed(l, "10.0.0.9", email, t + 20 * minute + i);
        }
        assert_true(lk_login_limiter_blocked(l, "10.0.0.9", "new@example.com", t + 20 * minute + 10000));
        lk_login_limiter_free(l);
        assert_null(lk_login_limiter_free(NULL));
}

/* ---- users ---- */

static void users_are_created_and_authenticated(void **state) {
        fixture *f = *state;
        create_user(f, "admin@example.com", LK_ROLE_ADMIN);
        create_user(f, "viewer@example.com", LK_ROLE_VIEW);
        lk_role role = LK_ROLE_VIEW;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_user_authenticate(f->store, "admin@example.com", PASSWORD, &role, &err), 0);
        assert_int_equal(role, LK_ROLE_ADMIN);
        assert_int_equal(lk_user_authenticate(f->store, "viewer@example.com", PASSWORD, &role, &err), 0);
        assert_int_equal(role, LK_ROLE_VIEW);
        /* a wrong password and an unknown email look the same */
        assert_error(lk_user_authenticate(f->store, "admin@example.com", "wrong-password-123", &role, &err), -EACCES,
                     &err, "invalid email or password");
        assert_error(lk_user_authenticate(f->store, "nobody@example.com", PASSWORD, &role, &err), -EACCES, &err,
                     "invalid email or password");
        int64_t admins = 0;
        assert_int_equal(lk_user_count_admins(f->store, &admins, &err), 0);
        assert_int_equal(admins, 1);
}

static void user_errors(void **state) {
        fixture *f = *state;
        create_user(f, "ops@example.com", LK_ROLE_EDIT);
        lk_err err = LK_ERR_INIT;
        assert_error(lk_user_create(f->store, "ops@example.com", PASSWORD, LK_ROLE_VIEW, &err), -EEXIST, &err,
                     "a user with email ops@example.com already exists");
        assert_error(lk_user_create(f->store, "not-an-email", PASSWORD, LK_ROLE_VIEW, &err), -EINVAL, &err,
                     "invalid email address");
        assert_error(lk_user_create(f->store, "a@b.c", "short", LK_ROLE_VIEW, &err), -EINVAL, &err,
                     "password must be at least 16 characters long");
        assert_error(lk_user_set_role(f->store, "ghost@example.com", LK_ROLE_ADMIN, &err), -ENOENT, &err,
                     "no user with email ghost@example.com");
        assert_error(lk_user_delete(f->store, "ghost@example.com", &err), -ENOENT, &err,
                     "no user with email ghost@example.com");
}

typedef struct listed {
        char text[256];
} listed;

static void list_one(void *arg, const char *email, lk_role role, lk_usec created_at) {
        listed *l = arg;
        size_t len = strlen(l->text);
        snprintf(l->text + len, sizeof l->text - len, "%s:%s%s;", email, lk_role_name(role),
                 created_at > 0 ? "" : "(no time)");
}

static void role_password_and_delete(void **state) {
        fixture *f = *state;
        create_user(f, "b@example.com", LK_ROLE_VIEW);
        create_user(f, "a@example.com", LK_ROLE_RUN);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_user_set_role(f->store, "b@example.com", LK_ROLE_EDIT, &err), 0);
        assert_int_equal(lk_user_set_password(f->store, "b@example.com", "another-password-99", &err), 0);
        lk_role role;
        assert_int_equal(lk_user_authenticate(f->store, "b@example.com", PASSWORD, &role, &err), -EACCES);
        assert_int_equal(lk_user_authenticate(f->store, "b@example.com", "another-password-99", &role, &err), 0);
        assert_int_equal(role, LK_ROLE_EDIT);
        listed l = {{0}};
        assert_int_equal(lk_user_list(f->store, list_one, &l, &err), 0);
        assert_string_equal(l.text, "a@example.com:run;b@example.com:edit;");

        /* deleting a user ends their sessions and API token */
        char token[LK_SESSION_TOKEN_LEN + 1], key[LK_API_KEY_LEN + 1], secret[LK_API_SECRET_LEN + 1];
        assert_int_equal(lk_session_create(f->store, "b@example.com", token, &err), 0);
        assert_int_equal(lk_api_token_create(f->store, "b@example.com", key, secret, &err), 0);
        assert_int_equal(lk_user_delete(f->store, "b@example.com", &err), 0);
        char *email = NULL;
        assert_int_equal(lk_session_check(f->store, token, LK_USEC_PER_SEC * 60, &email, &role, &err), -EACCES);
        assert_int_equal(lk_api_token_check(f->store, key, secret, &email, &role, &err), -EACCES);
        l.text[0] = '\0';
        assert_int_equal(lk_user_list(f->store, list_one, &l, &err), 0);
        assert_string_equal(l.text, "a@example.com:run;");
}

/* ---- sessions ---- */

static void sessions_open_touch_expire_and_close(void **state) {
        fixture *f = *state;
        create_user(f, "ops@example.com", LK_ROLE_RUN);
        lk_err err = LK_ERR_INIT;
        char token[LK_SESSION_TOKEN_LEN + 1], other[LK_SESSION_TOKEN_LEN + 1];
        assert_int_equal(lk_session_create(f->store, "ops@example.com", token, &err), 0);
        assert_int_equal(lk_session_create(f->store, "ops@example.com", other, &err), 0);
        assert_int_equal(strlen(token), LK_SESSION_TOKEN_LEN);
        assert_string_not_equal(token, other);
        char *email = NULL;
        lk_role role;
        assert_int_equal(lk_session_check(f->store, token, 60 * LK_USEC_PER_SEC, &email, &role, &err), 0);
        assert_string_equal(email, "ops@example.com");
        assert_int_equal(role, LK_ROLE_RUN);
        lk_free(email);
        /* one altered digit, a wrong length, nothing */
        char altered[LK_SESSION_TOKEN_LEN + 1];
        memcpy(altered, token, sizeof altered);
        altered[10] = altered[10] == 'a' ? 'b' : 'a';
        assert_error(lk_session_check(f->store, altered, 60 * LK_USEC_PER_SEC, &email, &role, &err), -EACCES, &err,
                     "invalid or expired credentials");
        assert_int_equal(lk_session_check(f->store, "abc", 60 * LK_USEC_PER_SEC, &email, &role, &err), -EACCES);
        assert_int_equal(lk_session_check(f->store, NULL, 60 * LK_USEC_PER_SEC, &email, &role, &err), -EACCES);
        /* idle longer than the timeout: refused, and forgotten */
        usleep(20000);
        assert_int_equal(lk_session_check(f->store, other, 10000, &email, &role, &err), -EACCES);
        assert_int_equal(lk_session_check(f->store, other, 60 * LK_USEC_PER_SEC, &email, &role, &err), -EACCES);
        /* logging out */
        assert_int_equal(lk_session_delete(f->store, token, &err), 0);
        assert_int_equal(lk_session_check(f->store, token, 60 * LK_USEC_PER_SEC, &email, &role, &err), -EACCES);
        assert_int_equal(lk_session_delete(f->store, token, &err), 0);
        assert_int_equal(lk_session_create(f->store, "ghost@example.com", token, &err), -ENOENT);
}

/* A session in use outlives its idle timeout: each use within a tenth of
 * it keeps last_used fresh enough (without writing on every request). */
static void sessions_in_use_stay_open(void **state) {
        fixture *f = *state;
        create_user(f, "ops@example.com", LK_ROLE_RUN);
        lk_err err = LK_ERR_INIT;
        char token[LK_SESSION_TOKEN_LEN + 1];
        assert_int_equal(lk_session_create(f->store, "ops@example.com", token, &err), 0);
        lk_usec timeout = 300 * LK_USEC_PER_MSEC;
        for (int i = 0; i < 12; i++) { /* 12 x 60 ms: well past the timeout */
                usleep(60000);
                char *email = NULL;
                lk_role role;
                if (lk_session_check(f->store, token, timeout, &email, &role, &err) < 0)
                        fail_msg("use %d: %s", i, err.msg);
                lk_free(email);
        }
}

/* ---- API tokens ---- */

static void api_tokens_are_checked_and_replaced(void **state) {
        fixture *f = *state;
        create_user(f, "bot@example.com", LK_ROLE_EDIT);
        lk_err err = LK_ERR_INIT;
        char key[LK_API_KEY_LEN + 1], secret[LK_API_SECRET_LEN + 1];
        assert_int_equal(lk_api_token_create(f->store, "bot@example.com", key, secret, &err), 0);
        assert_int_equal(strlen(key), LK_API_KEY_LEN);
        assert_int_equal(strlen(secret), LK_API_SECRET_LEN);
        char *email = NULL;
        lk_role role;
        assert_int_equal(lk_api_token_check(f->store, key, secret, &email, &role, &err), 0);
        assert_string_equal(email, "bot@example.com");
        assert_int_equal(role, LK_ROLE_EDIT);
        lk_free(email);
        char wrong[LK_API_SECRET_LEN + 1];
        memcpy(wrong, secret, sizeof wrong);
        wrong[0] = wrong[0] == '0' ? '1' : '0';
        assert_error(lk_api_token_check(f->store, key, wrong, &email, &role, &err), -EACCES, &err,
                     "invalid or expired credentials");
        assert_int_equal(lk_api_token_check(f->store, secret, key, &email, &role, &err), -EACCES);
        assert_int_equal(lk_api_token_check(f->store, key, "", &email, &role, &err), -EACCES);
        assert_int_equal(lk_api_token_check(f->store, NULL, secret, &email, &role, &err), -EACCES);
        /* a new token replaces the old one */
        char key2[LK_API_KEY_LEN + 1], secret2[LK_API_SECRET_LEN + 1];
        assert_int_equal(lk_api_token_create(f->store, "bot@example.com", key2, secret2, &err), 0);
        assert_int_equal(lk_api_token_check(f->store, key, secret, &email, &role, &err), -EACCES);
        assert_int_equal(lk_api_token_check(f->store, key2, secret2, &email, &role, &err), 0);
        lk_free(email);
        assert_int_equal(lk_api_token_delete(f->store, "bot@example.com", &err), 0);
        assert_int_equal(lk_api_token_check(f->store, key2, secret2, &email, &role, &err), -EACCES);
        assert_error(lk_api_token_delete(f->store, "bot@example.com", &err), -ENOENT, &err,
                     "bot@example.com has no API token");
        assert_int_equal(lk_api_token_create(f->store, "ghost@example.com", key, secret, &err), -ENOENT);
}

/* The whole file (it holds NULs), or NULL when it does not exist. */
static char *read_all(const char *path, size_t *ret_len) {
        FILE *fp = fopen(path, "rb");
        if (!fp)
                return NULL;
        lk_buf b = LK_BUF_INIT;
        char chunk[65536];
        for (size_t n; (n = fread(chunk, 1, sizeof chunk, fp)) > 0;)
                lk_buf_append(&b, chunk, n);
        fclose(fp);
        return lk_buf_steal(&b, ret_len);
}

/* The store holds digests, never a password, token or secret. */
static void nothing_secret_is_stored_in_the_clear(void **state) {
        fixture *f = *state;
        create_user(f, "ops@example.com", LK_ROLE_ADMIN);
        lk_err err = LK_ERR_INIT;
        char token[LK_SESSION_TOKEN_LEN + 1], key[LK_API_KEY_LEN + 1], secret[LK_API_SECRET_LEN + 1];
        assert_int_equal(lk_session_create(f->store, "ops@example.com", token, &err), 0);
        assert_int_equal(lk_api_token_create(f->store, "ops@example.com", key, secret, &err), 0);
        lk_service_close(lk_store_service(f->store), NULL);
        if (!f->pg_url) {
                char *path = lk_asprintf("%s/linkd.db", f->dir);
                char *wal = lk_asprintf("%s/linkd.db-wal", f->dir);
                const char *files[] = {path, wal};
                bool key_seen = false; /* the access key is not secret: the search works */
                for (int i = 0; i < 2; i++) {
                        size_t len;
                        char *content = read_all(files[i], &len);
                        if (!content)
                                continue; /* no WAL left */
                        assert_null(memmem(content, len, PASSWORD, strlen(PASSWORD)));
                        assert_null(memmem(content, len, token, LK_SESSION_TOKEN_LEN));
                        assert_null(memmem(content, len, secret, LK_API_SECRET_LEN));
                        key_seen |= memmem(content, len, key, LK_API_KEY_LEN) != NULL;
                        lk_free(content);
                }
                assert_true(key_seen);
                lk_free(path);
                lk_free(wal);
        }
        /* reopened for the teardown */
        lk_store_free(f->store);
        lktest_db_open(f);
}

#define BOTH(test) LKTEST_BOTH_BACKENDS(test)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(roles_parse_and_order),
                cmocka_unit_test(password_policy),
                cmocka_unit_test(hashes_are_argon2id_salted_and_verified),
                cmocka_unit_test(login_limiter_counts_per_address_and_email),
                BOTH(users_are_created_and_authenticated),
                BOTH(user_errors),
                BOTH(role_password_and_delete),
                BOTH(sessions_open_touch_expire_and_close),
                BOTH(sessions_in_use_stay_open),
                BOTH(api_tokens_are_checked_and_replaced),
                cmocka_unit_test_prestate_setup_teardown(nothing_secret_is_stored_in_the_clear, lktest_db_setup, lktest_db_teardown,
                                                         &lktest_sqlite_backend),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
