/* Ethereum keys and signatures on secp256k1: keys from the kernel's
 * CSPRNG, addresses, recoverable ECDSA (libsecp256k1's recovery module,
 * RFC 6979 nonces, low s), the v values of legacy and EIP-155
 * transactions, and EIP-191 personal messages. */
#ifndef LINKD_ETH_H
#define LINKD_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/secp256k1.h"

#define LK_ETH_SIGNATURE_LEN 65 /* r ‖ s ‖ recovery id (0 or 1) */

typedef struct lk_eth_key {
        lk_scalar secret;
        lk_point public_key;
        uint8_t address[LK_ADDRESS_LEN];
} lk_eth_key;

/* A new key from random (NULL: the kernel). */
int lk_eth_key_generate(lk_eth_key *ret, const lk_random *random, lk_err *err);
/* The key of a 32-byte secret; -EINVAL unless 0 < secret < N. */
int lk_eth_key_from_secret(lk_eth_key *ret, const uint8_t secret[static LK_SCALAR_LEN], lk_err *err);
void lk_eth_key_wipe(lk_eth_key *key);

/* Signs a 32-byte hash: r ‖ s ‖ recovery id. */
int lk_eth_sign(const lk_eth_key *key, const uint8_t hash[static 32], uint8_t ret_signature[static LK_ETH_SIGNATURE_LEN],
                lk_err *err);
/* The address that signed hash.  The last byte of signature may be the
 * recovery id (0, 1) or a legacy v (27, 28); for EIP-155 v values use
 * lk_eth_recovery_id first. */
int lk_eth_recover(const uint8_t hash[static 32], const uint8_t signature[static LK_ETH_SIGNATURE_LEN],
                   uint8_t ret_address[static LK_ADDRESS_LEN], lk_err *err);

/* v of a transaction: 27 + id (legacy), or id + 35 + 2·chain_id (EIP-155). */
uint64_t lk_eth_v_legacy(int recovery_id);
uint64_t lk_eth_v_eip155(int recovery_id, uint64_t chain_id);
/* The recovery id of a v value for chain_id (0: legacy only), or -EINVAL. */
int lk_eth_recovery_id(uint64_t v, uint64_t chain_id);

/* keccak("\x19Ethereum Signed Message:\n" ‖ decimal length ‖ message). */
void lk_eth_personal_hash(const void *message, size_t len, uint8_t out[static 32]);

/* "0x" and the EIP-55 mixed-case hex of address. */
void lk_eth_address_text(const uint8_t address[static LK_ADDRESS_LEN], char out[static 43]);

#endif
