/* The systemd notify protocol, without libsystemd: one datagram of
 * newline-separated KEY=VALUE pairs to the AF_UNIX socket named by
 * $NOTIFY_SOCKET ('@' = abstract namespace).  The protocol is stable and
 * small; systemd's maintainers recommend exactly this for programs that
 * only need sd_notify. */
#ifndef LINKD_NOTIFY_H
#define LINKD_NOTIFY_H

#include "linkd/err.h"
#include "linkd/time.h"

/* Sends state ("READY=1", "STOPPING=1", "WATCHDOG=1", ...).  Returns 0
 * without doing anything when NOTIFY_SOCKET is unset. */
int lk_notify(const char *state, lk_err *err);

/* The watchdog interval systemd expects pings within (WATCHDOG_USEC), or
 * 0 when there is none or WATCHDOG_PID names another process. */
lk_usec lk_notify_watchdog_usec(void);

#endif
