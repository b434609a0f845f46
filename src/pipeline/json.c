/* JSON to and from lk_values, as Chainlink's Go code reads and writes it
 * (see include/linkd/value.h).
 *
 * This is a codec of our own rather than jansson, the project's JSON
 * library, because jansson cannot keep the numbers exact: it reads every
 * integer into a json_int_t (int64) and everything else into a double,
 * so a uint64 above INT64_MAX, a big integer or a decimal would come out
 * changed.  Chainlink decodes with UseNumber and keeps such values whole.
 *
 * Reading follows Go's encoding/json: its scanner decides what is valid
 * and words the errors ("invalid character 'x' looking for beginning of
 * value"), and its unquoting decides what a string holds (invalid UTF-8
 * and lone surrogates become U+FFFD).  Writing follows json.Marshal:
 * its float formats, its string escapes (HTML characters included) and
 * its sorted map keys. */
#include "linkd/value.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/hex.h"
#include "linkd/utf8.h"

/* Deeper documents are rejected, so that the parser and every consumer
 * that walks a value recursively have a bounded stack. */
#define MAX_DEPTH 512

static const char replacement_char[] = "\xef\xbf\xbd"; /* U+FFFD */

/* ---- reading ---- */

typedef struct parser {
        const unsigned char *s;
        size_t len;
        size_t pos;
        unsigned depth;
        lk_err *err;
        lk_buf text; /* the string being decoded */
        /* Go checks the syntax of the whole text before it converts any
         * number, so a float out of range is reported only when the text
         * is otherwise valid: the first such number is remembered here. */
        bool has_bad_number;
        size_t bad_number, bad_number_len;
} parser;

