#include "linkd/utf8.h"

int32_t lk_utf8_decode(const unsigned char *s, size_t n, size_t *ret_size) {
        unsigned char c = s[0], lo = 0x80, hi = 0xbf;
        size_t need;
        int32_t r;
        *ret_size = 1;
        if (c < 0x80)
                return c;
        if (c >= 0xc2 && c <= 0xdf) {
                need = 2;
                r = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                need = 3;
                r = c & 0x0f;
                lo = c == 0xe0 ? 0xa0 : 0x80; /* overlong */
                hi = c == 0xed ? 0x9f : 0xbf; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
                need = 4;
                r = c & 0x07;
                lo = c == 0xf0 ? 0x90 : 0x80; /* overlong */
                hi = c == 0xf4 ? 0x8f : 0xbf; /* beyond U+10FFFF */
        } else {
                return -1;
        }
        if (n < need || s[1] < lo || s[1] > hi)
                return -1;
        for (size_t i = 1; i < need; i++) {
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return -1;
                r = r << 6 | (s[i] & 0x3f);
        }
        *ret_size = need;
        return r;
}

void lk_utf8_put(lk_buf *b, int32_t r) {
        char s[4];
        size_t n;
        if (r < 0x80) {
                s[0] = (char)r;
                n = 1;
        } else if (r < 0x800) {
                s[0] = (char)(0xc0 | r >> 6);
                s[1] = (char)(0x80 | (r & 0x3f));
                n = 2;
        } else if (r < 0x10000) {
                s[0] = (char)(0xe0 | r >> 12);
                s[1] = (char)(0x80 | (r >> 6 & 0x3f));
                s[2] = (char)(0x80 | (r & 0x3f));
                n = 3;
        } else {
                s[0] = (char)(0xf0 | r >> 18);
                s[1] = (char)(0x80 | (r >> 12 & 0x3f));
                s[2] = (char)(0x80 | (r >> 6 & 0x3f));
                s[3] = (char)(0x80 | (r & 0x3f));
                n = 4;
        }
        lk_buf_append(b, s, n);
}

bool lk_utf8_valid(const void *s, size_t n) {
        const unsigned char *p = s;
        size_t i = 0;
        while (i < n) {
                size_t size;
                if (p[i] < 0x80) {
                        i++;
                        continue;
                }
                if (lk_utf8_decode(p + i, n - i, &size) < 0)
                        return false;
                i += size;
        }
        return true;
}
