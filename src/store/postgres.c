/* The PostgreSQL backend (see backend.h), over libpq: one PGconn per
 * connection, named prepared statements, parameters in text (blobs in
 * binary) and results in text.  Each session runs in UTC with ISO dates,
 * hex bytea and exact floats, whatever the server's defaults, so that
 * what comes back parses the same everywhere; the [Database] timeouts
 * become statement_timeout, lock_timeout and
 * idle_in_transaction_session_timeout. */
#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "linkd/alloc.h"
#include "linkd/hex.h"
#include "linkd/buf.h"

/* When neither DefaultLockTimeout nor DefaultQueryTimeout bounds the wait,
 * connecting still must not hang forever. */
#define CONNECT_TIMEOUT_DEFAULT (30 * LK_USEC_PER_SEC)
/* libpq's own floor for connect_timeout. */
#define CONNECT_TIMEOUT_MIN (2 * LK_USEC_PER_SEC)
/* A DETAIL longer than this is left out of messages. */
#define DETAIL_MAX 200

struct lk__conn {
        PGconn *pg;
        unsigned next_name; /* statement names are never reused */
};

typedef struct decoded {
        unsigned char *data;
        size_t len;
        bool done;
} decoded;

struct lk__stmt {
        lk__conn *conn;
        char name[16];
        char *sql;       /* for messages */
        int nparams;
        /* Parameter arrays for PQexecPrepared, sized once at prepare. */
        const char **values;
        int *lengths;
        int *formats;
        char (*scratch)[40]; /* text of numbers and times */

        PGresult *res;
        int row, rows;
        int64_t changes;
        decoded *blobs;  /* per column of the current row; NULL until asked */
        int nblobs;
};

/* ---- errors ---- */

static void ignore_notice(void *arg, const char *message) {
        /* NOTICEs ("table does not exist, skipping") are not errors, and
         * libpq would print them on stderr. */
}

static int map_sqlstate(const char *state) {
        if (!state || strlen(state) != 5)
                return -EIO;
        if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
                return -EAGAIN;
        if (!strcmp(state, "23505"))
                return -EEXIST;
        if (!strcmp(state, "57014") || !strcmp(state, "55P03"))
                return -ETIMEDOUT;
        if (!strcmp(state, "57P01") || !strcmp(state, "57P02") || !strcmp(state, "57P03"))
                return -ENOTCONN;
        if (!strncmp(state, "08", 2))
                return -ENOTCONN;
        if (!strncmp(state, "22", 2) || !strncmp(state, "23", 2) || !strncmp(state, "42", 2))
                return -EINVAL;
        return -EIO;
}

/* Appends text without its trailing newlines and with inner newlines and
 * tabs folded into spaces, so that a message stays on one line. */
static void put_line(lk_buf *out, const char *text) {
        size_t n = strlen(text);
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
                n--;
        for (size_t i = 0; i < n; i++) {
                char c = text[i];
                if (c == '\n' || c == '\t') {
                        if (out->len > 0 && out->data[out->len - 1] != ' ')
                                lk_buf_putc(out, ' ');
                } else {
                        lk_buf_putc(out, c);
                }
        }
}

/* The error a result (or, without one, the connection) reports.  A
 * connection that went bad is -ENOTCONN whatever the SQLSTATE, since the
 * core must then drop it. */
static int fail_result(lk__conn *c, const PGresult *res, const char *what, lk_err *err) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
        int code = PQstatus(c->pg) == CONNECTION_BAD ? -ENOTCONN : map_sqlstate(state);
        lk_buf msg = LK_BUF_INIT;
        if (what)
                lk_buf_printf(&msg, "%s: ", what);
        if (primary) {
                put_line(&msg, primary);
        } else {
                const char *text = res ? PQresultErrorMessage(res) : "";
                put_line(&msg, *text ? text : PQerrorMessage(c->pg));
        }
        if (detail && strlen(detail) <= DETAIL_MAX) {
                lk_buf_puts(&msg, " (");
                put_line(&msg, detail);
                lk_buf_putc(&msg, ')');
        }
        if (msg.len == 0 || (what && msg.len == strlen(what) + 2))
                lk_buf_puts(&msg, "unknown error");
        lk_err_set(err, code, "%s", lk_buf_str(&msg));
        lk_buf_done(&msg);
        return code;
}

