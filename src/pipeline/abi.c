/* See include/linkd/abi.h. */
#include "linkd/abi.h"

#include <errno.h>
#include <gmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/hex.h"

/* ---- types ---- */

lk_abi_type *lk_abi_type_free(lk_abi_type *type) {
        if (!type)
                return NULL;
        lk_abi_type_free(type->elem);
        for (size_t i = 0; type->fields && i < type->size; i++)
                lk_abi_type_free(type->fields[i]);
        lk_free(type->fields);
        lk_free(type);
        return NULL;
}

typedef struct parser {
        const char *s;
        size_t len, pos;
        lk_err *err;
} parser;

static int parse_error(parser *p, const char *fmt, ...) LK_PRINTF(2, 3);
static int parse_error(parser *p, const char *fmt, ...) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return lk_err_set_at(p->err, -EINVAL, 1, (uint32_t)p->pos + 1, "abi: type \"%.*s\" at offset %zu: %s",
                             (int)(p->len > 200 ? 200 : p->len), p->s, p->pos, msg);
}

static lk_abi_type *new_type(lk_abi_kind kind, size_t size) {
        lk_abi_type *t = lk_calloc(1, sizeof *t);
        t->kind = kind;
        t->size = size;
        t->head_words = 1;
        return t;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* A decimal number without leading zeros, at most max; -1 when there is none. */
static int parse_number(parser *p, size_t max, size_t *ret) {
        size_t start = p->pos, v = 0;
        while (p->pos < p->len && is_digit(p->s[p->pos])) {
                v = v * 10 + (size_t)(p->s[p->pos] - '0');
                p->pos++;
                if (v > max) {
                        p->pos = start;
                        return parse_error(p, "a number above %zu", max);
                }
        }
        if (p->pos == start)
                return 1;
        if (p->s[start] == '0' && p->pos - start > 1) {
                p->pos = start;
                return parse_error(p, "a number with a leading zero");
        }
        *ret = v;
        return 0;
}

static int parse_elementary(parser *p, lk_abi_type **ret) {
        size_t start = p->pos;
        while (p->pos < p->len && p->s[p->pos] >= 'a' && p->s[p->pos] <= 'z')
                p->pos++;
        size_t name_len = p->pos - start;
        const char *name = p->s + start;
#define IS(lit) (name_len == sizeof lit - 1 && memcmp(name, lit, sizeof lit - 1) == 0)
        size_t m = 0;
        int r;
        if (IS("uint") || IS("int")) {
                size_t digits_at = p->pos;
                r = parse_number(p, 256, &m);
                if (r < 0)
                        return r;
                if (r == 1)
                        m = 256;
                else if (m < 8 || m % 8 != 0) {
                        p->pos = digits_at;
                        return parse_error(p, "%.*s%zu: the size must be a multiple of 8 from 8 to 256",
                                           (int)name_len, name, m);
                }
                *ret = new_type(IS("uint") ? LK_ABI_UINT : LK_ABI_INT, m);
                return 0;
        }
        if (IS("bytes")) {
                size_t digits_at = p->pos;
                r = parse_number(p, 32, &m);
                if (r < 0)
                        return r;
                if (r == 1) {
                        *ret = new_type(LK_ABI_BYTES, 0);
                        (*ret)->dynamic = true;
                        return 0;
                }
                if (m == 0) {
                        p->pos = digits_at;
                        return parse_error(p, "bytes0: the size must be from 1 to 32");
                }
                *ret = new_type(LK_ABI_FIXED_BYTES, m);
                return 0;
        }
        if (is_digit(p->pos < p->len ? p->s[p->pos] : 0)) {
                p->pos = start;
                return parse_error(p, "an unknown type");
        }
        if (IS("address")) {
                *ret = new_type(LK_ABI_ADDRESS, 20);
                return 0;
        }
        if (IS("bool")) {
                *ret = new_type(LK_ABI_BOOL, 0);
                return 0;
        }
        if (IS("string")) {
                *ret = new_type(LK_ABI_STRING, 0);
                (*ret)->dynamic = true;
                return 0;
        }
#undef IS
        p->pos = start;
        return parse_error(p, name_len ? "an unknown type" : "a type expected");
}

static int parse_type(parser *p, size_t depth, lk_abi_type **ret, size_t *ret_height);

/* The components of a tuple up to (and not including) close; close 0 is
 * the end of the text. */
static int parse_fields(parser *p, size_t depth, char close, lk_abi_type **ret, size_t *ret_height) {
        lk_abi_type *t = new_type(LK_ABI_TUPLE, 0);
        size_t height = 0, words = 0;
        int r;
        bool empty_ok = close == 0;
        while (!(p->pos < p->len ? p->s[p->pos] == close : close == 0)) {
                if (t->size == LK_ABI_MAX_FIELDS) {
                        r = parse_error(p, "more than %d components", LK_ABI_MAX_FIELDS);
                        goto fail;
                }
                lk_abi_type *f;
                size_t h;
                r = parse_type(p, depth, &f, &h);
                if (r < 0)
                        goto fail;
                if (t->size % 16 == 0)
                        t->fields = lk_realloc(t->fields, (t->size + 16) * sizeof *t->fields);
                t->fields[t->size++] = f;
                if (h > height)
                        height = h;
                if (f->dynamic)
                        t->dynamic = true;
                words += f->head_words;
                if (p->pos < p->len && p->s[p->pos] == ',') {
                        p->pos++;
                        empty_ok = false;
                        if (p->pos < p->len ? p->s[p->pos] == close : close == 0) {
                                r = parse_error(p, "a type expected");
                                goto fail;
                        }
                        continue;
                }
                if (!(p->pos < p->len ? p->s[p->pos] == close : close == 0)) {
                        r = parse_error(p, close ? "',' or '%c' expected" : "',' expected", close);
                        goto fail;
                }
        }
        if (t->size == 0 && !empty_ok) {
                r = parse_error(p, "a type expected");
                goto fail;
        }
        if (!t->dynamic) {
                if (words > LK_ABI_MAX_STATIC) {
                        r = parse_error(p, "a static type of more than %d words", LK_ABI_MAX_STATIC);
                        goto fail;
                }
                t->head_words = words;
        }
        *ret = t;
        *ret_height = height;
        return 0;
fail:
        lk_abi_type_free(t);
        return r;
}

static int parse_type(parser *p, size_t depth, lk_abi_type **ret, size_t *ret_height) {
        lk_abi_type *t = NULL;
        size_t height = 0;
        int r;
        if (p->pos < p->len && p->s[p->pos] == '(') {
                if (depth + 1 > LK_ABI_MAX_DEPTH)
                        return parse_error(p, "nested more than %d deep", LK_ABI_MAX_DEPTH);
                p->pos++;
                r = parse_fields(p, depth + 1, ')', &t, &height);
                if (r < 0)
                        return r;
                p->pos++;
                height++;
        } else {
                r = parse_elementary(p, &t);
                if (r < 0)
                        return r;
        }
        while (p->pos < p->len && p->s[p->pos] == '[') {
                size_t at = p->pos;
                p->pos++;
                size_t k = 0;
                r = parse_number(p, LK_ABI_MAX_ARRAY, &k);
                if (r < 0)
                        goto fail;
                if (p->pos >= p->len || p->s[p->pos] != ']') {
                        r = parse_error(p, "']' expected");
                        goto fail;
                }
                if (r == 0 && k == 0) {
                        r = parse_error(p, "an array of length 0");
                        goto fail;
                }
                p->pos++;
                if (depth + height + 1 > LK_ABI_MAX_DEPTH) {
                        p->pos = at;
                        r = parse_error(p, "nested more than %d deep", LK_ABI_MAX_DEPTH);
                        goto fail;
                }
                lk_abi_type *a = new_type(r == 1 ? LK_ABI_ARRAY : LK_ABI_FIXED_ARRAY, r == 1 ? 0 : k);
                a->elem = t;
                t = a;
                height++;
                if (r == 1 || a->elem->dynamic) {
                        a->dynamic = true;
                } else if (a->elem->head_words > LK_ABI_MAX_STATIC / k) {
                        p->pos = at;
                        r = parse_error(p, "a static type of more than %d words", LK_ABI_MAX_STATIC);
                        goto fail;
                } else {
                        a->head_words = k * a->elem->head_words;
                }
        }
        *ret = t;
        *ret_height = height;
        return 0;
fail:
        lk_abi_type_free(t);
        return r;
}

static int parse_all(const char *text, size_t len, bool list, lk_abi_type **ret, lk_err *err) {
        parser p = {text, len, 0, err};
        if (len > LK_ABI_MAX_TEXT)
                return lk_err_set(err, -EINVAL, "abi: a type of %zu bytes (at most %d)", len, LK_ABI_MAX_TEXT);
        lk_abi_type *t;
        size_t height;
        int r = list ? parse_fields(&p, 0, 0, &t, &height) : parse_type(&p, 0, &t, &height);
        if (r < 0)
                return r;
        if (p.pos != len) {
                r = parse_error(&p, "unexpected '%c'", text[p.pos]);
                lk_abi_type_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

int lk_abi_type_parse(const char *text, size_t len, lk_abi_type **ret_type, lk_err *err) {
        return parse_all(text, len, false, ret_type, err);
}

int lk_abi_types_parse(const char *text, size_t len, lk_abi_type **ret_tuple, lk_err *err) {
        return parse_all(text, len, true, ret_tuple, err);
}

void lk_abi_type_format(const lk_abi_type *t, lk_buf *out) {
        switch (t->kind) {
        case LK_ABI_UINT:
                lk_buf_printf(out, "uint%zu", t->size);
                break;
        case LK_ABI_INT:
                lk_buf_printf(out, "int%zu", t->size);
                break;
        case LK_ABI_ADDRESS:
                lk_buf_puts(out, "address");
                break;
        case LK_ABI_BOOL:
                lk_buf_puts(out, "bool");
                break;
        case LK_ABI_FIXED_BYTES:
                lk_buf_printf(out, "bytes%zu", t->size);
                break;
        case LK_ABI_BYTES:
                lk_buf_puts(out, "bytes");
                break;
        case LK_ABI_STRING:
                lk_buf_puts(out, "string");
                break;
        case LK_ABI_FIXED_ARRAY:
                lk_abi_type_format(t->elem, out);
                lk_buf_printf(out, "[%zu]", t->size);
                break;
        case LK_ABI_ARRAY:
                lk_abi_type_format(t->elem, out);
                lk_buf_puts(out, "[]");
                break;
        case LK_ABI_TUPLE:
                lk_buf_putc(out, '(');
                for (size_t i = 0; i < t->size; i++) {
                        if (i)
                                lk_buf_putc(out, ',');
                        lk_abi_type_format(t->fields[i], out);
                }
                lk_buf_putc(out, ')');
                break;
        }
}

/* ---- what encoder and decoder share ---- */

typedef struct coder {
        lk_err *err;
        char path[256];
        size_t path_len;
        /* decoding */
        const uint8_t *d;
        size_t len;
        unsigned flags;
        size_t budget;
} coder;

/* Appends component i of t to the path: "1" at the top, ".1" in a tuple,
 * "[1]" in an array. */
static size_t path_push(coder *c, const lk_abi_type *t, size_t i) {
        size_t mark = c->path_len;
        if (mark < sizeof c->path) {
                int n = mark == 0                    ? snprintf(c->path, sizeof c->path, "%zu", i)
                        : t->kind == LK_ABI_TUPLE ? snprintf(c->path + mark, sizeof c->path - mark, ".%zu", i)
                                                  : snprintf(c->path + mark, sizeof c->path - mark, "[%zu]", i);
                c->path_len = n < 0 ? mark : mark + (size_t)n;
                if (c->path_len >= sizeof c->path)
                        c->path_len = sizeof c->path - 1;
        }
        return mark;
}

static void path_pop(coder *c, size_t mark) {
        c->path_len = mark;
        c->path[mark] = '\0';
}

static int coder_error(coder *c, const char *fmt, ...) LK_PRINTF(2, 3);
static int coder_error(coder *c, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (c->path_len)
                return lk_err_set(c->err, -EINVAL, "abi: argument %s: %s", c->path, msg);
        return lk_err_set(c->err, -EINVAL, "abi: %s", msg);
}

static const lk_abi_type *component(const lk_abi_type *t, size_t i) {
        return t->kind == LK_ABI_TUPLE ? t->fields[i] : t->elem;
}

/* Bytes of the head of t's n components. */
static size_t seq_head(const lk_abi_type *t, size_t n) {
        if (t->kind != LK_ABI_TUPLE)
                return n * t->elem->head_words * 32;
        size_t words = 0;
        for (size_t i = 0; i < n; i++)
                words += t->fields[i]->head_words;
        return words * 32;
}

static const char *kind_name(const lk_abi_type *t) {
        static const char *const names[] = {"uint", "int", "address", "bool", "bytes<M>",
                                            "bytes", "string", "T[k]", "T[]", "tuple"};
        return names[t->kind];
}

/* ---- encoding ---- */

static void put_word_u64(lk_buf *out, uint64_t v) {
        uint8_t w[32] = {0};
        for (int i = 0; i < 8; i++)
                w[31 - i] = (uint8_t)(v >> (8 * i));
        lk_buf_append(out, w, 32);
}

/* An integer from v into z; false with an error when v holds none. */
static int to_mpz(coder *c, const lk_value *v, mpz_t z) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_INT64:
                mpz_set_si(z, lk_value_get_int64(v));
                return 0;
        case LK_VALUE_UINT64: {
                uint64_t u = lk_value_get_uint64(v);
                mpz_set_ui(z, (unsigned long)(u >> 32));
                mpz_mul_2exp(z, z, 32);
                mpz_add_ui(z, z, (unsigned long)(u & 0xffffffffu));
                return 0;
        }
        case LK_VALUE_BIGINT:
                mpz_set(z, *lk_value_get_bigint(v));
                return 0;
        case LK_VALUE_STRING: {
                size_t len;
                const char *s = lk_value_get_string(v, &len);
                size_t i = 0;
                bool neg = len > 0 && s[0] == '-';
                if (neg)
                        i++;
                int base = 10;
                if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
                        base = 16;
                        i += 2;
                }
                if (i == len || len > 100)
                        return coder_error(c, "\"%.100s\" is not an integer", s);
                for (size_t j = i; j < len; j++)
                        if (base == 10 ? !is_digit(s[j]) : lk_hex_digit((unsigned char)s[j]) < 0)
                                return coder_error(c, "\"%.100s\" is not an integer", s);
                mpz_set_str(z, s + i, base);
                if (neg)
                        mpz_neg(z, z);
                return 0;
        }
        default:
                return coder_error(c, "want an integer, got %s", lk_value_type_name(v));
        }
}

