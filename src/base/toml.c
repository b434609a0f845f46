/* TOML 1.0.0 parser (see include/linkd/toml.h).
 *
 * One pass of recursive descent over bytes.  Tables and arrays are
 * allocated as `node`s: an lk_toml_value followed by the bookkeeping that
 * the redefinition rules need, and a hash index so that a table with
 * thousands of keys does not make parsing quadratic.  The indexes are
 * freed before the tree is handed out, so the caller owns nothing but
 * what the header describes and lk_toml_free releases. */
#include "linkd/toml.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/hex.h"
#include "linkd/buf.h"

/* Deeper documents are rejected, so that this parser, lk_toml_free and
 * every consumer that walks the tree recursively have a bounded stack. */
#define MAX_DEPTH 128
/* Smaller tables are searched linearly, which beats hashing there. */
#define INDEX_MIN 16
/* Longest piece of a bad token quoted back in an error message. */
#define TOKEN_SHOWN 40

enum {
        F_EXPLICIT = 1u << 0, /* table opened by [header], or a [[header]] element */
        F_FROZEN = 1u << 1,   /* inline table or array value: immutable */
        F_AOT = 1u << 2,      /* array created by [[header]] */
};

typedef struct node {
        lk_toml_value v; /* first member: a node is freed as its value */
        unsigned flags;
        /* The section (parser.gen) in which dotted keys created or entered
         * this table, 0 if never.  Once that section is over, the table is
         * closed like one defined by a header. */
        uint64_t dotted_gen;
        size_t cap;    /* allocated items */
        size_t *index; /* tables: open addressing, item index + 1, 0 = free */
        size_t index_cap;
} node;

typedef struct keypart {
        char *s;
        size_t len;
        lk_toml_pos pos;
} keypart;

typedef struct keypath {
        keypart *parts;
        size_t n, cap;
} keypath;

typedef struct parser {
        const char *s;
        size_t len;
        size_t pos;
        uint32_t line;
        size_t line_start; /* offset of the current line's first byte */
        /* Bumped by every table header: a table that dotted keys created
         * or extended is closed to them once its section is over. */
        uint64_t gen;
        lk_toml_value *root;
        lk_toml_value *section; /* the table the last header opened */
        size_t section_depth;
        lk_err *err;
} parser;

static int parse_value(parser *p, size_t depth, lk_toml_value **ret);
static int parse_keyval(parser *p, lk_toml_value *table, size_t depth);

/* ---- positions, errors ---- */

static lk_toml_pos pos_of(const parser *p, size_t offset) {
        return (lk_toml_pos){p->line, (uint32_t)(offset - p->line_start + 1)};
}

static lk_toml_pos pos_at(const parser *p) {
        return pos_of(p, p->pos);
}

