/* The pipeline's task graph from Chainlink's DOT: attribute values as
 * gonum and Chainlink read them, explicit and implicit edges, gonum's
 * stabilised topological order, inputs by index, terminals, the reserved
 * name, cycles, syntax errors and their lines, the examples of the
 * reference (shared/reference/jobs-pipeline.md §1), limits, leaks and
 * concurrent use. */
#include "lktest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "pipeline/graph.h"

/* ---- helpers ---- */

static lk_graph *parse(const char *text) {
        lk_graph *g = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_graph_parse(text, strlen(text), &g, &err) != 0)
                fail_msg("unexpected error (line %u): %s", err.line, err.msg);
        assert_non_null(g);
        return g;
}

static void assert_error(const char *text, const char *want_msg, uint32_t want_line) {
        lk_graph *g = (lk_graph *)1;
        lk_err err = LK_ERR_INIT;
        int r = lk_graph_parse(text, strlen(text), &g, &err);
        if (r == 0)
                fail_msg("accepted: %s", text);
        assert_int_equal(r, -EINVAL);
        assert_null(g);
        assert_string_equal(err.msg, want_msg);
        assert_int_equal(err.line, want_line);
}

static const lk_graph_task *task(const lk_graph *g, const char *dot_id) {
        for (size_t i = 0; i < g->task_count; i++)
                if (strcmp(g->tasks[i].dot_id, dot_id) == 0)
                        return &g->tasks[i];
        fail_msg("no task %s", dot_id);
        return NULL;
}

static const char *attr(const lk_graph *g, const char *dot_id, const char *key) {
        const char *v = lk_graph_attr_get(task(g, dot_id), key);
        if (!v)
                fail_msg("task %s has no attribute %s", dot_id, key);
        return v;
}

/* The dot ids of ids[], space-separated. */
static void assert_names(const lk_graph *g, const int *ids, size_t count, const char *want) {
        lk_buf b = LK_BUF_INIT;
        for (size_t i = 0; i < count; i++) {
                assert_true(ids[i] >= 0 && (size_t)ids[i] < g->task_count);
                lk_buf_printf(&b, "%s%s", i ? " " : "", g->tasks[ids[i]].dot_id);
        }
        assert_string_equal(lk_buf_str(&b), want);
        lk_buf_done(&b);
}

/* Tasks in topological order, and ids that match it. */
static void assert_order(const lk_graph *g, const char *want) {
        lk_buf b = LK_BUF_INIT;
        for (size_t i = 0; i < g->task_count; i++) {
                assert_int_equal(g->tasks[i].id, (int)i);
                lk_buf_printf(&b, "%s%s", i ? " " : "", g->tasks[i].dot_id);
        }
        assert_string_equal(lk_buf_str(&b), want);
        lk_buf_done(&b);
}

static void assert_inputs(const lk_graph *g, const char *dot_id, const char *want) {
        const lk_graph_task *t = task(g, dot_id);
        assert_names(g, t->inputs, t->input_count, want);
}

static void assert_outputs(const lk_graph *g, const char *dot_id, const char *want) {
        const lk_graph_task *t = task(g, dot_id);
        assert_names(g, t->outputs, t->output_count, want);
}

static void assert_after(const lk_graph *g, const char *dot_id, const char *want) {
        const lk_graph_task *t = task(g, dot_id);
        assert_names(g, t->after, t->after_count, want);
}

/* The dot ids of the terminal tasks. */
static void assert_terminals(const lk_graph *g, const char *want) {
        int ids[64];
        size_t n = 0;
        for (size_t i = 0; i < g->task_count && n < 64; i++)
                if (g->tasks[i].terminal)
                        ids[n++] = (int)i;
        assert_names(g, ids, n, want);
}

static uint64_t allocs_in_use(void) {
        lk_alloc_stats stats;
        lk_alloc_stats_get(&stats);
        return stats.allocs_in_use;
}

/* ---- attribute values ---- */

static void bare_words_and_numerals(void **state) {
        (void)state;
        lk_graph *g = parse("a [type=http k1=abc k2=100 k3=1.23 k4=-5 k5=.5 k6=_x9 k7=1. k8=-.25]");
        assert_string_equal(attr(g, "a", "k1"), "abc");
        assert_string_equal(attr(g, "a", "k2"), "100");
        assert_string_equal(attr(g, "a", "k3"), "1.23");
        assert_string_equal(attr(g, "a", "k4"), "-5");
        assert_string_equal(attr(g, "a", "k5"), ".5");
        assert_string_equal(attr(g, "a", "k6"), "_x9");
        assert_string_equal(attr(g, "a", "k7"), "1.");
        assert_string_equal(attr(g, "a", "k8"), "-.25");
        assert_int_equal(task(g, "a")->attr_count, 9);
        lk_graph_free(g);
}

static void quoted_values_unquoted_as_go_does(void **state) {
        (void)state;
        lk_graph *g = parse("a [v1=\"\\u00e9\\n\" v2=\"\\x41\\101\\t\" v3=\"a\\\"b\" v4=\"back\\\\slash\" "
                            "v5=\"\\U0001F600\" v6=\"\\a\\b\\f\\r\\v\" v7=\"\" v8=\"plain text\" v9=\"\xff\" "
                            "v10=\"\\xff\"]");
        assert_string_equal(attr(g, "a", "v1"), "\xc3\xa9\n");
        assert_string_equal(attr(g, "a", "v2"), "AA\t");
        assert_string_equal(attr(g, "a", "v3"), "a\"b");
        assert_string_equal(attr(g, "a", "v4"), "back\\slash");
        assert_string_equal(attr(g, "a", "v5"), "\xf0\x9f\x98\x80");
        assert_string_equal(attr(g, "a", "v6"), "\a\b\f\r\v");
        assert_string_equal(attr(g, "a", "v7"), "");
        assert_string_equal(attr(g, "a", "v8"), "plain text");
        /* Go turns invalid UTF-8 into U+FFFD but keeps what \x spells. */
        assert_string_equal(attr(g, "a", "v9"), "\xef\xbf\xbd");
        assert_string_equal(attr(g, "a", "v10"), "\xff");
        lk_graph_free(g);
}

