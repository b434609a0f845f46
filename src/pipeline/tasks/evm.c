/* The tasks that read a chain: ethcall, estimategaslimit and ethgetblock
 * (Chainlink v1.13's task.eth_call.go, task.estimategas.go,
 * task.eth_get_block.go), through the RPC pool and head tracker of the
 * chain the node lends (lk_pipeline_evm). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "../params.h"
#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/chain.h"
#include "linkd/heads.h"
#include "linkd/hex.h"
#include "linkd/rpc.h"
#include "linkd/utf8.h"
#include "tasks.h"

/* ---- parameters ---- */

static void address_param(lk_value *v, const char *name, uint8_t out[static 20], lk_err *all) {
        lk_err one = LK_ERR_INIT;
        if (v)
                lk_param_coerced(lk_param_address(v, out, &one), name, &one, all);
        lk_value_unref(v);
}

/* *out (a byte string value) stays NULL when v is. */
static void bytes_param(lk_value *v, const char *name, lk_value **out, lk_err *all) {
        lk_err one = LK_ERR_INIT;
        if (v)
                lk_param_coerced(lk_param_bytes(v, out, &one), name, &one, all);
        lk_value_unref(v);
}

static void uint64_param(lk_value *v, const char *name, uint64_t *out, lk_err *all) {
        lk_err one = LK_ERR_INIT;
        if (v)
                lk_param_coerced(lk_param_uint64(v, out, &one), name, &one, all);
        lk_value_unref(v);
}

static void bool_param(lk_value *v, const char *name, bool *out, lk_err *all) {
        lk_err one = LK_ERR_INIT;
        if (v)
                lk_param_coerced(lk_param_bool(v, out, &one), name, &one, all);
        lk_value_unref(v);
}

static void big_param(lk_value *v, const char *name, mpz_t out, bool *set, lk_err *all) {
        lk_err one = LK_ERR_INIT;
        if (v)
                lk_param_coerced(lk_param_big_int(v, out, set, &one), name, &one, all);
        lk_value_unref(v);
}

/* *out points into v, which the caller keeps and releases. */
static void string_param(lk_value *v, const char *name, const char **out, lk_err *all) {
        lk_err one = LK_ERR_INIT;
        if (v)
                lk_param_coerced(lk_param_string(v, out, NULL, &one), name, &one, all);
}

/* v's digits in base (lk_free them). */
static char *mpz_text(const mpz_t v, int base) {
        char *text = lk_malloc(mpz_sizeinbase(v, base) + 2);
        return mpz_get_str(text, base, v);
}

/* ---- the chain ---- */

/* getChainByString: the node's first chain for "", else the chain of
 * that decimal id, with Chainlink's ChainSet errors. */
static lk_chain *find_chain(const lk_task_call *call, const char *chain_id, lk_err *err) {
        const lk_pipeline_evm *evm = call->env->evm;
        if (!*chain_id) {
                lk_chain *chain = evm && evm->chain ? evm->chain(evm->arg, NULL) : NULL;
                if (!chain)
                        lk_err_set(err, -ENODEV, "cannot get default EVM chain; no EVM chains are available: "
                                                 "no EVM chains loaded");
                return chain;
        }
        /* big.Int's SetString(s, 10), then its String() */
        mpz_t id;
        mpz_init(id);
        const char *digits = chain_id + (*chain_id == '+' || *chain_id == '-');
        lk_chain *chain = NULL;
        if (!*digits || strspn(digits, "0123456789") != strlen(digits)) {
                lk_err_set(err, -EINVAL, "invalid EVM chain ID: %s", chain_id);
        } else {
                mpz_set_str(id, digits, 10);
                if (*chain_id == '-')
                        mpz_neg(id, id);
                char *text = mpz_text(id, 10);
                chain = evm && evm->chain ? evm->chain(evm->arg, text) : NULL;
                if (!chain)
                        lk_err_set(err, -ENODEV, "failed to get chain with id %s: not found", text);
                lk_free(text);
        }
        mpz_clear(id);
        return chain;
}

/* SelectGasLimit: the job's gasLimit, else the chain's LimitDefault.
 * Chainlink's per job type limits ([EVM.GasEstimator.LimitJobType]) are
 * not settings of linkd's. */
static uint32_t select_gas_limit(const lk_task_call *call, lk_chain *chain) {
        if (call->gas_limit_set)
                return call->gas_limit;
        return (uint32_t)lk_chain_config(chain)->gas_estimator.limit_default;
}

/* ---- the call message ---- */

