/* Password-encrypted keys in the Ethereum v3 keystore format (Web3 Secret
 * Storage), as geth, ethers and Chainlink write them:
 *
 *   derived = scrypt(password, salt, n, r, p, 32)   (or PBKDF2-HMAC-SHA256)
 *   ciphertext = AES-128-CTR(derived[0..16), iv, secret)
 *   mac = keccak256(derived[16..32) ‖ ciphertext)
 *
 * linkd writes scrypt (libsodium's) with Chainlink's standard n = 2^18,
 * r = 8, p = 1; it reads scrypt and PBKDF2 files, with bounds on their cost
 * parameters so that a hostile file cannot make it allocate or spin
 * without end. */
#ifndef LINKD_KEYFILE_H
#define LINKD_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "linkd/err.h"
#include "linkd/secp256k1.h"

typedef struct lk_scrypt_params {
        uint64_t n;
        uint32_t r, p;
} lk_scrypt_params;

#define LK_SCRYPT_STANDARD ((lk_scrypt_params){262144, 8, 1})

/* The "crypto" object for secret (a new reference): a fresh salt and iv
 * from random (NULL: the kernel). */
int lk_keyfile_encrypt(const uint8_t secret[static 32], const char *password, lk_scrypt_params params,
                       const lk_random *random, json_t **ret_crypto, lk_err *err);
/* The secret in a "crypto" object; -EACCES for a wrong password (the MAC
 * does not match), -EINVAL naming the field for anything malformed. */
int lk_keyfile_decrypt(const json_t *crypto, const char *password, uint8_t ret_secret[static 32], lk_err *err);
/* The "crypto" (or geth's older "Crypto") member of a key file. */
const json_t *lk_keyfile_crypto(const json_t *file);

#endif
