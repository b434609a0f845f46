/* lk_err: fixed-buffer error messages (see include/linkd/err.h). */
#include "linkd/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void mark_truncated(lk_err *err, int written) {
        if (written >= LK_ERR_MSG_MAX)
                memcpy(err->msg + LK_ERR_MSG_MAX - 4, "...", 4);
}

LK_PRINTF(5, 0)
static int err_vset(lk_err *err, int code, uint32_t line, uint32_t column, const char *fmt, va_list ap) {
        if (!err)
                return code;
        err->code = code;
        err->line = line;
        err->column = column;
        mark_truncated(err, vsnprintf(err->msg, sizeof err->msg, fmt, ap));
        return code;
}

int lk_err_set(lk_err *err, int code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        err_vset(err, code, 0, 0, fmt, ap);
        va_end(ap);
        return code;
}

int lk_err_set_at(lk_err *err, int code, uint32_t line, uint32_t column, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        err_vset(err, code, line, column, fmt, ap);
        va_end(ap);
        return code;
}

int lk_err_prefix(lk_err *err, const char *fmt, ...) {
        if (!err)
                return 0;
        char prefix[LK_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        char joined[LK_ERR_MSG_MAX];
        int n = err->code ? snprintf(joined, sizeof joined, "%s: %s", prefix, err->msg)
                          : snprintf(joined, sizeof joined, "%s", prefix);
        memcpy(err->msg, joined, sizeof joined);
        mark_truncated(err, n);
        return err->code;
}

void lk_err_join(lk_err *dst, const lk_err *src) {
        if (!dst || !lk_err_is_set(src))
                return;
        if (!dst->code) {
                *dst = *src;
                return;
        }
        size_t used = strlen(dst->msg);
        int n = snprintf(dst->msg + used, sizeof dst->msg - used, "; %s", src->msg);
        mark_truncated(dst, (int)used + n);
}

void lk_err_clear(lk_err *err) {
        if (!err)
                return;
        err->code = 0;
        err->line = 0;
        err->column = 0;
        err->msg[0] = '\0';
}
