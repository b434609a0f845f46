/* See include/linkd/rpc.h. */
#include "linkd/rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/heads.h"
#include "linkd/hex.h"

#include "evm/jsonrpc.h"

#define DEFAULT_TIMEOUT (10 * LK_USEC_PER_SEC)
#define MAX_RESPONSE (64u << 20) /* a block with its transactions, a page of logs */

struct lk_rpc {
        char *name;
        char *url;
        lk_usec timeout;
        pthread_mutex_t lock; /* one exchange at a time on the handle */
        CURL *curl;
        struct curl_slist *headers;
        uint64_t next_id;
};

int lk_rpc_new(const lk_rpc_options *o, lk_rpc **ret, lk_err *err) {
        if (!o->url || (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0))
                return lk_err_set(err, -EINVAL, "RPC node %s: the URL must be http:// or https://",
                                  o->name ? o->name : "?");
        lk_rpc *rpc = lk_calloc(1, sizeof *rpc);
        rpc->name = lk_strdup(o->name ? o->name : "node");
        rpc->url = lk_strdup(o->url);
        rpc->timeout = o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
        pthread_mutex_init(&rpc->lock, NULL);
        rpc->curl = curl_easy_init();
        rpc->headers = curl_slist_append(NULL, "Content-Type: application/json");
        rpc->next_id = 1;
        *ret = rpc;
        return 0;
}

lk_rpc *lk_rpc_free(lk_rpc *rpc) {
        if (!rpc)
                return NULL;
        curl_easy_cleanup(rpc->curl);
        curl_slist_free_all(rpc->headers);
        pthread_mutex_destroy(&rpc->lock);
        explicit_bzero(rpc->url, strlen(rpc->url));
        lk_free(rpc->url);
        lk_free(rpc->name);
        lk_free(rpc);
        return NULL;
}

/* ---- the exchange ---- */

static size_t on_data(char *data, size_t size, size_t count, void *arg) {
        lk_buf *b = arg;
        size_t n = size * count;
        if (b->len + n > MAX_RESPONSE)
                return 0; /* curl reports a write error */
        lk_buf_append(b, data, n);
        return n;
}

/* POSTs body and parses the answer as JSON.  Under rpc->lock. */
static int exchange(lk_rpc *rpc, const char *body, json_t **ret, lk_err *err) {
        lk_buf response = LK_BUF_INIT;
        CURL *c = rpc->curl;
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, rpc->url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, rpc->headers);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(rpc->timeout / LK_USEC_PER_MSEC));
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        int r = 0;
        if (rc == CURLE_OPERATION_TIMEDOUT)
                r = lk_err_set(err, -ETIMEDOUT, "RPC node %s: no answer within %lld ms", rpc->name,
                               (long long)(rpc->timeout / LK_USEC_PER_MSEC));
        else if (rc == CURLE_WRITE_ERROR)
                r = lk_err_set(err, -EPROTO, "RPC node %s: answer larger than %u bytes", rpc->name, MAX_RESPONSE);
        else if (rc != CURLE_OK)
                r = lk_err_set(err, -ECONNREFUSED, "RPC node %s: %s", rpc->name, curl_easy_strerror(rc));
        else if (status != 200)
                r = lk_err_set(err, -EPROTO, "RPC node %s: HTTP status %ld", rpc->name, status);
        if (r == 0) {
                json_error_t error;
                *ret = json_loadb(lk_buf_str(&response), response.len, 0, &error);
                if (!*ret)
                        r = lk_err_set(err, -EPROTO, "RPC node %s: answer is not JSON: %s", rpc->name, error.text);
        }
        lk_buf_done(&response);
        return r;
}

json_t *lk__jsonrpc_request(const char *method, json_t *params, uint64_t id) {
        return json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method, "params",
                         params ? params : json_array());
}

