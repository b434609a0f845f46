/* Ethereum transactions linkd sends: legacy ones with EIP-155 replay
 * protection and EIP-1559 (type 2) ones without an access list; their
 * signing hashes, signed raw forms and hashes, and the reverse (decoding a
 * raw transaction and recovering its sender), which the transaction
 * manager uses to check what it finds on chain. */
#ifndef LINKD_TX_H
#define LINKD_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/err.h"
#include "linkd/eth.h"

#define LK_TX_LEGACY 0
#define LK_TX_DYNAMIC_FEE 2

typedef struct lk_tx {
        uint8_t type;
        uint64_t chain_id;
        uint64_t nonce;
        uint64_t gas_limit;
        uint8_t gas_price[32];                /* legacy: wei, big-endian */
        uint8_t max_priority_fee_per_gas[32]; /* type 2 */
        uint8_t max_fee_per_gas[32];          /* type 2 */
        bool has_to;                          /* false: a contract creation */
        uint8_t to[LK_ADDRESS_LEN];
        uint8_t value[32];
        const uint8_t *data; /* borrowed */
        size_t data_len;
} lk_tx;

/* What the key signs. */
void lk_tx_signing_hash(const lk_tx *tx, uint8_t out[static 32]);
/* The signed transaction as it is sent (eth_sendRawTransaction) into
 * raw, and its hash. */
int lk_tx_sign(const lk_tx *tx, const lk_eth_key *key, lk_buf *raw, uint8_t ret_hash[static 32], lk_err *err);
/* A raw signed transaction: its fields (data borrowed from raw), its
 * sender and its hash.  Only the two types above, with empty access
 * lists; -EINVAL saying what is wrong otherwise. */
int lk_tx_decode(const uint8_t *raw, size_t len, lk_tx *ret, uint8_t ret_from[static LK_ADDRESS_LEN],
                 uint8_t ret_hash[static 32], lk_err *err);

#endif