/* When strconv.Unquote fails the value stays as written, quotes included. */
static void quoted_values_kept_when_go_refuses(void **state) {
        (void)state;
        lk_graph *g = parse("a [raw=\"line one\nline two\" joined=\"ab\\\ncd\" bad=\"\\q\" single=\"\\'\" "
                            "surrogate=\"\\ud800\" octal=\"\\400\" short=\"\\x4\" esc=\"x\\\"\ny\"]");
        assert_string_equal(attr(g, "a", "raw"), "\"line one\nline two\"");
        assert_string_equal(attr(g, "a", "joined"), "\"ab\\\ncd\"");
        assert_string_equal(attr(g, "a", "bad"), "\"\\q\"");
        assert_string_equal(attr(g, "a", "single"), "\"\\'\"");
        assert_string_equal(attr(g, "a", "surrogate"), "\"\\ud800\"");
        assert_string_equal(attr(g, "a", "octal"), "\"\\400\"");
        assert_string_equal(attr(g, "a", "short"), "\"\\x4\"");
        assert_string_equal(attr(g, "a", "esc"), "\"x\\\"\ny\"");
        lk_graph_free(g);
}

static void html_values(void **state) {
        (void)state;
        lk_graph *g = parse("a [json=<{\"a\": \"b\"}> quoted=\"<x>\" spaced=\" <y> \" inner=<  z  > "
                            "nested=<<b>bold</b>> empty=<> qempty=\"<>\" lt=\"<\" esc=<a\\nb> "
                            "lines=<{\"k\":\n 1}> qjson=\"<{\\\"a\\\": 1}>\"]");
        assert_string_equal(attr(g, "a", "json"), "{\"a\": \"b\"}");
        assert_string_equal(attr(g, "a", "quoted"), "\"<x>\"");
        assert_string_equal(attr(g, "a", "spaced"), "y");
        assert_string_equal(attr(g, "a", "inner"), "  z  ");
        assert_string_equal(attr(g, "a", "nested"), "<<b>bold</b>>");
        assert_string_equal(attr(g, "a", "empty"), "<>");
        assert_string_equal(attr(g, "a", "qempty"), "\"<>\"");
        assert_string_equal(attr(g, "a", "lt"), "<");
        assert_string_equal(attr(g, "a", "esc"), "a\\nb");
        assert_string_equal(attr(g, "a", "lines"), "{\"k\":\n 1}");
        assert_string_equal(attr(g, "a", "qjson"), "\"<{\\\"a\\\": 1}>\"");
        lk_graph_free(g);
}

/* cgraph shares one string between equal texts; a quoted and an HTML
 * value with the same text must still each keep their own meaning. */
static void equal_texts_of_different_kinds(void **state) {
        (void)state;
        lk_graph *g = parse("a [k=\"x\\ny\"]; b [k=<x\\ny>]; c [k=\"<p<q>r>\"]; d [k=<p<q>r>]; e [k=<<>>]");
        assert_string_equal(attr(g, "a", "k"), "x\ny");
        assert_string_equal(attr(g, "b", "k"), "x\\ny");
        assert_string_equal(attr(g, "c", "k"), "\"<p<q>r>\"");
        assert_string_equal(attr(g, "d", "k"), "<p<q>r>");
        assert_string_equal(attr(g, "e", "k"), "<<>>");
        lk_graph_free(g);
}

static void attribute_names(void **state) {
        (void)state;
        lk_graph *g = parse("a [type=http allowUnrestrictedNetworkAccess=true KEY=1 key=2 \"quoted\"=3 "
                            "<html>=4 \"\\u212Aelvin\"=5]");
        const lk_graph_task *t = task(g, "a");
        assert_int_equal(t->attr_count, 7);
        assert_string_equal(t->attrs[1].key, "allowUnrestrictedNetworkAccess");
        assert_string_equal(t->attrs[4].key, "quoted");
        assert_string_equal(t->attrs[5].key, "<html>");
        assert_string_equal(lk_graph_attr_get(t, "allowunrestrictednetworkaccess"), "true");
        assert_string_equal(lk_graph_attr_get(t, "ALLOWUNRESTRICTEDNETWORKACCESS"), "true");
        /* the exact key first, then the first that folds to it */
        assert_string_equal(lk_graph_attr_get(t, "key"), "2");
        assert_string_equal(lk_graph_attr_get(t, "KEY"), "1");
        assert_string_equal(lk_graph_attr_get(t, "Key"), "1");
        assert_string_equal(lk_graph_attr_get(t, "QUOTED"), "3");
        /* Go's EqualFold: KELVIN SIGN folds to k */
        assert_string_equal(lk_graph_attr_get(t, "kelvin"), "5");
        assert_null(lk_graph_attr_get(t, "missing"));
        assert_null(lk_graph_attr_get(t, "ke"));
        assert_null(lk_graph_attr_get(NULL, "key"));
        lk_graph_free(g);
}

static void type_is_lower_cased(void **state) {
        (void)state;
        lk_graph *g = parse("a [type=HTTP]; b [type=\"JsonParse\"]; c; d [Type=http]; e [type=<Sum>]");
        assert_string_equal(task(g, "a")->type, "http");
        assert_string_equal(attr(g, "a", "type"), "HTTP");
        assert_string_equal(task(g, "b")->type, "jsonparse");
        assert_string_equal(task(g, "c")->type, "");
        /* Chainlink reads node.attrs["type"]: only this exact key */
        assert_string_equal(task(g, "d")->type, "");
        assert_string_equal(attr(g, "d", "type"), "http");
        assert_string_equal(task(g, "e")->type, "sum");
        lk_graph_free(g);
}

