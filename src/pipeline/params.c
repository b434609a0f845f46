/* Parameter sources and coercions (see params.h). */
#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/hex.h"

static int bad_input(lk_err *err, const char *fmt, ...) LK_PRINTF(2, 3);
static int bad_input(lk_err *err, const char *fmt, ...) {
        char why[LK_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        return lk_err_set(err, LK_EBAD_INPUT, "%s: bad input for task", why);
}

/* NonemptyString: the trimmed attribute, or empty. */
static int literal(const char *attr, lk_value **ret, lk_err *err) {
        if (!attr)
                return lk_err_set(err, LK_EPARAM_EMPTY, "parameter is empty");
        while (isspace((unsigned char)*attr))
                attr++;
        size_t len = strlen(attr);
        while (len > 0 && isspace((unsigned char)attr[len - 1]))
                len--;
        if (len == 0)
                return lk_err_set(err, LK_EPARAM_EMPTY, "parameter is empty");
        *ret = lk_value_string(attr, len);
        return 0;
}

static int input0(const lk_task_call *call, lk_value **ret, lk_err *err) {
        if (call->input_count == 0)
                return lk_err_set(err, LK_EINDEX, "index out of range");
        const lk_task_input *in = &call->inputs[0];
        if (in->error)
                return lk_err_set(err, LK_ETOO_MANY_ERRORS, "%s", in->error);
        *ret = lk_value_ref(in->value);
        return 0;
}

static lk_value *all_inputs(const lk_task_call *call) {
        lk_value *array = lk_value_array();
        for (size_t i = 0; i < call->input_count; i++) {
                const lk_task_input *in = &call->inputs[i];
                lk_value_array_append(array, in->error ? lk_value_error(in->error) : lk_value_ref(in->value));
        }
        return array;
}

static int from_source(const lk_task_call *call, const char *attr, lk_param_source source, lk_value **ret,
                       lk_err *err) {
        switch (source) {
        case LK_PARAM_VAR_EXPR:
                return attr ? lk_var_expr(attr, call->vars, ret, err)
                            : lk_err_set(err, LK_EPARAM_EMPTY, "parameter is empty");
        case LK_PARAM_JSON:
        case LK_PARAM_JSON_ERRORS:
                return attr ? lk_json_with_var_exprs(attr, call->vars, source == LK_PARAM_JSON_ERRORS, ret, err)
                            : lk_err_set(err, LK_EPARAM_EMPTY, "parameter is empty");
        case LK_PARAM_LITERAL: return literal(attr, ret, err);
        case LK_PARAM_INPUT: return input0(call, ret, err);
        case LK_PARAM_INPUTS: *ret = all_inputs(call); return 0;
        case LK_PARAM_RAW: *ret = lk_value_string(attr ? attr : "", SIZE_MAX); return 0;
        }
        return lk_err_set(err, -EINVAL, "unknown parameter source");
}

int lk_param(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count, lk_value **ret,
             lk_err *err) {
        const char *attr = lk_graph_attr_get(call->spec, name);
        for (size_t i = 0; i < count; i++) {
                lk_err why = LK_ERR_INIT;
                int r = from_source(call, attr, sources[i], ret, &why);
                if (r == LK_EPARAM_EMPTY)
                        continue;
                if (r < 0) {
                        lk_err_set(err, r, "%s: %s", name, why.msg);
                        return r;
                }
                return 0;
        }
        return lk_err_set(err, LK_EPARAM_EMPTY, "%s: parameter is empty", name);
}

void lk_param_join(lk_err *all, int code, const lk_err *one) {
        if (code < 0)
                lk_err_join(all, one);
}

lk_value *lk_param_required(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count,
                            lk_err *all) {
        lk_value *v = NULL;
        lk_err one = LK_ERR_INIT;
        if (lk_param(call, name, sources, count, &v, &one) < 0)
                lk_err_join(all, &one);
        return v;
}

lk_value *lk_param_optional(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count,
                            lk_err *all) {
        lk_value *v = NULL;
        lk_err one = LK_ERR_INIT;
        int r = lk_param(call, name, sources, count, &v, &one);
        if (r < 0 && r != LK_EPARAM_EMPTY)
                lk_err_join(all, &one);
        return r < 0 ? NULL : v;
}

void lk_param_coerced(int r, const char *name, lk_err *one, lk_err *all) {
        if (r < 0) {
                lk_err_prefix(one, "%s", name);
                lk_err_join(all, one);
        }
}

int lk_check_inputs(const lk_task_call *call, int min, int max, int max_errors, lk_err *err) {
        int n = (int)call->input_count;
        if ((min >= 0 && n < min) || (max >= 0 && n > max))
                return lk_err_set(err, LK_EBAD_INPUT, "task inputs: min: %d max: %d (got %d): wrong number of task inputs",
                                  min, max, n);
        int errors = 0;
        for (size_t i = 0; i < call->input_count; i++)
                errors += call->inputs[i].error != NULL;
        if (max_errors >= 0 && errors > max_errors)
                return lk_err_set(err, LK_ETOO_MANY_ERRORS, "task inputs: too many errors");
        return 0;
}

/* ---- coercions ---- */

int lk_param_to_decimal(const lk_value *v, lk_decimal *out, lk_err *err) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_DECIMAL: lk_decimal_set(out, lk_value_get_decimal(v)); return 0;
        case LK_VALUE_INT64: lk_decimal_from_int64(out, lk_value_get_int64(v)); return 0;
        case LK_VALUE_UINT64: lk_decimal_from_uint64(out, lk_value_get_uint64(v)); return 0;
        case LK_VALUE_BIGINT: lk_decimal_from_mpz(out, *lk_value_get_bigint(v)); return 0;
        case LK_VALUE_FLOAT64: return lk_decimal_from_double(out, lk_value_get_float64(v), err);
        case LK_VALUE_STRING: return lk_decimal_parse(out, lk_value_get_string(v, NULL), err);
        default: {
                lk_buf text = LK_BUF_INIT;
                lk_value_format_go(v, &text);
                int r = lk_err_set(err, -EINVAL, "type %s cannot be converted to decimal.Decimal (%s)",
                                   lk_value_type_name(v), lk_buf_str(&text));
                lk_buf_done(&text);
                return r;
        }
        }
}