/* Runs one simple query and checks every result it yields. */
static int run(lk__conn *c, const char *sql, lk_err *err) {
        if (!PQsendQuery(c->pg, sql))
                return fail_result(c, NULL, NULL, err);
        int r = 0;
        PGresult *res;
        while ((res = PQgetResult(c->pg))) {
                ExecStatusType status = PQresultStatus(res);
                if (status == PGRES_COPY_IN) {
                        PQputCopyEnd(c->pg, "COPY is not supported here");
                } else if (status == PGRES_COPY_OUT) {
                        char *row;
                        while (PQgetCopyData(c->pg, &row, 0) > 0)
                                PQfreemem(row);
                        if (r == 0)
                                r = lk_err_set(err, -EINVAL, "COPY is not supported here");
                } else if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
                           status != PGRES_EMPTY_QUERY && r == 0) {
                        r = fail_result(c, res, NULL, err);
                }
                PQclear(res);
        }
        if (r == 0 && PQstatus(c->pg) == CONNECTION_BAD)
                r = fail_result(c, NULL, NULL, err);
        return r;
}

/* ---- connecting ---- */

/* Replaces every occurrence of secret in text with xxxxx. */
static void scrub_one(lk_buf *text, const char *secret, size_t len) {
        if (len == 0)
                return;
        lk_buf out = LK_BUF_INIT;
        const char *p = lk_buf_str(text);
        const char *hit;
        while ((hit = memmem(p, strlen(p), secret, len))) {
                lk_buf_append(&out, p, (size_t)(hit - p));
                lk_buf_puts(&out, "xxxxx");
                p = hit + len;
        }
        lk_buf_puts(&out, p);
        lk_buf_done(text);
        *text = out;
}

/* libpq's messages leave passwords out, except one: a malformed
 * percent-escape is quoted, and it may be in the password.  So every
 * message about connecting has the URL's passwords (user:PASSWORD@ and
 * password=...) taken out. */
static void scrub(lk_buf *text, const char *target) {
        const char *rest = strstr(target, "://");
        rest = rest ? rest + 3 : target;
        size_t authority = strcspn(rest, "/?");
        const char *at = memchr(rest, '@', authority);
        if (at) {
                const char *colon = memchr(rest, ':', (size_t)(at - rest));
                if (colon)
                        scrub_one(text, colon + 1, (size_t)(at - colon - 1));
        }
        for (const char *p = target; (p = strstr(p, "password="));) {
                p += strlen("password=");
                scrub_one(text, p, strcspn(p, "&"));
        }
}

/* The SQLSTATE a server error carries in a verbose libpq message
 * ("FATAL:  28P01: password authentication failed ..."), copied to state
 * and cut out of the message. */
