/* Unit tests of the TOML parser's API: values, key order, positions,
 * error messages and positions, lookups, and documents large enough to
 * show a parser that is quadratic in the number of keys. */
#include "lktest.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/toml.h"

static lk_toml_value *parse_n(const char *text, size_t len) {
        lk_toml_value *root = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_toml_parse(text, len, &root, &err) != 0)
                fail_msg("unexpected error %u:%u: %s", err.line, err.column, err.msg);
        assert_non_null(root);
        assert_int_equal(root->type, LK_TOML_TABLE);
        return root;
}

static lk_toml_value *parse(const char *text) {
        return parse_n(text, strlen(text));
}

/* The value at a path of keys, e.g. at(root, "server", "port", NULL). */
static const lk_toml_value *at(const lk_toml_value *v, ...) {
        va_list ap;
        va_start(ap, v);
        for (const char *key = va_arg(ap, const char *); key; key = va_arg(ap, const char *)) {
                const lk_toml_value *next = lk_toml_table_get(v, key);
                if (!next)
                        fail_msg("no key \"%s\"", key);
                v = next;
        }
        va_end(ap);
        return v;
}

static void assert_pos(lk_toml_pos pos, uint32_t line, uint32_t column) {
        if (pos.line != line || pos.column != column)
                fail_msg("expected position %u:%u, got %u:%u", line, column, pos.line, pos.column);
}

static void assert_string_value(const lk_toml_value *v, const char *expected) {
        assert_int_equal(v->type, LK_TOML_STRING);
        assert_int_equal(v->u.string.len, strlen(expected));
        assert_memory_equal(v->u.string.ptr, expected, strlen(expected) + 1);
}

static void assert_int_value(const lk_toml_value *v, int64_t expected) {
        assert_int_equal(v->type, LK_TOML_INTEGER);
        assert_true(v->u.integer == expected);
}

static uint64_t allocs_in_use(void) {
        lk_alloc_stats stats;
        lk_alloc_stats_get(&stats);
        return stats.allocs_in_use;
}

/* ---- values ---- */

static void integers(void **state) {
        (void)state;
        lk_toml_value *root = parse("a = 42\nb = -17\nc = +1_000\nd = 0xDEAD_beef\ne = 0o755\n"
                                    "f = 0b1101\ng = 9223372036854775807\nh = -9223372036854775808\n"
                                    "i = -0\nj = 0x7fffffffffffffff\n");
        assert_int_value(at(root, "a", NULL), 42);
        assert_int_value(at(root, "b", NULL), -17);
        assert_int_value(at(root, "c", NULL), 1000);
        assert_int_value(at(root, "d", NULL), 0xdeadbeef);
        assert_int_value(at(root, "e", NULL), 0755);
        assert_int_value(at(root, "f", NULL), 13);
        assert_int_value(at(root, "g", NULL), INT64_MAX);
        assert_int_value(at(root, "h", NULL), INT64_MIN);
        assert_int_value(at(root, "i", NULL), 0);
        assert_int_value(at(root, "j", NULL), INT64_MAX);
        lk_toml_free(root);
}

static void floats_and_bools(void **state) {
        (void)state;
        lk_toml_value *root = parse("a = 3.25\nb = -1e3\nc = 6.626_070e-34\nd = inf\ne = -inf\n"
                                    "f = nan\ng = -0.0\nh = 1E+2\nt = true\nu = false\n");
        assert_int_equal(at(root, "a", NULL)->type, LK_TOML_FLOAT);
        assert_true(at(root, "a", NULL)->u.floating == 3.25);
        assert_true(at(root, "b", NULL)->u.floating == -1000.0);
        assert_true(at(root, "c", NULL)->u.floating == 6.626070e-34);
        assert_true(isinf(at(root, "d", NULL)->u.floating) && at(root, "d", NULL)->u.floating > 0);
        assert_true(isinf(at(root, "e", NULL)->u.floating) && at(root, "e", NULL)->u.floating < 0);
        assert_true(isnan(at(root, "f", NULL)->u.floating));
        assert_true(at(root, "g", NULL)->u.floating == 0.0 && signbit(at(root, "g", NULL)->u.floating));
        assert_true(at(root, "h", NULL)->u.floating == 100.0);
        assert_int_equal(at(root, "t", NULL)->type, LK_TOML_BOOL);
        assert_true(at(root, "t", NULL)->u.boolean);
        assert_false(at(root, "u", NULL)->u.boolean);
        lk_toml_free(root);
}

