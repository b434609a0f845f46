/* lk_err: the error value every fallible call can fill in.
 *
 * Functions that can fail return int: 0 on success, a negative errno-style
 * code on failure.  When the caller needs to know why, it passes an lk_err
 * and gets a message (and, for parsers, a 1-based line and column).  Passing
 * NULL is always allowed.  The message is a fixed buffer so that reporting
 * an error never allocates and never fails; overlong messages are truncated
 * with "...". */
#ifndef LINKD_ERR_H
#define LINKD_ERR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LK_ERR_MSG_MAX 1024

typedef struct lk_err {
        int code;        /* negative errno-style code; 0 when no error */
        uint32_t line;   /* 1-based position in the input; 0 = not about an input */
        uint32_t column;
        char msg[LK_ERR_MSG_MAX];
} lk_err;

#define LK_ERR_INIT {0, 0, 0, {0}}

#if defined(__GNUC__)
#define LK_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define LK_PRINTF(fmt_index, first_arg)
#endif

/* Sets err (if not NULL) to code and the formatted message; returns code so
 * that `return lk_err_set(err, -EINVAL, "...")` reads naturally.  code must
 * be negative. */
int lk_err_set(lk_err *err, int code, const char *fmt, ...) LK_PRINTF(3, 4);

/* As lk_err_set, recording the 1-based line and column the error is about. */
int lk_err_set_at(lk_err *err, int code, uint32_t line, uint32_t column, const char *fmt, ...)
        LK_PRINTF(5, 6);

/* Rewrites err's message as "<prefix>: <message>", like Go's errors.Wrap.
 * Returns err->code (0 if err is NULL). */
int lk_err_prefix(lk_err *err, const char *fmt, ...) LK_PRINTF(2, 3);

/* Combines src into dst the way multierr.Combine does: an empty dst takes
 * src; otherwise dst becomes "<dst>; <src>".  A cleared src is ignored.
 * dst keeps its own code and position when it already held an error. */
void lk_err_join(lk_err *dst, const lk_err *src);

void lk_err_clear(lk_err *err);

static inline bool lk_err_is_set(const lk_err *err) {
        return err && err->code != 0;
}

/* The message, or "" for NULL / cleared errors. */
static inline const char *lk_err_msg(const lk_err *err) {
        return err && err->code != 0 ? err->msg : "";
}

#endif
