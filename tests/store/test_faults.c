/* SQLite under faults: failed allocations and I/O errors, injected
 * through SQLite's own hooks, must end in a clean error from the store
 * and leave a consistent database.
 *
 * Two hooks, both installed before SQLite initializes (main):
 *   - a VFS wrapping the default one and registered as the new default,
 *     so the store opens every file through it; once armed it fails the
 *     Nth I/O operation (open, read, write, truncate, sync, delete);
 *   - allocator methods wrapping SQLite's own, failing the Nth
 *     allocation once armed.
 * Each fails either once (a transient error) or from the Nth operation
 * on (a disk that filled up, memory that ran out).
 *
 * A sweep tries N = 1, 2, 3 ... on a fresh copy of a migrated database
 * until the work under test completes without reaching the Nth operation.
 * Each try checks that the store returned 0 or a negative error (and
 * nothing crashed, hung or leaked), that the same store works again once
 * the faults stop, and that after reopening, the database passes
 * PRAGMA integrity_check and holds the run entirely if its transaction
 * returned 0 and not at all if it failed - never in part.  The one
 * failure that may leave the run in place, whole, is a failed fsync of
 * the WAL at COMMIT (see outcome_unknown).
 *
 * The store is opened, not started: no monitor thread, so only this
 * test's thread ever calls into SQLite and the counters need no locks. */
#include "lktest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/store.h"

#define TASKS 5
#define MAX_POINTS 20000 /* a sweep that never ends is a failure, not a hang */

/* ---- the fault switch ---- */

typedef struct fault {
        bool armed;
        bool persistent; /* fail every operation from the Nth on, not only the Nth */
        long target;     /* N */
        long count;      /* operations since arming */
        long fired;      /* operations failed since arming */
        char first[48];  /* the first operation failed, e.g. "xSync(wal)" */
} fault;

static fault io_fault, mem_fault;

static bool should_fail(fault *f, const char *op, const char *file) {
        if (!f->armed)
                return false;
        f->count++;
        if (f->count == f->target || (f->persistent && f->count > f->target)) {
                if (f->fired++ == 0)
                        snprintf(f->first, sizeof f->first, "%s(%s)", op, file);
                return true;
        }
        return false;
}

static void arm(fault *f, long target, bool persistent) {
        *f = (fault){.armed = true, .persistent = persistent, .target = target};
}

static void disarm(fault *f) {
        f->armed = false;
}

/* ---- the VFS ---- */

typedef struct fault_file {
        sqlite3_file base;
        sqlite3_file *real; /* the wrapped VFS's file, right after this struct */
        const char *kind;   /* "db", "wal", "journal" or "other", for messages */
} fault_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;

static sqlite3_file *real_of(sqlite3_file *file) {
        return ((fault_file *)file)->real;
}

static int file_close(sqlite3_file *file) {
        return real_of(file)->pMethods->xClose(real_of(file));
}

static const char *kind_of(sqlite3_file *file) {
        return ((fault_file *)file)->kind;
}

static int file_read(sqlite3_file *file, void *buf, int amount, sqlite3_int64 offset) {
        if (should_fail(&io_fault, "xRead", kind_of(file)))
                return SQLITE_IOERR_READ;
        return real_of(file)->pMethods->xRead(real_of(file), buf, amount, offset);
}

/* A persistent write error is a full disk; a single one an I/O error. */
static int file_write(sqlite3_file *file, const void *buf, int amount, sqlite3_int64 offset) {
        if (should_fail(&io_fault, "xWrite", kind_of(file)))
                return io_fault.persistent ? SQLITE_FULL : SQLITE_IOERR_WRITE;
        return real_of(file)->pMethods->xWrite(real_of(file), buf, amount, offset);
}

static int file_truncate(sqlite3_file *file, sqlite3_int64 size) {
        if (should_fail(&io_fault, "xTruncate", kind_of(file)))
                return SQLITE_IOERR_TRUNCATE;
        return real_of(file)->pMethods->xTruncate(real_of(file), size);
}