static void datetimes(void **state) {
        (void)state;
        lk_toml_value *root = parse("a = 1979-05-27T07:32:00Z\nb = 1979-05-27 00:32:00.999999-07:30\n"
                                    "c = 1979-05-27t07:32:00\nd = 2024-02-29\ne = 07:32:00.5\n"
                                    "f = 1985-06-18T17:04:07.1234567891+01:00\n");
        const lk_toml_datetime *a = &at(root, "a", NULL)->u.datetime;
        assert_int_equal(at(root, "a", NULL)->type, LK_TOML_DATETIME);
        assert_int_equal(a->year, 1979);
        assert_int_equal(a->month, 5);
        assert_int_equal(a->day, 27);
        assert_int_equal(a->hour, 7);
        assert_int_equal(a->minute, 32);
        assert_int_equal(a->second, 0);
        assert_int_equal(a->frac_digits, 0);
        assert_int_equal(a->offset_minutes, 0);
        const lk_toml_datetime *b = &at(root, "b", NULL)->u.datetime;
        assert_int_equal(b->nanosecond, 999999000);
        assert_int_equal(b->frac_digits, 6);
        assert_int_equal(b->offset_minutes, -(7 * 60 + 30));
        assert_int_equal(at(root, "c", NULL)->type, LK_TOML_DATETIME_LOCAL);
        assert_int_equal(at(root, "d", NULL)->type, LK_TOML_DATE_LOCAL);
        assert_int_equal(at(root, "d", NULL)->u.datetime.day, 29);
        assert_int_equal(at(root, "e", NULL)->type, LK_TOML_TIME_LOCAL);
        assert_int_equal(at(root, "e", NULL)->u.datetime.nanosecond, 500000000);
        assert_int_equal(at(root, "e", NULL)->u.datetime.frac_digits, 1);
        const lk_toml_datetime *f = &at(root, "f", NULL)->u.datetime;
        assert_int_equal(f->nanosecond, 123456789);
        assert_int_equal(f->frac_digits, 10);
        assert_int_equal(f->offset_minutes, 60);
        lk_toml_free(root);
}

static void strings(void **state) {
        (void)state;
        lk_toml_value *root = parse("a = \"tab\\there \\\"q\\\" \\\\ \\u00e9 \\U0001F600 \\b\\f\\r\\n\"\n"
                                    "b = 'C:\\no\\escapes'\n"
                                    "c = \"\"\"\nfirst\\\n     second \\\n\n  third\"\"\"\n"
                                    "d = '''\n''two'' quotes'''''\n"
                                    "e = \"\"\"\"\"\"\"\"\n"
                                    "f = \"\"\"a\r\nb\"\"\"\n"
                                    "g = \"nul\\u0000inside\"\n");
        assert_string_value(at(root, "a", NULL), "tab\there \"q\" \\ \xC3\xA9 \xF0\x9F\x98\x80 \b\f\r\n");
        assert_string_value(at(root, "b", NULL), "C:\\no\\escapes");
        assert_string_value(at(root, "c", NULL), "firstsecond third");
        assert_string_value(at(root, "d", NULL), "''two'' quotes''");
        assert_string_value(at(root, "e", NULL), "\"\"");
        assert_string_value(at(root, "f", NULL), "a\nb");
        const lk_toml_value *g = at(root, "g", NULL);
        assert_int_equal(g->u.string.len, 10);
        assert_memory_equal(g->u.string.ptr, "nul\0inside", 11);
        lk_toml_free(root);
}

