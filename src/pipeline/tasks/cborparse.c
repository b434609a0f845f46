/* cborparse: decodes CBOR from a variable (oracle request parameters). */
#include <errno.h>
#include <string.h>

#include "../cbor.h"
#include "../params.h"
#include "tasks.h"

void lk__task_cborparse(const lk_task_call *call, lk_task_result *result) {
        lk_value *data = NULL, *bytes = NULL, *mode_value = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_check_inputs(call, -1, -1, 0, &result->err) < 0)
                return;
        /* Only a variable expression: a literal would be a string, never
         * the raw bytes of a log. */
        int r = lk_param(call, "data", LK_SOURCES(LK_PARAM_VAR_EXPR), &data, &err);
        if (r == 0 && (r = lk_param_bytes(data, &bytes, &err)) < 0)
                lk_err_prefix(&err, "data");
        if (r < 0) {
                result->err = err;
                goto done;
        }
        /* NonemptyString (trimmed), then "diet" */
        const char *mode = lk_param(call, "mode", LK_SOURCES(LK_PARAM_LITERAL), &mode_value, NULL) == 0
                                   ? lk_value_get_string(mode_value, NULL)
                                   : "";
        lk_cbor_mode cbor_mode;
        if (!*mode || strcmp(mode, "diet") == 0) {
                cbor_mode = LK_CBOR_DIET;
        } else if (strcmp(mode, "standard") == 0) {
                cbor_mode = LK_CBOR_STANDARD;
        } else {
                lk_task_fail(result, -EINVAL, "unrecognised mode: %s", mode);
                goto done;
        }
        size_t len;
        const unsigned char *raw = lk_value_get_bytes(bytes, &len);
        lk_value *parsed;
        if (lk_cbor_parse(raw, len, cbor_mode, &parsed, &err) < 0) {
                lk_task_fail(result, LK_EBAD_INPUT, "CBORParse: data: %s: bad input for task", lk_err_msg(&err));
                goto done;
        }
        lk_task_ok(result, parsed);
done:
        lk_value_unref(mode_value);
        lk_value_unref(data);
        lk_value_unref(bytes);
}