int lk_param_decimal(const lk_value *v, lk_decimal *out, lk_err *err) {
        lk_err why = LK_ERR_INIT;
        if (lk_param_to_decimal(v, out, &why) < 0)
                return bad_input(err, "%s", why.msg);
        return 0;
}

int lk_param_string(const lk_value *v, const char **ret, size_t *ret_len, lk_err *err) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_STRING: *ret = lk_value_get_string(v, ret_len); return 0;
        case LK_VALUE_BYTES: *ret = (const char *)lk_value_get_bytes(v, ret_len); return 0;
        default: return bad_input(err, "expected string, got %s", lk_value_type_name(v));
        }
}

/* "0x"-prefixed text of even length made of hex digits. */
static bool is_hex_string(const char *s, size_t len) {
        if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || len % 2)
                return false;
        for (size_t i = 2; i < len; i++)
                if (lk_hex_digit((unsigned char)s[i]) < 0)
                        return false;
        return true;
}

int lk_param_bytes(const lk_value *v, lk_value **ret, lk_err *err) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_BYTES: *ret = lk_value_ref((lk_value *)v); return 0;
        case LK_VALUE_NULL: *ret = lk_value_bytes("", 0); return 0;
        case LK_VALUE_STRING: {
                size_t len;
                const char *s = lk_value_get_string(v, &len);
                if (!is_hex_string(s, len)) {
                        *ret = lk_value_bytes(s, len);
                        return 0;
                }
                size_t n = (len - 2) / 2;
                unsigned char *bytes = lk_malloc(n ? n : 1);
                for (size_t i = 0; i < n; i++)
                        bytes[i] = (unsigned char)(lk_hex_digit((unsigned char)s[2 + 2 * i]) << 4 |
                                                   lk_hex_digit((unsigned char)s[3 + 2 * i]));
                *ret = lk_value_bytes(bytes, n);
                lk_free(bytes);
                return 0;
        }
        default: return bad_input(err, "expected array of bytes, got %s", lk_value_type_name(v));
        }
}

