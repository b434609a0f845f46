/* The Scheduler, driven by a fake realtime clock that the tests advance
 * and then poke the timer thread with (lk__scheduler_poke waits until it
 * has fired everything due), plus one test on the real clock. */
#include "lktest.h"
#include "test_db.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/config.h"
#include "linkd/scheduler.h"
#include "linkd/store.h"

/* 2026-03-01T00:00:00Z, a whole minute. */
#define T0 INT64_C(1772323200)
#define SEC LK_USEC_PER_SEC
#define MAX_FIRES 4096

/* ---- the fake clock and what fired ---- */

typedef struct firing {
        int64_t job_id;
        int64_t scheduled;
        lk_usec clock_at_call;
} firing;

typedef struct harness {
        _Atomic int64_t clock; /* realtime, usec */
        lk_scheduler *s;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        firing fires[MAX_FIRES];
        size_t count;
        /* for the blocking callback */
        bool entered, release, remove_returned, remove_returned_inside;
        bool remove_self;
        int64_t remove_id; /* what remove_thread removes: 0 means job 1 */
} harness;

static lk_usec fake_now(void *arg) {
        harness *h = arg;
        return atomic_load(&h->clock);
}

static void record(harness *h, int64_t job_id, int64_t scheduled, lk_usec at) {
        pthread_mutex_lock(&h->lock);
        if (h->count < MAX_FIRES)
                h->fires[h->count++] = (firing){job_id, scheduled, at};
        pthread_cond_broadcast(&h->changed);
        pthread_mutex_unlock(&h->lock);
}

static void on_fire(void *arg, int64_t job_id, int64_t scheduled) {
        harness *h = arg;
        record(h, job_id, scheduled, lk_now_realtime());
        if (h->remove_self)
                lk_scheduler_remove(h->s, job_id);
}

static void on_fire_real(void *arg, int64_t job_id, int64_t scheduled) {
        harness *h = arg;
        record(h, job_id, scheduled, lk_now_realtime());
}

static harness *harness_new(lk_store *store, bool real_clock) {
        harness *h = lk_calloc(1, sizeof *h);
        atomic_store(&h->clock, T0 * SEC);
        pthread_mutex_init(&h->lock, NULL);
        pthread_cond_init(&h->changed, NULL);
        lk_err err = LK_ERR_INIT;
        lk_scheduler_options o = {.store = store};
        if (!real_clock) {
                o.now = fake_now;
                o.now_arg = h;
        }
        assert_int_equal(lk_scheduler_new(&o, &h->s, &err), 0);
        return h;
}

static void harness_start(harness *h) {
        lk_err err = LK_ERR_INIT;
        if (lk_service_start(lk_scheduler_service(h->s), NULL, &err) < 0)
                fail_msg("start: %s", err.msg);
}

static void harness_free(harness *h) {
        lk_service_close(lk_scheduler_service(h->s), NULL);
        h->s = lk_scheduler_free(h->s);
        pthread_cond_destroy(&h->changed);
        pthread_mutex_destroy(&h->lock);
        lk_free(h);
}

static void add(harness *h, int64_t id, const char *schedule, unsigned max_runs) {
        lk_err err = LK_ERR_INIT;
        if (lk_scheduler_add(h->s, id, schedule, max_runs, on_fire, h, &err) < 0)
                fail_msg("add %s: %s", schedule, err.msg);
}

/* Sets the clock and lets the scheduler catch up with it. */
static void set_clock(harness *h, lk_usec t) {
        atomic_store(&h->clock, t);
        lk__scheduler_poke(h->s);
}

static size_t fired(harness *h) {
        pthread_mutex_lock(&h->lock);
        size_t n = h->count;
        pthread_mutex_unlock(&h->lock);
        return n;
}

static size_t fired_for(harness *h, int64_t job_id) {
        size_t n = 0;
        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < h->count; i++)
                n += h->fires[i].job_id == job_id;
        pthread_mutex_unlock(&h->lock);
        return n;
}

/* ---- tests ---- */

static void bad_schedules_and_duplicates_are_refused(void **state) {
        (void)state;
        harness *h = harness_new(NULL, false);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_scheduler_add(h->s, 1, "* * * * *", 0, on_fire, h, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "CRON_TZ"));
        assert_int_equal(lk_scheduler_add(h->s, 1, "CRON_TZ=UTC */5 * * * * *", 0, on_fire, h, &err), 0);
        assert_int_equal(lk_scheduler_add(h->s, 1, "@every 1s", 0, on_fire, h, &err), -EEXIST);
        lk_scheduler_remove(h->s, 1);
        lk_scheduler_remove(h->s, 1); /* not scheduled: nothing */
        assert_int_equal(lk_scheduler_add(h->s, 1, "@every 1s", 0, on_fire, h, &err), 0);
        harness_free(h);
}

