/* Measures a server's time from exec to its first 200 answer, and its
 * resident memory once idle, over several runs; prints the medians.
 *
 *   startup RUNS PORT PATH -- COMMAND [ARGS...]
 *
 * Resident memory is summed over the process and its direct children
 * (nginx's workers), read from /proc after a second of idleness. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linkd/time.h"

static int get_status(unsigned port, const char *path) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
        int status = -1;
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
                char req[256], resp[64] = "";
                int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
                if (write(fd, req, (size_t)n) == n && read(fd, resp, sizeof resp - 1) > 0)
                        sscanf(resp, "HTTP/1.%*d %d", &status);
        }
        close(fd);
        return status;
}

static long rss_kb(pid_t pid) {
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        FILE *f = fopen(path, "r");
        long kb = 0;
        while (f && fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld", &kb) == 1)
                        break;
        if (f)
                fclose(f);
        return kb;
}

static long family_rss_kb(pid_t parent) {
        long total = rss_kb(parent);
        DIR *d = opendir("/proc");
        for (struct dirent *e; d && (e = readdir(d));) {
                pid_t pid = atoi(e->d_name);
                char path[64];
                snprintf(path, sizeof path, "/proc/%d/stat", pid);
                FILE *f = pid > 0 ? fopen(path, "r") : NULL;
                int ppid = 0;
                if (f && fscanf(f, "%*d %*s %*c %d", &ppid) == 1 && ppid == parent)
                        total += rss_kb(pid);
                if (f)
                        fclose(f);
        }
        if (d)
                closedir(d);
        return total;
}

static int compare(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

int main(int argc, char **argv) {
        if (argc < 6 || strcmp(argv[4], "--") != 0) {
                fprintf(stderr, "usage: startup RUNS PORT PATH -- COMMAND [ARGS...]\n");
                return 2;
        }
        int runs = atoi(argv[1]);
        unsigned port = (unsigned)atoi(argv[2]);
        const char *path = argv[3];
        double ms[64], kb[64];
        if (runs < 1 || runs > 64)
                runs = 5;
        for (int i = 0; i < runs; i++) {
                lk_usec began = lk_now_monotonic();
                pid_t pid = fork();
                if (pid == 0) {
                        freopen("/dev/null", "w", stdout);
                        freopen("/dev/null", "w", stderr);
                        execvp(argv[5], argv + 5);
                        _exit(127);
                }
                while (get_status(port, path) != 200) {
                        if (waitpid(pid, NULL, WNOHANG) == pid) {
                                fprintf(stderr, "startup: %s exited before answering\n", argv[5]);
                                return 1;
                        }
                        if (lk_now_monotonic() - began > 10 * LK_USEC_PER_SEC) {
                                fprintf(stderr, "startup: no 200 from port %u within 10s\n", port);
                                kill(pid, SIGKILL);
                                return 1;
                        }
                        usleep(200);
                }
                ms[i] = (double)(lk_now_monotonic() - began) / LK_USEC_PER_MSEC;
                sleep(1);
                kb[i] = (double)family_rss_kb(pid);
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                usleep(100000); /* let the port go */
        }
        qsort(ms, (size_t)runs, sizeof ms[0], compare);
        qsort(kb, (size_t)runs, sizeof kb[0], compare);
        printf("startup_ms=%.2f rss_kb=%.0f\n", ms[runs / 2], kb[runs / 2]);
        return 0;
}
