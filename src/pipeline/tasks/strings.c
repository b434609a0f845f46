/* Text and encoding tasks: lowercase, uppercase, hexencode, hexdecode,
 * base64encode, base64decode (Chainlink's task.*.go semantics). */
#include <errno.h>
#include <locale.h>
#include <nettle/base64.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>

#include "../params.h"
#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/hex.h"
#include "linkd/utf8.h"
#include "tasks.h"

/* The input parameter, from $(...), the literal, or input 0. */
static int input_param(const lk_task_call *call, lk_value **ret, lk_err *err) {
        return lk_param(call, "input", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL, LK_PARAM_INPUT), ret, err);
}

static int string_input(const lk_task_call *call, lk_value **holder, const char **s, size_t *len, lk_err *err) {
        int r = input_param(call, holder, err);
        if (r == 0 && (r = lk_param_string(*holder, s, len, err)) < 0)
                lk_err_prefix(err, "input");
        return r;
}

/* Unicode case mapping as Go's strings.ToLower/ToUpper, through the
 * C.UTF-8 locale: made once, immutable after, shared by every thread. */
static locale_t utf8;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void make_utf8_locale(void) {
        utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static void change_case(const lk_task_call *call, lk_task_result *result, bool upper) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_value *holder = NULL;
        const char *s;
        size_t len;
        if (string_input(call, &holder, &s, &len, &result->err) == 0) {
                pthread_once(&utf8_once, make_utf8_locale);
                lk_buf out = LK_BUF_INIT;
                const unsigned char *p = (const unsigned char *)s;
                /* strings.Map, as ToUpper/ToLower use for non-ASCII text:
                 * an invalid byte becomes U+FFFD */
                for (size_t i = 0; i < len;) {
                        size_t n;
                        int32_t r = lk_utf8_decode(p + i, len - i, &n);
                        wint_t cp = r < 0 ? 0xfffd : (wint_t)r;
                        wint_t mapped = utf8 ? (upper ? towupper_l(cp, utf8) : towlower_l(cp, utf8))
                                             : (upper ? towupper(cp) : towlower(cp));
                        lk_utf8_put(&out, (int32_t)mapped);
                        i += n;
                }
                lk_task_ok(result, lk_value_string(lk_buf_str(&out), out.len));
                lk_buf_done(&out);
        }
        lk_value_unref(holder);
}

void lk__task_lowercase(const lk_task_call *call, lk_task_result *result) {
        change_case(call, result, false);
}

void lk__task_uppercase(const lk_task_call *call, lk_task_result *result) {
        change_case(call, result, true);
}

static lk_value *hex_string(const unsigned char *data, size_t len) {
        if (len == 0)
                return lk_value_string("", 0);
        lk_buf out = LK_BUF_INIT;
        lk_buf_puts(&out, "0x");
        lk_buf_put_hex(&out, data, len);
        lk_value *v = lk_value_string(lk_buf_str(&out), out.len);
        lk_buf_done(&out);
        return v;
}

/* MaybeBigIntParam: the integer value of v. */
static int big_int(const lk_value *v, mpz_t out, lk_err *err) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_INT64: mpz_set_si(out, lk_value_get_int64(v)); return 0;
        case LK_VALUE_UINT64: mpz_set_ui(out, lk_value_get_uint64(v)); return 0;
        case LK_VALUE_BIGINT: mpz_set(out, *lk_value_get_bigint(v)); return 0;
        case LK_VALUE_FLOAT64: mpz_set_d(out, lk_value_get_float64(v)); return 0;
        case LK_VALUE_DECIMAL: lk_decimal_to_mpz(lk_value_get_decimal(v), out); return 0;
        case LK_VALUE_STRING:
                if (mpz_set_str(out, lk_value_get_string(v, NULL), 10) == 0)
                        return 0;
                return lk_err_set(err, LK_EBAD_INPUT, "input: unable to convert \"%s\" to big.Int: bad input for task",
                                  lk_value_get_string(v, NULL));
        default:
                return lk_err_set(err, LK_EBAD_INPUT, "input: type %s cannot be converted to *big.Int: bad input for task",
                                  lk_value_type_name(v));
        }
}

