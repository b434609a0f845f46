/* Decimals as shopspring/decimal v1.3.1 has them: parsing with its error
 * texts, String(), NewFromFloat, arithmetic and the representation
 * (coefficient and exponent) each operation leaves. */
#include "lktest.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/decimal.h"

/* Operations must stay safe and exact at shopspring's int32 exponents,
 * which lk_decimal_parse refuses beyond LK_DECIMAL_MAX_EXPONENT: such
 * operands ("1e-2147483648") are built from their mantissa here. */
static void parse_ok(lk_decimal *d, const char *text) {
        lk_err err = LK_ERR_INIT;
        const char *e = strpbrk(text, "eE");
        long long exp = e ? strtoll(e + 1, NULL, 10) : 0;
        if (exp > LK_DECIMAL_MAX_EXPONENT || exp < -LK_DECIMAL_MAX_EXPONENT) {
                char mantissa[64];
                snprintf(mantissa, sizeof mantissa, "%.*s", (int)(e - text), text);
                parse_ok(d, mantissa);
                d->exponent = (int32_t)(d->exponent + exp);
                return;
        }
        if (lk_decimal_parse(d, text, &err) < 0)
                fail_msg("%s: %s", text, err.msg);
}

static void assert_decimal_string(const lk_decimal *d, const char *want) {
        char *got = lk_decimal_string(d);
        assert_string_equal(got, want);
        lk_free(got);
}

/* The text parses to coefficient·10^exponent and prints as want. */
static void assert_parse(const char *text, const char *coefficient, int32_t exponent, const char *want) {
        lk_decimal d;
        lk_decimal_init(&d);
        parse_ok(&d, text);
        char *c = mpz_get_str(NULL, 10, d.coefficient);
        if (strcmp(c, coefficient) != 0 || d.exponent != exponent)
                fail_msg("%s: got %s e%d, want %s e%d", text, c, (int)d.exponent, coefficient, (int)exponent);
        void (*gmp_free)(void *, size_t);
        mp_get_memory_functions(NULL, NULL, &gmp_free);
        gmp_free(c, strlen(c) + 1);
        if (want)
                assert_decimal_string(&d, want);
        lk_decimal_clear(&d);
}

static void assert_bad_parse(const char *text, const char *want_msg) {
        lk_decimal d;
        lk_decimal_init(&d);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_decimal_parse(&d, text, &err), -EINVAL);
        assert_int_equal(err.code, -EINVAL);
        assert_string_equal(err.msg, want_msg);
        lk_decimal_clear(&d);
}

/* text printed after one round of parse + String(). */
static void assert_canonical(const char *text, const char *want) {
        lk_decimal d;
        lk_decimal_init(&d);
        parse_ok(&d, text);
        assert_decimal_string(&d, want);
        lk_decimal_clear(&d);
}

static void parses_plain_and_exponent_forms(void **state) {
        assert_parse("2.90", "290", -2, "2.9");
        assert_parse("1e3", "1", 3, "1000");
        assert_parse("1E+3", "1", 3, "1000");
        assert_parse("-0.000", "0", -3, "0");
        assert_parse("1.23e-15", "123", -17, "0.00000000000000123");
        assert_parse("12345678901234567890123456789.5", "123456789012345678901234567895", -1,
                     "12345678901234567890123456789.5");
        assert_parse(".5", "5", -1, "0.5");
        assert_parse("5.", "5", 0, "5");
        assert_parse("-.5", "-5", -1, "-0.5");
        assert_parse("+1.50", "150", -2, "1.5");
        assert_parse("007", "7", 0, "7");
        assert_parse("-0", "0", 0, "0");
        assert_parse("123.456e2", "123456", -1, "12345.6");
        assert_parse("1.5e-1", "15", -2, "0.15");
        assert_parse("-6.15", "-615", -2, "-6.15");
        assert_parse("30", "30", 0, "30");
        assert_parse("0.0000000000000123", "123", -16, "0.0000000000000123");
        assert_parse("-1234567890123456789", "-1234567890123456789", 0, "-1234567890123456789");
        assert_parse("99999999999999999999999999999999999999e-40", "99999999999999999999999999999999999999",
                     -40, "0.0099999999999999999999999999999999999999");
        assert_parse("1e100000", "1", LK_DECIMAL_MAX_EXPONENT, NULL);
        assert_parse("1e-100000", "1", -LK_DECIMAL_MAX_EXPONENT, NULL);
        assert_parse("0.1e-99999", "1", -LK_DECIMAL_MAX_EXPONENT, NULL);
}

