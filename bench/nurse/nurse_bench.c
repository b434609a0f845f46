/* bench/nurse: what the Nurse costs a node, each figure next to the same
 * work without it, measured in this run.
 *
 *  1. One poll (the built-in memory and thread checks), as CPU time per
 *     poll over many polls, and what that is as a share of one core at the
 *     configured PollInterval; next to one bare read of /proc/self/stat.
 *  2. A busy workload (parsing a TOML document of a few thousand keys with
 *     linkd's parser, over and over) with the CPU profiler sampling at
 *     100 Hz, against the same workload without it: rounds alternate, the
 *     worker's own CPU time is compared, and the median ratio is reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/nurse.h"
#include "linkd/toml.h"
#include "prof/cpu.h"

static double cpu_seconds(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static double poll_cost(lk_nurse *nurse, int polls) {
        double began = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (int i = 0; i < polls; i++)
                lk__nurse_run_checks(nurse);
        return (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - began) / polls;
}

static double stat_read_cost(int reads) {
        char buf[1024];
        double began = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (int i = 0; i < reads; i++) {
                FILE *f = fopen("/proc/self/stat", "re");
                if (f) {
                        if (!fread(buf, 1, sizeof buf, f))
                                buf[0] = 0;
                        fclose(f);
                }
        }
        return (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - began) / reads;
}

static char *make_document(size_t *ret_len) {
        lk_buf b = LK_BUF_INIT;
        for (int t = 0; t < 100; t++) {
                lk_buf_printf(&b, "[job_%d]\nname = \"job number %d\"\nschedule = 'CRON_TZ=UTC */5 * * * *'\n", t, t);
                for (int k = 0; k < 30; k++)
                        lk_buf_printf(&b, "key_%d = %d.%d\n", k, t, k);
        }
        return lk_buf_steal(&b, ret_len);
}

/* Parses the document `iterations` times; the worker's CPU seconds. */
static double workload(const char *doc, size_t len, int iterations) {
        double began = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < iterations; i++) {
                lk_toml_value *root;
                if (lk_toml_parse(doc, len, &root, NULL) == 0)
                        lk_toml_free(root);
        }
        return cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - began;
}

/* Starts a Nurse with an hour-long gathering and times its Close. */
static double close_during_gathering(void) {
        char dir[] = "/tmp/linkd-nurse-bench-XXXXXX";
        if (!mkdtemp(dir))
                return -1;
        lk_config cfg;
        lk_config_init(&cfg);
        cfg.auto_pprof.mem_threshold = UINT64_MAX;
        cfg.auto_pprof.poll_interval = 3600 * LK_USEC_PER_SEC;
        cfg.auto_pprof.gather_duration = 3600 * LK_USEC_PER_SEC;
        lk_free(cfg.root_dir);
        cfg.root_dir = lk_strdup(dir);
        lk_config_finish(&cfg, NULL);
        lk_nurse *nurse = lk_nurse_new(&(lk_nurse_options){.config = &cfg});
        lk_ctx ctx;
        lk_ctx_init(&ctx, LK_USEC_INFINITY);
        lk_service_start(lk_nurse_service(nurse), &ctx, NULL);
        lk_nurse_gather_vitals(nurse, "bench", NULL);
        char *log = lk_asprintf("%s/nurse.log", dir);
        while (access(log, F_OK) != 0)
                usleep(1000);
        usleep(300000); /* well inside the CPU profile's window */
        lk_usec began = lk_now_monotonic();
        lk_service_close(lk_nurse_service(nurse), NULL);
        double ms = (double)(lk_now_monotonic() - began) / LK_USEC_PER_MSEC;
        unlink(log);
        lk_free(log);
        rmdir(dir);
        lk_nurse_free(nurse);
        lk_ctx_done(&ctx);
        lk_config_done(&cfg);
        return ms;
}

int main(int argc, char **argv) {
        int rounds = argc > 1 ? atoi(argv[1]) : 7;
        if (rounds < 1 || rounds > 64)
                rounds = 7;
        lk_config cfg;
        lk_config_init(&cfg);
        cfg.auto_pprof.mem_threshold = UINT64_MAX; /* the checks run but never fire */
        lk_config_finish(&cfg, NULL);
        lk_nurse *nurse = lk_nurse_new(&(lk_nurse_options){.config = &cfg});

        double poll = poll_cost(nurse, 20000);
        double read = stat_read_cost(20000);
        double interval = (double)cfg.auto_pprof.poll_interval / LK_USEC_PER_SEC;
        printf("bench/nurse\n");
        printf("  poll (mem + threads checks)        %8.2f us CPU   = %.5f%% of a core at PollInterval %.0fs (target < 0.1%%)\n",
               poll * 1e6, poll / interval * 100, interval);
        printf("  baseline: one read of /proc/self/stat %5.2f us CPU\n", read * 1e6);

        size_t len;
        char *doc = make_document(&len);
        int iterations = 1;
        while (workload(doc, len, iterations) < 0.5) /* rounds of at least half a second */
                iterations *= 2;
        double *with = calloc((size_t)rounds, sizeof *with), *without = calloc((size_t)rounds, sizeof *without);
        double *ratio = calloc((size_t)rounds, sizeof *ratio);
        for (int r = 0; r < rounds; r++) {
                without[r] = workload(doc, len, iterations);
                if (lk__cpu_profile_start(100, 10000, NULL) < 0) {
                        fprintf(stderr, "nurse_bench: cannot start the CPU profiler\n");
                        return 1;
                }
                with[r] = workload(doc, len, iterations);
                lk__pprof_free(lk__cpu_profile_stop(NULL));
                ratio[r] = with[r] / without[r];
        }
        qsort(with, (size_t)rounds, sizeof *with, compare);
        qsort(without, (size_t)rounds, sizeof *without, compare);
        qsort(ratio, (size_t)rounds, sizeof *ratio, compare);
        printf("  busy workload (%d TOML parses of %zu bytes, median of %d alternating rounds)\n", iterations, len,
               rounds);
        printf("    without profiler (baseline)      %8.3f s CPU\n", without[rounds / 2]);
        printf("    with CPU profiler at 100 Hz      %8.3f s CPU   slowdown %+.2f%% (target < 3%%)\n", with[rounds / 2],
               (ratio[rounds / 2] - 1) * 100);
        printf("  Close during a gathering           %8.2f ms (target < 100 ms)\n", close_during_gathering());
        free(with);
        free(without);
        free(ratio);
        lk_free(doc);
        lk_nurse_free(nurse);
        lk_config_done(&cfg);
        return 0;
}
