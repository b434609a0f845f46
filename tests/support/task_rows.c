/* The pipeline task tests' harness (see task_rows.h). */
#include "task_rows.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/config.h"
#include "linkd/decimal.h"
#include "linkd/service.h"
#include "pipeline/graph.h"
#include "pipeline/task.h"

/* ---- values with markers ---- */

static lk_value *decode_json(const char *text) {
        lk_value *v = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_value_from_json(text, strlen(text), &v, &err) < 0)
                fail_msg("bad JSON in a test row: %s: %s", text, err.msg);
        return v;
}

static int hex_nibble(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char)tolower((unsigned char)c);
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* v (borrowed) with the {"$bytes"|"$decimal"|"$error": ...} markers
 * replaced; a new reference. */
static lk_value *unmark(lk_value *v) {
        if (lk_value_type_of(v) == LK_VALUE_ARRAY) {
                lk_value *out = lk_value_array();
                for (size_t i = 0; i < lk_value_array_len(v); i++)
                        lk_value_array_append(out, unmark(lk_value_array_at(v, i)));
                return out;
        }
        if (lk_value_type_of(v) != LK_VALUE_MAP)
                return lk_value_ref(v);
        const char *key;
        size_t key_len;
        if (lk_value_map_len(v) == 1) {
                lk_value *item = lk_value_map_at(v, 0, &key, &key_len);
                const char *s = lk_value_type_of(item) == LK_VALUE_STRING ? lk_value_get_string(item, NULL) : NULL;
                if (s && strcmp(key, "$bytes") == 0) {
                        size_t n = strlen(s) / 2;
                        unsigned char *raw = lk_malloc(n + 1);
                        for (size_t i = 0; i < n; i++) {
                                int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);
                                if (hi < 0 || lo < 0 || strlen(s) % 2)
                                        fail_msg("bad $bytes marker: %s", s);
                                raw[i] = (unsigned char)(hi << 4 | lo);
                        }
                        lk_value *out = lk_value_bytes(raw, n);
                        lk_free(raw);
                        return out;
                }
                if (s && strcmp(key, "$decimal") == 0) {
                        lk_decimal d;
                        lk_decimal_init(&d);
                        if (lk_decimal_parse(&d, s, NULL) < 0)
                                fail_msg("bad $decimal marker: %s", s);
                        lk_value *out = lk_value_decimal(&d);
                        lk_decimal_clear(&d);
                        return out;
                }
                if (s && strcmp(key, "$error") == 0)
                        return lk_value_error(s);
        }
        lk_value *out = lk_value_map();
        for (size_t i = 0; i < lk_value_map_len(v); i++) {
                lk_value *item = lk_value_map_at(v, i, &key, &key_len);
                lk_value_map_put(out, key, key_len, unmark(item));
        }
        return out;
}

lk_value *lktest_decode_marked(const char *text) {
        lk_value *raw = decode_json(text);
        lk_value *v = unmark(raw);
        lk_value_unref(raw);
        return v;
}

static char *to_json(const lk_value *v) {
        lk_buf b = LK_BUF_INIT;
        lk_value_to_json(v, &b);
        return lk_buf_steal(&b, NULL);
}

/* ---- direct task calls ---- */

static lk_config test_config;

int lktest_task_rows_setup(void **state) {
        (void)state;
        lk_config_init(&test_config);
        return 0;
}

int lktest_task_rows_teardown(void **state) {
        (void)state;
        lk_config_done(&test_config);
        return 0;
}

void lktest_call_result_done(lktest_call_result *c) {
        lk_free(c->json);
        lk_free(c->error);
        lk_value_unref(c->value);
}