static void arrays_and_inline_tables(void **state) {
        (void)state;
        lk_toml_value *root = parse("a = [ 1, 'two', [3.0], {x = 4}, ]\n"
                                    "b = [\n  # comment\n  1,\n  2 # more\n]\n"
                                    "c = { name = \"n\", point.x = 1, point.y = 2 }\n"
                                    "d = []\ne = {}\n");
        const lk_toml_value *a = at(root, "a", NULL);
        assert_int_equal(a->type, LK_TOML_ARRAY);
        assert_int_equal(a->u.array.len, 4);
        assert_int_value(a->u.array.items[0], 1);
        assert_string_value(a->u.array.items[1], "two");
        assert_int_equal(a->u.array.items[2]->u.array.items[0]->type, LK_TOML_FLOAT);
        assert_int_value(at(a->u.array.items[3], "x", NULL), 4);
        assert_int_equal(at(root, "b", NULL)->u.array.len, 2);
        assert_int_value(at(root, "c", "point", "y", NULL), 2);
        assert_string_value(at(root, "c", "name", NULL), "n");
        assert_int_equal(at(root, "d", NULL)->u.array.len, 0);
        assert_int_equal(at(root, "e", NULL)->type, LK_TOML_TABLE);
        assert_int_equal(at(root, "e", NULL)->u.table.len, 0);
        lk_toml_free(root);
}

static void tables_and_arrays_of_tables(void **state) {
        (void)state;
        lk_toml_value *root = parse("[a.b.c]\nx = 1\n[a]\ny = 2\n[a.b.d]\n"
                                    "[[p]]\nn = 1\n[p.sub]\nm = 1\n[[p]]\nn = 2\n[[p.list]]\n"
                                    "[fruit]\napple.color = 'red'\napple.taste.sweet = true\n"
                                    "[fruit.apple.texture]\nsmooth = true\n"
                                    "[\"quoted key\".'lit'.\"\"]\nz = 0\n");
        assert_int_value(at(root, "a", "b", "c", "x", NULL), 1);
        assert_int_value(at(root, "a", "y", NULL), 2);
        assert_int_equal(at(root, "a", "b", "d", NULL)->type, LK_TOML_TABLE);
        const lk_toml_value *p = at(root, "p", NULL);
        assert_int_equal(p->type, LK_TOML_ARRAY);
        assert_int_equal(p->u.array.len, 2);
        assert_int_value(at(p->u.array.items[0], "sub", "m", NULL), 1);
        assert_int_value(at(p->u.array.items[1], "n", NULL), 2);
        assert_null(lk_toml_table_get(p->u.array.items[1], "sub"));
        assert_int_equal(at(p->u.array.items[1], "list", NULL)->u.array.len, 1);
        assert_true(at(root, "fruit", "apple", "taste", "sweet", NULL)->u.boolean);
        assert_true(at(root, "fruit", "apple", "texture", "smooth", NULL)->u.boolean);
        assert_int_value(at(root, "quoted key", "lit", "", "z", NULL), 0);
        lk_toml_free(root);
}

static void document_order(void **state) {
        (void)state;
        lk_toml_value *root = parse("zebra = 1\napple = 2\n[mango.kiwi]\n[banana]\n[mango]\ncherry = 3\n"
                                    "aardvark = 4\n");
        static const char *const top[] = {"zebra", "apple", "mango", "banana"};
        assert_int_equal(root->u.table.len, 4);
        for (size_t i = 0; i < 4; i++)
                assert_string_equal(root->u.table.items[i].key, top[i]);
        const lk_toml_value *mango = at(root, "mango", NULL);
        assert_int_equal(mango->u.table.len, 3);
        assert_string_equal(mango->u.table.items[0].key, "kiwi");
        assert_string_equal(mango->u.table.items[1].key, "cherry");
        assert_string_equal(mango->u.table.items[2].key, "aardvark");
        lk_toml_free(root);
}

/* ---- positions ---- */

