/* The CPU profiler (see cpu.h).
 *
 * The signal handler may only touch what is here, preallocated: it claims
 * a slot with an atomic counter and fills it with the stack.  The global
 * state is the one thing a process-wide signal disposition allows. */
#include "cpu.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/time.h>

#include "linkd/alloc.h"
#include "stack.h"

typedef struct sample {
        atomic_int ready;
        uint32_t depth;
        uintptr_t pcs[LK_STACK_MAX];
} sample;

static struct {
        sample *samples;
        size_t capacity;
        atomic_size_t next;
        atomic_uint_least64_t dropped;
        atomic_int handlers_running;
        atomic_bool active;
        unsigned hz;
        bool handler_installed;
} cpu;

static void on_sigprof(int sig, siginfo_t *info, void *ucontext) {
        int saved_errno = errno;
        atomic_fetch_add(&cpu.handlers_running, 1);
        if (atomic_load(&cpu.active)) {
                size_t i = atomic_fetch_add(&cpu.next, 1);
                if (i < cpu.capacity) {
                        sample *s = &cpu.samples[i];
                        s->depth = (uint32_t)lk__stack_from_signal(ucontext, s->pcs, LK_STACK_MAX);
                        atomic_store(&s->ready, 1);
                } else {
                        atomic_fetch_add(&cpu.dropped, 1);
                }
        }
        atomic_fetch_sub(&cpu.handlers_running, 1);
        errno = saved_errno;
}

static struct itimerval interval(unsigned hz) {
        struct itimerval it = {0};
        if (hz) {
                it.it_interval.tv_usec = (suseconds_t)(1000000 / hz);
                it.it_value = it.it_interval;
        }
        return it;
}

int lk__cpu_profile_start(unsigned hz, size_t max_samples, lk_err *err) {
        if (hz < 1 || hz > 1000)
                return lk_err_set(err, -EINVAL, "CPU profile rate %u Hz is out of range (1 to 1000)", hz);
        if (atomic_load(&cpu.active) || cpu.samples)
                return lk_err_set(err, -EBUSY, "a CPU profile is already running");
        cpu.samples = lk_calloc(max_samples ? max_samples : 1, sizeof(sample));
        cpu.capacity = max_samples;
        atomic_store(&cpu.next, 0);
        atomic_store(&cpu.dropped, 0);
        cpu.hz = hz;
        /* Installed once and never removed: a SIGPROF still pending when
         * a profile stops would kill the process under SIG_DFL.  Outside a
         * profile the handler does nothing. */
        if (!cpu.handler_installed) {
                struct sigaction sa = {.sa_sigaction = on_sigprof, .sa_flags = SA_SIGINFO | SA_RESTART};
                sigemptyset(&sa.sa_mask);
                if (sigaction(SIGPROF, &sa, NULL) < 0) {
                        int e = errno;
                        lk_freep(&cpu.samples);
                        return lk_err_set(err, -e, "cannot install the SIGPROF handler: %s", strerror(e));
                }
                cpu.handler_installed = true;
        }
        atomic_store(&cpu.active, true);
        struct itimerval it = interval(hz);
        if (setitimer(ITIMER_PROF, &it, NULL) < 0) {
                int e = errno;
                atomic_store(&cpu.active, false);
                lk_freep(&cpu.samples);
                return lk_err_set(err, -e, "cannot start the profiling timer: %s", strerror(e));
        }
        return 0;
}

static lk_pprof *to_profile(void) {
        static const lk_pprof_value_type types[] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
        int64_t period = 1000000000 / (int64_t)cpu.hz;
        lk_pprof *profile = lk__pprof_new(types, 2, (lk_pprof_value_type){"cpu", "nanoseconds"}, period);
        size_t n = atomic_load(&cpu.next);
        if (n > cpu.capacity)
                n = cpu.capacity;
        for (size_t i = 0; i < n; i++) {
                const sample *s = &cpu.samples[i];
                if (!atomic_load(&s->ready) || s->depth == 0)
                        continue;
                int64_t values[2] = {1, period};
                lk__pprof_add(profile, s->pcs, s->depth, values, NULL, NULL, NULL, 0);
        }
        return profile;
}

lk_pprof *lk__cpu_profile_stop(uint64_t *ret_dropped) {
        if (!atomic_load(&cpu.active))
                return NULL;
        struct itimerval off = interval(0);
        setitimer(ITIMER_PROF, &off, NULL);
        atomic_store(&cpu.active, false);
        /* A signal already delivered may still be in its handler on
         * another thread; the buffer must outlive it. */
        while (atomic_load(&cpu.handlers_running) > 0)
                ;
        lk_pprof *profile = to_profile();
        if (ret_dropped)
                *ret_dropped = atomic_load(&cpu.dropped);
        lk_freep(&cpu.samples);
        cpu.capacity = 0;
        return profile;
}
