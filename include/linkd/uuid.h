/* Random (version 4) UUIDs: task run ids, lease client ids, the uuid task.
 * Task run ids double as the capability in a bridge's responseURL, so the
 * bytes come from the kernel's CSPRNG (getrandom), read a page at a time
 * into a per-thread buffer because a run can need thousands per second. */
#ifndef LINKD_UUID_H
#define LINKD_UUID_H

/* Writes 36 characters and a NUL.  0, or -errno when the kernel has no
 * randomness to give (out is then unchanged). */
int lk_uuid_v4(char out[static 37]);

#endif
