/* Arithmetic and aggregation tasks: multiply, divide, sum, mean, median,
 * mode, any, lessthan, length.  Semantics and texts are Chainlink's
 * (task.multiply.go and friends). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../params.h"
#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "tasks.h"

/* Resolves a decimal parameter; on failure the error joins *all. */
static int decimal_param(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count,
                         lk_decimal *out, lk_err *all) {
        lk_value *v = NULL;
        lk_err one = LK_ERR_INIT;
        int r = lk_param(call, name, sources, count, &v, &one);
        if (r == 0) {
                r = lk_param_decimal(v, out, &one);
                if (r < 0)
                        lk_err_prefix(&one, "%s", name);
        }
        lk_value_unref(v);
        lk_param_join(all, r, &one);
        return r;
}

/* An optional int32 parameter from VarExpr or the plain attribute (an
 * empty attribute leaves it unset). */
static int maybe_int32_param(const lk_task_call *call, const char *name, int32_t *out, bool *set, lk_err *all) {
        *set = false;
        lk_value *v = NULL;
        lk_err one = LK_ERR_INIT;
        int r = lk_param(call, name, LK_SOURCES(LK_PARAM_VAR_EXPR), &v, &one);
        if (r == LK_EPARAM_EMPTY) {
                const char *attr = lk_graph_attr_get(call->spec, name);
                v = lk_value_string(attr ? attr : "", SIZE_MAX);
                r = 0;
        }
        if (r == 0) {
                r = lk_param_int32(v, out, set, &one);
                if (r < 0)
                        lk_err_prefix(&one, "%s", name);
        }
        lk_value_unref(v);
        lk_param_join(all, r, &one);
        return r;
}

static void finish_decimal(lk_task_result *result, const lk_decimal *d) {
        lk_task_ok(result, lk_value_decimal(d));
}

void lk__task_multiply(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_decimal a, b, product;
        lk_decimal_init(&a);
        lk_decimal_init(&b);
        lk_decimal_init(&product);
        lk_err all = LK_ERR_INIT;
        decimal_param(call, "input", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL, LK_PARAM_INPUT), &a, &all);
        decimal_param(call, "times", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL), &b, &all);
        if (lk_err_is_set(&all))
                result->err = all;
        else if (lk_decimal_mul(&product, &a, &b, &result->err) == 0)
                finish_decimal(result, &product);
        lk_decimal_clear(&a);
        lk_decimal_clear(&b);
        lk_decimal_clear(&product);
}

void lk__task_divide(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, -1, -1, 0, &result->err) < 0)
                return;
        lk_decimal a, b, quotient;
        lk_decimal_init(&a);
        lk_decimal_init(&b);
        lk_decimal_init(&quotient);
        lk_err all = LK_ERR_INIT;
        int32_t precision;
        bool has_precision;
        decimal_param(call, "input", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL, LK_PARAM_INPUT), &a, &all);
        decimal_param(call, "divisor", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL), &b, &all);
        maybe_int32_param(call, "precision", &precision, &has_precision, &all);
        if (lk_err_is_set(&all))
                result->err = all;
        else if (lk_decimal_sign(&b) == 0)
                lk_task_fail(result, -EDOM, "divide by zero");
        else if ((has_precision ? lk_decimal_div_round(&quotient, &a, &b, precision, &result->err)
                                : lk_decimal_div(&quotient, &a, &b, &result->err)) == 0)
                finish_decimal(result, &quotient);
        lk_decimal_clear(&a);
        lk_decimal_clear(&b);
        lk_decimal_clear(&quotient);
}

/* ---- aggregators ---- */

typedef struct aggregate {
        lk_value **values; /* non-error values, borrowed from the array */
        size_t count;
        lk_value *array;   /* owned */
} aggregate;

static void aggregate_done(aggregate *g) {
        lk_free(g->values);
        lk_value_unref(g->array);
}

/* Chainlink's SliceParam: an array as it is, JSON text decoded into one,
 * null as no values. */
