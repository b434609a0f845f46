/* Pipeline values: construction, sharing, containers, equality, and JSON
 * in and out as Chainlink's Go code reads and writes it. */
#include "lktest.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/value.h"

/* ---- helpers ---- */

static lk_value *decode(const char *text) {
        lk_value *v = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_value_from_json(text, strlen(text), &v, &err) < 0)
                fail_msg("%s: %s", text, err.msg);
        return v;
}

static void assert_bad_json_n(const char *text, size_t len, const char *want_msg) {
        lk_value *v = NULL;
        lk_err err = LK_ERR_INIT;
        int r = lk_value_from_json(text, len, &v, &err);
        if (r == 0)
                fail_msg("%s: accepted", text);
        assert_int_equal(r, -EINVAL);
        assert_null(v);
        assert_string_equal(err.msg, want_msg);
        assert_true(err.line >= 1 && err.column >= 1);
}

static void assert_bad_json(const char *text, const char *want_msg) {
        assert_bad_json_n(text, strlen(text), want_msg);
}

static char *encode(const lk_value *v) {
        lk_buf b = LK_BUF_INIT;
        lk_value_to_json(v, &b);
        return lk_buf_steal(&b, NULL);
}

/* v (consumed) encodes as want. */
static void assert_json(lk_value *v, const char *want) {
        char *got = encode(v);
        assert_string_equal(got, want);
        lk_free(got);
        lk_value_unref(v);
}

/* text decodes and encodes back as want, and want decodes to an equal value. */
static void assert_round_trip(const char *text, const char *want) {
        lk_value *v = decode(text);
        char *got = encode(v);
        assert_string_equal(got, want);
        lk_value *again = decode(got);
        assert_true(lk_value_equal(v, again));
        lk_free(got);
        lk_value_unref(v);
        lk_value_unref(again);
}

static lk_value *decimal_value(const char *text) {
        lk_decimal d;
        lk_decimal_init(&d);
        assert_int_equal(lk_decimal_parse(&d, text, NULL), 0);
        lk_value *v = lk_value_decimal(&d);
        lk_decimal_clear(&d);
        return v;
}

static lk_value *bigint_value(const char *text) {
        mpz_t z;
        mpz_init_set_str(z, text, 10);
        lk_value *v = lk_value_bigint(z);
        mpz_clear(z);
        return v;
}

/* ---- construction ---- */

static void builds_scalars(void **state) {
        lk_value *v = lk_value_null();
        assert_int_equal(lk_value_type_of(v), LK_VALUE_NULL);
        assert_string_equal(lk_value_type_name(v), "<nil>");
        lk_value_unref(v);

        v = lk_value_bool(true);
        assert_true(lk_value_get_bool(v));
        assert_string_equal(lk_value_type_name(v), "bool");
        lk_value_unref(v);

        v = lk_value_int64(INT64_MIN);
        assert_true(lk_value_get_int64(v) == INT64_MIN);
        assert_string_equal(lk_value_type_name(v), "int64");
        lk_value_unref(v);

        v = lk_value_uint64(UINT64_MAX);
        assert_true(lk_value_get_uint64(v) == UINT64_MAX);
        assert_string_equal(lk_value_type_name(v), "uint64");
        lk_value_unref(v);

        v = lk_value_float64(2.5);
        assert_true(lk_value_get_float64(v) == 2.5);
        assert_string_equal(lk_value_type_name(v), "float64");
        lk_value_unref(v);

        v = bigint_value("-123456789012345678901234567890");
        assert_int_equal(mpz_cmp_si(*lk_value_get_bigint(v), 0), -1);
        assert_string_equal(lk_value_type_name(v), "*big.Int");
        lk_value_unref(v);

        v = lk_value_error("boom");
        assert_string_equal(lk_value_get_error(v), "boom");
        assert_int_equal(lk_value_type_of(v), LK_VALUE_ERROR);
        lk_value_unref(v);

        assert_string_equal(lk_value_type_name(NULL), "<nil>");
}

