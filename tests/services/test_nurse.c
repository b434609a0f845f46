/* The Nurse in-process: the one-slot queue, checks, the size cap, its
 * health, and a close that does not wait for a gathering. */
#include "lktest.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/nurse.h"

#define WAIT_LIMIT (30 * LK_USEC_PER_SEC)

typedef struct fixture {
        char *dir;
        lk_config cfg;
        lk_nurse *nurse;
        lk_ctx ctx;
} fixture;

static fixture *make(const char *toml) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        lk_config_init(&f->cfg);
        lk_buf text = LK_BUF_INIT;
        /* Thresholds no test process reaches, so only what a test asks for
         * gathers. */
        lk_buf_printf(&text, "RootDir = '%s'\n[AutoPprof]\nEnabled = true\nProfileRoot = '%s/prof'\n"
                             "MemThreshold = '1tb'\nGoroutineThreshold = 100000\n%s",
                      f->dir, f->dir, toml);
        lk_err err = LK_ERR_INIT;
        if (lk_config_load_text(&f->cfg, "test.toml", text.data, text.len, &err) < 0 ||
            lk_config_finish(&f->cfg, &err) < 0)
                fail_msg("%s", err.msg);
        lk_buf_done(&text);
        f->nurse = lk_nurse_new(&(lk_nurse_options){.config = &f->cfg});
        lk_ctx_init(&f->ctx, LK_USEC_INFINITY);
        return f;
}

static void destroy(fixture *f) {
        lk_service_close(lk_nurse_service(f->nurse), NULL);
        lk_nurse_free(f->nurse);
        lk_config_done(&f->cfg);
        lk_ctx_done(&f->ctx);
        lktest_rmrf(f->dir);
        lk_free(f);
}

static int teardown(void **state) {
        destroy(*state);
        return 0;
}

static void start(fixture *f) {
        lk_err err = LK_ERR_INIT;
        if (lk_service_start(lk_nurse_service(f->nurse), &f->ctx, &err) < 0)
                fail_msg("%s", err.msg);
}

static char *prof_path(fixture *f, const char *name) {
        return lk_asprintf("%s/prof/%s", f->dir, name);
}

/* Waits until nurse.log holds needle. */
static void wait_log(fixture *f, const char *needle) {
        char *path = prof_path(f, "nurse.log");
        lk_usec until = lk_now_monotonic() + WAIT_LIMIT;
        for (;;) {
                char *log = lktest_read_file(path);
                bool found = log && strstr(log, needle);
                lk_free(log);
                if (found)
                        break;
                if (lk_now_monotonic() > until)
                        fail_msg("nurse.log never held \"%s\"", needle);
                usleep(2000);
        }
        lk_free(path);
}

static void wait_gatherings(fixture *f, uint64_t want) {
        lk_usec until = lk_now_monotonic() + WAIT_LIMIT;
        lk_nurse_stats stats;
        for (lk_nurse_stats_get(f->nurse, &stats); stats.gatherings + stats.failures < want;
             lk_nurse_stats_get(f->nurse, &stats)) {
                if (lk_now_monotonic() > until)
                        fail_msg("only %llu of %llu gatherings finished", (unsigned long long)stats.gatherings,
                                 (unsigned long long)want);
                usleep(2000);
        }
}

/* Counts files in the profile directory whose names contain needle. */
static int count_files(fixture *f, const char *needle, uint64_t *ret_bytes) {
        char *root = prof_path(f, "");
        DIR *d = opendir(root);
        int n = 0;
        uint64_t bytes = 0;
        for (struct dirent *e; d && (e = readdir(d));) {
                if (!strstr(e->d_name, needle))
                        continue;
                char *path = lk_asprintf("%s%s", root, e->d_name);
                struct stat st;
                if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        n++;
                        bytes += (uint64_t)st.st_size;
                }
                lk_free(path);
        }
        if (d)
                closedir(d);
        lk_free(root);
        if (ret_bytes)
                *ret_bytes = bytes;
        return n;
}