/* Each wake-up is 900 ms late and the next fire time still lands on the
 * schedule, firing after firing: an interval added to the wake-up time
 * would have drifted by minutes. */
static void fire_times_follow_the_schedule_without_drift(void **state) {
        (void)state;
        harness *h = harness_new(NULL, false);
        add(h, 1, "CRON_TZ=UTC */7 * * * * *", 0); /* seconds 0, 7, ..., 56 of each minute */
        add(h, 2, "@every 10s", 0);
        harness_start(h);
        int64_t want1 = T0 + 7, want2 = T0 + 10;
        size_t n1 = 0, n2 = 0;
        for (int i = 0; i < 300; i++) {
                int64_t next = want1 < want2 ? want1 : want2;
                set_clock(h, next * SEC - 1); /* one microsecond early: nothing */
                assert_int_equal(fired(h), n1 + n2);
                set_clock(h, next * SEC + 900 * LK_USEC_PER_MSEC);
                if (want1 == next) {
                        n1++;
                        assert_int_equal(fired_for(h, 1), n1);
                        assert_int_equal(h->fires[h->count - (want2 == next ? 2 : 1)].scheduled, want1);
                        want1 += want1 % 60 == 56 ? 4 : 7;
                }
                if (want2 == next) {
                        n2++;
                        assert_int_equal(fired_for(h, 2), n2);
                        assert_int_equal(h->fires[h->count - 1].scheduled, want2);
                        want2 += 10;
                }
        }
        assert_true(n1 > 100 && n2 > 100);
        harness_free(h);
}

static void jobs_interleave_in_time_order(void **state) {
        (void)state;
        harness *h = harness_new(NULL, false);
        add(h, 3, "@every 3s", 0);
        add(h, 5, "@every 5s", 0);
        add(h, 4, "CRON_TZ=UTC */4 * * * * *", 0);
        harness_start(h);
        firing want[256];
        size_t nwant = 0;
        for (int64_t t = T0 + 1; t <= T0 + 120; t++) {
                set_clock(h, t * SEC);
                /* same second: by job id */
                if ((t - T0) % 3 == 0)
                        want[nwant++] = (firing){3, t, 0};
                if (t % 60 % 4 == 0)
                        want[nwant++] = (firing){4, t, 0};
                if ((t - T0) % 5 == 0)
                        want[nwant++] = (firing){5, t, 0};
        }
        assert_int_equal(fired(h), nwant);
        for (size_t i = 0; i < nwant; i++) {
                if (h->fires[i].job_id != want[i].job_id || h->fires[i].scheduled != want[i].scheduled)
                        fail_msg("firing %zu: job %lld at %lld, want job %lld at %lld", i,
                                 (long long)h->fires[i].job_id, (long long)h->fires[i].scheduled,
                                 (long long)want[i].job_id, (long long)want[i].scheduled);
        }
        harness_free(h);
}

/* A late wake-up fires each job once, for its latest missed time, and the
 * schedule carries on from there. */
static void late_wake_up_fires_once_for_the_latest_time(void **state) {
        (void)state;
        harness *h = harness_new(NULL, false);
        add(h, 1, "CRON_TZ=UTC * * * * * *", 0);
        add(h, 2, "CRON_TZ=UTC 0 0 * * * *", 0);  /* hourly */
        add(h, 3, "@every 7s", 0);
        harness_start(h);
        set_clock(h, (T0 + 5 * 3600 + 1800) * SEC + 123); /* 5.5 hours later */
        assert_int_equal(fired_for(h, 1), 1);
        assert_int_equal(fired_for(h, 2), 1);
        assert_int_equal(fired_for(h, 3), 1);
        for (size_t i = 0; i < 3; i++) {
                int64_t want = h->fires[i].job_id == 1   ? T0 + 5 * 3600 + 1800
                               : h->fires[i].job_id == 2 ? T0 + 5 * 3600
                                                         : T0 + 7 * ((5 * 3600 + 1800) / 7);
                assert_int_equal(h->fires[i].scheduled, want);
        }
        set_clock(h, (T0 + 6 * 3600) * SEC);
        assert_int_equal(fired_for(h, 2), 2);
        assert_int_equal(h->fires[h->count - 1].scheduled, T0 + 6 * 3600);
        /* A month asleep: too many seconds to walk through one by one. */
        int64_t later = T0 + 31 * 86400 + 17;
        set_clock(h, later * SEC);
        assert_int_equal(fired_for(h, 1), 3);
        int64_t last1 = 0;
        for (size_t i = 0; i < h->count; i++)
                if (h->fires[i].job_id == 1)
                        last1 = h->fires[i].scheduled;
        assert_int_equal(last1, later);
        set_clock(h, (later + 1) * SEC);
        assert_int_equal(fired_for(h, 1), 4);
        harness_free(h);
}