static bool take_sqlstate(lk_buf *msg, char state[static 6]) {
        char *text = msg->data;
        for (char *p = text ? strstr(text, ":  ") : NULL; p; p = strstr(p + 1, ":  ")) {
                char *code = p + 3;
                if (strspn(code, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 5 && code[5] == ':' &&
                    code[6] == ' ') {
                        memcpy(state, code, 5);
                        state[5] = 0;
                        memmove(code, code + 7, strlen(code + 7) + 1);
                        msg->len -= 7;
                        return true;
                }
        }
        return false;
}

/* Verbose messages end with "LOCATION:  file:line" lines: not for users. */
static void drop_locations(lk_buf *msg) {
        char *text = msg->data;
        char *p;
        while (text && (p = strstr(text, "\nLOCATION:"))) {
                size_t end = strcspn(p + 1, "\n") + 1;
                memmove(p, p + end, strlen(p + end) + 1);
                msg->len -= end;
        }
}

static int connect_error_code(const char *state, const char *text) {
        if (state && !strncmp(state, "28", 2))
                return -EACCES;
        if (state && !strcmp(state, "3D000"))
                return -ENOENT;
        if (state && !strcmp(state, "57014"))
                return -ETIMEDOUT;
        /* Without a SQLSTATE (an older server, or an error libpq made up),
         * fall back on libpq's English. */
        if (!state && strstr(text, "password authentication failed"))
                return -EACCES;
        if (!state && strstr(text, "timeout expired"))
                return -ETIMEDOUT;
        return -ENOTCONN;
}

/* Describes the endpoint libpq tried, from what it parsed: the user,
 * host, port and database, never the password. */
static void describe_endpoint(PGconn *pg, lk_buf *out) {
        const char *user = PQuser(pg), *host = PQhost(pg), *port = PQport(pg), *db = PQdb(pg);
        lk_buf_printf(out, "cannot connect to PostgreSQL");
        if (db && *db)
                lk_buf_printf(out, " database \"%s\"", db);
        if (user && *user)
                lk_buf_printf(out, " as \"%s\"", user);
        if (host && *host)
                lk_buf_printf(out, " at %s%s%s", host, port && *port ? ":" : "", port ? port : "");
        lk_buf_puts(out, ": ");
}

static int fail_connect(PGconn *pg, const char *target, bool timed_out, lk_usec timeout, lk_err *err) {
        lk_buf text = LK_BUF_INIT;
        lk_buf_puts(&text, pg ? PQerrorMessage(pg) : "out of memory");
        char state[6];
        bool has_state = take_sqlstate(&text, state);
        drop_locations(&text);
        int code = timed_out ? -ETIMEDOUT : connect_error_code(has_state ? state : NULL, lk_buf_str(&text));
        lk_buf msg = LK_BUF_INIT;
        if (pg)
                describe_endpoint(pg, &msg);
        if (timed_out)
                lk_buf_printf(&msg, "no answer within %lld ms", (long long)(timeout / LK_USEC_PER_MSEC));
        else
                put_line(&msg, text.len ? lk_buf_str(&text) : "unknown error");
        scrub(&msg, target);
        lk_err_set(err, code, "%s", lk_buf_str(&msg));
        lk_buf_done(&msg);
        lk_buf_done(&text);
        return code;
}

/* A malformed URL is a mistake in the configuration (-EINVAL), not an
 * unreachable server. */
static int check_url(const char *target, lk_err *err) {
        char *why = NULL;
        PQconninfoOption *options = PQconninfoParse(target, &why);
        if (options) {
                PQconninfoFree(options);
                return 0;
        }
        lk_buf msg = LK_BUF_INIT;
        lk_buf_puts(&msg, "invalid PostgreSQL URL: ");
        put_line(&msg, why ? why : "out of memory");
        scrub(&msg, target);
        lk_err_set(err, -EINVAL, "%s", lk_buf_str(&msg));
        lk_buf_done(&msg);
        PQfreemem(why);
        return -EINVAL;
}

static void add_network_hosts(lk_buf *out, const char *list) {
        for (const char *p = list; *p;) {
                size_t len = strcspn(p, ",");
                /* A directory ("/run/postgresql", "@abstract") is a socket. */
                if (len > 0 && p[0] != '/' && p[0] != '@') {
                        if (out->len > 0)
                                lk_buf_putc(out, ',');
                        lk_buf_append(out, p, len);
                }
                p += len + (p[len] == ',');
        }
}

char *lk__postgres_network_hosts(const char *target) {
        PQconninfoOption *options = PQconninfoParse(target, NULL);
        lk_buf hosts = LK_BUF_INIT;
        for (PQconninfoOption *o = options; o && o->keyword; o++)
                if ((!strcmp(o->keyword, "host") || !strcmp(o->keyword, "hostaddr")) && o->val)
                        add_network_hosts(&hosts, o->val);
        PQconninfoFree(options);
        if (hosts.len == 0) {
                lk_buf_done(&hosts);
                return NULL;
        }
        return lk_buf_steal(&hosts, NULL);
}

/* connect_timeout as the URL gave it, or as we defaulted it. */
static lk_usec effective_connect_timeout(PGconn *pg) {
        lk_usec timeout = 0;
        PQconninfoOption *options = PQconninfo(pg);
        for (PQconninfoOption *o = options; o && o->keyword; o++)
                if (!strcmp(o->keyword, "connect_timeout") && o->val)
                        timeout = (lk_usec)strtoll(o->val, NULL, 10) * LK_USEC_PER_SEC;
        PQconninfoFree(options);
        if (timeout <= 0)
                return 0; /* libpq's meaning: wait forever */
        return timeout < CONNECT_TIMEOUT_MIN ? CONNECT_TIMEOUT_MIN : timeout;
}

/* Drives PQconnectPoll until it is done or timeout (0: none) passes.
 * Connecting asynchronously (rather than PQconnectdbParams) is what lets
 * the error verbosity be raised before the server answers, so that its
 * SQLSTATE (28P01, 3D000) shows up in the message, and tells a timeout
 * apart from other failures without parsing libpq's words. */
static int poll_connect(PGconn *pg, lk_usec timeout, bool *ret_timed_out) {
        lk_usec deadline = timeout ? lk_now_monotonic() + timeout : 0;
        PostgresPollingStatusType status = PGRES_POLLING_WRITING;
        *ret_timed_out = false;
        while (status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED) {
                struct pollfd p = {PQsocket(pg), status == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0};
                int wait = -1;
                if (deadline) {
                        lk_usec left = deadline - lk_now_monotonic();
                        if (left <= 0) {
                                *ret_timed_out = true;
                                return -ETIMEDOUT;
                        }
                        wait = (int)((left + LK_USEC_PER_MSEC - 1) / LK_USEC_PER_MSEC);
                }
                if (p.fd < 0)
                        return -ENOTCONN;
                int n = poll(&p, 1, wait);
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n > 0)
                        status = PQconnectPoll(pg);
        }
        return status == PGRES_POLLING_OK ? 0 : -ENOTCONN;
}

