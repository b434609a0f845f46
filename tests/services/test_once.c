/* StartStopOnce: every transition, every error text, and concurrency. */
#include "lktest.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "linkd/service.h"

static int succeed(void *arg, lk_err *err) {
        if (arg)
                (*(int *)arg)++;
        return 0;
}

static int fail_boom(void *arg, lk_err *err) {
        return lk_err_set(err, -EIO, "boom");
}

static void assert_state(lk_once *once, lk_state want) {
        assert_string_equal(lk_state_name(lk_once_state(once)), lk_state_name(want));
}

static void state_names_match_chainlink(void **state) {
        const char *want[] = {"Unstarted", "Started", "Starting", "StartFailed", "Stopping", "Stopped", "StopFailed"};
        for (int i = 0; i < 7; i++)
                assert_string_equal(lk_state_name((lk_state)i), want[i]);
        assert_string_equal(lk_state_name((lk_state)7), "unrecognized state");
}

static void start_then_stop(void **state) {
        lk_once once;
        lk_once_init(&once);
        int calls = 0;
        lk_err err = LK_ERR_INIT;
        assert_state(&once, LK_STATE_UNSTARTED);
        assert_int_equal(lk_once_start(&once, "foo", succeed, &calls, &err), 0);
        assert_state(&once, LK_STATE_STARTED);
        assert_int_equal(lk_once_stop(&once, "foo", succeed, &calls, &err), 0);
        assert_state(&once, LK_STATE_STOPPED);
        assert_int_equal(calls, 2);
        lk_once_done(&once);
}

static void second_start_is_refused(void **state) {
        lk_once once;
        lk_once_init(&once);
        lk_err err = LK_ERR_INIT;
        lk_once_start(&once, "foo", succeed, NULL, NULL);
        assert_int_equal(lk_once_start(&once, "foo", succeed, NULL, &err), -EALREADY);
        assert_string_equal(err.msg, "foo has already been started once; state=Started");
        lk_once_stop(&once, "foo", succeed, NULL, NULL);
        assert_int_equal(lk_once_start(&once, "foo", succeed, NULL, &err), -EALREADY);
        assert_string_equal(err.msg, "foo has already been started once; state=Stopped");
        lk_once_done(&once);
}

static void failed_start_cannot_retry_or_stop(void **state) {
        lk_once once;
        lk_once_init(&once);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_once_start(&once, "foo", fail_boom, NULL, &err), -EIO);
        assert_string_equal(err.msg, "boom");
        assert_state(&once, LK_STATE_START_FAILED);
        assert_int_equal(lk_once_start(&once, "foo", succeed, NULL, &err), -EALREADY);
        assert_string_equal(err.msg, "foo has already been started once; state=StartFailed");
        assert_int_equal(lk_once_stop(&once, "foo", succeed, NULL, &err), -EBUSY);
        assert_string_equal(err.msg, "foo cannot be stopped from this state; state=StartFailed");
        lk_once_done(&once);
}

static void stop_errors(void **state) {
        lk_once once;
        lk_once_init(&once);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_once_stop(&once, "foo", succeed, NULL, &err), -ENOTCONN);
        assert_string_equal(err.msg, "foo has not been started: cannot stop unstarted service");
        lk_once_start(&once, "foo", succeed, NULL, NULL);
        assert_int_equal(lk_once_stop(&once, "foo", fail_boom, NULL, &err), -EIO);
        assert_state(&once, LK_STATE_STOP_FAILED);
        assert_int_equal(lk_once_stop(&once, "foo", succeed, NULL, &err), -EBUSY);
        assert_string_equal(err.msg, "foo cannot be stopped from this state; state=StopFailed");
        lk_once_done(&once);

        lk_once_init(&once);
        lk_once_start(&once, "foo", succeed, NULL, NULL);
        lk_once_stop(&once, "foo", succeed, NULL, NULL);
        assert_int_equal(lk_once_stop(&once, "foo", succeed, NULL, &err), -EALREADY);
        assert_string_equal(err.msg, "foo has already been stopped: already stopped");
        lk_once_done(&once);
}

static void ready_and_healthy_follow_state(void **state) {
        lk_once once;
        lk_once_init(&once);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_once_ready(&once, &err), -EAGAIN);
        assert_string_equal(err.msg, "service is \"Unstarted\", not started");
        lk_once_start(&once, "foo", succeed, NULL, NULL);
        assert_int_equal(lk_once_ready(&once, &err), 0);
        assert_int_equal(lk_once_healthy(&once, &err), 0);
        lk_once_stop(&once, "foo", succeed, NULL, NULL);
        assert_int_equal(lk_once_healthy(&once, &err), -EAGAIN);
        assert_string_equal(err.msg, "service is \"Stopped\", not started");
        lk_once_done(&once);
}

