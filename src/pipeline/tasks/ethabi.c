/* The ETH ABI tasks: ethabiencode, ethabiencode2, ethabidecode and
 * ethabidecodelog, as Chainlink v1.13's task.eth_abi_*.go and the helpers
 * of its common_eth.go run them.  ../ethabi.c reads their descriptions
 * and linkd/abi.h does the coding; here values are converted the way
 * Chainlink converts them for geth's encoder, and decoded values are
 * given the form Chainlink's runs keep them in.
 *
 * Where Chainlink would panic (a nil or a number where bytes are wanted)
 * or geth would wrap silently (a negative number, or one of more than 256
 * bits, into a uint256) these fail with a message instead. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "../ethabi.h"
#include "../params.h"
#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/eth.h"
#include "linkd/hex.h"
#include "tasks.h"

/* ---- values for the encoder (convertToETHABIType) ---- */

static int bad_input(lk_err *err, const char *fmt, ...) LK_PRINTF(2, 3);
static int bad_input(lk_err *err, const char *fmt, ...) {
        lk_buf why = LK_BUF_INIT;
        va_list ap;
        va_start(ap, fmt);
        lk_buf_vprintf(&why, fmt, ap);
        va_end(ap);
        int r = lk_err_set(err, LK_EBAD_INPUT, "%s: bad input for task", lk_buf_str(&why));
        lk_buf_done(&why);
        return r;
}

static char *type_text(const lk_abi_type *t) {
        lk_buf text = LK_BUF_INIT;
        lk_abi_type_format(t, &text);
        return lk_buf_steal(&text, NULL);
}

static int cannot_convert(lk_err *err, const lk_value *v, const lk_abi_type *t) {
        char *text = type_text(t);
        int r = bad_input(err, "cannot convert %s to %s", lk_value_type_name(v), text);
        lk_free(text);
        return r;
}

/* hexutil.Decode's errors, for the digits after "0x": a bad digit
 * anywhere first, then an odd count. */
static int decode_hex(const char *s, size_t n, uint8_t *out, lk_err *err) {
        for (size_t i = 0; i < n; i++)
                if (lk_hex_digit((unsigned char)s[i]) < 0)
                        return lk_err_set(err, -EILSEQ, "invalid hex string");
        if (n % 2)
                return lk_err_set(err, -EILSEQ, "hex string of odd length");
        for (size_t i = 0; i < n / 2; i++)
                out[i] = (uint8_t)(lk_hex_digit((unsigned char)s[2 * i]) << 4 | lk_hex_digit((unsigned char)s[2 * i + 1]));
        return 0;
}

static bool has_0x(const char *s, size_t n) {
        return n >= 2 && s[0] == '0' && s[1] == 'x';
}

/* utils.ToDecimal, truncated to an integer, of at most 64 bits for the
 * small types (ErrOverflow); wider ones are checked by the encoder. */
static int to_integer(const lk_abi_type *t, const lk_value *v, lk_value **ret, lk_err *err) {
        lk_decimal d;
        lk_decimal_init(&d);
        int r = lk_param_to_decimal(v, &d, err);
        if (r == 0) {
                mpz_t z;
                mpz_init(z);
                lk_decimal_to_mpz(&d, z);
                if (t->size <= 64 && !lk_abi_int_fits(t, z))
                        r = lk_err_set(err, -ERANGE, "overflow");
                else
                        *ret = lk_value_bigint(z);
                mpz_clear(z);
        }
        lk_decimal_clear(&d);
        return r;
}

/* bytes: a 0x string decoded, another string's own bytes. */
static int to_bytes(const lk_value *v, lk_value **ret, lk_err *err) {
        size_t n;
        if (lk_value_type_of(v) == LK_VALUE_BYTES) {
                *ret = lk_value_ref((lk_value *)v);
                return 0;
        }
        if (lk_value_type_of(v) != LK_VALUE_STRING)
                return bad_input(err, "cannot convert %s to []uint8", lk_value_type_name(v));
        const char *s = lk_value_get_string(v, &n);
        if (!has_0x(s, n)) {
                *ret = lk_value_bytes(s, n);
                return 0;
        }
        uint8_t *b = lk_malloc(n / 2 + 1);
        int r = decode_hex(s + 2, n - 2, b, err);
        if (r == 0)
                *ret = lk_value_bytes(b, (n - 2) / 2);
        lk_free(b);
        return r;
}

