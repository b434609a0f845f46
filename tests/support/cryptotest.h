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

/* A v3 key file written by ethers 6.17 (encryptKeystoreJsonSync, scrypt
 * n = 1024) for secret 7a28b5…fe9d, address 0x008AeEda…786b, password
 * "testpassword". */
#define LKTEST_ETHERS_KEY_FILE \
        "{\"address\":\"008aeeda4d805471df9b2a5b0f38a0c3bcba786b\",\"id\":\"72f004b5-7720-4da5-a64c-dd43bf3c16b6\"," \
        "\"version\":3,\"Crypto\":{\"cipher\":\"aes-128-ctr\",\"cipherparams\":{\"iv\":" \
        "\"f09da81d851e31e4587f7e379ff1f621\"},\"ciphertext\":" \
        "\"8bb09904e68f1025e28f40b511c88438e08e8476782ccdb1faf9596247c75534\",\"kdf\":\"scrypt\",\"kdfparams\":" \
        "{\"salt\":\"a5f06c8647b2b22133e9c890325f493cadefd4ab316c74fcc3e7f8db1e7918cc\",\"n\":1024,\"dklen\":32," \
        "\"p\":1,\"r\":8},\"mac\":\"90a1b9a039cc6485e997f7121c9ec4a1a91237eab86d3c1c0cef54515ba7aa90\"}}"

#endif
