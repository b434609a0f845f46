/* Process vitals from /proc/self/stat, /proc/self/fd and /proc/stat. */
#include "linkd/proc.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int read_file(const char *path, char *buf, size_t size, lk_err *err) {
        FILE *f = fopen(path, "re");
        if (!f)
                return lk_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
        size_t n = fread(buf, 1, size - 1, f);
        fclose(f);
        buf[n] = '\0';
        return 0;
}

/* The boot time never changes: read once (pthread_once), not per call. */
static uint64_t boot_time;
static pthread_once_t boot_time_once = PTHREAD_ONCE_INIT;

static void read_boot_time(void) {
        char buf[8192];
        if (read_file("/proc/stat", buf, sizeof buf, NULL) < 0)
                return;
        const char *line = strstr(buf, "\nbtime ");
        if (line)
                sscanf(line + 7, "%" SCNu64, &boot_time);
}

static uint64_t boot_time_seconds(void) {
        pthread_once(&boot_time_once, read_boot_time);
        return boot_time;
}

static uint64_t count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return 0;
        uint64_t n = 0;
        for (struct dirent *e; (e = readdir(d));)
                n += e->d_name[0] != '.';
        closedir(d);
        return n > 0 ? n - 1 : 0; /* the directory stream's own descriptor */
}

int lk_proc_stats_read(lk_proc_stats *ret_stats, unsigned flags, lk_err *err) {
        char buf[1024];
        int r = read_file("/proc/self/stat", buf, sizeof buf, err);
        if (r < 0)
                return r;
        /* The command name may hold spaces and parentheses: fields are
         * counted from the last ')'. */
        const char *p = strrchr(buf, ')');
        unsigned long long utime, stime, threads, start_ticks, vsize;
        long long rss_pages;
        if (!p || sscanf(p + 2,
                         "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %llu %*d %llu %llu %lld",
                         &utime, &stime, &threads, &start_ticks, &vsize, &rss_pages) != 6)
                return lk_err_set(err, -EIO, "cannot parse /proc/self/stat");
        double ticks = (double)sysconf(_SC_CLK_TCK);
        long page = sysconf(_SC_PAGESIZE);
        struct rlimit lim;
        lk_proc_stats s = {
                .resident_bytes = rss_pages > 0 ? (uint64_t)rss_pages * (uint64_t)page : 0,
                .virtual_bytes = vsize,
                .threads = threads,
                .open_fds = flags & LK_PROC_FDS ? count_fds() : 0,
                .max_fds = getrlimit(RLIMIT_NOFILE, &lim) == 0 ? (uint64_t)lim.rlim_cur : 0,
                .cpu_seconds = (double)(utime + stime) / ticks,
                .start_time = (lk_usec)((double)boot_time_seconds() * LK_USEC_PER_SEC +
                                        (double)start_ticks / ticks * LK_USEC_PER_SEC),
        };
        *ret_stats = s;
        return 0;
}
