/* A pipeline's task graph, parsed from Chainlink's DOT observationSource.
 *
 * The source is wrapped in "digraph {\n" ... "\n}" as Chainlink does and
 * parsed with Graphviz's libcgraph.  Attribute values are then given
 * Chainlink's meaning: quoted values unquoted with Go's strconv.Unquote
 * rules (kept verbatim, quotes included, when that fails), "<...>" values
 * stripped of one pair of brackets when the content has none, attribute
 * names matched case-insensitively, and `type` lower-cased.  Besides the
 * explicit edges, every $(x.y...) in an attribute whose first segment names
 * another task adds an implicit edge (ordering only).  Tasks are sorted
 * topologically, ties broken by first appearance in the source. */
#ifndef LINKD_PIPELINE_GRAPH_H
#define LINKD_PIPELINE_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"

typedef struct lk_graph_attr {
        char *key;   /* as written */
        char *value; /* after Chainlink's unquoting */
} lk_graph_attr;

typedef struct lk_graph_task {
        char *dot_id;
        char *type;         /* lower-cased; "" if the node has none */
        int id;             /* position in topological order, from 0 */
        int32_t index;      /* the `index` attribute, 0 if absent */
        lk_graph_attr *attrs;
        size_t attr_count;
        int *inputs;        /* ids of explicit parents, sorted by (index, id) */
        size_t input_count;
        int *outputs;       /* ids of explicit children */
        size_t output_count;
        int *after;         /* ids of implicit parents ($(x) references), ordering only */
        size_t after_count;
        bool terminal;      /* no explicit or implicit children */
        uint32_t line;      /* where the node was first named, 1-based in the source; 0 if unknown */
} lk_graph_task;

typedef struct lk_graph {
        lk_graph_task *tasks; /* in topological order: tasks[i].id == i */
        size_t task_count;
} lk_graph;

/* Parses source.  Errors (-EINVAL) with Chainlink's texts:
 *   "could not unmarshal DOT into a pipeline.Graph: <detail>"
 *   "'input' is a reserved keyword that cannot be used as a task's name"
 *   "Unable to topologically sort the graph, cycle detected: <dot ids>"
 * and the line where libcgraph (or the check) found the problem. */
int lk_graph_parse(const char *source, size_t len, lk_graph **ret_graph, lk_err *err);
lk_graph *lk_graph_free(lk_graph *graph);

/* The value of attribute key (case-insensitive), or NULL. */
const char *lk_graph_attr_get(const lk_graph_task *task, const char *key);

#endif
