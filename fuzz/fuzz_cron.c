/* libFuzzer target for cron schedules.
 *
 * Parses arbitrary text as a cron job's schedule.  A rejection must come
 * with a message; what parses must give fire times that are strictly
 * increasing (each strictly after the instant asked about), whatever the
 * zone, and must do so quickly: lk_cron_next has a bounded search. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

/* Instants around DST changes and year ends, and the range's edges. */
static const int64_t starts[] = {
        INT64_C(1678604400), /* 2023-03-12T07:00:00Z, New York springs forward */
        INT64_C(1698541200), /* 2023-10-29T01:00:00Z, Berlin falls back */
        INT64_C(1704067199), /* 2023-12-31T23:59:59Z */
        INT64_C(0),
        LK_CRON_MAX_TIME,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 4096)
                return 0;
        char *text = lk_strndup((const char *)data, size);
        lk_cron *cron = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_cron_parse(text, &cron, &err) < 0) {
                check(err.code == -EINVAL && err.msg[0] != '\0');
                check(cron == NULL);
                lk_free(text);
                return 0;
        }
        for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
                int64_t t = starts[i];
                for (int n = 0; n < 3; n++) {
                        int64_t next = lk_cron_next(cron, t);
                        if (next == LK_CRON_NONE)
                                break;
                        check(next > t);
                        t = next;
                }
        }
        lk_cron_free(cron);
        lk_free(text);
        return 0;
}
