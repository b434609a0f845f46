/* Task parameters: where a parameter's value comes from (its sources,
 * tried in order, as Chainlink's ResolveParam does), and how the value is
 * coerced to what the task needs, with Chainlink's error texts. */
#ifndef LINKD_PIPELINE_PARAMS_H
#define LINKD_PIPELINE_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "linkd/decimal.h"
#include "task.h"
#include "vars.h"

typedef enum lk_param_source {
        LK_PARAM_VAR_EXPR,    /* the whole attribute is one $(...) */
        LK_PARAM_JSON,        /* the attribute is JSON with $(...) values */
        LK_PARAM_JSON_ERRORS, /* the same, error values allowed (aggregators) */
        LK_PARAM_LITERAL,     /* the attribute's text, trimmed, if not empty */
        LK_PARAM_INPUT,       /* input 0 (its error, if it failed) */
        LK_PARAM_INPUTS,      /* every input as an array, failed ones as error values */
        LK_PARAM_RAW,         /* the attribute's text as written, "" when absent: never empty */
} lk_param_source;

/* Resolves attribute name from sources, in order; an empty source passes
 * to the next.  A new reference in *ret.  LK_EPARAM_EMPTY when no source
 * has a value.  Errors read "<name>: <why>". */
int lk_param(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count,
             lk_value **ret, lk_err *err);

#define LK_SOURCES(...)                                                                                            \
        (const lk_param_source[]){__VA_ARGS__},                                                                    \
                sizeof((const lk_param_source[]){__VA_ARGS__}) / sizeof(lk_param_source)

/* utils.ToDecimal, with its error texts ("type bool cannot be converted
 * to decimal.Decimal (true)"). */
int lk_param_to_decimal(const lk_value *v, lk_decimal *out, lk_err *err);
/* strconv.ParseBool, with its error text. */
int lk_param_parse_bool(const char *s, bool *ret, lk_err *err);

/* Coercions.  Each fails with LK_EBAD_INPUT and "<why>: bad input for task". */
int lk_param_decimal(const lk_value *v, lk_decimal *out, lk_err *err);
/* *ret borrowed from v (or static "") and NUL-terminated. */
int lk_param_string(const lk_value *v, const char **ret, size_t *ret_len, lk_err *err);
/* A new byte string value: 0x-hex strings decoded, other strings as UTF-8. */
int lk_param_bytes(const lk_value *v, lk_value **ret, lk_err *err);
int lk_param_bool(const lk_value *v, bool *ret, lk_err *err);
/* A map value (new reference), or NULL for null.  JSON text is decoded. */
int lk_param_map(const lk_value *v, lk_value **ret, lk_err *err);
/* MaybeInt32: *ret_set false for an empty string. */
int lk_param_int32(const lk_value *v, int32_t *ret, bool *ret_set, lk_err *err);
int lk_param_uint64(const lk_value *v, uint64_t *ret, lk_err *err);
/* AddressParam: 20 bytes, or "0x" and 40 characters read as geth's
 * HexToAddress reads them. */
int lk_param_address(const lk_value *v, uint8_t ret[static 20], lk_err *err);
/* MaybeBigIntParam: *ret_set false for null or a blank string; ret is
 * initialised by the caller. */
int lk_param_big_int(const lk_value *v, mpz_t ret, bool *ret_set, lk_err *err);
/* HashSliceParam: 32-byte hashes (a list of "0x" texts or 32-byte
 * strings, or the JSON text of such a list) into *ret (lk_free it; NULL
 * when there are none). */
int lk_param_hashes(const lk_value *v, uint8_t (**ret)[32], size_t *ret_count, lk_err *err);

/* Errors from several parameters, joined as multierr joins them: "; ". */
void lk_param_join(lk_err *all, int code, const lk_err *one);

/* lk_param with its failure joined into all (the task reads every
 * parameter and reports their failures together): the value, or NULL.
 * lk_param_optional passes an empty parameter over without a failure:
 * the caller's default applies. */
lk_value *lk_param_required(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count,
                            lk_err *all);
lk_value *lk_param_optional(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count,
                            lk_err *all);
/* A coercion's result r: a failure (in one) named after its parameter,
 * "<name>: <why>", joined into all. */
void lk_param_coerced(int r, const char *name, lk_err *one, lk_err *all);

/* Chainlink's CheckInputs(min, max, maxErrors); max < 0 = no maximum,
 * max_errors < 0 = any. */
int lk_check_inputs(const lk_task_call *call, int min, int max, int max_errors, lk_err *err);

#endif
