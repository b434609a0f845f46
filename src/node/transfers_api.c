/* See transfers_api.h. */
#include "transfers_api.h"

#include <errno.h>
#include <gmp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "linkd/alloc.h"
#include "linkd/app.h"
#include "linkd/auth.h"
#include "linkd/chain.h"
#include "linkd/decimal.h"
#include "linkd/hex.h"
#include "linkd/txm.h"

typedef struct transfer {
        lk_chain *chain;
        lk_txm_request rq;
        mpz_t wei;
        bool allow_higher;
} transfer;

static bool address_member(const lk_value *body, const char *key, uint8_t out[static LK_ADDRESS_LEN],
                           lk_web_response *response) {
        const char *text;
        if (!lk__api_string_member(body, key, false, &text, response))
                return false;
        if (!lk_hex_decode_prefixed(text, out, LK_ADDRESS_LEN)) {
                lk_web_response_error(response, 422, "%s: an address is 0x and 40 hex digits", key);
                return false;
        }
        return true;
}

/* Ether as a decimal ("0.01") to whole wei below 2^256. */
static bool amount_member(const lk_value *body, mpz_t ret, lk_web_response *response) {
        const char *text;
        if (!lk__api_string_member(body, "amount", false, &text, response))
                return false;
        lk_decimal amount, ether, wei;
        lk_decimal_init(&amount);
        lk_decimal_init(&ether);
        lk_decimal_init(&wei);
        lk_err err = LK_ERR_INIT;
        bool ok = lk_decimal_parse(&amount, text, &err) == 0 && lk_decimal_parse(&ether, "1e18", &err) == 0 &&
                  lk_decimal_mul(&wei, &amount, &ether, &err) == 0;
        if (!ok)
                lk_web_response_error(response, 422, "amount: %s", err.msg);
        else if (lk_decimal_sign(&wei) <= 0 || !lk_decimal_is_integer(&wei))
                ok = false, lk_web_response_error(response, 422, "amount: %s is not a positive number of wei", text);
        if (ok) {
                lk_decimal_to_mpz(&wei, ret);
                if (mpz_sizeinbase(ret, 2) > 256)
                        ok = false, lk_web_response_error(response, 422, "amount: %s is too large", text);
        }
        lk_decimal_clear(&amount);
        lk_decimal_clear(&ether);
        lk_decimal_clear(&wei);
        return ok;
}

/* The chain named by evmChainID (a decimal string or a number), or the
 * node's only chain when it is absent. */
static bool chain_member(struct lk_app *app, const lk_value *body, lk_chain **ret, lk_web_response *response) {
        const lk_value *v = lk_value_map_get(body, "evmChainID", strlen("evmChainID"));
        int64_t id = 0;
        if (!v || lk_value_type_of(v) == LK_VALUE_NULL) {
                if (lk_app_chain_count(app) != 1) {
                        lk_web_response_error(response, 422, "evmChainID: required when the node has %zu chains",
                                              lk_app_chain_count(app));
                        return false;
                }
                *ret = lk_app_chain(app, 0);
                return true;
        }
        if (lk_value_type_of(v) == LK_VALUE_INT64) {
                id = lk_value_get_int64(v);
        } else if (lk_value_type_of(v) == LK_VALUE_STRING) {
                const char *text = lk_value_get_string(v, NULL);
                char *end = NULL;
                errno = 0;
                long long n = strtoll(text, &end, 10);
                if (errno == 0 && end != text && !*end)
                        id = n;
        }
        *ret = id > 0 ? lk_app_chain_by_id(app, id) : NULL;
        if (!*ret)
                lk_web_response_error(response, 422, "evmChainID: no such chain on this node");
        return *ret != NULL;
}

static bool read_transfer(struct lk_app *app, const lk_value *body, transfer *t, lk_web_response *response) {
        const lk_value *allow = lk_value_map_get(body, "allowHigherAmounts", strlen("allowHigherAmounts"));
        if (allow && lk_value_type_of(allow) != LK_VALUE_BOOL && lk_value_type_of(allow) != LK_VALUE_NULL) {
                lk_web_response_error(response, 422, "allowHigherAmounts: expected true or false");
                return false;
        }
        t->allow_higher = allow && lk_value_type_of(allow) == LK_VALUE_BOOL && lk_value_get_bool(allow);
        if (!chain_member(app, body, &t->chain, response) || !address_member(body, "from", t->rq.from, response) ||
            !address_member(body, "address", t->rq.to, response) || !amount_member(body, t->wei, response) ||
            !lk__api_string_member(body, "idempotencyKey", true, &t->rq.idempotency_key, response))
                return false;
        size_t count = 0, len = (mpz_sizeinbase(t->wei, 2) + 7) / 8;
        mpz_export(t->rq.value + 32 - len, &count, 1, 1, 1, 0, t->wei);
        return true;
}

