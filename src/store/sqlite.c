/* The SQLite backend (see backend.h): WAL, synchronous as configured
 * (FULL by default), foreign keys on, busy waits bounded by
 * DefaultLockTimeout and statements by DefaultQueryTimeout. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "linkd/alloc.h"
#include "linkd/buf.h"

struct lk__conn {
        sqlite3 *db;
        char *path;
        lk_usec query_timeout;
        lk_usec deadline; /* monotonic; 0 while nothing runs */
};

struct lk__stmt {
        lk__conn *conn;
        sqlite3_stmt *stmt;
        int pending;   /* the result of the step execute() took, not yet handed out */
        int64_t changes;
};

static int map_error(int rc) {
        switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED: return -EAGAIN;
        case SQLITE_CONSTRAINT:
                return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ? -EEXIST : -EINVAL;
        case SQLITE_ERROR:
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
        case SQLITE_TOOBIG: return -EINVAL;
        case SQLITE_INTERRUPT: return -ETIMEDOUT;
        case SQLITE_CANTOPEN: return -ENOENT;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH: return -EACCES;
        case SQLITE_NOMEM: return -ENOMEM;
        default: return -EIO;
        }
}

static int fail(lk__conn *c, int rc, const char *what, lk_err *err) {
        const char *detail = c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
        return lk_err_set(err, map_error(rc), "%s: %s", what, detail);
}

/* Aborts a statement that runs past DefaultQueryTimeout. */
static int on_progress(void *arg) {
        lk__conn *c = arg;
        return c->deadline && lk_now_monotonic() > c->deadline;
}

static void arm(lk__conn *c) {
        c->deadline = c->query_timeout ? lk_now_monotonic() + c->query_timeout : 0;
}

static int pragma(lk__conn *c, const char *sql, lk_err *err) {
        char *msg = NULL;
        int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
                lk_err_set(err, map_error(rc), "%s: %s", c->path, msg ? msg : sqlite3_errstr(rc));
                sqlite3_free(msg);
                return map_error(rc);
        }
        return 0;
}

static void sqlite_disconnect(lk__conn *c) {
        if (!c)
                return;
        sqlite3_close_v2(c->db);
        lk_free(c->path);
        lk_free(c);
}

static int sqlite_connect(const char *path, const lk_config *cfg, lk__conn **ret, lk_err *err) {
        lk__conn *c = lk_calloc(1, sizeof *c);
        c->path = lk_strdup(path);
        c->query_timeout = cfg->database.default_query_timeout;
        struct stat st;
        bool created = stat(path, &st) < 0;
        int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 NULL);
        if (rc != SQLITE_OK) {
                int r = fail(c, rc, path, err);
                sqlite_disconnect(c);
                return r;
        }
        /* It holds keys: private from the start (the WAL and shared-memory
         * files copy the database file's mode). */
        if (created)
                chmod(path, 0600);
        sqlite3_extended_result_codes(c->db, 1);
        sqlite3_busy_timeout(c->db, (int)(cfg->database.default_lock_timeout / LK_USEC_PER_MSEC));
        sqlite3_progress_handler(c->db, 1000, on_progress, c);
        char sync[64];
        snprintf(sync, sizeof sync, "PRAGMA synchronous = %s", cfg->database.sqlite_synchronous);
        int r = pragma(c, "PRAGMA journal_mode = WAL", err);
        if (r == 0)
                r = pragma(c, sync, err);
        if (r == 0)
                r = pragma(c, "PRAGMA foreign_keys = ON", err);
        if (r < 0) {
                sqlite_disconnect(c);
                return r;
        }
        *ret = c;
        return 0;
}

static int sqlite_exec(lk__conn *c, const char *sql, lk_err *err) {
        arm(c);
        char *msg = NULL;
        int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
        c->deadline = 0;
        if (rc == SQLITE_OK)
                return 0;
        int r = lk_err_set(err, map_error(rc), "%s", msg ? msg : sqlite3_errmsg(c->db));
        sqlite3_free(msg);
        return r;
}

/* $1..$n (PostgreSQL's placeholders) become ?1..?n, which SQLite binds
 * by number too; quoted text and identifiers are left alone. */
static char *translate(const char *sql) {
        lk_buf out = LK_BUF_INIT;
        char quote = 0;
        for (const char *p = sql; *p; p++) {
                if (quote) {
                        if (*p == quote)
                                quote = 0;
                } else if (*p == '\'' || *p == '"') {
                        quote = *p;
                } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
                        lk_buf_putc(&out, '?');
                        continue;
                } else if (*p == ':' && p[1] == ':') {
                        /* PostgreSQL casts ($1::uuid) mean nothing to SQLite:
                         * drop the cast and its type name. */
                        p += 2;
                        while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
                                p++;
                        p--;
                        continue;
                }
                lk_buf_putc(&out, *p);
        }
        return lk_buf_steal(&out, NULL);
}