/* A duration for a SET, in milliseconds; 0 stays 0 (off), and a
 * sub-millisecond duration does not become off. */
static long long msec(lk_usec usec) {
        if (usec <= 0)
                return 0;
        return usec < LK_USEC_PER_MSEC ? 1 : (long long)(usec / LK_USEC_PER_MSEC);
}

static lk_usec connect_timeout_for(const lk_config *cfg) {
        lk_usec lock = cfg->database.default_lock_timeout, query = cfg->database.default_query_timeout;
        lk_usec t = lock && query ? (lock < query ? lock : query) : lock ? lock : query;
        if (!t)
                return CONNECT_TIMEOUT_DEFAULT;
        return t < CONNECT_TIMEOUT_MIN ? CONNECT_TIMEOUT_MIN : t;
}

static int configure_session(lk__conn *c, const lk_config *cfg, lk_err *err) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SET statement_timeout = %lld; SET lock_timeout = %lld; "
                 "SET idle_in_transaction_session_timeout = %lld; SET TIME ZONE 'UTC'; "
                 "SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'; SET extra_float_digits = 3",
                 msec(cfg->database.default_query_timeout), msec(cfg->database.default_lock_timeout),
                 msec(cfg->database.default_idle_in_tx_session_timeout));
        int r = run(c, sql, err);
        if (r < 0)
                lk_err_prefix(err, "cannot set up the PostgreSQL session");
        return r;
}

static void pg_disconnect(lk__conn *c) {
        if (!c)
                return;
        PQfinish(c->pg);
        lk_free(c);
}