int lk_param_parse_bool(const char *s, bool *ret, lk_err *err) {
        static const char *const truths[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const falsehoods[] = {"0", "f", "F", "FALSE", "false", "False"};
        for (size_t i = 0; i < 6; i++) {
                if (strcmp(s, truths[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcmp(s, falsehoods[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return lk_err_set(err, -EINVAL, "strconv.ParseBool: parsing \"%s\": invalid syntax", s);
}

int lk_param_bool(const lk_value *v, bool *ret, lk_err *err) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_BOOL: *ret = lk_value_get_bool(v); return 0;
        case LK_VALUE_STRING: {
                lk_err why = LK_ERR_INIT;
                if (lk_param_parse_bool(lk_value_get_string(v, NULL), ret, &why) < 0)
                        return bad_input(err, "%s", why.msg);
                return 0;
        }
        default: return bad_input(err, "expected true or false, got %s", lk_value_type_name(v));
        }
}

int lk_param_map(const lk_value *v, lk_value **ret, lk_err *err) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_NULL: *ret = NULL; return 0;
        case LK_VALUE_MAP: *ret = lk_value_ref((lk_value *)v); return 0;
        case LK_VALUE_STRING:
        case LK_VALUE_BYTES: {
                size_t len;
                const char *text = lk_value_type_of(v) == LK_VALUE_STRING ? lk_value_get_string(v, &len)
                                                                          : (const char *)lk_value_get_bytes(v, &len);
                lk_value *decoded;
                lk_err why = LK_ERR_INIT;
                if (lk_value_from_json(text, len, &decoded, &why) < 0)
                        return bad_input(err, "%s", why.msg);
                if (lk_value_type_of(decoded) != LK_VALUE_MAP && lk_value_type_of(decoded) != LK_VALUE_NULL) {
                        int r = bad_input(err, "json: cannot unmarshal %s into Go value of type map[string]interface {}",
                                          lk_value_type_name(decoded));
                        lk_value_unref(decoded);
                        return r;
                }
                *ret = lk_value_type_of(decoded) == LK_VALUE_NULL ? lk_value_unref(decoded) : decoded;
                return 0;
        }
        default: return bad_input(err, "expected map, got %s", lk_value_type_name(v));
        }
}

int lk_param_int32(const lk_value *v, int32_t *ret, bool *ret_set, lk_err *err) {
        int64_t n;
        switch (lk_value_type_of(v)) {
        case LK_VALUE_STRING: {
                const char *s = lk_value_get_string(v, NULL);
                if (!*s) {
                        *ret_set = false;
                        return 0;
                }
                char *end;
                errno = 0;
                long long parsed = strtoll(s, &end, 10);
                if (*end || end == s || isspace((unsigned char)*s))
                        return bad_input(err, "strconv.ParseInt: parsing \"%s\": invalid syntax", s);
                if (errno || parsed < INT32_MIN || parsed > INT32_MAX)
                        return bad_input(err, "strconv.ParseInt: parsing \"%s\": value out of range", s);
                n = parsed;
                break;
        }
        case LK_VALUE_INT64: n = lk_value_get_int64(v); break;
        case LK_VALUE_UINT64: n = (int64_t)lk_value_get_uint64(v); break;
        case LK_VALUE_FLOAT64: n = (int64_t)lk_value_get_float64(v); break;
        default: return bad_input(err, "expected int32, got %s", lk_value_type_name(v));
        }
        *ret = (int32_t)n;
        *ret_set = true;
        return 0;
}

int lk_param_uint64(const lk_value *v, uint64_t *ret, lk_err *err) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_STRING: {
                const char *s = lk_value_get_string(v, NULL);
                char *end;
                errno = 0;
                unsigned long long parsed = strtoull(s, &end, 10);
                if (!*s || *end || *s == '-' || *s == '+' || isspace((unsigned char)*s))
                        return bad_input(err, "strconv.ParseUint: parsing \"%s\": invalid syntax", s);
                if (errno)
                        return bad_input(err, "strconv.ParseUint: parsing \"%s\": value out of range", s);
                *ret = parsed;
                return 0;
        }
        case LK_VALUE_INT64: *ret = (uint64_t)lk_value_get_int64(v); return 0;
        case LK_VALUE_UINT64: *ret = lk_value_get_uint64(v); return 0;
        case LK_VALUE_FLOAT64: *ret = (uint64_t)lk_value_get_float64(v); return 0;
        default: return bad_input(err, "expected uint64, got %s", lk_value_type_name(v));
        }
}

/* ---- EVM parameters ---- */

/* The characters of a string or byte string value. */
static const char *text_of(const lk_value *v, size_t *ret_len) {
        if (lk_value_type_of(v) == LK_VALUE_STRING)
                return lk_value_get_string(v, ret_len);
        return (const char *)lk_value_get_bytes(v, ret_len);
}

/* geth's FromHex as HexToAddress uses it: pairs of hex digits up to the
 * first bad one (Go's hex.DecodeString stops there and the error is
 * dropped), right-aligned in the address. */
static void hex_to_address(const char *hex, size_t len, uint8_t out[static 20]) {
        uint8_t bytes[20];
        size_t n = 0;
        for (size_t i = 0; i + 1 < len && n < sizeof bytes; i += 2) {
                int hi = lk_hex_digit((unsigned char)hex[i]), lo = lk_hex_digit((unsigned char)hex[i + 1]);
                if (hi < 0 || lo < 0)
                        break;
                bytes[n++] = (uint8_t)(hi << 4 | lo);
        }
        memset(out, 0, 20);
        memcpy(out + 20 - n, bytes, n);
}

int lk_param_address(const lk_value *v, uint8_t ret[static 20], lk_err *err) {
        lk_value_type t = lk_value_type_of(v);
        if (t != LK_VALUE_STRING && t != LK_VALUE_BYTES)
                return bad_input(err, "expected common.Address, got %s", lk_value_type_name(v));
        size_t len;
        const char *s = text_of(v, &len);
        if (len == 42 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                hex_to_address(s + 2, 40, ret);
                return 0;
        }
        if (len == 20) {
                memcpy(ret, s, 20);
                return 0;
        }
        /* a string is retried as its bytes, so Go names the bytes' type */
        return bad_input(err, "expected common.Address, got []uint8");
}

/* big.Int's SetString(s, 10): an optional sign, then decimal digits only. */
static bool parse_big_decimal(const char *s, mpz_t ret) {
        const char *digits = s + (*s == '+' || *s == '-');
        if (!*digits || strspn(digits, "0123456789") != strlen(digits))
                return false;
        mpz_set_str(ret, digits, 10);
        if (*s == '-')
                mpz_neg(ret, ret);
        return true;
}

static bool is_blank(const char *s) {
        while (isspace((unsigned char)*s))
                s++;
        return *s == '\0';
}

int lk_param_big_int(const lk_value *v, mpz_t ret, bool *ret_set, lk_err *err) {
        *ret_set = true;
        switch (lk_value_type_of(v)) {
        case LK_VALUE_NULL: *ret_set = false; return 0;
        case LK_VALUE_INT64: mpz_set_si(ret, lk_value_get_int64(v)); return 0;
        case LK_VALUE_UINT64: mpz_set_ui(ret, lk_value_get_uint64(v)); return 0;
        case LK_VALUE_BIGINT: mpz_set(ret, *lk_value_get_bigint(v)); return 0;
        case LK_VALUE_FLOAT64: {
                /* Go converts with uint64(f); out-of-range floats are pinned
                 * here rather than left to the undefined C conversion */
                double f = lk_value_get_float64(v);
                mpz_set_ui(ret, !(f > 0) ? 0 : f >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)f);
                return 0;
        }
        case LK_VALUE_STRING: {
                const char *s = lk_value_get_string(v, NULL);
                if (is_blank(s)) {
                        *ret_set = false;
                        return 0;
                }
                if (!parse_big_decimal(s, ret))
                        return bad_input(err, "unable to convert %s to big.Int", s);
                return 0;
        }
        default: return lk_err_set(err, LK_EBAD_INPUT, "bad input for task");
        }
}

