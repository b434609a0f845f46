/* The store core: URLs, the connection pool, transactions with retries,
 * statements and their parameters (see include/linkd/store.h). */
#include "linkd/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "store.h"

#define TX_ATTEMPTS 12
#define STMT_CACHE 64

struct lk_stmt {
        lk_db *db;
        lk__stmt *inner;
        char *sql;
        lk__value *params;
        int param_count, param_cap;
        bool executed;
        bool in_use;
        int last;     /* last step result */
};

struct lk_db {
        lk_store *store;
        lk__conn *conn;
        lk_stmt *cache[STMT_CACHE];
        size_t cached;
        bool broken; /* the connection is gone: drop it instead of pooling it */
};

/* ---- URLs ---- */

static bool has_prefix(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Replaces the password of a postgresql:// URL (user:PASSWORD@ or
 * password=... in the query) with xxxxx. */
static char *redact(const char *url) {
        lk_buf out = LK_BUF_INIT;
        const char *scheme_end = strstr(url, "://");
        const char *rest = scheme_end ? scheme_end + 3 : url;
        const char *at = strchr(rest, '@');
        const char *slash = strchr(rest, '/');
        if (at && (!slash || at < slash)) {
                const char *colon = memchr(rest, ':', (size_t)(at - rest));
                if (colon) {
                        lk_buf_append(&out, url, (size_t)(colon + 1 - url));
                        lk_buf_puts(&out, "xxxxx");
                        url = at;
                }
        }
        for (const char *p = url; *p;) {
                const char *hit = strstr(p, "password=");
                if (!hit) {
                        lk_buf_puts(&out, p);
                        break;
                }
                hit += strlen("password=");
                lk_buf_append(&out, p, (size_t)(hit - p));
                lk_buf_puts(&out, "xxxxx");
                p = hit + strcspn(hit, "&");
        }
        return lk_buf_steal(&out, NULL);
}

static int parse_url(lk_store *s, const char *url, lk_err *err) {
        if (!url || !*url) {
                s->backend = &lk__sqlite_backend;
                s->kind = LK_STORE_SQLITE;
                s->target = lk_asprintf("%s/linkd.db", s->cfg->root_dir);
                s->display = lk_asprintf("sqlite://%s", s->target);
                return 0;
        }
        if (has_prefix(url, "sqlite:")) {
                const char *path = url + strlen("sqlite:");
                if (has_prefix(path, "//"))
                        path += 2;
                if (!*path || strchr(path, '?'))
                        return lk_err_set(err, -EINVAL, "Database.URL: \"%s\" does not name a file "
                                          "(use sqlite:///absolute/path.db or sqlite:relative/path.db)", url);
                s->backend = &lk__sqlite_backend;
                s->kind = LK_STORE_SQLITE;
                s->target = lk_strdup(path);
                s->display = lk_strdup(url);
                return 0;
        }
        if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
                s->backend = &lk__postgres_backend;
                s->kind = LK_STORE_POSTGRES;
                s->target = lk_strdup(url);
                s->display = redact(url);
                return 0;
        }
        char *shown = redact(url);
        lk_err_set(err, -EINVAL, "Database.URL: unsupported scheme in \"%s\" (use sqlite: or postgresql:)", shown);
        lk_free(shown);
        return -EINVAL;
}

char *lk_store_network_hosts(const lk_store *s) {
        return s->kind == LK_STORE_POSTGRES ? lk__postgres_network_hosts(s->target) : NULL;
}

/* ---- the pool ---- */

