/* A seeded, deterministic source of "random" bytes for tests only: the
 * keccak256 of (seed ‖ block counter), block after block.  Kyber's
 * cryptotest.NewStream plays this part in Chainlink; like it, it lives
 * with the tests and is never linked into linkd itself. */
#ifndef LINKD_TEST_CRYPTOTEST_H
#define LINKD_TEST_CRYPTOTEST_H

#include <stdint.h>

#include "linkd/secp256k1.h"

typedef struct lktest_stream {
        uint64_t seed, block;
        uint8_t buf[32];
        size_t left;
        lk_random random; /* points back at this stream */
} lktest_stream;

/* Sets s up and returns its lk_random. */
const lk_random *lktest_stream_init(lktest_stream *s, uint64_t seed);

#endif