/* Chainlink's check: the sender holds at least the amount. */
static bool balance_suffices(transfer *t, lk_web_response *response) {
        json_t *balance = NULL;
        lk_err err = LK_ERR_INIT;
        uint8_t word[32];
        int r = lk_rpc_pool_call(lk_chain_rpc(t->chain), "eth_getBalance",
                                 json_pack("[os]", lk_rpc_hex(t->rq.from, LK_ADDRESS_LEN), "latest"), &balance, &err);
        if (r == 0)
                r = lk_rpc_quantity_word(balance, word, &err);
        json_decref(balance);
        if (r < 0) {
                lk_web_response_error(response, 503, "cannot read the sender's balance: %s", err.msg);
                return false;
        }
        mpz_t have;
        mpz_init(have);
        mpz_import(have, 32, 1, 1, 1, 0, word);
        bool enough = mpz_cmp(have, t->wei) >= 0;
        mpz_clear(have);
        if (!enough)
                lk_web_response_error(response, 422, "balance is too low for this transaction to be executed");
        return enough;
}

static void answer(lk_web_response *response, const transfer *t, const lk_txm_status *s) {
        char from[43], to[43], hash[67] = "0x";
        lk_eth_address_text(t->rq.from, from);
        lk_eth_address_text(t->rq.to, to);
        lk_buf *out = &response->body;
        lk_buf_printf(out, "{\"data\":{\"type\":\"evm_transactions\",\"id\":\"%" PRId64 "\",\"attributes\":{", s->id);
        lk_buf_printf(out, "\"state\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"value\":\"", s->state, from, to);
        char *wei = mpz_get_str(NULL, 10, t->wei);
        lk_buf_puts(out, wei);
        free(wei);
        lk_buf_printf(out, "\",\"evmChainID\":\"%" PRId64 "\"", lk_chain_id(t->chain));
        lk__api_put_string_member(out, "idempotencyKey", t->rq.idempotency_key);
        if (s->has_nonce)
                lk_buf_printf(out, ",\"nonce\":\"%" PRIu64 "\"", s->nonce);
        else
                lk_buf_puts(out, ",\"nonce\":null");
        if (s->has_hash)
                lk_hex_encode(hash + 2, s->hash, 32);
        lk__api_put_string_member(out, "hash", s->has_hash ? hash : NULL);
        lk_buf_puts(out, "}}}");
}

static void serve_create(void *arg, const lk_web_request *request, lk_web_response *response) {
        static const char *const allowed[] = {"from",       "address",        "amount", "evmChainID",
                                              "allowHigherAmounts", "idempotencyKey", NULL};
        if (!lk__api_exact(request, response))
                return;
        lk_value *body = lk__api_json_object(request, allowed, response);
        if (!body)
                return;
        transfer t = {0};
        mpz_init(t.wei);
        lk_err err = LK_ERR_INIT;
        int64_t id = 0;
        lk_txm_status s;
        lk_txm *txm = NULL;
        if (!read_transfer(arg, body, &t, response))
                goto out;
        if (!(txm = lk_chain_txm(t.chain))) {
                lk_web_response_error(response, 503, "chain %" PRId64 " has not started", lk_chain_id(t.chain));
                goto out;
        }
        if (!t.allow_higher && !balance_suffices(&t, response))
                goto out;
        int r = lk_txm_enqueue(txm, &t.rq, &id, NULL, &err);
        if (r == 0)
                r = lk_txm_status_get(lk_app_store(arg), id, &s, &err);
        if (r == -EINVAL)
                lk_web_response_error(response, 422, "%s", err.msg);
        else if (r < 0)
                lk_web_response_error(response, 500, "cannot enqueue the transaction: %s", err.msg);
        else
                answer(response, &t, &s);
out:
        mpz_clear(t.wei);
        lk_value_unref(body);
}

void lk__transfers_api_register(lk_web *web, struct lk_app *app) {
        lk_web_route(web, "POST", "/v2/transfers", LK_ROLE_ADMIN, serve_create, app);
}