static void last_assignment_wins(void **state) {
        (void)state;
        lk_graph *g = parse("a [x=1 y=0 x=2]; a [x=3]; b [type=x \"type\"=y]; c [\"k\"=1 k=2]; d [k=2 \"k\"=1]");
        const lk_graph_task *a = task(g, "a");
        assert_int_equal(a->attr_count, 2);
        assert_string_equal(a->attrs[0].key, "x");
        assert_string_equal(a->attrs[0].value, "3");
        assert_string_equal(a->attrs[1].key, "y");
        assert_string_equal(task(g, "b")->type, "y");
        assert_int_equal(task(g, "b")->attr_count, 1);
        assert_string_equal(attr(g, "c", "k"), "2");
        assert_string_equal(attr(g, "d", "k"), "1");
        lk_graph_free(g);
}

/* gonum hands attribute statements only to graphs that take them, and
 * Chainlink's does not: node/edge/graph defaults and k=v are ignored. */
static void attribute_statements_are_ignored(void **state) {
        (void)state;
        lk_graph *g = parse("node [type=memo]\na\nb [type=http]\nedge [x=1]\ngraph [y=2]\nz = 3\n"
                            "subgraph s { node [type=sum]; c }\nNODE [late=1]\na -> b [weight=5]");
        assert_order(g, "a b c");
        assert_string_equal(task(g, "a")->type, "");
        assert_int_equal(task(g, "a")->attr_count, 0);
        assert_string_equal(task(g, "b")->type, "http");
        assert_int_equal(task(g, "b")->attr_count, 1);
        assert_int_equal(task(g, "c")->attr_count, 0);
        lk_graph_free(g);
}

static void comments_and_separators(void **state) {
        (void)state;
        lk_graph *g = parse("# a shell comment\n"
                            "// a C++ comment\n"
                            "/* a block\n   comment */ a [x=1; y=2, z=3 w=4] // trailing\n"
                            "b [v=\"// not a comment\" u=\"/* nor */\" t=\"# this\"] # trailing\n"
                            "a /* inline */ -> b;");
        assert_string_equal(attr(g, "a", "x"), "1");
        assert_string_equal(attr(g, "a", "y"), "2");
        assert_string_equal(attr(g, "a", "z"), "3");
        assert_string_equal(attr(g, "a", "w"), "4");
        assert_string_equal(attr(g, "b", "v"), "// not a comment");
        assert_string_equal(attr(g, "b", "u"), "/* nor */");
        assert_string_equal(attr(g, "b", "t"), "# this");
        assert_inputs(g, "b", "a");
        assert_int_equal(task(g, "a")->line, 4);
        assert_int_equal(task(g, "b")->line, 5);
        lk_graph_free(g);
}

static void task_names(void **state) {
        (void)state;
        lk_graph *g = parse("\"quoted name\" -> 1.5 -> <html> -> \"<x>\" -> \"\\x61b\" -> -2");
        assert_order(g, "quoted name 1.5 <html> \"<x>\" ab -2");
        lk_graph_free(g);
        /* gonum keeps apart what is written apart, even if it unquotes the same */
        g = parse("\"a\" a");
        assert_order(g, "a a");
        lk_graph_free(g);
}

/* ---- edges and order ---- */

static void explicit_chains(void **state) {
        (void)state;
        lk_graph *g = parse("a -> b -> c\nc -> d; a -> b\nb -- e\nf:out -> g:in:n");
        assert_order(g, "a b c d e f g");
        assert_outputs(g, "a", "b");
        assert_inputs(g, "b", "a");
        assert_outputs(g, "b", "c e");
        assert_inputs(g, "d", "c");
        assert_inputs(g, "e", "b");
        assert_inputs(g, "g", "f");
        assert_after(g, "b", "");
        assert_terminals(g, "d e g");
        lk_graph_free(g);
}

static void implicit_edges(void **state) {
        (void)state;
        lk_graph *g = parse("a [type=memo]\n"
                            "b [x=\"$(a.b.0)\"]\n"
                            "c [y=\"$( a )\" z=\"$(jobRun.meta) $(nosuch.x) $(c) $(a b) $() $(.a)\"]\n"
                            "d [j=\"{\\\"v\\\": $(a), \\\"w\\\": $(b)}\"]\n"
                            "e [h=<[ $(d), $(c.x) ]>]\n"
                            "a -> d");
        assert_order(g, "a b c d e");
        assert_after(g, "b", "a");
        assert_inputs(g, "b", "");
        assert_after(g, "c", "a");
        /* an explicit edge makes the implicit one redundant */
        assert_after(g, "d", "b");
        assert_inputs(g, "d", "a");
        assert_after(g, "e", "c d");
        assert_after(g, "a", "");
        assert_terminals(g, "e");
        lk_graph_free(g);
}

static void implicit_edges_order_tasks(void **state) {
        (void)state;
        lk_graph *g = parse("late [x=\"$(early)\"]\nearly\nself [x=\"$(self)\"]");
        assert_order(g, "early late self");
        assert_after(g, "late", "early");
        assert_after(g, "self", "");
        assert_terminals(g, "late self");
        lk_graph_free(g);
}

/* Ties go by first appearance, in gonum's SortStabilized, which is not
 * the same as taking the earliest free task each time. */
static void topological_order_is_gonums(void **state) {
        (void)state;
        lk_graph *g = parse("c; b; a");
        assert_order(g, "c b a");
        lk_graph_free(g);
        g = parse("n0; n1; n2; n3; n4; n5\nn0 -> n3\nn4 -> n0\nn4 -> n2");
        assert_order(g, "n1 n4 n0 n3 n2 n5");
        lk_graph_free(g);
        g = parse("x -> y\nw\nv -> x");
        assert_order(g, "w v x y");
        lk_graph_free(g);
        g = parse("a [v=\"$(b)\"]\nb -> c\nd -> a");
        assert_order(g, "b c d a");
        lk_graph_free(g);
}

static void inputs_by_index(void **state) {
        (void)state;
        lk_graph *g = parse("src1 -> p1 -> answer\nsrc2 -> p2 -> answer\nsrc3 -> p3 -> answer\n"
                            "p1 [index=2]\np2 [index=0]\np3 [index=1]\n"
                            "x [index=1]; y [index=1]; z; w [index=-3]\n"
                            "y -> t; x -> t; z -> t; w -> t");
        assert_inputs(g, "answer", "p2 p3 p1");
        assert_inputs(g, "t", "w z x y");
        assert_int_equal(task(g, "p1")->index, 2);
        assert_int_equal(task(g, "w")->index, -3);
        assert_int_equal(task(g, "z")->index, 0);
        lk_graph_free(g);
}