static int file_sync(sqlite3_file *file, int flags) {
        if (should_fail(&io_fault, "xSync", kind_of(file)))
                return SQLITE_IOERR_FSYNC;
        return real_of(file)->pMethods->xSync(real_of(file), flags);
}

static int file_size(sqlite3_file *file, sqlite3_int64 *size) {
        return real_of(file)->pMethods->xFileSize(real_of(file), size);
}

static int file_lock(sqlite3_file *file, int level) {
        return real_of(file)->pMethods->xLock(real_of(file), level);
}

static int file_unlock(sqlite3_file *file, int level) {
        return real_of(file)->pMethods->xUnlock(real_of(file), level);
}

static int file_check_reserved_lock(sqlite3_file *file, int *out) {
        return real_of(file)->pMethods->xCheckReservedLock(real_of(file), out);
}

static int file_control(sqlite3_file *file, int op, void *arg) {
        return real_of(file)->pMethods->xFileControl(real_of(file), op, arg);
}

static int file_sector_size(sqlite3_file *file) {
        return real_of(file)->pMethods->xSectorSize(real_of(file));
}

static int file_device_characteristics(sqlite3_file *file) {
        return real_of(file)->pMethods->xDeviceCharacteristics(real_of(file));
}

static int file_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out) {
        return real_of(file)->pMethods->xShmMap(real_of(file), region, size, extend, out);
}

static int file_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
        return real_of(file)->pMethods->xShmLock(real_of(file), offset, n, flags);
}

static void file_shm_barrier(sqlite3_file *file) {
        real_of(file)->pMethods->xShmBarrier(real_of(file));
}

static int file_shm_unmap(sqlite3_file *file, int delete_flag) {
        return real_of(file)->pMethods->xShmUnmap(real_of(file), delete_flag);
}

static int file_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
        return real_of(file)->pMethods->xFetch(real_of(file), offset, amount, out);
}

static int file_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *p) {
        return real_of(file)->pMethods->xUnfetch(real_of(file), offset, p);
}

static const sqlite3_io_methods fault_io = {
        .iVersion = 3,
        .xClose = file_close,
        .xRead = file_read,
        .xWrite = file_write,
        .xTruncate = file_truncate,
        .xSync = file_sync,
        .xFileSize = file_size,
        .xLock = file_lock,
        .xUnlock = file_unlock,
        .xCheckReservedLock = file_check_reserved_lock,
        .xFileControl = file_control,
        .xSectorSize = file_sector_size,
        .xDeviceCharacteristics = file_device_characteristics,
        .xShmMap = file_shm_map,
        .xShmLock = file_shm_lock,
        .xShmBarrier = file_shm_barrier,
        .xShmUnmap = file_shm_unmap,
        .xFetch = file_fetch,
        .xUnfetch = file_unfetch,
};

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags) {
        fault_file *ff = (fault_file *)file;
        ff->base.pMethods = NULL;
        ff->real = (sqlite3_file *)(ff + 1);
        ff->kind = flags & SQLITE_OPEN_MAIN_DB ? "db" : flags & SQLITE_OPEN_WAL ? "wal"
                   : flags & SQLITE_OPEN_MAIN_JOURNAL ? "journal" : "other";
        if (should_fail(&io_fault, "xOpen", ff->kind))
                return SQLITE_CANTOPEN;
        int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
        /* SQLite closes a file whose methods are set even when opening
         * failed, so ours are set exactly when the real ones are. */
        if (ff->real->pMethods)
                ff->base.pMethods = &fault_io;
        return rc;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
        if (should_fail(&io_fault, "xDelete", strstr(name, "-wal") ? "wal" : "other"))
                return SQLITE_IOERR_DELETE;
        return real_vfs->xDelete(real_vfs, name, sync_dir);
}

/* ---- the allocator ---- */

static sqlite3_mem_methods real_mem;

