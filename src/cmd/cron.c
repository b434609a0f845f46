/* linkd cron next: when a cron job's schedule fires, without a node. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "linkd/cron.h"
#include "linkd/time.h"
#include "linkd/tz.h"

#define DEFAULT_COUNT 5
#define MAX_COUNT 1000

static const char cron_usage[] =
        "usage: linkd cron next SCHEDULE [--from TIME] [--count N]\n"
        "\n"
        "Prints the next N (default 5, at most 1000) times a cron job with this\n"
        "schedule fires, one per line, in RFC 3339 UTC.  SCHEDULE is a job's\n"
        "schedule, e.g. \"CRON_TZ=UTC 0 */5 * * * *\" or \"@every 1h30m\".\n"
        "--from TIME starts after TIME (RFC 3339 or Unix seconds) instead of now.\n"
        "Exit status: 0 printed, 2 the schedule or an argument is invalid.\n";

typedef struct options {
        const char *schedule;
        int64_t from;
        long count;
} options;

static int parse_from(const char *text, int64_t *ret) {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (*text != '\0' && *end == '\0' && errno == 0) {
                *ret = v;
                return 0;
        }
        lk_err err = LK_ERR_INIT;
        if (lk_rfc3339_parse(text, ret, NULL, &err) < 0) {
                fprintf(stderr, "linkd: --from: %s (want RFC 3339 or Unix seconds)\n", err.msg);
                return -1;
        }
        return 0;
}

static int parse_count(const char *text, long *ret) {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (*text == '\0' || *end != '\0' || errno != 0 || v < 1 || v > MAX_COUNT) {
                fprintf(stderr, "linkd: --count: want a number from 1 to %d, got \"%s\"\n", MAX_COUNT, text);
                return -1;
        }
        *ret = v;
        return 0;
}

static int parse_arguments(int argc, char **argv, options *o) {
        static const struct option long_options[] = {
                {"from", required_argument, NULL, 'f'},
                {"count", required_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        optind = 1;
        for (int opt; (opt = getopt_long(argc, argv, "f:n:h", long_options, NULL)) != -1;) {
                switch (opt) {
                case 'f':
                        if (parse_from(optarg, &o->from) < 0)
                                return LK_EXIT_USAGE;
                        break;
                case 'n':
                        if (parse_count(optarg, &o->count) < 0)
                                return LK_EXIT_USAGE;
                        break;
                case 'h': fputs(cron_usage, stdout); return LK_EXIT_USAGE;
                default: fputs(cron_usage, stderr); return LK_EXIT_USAGE;
                }
        }
        if (optind != argc - 1) {
                fputs(cron_usage, stderr);
                return LK_EXIT_USAGE;
        }
        o->schedule = argv[optind];
        return LK_EXIT_OK;
}

static void print_time(int64_t t) {
        char buf[28];
        lk_time_format_rfc3339(buf, t * LK_USEC_PER_SEC);
        /* Fire times are whole seconds: drop the ".000000". */
        char *dot = strchr(buf, '.');
        if (dot)
                strcpy(dot, "Z");
        puts(buf);
}

static int cron_next(int argc, char **argv) {
        options o = {NULL, lk_now_realtime() / LK_USEC_PER_SEC, DEFAULT_COUNT};
        int status = parse_arguments(argc, argv, &o);
        if (status != LK_EXIT_OK)
                return status;
        if (o.from < LK_CRON_MIN_TIME || o.from > LK_CRON_MAX_TIME) {
                fprintf(stderr, "linkd: --from: out of range (years 1 to 9989)\n");
                return LK_EXIT_USAGE;
        }
        lk_cron *cron = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_cron_parse(o.schedule, &cron, &err) < 0) {
                fprintf(stderr, "linkd: %s\n", err.msg);
                return LK_EXIT_USAGE;
        }
        int64_t t = o.from;
        for (long i = 0; i < o.count; i++) {
                t = lk_cron_next(cron, t);
                if (t == LK_CRON_NONE) {
                        fprintf(stderr, "linkd: the schedule does not fire again\n");
                        break;
                }
                print_time(t);
        }
        lk_cron_free(cron);
        return LK_EXIT_OK;
}

int lk_cmd_cron(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "next") == 0)
                return cron_next(argc - 1, argv + 1);
        fputs(cron_usage, stderr);
        return LK_EXIT_USAGE;
}