/* mapstructure's weakly typed int32: strconv.ParseInt(s, 0, 32). */
static void index_values(void **state) {
        (void)state;
        lk_graph *g = parse("a [index=\"0x10\"]; b [index=\"-1\"]; c [index=\"1_000\"]; d [index=010]; "
                            "e [Index=7]; f [index=\"\"]; g [index=2147483647]; h [index=-2147483648]; "
                            "i [index=\"+5\"]; j [index=\"0b101\"]; k [index=\"0o17\"]");
        assert_int_equal(task(g, "a")->index, 16);
        assert_int_equal(task(g, "b")->index, -1);
        assert_int_equal(task(g, "c")->index, 1000);
        assert_int_equal(task(g, "d")->index, 8);
        assert_int_equal(task(g, "e")->index, 7);
        assert_int_equal(task(g, "f")->index, 0);
        assert_int_equal(task(g, "g")->index, INT32_MAX);
        assert_int_equal(task(g, "h")->index, INT32_MIN);
        assert_int_equal(task(g, "i")->index, 5);
        assert_int_equal(task(g, "j")->index, 5);
        assert_int_equal(task(g, "k")->index, 15);
        lk_graph_free(g);
}

static void index_errors(void **state) {
        (void)state;
        assert_error("a [type=memo]\nb [index=abc]",
                     "UnmarshalTaskFromMap: 1 error(s) decoding:\n\n* cannot parse 'index' as int: "
                     "strconv.ParseInt: parsing \"abc\": invalid syntax",
                     2);
        assert_error("a [index=2147483648]",
                     "UnmarshalTaskFromMap: 1 error(s) decoding:\n\n* cannot parse 'index' as int: "
                     "strconv.ParseInt: parsing \"2147483648\": value out of range",
                     1);
        assert_error("a [index=\"1.5\"]",
                     "UnmarshalTaskFromMap: 1 error(s) decoding:\n\n* cannot parse 'index' as int: "
                     "strconv.ParseInt: parsing \"1.5\": invalid syntax",
                     1);
        assert_error("a [index=\"1__0\"]",
                     "UnmarshalTaskFromMap: 1 error(s) decoding:\n\n* cannot parse 'index' as int: "
                     "strconv.ParseInt: parsing \"1__0\": invalid syntax",
                     1);
        assert_error("a [index=\"x\\ty\"]",
                     "UnmarshalTaskFromMap: 1 error(s) decoding:\n\n* cannot parse 'index' as int: "
                     "strconv.ParseInt: parsing \"x\\ty\": invalid syntax",
                     1);
        /* checked in topological order, after the reserved name */
        assert_error("late [index=x]\nfirst [index=y]\nfirst -> late",
                     "UnmarshalTaskFromMap: 1 error(s) decoding:\n\n* cannot parse 'index' as int: "
                     "strconv.ParseInt: parsing \"y\": invalid syntax",
                     2);
        assert_error("input\nb [index=bad]\ninput -> b",
                     "'input' is a reserved keyword that cannot be used as a task's name", 1);
}

static void terminals(void **state) {
        (void)state;
        lk_graph *g = parse("a -> b; a -> c; d [x=\"$(c)\"]; e");
        assert_terminals(g, "b d e");
        assert_false(task(g, "c")->terminal);
        lk_graph_free(g);
}

static void reserved_input(void **state) {
        (void)state;
        const char *msg = "'input' is a reserved keyword that cannot be used as a task's name";
        assert_error("a [type=memo]\ninput [type=memo]", msg, 2);
        assert_error("a -> \"input\"", msg, 1);
        lk_graph *g = parse("Input -> inputs");
        assert_order(g, "Input inputs");
        lk_graph_free(g);
}

static void cycles(void **state) {
        (void)state;
        assert_error("a [type=bridge];\nb [type=multiply times=1.23];\na -> b -> a;",
                     "Unable to topologically sort the graph, cycle detected: topo: no topological ordering: "
                     "cyclic components: [[a b]]",
                     1);
        assert_error("x\na [v=\"$(b.out)\"]\nb\na -> b",
                     "Unable to topologically sort the graph, cycle detected: topo: no topological ordering: "
                     "cyclic components: [[a b]]",
                     2);
        assert_error("a -> b -> a\nc -> d -> e -> c\nf -> a",
                     "Unable to topologically sort the graph, cycle detected: topo: no topological ordering: "
                     "cyclic components: [[c d e] [a b]]",
                     2);
        assert_error("n0 -> n1 -> n2 -> n3 -> n4 -> n5 -> n6 -> n7 -> n8 -> n9 -> n10 -> n0",
                     "Unable to topologically sort the graph, cycle detected: topo: no topological ordering: "
                     "11 nodes in 1 cyclic components",
                     1);
        /* the cycle is found before the reserved name */
        assert_error("input -> x -> input",
                     "Unable to topologically sort the graph, cycle detected: topo: no topological ordering: "
                     "cyclic components: [[input x]]",
                     1);
        /* a self edge is refused by gonum's simple graph while decoding */
        assert_error("a [type=memo]\nb -> b",
                     "could not unmarshal DOT into a pipeline.Graph: simple: adding self edge", 2);
}

/* ---- syntax errors ---- */