static const lk_toml_kv *kv_of(const lk_toml_value *table, const char *key) {
        for (size_t i = 0; i < table->u.table.len; i++)
                if (strcmp(table->u.table.items[i].key, key) == 0)
                        return &table->u.table.items[i];
        fail_msg("no key \"%s\"", key);
        return NULL;
}

static void positions_of_keys_and_values(void **state) {
        (void)state;
        lk_toml_value *root = parse("# config\n"
                                    "title = \"x\"\n"
                                    " [server]\n"
                                    "  port = 8080\n"
                                    "[[peers]]\n"
                                    "name = \"a\"\n"
                                    "[[peers]]\n"
                                    "name.first = 'b'\n");
        assert_pos(root->pos, 1, 1);
        assert_pos(kv_of(root, "title")->key_pos, 2, 1);
        assert_pos(kv_of(root, "title")->value->pos, 2, 9);
        const lk_toml_kv *server = kv_of(root, "server");
        assert_pos(server->key_pos, 3, 3);
        assert_pos(server->value->pos, 3, 2);
        assert_pos(kv_of(server->value, "port")->key_pos, 4, 3);
        assert_pos(kv_of(server->value, "port")->value->pos, 4, 10);
        const lk_toml_kv *peers = kv_of(root, "peers");
        assert_pos(peers->key_pos, 5, 3);
        assert_pos(peers->value->pos, 5, 1);
        assert_pos(peers->value->u.array.items[0]->pos, 5, 1);
        assert_pos(peers->value->u.array.items[1]->pos, 7, 1);
        assert_pos(kv_of(peers->value->u.array.items[0], "name")->value->pos, 6, 8);
        const lk_toml_kv *name = kv_of(peers->value->u.array.items[1], "name");
        assert_pos(name->key_pos, 8, 1);
        assert_pos(name->value->pos, 8, 1);
        assert_pos(kv_of(name->value, "first")->key_pos, 8, 6);
        assert_pos(kv_of(name->value, "first")->value->pos, 8, 14);
        lk_toml_free(root);
}

static void positions_of_tables_and_arrays(void **state) {
        (void)state;
        lk_toml_value *root = parse("[a.b.c]\n"
                                    "[a]\n"
                                    "list = [ 1, { x = 2 } ]\n");
        /* a was first named by [a.b.c] but is defined by [a]. */
        const lk_toml_kv *a = kv_of(root, "a");
        assert_pos(a->key_pos, 2, 2);
        assert_pos(a->value->pos, 2, 1);
        const lk_toml_kv *b = kv_of(a->value, "b");
        assert_pos(b->key_pos, 1, 4);
        assert_pos(b->value->pos, 1, 4);
        assert_pos(kv_of(b->value, "c")->key_pos, 1, 6);
        assert_pos(kv_of(b->value, "c")->value->pos, 1, 1);
        const lk_toml_kv *list = kv_of(a->value, "list");
        assert_pos(list->key_pos, 3, 1);
        assert_pos(list->value->pos, 3, 8);
        assert_pos(list->value->u.array.items[0]->pos, 3, 10);
        const lk_toml_value *inl = list->value->u.array.items[1];
        assert_pos(inl->pos, 3, 13);
        assert_pos(kv_of(inl, "x")->key_pos, 3, 15);
        assert_pos(kv_of(inl, "x")->value->pos, 3, 19);
        lk_toml_free(root);
}

static void positions_after_multiline_and_crlf(void **state) {
        (void)state;
        lk_toml_value *root = parse("a = \"\"\"\none\ntwo\"\"\"\r\n\r\n  b = 'x'\n");
        assert_pos(kv_of(root, "b")->key_pos, 5, 3);
        assert_pos(kv_of(root, "b")->value->pos, 5, 7);
        lk_toml_free(root);
        lk_err err = LK_ERR_INIT;
        lk_toml_value *bad = NULL;
        /* A leading byte order mark is skipped and takes up no column. */
        const char *bom = "\xEF\xBB\xBF" "a = = 1";
        assert_int_equal(lk_toml_parse(bom, strlen(bom), &bad, &err), -EINVAL);
        assert_int_equal(err.line, 1);
        assert_int_equal(err.column, 5);
        assert_null(bad);
}

