/* Call stacks for the profilers, by walking frame pointers (linkd is
 * built with -fno-omit-frame-pointer).  No unwinder library is safe in a
 * signal handler: they take the dynamic loader's lock to find unwind
 * tables, and a profiling signal can arrive while that lock is held.
 * Frame pointers need no lock.  Frames of libraries built without frame
 * pointers are skipped over or end the walk; linkd's own are complete. */
#ifndef LINKD_PROF_STACK_H
#define LINKD_PROF_STACK_H

#include <stddef.h>
#include <stdint.h>

#define LK_STACK_MAX 64

/* The stack of the context a signal interrupted (the handler's ucontext
 * argument): pcs[0] is the interrupted instruction, then the return
 * addresses.  Async-signal-safe: every read of the stack is checked with
 * process_vm_readv, so a garbage frame pointer ends the walk instead of
 * faulting. */
size_t lk__stack_from_signal(const void *ucontext, uintptr_t *pcs, size_t max);

/* The calling thread's return addresses: pcs[0] points into the function
 * that called lk__stack_here, pcs[1] into its caller, and so on.  Not for
 * signal handlers (it looks up the thread's stack bounds once per thread
 * and caches them). */
size_t lk__stack_here(uintptr_t *pcs, size_t max);

#endif
