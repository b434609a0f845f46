/* Operators and their credentials: roles, passwords (Argon2id), session
 * tokens and API tokens, kept in the store's users, sessions and
 * api_tokens tables.
 *
 * Nothing secret is stored in the clear: passwords as Argon2id encodings,
 * session tokens and API secrets (random, 256 bits) as SHA-256 digests,
 * which is enough for values nobody can guess and keeps every API call
 * from paying for a memory-hard hash.  Every comparison of a secret is
 * constant-time.  Messages never contain a password, token or secret. */
#ifndef LINKD_AUTH_H
#define LINKD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "linkd/err.h"
#include "linkd/store.h"
#include "linkd/time.h"

/* Ordered: a role may do what every lower one may. */
typedef enum lk_role {
        LK_ROLE_VIEW,
        LK_ROLE_RUN,
        LK_ROLE_EDIT,
        LK_ROLE_ADMIN,
} lk_role;

/* "view", "run", "edit", "admin".  -EINVAL for anything else. */
int lk_role_parse(const char *name, lk_role *ret_role, lk_err *err);
const char *lk_role_name(lk_role role);

/* ---- passwords ---- */

#define LK_PASSWORD_MIN_LEN 16
#define LK_PASSWORD_MAX_LEN 50

/* The policy: 16 to 50 bytes, not containing the email's local part (when
 * email is given).  -EINVAL with the reason. */
int lk_password_check(const char *password, const char *email, lk_err *err);
/* An Argon2id encoding ("$argon2id$v=19$m=...") of password with a fresh
 * salt; the caller frees it with lk_free. */
int lk_password_hash(const char *password, char **ret_encoded, lk_err *err);
/* 0 when password matches encoded, -EACCES when it does not, -EINVAL
 * when encoded is not an Argon2id encoding. */
int lk_password_verify(const char *encoded, const char *password);

/* ---- users ---- */

/* Checks the email's shape and the password policy, then stores the
 * user.  -EEXIST when the email is taken. */
int lk_user_create(lk_store *store, const char *email, const char *password, lk_role role, lk_err *err);
/* -EACCES "invalid email or password" for an unknown email and for a
 * wrong password alike (an unknown email costs a hash too, so timing does
 * not tell them apart). */
int lk_user_authenticate(lk_store *store, const char *email, const char *password, lk_role *ret_role,
                         lk_err *err);
/* -ENOENT when there is no such user. */
int lk_user_set_role(lk_store *store, const char *email, lk_role role, lk_err *err);
int lk_user_set_password(lk_store *store, const char *email, const char *password, lk_err *err);
/* Deletes the user with their sessions and API token.  -ENOENT. */
int lk_user_delete(lk_store *store, const char *email, lk_err *err);

typedef void (*lk_user_fn)(void *arg, const char *email, lk_role role, lk_usec created_at);
/* Calls fn for every user, by email.  The strings are borrowed for the
 * call. */
int lk_user_list(lk_store *store, lk_user_fn fn, void *arg, lk_err *err);
/* Number of users with role admin. */
int lk_user_count_admins(lk_store *store, int64_t *ret_count, lk_err *err);

/* ---- sessions ---- */

/* 64 hex digits. */
#define LK_SESSION_TOKEN_LEN 64

/* A new session for email: the token goes to the client (its cookie), its
 * digest to the store. */
int lk_session_create(lk_store *store, const char *email, char ret_token[static LK_SESSION_TOKEN_LEN + 1],
                      lk_err *err);
/* The session's user, when the token is known and was used within
 * idle_timeout; marks it used now.  An expired session is deleted.
 * -EACCES otherwise.  *ret_email is the caller's to lk_free. */
int lk_session_check(lk_store *store, const char *token, lk_usec idle_timeout, char **ret_email, lk_role *ret_role,
                     lk_err *err);
/* Logs out: forgets the token (no error when it was unknown). */
int lk_session_delete(lk_store *store, const char *token, lk_err *err);

/* ---- API tokens (X-API-KEY / X-API-SECRET) ---- */

#define LK_API_KEY_LEN 32
#define LK_API_SECRET_LEN 64

/* Replaces email's token, if any, with a new one. */
int lk_api_token_create(lk_store *store, const char *email, char ret_key[static LK_API_KEY_LEN + 1],
                        char ret_secret[static LK_API_SECRET_LEN + 1], lk_err *err);
/* The token's user, or -EACCES.  *ret_email is the caller's to lk_free. */
int lk_api_token_check(lk_store *store, const char *key, const char *secret, char **ret_email, lk_role *ret_role,
                       lk_err *err);
/* -ENOENT when email has no token. */
int lk_api_token_delete(lk_store *store, const char *email, lk_err *err);

/* ---- login throttling ---- */

/* Counts failed logins per client address and per email in a sliding
 * window; once either reaches max_failures, further attempts are refused
 * until the oldest failure leaves the window.  Thread-safe; memory is
 * bounded (the least recently failed keys are forgotten first). */
typedef struct lk_login_limiter lk_login_limiter;

lk_login_limiter *lk_login_limiter_new(unsigned max_failures, lk_usec window);
/* Accepts NULL; returns NULL. */
lk_login_limiter *lk_login_limiter_free(lk_login_limiter *limiter);
/* Whether an attempt from ip for email must be refused now. */
bool lk_login_limiter_blocked(lk_login_limiter *limiter, const char *ip, const char *email, lk_usec now);
void lk_login_limiter_failed(lk_login_limiter *limiter, const char *ip, const char *email, lk_usec now);

#endif
