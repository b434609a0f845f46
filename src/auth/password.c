/* Roles and passwords (see include/linkd/auth.h).  Argon2id from
 * libargon2 with OWASP's minimum parameters for it (19 MiB, 2 passes,
 * 1 lane): a login costs tens of milliseconds, a guess as much. */
#include <argon2.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "linkd/alloc.h"

#define ARGON2_PASSES 2
#define ARGON2_MEMORY_KIB 19456
#define ARGON2_LANES 1
#define SALT_LEN 16
#define HASH_LEN 32

static const char *const role_names[] = {"view", "run", "edit", "admin"};

int lk_role_parse(const char *name, lk_role *ret_role, lk_err *err) {
        for (size_t i = 0; i < sizeof role_names / sizeof *role_names; i++)
                if (name && strcmp(name, role_names[i]) == 0) {
                        *ret_role = (lk_role)i;
                        return 0;
                }
        return lk_err_set(err, -EINVAL, "invalid role \"%s\": use admin, edit, run or view", name ? name : "");
}

const char *lk_role_name(lk_role role) {
        return (unsigned)role < sizeof role_names / sizeof *role_names ? role_names[role] : "view";
}

int lk_password_check(const char *password, const char *email, lk_err *err) {
        size_t len = strlen(password);
        if (len < LK_PASSWORD_MIN_LEN)
                return lk_err_set(err, -EINVAL, "password must be at least %d characters long", LK_PASSWORD_MIN_LEN);
        if (len > LK_PASSWORD_MAX_LEN)
                return lk_err_set(err, -EINVAL, "password must be at most %d characters long", LK_PASSWORD_MAX_LEN);
        size_t local = email ? strcspn(email, "@") : 0;
        if (local >= 3 && memmem(password, len, email, local))
                return lk_err_set(err, -EINVAL, "password must not contain the email's name");
        return 0;
}

int lk__random_bytes(void *out, size_t len) {
        unsigned char *p = out;
        while (len > 0) {
                ssize_t n = getrandom(p, len, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int lk_password_hash(const char *password, char **ret_encoded, lk_err *err) {
        unsigned char salt[SALT_LEN];
        int r = lk__random_bytes(salt, sizeof salt);
        if (r < 0)
                return lk_err_set(err, r, "cannot hash the password: no randomness: %s", strerror(-r));
        size_t len = argon2_encodedlen(ARGON2_PASSES, ARGON2_MEMORY_KIB, ARGON2_LANES, SALT_LEN, HASH_LEN, Argon2_id);
        char *encoded = lk_malloc(len);
        int code = argon2id_hash_encoded(ARGON2_PASSES, ARGON2_MEMORY_KIB, ARGON2_LANES, password, strlen(password),
                                         salt, sizeof salt, HASH_LEN, encoded, len);
        explicit_bzero(salt, sizeof salt);
        if (code != ARGON2_OK) {
                lk_free(encoded);
                return lk_err_set(err, code == ARGON2_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EIO,
                                  "cannot hash the password: %s", argon2_error_message(code));
        }
        *ret_encoded = encoded;
        return 0;
}

int lk_password_verify(const char *encoded, const char *password) {
        if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0)
                return -EINVAL;
        /* argon2_verify compares the digests in constant time. */
        switch (argon2id_verify(encoded, password, strlen(password))) {
        case ARGON2_OK: return 0;
        case ARGON2_VERIFY_MISMATCH: return -EACCES;
        default: return -EINVAL;
        }
}
