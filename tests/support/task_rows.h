/* The pipeline task tests' harness: tasks called directly, row by row,
 * and whole pipelines through the real runner.
 *
 * Direct rows: a one-node DOT (the task named "t", else the first one),
 * the run's vars (a JSON object), the task's inputs (a JSON array), and
 * either the output (compared as lk_value_to_json text) or the exact error
 * text (a trailing '*' makes it a prefix).  Values JSON cannot express are
 * written as one-key objects: {"$bytes":"0a0b"}, {"$decimal":"1.50"}, and,
 * in inputs and vars, {"$error":"message"} for a failed parent.
 *
 * Every mismatching row of a test is printed (row line, DOT, both sides)
 * before the test fails, so one run shows all of a task's differences. */
#ifndef LKTEST_TASK_ROWS_H
#define LKTEST_TASK_ROWS_H

#include "lktest.h"

#include <stdbool.h>
#include <stddef.h>

#include "linkd/pipeline.h"
#include "linkd/value.h"

/* JSON with the markers replaced by the values they stand for. */
lk_value *lktest_decode_marked(const char *text);

typedef struct lktest_task_row {
        int line;
        const char *dot;
        const char *vars;   /* JSON object, NULL = {} */
        const char *inputs; /* JSON array, NULL = none */
        const char *want;   /* the output as JSON, or NULL */
        const char *err;    /* the exact error, or a prefix ending in '*' */
        const char *type;   /* optional: the output's Go type name */
} lktest_task_row;

#define R(...) {.line = __LINE__, __VA_ARGS__}

/* The group setup and teardown of a test using the rows: the config the
 * tasks see. */
int lktest_task_rows_setup(void **state);
int lktest_task_rows_teardown(void **state);

typedef struct lktest_call_result {
        char *json;  /* the output as JSON, or NULL */
        char *error; /* or the error */
        const char *type_name;
        lk_value *value;
} lktest_call_result;

/* Parses dot, calls its task "t" (or the first) with vars and inputs.
 * -1 with *ret_problem (lk_free it) when the call could not be made. */
int lktest_call_task(const char *dot, const char *vars_json, const char *inputs_json, lktest_call_result *ret,
                     char **ret_problem);
void lktest_call_result_done(lktest_call_result *c);

/* Runs every row; prints each mismatch; returns how many rows failed. */
int lktest_run_rows(const lktest_task_row *rows, size_t count);

#define RUN_ROWS(rows)                                                                                             \
        do {                                                                                                       \
                int failures_ = lktest_run_rows(rows, sizeof(rows) / sizeof((rows)[0]));                          \
                if (failures_)                                                                                     \
                        fail_msg("%d of %zu rows differ (listed above)", failures_,                                \
                                 sizeof(rows) / sizeof((rows)[0]));                                                \
        } while (0)

typedef struct lktest_pipeline_result {
        lk_run_state state;
        char *json;
} lktest_pipeline_result;

/* Runs dot once with vars (JSON with markers, may be NULL) through a real
 * runner; the run as lk_run_to_json (lk_free ret->json). */
void lktest_run_pipeline(const char *dot, const char *vars_json, lktest_pipeline_result *ret);
/* Compares one field; prints both sides when they differ. */
bool lktest_same(const char *what, const char *want, const char *got);
/* The whole run's JSON and state. */
void lktest_assert_run(const char *dot, const char *vars, const char *want_state, const char *want_json);
/* The run's outputs and fatal errors (as JSON) and state. */
void lktest_assert_outputs(const char *dot, const char *vars, const char *want_state, const char *want_outputs,
                           const char *want_fatal);

#endif
