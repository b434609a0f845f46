/* Byte sizes with Chainlink's spelling: decimal units b, kb, mb, gb, tb. */
#include "linkd/size.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

static const struct {
        const char *name;
        uint64_t bytes;
} size_units[] = {
        {"tb", UINT64_C(1000000000000)},
        {"gb", UINT64_C(1000000000)},
        {"mb", UINT64_C(1000000)},
        {"kb", UINT64_C(1000)},
        {"b", 1},
        {"", 1},
};

int lk_size_parse(const char *text, uint64_t *ret_bytes, lk_err *err) {
        const char *s = text;
        while (isspace((unsigned char)*s))
                s++;
        uint64_t whole = 0, frac = 0, scale = 1;
        const char *digits = s;
        for (; isdigit((unsigned char)*s); s++) {
                if (whole > (UINT64_MAX - 9) / 10)
                        return lk_err_set(err, -ERANGE, "invalid size \"%s\": too large", text);
                whole = whole * 10 + (uint64_t)(*s - '0');
        }
        if (s == digits)
                return lk_err_set(err, -EINVAL, "invalid size \"%s\": expected a number with a unit "
                                  "(b, kb, mb, gb, tb)", text);
        if (*s == '.') {
                for (s++; isdigit((unsigned char)*s); s++) {
                        if (scale <= UINT64_MAX / 100) {
                                frac = frac * 10 + (uint64_t)(*s - '0');
                                scale *= 10;
                        }
                }
        }
        size_t unit_len = strlen(s);
        while (unit_len > 0 && isspace((unsigned char)s[unit_len - 1]))
                unit_len--;
        for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++) {
                if (strlen(size_units[i].name) != unit_len || strncasecmp(s, size_units[i].name, unit_len) != 0)
                        continue;
                uint64_t unit = size_units[i].bytes;
                if (whole > UINT64_MAX / unit)
                        return lk_err_set(err, -ERANGE, "invalid size \"%s\": too large", text);
                *ret_bytes = whole * unit + (uint64_t)((long double)frac * unit / scale);
                return 0;
        }
        return lk_err_set(err, -EINVAL, "invalid size \"%s\": unknown unit \"%.*s\" (use b, kb, mb, gb or tb)",
                          text, (int)unit_len, s);
}

void lk_size_format(lk_buf *out, uint64_t bytes) {
        for (size_t i = 0; i < 4; i++) {
                if (bytes >= size_units[i].bytes) {
                        lk_buf_printf(out, "%.2f%s", (double)bytes / (double)size_units[i].bytes,
                                      size_units[i].name);
                        return;
                }
        }
        lk_buf_printf(out, "%" PRIu64 "b", bytes);
}
