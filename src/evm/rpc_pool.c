/* See include/linkd/rpc_pool.h. */
#include "linkd/rpc_pool.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

#define DEFAULT_RECHECK (5 * LK_USEC_PER_SEC)

typedef struct node {
        lk_rpc *rpc;         /* NULL without an HTTP URL: calls go over ws */
        lk_rpc_ws *ws;       /* NULL without a WebSocket URL */
        char *health_name;   /* EVM.<id>.Node.<name> */
        bool send_only;
        bool checked;        /* its chain ID is known to be right */
        uint64_t ws_checked; /* the WebSocket connection (its number) whose chain ID is; 0: none */
        char *error;         /* why it is dead; NULL when alive */
        lk_usec dead_since;  /* monotonic */
} node;

struct lk_rpc_pool {
        int64_t chain_id;
        lk_usec recheck_after;
        pthread_mutex_t lock; /* the nodes' state; calls themselves run unlocked */
        node *nodes;
        size_t count;
};

static int node_init(node *n, const lk_rpc_pool_node *o, lk_usec timeout, lk_err *err) {
        if (!o->http_url && !o->ws_url)
                return lk_err_set(err, -EINVAL, "RPC node %s has neither an HTTP nor a WebSocket URL", o->name);
        int r = 0;
        if (o->http_url)
                r = lk_rpc_new(&(lk_rpc_options){.name = o->name, .url = o->http_url, .timeout = timeout}, &n->rpc,
                               err);
        if (r == 0 && o->ws_url)
                r = lk_rpc_ws_new(&(lk_rpc_ws_options){.name = o->name, .url = o->ws_url, .timeout = timeout}, &n->ws,
                                  err);
        n->send_only = o->send_only;
        return r;
}

int lk_rpc_pool_new(const lk_rpc_pool_options *o, lk_rpc_pool **ret, lk_err *err) {
        if (o->chain_id <= 0 || o->node_count == 0)
                return lk_err_set(err, -EINVAL, "an RPC pool needs a chain ID and at least one node");
        lk_rpc_pool *p = lk_calloc(1, sizeof *p);
        p->chain_id = o->chain_id;
        p->recheck_after = o->recheck_after > 0 ? o->recheck_after : DEFAULT_RECHECK;
        pthread_mutex_init(&p->lock, NULL);
        p->nodes = lk_calloc(o->node_count, sizeof *p->nodes);
        for (size_t i = 0; i < o->node_count; i++) {
                node *n = &p->nodes[i];
                p->count++;
                int r = node_init(n, &o->nodes[i], o->timeout, err);
                if (r < 0) {
                        lk_rpc_pool_free(p);
                        return r;
                }
                n->health_name = lk_asprintf("EVM.%" PRId64 ".Node.%s", o->chain_id, o->nodes[i].name);
        }
        *ret = p;
        return 0;
}

lk_rpc_pool *lk_rpc_pool_free(lk_rpc_pool *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->count; i++) {
                lk_rpc_free(p->nodes[i].rpc);
                lk_rpc_ws_free(p->nodes[i].ws);
                lk_free(p->nodes[i].health_name);
                lk_free(p->nodes[i].error);
        }
        lk_free(p->nodes);
        pthread_mutex_destroy(&p->lock);
        lk_free(p);
        return NULL;
}

/* The node's WebSocket client's status; all zero without one. */
static lk_rpc_ws_status ws_status(const node *n) {
        lk_rpc_ws_status st = {.connected = false};
        if (n->ws)
                lk_rpc_ws_status_get(n->ws, &st);
        return st;
}

/* Whether node i may take a call now: alive, or dead long enough to try
 * again; *ret_check says its chain ID must be checked first (over HTTP,
 * or over WebSocket for a node without HTTP), *ret_check_ws that its
 * WebSocket connection conn (0: none) is one not checked yet. */
static bool usable(lk_rpc_pool *p, size_t i, lk_usec now, uint64_t conn, bool *ret_check, bool *ret_check_ws) {
        node *n = &p->nodes[i];
        if (n->send_only)
                return false;
        if (n->error && now - n->dead_since < p->recheck_after)
                return false;
        *ret_check = !n->checked || n->error;
        *ret_check_ws = conn && conn != n->ws_checked;
        return true;
}