/* ---- errors ---- */

typedef struct error_case {
        const char *text;
        size_t len; /* 0: strlen(text) */
        uint32_t line, column;
        const char *msg;
} error_case;

static const error_case error_cases[] = {
        {"port = 1\nport = 2\n", 0, 2, 1, "duplicate key \"port\""},
        {"a.b = 1\na.b = 2\n", 0, 2, 3, "duplicate key \"a.b\""},
        {"[server]\n[server]\n", 0, 2, 1, "table [server] defined twice"},
        {"[a.\"b c\"]\n[ a . \"b c\" ]\n", 0, 2, 1, "table [a.\"b c\"] defined twice"},
        {"a.b = 1\n[a]\n", 0, 2, 1, "table [a] already defined by dotted keys"},
        {"[a]\nb = 1\n[a.b.c]\n", 0, 3, 4, "key \"a.b\" is already an integer, not a table"},
        {"[a.b]\n[a]\nb.c = 1\n", 0, 3, 1,
         "cannot add keys to table \"b\" with dotted keys: it is defined elsewhere"},
        {"x = {a = 1}\nx.b = 2\n", 0, 2, 1, "inline table \"x\" cannot be extended"},
        {"x = {a = 1}\n[x]\n", 0, 2, 2, "inline table \"x\" cannot be extended"},
        {"a = [1]\n[[a]]\n", 0, 2, 3, "key \"a\" is already a static array, not an array of tables"},
        {"[[a]]\n[a]\n", 0, 2, 2, "key \"a\" is already an array of tables, not a table"},
        {"s = \"a\\qb\"\n", 0, 1, 7, "invalid escape sequence \\q"},
        {"s = \"a\\ b\"\n", 0, 1, 7, "invalid escape sequence: backslash followed by ' '"},
        {"s = \"\\uD800\"\n", 0, 1, 6, "escape \\uD800 is not a Unicode scalar value"},
        {"s = \"\\U00110000\"\n", 0, 1, 6, "escape \\U00110000 is not a Unicode scalar value"},
        {"s = \"\\u12\"\n", 0, 1, 6, "escape \\u needs 4 hexadecimal digits"},
        {"s = \"abc\n", 0, 1, 5, "unterminated string"},
        {"\n\ns = '''abc''", 0, 3, 5, "unterminated multi-line string"},
        {"s = \"\"\"a\"\"\"\"\"\"\n", 0, 1, 9, "too many quotes in a row in multi-line string"},
        {"n = 9223372036854775808\n", 0, 1, 5, "integer out of range"},
        {"n = -9223372036854775809\n", 0, 1, 5, "integer out of range"},
        {"n = 0x8000000000000000\n", 0, 1, 5, "integer out of range"},
        {"n = 0123\n", 0, 1, 5, "leading zeros are not allowed in '0123'"},
        {"n = 1__0\n", 0, 1, 5, "underscores must sit between digits in '1__0'"},
        {"n = +0x10\n", 0, 1, 5, "only decimal integers may have a sign: '+0x10'"},
        {"f = 1e400\n", 0, 1, 5, "float out of range '1e400'"},
        {"f = 1.\n", 0, 1, 5, "expected digits after '.' in '1.'"},
        {"b = True\n", 0, 1, 5, "invalid value 'True'"},
        {"d = 2023-02-29\n", 0, 1, 5, "invalid date: 2023-02 has no day 29"},
        {"d = 12:60:00\n", 0, 1, 5, "invalid time: minute 60 is not 00-59"},
        {"d = 1979-05-27T07:32\n", 0, 1, 5, "malformed date or time '1979-05-27T07:32'"},
        {"key value\n", 0, 1, 5, "expected '=' after key, found 'v'"},
        {"x = \n", 0, 1, 5, "expected a value, found end of line"},
        {"x = ", 0, 1, 5, "expected a value, found end of input"},
        {"x = 1 2\n", 0, 1, 7, "expected end of line after value, found '2'"},
        {"[a\n", 0, 1, 3, "expected ']' after table name, found end of line"},
        {"[[a]\n", 0, 1, 5, "expected ']]' after array of tables name, found end of line"},
        {"[a] b = 1\n", 0, 1, 5, "expected end of line after table header, found 'b'"},
        {"x = [1 2]\n", 0, 1, 8, "expected ',' or ']' in array, found '2'"},
        {"x = [1,\n2", 0, 1, 5, "unterminated array"},
        {"x = {a = 1,}\n", 0, 1, 12, "trailing comma not allowed in inline table"},
        {"x = {a = 1,\nb = 2}\n", 0, 1, 12, "newline not allowed in inline table"},
        {"\"\"\"k\"\"\" = 1\n", 0, 1, 1, "multi-line strings cannot be keys"},
        {"a = 1\r\nb = 2\rc = 3\n", 0, 2, 6, "expected end of line after value, found U+000D"},
        {"# \x01\n", 0, 1, 3, "control character U+0001 is not allowed in comments"},
        {"s = 'a\x7f'\n", 0, 1, 7, "control character U+007F is not allowed in strings"},
        {"a = 1\0b = 2\n", 11, 1, 6, "expected end of line after value, found U+0000"},
        {"s = \"a\0\"\n", 9, 1, 7, "control character U+0000 is not allowed in strings"},
        {"\0", 1, 1, 1, "expected a key, found U+0000"},
        {"a = \"\xC0\x80\"\n", 0, 1, 6, "invalid UTF-8 sequence starting with byte 0xC0"},
        {"a = 1\n# \xED\xA0\x80\n", 0, 2, 3, "invalid UTF-8 sequence starting with byte 0xED"},
        {"a = '\xF4\x90\x80\x80'\n", 0, 1, 6, "invalid UTF-8 sequence starting with byte 0xF4"},
        {"a = \"\xE2\x82", 0, 1, 6, "invalid UTF-8 sequence starting with byte 0xE2"},
        {"\xFF\xFE" "a", 0, 1, 1, "invalid UTF-8 sequence starting with byte 0xFF"},
        {"a = \xE3\x80\x80" "1\n", 0, 1, 5, "expected a value, found U+3000"},
};