static void *mem_malloc(int size) {
        return should_fail(&mem_fault, "xMalloc", "heap") ? NULL : real_mem.xMalloc(size);
}

static void mem_free(void *p) {
        real_mem.xFree(p);
}

static void *mem_realloc(void *p, int size) {
        return should_fail(&mem_fault, "xRealloc", "heap") ? NULL : real_mem.xRealloc(p, size);
}

static int mem_size(void *p) {
        return real_mem.xSize(p);
}

static int mem_roundup(int size) {
        return real_mem.xRoundup(size);
}

static int mem_init(void *arg) {
        return real_mem.xInit(arg);
}

static void mem_shutdown(void *arg) {
        real_mem.xShutdown(arg);
}

/* Both hooks go in before SQLite initializes: SQLITE_CONFIG_MALLOC is
 * refused afterwards. */
static void install_hooks(void) {
        if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK)
                abort();
        sqlite3_mem_methods methods = real_mem;
        methods.xMalloc = mem_malloc;
        methods.xFree = mem_free;
        methods.xRealloc = mem_realloc;
        methods.xSize = mem_size;
        methods.xRoundup = mem_roundup;
        methods.xInit = mem_init;
        methods.xShutdown = mem_shutdown;
        if (sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) != SQLITE_OK || sqlite3_initialize() != SQLITE_OK)
                abort();
        real_vfs = sqlite3_vfs_find(NULL);
        if (!real_vfs)
                abort();
        fault_vfs = *real_vfs;
        fault_vfs.pNext = NULL;
        fault_vfs.zName = "linkd-faults";
        fault_vfs.szOsFile = (int)sizeof(fault_file) + real_vfs->szOsFile;
        fault_vfs.xOpen = vfs_open;
        fault_vfs.xDelete = vfs_delete;
        if (sqlite3_vfs_register(&fault_vfs, 1) != SQLITE_OK)
                abort();
}

/* ---- the work under test ---- */

static int insert_run(lk_db *db, void *arg, lk_err *err) {
        int64_t *ret_run_id = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO pipeline_runs (pipeline_spec_id, state, meta, outputs, all_errors,"
                                  " fatal_errors, created_at, finished_at)"
                                  " VALUES (1, 'completed', $1::jsonb, $2::jsonb, '[null]', '[null]', $3, $4)"
                                  " RETURNING id",
                              &st, err);
        if (r < 0)
                return r;
        lk_usec now = lk_now_realtime();
        lk_stmt_bind_text(st, 1, "{\"jobRun\":{\"blockNumber\":18231337,\"requestId\":\"5f8e0c1a\"}}", SIZE_MAX);
        lk_stmt_bind_text(st, 2, "[\"3284.51\"]", SIZE_MAX);
        lk_stmt_bind_time(st, 3, now - LK_USEC_PER_SEC);
        lk_stmt_bind_time(st, 4, now);
        r = lk_stmt_step(st, err);
        int64_t run_id = r == 1 ? lk_stmt_int64(st, 0) : 0;
        lk_stmt_done(st);
        if (r != 1)
                return r < 0 ? r : lk_err_set(err, -EIO, "INSERT ... RETURNING returned no row");
        static const char *const dot_ids[TASKS] = {"ds1", "ds1_parse", "ds2", "ds2_parse", "answer"};
        static const char *const outputs[TASKS] = {"\"{\\\"data\\\":{\\\"result\\\":3284.51}}\"", "\"3284.51\"",
                                                   "\"{\\\"price\\\":3284.51}\"", "\"3284.51\"", "\"3284.51\""};
        for (int i = 0; i < TASKS; i++) {
                r = lk_db_prepare(db, "INSERT INTO pipeline_task_runs (id, pipeline_run_id, type, \"index\", output,"
                                      " dot_id, created_at, finished_at)"
                                      " VALUES ($1::uuid, $2, 'any', $3, $4::jsonb, $5, $6, $6)",
                                  &st, err);
                if (r < 0)
                        return r;
                char uuid[37];
                snprintf(uuid, sizeof uuid, "6f1c3e2a-0000-4000-8000-%012" PRIx64,
                         ((uint64_t)run_id * 8 + (uint64_t)i) & UINT64_C(0xffffffffffff));
                lk_stmt_bind_text(st, 1, uuid, SIZE_MAX);
                lk_stmt_bind_int64(st, 2, run_id);
                lk_stmt_bind_int64(st, 3, i);
                lk_stmt_bind_text(st, 4, outputs[i], SIZE_MAX);
                lk_stmt_bind_text(st, 5, dot_ids[i], SIZE_MAX);
                lk_stmt_bind_time(st, 6, now);
                r = lk_stmt_run(st, err);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
        }
        *ret_run_id = run_id;
        return 0;
}

