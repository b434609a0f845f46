/* The Application: declared start order with the Checker last, reverse
 * close, start failure and cancellation, and the shutdown grace period. */
#include "lktest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fake_service.h"
#include "linkd/alloc.h"
#include "linkd/app.h"

typedef struct fixture {
        char *dir;
        lk_config cfg;
        fake_journal journal;
        fake_service store, jobs;
        lk_app *app;
        lk_ctx ctx;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        lk_config_init(&f->cfg);
        lk_free(f->cfg.root_dir);
        f->cfg.root_dir = lk_asprintf("%s/root", f->dir);
        f->cfg.web_server.http_port = 0;
        lk_config_finish(&f->cfg, NULL);
        fake_journal_init(&f->journal);
        fake_service_init(&f->store, "Store", &f->journal);
        fake_service_init(&f->jobs, "Jobs", &f->journal);
        lk_err err = LK_ERR_INIT;
        if (lk_app_new(&(lk_app_options){.config = &f->cfg, .version = "v", .commit = "c",
                                         .started_at = lk_now_realtime()},
                       &f->app, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(lk_app_add_service(f->app, &f->store.service, NULL), 0);
        assert_int_equal(lk_app_add_service(f->app, &f->jobs.service, NULL), 0);
        lk_ctx_init(&f->ctx, LK_USEC_INFINITY);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lk_app_free(f->app);
        fake_service_done(&f->store);
        fake_service_done(&f->jobs);
        fake_journal_done(&f->journal);
        lk_config_done(&f->cfg);
        lk_ctx_done(&f->ctx);
        lktest_rmrf(f->dir);
        lk_free(f);
        return 0;
}

static void starts_in_order_and_stops_in_reverse(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        assert_false(lk_checker_is_ready(lk_app_checker(f->app), NULL));
        if (lk_app_start(f->app, &f->ctx, &err) < 0)
                fail_msg("%s", err.msg);
        fake_journal_expect(&f->journal, "Store started\nJobs started\n");
        assert_true(lk_checker_is_ready(lk_app_checker(f->app), NULL));
        assert_true(lk_app_http_port(f->app) > 0);
        /* The root directory was created private. */
        struct stat st;
        assert_int_equal(stat(f->cfg.root_dir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        /* Every service is registered for health under its name. */
        lk_health_report *ready = NULL;
        lk_checker_is_ready(lk_app_checker(f->app), &ready);
        const char *names[] = {"Database", "HealthChecker", "JobSpawner", "Jobs",     "PipelineRunner",
                               "RootDir",  "Scheduler",     "Store",      "WebServer"};
        assert_int_equal(lk_health_report_len(ready), 9);
        for (size_t i = 0; i < 9; i++)
                assert_string_equal(lk_health_report_name(ready, i), names[i]);
        lk_health_report_free(ready);

        assert_int_equal(lk_app_stop(f->app, 5 * LK_USEC_PER_SEC, NULL, 0, &err), 0);
        fake_journal_expect(&f->journal, "Store started\nJobs started\nJobs closed\nStore closed\n");
        /* The checker closed first of all: not ready any more. */
        assert_false(lk_checker_is_ready(lk_app_checker(f->app), NULL));
        assert_int_equal(lk_app_add_service(f->app, &f->store.service, &err), -EBUSY);
}

static void start_failure_closes_what_started(void **state) {
        fixture *f = *state;
        f->jobs.start_error = "failed to start: Jobs";
        f->store.close_error = "failed to close: Store";
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_app_start(f->app, &f->ctx, &err), -EIO);
        assert_string_equal(err.msg, "failed to start: Jobs; failed to close: Store");
        fake_journal_expect(&f->journal, "Store started\nJobs start failure\nStore close failure\n");
        assert_false(lk_checker_is_ready(lk_app_checker(f->app), NULL));
}

/* Cancels once Store is inside its (hour-long) start. */
static void *cancel_during_store_start(void *arg) {
        fixture *f = arg;
        while (lk_once_state(&f->store.once) != LK_STATE_STARTING)
                lk_ctx_sleep(NULL, LK_USEC_PER_MSEC);
        lk_ctx_sleep(NULL, 10 * LK_USEC_PER_MSEC);
        lk_ctx_cancel(&f->ctx);
        return NULL;
}

/* A start that waits (Store takes an hour) ends when the context is
 * cancelled, and what started is closed. */
static void cancelled_start_aborts(void **state) {
        fixture *f = *state;
        f->store.start_delay = 3600 * LK_USEC_PER_SEC;
        pthread_t t;
        pthread_create(&t, NULL, cancel_during_store_start, f);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_app_start(f->app, &f->ctx, &err), -ECANCELED);
        assert_string_equal(err.msg, "Store: context canceled");
        pthread_join(t, NULL);
        fake_journal_expect(&f->journal, "Store start cancelled\n");
}

static void cancelled_between_services(void **state) {
        fixture *f = *state;
        lk_ctx_cancel(&f->ctx);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_app_start(f->app, &f->ctx, &err), -ECANCELED);
        assert_string_equal(err.msg, "aborting start: context canceled");
        fake_journal_expect(&f->journal, "");
}

static void hung_close_is_named_at_the_deadline(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_app_start(f->app, &f->ctx, &err), 0);
        f->store.block_close = true;
        char hung[64] = "";
        assert_int_equal(lk_app_stop(f->app, 100 * LK_USEC_PER_MSEC, hung, sizeof hung, &err), -ETIMEDOUT);
        assert_string_equal(hung, "Store");
        assert_string_equal(err.msg, "shutdown grace period of 100ms exceeded while closing Store");
        /* Jobs, after Store in start order, was closed before it. */
        fake_journal_expect(&f->journal, "Store started\nJobs started\nJobs closed\n");
        assert_int_equal(lk_app_stop(f->app, LK_USEC_PER_SEC, NULL, 0, &err), -EALREADY);
        fake_service_release(&f->store); /* lets teardown's lk_app_free join the close */
}

static void close_errors_are_collected(void **state) {
        fixture *f = *state;
        f->store.close_error = "failed to close: Store";
        f->jobs.close_error = "failed to close: Jobs";
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_app_start(f->app, &f->ctx, &err), 0);
        assert_int_equal(lk_app_stop(f->app, 5 * LK_USEC_PER_SEC, NULL, 0, &err), -EIO);
        assert_string_equal(err.msg, "failed to close: Jobs; failed to close: Store");
}

static void rootdir_that_is_a_file_fails_start(void **state) {
        fixture *f = *state;
        FILE *file = fopen(f->cfg.root_dir, "w");
        fclose(file);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_app_start(f->app, &f->ctx, &err), -ENOTDIR);
        char want[512];
        snprintf(want, sizeof want, "RootDir: %s already exists and is not a directory", f->cfg.root_dir);
        assert_string_equal(err.msg, want);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(starts_in_order_and_stops_in_reverse, setup, teardown),
                cmocka_unit_test_setup_teardown(start_failure_closes_what_started, setup, teardown),
                cmocka_unit_test_setup_teardown(cancelled_start_aborts, setup, teardown),
                cmocka_unit_test_setup_teardown(cancelled_between_services, setup, teardown),
                cmocka_unit_test_setup_teardown(hung_close_is_named_at_the_deadline, setup, teardown),
                cmocka_unit_test_setup_teardown(close_errors_are_collected, setup, teardown),
                cmocka_unit_test_setup_teardown(rootdir_that_is_a_file_fails_start, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