static int slice_param(lk_value **v, lk_err *err) {
        switch (lk_value_type_of(*v)) {
        case LK_VALUE_ARRAY: return 0;
        case LK_VALUE_NULL:
                lk_value_unref(*v);
                *v = lk_value_array();
                return 0;
        case LK_VALUE_STRING:
        case LK_VALUE_BYTES: {
                size_t len;
                const char *text = lk_value_type_of(*v) == LK_VALUE_STRING ? lk_value_get_string(*v, &len)
                                                                           : (const char *)lk_value_get_bytes(*v, &len);
                lk_value *decoded;
                lk_err why = LK_ERR_INIT;
                if (lk_value_from_json(text, len, &decoded, &why) < 0)
                        return lk_err_set(err, LK_EBAD_INPUT, "%s", why.msg); /* json.Unmarshal's error, unwrapped */
                lk_value_type type = lk_value_type_of(decoded);
                if (type != LK_VALUE_ARRAY && type != LK_VALUE_NULL) {
                        lk_value_unref(decoded);
                        return lk_err_set(err, LK_EBAD_INPUT,
                                          "json: cannot unmarshal %s into Go value of type []interface {}",
                                          type == LK_VALUE_MAP ? "object" : type == LK_VALUE_STRING ? "string"
                                                                          : type == LK_VALUE_BOOL   ? "bool"
                                                                                                    : "number");
                }
                lk_value_unref(*v);
                *v = type == LK_VALUE_NULL ? (lk_value_unref(decoded), lk_value_array()) : decoded;
                return 0;
        }
        default:
                return lk_err_set(err, LK_EBAD_INPUT, "expected slice, got %s: bad input for task",
                                  lk_value_type_name(*v));
        }
}

/* values (VarExpr, JSON with errors, all inputs) and allowedFaults, as
 * every aggregator reads them. */
static int gather(const lk_task_call *call, const char *task, aggregate *g, lk_task_result *result) {
        *g = (aggregate){0};
        lk_err all = LK_ERR_INIT, one = LK_ERR_INIT;
        int r = lk_param(call, "values", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_JSON_ERRORS, LK_PARAM_INPUTS),
                         &g->array, &one);
        lk_param_join(&all, r, &one);
        if (r == 0 && slice_param(&g->array, &one) < 0) {
                lk_err_prefix(&one, "values");
                lk_err_join(&all, &one);
        }
        uint64_t faults_param = 0;
        bool faults_set = false;
        const char *attr = lk_graph_attr_get(call->spec, "allowedFaults");
        if (attr && attr[strspn(attr, " \t\n\v\f\r")]) { /* blank: unset, as MaybeUint64Param */
                lk_value *v = lk_value_string(attr, SIZE_MAX);
                lk_err_clear(&one);
                r = lk_param_uint64(v, &faults_param, &one);
                lk_value_unref(v);
                if (r < 0)
                        lk_err_prefix(&one, "allowedFaults");
                lk_param_join(&all, r, &one);
                faults_set = r == 0;
        }
        if (lk_err_is_set(&all)) {
                result->err = all;
                return -EINVAL;
        }
        size_t n = lk_value_array_len(g->array);
        int64_t faults = 0;
        g->values = lk_calloc(n ? n : 1, sizeof *g->values);
        for (size_t i = 0; i < n; i++) {
                lk_value *item = lk_value_array_at(g->array, i);
                if (lk_value_type_of(item) == LK_VALUE_ERROR)
                        faults++;
                else
                        g->values[g->count++] = item;
        }
        /* Go's int: an unset allowedFaults is len(values)-1, so -1 when
         * there are no values at all. */
        int64_t allowed_faults = faults_set ? (int64_t)faults_param : (int64_t)n - 1;
        if (faults > allowed_faults)
                return lk_task_fail(result, LK_ETOO_MANY_ERRORS,
                                    "Number of faulty inputs %lld to %s task > number allowed faults %lld: too many errors",
                                    (long long)faults, task, (long long)allowed_faults);
        if (g->count == 0)
                return lk_task_fail(result, LK_EBAD_INPUT, "values: wrong number of task inputs");
        return 0;
}