/* geth's ethereum.CallMsg, as far as the tasks fill it in. */
typedef struct call_msg {
        const uint8_t *from;
        const uint8_t *to;
        const lk_value *data;     /* bytes */
        uint64_t gas;             /* 0: none */
        mpz_t gas_price, tip_cap, fee_cap;
        bool has_gas_price, has_tip_cap, has_fee_cap;
} call_msg;

/* hexutil.Big: "0x" and lowercase hex digits, a sign before a negative one. */
static json_t *big_quantity(const mpz_t v) {
        char *digits = mpz_text(v, 16);
        bool negative = digits[0] == '-';
        lk_buf b = LK_BUF_INIT;
        lk_buf_printf(&b, "%s0x%s", negative ? "-" : "", digits + negative);
        lk_free(digits);
        json_t *s = json_string(lk_buf_str(&b));
        lk_buf_done(&b);
        return s;
}

/* geth's toCallArg. */
static json_t *call_arg(const call_msg *m) {
        json_t *arg = json_pack("{s:o, s:o}", "from", lk_rpc_hex(m->from, 20), "to", lk_rpc_hex(m->to, 20));
        size_t len;
        const unsigned char *data = lk_value_get_bytes(m->data, &len);
        if (len > 0)
                json_object_set_new(arg, "data", lk_rpc_hex(data, len));
        if (m->gas)
                json_object_set_new(arg, "gas", lk_rpc_quantity_json(m->gas));
        if (m->has_gas_price)
                json_object_set_new(arg, "gasPrice", big_quantity(m->gas_price));
        if (m->has_fee_cap)
                json_object_set_new(arg, "maxFeePerGas", big_quantity(m->fee_cap));
        if (m->has_tip_cap)
                json_object_set_new(arg, "maxPriorityFeePerGas", big_quantity(m->tip_cap));
        return arg;
}

static void call_msg_init(call_msg *m) {
        *m = (call_msg){.from = NULL};
        mpz_inits(m->gas_price, m->tip_cap, m->fee_cap, NULL);
}

static void call_msg_done(call_msg *m) {
        mpz_clears(m->gas_price, m->tip_cap, m->fee_cap, NULL);
}

/* ---- ethcall ---- */

/* Go's unicode.IsSpace. */
static bool is_space_rune(int32_t r) {
        switch (r) {
        case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xa0: case 0x1680:
        case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000: return true;
        default: return r >= 0x2000 && r <= 0x200a;
        }
}

/* The rune that ends b[0..n) (n > 0) as utf8.DecodeLastRune reads it. */
static int32_t last_rune(const uint8_t *b, size_t n, size_t *ret_size) {
        size_t start = n - 1;
        while (start > 0 && n - start < 4 && (b[start] & 0xc0) == 0x80)
                start--;
        size_t size;
        int32_t r = lk_utf8_decode(b + start, n - start, &size);
        if (start + size != n) {
                *ret_size = 1;
                return -1;
        }
        *ret_size = size;
        return r;
}

/* bytes.TrimSpace on b[*start..*end). */
static void trim_space(const uint8_t *b, size_t *start, size_t *end) {
        size_t size;
        while (*start < *end) {
                int32_t r = lk_utf8_decode(b + *start, *end - *start, &size);
                if (!is_space_rune(r))
                        break;
                *start += size;
        }
        while (*end > *start) {
                int32_t r = last_rune(b + *start, *end - *start, &size);
                if (!is_space_rune(r))
                        break;
                *end -= size;
        }
}

static void trim_byte(const uint8_t *b, uint8_t c, size_t *start, size_t *end) {
        while (*start < *end && b[*start] == c)
                (*start)++;
        while (*end > *start && b[*end - 1] == c)
                (*end)--;
}

static bool is_word_char(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* The leftmost match of `0x\w+$` in s, without its "0x"; NULL without one. */
static const char *trailing_hex(const char *s) {
        size_t len = strlen(s);
        for (size_t i = 0; i + 2 < len; i++) {
                if (s[i] != '0' || s[i + 1] != 'x')
                        continue;
                size_t k = i + 2;
                while (k < len && is_word_char(s[k]))
                        k++;
                if (k == len)
                        return s + i + 2;
        }
        return NULL;
}

/* The bytes after the 4-byte selector of the hex that ends data (as
 * `0x\w+$` finds it); NULL when there is no such hex. */
static uint8_t *payload_of(const char *data, size_t *ret_len) {
        const char *hex = trailing_hex(data);
        size_t len = hex ? strlen(hex) : 0;
        if (len < 8 || (len - 8) % 2)
                return NULL;
        size_t n = (len - 8) / 2;
        uint8_t *b = lk_malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
                int hi = lk_hex_digit(hex[8 + 2 * i]), lo = lk_hex_digit(hex[9 + 2 * i]);
                if (hi < 0 || lo < 0) {
                        lk_free(b);
                        return NULL;
                }
                b[i] = (uint8_t)(hi << 4 | lo);
        }
        *ret_len = n;
        return b;
}