/* The bytes of a list of numbers below 256: a bytes<M> as decoded values
 * below the top hold it (see presented()). */
static bool small_numbers(const lk_value *v, uint8_t *out, size_t max) {
        for (size_t i = 0; i < lk_value_array_len(v); i++) {
                const lk_value *item = lk_value_array_at(v, i);
                uint64_t n;
                if (lk_value_type_of(item) == LK_VALUE_UINT64)
                        n = lk_value_get_uint64(item);
                else if (lk_value_type_of(item) == LK_VALUE_INT64 && lk_value_get_int64(item) >= 0)
                        n = (uint64_t)lk_value_get_int64(item);
                else
                        return false;
                if (n > 255)
                        return false;
                if (i < max)
                        out[i] = (uint8_t)n;
        }
        return true;
}

/* convertToETHABIBytes to [size]uint8 (bytes<M>, address): byte strings
 * are cut or zero-padded to size, 0x strings and other strings must
 * have its length. */
static int to_fixed_bytes(size_t size, const lk_value *v, lk_value **ret, lk_err *err) {
        uint8_t b[32] = {0};
        size_t n;
        switch (lk_value_type_of(v)) {
        case LK_VALUE_BYTES: {
                const unsigned char *data = lk_value_get_bytes(v, &n);
                memcpy(b, data, n < size ? n : size);
                break;
        }
        case LK_VALUE_STRING: {
                const char *s = lk_value_get_string(v, &n);
                bool hex = has_0x(s, n);
                size_t got = hex ? (n - 2) / 2 : n;
                if (got != size || (hex && n % 2))
                        return bad_input(err, "incorrect length: expected %zu, got %zu", size, got);
                int r = hex ? decode_hex(s + 2, n - 2, b, err) : 0;
                if (r < 0)
                        return r;
                if (!hex)
                        memcpy(b, s, n);
                break;
        }
        case LK_VALUE_ARRAY:
                if (small_numbers(v, b, size))
                        break;
                return bad_input(err, "cannot convert []interface {} to [%zu]uint8", size);
        default: return bad_input(err, "cannot convert %s to [%zu]uint8", lk_value_type_name(v), size);
        }
        *ret = lk_value_bytes(b, size);
        return 0;
}

static int to_abi(const lk_abi_type *t, const lk__ethabi_fields *f, const lk_value *v, lk_value **ret,
                  lk_err *err);

/* The items of a list, or of a byte string (geth's uint8 slices). */
static lk_value *items_of(const lk_value *v) {
        if (lk_value_type_of(v) == LK_VALUE_ARRAY)
                return lk_value_ref((lk_value *)v);
        lk_value *items = lk_value_array();
        size_t n;
        const unsigned char *b = lk_value_get_bytes(v, &n);
        for (size_t i = 0; i < n; i++)
                lk_value_array_append(items, lk_value_uint64(b[i]));
        return items;
}

/* items (a list) converted, each to its component of t: the elements of
 * an array, the components of a tuple. */
static int to_items(const lk_abi_type *t, const lk__ethabi_fields *f, const lk_value *items, lk_value **ret,
                    lk_err *err) {
        bool tuple = t->kind == LK_ABI_TUPLE;
        lk_value *out = lk_value_array();
        int r = 0;
        for (size_t i = 0; i < lk_value_array_len(items) && r == 0; i++) {
                lk_value *item = NULL;
                r = to_abi(tuple ? t->fields[i] : t->elem, tuple ? f->inner[i] : f, lk_value_array_at(items, i), &item,
                           err);
                if (r == 0)
                        lk_value_array_append(out, item);
        }
        if (r < 0)
                lk_value_unref(out);
        else
                *ret = out;
        return r;
}

static int to_array(const lk_abi_type *t, const lk__ethabi_fields *f, const lk_value *v, lk_value **ret,
                    lk_err *err) {
        if (lk_value_type_of(v) != LK_VALUE_ARRAY && lk_value_type_of(v) != LK_VALUE_BYTES)
                return cannot_convert(err, v, t);
        lk_value *items = items_of(v);
        size_t n = lk_value_array_len(items);
        int r = t->kind == LK_ABI_FIXED_ARRAY && n != t->size
                        ? bad_input(err, "incorrect length: expected %zu, got %zu", t->size, n)
                        : to_items(t, f, items, ret, err);
        lk_value_unref(items);
        return r;
}