static bool is_space(int c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(int c) {
        return c >= '0' && c <= '9';
}

static int peek(const parser *p) {
        return p->pos < p->len ? p->s[p->pos] : -1;
}

static void skip_space(parser *p) {
        while (p->pos < p->len && is_space(p->s[p->pos]))
                p->pos++;
}

static void skip_digits(parser *p) {
        while (p->pos < p->len && is_digit(p->s[p->pos]))
                p->pos++;
}

static void position(const parser *p, size_t at, uint32_t *ret_line, uint32_t *ret_column) {
        size_t line = 1, line_start = 0;
        for (size_t i = 0; i < at; i++) {
                if (p->s[i] == '\n') {
                        line++;
                        line_start = i + 1;
                }
        }
        size_t column = at - line_start + 1;
        *ret_line = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
        *ret_column = column > UINT32_MAX ? UINT32_MAX : (uint32_t)column;
}

/* encoding/json's quoteChar: the byte as strconv.Quote shows the rune
 * U+00XX, between single quotes. */
static void quote_char(unsigned char c, char out[12]) {
        static const char *const named[] = {['\a'] = "\\a", ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n",
                                            ['\r'] = "\\r", ['\t'] = "\\t", ['\v'] = "\\v"};
        if (c == '\'')
                snprintf(out, 12, "'\\''");
        else if (c == '\\')
                snprintf(out, 12, "'\\\\'");
        else if (c < sizeof named / sizeof *named && named[c])
                snprintf(out, 12, "'%s'", named[c]);
        else if (c < 0x20 || c == 0x7f)
                snprintf(out, 12, "'\\x%02x'", c);
        else if (c < 0x80)
                snprintf(out, 12, "'%c'", c);
        else if (c < 0xa1 || c == 0xad) /* C1 controls, NBSP and soft hyphen: not IsPrint */
                snprintf(out, 12, "'\\u%04x'", c);
        else
                snprintf(out, 12, "'%c%c'", 0xc0 | c >> 6, 0x80 | (c & 0x3f));
}

static int fail_at(parser *p, size_t at, const char *message) {
        uint32_t line, column;
        position(p, at, &line, &column);
        return lk_err_set_at(p->err, -EINVAL, line, column, "%s", message);
}

static int fail_eof(parser *p) {
        return fail_at(p, p->len, "unexpected end of JSON input");
}

/* The byte at pos does not fit.  At the end of the text Go's scanner is
 * fed a space, so a literal cut short complains about ' '. */
static int fail_char(parser *p, const char *context) {
        char q[12], message[128];
        quote_char(p->pos < p->len ? p->s[p->pos] : ' ', q);
        snprintf(message, sizeof message, "invalid character %s %s", q, context);
        return fail_at(p, p->pos, message);
}

static int fail_bad_number(parser *p) {
        uint32_t line, column;
        position(p, p->bad_number, &line, &column);
        /* The input has no NUL after the number, and the message is cut at
         * LK_ERR_MSG_MAX anyway. */
        int shown = p->bad_number_len < LK_ERR_MSG_MAX ? (int)p->bad_number_len : LK_ERR_MSG_MAX;
        return lk_err_set_at(p->err, -EINVAL, line, column,
                             "json: cannot unmarshal number %.*s into Go value of type float64", shown,
                             (const char *)p->s + p->bad_number);
}

static int parse_value(parser *p, lk_value **ret);

/* true, false or null, the first letter already seen. */
static int parse_literal(parser *p, const char *word, lk_value **ret) {
        for (size_t i = 1; word[i]; i++) {
                p->pos++;
                if (peek(p) != word[i]) {
                        char context[64];
                        snprintf(context, sizeof context, "in literal %s (expecting '%c')", word, word[i]);
                        return fail_char(p, context);
                }
        }
        p->pos++;
        *ret = word[0] == 'n' ? lk_value_null() : lk_value_bool(word[0] == 't');
        return 0;
}

/* The magnitude of the digits s[0..len), false when it exceeds uint64. */
static bool digits_u64(const char *s, size_t len, uint64_t *ret) {
        uint64_t mag = 0;
        for (size_t i = 0; i < len; i++) {
                unsigned d = (unsigned)(s[i] - '0');
                if (mag > (UINT64_MAX - d) / 10)
                        return false;
                mag = mag * 10 + d;
        }
        *ret = mag;
        return true;
}

static lk_value *bigint_value(const char *s, size_t len) {
        char *text = lk_strndup(s, len);
        mpz_t z;
        mpz_init_set_str(z, text, 10);
        lk_value *v = lk_value_bigint(z);
        mpz_clear(z);
        lk_free(text);
        return v;
}

/* Chainlink's rule for an integer literal: int64 if it fits, else
 * uint64, else a big integer. */
static lk_value *integer_value(const parser *p, size_t start) {
        const char *s = (const char *)p->s + start;
        size_t len = p->pos - start;
        bool neg = s[0] == '-';
        uint64_t mag;
        if (!digits_u64(s + neg, len - neg, &mag))
                return bigint_value(s, len);
        if (!neg && mag <= INT64_MAX)
                return lk_value_int64((int64_t)mag);
        if (neg && mag <= (uint64_t)INT64_MAX + 1)
                return lk_value_int64(mag ? -(int64_t)(mag - 1) - 1 : 0);
        if (!neg)
                return lk_value_uint64(mag);
        return bigint_value(s, len);
}

/* strtod rounds as strconv.ParseFloat does.  It reads the decimal point
 * of LC_NUMERIC, which stays "C" because linkd never calls setlocale;
 * were that to change, numbers would fail loudly here, not misparse. */
static lk_value *float_value(parser *p, size_t start) {
        size_t len = p->pos - start;
        char *text = lk_strndup((const char *)p->s + start, len), *end;
        double f = strtod(text, &end);
        bool whole = end == text + len;
        lk_free(text);
        if (whole && !isinf(f))
                return lk_value_float64(f);
        if (!p->has_bad_number) {
                p->has_bad_number = true;
                p->bad_number = start;
                p->bad_number_len = len;
        }
        return lk_value_null();
}

static int parse_number(parser *p, lk_value **ret) {
        size_t start = p->pos;
        bool integer = true;
        if (peek(p) == '-')
                p->pos++;
        if (peek(p) == '0')
                p->pos++;
        else if (is_digit(peek(p)))
                skip_digits(p);
        else
                return fail_char(p, "in numeric literal");
        if (peek(p) == '.') {
                integer = false;
                p->pos++;
                if (!is_digit(peek(p)))
                        return fail_char(p, "after decimal point in numeric literal");
                skip_digits(p);
        }
        if (peek(p) == 'e' || peek(p) == 'E') {
                integer = false;
                p->pos++;
                if (peek(p) == '+' || peek(p) == '-')
                        p->pos++;
                if (!is_digit(peek(p)))
                        return fail_char(p, "in exponent of numeric literal");
                skip_digits(p);
        }
        *ret = integer ? integer_value(p, start) : float_value(p, start);
        return 0;
}

/* Go's getu4: the \uXXXX at `at`, or -1.  Only a peek: what is not a
 * second escape is read as whatever it is. */
static int32_t peek_u4(const parser *p, size_t at) {
        if (at + 6 > p->len || p->s[at] != '\\' || p->s[at + 1] != 'u')
                return -1;
        int32_t r = 0;
        for (size_t i = at + 2; i < at + 6; i++) {
                int d = lk_hex_digit(p->s[i]);
                if (d < 0)
                        return -1;
                r = r * 16 + d;
        }
        return r;
}

static int read_u4(parser *p, int32_t *ret) {
        int32_t r = 0;
        for (int i = 0; i < 4; i++) {
                int d = p->pos < p->len ? lk_hex_digit(p->s[p->pos]) : -1;
                if (d < 0)
                        return fail_char(p, "in \\u hexadecimal character escape");
                r = r * 16 + d;
                p->pos++;
        }
        *ret = r;
        return 0;
}

/* A \u escape; a surrogate counts only as the first half of a pair that
 * follows at once, anything else of it becomes U+FFFD. */
static int parse_u_escape(parser *p) {
        int32_t r = 0;
        int err = read_u4(p, &r);
        if (err < 0)
                return err;
        if (r < 0xd800 || r >= 0xe000) {
                lk_utf8_put(&p->text, r);
                return 0;
        }
        int32_t r2 = peek_u4(p, p->pos);
        if (r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000) {
                lk_utf8_put(&p->text, 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00));
                p->pos += 6;
                return 0;
        }
        lk_buf_puts(&p->text, replacement_char);
        return 0;
}

