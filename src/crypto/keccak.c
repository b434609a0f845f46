/* See include/linkd/keccak.h. */
#include "linkd/keccak.h"

#include <string.h>

/* Lanes are little-endian: a byte-wise load the compiler turns into one
 * move on little-endian machines, so absorbing costs what Nettle's own
 * SHA-3 absorbing costs and the permutation dominates. */
static uint64_t load_le64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

static void absorb(struct sha3_state *state, const uint8_t *block) {
        for (size_t i = 0; i < LK_KECCAK256_RATE / 8; i++)
                state->a[i] ^= load_le64(block + 8 * i);
        sha3_permute(state);
}

void lk_keccak_init(lk_keccak *k) {
        memset(&k->state, 0, sizeof k->state);
        k->filled = 0;
}

void lk_keccak_update(lk_keccak *k, const void *data, size_t len) {
        const uint8_t *p = data;
        if (k->filled) {
                size_t n = LK_KECCAK256_RATE - k->filled;
                if (n > len)
                        n = len;
                memcpy(k->block + k->filled, p, n);
                k->filled += n;
                p += n;
                len -= n;
                if (k->filled < LK_KECCAK256_RATE)
                        return;
                absorb(&k->state, k->block);
                k->filled = 0;
        }
        for (; len >= LK_KECCAK256_RATE; p += LK_KECCAK256_RATE, len -= LK_KECCAK256_RATE)
                absorb(&k->state, p);
        memcpy(k->block, p, len);
        k->filled = len;
}

void lk_keccak_final(lk_keccak *k, uint8_t out[static LK_KECCAK256_LEN]) {
        memset(k->block + k->filled, 0, LK_KECCAK256_RATE - k->filled);
        k->block[k->filled] ^= 0x01;
        k->block[LK_KECCAK256_RATE - 1] ^= 0x80;
        absorb(&k->state, k->block);
        for (size_t i = 0; i < LK_KECCAK256_LEN; i++)
                out[i] = (uint8_t)(k->state.a[i / 8] >> (8 * (i % 8)));
        lk_keccak_init(k);
}

void lk_keccak256(const void *data, size_t len, uint8_t out[static LK_KECCAK256_LEN]) {
        lk_keccak k;
        lk_keccak_init(&k);
        lk_keccak_update(&k, data, len);
        lk_keccak_final(&k, out);
}