static int pool_get(lk_store *s, lk_db **ret, lk_err *err) {
        pthread_mutex_lock(&s->pool_lock);
        lk_usec wait = s->cfg->database.default_query_timeout ? s->cfg->database.default_query_timeout
                                                              : 10 * LK_USEC_PER_SEC;
        struct timespec deadline = lk_deadline_after(wait);
        for (;;) {
                if (!s->opened) {
                        pthread_mutex_unlock(&s->pool_lock);
                        return lk_err_set(err, -ENOTCONN, "%s is not open", s->display);
                }
                if (s->idle_count > 0) {
                        *ret = s->idle[--s->idle_count];
                        pthread_mutex_unlock(&s->pool_lock);
                        return 0;
                }
                if (s->open_count < s->max_open) {
                        s->open_count++;
                        pthread_mutex_unlock(&s->pool_lock);
                        lk__conn *conn;
                        int r = s->backend->connect(s->target, s->cfg, &conn, err);
                        if (r < 0) {
                                pthread_mutex_lock(&s->pool_lock);
                                s->open_count--;
                                pthread_cond_signal(&s->pool_changed);
                                pthread_mutex_unlock(&s->pool_lock);
                                return r;
                        }
                        lk_db *db = lk_calloc(1, sizeof *db);
                        db->store = s;
                        db->conn = conn;
                        *ret = db;
                        return 0;
                }
                if (pthread_cond_timedwait(&s->pool_changed, &s->pool_lock, &deadline) == ETIMEDOUT) {
                        pthread_mutex_unlock(&s->pool_lock);
                        return lk_err_set(err, -ETIMEDOUT, "no free database connection within %lld ms "
                                          "(Database.MaxOpenConns = %d)", (long long)(wait / 1000), s->max_open);
                }
        }
}

static void db_destroy(lk_db *db) {
        for (size_t i = 0; i < db->cached; i++) {
                lk_stmt *st = db->cache[i];
                db->store->backend->finalize(st->inner);
                for (int p = 0; p < st->param_cap; p++)
                        lk_free(st->params[p].data);
                lk_free(st->params);
                lk_free(st->sql);
                lk_free(st);
        }
        db->store->backend->disconnect(db->conn);
        lk_free(db);
}

static void pool_put(lk_store *s, lk_db *db) {
        pthread_mutex_lock(&s->pool_lock);
        bool keep = !db->broken && s->opened && s->idle_count < (size_t)s->max_idle;
        if (keep)
                s->idle[s->idle_count++] = db;
        else
                s->open_count--;
        pthread_cond_signal(&s->pool_changed);
        pthread_mutex_unlock(&s->pool_lock);
        if (!keep)
                db_destroy(db);
}

int lk__db_dedicated(lk_store *s, lk_db **ret, lk_err *err) {
        lk__conn *conn;
        int r = s->backend->connect(s->target, s->cfg, &conn, err);
        if (r < 0)
                return r;
        lk_db *db = lk_calloc(1, sizeof *db);
        db->store = s;
        db->conn = conn;
        *ret = db;
        return 0;
}

void lk__db_free(lk_db *db) {
        if (db)
                db_destroy(db);
}

/* ---- statements ---- */

int lk_db_prepare(lk_db *db, const char *sql, lk_stmt **ret, lk_err *err) {
        for (size_t i = 0; i < db->cached; i++) {
                lk_stmt *st = db->cache[i];
                if (!st->in_use && strcmp(st->sql, sql) == 0) {
                        st->in_use = true;
                        *ret = st;
                        return 0;
                }
        }
        lk__stmt *inner;
        int r = db->store->backend->prepare(db->conn, sql, &inner, err);
        if (r < 0) {
                if (r == -ENOTCONN)
                        db->broken = true;
                return r;
        }
        lk_stmt *st = lk_calloc(1, sizeof *st);
        st->db = db;
        st->inner = inner;
        st->sql = lk_strdup(sql);
        st->in_use = true;
        if (db->cached == STMT_CACHE) {
                /* Evict the oldest statement nobody holds. */
                for (size_t i = 0; i < db->cached; i++) {
                        lk_stmt *old = db->cache[i];
                        if (old->in_use)
                                continue;
                        db->store->backend->finalize(old->inner);
                        for (int p = 0; p < old->param_cap; p++)
                                lk_free(old->params[p].data);
                        lk_free(old->params);
                        lk_free(old->sql);
                        lk_free(old);
                        memmove(&db->cache[i], &db->cache[i + 1], (db->cached - i - 1) * sizeof db->cache[0]);
                        db->cached--;
                        break;
                }
        }
        if (db->cached < STMT_CACHE) {
                db->cache[db->cached++] = st;
        } else {
                /* Every cached statement is in use at once: this one lives
                 * outside the cache and is freed by lk_stmt_done. */
                st->db = db;
        }
        *ret = st;
        return 0;
}