/* The string form, which is also what results persist as. */
static void string_is_canonical(void **state) {
        assert_canonical("1.000", "1");
        assert_canonical("-1.000", "-1");
        assert_canonical("100e-2", "1");
        assert_canonical("1000e-5", "0.01");
        assert_canonical("-0.0010", "-0.001");
        assert_canonical("0e10", "0");
        assert_canonical("0e-10", "0");
        assert_canonical("10.10", "10.1");
        assert_canonical("-12e2", "-1200");
}

/* Texts shopspring quotes without the exponent part use the text before
 * the 'e' ("abce5" complains about "abc"); the others quote it whole. */
static void rejects_what_shopspring_rejects(void **state) {
        assert_bad_parse("", "can't convert  to decimal");
        assert_bad_parse("abc", "can't convert abc to decimal");
        assert_bad_parse(" 1", "can't convert  1 to decimal");
        assert_bad_parse("1 ", "can't convert 1  to decimal");
        assert_bad_parse("0x10", "can't convert 0x10 to decimal");
        assert_bad_parse("1,000", "can't convert 1,000 to decimal");
        assert_bad_parse(".", "can't convert . to decimal");
        assert_bad_parse("-", "can't convert - to decimal");
        assert_bad_parse("+-1", "can't convert +-1 to decimal");
        assert_bad_parse("1_000", "can't convert 1_000 to decimal");
        assert_bad_parse("NaN", "can't convert NaN to decimal");
        assert_bad_parse("abce5", "can't convert abc to decimal");
        assert_bad_parse("1.2.3", "can't convert 1.2.3 to decimal: too many .s");
        assert_bad_parse("1..2e3", "can't convert 1..2 to decimal: too many .s");
        assert_bad_parse("1e", "can't convert 1e to decimal: exponent is not numeric");
        assert_bad_parse("1ex", "can't convert 1ex to decimal: exponent is not numeric");
        assert_bad_parse("1e+", "can't convert 1e+ to decimal: exponent is not numeric");
        assert_bad_parse("1e1.5", "can't convert 1e1.5 to decimal: exponent is not numeric");
        assert_bad_parse("1e2e3", "can't convert 1e2e3 to decimal: exponent is not numeric");
        assert_bad_parse("Infinity", "can't convert Infinity to decimal");
        assert_bad_parse("1e5000000000", "can't convert 1e5000000000 to decimal: fractional part too long");
        assert_bad_parse("1e2147483648", "can't convert 1e2147483648 to decimal: fractional part too long");
        assert_bad_parse("1e-2147483649", "can't convert 1e-2147483649 to decimal: fractional part too long");
        /* ParseInt reports the overflow before it meets the 'x'. */
        assert_bad_parse("1e99999999999x", "can't convert 1e99999999999x to decimal: fractional part too long");
        /* linkd's size bound, where shopspring would build a decimal whose
         * String() is gigabytes long. */
        assert_bad_parse("1e100001", "can't convert 1e100001 to decimal: exponent beyond linkd's limit of 100000");
        assert_bad_parse("1e2147483647", "can't convert 1e2147483647 to decimal: exponent beyond linkd's limit of 100000");
        assert_bad_parse("0.1e-100000", "can't convert 0.1e-100000 to decimal: exponent beyond linkd's limit of 100000");
        /* The exponent fits, the point takes it out of int32. */
        assert_bad_parse("1.5e-2147483648", "can't convert 1.5e-2147483648 to decimal: fractional part too long");
}

/* NewFromString joins the digits around the point and hands them to
 * ParseInt, so a sign after the point is accepted: ".-5" is -0.05. */
static void keeps_shopspring_quirks(void **state) {
        assert_parse(".-5", "-5", -2, "-0.05");
}

static void assert_from_double(double v, const char *coefficient, int32_t exponent, const char *want) {
        lk_decimal d;
        lk_decimal_init(&d);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_decimal_from_double(&d, v, &err), 0);
        mpz_t want_c;
        mpz_init_set_str(want_c, coefficient, 10);
        assert_int_equal(mpz_cmp(d.coefficient, want_c), 0);
        assert_int_equal(d.exponent, exponent);
        mpz_clear(want_c);
        if (want)
                assert_decimal_string(&d, want);
        lk_decimal_clear(&d);
}