/* Node i is dead for why, or (why NULL) alive with its chain ID checked,
 * on WebSocket connection conn too unless 0. */
static void mark(lk_rpc_pool *p, size_t i, const lk_err *why, uint64_t conn) {
        pthread_mutex_lock(&p->lock);
        node *n = &p->nodes[i];
        lk_freep(&n->error);
        if (why) {
                n->error = lk_strdup(why->msg);
                n->dead_since = lk_now_monotonic();
                n->checked = false;
                n->ws_checked = 0;
        } else {
                n->checked = true;
                if (conn)
                        n->ws_checked = conn;
        }
        pthread_mutex_unlock(&p->lock);
}

/* Checks n's chain ID where it must be; *ret_conn is the WebSocket
 * connection checked (0: none). */
static int check_chain_id(lk_rpc_pool *p, node *n, bool check, bool check_ws, uint64_t *ret_conn, lk_err *err) {
        int r = 0;
        if (check && n->rpc)
                r = lk_rpc_check_chain_id(n->rpc, (uint64_t)p->chain_id, NULL, err);
        if (r == 0 && (check_ws || (check && !n->rpc))) {
                r = lk_rpc_ws_check_chain_id(n->ws, (uint64_t)p->chain_id, NULL, err);
                /* the connection the check ran on, as near as can be told */
                *ret_conn = r == 0 ? ws_status(n).connections : 0;
        }
        return r;
}

/* A failure that says the node, not the request, is at fault. */
static bool node_at_fault(int code) {
        return code != LK_RPC_ENODE;
}

/* What a pool call does on one node. */
typedef int (*node_fn)(node *n, void *arg, lk_err *err);

/* Tries fn on node i: 0 or the request's own error (the node is alive),
 * or the node's fault (the node is marked dead). */
static int try_node(lk_rpc_pool *p, size_t i, const lk_rpc_ws_status *st, bool check, bool check_ws, node_fn fn,
                    void *arg, lk_err *err) {
        node *n = &p->nodes[i];
        /* a WebSocket-only node whose connection dropped: no waiting */
        if (!n->rpc && !st->connected && st->connections > 0) {
                int r = lk_err_set(err, -ENOTCONN, "%s", st->error);
                mark(p, i, err, 0);
                return r;
        }
        uint64_t conn = 0;
        int r = check_chain_id(p, n, check, check_ws, &conn, err);
        if (r == 0)
                r = fn(n, arg, err);
        if (r < 0 && node_at_fault(r))
                mark(p, i, err, 0);
        else
                mark(p, i, NULL, conn);
        return r;
}

/* fn on the first live node that answers; each node at fault is marked
 * dead and the next one tried. */
static int on_live_node(lk_rpc_pool *p, node_fn fn, void *arg, lk_err *err) {
        lk_buf why = LK_BUF_INIT;
        int r = -EHOSTUNREACH;
        for (size_t i = 0; i < p->count; i++) {
                bool check = false, check_ws = false;
                lk_rpc_ws_status st = ws_status(&p->nodes[i]);
                pthread_mutex_lock(&p->lock);
                bool use = usable(p, i, lk_now_monotonic(), st.connected ? st.connections : 0, &check, &check_ws);
                pthread_mutex_unlock(&p->lock);
                if (!use)
                        continue;
                lk_err node_err = LK_ERR_INIT;
                r = try_node(p, i, &st, check, check_ws, fn, arg, &node_err);
                if (r == 0 || !node_at_fault(r)) {
                        if (r < 0 && err)
                                *err = node_err;
                        goto out;
                }
                lk_buf_printf(&why, "%s%s", why.len ? "; " : "", node_err.msg);
                r = -EHOSTUNREACH;
        }
        lk_err_set(err, -EHOSTUNREACH, "chain %" PRId64 ": no RPC node answered%s%s", p->chain_id,
                   why.len ? ": " : "", lk_buf_str(&why));
out:
        lk_buf_done(&why);
        return r;
}

typedef struct call_args {
        const char *method;
        json_t *params;
        json_t **ret_result;
        json_t **ret_error;
} call_args;

/* method(params) on n over its transport; params stolen. */
static int node_call(node *n, const char *method, json_t *params, json_t **ret_result, json_t **ret_error,
                     lk_err *err) {
        if (n->rpc)
                return lk_rpc_call_error(n->rpc, method, params, ret_result, ret_error, err);
        return lk_rpc_ws_call_error(n->ws, method, params, ret_result, ret_error, err);
}

