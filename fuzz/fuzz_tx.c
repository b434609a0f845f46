/* libFuzzer target for RLP and raw transactions (what an RPC node hands
 * back from eth_getTransactionByHash, or what linkd finds it sent).
 *
 * Every input goes to lk_tx_decode and, walked item by item, to the RLP
 * decoder; a rejection must come with a message, and a decoded list's
 * items must lie inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "linkd/rlp.h"
#include "linkd/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

/* Walks an item's tree, at most depth deep. */
static void walk(lk_rlp_item item, const uint8_t *lo, const uint8_t *hi, int depth) {
        check(item.data >= lo && item.data + item.len <= hi);
        if (!item.list || depth == 0)
                return;
        lk_rlp_item child;
        lk_err err = LK_ERR_INIT;
        int r;
        while ((r = lk_rlp_next(&item, &child, &err)) == 1)
                walk(child, lo, hi, depth - 1);
        check(r == 0 || err.msg[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        lk_tx tx;
        uint8_t from[LK_ADDRESS_LEN], hash[32];
        lk_err err = LK_ERR_INIT;
        if (lk_tx_decode(data, size, &tx, from, hash, &err) < 0)
                check(err.msg[0] != '\0');
        else
                check(tx.data_len == 0 || (tx.data >= data && tx.data + tx.data_len <= data + size));
        lk_rlp_item item;
        lk_err rlp_err = LK_ERR_INIT;
        if (lk_rlp_decode(data, size, &item, &rlp_err) < 0)
                check(rlp_err.msg[0] != '\0');
        else
                walk(item, data, data + size, 64);
        return 0;
}