static void plan_cap_arithmetic(void **state) {
        uint64_t sizes[] = {100, 200, 300};
        bool fits;
        assert_int_equal(lk__nurse_plan_cap(sizes, 3, 50, 100, 10000, &fits), 0);
        assert_true(fits);
        /* 50 + 600 + 100 = 750 > 700: the oldest (100) goes. */
        assert_int_equal(lk__nurse_plan_cap(sizes, 3, 50, 100, 700, &fits), 1);
        assert_true(fits);
        /* Exactly at the limit fits. */
        assert_int_equal(lk__nurse_plan_cap(sizes, 3, 50, 100, 750, &fits), 0);
        assert_true(fits);
        assert_int_equal(lk__nurse_plan_cap(sizes, 3, 50, 100, 151, &fits), 3);
        assert_true(fits);
        assert_int_equal(lk__nurse_plan_cap(sizes, 3, 50, 100, 149, &fits), 3);
        assert_false(fits);
        assert_int_equal(lk__nurse_plan_cap(NULL, 0, 0, 0, 0, &fits), 0);
        assert_true(fits);
}

static void meta_keeps_pairs(void **state) {
        lk_meta meta = LK_META_INIT;
        lk_meta_addf(&meta, "threshold", "%s", "4.00gb");
        lk_meta_addf(&meta, "mem_rss", "%d", 12);
        assert_int_equal(meta.len, 2);
        assert_string_equal(meta.entries[1].key, "mem_rss");
        assert_string_equal(meta.entries[1].value, "12");
        lk_meta_done(&meta);
        assert_int_equal(meta.len, 0);
}

/* An hour-long gathering holds the slot's consumer; one more request
 * queues, the next is dropped; close cancels the gathering at once (were
 * it to wait, this test would sit for an hour and fail on the runner's
 * timeout) and leaves no profile of it behind. */
static void one_slot_queue_and_prompt_close(void **state) {
        fixture *f = *state = make("GatherDuration = '1h'\nPollInterval = '1h'\n");
        assert_false(lk_nurse_gather_vitals(f->nurse, "before start", NULL)); /* not running yet */
        start(f);
        assert_true(lk_nurse_gather_vitals(f->nurse, "first", NULL));
        wait_log(f, "reason: first\n");
        assert_true(lk_nurse_gather_vitals(f->nurse, "second", NULL));
        assert_false(lk_nurse_gather_vitals(f->nurse, "third", NULL));
        lk_nurse_stats stats;
        lk_nurse_stats_get(f->nurse, &stats);
        assert_int_equal(stats.dropped, 2);
        assert_int_equal(lk_service_close(lk_nurse_service(f->nurse), NULL), 0);
        assert_int_equal(count_files(f, ".pprof", NULL), 0);
        assert_int_equal(count_files(f, ".tmp", NULL), 0);
        char *log_path = prof_path(f, "nurse.log");
        char *log = lktest_read_file(log_path);
        assert_null(strstr(log, "reason: second"));
        lk_free(log);
        lk_free(log_path);
}

static bool always_unwell(void *arg, lk_meta *meta) {
        int *calls = arg;
        ++*calls;
        lk_meta_addf(meta, "zeta", "last");
        lk_meta_addf(meta, "alpha", "first");
        return true;
}

static void added_check_triggers_a_gathering(void **state) {
        fixture *f = *state = make("GatherDuration = '200ms'\nPollInterval = '20ms'\n");
        int calls = 0;
        lk_nurse_add_check(f->nurse, "queue_growing", always_unwell, &calls);
        start(f);
        wait_gatherings(f, 1);
        assert_int_equal(lk_service_close(lk_nurse_service(f->nurse), NULL), 0);
        assert_true(calls >= 1);
        assert_true(count_files(f, ".cpu.pprof", NULL) >= 1);
        assert_true(count_files(f, ".heap.pprof", NULL) >= 1);
        assert_true(count_files(f, ".threads.pprof", NULL) >= 1);
        assert_true(count_files(f, ".vitals.json", NULL) >= 1);
        char *log_path = prof_path(f, "nurse.log");
        char *log = lktest_read_file(log_path);
        /* Meta sorted by key, one entry per gathering, appended. */
        const char *entry = strstr(log, "reason: queue_growing\n- alpha: first\n- zeta: last\n\n");
        if (!entry)
                fail_msg("unexpected nurse.log:\n%s", log);
        assert_true(strncmp(log, "==== ", 5) == 0);
        lk_free(log);
        lk_free(log_path);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_service_healthy(lk_nurse_service(f->nurse), &err), -EAGAIN); /* closed */
}

