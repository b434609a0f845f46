/* The secp256k1 group: Chainlink's encodings, the identity, and the
 * arithmetic laws on seeded random scalars. */
#include "lktest.h"
#include "cryptotest.h"

#include <errno.h>
#include <string.h>

#include "linkd/secp256k1.h"

#define GX "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
#define GY "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"

static lk_scalar scalar_of(const char *hex) {
        lk_scalar s;
        lktest_unhex(hex, s.b, sizeof s.b);
        return s;
}

static lk_point base_times(const char *hex) {
        lk_scalar k = scalar_of(hex);
        lk_point p;
        lk_point_base_mul(&p, &k);
        return p;
}

static void encodings_are_chainlinks(void **state) {
        (void)state;
        lk_point g = base_times("1");
        uint8_t long_form[LK_POINT_LEN], short_form[LK_POINT_SHORT_LEN], address[LK_ADDRESS_LEN];
        lk_point_to_long(&g, long_form);
        lktest_assert_hex(long_form, sizeof long_form, GX GY);
        lk_point_to_short(&g, short_form);
        lktest_assert_hex(short_form, sizeof short_form, GX "00"); /* Gy is even: the parity byte is last */
        lk_point two_g = base_times("2");
        lk_point_address(&two_g, address);
        lktest_assert_hex(address, sizeof address, "2B5AD5c4795c026514f8317c7a215E218DcCD6cF");
        lk_point_to_short(&two_g, short_form);
        assert_int_equal(short_form[32], lk_point_y_is_odd(&two_g));

        lk_point back;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_point_from_long(&back, long_form, &err), 0);
        assert_true(lk_point_equal(&back, &g));
        lk_point_to_short(&two_g, short_form);
        assert_int_equal(lk_point_from_short(&back, short_form, &err), 0);
        assert_true(lk_point_equal(&back, &two_g));
}

static void bad_encodings_are_refused(void **state) {
        (void)state;
        uint8_t in[LK_POINT_LEN];
        lk_point p;
        lk_err err = LK_ERR_INIT;
        lktest_unhex(GX GY, in, sizeof in);
        in[63] ^= 1; /* y + 1 */
        assert_int_equal(lk_point_from_long(&p, in, &err), -EINVAL);
        assert_string_equal(err.msg, "point is not on the curve");
        memset(in, 0, sizeof in);
        assert_int_equal(lk_point_from_long(&p, in, &err), -EINVAL);
        assert_string_equal(err.msg, "point is the identity (0, 0)");
        memset(in, 0xff, 32);
        assert_int_equal(lk_point_from_long(&p, in, &err), -EINVAL);
        assert_string_equal(err.msg, "point coordinate is not below the field prime");

        uint8_t short_form[LK_POINT_SHORT_LEN];
        lktest_unhex(GX "02", short_form, sizeof short_form);
        assert_int_equal(lk_point_from_short(&p, short_form, &err), -EINVAL);
        assert_string_equal(err.msg, "point's parity byte is 0x02, not 0x00 or 0x01");
        /* x = 5: 5³ + 7 = 132 is not a square mod P */
        memset(short_form, 0, sizeof short_form);
        short_form[31] = 5;
        assert_int_equal(lk_point_from_short(&p, short_form, &err), -EINVAL);
        assert_string_equal(err.msg, "no point on the curve has that x coordinate");
}

static void the_identity(void **state) {
        (void)state;
        lk_point g = base_times("1"), minus_g, sum, zero = base_times("0");
        assert_true(zero.infinity);
        lk_point_negate(&minus_g, &g);
        lk_point_add(&sum, &g, &minus_g);
        assert_true(sum.infinity);
        assert_true(lk_point_equal(&sum, &zero));
        lk_point_add(&sum, &sum, &g);
        assert_true(lk_point_equal(&sum, &g));
        uint8_t long_form[LK_POINT_LEN] = {1};
        lk_point_to_long(&zero, long_form);
        lktest_assert_hex(long_form, sizeof long_form, "00");
        /* N·G */
        lk_point n_g;
        lk_point_mul(&n_g, &g, &(lk_scalar){{0}});
        assert_true(n_g.infinity);
}

