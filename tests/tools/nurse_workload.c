/* A process for the Nurse's black-box test: it runs a real Nurse with the
 * config in argv[1], keeps one thread busy in burn_cpu() and another
 * allocating (and keeping) memory in hold_memory(), until the Nurse has
 * finished argv[2] gatherings; then it prints the Nurse's counters and
 * exits.  The test reads the profiles it leaves with go tool pprof. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/nurse.h"

static atomic_bool done;
static volatile uint64_t sink;

__attribute__((noinline)) static void burn_cpu(void) {
        uint64_t x = 88172645463325252u;
        while (!atomic_load_explicit(&done, memory_order_relaxed)) {
                for (int i = 0; i < 100000; i++) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                }
                sink = x;
        }
}

static void *burner(void *arg) {
        pthread_setname_np(pthread_self(), "burner");
        burn_cpu();
        return NULL;
}

/* Keeps up to 32 MB in 64 KB blocks, a block every 5 ms. */
__attribute__((noinline)) static void hold_memory(void **blocks, size_t max) {
        size_t n = 0;
        while (!atomic_load(&done)) {
                if (n < max) {
                        blocks[n] = lk_malloc(64 * 1024);
                        memset(blocks[n], (int)n, 64 * 1024);
                        n++;
                }
                usleep(5000);
        }
}

static void *holder(void *arg) {
        pthread_setname_np(pthread_self(), "holder");
        hold_memory(arg, 512);
        return NULL;
}

int main(int argc, char **argv) {
        if (argc != 3) {
                fprintf(stderr, "usage: nurse_workload CONFIG GATHERINGS\n");
                return 2;
        }
        lk_config cfg;
        lk_config_init(&cfg);
        lk_err err = LK_ERR_INIT;
        if (lk_config_load_file(&cfg, argv[1], &err) < 0 || lk_config_finish(&cfg, &err) < 0) {
                fprintf(stderr, "nurse_workload: %s\n", err.msg);
                return 2;
        }
        uint64_t want = strtoull(argv[2], NULL, 10);
        lk_log *log = lk_log_new(&(lk_log_options){.fd = 2, .level = LK_LOG_INFO});
        lk_nurse *nurse = lk_nurse_new(&(lk_nurse_options){.config = &cfg, .log = log});
        lk_ctx ctx;
        lk_ctx_init(&ctx, LK_USEC_INFINITY);
        if (lk_service_start(lk_nurse_service(nurse), &ctx, &err) < 0) {
                fprintf(stderr, "nurse_workload: %s\n", err.msg);
                return 1;
        }
        void **blocks = lk_calloc(512, sizeof *blocks);
        pthread_t burn, hold;
        pthread_create(&burn, NULL, burner, NULL);
        pthread_create(&hold, NULL, holder, blocks);
        lk_nurse_stats stats;
        lk_usec until = lk_now_monotonic() + 120 * LK_USEC_PER_SEC;
        for (lk_nurse_stats_get(nurse, &stats); stats.gatherings + stats.failures < want && lk_now_monotonic() < until;
             lk_nurse_stats_get(nurse, &stats))
                usleep(10000);
        atomic_store(&done, true);
        pthread_join(burn, NULL);
        pthread_join(hold, NULL);
        lk_service_close(lk_nurse_service(nurse), NULL);
        printf("gatherings=%llu removed=%llu failures=%llu dropped=%llu\n", (unsigned long long)stats.gatherings,
               (unsigned long long)stats.removed, (unsigned long long)stats.failures,
               (unsigned long long)stats.dropped);
        for (size_t i = 0; i < 512; i++)
                lk_free(blocks[i]);
        lk_free(blocks);
        lk_nurse_free(nurse);
        lk_ctx_done(&ctx);
        lk_log_free(log);
        lk_config_done(&cfg);
        return stats.gatherings + stats.failures >= want ? 0 : 1;
}
