#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks.h"

/* Sorted by name for bsearch. */
static const lk_task_type types[] = {
        {"any", lk__task_any, NULL},
        {"base64decode", lk__task_base64decode, NULL},
        {"base64encode", lk__task_base64encode, NULL},
        {"bridge", NULL, lk__task_bridge},
        {"cborparse", lk__task_cborparse, NULL},
        {"conditional", lk__task_conditional, NULL},
        {"divide", lk__task_divide, NULL},
        {"estimategaslimit", lk__task_estimategaslimit, NULL},
        {"ethabidecode", lk__task_ethabidecode, NULL},
        {"ethabidecodelog", lk__task_ethabidecodelog, NULL},
        {"ethabiencode", lk__task_ethabiencode, NULL},
        {"ethabiencode2", lk__task_ethabiencode2, NULL},
        {"ethcall", lk__task_ethcall, NULL},
        {"ethgetblock", lk__task_ethgetblock, NULL},
        {"ethtx", lk__task_ethtx, NULL},
        {"fail", lk__task_fail, NULL},
        {"hexdecode", lk__task_hexdecode, NULL},
        {"hexencode", lk__task_hexencode, NULL},
        {"http", NULL, lk__task_http},
        {"jsonparse", lk__task_jsonparse, NULL},
        {"length", lk__task_length, NULL},
        {"lessthan", lk__task_lessthan, NULL},
        {"lookup", lk__task_lookup, NULL},
        {"lowercase", lk__task_lowercase, NULL},
        {"mean", lk__task_mean, NULL},
        {"median", lk__task_median, NULL},
        {"memo", lk__task_memo, NULL},
        {"merge", lk__task_merge, NULL},
        {"mode", lk__task_mode, NULL},
        {"multiply", lk__task_multiply, NULL},
        {"sum", lk__task_sum, NULL},
        {"uppercase", lk__task_uppercase, NULL},
        {"uuid", lk__task_uuid, NULL},
        {"vrf", lk__task_vrf, NULL},
        {"vrfv2", lk__task_vrfv2, NULL},
};

static int compare_name(const void *key, const void *element) {
        return strcmp(key, ((const lk_task_type *)element)->name);
}

const lk_task_type *lk_task_type_find(const char *name) {
        if (!name)
                return NULL;
        return bsearch(name, types, sizeof types / sizeof types[0], sizeof types[0], compare_name);
}

void lk_task_ok(lk_task_result *result, lk_value *value) {
        result->value = value;
        lk_err_clear(&result->err);
}

int lk_task_fail(lk_task_result *result, int code, const char *fmt, ...) {
        char message[LK_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
        lk_err_set(&result->err, code, "%s", message);
        result->value = lk_value_unref(result->value);
        return code;
}