static int parse_escape(parser *p) {
        static const char simple[] = "b\bf\fn\nr\rt\t\\\\//\"\"";
        p->pos++;
        int c = peek(p);
        if (c == 'u') {
                p->pos++;
                return parse_u_escape(p);
        }
        for (size_t i = 0; c > 0 && simple[i]; i += 2) {
                if (simple[i] == c) {
                        lk_buf_putc(&p->text, simple[i + 1]);
                        p->pos++;
                        return 0;
                }
        }
        return fail_char(p, "in string escape code");
}

/* Copies bytes that need no decoding, all at once. */
static void copy_plain(parser *p) {
        size_t start = p->pos;
        while (p->pos < p->len) {
                unsigned char c = p->s[p->pos];
                if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
                        break;
                p->pos++;
        }
        lk_buf_append(&p->text, p->s + start, p->pos - start);
}

static void copy_utf8(parser *p) {
        size_t size;
        if (lk_utf8_decode(p->s + p->pos, p->len - p->pos, &size) < 0)
                lk_buf_puts(&p->text, replacement_char);
        else
                lk_buf_append(&p->text, p->s + p->pos, size);
        p->pos += size;
}

/* The string at pos (a '"'), decoded into p->text. */
static int parse_string(parser *p) {
        lk_buf_reset(&p->text);
        p->pos++;
        for (;;) {
                copy_plain(p);
                int c = peek(p), r = 0;
                if (c < 0)
                        return fail_eof(p);
                if (c == '"') {
                        p->pos++;
                        return 0;
                }
                if (c == '\\')
                        r = parse_escape(p);
                else if (c < 0x20)
                        r = fail_char(p, "in string literal");
                else
                        copy_utf8(p);
                if (r < 0)
                        return r;
        }
}

