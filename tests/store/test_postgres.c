/* The PostgreSQL backend: every type through the public store API, the
 * SQLSTATE-to-errno mapping, connection failures (and that no message
 * holds the password), and connections the server kills.  Each test gets
 * a fresh database on the cluster scripts/pg-cluster started
 * ($LINKD_TEST_PG_URL). */
#include "lktest.h"
#include "test_db.h"

#include <errno.h>
#include <float.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/store.h"

#define SEC LK_USEC_PER_SEC
#define MSEC LK_USEC_PER_MSEC

typedef struct fixture {
        char *url; /* the test's own database */
        lk_config cfg;
        lk_store *store;
} fixture;

/* ---- set-up ---- */

static lk_store *open_store(const char *url, const lk_config *cfg, int *ret, lk_err *err) {
        lk_store *store;
        if (lk_store_new(&(lk_store_options){.url = url, .config = cfg}, &store, err) < 0)
                fail_msg("lk_store_new: %s", err->msg);
        *ret = lk_store_open(store, err);
        return store;
}

static int setup_with(void **state, lk_usec query_timeout, lk_usec lock_timeout) {
        fixture *f = lk_calloc(1, sizeof *f);
        lk_config_init(&f->cfg);
        f->cfg.database.default_query_timeout = query_timeout;
        f->cfg.database.default_lock_timeout = lock_timeout;
        lk_err err = LK_ERR_INIT;
        if (lk_config_finish(&f->cfg, &err) < 0)
                fail_msg("%s", err.msg);
        f->url = lktest_pg_create_db();
        int r;
        f->store = open_store(f->url, &f->cfg, &r, &err);
        if (r < 0)
                fail_msg("cannot open %s: %s", lk_store_display_url(f->store), err.msg);
        *state = f;
        return 0;
}

static int setup(void **state) {
        return setup_with(state, 10 * SEC, 15 * SEC);
}

static int setup_short_query(void **state) {
        return setup_with(state, 200 * MSEC, 10 * SEC);
}

static int setup_short_lock(void **state) {
        return setup_with(state, 10 * SEC, 200 * MSEC);
}

static int teardown(void **state) {
        fixture *f = *state;
        lk_store_close(f->store);
        lk_store_free(f->store);
        lk_config_done(&f->cfg);
        lktest_pg_drop_db(f->url);
        lk_free(f);
        return 0;
}

/* A plain libpq connection beside the store's (to hold locks, to kill
 * the store's connections). */
static PGconn *side_connection(const char *url) {
        PGconn *pg = PQconnectdb(url);
        if (PQstatus(pg) != CONNECTION_OK)
                fail_msg("side connection: %s", PQerrorMessage(pg));
        return pg;
}