static int insert_user(lk_db *db, void *arg, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO users (email, hashed_password, role) VALUES ($1, 'x', 'view')", &st,
                              err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, arg, SIZE_MAX);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

static int insert_spec(lk_db *db, void *arg, lk_err *err) {
        return lk_db_exec(db, "INSERT INTO pipeline_specs (id, dot_dag_source) VALUES (1, 'answer [type=median]')",
                          err);
}

typedef struct contents {
        int64_t runs, task_runs, complete_runs, users;
        char integrity[512];
        int64_t fk_violations;
} contents;

static int64_t scalar(lk_db *db, const char *sql, lk_err *err, int *r) {
        lk_stmt *st;
        int64_t value = -1;
        if (*r < 0 || (*r = lk_db_prepare(db, sql, &st, err)) < 0)
                return value;
        *r = lk_stmt_step(st, err);
        if (*r == 1) {
                value = lk_stmt_int64(st, 0);
                *r = 0;
        } else if (*r == 0) {
                *r = lk_err_set(err, -EIO, "no row from %s", sql);
        }
        lk_stmt_done(st);
        return value;
}

static int read_contents(lk_db *db, void *arg, lk_err *err) {
        contents *c = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "PRAGMA integrity_check", &st, err);
        if (r < 0)
                return r;
        size_t used = 0, size = sizeof c->integrity;
        c->integrity[0] = '\0';
        while ((r = lk_stmt_step(st, err)) == 1)
                if (used < size)
                        used += (size_t)snprintf(c->integrity + used, size - used, "%s%s", used ? "; " : "",
                                                 lk_stmt_text(st, 0, NULL));
        lk_stmt_done(st);
        if (r < 0)
                return r;
        r = lk_db_prepare(db, "PRAGMA foreign_key_check", &st, err);
        if (r < 0)
                return r;
        c->fk_violations = 0;
        while ((r = lk_stmt_step(st, err)) == 1)
                c->fk_violations++;
        lk_stmt_done(st);
        if (r < 0)
                return r;
        c->runs = scalar(db, "SELECT COUNT(*) FROM pipeline_runs", err, &r);
        c->task_runs = scalar(db, "SELECT COUNT(*) FROM pipeline_task_runs", err, &r);
        c->complete_runs = scalar(db, "SELECT COUNT(*) FROM pipeline_runs r WHERE (SELECT COUNT(*) FROM"
                                      " pipeline_task_runs t WHERE t.pipeline_run_id = r.id) = 5",
                                  err, &r);
        c->users = scalar(db, "SELECT COUNT(*) FROM users", err, &r);
        return r;
}

/* ---- sweeps ---- */

typedef enum window {
        IN_TRANSACTION, /* faults while the store connects and the transaction runs */
        IN_CLOSE,       /* faults while the store closes after a committed transaction (the checkpoint) */
} window;

typedef struct sweep {
        const char *name;
        fault *fault;
        bool persistent;
        window window;
} sweep;

typedef struct fixture {
        char *dir;
        char *template_path;
        lk_config cfg;
        lk_store *store;   /* the store under faults */
        lk_store *checker; /* the store that reopens the database */
        char *path;
} fixture;

