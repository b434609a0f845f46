/* The store as a service: open, take the single-writer lock, migrate,
 * watch the database, report health (see include/linkd/store.h).
 *
 * The lock, by backend and [Database.Lock] Mode:
 *   SQLite      an exclusive flock(2) on the database file; a second node
 *               refuses to start.
 *   'lease'     a one-row table holding a client id and an expiry; the
 *               holder renews it every LeaseRefreshInterval, a standby
 *               tries as often and takes it once it has expired, so a dead
 *               holder is replaced within LeaseDuration.  The database's
 *               clock decides expiry, so the nodes' clocks do not matter.
 *   'advisory'  pg_try_advisory_lock(AdvisoryID) on a connection of its
 *               own, retried every AdvisoryCheckInterval.
 *   'none'      nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/uuid.h"
#include "store.h"

#define MONITOR_INTERVAL (2 * LK_USEC_PER_SEC)

static void set_text(lk_store *s, char **field, const char *text) {
        pthread_mutex_lock(&s->state_lock);
        lk_freep(field);
        if (text)
                *field = lk_strdup(text);
        pthread_mutex_unlock(&s->state_lock);
}

static void set_lock_state(lk_store *s, lk__lock_state state, const char *why) {
        pthread_mutex_lock(&s->state_lock);
        s->lock_state = state;
        lk_freep(&s->lock_error);
        if (why)
                s->lock_error = lk_strdup(why);
        pthread_cond_broadcast(&s->state_changed);
        pthread_mutex_unlock(&s->state_lock);
}

/* Waits up to usec, returning early (true) when the store is stopping or
 * ctx ends. */
static bool wait_or_stop(lk_store *s, lk_ctx *ctx, lk_usec usec) {
        struct timespec deadline = lk_deadline_after(usec < 50 * LK_USEC_PER_MSEC || !ctx ? usec : 50 * LK_USEC_PER_MSEC);
        lk_usec until = lk_now_monotonic() + usec;
        pthread_mutex_lock(&s->state_lock);
        for (;;) {
                if (s->stop || lk_ctx_err(ctx))
                        break;
                if (pthread_cond_timedwait(&s->state_changed, &s->state_lock, &deadline) == ETIMEDOUT) {
                        if (lk_now_monotonic() >= until)
                                break;
                        lk_usec left = until - lk_now_monotonic();
                        deadline = lk_deadline_after(left < 50 * LK_USEC_PER_MSEC ? left : 50 * LK_USEC_PER_MSEC);
                }
        }
        bool ended = s->stop || lk_ctx_err(ctx);
        pthread_mutex_unlock(&s->state_lock);
        return ended;
}

/* ---- SQLite: an exclusive lock on the file ---- */