static void syntax_errors(void **state) {
        (void)state;
        const char *p = "could not unmarshal DOT into a pipeline.Graph: ";
        char want[256];
        snprintf(want, sizeof(want), "%ssyntax error in line 2 near ']'", p);
        assert_error("a [type=memo]\nb [x=]\na -> b", want, 2);
        snprintf(want, sizeof(want), "%ssyntax error in line 4 near '='", p);
        assert_error("a [x=\"one\ntwo\nthree\"]\nb [=]", want, 4);
        assert_error("a [x=<one\ntwo\nthree>]\nb [=]", want, 4);
        assert_error("/* one\ntwo\nthree */\nb [=]", want, 4);
        assert_error("a [x=\"one\\\ntwo\\\nthree\"]\nb [=]", want, 4);
        /* "# N" is no line directive to us */
        snprintf(want, sizeof(want), "%ssyntax error in line 2 near '='", p);
        assert_error("# 100 \"file\"\nb [=]", want, 2);
        snprintf(want, sizeof(want), "%ssyntax error in line 1 at end of input", p);
        assert_error("a ->", want, 1);
        snprintf(want, sizeof(want), "%ssyntax error in line 3 at end of input", p);
        assert_error("a [\nx=1\n", want, 3);
        snprintf(want, sizeof(want), "%ssyntax error in line 1 near '->'", p);
        assert_error("a [x=1] -> b", want, 1);
        snprintf(want, sizeof(want), "%ssyntax error in line 2 near ';'", p);
        assert_error("a\n;;", want, 2);
        snprintf(want, sizeof(want), "%ssyntax error in line 1 near 'digraph'", p);
        assert_error("digraph { a }", want, 1);
}

/* What the pre-scan refuses before cgraph sees it. */
static void syntax_errors_of_our_own(void **state) {
        (void)state;
        const char *p = "could not unmarshal DOT into a pipeline.Graph: ";
        char want[256];
        snprintf(want, sizeof(want), "%ssyntax error in line 2: unterminated quoted string", p);
        assert_error("a\nb [x=\"abc]\nc", want, 2);
        snprintf(want, sizeof(want), "%ssyntax error in line 1: unterminated HTML string (missing '>')", p);
        assert_error("a [x=<<b>]", want, 1);
        snprintf(want, sizeof(want), "%ssyntax error in line 2: unterminated comment", p);
        assert_error("a\n/* b", want, 2);
        snprintf(want, sizeof(want), "%ssyntax error in line 1 near '}'", p);
        assert_error("a } digraph { b", want, 1);
        snprintf(want, sizeof(want), "%ssyntax error in line 1 near ','", p);
        assert_error("a, b -> c", want, 1);
        snprintf(want, sizeof(want), "%ssyntax error in line 1 near '+'", p);
        assert_error("a [x=\"p\" + \"q\"]", want, 1);
        snprintf(want, sizeof(want), "%ssyntax error in line 1 near '@'", p);
        assert_error("a @ b", want, 1);
        snprintf(want, sizeof(want), "%ssyntax error in line 2: a subgraph as an edge end is not supported", p);
        assert_error("a\n{b c} -> d", want, 2);
        assert_error("a\na -> {b c}", want, 2);
        assert_error("a\na -> subgraph s {b}", want, 2);

        lk_graph *g = (lk_graph *)1;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_graph_parse("a\nb [x=\"\0\"]", 11, &g, &err), -EINVAL);
        assert_null(g);
        snprintf(want, sizeof(want), "%ssyntax error in line 2: NUL byte", p);
        assert_string_equal(err.msg, want);
        assert_int_equal(err.line, 2);
        assert_int_equal(err.column, 7);
}

static void subgraphs_as_statements(void **state) {
        (void)state;
        lk_graph *g = parse("subgraph cluster { a [type=http]; b }\n{ c }\na -> c");
        assert_order(g, "a b c");
        assert_inputs(g, "c", "a");
        assert_string_equal(task(g, "a")->type, "http");
        lk_graph_free(g);
}

/* ---- the examples of the reference ---- */

static void example_cron(void **state) {
        (void)state;
        lk_graph *g = parse("ds          [type=http method=GET url=\"https://chain.link/ETH-USD\"];\n"
                            "ds_parse    [type=jsonparse path=\"data,price\"];\n"
                            "ds_multiply [type=multiply times=100];\n"
                            "ds -> ds_parse -> ds_multiply;\n");
        assert_order(g, "ds ds_parse ds_multiply");
        assert_inputs(g, "ds_parse", "ds");
        assert_inputs(g, "ds_multiply", "ds_parse");
        assert_terminals(g, "ds_multiply");
        assert_string_equal(attr(g, "ds", "url"), "https://chain.link/ETH-USD");
        assert_string_equal(attr(g, "ds_parse", "path"), "data,price");
        assert_string_equal(task(g, "ds_multiply")->type, "multiply");
        assert_int_equal(task(g, "ds_multiply")->line, 3);
        lk_graph_free(g);

        g = parse("fetch [type=http method=GET url=\"https://example.com/price\"]\n"
                  "parse [type=jsonparse path=\"data,price\" lax=true]\n"
                  "fetch -> parse\n");
        assert_order(g, "fetch parse");
        assert_string_equal(attr(g, "parse", "lax"), "true");
        assert_terminals(g, "parse");
        lk_graph_free(g);

        g = parse(" a [type=memo value=1] ");
        assert_order(g, "a");
        assert_string_equal(attr(g, "a", "value"), "1");
        assert_terminals(g, "a");
        lk_graph_free(g);
}

/* observationSource as DOT sees it, after TOML's \\" became \". */
static void example_webhook(void **state) {
        (void)state;
        lk_graph *g = parse("    parse_request  [type=\"jsonparse\" path=\"data,result\" data=\"$(jobRun.requestBody)\"]\n"
                            "    multiply       [type=\"multiply\" input=\"$(parse_request)\" times=\"100\"]\n"
                            "    send_to_bridge [type=\"bridge\" name=\"my_bridge\" requestData=\"{ \\\"result\\\": "
                            "$(multiply) }\"]\n"
                            "    parse_request -> multiply -> send_to_bridge\n");
        assert_order(g, "parse_request multiply send_to_bridge");
        assert_inputs(g, "multiply", "parse_request");
        assert_after(g, "multiply", "");
        assert_after(g, "send_to_bridge", "");
        assert_string_equal(attr(g, "send_to_bridge", "requestData"), "{ \"result\": $(multiply) }");
        assert_string_equal(attr(g, "multiply", "times"), "100");
        assert_terminals(g, "send_to_bridge");
        lk_graph_free(g);

        g = parse("    fail_but_i_dont_care [type=fail]\n"
                  "    succeed1             [type=memo value=10]\n"
                  "    succeed2             [type=memo value=5]\n"
                  "    final                [type=mean]\n"
                  "    fail_but_i_dont_care -> final;\n"
                  "    succeed1 -> final;\n"
                  "    succeed2 -> final;\n");
        assert_order(g, "fail_but_i_dont_care succeed1 succeed2 final");
        assert_inputs(g, "final", "fail_but_i_dont_care succeed1 succeed2");
        assert_terminals(g, "final");
        lk_graph_free(g);
}