static int call_on(node *n, void *arg, lk_err *err) {
        call_args *a = arg;
        return node_call(n, a->method, a->params ? json_incref(a->params) : NULL, a->ret_result, a->ret_error, err);
}

int lk_rpc_pool_call(lk_rpc_pool *p, const char *method, json_t *params, json_t **ret_result, lk_err *err) {
        return lk_rpc_pool_call_error(p, method, params, ret_result, NULL, err);
}

int lk_rpc_pool_call_error(lk_rpc_pool *p, const char *method, json_t *params, json_t **ret_result,
                           json_t **ret_error, lk_err *err) {
        call_args a = {method, params, ret_result, ret_error};
        int r = on_live_node(p, call_on, &a, err);
        json_decref(params);
        return r;
}

typedef struct batch_args {
        lk_rpc_request *requests;
        size_t count;
} batch_args;

/* Each try gets its own copy of the params, since lk_rpc_batch steals them. */
static int batch_on(node *n, void *arg, lk_err *err) {
        batch_args *a = arg;
        lk_rpc_request *copy = lk_calloc(a->count, sizeof *copy);
        for (size_t i = 0; i < a->count; i++) {
                copy[i].method = a->requests[i].method;
                copy[i].params = a->requests[i].params ? json_incref(a->requests[i].params) : NULL;
        }
        int r = n->rpc ? lk_rpc_batch(n->rpc, copy, a->count, err) : lk_rpc_ws_batch(n->ws, copy, a->count, err);
        for (size_t i = 0; i < a->count; i++) {
                if (r == 0) {
                        a->requests[i].result = copy[i].result;
                        a->requests[i].status = copy[i].status;
                        a->requests[i].err = copy[i].err;
                } else {
                        json_decref(copy[i].result);
                }
        }
        lk_free(copy);
        return r;
}

int lk_rpc_pool_batch(lk_rpc_pool *p, lk_rpc_request *requests, size_t count, lk_err *err) {
        batch_args a = {requests, count};
        int r = on_live_node(p, batch_on, &a, err);
        for (size_t i = 0; i < count; i++) {
                json_decref(requests[i].params);
                requests[i].params = NULL;
        }
        return r;
}

/* A send-only node that did not answer is left out until recheck_after
 * has passed, so that a dead one costs its timeout once per recheck, not
 * on every transaction sent; its health entry says why meanwhile.  Its
 * own JSON-RPC errors (the transaction refused) do not count. */
static void send_to_send_only(lk_rpc_pool *p, const char *method, json_t *params) {
        for (size_t i = 0; i < p->count; i++) {
                node *n = &p->nodes[i];
                if (!n->send_only)
                        continue;
                pthread_mutex_lock(&p->lock);
                bool resting = n->error && lk_now_monotonic() - n->dead_since < p->recheck_after;
                pthread_mutex_unlock(&p->lock);
                if (resting)
                        continue;
                json_t *ignored = NULL;
                lk_err why = LK_ERR_INIT;
                int r = node_call(n, method, params ? json_incref(params) : NULL, &ignored, NULL, &why);
                json_decref(ignored);
                mark(p, i, r < 0 && node_at_fault(r) ? &why : NULL, 0);
        }
}

int lk_rpc_pool_send(lk_rpc_pool *p, const char *method, json_t *params, json_t **ret_result, lk_err *err) {
        send_to_send_only(p, method, params);
        return lk_rpc_pool_call(p, method, params, ret_result, err);
}

lk_rpc_ws *lk_rpc_pool_ws(lk_rpc_pool *p) {
        for (size_t i = 0; i < p->count; i++)
                if (p->nodes[i].ws && !p->nodes[i].send_only)
                        return p->nodes[i].ws;
        return NULL;
}

void lk_rpc_pool_health(lk_rpc_pool *p, lk_health_report *report) {
        for (size_t i = 0; i < p->count; i++) {
                node *n = &p->nodes[i];
                lk_rpc_ws_status st = ws_status(n);
                pthread_mutex_lock(&p->lock);
                const char *why = n->error ? n->error : n->ws && !st.connected ? st.error : NULL;
                lk_health_report_set(report, n->health_name, why);
                pthread_mutex_unlock(&p->lock);
        }
}