LK_PRINTF(3, 4)
static int fail_at(parser *p, lk_toml_pos at, const char *fmt, ...) {
        char msg[LK_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return lk_err_set_at(p->err, -EINVAL, at.line, at.column, "%s", msg);
}

static size_t newline_len(const parser *p, size_t at) {
        if (at < p->len && p->s[at] == '\n')
                return 1;
        if (at + 1 < p->len && p->s[at] == '\r' && p->s[at + 1] == '\n')
                return 2;
        return 0;
}

static uint32_t decode_utf8(const unsigned char *s) {
        if (s[0] < 0x80)
                return s[0];
        if (s[0] < 0xE0)
                return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
        if (s[0] < 0xF0)
                return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
               (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

/* Names the character at offset for a message: 'x', U+0007, end of line.
 * The input is valid UTF-8 by the time anything is described. */
static const char *describe(const parser *p, size_t at, char *buf, size_t size) {
        if (at >= p->len)
                return "end of input";
        if (newline_len(p, at))
                return "end of line";
        unsigned char c = (unsigned char)p->s[at];
        if (c >= 0x20 && c < 0x7f)
                snprintf(buf, size, "'%c'", c);
        else
                snprintf(buf, size, "U+%04" PRIX32, decode_utf8((const unsigned char *)p->s + at));
        return buf;
}

static int fail_found_at(parser *p, size_t at, const char *what) {
        char buf[16];
        return fail_at(p, pos_of(p, at), "%s, found %s", what, describe(p, at, buf, sizeof buf));
}

static int fail_found(parser *p, const char *what) {
        return fail_found_at(p, p->pos, what);
}

static int fail_depth(parser *p, lk_toml_pos at) {
        return fail_at(p, at, "nesting deeper than %d levels", MAX_DEPTH);
}

/* ---- key names for messages ---- */

static bool is_bare_key_char(int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

static bool is_bare_key(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!is_bare_key_char((unsigned char)s[i]))
                        return false;
        return len > 0;
}

static void copy_label(lk_buf *b, char *out, size_t size) {
        snprintf(out, size, "%s", lk_buf_str(b));
        lk_buf_done(b);
}

/* The first n parts of kp as one quoted name: "a.b". */
static const char *key_label(const keypath *kp, size_t n, char *out, size_t size) {
        lk_buf b = LK_BUF_INIT;
        lk_buf_putc(&b, '"');
        for (size_t i = 0; i < n; i++) {
                if (i)
                        lk_buf_putc(&b, '.');
                lk_buf_put_json_escaped(&b, kp->parts[i].s, kp->parts[i].len);
        }
        lk_buf_putc(&b, '"');
        copy_label(&b, out, size);
        return out;
}

/* kp as it would be written in a table header: a."b c". */
static const char *header_label(const keypath *kp, char *out, size_t size) {
        lk_buf b = LK_BUF_INIT;
        for (size_t i = 0; i < kp->n; i++) {
                const keypart *k = &kp->parts[i];
                if (i)
                        lk_buf_putc(&b, '.');
                if (is_bare_key(k->s, k->len)) {
                        lk_buf_append(&b, k->s, k->len);
                        continue;
                }
                lk_buf_putc(&b, '"');
                lk_buf_put_json_escaped(&b, k->s, k->len);
                lk_buf_putc(&b, '"');
        }
        copy_label(&b, out, size);
        return out;
}

/* "an integer", "an inline table", ...: what a key already holds. */
static const char *kind_of(const lk_toml_value *v) {
        unsigned flags = 0;
        if (v->type == LK_TOML_TABLE || v->type == LK_TOML_ARRAY)
                flags = ((const node *)v)->flags;
        switch (v->type) {
        case LK_TOML_STRING: return "a string";
        case LK_TOML_INTEGER: return "an integer";
        case LK_TOML_FLOAT: return "a float";
        case LK_TOML_BOOL: return "a boolean";
        case LK_TOML_DATETIME:
        case LK_TOML_DATETIME_LOCAL:
        case LK_TOML_DATE_LOCAL:
        case LK_TOML_TIME_LOCAL: return "a date-time";
        case LK_TOML_ARRAY: return flags & F_AOT ? "an array of tables" : "a static array";
        case LK_TOML_TABLE: return flags & F_FROZEN ? "an inline table" : "a table";
        }
        return "a value";
}

/* ---- tree building ---- */

static node *as_node(lk_toml_value *v) {
        return (node *)v;
}

static lk_toml_value *new_scalar(lk_toml_pos pos) {
        lk_toml_value *v = lk_calloc(1, sizeof *v);
        v->pos = pos;
        return v;
}

static node *new_node(lk_toml_type type, lk_toml_pos pos, unsigned flags) {
        node *n = lk_calloc(1, sizeof *n);
        n->v.type = type;
        n->v.pos = pos;
        n->flags = flags;
        return n;
}

static char *dup_bytes(const char *s, size_t len) {
        char *copy = lk_malloc(len + 1);
        if (len)
                memcpy(copy, s, len);
        copy[len] = '\0';
        return copy;
}

static uint64_t hash_bytes(const char *s, size_t len) {
        uint64_t h = 14695981039346656037u;
        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char)s[i]) * 1099511628211u;
        return h;
}

static void index_put(node *t, size_t item) {
        const lk_toml_kv *kv = &t->v.u.table.items[item];
        size_t mask = t->index_cap - 1;
        size_t i = (size_t)hash_bytes(kv->key, kv->key_len) & mask;
        while (t->index[i])
                i = (i + 1) & mask;
        t->index[i] = item + 1;
}

/* Indexes the item just appended, rebuilding at half load. */
static void index_add(node *t) {
        size_t len = t->v.u.table.len;
        if (len < INDEX_MIN)
                return;
        if (t->index && len * 2 <= t->index_cap) {
                index_put(t, len - 1);
                return;
        }
        lk_free(t->index);
        t->index_cap = t->index_cap ? t->index_cap * 2 : INDEX_MIN * 4;
        t->index = lk_calloc(t->index_cap, sizeof *t->index);
        for (size_t i = 0; i < len; i++)
                index_put(t, i);
}

static lk_toml_kv *table_find(lk_toml_value *tv, const char *key, size_t len) {
        node *t = as_node(tv);
        lk_toml_kv *items = tv->u.table.items;
        if (!t->index) {
                for (size_t i = 0; i < tv->u.table.len; i++)
                        if (items[i].key_len == len && memcmp(items[i].key, key, len) == 0)
                                return &items[i];
                return NULL;
        }
        size_t mask = t->index_cap - 1;
        for (size_t i = (size_t)hash_bytes(key, len) & mask; t->index[i]; i = (i + 1) & mask) {
                lk_toml_kv *kv = &items[t->index[i] - 1];
                if (kv->key_len == len && memcmp(kv->key, key, len) == 0)
                        return kv;
        }
        return NULL;
}

static lk_toml_kv *table_add(lk_toml_value *tv, const keypart *k, lk_toml_value *v) {
        node *t = as_node(tv);
        if (tv->u.table.len == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 4;
                tv->u.table.items = lk_realloc(tv->u.table.items, t->cap * sizeof(lk_toml_kv));
        }
        lk_toml_kv *kv = &tv->u.table.items[tv->u.table.len++];
        kv->key = dup_bytes(k->s, k->len);
        kv->key_len = k->len;
        kv->key_pos = k->pos;
        kv->value = v;
        index_add(t);
        return kv;
}

static void array_push(lk_toml_value *av, lk_toml_value *item) {
        node *a = as_node(av);
        if (av->u.array.len == a->cap) {
                a->cap = a->cap ? a->cap * 2 : 4;
                av->u.array.items = lk_realloc(av->u.array.items, a->cap * sizeof(lk_toml_value *));
        }
        av->u.array.items[av->u.array.len++] = item;
}

/* Frees the parse-time indexes below v. */
static void strip(lk_toml_value *v) {
        if (v->type == LK_TOML_ARRAY) {
                for (size_t i = 0; i < v->u.array.len; i++)
                        strip(v->u.array.items[i]);
        } else if (v->type == LK_TOML_TABLE) {
                lk_freep(&as_node(v)->index);
                as_node(v)->index_cap = 0;
                for (size_t i = 0; i < v->u.table.len; i++)
                        strip(v->u.table.items[i].value);
        }
}

static void discard(lk_toml_value *v) {
        strip(v);
        lk_toml_free(v);
}

/* ---- whitespace, comments, newlines ---- */

static int peek(const parser *p) {
        return p->pos < p->len ? (unsigned char)p->s[p->pos] : EOF;
}

static bool is_bad_control(unsigned char c) {
        return (c < 0x20 && c != '\t') || c == 0x7f;
}

static void skip_ws(parser *p) {
        while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
                p->pos++;
}

static void skip_newline(parser *p, size_t n) {
        p->pos += n;
        p->line++;
        p->line_start = p->pos;
}

static int fail_control(parser *p, const char *where) {
        char buf[16];
        return fail_at(p, pos_at(p), "control character %s is not allowed in %s",
                       describe(p, p->pos, buf, sizeof buf), where);
}

/* Skips a comment up to, not over, the end of its line. */
static int skip_comment(parser *p) {
        p->pos++;
        while (p->pos < p->len && !newline_len(p, p->pos)) {
                if (is_bad_control((unsigned char)p->s[p->pos]))
                        return fail_control(p, "comments");
                p->pos++;
        }
        return 0;
}

/* Inside arrays, values may be separated by newlines and comments too. */
static int skip_space(parser *p) {
        for (;;) {
                skip_ws(p);
                size_t nl = newline_len(p, p->pos);
                if (nl) {
                        skip_newline(p, nl);
                        continue;
                }
                if (peek(p) != '#')
                        return 0;
                if (skip_comment(p) < 0)
                        return -EINVAL;
        }
}

/* ---- UTF-8 ---- */

/* Length of the well-formed multi-byte UTF-8 sequence at s (n bytes
 * left), or 0: overlongs, surrogates and code points past U+10FFFF are
 * ill-formed. */
static size_t utf8_len(const unsigned char *s, size_t n) {
        unsigned char lo = 0x80, hi = 0xBF;
        size_t len;
        if (s[0] >= 0xC2 && s[0] <= 0xDF) {
                len = 2;
        } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
                len = 3;
                lo = s[0] == 0xE0 ? 0xA0 : 0x80;
                hi = s[0] == 0xED ? 0x9F : 0xBF;
        } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
                len = 4;
                lo = s[0] == 0xF0 ? 0x90 : 0x80;
                hi = s[0] == 0xF4 ? 0x8F : 0xBF;
        } else {
                return 0;
        }
        if (n < len || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
        return len;
}