static void side_exec(PGconn *pg, const char *sql) {
        PGresult *res = PQexec(pg, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
                fail_msg("%s: %s", sql, PQerrorMessage(pg));
        PQclear(res);
}

/* The password in a postgresql://user:PASSWORD@... URL (lk_free it). */
static char *password_of(const char *url) {
        const char *user = strstr(url, "://") + 3;
        const char *at = strchr(user, '@');
        const char *colon = memchr(user, ':', (size_t)(at - user));
        assert_non_null(colon);
        return lk_strndup(colon + 1, (size_t)(at - colon - 1));
}

/* url with the first occurrence of from replaced by to (lk_free it). */
static char *replace(const char *url, const char *from, const char *to) {
        const char *hit = strstr(url, from);
        assert_non_null(hit);
        return lk_asprintf("%.*s%s%s", (int)(hit - url), url, to, hit + strlen(from));
}

/* ---- transaction bodies ---- */

static void exec_sql(fixture *f, const char *sql) {
        lktest_store_exec(f->store, sql);
}

static int run_sql(fixture *f, const char *sql, lk_err *err) {
        return lk_store_tx(f->store, lktest_exec_body, (void *)sql, err);
}

/* The single int64 a query returns, in the connection the body holds. */
static int64_t query_int(lk_db *db, const char *sql) {
        lk_stmt *st;
        lk_err err = LK_ERR_INIT;
        if (lk_db_prepare(db, sql, &st, &err) < 0)
                fail_msg("%s: %s", sql, err.msg);
        if (lk_stmt_step(st, &err) != 1)
                fail_msg("%s: no row: %s", sql, err.msg);
        int64_t v = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return v;
}

typedef struct query_args {
        const char *sql;
        int64_t value;
        char text[256];
} query_args;

static int query_body(lk_db *db, void *arg, lk_err *err) {
        query_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, a->sql, &st, err);
        if (r < 0)
                return r;
        r = lk_stmt_step(st, err);
        if (r == 1) {
                a->value = lk_stmt_int64(st, 0);
                snprintf(a->text, sizeof a->text, "%s", lk_stmt_text(st, 0, NULL));
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static query_args query(fixture *f, const char *sql) {
        query_args a = {.sql = sql};
        lk_err err = LK_ERR_INIT;
        if (lk_store_read(f->store, query_body, &a, &err) < 0)
                fail_msg("%s: %s", sql, err.msg);
        return a;
}

/* ---- types ---- */

typedef enum kind { K_INT, K_DOUBLE, K_BOOL, K_TEXT, K_BLOB, K_TIME } kind;

typedef struct value {
        kind kind;
        bool null;
        int64_t i;
        double d;
        const char *data;
        size_t len;
} value;

static const char *const column_of[] = {"i", "d", "b", "t", "bl", "ts"};

static void bind_value(lk_stmt *st, int index, const value *v) {
        if (v->null) {
                lk_stmt_bind_null(st, index);
                return;
        }
        switch (v->kind) {
        case K_INT: lk_stmt_bind_int64(st, index, v->i); break;
        case K_DOUBLE: lk_stmt_bind_double(st, index, v->d); break;
        case K_BOOL: lk_stmt_bind_bool(st, index, v->i != 0); break;
        case K_TEXT: lk_stmt_bind_text(st, index, v->data, v->len); break;
        case K_BLOB: lk_stmt_bind_blob(st, index, v->data, v->len); break;
        case K_TIME: lk_stmt_bind_time(st, index, v->i); break;
        }
}

static void check_column(lk_stmt *st, int column, const value *v, size_t n) {
        if (v->null) {
                assert_true(lk_stmt_is_null(st, column));
                size_t len = 99;
                assert_string_equal(lk_stmt_text(st, column, &len), "");
                assert_int_equal(len, 0);
                assert_null(lk_stmt_blob(st, column, &len));
                assert_int_equal(len, 0);
                assert_int_equal(lk_stmt_time(st, column), 0);
                return;
        }
        assert_false(lk_stmt_is_null(st, column));
        switch (v->kind) {
        case K_INT: assert_int_equal(lk_stmt_int64(st, column), v->i); break;
        case K_DOUBLE: {
                double got = lk_stmt_double(st, column);
                if (isnan(v->d)) {
                        assert_true(isnan(got));
                } else if (memcmp(&got, &v->d, sizeof got) != 0) {
                        /* Bit for bit: -0.0, subnormals and the last digit. */
                        fail_msg("value %zu: double %.17g came back as %.17g (%s)", n, v->d, got,
                                 lk_stmt_text(st, column, NULL));
                }
                break;
        }
        case K_BOOL: assert_int_equal(lk_stmt_bool(st, column), v->i != 0); break;
        case K_TEXT: {
                size_t len;
                const char *t = lk_stmt_text(st, column, &len);
                assert_int_equal(len, v->len);
                assert_memory_equal(t, v->data, len);
                assert_int_equal(t[len], 0);
                break;
        }
        case K_BLOB: {
                size_t len = 99;
                const void *b = lk_stmt_blob(st, column, &len);
                assert_int_equal(len, v->len);
                if (len)
                        assert_memory_equal(b, v->data, len);
                break;
        }
        case K_TIME:
                if (lk_stmt_time(st, column) != v->i)
                        fail_msg("value %zu: time %lld came back as %lld (%s)", n, (long long)v->i,
                                 (long long)lk_stmt_time(st, column), lk_stmt_text(st, column, NULL));
                break;
        }
}

typedef struct round_trip {
        const value *values;
        size_t count;
} round_trip;

/* Stores every value in its column, one row each, reads them back in
 * order, and also echoes each one as a bare cast parameter. */
static int round_trip_body(lk_db *db, void *arg, lk_err *err) {
        round_trip *rt = arg;
        for (size_t n = 0; n < rt->count; n++) {
                const value *v = &rt->values[n];
                char sql[128];
                snprintf(sql, sizeof sql, "INSERT INTO v (id, %s) VALUES ($1, $2)", column_of[v->kind]);
                lk_stmt *st;
                int r = lk_db_prepare(db, sql, &st, err);
                if (r < 0)
                        return r;
                lk_stmt_bind_int64(st, 1, (int64_t)n);
                bind_value(st, 2, v);
                r = lk_stmt_run(st, err);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
        }
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT id, i, d, b, t, bl, ts FROM v ORDER BY id", &st, err);
        if (r < 0)
                return r;
        size_t n = 0;
        while ((r = lk_stmt_step(st, err)) == 1) {
                assert_true(n < rt->count);
                assert_int_equal(lk_stmt_int64(st, 0), n);
                check_column(st, 1 + (int)rt->values[n].kind, &rt->values[n], n);
                n++;
        }
        lk_stmt_done(st);
        assert_int_equal(n, rt->count);
        static const char *const echo[] = {"SELECT $1::bigint", "SELECT $1::float8", "SELECT $1::boolean",
                                           "SELECT $1::text", "SELECT $1::bytea", "SELECT $1::timestamptz"};
        for (n = 0; r == 0 && n < rt->count; n++) {
                const value *v = &rt->values[n];
                r = lk_db_prepare(db, echo[v->kind], &st, err);
                if (r < 0)
                        break;
                bind_value(st, 1, v);
                r = lk_stmt_step(st, err);
                if (r == 1) {
                        check_column(st, 0, v, n);
                        r = lk_stmt_step(st, err);
                }
                lk_stmt_done(st);
        }
        return r;
}

static void round_trip_all(fixture *f, const value *values, size_t count) {
        exec_sql(f, "CREATE TABLE v (id bigint PRIMARY KEY, i bigint, d double precision, b boolean, "
                    "t text, bl bytea, ts timestamptz)");
        round_trip rt = {values, count};
        lk_err err = LK_ERR_INIT;
        if (lk_store_tx(f->store, round_trip_body, &rt, &err) < 0)
                fail_msg("%s", err.msg);
}

#define ROUND_TRIP(f, values) round_trip_all(f, values, sizeof(values) / sizeof(values[0]))

static void int64_round_trip(void **state) {
        static const value values[] = {
                {K_INT, .i = INT64_MIN}, {K_INT, .i = INT64_MIN + 1}, {K_INT, .i = -1},
                {K_INT, .i = 0},         {K_INT, .i = 1},             {K_INT, .i = INT64_MAX},
                {K_INT, .null = true},
        };
        ROUND_TRIP(*state, values);
}

static void double_round_trip(void **state) {
        const value values[] = {
                {K_DOUBLE, .d = 0.0},      {K_DOUBLE, .d = -0.0},          {K_DOUBLE, .d = 0.1},
                {K_DOUBLE, .d = -1.5},     {K_DOUBLE, .d = 1.0 / 3.0},     {K_DOUBLE, .d = M_PI},
                {K_DOUBLE, .d = 1e300},    {K_DOUBLE, .d = DBL_MAX},       {K_DOUBLE, .d = -DBL_MAX},
                {K_DOUBLE, .d = DBL_MIN},  {K_DOUBLE, .d = 4.9406564584124654e-324},
                {K_DOUBLE, .d = 9007199254740993.0}, {K_DOUBLE, .d = NAN}, {K_DOUBLE, .d = INFINITY},
                {K_DOUBLE, .d = -INFINITY}, {K_DOUBLE, .null = true},
        };
        ROUND_TRIP(*state, values);
}

static void bool_round_trip(void **state) {
        static const value values[] = {{K_BOOL, .i = 1}, {K_BOOL, .i = 0}, {K_BOOL, .null = true}};
        ROUND_TRIP(*state, values);
}

static void text_round_trip(void **state) {
        static char big[100001];
        memset(big, 'x', sizeof big - 1);
        big[4242] = '\'';
        const char *texts[] = {
                "",
                "plain",
                "O'Reilly said \"hi\" -- ; DROP TABLE v; \\ \\x00 $1 %s",
                "h\xc3\xa9llo \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x8e\x89",
                "line 1\nline 2\ttab\r\n",
                big,
        };
        value values[sizeof texts / sizeof texts[0] + 1];
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
                values[i] = (value){K_TEXT, .data = texts[i], .len = strlen(texts[i])};
        values[sizeof texts / sizeof texts[0]] = (value){K_TEXT, .null = true};
        ROUND_TRIP(*state, values);
}

static void blob_round_trip(void **state) {
        static char all[256], zeros[16], large[1 << 20];
        for (int i = 0; i < 256; i++)
                all[i] = (char)i;
        for (size_t i = 0; i < sizeof large; i++)
                large[i] = (char)(rand() & 0xff);
        const value values[] = {
                {K_BLOB, .data = "", .len = 0},
                {K_BLOB, .data = zeros, .len = 1},
                {K_BLOB, .data = zeros, .len = sizeof zeros},
                {K_BLOB, .data = all, .len = sizeof all},
                {K_BLOB, .data = "\\x00ff", .len = 6}, /* looks like bytea's hex text */
                {K_BLOB, .data = large, .len = sizeof large},
                {K_BLOB, .null = true},
        };
        ROUND_TRIP(*state, values);
}

static void time_round_trip(void **state) {
        static const value values[] = {
                {K_TIME, .i = 0},
                {K_TIME, .i = 1},
                {K_TIME, .i = -1},                           /* 1969-12-31 23:59:59.999999 */
                {K_TIME, .i = 1700000000123456},
                {K_TIME, .i = 951782400000001},              /* 2000-02-29, leap day */
                {K_TIME, .i = -2208988800000000 + 999999},   /* 1900-01-01 00:00:00.999999 */
                {K_TIME, .i = -1234567890654321},            /* 1930 */
                {K_TIME, .i = 253402300799999999},           /* 9999-12-31 23:59:59.999999 */
                {K_TIME, .null = true},
        };
        ROUND_TRIP(*state, values);
}

/* Times come back in UTC whatever zone the value was written in. */
static void times_read_in_utc(void **state) {
        fixture *f = *state;
        query_args a = query(f, "SELECT '2020-01-01 05:00:00.25+05'::timestamptz");
        assert_string_equal(a.text, "2020-01-01 00:00:00.25+00");
        a = query(f, "SELECT current_setting('TimeZone')");
        assert_string_equal(a.text, "UTC");
}

/* Two blobs of one row are both valid at once. */
static int two_blobs_body(lk_db *db, void *arg, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT $1::bytea, $2::bytea, 'plain text'", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_blob(st, 1, "\x01\x02\x03", 3);
        lk_stmt_bind_blob(st, 2, "\x00\xff", 2);
        assert_int_equal(lk_stmt_step(st, err), 1);
        size_t a_len, b_len, c_len;
        const void *a = lk_stmt_blob(st, 0, &a_len);
        const void *b = lk_stmt_blob(st, 1, &b_len);
        const void *c = lk_stmt_blob(st, 2, &c_len);
        assert_int_equal(a_len, 3);
        assert_int_equal(b_len, 2);
        assert_memory_equal(a, "\x01\x02\x03", 3);
        assert_memory_equal(b, "\x00\xff", 2);
        assert_memory_equal(lk_stmt_blob(st, 0, NULL), "\x01\x02\x03", 3);
        assert_int_equal(c_len, 10); /* not a bytea: its bytes as they are */
        assert_memory_equal(c, "plain text", 10);
        assert_int_equal(lk_stmt_step(st, err), 0);
        lk_stmt_done(st);
        return 0;
}

static void blobs_of_one_row(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_read(f->store, two_blobs_body, NULL, &err), 0);
}

/* ---- rows and changes ---- */

static int returning_body(lk_db *db, void *arg, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO items (name) VALUES ($1) RETURNING id, name", &st, err);
        if (r < 0)
                return r;
        for (int i = 0; i < 3; i++) {
                char name[16];
                snprintf(name, sizeof name, "item%d", i);
                lk_stmt_bind_text(st, 1, name, SIZE_MAX);
                assert_int_equal(lk_stmt_step(st, err), 1);
                assert_int_equal(lk_stmt_int64(st, 0), i + 1);
                assert_string_equal(lk_stmt_text(st, 1, NULL), name);
                assert_int_equal(lk_stmt_changes(st), 1);
                assert_int_equal(lk_stmt_step(st, err), 0);
                lk_stmt_done(st);
                if (i < 2)
                        assert_int_equal(lk_db_prepare(db, "INSERT INTO items (name) VALUES ($1) RETURNING id, name",
                                                       &st, err), 0);
        }

        assert_int_equal(lk_db_prepare(db, "UPDATE items SET n = n + 1 WHERE id >= $1 RETURNING id", &st, err), 0);
        lk_stmt_bind_int64(st, 1, 2);
        int rows = 0;
        while ((r = lk_stmt_step(st, err)) == 1)
                rows++;
        assert_int_equal(r, 0);
        assert_int_equal(rows, 2);
        assert_int_equal(lk_stmt_changes(st), 2);
        lk_stmt_done(st);

        assert_int_equal(lk_db_prepare(db, "UPDATE items SET n = 7", &st, err), 0);
        assert_int_equal(lk_stmt_run(st, err), 0);
        assert_int_equal(lk_stmt_changes(st), 3);
        lk_stmt_done(st);

        assert_int_equal(lk_db_prepare(db, "DELETE FROM items WHERE id > $1", &st, err), 0);
        lk_stmt_bind_int64(st, 1, 100);
        assert_int_equal(lk_stmt_run(st, err), 0);
        assert_int_equal(lk_stmt_changes(st), 0);
        lk_stmt_done(st);

        /* A SELECT changes nothing, however many rows it returns. */
        assert_int_equal(lk_db_prepare(db, "SELECT id FROM items", &st, err), 0);
        assert_int_equal(lk_stmt_run(st, err), 0);
        assert_int_equal(lk_stmt_changes(st), 0);
        lk_stmt_done(st);
        return 0;
}

static void returning_and_changes(void **state) {
        fixture *f = *state;
        exec_sql(f, "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, n int NOT NULL DEFAULT 0)");
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_tx(f->store, returning_body, NULL, &err), 0);
        assert_int_equal(query(f, "SELECT sum(n) FROM items").value, 21);
}