static void from_double_is_shortest(void **state) {
        assert_from_double(0.1, "1", -1, "0.1");
        assert_from_double(1e-7, "1", -7, "0.0000001");
        assert_from_double(1e21, "1", 21, "1000000000000000000000");
        assert_from_double(123456789.123, "123456789123", -3, "123456789.123");
        assert_from_double(-0.0, "0", 0, "0");
        assert_from_double(0.0, "0", 0, "0");
        assert_from_double(100, "1", 2, "100");
        assert_from_double(-2.5, "-25", -1, "-2.5");
        assert_from_double(0.1 + 0.2, "30000000000000004", -17, "0.30000000000000004");
        assert_from_double(1.0 / 3.0, "3333333333333333", -16, "0.3333333333333333");
        assert_from_double(1.7976931348623157e308, "17976931348623157", 292, NULL);
        assert_from_double(2.2250738585072014e-308, "22250738585072014", -324, NULL);
        assert_from_double(5e-324, "5", -324, NULL);
        assert_from_double(9007199254740993.0, "9007199254740992", 0, "9007199254740992");
        assert_from_double(123456789012345680000.0, "12345678901234568", 4, "123456789012345680000");
}

static void from_double_rejects_nan_and_infinities(void **state) {
        struct {
                double v;
                const char *msg;
        } cases[] = {
                {NAN, "invalid float NaN, cannot convert to decimal"},
                {INFINITY, "invalid float +Inf, cannot convert to decimal"},
                {-INFINITY, "invalid float -Inf, cannot convert to decimal"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                lk_decimal d;
                lk_decimal_init(&d);
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_decimal_from_double(&d, cases[i].v, &err), -EINVAL);
                assert_string_equal(err.msg, cases[i].msg);
                lk_decimal_clear(&d);
        }
}

static void from_integers(void **state) {
        lk_decimal d;
        lk_decimal_init(&d);
        lk_decimal_from_int64(&d, INT64_MIN);
        assert_decimal_string(&d, "-9223372036854775808");
        lk_decimal_from_uint64(&d, UINT64_MAX);
        assert_decimal_string(&d, "18446744073709551615");
        mpz_t z;
        mpz_init_set_str(z, "-123456789012345678901234567890", 10);
        lk_decimal_from_mpz(&d, z);
        assert_decimal_string(&d, "-123456789012345678901234567890");
        assert_int_equal(d.exponent, 0);
        mpz_clear(z);
        lk_decimal_clear(&d);
}

typedef int (*binary_op)(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, lk_err *err);

static int add_op(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, lk_err *err) {
        lk_decimal_add(r, a, b);
        return 0;
}

static int sub_op(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, lk_err *err) {
        lk_decimal_sub(r, a, b);
        return 0;
}

/* a op b prints as want and has the exponent shopspring leaves. */
static void assert_op(binary_op op, const char *a, const char *b, const char *want, int32_t want_exp) {
        lk_decimal x, y, r;
        lk_decimal_init(&x);
        lk_decimal_init(&y);
        lk_decimal_init(&r);
        parse_ok(&x, a);
        parse_ok(&y, b);
        lk_err err = LK_ERR_INIT;
        if (op(&r, &x, &y, &err) < 0)
                fail_msg("%s, %s: %s", a, b, err.msg);
        if (want)
                assert_decimal_string(&r, want);
        assert_int_equal(r.exponent, want_exp);
        lk_decimal_clear(&x);
        lk_decimal_clear(&y);
        lk_decimal_clear(&r);
}

static void assert_op_fails(binary_op op, const char *a, const char *b, int code, const char *msg) {
        lk_decimal x, y, r;
        lk_decimal_init(&x);
        lk_decimal_init(&y);
        lk_decimal_init(&r);
        parse_ok(&x, a);
        parse_ok(&y, b);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(op(&r, &x, &y, &err), code);
        assert_string_equal(err.msg, msg);
        lk_decimal_clear(&x);
        lk_decimal_clear(&y);
        lk_decimal_clear(&r);
}

static void adds_and_subtracts(void **state) {
        assert_op(add_op, "1.1", "2.25", "3.35", -2);
        assert_op(add_op, "1e3", "1", "1001", 0);
        assert_op(add_op, "1e3", "1e2", "1100", 2);
        assert_op(add_op, "0.1", "-0.1", "0", -1);
        assert_op(add_op, "123456789012345678901234567890", "0.000000000000000000001",
                  "123456789012345678901234567890.000000000000000000001", -21);
        assert_op(sub_op, "1", "0.001", "0.999", -3);
        assert_op(sub_op, "-1.5", "2.5", "-4", -1);
        assert_op(sub_op, "1e2", "1e2", "0", 2);
}