static int lock_sqlite(lk_store *s, lk_err *err) {
        int fd = open(s->target, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return lk_err_set(err, -errno, "cannot open %s to lock it: %s", s->target, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                close(fd);
                if (e == EWOULDBLOCK)
                        return lk_err_set(err, -EBUSY, "database %s is in use by another linkd process; "
                                          "only one node may use a SQLite database", s->target);
                return lk_err_set(err, -e, "cannot lock %s: %s", s->target, strerror(e));
        }
        s->lock_fd = fd;
        set_lock_state(s, LK__LOCK_HELD, NULL);
        return 0;
}

/* ---- PostgreSQL: a lease ---- */

static void new_client_id(char out[static 37]) {
        if (lk_uuid_v4(out) < 0)
                snprintf(out, 37, "00000000-0000-4000-8000-%012x", (unsigned)getpid()); /* still tells nodes apart */
}

static const char create_lease_table[] =
        "CREATE TABLE IF NOT EXISTS lease_lock ("
        " id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),"
        " client_id uuid NOT NULL,"
        " expires_at timestamptz NOT NULL)";

/* Takes or renews the lease: it is ours if nobody holds it, we hold it,
 * or the holder let it expire.  Returns 1 if we hold it, 0 if not. */
static int try_lease(lk_store *s, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(s->lock_db,
                              "INSERT INTO lease_lock (id, client_id, expires_at)"
                              " VALUES (1, $1::uuid, now() + make_interval(secs => $2::float8))"
                              " ON CONFLICT (id) DO UPDATE SET client_id = EXCLUDED.client_id,"
                              " expires_at = EXCLUDED.expires_at"
                              " WHERE lease_lock.client_id = EXCLUDED.client_id OR lease_lock.expires_at < now()"
                              " RETURNING client_id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, s->client_id, SIZE_MAX);
        lk_stmt_bind_double(st, 2, (double)s->cfg->database.lock.lease_duration / LK_USEC_PER_SEC);
        r = lk_stmt_step(st, err);
        lk_stmt_done(st);
        return r;
}

static int connect_lock_db(lk_store *s, lk_err *err) {
        if (s->lock_db)
                return 0;
        int r = lk__db_dedicated(s, &s->lock_db, err);
        if (r < 0)
                return r;
        /* Two nodes creating the table at once may collide; once is enough. */
        r = lk_db_exec(s->lock_db, create_lease_table, err);
        if (r < 0)
                r = lk_db_exec(s->lock_db, create_lease_table, err);
        if (r < 0) {
                lk__db_free(s->lock_db);
                s->lock_db = NULL;
        }
        return r;
}

static int lock_lease(lk_store *s, lk_ctx *ctx, lk_err *err) {
        new_client_id(s->client_id);
        bool announced = false;
        for (;;) {
                lk_err why = LK_ERR_INIT;
                int r = connect_lock_db(s, &why);
                if (r == 0)
                        r = try_lease(s, &why);
                if (r == 1) {
                        s->lease_renewed = lk_now_monotonic();
                        set_lock_state(s, LK__LOCK_HELD, NULL);
                        lk_log_info(s->log, "Acquired the database lease", LK_STR("client_id", s->client_id),
                                    LK_DURATION("lease", s->cfg->database.lock.lease_duration));
                        return 0;
                }
                if (r < 0 && s->lock_db && r == -ENOTCONN) {
                        lk__db_free(s->lock_db);
                        s->lock_db = NULL;
                }
                set_lock_state(s, LK__LOCK_WAITING, r < 0 ? why.msg : "waiting for lease");
                if (!announced) {
                        lk_log_info(s->log, "Waiting for the database lease: another node holds it",
                                    LK_STR("client_id", s->client_id));
                        announced = true;
                }
                if (wait_or_stop(s, ctx, s->cfg->database.lock.lease_refresh_interval)) {
                        int cause = lk_ctx_err(ctx);
                        return lk_err_set(err, cause ? cause : -ECANCELED, "%s: stopped while waiting for the "
                                          "database lease", LK_STORE_NAME);
                }
        }
}

static void release_lease(lk_store *s) {
        if (!s->lock_db)
                return;
        lk_stmt *st;
        if (lk_db_prepare(s->lock_db, "UPDATE lease_lock SET expires_at = now() WHERE client_id = $1::uuid", &st,
                          NULL) == 0) {
                lk_stmt_bind_text(st, 1, s->client_id, SIZE_MAX);
                lk_stmt_run(st, NULL);
                lk_stmt_done(st);
        }
        lk_log_info(s->log, "Released the database lease", LK_STR("client_id", s->client_id));
}

/* ---- PostgreSQL: an advisory lock ---- */

static int lock_advisory(lk_store *s, lk_ctx *ctx, lk_err *err) {
        bool announced = false;
        for (;;) {
                lk_err why = LK_ERR_INIT;
                int r = s->lock_db ? 0 : lk__db_dedicated(s, &s->lock_db, &why);
                lk_stmt *st = NULL;
                if (r == 0)
                        r = lk_db_prepare(s->lock_db, "SELECT pg_try_advisory_lock($1::bigint)", &st, &why);
                if (r == 0) {
                        lk_stmt_bind_int64(st, 1, s->cfg->database.lock.advisory_id);
                        r = lk_stmt_step(st, &why);
                        if (r == 1 && lk_stmt_bool(st, 0)) {
                                lk_stmt_done(st);
                                set_lock_state(s, LK__LOCK_HELD, NULL);
                                lk_log_info(s->log, "Acquired the database advisory lock",
                                            LK_INT("advisory_id", s->cfg->database.lock.advisory_id));
                                return 0;
                        }
                        lk_stmt_done(st);
                }
                if (r < 0 && s->lock_db) {
                        lk__db_free(s->lock_db);
                        s->lock_db = NULL;
                }
                set_lock_state(s, LK__LOCK_WAITING, r < 0 ? why.msg : "waiting for advisory lock");
                if (!announced) {
                        lk_log_info(s->log, "Waiting for the database advisory lock: another node holds it");
                        announced = true;
                }
                if (wait_or_stop(s, ctx, s->cfg->database.lock.advisory_check_interval)) {
                        int cause = lk_ctx_err(ctx);
                        return lk_err_set(err, cause ? cause : -ECANCELED, "%s: stopped while waiting for the "
                                          "database advisory lock", LK_STORE_NAME);
                }
        }
}

static bool lock_mode(const lk_store *s, const char *mode) {
        return s->kind == LK_STORE_POSTGRES && strcmp(s->cfg->database.lock.mode, mode) == 0;
}

static int take_lock(lk_store *s, lk_ctx *ctx, lk_err *err) {
        if (s->kind == LK_STORE_SQLITE)
                return lock_sqlite(s, err);
        if (lock_mode(s, "lease"))
                return lock_lease(s, ctx, err);
        if (lock_mode(s, "advisory"))
                return lock_advisory(s, ctx, err);
        return 0;
}

static void drop_lock(lk_store *s) {
        if (lock_mode(s, "lease") && s->lock_state == LK__LOCK_HELD)
                release_lease(s);
        lk__db_free(s->lock_db); /* also ends an advisory lock */
        s->lock_db = NULL;
        if (s->lock_fd >= 0) {
                close(s->lock_fd);
                s->lock_fd = -1;
        }
        set_lock_state(s, LK__LOCK_NONE, NULL);
}

/* ---- watching the database ---- */

static int ping_body(lk_db *db, void *arg, lk_err *err) {
        return lk_db_exec(db, "SELECT 1", err);
}

static void check_reachable(lk_store *s) {
        lk_err err = LK_ERR_INIT;
        struct stat st;
        if (s->kind == LK_STORE_SQLITE && stat(s->target, &st) < 0)
                lk_err_set(&err, -errno, "%s: %s", s->target, strerror(errno));
        else
                lk_store_read(s, ping_body, NULL, &err);
        pthread_mutex_lock(&s->state_lock);
        bool was_failing = s->health_error != NULL;
        pthread_mutex_unlock(&s->state_lock);
        set_text(s, &s->health_error, lk_err_is_set(&err) ? err.msg : NULL);
        if (lk_err_is_set(&err) && !was_failing)
                lk_log_error(s->log, "Database unreachable", LK_STR("url", s->display), LK_ERROR(&err));
        else if (!lk_err_is_set(&err) && was_failing)
                lk_log_info(s->log, "Database reachable again", LK_STR("url", s->display));
}

static void lose_lock(lk_store *s, const char *why) {
        set_lock_state(s, LK__LOCK_LOST, why);
        lk_log_crit(s->log, "Lost the database lock: another node may take over, this one must stop",
                    LK_STR("client_id", s->client_id), LK_STR("reason", why));
        /* Refuse new transactions at once. */
        pthread_mutex_lock(&s->pool_lock);
        s->opened = false;
        pthread_mutex_unlock(&s->pool_lock);
        if (s->on_lock_lost)
                s->on_lock_lost(s->on_lock_lost_arg);
}

static void renew_lease(lk_store *s) {
        lk_err err = LK_ERR_INIT;
        int r = connect_lock_db(s, &err);
        if (r == 0)
                r = try_lease(s, &err);
        if (r == 1) {
                s->lease_renewed = lk_now_monotonic();
                return;
        }
        if (r < 0 && s->lock_db && r == -ENOTCONN) {
                lk__db_free(s->lock_db);
                s->lock_db = NULL;
        }
        /* Another node holds it now, or we could not reach the database for
         * a whole lease: either way it may already belong to someone else. */
        if (r == 0)
                lose_lock(s, "another node holds the lease");
        else if (lk_now_monotonic() - s->lease_renewed >= s->cfg->database.lock.lease_duration)
                lose_lock(s, err.msg);
}

static void check_advisory(lk_store *s) {
        lk_err err = LK_ERR_INIT;
        if (lk_db_exec(s->lock_db, "SELECT 1", &err) < 0)
                lose_lock(s, err.msg); /* the session, and with it the lock, is gone */
}

static void *monitor_loop(void *arg) {
        lk_store *s = arg;
        pthread_setname_np(pthread_self(), "lk-store");
        lk_usec interval = lock_mode(s, "lease")      ? s->cfg->database.lock.lease_refresh_interval
                           : lock_mode(s, "advisory") ? s->cfg->database.lock.advisory_check_interval
                                                      : MONITOR_INTERVAL;
        lk_usec last_ping = 0;
        while (!wait_or_stop(s, NULL, interval)) {
                pthread_mutex_lock(&s->state_lock);
                bool held = s->lock_state == LK__LOCK_HELD;
                pthread_mutex_unlock(&s->state_lock);
                if (held && lock_mode(s, "lease"))
                        renew_lease(s);
                else if (held && lock_mode(s, "advisory"))
                        check_advisory(s);
                if (lk_now_monotonic() - last_ping >= MONITOR_INTERVAL) {
                        check_reachable(s);
                        last_ping = lk_now_monotonic();
                }
        }
        return NULL;
}

/* ---- the service ---- */

static int check_version(lk_store *s, lk_err *err) {
        int version;
        int r = lk_store_version(s, &version, err);
        if (r < 0)
                return r;
        int known = lk_store_migrations_known();
        if (version > known)
                return lk_err_set(err, -EPROTO, "database %s is at migration %d, newer than this linkd knows (%d): "
                                  "upgrade linkd or restore a backup", s->display, version, known);
        if (version < known && !s->cfg->database.migrate_on_startup)
                return lk_err_set(err, -EPROTO, "database %s is at migration %d but this linkd needs %d, and "
                                  "Database.MigrateOnStartup is false: run `linkd db migrate`", s->display, version,
                                  known);
        return 0;
}

typedef struct start_args {
        lk_store *store;
        lk_ctx *ctx;
} start_args;

static int start_locked(void *arg, lk_err *err) {
        start_args *a = arg;
        lk_store *s = a->store;
        pthread_mutex_lock(&s->state_lock);
        s->stop = false;
        pthread_mutex_unlock(&s->state_lock);
        int r = lk_store_open(s, err);
        if (r < 0)
                return lk_err_prefix(err, "cannot open database %s", s->display);
        r = take_lock(s, a->ctx, err);
        if (r == 0)
                r = check_version(s, err);
        if (r == 0 && s->cfg->database.migrate_on_startup) {
                int applied = 0;
                r = lk_store_migrate(s, &applied, err);
                if (r == 0 && applied)
                        lk_log_info(s->log, "Applied database migrations", LK_INT("applied", applied),
                                    LK_INT("version", lk_store_migrations_known()));
        }
        if (r == 0) {
                int t = pthread_create(&s->monitor, NULL, monitor_loop, s);
                if (t != 0)
                        r = lk_err_set(err, -t, "%s: cannot start its monitor: %s", LK_STORE_NAME, strerror(t));
                s->monitor_running = t == 0;
        }
        if (r < 0) {
                drop_lock(s);
                lk_store_close(s);
        }
        return r;
}

static int store_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        lk_store *s = (lk_store *)((char *)service - offsetof(lk_store, service));
        start_args a = {s, ctx};
        return lk_once_start(&s->once, LK_STORE_NAME, start_locked, &a, err);
}

static int stop_locked(void *arg, lk_err *err) {
        lk_store *s = arg;
        pthread_mutex_lock(&s->state_lock);
        s->stop = true;
        pthread_cond_broadcast(&s->state_changed);
        pthread_mutex_unlock(&s->state_lock);
        if (s->monitor_running)
                pthread_join(s->monitor, NULL);
        s->monitor_running = false;
        lk_store_close(s);
        drop_lock(s);
        return 0;
}

static int store_close(lk_service *service, lk_err *err) {
        lk_store *s = (lk_store *)((char *)service - offsetof(lk_store, service));
        return lk_once_stop(&s->once, LK_STORE_NAME, stop_locked, s, err);
}

static void store_health(lk_service *service, lk_health_report *report) {
        lk_store *s = (lk_store *)((char *)service - offsetof(lk_store, service));
        char lock_text[512] = "", health_text[512] = "";
        pthread_mutex_lock(&s->state_lock);
        if (s->lock_state == LK__LOCK_WAITING)
                snprintf(lock_text, sizeof lock_text, "%s", s->lock_error ? s->lock_error : "waiting for lease");
        else if (s->lock_state == LK__LOCK_LOST)
                snprintf(lock_text, sizeof lock_text, "lost the lock: %s", s->lock_error ? s->lock_error : "");
        if (s->health_error)
                snprintf(health_text, sizeof health_text, "%s", s->health_error);
        pthread_mutex_unlock(&s->state_lock);
        lk_err err = LK_ERR_INIT;
        lk_state state = lk_once_state(&s->once);
        /* While starting (a standby waiting for the lock) the database
         * itself is fine; the lock entry says what it waits for. */
        if (state == LK_STATE_STARTING)
                lk_health_report_set(report, LK_STORE_NAME, NULL);
        else if (lk_once_healthy(&s->once, &err) < 0)
                lk_health_report_set(report, LK_STORE_NAME, err.msg);
        else
                lk_health_report_set(report, LK_STORE_NAME, *health_text ? health_text : NULL);
        lk_health_report_set(report, LK_STORE_NAME ".Lock", *lock_text ? lock_text : NULL);
}

static int store_ready(lk_service *service, lk_err *err) {
        lk_store *s = (lk_store *)((char *)service - offsetof(lk_store, service));
        pthread_mutex_lock(&s->state_lock);
        bool waiting = s->lock_state == LK__LOCK_WAITING;
        pthread_mutex_unlock(&s->state_lock);
        if (waiting)
                return lk_err_set(err, -EAGAIN, "waiting for the database lock");
        return lk_once_ready(&s->once, err);
}

static const lk_service_vtable store_vtable = {
        .start = store_start,
        .close = store_close,
        .ready = store_ready,
        .health_report = store_health,
};

void lk__store_service_init(lk_store *s) {
        lk_once_init(&s->once);
        s->service = (lk_service){.vtable = &store_vtable, .name = LK_STORE_NAME, .once = &s->once};
        pthread_mutex_init(&s->state_lock, NULL);
        lk_cond_init_monotonic(&s->state_changed);
        s->lock_fd = -1;
}

void lk__store_service_done(lk_store *s) {
        if (s->monitor_running) {
                pthread_mutex_lock(&s->state_lock);
                s->stop = true;
                pthread_cond_broadcast(&s->state_changed);
                pthread_mutex_unlock(&s->state_lock);
                pthread_join(s->monitor, NULL);
        }
        drop_lock(s);
        lk_free(s->health_error);
        lk_free(s->lock_error);
        pthread_cond_destroy(&s->state_changed);
        pthread_mutex_destroy(&s->state_lock);
        lk_once_done(&s->once);
}

lk_service *lk_store_service(lk_store *s) {
        return &s->service;
}