/* Tries the input as a string, as bytes, then as a whole number, as
 * Chainlink's hexencode does. */
void lk__task_hexencode(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_value *v = NULL;
        if (input_param(call, &v, &result->err) < 0)
                return;
        lk_value_type type = lk_value_type_of(v);
        if (type == LK_VALUE_STRING || type == LK_VALUE_BYTES) {
                size_t len;
                const unsigned char *data = type == LK_VALUE_STRING ? (const unsigned char *)lk_value_get_string(v, &len)
                                                                    : lk_value_get_bytes(v, &len);
                lk_task_ok(result, hex_string(data, len));
                lk_value_unref(v);
                return;
        }
        lk_decimal d;
        lk_decimal_init(&d);
        lk_err ignored = LK_ERR_INIT;
        if (lk_param_decimal(v, &d, &ignored) == 0 && !lk_decimal_is_integer(&d)) {
                lk_task_fail(result, LK_EBAD_INPUT, "decimal input");
        } else {
                mpz_t n;
                mpz_init(n);
                if (big_int(v, n, &result->err) == 0) {
                        if (mpz_sgn(n) < 0) {
                                lk_task_fail(result, LK_EBAD_INPUT, "negative integer");
                        } else {
                                lk_buf out = LK_BUF_INIT;
                                char *digits = mpz_get_str(NULL, 16, n);
                                lk_buf_printf(&out, "0x%s", digits);
                                void (*gmp_free)(void *, size_t);
                                mp_get_memory_functions(NULL, NULL, &gmp_free);
                                gmp_free(digits, strlen(digits) + 1);
                                lk_task_ok(result, lk_value_string(lk_buf_str(&out), out.len));
                                lk_buf_done(&out);
                        }
                }
                mpz_clear(n);
        }
        lk_decimal_clear(&d);
        lk_value_unref(v);
}

/* Go's %#U of a byte taken as a rune: "U+007A 'z'", without the quoted
 * form for what strconv.IsPrint rejects. */
static void put_rune_u(lk_buf *out, unsigned char c) {
        lk_buf_printf(out, "U+%04X", c);
        bool printable = (c >= 0x20 && c < 0x7f) || (c >= 0xa1 && c != 0xad);
        if (printable) {
                lk_buf_puts(out, " '");
                lk_utf8_put(out, c);
                lk_buf_putc(out, '\'');
        }
}

static void invalid_hex_byte(lk_task_result *result, unsigned char c) {
        lk_buf why = LK_BUF_INIT;
        put_rune_u(&why, c);
        lk_task_fail(result, LK_EBAD_INPUT, "failed to decode hex string: encoding/hex: invalid byte: %s", lk_buf_str(&why));
        lk_buf_done(&why);
}

/* hex.DecodeString's order: a bad character is reported before an odd
 * length, even the last one. */
static void decode_hex(const char *s, size_t len, lk_task_result *result) {
        size_t n = len / 2;
        unsigned char *bytes = lk_malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) {
                int hi = lk_hex_digit((unsigned char)s[2 * i]), lo = lk_hex_digit((unsigned char)s[2 * i + 1]);
                if (hi < 0 || lo < 0) {
                        invalid_hex_byte(result, (unsigned char)(hi < 0 ? s[2 * i] : s[2 * i + 1]));
                        lk_free(bytes);
                        return;
                }
                bytes[i] = (unsigned char)(hi << 4 | lo);
        }
        if (len % 2 && lk_hex_digit((unsigned char)s[len - 1]) < 0)
                invalid_hex_byte(result, (unsigned char)s[len - 1]);
        else if (len % 2)
                lk_task_fail(result, LK_EBAD_INPUT, "failed to decode hex string: encoding/hex: odd length hex string");
        else
                lk_task_ok(result, lk_value_bytes(bytes, n));
        lk_free(bytes);
}

void lk__task_hexdecode(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_value *holder = NULL;
        const char *s;
        size_t len;
        if (string_input(call, &holder, &s, &len, &result->err) == 0) {
                if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
                        lk_task_fail(result, LK_EBAD_INPUT, "hex string must have prefix 0x");
                else
                        decode_hex(s + 2, len - 2, result);
        }
        lk_value_unref(holder);
}

