/* libFuzzer target for the TOML parser.
 *
 * Feeds arbitrary bytes to lk_toml_parse.  When they parse, every value
 * of the tree is read, so that a dangling pointer, a wrong length or an
 * unterminated string in the result shows up under ASan, and the tree's
 * invariants (depth bound, NUL terminators, sane positions) are checked. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/toml.h"

#define MAX_DEPTH 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the walk's checksum goes, so that its reads are not optimised out. */
static volatile size_t sink;

static void check(bool ok) {
        if (!ok)
                abort();
}

static void check_pos(lk_toml_pos pos, size_t size) {
        check(pos.line >= 1 && pos.column >= 1);
        check(pos.line <= size + 1 && pos.column <= size + 1);
}

/* Reads every byte the tree points at and sums it up. */
static size_t walk(const lk_toml_value *v, size_t size, int depth) {
        size_t sum = (size_t)v->type;
        check(depth <= MAX_DEPTH);
        check_pos(v->pos, size);
        switch (v->type) {
        case LK_TOML_STRING:
                check(v->u.string.ptr[v->u.string.len] == '\0');
                for (size_t i = 0; i < v->u.string.len; i++)
                        sum += (unsigned char)v->u.string.ptr[i];
                break;
        case LK_TOML_ARRAY:
                for (size_t i = 0; i < v->u.array.len; i++)
                        sum += walk(v->u.array.items[i], size, depth + 1);
                break;
        case LK_TOML_TABLE:
                for (size_t i = 0; i < v->u.table.len; i++) {
                        const lk_toml_kv *kv = &v->u.table.items[i];
                        check(kv->key[kv->key_len] == '\0');
                        check_pos(kv->key_pos, size);
                        sum += strnlen(kv->key, kv->key_len) + walk(kv->value, size, depth + 1);
                        bool has_nul = memchr(kv->key, 0, kv->key_len) != NULL;
                        check(has_nul || lk_toml_table_get(v, kv->key) != NULL);
                }
                break;
        default:
                sum += (size_t)v->u.integer;
                check(strcmp(lk_toml_type_name(v->type), "unknown") != 0);
                break;
        }
        return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        lk_toml_value *root = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_toml_parse((const char *)data, size, &root, &err) == 0) {
                check(root->type == LK_TOML_TABLE);
                sink = walk(root, size, 0);
                lk_toml_free(root);
        } else {
                check(err.code < 0 && err.msg[0] != '\0');
                check_pos((lk_toml_pos){err.line, err.column}, size);
                check(root == NULL);
        }
        return 0;
}
