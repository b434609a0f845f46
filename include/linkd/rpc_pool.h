/* The RPC nodes of one chain with health-based failover: calls go to the
 * first live node in configured order; a node that does not answer (a
 * transport error, a malformed answer, a timeout; not the node's own
 * JSON-RPC error) is marked dead and the call moves on to the next.  A
 * node is checked before first use and before it is used again after
 * being dead (no sooner than recheck_after): its eth_chainId must be the
 * chain's.  Send-only nodes take no calls.  Thread-safe.
 *
 * A node with an HTTP URL takes calls and batches over HTTP (lk_rpc);
 * one with only a WebSocket URL takes them over its WebSocket client
 * (lk_rpc_ws; a batch as calls one after the other).  A node's
 * WebSocket client connects in the background and again after a drop;
 * each new connection's chain ID is checked before the node is used.  A
 * WebSocket-only node whose connection dropped is passed over at once
 * and marked dead until it is connected again.
 *
 * Each node's health is "EVM.<chainID>.Node.<name>": passing, or why it
 * is dead, or (a node with a WebSocket URL) why its WebSocket is not
 * connected, naming the node, never its URL. */
#ifndef LINKD_RPC_POOL_H
#define LINKD_RPC_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/health.h"
#include "linkd/rpc.h"
#include "linkd/rpc_ws.h"

typedef struct lk_rpc_pool lk_rpc_pool;

typedef struct lk_rpc_pool_node {
        const char *name;
        const char *http_url; /* NULL: none */
        bool send_only;
        const char *ws_url;   /* NULL: none; a node needs one URL at least */
} lk_rpc_pool_node;

typedef struct lk_rpc_pool_options {
        int64_t chain_id;
        const lk_rpc_pool_node *nodes;
        size_t node_count;
        lk_usec timeout;       /* per call; 0: lk_rpc's default */
        lk_usec recheck_after; /* 0 = 5 s */
} lk_rpc_pool_options;

int lk_rpc_pool_new(const lk_rpc_pool_options *options, lk_rpc_pool **ret, lk_err *err);
lk_rpc_pool *lk_rpc_pool_free(lk_rpc_pool *pool);

/* As lk_rpc_call, on the first live node; -EHOSTUNREACH when none
 * answers (err lists why, node by node). */
int lk_rpc_pool_call(lk_rpc_pool *pool, const char *method, json_t *params, json_t **ret_result, lk_err *err);
/* As lk_rpc_pool_call; on the node's own error (LK_RPC_ENODE) also its
 * error object, as lk_rpc_call_error gives it. */
int lk_rpc_pool_call_error(lk_rpc_pool *pool, const char *method, json_t *params, json_t **ret_result,
                           json_t **ret_error, lk_err *err);

/* As lk_rpc_batch, on the first live node: the params are stolen (and
 * set to NULL) whatever happens. */
int lk_rpc_pool_batch(lk_rpc_pool *pool, lk_rpc_request *requests, size_t count, lk_err *err);

/* As lk_rpc_pool_call, for what every node should hear (a signed
 * transaction): also to each send-only node first, whose answers do not
 * count; one that does not answer is left out (and its health entry
 * fails) until recheck_after has passed. */
int lk_rpc_pool_send(lk_rpc_pool *pool, const char *method, json_t *params, json_t **ret_result, lk_err *err);

/* The WebSocket client of the first node (not send-only) with a
 * WebSocket URL, owned by the pool; NULL when none has one.  For the
 * newHeads subscription. */
lk_rpc_ws *lk_rpc_pool_ws(lk_rpc_pool *pool);

/* Adds every node's entry to report. */
void lk_rpc_pool_health(lk_rpc_pool *pool, lk_health_report *report);

#endif