void lk__task_base64encode(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_value *v = NULL, *bytes = NULL;
        if (input_param(call, &v, &result->err) < 0)
                return;
        size_t len;
        const unsigned char *data;
        if (lk_value_type_of(v) == LK_VALUE_STRING) {
                data = (const unsigned char *)lk_value_get_string(v, &len);
        } else if (lk_param_bytes(v, &bytes, &result->err) == 0) {
                data = lk_value_get_bytes(bytes, &len);
        } else {
                lk_err_prefix(&result->err, "input");
                lk_value_unref(v);
                return;
        }
        char *encoded = lk_malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
        base64_encode_raw(encoded, len, data);
        encoded[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
        lk_task_ok(result, lk_value_string(encoded, BASE64_ENCODE_RAW_LENGTH(len)));
        lk_free(encoded);
        lk_value_unref(bytes);
        lk_value_unref(v);
}

static int base64_value(unsigned char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static bool is_newline(char c) {
        return c == '\n' || c == '\r';
}

/* One quantum of Go's base64.StdEncoding.Decode: up to four characters,
 * newlines skipped, padding checked.  Returns the bytes decoded (0 to 3)
 * and advances *si; -1 with *bad set to Go's CorruptInputError offset;
 * -2 at a clean end of input. */
static int decode_quantum(const char *s, size_t len, size_t *si, unsigned char out[3], size_t *bad) {
        int sextets[4];
        size_t j = 0;
        for (; j < 4; j++) {
                if (*si == len) {
                        if (j == 0)
                                return -2;
                        *bad = *si - j; /* StdEncoding pads: a short quantum is corrupt */
                        return -1;
                }
                char c = s[(*si)++];
                int v = base64_value((unsigned char)c);
                if (v >= 0) {
                        sextets[j] = v;
                        continue;
                }
                if (is_newline(c)) {
                        j--;
                        continue;
                }
                if (c != '=' || j < 2) {
                        *bad = *si - 1;
                        return -1;
                }
                if (j == 2) { /* "==" expected: the second may come after newlines */
                        while (*si < len && is_newline(s[*si]))
                                (*si)++;
                        if (*si == len) {
                                *bad = len;
                                return -1;
                        }
                        if (s[*si] != '=') {
                                *bad = *si - 1;
                                return -1;
                        }
                        (*si)++;
                }
                while (*si < len && is_newline(s[*si]))
                        (*si)++;
                if (*si < len) { /* trailing garbage after the padding */
                        *bad = *si;
                        return -1;
                }
                break;
        }
        unsigned bits = 0;
        for (size_t k = 0; k < 4; k++)
                bits = bits << 6 | (unsigned)(k < j ? sextets[k] : 0);
        out[0] = (unsigned char)(bits >> 16);
        out[1] = (unsigned char)(bits >> 8);
        out[2] = (unsigned char)bits;
        return (int)j - 1; /* 4 sextets: 3 bytes; 3: 2; 2: 1 */
}

void lk__task_base64decode(const lk_task_call *call, lk_task_result *result) {
        if (lk_check_inputs(call, 0, 1, 0, &result->err) < 0)
                return;
        lk_value *holder = NULL;
        const char *s;
        size_t len;
        if (string_input(call, &holder, &s, &len, &result->err) == 0) {
                lk_buf out = LK_BUF_INIT;
                size_t si = 0, bad = 0;
                int n;
                unsigned char bytes[3];
                while ((n = decode_quantum(s, len, &si, bytes, &bad)) >= 0) {
                        lk_buf_append(&out, bytes, (size_t)n);
                        if (n < 3)
                                break; /* padding ends the input */
                }
                if (n == -1)
                        lk_task_fail(result, LK_EBAD_INPUT,
                                     "failed to decode base64 string: illegal base64 data at input byte %zu", bad);
                else
                        lk_task_ok(result, lk_value_bytes(out.data, out.len));
                lk_buf_done(&out);
        }
        lk_value_unref(holder);
}
