/* Private to src/auth. */
#ifndef LINKD_AUTH_PRIVATE_H
#define LINKD_AUTH_PRIVATE_H

#include <nettle/sha2.h>
#include <stdbool.h>
#include <stdint.h>

#include "linkd/auth.h"

/* len bytes from getrandom(2); a negative errno when it fails. */
int lk__random_bytes(void *out, size_t len);
/* bytes random bytes (at most 64) as 2*bytes hex digits. */
int lk__random_hex(char *out, size_t bytes, lk_err *err);
/* Hex SHA-256 of a, or of a ":" b when b is not NULL. */
void lk__digest_hex(const char *a, const char *b, char out[static 2 * SHA256_DIGEST_SIZE + 1]);
bool lk__valid_email(const char *email);
/* Whether stored (stored_len bytes) is the hex digest of salt ":" secret,
 * compared in constant time. */
bool lk__secret_matches(const char *salt, const char *secret, const char *stored, size_t stored_len);

typedef int (*lk__stmt_fn)(lk_stmt *st, void *arg, lk_err *err);

/* One statement: bind sets its parameters, row (may be NULL) reads the
 * first row when there is one.  found and changes are set after it ran. */
typedef struct lk__statement {
        const char *sql;
        lk__stmt_fn bind;
        lk__stmt_fn row;
        void *arg;
        bool found;
        int64_t changes;
} lk__statement;

/* A transaction body running o (an lk__statement). */
int lk__statement_body(lk_db *db, void *o, lk_err *err);
/* Runs o in a write transaction of its own. */
int lk__statement_run(lk_store *store, lk__statement *o, lk_err *err);

#endif
