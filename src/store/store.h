/* The store's internals shared by its files (store.c: pool, transactions,
 * statements; service.c: the service, the single-writer lock, health;
 * migrations.c: the schema). */
#ifndef LINKD_STORE_STORE_H
#define LINKD_STORE_STORE_H

#include <pthread.h>

#include "backend.h"
#include "linkd/store.h"

#define LK__POOL_MAX 64

typedef enum lk__lock_state {
        LK__LOCK_NONE,     /* not taken (yet, or Mode = 'none') */
        LK__LOCK_WAITING,  /* a standby waiting for the lease or advisory lock */
        LK__LOCK_HELD,
        LK__LOCK_LOST,     /* held, then lost: this node must stop writing */
} lk__lock_state;

struct lk_store {
        const lk_config *cfg;
        lk_log *log;
        const lk__backend *backend;
        lk_store_backend kind;
        char *target;  /* a file path or a libpq URL */
        char *display; /* the URL without its password */

        pthread_mutex_t pool_lock;
        pthread_cond_t pool_changed;
        lk_db *idle[LK__POOL_MAX];
        size_t idle_count;
        int open_count, max_open, max_idle;
        bool opened;

        /* The service (service.c). */
        lk_service service;
        lk_once once;
        pthread_mutex_t state_lock;
        pthread_cond_t state_changed;
        lk__lock_state lock_state;
        char *health_error;      /* why the database is unhealthy, or NULL */
        char *lock_error;        /* why the lock is not held, or NULL */
        int lock_fd;             /* SQLite: the flock'd database file */
        lk_db *lock_db;          /* PostgreSQL: the lock's own connection */
        char client_id[37];      /* this node's lease id */
        lk_usec lease_renewed;   /* monotonic time of the last renewal */
        bool stop;
        pthread_t monitor;
        bool monitor_running;
        void (*on_lock_lost)(void *arg);
        void *on_lock_lost_arg;
};

void lk__store_service_init(lk_store *store);
void lk__store_service_done(lk_store *store);

/* A connection outside the pool (for the lock, which must never wait for
 * a free pooled connection).  Free with lk__db_free. */
int lk__db_dedicated(lk_store *store, lk_db **ret_db, lk_err *err);
void lk__db_free(lk_db *db);

#endif