/* ExtractRevertReasonFromRPCError: the payload of the node's error data
 * stripped of the NULs, 0x11 bytes and white space around it (which takes
 * the offset and length words of an Error(string) off its message); false
 * when the error is no JSON-RPC error with a code and string data, or the
 * data ends in no hex. */
static bool revert_reason(const json_t *error, lk_buf *reason) {
        const json_t *code = json_object_get(error, "code");
        const json_t *message = json_object_get(error, "message");
        const char *data = json_string_value(json_object_get(error, "data"));
        if (!json_is_integer(code) || json_integer_value(code) == 0 || !data ||
            (message && !json_is_string(message) && !json_is_null(message)))
                return false;
        size_t start = 0, end = 0, before;
        uint8_t *b = payload_of(data, &end);
        if (!b)
                return false;
        do {
                before = end - start;
                trim_byte(b, 0x00, &start, &end);
                trim_byte(b, 0x11, &start, &end);
                trim_space(b, &start, &end);
        } while (end - start != before);
        lk_buf_append(reason, b + start, end - start);
        lk_free(b);
        return true;
}

/* The failed eth_call's error, with the revert reason before it when
 * asked for and found (errors.Wrap(err, reason)). */
static void call_failed(lk_task_result *result, int r, const lk_err *err, const json_t *error, bool extract) {
        lk_buf reason = LK_BUF_INIT;
        if (extract && error && revert_reason(error, &reason))
                lk_task_fail(result, r, "%s: %s", lk_buf_str(&reason), err->msg);
        else
                lk_task_fail(result, r, "%s", err->msg);
        lk_buf_done(&reason);
        result->retryable = true;
}

/* The struct field extractRevertReason, decoded as mapstructure's weak
 * typing decodes a string into a bool. */
static int extract_flag(const lk_task_call *call, bool *ret, lk_err *err) {
        const char *text = lk_graph_attr_get(call->spec, "extractRevertReason");
        *ret = false;
        if (!text || !*text)
                return 0;
        lk_value *v = lk_value_string(text, SIZE_MAX);
        lk_err why = LK_ERR_INIT;
        int r = lk_param_bool(v, ret, &why);
        lk_value_unref(v);
        if (r < 0)
                return lk_err_set(err, -EINVAL, "cannot parse 'extractRevertReason' as bool: strconv.ParseBool: "
                                                "parsing \"%s\": invalid syntax",
                                  text);
        return 0;
}

typedef struct ethcall_params {
        uint8_t contract[20], from[20];
        lk_value *data;
        uint64_t gas;
        bool gas_unlimited, extract;
        lk_value *chain_id_value;
        const char *chain_id;
        lk_value *block_value;
        const char *block; /* "latest" or "pending" */
        call_msg msg;
} ethcall_params;

#define VAR_LIT LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL)
#define VAR_RAW LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_RAW)

static void ethcall_params_done(ethcall_params *p) {
        lk_value_unref(p->data);
        lk_value_unref(p->chain_id_value);
        lk_value_unref(p->block_value);
        call_msg_done(&p->msg);
}

