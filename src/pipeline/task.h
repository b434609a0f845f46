/* What a pipeline task sees and returns.  Each task type is one function
 * in src/pipeline/tasks/, registered in tasks/registry.c.
 *
 * Most tasks are synchronous: `run` computes the result on a worker
 * thread.  Tasks that wait on the network (http, bridge) are started with
 * `start` instead and finish later, from another thread, through
 * lk_task_finish, so that no worker waits for a slow endpoint. */
#ifndef LINKD_PIPELINE_TASK_H
#define LINKD_PIPELINE_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "pool.h"
#include "linkd/config.h"
#include "linkd/err.h"
#include "linkd/pipeline.h"
#include "linkd/store.h"
#include "linkd/time.h"
#include "linkd/value.h"

typedef struct lk_http_client lk_http_client;

/* An input: a parent's result.  Exactly one of value and error is set. */
typedef struct lk_task_input {
        lk_value *value;   /* borrowed */
        const char *error; /* borrowed */
} lk_task_input;

/* What the runner lends a task beyond its parameters. */
typedef struct lk_task_env {
        const lk_config *config;  /* [JobPipeline.HTTPRequest], [WebServer] Bridge* */
        lk_http_client *http;
        lk_store *store;          /* NULL without persistence (bridges then cannot be found) */
        lk_pool *pool;            /* for work that must not run on the HTTP client's thread */
        const lk_pipeline_evm *evm; /* the node's chains and VRF keys; NULL: none */
} lk_task_env;

typedef struct lk_task_call {
        const lk_graph_task *spec;  /* the node: type, attributes */
        const lk_value *vars;       /* the run's vars when the task was scheduled */
        const lk_task_input *inputs;
        size_t input_count;
        const lk_task_env *env;
        const char *task_run_id;    /* this task run's UUID */
        int64_t spec_id;            /* pipeline_specs.id, 0 if not stored */
        int64_t run_id;             /* pipeline_runs.id, 0 if not (yet) stored */
        bool gas_limit_set;         /* the job's gasLimit, which the EVM tasks */
        uint32_t gas_limit;         /* prefer to the chain's LimitDefault */
        /* When the attempt must end: the earliest of the run's
         * MaxRunDuration, the task's timeout and the job's maxTaskDuration
         * (monotonic; LK_USEC_INFINITY for none). */
        lk_usec deadline;
        bool timeout_set;           /* the task has a `timeout` attribute (even 0s) */
} lk_task_call;

typedef struct lk_task_result {
        lk_value *value; /* the output (owned), or NULL on error */
        lk_err err;      /* the error, when value is NULL */
        bool retryable;  /* worth another attempt (HTTP 5xx, transport errors) */
        bool pending;    /* no result yet: an async bridge will answer through resume */
} lk_task_result;

typedef void (*lk_task_fn)(const lk_task_call *call, lk_task_result *result);

/* An asynchronous task's handle on its attempt; see lk_task_finish. */
typedef struct lk_task_attempt lk_task_attempt;
/* Starts the task.  It must eventually call lk_task_finish(attempt, ...)
 * exactly once, from any thread (possibly before start returns); call
 * stays valid until then. */
typedef void (*lk_task_start_fn)(const lk_task_call *call, lk_task_attempt *attempt);
/* Hands the result over (takes result->value). */
void lk_task_finish(lk_task_attempt *attempt, lk_task_result *result);
/* Registers an HTTP request id the runner cancels if the run is aborted
 * (failEarly, shutdown); 0 clears it. */
void lk_task_attempt_set_http(lk_task_attempt *attempt, uint64_t request_id);

typedef struct lk_task_type {
        const char *name;
        lk_task_fn run;         /* synchronous tasks */
        lk_task_start_fn start; /* asynchronous tasks */
} lk_task_type;

/* The task type named name (lower case), or NULL. */
const lk_task_type *lk_task_type_find(const char *name);

/* Helpers for task implementations. */
void lk_task_ok(lk_task_result *result, lk_value *value);               /* takes value */
int lk_task_fail(lk_task_result *result, int code, const char *fmt, ...) LK_PRINTF(3, 4);

#endif
