/* See include/linkd/gas.h.  The message table follows Chainlink's
 * core/chains/evm/client/errors.go (geth and its forks) plus ganache's
 * wording for the same cases. */
#include "linkd/gas.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* max(value·(100 + BumpPercent)/100, value + BumpMin), saturating at
 * INT64_MAX (the callers cap it at PriceMax). */
static int64_t bump(const lk_gas_bump_config *c, int64_t value) {
        int64_t whole, by_percent, by_min;
        if (__builtin_mul_overflow(value / 100, 100 + c->bump_percent, &whole) ||
            __builtin_add_overflow(whole, value % 100 * (100 + c->bump_percent) / 100, &by_percent))
                by_percent = INT64_MAX;
        if (__builtin_add_overflow(value, c->bump_min, &by_min))
                by_min = INT64_MAX;
        return by_percent > by_min ? by_percent : by_min;
}

int lk_gas_bump_price(const lk_gas_bump_config *c, int64_t price, int64_t *ret, lk_err *err) {
        if (price >= c->price_max)
                return lk_err_set(err, -ERANGE,
                                  "gas price %" PRId64 " wei is already at the configured maximum of %" PRId64 " wei",
                                  price, c->price_max);
        int64_t bumped = bump(c, price);
        *ret = bumped < c->price_max ? bumped : c->price_max;
        return 0;
}

int lk_gas_bump_dynamic(const lk_gas_bump_config *c, int64_t tip, int64_t fee_cap, int64_t *ret_tip,
                        int64_t *ret_fee_cap, lk_err *err) {
        if (fee_cap >= c->price_max)
                return lk_err_set(err, -ERANGE,
                                  "fee cap %" PRId64 " wei is already at the configured maximum of %" PRId64 " wei",
                                  fee_cap, c->price_max);
        int64_t new_tip = bump(c, tip), new_cap = bump(c, fee_cap);
        /* the cap must rise at least as far as the tip */
        if (new_cap - fee_cap < new_tip - tip)
                new_cap = fee_cap + (new_tip - tip);
        if (new_cap > c->price_max)
                new_cap = c->price_max;
        if (new_tip > new_cap)
                new_tip = new_cap;
        *ret_tip = new_tip;
        *ret_fee_cap = new_cap;
        return 0;
}

static const struct {
        const char *text;
        lk_send_error class;
} messages[] = {
        {"nonce too low", LK_SEND_NONCE_TOO_LOW},
        {"nonce is too low", LK_SEND_NONCE_TOO_LOW},
        {"the tx doesn't have the correct nonce", LK_SEND_NONCE_TOO_LOW}, /* ganache, for a used nonce */
        {"already known", LK_SEND_ALREADY_KNOWN},
        {"known transaction", LK_SEND_ALREADY_KNOWN},
        {"transaction already imported", LK_SEND_ALREADY_KNOWN},
        {"replacement transaction underpriced", LK_SEND_REPLACEMENT_UNDERPRICED},
        {"replacement fee too low", LK_SEND_REPLACEMENT_UNDERPRICED},
        {"transaction underpriced", LK_SEND_UNDERPRICED},
        {"gas price too low", LK_SEND_UNDERPRICED},
        {"max fee per gas less than block base fee", LK_SEND_UNDERPRICED},
        {"is less than the block's baseFeePerGas", LK_SEND_UNDERPRICED}, /* ganache */
        {"insufficient funds", LK_SEND_INSUFFICIENT_FUNDS},
        {"insufficient balance", LK_SEND_INSUFFICIENT_FUNDS},
        {"exceeds the configured cap", LK_SEND_FEE_CAP_EXCEEDED},
        {"txpool is full", LK_SEND_RETRYABLE},
        {"transaction pool limit reached", LK_SEND_RETRYABLE},
        {"exceeds block gas limit", LK_SEND_FATAL},
        {"intrinsic gas too low", LK_SEND_FATAL},
        {"invalid sender", LK_SEND_FATAL},
        {"oversized data", LK_SEND_FATAL},
        {"tip higher than fee cap", LK_SEND_FATAL},
        {"max priority fee per gas higher than max fee per gas", LK_SEND_FATAL},
        {"only replay-protected", LK_SEND_FATAL},
        {"invalid chain id", LK_SEND_FATAL},
};

lk_send_error lk_send_error_classify(const char *message) {
        if (!message || !*message)
                return LK_SEND_OK;
        for (size_t i = 0; i < sizeof messages / sizeof *messages; i++)
                if (strcasestr(message, messages[i].text))
                        return messages[i].class;
        return LK_SEND_RETRYABLE;
}

const char *lk_send_error_name(lk_send_error e) {
        switch (e) {
        case LK_SEND_OK: return "ok";
        case LK_SEND_NONCE_TOO_LOW: return "nonce too low";
        case LK_SEND_ALREADY_KNOWN: return "already known";
        case LK_SEND_REPLACEMENT_UNDERPRICED: return "replacement underpriced";
        case LK_SEND_UNDERPRICED: return "underpriced";
        case LK_SEND_INSUFFICIENT_FUNDS: return "insufficient funds";
        case LK_SEND_FEE_CAP_EXCEEDED: return "fee cap exceeded";
        case LK_SEND_RETRYABLE: return "retryable";
        case LK_SEND_FATAL: return "fatal";
        }
        return "?";
}
