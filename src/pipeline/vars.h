/* A run's variables, as Chainlink's pipeline.Vars: a map of names
 * (jobSpec, jobRun, and every finished task's dot id) to values, read
 * through keypaths "a.b.0.c", and the two ways a task parameter refers to
 * them:
 *
 *   VarExpr           the whole (trimmed) parameter is one $(keypath); the
 *                     value comes back with its type.
 *   JSONWithVarExprs  the parameter is JSON in which bare $(keypath) stand
 *                     for values: {"id": $(decode_log.requestId)}.
 *
 * Error texts are Chainlink's ("keypath not found", "index out of range",
 * "wrong keypath format", "parameter is empty", "bad input for task",
 * "too many errors"), wrapped the way pkg/errors wraps them. */
#ifndef LINKD_PIPELINE_VARS_H
#define LINKD_PIPELINE_VARS_H

#include <stdbool.h>

#include "linkd/err.h"
#include "linkd/value.h"

/* Error codes the parameter getters use to tell "try the next source"
 * from real failures. */
#define LK_EPARAM_EMPTY (-ENODATA)   /* "parameter is empty" */
#define LK_EBAD_INPUT (-EINVAL)      /* "bad input for task" */
#define LK_ETOO_MANY_ERRORS (-EMLINK) /* "too many errors" */
#define LK_EKEYPATH (-ENOENT)        /* "keypath not found" */
#define LK_EINDEX (-ERANGE)          /* "index out of range" */
#define LK_EKEYPATH_FORMAT (-EBADMSG) /* "wrong keypath format" */

/* The value at keypath in vars (an lk_value map); a borrowed reference. */
int lk_vars_get(const lk_value *vars, const char *keypath, size_t len, lk_value **ret_value, lk_err *err);

/* VarExpr: a new reference to the value, LK_EPARAM_EMPTY when param is not
 * a single $(...), LK_ETOO_MANY_ERRORS when the value is an error. */
int lk_var_expr(const char *param, const lk_value *vars, lk_value **ret_value, lk_err *err);

/* JSONWithVarExprs: a new reference to the decoded value with the vars
 * substituted.  allow_errors lets error values through (aggregator
 * inputs).  LK_EPARAM_EMPTY for a blank param. */
int lk_json_with_var_exprs(const char *param, const lk_value *vars, bool allow_errors, lk_value **ret_value,
                           lk_err *err);

/* Calls fn for the first segment of every $(keypath) in text (the names a
 * parameter refers to), for the graph's implicit edges. */
void lk_vars_each_reference(const char *text, void (*fn)(void *arg, const char *name, size_t len), void *arg);

#endif