static void scalars(void **state) {
        (void)state;
        lk_scalar r, max;
        memset(max.b, 0xff, sizeof max.b);
        lk_scalar_reduce(&r, max.b); /* 2^256 - 1 - N */
        lktest_assert_hex(r.b, sizeof r.b, "14551231950b75fc4402da1732fc9bebe");
        assert_false(lk_scalar_in_range(lk_scalar_order.b));
        lk_scalar n_minus_1 = scalar_of("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
        assert_true(lk_scalar_in_range(n_minus_1.b));
        lk_scalar one = scalar_of("1");
        lk_scalar_add(&r, &n_minus_1, &one);
        assert_true(lk_scalar_is_zero(&r));
        lk_scalar_negate(&r, &one);
        assert_true(lk_scalar_equal(&r, &n_minus_1));
        lk_scalar_sub(&r, &one, &one);
        assert_true(lk_scalar_is_zero(&r));
        lk_scalar_mul(&r, &n_minus_1, &n_minus_1); /* (-1)² */
        assert_true(lk_scalar_equal(&r, &one));
        assert_int_equal(lk_scalar_inverse_public(&r, &(lk_scalar){{0}}), -EDOM);
}

/* The laws that tie scalars to points, on seeded random values. */
static void arithmetic_laws(void **state) {
        (void)state;
        lktest_stream stream;
        const lk_random *random = lktest_stream_init(&stream, 7);
        for (int i = 0; i < 100; i++) {
                lk_scalar a, b, sum, product, inverse, check;
                assert_int_equal(lk_scalar_random(&a, random), 0);
                assert_int_equal(lk_scalar_random(&b, random), 0);
                lk_point a_g, b_g, left, right;
                lk_point_base_mul(&a_g, &a);
                lk_point_base_mul(&b_g, &b);
                lk_scalar_add(&sum, &a, &b);
                lk_point_base_mul(&left, &sum);
                lk_point_add(&right, &a_g, &b_g);
                assert_true(lk_point_equal(&left, &right));
                lk_scalar_mul(&product, &a, &b);
                lk_point_base_mul(&left, &product);
                lk_point_mul(&right, &a_g, &b);
                assert_true(lk_point_equal(&left, &right));
                lk_scalar_sub(&check, &sum, &b);
                assert_true(lk_scalar_equal(&check, &a));
                lk_point_sub(&left, &left, &right);
                assert_true(left.infinity);
                assert_int_equal(lk_scalar_inverse_public(&inverse, &a), 0);
                lk_scalar_mul(&check, &a, &inverse);
                assert_true(lk_scalar_equal(&check, &(lk_scalar){.b[31] = 1}));
                /* the verifiers' variable-time forms agree */
                lk_point slow, fast, b_of_g;
                lk_point_base_mul(&b_of_g, &b);
                lk_point_mul(&slow, &b_of_g, &a);
                lk_point_add(&slow, &slow, &b_of_g);
                lk_point_lincomb_public(&fast, &a, &b_of_g, &b);
                assert_true(lk_point_equal(&fast, &slow));
                lk_point_mul(&slow, &a_g, &b);
                lk_point_mul_public(&fast, &a_g, &b);
                assert_true(lk_point_equal(&fast, &slow));
                lk_scalar minus_ab;
                lk_scalar_negate(&minus_ab, &product); /* a·(b·G) + (−ab)·G = identity */
                lk_point_lincomb_public(&fast, &a, &b_of_g, &minus_ab);
                assert_true(fast.infinity);
                uint8_t short_form[LK_POINT_SHORT_LEN];
                lk_point back;
                lk_point_to_short(&a_g, short_form);
                assert_int_equal(lk_point_from_short(&back, short_form, NULL), 0);
                assert_true(lk_point_equal(&back, &a_g));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(encodings_are_chainlinks),
                cmocka_unit_test(bad_encodings_are_refused),
                cmocka_unit_test(the_identity),
                cmocka_unit_test(scalars),
                cmocka_unit_test(arithmetic_laws),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
