/* lk_heartbeat: a loop's proof of life for /livez and the systemd
 * watchdog.  The loop beats once per iteration; a beat older than three
 * periods means the loop is stuck. */
#ifndef LINKD_HEARTBEAT_H
#define LINKD_HEARTBEAT_H

#include <stdatomic.h>
#include <stdbool.h>

#include "linkd/time.h"

typedef struct lk_heartbeat {
        const char *name;           /* borrowed, for /livez */
        lk_usec period;
        atomic_int_least64_t last;  /* monotonic; 0 before the first beat */
} lk_heartbeat;

void lk_heartbeat_init(lk_heartbeat *hb, const char *name, lk_usec period);
void lk_heartbeat_beat(lk_heartbeat *hb);
/* True before the first beat and while beats are recent; the age of the
 * last beat in *ret_age (may be NULL). */
bool lk_heartbeat_alive(const lk_heartbeat *hb, lk_usec *ret_age);

#endif
