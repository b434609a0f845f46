/* Black-box: a real Nurse in a separate process (tests/tools/
 * nurse_workload.c) gathers profiles, and `go tool pprof`, the tool an
 * operator would use, reads them. */
#include "lktest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

typedef struct fixture {
        char *dir;
        char *prof;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        f->prof = lk_asprintf("%s/prof", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lk_free(f->prof);
        lktest_rmrf(f->dir);
        lk_free(f);
        return 0;
}

/* The stack walker follows frame pointers; ASan's fake stacks for
 * use-after-return detection would hide the frames. */
static const char *const workload_env[] = {"ASAN_OPTIONS=detect_stack_use_after_return=0:detect_leaks=1", NULL};

static char *write_config(fixture *f, const char *extra) {
        char *text = lk_asprintf("RootDir = '%s'\n[AutoPprof]\nEnabled = true\nProfileRoot = '%s'\n"
                                 "MemThreshold = '1mb'\nPollInterval = '100ms'\n%s",
                                 f->dir, f->prof, extra);
        char *path = lktest_write_file(f->dir, "nurse.toml", text);
        lk_free(text);
        return path;
}

/* The single file in the profile directory ending with suffix. */
static char *find_profile(fixture *f, const char *suffix) {
        DIR *d = opendir(f->prof);
        assert_non_null(d);
        char *found = NULL;
        size_t n = strlen(suffix);
        for (struct dirent *e; (e = readdir(d));) {
                size_t len = strlen(e->d_name);
                if (len > n && strcmp(e->d_name + len - n, suffix) == 0) {
                        assert_null(found);
                        found = lk_asprintf("%s/%s", f->prof, e->d_name);
                }
        }
        closedir(d);
        if (!found)
                fail_msg("no *%s in %s", suffix, f->prof);
        return found;
}

static char *pprof(fixture *f, const char *mode, const char *path) {
        char *home = lk_asprintf("HOME=%s", f->dir), *tmp = lk_asprintf("PPROF_TMPDIR=%s", f->dir);
        const char *env[] = {home, tmp, NULL};
        const char *argv[] = {"tool", "pprof", mode, path, NULL};
        char *out = NULL, *err = NULL;
        int status = lktest_run_program("go", argv, env, &out, &err);
        if (status != 0)
                fail_msg("go tool pprof %s %s exited %d:\n%s", mode, path, status, err);
        lk_free(err);
        lk_free(home);
        lk_free(tmp);
        return out;
}

/* The function named on location id's line of a -raw dump. */
static const char *location_function(const char *raw, long id, char *buf, size_t size) {
        const char *locations = strstr(raw, "\nLocations\n");
        assert_non_null(locations);
        for (const char *line = locations + 11; *line && *line != 'M'; line = strchr(line, '\n') + 1) {
                long got;
                char name[256];
                if (sscanf(line, " %ld: %*s M=%*d %255s", &got, name) == 2 && got == id) {
                        snprintf(buf, size, "%s", name);
                        return buf;
                }
                if (!strchr(line, '\n'))
                        break;
        }
        snprintf(buf, size, "?");
        return buf;
}

/* Sums the first value of the samples whose leaf is function (and of all
 * samples in *ret_total). */
static long long leaf_total(const char *raw, const char *function, long long *ret_total) {
        const char *samples = strstr(raw, "\nSamples:\n");
        assert_non_null(samples);
        const char *line = strchr(samples + 10, '\n') + 1; /* skip the value types */
        long long mine = 0, total = 0;
        for (; *line && *line == ' '; line = strchr(line, '\n') + 1) {
                long long value;
                long leaf;
                const char *colon = strchr(line, ':');
                if (colon && colon < strchr(line, '\n') && sscanf(line, " %lld", &value) == 1 &&
                    sscanf(colon + 1, " %ld", &leaf) == 1) {
                        char name[256];
                        total += value;
                        if (strcmp(location_function(raw, leaf, name, sizeof name), function) == 0)
                                mine += value;
                }
                if (!strchr(line, '\n'))
                        break;
        }
        *ret_total = total;
        return mine;
}

static void profiles_read_back_with_go_pprof(void **state) {
        fixture *f = *state;
        char *config = write_config(f, "GatherDuration = '2s'\n");
        const char *argv[] = {config, "1", NULL};
        char *out = NULL, *err = NULL;
        int status = lktest_run_program(lktest_env("LINKD_NURSE_WORKLOAD"), argv, workload_env, &out, &err);
        if (status != 0)
                fail_msg("workload exited %d:\n%s%s", status, out, err);
        assert_non_null(strstr(err, "msg=\"Nurse gathered vitals\""));

        /* CPU: most samples where the workload kept a thread busy. */
        char *cpu = find_profile(f, ".cpu.pprof");
        char *raw = pprof(f, "-raw", cpu);
        long long total, busy = leaf_total(raw, "burn_cpu", &total);
        if (total < 20 || busy * 2 < total)
                fail_msg("burn_cpu has %lld of %lld CPU samples:\n%s", busy, total, raw);
        assert_non_null(strstr(raw, "nurse_workload.c:"));
        lk_free(raw);

        /* Heap: the allocating function, with its growth over the window. */
        char *heap = find_profile(f, ".heap.pprof");
        raw = pprof(f, "-raw", heap);
        assert_non_null(strstr(raw, "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes"));
        assert_non_null(strstr(raw, " hold_memory "));
        lk_free(raw);
        char *top = pprof(f, "-top", heap);
        if (!strstr(top, "hold_memory"))
                fail_msg("hold_memory not in the heap profile's top:\n%s", top);
        lk_free(top);

        /* Threads: every thread, by name, with its stack. */
        char *threads = find_profile(f, ".threads.pprof");
        raw = pprof(f, "-raw", threads);
        assert_non_null(strstr(raw, "thread:[burner]"));
        assert_non_null(strstr(raw, "thread:[holder]"));
        assert_non_null(strstr(raw, "thread:[lk-nurse-gather]"));
        assert_non_null(strstr(raw, " burn_cpu "));
        lk_free(raw);

        /* Vitals and the log. */
        char *vitals_path = find_profile(f, ".vitals.json");
        char *vitals = lktest_read_file(vitals_path);
        assert_non_null(strstr(vitals, "\"reason\": \"mem\""));
        assert_non_null(strstr(vitals, "\"resident_bytes\":"));
        assert_non_null(strstr(vitals, "\"threshold\": \"1.00mb\""));
        char *log_path = lk_asprintf("%s/nurse.log", f->prof);
        char *log = lktest_read_file(log_path);
        assert_non_null(strstr(log, "reason: mem\n- mem_heap: "));
        struct stat st;
        assert_int_equal(stat(cpu, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(stat(f->prof, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        lk_free(log);
        lk_free(log_path);
        lk_free(vitals);
        lk_free(vitals_path);
        lk_free(threads);
        lk_free(heap);
        lk_free(cpu);
        lk_free(out);
        lk_free(err);
        lk_free(config);
}

static uint64_t directory_bytes(const char *path, int *ret_gatherings) {
        DIR *d = opendir(path);
        uint64_t bytes = 0;
        int gatherings = 0;
        for (struct dirent *e; d && (e = readdir(d));) {
                char *file = lk_asprintf("%s/%s", path, e->d_name);
                struct stat st;
                size_t len = strlen(e->d_name);
                bool counted = strcmp(e->d_name, "nurse.log") == 0 ||
                               (len > 6 && strcmp(e->d_name + len - 6, ".pprof") == 0) ||
                               (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0);
                if (counted && stat(file, &st) == 0) {
                        bytes += (uint64_t)st.st_size;
                        gatherings += len > 5 && strcmp(e->d_name + len - 5, ".json") == 0;
                }
                lk_free(file);
        }
        if (d)
                closedir(d);
        if (ret_gatherings)
                *ret_gatherings = gatherings;
        return bytes;
}

/* Runs the workload in the background for `gatherings`, watching the
 * profile directory; returns the largest size it ever had. */
static uint64_t run_watching(fixture *f, const char *config, const char *gatherings, char **ret_log) {
        char *log_path = lk_asprintf("%s/workload.log", f->dir);
        pid_t pid = fork();
        if (pid == 0) {
                freopen(log_path, "w", stderr);
                setenv("ASAN_OPTIONS", "detect_stack_use_after_return=0", 1);
                execl(lktest_env("LINKD_NURSE_WORKLOAD"), "nurse-workload", config, gatherings, (char *)NULL);
                _exit(127);
        }
        uint64_t peak = 0;
        int status;
        while (waitpid(pid, &status, WNOHANG) == 0) {
                uint64_t bytes = directory_bytes(f->prof, NULL);
                if (bytes > peak)
                        peak = bytes;
                usleep(1000);
        }
        *ret_log = lktest_read_file(log_path);
        lk_free(log_path);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("workload failed:\n%s", *ret_log);
        return peak;
}

/* Six gatherings under a cap that holds about two and a half: the
 * directory is watched the whole time and never holds more than
 * MaxProfileSize, and whole old gatherings make way. */
static void size_cap_is_never_exceeded(void **state) {
        fixture *f = *state;
        char *config = write_config(f, "GatherDuration = '300ms'\n");
        char *log = NULL;
        run_watching(f, config, "1", &log);
        lk_free(log);
        lk_free(config);
        uint64_t one = directory_bytes(f->prof, NULL);
        lktest_rmrf(lk_strdup(f->prof));

        uint64_t max = one * 5 / 2;
        char *extra = lk_asprintf("GatherDuration = '300ms'\nMaxProfileSize = %llu\n", (unsigned long long)max);
        config = write_config(f, extra);
        lk_free(extra);
        uint64_t peak = run_watching(f, config, "6", &log);
        if (peak > max)
                fail_msg("the profiles reached %llu bytes, over MaxProfileSize %llu", (unsigned long long)peak,
                         (unsigned long long)max);
        int gatherings = 0;
        directory_bytes(f->prof, &gatherings);
        if (gatherings < 1 || gatherings > 2)
                fail_msg("%d gatherings kept under a cap of %llu bytes (one is %llu)", gatherings,
                         (unsigned long long)max, (unsigned long long)one);
        assert_non_null(strstr(log, "msg=\"Nurse removed an old gathering to respect MaxProfileSize\""));
        lk_free(log);
        lk_free(config);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(profiles_read_back_with_go_pprof, setup, teardown),
                cmocka_unit_test_setup_teardown(size_cap_is_never_exceeded, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