static int enter(parser *p) {
        if (++p->depth > MAX_DEPTH)
                return fail_char(p, "exceeded max depth");
        p->pos++;
        skip_space(p);
        return 0;
}

/* After an element: 1 when a ',' announces another, 0 at the closing
 * bracket. */
static int after_element(parser *p, char close, const char *context) {
        skip_space(p);
        int c = peek(p);
        if (c < 0)
                return fail_eof(p);
        if (c != ',' && c != close)
                return fail_char(p, context);
        p->pos++;
        return c == ',';
}

static int parse_elements(parser *p, lk_value *array) {
        int r;
        do {
                lk_value *item;
                r = parse_value(p, &item);
                if (r < 0)
                        return r;
                lk_value_array_append(array, item);
                r = after_element(p, ']', "after array element");
        } while (r > 0);
        return r;
}

static int parse_array(parser *p, lk_value **ret) {
        int r = enter(p);
        if (r < 0)
                return r;
        lk_value *a = lk_value_array();
        if (peek(p) == ']')
                p->pos++;
        else
                r = parse_elements(p, a);
        if (r < 0) {
                lk_value_unref(a);
                return r;
        }
        p->depth--;
        *ret = a;
        return 0;
}

/* One "key": value; duplicates replace, so the last one wins as in Go. */
static int parse_member(parser *p, lk_value *map) {
        skip_space(p);
        if (peek(p) < 0)
                return fail_eof(p);
        if (peek(p) != '"')
                return fail_char(p, "looking for beginning of object key string");
        int r = parse_string(p);
        if (r < 0)
                return r;
        size_t key_len;
        char *key = lk_buf_steal(&p->text, &key_len);
        skip_space(p);
        if (peek(p) < 0)
                r = fail_eof(p);
        else if (peek(p) != ':')
                r = fail_char(p, "after object key");
        lk_value *item = NULL;
        if (r == 0) {
                p->pos++;
                r = parse_value(p, &item);
        }
        if (r == 0)
                lk_value_map_put(map, key, key_len, item);
        lk_free(key);
        return r;
}

static int parse_members(parser *p, lk_value *map) {
        int r;
        do {
                r = parse_member(p, map);
                if (r < 0)
                        return r;
                r = after_element(p, '}', "after object key:value pair");
        } while (r > 0);
        return r;
}

static int parse_object(parser *p, lk_value **ret) {
        int r = enter(p);
        if (r < 0)
                return r;
        lk_value *m = lk_value_map();
        if (peek(p) == '}')
                p->pos++;
        else
                r = parse_members(p, m);
        if (r < 0) {
                lk_value_unref(m);
                return r;
        }
        p->depth--;
        *ret = m;
        return 0;
}

static int parse_string_value(parser *p, lk_value **ret) {
        int r = parse_string(p);
        if (r < 0)
                return r;
        *ret = lk_value_string(lk_buf_str(&p->text), p->text.len);
        return 0;
}

static int parse_value(parser *p, lk_value **ret) {
        skip_space(p);
        int c = peek(p);
        switch (c) {
        case -1:
                return fail_eof(p);
        case '{':
                return parse_object(p, ret);
        case '[':
                return parse_array(p, ret);
        case '"':
                return parse_string_value(p, ret);
        case 't':
                return parse_literal(p, "true", ret);
        case 'f':
                return parse_literal(p, "false", ret);
        case 'n':
                return parse_literal(p, "null", ret);
        }
        if (c == '-' || is_digit(c))
                return parse_number(p, ret);
        return fail_char(p, "looking for beginning of value");
}

int lk_value_from_json(const char *text, size_t len, lk_value **ret_value, lk_err *err) {
        parser p = {.s = (const unsigned char *)text, .len = len, .err = err, .text = LK_BUF_INIT};
        lk_value *v = NULL;
        int r = parse_value(&p, &v);
        if (r == 0) {
                skip_space(&p);
                if (p.pos < p.len)
                        r = fail_char(&p, "after top-level value");
        }
        if (r == 0 && p.has_bad_number)
                r = fail_bad_number(&p);
        lk_buf_done(&p.text);
        if (r < 0) {
                lk_value_unref(v);
                return r;
        }
        *ret_value = v;
        return 0;
}