bool lk_abi_int_fits(const lk_abi_type *t, const mpz_t z) {
        if (t->kind == LK_ABI_UINT)
                return mpz_sgn(z) >= 0 && mpz_sizeinbase(z, 2) <= t->size;
        if (mpz_sgn(z) >= 0)
                return mpz_sizeinbase(z, 2) <= t->size - 1;
        mpz_t m;
        mpz_init(m);
        mpz_com(m, z); /* -z - 1 */
        bool fits = mpz_sgn(m) == 0 || mpz_sizeinbase(m, 2) <= t->size - 1;
        mpz_clear(m);
        return fits;
}

static int put_integer(coder *c, const lk_abi_type *t, const lk_value *v, lk_buf *out) {
        mpz_t z;
        mpz_init(z);
        int r = to_mpz(c, v, z);
        if (r < 0)
                goto out;
        if (!lk_abi_int_fits(t, z)) {
                char *text = mpz_get_str(NULL, 10, z);
                r = coder_error(c, "%.100s%s is out of range for %s%zu", text, strlen(text) > 100 ? "..." : "",
                                t->kind == LK_ABI_UINT ? "uint" : "int", t->size);
                void (*gmp_free)(void *, size_t);
                mp_get_memory_functions(NULL, NULL, &gmp_free);
                gmp_free(text, strlen(text) + 1);
                goto out;
        }
        if (mpz_sgn(z) < 0) {
                mpz_t two256;
                mpz_init(two256);
                mpz_setbit(two256, 256);
                mpz_add(z, z, two256);
                mpz_clear(two256);
        }
        uint8_t w[32] = {0}, tmp[40];
        size_t count = 0;
        mpz_export(tmp, &count, 1, 1, 1, 0, z);
        memcpy(w + 32 - count, tmp, count);
        lk_buf_append(out, w, 32);
out:
        mpz_clear(z);
        return r;
}

