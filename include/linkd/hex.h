/* Hexadecimal digits, shared by every parser and encoder that meets them
 * (TOML escapes, PostgreSQL bytea, key files, the EVM's 0x values). */
#ifndef LINKD_HEX_H
#define LINKD_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1. */
static inline int lk_hex_digit(int c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Writes the lowercase hex of bytes[0..len) and a NUL to out, which has
 * room for 2·len + 1 chars. */
static inline void lk_hex_encode(char *out, const uint8_t *bytes, size_t len) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[bytes[i] >> 4];
                out[2 * i + 1] = digits[bytes[i] & 15];
        }
        out[2 * len] = '\0';
}

#endif