static char *url_of(const char *path) {
        return lk_asprintf("sqlite://%s", path);
}

static lk_store *new_store(fixture *f, const char *path) {
        char *url = url_of(path);
        lk_store *store;
        lk_err err = LK_ERR_INIT;
        if (lk_store_new(&(lk_store_options){.url = url, .config = &f->cfg}, &store, &err) < 0)
                fail_msg("%s", err.msg);
        lk_free(url);
        return store;
}

static void copy_file(const char *from, const char *to) {
        char *data = NULL;
        int in = open(from, O_RDONLY | O_CLOEXEC);
        assert_true(in >= 0);
        struct stat st;
        assert_int_equal(fstat(in, &st), 0);
        data = lk_malloc((size_t)st.st_size + 1);
        assert_int_equal(read(in, data, (size_t)st.st_size), st.st_size);
        close(in);
        int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(out >= 0);
        assert_int_equal(write(out, data, (size_t)st.st_size), st.st_size);
        close(out);
        lk_free(data);
}

static void remove_database(const char *path) {
        const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
                char *p = lk_asprintf("%s%s", path, suffixes[i]);
                unlink(p);
                lk_free(p);
        }
}

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        lk_config_init(&f->cfg);
        lk_free(f->cfg.root_dir);
        f->cfg.root_dir = lk_strdup(f->dir);
        /* A connection left holding the write lock must show up as an
         * error within seconds, not after 12 retries of 15 s. */
        f->cfg.database.default_lock_timeout = 100 * LK_USEC_PER_MSEC;
        f->cfg.database.default_query_timeout = 5 * LK_USEC_PER_SEC;
        lk_config_finish(&f->cfg, NULL);
        /* One migrated database, copied for every try: migrating costs
         * more than everything a try does. */
        f->template_path = lk_asprintf("%s/template.db", f->dir);
        lk_store *store = new_store(f, f->template_path);
        lk_err err = LK_ERR_INIT;
        if (lk_store_open(store, &err) < 0 || lk_store_migrate(store, NULL, &err) < 0 ||
            lk_store_tx(store, insert_spec, NULL, &err) < 0)
                fail_msg("preparing the template database: %s", err.msg);
        lk_store_free(store);
        char *wal = lk_asprintf("%s-wal", f->template_path);
        assert_int_equal(access(wal, F_OK), -1); /* the last close checkpointed everything */
        lk_free(wal);
        f->path = lk_asprintf("%s/try.db", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        disarm(&io_fault);
        disarm(&mem_fault);
        lk_store_free(f->store);
        lk_store_free(f->checker);
        lk_config_done(&f->cfg);
        lk_free(f->template_path);
        lk_free(f->path);
        lktest_rmrf(f->dir);
        lk_free(f);
        return 0;
}

typedef struct outcome {
        int open;      /* lk_store_open under faults (IN_TRANSACTION), else 0 */
        int tx;        /* the transaction */
        lk_err err;
        long fired;    /* operations failed */
        char first[48];
} outcome;

typedef struct tally {
        long points;
        long failed;    /* tries that ended in an error */
        long codes[4];  /* -ENOMEM, -EIO, -ENOENT, other */
        long unknown;   /* failed commits the database holds nonetheless (see check_database) */
} tally;

/* What a failed fsync of the WAL at COMMIT leaves: the commit record is
 * written in full, only its durability is unknown, and the next recovery
 * of the WAL (after a crash, or once every connection closed without a
 * checkpoint) brings the transaction back.  Atomicity holds; the outcome
 * of the failed COMMIT is unknown, as it is on PostgreSQL when the
 * connection drops during COMMIT. */
static bool outcome_unknown(const outcome *o) {
        return o->tx < 0 && strcmp(o->first, "xSync(wal)") == 0;
}

/* Reopens the database with faults off and checks it against what the
 * store reported. */