/* Checked once up front, so that everything after may assume it. */
static int check_utf8(parser *p) {
        const unsigned char *s = (const unsigned char *)p->s;
        uint32_t line = p->line;
        size_t line_start = p->line_start;
        for (size_t i = p->pos; i < p->len;) {
                if (s[i] < 0x80) {
                        if (s[i++] == '\n') {
                                line++;
                                line_start = i;
                        }
                        continue;
                }
                size_t n = utf8_len(s + i, p->len - i);
                if (!n)
                        return fail_at(p, (lk_toml_pos){line, (uint32_t)(i - line_start + 1)},
                                       "invalid UTF-8 sequence starting with byte 0x%02X", s[i]);
                i += n;
        }
        return 0;
}

static void put_utf8(lk_buf *b, uint32_t cp) {
        char out[4];
        size_t n;
        if (cp < 0x80) {
                out[0] = (char)cp;
                n = 1;
        } else if (cp < 0x800) {
                out[0] = (char)(0xC0 | cp >> 6);
                out[1] = (char)(0x80 | (cp & 0x3F));
                n = 2;
        } else if (cp < 0x10000) {
                out[0] = (char)(0xE0 | cp >> 12);
                out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
                out[2] = (char)(0x80 | (cp & 0x3F));
                n = 3;
        } else {
                out[0] = (char)(0xF0 | cp >> 18);
                out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
                out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
                out[3] = (char)(0x80 | (cp & 0x3F));
                n = 4;
        }
        lk_buf_append(b, out, n);
}

/* ---- strings ---- */

/* \uXXXX or \UXXXXXXXX at the cursor. */
static int parse_ucn(parser *p, int ndigits, lk_buf *b) {
        lk_toml_pos at = pos_at(p);
        char letter = p->s[p->pos + 1];
        uint32_t cp = 0;
        for (int i = 0; i < ndigits; i++) {
                size_t k = p->pos + 2 + (size_t)i;
                int d = k < p->len ? lk_hex_digit((unsigned char)p->s[k]) : -1;
                if (d < 0)
                        return fail_at(p, at, "escape \\%c needs %d hexadecimal digits", letter,
                                       ndigits);
                cp = cp << 4 | (uint32_t)d;
        }
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
                return fail_at(p, at, "escape \\%c%0*" PRIX32 " is not a Unicode scalar value",
                               letter, ndigits, cp);
        put_utf8(b, cp);
        p->pos += 2 + (size_t)ndigits;
        return 0;
}

static int parse_escape(parser *p, lk_buf *b) {
        static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
        lk_toml_pos at = pos_at(p);
        int c = p->pos + 1 < p->len ? (unsigned char)p->s[p->pos + 1] : EOF;
        const char *hit = c > 0 ? strchr(from, c) : NULL;
        if (hit) {
                lk_buf_putc(b, to[hit - from]);
                p->pos += 2;
                return 0;
        }
        if (c == 'u' || c == 'U')
                return parse_ucn(p, c == 'u' ? 4 : 8, b);
        if (c > 0x20 && c < 0x7f)
                return fail_at(p, at, "invalid escape sequence \\%c", c);
        char buf[16];
        return fail_at(p, at, "invalid escape sequence: backslash followed by %s",
                       describe(p, p->pos + 1, buf, sizeof buf));
}

/* Copies the ordinary character at the cursor. */
static int plain_char(parser *p, lk_buf *b) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (is_bad_control(c))
                return fail_control(p, "strings");
        lk_buf_putc(b, (char)c);
        p->pos++;
        return 0;
}

/* "..." or '...' (escapes only in the former). */
static int parse_oneline(parser *p, lk_buf *b) {
        lk_toml_pos open = pos_at(p);
        char quote = p->s[p->pos++];
        for (;;) {
                if (p->pos >= p->len || newline_len(p, p->pos))
                        return fail_at(p, open, "unterminated string");
                char c = p->s[p->pos];
                if (c == quote) {
                        p->pos++;
                        return 0;
                }
                int r = c == '\\' && quote == '"' ? parse_escape(p, b) : plain_char(p, b);
                if (r < 0)
                        return r;
        }
}

/* A run of quotes in a multi-line string: up to two are content, three
 * end the string, and up to two more just before those are content too. */
static int ml_quotes(parser *p, char quote, lk_buf *b, bool *done) {
        size_t n = 0;
        while (p->pos + n < p->len && p->s[p->pos + n] == quote)
                n++;
        if (n > 5)
                return fail_at(p, pos_at(p), "too many quotes in a row in multi-line string");
        *done = n >= 3;
        for (size_t i = *done ? 3 : 0; i < n; i++)
                lk_buf_putc(b, quote);
        p->pos += n;
        return 0;
}

/* A backslash at the end of a line swallows all whitespace and newlines
 * that follow; anything else is an ordinary escape. */
static int ml_backslash(parser *p, lk_buf *b) {
        size_t i = p->pos + 1;
        while (i < p->len && (p->s[i] == ' ' || p->s[i] == '\t'))
                i++;
        if (!newline_len(p, i))
                return parse_escape(p, b);
        p->pos = i;
        for (;;) {
                skip_ws(p);
                size_t nl = newline_len(p, p->pos);
                if (!nl)
                        return 0;
                skip_newline(p, nl);
        }
}

/* """...""" or '''...''' at the cursor.  CRLF in the text becomes LF, so
 * that a file's line endings do not change its values. */
