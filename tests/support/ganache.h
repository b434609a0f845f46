/* A ganache chain for tests (the pinned npm package of tests/onchain,
 * $LINKD_GANACHE): chain ID 1337, ganache's deterministic accounts, one
 * block per transaction.  Started on a free port of 127.0.0.1, stopped
 * (and waited for) by lktest_ganache_stop. */
#ifndef LKTEST_GANACHE_H
#define LKTEST_GANACHE_H

#include <stdbool.h>
#include <sys/types.h>

#define LKTEST_GANACHE_CHAIN_ID 1337
/* The secret of ganache's first deterministic account. */
#define LKTEST_GANACHE_KEY0 "4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"

typedef struct lktest_ganache {
        pid_t pid;
        unsigned port;     /* 0 before the start: a free one is taken */
        unsigned chain_id; /* 0: LKTEST_GANACHE_CHAIN_ID */
        bool strict;       /* instamine "strict": a transaction the block cannot take stays pending */
        char url[64];
} lktest_ganache;

#include <stdint.h>

#include "linkd/rpc.h"

/* Starts g (zeroed, or with port and chain_id set; a stopped g starts
 * again on its port).  Fails the test when ganache cannot be started or
 * does not answer. */
void lktest_ganache_start(lktest_ganache *g);
void lktest_ganache_stop(lktest_ganache *g);

/* A pool of one node, name at url, on chain_id (timeout 0: the default);
 * fails the test when it cannot be made. */
#include "linkd/rpc_pool.h"
lk_rpc_pool *lktest_pool_of(const char *name, const char *url, int64_t chain_id, lk_usec timeout);

/* method(params) (params stolen) as a QUANTITY; fails the test otherwise. */
uint64_t lktest_rpc_quantity(lk_rpc *rpc, const char *method, json_t *params);

/* A contract of the given runtime code (at most 255 bytes), deployed by
 * ganache's first account; its address into ret. */
void lktest_ganache_deploy(lk_rpc *rpc, const uint8_t *runtime, size_t len, uint8_t ret_address[static 20]);
/* A contract of nine bytes that logs one topic, the first word of its
 * call data, deployed by ganache's first account; its address into ret. */
void lktest_ganache_deploy_logger(lk_rpc *rpc, uint8_t ret_address[static 20]);
/* Calls the logger so that it logs topic; the block it landed in. */
uint64_t lktest_ganache_emit(lk_rpc *rpc, const uint8_t logger[static 20], const uint8_t topic[static 32]);
/* Mines count empty blocks (timestamp: 0, or the first one's, for blocks
 * that differ from those mined before a revert). */
void lktest_ganache_mine(lk_rpc *rpc, int count, int64_t timestamp);

#endif
