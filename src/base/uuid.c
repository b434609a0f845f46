#include "linkd/uuid.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

/* Per thread, so no lock; linkd does not fork after starting threads, so
 * no two processes share a buffer's contents. */
static _Thread_local unsigned char pool[4096];
static _Thread_local size_t pool_left;

static int random_bytes(unsigned char *out, size_t n) {
        if (pool_left < n) {
                size_t got = 0;
                while (got < sizeof pool) {
                        ssize_t r = getrandom(pool + got, sizeof pool - got, 0);
                        if (r < 0) {
                                if (errno == EINTR)
                                        continue;
                                return -errno;
                        }
                        got += (size_t)r;
                }
                pool_left = sizeof pool;
        }
        memcpy(out, pool + sizeof pool - pool_left, n);
        memset(pool + sizeof pool - pool_left, 0, n); /* used bytes do not linger */
        pool_left -= n;
        return 0;
}

/* By hand: every task run of every run takes one, and snprintf's sixteen
 * %02x cost more than the rest of a cron firing. */
static void format(char out[static 37], const unsigned char b[static 16]) {
        static const char digits[] = "0123456789abcdef";
        char *p = out;
        for (int i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *p++ = '-';
                *p++ = digits[b[i] >> 4];
                *p++ = digits[b[i] & 15];
        }
        *p = '\0';
}

int lk_uuid_v4(char out[static 37]) {
        unsigned char b[16];
        int r = random_bytes(b, sizeof b);
        if (r < 0)
                return r;
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        format(out, b);
        return 0;
}

int lk_uuid_v7(char out[static 37], int64_t unix_ms) {
        unsigned char b[16];
        int r = random_bytes(b + 6, 10);
        if (r < 0)
                return r;
        uint64_t ms = (uint64_t)unix_ms;
        for (int i = 0; i < 6; i++)
                b[i] = (unsigned char)(ms >> (40 - 8 * i));
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        format(out, b);
        return 0;
}