static void *poke_thread(void *arg) {
        harness *h = arg;
        lk__scheduler_poke(h->s);
        return NULL;
}

static void blocking_fire(void *arg, int64_t job_id, int64_t scheduled) {
        harness *h = arg;
        record(h, job_id, scheduled, 0);
        pthread_mutex_lock(&h->lock);
        h->entered = true;
        pthread_cond_broadcast(&h->changed);
        while (!h->release)
                pthread_cond_wait(&h->changed, &h->lock);
        h->remove_returned_inside = h->remove_returned;
        pthread_mutex_unlock(&h->lock);
}

static void *remove_thread(void *arg) {
        harness *h = arg;
        lk_scheduler_remove(h->s, h->remove_id ? h->remove_id : 1);
        pthread_mutex_lock(&h->lock);
        h->remove_returned = true;
        pthread_mutex_unlock(&h->lock);
        return NULL;
}

static void wait_flag(harness *h, bool *flag) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 30;
        pthread_mutex_lock(&h->lock);
        while (!*flag)
                if (pthread_cond_timedwait(&h->changed, &h->lock, &deadline) != 0)
                        break;
        bool ok = *flag;
        pthread_mutex_unlock(&h->lock);
        if (!ok)
                fail_msg("timed out");
}

/* Job 1 blocks in its callback at T0+1 (job 2 is due with it) while
 * another thread removes job remove_id: that remove must wait for the
 * callbacks of that moment. */
static harness *remove_while_job_1_fires(int64_t remove_id) {
        harness *h = harness_new(NULL, false);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_scheduler_add(h->s, 1, "@every 1s", 0, blocking_fire, h, &err), 0);
        add(h, 2, "@every 1s", 0);
        h->remove_id = remove_id;
        harness_start(h);
        atomic_store(&h->clock, (T0 + 1) * SEC);
        pthread_t poker, remover;
        pthread_create(&poker, NULL, poke_thread, h);
        wait_flag(h, &h->entered);
        pthread_create(&remover, NULL, remove_thread, h);
        usleep(100 * 1000); /* give a remove that does not wait the chance to return */
        pthread_mutex_lock(&h->lock);
        h->release = true;
        pthread_cond_broadcast(&h->changed);
        pthread_mutex_unlock(&h->lock);
        pthread_join(remover, NULL);
        pthread_join(poker, NULL);
        assert_false(h->remove_returned_inside);
        assert_true(h->remove_returned);
        return h;
}

static void remove_waits_for_a_running_callback(void **state) {
        (void)state;
        harness *h = remove_while_job_1_fires(1);
        for (int64_t t = 2; t <= 10; t++)
                set_clock(h, (T0 + t) * SEC);
        assert_int_equal(fired_for(h, 1), 1);
        assert_int_equal(fired_for(h, 2), 10);
        harness_free(h);
}

/* Jobs due at one moment fire as a batch: a job removed while an earlier
 * one of its batch runs never fires, and its remove returns only after
 * the batch. */
static void a_job_removed_while_its_batch_fires_does_not_fire(void **state) {
        (void)state;
        harness *h = remove_while_job_1_fires(2);
        for (int64_t t = 2; t <= 5; t++)
                set_clock(h, (T0 + t) * SEC);
        assert_int_equal(fired_for(h, 2), 0);
        assert_int_equal(fired_for(h, 1), 5);
        harness_free(h);
}

static void a_job_can_remove_itself_from_its_callback(void **state) {
        (void)state;
        harness *h = harness_new(NULL, false);
        h->remove_self = true;
        add(h, 1, "@every 1s", 0);
        harness_start(h);
        for (int64_t t = 1; t <= 5; t++)
                set_clock(h, (T0 + t) * SEC);
        assert_int_equal(fired_for(h, 1), 1);
        harness_free(h);
}

static bool contains(const lk_buf *b, const char *needle) {
        if (strstr(lk_buf_str(b), needle))
                return true;
        print_error("%s not in:\n%s\n", needle, lk_buf_str(b));
        return false;
}