static int parse_multiline(parser *p, lk_buf *b) {
        lk_toml_pos open = pos_at(p);
        char quote = p->s[p->pos];
        bool done = false;
        p->pos += 3;
        size_t nl = newline_len(p, p->pos);
        if (nl)
                skip_newline(p, nl);
        while (!done) {
                if (p->pos >= p->len)
                        return fail_at(p, open, "unterminated multi-line string");
                char c = p->s[p->pos];
                int r = 0;
                if (c == quote) {
                        r = ml_quotes(p, quote, b, &done);
                } else if (c == '\\' && quote == '"') {
                        r = ml_backslash(p, b);
                } else if ((nl = newline_len(p, p->pos))) {
                        lk_buf_putc(b, '\n');
                        skip_newline(p, nl);
                } else {
                        r = plain_char(p, b);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool at_triple_quote(const parser *p) {
        return p->pos + 2 < p->len && p->s[p->pos + 1] == p->s[p->pos] &&
               p->s[p->pos + 2] == p->s[p->pos];
}

static int parse_string_value(parser *p, lk_toml_value **ret) {
        lk_toml_pos at = pos_at(p);
        lk_buf b = LK_BUF_INIT;
        int r = at_triple_quote(p) ? parse_multiline(p, &b) : parse_oneline(p, &b);
        if (r < 0) {
                lk_buf_done(&b);
                return r;
        }
        lk_toml_value *v = new_scalar(at);
        v->type = LK_TOML_STRING;
        v->u.string.ptr = lk_buf_steal(&b, &v->u.string.len);
        *ret = v;
        return 0;
}

/* ---- keys ---- */

static void keypath_push(keypath *kp, char *s, size_t len, lk_toml_pos pos) {
        if (kp->n == kp->cap) {
                kp->cap = kp->cap ? kp->cap * 2 : 4;
                kp->parts = lk_realloc(kp->parts, kp->cap * sizeof *kp->parts);
        }
        kp->parts[kp->n++] = (keypart){s, len, pos};
}

static void keypath_done(keypath *kp) {
        for (size_t i = 0; i < kp->n; i++)
                lk_free(kp->parts[i].s);
        lk_free(kp->parts);
}

static int parse_simple_key(parser *p, keypath *kp) {
        lk_toml_pos at = pos_at(p);
        int c = peek(p);
        lk_buf b = LK_BUF_INIT;
        if (c == '"' || c == '\'') {
                if (at_triple_quote(p))
                        return fail_at(p, at, "multi-line strings cannot be keys");
                if (parse_oneline(p, &b) < 0) {
                        lk_buf_done(&b);
                        return -EINVAL;
                }
        } else {
                size_t start = p->pos;
                while (p->pos < p->len && is_bare_key_char((unsigned char)p->s[p->pos]))
                        p->pos++;
                if (p->pos == start)
                        return fail_found(p, "expected a key");
                lk_buf_append(&b, p->s + start, p->pos - start);
        }
        size_t len;
        char *s = lk_buf_steal(&b, &len);
        keypath_push(kp, s, len, at);
        return 0;
}

/* A simple or dotted key, and the whitespace after it. */
static int parse_key(parser *p, keypath *kp) {
        for (;;) {
                if (kp->n == MAX_DEPTH)
                        return fail_depth(p, pos_at(p));
                if (parse_simple_key(p, kp) < 0)
                        return -EINVAL;
                skip_ws(p);
                if (peek(p) != '.')
                        return 0;
                p->pos++;
                skip_ws(p);
        }
}

/* ---- numbers ---- */

static bool is_digit_base(int c, int base) {
        switch (base) {
        case 2: return c == '0' || c == '1';
        case 8: return c >= '0' && c <= '7';
        case 10: return c >= '0' && c <= '9';
        default: return lk_hex_digit(c) >= 0;
        }
}

/* Consumes digits in which single underscores may sit between two
 * digits.  False for a misplaced underscore. */
static bool digit_run(const char *s, size_t n, size_t *i, int base, size_t *ndigits) {
        *ndigits = 0;
        for (; *i < n; ++*i) {
                int c = (unsigned char)s[*i];
                if (is_digit_base(c, base)) {
                        ++*ndigits;
                        continue;
                }
                if (c != '_')
                        return true;
                bool digit_next = *i + 1 < n && is_digit_base((unsigned char)s[*i + 1], base);
                if (!*ndigits || !digit_next)
                        return false;
        }
        return true;
}

static int fail_token(parser *p, lk_toml_pos at, const char *what, const char *s, size_t n) {
        int shown = (int)(n < TOKEN_SHOWN ? n : TOKEN_SHOWN);
        return fail_at(p, at, "%s '%.*s%s'", what, shown, s, n > TOKEN_SHOWN ? "..." : "");
}

/* Digits of s (underscores skipped) into an int64, negated if neg. */
static int to_int64(parser *p, lk_toml_pos at, const char *s, size_t n, int base, bool neg,
                    int64_t *out) {
        uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        uint64_t acc = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '_')
                        continue;
                uint64_t d = (uint64_t)lk_hex_digit((unsigned char)s[i]);
                if (acc > (limit - d) / (uint64_t)base)
                        return fail_at(p, at, "integer out of range");
                acc = acc * (uint64_t)base + d;
        }
        if (neg)
                *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
        else
                *out = (int64_t)acc;
        return 0;
}

/* 0x..., 0o..., 0b...: unsigned, no sign. */
static int parse_radix(parser *p, lk_toml_pos at, const char *s, size_t n, lk_toml_value *v) {
        int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
        size_t i = 2, ndigits;
        if (!digit_run(s, n, &i, base, &ndigits))
                return fail_token(p, at, "underscores must sit between digits in", s, n);
        if (!ndigits || i != n)
                return fail_token(p, at, "invalid integer", s, n);
        v->type = LK_TOML_INTEGER;
        return to_int64(p, at, s + 2, n - 2, base, false, &v->u.integer);
}

/* strtod does the rounding right; it gets the token without underscores,
 * once the TOML grammar has been checked.  It reads the decimal point of
 * LC_NUMERIC, which stays "C" because linkd never calls setlocale; were
 * that to change, floats would fail loudly here rather than misparse. */
static int to_double(parser *p, lk_toml_pos at, const char *s, size_t n, double *out) {
        char *buf = lk_malloc(n + 1), *end;
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
                if (s[i] != '_')
                        buf[len++] = s[i];
        buf[len] = '\0';
        *out = strtod(buf, &end);
        bool whole = end == buf + len;
        lk_free(buf);
        if (!whole)
                return fail_token(p, at, "invalid float", s, n);
        if (isinf(*out))
                return fail_token(p, at, "float out of range", s, n);
        return 0;
}

/* The fraction and/or exponent after the integer part s[..i). */
static int parse_float_tail(parser *p, lk_toml_pos at, const char *s, size_t n, size_t i,
                            lk_toml_value *v) {
        size_t ndigits;
        if (s[i] == '.') {
                i++;
                if (!digit_run(s, n, &i, 10, &ndigits))
                        return fail_token(p, at, "underscores must sit between digits in", s, n);
                if (!ndigits)
                        return fail_token(p, at, "expected digits after '.' in", s, n);
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                if (i < n && (s[i] == '+' || s[i] == '-'))
                        i++;
                if (!digit_run(s, n, &i, 10, &ndigits))
                        return fail_token(p, at, "underscores must sit between digits in", s, n);
                if (!ndigits)
                        return fail_token(p, at, "expected digits in the exponent of", s, n);
        }
        if (i != n)
                return fail_token(p, at, "invalid float", s, n);
        v->type = LK_TOML_FLOAT;
        return to_double(p, at, s, n, &v->u.floating);
}

static int parse_number(parser *p, lk_toml_pos at, const char *s, size_t n, lk_toml_value *v) {
        bool sign = s[0] == '+' || s[0] == '-';
        size_t i = sign, start = i, ndigits;
        if (n - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
                if (sign)
                        return fail_token(p, at, "only decimal integers may have a sign:", s, n);
                return parse_radix(p, at, s, n, v);
        }
        if (i >= n || !is_digit_base((unsigned char)s[i], 10))
                return fail_token(p, at, "invalid value", s, n);
        if (!digit_run(s, n, &i, 10, &ndigits))
                return fail_token(p, at, "underscores must sit between digits in", s, n);
        if (s[start] == '0' && ndigits > 1)
                return fail_token(p, at, "leading zeros are not allowed in", s, n);
        if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E'))
                return parse_float_tail(p, at, s, n, i, v);
        if (i != n)
                return fail_token(p, at, "invalid number", s, n);
        v->type = LK_TOML_INTEGER;
        return to_int64(p, at, s + start, n - start, 10, s[0] == '-', &v->u.integer);
}

static bool token_is(const char *s, size_t n, const char *word) {
        return n == strlen(word) && memcmp(s, word, n) == 0;
}

/* inf and nan, optionally signed. */
static bool parse_special_float(const char *s, size_t n, double *out) {
        bool sign = n > 0 && (s[0] == '+' || s[0] == '-');
        if (token_is(s + sign, n - sign, "inf"))
                *out = s[0] == '-' ? -INFINITY : INFINITY;
        else if (token_is(s + sign, n - sign, "nan"))
                *out = s[0] == '-' ? -NAN : NAN;
        else
                return false;
        return true;
}

/* ---- dates and times ---- */

/* Returned by the date and time helpers for text of the wrong shape,
 * which parse_datetime reports with the whole token in the message. */
enum { MALFORMED = 1 };

static bool fixed_digits(const char *s, size_t n, int *out) {
        int v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return true;
}

static size_t leading_digits(const char *s, size_t n) {
        size_t k = 0;
        while (k < n && s[k] >= '0' && s[k] <= '9')
                k++;
        return k;
}

/* Digits followed by '-' or ':' cannot start a number, so such a token
 * is reported as a bad date or time rather than a bad number. */
static bool is_date_like(const char *s, size_t n) {
        size_t k = leading_digits(s, n);
        return k >= 4 && k < n && s[k] == '-';
}

static bool is_time_like(const char *s, size_t n) {
        size_t k = leading_digits(s, n);
        return k >= 1 && k < n && s[k] == ':';
}

static bool scan_date(const char *s, size_t n, lk_toml_datetime *dt) {
        return n >= 10 && fixed_digits(s, 4, &dt->year) && s[4] == '-' &&
               fixed_digits(s + 5, 2, &dt->month) && s[7] == '-' &&
               fixed_digits(s + 8, 2, &dt->day);
}

/* Fractional seconds after the '.', truncated to nanoseconds. */
static size_t scan_fraction(const char *s, size_t n, lk_toml_datetime *dt) {
        size_t i = 0;
        int ns = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (i < 9)
                        ns = ns * 10 + (s[i] - '0');
                i++;
        }
        for (size_t k = i; k < 9; k++)
                ns *= 10;
        dt->nanosecond = ns;
        dt->frac_digits = i < INT_MAX ? (int)i : INT_MAX;
        return i;
}

