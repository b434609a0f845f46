/* Keccak-256 as Ethereum uses it (the original Keccak padding 0x01, not
 * NIST SHA3-256's 0x06), on Nettle's Keccak-f[1600] permutation: Nettle
 * 3.8 offers the permutation but hashes only with SHA-3's padding. */
#ifndef LINKD_KECCAK_H
#define LINKD_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha3.h>

#define LK_KECCAK256_LEN 32
#define LK_KECCAK256_RATE 136

typedef struct lk_keccak {
        struct sha3_state state;
        uint8_t block[LK_KECCAK256_RATE];
        size_t filled; /* bytes of block not yet absorbed */
} lk_keccak;

void lk_keccak_init(lk_keccak *k);
void lk_keccak_update(lk_keccak *k, const void *data, size_t len);
/* Writes the digest and leaves k initialised for a new message. */
void lk_keccak_final(lk_keccak *k, uint8_t out[static LK_KECCAK256_LEN]);
/* The digest of one buffer. */
void lk_keccak256(const void *data, size_t len, uint8_t out[static LK_KECCAK256_LEN]);

#endif
