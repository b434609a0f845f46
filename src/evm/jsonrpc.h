/* What the HTTP and the WebSocket JSON-RPC clients share: the request
 * object they send and the reading of one response object, so that both
 * transports judge a node's answer by the same rules and say so in the
 * same words. */
#ifndef LINKD_EVM_JSONRPC_H
#define LINKD_EVM_JSONRPC_H

#include <stdint.h>

#include <jansson.h>

#include "linkd/err.h"

/* {"jsonrpc":"2.0","id":id,"method":method,"params":params}; params is
 * stolen (NULL: []). */
json_t *lk__jsonrpc_request(const char *method, json_t *params, uint64_t id);

/* A response object's result (a new reference), or its error:
 * LK_RPC_ENODE with the node's message (and, when ret_error is not NULL,
 * the error object itself in *ret_error, a new reference), -EPROTO when
 * it is malformed.  node names the node in messages. */
int lk__jsonrpc_result(const char *node, const char *method, json_t *response, json_t **ret, json_t **ret_error,
                       lk_err *err);

/* The result of eth_chainId, checked against want (0: any): -EPROTO when
 * it is not a QUANTITY, -EINVAL on a mismatch. */
int lk__jsonrpc_chain_id(const char *node, const json_t *result, uint64_t want, uint64_t *ret, lk_err *err);

#endif
