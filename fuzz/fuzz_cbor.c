/* libFuzzer target for the CBOR decoder (src/pipeline/cbor.c), which reads
 * oracle request parameters off the chain and the cborparse task's input.
 *
 * Arbitrary bytes are decoded in both modes.  A rejection must come with a
 * message and no value.  A decoded value is encoded to JSON, as the runner
 * stores it, which visits every node of it, and the JSON must decode
 * again, so a dangling pointer, an unterminated string or a malformed
 * number shows up here rather than in a stored run.  Each input is decoded
 * twice and the two results compared: the decoder must not depend on
 * anything but its input. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/buf.h"
#include "linkd/value.h"
#include "pipeline/cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

static void decode_once(const uint8_t *data, size_t size, lk_cbor_mode mode, lk_buf *ret_json) {
        lk_value *v = NULL;
        lk_err err = LK_ERR_INIT;
        int r = lk_cbor_parse(data, size, mode, &v, &err);
        if (r < 0) {
                check(v == NULL && err.code == r && err.msg[0] != '\0');
                lk_buf_puts(ret_json, "error: ");
                lk_buf_puts(ret_json, err.msg);
                return;
        }
        check(v != NULL);
        check(mode != LK_CBOR_DIET || lk_value_type_of(v) == LK_VALUE_MAP);
        lk_value_to_json(v, ret_json);
        lk_value *again = NULL;
        check(lk_value_from_json(lk_buf_str(ret_json), ret_json->len, &again, &err) == 0);
        lk_value_unref(again);
        lk_value_unref(v);
}

static void decode_twice(const uint8_t *data, size_t size, lk_cbor_mode mode) {
        lk_buf first = LK_BUF_INIT, second = LK_BUF_INIT;
        decode_once(data, size, mode, &first);
        decode_once(data, size, mode, &second);
        check(first.len == second.len && memcmp(lk_buf_str(&first), lk_buf_str(&second), first.len) == 0);
        lk_buf_done(&first);
        lk_buf_done(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        decode_twice(data, size, LK_CBOR_STANDARD);
        decode_twice(data, size, LK_CBOR_DIET);
        return 0;
}
