/* A JSON-RPC 2.0 client for one Ethereum node over WebSocket
 * (libwebsockets, on a service thread of its own): calls, any number in
 * flight at once and matched by id, and the newHeads subscription.
 *
 * The connection is made in the background from lk_rpc_ws_new on, and
 * made again after it drops, with a backoff that doubles from
 * backoff_min to backoff_max; each new connection subscribes again.
 * When it drops, the calls waiting for an answer fail at once; calls
 * made while it is down fail at once (-ENOTCONN); calls made while it
 * is being made wait for it within their timeout.
 *
 * A node's answer is never trusted, as with lk_rpc (linkd/rpc.h): a
 * message that is not JSON, or larger than max_message, is a broken
 * connection (the calls in flight fail with -EPROTO and it is made
 * again); an answer to a call that is malformed fails that call
 * (-EPROTO); answers to no call in flight and invalid notifications are
 * counted and ignored.  Errors name the node by its configured name,
 * never by its URL (URLs often carry an API key).  Thread-safe. */
#ifndef LINKD_RPC_WS_H
#define LINKD_RPC_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "linkd/err.h"
#include "linkd/time.h"

struct lk_head;
struct lk_rpc_request;

typedef struct lk_rpc_ws lk_rpc_ws;

/* Called on the client's thread when the connection is made (connected,
 * why NULL) and when it drops or cannot be made (why says why, naming
 * the node).  Must not call the client. */
typedef void (*lk_rpc_ws_state_fn)(void *arg, bool connected, const char *why);

typedef struct lk_rpc_ws_options {
        const char *name;      /* for messages, e.g. "primary" */
        const char *url;       /* ws:// or wss://; kept secret */
        lk_usec timeout;       /* per call, and to connect; 0 = 10 s */
        lk_usec backoff_min;   /* the first wait before connecting again; 0 = 1 s */
        lk_usec backoff_max;   /* 0 = 30 s */
        size_t max_message;    /* the largest message taken; 0 = 32 MiB */
        const char *ca_file;   /* wss://: the CAs to trust (PEM); NULL: the system's */
        lk_rpc_ws_state_fn on_state; /* may be NULL */
        void *arg;
} lk_rpc_ws_options;

/* -EINVAL for a URL that is not ws:// or wss://; the node need not be
 * up (the client keeps trying). */
int lk_rpc_ws_new(const lk_rpc_ws_options *options, lk_rpc_ws **ret, lk_err *err);
lk_rpc_ws *lk_rpc_ws_free(lk_rpc_ws *ws);

/* As lk_rpc_call: params is an array and is stolen (NULL: []); the
 * result is a new reference.  LK_RPC_ENODE for the node's own error,
 * -ETIMEDOUT, -ENOTCONN (not connected), -ECONNREFUSED (the connection
 * could not be made), -ECONNRESET (it dropped before the answer) and
 * -EPROTO (a malformed answer); -EDEADLK from the client's own thread
 * (a callback). */
int lk_rpc_ws_call(lk_rpc_ws *ws, const char *method, json_t *params, json_t **ret_result, lk_err *err);
/* As lk_rpc_call_error (linkd/rpc.h), over WebSocket. */
int lk_rpc_ws_call_error(lk_rpc_ws *ws, const char *method, json_t *params, json_t **ret_result, json_t **ret_error,
                         lk_err *err);

/* As lk_rpc_batch (linkd/rpc.h), over WebSocket: the requests go as
 * calls one after the other, each with its own timeout, and each gets
 * its own status (0, LK_RPC_ENODE, -EPROTO for a malformed answer).
 * When one fails because the connection did (not connected, dropped,
 * silent) the batch stops and returns that error, with no result in
 * any request. */
int lk_rpc_ws_batch(lk_rpc_ws *ws, struct lk_rpc_request *requests, size_t count, lk_err *err);

/* As lk_rpc_check_chain_id: eth_chainId, checked against want (0: any);
 * -EINVAL on a mismatch. */
int lk_rpc_ws_check_chain_id(lk_rpc_ws *ws, uint64_t want, uint64_t *ret_chain_id, lk_err *err);

/* Called on the client's thread with each head the node announces (a
 * newHeads notification, decoded by lk_rpc_block_head).  Must not call
 * the client. */
typedef void (*lk_rpc_ws_head_fn)(void *arg, const struct lk_head *head);

/* Subscribes to newHeads now if connected, and on every connection from
 * now on; lk_rpc_ws_status says whether the subscription is live.
 * -EBUSY when the client already has a subscriber. */
int lk_rpc_ws_subscribe_heads(lk_rpc_ws *ws, lk_rpc_ws_head_fn fn, void *arg, lk_err *err);
/* Ends the subscription; once it returns, fn is not running and is not
 * called again (unless called from fn itself). */
void lk_rpc_ws_unsubscribe_heads(lk_rpc_ws *ws);

typedef struct lk_rpc_ws_status {
        bool connected;
        bool subscribed;       /* the newHeads subscription is live */
        uint64_t connections;  /* made so far: more than one means it reconnected */
        uint64_t heads;        /* heads given to the subscriber */
        uint64_t ignored;      /* invalid notifications, answers to no call in flight */
        /* why it is not connected, or (with a subscriber) not subscribed;
         * "" otherwise */
        char error[LK_ERR_MSG_MAX];
} lk_rpc_ws_status;

void lk_rpc_ws_status_get(lk_rpc_ws *ws, lk_rpc_ws_status *ret);

#endif