/* A tuple from a map keyed by its components' names, or from a list. */
static int to_tuple(const lk_abi_type *t, const lk__ethabi_fields *f, const lk_value *v, lk_value **ret,
                    lk_err *err) {
        bool map = lk_value_type_of(v) == LK_VALUE_MAP;
        if (!map && lk_value_type_of(v) != LK_VALUE_ARRAY)
                return bad_input(err, "cannot convert %s to tuple[%zu]", lk_value_type_name(v), t->size);
        size_t n = map ? lk_value_map_len(v) : lk_value_array_len(v);
        if (n != t->size)
                return bad_input(err, "incorrect length: expected %zu, got %zu", t->size, n);
        lk_value *items = map ? lk_value_array() : lk_value_ref((lk_value *)v);
        for (size_t i = 0; map && i < t->size; i++) {
                lk_value *item = lk_value_map_get(v, f->names[i], strlen(f->names[i]));
                lk_value_array_append(items, item ? lk_value_ref(item) : lk_value_null());
        }
        int r = to_items(t, f, items, ret, err);
        lk_value_unref(items);
        return r;
}

/* convertToETHABIType: v as the value lk_abi_encode takes for t. */
static int to_abi(const lk_abi_type *t, const lk__ethabi_fields *f, const lk_value *v, lk_value **ret,
                  lk_err *err) {
        lk_value_type type = lk_value_type_of(v);
        switch (t->kind) {
        case LK_ABI_UINT:
        case LK_ABI_INT: return to_integer(t, v, ret, err);
        case LK_ABI_BYTES: return to_bytes(v, ret, err);
        case LK_ABI_FIXED_BYTES:
        case LK_ABI_ADDRESS: return to_fixed_bytes(t->size, v, ret, err);
        case LK_ABI_ARRAY:
        case LK_ABI_FIXED_ARRAY: return to_array(t, f, v, ret, err);
        case LK_ABI_TUPLE: return to_tuple(t, f, v, ret, err);
        case LK_ABI_STRING:
                if (type != LK_VALUE_STRING && type != LK_VALUE_BYTES)
                        return cannot_convert(err, v, t);
                size_t n;
                const char *s = type == LK_VALUE_STRING ? lk_value_get_string(v, &n)
                                                        : (const char *)lk_value_get_bytes(v, &n);
                *ret = lk_value_string(s, n);
                return 0;
        case LK_ABI_BOOL: {
                bool b = type == LK_VALUE_BOOL && lk_value_get_bool(v);
                int r = type == LK_VALUE_STRING   ? lk_param_parse_bool(lk_value_get_string(v, NULL), &b, err)
                        : type == LK_VALUE_BOOL ? 0
                                                : cannot_convert(err, v, t);
                if (r == 0)
                        *ret = lk_value_bool(b);
                return r;
        }
        }
        return cannot_convert(err, v, t);
}

/* The Go type of what convertToETHABIType returns with its error, which
 * Chainlink's message names ("from <nil>"): strconv.ParseBool's false, or
 * the []byte hexutil.Decode returns with its. */
static const char *left_behind(const lk_abi_type *t, const lk_value *v) {
        if (lk_value_type_of(v) != LK_VALUE_STRING)
                return "<nil>";
        size_t n;
        const char *s = lk_value_get_string(v, &n);
        if (t->kind == LK_ABI_BOOL)
                return "bool";
        return t->kind == LK_ABI_BYTES && has_0x(s, n) ? "[]uint8" : "<nil>";
}

/* ---- decoded values, as Chainlink's runs keep them ---- */

/* Chainlink's JSONSerializable writes a decoded field's geth value with
 * its own rules at the top (an address with its EIP-55 checksum, bytes<M>
 * and uint8 arrays as 0x-hex, address[] as checksummed strings) and with
 * encoding/json's below (addresses in lowercase hex, bytes<M> as lists of
 * numbers): each value here is the lk_value that writes the same. */