int lk__jsonrpc_result(const char *node, const char *method, json_t *response, json_t **ret, json_t **ret_error,
                       lk_err *err) {
        if (!json_is_object(response))
                return lk_err_set(err, -EPROTO, "RPC node %s: %s: the answer is not an object", node, method);
        json_t *error = json_object_get(response, "error");
        if (error && !json_is_null(error)) {
                const char *message = json_string_value(json_object_get(error, "message"));
                if (ret_error)
                        *ret_error = json_incref(error);
                return lk_err_set(err, LK_RPC_ENODE, "RPC node %s: %s: %s", node, method,
                                  message ? message : "error without a message");
        }
        json_t *result = json_object_get(response, "result");
        if (!result)
                return lk_err_set(err, -EPROTO, "RPC node %s: %s: the answer has no result", node, method);
        *ret = json_incref(result);
        return 0;
}

int lk_rpc_call(lk_rpc *rpc, const char *method, json_t *params, json_t **ret_result, lk_err *err) {
        return lk_rpc_call_error(rpc, method, params, ret_result, NULL, err);
}

int lk_rpc_call_error(lk_rpc *rpc, const char *method, json_t *params, json_t **ret_result, json_t **ret_error,
                      lk_err *err) {
        pthread_mutex_lock(&rpc->lock);
        uint64_t id = rpc->next_id++;
        json_t *request = lk__jsonrpc_request(method, params, id);
        char *body = json_dumps(request, JSON_COMPACT);
        json_decref(request);
        json_t *response = NULL;
        int r = exchange(rpc, body, &response, err);
        pthread_mutex_unlock(&rpc->lock);
        free(body);
        if (r < 0)
                return r;
        json_t *got_id = json_object_get(response, "id");
        if (json_is_object(response) && (!json_is_integer(got_id) || (uint64_t)json_integer_value(got_id) != id))
                r = lk_err_set(err, -EPROTO, "RPC node %s: %s: the answer is for another request", rpc->name, method);
        else
                r = lk__jsonrpc_result(rpc->name, method, response, ret_result, ret_error, err);
        json_decref(response);
        return r;
}

int lk_rpc_batch(lk_rpc *rpc, lk_rpc_request *requests, size_t count, lk_err *err) {
        if (count == 0)
                return 0;
        pthread_mutex_lock(&rpc->lock);
        uint64_t first = rpc->next_id;
        rpc->next_id += count;
        json_t *batch = json_array();
        for (size_t i = 0; i < count; i++) {
                json_array_append_new(batch, lk__jsonrpc_request(requests[i].method, requests[i].params, first + i));
                requests[i].params = NULL;
                requests[i].result = NULL;
                requests[i].status = lk_err_set(&requests[i].err, -EPROTO, "RPC node %s: %s: no answer in the batch",
                                                rpc->name, requests[i].method);
        }
        char *body = json_dumps(batch, JSON_COMPACT);
        json_decref(batch);
        json_t *responses = NULL;
        int r = exchange(rpc, body, &responses, err);
        pthread_mutex_unlock(&rpc->lock);
        free(body);
        if (r < 0)
                return r;
        if (!json_is_array(responses)) {
                json_decref(responses);
                return lk_err_set(err, -EPROTO, "RPC node %s: the answer to a batch is not an array", rpc->name);
        }
        size_t i;
        json_t *response;
        json_array_foreach(responses, i, response) {
                json_t *id = json_object_get(response, "id");
                if (!json_is_integer(id))
                        continue;
                uint64_t k = (uint64_t)json_integer_value(id) - first;
                if (k >= count || requests[k].result)
                        continue;
                lk_err_clear(&requests[k].err);
                requests[k].status = lk__jsonrpc_result(rpc->name, requests[k].method, response, &requests[k].result,
                                                         NULL, &requests[k].err);
        }
        json_decref(responses);
        return 0;
}

int lk__jsonrpc_chain_id(const char *node, const json_t *result, uint64_t want, uint64_t *ret, lk_err *err) {
        uint64_t got = 0;
        int r = lk_rpc_quantity(result, &got, err);
        if (r < 0) {
                lk_err_prefix(err, "RPC node %s: eth_chainId", node);
                return r;
        }
        if (want && got != want)
                return lk_err_set(err, -EINVAL, "RPC node %s: chain ID %llu, but the chain is configured as %llu",
                                  node, (unsigned long long)got, (unsigned long long)want);
        if (ret)
                *ret = got;
        return 0;
}