static int pg_connect(const char *target, const lk_config *cfg, lk__conn **ret, lk_err *err) {
        int r = check_url(target, err);
        if (r < 0)
                return r;
        char timeout[32];
        snprintf(timeout, sizeof timeout, "%lld",
                 (long long)((connect_timeout_for(cfg) + LK_USEC_PER_SEC - 1) / LK_USEC_PER_SEC));
        /* Later keywords override earlier ones, and dbname expands into the
         * URL's own settings: so ours come first, as defaults the URL may
         * override. */
        const char *const keywords[] = {"connect_timeout", "application_name", "client_encoding", "dbname", NULL};
        const char *const values[] = {timeout, "linkd", "UTF8", target, NULL};
        PGconn *pg = PQconnectStartParams(keywords, values, 1);
        if (!pg)
                return fail_connect(NULL, target, false, 0, err);
        PQsetErrorVerbosity(pg, PQERRORS_VERBOSE);
        PQsetNoticeProcessor(pg, ignore_notice, NULL);
        lk_usec wait = effective_connect_timeout(pg);
        bool timed_out = false;
        if (PQstatus(pg) == CONNECTION_BAD || poll_connect(pg, wait, &timed_out) < 0) {
                r = fail_connect(pg, target, timed_out, wait, err);
                PQfinish(pg);
                return r;
        }
        PQsetErrorVerbosity(pg, PQERRORS_DEFAULT);
        lk__conn *c = lk_calloc(1, sizeof *c);
        c->pg = pg;
        r = configure_session(c, cfg, err);
        if (r < 0) {
                pg_disconnect(c);
                return r;
        }
        *ret = c;
        return 0;
}

/* ---- statements ---- */

static int pg_exec(lk__conn *c, const char *sql, lk_err *err) {
        return run(c, sql, err);
}

static void stmt_arrays(lk__stmt *s) {
        size_t n = s->nparams > 0 ? (size_t)s->nparams : 1;
        s->values = lk_calloc(n, sizeof *s->values);
        s->lengths = lk_calloc(n, sizeof *s->lengths);
        s->formats = lk_calloc(n, sizeof *s->formats);
        s->scratch = lk_calloc(n, sizeof *s->scratch);
}

/* The number of parameters the server found, so that a mismatch is our
 * -EINVAL and not a protocol violation (SQLSTATE 08P01, which would read
 * as a lost connection). */
static int describe(lk__stmt *s, lk_err *err) {
        PGresult *res = PQdescribePrepared(s->conn->pg, s->name);
        int r = 0;
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
                r = fail_result(s->conn, res, "cannot describe a prepared statement", err);
        else
                s->nparams = PQnparams(res);
        PQclear(res);
        return r;
}

static int pg_prepare(lk__conn *c, const char *sql, lk__stmt **ret, lk_err *err) {
        lk__stmt *s = lk_calloc(1, sizeof *s);
        s->conn = c;
        snprintf(s->name, sizeof s->name, "lk%u", ++c->next_name);
        PGresult *res = PQprepare(c->pg, s->name, sql, 0, NULL);
        int r = 0;
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                char what[256];
                snprintf(what, sizeof what, "cannot prepare \"%.200s\"", sql);
                r = fail_result(c, res, what, err);
        }
        PQclear(res);
        if (r == 0)
                r = describe(s, err);
        if (r < 0) {
                lk_free(s);
                return r;
        }
        s->sql = lk_strdup(sql);
        stmt_arrays(s);
        *ret = s;
        return 0;
}

static void forget_blobs(lk__stmt *s) {
        for (int i = 0; i < s->nblobs; i++)
                lk_free(s->blobs[i].data);
        lk_freep(&s->blobs);
        s->nblobs = 0;
}

static void pg_reset(lk__stmt *s) {
        forget_blobs(s);
        PQclear(s->res);
        s->res = NULL;
        s->row = s->rows = 0;
}

static bool pg_in_transaction(lk__conn *c) {
        return PQtransactionStatus(c->pg) != PQTRANS_IDLE;
}