/* Parses dot, calls its task "t" (or the first) with vars and inputs. */
int lktest_call_task(const char *dot, const char *vars_json, const char *inputs_json, lktest_call_result *ret,
                     char **ret_problem) {
        *ret = (lktest_call_result){0};
        *ret_problem = NULL;
        lk_graph *g = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_graph_parse(dot, strlen(dot), &g, &err) < 0) {
                lk_buf b = LK_BUF_INIT;
                lk_buf_printf(&b, "DOT does not parse: %s", err.msg);
                *ret_problem = lk_buf_steal(&b, NULL);
                return -1;
        }
        const lk_graph_task *task = &g->tasks[0];
        for (size_t i = 0; i < g->task_count; i++)
                if (strcmp(g->tasks[i].dot_id, "t") == 0)
                        task = &g->tasks[i];
        const lk_task_type *type = lk_task_type_find(task->type);
        if (!type || !type->run) {
                lk_buf b = LK_BUF_INIT;
                lk_buf_printf(&b, "no synchronous task type \"%s\"", task->type);
                *ret_problem = lk_buf_steal(&b, NULL);
                lk_graph_free(g);
                return -1;
        }
        lk_value *vars = vars_json ? lktest_decode_marked(vars_json) : lk_value_map();
        lk_value *inputs = inputs_json ? lktest_decode_marked(inputs_json) : lk_value_array();
        size_t n = lk_value_array_len(inputs);
        lk_task_input *in = lk_calloc(n ? n : 1, sizeof *in);
        for (size_t i = 0; i < n; i++) {
                lk_value *item = lk_value_array_at(inputs, i);
                if (lk_value_type_of(item) == LK_VALUE_ERROR)
                        in[i].error = lk_value_get_error(item);
                else
                        in[i].value = item;
        }
        lk_task_env env = {.config = &test_config};
        lk_task_call call = {
                .spec = task,
                .vars = vars,
                .inputs = in,
                .input_count = n,
                .env = &env,
                .task_run_id = "00000000-0000-4000-8000-000000000001",
                .deadline = LK_USEC_INFINITY,
        };
        lk_task_result result = {0};
        type->run(&call, &result);
        int r = 0;
        if (result.value && lk_err_is_set(&result.err)) {
                lk_buf b = LK_BUF_INIT;
                lk_buf_printf(&b, "both an output and an error (%s)", result.err.msg);
                *ret_problem = lk_buf_steal(&b, NULL);
                lk_value_unref(result.value);
                r = -1;
        } else if (lk_err_is_set(&result.err)) {
                ret->error = lk_strdup(result.err.msg);
        } else {
                /* As the runner does: a task that returned nothing returned nil. */
                ret->value = result.value ? result.value : lk_value_null();
                ret->json = to_json(ret->value);
                ret->type_name = lk_value_type_name(ret->value);
        }
        lk_free(in);
        lk_value_unref(inputs);
        lk_value_unref(vars);
        lk_graph_free(g);
        return r;
}

static bool error_matches(const char *want, const char *got) {
        size_t n = strlen(want);
        if (n > 0 && want[n - 1] == '*')
                return strncmp(want, got, n - 1) == 0;
        return strcmp(want, got) == 0;
}

/* Runs every row; prints each mismatch; returns how many rows failed. */
int lktest_run_rows(const lktest_task_row *rows, size_t count) {
        int failures = 0;
        for (size_t i = 0; i < count; i++) {
                const lktest_task_row *r = &rows[i];
                if ((r->want == NULL) == (r->err == NULL))
                        fail_msg("row at line %d must give exactly one of want and err", r->line);
                lktest_call_result c;
                char *problem = NULL;
                bool ok;
                if (lktest_call_task(r->dot, r->vars, r->inputs, &c, &problem) < 0) {
                        ok = false;
                } else if (r->want) {
                        ok = c.json && strcmp(c.json, r->want) == 0 &&
                             (!r->type || strcmp(c.type_name, r->type) == 0);
                } else {
                        ok = c.error && error_matches(r->err, c.error);
                }
                if (!ok) {
                        failures++;
                        printf("# row at line %d: %s\n", r->line, r->dot);
                        if (r->vars)
                                printf("#   vars:   %s\n", r->vars);
                        if (r->inputs)
                                printf("#   inputs: %s\n", r->inputs);
                        if (r->want)
                                printf("#   want output %s%s%s\n", r->want, r->type ? " of type " : "",
                                       r->type ? r->type : "");
                        else
                                printf("#   want error  \"%s\"\n", r->err);
                        if (problem)
                                printf("#   got: %s\n", problem);
                        else if (c.json)
                                printf("#   got output  %s of type %s\n", c.json, c.type_name);
                        else
                                printf("#   got error   \"%s\"\n", c.error);
                }
                lk_free(problem);
                lktest_call_result_done(&c);
        }
        fflush(stdout);
        return failures;
}