static void multiplies(void **state) {
        assert_op(lk_decimal_mul, "1.5", "2", "3", -1);
        assert_op(lk_decimal_mul, "-1.25", "0.2", "-0.25", -3);
        assert_op(lk_decimal_mul, "1e10", "1e-3", "10000000", 7);
        assert_op(lk_decimal_mul, "123456789012345678901234567890", "1000000000000000000000",
                  "123456789012345678901234567890000000000000000000000", 0);
        assert_op(lk_decimal_mul, "0", "-5", "0", 0);
        assert_op(lk_decimal_mul, "1e2147483647", "1e-2147483648", "0.1", -1);
        assert_op_fails(lk_decimal_mul, "1e2147483647", "1e1", -ERANGE, "multiply overflow");
        assert_op_fails(lk_decimal_mul, "1e-2147483648", "0.1", -ERANGE, "multiply overflow");
        /* The check is on the exponents, whatever the coefficients. */
        assert_op_fails(lk_decimal_mul, "0e2147483647", "0e1", -ERANGE, "multiply overflow");
        /* linkd's size bound: exponents and digits. */
        assert_op(lk_decimal_mul, "1e50000", "1e50000", NULL, 100000);
        assert_op_fails(lk_decimal_mul, "1e50000", "1e50001", -ERANGE,
                        "multiply overflow: beyond linkd's decimal size limit");
        assert_op_fails(lk_decimal_mul, "1e-100000", "0.1", -ERANGE,
                        "multiply overflow: beyond linkd's decimal size limit");
        char *big = lk_malloc(150001);
        memset(big, '7', 150000);
        big[150000] = '\0';
        assert_op_fails(lk_decimal_mul, big, big, -ERANGE, "multiply overflow: beyond linkd's decimal size limit");
        lk_free(big);
}

static void divides_to_sixteen_places(void **state) {
        assert_op(lk_decimal_div, "1", "3", "0.3333333333333333", -16);
        assert_op(lk_decimal_div, "2", "3", "0.6666666666666667", -16);
        assert_op(lk_decimal_div, "-2", "3", "-0.6666666666666667", -16);
        assert_op(lk_decimal_div, "2", "-3", "-0.6666666666666667", -16);
        assert_op(lk_decimal_div, "10", "4", "2.5", -16);
        assert_op(lk_decimal_div, "1", "8", "0.125", -16);
        assert_op(lk_decimal_div, "0", "7", "0", -16);
        assert_op(lk_decimal_div, "1e20", "1e-5", "10000000000000000000000000", -16);
        assert_op(lk_decimal_div, "1", "30000000000000000", "0", -16);
        assert_op(lk_decimal_div, "1", "20000000000000000", "0.0000000000000001", -16);
        assert_op(lk_decimal_div, "123456789012345678901234567890", "7",
                  "17636684144620811271604938270", -16);
        assert_op(lk_decimal_div, "3.14159", "2.71828", "1.1557271509925394", -16);
}

static void assert_div_round(const char *a, const char *b, int32_t precision, const char *want) {
        lk_decimal x, y, r;
        lk_decimal_init(&x);
        lk_decimal_init(&y);
        lk_decimal_init(&r);
        parse_ok(&x, a);
        parse_ok(&y, b);
        lk_err err = LK_ERR_INIT;
        if (lk_decimal_div_round(&r, &x, &y, precision, &err) < 0)
                fail_msg("%s / %s (%d): %s", a, b, (int)precision, err.msg);
        char *got = lk_decimal_string(&r);
        if (strcmp(got, want) != 0)
                fail_msg("%s / %s (%d): got %s, want %s", a, b, (int)precision, got, want);
        assert_int_equal(r.exponent, -precision);
        lk_free(got);
        lk_decimal_clear(&x);
        lk_decimal_clear(&y);
        lk_decimal_clear(&r);
}

