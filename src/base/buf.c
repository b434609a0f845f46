/* lk_buf: growable NUL-terminated byte buffer. */
#include "linkd/buf.h"

#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/hex.h"

static void reserve(lk_buf *b, size_t extra) {
        size_t need = b->len + extra + 1;
        if (need <= b->cap)
                return;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap *= 2;
        b->data = lk_realloc(b->data, cap);
        b->cap = cap;
}

void lk_buf_append(lk_buf *b, const void *data, size_t len) {
        reserve(b, len);
        if (len)
                memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
}

void lk_buf_put_hex(lk_buf *b, const unsigned char *bytes, size_t len) {
        reserve(b, 2 * len);
        lk_hex_encode(b->data + b->len, bytes, len);
        b->len += 2 * len;
}

void lk_buf_puts(lk_buf *b, const char *s) {
        lk_buf_append(b, s, strlen(s));
}

void lk_buf_putc(lk_buf *b, char c) {
        lk_buf_append(b, &c, 1);
}

void lk_buf_vprintf(lk_buf *b, const char *fmt, va_list ap) {
        va_list copy;
        va_copy(copy, ap);
        int n = vsnprintf(NULL, 0, fmt, copy);
        va_end(copy);
        if (n <= 0)
                return;
        reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
}

void lk_buf_printf(lk_buf *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        lk_buf_vprintf(b, fmt, ap);
        va_end(ap);
}

void lk_buf_put_json_escaped(lk_buf *b, const char *s, size_t len) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                switch (c) {
                case '"': lk_buf_append(b, "\\\"", 2); break;
                case '\\': lk_buf_append(b, "\\\\", 2); break;
                case '\n': lk_buf_append(b, "\\n", 2); break;
                case '\r': lk_buf_append(b, "\\r", 2); break;
                case '\t': lk_buf_append(b, "\\t", 2); break;
                default:
                        if (c < 0x20 || c == 0x7f) {
                                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                                lk_buf_append(b, esc, sizeof esc);
                        } else {
                                lk_buf_putc(b, (char)c);
                        }
                }
        }
}

void lk_buf_reset(lk_buf *b) {
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

void lk_buf_done(lk_buf *b) {
        lk_free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}

char *lk_buf_steal(lk_buf *b, size_t *ret_len) {
        if (!b->data)
                lk_buf_append(b, "", 0);
        char *s = b->data;
        if (ret_len)
                *ret_len = b->len;
        b->data = NULL;
        b->len = b->cap = 0;
        return s;
}

void lk_buf_put_json_string(lk_buf *b, const char *s) {
        if (!s) {
                lk_buf_puts(b, "null");
                return;
        }
        lk_buf_putc(b, '"');
        lk_buf_put_json_escaped(b, s, strlen(s));
        lk_buf_putc(b, '"');
}