/* Bytes from BYTES or a 0x-hex STRING; *ret_owned to lk_free when set. */
static int get_bytes(coder *c, const lk_value *v, const uint8_t **ret, size_t *ret_len, uint8_t **ret_owned) {
        *ret_owned = NULL;
        if (lk_value_type_of(v) == LK_VALUE_BYTES) {
                *ret = lk_value_get_bytes(v, ret_len);
                return 0;
        }
        if (lk_value_type_of(v) != LK_VALUE_STRING)
                return coder_error(c, "want bytes or a 0x-hex string, got %s", lk_value_type_name(v));
        size_t len;
        const char *s = lk_value_get_string(v, &len);
        if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || len % 2 != 0)
                return coder_error(c, "\"%.80s\" is not 0x-hex", s);
        size_t n = (len - 2) / 2;
        uint8_t *b = lk_malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) {
                int hi = lk_hex_digit((unsigned char)s[2 + 2 * i]), lo = lk_hex_digit((unsigned char)s[3 + 2 * i]);
                if (hi < 0 || lo < 0) {
                        lk_free(b);
                        return coder_error(c, "\"%.80s\" is not 0x-hex", s);
                }
                b[i] = (uint8_t)(hi << 4 | lo);
        }
        *ret = b;
        *ret_len = n;
        *ret_owned = b;
        return 0;
}