static bool cached(const lk_stmt *st) {
        for (size_t i = 0; i < st->db->cached; i++)
                if (st->db->cache[i] == st)
                        return true;
        return false;
}

void lk_stmt_done(lk_stmt *st) {
        if (!st)
                return;
        st->db->store->backend->reset(st->inner);
        for (int p = 0; p < st->param_count; p++) {
                lk_freep(&st->params[p].data);
                st->params[p].type = LK__NULL;
        }
        st->param_count = 0;
        st->executed = false;
        st->in_use = false;
        if (!cached(st)) {
                st->db->store->backend->finalize(st->inner);
                lk_free(st->params);
                lk_free(st->sql);
                lk_free(st);
        }
}

static lk__value *param(lk_stmt *st, int index) {
        if (index < 1 || index > 65535)
                index = 1; /* programming error; the backend reports the count mismatch */
        if (index > st->param_cap) {
                int cap = st->param_cap ? st->param_cap : 8;
                while (cap < index)
                        cap *= 2;
                st->params = lk_realloc(st->params, (size_t)cap * sizeof *st->params);
                memset(st->params + st->param_cap, 0, (size_t)(cap - st->param_cap) * sizeof *st->params);
                st->param_cap = cap;
        }
        if (index > st->param_count)
                st->param_count = index;
        lk__value *v = &st->params[index - 1];
        lk_freep(&v->data);
        return v;
}

void lk_stmt_bind_null(lk_stmt *st, int index) {
        param(st, index)->type = LK__NULL;
}

void lk_stmt_bind_int64(lk_stmt *st, int index, int64_t value) {
        lk__value *v = param(st, index);
        v->type = LK__INT64;
        v->i = value;
}

void lk_stmt_bind_double(lk_stmt *st, int index, double value) {
        lk__value *v = param(st, index);
        v->type = LK__DOUBLE;
        v->d = value;
}

void lk_stmt_bind_bool(lk_stmt *st, int index, bool value) {
        lk__value *v = param(st, index);
        v->type = LK__BOOL;
        v->i = value;
}

void lk_stmt_bind_text(lk_stmt *st, int index, const char *text, size_t len) {
        lk__value *v = param(st, index);
        if (len == SIZE_MAX)
                len = strlen(text);
        v->type = LK__TEXT;
        v->data = lk_strndup(text, len);
        v->len = strlen(v->data);
}

void lk_stmt_bind_blob(lk_stmt *st, int index, const void *data, size_t len) {
        lk__value *v = param(st, index);
        v->type = LK__BLOB;
        v->data = lk_malloc(len ? len : 1);
        if (len)
                memcpy(v->data, data, len);
        v->len = len;
}

void lk_stmt_bind_time(lk_stmt *st, int index, lk_usec realtime) {
        lk__value *v = param(st, index);
        v->type = LK__TIME;
        v->i = realtime;
}

static int note_failure(lk_stmt *st, int r) {
        if (r == -ENOTCONN)
                st->db->broken = true;
        return r;
}

int lk_stmt_step(lk_stmt *st, lk_err *err) {
        const lk__backend *b = st->db->store->backend;
        if (!st->executed) {
                st->executed = true;
                int r = b->execute(st->inner, st->params, st->param_count, err);
                if (r < 0)
                        return st->last = note_failure(st, r);
        }
        int r = b->next_row(st->inner, err);
        return st->last = r < 0 ? note_failure(st, r) : r;
}

int lk_stmt_run(lk_stmt *st, lk_err *err) {
        int r;
        while ((r = lk_stmt_step(st, err)) > 0)
                ;
        return r;
}