static void copies_what_it_is_given(void **state) {
        lk_decimal d;
        lk_decimal_init(&d);
        assert_int_equal(lk_decimal_parse(&d, "2.90", NULL), 0);
        lk_value *v = lk_value_decimal(&d);
        lk_decimal_clear(&d);
        char *s = lk_decimal_string(lk_value_get_decimal(v));
        assert_string_equal(s, "2.9");
        assert_int_equal(lk_value_get_decimal(v)->exponent, -2);
        assert_string_equal(lk_value_type_name(v), "decimal.Decimal");
        lk_free(s);
        lk_value_unref(v);

        char text[] = "hello";
        v = lk_value_string(text, SIZE_MAX);
        text[0] = 'j';
        size_t len;
        assert_string_equal(lk_value_get_string(v, &len), "hello");
        assert_int_equal(len, 5);
        assert_string_equal(lk_value_type_name(v), "string");
        lk_value_unref(v);

        v = lk_value_string("a\0b", 3);
        const char *got = lk_value_get_string(v, &len);
        assert_int_equal(len, 3);
        assert_memory_equal(got, "a\0b", 4);
        lk_value_unref(v);

        const unsigned char raw[] = {0xde, 0xad, 0x00, 0xef};
        v = lk_value_bytes(raw, sizeof raw);
        const unsigned char *bytes = lk_value_get_bytes(v, &len);
        assert_int_equal(len, 4);
        assert_memory_equal(bytes, raw, 4);
        assert_int_equal(bytes[4], 0);
        assert_string_equal(lk_value_type_name(v), "[]uint8");
        lk_value_unref(v);

        v = lk_value_bytes(NULL, 0);
        assert_non_null(lk_value_get_bytes(v, &len));
        assert_int_equal(len, 0);
        lk_value_unref(v);
}

/* ---- sharing ---- */

static void references_are_counted(void **state) {
        lk_value *s = lk_value_string("shared", SIZE_MAX);
        lk_value *a = lk_value_array(), *m = lk_value_map();
        lk_value_array_append(a, lk_value_ref(s));
        lk_value_map_put(m, "k", 1, lk_value_ref(s));
        assert_ptr_equal(lk_value_ref(s), s);
        lk_value_unref(s);
        lk_value_unref(s);
        /* Still held by both containers. */
        assert_ptr_equal(lk_value_array_at(a, 0), s);
        lk_value_unref(a);
        assert_string_equal(lk_value_get_string(lk_value_map_get(m, "k", 1), NULL), "shared");
        lk_value_unref(m);
        assert_null(lk_value_unref(NULL));
}

#define REF_THREADS 8
#define REF_ROUNDS 100000

static void *ref_unref_loop(void *arg) {
        lk_value *v = arg;
        for (int i = 0; i < REF_ROUNDS; i++) {
                lk_value_ref(v);
                lk_value_unref(v);
        }
        lk_value_unref(v);
        return NULL;
}

/* Each thread drops one reference it was given; the last one frees, once,
 * which ASan checks. */
static void counts_across_threads(void **state) {
        lk_value *v = lk_value_map();
        lk_value_map_put(v, "x", 1, lk_value_string("y", 1));
        pthread_t threads[REF_THREADS];
        for (int i = 0; i < REF_THREADS; i++) {
                lk_value_ref(v);
                assert_int_equal(pthread_create(&threads[i], NULL, ref_unref_loop, v), 0);
        }
        lk_value_unref(v);
        for (int i = 0; i < REF_THREADS; i++)
                pthread_join(threads[i], NULL);
}

/* ---- containers ---- */

static void arrays_keep_order(void **state) {
        lk_value *a = lk_value_array();
        assert_int_equal(lk_value_array_len(a), 0);
        for (int i = 0; i < 100; i++)
                lk_value_array_append(a, lk_value_int64(i));
        assert_int_equal(lk_value_array_len(a), 100);
        for (int i = 0; i < 100; i++)
                assert_int_equal(lk_value_get_int64(lk_value_array_at(a, (size_t)i)), i);
        assert_null(lk_value_array_at(a, 100));
        assert_string_equal(lk_value_type_name(a), "[]interface {}");
        lk_value_unref(a);
}

static void maps_replace_in_place(void **state) {
        lk_value *m = lk_value_map();
        lk_value_map_put(m, "b", 1, lk_value_int64(1));
        lk_value_map_put(m, "a", 1, lk_value_int64(2));
        lk_value_map_put(m, "b", 1, lk_value_int64(3));
        lk_value_map_put(m, "a\0z", 3, lk_value_int64(4));
        lk_value_map_put(m, "", 0, lk_value_int64(5));
        assert_int_equal(lk_value_map_len(m), 4);
        const char *key;
        size_t key_len;
        assert_int_equal(lk_value_get_int64(lk_value_map_at(m, 0, &key, &key_len)), 3);
        assert_string_equal(key, "b");
        assert_int_equal(lk_value_get_int64(lk_value_map_at(m, 1, &key, &key_len)), 2);
        assert_string_equal(key, "a");
        assert_int_equal(lk_value_get_int64(lk_value_map_at(m, 2, &key, &key_len)), 4);
        assert_int_equal(key_len, 3);
        assert_memory_equal(key, "a\0z", 4);
        assert_null(lk_value_map_at(m, 4, &key, &key_len));
        assert_int_equal(lk_value_get_int64(lk_value_map_get(m, "a\0z", 3)), 4);
        assert_int_equal(lk_value_get_int64(lk_value_map_get(m, "a", SIZE_MAX)), 2);
        assert_int_equal(lk_value_get_int64(lk_value_map_get(m, "", 0)), 5);
        assert_null(lk_value_map_get(m, "c", 1));
        assert_null(lk_value_map_get(m, "a\0", 2));
        assert_string_equal(lk_value_type_name(m), "map[string]interface {}");
        lk_value_unref(m);
}