static int encode_value(coder *c, const lk_abi_type *t, const lk_value *v, lk_buf *out);

/* The n components of t from array v: heads, then tails. */
static int encode_seq(coder *c, const lk_abi_type *t, const lk_value *v, size_t n, lk_buf *out) {
        lk_buf head = LK_BUF_INIT, tail = LK_BUF_INIT;
        size_t head_len = seq_head(t, n);
        int r = 0;
        for (size_t i = 0; i < n; i++) {
                const lk_abi_type *ct = component(t, i);
                size_t mark = path_push(c, t, i);
                if (ct->dynamic) {
                        put_word_u64(&head, head_len + tail.len);
                        r = encode_value(c, ct, lk_value_array_at(v, i), &tail);
                } else {
                        r = encode_value(c, ct, lk_value_array_at(v, i), &head);
                }
                path_pop(c, mark);
                if (r < 0)
                        goto out;
        }
        lk_buf_append(out, head.data, head.len);
        lk_buf_append(out, tail.data, tail.len);
out:
        lk_buf_done(&head);
        lk_buf_done(&tail);
        return r;
}

static int encode_value(coder *c, const lk_abi_type *t, const lk_value *v, lk_buf *out) {
        uint8_t w[32] = {0};
        const uint8_t *b;
        uint8_t *owned;
        size_t n;
        int r;
        switch (t->kind) {
        case LK_ABI_UINT:
        case LK_ABI_INT:
                return put_integer(c, t, v, out);
        case LK_ABI_BOOL:
                if (lk_value_type_of(v) != LK_VALUE_BOOL)
                        return coder_error(c, "want a bool, got %s", lk_value_type_name(v));
                put_word_u64(out, lk_value_get_bool(v));
                return 0;
        case LK_ABI_ADDRESS:
        case LK_ABI_FIXED_BYTES:
                r = get_bytes(c, v, &b, &n, &owned);
                if (r < 0)
                        return r;
                if (n != t->size) {
                        lk_free(owned);
                        return coder_error(c, "want %zu bytes for %s, got %zu", t->size,
                                           t->kind == LK_ABI_ADDRESS ? "an address" : "bytes<M>", n);
                }
                memcpy(t->kind == LK_ABI_ADDRESS ? w + 12 : w, b, n);
                lk_buf_append(out, w, 32);
                lk_free(owned);
                return 0;
        case LK_ABI_BYTES:
        case LK_ABI_STRING:
                if (t->kind == LK_ABI_STRING) {
                        if (lk_value_type_of(v) != LK_VALUE_STRING)
                                return coder_error(c, "want a string, got %s", lk_value_type_name(v));
                        b = (const uint8_t *)lk_value_get_string(v, &n);
                        owned = NULL;
                } else {
                        r = get_bytes(c, v, &b, &n, &owned);
                        if (r < 0)
                                return r;
                }
                put_word_u64(out, n);
                lk_buf_append(out, b, n);
                lk_buf_append(out, w, (32 - n % 32) % 32);
                lk_free(owned);
                return 0;
        case LK_ABI_FIXED_ARRAY:
        case LK_ABI_ARRAY:
        case LK_ABI_TUPLE:
                if (lk_value_type_of(v) != LK_VALUE_ARRAY)
                        return coder_error(c, "want an array for %s, got %s", kind_name(t), lk_value_type_name(v));
                n = lk_value_array_len(v);
                if (t->kind != LK_ABI_ARRAY && n != t->size)
                        return coder_error(c, "want %zu items, got %zu", t->size, n);
                if (t->kind != LK_ABI_ARRAY)
                        return encode_seq(c, t, v, n, out);
                lk_buf inner = LK_BUF_INIT;
                r = encode_seq(c, t, v, n, &inner);
                if (r == 0) {
                        put_word_u64(out, n);
                        lk_buf_append(out, inner.data, inner.len);
                }
                lk_buf_done(&inner);
                return r;
        }
        return coder_error(c, "an unknown type");
}

