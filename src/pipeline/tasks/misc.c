/* Maps, control and constants: merge, lookup, conditional, memo, fail,
 * uuid (Chainlink's task.*.go semantics). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../params.h"
#include "linkd/alloc.h"
#include "linkd/uuid.h"
#include "tasks.h"

/* Chainlink wraps merge's parameter errors in the side ("left-side: ...")
 * instead of the parameter's name; lk_param's "<name>: " is replaced. */
static int map_param(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count,
                     const char *side, lk_value **ret, lk_err *all) {
        lk_value *v = NULL;
        lk_err one = LK_ERR_INIT;
        *ret = NULL;
        int r = lk_param(call, name, sources, count, &v, &one);
        if (r < 0) {
                size_t n = strlen(name);
                if (strncmp(one.msg, name, n) == 0 && strncmp(one.msg + n, ": ", 2) == 0) {
                        char why[LK_ERR_MSG_MAX];
                        snprintf(why, sizeof why, "%s", one.msg + n + 2);
                        lk_err_set(&one, r, "%s", why);
                }
        } else {
                r = lk_param_map(v, ret, &one);
        }
        lk_value_unref(v);
        if (r < 0) {
                lk_err_prefix(&one, "%s", side);
                lk_err_join(all, &one);
        }
        return r;
}

void lk__task_merge(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_value *left = NULL, *right = NULL;
        lk_err all = LK_ERR_INIT;
        map_param(call, "left", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_JSON, LK_PARAM_INPUT), "left-side", &left, &all);
        map_param(call, "right", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_JSON), "right-side", &right, &all);
        if (lk_err_is_set(&all)) {
                result->err = all;
        } else {
                lk_value *merged = lk_value_map();
                lk_value *sides[2] = {left, right}; /* right's keys overwrite left's */
                for (int side = 0; side < 2; side++) {
                        for (size_t i = 0; sides[side] && i < lk_value_map_len(sides[side]); i++) {
                                const char *key;
                                size_t key_len;
                                lk_value *item = lk_value_map_at(sides[side], i, &key, &key_len);
                                lk_value_map_put(merged, key, key_len, lk_value_ref(item));
                        }
                }
                lk_task_ok(result, merged);
        }
        lk_value_unref(left);
        lk_value_unref(right);
}

void lk__task_lookup(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 1, 1, 0, &result->err) < 0)
                return;
        const lk_value *map = call->inputs[0].value;
        if (lk_value_type_of(map) != LK_VALUE_MAP) {
                lk_task_fail(result, LK_EBAD_INPUT, "unexpected input type: %s", lk_value_type_name(map));
                return;
        }
        const char *key = lk_graph_attr_get(call->spec, "key");
        lk_value *found = key ? lk_value_map_get(map, key, strlen(key)) : NULL;
        lk_task_ok(result, found ? lk_value_ref(found) : lk_value_null());
}

void lk__task_conditional(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        /* A literal data attribute is ignored, as in Chainlink. */
        lk_value *v = NULL;
        bool ok = false;
        if (lk_param(call, "data", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_INPUT), &v, &result->err) == 0) {
                if (lk_param_bool(v, &ok, &result->err) < 0)
                        lk_err_prefix(&result->err, "data");
                else if (!ok)
                        lk_task_fail(result, -EPERM, "conditional was not satisfied");
                else
                        lk_task_ok(result, lk_value_bool(true));
        }
        lk_value_unref(v);
}

/* ObjectParam: numbers become decimals, the rest keeps its shape. */
static lk_value *as_object(lk_value *v, lk_err *err) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_INT64:
        case LK_VALUE_UINT64:
        case LK_VALUE_BIGINT:
        case LK_VALUE_FLOAT64: {
                lk_decimal d;
                lk_decimal_init(&d);
                lk_value *out = lk_param_decimal(v, &d, err) == 0 ? lk_value_decimal(&d) : NULL;
                lk_decimal_clear(&d);
                return out;
        }
        case LK_VALUE_BYTES:
        case LK_VALUE_ERROR:
                /* ObjectParam holds nil, bool, decimal, string, slice or map */
                lk_err_set(err, LK_EBAD_INPUT, "bad input for task: %s", lk_value_type_name(v));
                return NULL;
        default: return lk_value_ref(v);
        }
}

void lk__task_memo(const lk_task_call *call, lk_task_result *result) {
        lk_value *v = NULL;
        if (lk_param(call, "value", LK_SOURCES(LK_PARAM_JSON, LK_PARAM_INPUT), &v, &result->err) < 0)
                return;
        lk_value *object = as_object(v, &result->err);
        if (object)
                lk_task_ok(result, object);
        else
                lk_err_prefix(&result->err, "value");
        lk_value_unref(v);
}

void lk__task_fail(const lk_task_call *call, lk_task_result *result) {
        const char *msg = lk_graph_attr_get(call->spec, "msg");
        lk_task_fail(result, -ECANCELED, "%s", msg ? msg : "");
}

/* A random (version 4) UUID, as text. */
void lk__task_uuid(const lk_task_call *call, lk_task_result *result) {
        (void)call;
        char text[37];
        int r = lk_uuid_v4(text);
        if (r < 0) {
                lk_task_fail(result, r, "cannot read random bytes: %s", strerror(-r));
                return;
        }
        lk_task_ok(result, lk_value_string(text, 36));
}
