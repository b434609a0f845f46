/* UTF-8 as Go's unicode/utf8 package reads and writes it: the JSON codec,
 * the case-mapping tasks and the CBOR decoder must agree on what is valid. */
#ifndef LINKD_UTF8_H
#define LINKD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/buf.h"

/* utf8.DecodeRune: the rune at s (n > 0 bytes available) and its size in
 * *ret_size, or -1 with size 1 for an invalid or truncated sequence,
 * surrogates and overlong forms included. */
int32_t lk_utf8_decode(const unsigned char *s, size_t n, size_t *ret_size);

/* Appends rune r (0..0x10FFFF, not a surrogate) to b. */
void lk_utf8_put(lk_buf *b, int32_t r);

/* utf8.Valid. */
bool lk_utf8_valid(const void *s, size_t n);

#endif