int64_t lk_stmt_changes(lk_stmt *st) {
        return st->db->store->backend->changes(st->inner);
}

bool lk_stmt_is_null(lk_stmt *st, int column) {
        return st->db->store->backend->column_null(st->inner, column);
}

int64_t lk_stmt_int64(lk_stmt *st, int column) {
        return st->db->store->backend->column_int64(st->inner, column);
}

double lk_stmt_double(lk_stmt *st, int column) {
        return st->db->store->backend->column_double(st->inner, column);
}

bool lk_stmt_bool(lk_stmt *st, int column) {
        return st->db->store->backend->column_bool(st->inner, column);
}

const char *lk_stmt_text(lk_stmt *st, int column, size_t *ret_len) {
        const char *t = st->db->store->backend->column_text(st->inner, column, ret_len);
        if (!t) {
                if (ret_len)
                        *ret_len = 0;
                return "";
        }
        return t;
}

const void *lk_stmt_blob(lk_stmt *st, int column, size_t *ret_len) {
        return st->db->store->backend->column_blob(st->inner, column, ret_len);
}

lk_usec lk_stmt_time(lk_stmt *st, int column) {
        lk_usec t = 0;
        if (!lk_stmt_is_null(st, column))
                lk__parse_time(lk_stmt_text(st, column, NULL), &t);
        return t;
}

int lk_db_exec(lk_db *db, const char *sql, lk_err *err) {
        int r = db->store->backend->exec(db->conn, sql, err);
        if (r == -ENOTCONN)
                db->broken = true;
        return r;
}

lk_store_backend lk_db_backend(const lk_db *db) {
        return db->store->kind;
}

/* ---- transactions ---- */

/* Backs off 1, 2, 4 ... 256 ms with jitter, so that writers that collided
 * do not collide again in step. */
static void back_off(int attempt) {
        lk_usec base = (lk_usec)1000 << (attempt < 8 ? attempt : 8);
        lk_ctx_sleep(NULL, base / 2 + (lk_usec)(rand() % (int)(base / 2 + 1)));
}

static int run_tx(lk_store *s, const char *begin, lk_tx_fn body, void *arg, lk_err *err) {
        int r = 0;
        for (int attempt = 0; attempt < TX_ATTEMPTS; attempt++) {
                lk_db *db;
                lk_err_clear(err);
                r = pool_get(s, &db, err);
                if (r < 0)
                        return r;
                r = lk_db_exec(db, begin, err);
                if (r == 0) {
                        r = body(db, arg, err);
                        if (r == 0)
                                r = lk_db_exec(db, "COMMIT", err);
                        if (r < 0 && !db->broken)
                                lk_db_exec(db, "ROLLBACK", NULL); /* marks a dead connection broken */
                }
                /* A connection still inside a transaction (its ROLLBACK
                 * failed) would fail every later BEGIN and, on SQLite,
                 * keep the write lock: drop it instead of pooling it. */
                if (!db->broken && db->store->backend->in_transaction(db->conn))
                        db->broken = true;
                for (size_t i = 0; i < db->cached; i++)
                        if (db->cache[i]->in_use) /* the body forgot lk_stmt_done */
                                lk_stmt_done(db->cache[i]);
                pool_put(s, db);
                if (r != -EAGAIN && !(r == -ENOTCONN && attempt == 0))
                        return r;
                back_off(attempt);
        }
        return r;
}

int lk_store_tx(lk_store *s, lk_tx_fn body, void *arg, lk_err *err) {
        return run_tx(s, s->backend->begin_write, body, arg, err);
}

int lk_store_read(lk_store *s, lk_tx_fn body, void *arg, lk_err *err) {
        return run_tx(s, s->backend->begin_read, body, arg, err);
}

/* ---- opening and closing ---- */

