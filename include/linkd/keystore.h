/* The node's keys in its database (table keys): VRF keys and
 * Ethereum (transaction-signing) keys, each secret
 * encrypted with the node's password as an Ethereum v3 key file's "crypto"
 * object (crypto/keyfile).  One password opens all of a node's keys: a
 * create or import with another password is refused.
 *
 * VRF keys are named by their public key's 33-byte form (0x hex, as
 * Chainlink's key ids); they are exported in Chainlink's format
 *   {"PublicKey": "0x<33-byte form>",
 *    "vrf_key": {"address": "<40 hex>", "crypto": {...}, "version": 3}}
 * encrypted with a password of the operator's choosing, and imported from
 * it.  Ethereum keys are named by their EIP-55 address and exported as
 * geth's v3 key files ({"address", "crypto", "id", "version": 3}); geth's
 * and ethers' files import. */
#ifndef LINKD_KEYSTORE_H
#define LINKD_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/eth.h"
#include "linkd/keyfile.h"
#include "linkd/secp256k1.h"
#include "linkd/store.h"
#include "linkd/time.h"

#define LK_VRF_KEY_ID_LEN (2 + 2 * LK_POINT_SHORT_LEN)

typedef struct lk_vrf_key_info {
        char id[LK_VRF_KEY_ID_LEN + 1];
        lk_point public_key;
        lk_usec created_at;
} lk_vrf_key_info;

/* Options every call that encrypts takes. */
typedef struct lk_keystore_options {
        const char *password;    /* the node's */
        lk_scrypt_params scrypt; /* for what is written; {0} means LK_SCRYPT_STANDARD */
        const lk_random *random; /* NULL: the kernel */
} lk_keystore_options;

int lk_keystore_vrf_create(lk_store *store, const lk_keystore_options *options, lk_vrf_key_info *ret, lk_err *err);
/* Every VRF key, oldest first (lk_free the array). */
int lk_keystore_vrf_list(lk_store *store, lk_vrf_key_info **ret, size_t *ret_count, lk_err *err);
/* The secret of key id; -ENOENT for an unknown id, -EACCES for a wrong password. */
int lk_keystore_vrf_secret(lk_store *store, const char *id, const char *password, lk_scalar *ret, lk_err *err);
/* Key id in Chainlink's export format, encrypted with export_password
 * (options->password opens it); lk_free the text. */
int lk_keystore_vrf_export(lk_store *store, const char *id, const lk_keystore_options *options,
                           const char *export_password, char **ret_json, lk_err *err);
/* Imports an exported key opened by file_password; -EEXIST when the node
 * has it already. */
int lk_keystore_vrf_import(lk_store *store, const char *json, size_t len, const char *file_password,
                           const lk_keystore_options *options, lk_vrf_key_info *ret, lk_err *err);

/* ---- Ethereum keys ---- */

typedef struct lk_eth_key_info {
        char address[43]; /* EIP-55 */
        lk_usec created_at;
} lk_eth_key_info;

int lk_keystore_eth_create(lk_store *store, const lk_keystore_options *options, lk_eth_key_info *ret, lk_err *err);
int lk_keystore_eth_list(lk_store *store, lk_eth_key_info **ret, size_t *ret_count, lk_err *err);
/* The key of address (any case); -ENOENT, -EACCES as lk_keystore_vrf_secret. */
int lk_keystore_eth_key(lk_store *store, const char *address, const char *password, lk_eth_key *ret, lk_err *err);
int lk_keystore_eth_export(lk_store *store, const char *address, const lk_keystore_options *options,
                           const char *export_password, char **ret_json, lk_err *err);
/* A geth, ethers or linkd key file; its "address", when present, must be
 * the key's. */
int lk_keystore_eth_import(lk_store *store, const char *json, size_t len, const char *file_password,
                           const lk_keystore_options *options, lk_eth_key_info *ret, lk_err *err);
/* Deletes the key, once password shows it is the node's. */
int lk_keystore_eth_delete(lk_store *store, const char *address, const char *password, lk_err *err);

#endif
