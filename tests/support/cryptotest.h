/* A seeded, deterministic source of "random" bytes for tests only: the
 * keccak256 of (seed ‖ block counter), block after block.  Kyber's
 * cryptotest.NewStream plays this part in Chainlink; like it, it lives
 * with the tests and is never linked into linkd itself. */
#ifndef LINKD_TEST_CRYPTOTEST_H
#define LINKD_TEST_CRYPTOTEST_H

#include <stdint.h>

#include "linkd/dkg.h"
#include "linkd/secp256k1.h"

typedef struct lktest_stream {
        uint64_t seed, block;
        uint8_t buf[32];
        size_t left;
        lk_random random; /* points back at this stream */
} lktest_stream;

/* Sets s up and returns its lk_random. */
const lk_random *lktest_stream_init(lktest_stream *s, uint64_t seed);

/* Runs a Pedersen DKG among n participants in process (every deal to
 * every participant, complaints settled by leaving bad dealers out) and
 * fills ret[0..n) with their key shares (lk_dist_key_share_done each).
 * cheater < n deals a wrong share to one participant and ends up outside
 * the qualified set; pass n for none.  Returns how many dealers qualified. */
size_t lktest_dkg_run(size_t n, size_t t, const lk_random *random, size_t cheater, lk_dist_key_share *ret);

#endif