int lk_rpc_check_chain_id(lk_rpc *rpc, uint64_t want, uint64_t *ret_chain_id, lk_err *err) {
        json_t *result = NULL;
        int r = lk_rpc_call(rpc, "eth_chainId", NULL, &result, err);
        if (r == 0)
                r = lk__jsonrpc_chain_id(rpc->name, result, want, ret_chain_id, err);
        json_decref(result);
        return r;
}

/* ---- decoding ---- */

/* The hex digits after "0x" of a JSON string, or NULL. */
static const char *hex_digits(const json_t *v) {
        const char *s = json_string_value(v);
        if (!s || s[0] != '0' || s[1] != 'x')
                return NULL;
        return s + 2;
}

static int data_hex(const json_t *v, const char **ret, lk_err *err) {
        const char *d = hex_digits(v);
        if (!d || strlen(d) % 2)
                return lk_err_set(err, -EPROTO, "data is not 0x and an even number of hex digits");
        for (const char *p = d; *p; p++)
                if (lk_hex_digit(*p) < 0)
                        return lk_err_set(err, -EPROTO, "data is not hex");
        *ret = json_string_value(v);
        return 0;
}

static int quantity_digits(const json_t *v, const char **ret, size_t max_digits, lk_err *err) {
        const char *d = hex_digits(v);
        if (!d)
                return lk_err_set(err, -EPROTO, "quantity is not a 0x-prefixed string");
        size_t n = strlen(d);
        if (n == 0 || n > max_digits)
                return lk_err_set(err, -EPROTO, "quantity has %zu hex digits (1 to %zu)", n, max_digits);
        if (n > 1 && d[0] == '0')
                return lk_err_set(err, -EPROTO, "quantity has leading zeros");
        for (size_t i = 0; i < n; i++)
                if (lk_hex_digit(d[i]) < 0)
                        return lk_err_set(err, -EPROTO, "quantity is not hex");
        *ret = d;
        return 0;
}

int lk_rpc_quantity(const json_t *v, uint64_t *ret, lk_err *err) {
        const char *d;
        int r = quantity_digits(v, &d, 16, err);
        if (r < 0)
                return r;
        uint64_t x = 0;
        for (; *d; d++)
                x = x << 4 | (uint64_t)lk_hex_digit(*d);
        *ret = x;
        return 0;
}

int lk_rpc_quantity_word(const json_t *v, uint8_t out[static 32], lk_err *err) {
        const char *d;
        int r = quantity_digits(v, &d, 64, err);
        if (r < 0)
                return r;
        size_t n = strlen(d);
        memset(out, 0, 32);
        for (size_t i = 0; i < n; i++) {
                int digit = lk_hex_digit(d[n - 1 - i]);
                out[31 - i / 2] |= (uint8_t)(i % 2 ? digit << 4 : digit);
        }
        return 0;
}

