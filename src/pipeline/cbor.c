#include "cbor.h"

#include <cbor.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/utf8.h"

#define MAX_NESTING 32 /* fxamacker/cbor's default MaxNestedLevels */

/* cbor_load allocates a definite array or map's element table from the
 * declared count before reading a single element, so nine bytes could ask
 * for gigabytes.  Every element takes at least one byte, so a declared
 * count larger than what is left of the input is malformed; refuse it
 * before libcbor sees it. */
typedef struct prescan {
        size_t remaining;
        bool too_big;
} prescan;

static void prescan_collection(void *context, size_t count) {
        prescan *p = context;
        if (count > p->remaining)
                p->too_big = true;
}

static void prescan_map(void *context, size_t count) {
        prescan_collection(context, count > SIZE_MAX / 2 ? SIZE_MAX : count * 2);
}

static bool declared_sizes_fit(const unsigned char *data, size_t len) {
        struct cbor_callbacks callbacks = cbor_empty_callbacks;
        callbacks.array_start = prescan_collection;
        callbacks.map_start = prescan_map;
        prescan p = {0, false};
        size_t offset = 0;
        while (offset < len && !p.too_big) {
                p.remaining = len - offset;
                struct cbor_decoder_result r = cbor_stream_decode(data + offset, len - offset, &callbacks, &p);
                if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
                        break; /* cbor_load reports it */
                offset += r.read;
        }
        return !p.too_big;
}

typedef struct converter {
        lk_cbor_mode mode;
        lk_err *err;
} converter;

static int convert(converter *c, cbor_item_t *item, int depth, lk_value **ret);

static void concat_chunks(cbor_item_t *item, bool text, lk_buf *out) {
        if (text ? cbor_string_is_definite(item) : cbor_bytestring_is_definite(item)) {
                lk_buf_append(out, text ? cbor_string_handle(item) : cbor_bytestring_handle(item),
                              text ? cbor_string_length(item) : cbor_bytestring_length(item));
                return;
        }
        size_t count = text ? cbor_string_chunk_count(item) : cbor_bytestring_chunk_count(item);
        cbor_item_t **chunks = text ? cbor_string_chunks_handle(item) : cbor_bytestring_chunks_handle(item);
        for (size_t i = 0; i < count; i++)
                concat_chunks(chunks[i], text, out);
}

static int convert_string(converter *c, cbor_item_t *item, bool text, lk_value **ret) {
        lk_buf b = LK_BUF_INIT;
        concat_chunks(item, text, &b);
        int r = 0;
        if (text && !lk_utf8_valid(b.data, b.len))
                r = lk_err_set(c->err, -EINVAL, "cbor: invalid UTF-8 string");
        else
                *ret = text ? lk_value_string(b.data ? b.data : "", b.len) : lk_value_bytes(b.data, b.len);
        lk_buf_done(&b);
        return r;
}

static int convert_array(converter *c, cbor_item_t *item, int depth, lk_value **ret) {
        lk_value *array = lk_value_array();
        cbor_item_t **items = cbor_array_handle(item);
        for (size_t i = 0; i < cbor_array_size(item); i++) {
                lk_value *element;
                if (convert(c, items[i], depth + 1, &element) < 0) {
                        lk_value_unref(array);
                        return c->err ? c->err->code : -EINVAL;
                }
                lk_value_array_append(array, element);
        }
        *ret = array;
        return 0;
}

/* Go's %T and %v of a decoded key, for CoerceInterfaceMapToStringMap's
 * "unable to coerce key %T %v to a string". */
static void describe_key(const lk_value *key, lk_buf *out) {
        lk_buf_printf(out, "%s ", lk_value_type_name(key));
        switch (lk_value_type_of(key)) {
        case LK_VALUE_UINT64: lk_buf_printf(out, "%" PRIu64, lk_value_get_uint64(key)); break;
        case LK_VALUE_INT64: lk_buf_printf(out, "%" PRId64, lk_value_get_int64(key)); break;
        case LK_VALUE_BOOL: lk_buf_printf(out, "%s", lk_value_get_bool(key) ? "true" : "false"); break;
        default: lk_value_to_json(key, out); break;
        }
}

static int convert_map(converter *c, cbor_item_t *item, int depth, lk_value **ret) {
        lk_value *map = lk_value_map();
        struct cbor_pair *pairs = cbor_map_handle(item);
        for (size_t i = 0; i < cbor_map_size(item); i++) {
                lk_value *key = NULL, *value = NULL;
                if (convert(c, pairs[i].key, depth + 1, &key) < 0)
                        goto fail;
                if (lk_value_type_of(key) != LK_VALUE_STRING) {
                        lk_buf b = LK_BUF_INIT;
                        describe_key(key, &b);
                        lk_err_set(c->err, -EINVAL, "unable to coerce key %s to a string", lk_buf_str(&b));
                        lk_buf_done(&b);
                        lk_value_unref(key);
                        goto fail;
                }
                if (convert(c, pairs[i].value, depth + 1, &value) < 0) {
                        lk_value_unref(key);
                        goto fail;
                }
                size_t key_len;
                const char *k = lk_value_get_string(key, &key_len);
                lk_value_map_put(map, k, key_len, value); /* a repeated key: the last wins, as in Go */
                lk_value_unref(key);
        }
        *ret = map;
        return 0;
fail:
        lk_value_unref(map);
        return -EINVAL;
}