static void div_round_rounds_half_away_from_zero(void **state) {
        assert_div_round("-2.5", "1", 0, "-3");
        assert_div_round("2.5", "1", 0, "3");
        assert_div_round("5", "2", 0, "3");
        assert_div_round("-5", "2", 0, "-3");
        assert_div_round("5", "-2", 0, "-3");
        assert_div_round("-5", "-2", 0, "3");
        assert_div_round("7", "2", 0, "4");
        assert_div_round("0.4999", "1", 0, "0");
        assert_div_round("-0.4999", "1", 0, "0");
        assert_div_round("-0.5", "1", 0, "-1");
        assert_div_round("1", "3", 2, "0.33");
        assert_div_round("2", "3", 2, "0.67");
        assert_div_round("-2", "3", 2, "-0.67");
        assert_div_round("1.25", "1", 1, "1.3");
        assert_div_round("-1.25", "1", 1, "-1.3");
        assert_div_round("1.249", "1", 1, "1.2");
        assert_div_round("1.05", "1", 1, "1.1");
        assert_div_round("0.125", "1", 2, "0.13");
        assert_div_round("1", "4", 4, "0.25");
        assert_div_round("10", "3", 20, "3.33333333333333333333");
        assert_div_round("1", "7", 30, "0.142857142857142857142857142857");
}

static void div_round_to_tens_with_negative_precision(void **state) {
        assert_div_round("1234", "1", -2, "1200");
        assert_div_round("1250", "1", -2, "1300");
        assert_div_round("-1250", "1", -2, "-1300");
        assert_div_round("1249.99", "1", -2, "1200");
        assert_div_round("15", "1", -1, "20");
        assert_div_round("-15", "1", -1, "-20");
        assert_div_round("14", "1", -1, "10");
        assert_div_round("4", "1", -1, "0");
        assert_div_round("5", "1", -1, "10");
        assert_div_round("1e6", "3", -3, "333000");
}

static int div_round_16(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, lk_err *err) {
        return lk_decimal_div_round(r, a, b, 16, err);
}

static int div_round_huge(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, lk_err *err) {
        return lk_decimal_div_round(r, a, b, LK_DECIMAL_MAX_EXPONENT + 1, err);
}

static void division_errors(void **state) {
        assert_op_fails(div_round_huge, "1", "3", -ERANGE, "division overflow: precision beyond linkd's limit of 100000");
        assert_op_fails(lk_decimal_div, "1", "0", -EDOM, "divide by zero");
        assert_op_fails(lk_decimal_div, "0", "0.000", -EDOM, "divide by zero");
        assert_op_fails(div_round_16, "1", "0e5", -EDOM, "divide by zero");
        assert_op_fails(lk_decimal_div, "1e2147483647", "1", -ERANGE, "division overflow");
        assert_op_fails(lk_decimal_div, "1e-2147483648", "1e17", -ERANGE, "division overflow");
        lk_decimal x, y, r;
        lk_decimal_init(&x);
        lk_decimal_init(&y);
        lk_decimal_init(&r);
        parse_ok(&x, "1");
        parse_ok(&y, "1");
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_decimal_div_round(&r, &x, &y, INT32_MIN, &err), -ERANGE);
        assert_string_equal(err.msg, "division overflow");
        lk_decimal_clear(&x);
        lk_decimal_clear(&y);
        lk_decimal_clear(&r);
}

/* The result may be one of the operands. */
static void operands_may_alias_the_result(void **state) {
        lk_decimal a, b;
        lk_decimal_init(&a);
        lk_decimal_init(&b);
        parse_ok(&a, "1.5");
        parse_ok(&b, "2");
        lk_decimal_add(&a, &a, &b);
        assert_decimal_string(&a, "3.5");
        assert_int_equal(lk_decimal_mul(&b, &a, &b, NULL), 0);
        assert_decimal_string(&b, "7");
        assert_int_equal(lk_decimal_div(&a, &a, &b, NULL), 0);
        assert_decimal_string(&a, "0.5");
        lk_decimal_sub(&a, &b, &a);
        assert_decimal_string(&a, "6.5");
        lk_decimal_set(&b, &a);
        assert_decimal_string(&b, "6.5");
        assert_int_equal(b.exponent, -16);
        lk_decimal_clear(&a);
        lk_decimal_clear(&b);
}

static int cmp_texts(const char *a, const char *b) {
        lk_decimal x, y;
        lk_decimal_init(&x);
        lk_decimal_init(&y);
        parse_ok(&x, a);
        parse_ok(&y, b);
        int c = lk_decimal_cmp(&x, &y);
        lk_decimal_clear(&x);
        lk_decimal_clear(&y);
        return c;
}