static lk_value *presented(const lk_abi_type *t, lk_value *v, bool top) {
        size_t n;
        switch (t->kind) {
        case LK_ABI_ADDRESS: {
                if (!top)
                        return v;
                char text[43];
                lk_eth_address_text(lk_value_get_bytes(v, &n), text);
                lk_value_unref(v);
                return lk_value_string(text, 42);
        }
        case LK_ABI_FIXED_BYTES: {
                if (top)
                        return v;
                lk_value *numbers = items_of(v);
                lk_value_unref(v);
                return numbers;
        }
        case LK_ABI_ARRAY:
        case LK_ABI_FIXED_ARRAY: {
                bool octets = t->elem->kind == LK_ABI_UINT && t->elem->size == 8;
                lk_value *out = octets && (top || t->kind == LK_ABI_ARRAY) ? NULL : lk_value_array();
                lk_buf b = LK_BUF_INIT;
                for (size_t i = 0; i < lk_value_array_len(v); i++) {
                        lk_value *item = lk_value_array_at(v, i);
                        if (!out)
                                lk_buf_putc(&b, (char)lk_value_get_uint64(item));
                        else
                                lk_value_array_append(out, presented(t->elem, lk_value_ref(item),
                                                                     top && t->kind == LK_ABI_ARRAY &&
                                                                             t->elem->kind == LK_ABI_ADDRESS));
                }
                if (!out)
                        out = lk_value_bytes(b.data ? b.data : "", b.len);
                lk_buf_done(&b);
                lk_value_unref(v);
                return out;
        }
        default: return v;
        }
}

/* ---- geth's first look at the data ---- */

/* Chainlink decodes with geth, whose errors for data too short for its
 * types come from its first look at each argument (toGoType,
 * lengthPrefixPointsTo and forEachUnpack of accounts/abi, go-ethereum
 * 1.10/1.11).  Those looks are repeated here, in its order and words;
 * what they let through the decoder checks in full. */

static void big_text(const mpz_t z, char out[100]) {
        mpz_get_str(out, 10, z); /* at most 2^256 + 2^64: 78 digits */
}

/* lengthPrefixPointsTo: where the offset word at index points, and the
 * length found there, compared as geth compares them, in big integers. */
static int geth_length_prefix(const uint8_t *d, size_t len, size_t index, size_t *ret_begin, size_t *ret_n,
                              lk_err *err) {
        char text[100];
        mpz_t end, total;
        mpz_inits(end, total, NULL);
        mpz_import(end, 32, 1, 1, 1, 0, d + index);
        mpz_add_ui(end, end, 32);
        int r = 0;
        if (mpz_cmp_ui(end, len) > 0) {
                big_text(end, text);
                r = lk_err_set(err, -EINVAL, "abi: cannot marshal in to go slice: offset %s would go over slice boundary (len=%zu)",
                               text, len);
        } else {
                size_t begin = mpz_get_ui(end);
                mpz_import(total, 32, 1, 1, 1, 0, d + begin - 32);
                mpz_add(total, total, end);
                big_text(total, text);
                if (mpz_sizeinbase(total, 2) > 63)
                        r = lk_err_set(err, -EINVAL, "abi: length larger than int64: %s", text);
                else if (mpz_cmp_ui(total, len) > 0)
                        r = lk_err_set(err, -EINVAL, "abi: cannot marshal in to go type: length insufficient %zu require %s",
                                       len, text);
                *ret_begin = begin;
                *ret_n = r == 0 ? mpz_get_ui(total) - begin : 0;
        }
        mpz_clears(end, total, NULL);
        return r;
}

/* forEachUnpack's bounds check, with its arguments in its order. */
static int geth_items(size_t left, uint64_t items, lk_err *err) {
        if (items <= left / 32)
                return 0;
        return lk_err_set(err, -EINVAL, "abi: cannot marshal in to go array: offset %zu would go over slice boundary (len=%llu)",
                          left, (unsigned long long)items * 32);
}

/* readBool: 0 or 1 in the word. */
static int geth_bool(const uint8_t *w, lk_err *err) {
        for (int i = 0; i < 31; i++)
                if (w[i])
                        return lk_err_set(err, -EINVAL, "abi: improperly encoded boolean value");
        return w[31] > 1 ? lk_err_set(err, -EINVAL, "abi: improperly encoded boolean value") : 0;
}