/* HH:MM:SS[.frac]; the bytes consumed, 0 if malformed. */
static size_t scan_time(const char *s, size_t n, lk_toml_datetime *dt) {
        if (n < 8 || !fixed_digits(s, 2, &dt->hour) || s[2] != ':' ||
            !fixed_digits(s + 3, 2, &dt->minute) || s[5] != ':' ||
            !fixed_digits(s + 6, 2, &dt->second))
                return 0;
        if (n == 8 || s[8] != '.')
                return 8;
        size_t frac = scan_fraction(s + 9, n - 9, dt);
        return frac ? 9 + frac : 0;
}

/* Z or +HH:MM / -HH:MM; the bytes consumed, 0 if malformed. */
static size_t scan_offset(const char *s, size_t n, int *hour, int *minute, int *sign) {
        *hour = *minute = 0;
        *sign = 1;
        if (n >= 1 && (s[0] == 'Z' || s[0] == 'z'))
                return 1;
        if (n < 6 || (s[0] != '+' && s[0] != '-') || !fixed_digits(s + 1, 2, hour) || s[3] != ':' ||
            !fixed_digits(s + 4, 2, minute))
                return 0;
        *sign = s[0] == '-' ? -1 : 1;
        return 6;
}

static int days_in_month(int year, int month) {
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        return month == 2 && leap ? 29 : days[month - 1];
}

static int check_date(parser *p, lk_toml_pos at, const lk_toml_datetime *dt) {
        if (dt->month < 1 || dt->month > 12)
                return fail_at(p, at, "invalid date: month %02d is not 01-12", dt->month);
        if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month))
                return fail_at(p, at, "invalid date: %04d-%02d has no day %02d", dt->year,
                               dt->month, dt->day);
        return 0;
}

