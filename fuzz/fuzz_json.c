/* libFuzzer target for the JSON codec of lk_values.
 *
 * Decodes arbitrary bytes.  A rejection must come with a message and a
 * position inside the input.  What decodes is encoded, and the encoding
 * must decode again to the same value, except where Go's encoding loses
 * something by design: a float64 with an integral value is written
 * without a point ("1", "-0") and so comes back as an integer of the same
 * value.  Apart from that the encoding is a fixed point: encoding what
 * it decodes to gives the same text again. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

/* An integer value read back where the float f was written: the
 * shortest digits of f, which read as a double give f again. */
static bool integer_equals_float(const lk_value *v, double f) {
        lk_value_type t = lk_value_type_of(v);
        if (t != LK_VALUE_INT64 && t != LK_VALUE_UINT64 && t != LK_VALUE_BIGINT)
                return false;
        lk_decimal d;
        lk_decimal_init(&d);
        if (t == LK_VALUE_INT64)
                lk_decimal_from_int64(&d, lk_value_get_int64(v));
        else if (t == LK_VALUE_UINT64)
                lk_decimal_from_uint64(&d, lk_value_get_uint64(v));
        else
                lk_decimal_from_mpz(&d, *lk_value_get_bigint(v));
        bool same = lk_decimal_to_double(&d) == f;
        lk_decimal_clear(&d);
        return same;
}

static bool floats_match(const lk_value *a, const lk_value *b, bool *lossy) {
        double f = lk_value_get_float64(a);
        check(isfinite(f));
        if (lk_value_type_of(b) == LK_VALUE_FLOAT64) {
                double g = lk_value_get_float64(b);
                return memcmp(&f, &g, sizeof f) == 0;
        }
        *lossy = true;
        return integer_equals_float(b, f);
}

static bool matches(const lk_value *a, const lk_value *b, bool *lossy);

static bool arrays_match(const lk_value *a, const lk_value *b, bool *lossy) {
        if (lk_value_array_len(a) != lk_value_array_len(b))
                return false;
        for (size_t i = 0; i < lk_value_array_len(a); i++)
                if (!matches(lk_value_array_at(a, i), lk_value_array_at(b, i), lossy))
                        return false;
        return true;
}

static bool maps_match(const lk_value *a, const lk_value *b, bool *lossy) {
        if (lk_value_map_len(a) != lk_value_map_len(b))
                return false;
        for (size_t i = 0; i < lk_value_map_len(a); i++) {
                const char *key;
                size_t key_len;
                lk_value *item = lk_value_map_at(a, i, &key, &key_len);
                check(key[key_len] == '\0');
                lk_value *other = lk_value_map_get(b, key, key_len);
                if (!other || !matches(item, other, lossy))
                        return false;
        }
        return true;
}

/* a, decoded from the input, against b, decoded from a's encoding. */
static bool matches(const lk_value *a, const lk_value *b, bool *lossy) {
        lk_value_type t = lk_value_type_of(a);
        if (t == LK_VALUE_FLOAT64)
                return floats_match(a, b, lossy);
        if (t != lk_value_type_of(b))
                return false;
        if (t == LK_VALUE_ARRAY)
                return arrays_match(a, b, lossy);
        if (t == LK_VALUE_MAP)
                return maps_match(a, b, lossy);
        if (t == LK_VALUE_STRING) {
                size_t len;
                const char *s = lk_value_get_string(a, &len);
                check(s[len] == '\0');
        }
        return lk_value_equal(a, b);
}

static void check_error(const lk_err *err, size_t size) {
        check(err->code == -EINVAL && err->msg[0] != '\0');
        check(err->line >= 1 && err->column >= 1);
        check(err->line <= size + 1 && err->column <= size + 1);
}

/* Decodes text, which must be valid, and appends its encoding to out. */
static lk_value *reencode(const lk_buf *text, lk_buf *out) {
        lk_value *v = NULL;
        lk_err err = LK_ERR_INIT;
        check(lk_value_from_json(lk_buf_str(text), text->len, &v, &err) == 0);
        lk_value_to_json(v, out);
        return v;
}

static bool same_text(const lk_buf *a, const lk_buf *b) {
        return a->len == b->len && memcmp(lk_buf_str(a), lk_buf_str(b), a->len) == 0;
}

/* Once integral floats have become integers ("-0" became "0"), the
 * encoding is a fixed point. */
static void check_fixed_point(const lk_buf *text, bool lossy) {
        lk_buf second = LK_BUF_INIT, third = LK_BUF_INIT;
        lk_value_unref(reencode(text, &second));
        check(lossy || same_text(text, &second));
        lk_value_unref(reencode(&second, &third));
        check(same_text(&second, &third));
        lk_buf_done(&second);
        lk_buf_done(&third);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        lk_value *v = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_value_from_json((const char *)data, size, &v, &err) < 0) {
                check_error(&err, size);
                check(v == NULL);
                return 0;
        }
        lk_buf text = LK_BUF_INIT, unused = LK_BUF_INIT;
        lk_value_to_json(v, &text);
        lk_value *again = reencode(&text, &unused);
        bool lossy = false;
        check(matches(v, again, &lossy));
        /* lk_value_equal sees the float-to-integer change as a difference,
         * and nothing else. */
        check(lk_value_equal(v, again) == !lossy);
        check(lk_value_equal(v, v));
        check_fixed_point(&text, lossy);
        lk_buf_done(&text);
        lk_buf_done(&unused);
        lk_value_unref(v);
        lk_value_unref(again);
        return 0;
}