static int convert_bignum(converter *c, cbor_item_t *content, bool negative, lk_value **ret) {
        if (cbor_typeof(content) != CBOR_TYPE_BYTESTRING)
                return lk_err_set(c->err, -EINVAL, "cbor: tag number %d must be followed by byte string, got %s",
                                  negative ? 3 : 2, "another type");
        lk_buf b = LK_BUF_INIT;
        concat_chunks(content, false, &b);
        mpz_t n;
        mpz_init(n);
        if (b.len)
                mpz_import(n, b.len, 1, 1, 1, 0, b.data);
        if (negative) { /* -1 - n */
                mpz_add_ui(n, n, 1);
                mpz_neg(n, n);
        }
        *ret = lk_value_bigint(n);
        mpz_clear(n);
        lk_buf_done(&b);
        return 0;
}

static int convert_tag(converter *c, cbor_item_t *item, int depth, lk_value **ret) {
        uint64_t number = cbor_tag_value(item);
        cbor_item_t *content = cbor_tag_item(item); /* a new reference */
        int r;
        if (number == 2 || number == 3) {
                r = convert_bignum(c, content, number == 3, ret);
        } else {
                lk_value *inner;
                r = convert(c, content, depth + 1, &inner);
                if (r == 0) {
                        lk_value *tag = lk_value_map();
                        lk_value_map_put(tag, "Number", SIZE_MAX, lk_value_uint64(number));
                        lk_value_map_put(tag, "Content", SIZE_MAX, inner);
                        *ret = tag;
                }
        }
        cbor_decref(&content);
        return r;
}

static lk_value *convert_negative(uint64_t n) {
        if (n <= (uint64_t)INT64_MAX)
                return lk_value_int64(-1 - (int64_t)n);
        mpz_t v;
        mpz_init(v);
        mpz_import(v, 1, 1, sizeof n, 0, 0, &n);
        mpz_add_ui(v, v, 1);
        mpz_neg(v, v);
        lk_value *value = lk_value_bigint(v);
        mpz_clear(v);
        return value;
}

static lk_value *convert_simple(cbor_item_t *item) {
        if (!cbor_float_ctrl_is_ctrl(item))
                return lk_value_float64(cbor_float_get_float(item));
        if (cbor_is_null(item) || cbor_is_undef(item))
                return lk_value_null();
        if (cbor_is_bool(item))
                return lk_value_bool(cbor_get_bool(item));
        return lk_value_uint64(cbor_ctrl_value(item)); /* other simple values: Go's cbor.SimpleValue */
}

static int convert(converter *c, cbor_item_t *item, int depth, lk_value **ret) {
        if (depth > MAX_NESTING)
                return lk_err_set(c->err, -EINVAL, "cbor: exceeded max nested level %d", MAX_NESTING);
        switch (cbor_typeof(item)) {
        case CBOR_TYPE_UINT: *ret = lk_value_uint64(cbor_get_int(item)); return 0;
        case CBOR_TYPE_NEGINT: *ret = convert_negative(cbor_get_int(item)); return 0;
        case CBOR_TYPE_BYTESTRING: return convert_string(c, item, false, ret);
        case CBOR_TYPE_STRING: return convert_string(c, item, true, ret);
        case CBOR_TYPE_ARRAY: return convert_array(c, item, depth, ret);
        case CBOR_TYPE_MAP: return convert_map(c, item, depth, ret);
        case CBOR_TYPE_TAG: return convert_tag(c, item, depth, ret);
        case CBOR_TYPE_FLOAT_CTRL: *ret = convert_simple(item); return 0;
        }
        return lk_err_set(c->err, -EINVAL, "cbor: unknown item type");
}

static const char *load_error(const struct cbor_load_result *r) {
        switch (r->error.code) {
        case CBOR_ERR_NOTENOUGHDATA:
        case CBOR_ERR_NODATA: return "unexpected EOF";
        case CBOR_ERR_MEMERROR: return "out of memory";
        default: return "malformed CBOR";
        }
}

/* Chainlink's autoAddMapDelimiters: wraps the data in an indefinite map
 * unless it is a single byte or already starts with a map. */
static bool needs_map_markers(const unsigned char *data, size_t len) {
        return len == 0 || (len > 1 && data[0] >> 5 != 5);
}

int lk_cbor_parse(const void *data, size_t len, lk_cbor_mode mode, lk_value **ret_value, lk_err *err) {
        const unsigned char *bytes = data;
        unsigned char *wrapped = NULL;
        if (mode == LK_CBOR_STANDARD && len == 0) {
                *ret_value = lk_value_null();
                return 0;
        }
        if (mode == LK_CBOR_DIET && needs_map_markers(bytes, len)) {
                wrapped = lk_malloc(len + 2);
                wrapped[0] = 0xbf;
                if (len)
                        memcpy(wrapped + 1, bytes, len);
                wrapped[len + 1] = 0xff;
                bytes = wrapped;
                len += 2;
        }
        int r;
        cbor_item_t *item = NULL;
        if (!declared_sizes_fit(bytes, len)) {
                r = lk_err_set(err, -EINVAL, "unexpected EOF");
                goto done;
        }
        struct cbor_load_result load;
        item = cbor_load(bytes, len, &load);
        if (!item) {
                r = lk_err_set(err, -EINVAL, "cbor: %s at byte %zu", load_error(&load), load.error.position);
                goto done;
        }
        if (mode == LK_CBOR_DIET && cbor_typeof(item) != CBOR_TYPE_MAP) {
                r = lk_err_set(err, -EINVAL, "cbor: cannot unmarshal %s into Go value of type "
                                             "map[interface {}]interface {}", "a non-map item");
                goto done;
        }
        converter c = {mode, err};
        lk_value *value = NULL;
        r = convert(&c, item, 1, &value);
        if (r == 0)
                *ret_value = value;
done:
        if (item)
                cbor_decref(&item);
        lk_free(wrapped);
        return r;
}