static void check_database(fixture *f, const sweep *s, long n, const outcome *o, bool marker_written, tally *t) {
        const char *what = s->name;
        f->checker = new_store(f, f->path);
        lk_err err = LK_ERR_INIT;
        if (lk_store_open(f->checker, &err) < 0)
                fail_msg("%s, N=%ld: reopening after the faults: %s", what, n, err.msg);
        contents c;
        if (lk_store_read(f->checker, read_contents, &c, &err) < 0)
                fail_msg("%s, N=%ld: reading after the faults: %s", what, n, err.msg);
        if (strcmp(c.integrity, "ok") != 0)
                fail_msg("%s, N=%ld: integrity_check: %s", what, n, c.integrity);
        if (c.fk_violations)
                fail_msg("%s, N=%ld: %" PRId64 " foreign key violations", what, n, c.fk_violations);
        int64_t want = o->open == 0 && o->tx == 0;
        if (!want && outcome_unknown(o) && c.runs == 1) {
                t->unknown++;
                want = 1;
        }
        if (c.runs != want || c.complete_runs != want || c.task_runs != want * TASKS)
                fail_msg("%s, N=%ld: the transaction returned %d (%s; open %d) after %ld injected faults (the first "
                         "in %s), and the database holds %" PRId64 " runs (%" PRId64 " complete) and %" PRId64
                         " task runs; expected %" PRId64 " and %" PRId64,
                         what, n, o->tx, o->err.msg, o->open, o->fired, o->first, c.runs, c.complete_runs,
                         c.task_runs, want, want * TASKS);
        if (c.users != (marker_written ? 1 : 0))
                fail_msg("%s, N=%ld: %" PRId64 " users, expected %d", what, n, c.users, marker_written ? 1 : 0);
        /* And it takes new work. */
        int64_t run_id = 0;
        if (lk_store_tx(f->checker, insert_run, &run_id, &err) < 0)
                fail_msg("%s, N=%ld: a new transaction after reopening: %s", what, n, err.msg);
        if (lk_store_read(f->checker, read_contents, &c, &err) < 0)
                fail_msg("%s, N=%ld: reading after the faults: %s", what, n, err.msg);
        assert_string_equal(c.integrity, "ok");
        assert_int_equal(c.complete_runs, want + 1);
        f->checker = lk_store_free(f->checker);
}

/* The error codes a fault may turn into: a failed allocation is -ENOMEM,
 * a failed I/O -EIO, a file that cannot be opened -ENOENT (SQLite's
 * CANTOPEN).  Anything else (-EINVAL: "bad SQL") misleads the caller. */
static bool expected_code(const sweep *s, int r) {
        if (s->fault == &mem_fault)
                return r == -ENOMEM;
        return r == -EIO || r == -ENOENT;
}

static void count_code(tally *t, int r) {
        t->codes[r == -ENOMEM ? 0 : r == -EIO ? 1 : r == -ENOENT ? 2 : 3]++;
}

/* One try: returns true when the work completed without the Nth
 * operation happening, which ends the sweep. */
