/* libFuzzer target for the Solidity ABI decoder (what a contract's call
 * results, logs and oracle requests hand the node).
 *
 * The input is a type list, a NUL, and data (no NUL: all type list, no
 * data).  A type list that parses prints back to a text that parses to the
 * same print (unless the print outgrows LK_ABI_MAX_TEXT).  Decoding must never crash; a rejection must come with a
 * message; what is accepted lies inside the data.  What the canonical
 * decoder accepts the lenient one accepts too, with the same values, and
 * encoding those values gives back exactly the bytes it consumed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/abi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *nul = memchr(data, 0, size);
        size_t type_len = nul ? (size_t)(nul - data) : size;
        const uint8_t *body = nul ? nul + 1 : data + size;
        size_t body_len = size - type_len - (nul ? 1 : 0);

        lk_abi_type *t = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_abi_types_parse((const char *)data, type_len, &t, &err) < 0) {
                check(err.msg[0] != '\0' && t == NULL);
                return 0;
        }
        /* The print of a list is its tuple "(...)": parse its inside again. */
        lk_buf text = LK_BUF_INIT, again = LK_BUF_INIT;
        lk_abi_type_format(t, &text);
        lk_abi_type *t2 = NULL;
        if (text.len - 2 <= LK_ABI_MAX_TEXT) { /* "uint" prints longer */
                check(lk_abi_types_parse(text.data + 1, text.len - 2, &t2, &err) == 0);
                lk_abi_type_format(t2, &again);
                check(again.len == text.len && memcmp(again.data, text.data, text.len) == 0);
        }

        lk_value *lenient = NULL, *canonical = NULL;
        size_t lenient_end = 0, canonical_end = 0;
        lk_err lerr = LK_ERR_INIT, cerr = LK_ERR_INIT;
        int lr = lk_abi_decode(t, body, body_len, 0, &lenient, &lenient_end, &lerr);
        if (lr < 0)
                check(lerr.msg[0] != '\0' && lenient == NULL);
        else
                check(lenient_end <= body_len);
        int cr = lk_abi_decode(t, body, body_len, LK_ABI_CANONICAL, &canonical, &canonical_end, &cerr);
        if (cr < 0) {
                check(cerr.msg[0] != '\0' && canonical == NULL);
        } else {
                check(lr == 0 && canonical_end == lenient_end && lk_value_equal(canonical, lenient));
                lk_buf enc = LK_BUF_INIT;
                lk_err eerr = LK_ERR_INIT;
                check(lk_abi_encode(t, canonical, &enc, &eerr) == 0);
                check(enc.len == canonical_end && (enc.len == 0 || memcmp(enc.data, body, enc.len) == 0));
                lk_buf_done(&enc);
        }
        lk_value_unref(lenient);
        lk_value_unref(canonical);
        lk_abi_type_free(t2);
        lk_abi_type_free(t);
        lk_buf_done(&text);
        lk_buf_done(&again);
        return 0;
}