static int geth_first_look(const lk_abi_type *t, const uint8_t *d, size_t len, size_t index, lk_err *err) {
        size_t begin, n;
        int r;
        switch (t->kind) {
        case LK_ABI_BOOL: return geth_bool(d + index, err);
        case LK_ABI_BYTES:
        case LK_ABI_STRING: return geth_length_prefix(d, len, index, &begin, &n, err);
        case LK_ABI_ARRAY:
                r = geth_length_prefix(d, len, index, &begin, &n, err);
                return r < 0 ? r : geth_items(len - begin, n, err);
        case LK_ABI_FIXED_ARRAY: {
                if (!t->elem->dynamic)
                        return geth_items(len - index, t->size, err);
                uint64_t offset = 0;
                for (int i = 24; i < 32; i++)
                        offset = offset << 8 | d[index + i];
                if (offset > len)
                        return lk_err_set(err, -EINVAL,
                                          "abi: toGoType offset greater than output length: offset: %llu, len(output): %zu",
                                          (unsigned long long)offset, len);
                return geth_items(len - (size_t)offset, t->size, err);
        }
        default: return 0;
        }
}

/* Arguments.UnpackValues: tuple's values decoded from d. */
static int unpack(const lk_abi_type *tuple, const uint8_t *d, size_t len, lk_value **ret, lk_err *err) {
        size_t index = 0;
        for (size_t i = 0; i < tuple->size; i++) {
                if (index > len || len - index < 32)
                        return lk_err_set(err, -EINVAL, "abi: cannot marshal in to go type: length insufficient %zu require %zu",
                                          len, index + 32);
                int r = geth_first_look(tuple->fields[i], d, len, index, err);
                if (r < 0)
                        return r;
                index += tuple->fields[i]->head_words * 32;
        }
        return lk_abi_decode(tuple, d, len, 0, ret, NULL, err);
}

/* UnpackIntoMap: the arguments that are not indexed, from data. */
static int unpack_into_map(const lk__ethabi *abi, const uint8_t *d, size_t len, lk_value *out, lk_err *err) {
        lk_value *values = NULL;
        int r = unpack(abi->data_tuple, d, len, &values, err);
        if (r < 0)
                return r;
        for (size_t i = 0, j = 0; i < abi->count; i++) {
                const lk__ethabi_arg *a = &abi->args[i];
                if (a->indexed)
                        continue;
                lk_value *v = presented(a->type, lk_value_ref(lk_value_array_at(values, j++)), true);
                lk_value_map_put(out, a->name, strlen(a->name), v);
        }
        lk_value_unref(values);
        return 0;
}

/* ParseTopicsIntoMap: each indexed argument from its topic; a string,
 * bytes or array is there only as its hash, which is what it gets. */
static int topics_into_map(const lk__ethabi *abi, const lk_value *topics, lk_value *out, lk_err *err) {
        for (size_t i = 0, k = 1; i < abi->count; i++) {
                const lk__ethabi_arg *a = &abi->args[i];
                if (!a->indexed)
                        continue;
                size_t n;
                const unsigned char *word = lk_value_get_bytes(lk_value_array_at(topics, k++), &n);
                lk_value *v = NULL;
                if (a->type->dynamic || a->type->kind == LK_ABI_FIXED_ARRAY) {
                        v = lk_value_bytes(word, n);
                } else {
                        char *text = type_text(a->type);
                        lk_abi_type *one = NULL;
                        lk_value *values = NULL;
                        int r = a->type->kind == LK_ABI_BOOL ? geth_bool(word, err) : 0;
                        if (r == 0)
                                r = lk_abi_types_parse(text, strlen(text), &one, err);
                        if (r == 0)
                                r = lk_abi_decode(one, word, n, 0, &values, NULL, err);
                        if (r == 0)
                                v = presented(a->type, lk_value_ref(lk_value_array_at(values, 0)), true);
                        lk_value_unref(values);
                        lk_abi_type_free(one);
                        lk_free(text);
                        if (r < 0)
                                return r;
                }
                lk_value_map_put(out, a->name, strlen(a->name), v);
        }
        return 0;
}

/* ---- topics (HashSliceParam) ---- */

