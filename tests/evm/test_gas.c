/* Gas bumping and the classes of send errors. */
#include "lktest.h"

#include <errno.h>
#include <stdint.h>

#include "linkd/gas.h"

#define GWEI INT64_C(1000000000)

static void bumping_legacy_prices(void **state) {
        (void)state;
        lk_gas_bump_config c = {.bump_percent = 20, .bump_min = 5 * GWEI, .price_max = 100 * GWEI};
        int64_t p = 0;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_gas_bump_price(&c, 50 * GWEI, &p, &err), 0);
        assert_int_equal(p, 60 * GWEI); /* 20 % beats 5 gwei */
        assert_int_equal(lk_gas_bump_price(&c, 10 * GWEI, &p, &err), 0);
        assert_int_equal(p, 15 * GWEI); /* 5 gwei beats 20 % */
        assert_int_equal(lk_gas_bump_price(&c, 90 * GWEI, &p, &err), 0);
        assert_int_equal(p, 100 * GWEI); /* capped */
        assert_int_equal(lk_gas_bump_price(&c, 100 * GWEI, &p, &err), -ERANGE);
        assert_string_equal(err.msg, "gas price 100000000000 wei is already at the configured maximum of "
                                     "100000000000 wei");
        /* no overflow near the top of int64 */
        lk_gas_bump_config huge = {.bump_percent = 1000, .bump_min = INT64_MAX, .price_max = INT64_MAX};
        assert_int_equal(lk_gas_bump_price(&huge, INT64_MAX / 2, &p, &err), 0);
        assert_int_equal(p, INT64_MAX);
}

static void bumping_dynamic_fees(void **state) {
        (void)state;
        lk_gas_bump_config c = {.bump_percent = 20, .bump_min = 5 * GWEI, .price_max = 100 * GWEI};
        int64_t tip = 0, cap = 0;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_gas_bump_dynamic(&c, 2 * GWEI, 50 * GWEI, &tip, &cap, &err), 0);
        assert_int_equal(tip, 7 * GWEI);
        assert_int_equal(cap, 60 * GWEI);
        /* the cap rises at least as far as the tip */
        c.bump_percent = 100;
        assert_int_equal(lk_gas_bump_dynamic(&c, 40 * GWEI, 45 * GWEI, &tip, &cap, &err), 0);
        assert_int_equal(tip, 80 * GWEI);
        assert_int_equal(cap, 90 * GWEI);
        /* capped, the tip never above the cap */
        assert_int_equal(lk_gas_bump_dynamic(&c, 70 * GWEI, 80 * GWEI, &tip, &cap, &err), 0);
        assert_int_equal(cap, 100 * GWEI);
        assert_int_equal(tip, 100 * GWEI);
        assert_int_equal(lk_gas_bump_dynamic(&c, 1, 100 * GWEI, &tip, &cap, &err), -ERANGE);
}

static void send_errors(void **state) {
        (void)state;
        static const struct {
                const char *message;
                lk_send_error want;
        } cases[] = {
                {"nonce too low", LK_SEND_NONCE_TOO_LOW},
                {"the tx doesn't have the correct nonce. account has nonce of: 2 tx has nonce of: 1",
                 LK_SEND_NONCE_TOO_LOW},
                {"already known", LK_SEND_ALREADY_KNOWN},
                {"Known transaction: 0x1234", LK_SEND_ALREADY_KNOWN},
                {"replacement transaction underpriced", LK_SEND_REPLACEMENT_UNDERPRICED},
                {"transaction underpriced", LK_SEND_UNDERPRICED},
                {"max fee per gas less than block base fee: address 0x…", LK_SEND_UNDERPRICED},
                {"VM Exception while processing transaction: Transaction's maxFeePerGas (1) is less than the block's "
                 "baseFeePerGas (875000000) (vm hf=shanghai -> block -> tx)",
                 LK_SEND_UNDERPRICED},
                {"insufficient funds for gas * price + value", LK_SEND_INSUFFICIENT_FUNDS},
                {"tx fee (1.10 ether) exceeds the configured cap (1.00 ether)", LK_SEND_FEE_CAP_EXCEEDED},
                {"txpool is full", LK_SEND_RETRYABLE},
                {"exceeds block gas limit", LK_SEND_FATAL},
                {"intrinsic gas too low", LK_SEND_FATAL},
                {"only replay-protected (EIP-155) transactions allowed over RPC", LK_SEND_FATAL},
                {"something never seen before", LK_SEND_RETRYABLE},
                {"", LK_SEND_OK},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                lk_send_error got = lk_send_error_classify(cases[i].message);
                if (got != cases[i].want)
                        fail_msg("\"%s\": %s, want %s", cases[i].message, lk_send_error_name(got),
                                 lk_send_error_name(cases[i].want));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(bumping_legacy_prices),
                cmocka_unit_test(bumping_dynamic_fees),
                cmocka_unit_test(send_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
