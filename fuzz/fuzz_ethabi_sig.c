/* libFuzzer target for the ABI descriptions of the ETH ABI tasks
 * (src/pipeline/ethabi.c): what a job spec's author writes into abi=.
 *
 * The first byte chooses the reader (a signature, an event signature with
 * "indexed", an argument list, ethabiencode2's JSON method), the rest is
 * the text.  A rejection must come with a message and no description.  A
 * description must hold together: one argument per component of its
 * tuple, each argument's type that component, the arguments not indexed
 * those of its data tuple, the names of every tuple's components as many
 * as the tuple has, its print parsing back to the same print, and its
 * selector computable. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/buf.h"
#include "pipeline/ethabi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

/* The fields mirror the type: arrays pass through to their elements,
 * tuples name each component. */
static void check_fields(const lk_abi_type *t, const lk__ethabi_fields *f) {
        while (t->kind == LK_ABI_ARRAY || t->kind == LK_ABI_FIXED_ARRAY)
                t = t->elem;
        if (t->kind != LK_ABI_TUPLE) {
                check(f == NULL);
                return;
        }
        check(f != NULL && f->count == t->size);
        for (size_t i = 0; i < f->count; i++) {
                check(f->names[i] != NULL);
                check_fields(t->fields[i], f->inner[i]);
        }
}

static void check_description(const lk__ethabi *abi, int mode) {
        check(abi->tuple->kind == LK_ABI_TUPLE && abi->tuple->size == abi->count);
        size_t data_args = 0;
        for (size_t i = 0; i < abi->count; i++) {
                const lk__ethabi_arg *a = &abi->args[i];
                check(a->type == abi->tuple->fields[i] && a->name != NULL);
                check(mode == 3 || a->name[0] != '\0');
                check(!a->indexed || mode == 1 || mode == 3);
                data_args += !a->indexed;
                check_fields(a->type, a->fields);
        }
        check(abi->data_tuple->size == data_args);
        lk_buf text = LK_BUF_INIT, again = LK_BUF_INIT;
        lk_abi_type_format(abi->tuple, &text);
        lk_abi_type *t2 = NULL;
        check(lk_abi_types_parse(text.data + 1, text.len - 2, &t2, NULL) == 0);
        lk_abi_type_format(t2, &again);
        check(again.len == text.len && memcmp(again.data, text.data, text.len) == 0);
        uint8_t selector[4];
        lk__ethabi_selector(abi, selector);
        lk_abi_type_free(t2);
        lk_buf_done(&text);
        lk_buf_done(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size == 0)
                return 0;
        int mode = data[0] % 4;
        const char *text = (const char *)data + 1;
        size_t len = size - 1;
        lk__ethabi *abi = NULL;
        lk_err err = LK_ERR_INIT;
        int r = mode == 0   ? lk__ethabi_parse_signature(text, len, false, &abi, &err)
                : mode == 1 ? lk__ethabi_parse_signature(text, len, true, &abi, &err)
                : mode == 2 ? lk__ethabi_parse_list(text, len, &abi, &err)
                            : lk__ethabi_parse_method(text, len, &abi, &err);
        if (r < 0) {
                check(err.msg[0] != '\0' && abi == NULL);
                return 0;
        }
        check_description(abi, mode);
        lk__ethabi_free(abi);
        return 0;
}