/* With room for about two gatherings, older ones are deleted whole and the
 * directory never holds more than MaxProfileSize. */
static void size_cap_removes_oldest_gatherings(void **state) {
        fixture *f = *state = make("GatherDuration = '50ms'\nPollInterval = '1h'\nMaxProfileSize = '1mb'\n");
        start(f);
        assert_true(lk_nurse_gather_vitals(f->nurse, "measure", NULL));
        wait_gatherings(f, 1);
        uint64_t one = 0;
        count_files(f, ".", &one);
        destroy(f);

        /* Now a cap that holds two such gatherings but not three. */
        char *cap = lk_asprintf("GatherDuration = '50ms'\nPollInterval = '1h'\nMaxProfileSize = %llu\n",
                                (unsigned long long)(one * 5 / 2));
        f = *state = make(cap);
        lk_free(cap);
        start(f);
        uint64_t max = f->cfg.auto_pprof.max_profile_size;
        for (uint64_t i = 1; i <= 5; i++) {
                assert_true(lk_nurse_gather_vitals(f->nurse, "again", NULL));
                wait_gatherings(f, i);
                uint64_t bytes = 0;
                count_files(f, ".", &bytes);
                if (bytes > max)
                        fail_msg("after gathering %llu the profiles take %llu bytes > MaxProfileSize %llu",
                                 (unsigned long long)i, (unsigned long long)bytes, (unsigned long long)max);
        }
        lk_nurse_stats stats;
        lk_nurse_stats_get(f->nurse, &stats);
        assert_true(stats.removed >= 2);
        assert_int_equal(stats.failures, 0);
        assert_true(count_files(f, ".vitals.json", NULL) <= 2);
        assert_true(count_files(f, ".vitals.json", NULL) >= 1);
}

/* A ProfileRoot that cannot be written makes the Nurse unhealthy, with the
 * reason; it recovers with the next good gathering. */
static void unwritable_root_fails_health_until_fixed(void **state) {
        fixture *f = *state = make("GatherDuration = '20ms'\nPollInterval = '1h'\n");
        start(f);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_service_healthy(lk_nurse_service(f->nurse), &err), 0);
        char *root = prof_path(f, "");
        char *moved = lk_asprintf("%s/moved", f->dir);
        assert_int_equal(rename(root, moved), 0);
        FILE *blocker = fopen(f->cfg.auto_pprof.profile_root, "w");
        fclose(blocker);
        assert_true(lk_nurse_gather_vitals(f->nurse, "broken", NULL));
        wait_gatherings(f, 1);
        assert_true(lk_service_healthy(lk_nurse_service(f->nurse), &err) < 0);
        assert_non_null(strstr(err.msg, "could not write profiles: "));
        unlink(f->cfg.auto_pprof.profile_root);
        assert_int_equal(rename(moved, root), 0);
        assert_true(lk_nurse_gather_vitals(f->nurse, "fixed", NULL));
        wait_gatherings(f, 2);
        assert_int_equal(lk_service_healthy(lk_nurse_service(f->nurse), &err), 0);
        lk_free(root);
        lk_free(moved);
}

static void one_nurse_per_process(void **state) {
        fixture *f = *state = make("PollInterval = '1h'\n");
        start(f);
        lk_nurse *other = lk_nurse_new(&(lk_nurse_options){.config = &f->cfg});
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_service_start(lk_nurse_service(other), &f->ctx, &err), -EBUSY);
        assert_string_equal(err.msg, "Nurse: another Nurse is already running in this process");
        lk_nurse_free(other);
}

static void profile_root_is_private(void **state) {
        fixture *f = *state = make("PollInterval = '1h'\n");
        start(f);
        struct stat st;
        assert_int_equal(stat(f->cfg.auto_pprof.profile_root, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(plan_cap_arithmetic),
                cmocka_unit_test(meta_keeps_pairs),
                cmocka_unit_test_teardown(one_slot_queue_and_prompt_close, teardown),
                cmocka_unit_test_teardown(added_check_triggers_a_gathering, teardown),
                cmocka_unit_test_teardown(size_cap_removes_oldest_gatherings, teardown),
                cmocka_unit_test_teardown(unwritable_root_fails_health_until_fixed, teardown),
                cmocka_unit_test_teardown(one_nurse_per_process, teardown),
                cmocka_unit_test_teardown(profile_root_is_private, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
