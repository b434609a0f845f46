/* The Solidity contract ABI coder: type strings, and the standard
 * head/tail encoding of values (`abi.encode(...)`) and its decoding.
 *
 * Types: uint<M>/int<M> (M = 8..256, step 8; bare uint/int mean 256),
 * address, bool, bytes<M> (M = 1..32), bytes, string, fixed arrays T[k]
 * (k = 1..LK_ABI_MAX_ARRAY), dynamic arrays T[] and tuples (T1,...,Tn)
 * (n = 1..LK_ABI_MAX_FIELDS), nested at most LK_ABI_MAX_DEPTH deep, no
 * spaces.  A list of types ("uint256,bytes") parses as the tuple of them.
 *
 * Values are lk_values.  Encoding takes: integers as INT64, UINT64,
 * BIGINT or a decimal (optionally negative) or 0x-hex STRING; addresses
 * as a 0x-hex STRING of 20 bytes (either case; the EIP-55 checksum is not
 * checked) or 20 BYTES; bool as BOOL; bytes<M> as M BYTES or a 0x-hex
 * STRING of M bytes; bytes as BYTES or a 0x-hex STRING; string as STRING;
 * arrays and tuples as ARRAY (tuples positional).  Decoding gives, as
 * geth does with Go types: uint<M> up to 64 bits as UINT64, int<M> up to
 * 64 bits as INT64, wider ones as BIGINT; address and bytes<M> and bytes
 * as BYTES; bool as BOOL; string as STRING (its bytes as they are);
 * arrays and tuples as ARRAY.
 *
 * The decoder is strict where geth is: every offset and length lies inside
 * the data, words of address, bool and uint<M> have their high bytes zero,
 * int<M> words are sign-extended, and it is stricter: bytes<M> padding is
 * zero.  It allocates only for what the data holds (a length is checked
 * against the bytes left before anything is made) and its whole output is
 * bounded by a multiple of the input's size, so offsets that share data
 * cannot blow a small input up.  With LK_ABI_CANONICAL it also requires the
 * encoding lk_abi_encode writes: every offset where the previous tail
 * ended, tails of bytes and string zero-padded; then the consumed prefix
 * of the data is exactly what encoding the result gives back. */
#ifndef LINKD_ABI_H
#define LINKD_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/err.h"
#include "linkd/value.h"

#define LK_ABI_MAX_DEPTH 16      /* arrays and tuples inside each other */
#define LK_ABI_MAX_ARRAY 4096    /* k of T[k] */
#define LK_ABI_MAX_FIELDS 256    /* components of a tuple or a type list */
#define LK_ABI_MAX_TEXT 4096     /* bytes of a type string */
#define LK_ABI_MAX_STATIC 65536  /* 32-byte words of a static type */

typedef enum lk_abi_kind {
        LK_ABI_UINT,
        LK_ABI_INT,
        LK_ABI_ADDRESS,
        LK_ABI_BOOL,
        LK_ABI_FIXED_BYTES, /* bytes<M> */
        LK_ABI_BYTES,
        LK_ABI_STRING,
        LK_ABI_FIXED_ARRAY, /* T[k] */
        LK_ABI_ARRAY,       /* T[] */
        LK_ABI_TUPLE,
} lk_abi_kind;

/* A parsed type; read-only once made. */
typedef struct lk_abi_type lk_abi_type;
struct lk_abi_type {
        lk_abi_kind kind;
        /* bits of uint/int, bytes of bytes<M>, k of T[k], components of a tuple */
        size_t size;
        lk_abi_type *elem;    /* arrays */
        lk_abi_type **fields; /* tuples */
        bool dynamic;
        size_t head_words;    /* words in its parent's head: 1 if dynamic */
};

/* One type ("uint8[2][]", "(address,bytes)"). */
int lk_abi_type_parse(const char *text, size_t len, lk_abi_type **ret_type, lk_err *err);
/* A comma-separated list ("uint256,bytes32[]", "" for none) as a tuple. */
int lk_abi_types_parse(const char *text, size_t len, lk_abi_type **ret_tuple, lk_err *err);
/* Accepts NULL; returns NULL. */
lk_abi_type *lk_abi_type_free(lk_abi_type *type);
/* The canonical text ("uint256", "(uint256,bool)[2]"). */
void lk_abi_type_format(const lk_abi_type *type, lk_buf *out);

/* Whether z is a value of the uint<M> or int<M> type t. */
bool lk_abi_int_fits(const lk_abi_type *t, const mpz_t z);

#define LK_ABI_CANONICAL 1u

/* Appends the encoding of values (an ARRAY, one item per component of
 * tuple) to out: abi.encode of the components.  Errors name the argument
 * ("argument 1[2].0: ...").  On error out is left as it was. */
int lk_abi_encode(const lk_abi_type *tuple, const lk_value *values, lk_buf *out, lk_err *err);

/* Decodes data as the components of tuple into an ARRAY.  Data after the
 * encoding is allowed; *ret_consumed (may be NULL) is the end of the
 * furthest byte read. */
int lk_abi_decode(const lk_abi_type *tuple, const uint8_t *data, size_t len, unsigned flags,
                  lk_value **ret_values, size_t *ret_consumed, lk_err *err);

#endif