/* Second 60 is allowed for leap seconds, as RFC 3339 does. */
static int check_time(parser *p, lk_toml_pos at, const lk_toml_datetime *dt) {
        if (dt->hour > 23)
                return fail_at(p, at, "invalid time: hour %02d is not 00-23", dt->hour);
        if (dt->minute > 59)
                return fail_at(p, at, "invalid time: minute %02d is not 00-59", dt->minute);
        if (dt->second > 60)
                return fail_at(p, at, "invalid time: second %02d is not 00-60", dt->second);
        return 0;
}

static int parse_offset(parser *p, lk_toml_pos at, const char *s, size_t n, lk_toml_datetime *dt) {
        int hour, minute, sign;
        if (scan_offset(s, n, &hour, &minute, &sign) != n)
                return MALFORMED;
        if (hour > 23 || minute > 59)
                return fail_at(p, at, "invalid time zone offset: %.6s", s);
        dt->offset_minutes = sign * (hour * 60 + minute);
        return 0;
}

/* The date, then [Tt ] and a time with an optional offset. */
static int parse_date_time(parser *p, lk_toml_pos at, const char *s, size_t n, lk_toml_value *v) {
        lk_toml_datetime *dt = &v->u.datetime;
        if (!scan_date(s, n, dt))
                return MALFORMED;
        v->type = LK_TOML_DATE_LOCAL;
        if (n == 10)
                return check_date(p, at, dt);
        bool separator = n > 11 && (s[10] == 'T' || s[10] == 't' || s[10] == ' ');
        size_t t = separator ? scan_time(s + 11, n - 11, dt) : 0;
        if (!t)
                return MALFORMED;
        int r = check_date(p, at, dt);
        if (r == 0)
                r = check_time(p, at, dt);
        if (r != 0 || 11 + t == n) {
                v->type = LK_TOML_DATETIME_LOCAL;
                return r;
        }
        v->type = LK_TOML_DATETIME;
        return parse_offset(p, at, s + 11 + t, n - 11 - t, dt);
}

static int parse_datetime(parser *p, lk_toml_pos at, const char *s, size_t n, lk_toml_value *v) {
        int r;
        memset(&v->u.datetime, 0, sizeof v->u.datetime);
        if (is_time_like(s, n)) {
                v->type = LK_TOML_TIME_LOCAL;
                r = scan_time(s, n, &v->u.datetime) == n ? check_time(p, at, &v->u.datetime)
                                                         : MALFORMED;
        } else {
                r = parse_date_time(p, at, s, n, v);
        }
        if (r == MALFORMED)
                return fail_token(p, at, "malformed date or time", s, n);
        return r;
}

/* ---- bare values: numbers, booleans, dates ---- */

