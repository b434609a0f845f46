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
        lk_rpc *rpc;
        char *health_name; /* EVM.<id>.Node.<name> */
        bool send_only;
        bool checked;      /* its chain ID is known to be right */
        char *error;       /* why it is dead; NULL when alive */
        lk_usec dead_since; /* monotonic */
} node;

struct lk_rpc_pool {
        int64_t chain_id;
        lk_usec recheck_after;
        pthread_mutex_t lock; /* the nodes' state; calls themselves run unlocked */
        node *nodes;
        size_t count;
};

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
                int r = lk_rpc_new(&(lk_rpc_options){.name = o->nodes[i].name, .url = o->nodes[i].http_url,
                                                     .timeout = o->timeout},
                                   &n->rpc, err);
                if (r < 0) {
                        lk_rpc_pool_free(p);
                        return r;
                }
                p->count++;
                n->health_name = lk_asprintf("EVM.%" PRId64 ".Node.%s", o->chain_id, o->nodes[i].name);
                n->send_only = o->nodes[i].send_only;
        }
        *ret = p;
        return 0;
}

lk_rpc_pool *lk_rpc_pool_free(lk_rpc_pool *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->count; i++) {
                lk_rpc_free(p->nodes[i].rpc);
                lk_free(p->nodes[i].health_name);
                lk_free(p->nodes[i].error);
        }
        lk_free(p->nodes);
        pthread_mutex_destroy(&p->lock);
        lk_free(p);
        return NULL;
}

/* Whether node i may take a call now: alive, or dead long enough to try
 * again; *ret_check says its chain ID must be checked first. */
static bool usable(lk_rpc_pool *p, size_t i, lk_usec now, bool *ret_check) {
        node *n = &p->nodes[i];
        if (n->send_only)
                return false;
        if (n->error && now - n->dead_since < p->recheck_after)
                return false;
        *ret_check = !n->checked || n->error;
        return true;
}

static void mark(lk_rpc_pool *p, size_t i, const lk_err *why) {
        pthread_mutex_lock(&p->lock);
        node *n = &p->nodes[i];
        lk_freep(&n->error);
        if (why) {
                n->error = lk_strdup(why->msg);
                n->dead_since = lk_now_monotonic();
                n->checked = false;
        } else {
                n->checked = true;
        }
        pthread_mutex_unlock(&p->lock);
}

/* A failure that says the node, not the request, is at fault. */
static bool node_at_fault(int code) {
        return code != LK_RPC_ENODE;
}

/* What a pool call does on one node. */
typedef int (*node_fn)(lk_rpc *rpc, void *arg, lk_err *err);

/* fn on the first live node that answers; each node at fault is marked
 * dead and the next one tried. */
static int on_live_node(lk_rpc_pool *p, node_fn fn, void *arg, lk_err *err) {
        lk_buf why = LK_BUF_INIT;
        int r = -EHOSTUNREACH;
        for (size_t i = 0; i < p->count; i++) {
                bool check = false;
                pthread_mutex_lock(&p->lock);
                bool use = usable(p, i, lk_now_monotonic(), &check);
                pthread_mutex_unlock(&p->lock);
                if (!use)
                        continue;
                lk_err node_err = LK_ERR_INIT;
                if (check && lk_rpc_check_chain_id(p->nodes[i].rpc, (uint64_t)p->chain_id, NULL, &node_err) < 0) {
                        mark(p, i, &node_err);
                        lk_buf_printf(&why, "%s%s", why.len ? "; " : "", node_err.msg);
                        continue;
                }
                r = fn(p->nodes[i].rpc, arg, &node_err);
                if (r == 0 || !node_at_fault(r)) {
                        mark(p, i, NULL);
                        if (r < 0 && err)
                                *err = node_err;
                        goto out;
                }
                mark(p, i, &node_err);
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
} call_args;

static int call_on(lk_rpc *rpc, void *arg, lk_err *err) {
        call_args *a = arg;
        return lk_rpc_call(rpc, a->method, a->params ? json_incref(a->params) : NULL, a->ret_result, err);
}

int lk_rpc_pool_call(lk_rpc_pool *p, const char *method, json_t *params, json_t **ret_result, lk_err *err) {
        call_args a = {method, params, ret_result};
        int r = on_live_node(p, call_on, &a, err);
        json_decref(params);
        return r;
}

typedef struct batch_args {
        lk_rpc_request *requests;
        size_t count;
} batch_args;

/* Each try gets its own copy of the params, since lk_rpc_batch steals them. */
static int batch_on(lk_rpc *rpc, void *arg, lk_err *err) {
        batch_args *a = arg;
        lk_rpc_request *copy = lk_calloc(a->count, sizeof *copy);
        for (size_t i = 0; i < a->count; i++) {
                copy[i].method = a->requests[i].method;
                copy[i].params = a->requests[i].params ? json_incref(a->requests[i].params) : NULL;
        }
        int r = lk_rpc_batch(rpc, copy, a->count, err);
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

int lk_rpc_pool_send(lk_rpc_pool *p, const char *method, json_t *params, json_t **ret_result, lk_err *err) {
        for (size_t i = 0; i < p->count; i++) {
                if (!p->nodes[i].send_only)
                        continue;
                json_t *ignored = NULL;
                lk_rpc_call(p->nodes[i].rpc, method, json_incref(params), &ignored, NULL);
                json_decref(ignored);
        }
        return lk_rpc_pool_call(p, method, params, ret_result, err);
}

void lk_rpc_pool_health(lk_rpc_pool *p, lk_health_report *report) {
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < p->count; i++)
                lk_health_report_set(report, p->nodes[i].health_name, p->nodes[i].error);
        pthread_mutex_unlock(&p->lock);
}