int lk_abi_encode(const lk_abi_type *tuple, const lk_value *values, lk_buf *out, lk_err *err) {
        coder c = {.err = err};
        if (tuple->kind != LK_ABI_TUPLE)
                return lk_err_set(err, -EINVAL, "abi: encode wants a tuple of types");
        if (lk_value_type_of(values) != LK_VALUE_ARRAY)
                return coder_error(&c, "want an array of values, got %s", lk_value_type_name(values));
        if (lk_value_array_len(values) != tuple->size)
                return coder_error(&c, "want %zu values, got %zu", tuple->size, lk_value_array_len(values));
        return encode_seq(&c, tuple, values, tuple->size, out);
}

/* ---- decoding ---- */

static int charge(coder *c, size_t n) {
        if (n > c->budget)
                return coder_error(c, "the values would take more than %zu bytes the data's size allows",
                                   4 * c->len + 4096);
        c->budget -= n;
        return 0;
}

/* The word at pos; an error when the data ends first. */
static int word_at(coder *c, size_t pos, const uint8_t **ret) {
        if (pos > c->len || c->len - pos < 32)
                return coder_error(c, "the data (%zu bytes) ends inside the word at %zu", c->len, pos);
        *ret = c->d + pos;
        return 0;
}

static bool all_equal(const uint8_t *b, size_t n, uint8_t v) {
        for (size_t i = 0; i < n; i++)
                if (b[i] != v)
                        return false;
        return true;
}