static void max_concurrent_runs_skips_and_counts(void **state) {
        (void)state;
        harness *h = harness_new(NULL, false);
        add(h, 7, "@every 1s", 2);
        add(h, 8, "@every 1s", 0); /* unlimited */
        harness_start(h);
        for (int64_t t = 1; t <= 5; t++)
                set_clock(h, (T0 + t) * SEC);
        assert_int_equal(fired_for(h, 7), 2);
        assert_int_equal(fired_for(h, 8), 5);
        lk_scheduler_run_done(h->s, 7);
        set_clock(h, (T0 + 6) * SEC);
        assert_int_equal(fired_for(h, 7), 3);
        set_clock(h, (T0 + 7) * SEC);
        assert_int_equal(fired_for(h, 7), 3);
        lk_scheduler_run_done(h->s, 7);
        lk_scheduler_run_done(h->s, 7);
        lk_scheduler_run_done(h->s, 7); /* one too many: ignored */
        for (int64_t t = 8; t <= 10; t++)
                set_clock(h, (T0 + t) * SEC);
        assert_int_equal(fired_for(h, 7), 5);
        lk_buf b = LK_BUF_INIT;
        lk_scheduler_metrics(h->s, &b);
        assert_true(contains(&b, "# TYPE scheduler_runs_skipped_total counter"));
        assert_true(contains(&b, "scheduler_runs_fired_total{job_id=\"7\"} 5\n"));
        assert_true(contains(&b, "scheduler_runs_skipped_total{job_id=\"7\"} 5\n"));
        assert_true(contains(&b, "scheduler_runs_fired_total{job_id=\"8\"} 10\n"));
        assert_true(contains(&b, "scheduler_runs_skipped_total{job_id=\"8\"} 0\n"));
        lk_buf_done(&b);
        harness_free(h);
}

static void at_fires_once_without_a_store(void **state) {
        (void)state;
        harness *h = harness_new(NULL, false);
        add(h, 1, "@at 2026-03-01T00:00:05Z", 0);
        harness_start(h);
        set_clock(h, (T0 + 4) * SEC + 999999);
        assert_int_equal(fired(h), 0);
        set_clock(h, (T0 + 5) * SEC);
        assert_int_equal(fired(h), 1);
        assert_int_equal(h->fires[0].scheduled, T0 + 5);
        set_clock(h, (T0 + 3600) * SEC);
        /* added again in the same process: remembered */
        lk_scheduler_remove(h->s, 1);
        add(h, 1, "@at 2026-03-01T00:00:05Z", 0);
        set_clock(h, (T0 + 7200) * SEC);
        assert_int_equal(fired(h), 1);
        harness_free(h);
}

/* ---- with a store ---- */

typedef lktest_db fixture;

static void exec_sql(fixture *f, const char *sql) {
        lktest_store_exec(f->store, sql);
}

static int64_t count(fixture *f, const char *sql) {
        return lktest_store_int(f->store, sql);
}

static void insert_job(fixture *f, int64_t id) {
        char sql[256];
        exec_sql(f, "INSERT INTO pipeline_specs (dot_dag_source) VALUES ('')");
        snprintf(sql, sizeof sql,
                 "INSERT INTO jobs (id, external_job_id, type, schema_version, pipeline_spec_id)"
                 " VALUES (%lld, '00000000-0000-4000-8000-%012lld', 'cron', 1,"
                 " (SELECT MAX(id) FROM pipeline_specs))",
                 (long long)id, (long long)id);
        exec_sql(f, sql);
}

static const char *health_of(harness *h, lk_health_report *report) {
        lk_service_health_report(lk_scheduler_service(h->s), report);
        const char *error = "absent";
        assert_true(lk_health_report_get(report, LK_SCHEDULER_NAME, &error));
        return error;
}

/* An @at time that passed while the node was down fires at the next
 * start, and is recorded, so a restart does not fire it again. */
static void at_in_the_past_fires_once_across_restarts(void **state) {
        fixture *f = *state;
        insert_job(f, 41);
        for (int boot = 0; boot < 3; boot++) {
                harness *h = harness_new(f->store, false);
                atomic_store(&h->clock, (T0 + 86400 + boot * 3600) * SEC);
                add(h, 41, "@at 2026-03-01T00:00:05Z", 0);
                harness_start(h);
                lk__scheduler_poke(h->s);
                set_clock(h, (T0 + 86400 + boot * 3600 + 60) * SEC);
                assert_int_equal(fired(h), boot == 0 ? 1 : 0);
                if (boot == 0)
                        assert_int_equal(h->fires[0].scheduled, T0 + 5);
                lk_health_report *report = lk_health_report_new();
                assert_null(health_of(h, report));
                lk_health_report_free(report);
                harness_free(h);
        }
        assert_int_equal(count(f, "SELECT COUNT(*) FROM cron_fired WHERE job_id = 41"), 1);
        exec_sql(f, "DELETE FROM jobs WHERE id = 41");
        assert_int_equal(count(f, "SELECT COUNT(*) FROM cron_fired"), 0);
}

