/* Helpers shared by src/auth (see auth.h). */
#include <ctype.h>
#include <errno.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <string.h>

#include "auth.h"
#include "linkd/hex.h"

#define MAX_EMAIL_LEN 254

int lk__random_hex(char *out, size_t bytes, lk_err *err) {
        unsigned char buf[64];
        int r = lk__random_bytes(buf, bytes);
        if (r < 0)
                return lk_err_set(err, r, "no randomness: %s", strerror(-r));
        lk_hex_encode(out, buf, bytes);
        explicit_bzero(buf, sizeof buf);
        return 0;
}

/* Hex SHA-256 of the parts, joined by ':'. */
void lk__digest_hex(const char *a, const char *b, char out[static 2 * SHA256_DIGEST_SIZE + 1]) {
        struct sha256_ctx ctx;
        unsigned char digest[SHA256_DIGEST_SIZE];
        sha256_init(&ctx);
        sha256_update(&ctx, strlen(a), (const uint8_t *)a);
        if (b) {
                sha256_update(&ctx, 1, (const uint8_t *)":");
                sha256_update(&ctx, strlen(b), (const uint8_t *)b);
        }
        sha256_digest(&ctx, sizeof digest, digest);
        lk_hex_encode(out, digest, sizeof digest);
}

bool lk__valid_email(const char *email) {
        size_t len = strlen(email);
        const char *at = strchr(email, '@');
        if (len == 0 || len > MAX_EMAIL_LEN || !at || at == email || !at[1] || strchr(at + 1, '@'))
                return false;
        for (const char *p = email; *p; p++)
                if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
                        return false;
        return true;
}

int lk__statement_body(lk_db *db, void *arg, lk_err *err) {
        lk__statement *o = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, o->sql, &st, err);
        if (r < 0)
                return r;
        if ((r = o->bind(st, o->arg, err)) >= 0)
                r = lk_stmt_step(st, err);
        o->found = r == 1;
        if (r == 1 && o->row)
                r = o->row(st, o->arg, err);
        o->changes = lk_stmt_changes(st);
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

int lk__statement_run(lk_store *store, lk__statement *o, lk_err *err) {
        return lk_store_tx(store, lk__statement_body, o, err);
}

bool lk__secret_matches(const char *salt, const char *secret, const char *stored, size_t stored_len) {
        char want[2 * SHA256_DIGEST_SIZE + 1];
        lk__digest_hex(salt, secret, want);
        return stored_len == 2 * SHA256_DIGEST_SIZE && memeql_sec(stored, want, stored_len);
}