/* ---- writing ---- */

static void put_json(const lk_value *v, lk_buf *out);

/* |z| in decimal (lk_free it); GMP's own buffer would need GMP's free. */
static char *z_digits(const mpz_t z, size_t *ret_len) {
        char *s = lk_malloc(mpz_sizeinbase(z, 10) + 2);
        mpz_get_str(s, 10, z);
        *ret_len = strlen(s);
        return s;
}

/* Bytes json.Marshal writes as they are: printable ASCII (DEL too) but
 * for the quote, the backslash and, against HTML sniffing, <, > and &. */
static bool html_safe(unsigned char c) {
        return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}

static void put_ascii_escape(lk_buf *out, unsigned char c) {
        static const char hex[] = "0123456789abcdef";
        switch (c) {
        case '"':
                lk_buf_puts(out, "\\\"");
                break;
        case '\\':
                lk_buf_puts(out, "\\\\");
                break;
        case '\n':
                lk_buf_puts(out, "\\n");
                break;
        case '\r':
                lk_buf_puts(out, "\\r");
                break;
        case '\t':
                lk_buf_puts(out, "\\t");
                break;
        default: {
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                lk_buf_append(out, u, sizeof u);
        }
        }
}

/* Whether json.Marshal writes the rune (-1: invalid UTF-8) as it is. */
static bool written_as_is(int32_t r) {
        if (r < 0)
                return false;
        if (r < 0x80)
                return html_safe((unsigned char)r);
        /* JavaScript would end a line at U+2028 and U+2029. */
        return r != 0x2028 && r != 0x2029;
}

/* Go's encodeState.string with HTML escaping, as json.Marshal uses it. */
static void put_string(lk_buf *out, const char *s, size_t len) {
        const unsigned char *u = (const unsigned char *)s;
        size_t start = 0, i = 0;
        lk_buf_putc(out, '"');
        while (i < len) {
                size_t size = 1;
                int32_t r = u[i] < 0x80 ? u[i] : lk_utf8_decode(u + i, len - i, &size);
                if (written_as_is(r)) {
                        i += size;
                        continue;
                }
                lk_buf_append(out, s + start, i - start);
                if (r < 0)
                        lk_buf_puts(out, "\\ufffd");
                else if (r < 0x80)
                        put_ascii_escape(out, u[i]);
                else
                        lk_buf_printf(out, "\\u%04x", (unsigned)r);
                i += size;
                start = i;
        }
        lk_buf_append(out, s + start, i - start);
        lk_buf_putc(out, '"');
}

/* strconv's %f of the shortest digits d[0..nd) with the point at dp. */
static void put_fixed(lk_buf *out, const char *d, int nd, int dp) {
        if (dp > 0) {
                int m = nd < dp ? nd : dp;
                lk_buf_append(out, d, (size_t)m);
                for (; m < dp; m++)
                        lk_buf_putc(out, '0');
        } else {
                lk_buf_putc(out, '0');
        }
        if (nd <= dp)
                return;
        lk_buf_putc(out, '.');
        for (int j = dp; j < nd; j++)
                lk_buf_putc(out, j >= 0 ? d[j] : '0');
}

/* strconv's %e of the shortest digits, with the exponent unpadded as
 * encoding/json cleans it up ("1e-07" -> "1e-7"; positive exponents are
 * never below 21 here). */
static void put_exponent(lk_buf *out, const char *d, int nd, int dp) {
        lk_buf_putc(out, d[0]);
        if (nd > 1) {
                lk_buf_putc(out, '.');
                lk_buf_append(out, d + 1, (size_t)nd - 1);
        }
        lk_buf_printf(out, "e%c%d", dp - 1 < 0 ? '-' : '+', abs(dp - 1));
}

