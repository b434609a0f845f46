/* CBOR to lk_value, as Chainlink's core/cbor package decodes the request
 * parameters of an oracle request (via fxamacker/cbor) and as the
 * cborparse task uses it. */
#ifndef LINKD_PIPELINE_CBOR_H
#define LINKD_PIPELINE_CBOR_H

#include <stdbool.h>
#include <stddef.h>

#include "linkd/err.h"
#include "linkd/value.h"

typedef enum lk_cbor_mode {
        /* "diet": the data is a map whose opening and closing markers may be
         * missing (Chainlink's ParseDietCBOR); map keys must be strings. */
        LK_CBOR_DIET,
        /* "standard": any one CBOR item; empty data is null. */
        LK_CBOR_STANDARD,
} lk_cbor_mode;

/* Decodes the first item of data (trailing bytes are ignored, as
 * Chainlink's decoder does).  Unsigned integers become uint64, negative
 * ones int64 (big integers beyond), bignum tags 2 and 3 big integers,
 * floats float64, byte strings bytes, text strings (valid UTF-8 only)
 * strings, undefined null, other tags {"Number": n, "Content": item}.
 * Nesting deeper than 32 levels is refused.  A new reference in *ret. */
int lk_cbor_parse(const void *data, size_t len, lk_cbor_mode mode, lk_value **ret_value, lk_err *err);

#endif