/* An offset or length at pos: at most the data's size. */
static int size_at(coder *c, size_t pos, const char *what, size_t *ret) {
        const uint8_t *w;
        int r = word_at(c, pos, &w);
        if (r < 0)
                return r;
        uint64_t v = 0;
        for (int i = 24; i < 32; i++)
                v = v << 8 | w[i];
        if (!all_equal(w, 24, 0))
                return coder_error(c, "%s at %zu is beyond the %zu bytes of data", what, pos, c->len);
        if (v > c->len)
                return coder_error(c, "%s %" PRIu64 " at %zu is beyond the %zu bytes of data", what, v, pos, c->len);
        *ret = (size_t)v;
        return 0;
}

static int decode_value(coder *c, const lk_abi_type *t, size_t pos, lk_value **ret, size_t *ret_end);

static int decode_seq(coder *c, const lk_abi_type *t, size_t n, size_t base, lk_value **ret, size_t *ret_end) {
        size_t head_len = seq_head(t, n);
        if (base > c->len || head_len > c->len - base)
                return coder_error(c, "the data (%zu bytes) ends inside the %zu-byte head at %zu", c->len, head_len,
                                   base);
        lk_value *arr = lk_value_array();
        size_t cursor = base + head_len, end = cursor, hp = base;
        int r = 0;
        for (size_t i = 0; i < n; i++) {
                const lk_abi_type *ct = component(t, i);
                size_t mark = path_push(c, t, i);
                lk_value *item = NULL;
                size_t e = 0, off;
                if (ct->dynamic) {
                        r = size_at(c, hp, "the offset", &off);
                        if (r == 0 && off > c->len - base)
                                r = coder_error(c, "the offset %zu at %zu is beyond the %zu bytes of data", off, hp,
                                                c->len);
                        if (r == 0 && (c->flags & LK_ABI_CANONICAL) && base + off != cursor)
                                r = coder_error(c, "the offset %zu at %zu is not canonical (want %zu)", off, hp,
                                                cursor - base);
                        if (r == 0)
                                r = decode_value(c, ct, base + off, &item, &e);
                        cursor = e;
                } else {
                        r = decode_value(c, ct, hp, &item, &e);
                }
                path_pop(c, mark);
                if (r < 0)
                        goto fail;
                lk_value_array_append(arr, item);
                if (e > end)
                        end = e;
                hp += ct->head_words * 32;
        }
        *ret = arr;
        *ret_end = end;
        return 0;
fail:
        lk_value_unref(arr);
        return r;
}

