/* A started store on a fresh database for tests that run on both
 * backends: SQLite in a temporary directory, or a new PostgreSQL database
 * of the test cluster. */
#ifndef LKTEST_DB_H
#define LKTEST_DB_H

#include "lktest.h"

#include "linkd/config.h"
#include "linkd/store.h"

typedef struct lktest_db {
        char *dir;      /* RootDir: the SQLite file lives here */
        char *pg_url;   /* NULL on SQLite */
        lk_config cfg;
        lk_store *store;
} lktest_db;

extern lk_store_backend lktest_sqlite_backend;
extern lk_store_backend lktest_postgres_backend;

/* cmocka setup and teardown: the prestate is an lk_store_backend *;
 * *state becomes an lktest_db with its store started. */
int lktest_db_setup(void **state);
int lktest_db_teardown(void **state);
/* Makes and starts db->store again (after a test closed it). */
void lktest_db_open(lktest_db *db);

/* lk_db_exec as a transaction body (arg: the SQL text). */
int lktest_exec_body(lk_db *db, void *arg, lk_err *err);
/* sql in a transaction of store; fails the test (naming sql) on error. */
void lktest_store_exec(lk_store *store, const char *sql);
/* The first column of the first row of sql as an integer (-1 without a
 * row); fails the test on error. */
int64_t lktest_store_int(lk_store *store, const char *sql);

/* A test on both backends. */
#define LKTEST_BOTH_BACKENDS(test)                                                                              \
        cmocka_unit_test_prestate_setup_teardown(test, lktest_db_setup, lktest_db_teardown,                     \
                                                 &lktest_sqlite_backend),                                       \
                cmocka_unit_test_prestate_setup_teardown(test, lktest_db_setup, lktest_db_teardown,             \
                                                         &lktest_postgres_backend)

#endif