static int ethcall_read(const lk_task_call *call, ethcall_params *p, lk_err *err) {
        lk_err all = LK_ERR_INIT;
        call_msg *m = &p->msg;
        address_param(lk_param_required(call, "contract", VAR_LIT, &all), "contract", p->contract, &all);
        address_param(lk_param_optional(call, "from", VAR_LIT, &all), "from", p->from, &all);
        bytes_param(lk_param_required(call, "data", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_JSON), &all), "data",
                    &p->data, &all);
        uint64_param(lk_param_optional(call, "gas", VAR_LIT, &all), "gas", &p->gas, &all);
        big_param(lk_param_optional(call, "gasPrice", VAR_RAW, &all), "gasPrice", m->gas_price, &m->has_gas_price,
                  &all);
        big_param(lk_param_optional(call, "gasTipCap", VAR_RAW, &all), "gasTipCap", m->tip_cap, &m->has_tip_cap, &all);
        big_param(lk_param_optional(call, "gasFeeCap", VAR_RAW, &all), "gasFeeCap", m->fee_cap, &m->has_fee_cap, &all);
        p->chain_id_value = lk_param_optional(call, "evmChainID", VAR_LIT, &all);
        string_param(p->chain_id_value, "evmChainID", &p->chain_id, &all);
        bool_param(lk_param_optional(call, "gasUnlimited", VAR_LIT, &all), "gasUnlimited", &p->gas_unlimited, &all);
        /* Chainlink 2.x's block: a simulation on top of the pending state
         * sees the latest block's hash, which VRF fulfilments need when the
         * request is in the head itself */
        p->block_value = lk_param_optional(call, "block", VAR_LIT, &all);
        string_param(p->block_value, "block", &p->block, &all);
        if (p->block && strcasecmp(p->block, "latest") != 0 && strcasecmp(p->block, "pending") != 0) {
                lk_err one = LK_ERR_INIT;
                lk_err_set(&one, LK_EBAD_INPUT, "block: unsupported block param: %s: bad input for task", p->block);
                lk_param_join(&all, one.code, &one);
        }
        if (lk_err_is_set(&all)) {
                *err = all;
                return all.code;
        }
        return extract_flag(call, &p->extract, err);
}

/* eth_call at block ("latest" or "pending"); the return data into *ret. */
static int eth_call(lk_chain *chain, const call_msg *m, const char *block, lk_value **ret, json_t **ret_error,
                    lk_err *err) {
        json_t *result = NULL;
        int r = lk_rpc_pool_call_error(lk_chain_rpc(chain), "eth_call",
                                       json_pack("[os]", call_arg(m), strcasecmp(block, "pending") == 0 ? "pending" : "latest"),
                                       &result, ret_error, err);
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (r == 0 && (r = lk_rpc_bytes(result, &bytes, &len, err)) < 0)
                lk_err_prefix(err, "eth_call");
        if (r == 0)
                *ret = lk_value_bytes(bytes, len);
        lk_free(bytes);
        json_decref(result);
        return r;
}

/* The call the parameters describe, on their chain. */
static void ethcall_run(const lk_task_call *call, ethcall_params *p, lk_task_result *result) {
        size_t data_len;
        lk_value_get_bytes(p->data, &data_len);
        if (data_len == 0) {
                lk_task_fail(result, LK_EBAD_INPUT, "data param must not be empty: bad input for task");
                return;
        }
        lk_chain *chain = find_chain(call, p->chain_id ? p->chain_id : "", &result->err);
        if (!chain)
                return;
        if (p->gas_unlimited && p->gas > 0) {
                lk_task_fail(result, LK_EBAD_INPUT, "gas must be zero when gasUnlimited is true: bad input for task");
                return;
        }
        p->msg.from = p->from;
        p->msg.to = p->contract;
        p->msg.data = p->data;
        p->msg.gas = p->gas_unlimited ? 0 : p->gas > 0 ? p->gas : select_gas_limit(call, chain);
        lk_value *out = NULL;
        json_t *error = NULL;
        lk_err err = LK_ERR_INIT;
        int r = eth_call(chain, &p->msg, p->block ? p->block : "latest", &out, &error, &err);
        if (r < 0)
                call_failed(result, r, &err, error, p->extract);
        else
                lk_task_ok(result, out);
        json_decref(error);
}

void lk__task_ethcall(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, -1, -1, 0, &result->err) < 0)
                return;
        ethcall_params p = {.gas = 0};
        call_msg_init(&p.msg);
        if (ethcall_read(call, &p, &result->err) == 0)
                ethcall_run(call, &p, result);
        ethcall_params_done(&p);
}

/* ---- estimategaslimit ---- */

static void decimal_param(lk_value *v, const char *name, lk_decimal *out, lk_err *all) {
        lk_err one = LK_ERR_INIT;
        if (v)
                lk_param_coerced(lk_param_decimal(v, out, &one), name, &one, all);
        lk_value_unref(v);
}

/* eth_estimateGas of the call; any failure (the node's, or an answer that
 * is no QUANTITY) is only a reason to fall back. */
static bool estimate_gas(lk_chain *chain, const call_msg *m, uint64_t *ret) {
        json_t *result = NULL;
        int r = lk_rpc_pool_call(lk_chain_rpc(chain), "eth_estimateGas", json_pack("[o]", call_arg(m)), &result, NULL);
        if (r == 0)
                r = lk_rpc_quantity(result, ret, NULL);
        json_decref(result);
        return r == 0;
}

