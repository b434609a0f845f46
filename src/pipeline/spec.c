#include "spec.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "linkd/alloc.h"

#define DEFAULT_MIN_BACKOFF (5 * LK_USEC_PER_SEC)
#define DEFAULT_MAX_BACKOFF (60 * LK_USEC_PER_SEC)

/* mapstructure's weak decoding of a string into an integer field:
 * strconv.ParseInt(s, 0, bits), "" meaning 0. */
static int parse_int(const char *text, int64_t min, int64_t max, int64_t *ret) {
        if (!*text) {
                *ret = 0;
                return 0;
        }
        errno = 0;
        char *end;
        long long v = strtoll(text, &end, 0);
        if (errno || *end || end == text || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* strconv.ParseBool, "" meaning false. */
static int parse_bool(const char *text, bool *ret) {
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"", "0", "f", "F", "FALSE", "false", "False"};
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
                if (strcmp(text, yes[i]) == 0)
                        return *ret = true, 0;
        for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
                if (strcmp(text, no[i]) == 0)
                        return *ret = false, 0;
        return -EINVAL;
}

static int task_error(lk_err *err, const lk_graph_task *t, const char *fmt, const char *attr, const char *value) {
        return lk_err_set_at(err, -EINVAL, t->line, 0, "UnmarshalTaskFromMap: task \"%s\" (line %u): %s: cannot parse \"%s\" as %s",
                             t->dot_id, t->line, attr, value, fmt);
}

static int decode_duration(const lk_graph_task *t, const char *attr, bool *ret_set, lk_usec *ret, lk_err *err) {
        const char *v = lk_graph_attr_get(t, attr);
        if (ret_set)
                *ret_set = v != NULL;
        if (!v) {
                *ret = 0;
                return 0;
        }
        if (lk_duration_parse(v, ret, NULL) < 0)
                return task_error(err, t, "a duration", attr, v);
        return 0;
}

static int decode_options(const lk_graph_task *t, lk__task_options *o, lk_err *err) {
        o->type = lk_task_type_find(t->type);
        if (!o->type)
                return lk_err_set_at(err, -EINVAL, t->line, 0, "UnmarshalTaskFromMap: unknown task type: \"%s\" (task \"%s\", line %u)",
                                     t->type, t->dot_id, t->line);
        const char *v;
        int64_t n;
        if ((v = lk_graph_attr_get(t, "retries")) && parse_int(v, 0, UINT32_MAX, &n) < 0)
                return task_error(err, t, "uint32", "retries", v);
        o->retries = v ? (uint32_t)n : 0;
        if ((v = lk_graph_attr_get(t, "failEarly")) && parse_bool(v, &o->fail_early) < 0)
                return task_error(err, t, "bool", "failEarly", v);
        lk_usec min_backoff, max_backoff;
        int r;
        if ((r = decode_duration(t, "timeout", &o->timeout_set, &o->timeout, err)) < 0 ||
            (r = decode_duration(t, "minBackoff", NULL, &min_backoff, err)) < 0 ||
            (r = decode_duration(t, "maxBackoff", NULL, &max_backoff, err)) < 0)
                return r;
        /* Chainlink's TaskMinBackoff/TaskMaxBackoff: once minBackoff is set,
         * maxBackoff is taken as written, even when it is not. */
        o->min_backoff = min_backoff > 0 ? min_backoff : DEFAULT_MIN_BACKOFF;
        o->max_backoff = min_backoff > 0 ? max_backoff : DEFAULT_MAX_BACKOFF;
        return 0;
}

lk_usec lk__backoff_for_attempt(lk_usec min, lk_usec max, unsigned attempt) {
        if (min <= 0)
                min = 100 * LK_USEC_PER_MSEC;
        if (max <= 0)
                max = 10 * LK_USEC_PER_SEC;
        if (min >= max)
                return max;
        double d = (double)min * pow(2, attempt);
        if (d > (double)max)
                return max;
        return d < (double)min ? min : (lk_usec)d;
}

static void add_dependent(lk__task_options *parent, int child) {
        for (size_t i = 0; i < parent->dependent_count; i++)
                if (parent->dependents[i] == child)
                        return;
        parent->dependents = lk_realloc(parent->dependents, (parent->dependent_count + 1) * sizeof(int));
        parent->dependents[parent->dependent_count++] = child;
}


static int compare_index(const void *a, const void *b, void *arg) {
        const lk_graph *g = arg;
        int x = *(const int *)a, y = *(const int *)b;
        int32_t ix = g->tasks[x].index, iy = g->tasks[y].index;
        if (ix != iy)
                return ix < iy ? -1 : 1;
        return x < y ? -1 : x > y;
}

static int link_tasks(lk_pipeline_spec *spec) {
        lk_graph *g = spec->graph;
        for (size_t i = 0; i < g->task_count; i++) {
                lk_graph_task *t = &g->tasks[i];
                for (size_t k = 0; k < t->input_count; k++)
                        add_dependent(&spec->tasks[t->inputs[k]], (int)i);
                for (size_t k = 0; k < t->after_count; k++)
                        add_dependent(&spec->tasks[t->after[k]], (int)i);
        }
        for (size_t i = 0; i < g->task_count; i++)
                for (size_t k = 0; k < spec->tasks[i].dependent_count; k++)
                        spec->tasks[spec->tasks[i].dependents[k]].parent_count++;
        spec->by_index = lk_malloc(g->task_count * sizeof(int));
        for (size_t i = 0; i < g->task_count; i++) {
                spec->by_index[i] = (int)i;
                spec->terminal_count += g->tasks[i].terminal;
        }
        qsort_r(spec->by_index, g->task_count, sizeof(int), compare_index, g);
        return 0;
}

int lk_pipeline_spec_new(const lk_pipeline_spec_options *options, lk_pipeline_spec **ret_spec, lk_err *err) {
        size_t len = options->source_len == SIZE_MAX ? strlen(options->source) : options->source_len;
        lk_graph *graph;
        int r = lk_graph_parse(options->source, len, &graph, err);
        if (r < 0)
                return r;
        if (graph->task_count == 0) {
                lk_graph_free(graph);
                return lk_err_set(err, -EINVAL, "pipeline has no tasks");
        }
        lk_pipeline_spec *spec = lk_calloc(1, sizeof *spec);
        atomic_init(&spec->refs, 1);
        spec->graph = graph;
        spec->tasks = lk_calloc(graph->task_count, sizeof *spec->tasks);
        for (size_t i = 0; i < graph->task_count; i++) {
                if ((r = decode_options(&graph->tasks[i], &spec->tasks[i], err)) < 0) {
                        lk_pipeline_spec_unref(spec);
                        return r;
                }
                const lk_graph_task *t = &graph->tasks[i];
                spec->tasks[i].uses_vars = strcmp(t->type, "bridge") == 0;
                for (size_t k = 0; k < t->attr_count; k++)
                        spec->tasks[i].uses_vars |= strstr(t->attrs[k].value, "$(") != NULL;
                const char *async = lk_graph_attr_get(&graph->tasks[i], "async");
                if (strcmp(graph->tasks[i].type, "bridge") == 0 && async && strcmp(async, "true") == 0)
                        spec->has_async = true;
                /* Chainlink's ethtx always has its run pre-inserted: its
                 * transaction is keyed by the stored run */
                if (strcmp(graph->tasks[i].type, "ethtx") == 0)
                        spec->has_async = true;
        }
        link_tasks(spec);
        spec->source = lk_strndup(options->source, len);
        spec->source_len = len;
        spec->id = options->id;
        spec->max_task_duration = options->max_task_duration;
        spec->job_id = options->job_id;
        spec->job_name = lk_strdup(options->job_name ? options->job_name : "");
        spec->gas_limit_set = options->gas_limit_set;
        spec->gas_limit = options->gas_limit;
        *ret_spec = spec;
        return 0;
}

lk_pipeline_spec *lk_pipeline_spec_ref(lk_pipeline_spec *spec) {
        atomic_fetch_add_explicit(&spec->refs, 1, memory_order_relaxed);
        return spec;
}

lk_pipeline_spec *lk_pipeline_spec_unref(lk_pipeline_spec *spec) {
        if (!spec || atomic_fetch_sub_explicit(&spec->refs, 1, memory_order_acq_rel) != 1)
                return NULL;
        for (size_t i = 0; spec->graph && i < spec->graph->task_count; i++)
                lk_free(spec->tasks[i].dependents);
        lk_free(spec->tasks);
        lk_free(spec->by_index);
        lk_graph_free(spec->graph);
        lk_free(spec->source);
        lk_free(spec->job_name);
        lk_free(spec);
        return NULL;
}

size_t lk_pipeline_spec_task_count(const lk_pipeline_spec *spec) {
        return spec->graph->task_count;
}

bool lk_pipeline_spec_has_async(const lk_pipeline_spec *spec) {
        return spec->has_async;
}

bool lk_pipeline_spec_uses_bridge(const lk_pipeline_spec *spec, const char *bridge) {
        for (size_t i = 0; i < spec->graph->task_count; i++) {
                const lk_graph_task *t = &spec->graph->tasks[i];
                const char *name = strcmp(t->type, "bridge") == 0 ? lk_graph_attr_get(t, "name") : NULL;
                if (name && strcasecmp(name, bridge) == 0)
                        return true;
        }
        return false;
}
