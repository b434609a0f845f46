/* See cryptotest.h. */
#include "cryptotest.h"

#include <stdio.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"

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

static void must(int r, const lk_err *err) {
        if (r < 0) {
                fprintf(stderr, "lktest_dkg_run: %s\n", err->msg);
                abort();
        }
}

size_t lktest_dkg_run(size_t n, size_t t, const lk_random *random, size_t cheater, lk_dist_key_share *ret) {
        lk_dkg **parties = lk_calloc(n, sizeof *parties);
        bool *qualified = lk_calloc(n, sizeof *qualified);
        lk_err err = LK_ERR_INIT;
        for (size_t i = 0; i < n; i++) {
                must(lk_dkg_new((uint32_t)i, n, t, random, &parties[i], &err), &err);
                qualified[i] = true;
        }
        for (size_t dealer = 0; dealer < n; dealer++)
                for (size_t to = 0; to < n; to++) {
                        lk_dkg_deal deal;
                        lk_dkg_deal_for(parties[dealer], (uint32_t)to, &deal);
                        if (dealer == cheater && to == (cheater + 1) % n)
                                deal.share.b[31] ^= 1;
                        /* a complaint, which the dealer cannot answer with a share
                         * that matches its commitments: it is left out */
                        if (lk_dkg_receive(parties[to], &deal, NULL) < 0)
                                qualified[dealer] = false;
                        lk_scalar_wipe(&deal.share);
                }
        size_t count = 0;
        for (size_t i = 0; i < n; i++)
                count += qualified[i];
        for (size_t i = 0; i < n; i++) {
                must(lk_dkg_finish(parties[i], qualified, &ret[i], &err), &err);
                parties[i] = lk_dkg_free(parties[i]);
        }
        lk_free(parties);
        lk_free(qualified);
        return count;
}
