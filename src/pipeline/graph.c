/* A pipeline's task graph from Chainlink's DOT (see graph.h).
 *
 * Chainlink reads observationSource with gonum's DOT decoder; we read it
 * with Graphviz's libcgraph and then give the result gonum's and
 * Chainlink's meaning.  Three stages:
 *
 * 1. A pre-scan lexes the source exactly as cgraph's flex scanner does
 *    and hands cgraph a rewritten copy of it.  Comments become blanks, so
 *    that cgraph never runs its "# <line>" preprocessor directives.  The
 *    contents of every quoted string and HTML string get a two-byte
 *    marker (ESC 'q' or ESC 'h') in front, and inside quoted strings the
 *    bytes cgraph would alter (\" and backslash-newline, which it
 *    unescapes; raw newlines, which it forgets to count) are replaced by
 *    ESC sequences.  From what cgraph stores we can so recover the exact
 *    text the user wrote and tell a bare word, a "quoted" and an <HTML>
 *    string apart, which gonum does and cgraph's own html flag cannot
 *    (it is shared by equal strings).  The pre-scan also refuses what
 *    gonum would not parse but cgraph would multiply out (node lists
 *    "a, b", subgraphs as edge ends, "a" + "b"), what would exhaust
 *    cgraph's parser stack (long edge chains, deep nesting) and what is
 *    too big; and it notes where each node is first named.
 *
 * 2. cgraph parses the copy, serialised by cg_lock, because its lexer and
 *    parser keep their state in globals (the one process-wide state of
 *    this file).  Every attribute name is declared on the wrapper's first
 *    line, so that cgraph allocates each object's attribute slots once.  A
 *    node callback logs every attribute a node statement sets, in order,
 *    so that defaults from "node [...]" (which gonum drops for Chainlink's
 *    graph) are ignored and a key written twice keeps its last value, as
 *    in gonum's map.  The result is copied out, decoded, and the cgraph
 *    graph closed.  Two cgraph bugs that leak state from one parse into
 *    the next are worked around: flex's buffer keeps unread input after
 *    a parse stopped early (reset with aaglex_destroy), and the grammar's
 *    subgraph depth count is reset only when agread opens the graph.
 *
 * 3. The task graph is built as Chainlink's Parse does: implicit edges
 *    from $(x...) references, gonum's stabilised Tarjan sort with its
 *    cycle report, then the reserved name and the index checks in
 *    topological order. */
#include "pipeline/graph.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graphviz/cgraph.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/hex.h"

/* Limits that keep a hostile spec from exhausting memory or time.  cgraph
 * gives every node, edge and subgraph a slot per attribute name, so their
 * product is bounded too. */
#define SOURCE_MAX ((size_t)1 << 20)
#define TASKS_MAX 10000
#define EDGES_MAX 100000
#define ATTR_NAMES_MAX 1000
#define SUBGRAPHS_MAX 1000
#define ATTR_CELLS_MAX ((size_t)1 << 22)
/* cgraph's grammar is right-recursive in edge chains and nests subgraphs
 * on bison's stack, which holds 10,000 entries: a chain of about 2,500
 * edges exhausts it, and cgraph then returns a half-built graph and leaves
 * the rest of the input in its lexer for the next caller. */
#define CHAIN_MAX 1000
#define DEPTH_MAX 32

#define ESC '\001'
#define DOT_PREFIX "could not unmarshal DOT into a pipeline.Graph: "

/* flex's cleanup for cgraph's scanner ("aag" prefix).  libcgraph exports it
 * but no header declares it. */
extern int aaglex_destroy(void);

static int dot_error(lk_err *err, uint32_t line, uint32_t column, const char *fmt, ...) LK_PRINTF(4, 5);

static int dot_error(lk_err *err, uint32_t line, uint32_t column, const char *fmt, ...) {
        char detail[LK_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        return lk_err_set_at(err, -EINVAL, line, column, "%s%s", DOT_PREFIX, detail);
}

/* ---- a set of names, by offset into the rewritten text ---- */

typedef struct name_slot {
        size_t off;
        uint32_t len;
        uint32_t line; /* 0: free slot */
} name_slot;

typedef struct name_set {
        name_slot *slots;
        size_t cap; /* a power of two, or 0 */
        size_t count;
} name_set;

static uint64_t hash_bytes(const char *p, size_t n) {
        uint64_t h = 14695981039346656037u;
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char)p[i];
                h *= 1099511628211u;
        }
        return h;
}

/* The slot holding name, or the free slot where it would go. */
static name_slot *name_set_find(const name_set *set, const char *text, const char *name, size_t len) {
        size_t mask = set->cap - 1;
        for (size_t i = hash_bytes(name, len) & mask;; i = (i + 1) & mask) {
                name_slot *slot = &set->slots[i];
                if (slot->line == 0 || (slot->len == len && memcmp(text + slot->off, name, len) == 0))
                        return slot;
        }
}

static void name_set_grow(name_set *set, const char *text) {
        name_set bigger = {lk_calloc(set->cap ? set->cap * 2 : 64, sizeof(name_slot)),
                           set->cap ? set->cap * 2 : 64, set->count};
        for (size_t i = 0; i < set->cap; i++) {
                const name_slot *old = &set->slots[i];
                if (old->line != 0)
                        *name_set_find(&bigger, text, text + old->off, old->len) = *old;
        }
        lk_free(set->slots);
        *set = bigger;
}

/* Adds the name at text+off unless present; true if it was new. */
static bool name_set_add(name_set *set, const char *text, size_t off, size_t len, uint32_t line) {
        if (set->count * 2 >= set->cap)
                name_set_grow(set, text);
        name_slot *slot = name_set_find(set, text, text + off, len);
        if (slot->line != 0)
                return false;
        *slot = (name_slot){off, (uint32_t)len, line};
        set->count++;
        return true;
}

static uint32_t name_set_line(const name_set *set, const char *text, const char *name) {
        if (set->cap == 0)
                return 0;
        return name_set_find(set, text, name, strlen(name))->line;
}

/* ---- pre-scan: cgraph's lexer, rewriting the source for it ---- */

typedef enum tok {
        TOK_NONE,
        TOK_ID,
        TOK_ATTR_KEYWORD, /* node, edge, graph */
        TOK_SUBGRAPH,
        TOK_KEYWORD, /* digraph, strict */
        TOK_EDGEOP,
        TOK_PUNCT,
} tok;

typedef enum attr_state { EXPECT_KEY, EXPECT_EQUALS, EXPECT_VALUE } attr_state;

typedef struct scanner {
        const char *src;
        size_t len, pos;
        uint32_t line;     /* in the source */
        size_t line_start; /* offset of the line's first byte */
        lk_buf out;        /* the rewritten source */
        lk_buf text;       /* what cgraph reads: out, wrapped */
        uint32_t head_lines; /* newlines text has before out */
        uint32_t *line_map; /* source line at which each rewritten line starts */
        size_t lines, lines_cap;
        name_set nodes, keys;
        size_t edges, subgraphs, chain;
        int depth;
        bool in_attrs;
        attr_state attr_state;
        tok prev;
        char prev_char;
        bool pending; /* an ID outside [...] that is a node unless '=' follows */
        name_slot pending_name;
        lk_err *err;
} scanner;

static uint32_t scan_column(const scanner *s, size_t pos) {
        return (uint32_t)(pos - s->line_start + 1);
}

static void line_map_push(scanner *s, uint32_t line) {
        if (s->lines == s->lines_cap) {
                s->lines_cap = s->lines_cap ? s->lines_cap * 2 : 64;
                s->line_map = lk_realloc(s->line_map, s->lines_cap * sizeof(uint32_t));
        }
        s->line_map[s->lines++] = line;
}

/* A newline cgraph will see and count. */
static void emit_newline(scanner *s) {
        lk_buf_putc(&s->out, '\n');
        s->line++;
        s->line_start = s->pos + 1;
        line_map_push(s, s->line);
}

/* A newline inside a quoted string, which cgraph will not see. */
static void hide_newline(scanner *s) {
        s->line++;
        s->line_start = s->pos + 1;
}

static char peek(const scanner *s, size_t ahead) {
        return s->pos + ahead < s->len ? s->src[s->pos + ahead] : '\0';
}

