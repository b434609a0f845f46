/* Frame-pointer stack walks (see stack.h). */
#include "stack.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

/* Reads one word of this process's memory without faulting. */
static bool read_word(uintptr_t address, uintptr_t *ret) {
        struct iovec local = {ret, sizeof *ret};
        struct iovec remote = {(void *)address, sizeof *ret};
        return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof *ret;
}

/* Frames live above the stack pointer, each caller's frame above its
 * callee's; anything else is not a frame pointer. */
static bool plausible_frame(uintptr_t fp, uintptr_t below, uintptr_t limit) {
        return fp > below && fp <= limit - 2 * sizeof(uintptr_t) && fp % sizeof(uintptr_t) == 0;
}

/* Follows saved frame pointers: [fp] is the caller's fp, [fp + 8] the
 * return address into the caller. */
static size_t walk(uintptr_t fp, uintptr_t sp, uintptr_t limit, bool checked, uintptr_t *pcs, size_t depth,
                   size_t max) {
        uintptr_t below = sp;
        while (depth < max && plausible_frame(fp, below, limit)) {
                uintptr_t next, ret;
                if (checked) {
                        if (!read_word(fp, &next) || !read_word(fp + sizeof(uintptr_t), &ret))
                                break;
                } else {
                        next = ((const uintptr_t *)fp)[0];
                        ret = ((const uintptr_t *)fp)[1];
                }
                if (ret < 4096)
                        break;
                pcs[depth++] = ret;
                below = fp;
                fp = next;
        }
        return depth;
}

size_t lk__stack_from_signal(const void *ucontext, uintptr_t *pcs, size_t max) {
        const ucontext_t *uc = ucontext;
        uintptr_t pc, fp, sp;
#if defined(__x86_64__)
        pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
        fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
        sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
        pc = (uintptr_t)uc->uc_mcontext.pc;
        fp = (uintptr_t)uc->uc_mcontext.regs[29];
        sp = (uintptr_t)uc->uc_mcontext.sp;
#else
        (void)uc;
        return 0;
#endif
        if (max == 0)
                return 0;
        pcs[0] = pc;
        /* Stacks are at most a few hundred MB; the checked reads catch the
         * rest. */
        return walk(fp, sp - 1, sp + ((uintptr_t)512 << 20), true, pcs, 1, max);
}

static _Thread_local uintptr_t stack_low, stack_high;

static void learn_stack_bounds(void) {
        pthread_attr_t attr;
        void *base;
        size_t size;
        if (pthread_getattr_np(pthread_self(), &attr) != 0)
                return;
        if (pthread_attr_getstack(&attr, &base, &size) == 0) {
                stack_low = (uintptr_t)base;
                stack_high = (uintptr_t)base + size;
        }
        pthread_attr_destroy(&attr);
}

__attribute__((noinline)) size_t lk__stack_here(uintptr_t *pcs, size_t max) {
        if (!stack_high)
                learn_stack_bounds();
        uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
        if (!stack_high || fp < stack_low || fp >= stack_high)
                return 0;
        return walk(fp, fp - 1, stack_high, false, pcs, 0, max);
}