/* hexutil's UnmarshalFixedText for a common.Hash: "" and texts of another
 * length are refused for their length. */
static int hash_from_text(const char *s, size_t len, uint8_t out[static 32], lk_err *err) {
        if (len > 0 && !(len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
                return lk_err_set(err, -EINVAL, "hex string without 0x prefix");
        const char *digits = len ? s + 2 : s;
        size_t n = len ? len - 2 : 0;
        if (n % 2)
                return lk_err_set(err, -EINVAL, "hex string of odd length");
        if (n != 64)
                return lk_err_set(err, -ERANGE, "hex string has length %zu, want 64 for Hash", n);
        for (size_t i = 0; i < 32; i++) {
                int hi = lk_hex_digit((unsigned char)digits[2 * i]);
                int lo = lk_hex_digit((unsigned char)digits[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return lk_err_set(err, -EINVAL, "invalid hex string");
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

/* One item of a list of hashes: a text, or (a common.Hash) 32 bytes.
 * Items of JSON text fail as encoding/json reports a failed
 * UnmarshalJSON: hexutil's syntax errors as type errors, the length
 * error as it is. */
static int hash_item(const lk_value *item, bool from_json, uint8_t out[static 32], lk_err *err) {
        size_t len = 0;
        const char *s = NULL;
        if (lk_value_type_of(item) == LK_VALUE_STRING)
                s = lk_value_get_string(item, &len);
        else if (lk_value_type_of(item) == LK_VALUE_BYTES && !from_json)
                s = (const char *)lk_value_get_bytes(item, &len);
        if (s && !from_json && len == 32 && lk_value_type_of(item) == LK_VALUE_BYTES) {
                memcpy(out, s, 32);
                return 0;
        }
        if (!s && from_json)
                return bad_input(err, "HashSliceParam: json: cannot unmarshal non-string into Go value of type "
                                      "common.Hash");
        if (!s)
                return bad_input(err, "HashSliceParam");
        lk_err why = LK_ERR_INIT;
        int r = hash_from_text(s, len, out, &why);
        if (r == -EINVAL && from_json)
                return bad_input(err, "HashSliceParam: json: cannot unmarshal %s into Go value of type common.Hash",
                                 why.msg);
        if (r < 0)
                return bad_input(err, "HashSliceParam: %s", why.msg);
        return 0;
}

/* What encoding/json calls a JSON value it cannot put into a Go type. */
static const char *json_kind(const lk_value *v) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_MAP: return "object";
        case LK_VALUE_STRING: return "string";
        case LK_VALUE_BOOL: return "bool";
        default: return "number";
        }
}

/* The list v stands for (a new reference): v itself, or the list its
 * JSON text holds. */
static int hash_list(const lk_value *v, bool *ret_from_json, lk_value **ret, lk_err *err) {
        lk_value_type t = lk_value_type_of(v);
        *ret_from_json = t == LK_VALUE_STRING || t == LK_VALUE_BYTES;
        if (t == LK_VALUE_NULL || t == LK_VALUE_ARRAY) {
                *ret = t == LK_VALUE_NULL ? lk_value_array() : lk_value_ref((lk_value *)v);
                return 0;
        }
        if (!*ret_from_json)
                return bad_input(err, "HashSliceParam");
        size_t len;
        const char *text = text_of(v, &len);
        lk_value *list = NULL;
        lk_err why = LK_ERR_INIT;
        if (lk_value_from_json(text, len, &list, &why) < 0)
                return bad_input(err, "HashSliceParam: %s", why.msg);
        if (lk_value_type_of(list) == LK_VALUE_NULL) {
                lk_value_unref(list);
                list = lk_value_array();
        } else if (lk_value_type_of(list) != LK_VALUE_ARRAY) {
                int r = bad_input(err, "HashSliceParam: json: cannot unmarshal %s into Go value of type "
                                       "pipeline.HashSliceParam",
                                  json_kind(list));
                lk_value_unref(list);
                return r;
        }
        *ret = list;
        return 0;
}

int lk_param_hashes(const lk_value *v, uint8_t (**ret)[32], size_t *ret_count, lk_err *err) {
        bool from_json;
        lk_value *list = NULL;
        int r = hash_list(v, &from_json, &list, err);
        if (r < 0)
                return r;
        size_t n = lk_value_array_len(list);
        uint8_t(*hashes)[32] = n ? lk_calloc(n, sizeof *hashes) : NULL;
        for (size_t i = 0; r == 0 && i < n; i++)
                r = hash_item(lk_value_array_at(list, i), from_json, hashes[i], err);
        lk_value_unref(list);
        if (r < 0) {
                lk_free(hashes);
                return r;
        }
        *ret = hashes;
        *ret_count = n;
        return 0;
}
