/* Threshold secrets and ethdss: Lagrange recovery, a dealerless DKG whose
 * shares agree with its public polynomial (a cheating dealer is left out),
 * and t-of-n signatures that verify as ethschnorr signatures under the
 * group's key, from any t participants; bad partials are refused. */
#include "lktest.h"
#include "cryptotest.h"

#include <errno.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/ethdss.h"
#include "linkd/keccak.h"

#define N 5
#define T 3

static void shares_recover_the_secret(void **state) {
        (void)state;
        lktest_stream stream;
        const lk_random *random = lktest_stream_init(&stream, 21);
        lk_dist_key_share shares[N];
        assert_int_equal(lktest_dkg_run(N, T, random, N, shares), N);
        lk_pri_share some[N];
        for (size_t i = 0; i < N; i++)
                some[i] = shares[N - 1 - i].share;
        lk_scalar secret, other;
        assert_int_equal(lk_shares_recover(some, T, T, &secret, NULL), 0);
        assert_int_equal(lk_shares_recover(some + 2, T, T, &other, NULL), 0);
        assert_true(lk_scalar_equal(&secret, &other));
        lk_point x;
        lk_point_base_mul(&x, &secret);
        for (size_t i = 0; i < N; i++) {
                assert_true(lk_point_equal(&x, &shares[i].commits[0])); /* all agree on the key */
                lk_point expected, got;
                lk_pub_poly_eval(shares[i].commits, T, shares[i].share.index, &expected);
                lk_point_base_mul(&got, &shares[i].share.value);
                assert_true(lk_point_equal(&expected, &got));
        }
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_shares_recover(some, T - 1, T, &secret, &err), -EINVAL);
        some[1] = some[0];
        assert_int_equal(lk_shares_recover(some, T, T, &secret, &err), -EINVAL);
        for (size_t i = 0; i < N; i++)
                lk_dist_key_share_done(&shares[i]);
}

static void a_cheating_dealer_is_left_out(void **state) {
        (void)state;
        lktest_stream stream;
        const lk_random *random = lktest_stream_init(&stream, 22);
        lk_dist_key_share shares[N];
        assert_int_equal(lktest_dkg_run(N, T, random, 2, shares), N - 1);
        for (size_t i = 1; i < N; i++)
                assert_true(lk_point_equal(&shares[0].commits[0], &shares[i].commits[0]));
        for (size_t i = 0; i < N; i++)
                lk_dist_key_share_done(&shares[i]);
        lk_err err = LK_ERR_INIT;
        lk_dkg *d = NULL;
        assert_int_equal(lk_dkg_new(5, N, T, random, &d, &err), -EINVAL);
        assert_int_equal(lk_dkg_new(0, N, N + 1, random, &d, &err), -EINVAL);
}

typedef struct group {
        lk_scalar secrets[N];
        lk_point publics[N];
        lk_dist_key_share long_shares[N], random_shares[N];
        lk_dss *sessions[N];
        uint8_t message[32];
} group;

/* Long-term keys, a long-term DKG (again until X suits the contract) and
 * a one-time DKG, and everyone's session for one message. */
static group *group_new(const lk_random *random) {
        group *g = lk_calloc(1, sizeof *g);
        for (size_t i = 0; i < N; i++)
                assert_int_equal(lk_schnorr_key_generate(&g->secrets[i], &g->publics[i], random, NULL), 0);
        for (;;) {
                lktest_dkg_run(N, T, random, N, g->long_shares);
                if (lk_schnorr_public_key_usable(&g->long_shares[0].commits[0]))
                        break;
                for (size_t i = 0; i < N; i++)
                        lk_dist_key_share_done(&g->long_shares[i]);
        }
        lktest_dkg_run(N, T, random, N, g->random_shares);
        assert_int_equal(lk_random_bytes(random, g->message, 32), 0);
        g->message[31] |= 1;
        for (size_t i = 0; i < N; i++) {
                lk_err err = LK_ERR_INIT;
                if (lk_dss_new(&g->secrets[i], g->publics, N, T, &g->long_shares[i], &g->random_shares[i], g->message,
                               &g->sessions[i], &err) < 0)
                        fail_msg("dss: %s", err.msg);
        }
        return g;
}