static bool try_point(fixture *f, const sweep *s, long n, tally *t) {
        remove_database(f->path);
        copy_file(f->template_path, f->path);
        f->store = new_store(f, f->path);
        outcome o = {0};
        int64_t run_id = 0;
        if (s->window == IN_TRANSACTION) {
                arm(s->fault, n, s->persistent);
                o.open = lk_store_open(f->store, &o.err);
                if (o.open == 0)
                        o.tx = lk_store_tx(f->store, insert_run, &run_id, &o.err);
                disarm(s->fault);
        } else {
                if (lk_store_open(f->store, &o.err) < 0 || lk_store_tx(f->store, insert_run, &run_id, &o.err) < 0)
                        fail_msg("the transaction without faults: %s", o.err.msg);
                arm(s->fault, n, s->persistent);
                lk_store_close(f->store);
                disarm(s->fault);
        }
        o.fired = s->fault->fired;
        snprintf(o.first, sizeof o.first, "%s", s->fault->first);
        bool reached = s->fault->count >= n;
        int r = o.open < 0 ? o.open : o.tx;
        if (r > 0)
                fail_msg("%s, N=%ld: returned %d", s->name, n, r);
        if (r < 0) {
                t->failed++;
                count_code(t, r);
                if (!expected_code(s, r))
                        fail_msg("%s, N=%ld: %ld injected faults (the first in %s) ended in error %d (%s): %s",
                                 s->name, n, o.fired, o.first, r, strerror(-r), o.err.msg);
                if (!reached)
                        fail_msg("%s, N=%ld: failed (%d: %s) although no fault was injected", s->name, n, r,
                                 o.err.msg);
        }
        /* Once the faults stop, the same store must work again, without a
         * restart: a connection the fault left inside a transaction (and
         * holding the write lock) must not go back to the pool. */
        bool marker = false;
        if (s->window == IN_TRANSACTION) {
                lk_err err = LK_ERR_INIT;
                if (o.open < 0 && lk_store_open(f->store, &err) < 0)
                        fail_msg("%s, N=%ld: opening again without faults: %s", s->name, n, err.msg);
                if (lk_store_tx(f->store, insert_user, "after@example.com", &err) < 0)
                        fail_msg("%s, N=%ld: the store does not work once the faults stopped: %s (the faulty "
                                 "transaction returned %d: %s; %ld faults, the first in %s)",
                                 s->name, n, err.msg, r, o.err.msg, o.fired, o.first);
                marker = true;
        }
        f->store = lk_store_free(f->store);
        check_database(f, s, n, &o, marker, t);
        t->points++;
        return !reached;
}

static void run_sweep(fixture *f, const sweep *s) {
        tally t = {0};
        long n = 1;
        while (!try_point(f, s, n, &t)) {
                if (++n > MAX_POINTS)
                        fail_msg("%s: still failing after %d points", s->name, MAX_POINTS);
        }
        print_message("# %s: %ld points (N = 1..%ld), %ld failed cleanly (ENOMEM %ld, EIO %ld, ENOENT %ld; "
                      "%ld failed commits held nonetheless: WAL fsync failed, outcome unknown), %ld completed\n",
                      s->name, t.points, n, t.failed, t.codes[0], t.codes[1], t.codes[2], t.unknown,
                      t.points - t.failed);
}

static void io_faults_in_transaction(void **state) {
        run_sweep(*state,
                  &(sweep){"I/O error once, connecting and in the transaction", &io_fault, false, IN_TRANSACTION});
        run_sweep(*state,
                  &(sweep){"I/O errors from N on, connecting and in the transaction", &io_fault, true, IN_TRANSACTION});
}

static void io_faults_in_close(void **state) {
        run_sweep(*state, &(sweep){"I/O error once, in the checkpoint on close", &io_fault, false, IN_CLOSE});
        run_sweep(*state, &(sweep){"I/O errors from N on, in the checkpoint on close", &io_fault, true, IN_CLOSE});
}

static void allocation_failures_in_transaction(void **state) {
        run_sweep(*state, &(sweep){"allocation failure once, connecting and in the transaction", &mem_fault, false,
                                   IN_TRANSACTION});
        run_sweep(*state, &(sweep){"allocation failures from N on, connecting and in the transaction", &mem_fault,
                                   true, IN_TRANSACTION});
}

static void allocation_failures_in_close(void **state) {
        run_sweep(*state, &(sweep){"allocation failure once, in the checkpoint on close", &mem_fault, false,
                                   IN_CLOSE});
        run_sweep(*state, &(sweep){"allocation failures from N on, in the checkpoint on close", &mem_fault, true,
                                   IN_CLOSE});
}

int main(void) {
        install_hooks();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(io_faults_in_transaction, setup, teardown),
                cmocka_unit_test_setup_teardown(io_faults_in_close, setup, teardown),
                cmocka_unit_test_setup_teardown(allocation_failures_in_transaction, setup, teardown),
                cmocka_unit_test_setup_teardown(allocation_failures_in_close, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
