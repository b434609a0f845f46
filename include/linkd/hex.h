/* Hexadecimal digits, shared by every parser and encoder that meets them
 * (TOML escapes, PostgreSQL bytea, and the EVM's 0x values to come). */
#ifndef LINKD_HEX_H
#define LINKD_HEX_H

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

#endif