static void check_error_case(const error_case *c) {
        size_t len = c->len ? c->len : strlen(c->text);
        static lk_toml_value sentinel;
        lk_toml_value *root = &sentinel;
        lk_err err = LK_ERR_INIT;
        uint64_t before = allocs_in_use();
        int r = lk_toml_parse(c->text, len, &root, &err);
        if (r != -EINVAL || err.code != -EINVAL)
                fail_msg("input %s: expected -EINVAL, got %d (%s)", c->text, r, err.msg);
        if (err.line != c->line || err.column != c->column || strcmp(err.msg, c->msg) != 0)
                fail_msg("input %s: expected %u:%u: %s\n got %u:%u: %s", c->text, c->line, c->column, c->msg,
                         err.line, err.column, err.msg);
        assert_ptr_equal(root, &sentinel);
        assert_int_equal(allocs_in_use(), before);
}

static void errors(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++)
                check_error_case(&error_cases[i]);
}

static void error_without_err(void **state) {
        (void)state;
        lk_toml_value *root = NULL;
        assert_int_equal(lk_toml_parse("a = ", 4, &root, NULL), -EINVAL);
        assert_null(root);
}

static char *repeat(const char *head, const char *unit, size_t times, const char *tail) {
        lk_buf b = LK_BUF_INIT;
        lk_buf_puts(&b, head);
        for (size_t i = 0; i < times; i++)
                lk_buf_puts(&b, unit);
        lk_buf_puts(&b, tail);
        return lk_buf_steal(&b, NULL);
}

static void expect_depth_error(char *text, uint32_t line, uint32_t column) {
        lk_toml_value *root = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_toml_parse(text, strlen(text), &root, &err), -EINVAL);
        assert_string_equal(err.msg, "nesting deeper than 128 levels");
        assert_int_equal(err.line, line);
        assert_int_equal(err.column, column);
        lk_free(text);
}