static void example_directrequest(void **state) {
        (void)state;
        lk_graph *g = parse("    ds          [type=\"http\" method=GET url=\"http://example.com\"]\n"
                            "    ds_parse    [type=\"jsonparse\" path=\"USD\"]\n"
                            "    ds_multiply [type=\"multiply\" times=100]\n"
                            "    ds -> ds_parse -> ds_multiply\n");
        assert_order(g, "ds ds_parse ds_multiply");
        assert_terminals(g, "ds_multiply");
        lk_graph_free(g);

        g = parse("    decode_log   [type=ethabidecodelog\n"
                  "                  abi=\"OracleRequest(bytes32 indexed specId, address requester, bytes32 "
                  "requestId, uint256 payment, address callbackAddr, bytes4 callbackFunctionId, uint256 "
                  "cancelExpiration, uint256 dataVersion, bytes data)\"\n"
                  "                  data=\"$(jobRun.logData)\"\n"
                  "                  topics=\"$(jobRun.logTopics)\"]\n"
                  "    decode_cbor  [type=cborparse data=\"$(decode_log.data)\"]\n"
                  "    ds1          [type=http method=GET url=\"$(decode_cbor.urlUSD)\" "
                  "allowunrestrictednetworkaccess=\"true\"];\n"
                  "    ds1_parse    [type=jsonparse path=\"$(decode_cbor.pathUSD)\"];\n"
                  "    ds1_multiply [type=multiply value=\"$(ds1_parse)\" times=100];\n"
                  "    encode_data  [type=ethabiencode abi=\"(uint256 value)\" data=<{\"value\": $(ds1_multiply)}>]\n"
                  "    encode_tx    [type=ethabiencode\n"
                  "                  abi=\"fulfillOracleRequest(bytes32 requestId, uint256 payment, address "
                  "callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes32 data)\"\n"
                  "                  data=<{\"requestId\": $(decode_log.requestId), \"payment\": "
                  "$(decode_log.payment),\n"
                  "                         \"callbackAddress\": $(decode_log.callbackAddr), "
                  "\"callbackFunctionId\": $(decode_log.callbackFunctionId),\n"
                  "                         \"expiration\": $(decode_log.cancelExpiration), \"data\": "
                  "$(encode_data)}>]\n"
                  "    submit [type=ethtx to=\"0x613a38AC1659769640aaE063C651F48E0250454C\" "
                  "data=\"$(encode_tx)\" minConfirmations=\"2\"]\n"
                  "    decode_log->decode_cbor->ds1 -> ds1_parse -> ds1_multiply->encode_data->encode_tx->submit;\n");
        assert_order(g, "decode_log decode_cbor ds1 ds1_parse ds1_multiply encode_data encode_tx submit");
        assert_inputs(g, "ds1_parse", "ds1");
        assert_after(g, "ds1_parse", "decode_cbor");
        assert_after(g, "encode_tx", "decode_log");
        assert_after(g, "ds1", "");
        assert_after(g, "submit", "");
        assert_terminals(g, "submit");
        assert_string_equal(attr(g, "encode_data", "data"), "{\"value\": $(ds1_multiply)}");
        assert_string_equal(attr(g, "ds1", "allowUnrestrictedNetworkAccess"), "true");
        assert_string_equal(attr(g, "submit", "minConfirmations"), "2");
        assert_string_equal(task(g, "decode_log")->type, "ethabidecodelog");
        assert_int_equal(task(g, "decode_cbor")->line, 5);
        assert_int_equal(task(g, "submit")->line, 15);
        assert_true(strncmp(attr(g, "encode_tx", "data"), "{\"requestId\": $(decode_log.requestId), ", 39) == 0);
        assert_non_null(strstr(attr(g, "encode_tx", "data"), ",\n                         \"expiration\""));
        lk_graph_free(g);
}

static void example_vrf(void **state) {
        (void)state;
        lk_graph *g = parse(
                "decode_log   [type=ethabidecodelog\n"
                "              abi=\"RandomnessRequest(bytes32 keyHash,uint256 seed,bytes32 indexed jobID,address "
                "sender,uint256 fee,bytes32 requestID)\"\n"
                "              data=\"$(jobRun.logData)\"\n"
                "              topics=\"$(jobRun.logTopics)\"]\n"
                "vrf          [type=vrf publicKey=\"$(jobSpec.publicKey)\" requestBlockHash=\"$(jobRun.logBlockHash)\"\n"
                "              requestBlockNumber=\"$(jobRun.logBlockNumber)\" topics=\"$(jobRun.logTopics)\"]\n"
                "encode_tx    [type=ethabiencode abi=\"fulfillRandomnessRequest(bytes proof)\" data=\"{\\\"proof\\\": "
                "$(vrf)}\"]\n"
                "submit_tx    [type=ethtx to=\"0xB3b7874F13387D44a3398D298B075B7A3505D8d4\" data=\"$(encode_tx)\"\n"
                "              txMeta=\"{\\\"requestTxHash\\\": $(jobRun.logTxHash),\\\"requestID\\\": "
                "$(decode_log.requestID),\\\"jobID\\\": $(jobSpec.databaseID)}\"]\n"
                "decode_log->vrf->encode_tx->submit_tx\n");
        assert_order(g, "decode_log vrf encode_tx submit_tx");
        assert_inputs(g, "submit_tx", "encode_tx");
        assert_after(g, "submit_tx", "decode_log");
        assert_after(g, "encode_tx", "");
        assert_terminals(g, "submit_tx");
        assert_string_equal(attr(g, "encode_tx", "data"), "{\"proof\": $(vrf)}");
        assert_string_equal(attr(g, "submit_tx", "txMeta"),
                            "{\"requestTxHash\": $(jobRun.logTxHash),\"requestID\": $(decode_log.requestID),"
                            "\"jobID\": $(jobSpec.databaseID)}");
        assert_int_equal(task(g, "vrf")->line, 5);
        assert_int_equal(task(g, "submit_tx")->line, 8);
        lk_graph_free(g);
}