static void pg_finalize(lk__stmt *s) {
        if (!s)
                return;
        pg_reset(s);
        /* A gone connection has no statements left, and a failed
         * transaction refuses everything but ROLLBACK: then the statement
         * stays on the server until the connection closes, which costs
         * only memory, since names are never reused. */
        PGconn *pg = s->conn->pg;
        PGTransactionStatusType tx = PQtransactionStatus(pg);
        if (PQstatus(pg) == CONNECTION_OK && (tx == PQTRANS_IDLE || tx == PQTRANS_INTRANS)) {
                char sql[48];
                snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
                PQclear(PQexec(pg, sql));
        }
        lk_free(s->values);
        lk_free(s->lengths);
        lk_free(s->formats);
        lk_free(s->scratch);
        lk_free(s->sql);
        lk_free(s);
}

/* Sets parameter i from v: text, except blobs, which go in binary so
 * that no bytes need escaping. */
static void set_param(lk__stmt *s, int i, const lk__value *v) {
        char *buf = s->scratch[i];
        s->formats[i] = 0;
        s->lengths[i] = 0;
        s->values[i] = buf;
        switch (v->type) {
        case LK__NULL: s->values[i] = NULL; break;
        case LK__INT64: snprintf(buf, sizeof s->scratch[i], "%lld", (long long)v->i); break;
        case LK__DOUBLE:
                if (isnan(v->d))
                        s->values[i] = "NaN";
                else if (isinf(v->d))
                        s->values[i] = v->d > 0 ? "Infinity" : "-Infinity";
                else
                        snprintf(buf, sizeof s->scratch[i], "%.17g", v->d);
                break;
        case LK__BOOL: s->values[i] = v->i ? "true" : "false"; break;
        case LK__TEXT: s->values[i] = v->data; break;
        case LK__BLOB:
                s->values[i] = v->data;
                s->lengths[i] = (int)v->len;
                s->formats[i] = 1;
                break;
        case LK__TIME: lk__format_time(v->i, buf); break;
        }
}

static int64_t changes_of(PGresult *res) {
        /* Only commands that write count as changes: a SELECT's row count
         * is not one. */
        static const char *const writers[] = {"INSERT ", "UPDATE ", "DELETE ", "MERGE "};
        const char *status = PQcmdStatus(res);
        for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++)
                if (!strncmp(status, writers[i], strlen(writers[i])))
                        return strtoll(PQcmdTuples(res), NULL, 10);
        return 0;
}

static int pg_execute(lk__stmt *s, const lk__value *params, int count, lk_err *err) {
        pg_reset(s);
        s->changes = 0;
        if (count != s->nparams)
                return lk_err_set(err, -EINVAL, "statement takes %d parameters, %d given: %.200s", s->nparams,
                                  count, s->sql);
        for (int i = 0; i < count; i++) {
                if (params[i].type == LK__BLOB && params[i].len > INT32_MAX)
                        return lk_err_set(err, -EINVAL, "parameter $%d: a blob of %zu bytes is too large", i + 1,
                                          params[i].len);
                set_param(s, i, &params[i]);
        }
        PGresult *res = PQexecPrepared(s->conn->pg, s->name, count, s->values, s->lengths, s->formats, 0);
        ExecStatusType status = PQresultStatus(res);
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
                int r = fail_result(s->conn, res, NULL, err);
                PQclear(res);
                return r;
        }
        s->res = res;
        s->rows = PQntuples(res);
        s->row = -1;
        s->changes = changes_of(res);
        return 0;
}

static int pg_next_row(lk__stmt *s, lk_err *err) {
        forget_blobs(s);
        if (!s->res)
                return 0;
        if (++s->row < s->rows)
                return 1;
        /* Done: the rows need not wait for reset to be freed. */
        pg_reset(s);
        return 0;
}

/* The current row's value of column, or NULL when it is NULL or there
 * is no such row or column. */