/* [[a]], [[a.a]], ... [[a.a...a]] (levels deep): each level is an array
 * and its element, so two levels of depth. */
static void nested_arrays_of_tables(lk_buf *b, int levels) {
        for (int i = 1; i <= levels; i++) {
                lk_buf_puts(b, "[[a");
                for (int k = 1; k < i; k++)
                        lk_buf_puts(b, ".a");
                lk_buf_puts(b, "]]\n");
        }
}

static void nesting_too_deep(void **state) {
        (void)state;
        /* a is at depth 1, so its 128th nested array is the first too deep. */
        expect_depth_error(repeat("a = ", "[", 100000, ""), 1, 5 + 128);
        expect_depth_error(repeat("a = ", "{b = ", 200, ""), 1, 5 + 5 * 127 + 1);
        expect_depth_error(repeat("", "a.", 200, "a = 1"), 1, 2 * 128 + 1);
        expect_depth_error(repeat("[", "a.", 200, "a]"), 1, 2 + 2 * 128);
        /* Inside [[a]], a 128-part header reaches depth 129. */
        expect_depth_error(repeat("[[a]]\n[a.", "b.", 126, "b]"), 2, 4 + 2 * 126);
        lk_buf b = LK_BUF_INIT;
        nested_arrays_of_tables(&b, 64);
        lk_buf_puts(&b, "[a");
        for (int k = 1; k < 64; k++)
                lk_buf_puts(&b, ".a");
        lk_buf_puts(&b, ".z.w]\n");
        expect_depth_error(lk_buf_steal(&b, NULL), 65, 2 * 64 + 2);
        nested_arrays_of_tables(&b, 65);
        expect_depth_error(lk_buf_steal(&b, NULL), 65, 3 + 2 * 64);
        /* 128 levels are fine. */
        char *ok = repeat("a = ", "[", 128, "");
        char *closed = repeat(ok, "]", 128, "");
        lk_toml_free(parse(closed));
        lk_free(ok);
        lk_free(closed);
        nested_arrays_of_tables(&b, 64);
        lk_toml_free(parse(lk_buf_str(&b)));
        lk_buf_done(&b);
}

/* ---- API odds and ends ---- */

static void table_get(void **state) {
        (void)state;
        lk_toml_value *root = parse("a = 1\n\"\" = 2\n[t]\nx = 'y'\n");
        assert_int_value(lk_toml_table_get(root, "a"), 1);
        assert_int_value(lk_toml_table_get(root, ""), 2);
        assert_null(lk_toml_table_get(root, "b"));
        assert_null(lk_toml_table_get(root, "x"));
        assert_null(lk_toml_table_get(lk_toml_table_get(root, "a"), "a"));
        assert_null(lk_toml_table_get(NULL, "a"));
        assert_string_value(lk_toml_table_get(lk_toml_table_get(root, "t"), "x"), "y");
        lk_toml_free(root);
}

static void free_and_names(void **state) {
        (void)state;
        assert_null(lk_toml_free(NULL));
        lk_toml_value *root = parse("");
        assert_int_equal(root->u.table.len, 0);
        assert_null(lk_toml_free(root));
        assert_string_equal(lk_toml_type_name(LK_TOML_STRING), "string");
        assert_string_equal(lk_toml_type_name(LK_TOML_INTEGER), "integer");
        assert_string_equal(lk_toml_type_name(LK_TOML_FLOAT), "float");
        assert_string_equal(lk_toml_type_name(LK_TOML_BOOL), "bool");
        assert_string_equal(lk_toml_type_name(LK_TOML_DATETIME), "datetime");
        assert_string_equal(lk_toml_type_name(LK_TOML_DATETIME_LOCAL), "datetime-local");
        assert_string_equal(lk_toml_type_name(LK_TOML_DATE_LOCAL), "date-local");
        assert_string_equal(lk_toml_type_name(LK_TOML_TIME_LOCAL), "time-local");
        assert_string_equal(lk_toml_type_name(LK_TOML_ARRAY), "array");
        assert_string_equal(lk_toml_type_name(LK_TOML_TABLE), "table");
}