#define BIG_MAP 10000

static void large_maps_find_every_key(void **state) {
        lk_value *m = lk_value_map();
        char key[32];
        for (int i = 0; i < BIG_MAP; i++) {
                int n = snprintf(key, sizeof key, "key-%d", i);
                lk_value_map_put(m, key, (size_t)n, lk_value_int64(i));
        }
        assert_int_equal(lk_value_map_len(m), BIG_MAP);
        for (int i = 0; i < BIG_MAP; i++) {
                int n = snprintf(key, sizeof key, "key-%d", i);
                lk_value *v = lk_value_map_get(m, key, (size_t)n);
                assert_non_null(v);
                assert_int_equal(lk_value_get_int64(v), i);
        }
        assert_null(lk_value_map_get(m, "key-10000", SIZE_MAX));
        assert_null(lk_value_map_get(m, "key-", SIZE_MAX));
        lk_value_map_put(m, "key-5000", SIZE_MAX, lk_value_string("new", SIZE_MAX));
        assert_int_equal(lk_value_map_len(m), BIG_MAP);
        const char *k;
        lk_value *v = lk_value_map_at(m, 5000, &k, NULL);
        assert_string_equal(k, "key-5000");
        assert_string_equal(lk_value_get_string(v, NULL), "new");
        assert_string_equal(lk_value_get_string(lk_value_map_get(m, "key-5000", SIZE_MAX), NULL), "new");
        lk_value_map_at(m, BIG_MAP - 1, &k, NULL);
        assert_string_equal(k, "key-9999");
        lk_value_unref(m);
}

/* ---- equality ---- */

static void assert_equal_values(lk_value *a, lk_value *b, bool want) {
        assert_int_equal(lk_value_equal(a, b), want);
        assert_int_equal(lk_value_equal(b, a), want);
        lk_value_unref(a);
        lk_value_unref(b);
}

static void compares_deeply(void **state) {
        assert_equal_values(lk_value_null(), lk_value_null(), true);
        assert_equal_values(lk_value_int64(1), lk_value_int64(1), true);
        assert_equal_values(lk_value_int64(1), lk_value_uint64(1), false);
        assert_equal_values(lk_value_int64(1), lk_value_float64(1), false);
        assert_equal_values(lk_value_float64(0.0), lk_value_float64(-0.0), true);
        assert_equal_values(lk_value_float64(NAN), lk_value_float64(NAN), false);
        assert_equal_values(decimal_value("1.0"), decimal_value("1"), true);
        assert_equal_values(decimal_value("1.01"), decimal_value("1"), false);
        assert_equal_values(bigint_value("123456789012345678901234567890"),
                            bigint_value("123456789012345678901234567890"), true);
        assert_equal_values(lk_value_string("ab", 2), lk_value_string("ab", 2), true);
        assert_equal_values(lk_value_string("ab", 2), lk_value_string("a", 1), false);
        assert_equal_values(lk_value_string("ab", 2), lk_value_bytes("ab", 2), false);
        assert_equal_values(lk_value_string("ab", 2), lk_value_error("ab"), false);
        assert_equal_values(lk_value_error("x"), lk_value_error("x"), true);
        assert_equal_values(lk_value_bool(true), lk_value_bool(false), false);
        assert_equal_values(decode("{\"a\":[1,{\"b\":null}],\"c\":\"d\"}"), decode("{\"c\":\"d\",\"a\":[1,{\"b\":null}]}"),
                            true);
        assert_equal_values(decode("[1,2]"), decode("[2,1]"), false);
        assert_equal_values(decode("[1,2]"), decode("[1,2,3]"), false);
        assert_equal_values(decode("{\"a\":1}"), decode("{\"a\":1,\"b\":2}"), false);
        assert_equal_values(decode("{\"a\":1}"), decode("{\"b\":1}"), false);
        assert_equal_values(decode("{\"a\":1}"), decode("{\"a\":1.5}"), false);
        lk_value *v = lk_value_int64(3);
        assert_true(lk_value_equal(v, v));
        assert_false(lk_value_equal(v, NULL));
        lk_value_unref(v);
}

