/* UUIDs from the kernel's CSPRNG (getrandom), read a page at a time into
 * a per-thread buffer because a run can need thousands per second.
 *
 * Version 4 (random) for what Chainlink makes random: lease client ids,
 * the uuid task's output.  Version 7 (RFC 9562: the Unix time in
 * milliseconds, then 74 random bits) for task run ids: they are the
 * primary key of pipeline_task_runs, and keys that grow with time are
 * appended at the edge of its index instead of dirtying a random page of
 * it per row.  Task run ids double as the capability in a bridge's
 * responseURL; 74 random bits are far beyond online guessing. */
#ifndef LINKD_UUID_H
#define LINKD_UUID_H

#include "linkd/time.h"

/* Each writes 36 characters and a NUL.  0, or -errno when the kernel has
 * no randomness to give (out is then unchanged). */
int lk_uuid_v4(char out[static 37]);
/* unix_ms: the realtime clock in milliseconds (the caller's, so that it
 * can be shared with a row's timestamp). */
int lk_uuid_v7(char out[static 37], int64_t unix_ms);

#endif
