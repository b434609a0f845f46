/* lk_buf: a growable byte buffer, always NUL-terminated, for building text
 * (JSON, Prometheus exposition, log lines, TOML output). */
#ifndef LINKD_BUF_H
#define LINKD_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "linkd/err.h"

typedef struct lk_buf {
        char *data;  /* NUL-terminated; NULL until the first append */
        size_t len;
        size_t cap;
} lk_buf;

#define LK_BUF_INIT {NULL, 0, 0}

void lk_buf_append(lk_buf *b, const void *data, size_t len);
void lk_buf_puts(lk_buf *b, const char *s);
void lk_buf_putc(lk_buf *b, char c);
void lk_buf_printf(lk_buf *b, const char *fmt, ...) LK_PRINTF(2, 3);
void lk_buf_vprintf(lk_buf *b, const char *fmt, va_list ap) LK_PRINTF(2, 0);
/* Appends s as the body of a JSON string (no surrounding quotes). */
void lk_buf_put_json_escaped(lk_buf *b, const char *s, size_t len);
/* s as a JSON string, quotes included; NULL as null. */
void lk_buf_put_json_string(lk_buf *b, const char *s);
/* Appends the lowercase hex of bytes[0..len), no prefix. */
void lk_buf_put_hex(lk_buf *b, const unsigned char *bytes, size_t len);
void lk_buf_reset(lk_buf *b);   /* empties, keeps capacity */
void lk_buf_done(lk_buf *b);    /* frees the contents */
/* Hands the contents to the caller (free with lk_free; "" if empty, never
 * NULL) and leaves b empty. */
char *lk_buf_steal(lk_buf *b, size_t *ret_len);
/* The contents, "" when empty. */
static inline const char *lk_buf_str(const lk_buf *b) {
        return b->data ? b->data : "";
}

#endif
