/* libFuzzer target for the decoders of RPC answers: the input, parsed as
 * JSON, and every value inside it are decoded as a QUANTITY (64-bit and
 * 256-bit), as DATA of 20 and 32 bytes, as a block, as a log and as a
 * receipt (of the hash in its own transactionHash, and of another); the
 * input itself is also read as a JSON-RPC response, as both transports
 * read one, and its result as an eth_chainId answer.  A rejection must come with a
 * message; an accepted quantity must print back to the same text (but
 * for the case of its digits). */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evm/jsonrpc.h"
#include "linkd/heads.h"
#include "linkd/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

static void decode(const json_t *v, int depth) {
        uint64_t q;
        uint8_t word[32], address[20];
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_quantity(v, &q, &err) == 0) {
                char text[24];
                snprintf(text, sizeof text, "0x%" PRIx64, q);
                check(strcasecmp(text, json_string_value(v)) == 0); /* nodes may answer in either case, as geth reads */
        } else {
                check(err.msg[0] != '\0' && err.code == -EPROTO);
        }
        lk_err_clear(&err);
        if (lk_rpc_quantity_word(v, word, &err) < 0)
                check(err.msg[0] != '\0');
        lk_err_clear(&err);
        if (lk_rpc_data(v, address, sizeof address, &err) < 0)
                check(err.msg[0] != '\0');
        lk_err_clear(&err);
        if (lk_rpc_data(v, word, sizeof word, &err) < 0)
                check(err.msg[0] != '\0');
        lk_head head;
        lk_evm_log log;
        lk_err_clear(&err);
        if (lk_rpc_block_head(v, &head, &err) < 0)
                check(err.msg[0] != '\0');
        else
                check(head.number >= 0 && head.timestamp >= 0);
        lk_err_clear(&err);
        if (lk_rpc_log(v, &log, &err) < 0)
                check(err.msg[0] != '\0');
        else
                check(log.topic_count <= LK_LOG_MAX_TOPICS && log.data_hex[0] == '0');
        lk_err_clear(&err);
        lk_rpc_receipt receipt = {.found = false};
        uint8_t hash[32] = {0};
        if (json_is_object(v))
                lk_rpc_data(json_object_get(v, "transactionHash"), hash, 32, NULL);
        if (lk_rpc_receipt_decode(v, hash, &receipt, &err) < 0)
                check(err.msg[0] != '\0');
        else
                check(!receipt.found || (receipt.status <= 1 && receipt.block_number <= INT64_MAX));
        if (depth == 0)
                return;
        size_t i;
        const char *key;
        json_t *child;
        if (json_is_array(v))
                json_array_foreach(v, i, child) decode(child, depth - 1);
        else if (json_is_object(v))
                json_object_foreach((json_t *)v, key, child) decode(child, depth - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_error_t error;
        json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, &error);
        if (!v)
                return 0;
        decode(v, 8);
        json_t *result = NULL, *node_error = NULL;
        lk_err err = LK_ERR_INIT;
        int r = lk__jsonrpc_result("fuzz", "eth_chainId", v, &result, &node_error, &err);
        /* the error object comes back exactly when the node's error does */
        check((node_error != NULL) == (r == LK_RPC_ENODE));
        json_decref(node_error);
        if (r < 0) {
                check(err.msg[0] != '\0' && (r == LK_RPC_ENODE || r == -EPROTO) && !result);
        } else {
                uint64_t id = 0;
                lk_err_clear(&err);
                if (lk__jsonrpc_chain_id("fuzz", result, 1337, &id, &err) < 0)
                        check(err.msg[0] != '\0');
                else
                        check(id == 1337);
        }
        json_decref(result);
        json_decref(v);
        return 0;
}