/* len bounds the input: nothing past it is read, and no NUL is needed. */
static void input_is_not_nul_terminated(void **state) {
        (void)state;
        const char text[] = "a = 12345";
        char *exact = lk_malloc(7);
        memcpy(exact, text, 7);
        lk_toml_value *root = parse_n(exact, 7);
        assert_int_value(at(root, "a", NULL), 123);
        lk_toml_free(root);
        lk_free(exact);
}

static void no_leaks(void **state) {
        (void)state;
        uint64_t before = allocs_in_use();
        lk_toml_value *root = parse("[[a]]\nb.c = [1, {d = 'e'}]\n[a.f]\n[[a]]\ns = \"\"\"x\"\"\"\n");
        lk_toml_free(root);
        assert_int_equal(allocs_in_use(), before);
}

/* ---- big documents ---- */

static void many_keys_in_one_table(void **state) {
        (void)state;
        enum { N = 5000 };
        lk_buf b = LK_BUF_INIT;
        for (int i = 0; i < N; i++)
                lk_buf_printf(&b, "key%d = %d\n", i, i * 3);
        lk_toml_value *root = parse(lk_buf_str(&b));
        assert_int_equal(root->u.table.len, N);
        for (int i = 0; i < N; i++) {
                char key[32];
                snprintf(key, sizeof key, "key%d", i);
                assert_string_equal(root->u.table.items[i].key, key);
                assert_int_equal(root->u.table.items[i].key_pos.line, (uint32_t)i + 1);
                assert_int_value(root->u.table.items[i].value, i * 3);
        }
        assert_int_value(lk_toml_table_get(root, "key4999"), 4999 * 3);
        lk_toml_free(root);
        /* The duplicate is found among thousands of keys. */
        lk_buf_puts(&b, "key1234 = 0\n");
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_toml_parse(b.data, b.len, &root, &err), -EINVAL);
        assert_string_equal(err.msg, "duplicate key \"key1234\"");
        assert_int_equal(err.line, N + 1);
        lk_buf_done(&b);
}

static void many_tables(void **state) {
        (void)state;
        enum { N = 2000 };
        lk_buf b = LK_BUF_INIT;
        for (int i = 0; i < N; i++)
                lk_buf_printf(&b, "[table%d]\nv = %d\n[[list]]\nw = %d\n[deep.t%d]\n", i, i, i, i);
        lk_toml_value *root = parse(lk_buf_str(&b));
        assert_int_equal(root->u.table.len, N + 2);
        assert_int_value(at(root, "table1999", "v", NULL), 1999);
        assert_int_equal(at(root, "list", NULL)->u.array.len, N);
        assert_int_value(at(at(root, "list", NULL)->u.array.items[N - 1], "w", NULL), N - 1);
        assert_int_equal(at(root, "deep", NULL)->u.table.len, N);
        lk_toml_free(root);
        lk_buf_done(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(integers),
                cmocka_unit_test(floats_and_bools),
                cmocka_unit_test(datetimes),
                cmocka_unit_test(strings),
                cmocka_unit_test(arrays_and_inline_tables),
                cmocka_unit_test(tables_and_arrays_of_tables),
                cmocka_unit_test(document_order),
                cmocka_unit_test(positions_of_keys_and_values),
                cmocka_unit_test(positions_of_tables_and_arrays),
                cmocka_unit_test(positions_after_multiline_and_crlf),
                cmocka_unit_test(errors),
                cmocka_unit_test(error_without_err),
                cmocka_unit_test(nesting_too_deep),
                cmocka_unit_test(table_get),
                cmocka_unit_test(free_and_names),
                cmocka_unit_test(input_is_not_nul_terminated),
                cmocka_unit_test(no_leaks),
                cmocka_unit_test(many_keys_in_one_table),
                cmocka_unit_test(many_tables),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
