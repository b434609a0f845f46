/* Ethereum's Recursive Length Prefix encoding (the yellow paper, appendix
 * B), as transactions and their signing hashes need it.  The decoder is
 * strict like geth's: every length in its shortest form, single bytes
 * below 0x80 never wrapped, integers without leading zeros (checked by
 * lk_rlp_uint), nothing after the outermost item. */
#ifndef LINKD_RLP_H
#define LINKD_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/err.h"

/* ---- encoding ---- */

void lk_rlp_put_bytes(lk_buf *out, const uint8_t *data, size_t len);
/* An unsigned integer in its shortest big-endian form (0 is the empty
 * string). */
void lk_rlp_put_uint(lk_buf *out, uint64_t v);
/* A 256-bit big-endian number, likewise. */
void lk_rlp_put_word(lk_buf *out, const uint8_t word[static 32]);
/* A list: begin returns a mark; the items put after it become the list's
 * payload at end. */
size_t lk_rlp_list_begin(lk_buf *out);
void lk_rlp_list_end(lk_buf *out, size_t mark);

/* ---- decoding ---- */

typedef struct lk_rlp_item {
        bool list;
        const uint8_t *data; /* the payload, borrowed from the input */
        size_t len;
} lk_rlp_item;

/* The one item that is all of in (nothing may follow it). */
int lk_rlp_decode(const uint8_t *in, size_t len, lk_rlp_item *ret, lk_err *err);
/* The next item of a list's payload: *cursor starts as the list itself
 * and shrinks; 1 with an item, 0 at the end, or an error. */
int lk_rlp_next(lk_rlp_item *cursor, lk_rlp_item *ret, lk_err *err);
/* A string item as an integer of at most max_len bytes, canonical (no
 * leading zero byte), right-aligned into out[max_len]. */
int lk_rlp_uint(const lk_rlp_item *item, uint8_t *out, size_t max_len, lk_err *err);

#endif