/* The gathered values as decimals (the caller clears them). */
static int as_decimals(const aggregate *g, lk_decimal **ret, lk_task_result *result) {
        lk_decimal *d = lk_calloc(g->count, sizeof *d);
        for (size_t i = 0; i < g->count; i++)
                lk_decimal_init(&d[i]);
        for (size_t i = 0; i < g->count; i++) {
                lk_err why = LK_ERR_INIT;
                if (lk_param_decimal(g->values[i], &d[i], &why) < 0) {
                        for (size_t j = 0; j < g->count; j++)
                                lk_decimal_clear(&d[j]);
                        lk_free(d);
                        return lk_task_fail(result, LK_EBAD_INPUT, "values: %s: bad input for task", why.msg);
                }
        }
        *ret = d;
        return 0;
}

static void clear_decimals(lk_decimal *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                lk_decimal_clear(&d[i]);
        lk_free(d);
}

void lk__task_sum(const lk_task_call *call, lk_task_result *result) {
        aggregate g;
        lk_decimal *d;
        if (gather(call, "sum", &g, result) == 0 && as_decimals(&g, &d, result) == 0) {
                lk_decimal total;
                lk_decimal_init(&total);
                for (size_t i = 0; i < g.count; i++)
                        lk_decimal_add(&total, &total, &d[i]);
                finish_decimal(result, &total);
                lk_decimal_clear(&total);
                clear_decimals(d, g.count);
        }
        aggregate_done(&g);
}

void lk__task_mean(const lk_task_call *call, lk_task_result *result) {
        aggregate g;
        lk_decimal *d;
        int32_t precision;
        bool has_precision;
        lk_err all = LK_ERR_INIT;
        maybe_int32_param(call, "precision", &precision, &has_precision, &all);
        if (lk_err_is_set(&all)) {
                result->err = all;
                return;
        }
        if (gather(call, "mean", &g, result) == 0 && as_decimals(&g, &d, result) == 0) {
                lk_decimal total, count, mean;
                lk_decimal_init(&total);
                lk_decimal_init(&count);
                lk_decimal_init(&mean);
                for (size_t i = 0; i < g.count; i++)
                        lk_decimal_add(&total, &total, &d[i]);
                lk_decimal_from_uint64(&count, g.count);
                if ((has_precision ? lk_decimal_div_round(&mean, &total, &count, precision, &result->err)
                                   : lk_decimal_div(&mean, &total, &count, &result->err)) == 0)
                        finish_decimal(result, &mean);
                lk_decimal_clear(&total);
                lk_decimal_clear(&count);
                lk_decimal_clear(&mean);
                clear_decimals(d, g.count);
        }
        aggregate_done(&g);
}

static int compare_decimals(const void *a, const void *b) {
        return lk_decimal_cmp(a, b);
}

void lk__task_median(const lk_task_call *call, lk_task_result *result) {
        aggregate g;
        lk_decimal *d;
        if (gather(call, "median", &g, result) == 0 && as_decimals(&g, &d, result) == 0) {
                qsort(d, g.count, sizeof *d, compare_decimals);
                size_t k = g.count / 2;
                if (g.count % 2) {
                        finish_decimal(result, &d[k]);
                } else {
                        lk_decimal sum, two, median;
                        lk_decimal_init(&sum);
                        lk_decimal_init(&two);
                        lk_decimal_init(&median);
                        lk_decimal_add(&sum, &d[k - 1], &d[k]);
                        lk_decimal_from_int64(&two, 2);
                        if (lk_decimal_div(&median, &sum, &two, &result->err) == 0)
                                finish_decimal(result, &median);
                        lk_decimal_clear(&sum);
                        lk_decimal_clear(&two);
                        lk_decimal_clear(&median);
                }
                clear_decimals(d, g.count);
        }
        aggregate_done(&g);
}

/* mode compares values by a canonical text, as Chainlink's does (byte
 * strings as their raw bytes, so the key has a length). */
static char *mode_key(const lk_value *v, size_t *ret_len) {
        lk_buf b = LK_BUF_INIT;
        switch (lk_value_type_of(v)) {
        case LK_VALUE_BYTES: {
                size_t len;
                const unsigned char *bytes = lk_value_get_bytes(v, &len);
                lk_buf_append(&b, bytes, len);
                break;
        }
        case LK_VALUE_STRING: {
                size_t len;
                const char *s = lk_value_get_string(v, &len);
                lk_buf_append(&b, s, len);
                break;
        }
        case LK_VALUE_BOOL:
        case LK_VALUE_INT64:
        case LK_VALUE_UINT64:
        case LK_VALUE_DECIMAL:
        case LK_VALUE_BIGINT:
        case LK_VALUE_FLOAT64: lk_value_format_go(v, &b); break;
        default: lk_value_to_json(v, &b); break;
        }
        return lk_buf_steal(&b, ret_len);
}

