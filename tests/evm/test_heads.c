/* The head chain: growth, duplicates, gaps and their filling, reorgs seen
 * at once and reorgs found only when a gap fills, and forgetting what is
 * deeper than the history. */
#include "lktest.h"
#include "test_chain.h"

#include <string.h>

#include "linkd/heads.h"


static lk_head_update add(lk_head_chain *c, lk_head h) {
        lk_head_update u;
        lk_head_chain_add(c, &h, &u);
        return u;
}

static void assert_canonical(lk_head_chain *c, int64_t number, int branch) {
        const lk_head *h = lk_head_chain_canonical(c, number);
        if (!h)
                fail_msg("no canonical head at %lld", (long long)number);
        assert_int_equal(h->hash[0], branch);
}

static void growth_and_duplicates(void **state) {
        (void)state;
        lk_head_chain *c = lk_head_chain_new(100);
        assert_null(lk_head_chain_tip(c));
        for (int64_t n = 1; n <= 10; n++) {
                lk_head_update u = add(c, lktest_block(n, 0, 0));
                assert_int_equal(u.outcome, LK_HEAD_EXTENDED);
                assert_int_equal(u.missing_to, 0);
        }
        assert_int_equal(lk_head_chain_tip(c)->number, 10);
        assert_int_equal(add(c, lktest_block(7, 0, 0)).outcome, LK_HEAD_IGNORED);
        for (int64_t n = 1; n <= 10; n++)
                assert_canonical(c, n, 0);
        assert_null(lk_head_chain_canonical(c, 11));
        lk_head_chain_free(c);
}

static void gaps_are_reported_and_filled(void **state) {
        (void)state;
        lk_head_chain *c = lk_head_chain_new(100);
        for (int64_t n = 1; n <= 5; n++)
                add(c, lktest_block(n, 0, 0));
        lk_head_update u = add(c, lktest_block(8, 0, 0));
        assert_int_equal(u.outcome, LK_HEAD_EXTENDED);
        assert_int_equal(u.missing_from, 6);
        assert_int_equal(u.missing_to, 7);
        /* the tip seen again (a poll with no new block) still tells the gap */
        u = add(c, lktest_block(8, 0, 0));
        assert_int_equal(u.outcome, LK_HEAD_IGNORED);
        assert_int_equal(u.missing_from, 6);
        assert_int_equal(u.missing_to, 7);
        u = add(c, lktest_block(7, 0, 0));
        assert_int_equal(u.outcome, LK_HEAD_KEPT);
        assert_int_equal(u.missing_from, 6);
        assert_int_equal(u.missing_to, 6);
        u = add(c, lktest_block(6, 0, 0));
        assert_int_equal(u.outcome, LK_HEAD_KEPT);
        assert_int_equal(u.missing_to, 0);
        for (int64_t n = 1; n <= 8; n++)
                assert_canonical(c, n, 0);
        lk_head_chain_free(c);
}

/* The head tracker fills a gap a few batches per poll: when the next poll
 * finds the same tip, the gap left must still be told, or a deep reorg
 * stays unfilled (and its logs unconfirmed) until the next block.  Here
 * the orphaned branch's heads stand at the gap's numbers, as after a
 * revert on a chain that then mines past them. */
static void a_gap_is_told_again_for_a_known_tip(void **state) {
        (void)state;
        lk_head_chain *c = lk_head_chain_new(100);
        for (int64_t n = 1; n <= 11; n++)
                add(c, lktest_block(n, 0, 0));
        lk_head_update u = add(c, lktest_block(14, 1, 7));
        assert_int_equal(u.missing_to, 13);
        add(c, lktest_block(13, 1, 7));
        add(c, lktest_block(12, 1, 7));
        /* a later poll: the tip again, and what is still missing under it */
        u = add(c, lktest_block(14, 1, 7));
        assert_int_equal(u.outcome, LK_HEAD_IGNORED);
        assert_int_equal(u.missing_to, 11);
        for (int64_t n = u.missing_to; n >= 8; n--)
                u = add(c, lktest_block(n, 1, 7));
        assert_int_equal(u.outcome, LK_HEAD_REORG);
        assert_int_equal(u.fork_point, 8);
        assert_int_equal(add(c, lktest_block(14, 1, 7)).missing_to, 0);
        for (int64_t n = 8; n <= 14; n++)
                assert_canonical(c, n, 1);
        assert_canonical(c, 7, 0);
        lk_head_chain_free(c);
}