#define MANY 2000

static int insert_many_body(lk_db *db, void *arg, lk_err *err) {
        for (int i = 0; i < MANY; i++) {
                lk_stmt *st;
                int r = lk_db_prepare(db, "INSERT INTO many (k, v) VALUES ($1, $2)", &st, err);
                if (r < 0)
                        return r;
                lk_stmt_bind_int64(st, 1, i);
                lk_stmt_bind_text(st, 2, "value", SIZE_MAX);
                r = lk_stmt_run(st, err);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_many_body(lk_db *db, void *arg, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT k, v FROM many ORDER BY k", &st, err);
        if (r < 0)
                return r;
        int64_t n = 0;
        while ((r = lk_stmt_step(st, err)) == 1) {
                assert_int_equal(lk_stmt_int64(st, 0), n);
                assert_string_equal(lk_stmt_text(st, 1, NULL), "value");
                n++;
        }
        lk_stmt_done(st);
        assert_int_equal(n, MANY);
        /* And a result far larger than anything inserted. */
        assert_int_equal(lk_db_prepare(db, "SELECT g FROM generate_series(1, 200000) g", &st, err), 0);
        int64_t sum = 0;
        n = 0;
        while ((r = lk_stmt_step(st, err)) == 1) {
                sum += lk_stmt_int64(st, 0);
                n++;
        }
        lk_stmt_done(st);
        assert_int_equal(n, 200000);
        assert_int_equal(sum, (int64_t)200000 * 200001 / 2);
        return r;
}

static void many_rows(void **state) {
        fixture *f = *state;
        exec_sql(f, "CREATE TABLE many (k bigint PRIMARY KEY, v text)");
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_tx(f->store, insert_many_body, NULL, &err), 0);
        assert_int_equal(lk_store_read(f->store, read_many_body, NULL, &err), 0);
}

/* More distinct statements than the per-connection cache holds: evicted
 * ones are deallocated on the server, and none of the names collide. */
static int many_statements_body(lk_db *db, void *arg, lk_err *err) {
        for (int i = 0; i < 150; i++) {
                char sql[64];
                snprintf(sql, sizeof sql, "SELECT %d + $1::int", i);
                lk_stmt *st;
                int r = lk_db_prepare(db, sql, &st, err);
                if (r < 0)
                        return r;
                lk_stmt_bind_int64(st, 1, 1000);
                assert_int_equal(lk_stmt_step(st, err), 1);
                assert_int_equal(lk_stmt_int64(st, 0), i + 1000);
                lk_stmt_done(st);
        }
        int64_t *prepared = arg;
        *prepared = query_int(db, "SELECT count(*) FROM pg_prepared_statements");
        return 0;
}

static void statement_cache_deallocates(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        int64_t prepared = 0;
        assert_int_equal(lk_store_tx(f->store, many_statements_body, &prepared, &err), 0);
        assert_true(prepared > 0);
        assert_true(prepared <= 65); /* the cache's 64, plus the count itself */
}

/* ---- error mapping ---- */

static void duplicate_key_is_eexist(void **state) {
        fixture *f = *state;
        exec_sql(f, "CREATE TABLE u (k text PRIMARY KEY); INSERT INTO u VALUES ('a')");
        lk_err err = LK_ERR_INIT;
        assert_int_equal(run_sql(f, "INSERT INTO u VALUES ('a')", &err), -EEXIST);
        assert_non_null(strstr(err.msg, "duplicate key"));
        assert_null(strchr(err.msg, '\n'));
        /* The failed transaction was rolled back; the store goes on. */
        exec_sql(f, "INSERT INTO u VALUES ('b')");
        assert_int_equal(query(f, "SELECT count(*) FROM u").value, 2);
}

static int prepare_body(lk_db *db, void *arg, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, arg, &st, err);
        if (r < 0)
                return r;
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

static int param_count_body(lk_db *db, void *arg, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT $1::int + $2::int", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, 1);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

static void bad_sql_is_einval(void **state) {
        fixture *f = *state;
        exec_sql(f, "CREATE TABLE c (k int PRIMARY KEY CHECK (k > 0), parent int REFERENCES c (k), "
                    "name text NOT NULL DEFAULT 'x')");
        static const char *const bad[] = {
                "SELEC 1",                            /* 42601 syntax */
                "SELECT nosuch FROM c",               /* 42703 undefined column */
                "SELECT * FROM nosuch",               /* 42P01 undefined table */
                "SELECT 1 / 0",                       /* 22012 division by zero */
                "SELECT 'abc'::int",                  /* 22P02 invalid text */
                "INSERT INTO c (k) VALUES (-1)",      /* 23514 check */
                "INSERT INTO c (k, parent) VALUES (1, 99)", /* 23503 foreign key */
                "INSERT INTO c (k, name) VALUES (1, NULL)", /* 23502 not null */
                "SELECT 1; SELECT 2",                 /* two statements to prepare */
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                lk_err err = LK_ERR_INIT;
                int r = lk_store_tx(f->store, prepare_body, (void *)bad[i], &err);
                if (r != -EINVAL)
                        fail_msg("%s: %d (%s), expected -EINVAL", bad[i], r, err.msg);
                assert_true(strlen(err.msg) > 0);
        }
        lk_err err = LK_ERR_INIT;
        assert_int_equal(run_sql(f, "CREATE TABLE", &err), -EINVAL);
        /* A script stops at its first error and reports it. */
        assert_int_equal(run_sql(f, "CREATE TABLE d (k int); SELECT 1/0; CREATE TABLE e (k int)", &err), -EINVAL);
        assert_int_equal(query(f, "SELECT count(*) FROM pg_tables WHERE tablename IN ('d', 'e')").value, 0);
        assert_int_equal(lk_store_tx(f->store, param_count_body, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "2 parameters, 1 given"));
        /* None of that cost a connection: the pool still works. */
        assert_int_equal(query(f, "SELECT 42").value, 42);
}

static void read_only_transaction_refuses_writes(void **state) {
        fixture *f = *state;
        exec_sql(f, "CREATE TABLE w (k int)");
        lk_err err = LK_ERR_INIT;
        int r = lk_store_read(f->store, lktest_exec_body, "INSERT INTO w VALUES (1)", &err);
        assert_true(r < 0);
        assert_non_null(strstr(err.msg, "read-only"));
        assert_int_equal(query(f, "SELECT count(*) FROM w").value, 0);
}

static void statement_timeout_is_etimedout(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        lk_usec started = lk_now_monotonic();
        int r = lk_store_tx(f->store, prepare_body, "SELECT pg_sleep(5)", &err);
        lk_usec took = lk_now_monotonic() - started;
        assert_int_equal(r, -ETIMEDOUT);
        assert_true(took < 3 * SEC);
        assert_non_null(strstr(err.msg, "statement timeout"));
        assert_int_equal(query(f, "SELECT 1").value, 1);
}

static void lock_timeout_is_etimedout(void **state) {
        fixture *f = *state;
        exec_sql(f, "CREATE TABLE l (k int PRIMARY KEY, v int); INSERT INTO l VALUES (1, 0)");
        PGconn *holder = side_connection(f->url);
        side_exec(holder, "BEGIN");
        side_exec(holder, "SELECT * FROM l WHERE k = 1 FOR UPDATE");
        lk_err err = LK_ERR_INIT;
        lk_usec started = lk_now_monotonic();
        int r = run_sql(f, "UPDATE l SET v = 1 WHERE k = 1", &err);
        lk_usec took = lk_now_monotonic() - started;
        side_exec(holder, "ROLLBACK");
        PQfinish(holder);
        assert_int_equal(r, -ETIMEDOUT);
        assert_true(took < 3 * SEC);
        assert_non_null(strstr(err.msg, "lock timeout"));
        exec_sql(f, "UPDATE l SET v = 1 WHERE k = 1");
}

/* Two writers whose serializable transactions each read what the other
 * writes: PostgreSQL fails one (40001), the store retries it, and both
 * commit, one after the other. */
typedef struct skew {
        lk_store *store;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        int waiting;
        atomic_int attempts;
        int result;
        lk_err err;
} skew;

/* Both threads' first attempts meet here after reading and before
 * writing; bounded so that a failure cannot hang the test. */
static void meet(skew *s) {
        pthread_mutex_lock(&s->lock);
        s->waiting++;
        pthread_cond_broadcast(&s->changed);
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 10;
        while (s->waiting < 2)
                if (pthread_cond_timedwait(&s->changed, &s->lock, &deadline) != 0)
                        break;
        pthread_mutex_unlock(&s->lock);
}

typedef struct writer {
        skew *skew;
        int attempts;
        int result;
        lk_err err;
} writer;

static int skew_body(lk_db *db, void *arg, lk_err *err) {
        writer *w = arg;
        w->attempts++;
        atomic_fetch_add(&w->skew->attempts, 1);
        int r = lk_db_exec(db, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", err);
        if (r < 0)
                return r;
        lk_stmt *st;
        r = lk_db_prepare(db, "SELECT count(*) FROM ledger", &st, err);
        if (r < 0)
                return r;
        r = lk_stmt_step(st, err);
        int64_t seen = r == 1 ? lk_stmt_int64(st, 0) : -1;
        lk_stmt_done(st);
        if (r < 0)
                return r;
        if (w->attempts == 1)
                meet(w->skew);
        r = lk_db_prepare(db, "INSERT INTO ledger (seen) VALUES ($1)", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, seen);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

static void *skew_thread(void *arg) {
        writer *w = arg;
        w->result = lk_store_tx(w->skew->store, skew_body, w, &w->err);
        return NULL;
}

static void serialization_failure_is_retried(void **state) {
        fixture *f = *state;
        exec_sql(f, "CREATE TABLE ledger (id serial PRIMARY KEY, seen bigint NOT NULL)");
        skew s = {.store = f->store};
        pthread_mutex_init(&s.lock, NULL);
        pthread_cond_init(&s.changed, NULL);
        writer w[2] = {{.skew = &s}, {.skew = &s}};
        pthread_t threads[2];
        for (int i = 0; i < 2; i++)
                assert_int_equal(pthread_create(&threads[i], NULL, skew_thread, &w[i]), 0);
        for (int i = 0; i < 2; i++)
                pthread_join(threads[i], NULL);
        pthread_cond_destroy(&s.changed);
        pthread_mutex_destroy(&s.lock);
        for (int i = 0; i < 2; i++)
                if (w[i].result != 0)
                        fail_msg("writer %d: %d (%s)", i, w[i].result, w[i].err.msg);
        /* At least one -EAGAIN was taken and retried ... */
        assert_true(atomic_load(&s.attempts) >= 3);
        /* ... so the two ran as if one after the other. */
        assert_int_equal(query(f, "SELECT count(*) FROM ledger").value, 2);
        assert_int_equal(query(f, "SELECT min(seen) * 10 + max(seen) FROM ledger").value, 1);
}

/* ---- connecting ---- */

static void wrong_password_is_eacces(void **state) {
        fixture *f = *state;
        char *password = password_of(f->url);
        char *wrong = lk_asprintf(":Wr0ngPassw0rd%s@", password);
        char *needle = lk_asprintf(":%s@", password);
        char *url = replace(f->url, needle, wrong);
        lk_err err = LK_ERR_INIT;
        int r;
        lk_store *store = open_store(url, &f->cfg, &r, &err);
        assert_int_equal(r, -EACCES);
        assert_non_null(strstr(err.msg, "password authentication failed"));
        assert_null(strstr(err.msg, "Wr0ngPassw0rd"));
        assert_null(strstr(err.msg, password));
        assert_null(strstr(err.msg, "28P01")); /* the SQLSTATE was for us, not the reader */
        assert_null(strstr(err.msg, "LOCATION"));
        assert_null(strstr(lk_store_display_url(store), "Wr0ngPassw0rd"));
        lk_store_free(store);
        lk_free(url);
        lk_free(needle);
        lk_free(wrong);
        lk_free(password);
}

static void missing_database_is_enoent(void **state) {
        fixture *f = *state;
        char *url = replace(f->url, "/lktest_", "/lktest_nosuch_");
        lk_err err = LK_ERR_INIT;
        int r;
        lk_store *store = open_store(url, &f->cfg, &r, &err);
        assert_int_equal(r, -ENOENT);
        assert_non_null(strstr(err.msg, "does not exist"));
        char *password = password_of(f->url);
        assert_null(strstr(err.msg, password));
        lk_free(password);
        lk_store_free(store);
        lk_free(url);
}

/* The URL of the test database, its host (the socket directory) moved to
 * dir. */
static char *url_in(const fixture *f, const char *dir) {
        const char *host = strstr(f->url, "host=");
        assert_non_null(host);
        host += strlen("host=");
        size_t len = strcspn(host, "&");
        return lk_asprintf("%.*s%s%s", (int)(host - f->url), f->url, dir, host + len);
}

static void no_server_is_enotconn(void **state) {
        fixture *f = *state;
        char *dir = lktest_tmpdir();
        char *url = url_in(f, dir);
        lk_err err = LK_ERR_INIT;
        int r;
        lk_usec started = lk_now_monotonic();
        lk_store *store = open_store(url, &f->cfg, &r, &err);
        lk_usec took = lk_now_monotonic() - started;
        assert_int_equal(r, -ENOTCONN);
        assert_true(took < SEC);
        assert_non_null(strstr(err.msg, dir));
        char *password = password_of(f->url);
        assert_null(strstr(err.msg, password));
        lk_free(password);
        lk_store_free(store);
        lk_free(url);
        lktest_rmrf(dir);
}

/* A socket that accepts connections into its backlog and never answers:
 * connecting gives up after connect_timeout (2 s, libpq's minimum, since
 * both timeouts are shorter). */
static void silent_server_is_etimedout(void **state) {
        fixture *f = *state;
        char *dir = lktest_tmpdir();
        const char *port = strstr(f->url, "port=") + strlen("port=");
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        snprintf(addr.sun_path, sizeof addr.sun_path, "%s/.s.PGSQL.%d", dir, atoi(port));
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
        assert_int_equal(listen(fd, 8), 0);
        lk_config cfg;
        lk_config_init(&cfg);
        cfg.database.default_query_timeout = 100 * MSEC;
        cfg.database.default_lock_timeout = 100 * MSEC;
        assert_int_equal(lk_config_finish(&cfg, NULL), 0);
        char *url = url_in(f, dir);
        lk_err err = LK_ERR_INIT;
        int r;
        lk_usec started = lk_now_monotonic();
        lk_store *store = open_store(url, &cfg, &r, &err);
        lk_usec took = lk_now_monotonic() - started;
        assert_int_equal(r, -ETIMEDOUT);
        assert_true(took >= 1900 * MSEC);
        assert_true(took < 5 * SEC);
        lk_store_free(store);
        lk_config_done(&cfg);
        close(fd);
        lk_free(url);
        lktest_rmrf(dir);
}

static void bad_url_hides_password(void **state) {
        fixture *f = *state;
        /* A malformed percent-escape: libpq quotes the token, which here is
         * the password. */
        lk_config *cfg = &f->cfg;
        lk_store *store;
        lk_err err = LK_ERR_INIT;
        const char *url = "postgresql://linkd:se%zzcret@/linkd?host=/nonexistent";
        assert_int_equal(lk_store_new(&(lk_store_options){.url = url, .config = cfg}, &store, &err), 0);
        assert_int_equal(lk_store_open(store, &err), -EINVAL);
        assert_null(strstr(err.msg, "se%zzcret"));
        assert_non_null(strstr(err.msg, "xxxxx"));
        lk_store_free(store);
        url = "postgresql:///linkd?host=/nonexistent&password=p%zzw&user=linkd";
        assert_int_equal(lk_store_new(&(lk_store_options){.url = url, .config = cfg}, &store, &err), 0);
        assert_int_equal(lk_store_open(store, &err), -EINVAL);
        assert_null(strstr(err.msg, "p%zzw"));
        lk_store_free(store);
}

static void display_url_hides_password(void **state) {
        fixture *f = *state;
        char *password = password_of(f->url);
        const char *shown = lk_store_display_url(f->store);
        assert_null(strstr(shown, password));
        assert_non_null(strstr(shown, "postgresql://linkd:xxxxx@/lktest_"));
        assert_int_equal(lk_store_backend_of(f->store), LK_STORE_POSTGRES);

        /* The password as a query parameter, and the postgres:// scheme. */
        char *needle = lk_asprintf("postgresql://linkd:%s@", password);
        char *url = replace(f->url, needle, "postgres://@");
        char *with_param = lk_asprintf("%s&user=linkd&password=%s&application_name=custom", url, password);
        lk_err err = LK_ERR_INIT;
        int r;
        lk_store *store = open_store(with_param, &f->cfg, &r, &err);
        if (r < 0)
                fail_msg("%s", err.msg);
        assert_null(strstr(lk_store_display_url(store), password));
        assert_non_null(strstr(lk_store_display_url(store), "password=xxxxx"));
        /* The URL's own application_name wins over linkd's default. */
        query_args a = {.sql = "SELECT current_setting('application_name')"};
        assert_int_equal(lk_store_read(store, query_body, &a, &err), 0);
        assert_string_equal(a.text, "custom");
        lk_store_close(store);
        lk_store_free(store);
        lk_free(with_param);
        lk_free(url);
        lk_free(needle);
        lk_free(password);
}

static void session_settings_follow_config(void **state) {
        fixture *f = *state;
        assert_string_equal(query(f, "SELECT current_setting('application_name')").text, "linkd");
        assert_string_equal(query(f, "SELECT current_setting('statement_timeout')").text, "10s");
        assert_string_equal(query(f, "SELECT current_setting('lock_timeout')").text, "15s");
        assert_string_equal(query(f, "SELECT current_setting('idle_in_transaction_session_timeout')").text, "1h");
        assert_string_equal(query(f, "SELECT current_setting('bytea_output')").text, "hex");
        assert_string_equal(query(f, "SELECT current_setting('client_encoding')").text, "UTF8");
}

/* ---- connections the server kills ---- */

static void terminate(const fixture *f, int64_t pid) {
        PGconn *admin = side_connection(f->url);
        char sql[96];
        /* With a timeout, pg_terminate_backend waits for the backend to be
         * gone, so the next use of its connection finds it dead. */
        snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld, 5000)", (long long)pid);
        side_exec(admin, sql);
        PQfinish(admin);
}

typedef struct killed {
        const fixture *f;
        int calls;
        int64_t pids[4];
        int failure; /* what the query after the kill returned */
        bool always;
} killed;

/* Kills its own connection from outside, then uses it. */
static int killed_body(lk_db *db, void *arg, lk_err *err) {
        killed *k = arg;
        int64_t pid = query_int(db, "SELECT pg_backend_pid()");
        k->pids[k->calls++] = pid;
        if (k->calls > 1 && !k->always)
                return 0;
        terminate(k->f, pid);
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT pg_backend_pid()", &st, err);
        if (r == 0) {
                r = lk_stmt_step(st, err);
                lk_stmt_done(st);
        }
        k->failure = r;
        return r < 0 ? r : 0;
}

static void killed_connection_is_enotconn(void **state) {
        fixture *f = *state;
        /* Killed every time: the store tries a fresh connection once, then
         * reports -ENOTCONN. */
        killed k = {.f = f, .always = true};
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_tx(f->store, killed_body, &k, &err), -ENOTCONN);
        assert_int_equal(k.failure, -ENOTCONN);
        assert_int_equal(k.calls, 2);
        assert_true(k.pids[0] != k.pids[1]);
        assert_true(strlen(err.msg) > 0);

        /* Killed once: the retry on a fresh connection commits. */
        k = (killed){.f = f};
        assert_int_equal(lk_store_tx(f->store, killed_body, &k, &err), 0);
        assert_int_equal(k.failure, -ENOTCONN);
        assert_int_equal(k.calls, 2);
        assert_true(k.pids[0] != k.pids[1]);

        /* And the next transaction works. */
        assert_int_equal(query(f, "SELECT 7").value, 7);
}

static int pid_body(lk_db *db, void *arg, lk_err *err) {
        *(int64_t *)arg = query_int(db, "SELECT pg_backend_pid()");
        return 0;
}

/* A pooled connection killed while idle: the next transaction notices at
 * BEGIN and runs on a fresh one. */
static void idle_connection_killed(void **state) {
        fixture *f = *state;
        int64_t before = 0, after = 0;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_tx(f->store, pid_body, &before, &err), 0);
        terminate(f, before);
        assert_int_equal(lk_store_tx(f->store, pid_body, &after, &err), 0);
        assert_true(after != 0 && after != before);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(int64_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(double_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(bool_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(text_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(blob_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(time_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(times_read_in_utc, setup, teardown),
                cmocka_unit_test_setup_teardown(blobs_of_one_row, setup, teardown),
                cmocka_unit_test_setup_teardown(returning_and_changes, setup, teardown),
                cmocka_unit_test_setup_teardown(many_rows, setup, teardown),
                cmocka_unit_test_setup_teardown(statement_cache_deallocates, setup, teardown),
                cmocka_unit_test_setup_teardown(duplicate_key_is_eexist, setup, teardown),
                cmocka_unit_test_setup_teardown(bad_sql_is_einval, setup, teardown),
                cmocka_unit_test_setup_teardown(read_only_transaction_refuses_writes, setup, teardown),
                cmocka_unit_test_setup_teardown(statement_timeout_is_etimedout, setup_short_query, teardown),
                cmocka_unit_test_setup_teardown(lock_timeout_is_etimedout, setup_short_lock, teardown),
                cmocka_unit_test_setup_teardown(serialization_failure_is_retried, setup, teardown),
                cmocka_unit_test_setup_teardown(wrong_password_is_eacces, setup, teardown),
                cmocka_unit_test_setup_teardown(missing_database_is_enoent, setup, teardown),
                cmocka_unit_test_setup_teardown(no_server_is_enotconn, setup, teardown),
                cmocka_unit_test_setup_teardown(silent_server_is_etimedout, setup, teardown),
                cmocka_unit_test_setup_teardown(bad_url_hides_password, setup, teardown),
                cmocka_unit_test_setup_teardown(display_url_hides_password, setup, teardown),
                cmocka_unit_test_setup_teardown(session_settings_follow_config, setup, teardown),
                cmocka_unit_test_setup_teardown(killed_connection_is_enotconn, setup, teardown),
                cmocka_unit_test_setup_teardown(idle_connection_killed, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
