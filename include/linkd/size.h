/* Byte sizes as Chainlink's config writes them ("100mb", "4gb", "32768b"):
 * decimal units (kb = 1000 bytes), case-insensitive, optional fraction. */
#ifndef LINKD_SIZE_H
#define LINKD_SIZE_H

#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/err.h"

int lk_size_parse(const char *text, uint64_t *ret_bytes, lk_err *err);

/* Formats as Chainlink's FileSize.MarshalText: "100.00mb", "4.00gb", "512b". */
void lk_size_format(lk_buf *out, uint64_t bytes);

#endif
