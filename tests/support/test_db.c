/* See test_db.h. */
#include "test_db.h"

#include "linkd/alloc.h"

lk_store_backend lktest_sqlite_backend = LK_STORE_SQLITE;
lk_store_backend lktest_postgres_backend = LK_STORE_POSTGRES;

void lktest_db_open(lktest_db *db) {
        lk_err err = LK_ERR_INIT;
        if (lk_store_new(&(lk_store_options){.url = db->pg_url, .config = &db->cfg}, &db->store, &err) < 0 ||
            lk_service_start(lk_store_service(db->store), NULL, &err) < 0)
                fail_msg("store: %s", err.msg);
}

int lktest_db_setup(void **state) {
        lk_store_backend backend = *(lk_store_backend *)*state;
        lktest_db *db = lk_calloc(1, sizeof *db);
        db->dir = lktest_tmpdir();
        lk_config_init(&db->cfg);
        lk_free(db->cfg.root_dir);
        db->cfg.root_dir = lk_strdup(db->dir);
        lk_config_finish(&db->cfg, NULL);
        if (backend == LK_STORE_POSTGRES)
                db->pg_url = lktest_pg_create_db();
        lktest_db_open(db);
        *state = db;
        return 0;
}

int lktest_db_teardown(void **state) {
        lktest_db *db = *state;
        lk_service_close(lk_store_service(db->store), NULL);
        lk_store_free(db->store);
        lk_config_done(&db->cfg);
        lktest_pg_drop_db(db->pg_url);
        lktest_rmrf(db->dir);
        lk_free(db);
        return 0;
}

int lktest_exec_body(lk_db *db, void *arg, lk_err *err) {
        return lk_db_exec(db, arg, err);
}

void lktest_store_exec(lk_store *store, const char *sql) {
        lk_err err = LK_ERR_INIT;
        if (lk_store_tx(store, lktest_exec_body, (void *)sql, &err) < 0)
                fail_msg("%s: %s", sql, err.msg);
}

typedef struct int_args {
        const char *sql;
        int64_t value;
} int_args;

static int int_body(lk_db *db, void *arg, lk_err *err) {
        int_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, a->sql, &st, err);
        if (r < 0)
                return r;
        r = lk_stmt_step(st, err);
        if (r == 1)
                a->value = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

int64_t lktest_store_int(lk_store *store, const char *sql) {
        int_args a = {sql, -1};
        lk_err err = LK_ERR_INIT;
        if (lk_store_read(store, int_body, &a, &err) < 0)
                fail_msg("%s: %s", sql, err.msg);
        return a.value;
}