/* ---- JSON in ---- */

static void assert_decoded_int64(const char *text, int64_t want) {
        lk_value *v = decode(text);
        assert_int_equal(lk_value_type_of(v), LK_VALUE_INT64);
        assert_true(lk_value_get_int64(v) == want);
        lk_value_unref(v);
}

static void assert_decoded_bigint(const char *text) {
        lk_value *v = decode(text);
        assert_int_equal(lk_value_type_of(v), LK_VALUE_BIGINT);
        char *s = mpz_get_str(NULL, 10, *lk_value_get_bigint(v));
        assert_string_equal(s, text);
        void (*gmp_free)(void *, size_t);
        mp_get_memory_functions(NULL, NULL, &gmp_free);
        gmp_free(s, strlen(s) + 1);
        lk_value_unref(v);
}

static void assert_decoded_float(const char *text, double want) {
        lk_value *v = decode(text);
        assert_int_equal(lk_value_type_of(v), LK_VALUE_FLOAT64);
        double got = lk_value_get_float64(v);
        assert_memory_equal(&got, &want, sizeof got);
        lk_value_unref(v);
}

/* Chainlink's rule: integer literals by size, anything else a float64. */
static void decodes_numbers_as_chainlink_does(void **state) {
        assert_decoded_int64("0", 0);
        assert_decoded_int64("-0", 0);
        assert_decoded_int64("9223372036854775807", INT64_MAX);
        assert_decoded_int64("-9223372036854775808", INT64_MIN);
        lk_value *v = decode("9223372036854775808");
        assert_int_equal(lk_value_type_of(v), LK_VALUE_UINT64);
        assert_true(lk_value_get_uint64(v) == (uint64_t)INT64_MAX + 1);
        lk_value_unref(v);
        v = decode("18446744073709551615");
        assert_int_equal(lk_value_type_of(v), LK_VALUE_UINT64);
        assert_true(lk_value_get_uint64(v) == UINT64_MAX);
        lk_value_unref(v);
        assert_decoded_bigint("18446744073709551616");
        assert_decoded_bigint("-9223372036854775809");
        assert_decoded_bigint("123456789012345678901234567890123456789012345678901234567890");
        assert_decoded_float("1.0", 1.0);
        assert_decoded_float("-0.0", -0.0);
        assert_decoded_float("1e2", 100.0);
        assert_decoded_float("1E+2", 100.0);
        assert_decoded_float("0.1", 0.1);
        assert_decoded_float("-2.5e-3", -0.0025);
        assert_decoded_float("1e-400", 0.0);
        assert_decoded_float("1.7976931348623157e308", 1.7976931348623157e308);
        assert_decoded_float("123456789012345678901234567890.0", 123456789012345678901234567890.0);
}

static void rejects_floats_out_of_range(void **state) {
        assert_bad_json("1e400", "json: cannot unmarshal number 1e400 into Go value of type float64");
        assert_bad_json("[1, -1E999]", "json: cannot unmarshal number -1E999 into Go value of type float64");
        assert_bad_json("{\"a\":1.8e308,\"b\":2e308}",
                        "json: cannot unmarshal number 1.8e308 into Go value of type float64");
        /* Go checks the syntax of the whole text first. */
        assert_bad_json("[1e999, x]", "invalid character 'x' looking for beginning of value");
}

