/* TOML 1.0.0 parser.
 *
 * Debian 12 packages no C TOML library (tomlc99 is absent; toml11 and
 * toml++ are C++), so linkd carries its own.  It accepts exactly TOML 1.0.0
 * (checked against the toml-test corpus) and records the line and column of
 * every key and value so that config and job-spec errors can name the
 * place.  Tables keep their keys in document order. */
#ifndef LINKD_TOML_H
#define LINKD_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"

typedef enum lk_toml_type {
        LK_TOML_STRING,
        LK_TOML_INTEGER,
        LK_TOML_FLOAT,
        LK_TOML_BOOL,
        LK_TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
        LK_TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
        LK_TOML_DATE_LOCAL,     /* 1979-05-27 */
        LK_TOML_TIME_LOCAL,     /* 07:32:00 */
        LK_TOML_ARRAY,
        LK_TOML_TABLE,
} lk_toml_type;

typedef struct lk_toml_pos {
        uint32_t line;   /* 1-based */
        uint32_t column; /* 1-based, counted in bytes */
} lk_toml_pos;

typedef struct lk_toml_datetime {
        int year, month, day;          /* set unless LK_TOML_TIME_LOCAL */
        int hour, minute, second;      /* set unless LK_TOML_DATE_LOCAL */
        int nanosecond;                /* fractional seconds, truncated to ns */
        int frac_digits;               /* digits written after the '.', 0 if none */
        int offset_minutes;            /* LK_TOML_DATETIME only; Z is 0 */
} lk_toml_datetime;

typedef struct lk_toml_value lk_toml_value;

typedef struct lk_toml_kv {
        char *key;            /* NUL-terminated; key_len excludes the NUL and may
                               * be shorter than strlen if the key holds U+0000 */
        size_t key_len;
        lk_toml_pos key_pos;
        lk_toml_value *value; /* owned */
} lk_toml_kv;

struct lk_toml_value {
        lk_toml_type type;
        lk_toml_pos pos; /* where the value (or the table header) starts */
        union {
                struct {
                        char *ptr; /* UTF-8, NUL-terminated, may contain U+0000 */
                        size_t len;
                } string;
                int64_t integer;
                double floating;
                bool boolean;
                lk_toml_datetime datetime;
                struct {
                        lk_toml_value **items; /* owned */
                        size_t len;
                } array;
                struct {
                        lk_toml_kv *items; /* owned, in document order */
                        size_t len;
                } table;
        } u;
};

/* Parses text (len bytes, need not be NUL-terminated) into a table.  On
 * failure returns -EINVAL with err set to the message and err->line /
 * err->column to the 1-based place of the problem; *ret_root is untouched. */
int lk_toml_parse(const char *text, size_t len, lk_toml_value **ret_root, lk_err *err);

/* Frees a value and everything it owns.  Accepts NULL; returns NULL. */
lk_toml_value *lk_toml_free(lk_toml_value *value);

/* The value under key in table, or NULL if absent (or table is not a table). */
const lk_toml_value *lk_toml_table_get(const lk_toml_value *table, const char *key);

/* "string", "integer", "float", "bool", "datetime", "datetime-local",
 * "date-local", "time-local", "array", "table". */
const char *lk_toml_type_name(lk_toml_type type);

#endif
