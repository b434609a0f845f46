/* The parsed pipeline as the runner uses it (internal). */
#ifndef LINKD_PIPELINE_SPEC_H
#define LINKD_PIPELINE_SPEC_H

#include <stdatomic.h>

#include "graph.h"
#include "linkd/pipeline.h"
#include "task.h"

/* A task's BaseTask attributes, decoded once. */
typedef struct lk__task_options {
        const lk_task_type *type;
        bool timeout_set;
        lk_usec timeout;
        uint32_t retries;
        lk_usec min_backoff;
        lk_usec max_backoff;
        bool fail_early;
        bool uses_vars;       /* some attribute has a $(...), or the task reads vars itself (bridge) */
        int *dependents;      /* explicit and implicit children */
        size_t dependent_count;
        int parent_count;     /* explicit and implicit parents */
} lk__task_options;

struct lk_pipeline_spec {
        atomic_int refs;
        lk_graph *graph;
        lk__task_options *tasks; /* by task id */
        int *by_index;           /* task ids sorted by (index, id) */
        size_t terminal_count;
        char *source;
        size_t source_len;
        int64_t id;
        lk_usec max_task_duration;
        int64_t job_id;
        char *job_name;
        bool has_async;
        bool gas_limit_set;
        uint32_t gas_limit;
};

/* jpillora/backoff's ForAttempt with Chainlink's factor 2 and no jitter. */
lk_usec lk__backoff_for_attempt(lk_usec min, lk_usec max, unsigned attempt);

#endif
