/* Run variables and the two parameter forms that read them (see vars.h). */
#include "vars.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

#define KEY_PATH_KEY "__chainlink_key_path__"

static bool keypath_char(int c) {
        return isalnum(c) || c == '_' || c == '.';
}

/* Finds the next "$(" \s* [A-Za-z0-9_.]+ \s* ")" at or after from, as
 * Chainlink's variableRegexp does; the keypath in [*kp, *kp + *kp_len). */
static const char *next_expr(const char *from, const char **kp, size_t *kp_len, const char **end) {
        for (const char *p = strstr(from, "$("); p; p = strstr(p + 1, "$(")) {
                const char *q = p + 2;
                while (isspace((unsigned char)*q))
                        q++;
                const char *start = q;
                while (keypath_char((unsigned char)*q))
                        q++;
                if (q == start)
                        continue;
                const char *stop = q;
                while (isspace((unsigned char)*q))
                        q++;
                if (*q != ')')
                        continue;
                *kp = start;
                *kp_len = (size_t)(stop - start);
                *end = q + 1;
                return p;
        }
        return NULL;
}

void lk_vars_each_reference(const char *text, void (*fn)(void *arg, const char *name, size_t len), void *arg) {
        const char *kp, *end;
        size_t len;
        for (const char *p = text; (p = next_expr(p, &kp, &len, &end)); p = end)
                fn(arg, kp, strcspn(kp, ".") < len ? strcspn(kp, ".") : len);
}

static int index_segment(const lk_value *array, const char *part, size_t part_len, size_t segment,
                         const char *keypath, size_t *ret_index, lk_err *err) {
        char digits[32];
        bool numeric = part_len > 0 && part_len < sizeof digits;
        for (size_t i = 0; numeric && i < part_len; i++)
                numeric = isdigit((unsigned char)part[i]) || (i == 0 && (part[0] == '-' || part[0] == '+') && part_len > 1);
        if (!numeric)
                return lk_err_set(err, LK_EKEYPATH, "could not parse key as integer: strconv.ParseInt: parsing \"%.*s\": "
                                  "invalid syntax: keypath not found", (int)part_len, part);
        memcpy(digits, part, part_len);
        digits[part_len] = '\0';
        errno = 0;
        long long idx = strtoll(digits, NULL, 10);
        if (errno)
                return lk_err_set(err, LK_EKEYPATH, "could not parse key as integer: strconv.ParseInt: parsing \"%s\": "
                                  "value out of range: keypath not found", digits);
        size_t len = lk_value_array_len(array);
        if (idx < 0 || (unsigned long long)idx >= len)
                return lk_err_set(err, LK_EINDEX, "index %lld out of range (segment %zu of length %zu in keypath %s): "
                                  "index out of range", idx, segment, len, keypath);
        *ret_index = (size_t)idx;
        return 0;
}

int lk_vars_get(const lk_value *vars, const char *keypath_in, size_t len, lk_value **ret, lk_err *err) {
        while (len > 0 && isspace((unsigned char)*keypath_in)) {
                keypath_in++;
                len--;
        }
        while (len > 0 && isspace((unsigned char)keypath_in[len - 1]))
                len--;
        if (len == 0)
                return lk_err_set(err, LK_EKEYPATH_FORMAT, "cannot get/set the root of a pipeline.Vars");
        char *keypath = lk_strndup(keypath_in, len);
        int r = 0;
        const lk_value *current = vars;
        size_t segment = 0;
        for (const char *part = keypath;; segment++) {
                size_t part_len = strcspn(part, ".");
                if (part_len == 0) {
                        r = lk_err_set(err, LK_EKEYPATH_FORMAT, "empty keypath segment at index %zu: wrong keypath format",
                                       segment);
                        break;
                }
                lk_value_type type = lk_value_type_of(current);
                if (type == LK_VALUE_MAP) {
                        lk_value *next = lk_value_map_get(current, part, part_len);
                        if (!next) {
                                r = lk_err_set(err, LK_EKEYPATH, "key %.*s (segment %zu in keypath %s): keypath not found",
                                               (int)part_len, part, segment, keypath);
                                break;
                        }
                        current = next;
                } else if (type == LK_VALUE_ARRAY) {
                        size_t index = 0;
                        r = index_segment(current, part, part_len, segment, keypath, &index, err);
                        if (r < 0)
                                break;
                        current = lk_value_array_at(current, index);
                } else {
                        r = lk_err_set(err, LK_EKEYPATH, "value at key '%.*s' is a %s, not a map or slice: keypath not found",
                                       (int)part_len, part, lk_value_type_name(current));
                        break;
                }
                if (part[part_len] == '\0')
                        break;
                part += part_len + 1;
        }
        lk_free(keypath);
        if (r == 0)
                *ret = (lk_value *)current;
        return r;
}