/* ---- whole pipelines through the runner ---- */

/* Runs dot once with vars (JSON, may be NULL); the run as lk_run_to_json. */
void lktest_run_pipeline(const char *dot, const char *vars_json, lktest_pipeline_result *ret) {
        lk_config cfg;
        lk_config_init(&cfg);
        lk_err err = LK_ERR_INIT;
        lk_runner *runner = NULL;
        if (lk_runner_new(&(lk_runner_options){.config = &cfg, .workers = 2}, &runner, &err) < 0)
                fail_msg("lk_runner_new: %s", err.msg);
        if (lk_service_start(lk_runner_service(runner), NULL, &err) < 0)
                fail_msg("start: %s", err.msg);
        lk_pipeline_spec *spec = NULL;
        if (lk_pipeline_spec_new(&(lk_pipeline_spec_options){.source = dot, .source_len = SIZE_MAX}, &spec, &err) < 0)
                fail_msg("spec: %s: %s", dot, err.msg);
        lk_value *vars = vars_json ? lktest_decode_marked(vars_json) : NULL;
        lk_run *run = NULL;
        if (lk_runner_run(runner, &(lk_run_request){.spec = spec, .vars = vars}, &run, &err) < 0)
                fail_msg("run: %s", err.msg);
        lk_buf out = LK_BUF_INIT;
        lk_run_to_json(run, &out);
        ret->json = lk_buf_steal(&out, NULL);
        ret->state = lk_run_state_of(run);
        lk_run_unref(run);
        lk_value_unref(vars);
        lk_pipeline_spec_unref(spec);
        assert_int_equal(lk_service_close(lk_runner_service(runner), &err), 0);
        lk_runner_free(runner);
        lk_config_done(&cfg);
}

/* Compares one field; prints both sides when they differ. */
bool lktest_same(const char *what, const char *want, const char *got) {
        if (strcmp(want, got) == 0)
                return true;
        printf("# %s differs\n#   want: %s\n#   got:  %s\n", what, want, got);
        return false;
}

/* Everything is freed before a failure is reported: cmocka leaves the
 * test through longjmp. */
void lktest_assert_run(const char *dot, const char *vars, const char *want_state, const char *want_json) {
        lktest_pipeline_result p;
        lktest_run_pipeline(dot, vars, &p);
        bool ok = lktest_same("run", want_json, p.json);
        ok &= lktest_same("state", want_state, lk_run_state_name(p.state));
        if (!ok)
                printf("# pipeline:\n%s\n", dot);
        lk_free(p.json);
        if (!ok)
                fail_msg("the run differs (above)");
}

/* A field of a run's JSON, between "field": and ,"next": (lk_free it). */
static char *run_field(const char *json, const char *field, const char *next) {
        char start[64], end[64];
        snprintf(start, sizeof start, "\"%s\":", field);
        snprintf(end, sizeof end, ",\"%s\":", next);
        const char *a = strstr(json, start), *b = a ? strstr(a, end) : NULL;
        if (!a || !b)
                return lk_strdup("(missing)");
        a += strlen(start);
        return lk_strndup(a, (size_t)(b - a));
}

void lktest_assert_outputs(const char *dot, const char *vars, const char *want_state, const char *want_outputs,
                           const char *want_fatal) {
        lktest_pipeline_result p;
        lktest_run_pipeline(dot, vars, &p);
        char *outputs = run_field(p.json, "outputs", "fatalErrors");
        char *fatal = run_field(p.json, "fatalErrors", "allErrors");
        bool ok = lktest_same("outputs", want_outputs, outputs);
        ok &= lktest_same("fatalErrors", want_fatal, fatal);
        ok &= lktest_same("state", want_state, lk_run_state_name(p.state));
        if (!ok)
                printf("# pipeline:\n%s\n# run: %s\n", dot, p.json);
        lk_free(outputs);
        lk_free(fatal);
        lk_free(p.json);
        if (!ok)
                fail_msg("the run differs (above)");
}