void lk__task_mode(const lk_task_call *call, lk_task_result *result) {
        aggregate g;
        if (gather(call, "mode", &g, result) < 0) {
                aggregate_done(&g);
                return;
        }
        char **keys = lk_calloc(g.count, sizeof *keys);
        size_t *key_lens = lk_calloc(g.count, sizeof *key_lens);
        uint64_t *counts = lk_calloc(g.count, sizeof *counts);
        /* the modes: each value as it reached the top count */
        lk_value **modes = lk_calloc(g.count, sizeof *modes);
        size_t n_modes = 0;
        uint64_t best = 0;
        for (size_t i = 0; i < g.count; i++) {
                keys[i] = mode_key(g.values[i], &key_lens[i]);
                size_t first = i;
                for (size_t j = 0; j < i; j++)
                        if (counts[j] && key_lens[j] == key_lens[i] && memcmp(keys[j], keys[i], key_lens[i]) == 0) {
                                first = j;
                                break;
                        }
                uint64_t n = ++counts[first];
                if (n > best) { /* a new leader replaces the list with the value that just took the lead */
                        best = n;
                        modes[0] = g.values[i];
                        n_modes = 1;
                } else if (n == best) {
                        modes[n_modes++] = g.values[i];
                }
        }
        lk_value *out = lk_value_map(), *results = lk_value_array();
        for (size_t i = 0; i < n_modes; i++)
                lk_value_array_append(results, lk_value_ref(modes[i]));
        lk_value_map_put(out, "results", 7, results);
        lk_value_map_put(out, "occurrences", 11, lk_value_uint64(best));
        lk_task_ok(result, out);
        for (size_t i = 0; i < g.count; i++)
                lk_free(keys[i]);
        lk_free(keys);
        lk_free(key_lens);
        lk_free(counts);
        lk_free(modes);
        aggregate_done(&g);
}

void lk__task_any(const lk_task_call *call, lk_task_result *result) {
        if (call->input_count == 0) {
                lk_task_fail(result, LK_EBAD_INPUT, "AnyTask requires at least 1 input: wrong number of task inputs");
                return;
        }
        size_t ok = 0;
        for (size_t i = 0; i < call->input_count; i++)
                ok += call->inputs[i].error == NULL;
        if (ok == 0) {
                lk_task_fail(result, LK_EBAD_INPUT, "There were zero non-errored inputs: bad input for task");
                return;
        }
        uint64_t r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
                r = (uint64_t)lk_now_monotonic();
        size_t pick = (size_t)(r % ok);
        for (size_t i = 0; i < call->input_count; i++) {
                if (call->inputs[i].error)
                        continue;
                if (pick-- == 0) {
                        lk_task_ok(result, lk_value_ref(call->inputs[i].value));
                        return;
                }
        }
}

void lk__task_lessthan(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_decimal a, b;
        lk_decimal_init(&a);
        lk_decimal_init(&b);
        lk_err all = LK_ERR_INIT;
        decimal_param(call, "left", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL, LK_PARAM_INPUT), &a, &all);
        decimal_param(call, "right", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL), &b, &all);
        if (lk_err_is_set(&all))
                result->err = all;
        else
                lk_task_ok(result, lk_value_bool(lk_decimal_cmp(&a, &b) < 0));
        lk_decimal_clear(&a);
        lk_decimal_clear(&b);
}

void lk__task_length(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_value *v = NULL, *bytes = NULL;
        int r = lk_param(call, "input", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL, LK_PARAM_INPUT), &v,
                         &result->err);
        if (r == 0 && lk_param_bytes(v, &bytes, &result->err) < 0)
                lk_err_prefix(&result->err, "input");
        if (bytes) {
                size_t len;
                lk_value_get_bytes(bytes, &len);
                lk_decimal d;
                lk_decimal_init(&d);
                lk_decimal_from_uint64(&d, len);
                finish_decimal(result, &d);
                lk_decimal_clear(&d);
        }
        lk_value_unref(v);
        lk_value_unref(bytes);
}