static const char *value(lk__stmt *s, int column) {
        if (!s->res || s->row < 0 || s->row >= s->rows || column < 0 || column >= PQnfields(s->res))
                return NULL;
        if (PQgetisnull(s->res, s->row, column))
                return NULL;
        return PQgetvalue(s->res, s->row, column);
}

static bool pg_column_null(lk__stmt *s, int column) {
        return value(s, column) == NULL;
}

static int64_t pg_column_int64(lk__stmt *s, int column) {
        const char *v = value(s, column);
        return v ? strtoll(v, NULL, 10) : 0;
}

static double pg_column_double(lk__stmt *s, int column) {
        /* strtod reads PostgreSQL's NaN, Infinity and -Infinity too. */
        const char *v = value(s, column);
        return v ? strtod(v, NULL) : 0;
}

static bool pg_column_bool(lk__stmt *s, int column) {
        /* A boolean is 't' or 'f'; SQL shared with SQLite may keep a flag in
         * an integer column, which reads true when non-zero. */
        const char *v = value(s, column);
        if (!v)
                return false;
        return *v == 't' || strtoll(v, NULL, 10) != 0;
}

static const char *pg_column_text(lk__stmt *s, int column, size_t *ret_len) {
        const char *v = value(s, column);
        if (ret_len)
                *ret_len = v ? (size_t)PQgetlength(s->res, s->row, column) : 0;
        return v;
}

/* bytea in hex output: "\x" then two digits a byte. */
static bool decode_hex(const char *text, size_t len, decoded *out) {
        if (len < 2 || text[0] != '\\' || text[1] != 'x' || (len - 2) % 2)
                return false;
        size_t n = (len - 2) / 2;
        unsigned char *data = lk_malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) {
                int hi = lk_hex_digit(text[2 + 2 * i]), lo = lk_hex_digit(text[3 + 2 * i]);
                if (hi < 0 || lo < 0) {
                        lk_free(data);
                        return false;
                }
                data[i] = (unsigned char)(hi << 4 | lo);
        }
        out->data = data;
        out->len = n;
        return true;
}

static const void *pg_column_blob(lk__stmt *s, int column, size_t *ret_len) {
        size_t len = 0;
        const char *v = pg_column_text(s, column, &len);
        if (ret_len)
                *ret_len = 0;
        if (!v)
                return NULL;
        /* Each column decodes into its own buffer, so that two blobs of one
         * row can be held at once, as with SQLite. */
        if (!s->blobs) {
                s->nblobs = PQnfields(s->res);
                s->blobs = lk_calloc((size_t)s->nblobs, sizeof *s->blobs);
        }
        decoded *d = &s->blobs[column];
        if (!d->done) {
                d->done = true;
                if (!decode_hex(v, len, d)) {
                        /* Not a bytea (a text column read as a blob): its
                         * bytes as they are. */
                        d->data = NULL;
                        d->len = len;
                }
        }
        if (ret_len)
                *ret_len = d->len;
        return d->data ? (const void *)d->data : (const void *)v;
}

static int64_t pg_changes(lk__stmt *s) {
        return s->changes;
}

const lk__backend lk__postgres_backend = {
        .name = "postgresql",
        .connect = pg_connect,
        .disconnect = pg_disconnect,
        .exec = pg_exec,
        .prepare = pg_prepare,
        .finalize = pg_finalize,
        .execute = pg_execute,
        .next_row = pg_next_row,
        .column_null = pg_column_null,
        .column_int64 = pg_column_int64,
        .column_double = pg_column_double,
        .column_bool = pg_column_bool,
        .column_text = pg_column_text,
        .column_blob = pg_column_blob,
        .changes = pg_changes,
        .reset = pg_reset,
        .in_transaction = pg_in_transaction,
        .begin_write = "BEGIN",
        /* One snapshot for every statement of a read (READ COMMITTED
         * would let two statements see different commits); a read-only
         * REPEATABLE READ transaction never fails to serialize. */
        .begin_read = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
};
