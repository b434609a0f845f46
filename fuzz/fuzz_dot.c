/* libFuzzer target for the pipeline DOT parser (src/pipeline/graph.c).
 *
 * Feeds arbitrary bytes to lk_graph_parse.  When they parse, every task
 * and attribute is read, so that a dangling pointer or an unterminated
 * string shows up under ASan, and the graph's invariants are checked:
 * ids in order, every edge pointing the way the topological order says,
 * inputs sorted by (index, id), outputs and inputs mirroring each other,
 * terminals without children.  Every input is parsed twice and the two
 * results compared, because libcgraph keeps its lexer and parser state in
 * globals and a parse that leaves some behind changes the next one. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/buf.h"
#include "pipeline/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

static bool contains(const int *ids, size_t count, int id) {
        for (size_t i = 0; i < count; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

static uint32_t count_lines(const uint8_t *data, size_t size) {
        uint32_t lines = 1;
        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        return lines;
}

/* Ids valid and strictly ascending. */
static void check_ascending(const int *ids, size_t count, size_t tasks) {
        for (size_t i = 0; i < count; i++) {
                check(ids[i] >= 0 && (size_t)ids[i] < tasks);
                check(i == 0 || ids[i - 1] < ids[i]);
        }
}

static void check_attrs(const lk_graph_task *t, lk_buf *out) {
        for (size_t j = 0; j < t->attr_count; j++) {
                const lk_graph_attr *a = &t->attrs[j];
                check(a->key && a->value);
                for (size_t k = 0; k < j; k++)
                        check(strcmp(t->attrs[k].key, a->key) != 0);
                check(lk_graph_attr_get(t, a->key) == a->value);
                lk_buf_printf(out, " %s=%s", a->key, a->value);
        }
        const char *type = NULL;
        for (size_t j = 0; j < t->attr_count; j++)
                if (strcmp(t->attrs[j].key, "type") == 0)
                        type = t->attrs[j].value;
        check(strlen(t->type) == (type ? strlen(type) : 0));
        for (const char *p = t->type; *p; p++)
                check(!(*p >= 'A' && *p <= 'Z'));
        if (!lk_graph_attr_get(t, "index"))
                check(t->index == 0);
}

static void check_edges(const lk_graph *g, const lk_graph_task *t) {
        int id = t->id;
        check_ascending(t->outputs, t->output_count, g->task_count);
        check_ascending(t->after, t->after_count, g->task_count);
        for (size_t j = 0; j < t->input_count; j++) {
                const lk_graph_task *p = &g->tasks[t->inputs[j]];
                check(t->inputs[j] >= 0 && t->inputs[j] < id);
                check(contains(p->outputs, p->output_count, id));
                check(!contains(t->after, t->after_count, p->id));
                if (j > 0) {
                        const lk_graph_task *q = &g->tasks[t->inputs[j - 1]];
                        check(q->index < p->index || (q->index == p->index && q->id < p->id));
                }
        }
        for (size_t j = 0; j < t->output_count; j++) {
                const lk_graph_task *c = &g->tasks[t->outputs[j]];
                check(t->outputs[j] > id);
                check(contains(c->inputs, c->input_count, id));
        }
        for (size_t j = 0; j < t->after_count; j++)
                check(t->after[j] < id);
}

static bool has_implicit_child(const lk_graph *g, int id) {
        for (size_t i = 0; i < g->task_count; i++)
                if (contains(g->tasks[i].after, g->tasks[i].after_count, id))
                        return true;
        return false;
}

/* Checks g and writes it out as text, for comparing two parses. */
static void walk(const lk_graph *g, uint32_t lines, lk_buf *out) {
        check(g->task_count == 0 || g->tasks);
        for (size_t i = 0; i < g->task_count; i++) {
                const lk_graph_task *t = &g->tasks[i];
                check(t->id == (int)i);
                check(t->dot_id && t->type);
                check(strcmp(t->dot_id, "input") != 0);
                check(t->line >= 1 && t->line <= lines);
                lk_buf_printf(out, "%d %s %s %d %u %d:", t->id, t->dot_id, t->type, (int)t->index, t->line,
                              (int)t->terminal);
                check_attrs(t, out);
                check_edges(g, t);
                check(t->terminal == (t->output_count == 0 && !has_implicit_child(g, t->id)));
                for (size_t j = 0; j < t->input_count; j++)
                        lk_buf_printf(out, " i%d", t->inputs[j]);
                for (size_t j = 0; j < t->after_count; j++)
                        lk_buf_printf(out, " a%d", t->after[j]);
                lk_buf_putc(out, '\n');
        }
}

static void parse(const uint8_t *data, size_t size, lk_buf *out) {
        lk_graph *g = NULL;
        lk_err err = LK_ERR_INIT;
        uint32_t lines = count_lines(data, size);
        if (lk_graph_parse((const char *)data, size, &g, &err) == 0) {
                check(g != NULL);
                walk(g, lines, out);
                lk_graph_free(g);
                return;
        }
        check(g == NULL);
        check(err.code == -EINVAL && err.msg[0] != '\0');
        check(err.line <= lines);
        lk_buf_printf(out, "error %u: %s", err.line, err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        lk_buf first = LK_BUF_INIT, second = LK_BUF_INIT;
        parse(data, size, &first);
        parse(data, size, &second);
        if (strcmp(lk_buf_str(&first), lk_buf_str(&second)) != 0) {
                fprintf(stderr, "first parse:\n%s\nsecond parse:\n%s\n", lk_buf_str(&first), lk_buf_str(&second));
                abort();
        }
        lk_buf_done(&first);
        lk_buf_done(&second);
        return 0;
}