/* hexutil.UnmarshalFixedText into a hash; -EILSEQ for hexutil's own
 * errors, which Go's json names as the value it could not unmarshal. */
static int unmarshal_hash(const char *s, size_t n, const char *type_name, uint8_t out[32], lk_err *err) {
        if (n > 0 && !(n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
                return lk_err_set(err, -EILSEQ, "hex string without 0x prefix");
        size_t digits = n ? n - 2 : 0;
        if (digits % 2)
                return lk_err_set(err, -EILSEQ, "hex string of odd length");
        if (digits != 64)
                return lk_err_set(err, -EINVAL, "hex string has length %zu, want 64 for %s", digits, type_name);
        return decode_hex(s + 2, 64, out, err);
}

/* A JSON list of 0x-hex hashes. */
static int hashes_from_json(const char *text, size_t len, lk_value *out, lk_err *err) {
        lk_value *list = NULL;
        int r = lk_value_from_json(text, len, &list, err);
        if (r < 0)
                return r;
        if (lk_value_type_of(list) != LK_VALUE_ARRAY && lk_value_type_of(list) != LK_VALUE_NULL)
                r = lk__ethabi_type_error(err, list, NULL, "pipeline.HashSliceParam");
        for (size_t i = 0; r == 0 && lk_value_type_of(list) == LK_VALUE_ARRAY && i < lk_value_array_len(list); i++) {
                const lk_value *item = lk_value_array_at(list, i);
                uint8_t hash[32];
                size_t n;
                if (lk_value_type_of(item) != LK_VALUE_STRING) {
                        r = lk_err_set(err, -EINVAL, "json: cannot unmarshal non-string into Go value of type common.Hash");
                        break;
                }
                const char *s = lk_value_get_string(item, &n);
                lk_err why = LK_ERR_INIT;
                r = unmarshal_hash(s, n, "common.Hash", hash, &why);
                if (r == -EILSEQ)
                        lk_err_set(err, r, "json: cannot unmarshal %s into Go value of type common.Hash", why.msg);
                else if (r < 0 && err)
                        *err = why;
                else
                        lk_value_array_append(out, lk_value_bytes(hash, 32));
        }
        lk_value_unref(list);
        return r;
}

/* One item of a list of hashes: a hash's 32 bytes, or its text. */
static int hash_item(const lk_value *item, lk_value *out, lk_err *err) {
        size_t n;
        const char *s;
        uint8_t hash[32];
        if (lk_value_type_of(item) == LK_VALUE_BYTES) {
                s = (const char *)lk_value_get_bytes(item, &n);
                if (n == 32) {
                        lk_value_array_append(out, lk_value_ref((lk_value *)item));
                        return 0;
                }
        } else if (lk_value_type_of(item) == LK_VALUE_STRING) {
                s = lk_value_get_string(item, &n);
        } else {
                return lk_err_set(err, LK_EBAD_INPUT, "HashSliceParam: bad input for task");
        }
        lk_err why = LK_ERR_INIT;
        if (unmarshal_hash(s, n, "Hash", hash, &why) < 0)
                return bad_input(err, "HashSliceParam: %s", why.msg);
        lk_value_array_append(out, lk_value_bytes(hash, 32));
        return 0;
}

/* HashSliceParam: a list of 32-byte BYTES. */
static int hash_slice(const lk_value *v, lk_value **ret, lk_err *err) {
        lk_value *out = lk_value_array();
        int r = 0;
        switch (lk_value_type_of(v)) {
        case LK_VALUE_NULL: break;
        case LK_VALUE_STRING:
        case LK_VALUE_BYTES: {
                size_t n;
                const char *text = lk_value_type_of(v) == LK_VALUE_STRING ? lk_value_get_string(v, &n)
                                                                          : (const char *)lk_value_get_bytes(v, &n);
                lk_err why = LK_ERR_INIT;
                if ((r = hashes_from_json(text, n, out, &why)) < 0)
                        bad_input(err, "HashSliceParam: %s", why.msg);
                break;
        }
        case LK_VALUE_ARRAY:
                for (size_t i = 0; i < lk_value_array_len(v) && r == 0; i++)
                        r = hash_item(lk_value_array_at(v, i), out, err);
                break;
        default: r = lk_err_set(err, LK_EBAD_INPUT, "HashSliceParam: bad input for task"); break;
        }
        if (r < 0)
                lk_value_unref(out);
        else
                *ret = out;
        return r;
}

/* ---- the tasks ---- */

/* A parameter from its sources, coerced; its error ("<name>: ...")
 * joined into all.  An optional parameter no source has is null. */
static lk_value *param(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count,
                       int (*coerce)(const lk_value *, lk_value **, lk_err *), bool optional, lk_err *all) {
        lk_value *raw = NULL, *out = NULL;
        lk_err one = LK_ERR_INIT;
        int r = lk_param(call, name, sources, count, &raw, &one);
        if (r == LK_EPARAM_EMPTY && optional) {
                raw = lk_value_null();
                r = 0;
        }
        if (r == 0 && (r = coerce(raw, &out, &one)) < 0)
                lk_err_prefix(&one, "%s", name);
        lk_value_unref(raw);
        if (r < 0)
                lk_err_join(all, &one);
        return out;
}

static lk_value *abi_param(const lk_task_call *call, lk_err *all) {
        return param(call, "abi", LK_SOURCES(LK_PARAM_LITERAL), lk_param_bytes, false, all);
}

static const char *bytes_of(const lk_value *v, size_t *ret_len) {
        return (const char *)lk_value_get_bytes(v, ret_len);
}

/* The arguments from data, each converted; their encoding, after the
 * selector when the method has a name, as 0x-hex. */
static void encode(const lk__ethabi *abi, const lk_value *data, lk_task_result *result) {
        lk_value *values = lk_value_array();
        for (size_t i = 0; i < abi->count; i++) {
                const lk__ethabi_arg *a = &abi->args[i];
                const lk_value *v = data && *a->name ? lk_value_map_get(data, a->name, strlen(a->name)) : NULL;
                lk_value *converted = NULL;
                lk_err why = LK_ERR_INIT;
                if (!*a->name) {
                        lk_task_fail(result, LK_EBAD_INPUT,
                                     "ETHABIEncode: bad ABI specification, missing argument name: bad input for task");
                } else if (!v) {
                        lk_task_fail(result, LK_EBAD_INPUT, "ETHABIEncode: argument '%s' is missing: bad input for task",
                                     a->name);
                } else if (to_abi(a->type, a->fields, v, &converted, &why) < 0) {
                        char *text = type_text(a->type);
                        lk_task_fail(result, LK_EBAD_INPUT,
                                     "ETHABIEncode: while converting argument '%s' from %s to %s: %s: bad input for task",
                                     a->name, left_behind(a->type, v), text, why.msg);
                        lk_free(text);
                }
                if (!converted) {
                        lk_value_unref(values);
                        return;
                }
                lk_value_array_append(values, converted);
        }
        lk_buf encoded = LK_BUF_INIT, out = LK_BUF_INIT;
        uint8_t selector[4];
        lk_err why = LK_ERR_INIT;
        if (*abi->name) {
                lk__ethabi_selector(abi, selector);
                lk_buf_append(&encoded, selector, 4);
        }
        if (lk_abi_encode(abi->tuple, values, &encoded, &why) < 0) {
                lk_task_fail(result, LK_EBAD_INPUT, "ETHABIEncode: could not ABI encode values: %s: bad input for task",
                             why.msg);
        } else {
                lk_buf_puts(&out, "0x");
                lk_buf_put_hex(&out, (const unsigned char *)lk_buf_str(&encoded), encoded.len);
                lk_task_ok(result, lk_value_string(out.data, out.len));
        }
        lk_buf_done(&encoded);
        lk_buf_done(&out);
        lk_value_unref(values);
}

typedef int (*abi_reader)(const char *text, size_t len, lk__ethabi **ret, lk_err *err);

static void encode_task(const lk_task_call *call, lk_task_result *result, abi_reader read) {
        if (lk_check_inputs(call, -1, -1, 0, &result->err) < 0)
                return;
        lk_err all = LK_ERR_INIT, why = LK_ERR_INIT;
        lk_value *data = param(call, "data", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_JSON), lk_param_map, true, &all);
        lk_value *text = abi_param(call, &all);
        lk__ethabi *abi = NULL;
        size_t len = 0;
        const char *abi_text = text ? bytes_of(text, &len) : NULL;
        if (lk_err_is_set(&all))
                result->err = all;
        else if (read(abi_text, len, &abi, &why) < 0)
                lk_task_fail(result, LK_EBAD_INPUT, "ETHABIEncode: while parsing ABI string: %s: bad input for task",
                             why.msg);
        else
                encode(abi, data, result);
        lk__ethabi_free(abi);
        lk_value_unref(text);
        lk_value_unref(data);
}

static int read_signature(const char *text, size_t len, lk__ethabi **ret, lk_err *err) {
        return lk__ethabi_parse_signature(text, len, false, ret, err);
}

void lk__task_ethabiencode(const lk_task_call *call, lk_task_result *result) {
        encode_task(call, result, read_signature);
}

void lk__task_ethabiencode2(const lk_task_call *call, lk_task_result *result) {
        encode_task(call, result, lk__ethabi_parse_method);
}

void lk__task_ethabidecode(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_err all = LK_ERR_INIT, why = LK_ERR_INIT;
        lk_value *data = param(call, "data", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_INPUT), lk_param_bytes, false, &all);
        lk_value *text = abi_param(call, &all);
        lk__ethabi *abi = NULL;
        size_t len = 0, data_len;
        const char *abi_text = text ? bytes_of(text, &len) : NULL;
        if (lk_err_is_set(&all)) {
                result->err = all;
        } else if (lk__ethabi_parse_list(abi_text, len, &abi, &why) < 0) {
                lk_task_fail(result, LK_EBAD_INPUT, "%s: bad input for task", why.msg);
        } else {
                lk_value *out = lk_value_map();
                const char *d = bytes_of(data, &data_len);
                /* geth's own error, unwrapped, as Chainlink returns it */
                if (data_len && unpack_into_map(abi, (const uint8_t *)d, data_len, out, &result->err) < 0)
                        lk_value_unref(out);
                else
                        lk_task_ok(result, out);
        }
        lk__ethabi_free(abi);
        lk_value_unref(text);
        lk_value_unref(data);
}

