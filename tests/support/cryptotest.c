/* See cryptotest.h. */
#include "cryptotest.h"

#include <string.h>

#include "linkd/keccak.h"

static void refill(lktest_stream *s) {
        uint8_t input[16];
        for (int i = 0; i < 8; i++) {
                input[i] = (uint8_t)(s->seed >> (56 - 8 * i));
                input[8 + i] = (uint8_t)(s->block >> (56 - 8 * i));
        }
        lk_keccak256(input, sizeof input, s->buf);
        s->block++;
        s->left = sizeof s->buf;
}

static int fill(void *arg, uint8_t *out, size_t len) {
        lktest_stream *s = arg;
        while (len) {
                if (!s->left)
                        refill(s);
                size_t n = len < s->left ? len : s->left;
                memcpy(out, s->buf + sizeof s->buf - s->left, n);
                s->left -= n;
                out += n;
                len -= n;
        }
        return 0;
}

const lk_random *lktest_stream_init(lktest_stream *s, uint64_t seed) {
        *s = (lktest_stream){.seed = seed, .random = {fill, s}};
        return &s->random;
}