static void decodes_strings_as_go_does(void **state) {
        struct {
                const char *json;
                const char *want;
                size_t want_len;
        } cases[] = {
                {"\"plain\"", "plain", 5},
                {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
                {"\"\\u00e9\\u00E9\"", "\xc3\xa9\xc3\xa9", 4},
                {"\"\\u0000\"", "\0", 1},
                {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},
                {"\"\\ud800\"", "\xef\xbf\xbd", 3},
                {"\"\\udc00x\"", "\xef\xbf\xbdx", 4},
                {"\"\\ud800\\u0041\"", "\xef\xbf\xbd" "A", 4},
                {"\"\\ud800\\ud800\\udc00\"", "\xef\xbf\xbd\xf0\x90\x80\x80", 7},
                {"\"\\ud800\\n\"", "\xef\xbf\xbd\n", 4},
                {"\"a\xff" "b\"", "a\xef\xbf\xbd" "b", 5},
                {"\"\xed\xa0\x80\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9},
                {"\"\xc0\x80\"", "\xef\xbf\xbd\xef\xbf\xbd", 6},
                {"\"\xe2\x82\"", "\xef\xbf\xbd\xef\xbf\xbd", 6},
                {"\"\xf4\x90\x80\x80\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12},
                {"\"\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"", "\xe2\x82\xac\xf0\x9f\x98\x80\x7f", 8},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                lk_value *v = decode(cases[i].json);
                size_t len;
                const char *got = lk_value_get_string(v, &len);
                if (len != cases[i].want_len || memcmp(got, cases[i].want, len) != 0)
                        fail_msg("case %zu: %s", i, cases[i].json);
                lk_value_unref(v);
        }
}

static void decodes_structures(void **state) {
        lk_value *v = decode(" \t\r\n{ \"a\" : [ true , false , null ] , \"b\" : { } , \"c\" : [ ] } \n");
        assert_int_equal(lk_value_map_len(v), 3);
        lk_value *a = lk_value_map_get(v, "a", 1);
        assert_int_equal(lk_value_array_len(a), 3);
        assert_true(lk_value_get_bool(lk_value_array_at(a, 0)));
        assert_false(lk_value_get_bool(lk_value_array_at(a, 1)));
        assert_int_equal(lk_value_type_of(lk_value_array_at(a, 2)), LK_VALUE_NULL);
        assert_int_equal(lk_value_map_len(lk_value_map_get(v, "b", 1)), 0);
        assert_int_equal(lk_value_array_len(lk_value_map_get(v, "c", 1)), 0);
        lk_value_unref(v);
}

/* The last of duplicate keys wins, as in Go; the key keeps its place. */
static void duplicate_keys_last_wins(void **state) {
        lk_value *v = decode("{\"a\":1,\"b\":2,\"a\":{\"x\":3}}");
        assert_int_equal(lk_value_map_len(v), 2);
        const char *key;
        lk_value *a = lk_value_map_at(v, 0, &key, NULL);
        assert_string_equal(key, "a");
        assert_int_equal(lk_value_get_int64(lk_value_map_get(a, "x", 1)), 3);
        lk_value_unref(v);
}

static char *nested_arrays(int depth) {
        char *s = lk_malloc((size_t)depth * 2 + 1);
        memset(s, '[', (size_t)depth);
        memset(s + depth, ']', (size_t)depth);
        s[depth * 2] = '\0';
        return s;
}

static void limits_nesting_to_512(void **state) {
        char *ok = nested_arrays(512);
        lk_value *v = decode(ok);
        lk_value_unref(v);
        lk_free(ok);

        char *deep = nested_arrays(513);
        lk_value *got = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_value_from_json(deep, strlen(deep), &got, &err), -EINVAL);
        assert_string_equal(err.msg, "invalid character '[' exceeded max depth");
        assert_int_equal(err.line, 1);
        assert_int_equal(err.column, 513);
        lk_free(deep);

        char mixed[2048] = "";
        for (int i = 0; i < 513; i++)
                strcat(mixed, i % 2 ? "[" : "{\"k\":");
        assert_bad_json(mixed, "invalid character '{' exceeded max depth");
}

/* Every message the decoder has, worded as Go's encoding/json words it. */
static void syntax_errors_read_like_go(void **state) {
        assert_bad_json("", "unexpected end of JSON input");
        assert_bad_json(" \n\t ", "unexpected end of JSON input");
        assert_bad_json("[1,2", "unexpected end of JSON input");
        assert_bad_json("[", "unexpected end of JSON input");
        assert_bad_json("[1,", "unexpected end of JSON input");
        assert_bad_json("{", "unexpected end of JSON input");
        assert_bad_json("{\"a\"", "unexpected end of JSON input");
        assert_bad_json("{\"a\":", "unexpected end of JSON input");
        assert_bad_json("{\"a\":1,", "unexpected end of JSON input");
        assert_bad_json("\"abc", "unexpected end of JSON input");
        assert_bad_json("x", "invalid character 'x' looking for beginning of value");
        assert_bad_json("[1,]", "invalid character ']' looking for beginning of value");
        assert_bad_json("[,1]", "invalid character ',' looking for beginning of value");
        assert_bad_json(".5", "invalid character '.' looking for beginning of value");
        assert_bad_json("+1", "invalid character '+' looking for beginning of value");
        assert_bad_json("NaN", "invalid character 'N' looking for beginning of value");
        assert_bad_json("'a'", "invalid character '\\'' looking for beginning of value");
        assert_bad_json("\\", "invalid character '\\\\' looking for beginning of value");
        assert_bad_json("\xef\xbb\xbf{}", "invalid character '\xc3\xaf' looking for beginning of value");
        assert_bad_json("\x80", "invalid character '\\u0080' looking for beginning of value");
        assert_bad_json("\xa0", "invalid character '\\u00a0' looking for beginning of value");
        assert_bad_json("\x7f", "invalid character '\\x7f' looking for beginning of value");
        assert_bad_json_n("\0", 1, "invalid character '\\x00' looking for beginning of value");
        assert_bad_json("{\"a\":1,}", "invalid character '}' looking for beginning of object key string");
        assert_bad_json("{1:2}", "invalid character '1' looking for beginning of object key string");
        assert_bad_json("{\"a\" 1}", "invalid character '1' after object key");
        assert_bad_json("{\"a\":1 \"b\":2}", "invalid character '\"' after object key:value pair");
        assert_bad_json("[1 2]", "invalid character '2' after array element");
        assert_bad_json("[1}", "invalid character '}' after array element");
        assert_bad_json("1 2", "invalid character '2' after top-level value");
        assert_bad_json("{}}", "invalid character '}' after top-level value");
        assert_bad_json("01", "invalid character '1' after top-level value");
        assert_bad_json("[01]", "invalid character '1' after array element");
        assert_bad_json("truex", "invalid character 'x' after top-level value");
        assert_bad_json("-", "invalid character ' ' in numeric literal");
        assert_bad_json("-a", "invalid character 'a' in numeric literal");
        assert_bad_json("1.", "invalid character ' ' after decimal point in numeric literal");
        assert_bad_json("1.x", "invalid character 'x' after decimal point in numeric literal");
        assert_bad_json("1e", "invalid character ' ' in exponent of numeric literal");
        assert_bad_json("1e+x", "invalid character 'x' in exponent of numeric literal");
        assert_bad_json("tru", "invalid character ' ' in literal true (expecting 'e')");
        assert_bad_json("trUe", "invalid character 'U' in literal true (expecting 'u')");
        assert_bad_json("fx", "invalid character 'x' in literal false (expecting 'a')");
        assert_bad_json("nul", "invalid character ' ' in literal null (expecting 'l')");
        assert_bad_json("\"\\x\"", "invalid character 'x' in string escape code");
        assert_bad_json("\"\\", "invalid character ' ' in string escape code");
        assert_bad_json("\"\\u12g4\"", "invalid character 'g' in \\u hexadecimal character escape");
        assert_bad_json("\"\\u12", "invalid character ' ' in \\u hexadecimal character escape");
        assert_bad_json("\"a\nb\"", "invalid character '\\n' in string literal");
        assert_bad_json("\"\x01\"", "invalid character '\\x01' in string literal");
        assert_bad_json("\"\t\"", "invalid character '\\t' in string literal");
}

static void errors_give_the_position(void **state) {
        lk_value *v = NULL;
        lk_err err = LK_ERR_INIT;
        const char *text = "{\n  \"a\": x\n}";
        assert_int_equal(lk_value_from_json(text, strlen(text), &v, &err), -EINVAL);
        assert_int_equal(err.line, 2);
        assert_int_equal(err.column, 8);
        /* On one line the column is Go's SyntaxError.Offset. */
        text = "[1, 2, ?]";
        assert_int_equal(lk_value_from_json(text, strlen(text), &v, &err), -EINVAL);
        assert_int_equal(err.line, 1);
        assert_int_equal(err.column, 8);
        text = "[1,\n2";
        assert_int_equal(lk_value_from_json(text, strlen(text), &v, &err), -EINVAL);
        assert_string_equal(err.msg, "unexpected end of JSON input");
        assert_int_equal(err.line, 2);
        assert_int_equal(err.column, 2);
        text = "[1,\n 1e999]";
        assert_int_equal(lk_value_from_json(text, strlen(text), &v, &err), -EINVAL);
        assert_int_equal(err.line, 2);
        assert_int_equal(err.column, 2);
        assert_null(v);
}

/* Only len bytes are read: the text need not end in a NUL. */
static void reads_only_len_bytes(void **state) {
        lk_value *v = NULL;
        assert_int_equal(lk_value_from_json("[1]garbage", 3, &v, NULL), 0);
        assert_int_equal(lk_value_array_len(v), 1);
        lk_value_unref(v);
        assert_int_equal(lk_value_from_json("12345", 2, &v, NULL), 0);
        assert_int_equal(lk_value_get_int64(v), 12);
        lk_value_unref(v);
        assert_int_equal(lk_value_from_json(NULL, 0, &v, NULL), -EINVAL);
}

/* ---- JSON out ---- */

static void encodes_floats_as_go_does(void **state) {
        assert_json(lk_value_float64(1e21), "1e+21");
        assert_json(lk_value_float64(1e20), "100000000000000000000");
        assert_json(lk_value_float64(0.000001), "0.000001");
        assert_json(lk_value_float64(1e-7), "1e-7");
        assert_json(lk_value_float64(3.14), "3.14");
        assert_json(lk_value_float64(100), "100");
        assert_json(lk_value_float64(-0.0), "-0");
        assert_json(lk_value_float64(0.0), "0");
        assert_json(lk_value_float64(-1.5e-10), "-1.5e-10");
        assert_json(lk_value_float64(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_json(lk_value_float64(5e-324), "5e-324");
        assert_json(lk_value_float64(123456789.123), "123456789.123");
        assert_json(lk_value_float64(0.1 + 0.2), "0.30000000000000004");
        assert_json(lk_value_float64(9.99999999999999e-7), "9.99999999999999e-7");
        assert_json(lk_value_float64(999999999999999900000.0), "999999999999999900000");
        assert_json(lk_value_float64(1.2345678912345677e21), "1.2345678912345677e+21");
        assert_json(lk_value_float64(-12.5), "-12.5");
        assert_json(lk_value_float64(0.5e-6), "5e-7");
        assert_json(lk_value_float64(NAN), "null");
        assert_json(lk_value_float64(INFINITY), "null");
        assert_json(lk_value_float64(-INFINITY), "null");
}

static void encodes_strings_as_go_does(void **state) {
        assert_json(lk_value_string("<a&b>", SIZE_MAX), "\"\\u003ca\\u0026b\\u003e\"");
        assert_json(lk_value_string("q\"b\\", SIZE_MAX), "\"q\\\"b\\\\\"");
        assert_json(lk_value_string("\n\r\t\b\f\x01\x1f", SIZE_MAX), "\"\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\"");
        assert_json(lk_value_string("a\0b", 3), "\"a\\u0000b\"");
        assert_json(lk_value_string("\x7f/", SIZE_MAX), "\"\x7f/\"");
        assert_json(lk_value_string("\xe2\x80\xa8\xe2\x80\xa9", SIZE_MAX), "\"\\u2028\\u2029\"");
        assert_json(lk_value_string("\xc3\xa9\xf0\x9f\x98\x80", SIZE_MAX), "\"\xc3\xa9\xf0\x9f\x98\x80\"");
        assert_json(lk_value_string("a\xff" "b\xed\xa0\x80", SIZE_MAX), "\"a\\ufffdb\\ufffd\\ufffd\\ufffd\"");
        assert_json(lk_value_string("\xe2\x82", SIZE_MAX), "\"\\ufffd\\ufffd\"");
}

static void encodes_every_type(void **state) {
        assert_json(lk_value_null(), "null");
        assert_json(lk_value_bool(true), "true");
        assert_json(lk_value_bool(false), "false");
        assert_json(lk_value_int64(INT64_MIN), "-9223372036854775808");
        assert_json(lk_value_uint64(UINT64_MAX), "18446744073709551615");
        assert_json(bigint_value("-123456789012345678901234567890"), "-123456789012345678901234567890");
        assert_json(decimal_value("123.450"), "\"123.45\"");
        assert_json(decimal_value("1e3"), "\"1000\"");
        assert_json(decimal_value("-0.0000000000000123"), "\"-0.0000000000000123\"");
        assert_json(lk_value_bytes("\xde\xad\xbe\xef", 4), "\"0xdeadbeef\"");
        assert_json(lk_value_bytes(NULL, 0), "\"0x\"");
        assert_json(lk_value_error("task <failed>"), "\"task \\u003cfailed\\u003e\"");
        assert_json(lk_value_array(), "[]");
        assert_json(lk_value_map(), "{}");
        lk_buf b = LK_BUF_INIT;
        lk_value_to_json(NULL, &b);
        assert_string_equal(lk_buf_str(&b), "null");
        lk_buf_done(&b);
}

static void sorts_map_keys_bytewise(void **state) {
        lk_value *m = lk_value_map();
        lk_value_map_put(m, "b", 1, lk_value_int64(1));
        lk_value_map_put(m, "a", 1, lk_value_int64(2));
        lk_value_map_put(m, "ab", 2, lk_value_int64(3));
        lk_value_map_put(m, "B", 1, lk_value_int64(4));
        lk_value_map_put(m, "\xc3\xa9", 2, lk_value_int64(5));
        lk_value_map_put(m, "", 0, lk_value_int64(6));
        lk_value_map_put(m, "a\0", 2, lk_value_int64(7));
        assert_json(m, "{\"\":6,\"B\":4,\"a\":2,\"a\\u0000\":7,\"ab\":3,\"b\":1,\"\xc3\xa9\":5}");
}

static void encodes_nested_results(void **state) {
        lk_value *m = lk_value_map();
        lk_value *a = lk_value_array();
        lk_value_array_append(a, decimal_value("2.90"));
        lk_value_array_append(a, lk_value_bytes("\x01", 1));
        lk_value_array_append(a, lk_value_null());
        lk_value_map_put(m, "outputs", SIZE_MAX, a);
        lk_value *e = lk_value_array();
        lk_value_array_append(e, lk_value_null());
        lk_value_array_append(e, lk_value_error("divide by zero"));
        lk_value_map_put(m, "errors", SIZE_MAX, e);
        lk_value_map_put(m, "n", SIZE_MAX, lk_value_float64(0.25));
        assert_json(m, "{\"errors\":[null,\"divide by zero\"],\"n\":0.25,\"outputs\":[\"2.9\",\"0x01\",null]}");
}

static void round_trips(void **state) {
        assert_round_trip("{\"b\": [1, -2, 3.5, \"x\"], \"a\": {\"c\": null, \"d\": true}}",
                          "{\"a\":{\"c\":null,\"d\":true},\"b\":[1,-2,3.5,\"x\"]}");
        assert_round_trip("[9223372036854775807, 9223372036854775808, 18446744073709551616, -9223372036854775809]",
                          "[9223372036854775807,9223372036854775808,18446744073709551616,-9223372036854775809]");
        assert_round_trip("[1e21, 1.5e-7, 0.000001, 1e300, -2.5]", "[1e+21,1.5e-7,0.000001,1e+300,-2.5]");
        assert_round_trip("\"\\u003c\\u2028\\ud83d\\ude00\\u00e9\"", "\"\\u003c\\u2028\xf0\x9f\x98\x80\xc3\xa9\"");
        /* The replacement character is valid UTF-8 and is written as such. */
        assert_round_trip("\"bad \xff utf8\"", "\"bad \xef\xbf\xbd utf8\"");
        assert_round_trip("{\"a\":1,\"a\":2}", "{\"a\":2}");
        assert_round_trip("[[],{},[[]],\"\"]", "[[],{},[[]],\"\"]");
        /* Integral floats come back as integers: Go's encoding has no point. */
        lk_value *v = decode("[1.0, -0.0, 1e20]");
        char *text = encode(v);
        assert_string_equal(text, "[1,-0,100000000000000000000]");
        lk_value *again = decode(text);
        assert_int_equal(lk_value_type_of(lk_value_array_at(again, 0)), LK_VALUE_INT64);
        assert_int_equal(lk_value_type_of(lk_value_array_at(again, 2)), LK_VALUE_BIGINT);
        assert_false(lk_value_equal(v, again));
        lk_free(text);
        lk_value_unref(v);
        lk_value_unref(again);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(builds_scalars),
                cmocka_unit_test(copies_what_it_is_given),
                cmocka_unit_test(references_are_counted),
                cmocka_unit_test(counts_across_threads),
                cmocka_unit_test(arrays_keep_order),
                cmocka_unit_test(maps_replace_in_place),
                cmocka_unit_test(large_maps_find_every_key),
                cmocka_unit_test(compares_deeply),
                cmocka_unit_test(decodes_numbers_as_chainlink_does),
                cmocka_unit_test(rejects_floats_out_of_range),
                cmocka_unit_test(decodes_strings_as_go_does),
                cmocka_unit_test(decodes_structures),
                cmocka_unit_test(duplicate_keys_last_wins),
                cmocka_unit_test(limits_nesting_to_512),
                cmocka_unit_test(syntax_errors_read_like_go),
                cmocka_unit_test(errors_give_the_position),
                cmocka_unit_test(reads_only_len_bytes),
                cmocka_unit_test(encodes_floats_as_go_does),
                cmocka_unit_test(encodes_strings_as_go_does),
                cmocka_unit_test(encodes_every_type),
                cmocka_unit_test(sorts_map_keys_bytewise),
                cmocka_unit_test(encodes_nested_results),
                cmocka_unit_test(round_trips),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