static void a_reorg_is_seen_when_the_other_branch_overtakes(void **state) {
        (void)state;
        lk_head_chain *c = lk_head_chain_new(100);
        for (int64_t n = 1; n <= 10; n++)
                add(c, lktest_block(n, 0, 0));
        /* branch 1 forks after block 7: 8', 9', 10' are only kept */
        for (int64_t n = 8; n <= 10; n++)
                assert_int_equal(add(c, lktest_block(n, 1, 7)).outcome, LK_HEAD_KEPT);
        assert_canonical(c, 9, 0);
        lk_head_update u = add(c, lktest_block(11, 1, 7));
        assert_int_equal(u.outcome, LK_HEAD_REORG);
        assert_int_equal(u.fork_point, 8);
        for (int64_t n = 8; n <= 11; n++)
                assert_canonical(c, n, 1);
        assert_canonical(c, 7, 0);
        /* and back: branch 0 grows longer again */
        assert_int_equal(add(c, lktest_block(11, 0, 0)).outcome, LK_HEAD_KEPT);
        u = add(c, lktest_block(12, 0, 0));
        assert_int_equal(u.outcome, LK_HEAD_REORG);
        assert_int_equal(u.fork_point, 8);
        assert_canonical(c, 9, 0);
        lk_head_chain_free(c);
}

static void a_reorg_behind_a_gap_is_found_when_it_fills(void **state) {
        (void)state;
        lk_head_chain *c = lk_head_chain_new(100);
        for (int64_t n = 1; n <= 10; n++)
                add(c, lktest_block(n, 0, 0));
        /* 12' arrives first: its ancestry is unknown, so no verdict yet */
        lk_head_update u = add(c, lktest_block(12, 2, 8));
        assert_int_equal(u.outcome, LK_HEAD_EXTENDED);
        assert_int_equal(u.missing_from, 11);
        assert_int_equal(u.missing_to, 11);
        u = add(c, lktest_block(11, 2, 8));
        assert_int_equal(u.outcome, LK_HEAD_KEPT);
        /* 10' shows the former tip 10 is no longer canonical, but not yet
         * how deep the fork goes */
        u = add(c, lktest_block(10, 2, 8));
        assert_int_equal(u.outcome, LK_HEAD_KEPT);
        assert_int_equal(u.missing_from, 9);
        assert_int_equal(u.missing_to, 9);
        /* 9', whose parent is the old 8: the fork is at 9 */
        u = add(c, lktest_block(9, 2, 8));
        assert_int_equal(u.outcome, LK_HEAD_REORG);
        assert_int_equal(u.fork_point, 9);
        assert_int_equal(u.missing_to, 0);
        assert_canonical(c, 9, 2);
        assert_canonical(c, 8, 0);
        lk_head_chain_free(c);
}

static void history_is_bounded(void **state) {
        (void)state;
        lk_head_chain *c = lk_head_chain_new(10);
        for (int64_t n = 1; n <= 200; n++)
                add(c, lktest_block(n, 0, 0));
        assert_true(lk_head_chain_count(c) <= 10 + 64);
        assert_canonical(c, 195, 0);
        assert_null(lk_head_chain_canonical(c, 100));
        assert_int_equal(add(c, lktest_block(150, 3, 149)).outcome, LK_HEAD_IGNORED);
        lk_head b = lktest_block(199, 0, 0);
        assert_non_null(lk_head_chain_find(c, b.hash));
        lk_head_chain_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(growth_and_duplicates),
                cmocka_unit_test(gaps_are_reported_and_filled),
                cmocka_unit_test(a_gap_is_told_again_for_a_known_tip),
                cmocka_unit_test(a_reorg_is_seen_when_the_other_branch_overtakes),
                cmocka_unit_test(a_reorg_behind_a_gap_is_found_when_it_fills),
                cmocka_unit_test(history_is_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
