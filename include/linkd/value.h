/* lk_value: the values that flow through a pipeline, as Chainlink's Go
 * interface{} values do: null, bool, int64, uint64, big integers, float64,
 * decimals, strings, byte strings, arrays, maps and errors.
 *
 * Values are immutable once built and reference counted: a task's result
 * is shared by the vars of every later task without copying.  Arrays and
 * maps are built with the _append/_put calls and must not be changed
 * after they are shared.  Maps keep insertion order for iteration; JSON
 * encoding sorts their keys, as Go's encoding/json does. */
#ifndef LINKD_VALUE_H
#define LINKD_VALUE_H

#include <gmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/decimal.h"
#include "linkd/err.h"

typedef enum lk_value_type {
        LK_VALUE_NULL,
        LK_VALUE_BOOL,
        LK_VALUE_INT64,
        LK_VALUE_UINT64,
        LK_VALUE_BIGINT,
        LK_VALUE_FLOAT64,
        LK_VALUE_DECIMAL,
        LK_VALUE_STRING,
        LK_VALUE_BYTES,
        LK_VALUE_ARRAY,
        LK_VALUE_MAP,
        LK_VALUE_ERROR,
} lk_value_type;

typedef struct lk_value lk_value;

/* Constructors return a new reference (owned by the caller). */
lk_value *lk_value_null(void);
lk_value *lk_value_bool(bool b);
lk_value *lk_value_int64(int64_t v);
lk_value *lk_value_uint64(uint64_t v);
lk_value *lk_value_bigint(const mpz_t v);       /* copied */
lk_value *lk_value_float64(double v);
lk_value *lk_value_decimal(const lk_decimal *d); /* copied */
lk_value *lk_value_string(const char *s, size_t len); /* copied; len SIZE_MAX = strlen */
lk_value *lk_value_bytes(const void *data, size_t len);
lk_value *lk_value_array(void);
lk_value *lk_value_map(void);
/* An error value: what a failed task leaves in the vars. */
lk_value *lk_value_error(const char *message);

lk_value *lk_value_ref(lk_value *v);
/* Accepts NULL; returns NULL. */
lk_value *lk_value_unref(lk_value *v);

lk_value_type lk_value_type_of(const lk_value *v);
/* Go's type name for messages: "string", "[]uint8", "map[string]interface {}",
 * "decimal.Decimal", "*big.Int", "float64", "int64", "uint64", "bool",
 * "[]interface {}", "<nil>". */
const char *lk_value_type_name(const lk_value *v);

bool lk_value_get_bool(const lk_value *v);
int64_t lk_value_get_int64(const lk_value *v);
uint64_t lk_value_get_uint64(const lk_value *v);
const mpz_t *lk_value_get_bigint(const lk_value *v);
double lk_value_get_float64(const lk_value *v);
const lk_decimal *lk_value_get_decimal(const lk_value *v);
/* Strings and byte strings: the data (NUL-terminated) and its length. */
const char *lk_value_get_string(const lk_value *v, size_t *ret_len);
const unsigned char *lk_value_get_bytes(const lk_value *v, size_t *ret_len);
const char *lk_value_get_error(const lk_value *v);

/* Arrays.  append takes over the reference to item. */
void lk_value_array_append(lk_value *array, lk_value *item);
size_t lk_value_array_len(const lk_value *array);
lk_value *lk_value_array_at(const lk_value *array, size_t i); /* borrowed */

/* Maps.  put takes over the reference to item and replaces an existing key. */
void lk_value_map_put(lk_value *map, const char *key, size_t key_len, lk_value *item);
size_t lk_value_map_len(const lk_value *map);
lk_value *lk_value_map_get(const lk_value *map, const char *key, size_t key_len); /* borrowed, NULL if absent */
/* The i-th entry in insertion order; *ret_key borrowed. */
lk_value *lk_value_map_at(const lk_value *map, size_t i, const char **ret_key, size_t *ret_key_len);

/* JSON in with Go's json.Decoder + UseNumber, then numbers converted as
 * Chainlink does: an integer literal becomes int64 if it fits, else uint64,
 * else a big integer; any other number a float64.  Rejects trailing data,
 * invalid UTF-8 and nesting deeper than 512.  Errors name the offset. */
int lk_value_from_json(const char *text, size_t len, lk_value **ret_value, lk_err *err);

/* JSON out as Chainlink stores results: decimals as JSON strings
 * ("123.45"), big integers as JSON numbers, byte strings as "0x…" hex
 * strings, float64 as Go's encoding/json formats it (NaN and infinities,
 * which JSON cannot hold, as null), map keys sorted, errors as their
 * message string. */
void lk_value_to_json(const lk_value *v, lk_buf *out);

/* Go's fmt %v of the value, as Go's error texts print one: <nil>, true,
 * 42, 1e+06, strings as they are, byte strings and arrays as [1 2 3],
 * maps as map[a:1 b:2] with their keys sorted, decimals and big integers
 * as their digits, errors as their message. */
void lk_value_format_go(const lk_value *v, lk_buf *out);

/* Deep equality (same type and content; maps regardless of order). */
bool lk_value_equal(const lk_value *a, const lk_value *b);

#endif
