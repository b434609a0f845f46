/* libFuzzer target for the TZif reader.
 *
 * Parses arbitrary bytes as a zoneinfo file.  A rejection must come with
 * a message naming the file; what parses must answer offsets and local
 * time conversions for any instant without reading out of bounds, and
 * within the bounds a TZif file can express. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

static const int64_t instants[] = {
        INT64_C(-62135596800), INT64_C(-2208988800), INT64_C(0), INT64_C(1678604400),
        INT64_C(1698541200),   INT64_C(2145916800),  INT64_C(253086768000),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        lk_tz *tz = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk__tz_parse(data, size, "fuzz/zone", &tz, &err) < 0) {
                check(err.code == -EINVAL && strstr(err.msg, "fuzz/zone") != NULL);
                check(tz == NULL);
                return 0;
        }
        for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
                int64_t start, end;
                int64_t off = lk_tz_lookup(tz, instants[i], &start, &end);
                check(off >= -7 * 24 * 3600 && off <= 7 * 24 * 3600);
                check(start <= instants[i]);
                lk_civil c;
                lk_tz_civil(tz, instants[i], &c);
                check(c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= 31);
                int64_t back = lk_tz_date(tz, c.year, c.month, c.day, c.hour, c.minute, c.second);
                /* Round trips but for a gap or an overlap, never by more
                 * than the largest offset change. */
                check(back - instants[i] <= 14 * 24 * 3600 && instants[i] - back <= 14 * 24 * 3600);
        }
        lk_tz_free(tz);
        return 0;
}