/* As encoding/json's floatEncoder: like ES6 number to string. */
static void put_float(lk_buf *out, double f) {
        if (isnan(f) || isinf(f)) {
                lk_buf_puts(out, "null");
                return;
        }
        if (f == 0) {
                lk_buf_puts(out, signbit(f) ? "-0" : "0");
                return;
        }
        /* NewFromFloat holds strconv's shortest digits, trailing zeros
         * dropped: the digits are the coefficient, the point follows
         * from the exponent. */
        lk_decimal d;
        lk_decimal_init(&d);
        lk_decimal_from_double(&d, fabs(f), NULL);
        size_t nd;
        char *digits = z_digits(d.coefficient, &nd);
        int dp = d.exponent + (int)nd;
        if (f < 0)
                lk_buf_putc(out, '-');
        if (fabs(f) < 1e-6 || fabs(f) >= 1e21)
                put_exponent(out, digits, (int)nd, dp);
        else
                put_fixed(out, digits, (int)nd, dp);
        lk_free(digits);
        lk_decimal_clear(&d);
}

static void put_bigint(lk_buf *out, const mpz_t z) {
        size_t n;
        char *s = z_digits(z, &n);
        lk_buf_append(out, s, n);
        lk_free(s);
}

static void put_bytes(lk_buf *out, const unsigned char *data, size_t len) {
        static const char hex[] = "0123456789abcdef";
        lk_buf_puts(out, "\"0x");
        for (size_t i = 0; i < len; i++) {
                char h[2] = {hex[data[i] >> 4], hex[data[i] & 15]};
                lk_buf_append(out, h, 2);
        }
        lk_buf_putc(out, '"');
}

static void put_array(lk_buf *out, const lk_value *v) {
        lk_buf_putc(out, '[');
        for (size_t i = 0; i < lk_value_array_len(v); i++) {
                if (i)
                        lk_buf_putc(out, ',');
                put_json(lk_value_array_at(v, i), out);
        }
        lk_buf_putc(out, ']');
}

typedef struct sorted_entry {
        const char *key;
        size_t key_len;
        const lk_value *value;
} sorted_entry;

