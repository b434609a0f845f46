/* Hexadecimal digits, shared by every parser and encoder that meets them
 * (TOML escapes, PostgreSQL bytea, key files, the EVM's 0x values). */
#ifndef LINKD_HEX_H
#define LINKD_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* Whether text is "0x" (or "0X") and exactly 2·len hex digits (either
 * case); their bytes into out when it is. */
static inline bool lk_hex_decode_prefixed(const char *text, uint8_t *out, size_t len) {
        if (strlen(text) != 2 + 2 * len || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
                return false;
        for (size_t i = 0; i < len; i++) {
                int hi = lk_hex_digit(text[2 + 2 * i]), lo = lk_hex_digit(text[3 + 2 * i]);
                if (hi < 0 || lo < 0)
                        return false;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return true;
}

#endif