int lk_var_expr(const char *param, const lk_value *vars, lk_value **ret, lk_err *err) {
        const char *s = param;
        while (isspace((unsigned char)*s))
                s++;
        size_t len = strlen(s);
        while (len > 0 && isspace((unsigned char)s[len - 1]))
                len--;
        /* Exactly one '$', at the start, "$(" ... ")" around the keypath. */
        if (len < 3 || s[0] != '$' || s[1] != '(' || s[len - 1] != ')' || memchr(s + 1, '$', len - 1))
                return lk_err_set(err, LK_EPARAM_EMPTY, "parameter is empty");
        const char *kp = s + 2;
        size_t kp_len = len - 3;
        while (kp_len > 0 && isspace((unsigned char)*kp)) {
                kp++;
                kp_len--;
        }
        while (kp_len > 0 && isspace((unsigned char)kp[kp_len - 1]))
                kp_len--;
        if (kp_len == 0)
                return lk_err_set(err, LK_EPARAM_EMPTY, "parameter is empty");
        lk_value *v;
        int r = lk_vars_get(vars, kp, kp_len, &v, err);
        if (r < 0)
                return r;
        if (lk_value_type_of(v) == LK_VALUE_ERROR)
                return lk_err_set(err, LK_ETOO_MANY_ERRORS, "VarExpr: %s: too many errors", lk_value_get_error(v));
        *ret = lk_value_ref(v);
        return 0;
}

/* Replaces each $(kp) by {"__chainlink_key_path__": "kp"}, as Chainlink
 * does textually (also inside JSON strings, where it breaks the JSON: a
 * quoted "$(x)" is bad input, as in Chainlink's own tests). */
static char *replace_exprs(const char *text) {
        lk_buf out = LK_BUF_INIT;
        const char *kp, *end, *p = text, *hit;
        size_t kp_len;
        while ((hit = next_expr(p, &kp, &kp_len, &end))) {
                lk_buf_append(&out, p, (size_t)(hit - p));
                lk_buf_printf(&out, "{ \"%s\": \"%.*s\" }", KEY_PATH_KEY, (int)kp_len, kp);
                p = end;
        }
        lk_buf_puts(&out, p);
        return lk_buf_steal(&out, NULL);
}

typedef struct substitution {
        const lk_value *vars;
        bool allow_errors;
        lk_err *err;
} substitution;

/* Rebuilds v with every {"__chainlink_key_path__": "kp"} replaced by the
 * var; a new reference, or NULL on error. */
static lk_value *substitute(lk_value *v, substitution *sub, int *r) {
        lk_value_type type = lk_value_type_of(v);
        if (type == LK_VALUE_ARRAY) {
                lk_value *out = lk_value_array();
                for (size_t i = 0; i < lk_value_array_len(v) && *r == 0; i++) {
                        lk_value *item = substitute(lk_value_array_at(v, i), sub, r);
                        if (item)
                                lk_value_array_append(out, item);
                }
                return *r == 0 ? out : lk_value_unref(out);
        }
        if (type != LK_VALUE_MAP)
                return lk_value_ref(v);
        lk_value *kp = lk_value_map_get(v, KEY_PATH_KEY, strlen(KEY_PATH_KEY));
        if (kp) {
                if (lk_value_type_of(kp) != LK_VALUE_STRING) {
                        *r = lk_err_set(sub->err, LK_EBAD_INPUT, "you cannot use %s in your JSON: bad input for task",
                                        KEY_PATH_KEY);
                        return NULL;
                }
                size_t len;
                const char *path = lk_value_get_string(kp, &len);
                lk_value *found;
                *r = lk_vars_get(sub->vars, path, len, &found, sub->err);
                if (*r < 0)
                        return NULL;
                if (lk_value_type_of(found) == LK_VALUE_ERROR && !sub->allow_errors) {
                        *r = lk_err_set(sub->err, LK_EBAD_INPUT, "error is not allowed: %s: bad input for task",
                                        lk_value_get_error(found));
                        return NULL;
                }
                return lk_value_ref(found);
        }
        lk_value *out = lk_value_map();
        for (size_t i = 0; i < lk_value_map_len(v) && *r == 0; i++) {
                const char *key;
                size_t key_len;
                lk_value *item = substitute(lk_value_map_at(v, i, &key, &key_len), sub, r);
                if (item)
                        lk_value_map_put(out, key, key_len, item);
        }
        return *r == 0 ? out : lk_value_unref(out);
}

int lk_json_with_var_exprs(const char *param, const lk_value *vars, bool allow_errors, lk_value **ret, lk_err *err) {
        if (param[strspn(param, " \t\r\n\v\f")] == '\0')
                return lk_err_set(err, LK_EPARAM_EMPTY, "parameter is empty");
        char *replaced = replace_exprs(param);
        lk_value *decoded;
        lk_err json_err = LK_ERR_INIT;
        int r = lk_value_from_json(replaced, strlen(replaced), &decoded, &json_err);
        if (r < 0) {
                r = lk_err_set(err, LK_EBAD_INPUT, "while unmarshalling JSON: %s; js: %s: bad input for task",
                               json_err.msg, replaced);
                lk_free(replaced);
                return r;
        }
        lk_free(replaced);
        substitution sub = {vars, allow_errors, err};
        r = 0;
        lk_value *out = substitute(decoded, &sub, &r);
        lk_value_unref(decoded);
        if (r < 0)
                return r;
        *ret = out;
        return 0;
}