static int decode_word(coder *c, const lk_abi_type *t, size_t pos, lk_value **ret) {
        const uint8_t *w;
        int r = word_at(c, pos, &w);
        if (r < 0)
                return r;
        size_t keep = t->size / 8;
        switch (t->kind) {
        case LK_ABI_UINT:
        case LK_ABI_INT: {
                uint8_t fill = t->kind == LK_ABI_INT && (w[32 - keep] & 0x80) ? 0xff : 0;
                if (!all_equal(w, 32 - keep, fill))
                        return coder_error(c, "the word at %zu is not a %s%zu (%s)", pos, kind_name(t), t->size,
                                           t->kind == LK_ABI_UINT ? "high bytes not zero" : "not sign-extended");
                if (t->size <= 64) {
                        uint64_t u = 0;
                        for (int i = 24; i < 32; i++)
                                u = u << 8 | w[i];
                        *ret = t->kind == LK_ABI_UINT ? lk_value_uint64(u) : lk_value_int64((int64_t)u);
                        return 0;
                }
                mpz_t z;
                mpz_init(z);
                mpz_import(z, 32, 1, 1, 1, 0, w);
                if (fill) {
                        mpz_t two256;
                        mpz_init(two256);
                        mpz_setbit(two256, 256);
                        mpz_sub(z, z, two256);
                        mpz_clear(two256);
                }
                *ret = lk_value_bigint(z);
                mpz_clear(z);
                return 0;
        }
        case LK_ABI_ADDRESS:
                if (!all_equal(w, 12, 0))
                        return coder_error(c, "the word at %zu is not an address (high bytes not zero)", pos);
                *ret = lk_value_bytes(w + 12, 20);
                return 0;
        case LK_ABI_BOOL:
                if (!all_equal(w, 31, 0) || w[31] > 1)
                        return coder_error(c, "the word at %zu is not a bool", pos);
                *ret = lk_value_bool(w[31] == 1);
                return 0;
        default: /* LK_ABI_FIXED_BYTES */
                if (!all_equal(w + t->size, 32 - t->size, 0))
                        return coder_error(c, "the word at %zu is not a bytes%zu (padding not zero)", pos, t->size);
                *ret = lk_value_bytes(w, t->size);
                return 0;
        }
}