static int sqlite_prepare(lk__conn *c, const char *sql, lk__stmt **ret, lk_err *err) {
        char *translated = translate(sql);
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        int rc = sqlite3_prepare_v3(c->db, translated, -1, SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
        int r = 0;
        if (rc != SQLITE_OK)
                r = lk_err_set(err, map_error(rc), "cannot prepare \"%.200s\": %s", sql, sqlite3_errmsg(c->db));
        else if (!stmt)
                r = lk_err_set(err, -EINVAL, "nothing to prepare in \"%.200s\"", sql);
        else if (tail && tail[strspn(tail, " \t\r\n;")])
                r = lk_err_set(err, -EINVAL, "more than one statement in \"%.200s\"", sql);
        lk_free(translated);
        if (r < 0) {
                sqlite3_finalize(stmt);
                return r;
        }
        lk__stmt *s = lk_calloc(1, sizeof *s);
        s->conn = c;
        s->stmt = stmt;
        *ret = s;
        return 0;
}

static void sqlite_finalize(lk__stmt *s) {
        if (!s)
                return;
        sqlite3_finalize(s->stmt);
        lk_free(s);
}

static int bind(lk__stmt *s, int index, const lk__value *v) {
        switch (v->type) {
        case LK__NULL: return sqlite3_bind_null(s->stmt, index);
        case LK__INT64:
        case LK__BOOL: return sqlite3_bind_int64(s->stmt, index, v->i);
        case LK__DOUBLE: return sqlite3_bind_double(s->stmt, index, v->d);
        case LK__TEXT: return sqlite3_bind_text64(s->stmt, index, v->data, v->len, SQLITE_STATIC, SQLITE_UTF8);
        case LK__BLOB: return sqlite3_bind_blob64(s->stmt, index, v->data, v->len, SQLITE_STATIC);
        case LK__TIME: {
                char text[40];
                lk__format_time(v->i, text);
                return sqlite3_bind_text(s->stmt, index, text, -1, SQLITE_TRANSIENT);
        }
        }
        return SQLITE_MISUSE;
}

static int step(lk__stmt *s, lk_err *err) {
        arm(s->conn);
        int rc = sqlite3_step(s->stmt);
        s->conn->deadline = 0;
        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE) {
                s->changes = sqlite3_changes64(s->conn->db);
                return 0;
        }
        int r = lk_err_set(err, map_error(rc), "%s", sqlite3_errmsg(s->conn->db));
        if (rc == SQLITE_INTERRUPT)
                lk_err_set(err, -ETIMEDOUT, "statement cancelled after Database.DefaultQueryTimeout");
        sqlite3_reset(s->stmt);
        return r;
}

static int sqlite_execute(lk__stmt *s, const lk__value *params, int count, lk_err *err) {
        int expected = sqlite3_bind_parameter_count(s->stmt);
        if (count != expected)
                return lk_err_set(err, -EINVAL, "statement takes %d parameters, %d given: %.200s", expected, count,
                                  sqlite3_sql(s->stmt));
        for (int i = 0; i < count; i++) {
                int rc = bind(s, i + 1, &params[i]);
                if (rc != SQLITE_OK)
                        return fail(s->conn, rc, "cannot bind a parameter", err);
        }
        s->changes = 0;
        s->pending = step(s, err);
        return s->pending < 0 ? s->pending : 0;
}

static int sqlite_next_row(lk__stmt *s, lk_err *err) {
        if (s->pending != 2) {
                int r = s->pending;
                s->pending = 2; /* handed out: step from now on */
                return r;
        }
        return step(s, err);
}

static bool sqlite_column_null(lk__stmt *s, int column) {
        return sqlite3_column_type(s->stmt, column) == SQLITE_NULL;
}

static int64_t sqlite_column_int64(lk__stmt *s, int column) {
        return sqlite3_column_int64(s->stmt, column);
}

static double sqlite_column_double(lk__stmt *s, int column) {
        return sqlite3_column_double(s->stmt, column);
}

static bool sqlite_column_bool(lk__stmt *s, int column) {
        return sqlite3_column_int64(s->stmt, column) != 0;
}

static const char *sqlite_column_text(lk__stmt *s, int column, size_t *ret_len) {
        const char *t = (const char *)sqlite3_column_text(s->stmt, column);
        if (ret_len)
                *ret_len = (size_t)sqlite3_column_bytes(s->stmt, column);
        return t;
}

static const void *sqlite_column_blob(lk__stmt *s, int column, size_t *ret_len) {
        const void *b = sqlite3_column_blob(s->stmt, column);
        if (ret_len)
                *ret_len = (size_t)sqlite3_column_bytes(s->stmt, column);
        return b;
}

static int64_t sqlite_changes(lk__stmt *s) {
        return s->changes;
}

static bool sqlite_in_transaction(lk__conn *c) {
        return !sqlite3_get_autocommit(c->db);
}

static void sqlite_reset(lk__stmt *s) {
        sqlite3_reset(s->stmt);
        sqlite3_clear_bindings(s->stmt);
        s->pending = 2;
}

const lk__backend lk__sqlite_backend = {
        .name = "sqlite",
        .connect = sqlite_connect,
        .disconnect = sqlite_disconnect,
        .exec = sqlite_exec,
        .prepare = sqlite_prepare,
        .finalize = sqlite_finalize,
        .execute = sqlite_execute,
        .next_row = sqlite_next_row,
        .column_null = sqlite_column_null,
        .column_int64 = sqlite_column_int64,
        .column_double = sqlite_column_double,
        .column_bool = sqlite_column_bool,
        .column_text = sqlite_column_text,
        .column_blob = sqlite_column_blob,
        .changes = sqlite_changes,
        .reset = sqlite_reset,
        .in_transaction = sqlite_in_transaction,
        /* IMMEDIATE takes the write lock at BEGIN, so two writers wait for
         * each other there instead of deadlocking on an upgrade later. */
        .begin_write = "BEGIN IMMEDIATE",
        .begin_read = "BEGIN",
};