static bool is_letter(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static int scan_block_comment(scanner *s) {
        uint32_t line = s->line, column = scan_column(s, s->pos);
        lk_buf_append(&s->out, "  ", 2);
        s->pos += 2;
        for (;;) {
                if (s->pos >= s->len)
                        return dot_error(s->err, line, column, "syntax error in line %u: unterminated comment",
                                         line);
                if (s->src[s->pos] == '*' && peek(s, 1) == '/') {
                        lk_buf_append(&s->out, "  ", 2);
                        s->pos += 2;
                        return 0;
                }
                if (s->src[s->pos] == '\n')
                        emit_newline(s);
                else
                        lk_buf_putc(&s->out, ' ');
                s->pos++;
        }
}

static void scan_line_comment(scanner *s) {
        while (s->pos < s->len && s->src[s->pos] != '\n') {
                lk_buf_putc(&s->out, ' ');
                s->pos++;
        }
}

/* Escapes in a quoted string the way cgraph pairs them: \" and \\ and
 * backslash-newline are pairs, any other backslash stands alone. */
static void scan_quoted_byte(scanner *s) {
        char c = s->src[s->pos], next = peek(s, 1);
        if (c == '\\' && next == '"') {
                lk_buf_append(&s->out, "\001Q", 2);
                s->pos += 2;
        } else if (c == '\\' && next == '\\') {
                lk_buf_append(&s->out, "\\\\", 2);
                s->pos += 2;
        } else if (c == '\\' && next == '\n' && s->pos + 1 < s->len) {
                lk_buf_append(&s->out, "\001c", 2);
                s->pos++;
                hide_newline(s);
                s->pos++;
        } else if (c == '\n') {
                lk_buf_append(&s->out, "\001n", 2);
                hide_newline(s);
                s->pos++;
        } else if (c == ESC) {
                lk_buf_append(&s->out, "\001\001", 2);
                s->pos++;
        } else {
                lk_buf_putc(&s->out, c);
                s->pos++;
        }
}

static int scan_quoted(scanner *s, name_slot *ret_name) {
        uint32_t line = s->line, column = scan_column(s, s->pos);
        lk_buf_putc(&s->out, '"');
        s->pos++;
        ret_name->off = s->out.len;
        lk_buf_append(&s->out, "\001q", 2);
        while (s->pos < s->len && s->src[s->pos] != '"')
                scan_quoted_byte(s);
        if (s->pos >= s->len)
                return dot_error(s->err, line, column, "syntax error in line %u: unterminated quoted string",
                                 line);
        ret_name->len = (uint32_t)(s->out.len - ret_name->off);
        ret_name->line = line;
        lk_buf_putc(&s->out, '"');
        s->pos++;
        return 0;
}

static int scan_html(scanner *s, name_slot *ret_name) {
        uint32_t line = s->line, column = scan_column(s, s->pos);
        size_t nest = 1;
        lk_buf_putc(&s->out, '<');
        s->pos++;
        ret_name->off = s->out.len;
        lk_buf_append(&s->out, "\001h", 2);
        for (; s->pos < s->len; s->pos++) {
                char c = s->src[s->pos];
                if (c == '>' && --nest == 0)
                        break;
                if (c == '<')
                        nest++;
                if (c == '\n')
                        emit_newline(s);
                else if (c == ESC)
                        lk_buf_append(&s->out, "\001\001", 2);
                else
                        lk_buf_putc(&s->out, c);
        }
        if (s->pos >= s->len)
                return dot_error(s->err, line, column,
                                 "syntax error in line %u: unterminated HTML string (missing '>')", line);
        ret_name->len = (uint32_t)(s->out.len - ret_name->off);
        ret_name->line = line;
        lk_buf_putc(&s->out, '>');
        s->pos++;
        return 0;
}

static tok keyword_kind(const char *p, size_t n) {
        static const struct {
                const char *word;
                tok kind;
        } words[] = {
                {"node", TOK_ATTR_KEYWORD}, {"edge", TOK_ATTR_KEYWORD}, {"graph", TOK_ATTR_KEYWORD},
                {"subgraph", TOK_SUBGRAPH},  {"digraph", TOK_KEYWORD},   {"strict", TOK_KEYWORD},
        };
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                if (strlen(words[i].word) == n && strncasecmp(p, words[i].word, n) == 0)
                        return words[i].kind;
        return TOK_ID;
}

/* NAME: [A-Za-z_\200-\377][A-Za-z_0-9\200-\377]*, a keyword in any case. */
static size_t name_length(const scanner *s) {
        size_t n = 1;
        while (s->pos + n < s->len && (is_letter((unsigned char)s->src[s->pos + n]) || is_digit(s->src[s->pos + n])))
                n++;
        return n;
}

/* NUMBER: -?(D+(.D*)?|.D+), as cgraph's rule -?(D+(.D*)?|.D+)(.|LETTER)?
 * leaves it once chkNum has given a trailing letter or second dot back. */
static size_t number_length(const scanner *s) {
        size_t n = s->src[s->pos] == '-' ? 1 : 0;
        while (is_digit(peek(s, n)))
                n++;
        if (peek(s, n) == '.') {
                n++;
                while (is_digit(peek(s, n)))
                        n++;
        }
        return n;
}

static bool starts_number(const scanner *s) {
        char c = s->src[s->pos];
        size_t at = c == '-' ? 1 : 0;
        if (c != '-' && c != '.' && !is_digit(c))
                return false;
        return is_digit(peek(s, at)) || (peek(s, at) == '.' && is_digit(peek(s, at + 1)));
}

static int on_token(scanner *s, tok kind, char c, const name_slot *name, uint32_t column);

static int scan_word(scanner *s) {
        uint32_t column = scan_column(s, s->pos);
        bool number = starts_number(s);
        size_t n = number ? number_length(s) : name_length(s);
        tok kind = number ? TOK_ID : keyword_kind(s->src + s->pos, n);
        name_slot name = {s->out.len, (uint32_t)n, s->line};
        lk_buf_append(&s->out, s->src + s->pos, n);
        s->pos += n;
        /* A byte order mark standing alone is skipped by cgraph. */
        if (!number && n == 3 && memcmp(s->src + s->pos - 3, "\xef\xbb\xbf", 3) == 0)
                return 0;
        return on_token(s, kind, 0, &name, column);
}

static int scan_string(scanner *s) {
        uint32_t column = scan_column(s, s->pos);
        name_slot name;
        int r = s->src[s->pos] == '"' ? scan_quoted(s, &name) : scan_html(s, &name);
        if (r < 0)
                return r;
        return on_token(s, TOK_ID, 0, &name, column);
}

static int scan_other(scanner *s) {
        uint32_t column = scan_column(s, s->pos);
        char c = s->src[s->pos];
        if (c == '-' && (peek(s, 1) == '>' || peek(s, 1) == '-')) {
                /* gonum takes "--" in a digraph as an edge; cgraph wants "->". */
                lk_buf_append(&s->out, "->", 2);
                s->pos += 2;
                return on_token(s, TOK_EDGEOP, 0, NULL, column);
        }
        /* '@' ends cgraph's input; '+' joins quoted strings, which gonum
         * does not do. */
        if (c == '@' || c == '+')
                return dot_error(s->err, s->line, column, "syntax error in line %u near '%c'", s->line, c);
        lk_buf_putc(&s->out, c);
        s->pos++;
        return on_token(s, TOK_PUNCT, c, NULL, column);
}

static int scan_one(scanner *s) {
        char c = s->src[s->pos];
        if (c == '\n') {
                emit_newline(s);
                s->pos++;
                return 0;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
                lk_buf_putc(&s->out, c);
                s->pos++;
                return 0;
        }
        if (c == '/' && peek(s, 1) == '*')
                return scan_block_comment(s);
        if ((c == '/' && peek(s, 1) == '/') || c == '#') {
                scan_line_comment(s);
                return 0;
        }
        if (c == '"' || c == '<')
                return scan_string(s);
        if (is_letter((unsigned char)c) || starts_number(s))
                return scan_word(s);
        return scan_other(s);
}

/* ---- pre-scan: what the tokens mean ---- */

static int commit_node(scanner *s, const name_slot *name) {
        if (!name_set_add(&s->nodes, s->out.data, name->off, name->len, name->line))
                return 0;
        if (s->nodes.count > TASKS_MAX)
                return dot_error(s->err, name->line, 0, "more than %d tasks", TASKS_MAX);
        return 0;
}

static int add_key(scanner *s, const name_slot *name) {
        name_set_add(&s->keys, s->out.data, name->off, name->len, name->line);
        if (s->keys.count > ATTR_NAMES_MAX)
                return dot_error(s->err, name->line, 0, "more than %d distinct attribute names",
                                 ATTR_NAMES_MAX);
        return 0;
}

static void on_attr_token(scanner *s, tok kind, char c, const name_slot *name, int *r) {
        if (kind == TOK_ID && s->attr_state == EXPECT_KEY) {
                *r = add_key(s, name);
                s->attr_state = EXPECT_EQUALS;
        } else if (kind == TOK_ID && s->attr_state == EXPECT_VALUE) {
                s->attr_state = EXPECT_KEY;
        } else if (kind == TOK_PUNCT && c == '=' && s->attr_state == EXPECT_EQUALS) {
                s->attr_state = EXPECT_VALUE;
        } else if (kind == TOK_PUNCT && (c == ';' || c == ',')) {
                s->attr_state = EXPECT_KEY;
        } else if (kind == TOK_PUNCT && c == ']') {
                s->in_attrs = false;
        }
}

static int on_brace(scanner *s, char c, uint32_t column) {
        if (c == '{') {
                if (s->prev == TOK_EDGEOP)
                        return dot_error(s->err, s->line, column,
                                         "syntax error in line %u: a subgraph as an edge end is not supported",
                                         s->line);
                if (++s->depth > DEPTH_MAX)
                        return dot_error(s->err, s->line, column, "subgraphs nested deeper than %d in line %u",
                                         DEPTH_MAX, s->line);
                if (++s->subgraphs > SUBGRAPHS_MAX)
                        return dot_error(s->err, s->line, column, "more than %d subgraphs", SUBGRAPHS_MAX);
                return 0;
        }
        /* A '}' closing our "digraph {" would end the graph early. */
        if (s->depth == 0)
                return dot_error(s->err, s->line, column, "syntax error in line %u near '}'", s->line);
        s->depth--;
        return 0;
}

static int on_edgeop(scanner *s, uint32_t column) {
        if (s->prev == TOK_PUNCT && s->prev_char == '}')
                return dot_error(s->err, s->line, column,
                                 "syntax error in line %u: a subgraph as an edge end is not supported", s->line);
        if (++s->edges > EDGES_MAX)
                return dot_error(s->err, s->line, column, "more than %d edges", EDGES_MAX);
        if (++s->chain > CHAIN_MAX)
                return dot_error(s->err, s->line, column, "an edge chain longer than %d in line %u", CHAIN_MAX,
                                 s->line);
        return 0;
}

/* Whether tok continues an edge statement: an ID after "->" or ':', a
 * ':' or another "->".  Anything else starts a new statement. */
static bool continues_chain(const scanner *s, tok kind, char c) {
        bool after_link = s->prev == TOK_EDGEOP || (s->prev == TOK_PUNCT && s->prev_char == ':');
        return kind == TOK_EDGEOP || (kind == TOK_PUNCT && c == ':') || (kind == TOK_ID && after_link);
}

static int on_stmt_token(scanner *s, tok kind, char c, const name_slot *name, uint32_t column) {
        if (!continues_chain(s, kind, c))
                s->chain = 0;
        switch (kind) {
        case TOK_ID:
                if (s->prev == TOK_SUBGRAPH || (s->prev == TOK_PUNCT && (s->prev_char == ':' || s->prev_char == '=')))
                        return 0;
                s->pending = true;
                s->pending_name = *name;
                return 0;
        case TOK_SUBGRAPH:
                if (s->prev == TOK_EDGEOP)
                        return dot_error(s->err, s->line, column,
                                         "syntax error in line %u: a subgraph as an edge end is not supported",
                                         s->line);
                return 0;
        case TOK_EDGEOP:
                return on_edgeop(s, column);
        case TOK_PUNCT:
                if (c == '[') {
                        s->in_attrs = true;
                        s->attr_state = EXPECT_KEY;
                } else if (c == '{' || c == '}') {
                        return on_brace(s, c, column);
                } else if (c == ',') {
                        /* "a, b -> c" is cgraph's, not DOT's: gonum rejects it. */
                        return dot_error(s->err, s->line, column, "syntax error in line %u near ','", s->line);
                }
                return 0;
        default:
                return 0;
        }
}

static int on_token(scanner *s, tok kind, char c, const name_slot *name, uint32_t column) {
        int r = 0;
        if (s->pending) {
                s->pending = false;
                if (kind == TOK_PUNCT && c == '=')
                        r = add_key(s, &s->pending_name); /* a graph attribute: k = v */
                else
                        r = commit_node(s, &s->pending_name);
                if (r < 0)
                        return r;
        }
        if (s->in_attrs)
                on_attr_token(s, kind, c, name, &r);
        else
                r = on_stmt_token(s, kind, c, name, column);
        s->prev = kind;
        s->prev_char = c;
        return r;
}

static int check_cells(scanner *s) {
        size_t objects = s->nodes.count + s->edges + s->subgraphs + 1;
        if (objects * (s->keys.count + 1) > ATTR_CELLS_MAX)
                return dot_error(s->err, 0, 0,
                                 "pipeline too large: %zu tasks, edges and subgraphs with %zu attribute names",
                                 objects - 1, s->keys.count);
        return 0;
}

static void scanner_done(scanner *s) {
        lk_buf_done(&s->out);
        lk_buf_done(&s->text);
        lk_free(s->line_map);
        lk_free(s->nodes.slots);
        lk_free(s->keys.slots);
}

/* An attribute name as the source spelled it, from what cgraph will store. */
static void put_key(lk_buf *b, const char *name, size_t len) {
        char kind = len >= 2 && name[0] == ESC ? name[1] : '\0';
        if (kind == 'q' || kind == 'h')
                lk_buf_putc(b, kind == 'q' ? '"' : '<');
        lk_buf_append(b, name, len);
        if (kind == 'q' || kind == 'h')
                lk_buf_putc(b, kind == 'q' ? '"' : '>');
}

/* Chainlink's "digraph {\n" + source + "\n}", with every attribute name
 * declared on the first line for nodes, edges and graphs.  cgraph gives
 * each object a slot per name and, when a new name turns up, grows the
 * slots of every object made so far: N objects and A names would cost
 * N * A * A.  Declared first, the slots are made once. */
static void wrap(scanner *s) {
        lk_buf decl = LK_BUF_INIT;
        static const char *const kinds[] = {"node", "edge", "graph"};
        for (size_t i = 0; i < s->keys.cap; i++) {
                const name_slot *k = &s->keys.slots[i];
                if (k->line == 0)
                        continue;
                put_key(&decl, s->out.data + k->off, k->len);
                lk_buf_puts(&decl, "=\"\" ");
        }
        lk_buf_puts(&s->text, "digraph {");
        for (size_t i = 0; decl.len > 0 && i < 3; i++)
                lk_buf_printf(&s->text, " %s [%s]", kinds[i], lk_buf_str(&decl));
        /* HTML names may hold newlines, which shift cgraph's line count. */
        for (size_t i = 0; i < s->text.len; i++)
                if (s->text.data[i] == '\n')
                        s->head_lines++;
        lk_buf_putc(&s->text, '\n');
        lk_buf_append(&s->text, s->out.data ? s->out.data : "", s->out.len);
        lk_buf_puts(&s->text, "\n}");
        lk_buf_done(&decl);
}

/* cgraph's strings are C strings: a NUL would cut a name short. */
static int check_nul(const char *source, size_t len, lk_err *err) {
        const char *nul = memchr(source, '\0', len);
        uint32_t line = 1;
        size_t start = 0;
        if (!nul)
                return 0;
        for (size_t i = 0; i < (size_t)(nul - source); i++)
                if (source[i] == '\n') {
                        line++;
                        start = i + 1;
                }
        return dot_error(err, line, (uint32_t)((size_t)(nul - source) - start + 1),
                         "syntax error in line %u: NUL byte", line);
}

static int prescan(scanner *s, const char *source, size_t len, lk_err *err) {
        *s = (scanner){.src = source, .len = len, .line = 1, .err = err};
        if (check_nul(source, len, err) < 0)
                return -EINVAL;
        line_map_push(s, 1);
        while (s->pos < s->len) {
                int r = scan_one(s);
                if (r < 0)
                        return r;
        }
        if (s->pending) {
                int r = commit_node(s, &s->pending_name);
                if (r < 0)
                        return r;
        }
        if (check_cells(s) < 0)
                return -EINVAL;
        wrap(s);
        return 0;
}

/* ---- values: what gonum and Chainlink make of cgraph's strings ---- */

/* utf8.DecodeRune's length of the sequence at s, or 0 if invalid. */
static size_t utf8_length(const unsigned char *s, size_t n) {
        unsigned char c = s[0], lo = 0x80, hi = 0xbf;
        size_t need;
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                need = 1;
        else if (c >= 0xe0 && c <= 0xef)
                need = 2;
        else if (c >= 0xf0 && c <= 0xf4)
                need = 3;
        else
                return 0;
        if (c == 0xe0)
                lo = 0xa0;
        else if (c == 0xed)
                hi = 0x9f;
        else if (c == 0xf0)
                lo = 0x90;
        else if (c == 0xf4)
                hi = 0x8f;
        if (n < need + 1 || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i <= need; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return need + 1;
}

static void utf8_put(lk_buf *out, uint32_t r) {
        char b[4];
        size_t n;
        if (r < 0x80) {
                b[0] = (char)r;
                n = 1;
        } else if (r < 0x800) {
                b[0] = (char)(0xc0 | (r >> 6));
                b[1] = (char)(0x80 | (r & 0x3f));
                n = 2;
        } else if (r < 0x10000) {
                b[0] = (char)(0xe0 | (r >> 12));
                b[1] = (char)(0x80 | ((r >> 6) & 0x3f));
                b[2] = (char)(0x80 | (r & 0x3f));
                n = 3;
        } else {
                b[0] = (char)(0xf0 | (r >> 18));
                b[1] = (char)(0x80 | ((r >> 12) & 0x3f));
                b[2] = (char)(0x80 | ((r >> 6) & 0x3f));
                b[3] = (char)(0x80 | (r & 0x3f));
                n = 4;
        }
        lk_buf_append(out, b, n);
}

static char simple_escape(char c) {
        switch (c) {
        case 'a': return '\a';
        case 'b': return '\b';
        case 'f': return '\f';
        case 'n': return '\n';
        case 'r': return '\r';
        case 't': return '\t';
        case 'v': return '\v';
        case '\\': return '\\';
        case '"': return '"';
        default: return '\0';
        }
}

/* \NNN: three octal digits up to 255, one byte. */
static size_t octal_escape(const char *s, size_t n, lk_buf *out) {
        unsigned v = 0;
        if (n < 4)
                return 0;
        for (size_t i = 1; i < 4; i++) {
                if (s[i] < '0' || s[i] > '7')
                        return 0;
                v = v << 3 | (unsigned)(s[i] - '0');
        }
        if (v > 255)
                return 0;
        lk_buf_putc(out, (char)v);
        return 4;
}

/* \xNN (one byte), \uNNNN and \UNNNNNNNN (a valid rune, as UTF-8). */
static size_t hex_escape(const char *s, size_t n, lk_buf *out) {
        size_t digits = s[1] == 'x' ? 2 : s[1] == 'u' ? 4 : 8;
        uint32_t v = 0;
        if (n < 2 + digits)
                return 0;
        for (size_t i = 0; i < digits; i++) {
                int h = lk_hex_digit((unsigned char)s[2 + i]);
                if (h < 0)
                        return 0;
                v = v << 4 | (uint32_t)h;
        }
        if (s[1] == 'x')
                lk_buf_putc(out, (char)v);
        else if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                return 0;
        else
                utf8_put(out, v);
        return 2 + digits;
}

/* strconv.UnquoteChar of the escape at s (s[0] is a backslash) inside a
 * "..." string: appends its value and returns its length, 0 if invalid
 * (\' among them). */
static size_t go_escape(const char *s, size_t n, lk_buf *out) {
        char c = n > 1 ? s[1] : '\0', v = simple_escape(c);
        if (v != '\0') {
                lk_buf_putc(out, v);
                return 2;
        }
        if (c >= '0' && c <= '7')
                return octal_escape(s, n, out);
        if (c == 'x' || c == 'u' || c == 'U')
                return hex_escape(s, n, out);
        return 0;
}

/* strconv.Unquote of '"' + s + '"' (s holds no unescaped quote): false if
 * Go would refuse it.  Invalid UTF-8 becomes U+FFFD, as in Go. */
static bool go_unquote(const char *s, size_t n, lk_buf *out) {
        size_t i = 0;
        while (i < n) {
                const unsigned char *u = (const unsigned char *)s + i;
                size_t step = 1;
                if (s[i] == '\n')
                        return false;
                if (s[i] == '\\') {
                        step = go_escape(s + i, n - i, out);
                        if (step == 0)
                                return false;
                } else if (u[0] < 0x80) {
                        lk_buf_putc(out, s[i]);
                } else if ((step = utf8_length(u, n - i)) > 0) {
                        lk_buf_append(out, u, step);
                } else {
                        lk_buf_append(out, "\xef\xbf\xbd", 3);
                        step = 1;
                }
                i += step;
        }
        return true;
}

/* Undoes the pre-scan's ESC sequences: what the user wrote. */
static void unmark(const char *s, lk_buf *out) {
        for (; *s; s++) {
                if (*s != ESC || s[1] == '\0') {
                        lk_buf_putc(out, *s);
                        continue;
                }
                s++;
                if (*s == 'n')
                        lk_buf_putc(out, '\n');
                else if (*s == 'c')
                        lk_buf_append(out, "\\\n", 2);
                else if (*s == 'Q')
                        lk_buf_append(out, "\\\"", 2);
                else
                        lk_buf_putc(out, *s);
        }
}

/* gonum's unquoteID of the token that cgraph stored as s: a quoted string
 * is unquoted with strconv.Unquote, or kept whole (quotes included) when
 * that fails or when it looks like "<...>"; anything else is kept as
 * written, <HTML> strings with their brackets. */
static void unquote_id(const char *s, lk_buf *out) {
        lk_buf raw = LK_BUF_INIT;
        char kind = s[0] == ESC ? s[1] : '\0';
        if (kind != 'q' && kind != 'h') {
                lk_buf_puts(out, s);
                return;
        }
        unmark(s + 2, &raw);
        const char *text = lk_buf_str(&raw);
        size_t n = raw.len, mark = out->len;
        if (kind == 'h') {
                lk_buf_putc(out, '<');
                lk_buf_append(out, text, n);
                lk_buf_putc(out, '>');
        } else if ((n >= 2 && text[0] == '<' && text[n - 1] == '>') || !go_unquote(text, n, out)) {
                out->len = mark;
                lk_buf_putc(out, '"');
                lk_buf_append(out, text, n);
                lk_buf_putc(out, '"');
        }
        lk_buf_done(&raw);
}

static bool is_go_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Chainlink's bracketQuotedAttrRegexp, ^\s*<([^<>]+)>\s*$ replaced by $1. */
static void strip_brackets(lk_buf *v) {
        const char *s = lk_buf_str(v);
        size_t n = v->len, i = 0, open, close;
        while (i < n && is_go_space(s[i]))
                i++;
        if (i == n || s[i] != '<')
                return;
        open = i + 1;
        for (close = open; close < n && s[close] != '<' && s[close] != '>'; close++)
                ;
        if (close == open || close == n || s[close] != '>')
                return;
        for (i = close + 1; i < n && is_go_space(s[i]); i++)
                ;
        if (i != n)
                return;
        memmove(v->data, v->data + open, close - open);
        v->len = close - open;
        v->data[v->len] = '\0';
}

/* The decoded text, or NULL if it holds a NUL, which a C string cannot. */
static char *decode_string(const char *s, bool value) {
        lk_buf out = LK_BUF_INIT;
        unquote_id(s, &out);
        if (value)
                strip_brackets(&out);
        if (memchr(lk_buf_str(&out), '\0', out.len)) {
                lk_buf_done(&out);
                return NULL;
        }
        return lk_buf_steal(&out, NULL);
}

/* ---- cgraph, under cg_lock ---- */

typedef struct cg_mod {
        uint64_t seq;
        Agsym_t *sym;
} cg_mod;

typedef struct cg_run {
        Agdisc_t disc;
        Agiddisc_t id;
        Agiodisc_t io;
        Agcbdisc_t callbacks;
        const char *text;
        size_t len, pos;
        cg_mod *mods;
        size_t mod_count, mod_cap;
        bool failed, error_text_next;
        char message[512];
} cg_run;

/* cgraph's lexer and parser keep their state in globals, and its error
 * hook takes no argument: one parse at a time in the process, and the
 * run in progress is here. */
static pthread_mutex_t cg_lock = PTHREAD_MUTEX_INITIALIZER;
static cg_run *cg_current;

static int cg_read(void *chan, char *buf, int size) {
        cg_run *run = chan;
        size_t n = run->len - run->pos;
        if (size <= 0)
                return 0;
        if (n > (size_t)size)
                n = (size_t)size;
        memcpy(buf, run->text + run->pos, n);
        run->pos += n;
        return (int)n;
}

/* cgraph reports "Error" (or "Warning"), ": " and the text in three calls. */
static int cg_on_error(char *text) {
        cg_run *run = cg_current;
        if (!run)
                return 0;
        if (strcmp(text, "Error") == 0) {
                run->failed = true;
                run->error_text_next = true;
        } else if (strcmp(text, "Warning") == 0) {
                run->error_text_next = false;
        } else if (strcmp(text, ": ") != 0 && run->error_text_next) {
                if (run->message[0] == '\0')
                        snprintf(run->message, sizeof(run->message), "%s", text);
                run->error_text_next = false;
        }
        return 0;
}

static void cg_on_node_mod(Agraph_t *g, Agobj_t *obj, void *state, Agsym_t *sym) {
        cg_run *run = state;
        (void)g;
        if (run->mod_count == run->mod_cap) {
                run->mod_cap = run->mod_cap ? run->mod_cap * 2 : 64;
                run->mods = lk_realloc(run->mods, run->mod_cap * sizeof(cg_mod));
        }
        run->mods[run->mod_count++] = (cg_mod){AGSEQ(obj), sym};
}

/* cgraph opens the ID discipline right after creating the graph and
 * before reading into it: the one moment to install our callbacks on a
 * graph that agread creates. */
static void *cg_id_open(Agraph_t *g, Agdisc_t *disc) {
        cg_run *run = (cg_run *)((char *)disc - offsetof(cg_run, disc));
        void *state = AgIdDisc.open(g, disc);
        agpushdisc(g, &run->callbacks, run);
        return state;
}

static void cg_run_init(cg_run *run, const lk_buf *text) {
        *run = (cg_run){0};
        run->io = (Agiodisc_t){cg_read, AgIoDisc.putstr, AgIoDisc.flush};
        run->id = AgIdDisc;
        run->id.open = cg_id_open;
        /* cgraph's own allocator, not lk_malloc: cgraph frees some of its
         * dictionaries' memory with free() although it took it from the
         * discipline, and the other way round, so only malloc fits. */
        run->disc = (Agdisc_t){&AgMemDisc, &run->id, &run->io};
        run->callbacks.node.mod = cg_on_node_mod;
        run->text = text->data;
        run->len = text->len;
}

/* ---- cgraph's result, copied out and decoded ---- */

typedef struct edge {
        int from, to;
} edge;

typedef struct draft_node {
        char *dot_id;
        lk_graph_attr *attrs;
        size_t attr_count;
        uint32_t line;
} draft_node;

typedef struct draft {
        draft_node *nodes;
        size_t count;
        edge *edges;
        size_t edge_count;
} draft;

static void draft_done(draft *d) {
        for (size_t i = 0; i < d->count; i++) {
                lk_free(d->nodes[i].dot_id);
                for (size_t j = 0; j < d->nodes[i].attr_count; j++) {
                        lk_free(d->nodes[i].attrs[j].key);
                        lk_free(d->nodes[i].attrs[j].value);
                }
                lk_free(d->nodes[i].attrs);
        }
        lk_free(d->nodes);
        lk_free(d->edges);
        *d = (draft){0};
}

/* Attribute names decoded once per cgraph symbol, and for each symbol the
 * smallest symbol id with the same decoded name ("k" and "\"k\"" are one
 * key to gonum). */
typedef struct keymap {
        char **names;
        size_t *canon;
        size_t count;
} keymap;

static void keymap_done(keymap *k) {
        for (size_t i = 0; i < k->count; i++)
                lk_free(k->names[i]);
        lk_free(k->names);
        lk_free(k->canon);
}

static int keymap_build(keymap *k, Agraph_t *g, lk_err *err) {
        int max_id = -1;
        for (Agsym_t *sym = agnxtattr(g, AGNODE, NULL); sym; sym = agnxtattr(g, AGNODE, sym))
                if (sym->id > max_id)
                        max_id = sym->id;
        k->count = (size_t)(max_id + 1);
        k->names = lk_calloc(k->count + 1, sizeof(char *));
        k->canon = lk_calloc(k->count + 1, sizeof(size_t));
        for (Agsym_t *sym = agnxtattr(g, AGNODE, NULL); sym; sym = agnxtattr(g, AGNODE, sym)) {
                if (sym->id < 0 || k->names[sym->id])
                        return dot_error(err, 0, 0, "unexpected attribute table from libcgraph");
                k->names[sym->id] = decode_string(sym->name, false);
                if (!k->names[sym->id])
                        return dot_error(err, 0, 0, "an attribute name holds a NUL character");
        }
        for (size_t i = 0; i < k->count; i++) {
                k->canon[i] = i;
                for (size_t j = 0; k->names[i] && j < i; j++)
                        if (k->names[j] && strcmp(k->names[i], k->names[j]) == 0) {
                                k->canon[i] = j;
                                break;
                        }
        }
        return 0;
}

/* Replays the node's attribute assignments in order: the last value of
 * each (decoded) key wins, and keys keep the order they were first set.
 * slot[] is all zero on entry and on return. */
static int copy_attrs(draft_node *node, Agnode_t *n, const cg_mod *mods, size_t count, const keymap *keys,
                      size_t *slot, lk_err *err) {
        Agsym_t **last = lk_calloc(count + 1, sizeof(Agsym_t *));
        int r = 0;
        node->attrs = lk_calloc(count + 1, sizeof(lk_graph_attr));
        for (size_t i = 0; i < count; i++) {
                size_t canon = keys->canon[mods[i].sym->id];
                if (slot[canon] == 0) {
                        node->attrs[node->attr_count].key = lk_strdup(keys->names[canon]);
                        slot[canon] = ++node->attr_count;
                }
                last[slot[canon] - 1] = mods[i].sym;
        }
        for (size_t i = 0; i < count; i++)
                slot[keys->canon[mods[i].sym->id]] = 0;
        for (size_t j = 0; j < node->attr_count && r == 0; j++) {
                const char *value = agxget(n, last[j]);
                if (!value) {
                        r = dot_error(err, node->line, 0, "libcgraph lost attribute %s of %s", node->attrs[j].key,
                                      node->dot_id);
                        break;
                }
                node->attrs[j].value = decode_string(value, true);
                if (!node->attrs[j].value)
                        r = dot_error(err, node->line, 0, "attribute %s of %s holds a NUL character",
                                      node->attrs[j].key, node->dot_id);
        }
        lk_free(last);
        return r;
}

/* Checks the callback's log against cgraph's tables before using it. */
static int check_mods(const cg_run *run, size_t nodes, const keymap *keys, lk_err *err) {
        for (size_t i = 0; i < run->mod_count; i++) {
                const cg_mod *m = &run->mods[i];
                if (m->seq < 1 || m->seq > nodes || m->sym->id < 0 || (size_t)m->sym->id >= keys->count ||
                    !keys->names[m->sym->id])
                        return dot_error(err, 0, 0, "unexpected attribute log from libcgraph");
        }
        return 0;
}

/* The mods of each node together, in the order they happened: node v's
 * are sorted[start[v] .. start[v+1]). */
static cg_mod *group_mods(const cg_run *run, size_t nodes, size_t *start) {
        size_t *next = lk_calloc(nodes + 1, sizeof(size_t));
        cg_mod *sorted = lk_malloc((run->mod_count + 1) * sizeof(cg_mod));
        memset(start, 0, (nodes + 1) * sizeof(size_t));
        for (size_t i = 0; i < run->mod_count; i++)
                start[run->mods[i].seq]++;
        for (size_t v = 1; v <= nodes; v++)
                start[v] += start[v - 1];
        memcpy(next, start, nodes * sizeof(size_t));
        for (size_t i = 0; i < run->mod_count; i++)
                sorted[next[run->mods[i].seq - 1]++] = run->mods[i];
        lk_free(next);
        return sorted;
}

static int copy_nodes(draft *d, Agraph_t *g, const cg_run *run, const scanner *s, lk_err *err) {
        size_t *start = lk_malloc((d->count + 1) * sizeof(size_t)), *slot = NULL, i = 0;
        keymap keys = {0};
        cg_mod *mods = NULL;
        int r = keymap_build(&keys, g, err);
        if (r == 0)
                r = check_mods(run, d->count, &keys, err);
        if (r < 0)
                goto out;
        mods = group_mods(run, d->count, start);
        slot = lk_calloc(keys.count + 1, sizeof(size_t));
        for (Agnode_t *n = agfstnode(g); n && r == 0; n = agnxtnode(g, n), i++) {
                draft_node *node = &d->nodes[i];
                const char *name = agnameof(n);
                if (!name) {
                        r = dot_error(err, 0, 0, "libcgraph returned a task without a name");
                        break;
                }
                node->line = name_set_line(&s->nodes, s->out.data, name);
                node->dot_id = decode_string(name, false);
                if (!node->dot_id)
                        r = dot_error(err, node->line, 0, "a task name in line %u holds a NUL character",
                                      node->line);
                else
                        r = copy_attrs(node, n, mods + start[i], start[i + 1] - start[i], &keys, slot, err);
        }
out:
        lk_free(slot);
        lk_free(mods);
        lk_free(start);
        keymap_done(&keys);
        return r;
}

static int copy_edges(draft *d, Agraph_t *g, lk_err *err) {
        size_t cap = (size_t)agnedges(g) + 1;
        d->edges = lk_malloc(cap * sizeof(edge));
        for (Agnode_t *n = agfstnode(g); n; n = agnxtnode(g, n))
                for (Agedge_t *e = agfstout(g, n); e; e = agnxtout(g, e)) {
                        if (d->edge_count + 1 >= cap)
                                return dot_error(err, 0, 0, "unexpected edges from libcgraph");
                        d->edges[d->edge_count++] = (edge){(int)AGSEQ(agtail(e)) - 1, (int)AGSEQ(aghead(e)) - 1};
                }
        return 0;
}

static int copy_graph(draft *d, Agraph_t *g, const cg_run *run, const scanner *s, lk_err *err) {
        size_t i = 0;
        int n = agnnodes(g), r;
        if (n < 0 || n > TASKS_MAX)
                return dot_error(err, 0, 0, "more than %d tasks", TASKS_MAX);
        /* Nodes come in creation order, numbered from 1: gonum's IDs. */
        for (Agnode_t *v = agfstnode(g); v; v = agnxtnode(g, v), i++)
                if (AGSEQ(v) != i + 1)
                        return dot_error(err, 0, 0, "unexpected node order from libcgraph");
        d->count = (size_t)n;
        d->nodes = lk_calloc(d->count + 1, sizeof(draft_node));
        r = copy_nodes(d, g, run, s, err);
        if (r < 0)
                return r;
        return copy_edges(d, g, err);
}

/* A source line for line N of the wrapped text, or 0 past its end. */
static uint32_t source_line(const scanner *s, unsigned long wrapped) {
        unsigned long first = 2 + (unsigned long)s->head_lines;
        if (wrapped < first)
                return 1;
        if (wrapped - first < s->lines)
                return s->line_map[wrapped - first];
        return 0;
}

/* cgraph's "syntax error in line N near 'x'", N counted in the wrapped,
 * rewritten text, told in the user's lines. */
static int cg_error(const cg_run *run, const scanner *s, lk_err *err) {
        char text[sizeof(run->message)];
        const char *at, *rest;
        uint32_t line;
        snprintf(text, sizeof(text), "%s", run->message[0] ? run->message : "syntax error");
        text[strcspn(text, "\n")] = '\0';
        for (char *p = text; *p; p++)
                if ((unsigned char)*p < 0x20)
                        *p = '?';
        at = strstr(text, " in line ");
        if (!at)
                return dot_error(err, 0, 0, "%s", text);
        line = source_line(s, strtoul(at + 9, NULL, 10));
        for (rest = at + 9; *rest >= '0' && *rest <= '9'; rest++)
                ;
        if (line == 0) /* at the '}' we added */
                return dot_error(err, s->line, 0, "%.*s in line %u at end of input", (int)(at - text), text,
                                 s->line);
        return dot_error(err, line, 0, "%.*s in line %u%s", (int)(at - text), text, line, rest);
}

/* agread, not agconcat into a graph of ours: the grammar resets its
 * subgraph depth count only when it opens the graph itself, and a syntax
 * error inside a subgraph leaves the count raised, until every later
 * parse fails with "subgraphs nested more than 10000 deep". */
static int cg_parse_locked(cg_run *run, const scanner *s, draft *d, lk_err *err) {
        Agraph_t *parsed;
        int r;
        agreadline(1);
        parsed = agread(run, &run->disc);
        /* Reset the lexer: cgraph leaves unread input in it when a parse
         * stops early, and the next caller would read it. */
        aaglex_destroy();
        /* On a syntax error cgraph has closed the graph itself. */
        if (!parsed || run->failed) {
                if (parsed)
                        agclose(parsed);
                return cg_error(run, s, err);
        }
        r = copy_graph(d, parsed, run, s, err);
        agclose(parsed);
        return r;
}

static int cg_parse(const scanner *s, draft *d, lk_err *err) {
        cg_run run;
        agusererrf previous;
        int r;
        cg_run_init(&run, &s->text);
        pthread_mutex_lock(&cg_lock);
        cg_current = &run;
        previous = agseterrf(cg_on_error);
        r = cg_parse_locked(&run, s, d, err);
        agseterrf(previous);
        cg_current = NULL;
        pthread_mutex_unlock(&cg_lock);
        lk_free(run.mods);
        return r;
}

/* ---- adjacency ---- */

typedef struct adj {
        size_t *start; /* node v's neighbours are ids[start[v] .. start[v+1]) */
        int *ids;
} adj;

static int edge_by_from(const void *a, const void *b) {
        const edge *x = a, *y = b;
        if (x->from != y->from)
                return x->from < y->from ? -1 : 1;
        return x->to < y->to ? -1 : x->to > y->to;
}

static int edge_by_to(const void *a, const void *b) {
        const edge *x = a, *y = b;
        if (x->to != y->to)
                return x->to < y->to ? -1 : 1;
        return x->from < y->from ? -1 : x->from > y->from;
}

/* Sorts and removes duplicates: gonum's simple graph holds one edge per pair. */
static size_t edges_unique(edge *e, size_t count) {
        size_t n = 0;
        qsort(e, count, sizeof(edge), edge_by_from);
        for (size_t i = 0; i < count; i++)
                if (n == 0 || e[n - 1].from != e[i].from || e[n - 1].to != e[i].to)
                        e[n++] = e[i];
        return n;
}

/* Each node's neighbours in ascending order: its parents or its children. */
static void adj_build(adj *a, const edge *edges, size_t count, size_t nodes, bool parents) {
        edge *e = lk_malloc((count + 1) * sizeof(edge));
        if (count)
                memcpy(e, edges, count * sizeof(edge));
        qsort(e, count, sizeof(edge), parents ? edge_by_to : edge_by_from);
        a->start = lk_calloc(nodes + 1, sizeof(size_t));
        a->ids = lk_malloc((count + 1) * sizeof(int));
        for (size_t i = 0; i < count; i++) {
                a->start[(parents ? e[i].to : e[i].from) + 1]++;
                a->ids[i] = parents ? e[i].from : e[i].to;
        }
        for (size_t v = 1; v <= nodes; v++)
                a->start[v] += a->start[v - 1];
        lk_free(e);
}

static void adj_done(adj *a) {
        lk_free(a->start);
        lk_free(a->ids);
}

static size_t adj_count(const adj *a, int v) {
        return a->start[v + 1] - a->start[v];
}

/* Whether w is among v's neighbours, which are sorted. */
static bool adj_has(const adj *a, int v, int w) {
        size_t lo = a->start[v], hi = a->start[v + 1];
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (a->ids[mid] == w)
                        return true;
                if (a->ids[mid] < w)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

/* ---- implicit edges ---- */

typedef struct named {
        const char *dot_id;
        int node;
} named;

typedef struct by_name {
        named *order; /* nodes sorted by dot id, then by creation */
        size_t count;
} by_name;

static int named_cmp(const void *a, const void *b) {
        const named *x = a, *y = b;
        int c = strcmp(x->dot_id, y->dot_id);
        return c ? c : (x->node > y->node) - (x->node < y->node);
}

/* strcmp(id, name) for a name of len bytes that is not NUL-terminated. */
static int name_cmp(const char *id, const char *name, size_t len) {
        int c = strncmp(id, name, len);
        return c ? c : id[len] != '\0';
}

/* Nodes whose dot id is name[0..len), as a range of order[]. */
static size_t find_named(const by_name *b, const char *name, size_t len, size_t *ret_end) {
        size_t lo = 0, hi = b->count, end;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (name_cmp(b->order[mid].dot_id, name, len) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (end = lo; end < b->count && name_cmp(b->order[end].dot_id, name, len) == 0; end++)
                ;
        *ret_end = end;
        return lo;
}

/* The first keypath segment of each $(...) in value, by Chainlink's
 * variableRegexp \$\(\s*([a-zA-Z0-9_\.]+)\s*\); calls add for each. */
static void scan_references(const char *value, void (*add)(void *ctx, const char *name, size_t len), void *ctx) {
        for (const char *p = strstr(value, "$("); p; p = strstr(p + 1, "$(")) {
                const char *q = p + 2, *path;
                size_t n = 0, first;
                while (is_go_space(*q))
                        q++;
                path = q;
                while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || is_digit(*q) || *q == '_' || *q == '.')
                        q++;
                n = (size_t)(q - path);
                while (is_go_space(*q))
                        q++;
                if (n == 0 || *q != ')')
                        continue;
                for (first = 0; first < n && path[first] != '.'; first++)
                        ;
                add(ctx, path, first);
                p = q;
        }
}

typedef struct ref {
        const char *name;
        size_t len;
} ref;

typedef struct refs {
        ref *items;
        size_t count, cap;
} refs;

static void refs_add(void *arg, const char *name, size_t len) {
        refs *r = arg;
        if (r->count == r->cap) {
                r->cap = r->cap ? r->cap * 2 : 16;
                r->items = lk_realloc(r->items, r->cap * sizeof(ref));
        }
        r->items[r->count++] = (ref){name, len};
}

static int ref_cmp(const void *a, const void *b) {
        const ref *x = a, *y = b;
        int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
        return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The names node v refers to, each once: a value may name a task many
 * times, and many tasks may share a dot id. */
static void node_refs(const draft_node *node, refs *r) {
        size_t n = 0;
        r->count = 0;
        for (size_t j = 0; j < node->attr_count; j++)
                scan_references(node->attrs[j].value, refs_add, r);
        if (r->count == 0)
                return;
        qsort(r->items, r->count, sizeof(ref), ref_cmp);
        for (size_t i = 0; i < r->count; i++)
                if (n == 0 || ref_cmp(&r->items[n - 1], &r->items[i]) != 0)
                        r->items[n++] = r->items[i];
        r->count = n;
}

typedef struct edges {
        edge *items;
        size_t count, cap;
} edges;

/* M -> v for every task M named by ref, unless M is v or the edge exists. */
static int add_implicit(edges *e, const by_name *names, const adj *parents, int v, const ref *r) {
        size_t end, i = find_named(names, r->name, r->len, &end);
        for (; i < end; i++) {
                int from = names->order[i].node;
                if (from == v || adj_has(parents, v, from))
                        continue;
                if (e->count == EDGES_MAX)
                        return -EINVAL;
                if (e->count == e->cap) {
                        e->cap = e->cap ? e->cap * 2 : 16;
                        e->items = lk_realloc(e->items, e->cap * sizeof(edge));
                }
                e->items[e->count++] = (edge){from, v};
        }
        return 0;
}

/* Chainlink's AddImplicitDependenciesAsEdges, for every $(M...) in an
 * attribute of a task. */
static int implicit_edges(const draft *d, const adj *parents, edges *ret, lk_err *err) {
        by_name names = {lk_malloc((d->count + 1) * sizeof(named)), d->count};
        refs r = {0};
        int res = 0;
        for (size_t i = 0; i < d->count; i++)
                names.order[i] = (named){d->nodes[i].dot_id, (int)i};
        qsort(names.order, d->count, sizeof(named), named_cmp);
        for (size_t v = 0; v < d->count && res == 0; v++) {
                node_refs(&d->nodes[v], &r);
                for (size_t i = 0; i < r.count && res == 0; i++)
                        res = add_implicit(ret, &names, parents, (int)v, &r.items[i]);
                if (res < 0)
                        res = dot_error(err, d->nodes[v].line, 0, "more than %d implicit edges", EDGES_MAX);
        }
        lk_free(r.items);
        lk_free(names.order);
        if (res == 0 && ret->count)
                ret->count = edges_unique(ret->items, ret->count);
        return res;
}

/* ---- gonum's topo.SortStabilized ---- */

typedef struct tarjan {
        const adj *succ;
        size_t n, counter;
        size_t *index, *low;
        bool *on_stack;
        int *stack;
        size_t depth;
        int *sccs; /* nodes in the order components were found */
        size_t *scc_end;
        size_t scc_count, scc_nodes;
} tarjan;

typedef struct frame {
        int v;
        size_t next; /* successors are visited from the highest id down */
} frame;

static void tarjan_visit(tarjan *t, frame *frames, size_t *top, int v) {
        t->index[v] = t->low[v] = ++t->counter;
        t->stack[t->depth++] = v;
        t->on_stack[v] = true;
        frames[(*top)++] = (frame){v, t->succ->start[v + 1]};
}

static void tarjan_finish(tarjan *t, int v) {
        if (t->low[v] != t->index[v])
                return;
        int w;
        do {
                w = t->stack[--t->depth];
                t->on_stack[w] = false;
                t->sccs[t->scc_nodes++] = w;
        } while (w != v);
        t->scc_end[t->scc_count++] = t->scc_nodes;
}

static void tarjan_connect(tarjan *t, frame *frames, int root) {
        size_t top = 0;
        tarjan_visit(t, frames, &top, root);
        while (top > 0) {
                frame *f = &frames[top - 1];
                if (f->next > t->succ->start[f->v]) {
                        int w = t->succ->ids[--f->next];
                        if (t->index[w] == 0)
                                tarjan_visit(t, frames, &top, w);
                        else if (t->on_stack[w] && t->index[w] < t->low[f->v])
                                t->low[f->v] = t->index[w];
                        continue;
                }
                int v = f->v;
                tarjan_finish(t, v);
                if (--top > 0 && t->low[v] < t->low[frames[top - 1].v])
                        t->low[frames[top - 1].v] = t->low[v];
        }
}

static void tarjan_run(tarjan *t) {
        frame *frames = lk_malloc((t->n + 1) * sizeof(frame));
        for (size_t i = t->n; i-- > 0;)
                if (t->index[i] == 0)
                        tarjan_connect(t, frames, (int)i);
        lk_free(frames);
}

static int int_cmp(const void *a, const void *b) {
        int x = *(const int *)a, y = *(const int *)b;
        return (x > y) - (x < y);
}

/* gonum's Unorderable error: the cyclic components in topological order,
 * each sorted by ID. */
static int cycle_error(const tarjan *t, const draft *d, lk_err *err) {
        lk_buf text = LK_BUF_INIT;
        size_t nodes = 0, comps = 0, first = 0;
        uint32_t line = 0;
        lk_buf_putc(&text, '[');
        for (size_t c = t->scc_count; c-- > 0;) {
                size_t begin = c ? t->scc_end[c - 1] : 0, n = t->scc_end[c] - begin;
                if (n == 1)
                        continue;
                qsort(t->sccs + begin, n, sizeof(int), int_cmp);
                lk_buf_puts(&text, comps++ ? " [" : "[");
                for (size_t i = 0; i < n; i++)
                        lk_buf_printf(&text, "%s%s", i ? " " : "", d->nodes[t->sccs[begin + i]].dot_id);
                lk_buf_putc(&text, ']');
                if (nodes == 0)
                        first = begin;
                nodes += n;
        }
        lk_buf_putc(&text, ']');
        line = d->nodes[t->sccs[first]].line;
        if (nodes > 10)
                lk_err_set_at(err, -EINVAL, line, 0,
                              "Unable to topologically sort the graph, cycle detected: topo: no topological "
                              "ordering: %zu nodes in %zu cyclic components",
                              nodes, comps);
        else
                lk_err_set_at(err, -EINVAL, line, 0,
                              "Unable to topologically sort the graph, cycle detected: topo: no topological "
                              "ordering: cyclic components: %s",
                              lk_buf_str(&text));
        lk_buf_done(&text);
        return -EINVAL;
}

/* Topological order by gonum's SortStabilized with IDs = creation order:
 * order[k] is the node at position k. */
static int topo_sort(const adj *succ, const draft *d, int *order, lk_err *err) {
        size_t n = d->count;
        tarjan t = {
                .succ = succ,
                .n = n,
                .index = lk_calloc(n + 1, sizeof(size_t)),
                .low = lk_calloc(n + 1, sizeof(size_t)),
                .on_stack = lk_calloc(n + 1, sizeof(bool)),
                .stack = lk_malloc((n + 1) * sizeof(int)),
                .sccs = lk_malloc((n + 1) * sizeof(int)),
                .scc_end = lk_malloc((n + 1) * sizeof(size_t)),
        };
        int r = 0;
        tarjan_run(&t);
        if (t.scc_count != n)
                r = cycle_error(&t, d, err);
        for (size_t i = 0; r == 0 && i < n; i++)
                order[i] = t.sccs[n - 1 - i];
        lk_free(t.index);
        lk_free(t.low);
        lk_free(t.on_stack);
        lk_free(t.stack);
        lk_free(t.sccs);
        lk_free(t.scc_end);
        return r;
}

/* ---- index: mapstructure's weakly typed string to int32 ---- */

typedef enum num_result { NUM_OK, NUM_SYNTAX, NUM_RANGE } num_result;

static char lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* strconv's underscoreOK: underscores only between digits (or after a
 * base prefix). */
static bool underscore_ok(const char *s) {
        char saw = '^';
        size_t i = 0;
        bool hex = false;
        if (*s == '-' || *s == '+')
                s++;
        if (s[0] == '0' && (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
                i = 2;
                saw = '0';
                hex = lower(s[1]) == 'x';
        }
        for (; s[i]; i++) {
                if (is_digit(s[i]) || (hex && lower(s[i]) >= 'a' && lower(s[i]) <= 'f')) {
                        saw = '0';
                } else if (s[i] == '_') {
                        if (saw != '0')
                                return false;
                        saw = '_';
                } else {
                        if (saw == '_')
                                return false;
                        saw = '!';
                }
        }
        return saw != '_';
}

/* strconv.ParseUint(s, 0, 32) */
static num_result go_parse_uint32(const char *s, uint64_t *ret) {
        const char *s0 = s;
        unsigned base = 10;
        uint64_t n = 0, max = UINT32_MAX;
        bool underscores = false;
        if (*s == '\0')
                return NUM_SYNTAX;
        if (s[0] == '0') {
                size_t len = strlen(s);
                char b = len >= 3 ? lower(s[1]) : '\0';
                base = b == 'b' ? 2 : b == 'o' ? 8 : b == 'x' ? 16 : 8;
                s += base == 8 && b != 'o' ? 1 : 2;
        }
        for (; *s; s++) {
                unsigned d;
                if (*s == '_') {
                        underscores = true;
                        continue;
                }
                if (is_digit(*s))
                        d = (unsigned)(*s - '0');
                else if (lower(*s) >= 'a' && lower(*s) <= 'z')
                        d = (unsigned)(lower(*s) - 'a' + 10);
                else
                        return NUM_SYNTAX;
                if (d >= base)
                        return NUM_SYNTAX;
                if (n * base + d > max)
                        return NUM_RANGE;
                n = n * base + d;
        }
        if (underscores && !underscore_ok(s0))
                return NUM_SYNTAX;
        *ret = n;
        return NUM_OK;
}

/* strconv.ParseInt(s, 0, 32) */
static num_result go_parse_int32(const char *s, int32_t *ret) {
        bool neg = *s == '-';
        uint64_t u = 0;
        num_result r;
        if (*s == '\0')
                return NUM_SYNTAX;
        r = go_parse_uint32(s + (*s == '-' || *s == '+'), &u);
        if (r == NUM_SYNTAX)
                return r;
        if (r == NUM_RANGE || (!neg && u > INT32_MAX) || (neg && u > (uint64_t)INT32_MAX + 1))
                return NUM_RANGE;
        *ret = neg ? (int32_t)(-(int64_t)u) : (int32_t)u;
        return NUM_OK;
}

/* The code point of a valid UTF-8 sequence of n bytes. */
static uint32_t utf8_rune(const unsigned char *p, size_t n) {
        uint32_t r = n == 1 ? p[0] : n == 2 ? p[0] & 0x1fu : n == 3 ? p[0] & 0x0fu : p[0] & 0x07u;
        for (size_t i = 1; i < n; i++)
                r = r << 6 | (p[i] & 0x3fu);
        return r;
}

/* strconv.Quote, close enough for an error message: ASCII controls, C1
 * controls, NBSP, SHY and invalid bytes escaped; other runes kept. */
static void go_quote(lk_buf *out, const char *s) {
        static const char controls[] = "\aa\bb\ff\nn\rr\tt\vv";
        lk_buf_putc(out, '"');
        for (const unsigned char *p = (const unsigned char *)s; *p;) {
                size_t n = utf8_length(p, strlen((const char *)p));
                uint32_t r = n ? utf8_rune(p, n) : 0xfffd;
                const char *c = *p ? strchr(controls, *p) : NULL;
                if (*p == '"' || *p == '\\')
                        lk_buf_printf(out, "\\%c", *p);
                else if (c && (c - controls) % 2 == 0)
                        lk_buf_printf(out, "\\%c", c[1]);
                else if (n == 0 || *p < 0x20 || *p == 0x7f)
                        lk_buf_printf(out, "\\x%02x", *p);
                else if (n > 1 && (r < 0xa0 || r == 0xa0 || r == 0xad))
                        lk_buf_printf(out, "\\u%04x", (unsigned)r);
                else
                        lk_buf_append(out, p, n);
                p += n ? n : 1;
        }
        lk_buf_putc(out, '"');
}

static int parse_index(const lk_graph_task *task, uint32_t line, int32_t *ret, lk_err *err) {
        const char *v = lk_graph_attr_get(task, "index");
        num_result r;
        lk_buf quoted = LK_BUF_INIT;
        *ret = 0;
        if (!v || *v == '\0')
                return 0;
        r = go_parse_int32(v, ret);
        if (r == NUM_OK)
                return 0;
        go_quote(&quoted, v);
        lk_err_set_at(err, -EINVAL, line, 0,
                      "UnmarshalTaskFromMap: 1 error(s) decoding:\n\n* cannot parse 'index' as int: "
                      "strconv.ParseInt: parsing %s: %s",
                      lk_buf_str(&quoted), r == NUM_RANGE ? "value out of range" : "invalid syntax");
        lk_buf_done(&quoted);
        return -EINVAL;
}

/* ---- the task graph ---- */

typedef struct builder {
        draft *d;
        adj parents, children, after, successors;
        int *order;    /* topological position -> node */
        int *position; /* node -> topological position */
        lk_graph *graph;
} builder;

static int *ids_copy(const adj *a, int v, const int *position, size_t *ret_count) {
        size_t n = adj_count(a, v);
        int *ids = n ? lk_malloc(n * sizeof(int)) : NULL;
        for (size_t i = 0; i < n; i++)
                ids[i] = position[a->ids[a->start[v] + i]];
        if (n)
                qsort(ids, n, sizeof(int), int_cmp);
        *ret_count = n;
        return ids;
}

typedef struct input {
        int32_t index;
        int id;
} input;

/* Inputs by the parent's index, then by its position. */
static int input_cmp(const void *a, const void *b) {
        const input *x = a, *y = b;
        if (x->index != y->index)
                return x->index < y->index ? -1 : 1;
        return (x->id > y->id) - (x->id < y->id);
}

static void sort_inputs(const lk_graph *g, lk_graph_task *task) {
        input *in = lk_malloc((task->input_count + 1) * sizeof(input));
        for (size_t i = 0; i < task->input_count; i++)
                in[i] = (input){g->tasks[task->inputs[i]].index, task->inputs[i]};
        qsort(in, task->input_count, sizeof(input), input_cmp);
        for (size_t i = 0; i < task->input_count; i++)
                task->inputs[i] = in[i].id;
        lk_free(in);
}

static char *type_of(const lk_graph_task *task) {
        char *type = NULL;
        /* Chainlink reads node.attrs["type"]: this key exactly. */
        for (size_t i = 0; i < task->attr_count && !type; i++)
                if (strcmp(task->attrs[i].key, "type") == 0)
                        type = lk_strdup(task->attrs[i].value);
        if (!type)
                return lk_strdup("");
        for (char *p = type; *p; p++)
                *p = lower(*p);
        return type;
}

/* Moves node v's data into its task; the checks Chainlink makes per task,
 * in topological order. */
static void fill_task(builder *b, size_t k) {
        int v = b->order[k];
        draft_node *node = &b->d->nodes[v];
        lk_graph_task *task = &b->graph->tasks[k];
        task->id = (int)k;
        task->dot_id = node->dot_id;
        task->attrs = node->attrs;
        task->attr_count = node->attr_count;
        task->line = node->line;
        node->dot_id = NULL;
        node->attrs = NULL;
        node->attr_count = 0;
        task->type = type_of(task);
        task->inputs = ids_copy(&b->parents, v, b->position, &task->input_count);
        task->outputs = ids_copy(&b->children, v, b->position, &task->output_count);
        task->after = ids_copy(&b->after, v, b->position, &task->after_count);
        task->terminal = adj_count(&b->successors, v) == 0;
}

static int check_task(lk_graph_task *task, lk_err *err) {
        if (strcmp(task->dot_id, "input") == 0)
                return lk_err_set_at(err, -EINVAL, task->line, 0,
                                     "'input' is a reserved keyword that cannot be used as a task's name");
        return parse_index(task, task->line, &task->index, err);
}

static int assemble(builder *b, lk_err *err) {
        size_t n = b->d->count;
        b->graph = lk_calloc(1, sizeof(lk_graph));
        b->graph->tasks = n ? lk_calloc(n, sizeof(lk_graph_task)) : NULL;
        b->graph->task_count = n;
        for (size_t k = 0; k < n; k++)
                fill_task(b, k);
        for (size_t k = 0; k < n; k++) {
                int r = check_task(&b->graph->tasks[k], err);
                if (r < 0)
                        return r;
        }
        for (size_t k = 0; k < n; k++)
                sort_inputs(b->graph, &b->graph->tasks[k]);
        return 0;
}

static int self_edge_check(const draft *d, lk_err *err) {
        for (size_t i = 0; i < d->edge_count; i++)
                if (d->edges[i].from == d->edges[i].to)
                        return dot_error(err, d->nodes[d->edges[i].from].line, 0, "simple: adding self edge");
        return 0;
}

static void builder_done(builder *b) {
        adj_done(&b->parents);
        adj_done(&b->children);
        adj_done(&b->after);
        adj_done(&b->successors);
        lk_free(b->order);
        lk_free(b->position);
}

static int link_edges(builder *b, lk_err *err) {
        draft *d = b->d;
        edges implicit = {0};
        edge *all;
        size_t n = d->count;
        int r;
        d->edge_count = edges_unique(d->edges, d->edge_count);
        adj_build(&b->parents, d->edges, d->edge_count, n, true);
        adj_build(&b->children, d->edges, d->edge_count, n, false);
        r = implicit_edges(d, &b->parents, &implicit, err);
        if (r < 0) {
                lk_free(implicit.items);
                return r;
        }
        adj_build(&b->after, implicit.items, implicit.count, n, true);
        all = lk_malloc((d->edge_count + implicit.count + 1) * sizeof(edge));
        if (d->edge_count)
                memcpy(all, d->edges, d->edge_count * sizeof(edge));
        if (implicit.count)
                memcpy(all + d->edge_count, implicit.items, implicit.count * sizeof(edge));
        adj_build(&b->successors, all, d->edge_count + implicit.count, n, false);
        lk_free(all);
        lk_free(implicit.items);
        b->order = lk_malloc((n + 1) * sizeof(int));
        b->position = lk_malloc((n + 1) * sizeof(int));
        r = topo_sort(&b->successors, d, b->order, err);
        for (size_t k = 0; r == 0 && k < n; k++)
                b->position[b->order[k]] = (int)k;
        return r;
}

static int build(draft *d, lk_graph **ret, lk_err *err) {
        builder b = {.d = d};
        int r = self_edge_check(d, err);
        if (r < 0)
                return r;
        r = link_edges(&b, err);
        if (r == 0)
                r = assemble(&b, err);
        if (r < 0)
                b.graph = lk_graph_free(b.graph);
        builder_done(&b);
        *ret = b.graph;
        return r;
}

int lk_graph_parse(const char *source, size_t len, lk_graph **ret_graph, lk_err *err) {
        scanner s;
        draft d = {0};
        lk_graph *graph = NULL;
        int r;
        if (ret_graph)
                *ret_graph = NULL;
        if (!source && len > 0)
                return lk_err_set(err, -EINVAL, "no source");
        if (len > SOURCE_MAX)
                return dot_error(err, 0, 0, "the source is %zu bytes, more than the %zu allowed", len,
                                 SOURCE_MAX);
        r = prescan(&s, source ? source : "", len, err);
        if (r == 0)
                r = cg_parse(&s, &d, err);
        scanner_done(&s);
        if (r == 0)
                r = build(&d, &graph, err);
        draft_done(&d);
        if (r == 0 && ret_graph)
                *ret_graph = graph;
        else
                lk_graph_free(graph);
        return r;
}

lk_graph *lk_graph_free(lk_graph *graph) {
        if (!graph)
                return NULL;
        for (size_t i = 0; i < graph->task_count; i++) {
                lk_graph_task *t = &graph->tasks[i];
                lk_free(t->dot_id);
                lk_free(t->type);
                for (size_t j = 0; j < t->attr_count; j++) {
                        lk_free(t->attrs[j].key);
                        lk_free(t->attrs[j].value);
                }
                lk_free(t->attrs);
                lk_free(t->inputs);
                lk_free(t->outputs);
                lk_free(t->after);
        }
        lk_free(graph->tasks);
        lk_free(graph);
        return NULL;
}

/* One unit of s as Go's strings.EqualFold compares it with an ASCII name:
 * ASCII letters in lower case, and the two non-ASCII letters that fold to
 * ASCII ones, KELVIN SIGN (k) and LONG S (s). */
static int fold_next(const char **s) {
        const unsigned char *p = (const unsigned char *)*s;
        if (p[0] == 0xe2 && p[1] == 0x84 && p[2] == 0xaa) {
                *s += 3;
                return 'k';
        }
        if (p[0] == 0xc5 && p[1] == 0xbf) {
                *s += 2;
                return 's';
        }
        (*s)++;
        return (unsigned char)lower((char)p[0]);
}

static bool equal_fold(const char *a, const char *b) {
        while (*a && *b)
                if (fold_next(&a) != fold_next(&b))
                        return false;
        return *a == *b;
}

const char *lk_graph_attr_get(const lk_graph_task *task, const char *key) {
        if (!task || !key)
                return NULL;
        /* mapstructure: the exact key first, then any that folds to it. */
        for (size_t i = 0; i < task->attr_count; i++)
                if (strcmp(task->attrs[i].key, key) == 0)
                        return task->attrs[i].value;
        for (size_t i = 0; i < task->attr_count; i++)
                if (equal_fold(task->attrs[i].key, key))
                        return task->attrs[i].value;
        return NULL;
}
