/* Thread stack snapshots (see threads.h).
 *
 * The requester lists the threads in /proc/self/task, gives each a slot,
 * and signals it; the handler finds its slot by thread id and fills it.
 * The slots are the process-wide state a signal handler needs. */
#include "threads.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "stack.h"

/* glibc keeps the first two real-time signals; linkd's main loop uses
 * SIGRTMIN for its own wake-ups. */
#define SIG_STACK (SIGRTMIN + 1)

enum { PENDING, ANSWERED, GONE };

typedef struct slot {
        pid_t tid;
        atomic_int done; /* PENDING, ANSWERED or GONE */
        uint32_t depth;
        uintptr_t pcs[LK_STACK_MAX];
} slot;

static struct {
        pthread_mutex_t lock;
        slot *slots;
        _Atomic size_t count;
        atomic_int handlers_running;
        bool handler_installed;
} snap = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void on_stack_signal(int sig, siginfo_t *info, void *ucontext) {
        int saved_errno = errno;
        /* Counted before looking at the slots, so that the requester can
         * wait for every handler that might still touch them. */
        atomic_fetch_add(&snap.handlers_running, 1);
        pid_t tid = (pid_t)syscall(SYS_gettid);
        size_t n = atomic_load(&snap.count);
        for (size_t i = 0; i < n; i++) {
                slot *s = &snap.slots[i];
                if (s->tid != tid || atomic_load(&s->done) != PENDING)
                        continue;
                s->depth = (uint32_t)lk__stack_from_signal(ucontext, s->pcs, LK_STACK_MAX);
                atomic_store(&s->done, ANSWERED);
                break;
        }
        atomic_fetch_sub(&snap.handlers_running, 1);
        errno = saved_errno;
}

static int install_handler(lk_err *err) {
        if (snap.handler_installed)
                return 0;
        /* Never removed, for the same reason as SIGPROF's: a late signal
         * must find a handler, not the default action. */
        struct sigaction sa = {.sa_sigaction = on_stack_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIG_STACK, &sa, NULL) < 0)
                return lk_err_set(err, -errno, "cannot install the stack signal handler: %s", strerror(errno));
        snap.handler_installed = true;
        return 0;
}

static size_t list_threads(pid_t **ret_tids) {
        size_t n = 0, cap = 64;
        pid_t *tids = lk_calloc(cap, sizeof *tids);
        DIR *d = opendir("/proc/self/task");
        for (struct dirent *e; d && (e = readdir(d));) {
                pid_t tid = (pid_t)atoi(e->d_name);
                if (tid <= 0)
                        continue;
                if (n == cap) {
                        cap *= 2;
                        tids = lk_realloc(tids, cap * sizeof *tids);
                }
                tids[n++] = tid;
        }
        if (d)
                closedir(d);
        *ret_tids = tids;
        return n;
}

static void thread_name(pid_t tid, char *buf, size_t size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
        FILE *f = fopen(path, "re");
        if (!f || !fgets(buf, (int)size, f))
                snprintf(buf, size, "thread-%d", (int)tid);
        buf[strcspn(buf, "\n")] = '\0';
        if (f)
                fclose(f);
}

static void wait_for_answers(size_t n, lk_usec timeout) {
        lk_usec until = lk_now_monotonic() + timeout;
        for (;;) {
                size_t answered = 0;
                for (size_t i = 0; i < n; i++)
                        answered += atomic_load(&snap.slots[i].done) != PENDING;
                if (answered == n || lk_now_monotonic() >= until)
                        return;
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
        }
}

static lk_pprof *collect(size_t n) {
        static const lk_pprof_value_type type = {"threads", "count"};
        lk_pprof *profile = lk__pprof_new(&type, 1, type, 0);
        lk_buf missing = LK_BUF_INIT;
        for (size_t i = 0; i < n; i++) {
                slot *s = &snap.slots[i];
                if (atomic_load(&s->done) == GONE)
                        continue;
                char name[64];
                thread_name(s->tid, name, sizeof name);
                if (atomic_load(&s->done) != ANSWERED || s->depth == 0) {
                        lk_buf_printf(&missing, "%s%s (%d)", missing.len ? ", " : "", name, (int)s->tid);
                        continue;
                }
                int64_t one = 1;
                lk__pprof_add(profile, s->pcs, s->depth, &one, "thread", name, "tid", s->tid);
        }
        if (missing.len) {
                char *comment = lk_asprintf("threads that did not answer: %s", lk_buf_str(&missing));
                lk__pprof_comment(profile, comment);
                lk_free(comment);
        }
        lk_buf_done(&missing);
        return profile;
}

int lk__thread_stacks(lk_usec timeout, lk_pprof **ret_profile, lk_err *err) {
        if (pthread_mutex_trylock(&snap.lock) != 0)
                return lk_err_set(err, -EBUSY, "a thread snapshot is already running");
        int r = install_handler(err);
        if (r < 0) {
                pthread_mutex_unlock(&snap.lock);
                return r;
        }
        pid_t *tids;
        size_t n = list_threads(&tids);
        snap.slots = lk_calloc(n ? n : 1, sizeof *snap.slots);
        for (size_t i = 0; i < n; i++)
                snap.slots[i].tid = tids[i];
        atomic_store(&snap.count, n);
        pid_t pid = getpid();
        for (size_t i = 0; i < n; i++)
                if (syscall(SYS_tgkill, pid, tids[i], SIG_STACK) < 0)
                        atomic_store(&snap.slots[i].done, GONE); /* exited since it was listed */
        wait_for_answers(n, timeout);
        /* Handlers that run from now on find no slots; the ones already
         * running finish before the slots are read and freed. */
        atomic_store(&snap.count, 0);
        while (atomic_load(&snap.handlers_running) > 0)
                ;
        lk_pprof *profile = collect(n);
        lk_free(snap.slots);
        snap.slots = NULL;
        lk_free(tids);
        pthread_mutex_unlock(&snap.lock);
        *ret_profile = profile;
        return 0;
}