/* ---- edges of the API ---- */

static void empty_pipelines(void **state) {
        (void)state;
        const char *sources[] = {"", "  \n\t", "// nothing\n# here\n/* at all */"};
        for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
                lk_graph *g = parse(sources[i]);
                assert_int_equal(g->task_count, 0);
                assert_null(g->tasks);
                lk_graph_free(g);
        }
        lk_graph *g = NULL;
        assert_int_equal(lk_graph_parse(NULL, 0, &g, NULL), 0);
        assert_int_equal(g->task_count, 0);
        lk_graph_free(g);
        assert_null(lk_graph_free(NULL));
}

static void source_is_not_nul_terminated(void **state) {
        (void)state;
        const char text[] = {'a', ' ', '-', '>', ' ', 'b', '"'};
        lk_graph *g = NULL;
        assert_int_equal(lk_graph_parse(text, 6, &g, NULL), 0);
        assert_order(g, "a b");
        lk_graph_free(g);
}

static void error_without_err(void **state) {
        (void)state;
        lk_graph *g = (lk_graph *)1;
        assert_int_equal(lk_graph_parse("a -> a", 6, &g, NULL), -EINVAL);
        assert_null(g);
        assert_int_equal(lk_graph_parse("a [", 3, NULL, NULL), -EINVAL);
}

static void lines_of_tasks(void **state) {
        (void)state;
        lk_graph *g = parse("\n\na [x=\"multi\nline\"]; a -> b\n\"c\" [y=<\n>]\n# comment\n  d -> a\n"
                            "e [k=\"a\\\nb\"]; f");
        assert_int_equal(task(g, "a")->line, 3);
        assert_int_equal(task(g, "b")->line, 4);
        assert_int_equal(task(g, "c")->line, 5);
        assert_int_equal(task(g, "d")->line, 8);
        assert_int_equal(task(g, "e")->line, 9);
        assert_int_equal(task(g, "f")->line, 10);
        lk_graph_free(g);
}

/* ---- limits ---- */

/* before0after before1after ... */
static char *numbered(const char *before, const char *after, int count) {
        lk_buf b = LK_BUF_INIT;
        for (int i = 0; i < count; i++)
                lk_buf_printf(&b, "%s%d%s", before, i, after);
        return lk_buf_steal(&b, NULL);
}

static void limit_on_size(void **state) {
        (void)state;
        lk_graph *g = NULL;
        lk_err err = LK_ERR_INIT;
        char *big = lk_malloc((1 << 20) + 2);
        memset(big, ' ', (1 << 20) + 1);
        assert_int_equal(lk_graph_parse(big, (1 << 20) + 1, &g, &err), -EINVAL);
        assert_string_equal(err.msg, "could not unmarshal DOT into a pipeline.Graph: the source is 1048577 bytes, "
                                     "more than the 1048576 allowed");
        assert_int_equal(lk_graph_parse(big, 1 << 20, &g, NULL), 0);
        assert_int_equal(g->task_count, 0);
        lk_graph_free(g);
        lk_free(big);
}

static void limit_on_tasks(void **state) {
        (void)state;
        char *text = numbered("n", "\n", 10000);
        lk_graph *g = parse(text);
        assert_int_equal(g->task_count, 10000);
        assert_string_equal(g->tasks[9999].dot_id, "n9999");
        assert_int_equal(g->tasks[9999].line, 10000);
        lk_graph_free(g);
        lk_free(text);
        text = numbered("n", "\n", 10001);
        assert_error(text, "could not unmarshal DOT into a pipeline.Graph: more than 10000 tasks", 10001);
        lk_free(text);
}

static void limit_on_edge_chains(void **state) {
        (void)state;
        lk_buf b = LK_BUF_INIT;
        char *chain = numbered("n", " -> ", 1000);
        lk_buf_printf(&b, "%send", chain);
        lk_free(chain);
        lk_graph *g = parse(lk_buf_str(&b));
        assert_int_equal(g->task_count, 1001);
        assert_inputs(g, "end", "n999");
        lk_graph_free(g);
        lk_buf_puts(&b, " -> more");
        assert_error(lk_buf_str(&b), "could not unmarshal DOT into a pipeline.Graph: an edge chain longer than 1000 in line 1",
                     1);
        lk_buf_reset(&b);
        for (int i = 0; i < 5000; i++)
                lk_buf_printf(&b, "n%d -> n%d\n", i, i + 1);
        g = parse(lk_buf_str(&b));
        assert_int_equal(g->task_count, 5001);
        assert_string_equal(g->tasks[0].dot_id, "n0");
        assert_string_equal(g->tasks[5000].dot_id, "n5000");
        assert_inputs(g, "n5000", "n4999");
        lk_graph_free(g);
        lk_buf_done(&b);
}

static void limit_on_attribute_names_and_nesting(void **state) {
        (void)state;
        char *text = numbered("a [k", "=1]\n", 1000);
        lk_graph *g = parse(text);
        assert_int_equal(g->tasks[0].attr_count, 1000);
        lk_graph_free(g);
        lk_free(text);
        text = numbered("a [k", "=1]\n", 1001);
        assert_error(text, "could not unmarshal DOT into a pipeline.Graph: more than 1000 distinct attribute names",
                     1001);
        lk_free(text);
        lk_buf b = LK_BUF_INIT;
        for (int depth = 32; depth <= 33; depth++) {
                lk_buf_reset(&b);
                for (int i = 0; i < depth; i++)
                        lk_buf_putc(&b, '{');
                lk_buf_putc(&b, 'a');
                for (int i = 0; i < depth; i++)
                        lk_buf_putc(&b, '}');
                if (depth == 32) {
                        g = parse(lk_buf_str(&b));
                        assert_order(g, "a");
                        lk_graph_free(g);
                } else {
                        assert_error(lk_buf_str(&b),
                                     "could not unmarshal DOT into a pipeline.Graph: subgraphs nested deeper than 32 "
                                     "in line 1",
                                     1);
                }
        }
        lk_buf_done(&b);
}