static bool is_token_char(int c) {
        return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

static size_t token_len(const parser *p, size_t from) {
        size_t i = from;
        while (i < p->len && is_token_char((unsigned char)p->s[i]))
                i++;
        return i - from;
}

static int parse_scalar(parser *p, lk_toml_pos at, const char *s, size_t n, lk_toml_value *v) {
        if (is_date_like(s, n) || is_time_like(s, n))
                return parse_datetime(p, at, s, n, v);
        if (token_is(s, n, "true") || token_is(s, n, "false")) {
                v->type = LK_TOML_BOOL;
                v->u.boolean = s[0] == 't';
                return 0;
        }
        v->type = LK_TOML_FLOAT;
        if (parse_special_float(s, n, &v->u.floating))
                return 0;
        return parse_number(p, at, s, n, v);
}

static int parse_bare_value(parser *p, lk_toml_value **ret) {
        lk_toml_pos at = pos_at(p);
        const char *s = p->s + p->pos;
        size_t n = token_len(p, p->pos);
        if (n == 0)
                return fail_found(p, "expected a value");
        /* A date and a time may be separated by a space instead of T. */
        if (n == 10 && is_date_like(s, n) && p->pos + 11 < p->len && s[10] == ' ' &&
            s[11] >= '0' && s[11] <= '9')
                n = 11 + token_len(p, p->pos + 11);
        lk_toml_value *v = new_scalar(at);
        int r = parse_scalar(p, at, s, n, v);
        if (r < 0) {
                lk_free(v);
                return r;
        }
        p->pos += n;
        *ret = v;
        return 0;
}

/* ---- arrays and inline tables ---- */

static int parse_array(parser *p, size_t depth, lk_toml_value **ret) {
        lk_toml_pos open = pos_at(p);
        lk_toml_value *a = &new_node(LK_TOML_ARRAY, open, F_FROZEN)->v;
        int r;
        p->pos++;
        for (;;) {
                if ((r = skip_space(p)) < 0)
                        goto fail;
                if (peek(p) == ']')
                        break;
                lk_toml_value *item;
                if ((r = parse_value(p, depth + 1, &item)) < 0)
                        goto fail;
                array_push(a, item);
                if ((r = skip_space(p)) < 0)
                        goto fail;
                if (peek(p) == ']')
                        break;
                if (peek(p) != ',') {
                        r = p->pos < p->len ? fail_found(p, "expected ',' or ']' in array")
                                            : fail_at(p, open, "unterminated array");
                        goto fail;
                }
                p->pos++;
        }
        p->pos++;
        *ret = a;
        return 0;
fail:
        discard(a);
        return r;
}

/* After a key/value pair in an inline table: ',' or '}'. */
static int inline_separator(parser *p, lk_toml_pos open, bool *done) {
        skip_ws(p);
        int c = peek(p);
        *done = c == '}';
        if (c == '}' || c == ',') {
                p->pos++;
                skip_ws(p);
                if (c == ',' && peek(p) == '}')
                        return fail_at(p, pos_at(p), "trailing comma not allowed in inline table");
                return 0;
        }
        if (c == EOF)
                return fail_at(p, open, "unterminated inline table");
        if (newline_len(p, p->pos))
                return fail_at(p, pos_at(p), "newline not allowed in inline table");
        return fail_found(p, "expected ',' or '}' in inline table");
}

static int parse_inline_table(parser *p, size_t depth, lk_toml_value **ret) {
        lk_toml_pos open = pos_at(p);
        node *t = new_node(LK_TOML_TABLE, open, 0);
        bool done = false;
        int r = 0;
        p->pos++;
        skip_ws(p);
        if (peek(p) == '}') {
                p->pos++;
                done = true;
        }
        while (r == 0 && !done) {
                if (newline_len(p, p->pos))
                        r = fail_at(p, pos_at(p), "newline not allowed in inline table");
                if (r == 0)
                        r = parse_keyval(p, &t->v, depth);
                if (r == 0)
                        r = inline_separator(p, open, &done);
        }
        if (r < 0) {
                discard(&t->v);
                return r;
        }
        t->flags |= F_FROZEN;
        *ret = &t->v;
        return 0;
}

static int parse_value(parser *p, size_t depth, lk_toml_value **ret) {
        if (depth > MAX_DEPTH)
                return fail_depth(p, pos_at(p));
        switch (peek(p)) {
        case '"':
        case '\'':
                return parse_string_value(p, ret);
        case '[':
                return parse_array(p, depth, ret);
        case '{':
                return parse_inline_table(p, depth, ret);
        default:
                return parse_bare_value(p, ret);
        }
}

/* ---- key/value pairs ---- */

static bool is_closed(const parser *p, const node *t) {
        return (t->flags & F_EXPLICIT) || (t->dotted_gen && t->dotted_gen != p->gen);
}

static int fail_not_table(parser *p, const keypath *kp, size_t i, const lk_toml_value *v) {
        char name[256];
        key_label(kp, i + 1, name, sizeof name);
        if (v->type == LK_TOML_TABLE)
                return fail_at(p, kp->parts[i].pos, "inline table %s cannot be extended", name);
        return fail_at(p, kp->parts[i].pos, "key %s is already %s, not a table", name, kind_of(v));
}

/* One step down the dotted key kp.parts[i], creating the table if new. */
static int enter_dotted(parser *p, lk_toml_value **t, const keypath *kp, size_t i) {
        const keypart *k = &kp->parts[i];
        lk_toml_kv *kv = table_find(*t, k->s, k->len);
        char name[256];
        if (!kv) {
                node *n = new_node(LK_TOML_TABLE, k->pos, 0);
                n->dotted_gen = p->gen;
                *t = table_add(*t, k, &n->v)->value;
                return 0;
        }
        if (kv->value->type != LK_TOML_TABLE || (as_node(kv->value)->flags & F_FROZEN))
                return fail_not_table(p, kp, i, kv->value);
        if (is_closed(p, as_node(kv->value)))
                return fail_at(p, k->pos,
                               "cannot add keys to table %s with dotted keys: it is defined "
                               "elsewhere",
                               key_label(kp, i + 1, name, sizeof name));
        as_node(kv->value)->dotted_gen = p->gen;
        *t = kv->value;
        return 0;
}

/* Stores v (always taken over) under the dotted key kp below table. */
static int insert_keyval(parser *p, lk_toml_value *table, const keypath *kp, lk_toml_value *v) {
        lk_toml_value *t = table;
        const keypart *last = &kp->parts[kp->n - 1];
        char name[256];
        int r = 0;
        for (size_t i = 0; r == 0 && i + 1 < kp->n; i++)
                r = enter_dotted(p, &t, kp, i);
        if (r == 0 && table_find(t, last->s, last->len))
                r = fail_at(p, last->pos, "duplicate key %s",
                            key_label(kp, kp->n, name, sizeof name));
        if (r < 0) {
                discard(v);
                return r;
        }
        table_add(t, last, v);
        return 0;
}

static int parse_keyval(parser *p, lk_toml_value *table, size_t depth) {
        keypath kp = {0};
        lk_toml_value *v = NULL;
        int r = parse_key(p, &kp);
        if (r == 0 && depth + kp.n > MAX_DEPTH)
                r = fail_depth(p, kp.parts[MAX_DEPTH - depth].pos);
        if (r == 0 && peek(p) != '=')
                r = fail_found(p, "expected '=' after key");
        if (r == 0) {
                p->pos++;
                skip_ws(p);
                r = parse_value(p, depth + kp.n, &v);
        }
        if (r == 0)
                r = insert_keyval(p, table, &kp, v);
        keypath_done(&kp);
        return r;
}

/* ---- table headers ---- */

/* One step down the header path kp.parts[i]; arrays of tables lead into
 * their last element. */
static int enter_header(parser *p, lk_toml_value **t, const keypath *kp, size_t i, size_t *depth) {
        const keypart *k = &kp->parts[i];
        lk_toml_kv *kv = table_find(*t, k->s, k->len);
        if (++*depth > MAX_DEPTH)
                return fail_depth(p, k->pos);
        if (!kv) {
                *t = table_add(*t, k, &new_node(LK_TOML_TABLE, k->pos, 0)->v)->value;
                return 0;
        }
        lk_toml_value *v = kv->value;
        if (v->type == LK_TOML_ARRAY && (as_node(v)->flags & F_AOT)) {
                /* No check: the element's depth was checked when it was appended. */
                ++*depth;
                *t = v->u.array.items[v->u.array.len - 1];
                return 0;
        }
        if (v->type != LK_TOML_TABLE || (as_node(v)->flags & F_FROZEN))
                return fail_not_table(p, kp, i, v);
        *t = v;
        return 0;
}

/* [a.b]: the last part, found in *t, becomes the section. */
static int define_table(parser *p, lk_toml_value **t, const keypath *kp, lk_toml_pos at) {
        const keypart *k = &kp->parts[kp->n - 1];
        lk_toml_kv *kv = table_find(*t, k->s, k->len);
        char name[256];
        if (!kv) {
                *t = table_add(*t, k, &new_node(LK_TOML_TABLE, at, F_EXPLICIT)->v)->value;
                return 0;
        }
        if (kv->value->type != LK_TOML_TABLE || (as_node(kv->value)->flags & F_FROZEN))
                return fail_not_table(p, kp, kp->n - 1, kv->value);
        node *n = as_node(kv->value);
        if (n->flags & F_EXPLICIT)
                return fail_at(p, at, "table [%s] defined twice",
                               header_label(kp, name, sizeof name));
        if (n->dotted_gen)
                return fail_at(p, at, "table [%s] already defined by dotted keys",
                               header_label(kp, name, sizeof name));
        /* Created implicitly by an earlier [a.b.c]: this is its definition. */
        n->flags |= F_EXPLICIT;
        n->v.pos = at;
        kv->key_pos = k->pos;
        *t = kv->value;
        return 0;
}

/* [[a.b]]: appends a table to the array of tables in *t. */
static int append_table(parser *p, lk_toml_value **t, const keypath *kp, lk_toml_pos at) {
        const keypart *k = &kp->parts[kp->n - 1];
        lk_toml_kv *kv = table_find(*t, k->s, k->len);
        char name[256];
        lk_toml_value *array;
        if (!kv) {
                array = table_add(*t, k, &new_node(LK_TOML_ARRAY, at, F_AOT)->v)->value;
        } else if (kv->value->type == LK_TOML_ARRAY && (as_node(kv->value)->flags & F_AOT)) {
                array = kv->value;
        } else {
                return fail_at(p, k->pos, "key %s is already %s, not an array of tables",
                               key_label(kp, kp->n, name, sizeof name), kind_of(kv->value));
        }
        lk_toml_value *element = &new_node(LK_TOML_TABLE, at, F_EXPLICIT)->v;
        array_push(array, element);
        *t = element;
        return 0;
}

static int open_section(parser *p, const keypath *kp, bool aot, lk_toml_pos at) {
        lk_toml_value *t = p->root;
        size_t depth = 0;
        int r = 0;
        p->gen++;
        for (size_t i = 0; r == 0 && i + 1 < kp->n; i++)
                r = enter_header(p, &t, kp, i, &depth);
        depth += aot ? 2 : 1;
        if (r == 0 && depth > MAX_DEPTH)
                r = fail_depth(p, kp->parts[kp->n - 1].pos);
        if (r == 0)
                r = aot ? append_table(p, &t, kp, at) : define_table(p, &t, kp, at);
        if (r < 0)
                return r;
        p->section = t;
        p->section_depth = depth;
        return 0;
}

static int parse_header(parser *p) {
        lk_toml_pos at = pos_at(p);
        bool aot = p->pos + 1 < p->len && p->s[p->pos + 1] == '[';
        keypath kp = {0};
        p->pos += aot ? 2 : 1;
        skip_ws(p);
        int r = parse_key(p, &kp);
        if (r == 0 && peek(p) != ']')
                r = fail_found(p, aot ? "expected ']]' after array of tables name"
                                      : "expected ']' after table name");
        if (r == 0 && aot && (p->pos + 1 >= p->len || p->s[p->pos + 1] != ']'))
                r = fail_found_at(p, p->pos + 1, "expected ']]' after array of tables name");
        if (r == 0) {
                p->pos += aot ? 2 : 1;
                r = open_section(p, &kp, aot, at);
        }
        keypath_done(&kp);
        return r;
}

/* ---- document ---- */

static int end_line(parser *p, const char *after) {
        skip_ws(p);
        if (peek(p) == '#' && skip_comment(p) < 0)
                return -EINVAL;
        size_t nl = newline_len(p, p->pos);
        if (nl) {
                skip_newline(p, nl);
                return 0;
        }
        if (p->pos >= p->len)
                return 0;
        char buf[16];
        return fail_at(p, pos_at(p), "expected end of line after %s, found %s", after,
                       describe(p, p->pos, buf, sizeof buf));
}

static int parse_line(parser *p) {
        skip_ws(p);
        int c = peek(p);
        int r = 0;
        if (c == '[') {
                r = parse_header(p);
                if (r == 0)
                        r = end_line(p, "table header");
                return r;
        }
        if (c != '#' && c != EOF && !newline_len(p, p->pos))
                r = parse_keyval(p, p->section, p->section_depth);
        if (r == 0)
                r = end_line(p, "value");
        return r;
}

int lk_toml_parse(const char *text, size_t len, lk_toml_value **ret_root, lk_err *err) {
        parser p = {.s = text, .len = len, .line = 1, .gen = 1, .err = err};
        /* A byte order mark is skipped and not counted in columns, which
         * then match what editors show. */
        if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
                p.pos = p.line_start = 3;
        if (check_utf8(&p) < 0)
                return -EINVAL;
        p.root = &new_node(LK_TOML_TABLE, (lk_toml_pos){1, 1}, F_EXPLICIT)->v;
        p.section = p.root;
        int r = 0;
        while (r == 0 && p.pos < p.len)
                r = parse_line(&p);
        strip(p.root);
        if (r < 0) {
                lk_toml_free(p.root);
                return r;
        }
        *ret_root = p.root;
        return 0;
}

lk_toml_value *lk_toml_free(lk_toml_value *value) {
        if (!value)
                return NULL;
        switch (value->type) {
        case LK_TOML_STRING:
                lk_free(value->u.string.ptr);
                break;
        case LK_TOML_ARRAY:
                for (size_t i = 0; i < value->u.array.len; i++)
                        lk_toml_free(value->u.array.items[i]);
                lk_free(value->u.array.items);
                break;
        case LK_TOML_TABLE:
                for (size_t i = 0; i < value->u.table.len; i++) {
                        lk_free(value->u.table.items[i].key);
                        lk_toml_free(value->u.table.items[i].value);
                }
                lk_free(value->u.table.items);
                break;
        default:
                break;
        }
        lk_free(value);
        return NULL;
}

const lk_toml_value *lk_toml_table_get(const lk_toml_value *table, const char *key) {
        if (!table || table->type != LK_TOML_TABLE || !key)
                return NULL;
        size_t len = strlen(key);
        for (size_t i = 0; i < table->u.table.len; i++) {
                const lk_toml_kv *kv = &table->u.table.items[i];
                if (kv->key_len == len && memcmp(kv->key, key, len) == 0)
                        return kv->value;
        }
        return NULL;
}

const char *lk_toml_type_name(lk_toml_type type) {
        switch (type) {
        case LK_TOML_STRING: return "string";
        case LK_TOML_INTEGER: return "integer";
        case LK_TOML_FLOAT: return "float";
        case LK_TOML_BOOL: return "bool";
        case LK_TOML_DATETIME: return "datetime";
        case LK_TOML_DATETIME_LOCAL: return "datetime-local";
        case LK_TOML_DATE_LOCAL: return "date-local";
        case LK_TOML_TIME_LOCAL: return "time-local";
        case LK_TOML_ARRAY: return "array";
        case LK_TOML_TABLE: return "table";
        }
        return "unknown";
}
