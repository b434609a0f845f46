/* See include/linkd/rlp.h. */
#include "linkd/rlp.h"

#include <errno.h>
#include <string.h>

/* ---- encoding ---- */

static size_t be_len(uint64_t v) {
        size_t n = 0;
        for (; v; v >>= 8)
                n++;
        return n;
}

static void put_be(uint8_t *out, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                out[n - 1 - i] = (uint8_t)(v >> (8 * i));
}

/* The header for a payload of len bytes: base 0x80 (string) or 0xc0 (list). */
static size_t header(uint8_t out[static 9], uint8_t base, size_t len) {
        if (len <= 55) {
                out[0] = (uint8_t)(base + len);
                return 1;
        }
        size_t n = be_len(len);
        out[0] = (uint8_t)(base + 55 + n);
        put_be(out + 1, len, n);
        return 1 + n;
}

void lk_rlp_put_bytes(lk_buf *out, const uint8_t *data, size_t len) {
        if (len == 1 && data[0] < 0x80) {
                lk_buf_append(out, data, 1);
                return;
        }
        uint8_t h[9];
        lk_buf_append(out, h, header(h, 0x80, len));
        lk_buf_append(out, data, len);
}

void lk_rlp_put_uint(lk_buf *out, uint64_t v) {
        uint8_t b[8];
        size_t n = be_len(v);
        put_be(b, v, n);
        lk_rlp_put_bytes(out, b, n);
}

void lk_rlp_put_word(lk_buf *out, const uint8_t word[static 32]) {
        size_t skip = 0;
        while (skip < 32 && word[skip] == 0)
                skip++;
        lk_rlp_put_bytes(out, word + skip, 32 - skip);
}

size_t lk_rlp_list_begin(lk_buf *out) {
        return out->len;
}

void lk_rlp_list_end(lk_buf *out, size_t mark) {
        size_t payload = out->len - mark;
        uint8_t h[9];
        size_t n = header(h, 0xc0, payload);
        lk_buf_append(out, h, n); /* grow by n, then shift the payload up */
        uint8_t *base = (uint8_t *)out->data + mark;
        memmove(base + n, base, payload);
        memcpy(base, h, n);
}

/* ---- decoding ---- */

/* The item at the start of in: its kind and payload, and its whole size. */
static int item_at(const uint8_t *in, size_t len, lk_rlp_item *ret, size_t *ret_size, lk_err *err) {
        if (len == 0)
                return lk_err_set(err, -EINVAL, "rlp: input ends where an item should start");
        uint8_t b = in[0];
        if (b < 0x80) {
                *ret = (lk_rlp_item){false, in, 1};
                *ret_size = 1;
                return 0;
        }
        bool list = b >= 0xc0;
        uint8_t base = list ? 0xc0 : 0x80;
        size_t head, payload;
        if (b - base <= 55) {
                head = 1;
                payload = (size_t)(b - base);
                if (!list && payload == 1 && (len < 2 || in[1] < 0x80))
                        return lk_err_set(err, -EINVAL, len < 2 ? "rlp: value size exceeds available input length"
                                                                : "rlp: non-canonical size information");
        } else {
                size_t n = (size_t)(b - base - 55);
                if (len < 1 + n)
                        return lk_err_set(err, -EINVAL, "rlp: value size exceeds available input length");
                if (in[1] == 0)
                        return lk_err_set(err, -EINVAL, "rlp: non-canonical size information");
                payload = 0;
                for (size_t i = 0; i < n; i++) {
                        if (payload > (SIZE_MAX >> 8))
                                return lk_err_set(err, -EINVAL, "rlp: value too large");
                        payload = payload << 8 | in[1 + i];
                }
                if (payload <= 55)
                        return lk_err_set(err, -EINVAL, "rlp: non-canonical size information");
                head = 1 + n;
        }
        if (payload > len - head)
                return lk_err_set(err, -EINVAL, "rlp: value size exceeds available input length");
        *ret = (lk_rlp_item){list, in + head, payload};
        *ret_size = head + payload;
        return 0;
}

int lk_rlp_decode(const uint8_t *in, size_t len, lk_rlp_item *ret, lk_err *err) {
        size_t size;
        int r = item_at(in, len, ret, &size, err);
        if (r < 0)
                return r;
        if (size != len)
                return lk_err_set(err, -EINVAL, "rlp: input contains more than one value");
        return 0;
}

int lk_rlp_next(lk_rlp_item *cursor, lk_rlp_item *ret, lk_err *err) {
        if (cursor->len == 0)
                return 0;
        size_t size;
        int r = item_at(cursor->data, cursor->len, ret, &size, err);
        if (r < 0)
                return r;
        cursor->data += size;
        cursor->len -= size;
        return 1;
}

int lk_rlp_uint(const lk_rlp_item *item, uint8_t *out, size_t max_len, lk_err *err) {
        if (item->list)
                return lk_err_set(err, -EINVAL, "rlp: expected a string, got a list");
        if (item->len > max_len)
                return lk_err_set(err, -EINVAL, "rlp: integer wider than %zu bytes", max_len);
        if (item->len > 0 && item->data[0] == 0)
                return lk_err_set(err, -EINVAL, "rlp: non-canonical integer (leading zero bytes)");
        memset(out, 0, max_len);
        memcpy(out + max_len - item->len, item->data, item->len);
        return 0;
}
