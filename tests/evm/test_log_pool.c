/* Which logs a subscriber gets and when: only with enough confirmations
 * on the canonical chain; never from a block reorganised away; again,
 * under its new block, when a log reappears; not when removed; once. */
#include "lktest.h"
#include "test_chain.h"

#include <string.h>

#include "linkd/alloc.h"
#include "linkd/log_pool.h"


static void grow(lk_head_chain *c, int64_t from, int64_t to, int branch, int64_t fork) {
        for (int64_t n = from; n <= to; n++) {
                lk_head h = lktest_block(n, branch, fork);
                lk_head_update u;
                lk_head_chain_add(c, &h, &u);
        }
}

static lk_evm_log log_in(int64_t number, int branch, int64_t fork, uint64_t index) {
        lk_head b = lktest_block(number, branch, fork);
        lk_evm_log l = {.block_number = (uint64_t)number, .log_index = index, .data_hex = "0x01"};
        memcpy(l.block_hash, b.hash, 32);
        return l;
}

static size_t take(lk_log_pool *p, lk_head_chain *c, uint32_t confs, size_t *dropped) {
        lk_pooled_log *ready = NULL;
        const lk_head *tip = lk_head_chain_tip(c);
        size_t n = lk_log_pool_take_ready(p, tip ? tip->number : -1, -1, lk_log_pool_chain_canonical, c, confs, &ready,
                                          dropped);
        for (size_t i = 1; i < n; i++)
                assert_true(ready[i - 1].log.block_number <= ready[i].log.block_number);
        lk_log_pool_release(ready, n);
        return n;
}

static void confirmations_and_order(void **state) {
        (void)state;
        lk_head_chain *c = lk_head_chain_new(100);
        lk_log_pool *p = lk_log_pool_new();
        grow(c, 1, 10, 0, 0);
        lk_evm_log a = log_in(10, 0, 0, 1), b = log_in(9, 0, 0, 0);
        lk_log_pool_add(p, &a);
        lk_log_pool_add(p, &b);
        lk_log_pool_add(p, &a); /* the same log twice: kept once */
        assert_int_equal(lk_log_pool_count(p), 2);
        size_t dropped = 0;
        assert_int_equal(take(p, c, 3, &dropped), 0); /* 9 has 2 confirmations, 10 has 1 */
        grow(c, 11, 11, 0, 0);
        assert_int_equal(take(p, c, 3, &dropped), 1); /* 9 has 3 */
        grow(c, 12, 12, 0, 0);
        assert_int_equal(take(p, c, 3, &dropped), 1);
        assert_int_equal(take(p, c, 3, &dropped), 0); /* delivered once */
        assert_int_equal(lk_log_pool_count(p), 0);
        lk_log_pool_free(p);
        lk_head_chain_free(c);
}

static void reorgs_drop_and_reappear(void **state) {
        (void)state;
        lk_head_chain *c = lk_head_chain_new(100);
        lk_log_pool *p = lk_log_pool_new();
        grow(c, 1, 10, 0, 0);
        lk_evm_log old = log_in(9, 0, 0, 0);
        lk_log_pool_add(p, &old);
        /* branch 1 forks after 8 and overtakes: block 9 is gone */
        grow(c, 9, 11, 1, 8);
        size_t dropped = 0;
        assert_int_equal(take(p, c, 1, &dropped), 0);
        assert_int_equal(dropped, 1);
        /* the same log in the new block 9': a new log, delivered once confirmed */
        lk_evm_log again = log_in(9, 1, 8, 0);
        lk_log_pool_add(p, &again);
        assert_int_equal(take(p, c, 4, &dropped), 0);
        grow(c, 12, 12, 1, 8);
        assert_int_equal(take(p, c, 4, &dropped), 1);
        assert_int_equal(dropped, 0);
        /* a log in a block the tracker has not seen yet waits */
        lk_evm_log ahead = log_in(20, 1, 8, 0);
        lk_log_pool_add(p, &ahead);
        assert_int_equal(take(p, c, 1, &dropped), 0);
        assert_int_equal(lk_log_pool_count(p), 1);
        lk_log_pool_free(p);
        lk_head_chain_free(c);
}

static void removed_logs_are_not_delivered(void **state) {
        (void)state;
        lk_head_chain *c = lk_head_chain_new(100);
        lk_log_pool *p = lk_log_pool_new();
        grow(c, 1, 5, 0, 0);
        lk_evm_log l = log_in(4, 0, 0, 7);
        lk_log_pool_add(p, &l);
        l.removed = true;
        lk_log_pool_add(p, &l);
        assert_int_equal(lk_log_pool_count(p), 0);
        lk_log_pool_add(p, &l); /* a removal for a log never seen: nothing */
        assert_int_equal(lk_log_pool_count(p), 0);
        size_t dropped = 0;
        grow(c, 6, 10, 0, 0);
        assert_int_equal(take(p, c, 1, &dropped), 0);
        lk_log_pool_free(p);
        lk_head_chain_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(confirmations_and_order),
                cmocka_unit_test(reorgs_drop_and_reappear),
                cmocka_unit_test(removed_logs_are_not_delivered),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