static void mark(void *arg) {
        *(bool *)arg = true;
}

static void if_started_and_if_not_stopped(void **state) {
        lk_once once;
        lk_once_init(&once);
        bool ran = false;
        assert_false(lk_once_if_started(&once, mark, &ran));
        assert_false(ran);
        assert_true(lk_once_if_not_stopped(&once, mark, &ran));
        assert_true(ran);
        lk_once_start(&once, "foo", succeed, NULL, NULL);
        ran = false;
        assert_true(lk_once_if_started(&once, mark, &ran));
        assert_true(ran);
        lk_once_stop(&once, "foo", succeed, NULL, NULL);
        ran = false;
        assert_false(lk_once_if_not_stopped(&once, mark, &ran));
        assert_false(ran);
        lk_once_done(&once);
}

/* Observed from inside fn: the state is Starting / Stopping while fn runs. */
static int observe_state(void *arg, lk_err *err) {
        lk_once *once = arg;
        return (int)lk_once_state(once) == LK_STATE_STARTING || (int)lk_once_state(once) == LK_STATE_STOPPING
                       ? 0
                       : lk_err_set(err, -EINVAL, "state was %s", lk_state_name(lk_once_state(once)));
}

static void intermediate_states(void **state) {
        lk_once once;
        lk_once_init(&once);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_once_start(&once, "foo", observe_state, &once, &err), 0);
        assert_int_equal(lk_once_stop(&once, "foo", observe_state, &once, &err), 0);
        lk_once_done(&once);
}

/* Many threads race to start; exactly one wins and the rest fail fast
 * with the "already been started" error.  Then many race to stop. */
typedef struct race {
        lk_once once;
        pthread_barrier_t barrier;
        int calls;
        int ok;
        int refused;
        pthread_mutex_t lock;
        bool stop;
} race;

static int slow_count(void *arg, lk_err *err) {
        race *r = arg;
        usleep(20000);
        r->calls++;
        return 0;
}

static void *racer(void *arg) {
        race *r = arg;
        lk_err err = LK_ERR_INIT;
        pthread_barrier_wait(&r->barrier);
        int rc = r->stop ? lk_once_stop(&r->once, "foo", slow_count, r, &err)
                         : lk_once_start(&r->once, "foo", slow_count, r, &err);
        pthread_mutex_lock(&r->lock);
        if (rc == 0)
                r->ok++;
        else
                r->refused++;
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

static void run_race(race *r, bool stop) {
        enum { N = 16 };
        pthread_t threads[N];
        r->stop = stop;
        r->ok = r->refused = 0;
        pthread_barrier_init(&r->barrier, NULL, N);
        for (int i = 0; i < N; i++)
                pthread_create(&threads[i], NULL, racer, r);
        for (int i = 0; i < N; i++)
                pthread_join(threads[i], NULL);
        pthread_barrier_destroy(&r->barrier);
        assert_int_equal(r->ok, 1);
        assert_int_equal(r->refused, N - 1);
}

static void concurrent_start_and_close(void **state) {
        race r = {0};
        lk_once_init(&r.once);
        pthread_mutex_init(&r.lock, NULL);
        run_race(&r, false);
        assert_int_equal(r.calls, 1);
        assert_state(&r.once, LK_STATE_STARTED);
        run_race(&r, true);
        assert_int_equal(r.calls, 2);
        assert_state(&r.once, LK_STATE_STOPPED);
        pthread_mutex_destroy(&r.lock);
        lk_once_done(&r.once);
}

/* A stop that arrives while a start is running waits for it to finish and
 * then stops the started service (rather than failing). */
static void *late_start(void *arg) {
        race *r = arg;
        lk_once_start(&r->once, "foo", slow_count, r, NULL);
        return NULL;
}

static void stop_waits_for_start(void **state) {
        race r = {0};
        lk_once_init(&r.once);
        pthread_t t;
        pthread_create(&t, NULL, late_start, &r);
        while (lk_once_state(&r.once) != LK_STATE_STARTING)
                usleep(100);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_once_stop(&r.once, "foo", slow_count, &r, &err), 0);
        pthread_join(t, NULL);
        assert_int_equal(r.calls, 2);
        assert_state(&r.once, LK_STATE_STOPPED);
        lk_once_done(&r.once);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(state_names_match_chainlink),
                cmocka_unit_test(start_then_stop),
                cmocka_unit_test(second_start_is_refused),
                cmocka_unit_test(failed_start_cannot_retry_or_stop),
                cmocka_unit_test(stop_errors),
                cmocka_unit_test(ready_and_healthy_follow_state),
                cmocka_unit_test(if_started_and_if_not_stopped),
                cmocka_unit_test(intermediate_states),
                cmocka_unit_test(concurrent_start_and_close),
                cmocka_unit_test(stop_waits_for_start),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
