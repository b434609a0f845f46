/* jsonparse: walks a path into a JSON document (Chainlink's
 * task.jsonparse.go, including its lax-mode quirk: a missing key yields
 * null only at the last step; a null met mid-path is an error even when
 * lax). */
#include <ctype.h>
#include <errno.h>
#include <gmp.h>
#include <string.h>

#include "../params.h"
#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "tasks.h"

typedef struct path {
        char **parts;
        size_t count;
} path;

static void path_done(path *p) {
        for (size_t i = 0; i < p->count; i++)
                lk_free(p->parts[i]);
        lk_free(p->parts);
}

static void path_add(path *p, const char *s, size_t len) {
        p->parts = lk_realloc(p->parts, (p->count + 1) * sizeof *p->parts);
        p->parts[p->count++] = lk_strndup(s, len);
}

/* JSONPathParam: a string split on the separator, or a list of strings. */
static int path_param(const lk_value *v, const char *separator, path *out, lk_err *err) {
        if (lk_value_type_of(v) == LK_VALUE_STRING) {
                const char *s = lk_value_get_string(v, NULL);
                size_t sep = strlen(separator);
                if (!*s)
                        return 0;
                for (const char *p = s;;) {
                        const char *next = sep ? strstr(p, separator) : NULL;
                        path_add(out, p, next ? (size_t)(next - p) : strlen(p));
                        if (!next)
                                break;
                        p = next + sep;
                }
                return 0;
        }
        if (lk_value_type_of(v) == LK_VALUE_ARRAY) {
                for (size_t i = 0; i < lk_value_array_len(v); i++) {
                        lk_value *item = lk_value_array_at(v, i);
                        if (lk_value_type_of(item) != LK_VALUE_STRING)
                                return lk_err_set(err, LK_EBAD_INPUT, "path: expected string, got %s: bad input for task",
                                                  lk_value_type_name(item));
                        size_t len;
                        const char *s = lk_value_get_string(item, &len);
                        path_add(out, s, len);
                }
                return 0;
        }
        return lk_err_set(err, LK_EBAD_INPUT, "path: expected string, got %s: bad input for task", lk_value_type_name(v));
}

static int unresolved(lk_task_result *result, const path *p, const char *data, size_t len) {
        lk_buf joined = LK_BUF_INIT;
        for (size_t i = 0; i < p->count; i++)
                lk_buf_printf(&joined, "%s%s", i ? "\",\"" : "", p->parts[i]);
        int r = lk_task_fail(result, LK_EKEYPATH, "could not resolve path [\"%s\"] in %.*s: keypath not found",
                             lk_buf_str(&joined), (int)len, data);
        lk_buf_done(&joined);
        return r;
}

/* One step into an array: big-integer index, negative from the end. */
static int array_step(lk_value *array, const char *part, bool lax, lk_value **ret, bool *missing) {
        mpz_t index;
        mpz_init(index);
        const char *digits = part + (*part == '+' || *part == '-');
        bool numeric = *digits && strspn(digits, "0123456789") == strlen(digits) && mpz_set_str(index, part, 10) == 0;
        if (!numeric) {
                mpz_clear(index);
                return -EINVAL;
        }
        long n = (long)lk_value_array_len(array);
        bool fits = mpz_fits_slong_p(index);
        long i = fits ? mpz_get_si(index) : 0;
        mpz_clear(index);
        if (fits && i < 0)
                i += n;
        *missing = !fits || i < 0 || i >= n;
        *ret = *missing ? NULL : lk_value_array_at(array, (size_t)i);
        (void)lax;
        return 0;
}

static void walk(lk_value *doc, const path *p, bool lax, const char *data, size_t len, lk_task_result *result) {
        lk_value *current = doc;
        for (size_t i = 0; i < p->count; i++) {
                bool missing = false;
                lk_value_type type = current ? lk_value_type_of(current) : LK_VALUE_NULL;
                if (type == LK_VALUE_MAP) {
                        current = lk_value_map_get(current, p->parts[i], strlen(p->parts[i]));
                        missing = current == NULL;
                } else if (type == LK_VALUE_ARRAY) {
                        if (array_step(current, p->parts[i], lax, &current, &missing) < 0) {
                                lk_task_fail(result, LK_EKEYPATH,
                                             "JSONParse task error: %s is not a valid array index: keypath not found",
                                             p->parts[i]);
                                return;
                        }
                } else {
                        unresolved(result, p, data, len);
                        return;
                }
                if (missing && !lax) {
                        unresolved(result, p, data, len);
                        return;
                }
        }
        lk_task_ok(result, current ? lk_value_ref(current) : lk_value_null());
}

void lk__task_jsonparse(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_err all = LK_ERR_INIT, one = LK_ERR_INIT;
        const char *separator = lk_graph_attr_get(call->spec, "separator");
        if (!separator || !*separator)
                separator = ",";
        path p = {0};
        lk_value *path_value = NULL, *data_value = NULL, *bytes = NULL;
        int r = lk_param(call, "path", LK_SOURCES(LK_PARAM_VAR_EXPR), &path_value, &one);
        if (r == LK_EPARAM_EMPTY) {
                const char *attr = lk_graph_attr_get(call->spec, "path");
                path_value = lk_value_string(attr ? attr : "", SIZE_MAX);
                r = 0;
        }
        if (r == 0)
                r = path_param(path_value, separator, &p, &one);
        lk_param_join(&all, r, &one);
        lk_err_clear(&one);
        r = lk_param(call, "data", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_INPUT), &data_value, &one);
        if (r == 0 && (r = lk_param_bytes(data_value, &bytes, &one)) < 0)
                lk_err_prefix(&one, "data");
        lk_param_join(&all, r, &one);
        bool lax = false;
        /* NonemptyString: the trimmed literal; blank means false */
        lk_value *lax_value = NULL;
        lk_err_clear(&one);
        r = lk_param(call, "lax", LK_SOURCES(LK_PARAM_LITERAL), &lax_value, &one);
        if (r == 0 && (r = lk_param_bool(lax_value, &lax, &one)) < 0)
                lk_err_prefix(&one, "lax");
        if (r != LK_EPARAM_EMPTY)
                lk_param_join(&all, r, &one);
        lk_value_unref(lax_value);
        if (lk_err_is_set(&all)) {
                result->err = all;
        } else {
                size_t len;
                const char *data = (const char *)lk_value_get_bytes(bytes, &len);
                lk_value *doc;
                if (lk_value_from_json(data, len, &doc, &result->err) == 0) {
                        walk(doc, &p, lax, data, len, result);
                        lk_value_unref(doc);
                }
        }
        path_done(&p);
        lk_value_unref(path_value);
        lk_value_unref(data_value);
        lk_value_unref(bytes);
}