int lk_rpc_data(const json_t *v, uint8_t *out, size_t len, lk_err *err) {
        const char *d = hex_digits(v);
        if (!d)
                return lk_err_set(err, -EPROTO, "data is not a 0x-prefixed string");
        if (strlen(d) != 2 * len)
                return lk_err_set(err, -EPROTO, "data has %zu hex digits, not %zu", strlen(d), 2 * len);
        for (size_t i = 0; i < len; i++) {
                int hi = lk_hex_digit(d[2 * i]), lo = lk_hex_digit(d[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return lk_err_set(err, -EPROTO, "data is not hex");
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

int lk_rpc_bytes(const json_t *v, uint8_t **ret, size_t *ret_len, lk_err *err) {
        const char *text;
        int r = data_hex(v, &text, err);
        if (r < 0)
                return r;
        size_t len = (strlen(text) - 2) / 2;
        uint8_t *b = lk_malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
                b[i] = (uint8_t)(lk_hex_digit(text[2 + 2 * i]) << 4 | lk_hex_digit(text[3 + 2 * i]));
        *ret = b;
        *ret_len = len;
        return 0;
}

json_t *lk_rpc_hex(const uint8_t *b, size_t len) {
        char *text = lk_malloc(2 * len + 3);
        text[0] = '0';
        text[1] = 'x';
        lk_hex_encode(text + 2, b, len);
        json_t *s = json_string(text);
        lk_free(text);
        return s;
}

json_t *lk_rpc_quantity_json(uint64_t v) {
        char text[24];
        snprintf(text, sizeof text, "0x%llx", (unsigned long long)v);
        return json_string(text);
}

/* Decodes member key with fn, prefixing errors with the member's name. */
#define MEMBER(what, fn, object, key, ...)                                                                          \
        do {                                                                                                       \
                int r_ = fn(json_object_get(object, key), __VA_ARGS__, err);                                       \
                if (r_ < 0) {                                                                                      \
                        lk_err_prefix(err, "%s.%s", what, key);                                                    \
                        return r_;                                                                                 \
                }                                                                                                  \
        } while (0)

int lk_rpc_block_head(const json_t *block, struct lk_head *ret, lk_err *err) {
        if (!json_is_object(block))
                return lk_err_set(err, -EPROTO, "block is not an object");
        lk_head h = {.number = 0};
        uint64_t number, timestamp;
        MEMBER("block", lk_rpc_quantity, block, "number", &number);
        MEMBER("block", lk_rpc_data, block, "hash", h.hash, 32);
        MEMBER("block", lk_rpc_data, block, "parentHash", h.parent_hash, 32);
        MEMBER("block", lk_rpc_quantity, block, "timestamp", &timestamp);
        if (number > INT64_MAX || timestamp > INT64_MAX)
                return lk_err_set(err, -EPROTO, "block: number or timestamp out of range");
        h.number = (int64_t)number;
        h.timestamp = (int64_t)timestamp;
        *ret = h;
        return 0;
}

int lk_rpc_log(const json_t *log, lk_evm_log *ret, lk_err *err) {
        if (!json_is_object(log))
                return lk_err_set(err, -EPROTO, "log is not an object");
        lk_evm_log l = {.topic_count = 0};
        MEMBER("log", lk_rpc_data, log, "address", l.address, 20);
        const json_t *topics = json_object_get(log, "topics");
        if (!json_is_array(topics) || json_array_size(topics) > LK_LOG_MAX_TOPICS)
                return lk_err_set(err, -EPROTO, "log.topics is not a list of at most %d topics", LK_LOG_MAX_TOPICS);
        for (size_t i = 0; i < json_array_size(topics); i++) {
                int r = lk_rpc_data(json_array_get(topics, i), l.topics[i], 32, err);
                if (r < 0) {
                        lk_err_prefix(err, "log.topics[%zu]", i);
                        return r;
                }
        }
        l.topic_count = json_array_size(topics);
        MEMBER("log", data_hex, log, "data", &l.data_hex);
        MEMBER("log", lk_rpc_quantity, log, "blockNumber", &l.block_number);
        MEMBER("log", lk_rpc_data, log, "blockHash", l.block_hash, 32);
        MEMBER("log", lk_rpc_data, log, "transactionHash", l.tx_hash, 32);
        MEMBER("log", lk_rpc_quantity, log, "logIndex", &l.log_index);
        const json_t *removed = json_object_get(log, "removed");
        if (removed && !json_is_boolean(removed))
                return lk_err_set(err, -EPROTO, "log.removed is not a boolean");
        l.removed = json_is_true(removed);
        *ret = l;
        return 0;
}

json_t *lk_rpc_logs_filter(uint64_t from, uint64_t to, const uint8_t *addresses, size_t address_count,
                           const uint8_t *topics, size_t topic_count) {
        json_t *filter = json_pack("{s:o, s:o}", "fromBlock", lk_rpc_quantity_json(from), "toBlock",
                                   lk_rpc_quantity_json(to));
        if (address_count) {
                json_t *list = json_array();
                for (size_t i = 0; i < address_count; i++)
                        json_array_append_new(list, lk_rpc_hex(addresses + 20 * i, 20));
                json_object_set_new(filter, "address", list);
        }
        if (topic_count) {
                json_t *first = json_array();
                for (size_t i = 0; i < topic_count; i++)
                        json_array_append_new(first, lk_rpc_hex(topics + 32 * i, 32));
                json_object_set_new(filter, "topics", json_pack("[o]", first));
        }
        return filter;
}

int lk_rpc_logs_decode(json_t *result, lk_rpc_logs *ret, lk_err *err) {
        if (!json_is_array(result)) {
                json_decref(result);
                return lk_err_set(err, -EPROTO, "eth_getLogs: the answer is not a list");
        }
        lk_rpc_logs logs = {.json = result, .count = 0};
        logs.items = lk_calloc(json_array_size(result) ? json_array_size(result) : 1, sizeof *logs.items);
        for (size_t i = 0; i < json_array_size(result); i++) {
                int r = lk_rpc_log(json_array_get(result, i), &logs.items[logs.count], err);
                if (r < 0) {
                        lk_err_prefix(err, "eth_getLogs[%zu]", i);
                        lk_rpc_logs_free(&logs);
                        return -EPROTO;
                }
                logs.count++;
        }
        *ret = logs;
        return 0;
}

int lk_rpc_get_logs(lk_rpc *rpc, uint64_t from, uint64_t to, const uint8_t *addresses, size_t address_count,
                    const uint8_t *topics, size_t topic_count, lk_rpc_logs *ret, lk_err *err) {
        json_t *filter = lk_rpc_logs_filter(from, to, addresses, address_count, topics, topic_count);
        json_t *result = NULL;
        int r = lk_rpc_call(rpc, "eth_getLogs", json_pack("[o]", filter), &result, err);
        if (r < 0)
                return r;
        if ((r = lk_rpc_logs_decode(result, ret, err)) < 0)
                lk_err_prefix(err, "RPC node %s", rpc->name);
        return r;
}

void lk_rpc_logs_free(lk_rpc_logs *logs) {
        lk_free(logs->items);
        json_decref(logs->json);
        *logs = (lk_rpc_logs){.items = NULL};
}

int lk_rpc_receipt_decode(const json_t *v, const uint8_t hash[static 32], lk_rpc_receipt *ret, lk_err *err) {
        if (json_is_object(v) &&
            (json_is_null(json_object_get(v, "blockHash")) || json_is_null(json_object_get(v, "blockNumber"))))
                v = json_null(); /* pending: no receipt yet */
        if (json_is_null(v)) {
                *ret = (lk_rpc_receipt){.found = false};
                return 0;
        }
        if (!json_is_object(v))
                return lk_err_set(err, -EPROTO, "receipt is not an object");
        uint8_t tx_hash[32];
        lk_rpc_receipt r = {.found = true};
        int code;
        if ((code = lk_rpc_data(json_object_get(v, "transactionHash"), tx_hash, 32, err)) < 0 ||
            (code = lk_rpc_data(json_object_get(v, "blockHash"), r.block_hash, 32, err)) < 0 ||
            (code = lk_rpc_quantity(json_object_get(v, "blockNumber"), &r.block_number, err)) < 0 ||
            (code = lk_rpc_quantity(json_object_get(v, "transactionIndex"), &r.index, err)) < 0 ||
            (code = lk_rpc_quantity(json_object_get(v, "status"), &r.status, err)) < 0 ||
            (code = lk_rpc_quantity(json_object_get(v, "gasUsed"), &r.gas_used, err)) < 0)
                return lk_err_prefix(err, "receipt"), code;
        if (memcmp(tx_hash, hash, 32) != 0)
                return lk_err_set(err, -EPROTO, "receipt is for another transaction");
        if (r.block_number > INT64_MAX || r.index > INT64_MAX || r.gas_used > INT64_MAX || r.status > 1)
                return lk_err_set(err, -EPROTO, "receipt has a block number, index, gas or status out of range");
        *ret = r;
        return 0;
}