int lk_store_open(lk_store *s, lk_err *err) {
        pthread_mutex_lock(&s->pool_lock);
        s->opened = true;
        pthread_mutex_unlock(&s->pool_lock);
        /* Connect once now, so that a bad URL, a wrong password or a file
         * that is not a database is an error at open, not at first use. */
        lk_db *db;
        int r = pool_get(s, &db, err);
        if (r < 0) {
                pthread_mutex_lock(&s->pool_lock);
                s->opened = false;
                pthread_mutex_unlock(&s->pool_lock);
                return r;
        }
        pool_put(s, db);
        return 0;
}

void lk_store_close(lk_store *s) {
        pthread_mutex_lock(&s->pool_lock);
        s->opened = false;
        size_t n = s->idle_count;
        lk_db *idle[LK__POOL_MAX];
        memcpy(idle, s->idle, n * sizeof *idle);
        s->open_count -= (int)n;
        s->idle_count = 0;
        pthread_cond_broadcast(&s->pool_changed);
        pthread_mutex_unlock(&s->pool_lock);
        for (size_t i = 0; i < n; i++)
                db_destroy(idle[i]);
}

int lk_store_new(const lk_store_options *options, lk_store **ret, lk_err *err) {
        lk_store *s = lk_calloc(1, sizeof *s);
        s->cfg = options->config;
        s->log = options->log;
        s->on_lock_lost = options->on_lock_lost;
        s->on_lock_lost_arg = options->on_lock_lost_arg;
        int r = parse_url(s, options->url, err);
        if (r < 0) {
                lk_free(s);
                return r;
        }
        s->max_open = (int)s->cfg->database.max_open_conns;
        s->max_idle = (int)s->cfg->database.max_idle_conns;
        if (s->max_open > LK__POOL_MAX)
                s->max_open = LK__POOL_MAX;
        if (s->max_idle > s->max_open)
                s->max_idle = s->max_open;
        pthread_mutex_init(&s->pool_lock, NULL);
        lk_cond_init_monotonic(&s->pool_changed);
        lk__store_service_init(s);
        *ret = s;
        return 0;
}

lk_store *lk_store_free(lk_store *s) {
        if (!s)
                return NULL;
        lk_store_close(s);
        lk__store_service_done(s);
        pthread_cond_destroy(&s->pool_changed);
        pthread_mutex_destroy(&s->pool_lock);
        lk_free(s->target);
        lk_free(s->display);
        lk_free(s);
        return NULL;
}

lk_store_backend lk_store_backend_of(const lk_store *s) {
        return s->kind;
}

const char *lk_store_display_url(const lk_store *s) {
        return s->display;
}

/* ---- time values ---- */

void lk__format_time(lk_usec usec, char buf[static 40]) {
        time_t secs = (time_t)(usec / LK_USEC_PER_SEC);
        long micros = (long)(usec % LK_USEC_PER_SEC);
        if (micros < 0) {
                secs--;
                micros += LK_USEC_PER_SEC;
        }
        struct tm tm;
        gmtime_r(&secs, &tm);
        size_t n = strftime(buf, 40, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(buf + n, 40 - n, ".%06ld+00:00", micros);
}

int lk__parse_time(const char *text, lk_usec *ret_usec) {
        struct tm tm = {0};
        int consumed = 0;
        if (sscanf(text, "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &tm.tm_sec, &consumed) != 6)
                return -EINVAL;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        const char *p = text + consumed;
        lk_usec micros = 0;
        if (*p == '.') {
                int digits = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                        if (digits < 6)
                                micros = micros * 10 + (*p - '0');
                for (; digits < 6; digits++)
                        micros *= 10;
        }
        long offset = 0;
        if (*p == '+' || *p == '-') {
                int sign = *p == '-' ? -1 : 1, hours = 0, minutes = 0;
                if (sscanf(p + 1, "%2d", &hours) != 1)
                        return -EINVAL;
                p += 3;
                if (*p == ':')
                        p++;
                if (*p >= '0' && *p <= '9')
                        sscanf(p, "%2d", &minutes);
                offset = sign * (hours * 3600L + minutes * 60L);
        }
        time_t secs = timegm(&tm) - offset;
        *ret_usec = (lk_usec)secs * LK_USEC_PER_SEC + micros;
        return 0;
}
