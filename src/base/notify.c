/* sd_notify without libsystemd (see include/linkd/notify.h). */
#include "linkd/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int lk_notify(const char *state, lk_err *err) {
        const char *path = secure_getenv("NOTIFY_SOCKET");
        if (!path || !*path)
                return 0;
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        size_t len = strlen(path);
        if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path)
                return lk_err_set(err, -EINVAL, "NOTIFY_SOCKET is not a usable socket path");
        memcpy(addr.sun_path, path, len);
        if (path[0] == '@')
                addr.sun_path[0] = '\0';
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return lk_err_set(err, -errno, "notify socket: %s", strerror(errno));
        socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
        ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
        int e = errno;
        close(fd);
        if (n < 0)
                return lk_err_set(err, -e, "notify %s: %s", path, strerror(e));
        return 0;
}

lk_usec lk_notify_watchdog_usec(void) {
        const char *usec = secure_getenv("WATCHDOG_USEC");
        if (!usec)
                return 0;
        const char *pid = secure_getenv("WATCHDOG_PID");
        if (pid && strtol(pid, NULL, 10) != (long)getpid())
                return 0;
        char *end;
        long long v = strtoll(usec, &end, 10);
        return *end || v <= 0 ? 0 : (lk_usec)v;
}