static void compares(void **state) {
        assert_int_equal(cmp_texts("1.0", "1"), 0);
        assert_int_equal(cmp_texts("2", "10"), -1);
        assert_int_equal(cmp_texts("10", "2"), 1);
        assert_int_equal(cmp_texts("-1", "1"), -1);
        assert_int_equal(cmp_texts("-2", "-10"), 1);
        assert_int_equal(cmp_texts("0", "-0.000"), 0);
        assert_int_equal(cmp_texts("1e-5", "0"), 1);
        assert_int_equal(cmp_texts("1e2147483647", "1"), 1);
        assert_int_equal(cmp_texts("-1e2147483647", "1e-2147483648"), -1);
        assert_int_equal(cmp_texts("1e-2147483648", "2e-2147483648"), -1);
        assert_int_equal(cmp_texts("99999", "1e5"), -1);
        assert_int_equal(cmp_texts("100000", "1e5"), 0);
        assert_int_equal(cmp_texts("100001e-1", "1e4"), 1);
        assert_int_equal(cmp_texts("0.30000000000000004", "0.3"), 1);
}

static void sign_and_integer_tests(void **state) {
        struct {
                const char *text;
                int sign;
                bool integer;
        } cases[] = {
                {"0", 0, true},         {"-0.000", 0, true},        {"1.000", 1, true},
                {"1.5", 1, false},      {"-1.5", -1, false},        {"1e3", 1, true},
                {"100e-2", 1, true},    {"101e-2", 1, false},       {"-7", -1, true},
                {"1e-2147483648", 1, false}, {"0e-2147483648", 0, true},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                lk_decimal d;
                lk_decimal_init(&d);
                parse_ok(&d, cases[i].text);
                assert_int_equal(lk_decimal_sign(&d), cases[i].sign);
                assert_int_equal(lk_decimal_is_integer(&d), cases[i].integer);
                lk_decimal_clear(&d);
        }
}

static void assert_truncated(const char *text, const char *want) {
        lk_decimal d;
        lk_decimal_init(&d);
        parse_ok(&d, text);
        mpz_t z, w;
        mpz_init(z);
        mpz_init_set_str(w, want, 10);
        lk_decimal_to_mpz(&d, z);
        if (mpz_cmp(z, w) != 0)
                fail_msg("%s truncated is not %s", text, want);
        mpz_clear(z);
        mpz_clear(w);
        lk_decimal_clear(&d);
}

static void truncates_toward_zero(void **state) {
        assert_truncated("1.9", "1");
        assert_truncated("-1.9", "-1");
        assert_truncated("1e3", "1000");
        assert_truncated("123.456", "123");
        assert_truncated("1e-100", "0");
        assert_truncated("-0.5", "0");
        assert_truncated("12345678901234567890123456789.5", "12345678901234567890123456789");
        assert_truncated("1e-2147483648", "0");
}

static double to_double(const char *text) {
        lk_decimal d;
        lk_decimal_init(&d);
        parse_ok(&d, text);
        double v = lk_decimal_to_double(&d);
        lk_decimal_clear(&d);
        return v;
}

static void converts_to_the_nearest_double(void **state) {
        assert_true(to_double("0.1") == 0.1);
        assert_true(to_double("-2.5") == -2.5);
        assert_true(to_double("123456789.123") == 123456789.123);
        assert_true(to_double("0.30000000000000004") == 0.1 + 0.2);
        assert_true(to_double("9007199254740993") == 9007199254740992.0);
        assert_true(to_double("1e400") == INFINITY);
        assert_true(to_double("-1e400") == -INFINITY);
        assert_true(to_double("1e-400") == 0);
        assert_true(to_double("0") == 0);
        assert_true(to_double("4.9406564584124654e-324") == 5e-324);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_plain_and_exponent_forms),
                cmocka_unit_test(string_is_canonical),
                cmocka_unit_test(rejects_what_shopspring_rejects),
                cmocka_unit_test(keeps_shopspring_quirks),
                cmocka_unit_test(from_double_is_shortest),
                cmocka_unit_test(from_double_rejects_nan_and_infinities),
                cmocka_unit_test(from_integers),
                cmocka_unit_test(adds_and_subtracts),
                cmocka_unit_test(multiplies),
                cmocka_unit_test(divides_to_sixteen_places),
                cmocka_unit_test(div_round_rounds_half_away_from_zero),
                cmocka_unit_test(div_round_to_tens_with_negative_precision),
                cmocka_unit_test(division_errors),
                cmocka_unit_test(operands_may_alias_the_result),
                cmocka_unit_test(compares),
                cmocka_unit_test(sign_and_integer_tests),
                cmocka_unit_test(truncates_toward_zero),
                cmocka_unit_test(converts_to_the_nearest_double),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