static void group_free(group *g) {
        for (size_t i = 0; i < N; i++) {
                lk_dss_free(g->sessions[i]);
                lk_dist_key_share_done(&g->long_shares[i]);
                lk_dist_key_share_done(&g->random_shares[i]);
        }
        lk_free(g);
}

static void t_partials_make_a_schnorr_signature(void **state) {
        (void)state;
        lktest_stream stream;
        const lk_random *random = lktest_stream_init(&stream, 23);
        for (int round = 0; round < 5; round++) {
                group *g = group_new(random);
                lk_dss_partial partials[N];
                for (size_t i = 0; i < N; i++)
                        assert_int_equal(lk_dss_partial_sign(g->sessions[i], random, &partials[i], NULL), 0);
                /* participant `round % N` hears from the next T - 1 */
                size_t me = (size_t)round % N;
                lk_schnorr_signature sig;
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_dss_signature(g->sessions[me], &sig, &err), -EAGAIN);
                for (size_t k = 1; k < T; k++) {
                        if (lk_dss_process_partial(g->sessions[me], &partials[(me + k) % N], &err) < 0)
                                fail_msg("process: %s", err.msg);
                }
                assert_true(lk_dss_enough_partials(g->sessions[me]));
                assert_int_equal(lk_dss_signature(g->sessions[me], &sig, &err), 0);
                if (lk_schnorr_verify(&g->long_shares[0].commits[0], g->message, &sig, &err) < 0)
                        fail_msg("verify: %s", err.msg);
                /* another participant with another subset agrees */
                size_t other = (me + 3) % N;
                for (size_t k = 1; k < N; k++)
                        assert_int_equal(lk_dss_process_partial(g->sessions[other], &partials[(other + k) % N], NULL),
                                         0);
                lk_schnorr_signature again;
                assert_int_equal(lk_dss_signature(g->sessions[other], &again, NULL), 0);
                assert_true(lk_scalar_equal(&again.s, &sig.s));
                group_free(g);
        }
}

static void bad_partials_are_refused(void **state) {
        (void)state;
        lktest_stream stream;
        const lk_random *random = lktest_stream_init(&stream, 24);
        group *g = group_new(random);
        lk_dss_partial p, bad;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_dss_partial_sign(g->sessions[1], random, &p, NULL), 0);
        assert_int_equal(lk_dss_partial_sign(g->sessions[1], random, &bad, &err), -EALREADY);
        lk_dss *me = g->sessions[0];
        bad = p;
        bad.partial.index = N;
        assert_int_equal(lk_dss_process_partial(me, &bad, &err), -EINVAL);
        assert_string_equal(err.msg, "partial signature from index 5 of 5 participants");
        bad = p;
        bad.session_id[0] ^= 1;
        assert_int_equal(lk_dss_process_partial(me, &bad, &err), -EINVAL);
        assert_string_equal(err.msg, "partial signature from 1 is for another session");
        bad = p;
        bad.partial.index = 2; /* signed by 1's key, claimed for 2 */
        assert_int_equal(lk_dss_process_partial(me, &bad, &err), -EINVAL);
        assert_string_equal(err.msg, "partial signature from 2 is not signed by its key");
        /* a wrong γ, properly signed by its sender, fails the polynomial check */
        bad = p;
        bad.partial.value.b[31] ^= 1;
        uint8_t inner[64], digest[32];
        lk_keccak256(bad.partial.value.b, 32, inner);
        memcpy(inner + 32, bad.session_id, 32);
        lk_keccak256(inner, sizeof inner, digest);
        assert_int_equal(lk_schnorr_sign(&g->secrets[1], digest, random, &bad.signature, NULL), 0);
        assert_int_equal(lk_dss_process_partial(me, &bad, &err), -EINVAL);
        assert_string_equal(err.msg, "partial signature from 1 is invalid");
        assert_int_equal(lk_dss_process_partial(me, &p, NULL), 0);
        assert_int_equal(lk_dss_process_partial(me, &p, &err), -EALREADY);
        group_free(g);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(shares_recover_the_secret),
                cmocka_unit_test(a_cheating_dealer_is_left_out),
                cmocka_unit_test(t_partials_make_a_schnorr_signature),
                cmocka_unit_test(bad_partials_are_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
