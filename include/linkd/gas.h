/* What the transaction manager needs to decide about gas and about the
 * errors nodes answer to eth_sendRawTransaction, as Chainlink decides:
 *
 * Bumping: a stuck transaction is sent again with its price raised by
 * BumpPercent, and by at least BumpMin, never above PriceMax; a price
 * already at PriceMax cannot be bumped.  EIP-1559 transactions raise tip
 * and fee cap alike (the fee cap at least as far as the tip).
 *
 * Send errors: the texts geth, its forks and ganache answer, sorted into
 * what the manager does next. */
#ifndef LINKD_GAS_H
#define LINKD_GAS_H

#include <stdint.h>

#include "linkd/err.h"

typedef struct lk_gas_bump_config {
        int64_t bump_percent;
        int64_t bump_min; /* wei */
        int64_t price_max; /* wei */
} lk_gas_bump_config;

/* The bumped legacy gas price; -ERANGE (saying why) when price is
 * already PriceMax or more. */
int lk_gas_bump_price(const lk_gas_bump_config *c, int64_t price, int64_t *ret, lk_err *err);
/* The bumped tip and fee cap of a type-2 transaction, likewise. */
int lk_gas_bump_dynamic(const lk_gas_bump_config *c, int64_t tip, int64_t fee_cap, int64_t *ret_tip,
                        int64_t *ret_fee_cap, lk_err *err);

typedef enum lk_send_error {
        LK_SEND_OK,
        LK_SEND_NONCE_TOO_LOW,              /* this nonce is used: maybe by this very transaction */
        LK_SEND_ALREADY_KNOWN,              /* the node has it: as good as sent */
        LK_SEND_REPLACEMENT_UNDERPRICED,    /* bump more */
        LK_SEND_UNDERPRICED,                /* below the node's minimum: bump */
        LK_SEND_INSUFFICIENT_FUNDS,         /* wait for funds, keep the nonce */
        LK_SEND_FEE_CAP_EXCEEDED,           /* the node's own fee cap: do not bump further */
        LK_SEND_RETRYABLE,                  /* transport trouble, pool full: try again */
        LK_SEND_FATAL,                      /* the transaction can never be accepted */
} lk_send_error;

/* The class of a node's error message (case-insensitive substrings);
 * unknown messages are LK_SEND_RETRYABLE, so that nothing is given up on
 * an error never seen before. */
lk_send_error lk_send_error_classify(const char *message);
const char *lk_send_error_name(lk_send_error e);

#endif