/* The estimate times the multiplier, truncated, capped at max.  As in
 * Chainlink, a product beyond 64 bits is an error and one beyond 32 bits
 * keeps its low 32 bits (Go's uint32 conversion) before the cap. */
static int multiplied(uint64_t estimate, const lk_decimal *multiplier, uint32_t max, uint32_t *ret, lk_err *err) {
        lk_decimal gas, product;
        lk_decimal_init(&gas);
        lk_decimal_init(&product);
        lk_decimal_from_uint64(&gas, estimate);
        mpz_t limit;
        mpz_init(limit);
        int r = lk_decimal_mul(&product, &gas, multiplier, err);
        if (r == 0) {
                lk_decimal_to_mpz(&product, limit);
                if (mpz_sgn(limit) < 0 || mpz_sizeinbase(limit, 2) > 64)
                        r = lk_err_set(err, -ERANGE, "Invalid multiplier");
        }
        if (r == 0) {
                uint32_t low = (uint32_t)(mpz_get_ui(limit) & UINT32_MAX);
                *ret = low > max ? max : low;
        }
        mpz_clear(limit);
        lk_decimal_clear(&gas);
        lk_decimal_clear(&product);
        return r;
}

void lk__task_estimategaslimit(const lk_task_call *call, lk_task_result *result) {
        lk_err all = LK_ERR_INIT;
        call_msg m;
        call_msg_init(&m);
        uint8_t from[20] = {0}, to[20] = {0};
        lk_value *data = NULL;
        lk_decimal multiplier;
        lk_decimal_init(&multiplier);
        lk_decimal_from_int64(&multiplier, 1); /* exactly what eth_estimateGas says */
        /* from has no literal source in Chainlink: only a variable sets it */
        address_param(lk_param_optional(call, "from", LK_SOURCES(LK_PARAM_VAR_EXPR), &all), "from", from, &all);
        address_param(lk_param_required(call, "to", VAR_LIT, &all), "to", to, &all);
        bytes_param(lk_param_required(call, "data", VAR_LIT, &all), "data", &data, &all);
        decimal_param(lk_param_optional(call, "multiplier", VAR_LIT, &all), "multiplier", &multiplier, &all);
        if (lk_err_is_set(&all)) {
                result->err = all;
                goto done;
        }
        /* the attribute as written: Chainlink does not resolve it here */
        const char *chain_id = lk_graph_attr_get(call->spec, "evmChainID");
        lk_chain *chain = find_chain(call, chain_id ? chain_id : "", &result->err);
        if (!chain) {
                result->retryable = true;
                goto done;
        }
        uint32_t max = select_gas_limit(call, chain), limit;
        uint64_t estimate;
        m.from = from;
        m.to = to;
        m.data = data;
        if (!estimate_gas(chain, &m, &estimate))
                lk_task_ok(result, lk_value_uint64(max)); /* the most it could take */
        else if (multiplied(estimate, &multiplier, max, &limit, &result->err) < 0)
                result->retryable = true;
        else
                lk_task_ok(result, lk_value_uint64(limit));
done:
        lk_value_unref(data);
        lk_decimal_clear(&multiplier);
        call_msg_done(&m);
}

/* ---- ethgetblock ---- */

/* assets.Wei's String(): the amount in the largest unit it reaches. */
static void wei_text(const mpz_t wei, lk_buf *out) {
        static const struct {
                int exp;
                const char *suffix;
        } units[] = {{30, "tether"}, {27, "gether"}, {24, "mether"}, {21, "kether"}, {18, "ether"}, {15, "milli"},
                     {12, "micro"},  {9, "gwei"},    {6, "mwei"},    {3, "kwei"},    {0, "wei"}};
        /* within uint64 the largest unit is ether; beyond it, ether at least */
        bool small = mpz_sgn(wei) >= 0 && mpz_sizeinbase(wei, 2) <= 64;
        size_t i = small ? 4 : 0;
        mpz_t unit;
        mpz_init(unit);
        for (; i < sizeof units / sizeof units[0] - 1; i++) {
                mpz_ui_pow_ui(unit, 10, (unsigned long)units[i].exp);
                if (mpz_cmp(wei, unit) >= 0 || (!small && units[i].exp == 18))
                        break;
        }
        mpz_clear(unit);
        if (mpz_sgn(wei) == 0) {
                lk_buf_append(out, "0", 1);
                return;
        }
        lk_decimal d;
        lk_decimal_init(&d);
        lk_decimal_from_mpz(&d, wei);
        d.exponent = -units[i].exp;
        lk_decimal_format(&d, out);
        lk_buf_printf(out, " %s", units[i].suffix);
        lk_decimal_clear(&d);
}

