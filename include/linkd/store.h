/* The store: one API over SQLite (the default: one file, nothing to
 * install) and PostgreSQL (for production and hot standby).  Every module
 * talks to this, never to a driver.
 *
 * Work happens in transactions: lk_store_tx runs a function with a pooled
 * connection (lk_db) inside BEGIN/COMMIT, rolls back if it fails, and runs
 * it again when the database asks for a retry (SQLite's BUSY, PostgreSQL's
 * serialization failures and deadlocks) - so the function must have no
 * effect outside the database.  SQL is written once, with PostgreSQL's
 * $1..$n placeholders, and runs on both backends; where the two dialects
 * differ, callers branch on lk_store_backend().
 *
 * Error codes: -EAGAIN retry-worthy conflict (after retries ran out),
 * -EEXIST unique or primary-key violation, -EINVAL bad SQL or a constraint,
 * -ETIMEDOUT statement or lock timeout, -ENOTCONN the database is
 * unreachable, -EACCES authentication or permission refused, -ENOENT the
 * database (or its file) does not exist, -ENOMEM out of memory in the
 * driver, -EIO anything else.  Messages never contain the password.
 *
 * An error from the COMMIT itself (a failed fsync, a connection lost while
 * committing) leaves the outcome unknown: the transaction may have been
 * kept.  Every other error means nothing of the transaction was kept.
 *
 * The store is also a service ("Database"): Start opens the database,
 * takes the single-writer lock ([Database.Lock]: a lease or an advisory
 * lock on PostgreSQL, an exclusive file lock on SQLite), and migrates it
 * when [Database] MigrateOnStartup.  Its health report has "Database"
 * (reachable or not, and why) and "Database.Lock". */
#ifndef LINKD_STORE_H
#define LINKD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/config.h"
#include "linkd/log.h"
#include "linkd/service.h"
#include "linkd/time.h"

#define LK_STORE_NAME "Database"
/* The most items one page of a stored list may have, as Chainlink's API. */
#define LK_PAGE_MAX_SIZE 1000

typedef enum lk_store_backend {
        LK_STORE_SQLITE,
        LK_STORE_POSTGRES,
} lk_store_backend;

typedef struct lk_store lk_store;
typedef struct lk_db lk_db;
typedef struct lk_stmt lk_stmt;

typedef struct lk_store_options {
        /* sqlite:///abs/path.db, sqlite:relative/path.db, or
         * postgresql://user:password@host:port/db?params (also postgres://).
         * NULL: sqlite at <RootDir>/linkd.db. */
        const char *url;
        const lk_config *config; /* borrowed: [Database], RootDir */
        lk_log *log;             /* borrowed; may be NULL */
        /* Called (from the store's monitor thread) when the single-writer
         * lock is lost while running: another node may now write, so this
         * one must stop.  May be NULL. */
        void (*on_lock_lost)(void *arg);
        void *on_lock_lost_arg;
} lk_store_options;

/* Checks the URL; opens nothing.  The caller owns the store. */
int lk_store_new(const lk_store_options *options, lk_store **ret_store, lk_err *err);
/* Accepts NULL; returns NULL.  Close the service first. */
lk_store *lk_store_free(lk_store *store);

lk_service *lk_store_service(lk_store *store);
lk_store_backend lk_store_backend_of(const lk_store *store);

/* The database server's network hosts (PostgreSQL's host and hostaddr,
 * comma-separated, Unix-socket directories left out), for the http task
 * to refuse as Chainlink does; NULL for SQLite or a socket.  The caller
 * frees it with lk_free. */
char *lk_store_network_hosts(const lk_store *store);

/* The URL with any password replaced by "xxxxx", for messages. */
const char *lk_store_display_url(const lk_store *store);

/* Opens the database without the service around it (no lock, no
 * migration), for the `linkd db` commands and tests.  Close with
 * lk_store_close. */
int lk_store_open(lk_store *store, lk_err *err);
void lk_store_close(lk_store *store);

typedef int (*lk_tx_fn)(lk_db *db, void *arg, lk_err *err);

/* Runs body inside a read-write transaction (see above). */
int lk_store_tx(lk_store *store, lk_tx_fn body, void *arg, lk_err *err);
/* Runs body inside a read-only transaction (no retry needed). */
int lk_store_read(lk_store *store, lk_tx_fn body, void *arg, lk_err *err);

/* A statement for this connection, prepared once and cached per
 * connection; hand it back with lk_stmt_done.  Parameters are numbered
 * from 1 ($1), columns from 0. */
int lk_db_prepare(lk_db *db, const char *sql, lk_stmt **ret_stmt, lk_err *err);
/* Runs SQL without parameters or results (DDL, scripts). */
int lk_db_exec(lk_db *db, const char *sql, lk_err *err);
lk_store_backend lk_db_backend(const lk_db *db);

void lk_stmt_bind_null(lk_stmt *stmt, int index);
void lk_stmt_bind_int64(lk_stmt *stmt, int index, int64_t value);
void lk_stmt_bind_double(lk_stmt *stmt, int index, double value);
void lk_stmt_bind_bool(lk_stmt *stmt, int index, bool value);
/* text is copied; len may be SIZE_MAX for NUL-terminated text. */
void lk_stmt_bind_text(lk_stmt *stmt, int index, const char *text, size_t len);
void lk_stmt_bind_blob(lk_stmt *stmt, int index, const void *data, size_t len);
/* A realtime instant: TIMESTAMPTZ on PostgreSQL, ISO-8601 UTC text on SQLite. */
void lk_stmt_bind_time(lk_stmt *stmt, int index, lk_usec realtime);

/* Runs the statement (on the first call) and moves to the next row:
 * 1 when a row is available, 0 when there are no more, negative on error. */
int lk_stmt_step(lk_stmt *stmt, lk_err *err);
/* Steps to completion, for statements without results: 0 or an error. */
int lk_stmt_run(lk_stmt *stmt, lk_err *err);
/* Rows changed by the last INSERT/UPDATE/DELETE. */
int64_t lk_stmt_changes(lk_stmt *stmt);

bool lk_stmt_is_null(lk_stmt *stmt, int column);
int64_t lk_stmt_int64(lk_stmt *stmt, int column);
double lk_stmt_double(lk_stmt *stmt, int column);
bool lk_stmt_bool(lk_stmt *stmt, int column);
/* Valid until the next step or lk_stmt_done; "" for NULL. */
const char *lk_stmt_text(lk_stmt *stmt, int column, size_t *ret_len);
const void *lk_stmt_blob(lk_stmt *stmt, int column, size_t *ret_len);
lk_usec lk_stmt_time(lk_stmt *stmt, int column);

/* Resets the statement and returns it to its connection's cache. */
void lk_stmt_done(lk_stmt *stmt);

/* Migrations (src/store/migrations.c): the schema version linkd knows,
 * the one the database is at, and moving between them. */
int lk_store_migrations_known(void);
int lk_store_version(lk_store *store, int *ret_version, lk_err *err);
/* Applies every pending migration, each in its own transaction. */
int lk_store_migrate(lk_store *store, int *ret_applied, lk_err *err);
/* Undoes the newest applied migration. */
int lk_store_rollback(lk_store *store, int *ret_version, lk_err *err);
/* The name of migration version (1-based), or NULL. */
const char *lk_store_migration_name(int version);

#endif