static int decode_value(coder *c, const lk_abi_type *t, size_t pos, lk_value **ret, size_t *ret_end) {
        size_t n;
        int r;
        switch (t->kind) {
        case LK_ABI_UINT:
        case LK_ABI_INT:
        case LK_ABI_ADDRESS:
        case LK_ABI_BOOL:
        case LK_ABI_FIXED_BYTES:
                r = charge(c, 32);
                if (r == 0)
                        r = decode_word(c, t, pos, ret);
                if (r == 0)
                        *ret_end = pos + 32;
                return r;
        case LK_ABI_BYTES:
        case LK_ABI_STRING: {
                r = size_at(c, pos, "the length", &n);
                if (r < 0)
                        return r;
                size_t left = c->len - pos - 32, padded = n + (32 - n % 32) % 32;
                if (n > left)
                        return coder_error(c, "the length %zu at %zu is beyond the %zu bytes of data", n, pos,
                                           c->len);
                if (c->flags & LK_ABI_CANONICAL) {
                        if (padded > left)
                                return coder_error(c, "the data ends inside the padding of the %s at %zu",
                                                   kind_name(t), pos);
                        if (!all_equal(c->d + pos + 32 + n, padded - n, 0))
                                return coder_error(c, "the padding of the %s at %zu is not zero", kind_name(t), pos);
                }
                r = charge(c, 32 + n);
                if (r < 0)
                        return r;
                const uint8_t *b = c->d + pos + 32;
                *ret = t->kind == LK_ABI_BYTES ? lk_value_bytes(b, n) : lk_value_string((const char *)b, n);
                *ret_end = pos + 32 + (padded > left ? left : padded);
                return 0;
        }
        case LK_ABI_ARRAY:
                r = size_at(c, pos, "the length", &n);
                if (r < 0)
                        return r;
                if (n > (c->len - pos - 32) / (t->elem->head_words * 32))
                        return coder_error(c, "the length %zu at %zu is beyond the %zu bytes of data", n, pos,
                                           c->len);
                r = charge(c, 1);
                if (r < 0)
                        return r;
                return decode_seq(c, t, n, pos + 32, ret, ret_end);
        case LK_ABI_FIXED_ARRAY:
        case LK_ABI_TUPLE:
                r = charge(c, 1);
                if (r < 0)
                        return r;
                return decode_seq(c, t, t->size, pos, ret, ret_end);
        }
        return coder_error(c, "an unknown type");
}

int lk_abi_decode(const lk_abi_type *tuple, const uint8_t *data, size_t len, unsigned flags, lk_value **ret_values,
                  size_t *ret_consumed, lk_err *err) {
        if (tuple->kind != LK_ABI_TUPLE)
                return lk_err_set(err, -EINVAL, "abi: decode wants a tuple of types");
        coder c = {.err = err, .d = data, .len = len, .flags = flags};
        c.budget = len > (SIZE_MAX - 4096) / 4 ? SIZE_MAX : 4 * len + 4096;
        lk_value *v;
        size_t end;
        int r = decode_seq(&c, tuple, tuple->size, 0, &v, &end);
        if (r < 0)
                return r;
        *ret_values = v;
        if (ret_consumed)
                *ret_consumed = end;
        return 0;
}