/* The string of a 32-byte amount of wei, as assets.Wei marshals it. */
static lk_value *wei_value(const uint8_t word[static 32]) {
        mpz_t wei;
        mpz_init(wei);
        mpz_import(wei, 32, 1, 1, 1, 0, word);
        lk_buf text = LK_BUF_INIT;
        wei_text(wei, &text);
        lk_value *v = lk_value_string(lk_buf_str(&text), text.len);
        lk_buf_done(&text);
        mpz_clear(wei);
        return v;
}

static void put_hash(lk_value *map, const char *key, const uint8_t hash[static 32]) {
        lk_value_map_put(map, key, strlen(key), lk_value_bytes(hash, 32));
}

/* The head as the task gives it: Chainlink's map of the head's fields,
 * each as Chainlink's JSON shows it (the time in RFC 3339, the base fee
 * as assets.Wei prints it, null before London). */
static int block_value(const json_t *block, lk_value **ret, lk_err *err) {
        lk_head h;
        uint8_t roots[3][32], fee[32];
        static const char *const root_names[] = {"receiptsRoot", "transactionsRoot", "stateRoot"};
        int r = lk_rpc_block_head(block, &h, err);
        for (int i = 0; r == 0 && i < 3; i++)
                if ((r = lk_rpc_data(json_object_get(block, root_names[i]), roots[i], 32, err)) < 0)
                        lk_err_prefix(err, "block.%s", root_names[i]);
        const json_t *base_fee = json_object_get(block, "baseFeePerGas");
        if (r == 0 && base_fee && (r = lk_rpc_quantity_word(base_fee, fee, err)) < 0)
                lk_err_prefix(err, "block.baseFeePerGas");
        if (r < 0)
                return r;
        lk_value *map = lk_value_map();
        lk_value_map_put(map, "number", 6, lk_value_int64(h.number));
        put_hash(map, "hash", h.hash);
        put_hash(map, "parentHash", h.parent_hash);
        char when[32];
        struct tm tm;
        time_t t = (time_t)h.timestamp;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        lk_value_map_put(map, "timestamp", 9, lk_value_string(when, SIZE_MAX));
        lk_value_map_put(map, "baseFeePerGas", 13, base_fee ? wei_value(fee) : lk_value_null());
        for (int i = 0; i < 3; i++)
                put_hash(map, root_names[i], roots[i]);
        *ret = map;
        return 0;
}

/* The block the head tracker last saw (fetched for the fields it does not
 * keep), or the node's latest when it has seen none. */
static int latest_block(lk_chain *chain, json_t **ret, lk_err *err) {
        lk_head head;
        json_t *block = NULL;
        int r = 0;
        if (lk_head_tracker_latest(lk_chain_heads(chain), &head))
                r = lk_rpc_pool_call(lk_chain_rpc(chain), "eth_getBlockByHash",
                                     json_pack("[ob]", lk_rpc_hex(head.hash, 32), 0), &block, err);
        if (r == 0 && json_is_null(block ? block : json_null())) {
                json_decref(block);
                block = NULL;
                r = lk_rpc_pool_call(lk_chain_rpc(chain), "eth_getBlockByNumber", json_pack("[sb]", "latest", 0),
                                     &block, err);
                if (r == 0 && json_is_null(block))
                        r = lk_err_set(err, -ENOENT, "not found");
        }
        if (r < 0)
                json_decref(block);
        else
                *ret = block;
        return r;
}

void lk__task_ethgetblock(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, -1, -1, 0, &result->err) < 0)
                return;
        lk_err all = LK_ERR_INIT;
        const char *chain_id = "";
        lk_value *chain_id_value = lk_param_optional(call, "evmChainID", VAR_LIT, &all);
        string_param(chain_id_value, "evmChainID", &chain_id, &all);
        lk_chain *chain = NULL;
        json_t *block = NULL;
        lk_value *out = NULL;
        if (lk_err_is_set(&all))
                result->err = all;
        else if ((chain = find_chain(call, chain_id, &result->err)) && latest_block(chain, &block, &result->err) == 0 &&
                 block_value(block, &out, &result->err) == 0)
                lk_task_ok(result, out);
        json_decref(block);
        lk_value_unref(chain_id_value);
}