/* gonum keeps apart the nodes "a" and a; both are referred to by $(a),
 * and that must not let a short spec make billions of edges. */
static void limit_on_implicit_edges(void **state) {
        (void)state;
        lk_graph *g = parse("\"a\"; a; b [x=\"$(a) $(a.y) $( a )\"]");
        assert_order(g, "a a b");
        assert_after(g, "b", "a a");
        lk_graph_free(g);

        lk_buf b = LK_BUF_INIT;
        for (int i = 0; i < 512; i++) {
                lk_buf_putc(&b, '"');
                for (int bit = 0; bit < 9; bit++)
                        lk_buf_puts(&b, i & (1 << bit) ? "\\x61" : "a");
                lk_buf_puts(&b, "\" [v=\"$(aaaaaaaaa)\"]\n");
        }
        assert_error(lk_buf_str(&b), "could not unmarshal DOT into a pipeline.Graph: more than 100000 implicit edges",
                     196);
        lk_buf_done(&b);
}

/* ---- memory and threads ---- */

static void no_leaks(void **state) {
        (void)state;
        const char *sources[] = {
                "a [type=http x=<{\"a\": 1}>] -> b [y=\"$(a)\"]; c [index=2]; c -> b",
                "a -> b -> a",
                "a [x=]",
                "input",
                "a [index=q]",
                "a -> a",
                "a [x=\"\\u00e9\"] b [x=\"bad\\q\"]",
        };
        for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
                uint64_t before = allocs_in_use();
                lk_graph *g = NULL;
                lk_err err = LK_ERR_INIT;
                lk_graph_parse(sources[i], strlen(sources[i]), &g, &err);
                lk_graph_free(g);
                assert_int_equal(allocs_in_use(), before);
        }
}

static void *parse_many(void *arg) {
        const char *src = "a [type=http url=\"$(jobRun.x)\"]\nb [v=<{\"x\": $(a)}>]\na -> b -> c\nd [x=\"$(c)\"]";
        for (int i = 0; i < 200; i++) {
                lk_graph *g = NULL;
                lk_err err = LK_ERR_INIT;
                if (lk_graph_parse(src, strlen(src), &g, &err) != 0 || g->task_count != 4 ||
                    strcmp(g->tasks[3].dot_id, "d") != 0 || g->tasks[3].after_count != 1) {
                        lk_graph_free(g);
                        return arg;
                }
                lk_graph_free(g);
                if (lk_graph_parse("x -> y -> x", 11, &g, &err) != -EINVAL || !strstr(err.msg, "[[x y]]"))
                        return arg;
                if (lk_graph_parse("subgraph { x [", 14, &g, &err) != -EINVAL)
                        return arg;
        }
        return NULL;
}

static void concurrent_parses(void **state) {
        (void)state;
        pthread_t threads[4];
        int ids[4];
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(pthread_create(&threads[i], NULL, parse_many, &ids[i]), 0);
        for (size_t i = 0; i < 4; i++) {
                void *failed = NULL;
                assert_int_equal(pthread_join(threads[i], &failed), 0);
                assert_null(failed);
        }
}

/* cgraph keeps parser state in globals; a failed parse must not change
 * the next one. */
static void failures_leave_no_state(void **state) {
        (void)state;
        const char *bad[] = {"subgraph { a [ }", "a [x=\"q\"", "{ { b -> }", "x [y=<a>", "k = ", "a ->"};
        for (int round = 0; round < 6000; round++) {
                const char *src = bad[round % 6];
                lk_graph_parse(src, strlen(src), NULL, NULL);
        }
        lk_graph *g = parse("subgraph s { a -> b }\nc [v=\"$(b)\"]");
        assert_order(g, "a b c");
        assert_after(g, "c", "b");
        lk_graph_free(g);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(bare_words_and_numerals),
                cmocka_unit_test(quoted_values_unquoted_as_go_does),
                cmocka_unit_test(quoted_values_kept_when_go_refuses),
                cmocka_unit_test(html_values),
                cmocka_unit_test(equal_texts_of_different_kinds),
                cmocka_unit_test(attribute_names),
                cmocka_unit_test(type_is_lower_cased),
                cmocka_unit_test(last_assignment_wins),
                cmocka_unit_test(attribute_statements_are_ignored),
                cmocka_unit_test(comments_and_separators),
                cmocka_unit_test(task_names),
                cmocka_unit_test(explicit_chains),
                cmocka_unit_test(implicit_edges),
                cmocka_unit_test(implicit_edges_order_tasks),
                cmocka_unit_test(topological_order_is_gonums),
                cmocka_unit_test(inputs_by_index),
                cmocka_unit_test(index_values),
                cmocka_unit_test(index_errors),
                cmocka_unit_test(terminals),
                cmocka_unit_test(reserved_input),
                cmocka_unit_test(cycles),
                cmocka_unit_test(syntax_errors),
                cmocka_unit_test(syntax_errors_of_our_own),
                cmocka_unit_test(subgraphs_as_statements),
                cmocka_unit_test(example_cron),
                cmocka_unit_test(example_webhook),
                cmocka_unit_test(example_directrequest),
                cmocka_unit_test(example_vrf),
                cmocka_unit_test(empty_pipelines),
                cmocka_unit_test(source_is_not_nul_terminated),
                cmocka_unit_test(error_without_err),
                cmocka_unit_test(lines_of_tasks),
                cmocka_unit_test(limit_on_size),
                cmocka_unit_test(limit_on_tasks),
                cmocka_unit_test(limit_on_edge_chains),
                cmocka_unit_test(limit_on_attribute_names_and_nesting),
                cmocka_unit_test(limit_on_implicit_edges),
                cmocka_unit_test(no_leaks),
                cmocka_unit_test(concurrent_parses),
                cmocka_unit_test(failures_leave_no_state),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