/* Without its jobs row the firing cannot be recorded: the job waits, the
 * health report says why, and it fires once the record can be made. */
static void at_waits_until_its_firing_is_recorded(void **state) {
        fixture *f = *state;
        harness *h = harness_new(f->store, false);
        add(h, 42, "@at 2026-03-01T00:00:05Z", 0);
        lk_health_report *report = lk_health_report_new();
        assert_non_null(health_of(h, report)); /* not started */
        harness_start(h);
        set_clock(h, (T0 + 10) * SEC);
        assert_int_equal(fired(h), 0);
        const char *error = health_of(h, report);
        assert_non_null(error);
        assert_non_null(strstr(error, "cannot record the firing of one-time job 42"));
        insert_job(f, 42);
        set_clock(h, (T0 + 11) * SEC);
        assert_int_equal(fired(h), 0); /* the retry is not due yet */
        set_clock(h, (T0 + 16) * SEC);
        assert_int_equal(fired(h), 1);
        assert_int_equal(h->fires[0].scheduled, T0 + 5);
        assert_null(health_of(h, report));
        lk_health_report_free(report);
        harness_free(h);
}

/* ---- shutdown and the real clock ---- */

/* The thread sleeps at most a second at a time (MAX_SLEEP); a close that
 * did not wake it would take about that long after the poke. */
static void close_while_sleeping_returns_promptly(void **state) {
        (void)state;
        for (int i = 0; i < 3; i++) {
                harness *h = harness_new(NULL, false);
                add(h, 1, "@every 1h", 0);
                harness_start(h);
                lk__scheduler_poke(h->s);
                lk_usec begin = lk_now_monotonic();
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_service_close(lk_scheduler_service(h->s), &err), 0);
                lk_usec took = lk_now_monotonic() - begin;
                if (took >= 500 * LK_USEC_PER_MSEC)
                        fail_msg("close took %lld us", (long long)took);
                lk__scheduler_poke(h->s); /* not running: returns at once */
                harness_free(h);
        }
}

static void fires_on_the_real_clock(void **state) {
        (void)state;
        harness *h = harness_new(NULL, true);
        int64_t added = lk_now_realtime() / SEC;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_scheduler_add(h->s, 9, "CRON_TZ=UTC * * * * * *", 0, on_fire_real, h, &err), 0);
        harness_start(h);
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 10;
        pthread_mutex_lock(&h->lock);
        while (h->count < 2)
                if (pthread_cond_timedwait(&h->changed, &h->lock, &deadline) != 0)
                        break;
        size_t n = h->count;
        firing first = h->fires[0], second = h->fires[1];
        pthread_mutex_unlock(&h->lock);
        assert_true(n >= 2);
        assert_true(first.scheduled > added);
        assert_true(second.scheduled > first.scheduled);
        /* never early */
        assert_true(first.clock_at_call >= first.scheduled * SEC);
        assert_true(second.clock_at_call >= second.scheduled * SEC);
        harness_free(h);
}

#define BOTH(test) LKTEST_BOTH_BACKENDS(test)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(bad_schedules_and_duplicates_are_refused),
                cmocka_unit_test(fire_times_follow_the_schedule_without_drift),
                cmocka_unit_test(jobs_interleave_in_time_order),
                cmocka_unit_test(late_wake_up_fires_once_for_the_latest_time),
                cmocka_unit_test(remove_waits_for_a_running_callback),
                cmocka_unit_test(a_job_removed_while_its_batch_fires_does_not_fire),
                cmocka_unit_test(a_job_can_remove_itself_from_its_callback),
                cmocka_unit_test(max_concurrent_runs_skips_and_counts),
                cmocka_unit_test(at_fires_once_without_a_store),
                BOTH(at_in_the_past_fires_once_across_restarts),
                BOTH(at_waits_until_its_firing_is_recorded),
                cmocka_unit_test(close_while_sleeping_returns_promptly),
                cmocka_unit_test(fires_on_the_real_clock),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
