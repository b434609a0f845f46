/* What a storage backend provides to the store core (src/store/store.c).
 * The core owns pooling, transactions and retries, statement caching and
 * parameter values; a backend owns its connections and statements.
 *
 * Error codes backends return (the core and callers rely on them):
 *   -EAGAIN    a conflict worth retrying the transaction for
 *              (SQLITE_BUSY/LOCKED, SQLSTATE 40001 and 40P01)
 *   -EEXIST    unique / primary key violation (SQLSTATE 23505)
 *   -EINVAL    bad SQL, other constraint violations (SQLSTATE class 22, 23, 42)
 *   -ETIMEDOUT statement, lock or connect timeout (SQLSTATE 57014, 55P03)
 *   -ENOTCONN  the connection is gone (the core drops it from the pool)
 *   -EACCES    authentication or permission refused
 *   -ENOENT    the database, or its file, does not exist
 *   -ENOMEM    the driver ran out of memory
 *   -EIO       anything else
 * Messages must never contain a password. */
#ifndef LINKD_STORE_BACKEND_H
#define LINKD_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/config.h"
#include "linkd/err.h"
#include "linkd/store.h"

typedef struct lk__conn lk__conn;
typedef struct lk__stmt lk__stmt;

typedef enum lk__value_type {
        LK__NULL,
        LK__INT64,
        LK__DOUBLE,
        LK__BOOL,
        LK__TEXT,
        LK__BLOB,
        LK__TIME, /* i holds realtime microseconds */
} lk__value_type;

typedef struct lk__value {
        lk__value_type type;
        int64_t i;
        double d;
        char *data; /* TEXT (NUL-terminated) and BLOB; owned by the core */
        size_t len;
} lk__value;

typedef struct lk__backend {
        const char *name;
        /* Opens a connection to target (the URL or path the core parsed),
         * applying the [Database] settings of cfg. */
        int (*connect)(const char *target, const lk_config *cfg, lk__conn **ret_conn, lk_err *err);
        void (*disconnect)(lk__conn *conn);
        /* Runs SQL that takes no parameters and returns no rows; may hold
         * several statements separated by semicolons. */
        int (*exec)(lk__conn *conn, const char *sql, lk_err *err);
        /* sql uses $1..$n. */
        int (*prepare)(lk__conn *conn, const char *sql, lk__stmt **ret_stmt, lk_err *err);
        void (*finalize)(lk__stmt *stmt);
        /* Runs the statement with these parameters; the first row (if any)
         * is then read with next_row. */
        int (*execute)(lk__stmt *stmt, const lk__value *params, int count, lk_err *err);
        /* 1 row available, 0 no more rows, negative error. */
        int (*next_row)(lk__stmt *stmt, lk_err *err);
        bool (*column_null)(lk__stmt *stmt, int column);
        int64_t (*column_int64)(lk__stmt *stmt, int column);
        double (*column_double)(lk__stmt *stmt, int column);
        bool (*column_bool)(lk__stmt *stmt, int column);
        /* Text of the column; valid until the next row or reset. */
        const char *(*column_text)(lk__stmt *stmt, int column, size_t *ret_len);
        const void *(*column_blob)(lk__stmt *stmt, int column, size_t *ret_len);
        int64_t (*changes)(lk__stmt *stmt);
        /* Makes the statement ready to execute again. */
        void (*reset)(lk__stmt *stmt);
        /* True while the connection is inside a transaction (BEGIN ran,
         * no COMMIT or ROLLBACK ended it yet). */
        bool (*in_transaction)(lk__conn *conn);
        /* SQL that opens a read-write and a read-only transaction. */
        const char *begin_write;
        const char *begin_read;
} lk__backend;

extern const lk__backend lk__sqlite_backend;
extern const lk__backend lk__postgres_backend;

/* The servers a libpq URL names over the network: its host and hostaddr
 * values, comma-separated, without Unix-socket directories.  NULL when
 * there are none or the URL does not parse.  Free with lk_free. */
char *lk__postgres_network_hosts(const char *target);

/* Parses a realtime instant written by either backend: ISO-8601 with T or
 * space, fractional seconds, and Z, +00, +00:00 or another offset. */
int lk__parse_time(const char *text, lk_usec *ret_usec);

/* Formats a realtime instant as "2026-11-24 21:00:00.123456+00". */
void lk__format_time(lk_usec usec, char buf[static 40]);

#endif