/* Go compares strings bytewise, a prefix first. */
static int compare_keys(const void *a, const void *b) {
        const sorted_entry *x = a, *y = b;
        size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
        int c = n ? memcmp(x->key, y->key, n) : 0;
        if (c)
                return c;
        return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* A map with its keys sorted, as encoding/json writes it ({"k":v,...})
 * or as fmt's %v does (map[k:v ...]). */
static void put_map(lk_buf *out, const lk_value *v, bool go_format) {
        size_t n = lk_value_map_len(v);
        sorted_entry *e = lk_malloc((n ? n : 1) * sizeof *e);
        for (size_t i = 0; i < n; i++)
                e[i].value = lk_value_map_at(v, i, &e[i].key, &e[i].key_len);
        qsort(e, n, sizeof *e, compare_keys);
        lk_buf_puts(out, go_format ? "map[" : "{");
        for (size_t i = 0; i < n; i++) {
                if (i)
                        lk_buf_putc(out, go_format ? ' ' : ',');
                if (go_format)
                        lk_buf_append(out, e[i].key, e[i].key_len);
                else
                        put_string(out, e[i].key, e[i].key_len);
                lk_buf_putc(out, ':');
                if (go_format)
                        lk_value_format_go(e[i].value, out);
                else
                        put_json(e[i].value, out);
        }
        lk_buf_putc(out, go_format ? ']' : '}');
        lk_free(e);
}

static void put_scalar(const lk_value *v, lk_buf *out) {
        size_t len;
        switch (lk_value_type_of(v)) {
        case LK_VALUE_BOOL:
                lk_buf_puts(out, lk_value_get_bool(v) ? "true" : "false");
                break;
        case LK_VALUE_INT64:
                lk_buf_printf(out, "%lld", (long long)lk_value_get_int64(v));
                break;
        case LK_VALUE_UINT64:
                lk_buf_printf(out, "%llu", (unsigned long long)lk_value_get_uint64(v));
                break;
        case LK_VALUE_BIGINT:
                put_bigint(out, *lk_value_get_bigint(v));
                break;
        case LK_VALUE_FLOAT64:
                put_float(out, lk_value_get_float64(v));
                break;
        case LK_VALUE_DECIMAL:
                lk_buf_putc(out, '"');
                lk_decimal_format(lk_value_get_decimal(v), out);
                lk_buf_putc(out, '"');
                break;
        case LK_VALUE_STRING: {
                const char *s = lk_value_get_string(v, &len);
                put_string(out, s, len);
                break;
        }
        case LK_VALUE_BYTES: {
                const unsigned char *b = lk_value_get_bytes(v, &len);
                put_bytes(out, b, len);
                break;
        }
        case LK_VALUE_ERROR: {
                const char *msg = lk_value_get_error(v);
                put_string(out, msg, strlen(msg));
                break;
        }
        default:
                lk_buf_puts(out, "null");
                break;
        }
}

static void put_json(const lk_value *v, lk_buf *out) {
        if (!v) {
                lk_buf_puts(out, "null");
                return;
        }
        switch (lk_value_type_of(v)) {
        case LK_VALUE_ARRAY:
                put_array(out, v);
                break;
        case LK_VALUE_MAP:
                put_map(out, v, false);
                break;
        default:
                put_scalar(v, out);
                break;
        }
}

void lk_value_to_json(const lk_value *v, lk_buf *out) {
        put_json(v, out);
}

/* ---- Go's fmt %v ---- */

/* %v of a float64: %g with the shortest digits that read back as v, in
 * exponent form when the exponent is < -4 or >= 6 (strconv's threshold
 * for the shortest precision): "123456", "1e+06", "1.234567e+06",
 * "0.30000000000000004", "1e-05". */
static void format_go_float(lk_buf *b, double v) {
        if (isnan(v)) {
                lk_buf_puts(b, "NaN");
                return;
        }
        if (isinf(v)) {
                lk_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
                return;
        }
        char text[64];
        int digits = 1;
        for (; digits < 17; digits++) {
                snprintf(text, sizeof text, "%.*e", digits - 1, v);
                if (strtod(text, NULL) == v)
                        break;
        }
        snprintf(text, sizeof text, "%.*e", digits - 1, v);
        int exp = atoi(strchr(text, 'e') + 1);
        if (exp < -4 || exp >= 6)
                lk_buf_puts(b, text);
        else
                lk_buf_printf(b, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, v);
}

void lk_value_format_go(const lk_value *v, lk_buf *out) {
        size_t len;
        switch (v ? lk_value_type_of(v) : LK_VALUE_NULL) {
        case LK_VALUE_NULL: lk_buf_puts(out, "<nil>"); break;
        case LK_VALUE_FLOAT64: format_go_float(out, lk_value_get_float64(v)); break;
        case LK_VALUE_DECIMAL: lk_decimal_format(lk_value_get_decimal(v), out); break;
        case LK_VALUE_STRING: {
                const char *s = lk_value_get_string(v, &len);
                lk_buf_append(out, s, len);
                break;
        }
        case LK_VALUE_ERROR: lk_buf_puts(out, lk_value_get_error(v)); break;
        case LK_VALUE_BYTES: {
                const unsigned char *b = lk_value_get_bytes(v, &len);
                lk_buf_putc(out, '[');
                for (size_t i = 0; i < len; i++)
                        lk_buf_printf(out, i ? " %u" : "%u", b[i]);
                lk_buf_putc(out, ']');
                break;
        }
        case LK_VALUE_ARRAY:
                lk_buf_putc(out, '[');
                for (size_t i = 0; i < lk_value_array_len(v); i++) {
                        if (i)
                                lk_buf_putc(out, ' ');
                        lk_value_format_go(lk_value_array_at(v, i), out);
                }
                lk_buf_putc(out, ']');
                break;
        case LK_VALUE_MAP: put_map(out, v, true); break;
        default: put_scalar(v, out); break; /* bool and integers print as in JSON */
        }
}