/* The log's fields: from its data, then the indexed ones from its topics
 * (the first topic is the event's own). */
static int decode_log(const lk__ethabi *abi, const lk_value *data, const lk_value *topics, lk_value *out,
                      lk_err *err) {
        size_t len, indexed = 0;
        const char *d = bytes_of(data, &len);
        if (len && unpack_into_map(abi, (const uint8_t *)d, len, out, err) < 0)
                return err ? err->code : -EINVAL;
        for (size_t i = 0; i < abi->count; i++)
                indexed += abi->args[i].indexed;
        if (indexed == 0)
                return 0;
        if (lk_value_array_len(topics) != indexed + 1)
                return lk_err_set(err, LK_EBAD_INPUT, "topic/field count mismatch");
        return topics_into_map(abi, topics, out, err);
}

void lk__task_ethabidecodelog(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, -1, -1, 0, &result->err) < 0)
                return;
        lk_err all = LK_ERR_INIT, why = LK_ERR_INIT;
        lk_value *data = param(call, "data", LK_SOURCES(LK_PARAM_VAR_EXPR), lk_param_bytes, true, &all);
        lk_value *topics = param(call, "topics", LK_SOURCES(LK_PARAM_VAR_EXPR), hash_slice, false, &all);
        lk_value *text = abi_param(call, &all);
        lk__ethabi *abi = NULL;
        size_t len = 0;
        const char *abi_text = text ? bytes_of(text, &len) : NULL;
        if (lk_err_is_set(&all)) {
                result->err = all;
        } else if (lk__ethabi_parse_signature(abi_text, len, true, &abi, &why) < 0) {
                lk_task_fail(result, LK_EBAD_INPUT, "%s: bad input for task", why.msg);
        } else {
                lk_value *out = lk_value_map();
                if (decode_log(abi, data, topics, out, &why) < 0) {
                        lk_task_fail(result, LK_EBAD_INPUT, "%s: bad input for task", why.msg);
                        lk_value_unref(out);
                } else {
                        lk_task_ok(result, out);
                }
        }
        lk__ethabi_free(abi);
        lk_value_unref(text);
        lk_value_unref(topics);
        lk_value_unref(data);
}
