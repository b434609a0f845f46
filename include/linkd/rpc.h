/* A JSON-RPC 2.0 client for one Ethereum node over HTTP (libcurl): single
 * calls and batches, each with its own timeout, and strict decoders for
 * what nodes answer (quantities, fixed-length data).  A node's answer is
 * never trusted: malformed JSON, a missing result, a response to another
 * id, a quantity with leading zeros: each is an error saying what, never a
 * crash.  Errors name the node by its configured name, never by its URL
 * (URLs often carry an API key).  Calls on one client are serialised. */
#ifndef LINKD_RPC_H
#define LINKD_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "linkd/err.h"
#include "linkd/time.h"

/* The node answered with a JSON-RPC error: err holds its message. */
#define LK_RPC_ENODE (-EREMOTEIO)

typedef struct lk_rpc lk_rpc;

typedef struct lk_rpc_options {
        const char *name;  /* for messages, e.g. "primary" */
        const char *url;   /* http:// or https://; kept secret */
        lk_usec timeout;   /* per call; 0 = 10 s */
} lk_rpc_options;

int lk_rpc_new(const lk_rpc_options *options, lk_rpc **ret, lk_err *err);
lk_rpc *lk_rpc_free(lk_rpc *rpc);

/* method(params): params is an array and is stolen (NULL: []); the result
 * is a new reference.  LK_RPC_ENODE for the node's own error, -ETIMEDOUT,
 * -ECONNREFUSED and -EPROTO (a malformed answer) otherwise. */
int lk_rpc_call(lk_rpc *rpc, const char *method, json_t *params, json_t **ret_result, lk_err *err);
/* As lk_rpc_call; on LK_RPC_ENODE, when ret_error is not NULL, also the
 * node's error object as it came ({"code", "message", "data"}; a new
 * reference), for callers that read more than the message: a reverted
 * eth_call's return data. */
int lk_rpc_call_error(lk_rpc *rpc, const char *method, json_t *params, json_t **ret_result, json_t **ret_error,
                      lk_err *err);

typedef struct lk_rpc_request {
        const char *method;
        json_t *params;  /* stolen by lk_rpc_batch */
        json_t *result;  /* set on success; json_decref it */
        int status;      /* 0 or the call's error code, its message in err */
        lk_err err;
} lk_rpc_request;

/* The requests in one HTTP exchange; answers are matched by id whatever
 * their order.  Returns an error only when the exchange itself failed;
 * each request has its own status. */
int lk_rpc_batch(lk_rpc *rpc, lk_rpc_request *requests, size_t count, lk_err *err);

/* eth_chainId, checked against want (0: any); -EINVAL on a mismatch. */
int lk_rpc_check_chain_id(lk_rpc *rpc, uint64_t want, uint64_t *ret_chain_id, lk_err *err);

/* ---- decoding answers ---- */

/* A QUANTITY: "0x" and hex digits, no leading zeros ("0x0" for zero). */
int lk_rpc_quantity(const json_t *v, uint64_t *ret, lk_err *err);
int lk_rpc_quantity_word(const json_t *v, uint8_t out[static 32], lk_err *err);
/* DATA of exactly len bytes ("0x" and 2·len hex digits). */
int lk_rpc_data(const json_t *v, uint8_t *out, size_t len, lk_err *err);
/* DATA of any length, into *ret (lk_malloc'd, never NULL; lk_free it). */
int lk_rpc_bytes(const json_t *v, uint8_t **ret, size_t *ret_len, lk_err *err);
/* A JSON string "0x…" of bytes (hex encoded), for requests. */
json_t *lk_rpc_hex(const uint8_t *b, size_t len);
/* A JSON QUANTITY string for requests ("0x0", "0x1a"). */
json_t *lk_rpc_quantity_json(uint64_t v);

/* A block object (eth_getBlockByNumber/Hash, newHeads) as a head:
 * number, hash, parentHash and timestamp, each checked. */
struct lk_head;
int lk_rpc_block_head(const json_t *block, struct lk_head *ret, lk_err *err);

/* A log object (eth_getLogs, receipts, logs subscriptions). */
#define LK_LOG_MAX_TOPICS 4
typedef struct lk_evm_log {
        uint8_t address[20];
        uint8_t topics[LK_LOG_MAX_TOPICS][32];
        size_t topic_count;
        const char *data_hex; /* borrowed from the JSON: "0x…", checked to be hex */
        uint64_t block_number;
        uint8_t block_hash[32];
        uint8_t tx_hash[32];
        uint64_t log_index;
        bool removed;
} lk_evm_log;
int lk_rpc_log(const json_t *log, lk_evm_log *ret, lk_err *err);

/* eth_getTransactionReceipt's answer for the transaction hash: found
 * false for null or a receipt not yet in a block; -EPROTO for a malformed
 * one or one of another transaction. */
typedef struct lk_rpc_receipt {
        bool found;
        uint8_t block_hash[32];
        uint64_t block_number, index, status, gas_used;
} lk_rpc_receipt;
int lk_rpc_receipt_decode(const json_t *v, const uint8_t hash[static 32], lk_rpc_receipt *ret, lk_err *err);

/* eth_getLogs over blocks from..to for any of the address_count
 * addresses (20 bytes each, back to back; none: all) with topic0 one of
 * the topic_count topics (32 bytes each; none: any); the logs into *ret
 * (free with lk_rpc_logs_free; their data point into it) in the node's
 * order. */
typedef struct lk_rpc_logs {
        lk_evm_log *items;
        size_t count;
        json_t *json; /* what the data strings belong to */
} lk_rpc_logs;
int lk_rpc_get_logs(lk_rpc *rpc, uint64_t from, uint64_t to, const uint8_t *addresses, size_t address_count,
                    const uint8_t *topics, size_t topic_count, lk_rpc_logs *ret, lk_err *err);
void lk_rpc_logs_free(lk_rpc_logs *logs);
/* The two halves of lk_rpc_get_logs, for other transports: the filter
 * object of eth_getLogs's params, and its answer (stolen) decoded. */
json_t *lk_rpc_logs_filter(uint64_t from, uint64_t to, const uint8_t *addresses, size_t address_count,
                           const uint8_t *topics, size_t topic_count);
int lk_rpc_logs_decode(json_t *result, lk_rpc_logs *ret, lk_err *err);

#endif
