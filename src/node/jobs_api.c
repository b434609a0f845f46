/* The jobs API (see jobs_api.h), in Chainlink's JSON:API shapes:
 *
 *   POST   /v2/jobs                    {"toml": "..."}          edit
 *   GET    /v2/jobs?page=&size=                                 view
 *   GET    /v2/jobs/:id                                         view
 *   DELETE /v2/jobs/:id                                         edit
 *   POST   /v2/jobs/:externalJobID/runs   (webhook jobs)        run, or a listed external initiator
 *   GET    /v2/jobs/:id/runs?page=&size=                        view
 *   GET    /v2/jobs/:id/runs/:runID                             view
 *   GET    /v2/pipeline/runs[?jobID=][&page=&size=], /:runID     view
 *   DELETE /v2/job_spec_errors/:id                              edit */
#include "jobs_api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "linkd/alloc.h"
#include "linkd/auth.h"
#include "linkd/bridges.h"
#include "linkd/cron.h"
#include "linkd/jobs.h"

#define NEXT_FIRE_TIMES 5

struct lk__jobs_api {
        lk_store *store;
        lk_spawner *spawner;
        const lk_config *cfg;
};

/* ---- small helpers ---- */

/* A positive decimal id, or 0. */
static int64_t parse_id(const char *s, size_t len) {
        if (len == 0 || len > 18)
                return 0;
        int64_t v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return 0;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

static bool has_role(const lk_web_request *request, lk_web_response *response, lk_role role) {
        if (request->caller->role == LK_WEB_PUBLIC) {
                lk_web_response_error(response, 401, "Unauthorized");
                return false;
        }
        if (request->caller->role < (int)role) {
                lk_web_response_error(response, 403, "Forbidden");
                return false;
        }
        return true;
}

/* ---- job documents ---- */

typedef struct errors_out {
        lk_buf *out;
        bool first;
} errors_out;

static void put_error(void *arg, int64_t id, const char *description, int64_t occurrences, lk_usec created_at,
                      lk_usec updated_at) {
        errors_out *e = arg;
        lk_buf_printf(e->out, "%s{\"id\":%" PRId64 ",\"description\":", e->first ? "" : ",", id);
        e->first = false;
        lk_buf_put_json_string(e->out, description);
        lk_buf_printf(e->out, ",\"occurrences\":%" PRId64 ",\"createdAt\":", occurrences);
        lk__api_put_time(e->out, created_at);
        lk_buf_puts(e->out, ",\"updatedAt\":");
        lk__api_put_time(e->out, updated_at);
        lk_buf_putc(e->out, '}');
}

/* The cron job's next fire times, which `linkd jobs show` prints. */
static void put_cron_spec(lk_buf *out, const char *schedule) {
        lk_buf_puts(out, ",\"cronSpec\":{\"schedule\":");
        lk_buf_put_json_string(out, schedule);
        lk_buf_puts(out, ",\"nextFireTimes\":[");
        lk_cron *c = NULL;
        if (lk_cron_parse(schedule, &c, NULL) == 0) {
                int64_t t = lk_now_realtime() / LK_USEC_PER_SEC;
                for (int i = 0; i < NEXT_FIRE_TIMES && (t = lk_cron_next(c, t)) != LK_CRON_NONE; i++) {
                        lk_buf_puts(out, i ? "," : "");
                        lk__api_put_time(out, t * LK_USEC_PER_SEC);
                }
        }
        lk_cron_free(c);
        lk_buf_puts(out, "]}");
}

static void put_job(lk__jobs_api *api, lk_buf *out, const lk_job_row *row, bool full) {
        lk_buf_printf(out, "{\"type\":\"jobs\",\"id\":\"%" PRId64 "\",\"attributes\":{\"name\":", row->id);
        lk_buf_put_json_string(out, row->name);
        lk_buf_puts(out, ",\"type\":");
        lk_buf_put_json_string(out, row->type);
        lk_buf_printf(out, ",\"schemaVersion\":%" PRId64 ",\"externalJobID\":", row->schema_version);
        lk_buf_put_json_string(out, row->external_job_id);
        lk_buf_printf(out, ",\"maxTaskDuration\":%" PRId64 ",\"errorCount\":%" PRId64 ",\"createdAt\":",
                      row->max_task_duration / LK_USEC_PER_MSEC, row->error_count);
        lk__api_put_time(out, row->created_at);
        lk_buf_printf(out, ",\"pipelineSpec\":{\"id\":%" PRId64 ",\"dotDagSource\":", row->pipeline_spec_id);
        lk_buf_put_json_string(out, row->observation_source);
        lk_buf_putc(out, '}');
        if (full) {
                char *schedule = lk_spawner_schedule(api->spawner, row->id);
                if (schedule)
                        put_cron_spec(out, schedule);
                lk_free(schedule);
                lk_buf_puts(out, ",\"toml\":");
                lk_buf_put_json_string(out, row->toml);
                lk_buf_puts(out, ",\"errors\":[");
                errors_out e = {out, true};
                lk_err err = LK_ERR_INIT;
                lk_job_error_list(api->store, row->id, put_error, &e, &err);
                lk_buf_putc(out, ']');
        }
        lk_buf_puts(out, "}}");
}

/* ---- /v2/jobs ---- */

static void create_job(lk__jobs_api *api, const lk_web_request *request, lk_web_response *response) {
        if (!has_role(request, response, LK_ROLE_EDIT))
                return;
        lk_value *body = NULL;
        lk_err err = LK_ERR_INIT;
        const lk_value *toml = NULL;
        if (lk_value_from_json(request->body, request->body_len, &body, &err) < 0 ||
            lk_value_type_of(body) != LK_VALUE_MAP || lk_value_map_len(body) != 1 ||
            !(toml = lk_value_map_get(body, "toml", 4)) || lk_value_type_of(toml) != LK_VALUE_STRING) {
                lk_web_response_error(response, 422, "invalid JSON body: expected {\"toml\": \"<job spec>\"}%s%s",
                                      err.msg[0] ? ": " : "", err.msg);
                lk_value_unref(body);
                return;
        }
        size_t len;
        const char *text = lk_value_get_string(toml, &len);
        lk_job_errors errors = LK_JOB_ERRORS_INIT;
        int64_t id = 0;
        int r = lk_spawner_create(api->spawner, text, len, &id, &errors, &err);
        lk_value_unref(body);
        if (r == -EINVAL && errors.count > 0) {
                response->status = 422;
                lk_buf_puts(&response->body, "{\"errors\":[");
                for (size_t i = 0; i < errors.count; i++) {
                        lk_buf_puts(&response->body, i ? ",{\"detail\":" : "{\"detail\":");
                        char line[600];
                        if (errors.items[i].line)
                                snprintf(line, sizeof line, "line %u: %s", errors.items[i].line, errors.items[i].message);
                        else
                                snprintf(line, sizeof line, "%s", errors.items[i].message);
                        lk_buf_put_json_string(&response->body, line);
                        lk_buf_printf(&response->body, ",\"line\":%u}", errors.items[i].line);
                }
                lk_buf_puts(&response->body, "]}");
        } else if (r < 0) {
                lk_web_response_error(response, r == -EEXIST ? 409 : r == -EINVAL ? 422 : 500, "%s", err.msg);
        } else {
                lk_job_row row;
                if (lk_jobs_get(api->store, id, &row, &err) < 0) {
                        lk_web_response_error(response, 500, "%s", err.msg);
                } else {
                        lk_buf_puts(&response->body, "{\"data\":");
                        put_job(api, &response->body, &row, true);
                        lk_buf_putc(&response->body, '}');
                        lk_job_row_done(&row);
                }
        }
        lk_job_errors_done(&errors);
}

static void list_jobs(lk__jobs_api *api, const lk_web_request *request, lk_web_response *response) {
        lk__api_page pg;
        if (!lk__api_page_read(request, &pg, response))
                return;
        lk_job_row *rows = NULL;
        size_t count = 0;
        int64_t total = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_jobs_list(api->store, (pg.number - 1) * pg.size, pg.size, &rows, &count, &total, &err) < 0) {
                lk_web_response_error(response, 500, "%s", err.msg);
                return;
        }
        lk__api_page_start(&response->body, request->path, NULL, &pg, total);
        for (size_t i = 0; i < count; i++) {
                lk_buf_puts(&response->body, i ? "," : "");
                put_job(api, &response->body, &rows[i], false);
        }
        lk__api_page_end(&response->body, total);
        lk_job_rows_free(rows, count);
}

static void show_job(lk__jobs_api *api, int64_t id, lk_web_response *response) {
        lk_job_row row;
        lk_err err = LK_ERR_INIT;
        if (lk_jobs_get(api->store, id, &row, &err) < 0) {
                lk_web_response_error(response, err.code == -ENOENT ? 404 : 500, "%s", err.msg);
                return;
        }
        lk_buf_puts(&response->body, "{\"data\":");
        put_job(api, &response->body, &row, true);
        lk_buf_putc(&response->body, '}');
        lk_job_row_done(&row);
}

/* ---- runs ---- */

static void put_json_column(lk_buf *out, lk_stmt *st, int column) {
        if (lk_stmt_is_null(st, column)) {
                lk_buf_puts(out, "null");
                return;
        }
        size_t len;
        const char *text = lk_stmt_text(st, column, &len);
        lk_buf_append(out, text, len);
}

static void put_time_column(lk_buf *out, lk_stmt *st, int column) {
        if (lk_stmt_is_null(st, column))
                lk_buf_puts(out, "null");
        else
                lk__api_put_time(out, lk_stmt_time(st, column));
}

typedef struct runs_args {
        int64_t job_id, run_id; /* run_id 0: a page of runs */
        lk__api_page pg;
        lk_buf *out;
        int64_t total;
        bool found;
} runs_args;

static int put_task_runs(lk_db *db, int64_t run_id, lk_buf *out, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT dot_id, type, output, error, created_at, finished_at, id"
                                  " FROM pipeline_task_runs WHERE pipeline_run_id = $1 ORDER BY \"index\", dot_id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, run_id);
        lk_buf_puts(out, ",\"taskRuns\":[");
        for (bool first = true; (r = lk_stmt_step(st, err)) == 1; first = false) {
                lk_buf_puts(out, first ? "{\"dotId\":" : ",{\"dotId\":");
                lk_buf_put_json_string(out, lk_stmt_text(st, 0, NULL));
                lk_buf_puts(out, ",\"type\":");
                lk_buf_put_json_string(out, lk_stmt_text(st, 1, NULL));
                lk_buf_puts(out, ",\"output\":");
                put_json_column(out, st, 2);
                lk_buf_puts(out, ",\"error\":");
                lk_buf_put_json_string(out, lk_stmt_is_null(st, 3) ? NULL : lk_stmt_text(st, 3, NULL));
                lk_buf_puts(out, ",\"createdAt\":");
                put_time_column(out, st, 4);
                lk_buf_puts(out, ",\"finishedAt\":");
                put_time_column(out, st, 5);
                lk_buf_puts(out, ",\"id\":");
                lk_buf_put_json_string(out, lk_stmt_text(st, 6, NULL));
                lk_buf_putc(out, '}');
        }
        lk_stmt_done(st);
        lk_buf_putc(out, ']');
        return r;
}

static int runs_body(lk_db *db, void *arg, lk_err *err) {
        runs_args *a = arg;
        lk_buf_reset(a->out);
        a->found = false;
        lk_stmt *st;
        /* $1 = 0: the runs of every job. */
        const char *sql = a->run_id
                ? "SELECT r.id, r.state, r.outputs, r.all_errors, r.fatal_errors, r.inputs, r.created_at,"
                  " r.finished_at, j.id FROM pipeline_runs r JOIN jobs j ON j.pipeline_spec_id = r.pipeline_spec_id"
                  " WHERE ($1::bigint = 0 OR j.id = $1::bigint) AND r.id = $2"
                : "SELECT r.id, r.state, r.outputs, r.all_errors, r.fatal_errors, r.inputs, r.created_at,"
                  " r.finished_at, j.id, COUNT(*) OVER () FROM pipeline_runs r JOIN jobs j"
                  " ON j.pipeline_spec_id = r.pipeline_spec_id WHERE ($1::bigint = 0 OR j.id = $1::bigint)"
                  " ORDER BY r.id DESC LIMIT $2 OFFSET $3";
        int r = lk_db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->job_id);
        if (a->run_id) {
                lk_stmt_bind_int64(st, 2, a->run_id);
        } else {
                lk_stmt_bind_int64(st, 2, a->pg.size);
                lk_stmt_bind_int64(st, 3, (a->pg.number - 1) * a->pg.size);
        }
        for (size_t n = 0; (r = lk_stmt_step(st, err)) == 1; n++) {
                a->found = true;
                if (!a->run_id)
                        a->total = lk_stmt_int64(st, 9);
                lk_buf_printf(a->out, "%s{\"type\":\"pipelineRun\",\"id\":\"%" PRId64 "\",\"attributes\":{\"state\":",
                              n ? "," : "", lk_stmt_int64(st, 0));
                lk_buf_put_json_string(a->out, lk_stmt_text(st, 1, NULL));
                const char *names[] = {"outputs", "allErrors", "fatalErrors", "inputs"};
                for (int c = 0; c < 4; c++) {
                        lk_buf_printf(a->out, ",\"%s\":", names[c]);
                        put_json_column(a->out, st, 2 + c);
                }
                lk_buf_puts(a->out, ",\"createdAt\":");
                put_time_column(a->out, st, 6);
                lk_buf_puts(a->out, ",\"finishedAt\":");
                put_time_column(a->out, st, 7);
                lk_buf_printf(a->out, ",\"jobID\":\"%" PRId64 "\"", lk_stmt_int64(st, 8));
                if (a->run_id)
                        break;
                lk_buf_puts(a->out, "}}");
        }
        lk_stmt_done(st);
        if (r < 0)
                return r;
        if (a->run_id && a->found) {
                r = put_task_runs(db, a->run_id, a->out, err);
                lk_buf_puts(a->out, "}}");
        }
        return r < 0 ? r : 0;
}

/* extra_query: what the page links keep of the request's query. */
static void show_runs(lk__jobs_api *api, const lk_web_request *request, int64_t job_id, int64_t run_id,
                      const char *extra_query, lk_web_response *response) {
        runs_args a = {.job_id = job_id, .run_id = run_id, .out = &(lk_buf)LK_BUF_INIT};
        if (!run_id && !lk__api_page_read(request, &a.pg, response))
                return;
        lk_err err = LK_ERR_INIT;
        int r = lk_store_read(api->store, runs_body, &a, &err);
        if (r < 0)
                lk_web_response_error(response, 500, "%s", err.msg);
        else if (run_id && !a.found)
                lk_web_response_error(response, 404, "run %" PRId64 " not found", run_id);
        else if (run_id)
                lk_buf_printf(&response->body, "{\"data\":%s}", lk_buf_str(a.out));
        else {
                lk__api_page_start(&response->body, request->path, extra_query, &a.pg, a.total);
                lk_buf_puts(&response->body, lk_buf_str(a.out));
                lk__api_page_end(&response->body, a.total);
        }
        lk_buf_done(a.out);
}

/* On a runner thread: the finished run as the webhook request's answer. */
static void answer_run(void *arg, lk_run *run) {
        lk_web_deferred *deferred = arg;
        lk_web_response *response = lk_web_deferred_response(deferred);
        lk_buf_printf(&response->body, "{\"data\":{\"type\":\"pipelineRun\",\"id\":\"%" PRId64 "\",\"attributes\":",
                      lk_run_id(run));
        lk_run_to_json(run, &response->body);
        lk_buf_puts(&response->body, "}}");
        lk_web_deferred_send(deferred);
}

/* A webhook run, by a user with the run role or by a listed external
 * initiator, answered with the finished run. */
static void run_webhook(lk__jobs_api *api, const lk_web_request *request, const char *external_id,
                        lk_web_response *response) {
        int64_t job_id = 0;
        lk_err err = LK_ERR_INIT;
        const char *key = lk_web_request_header(request, "X-Chainlink-EA-AccessKey");
        const char *secret = lk_web_request_header(request, "X-Chainlink-EA-Secret");
        /* Nobody learns whether a job exists without credentials. */
        if (request->caller->role == LK_WEB_PUBLIC && !(key && secret)) {
                lk_web_response_error(response, 401, "Unauthorized");
                return;
        }
        if (lk_jobs_find_external(api->store, external_id, &job_id, &err) < 0) {
                lk_web_response_error(response, err.code == -ENOENT ? 404 : 500, "%s",
                                      err.code == -ENOENT ? "job does not exist" : err.msg);
                return;
        }
        if (request->caller->role == LK_WEB_PUBLIC && key && secret && api->cfg->job_pipeline.external_initiators_enabled) {
                char *name = NULL;
                if (lk_external_initiator_authenticate(api->store, key, secret, &name, &err) < 0) {
                        lk_web_response_error(response, 401, "Unauthorized");
                        return;
                }
                bool allowed = lk_spawner_initiator_allowed(api->spawner, job_id, name);
                if (!allowed)
                        lk_web_response_error(response, 401, "external initiator %s is not allowed to run job %s",
                                              name, external_id);
                lk_free(name);
                if (!allowed)
                        return;
        } else if (!has_role(request, response, LK_ROLE_RUN)) {
                return;
        }
        /* The run goes on without this thread; its done callback answers. */
        lk_web_deferred *deferred = lk_web_defer(request);
        if (lk_spawner_start_webhook(api->spawner, job_id, request->body, request->body_len, NULL, answer_run,
                                     deferred, &err) < 0) {
                int r = err.code;
                lk_web_response_error(lk_web_deferred_response(deferred), r == -ENOENT ? 404 : r == -EINVAL ? 422 : 500,
                                      "%s", err.msg);
                lk_web_deferred_send(deferred);
        }
}

/* ---- routing ---- */

/* "/<id>[/runs[/<runID>]]" after the prefix. */
typedef struct job_path {
        const char *first; /* the id (or external id) */
        size_t first_len;
        bool runs;
        int64_t run_id;
        bool valid;
} job_path;

static job_path split_path(const char *tail) {
        job_path p = {0};
        if (*tail != '/')
                return p;
        p.first = tail + 1;
        p.first_len = strcspn(p.first, "/");
        const char *rest = p.first + p.first_len;
        if (*rest == '\0') {
                p.valid = p.first_len > 0;
        } else if (strncmp(rest, "/runs", 5) == 0 && (rest[5] == '\0' || rest[5] == '/')) {
                p.runs = true;
                if (rest[5] == '/')
                        p.run_id = parse_id(rest + 6, strlen(rest + 6));
                p.valid = p.first_len > 0 && (rest[5] == '\0' || p.run_id > 0);
        }
        return p;
}

static void serve_post(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__jobs_api *api = arg;
        if (*request->tail == '\0') {
                create_job(api, request, response);
                return;
        }
        job_path p = split_path(request->tail);
        if (!p.valid || !p.runs || p.run_id) {
                lk_web_response_error(response, 404, "not found");
                return;
        }
        char external[64];
        snprintf(external, sizeof external, "%.*s", (int)(p.first_len < 63 ? p.first_len : 63), p.first);
        run_webhook(api, request, external, response);
}

static void serve_get(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__jobs_api *api = arg;
        if (*request->tail == '\0') {
                list_jobs(api, request, response);
                return;
        }
        job_path p = split_path(request->tail);
        int64_t id = p.valid ? parse_id(p.first, p.first_len) : 0;
        if (!id)
                lk_web_response_error(response, 404, "not found");
        else if (p.runs)
                show_runs(api, request, id, p.run_id, NULL, response);
        else
                show_job(api, id, response);
}

/* /v2/pipeline/runs[?jobID=N] and /v2/pipeline/runs/:id: runs of any job. */
static void serve_pipeline_runs(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__jobs_api *api = arg;
        const char *job = lk_web_request_query(request, "jobID");
        int64_t job_id = job ? parse_id(job, strlen(job)) : 0;
        int64_t run_id = *request->tail == '/' ? parse_id(request->tail + 1, strlen(request->tail + 1)) : 0;
        char extra_query[40];
        snprintf(extra_query, sizeof extra_query, "jobID=%" PRId64, job_id);
        if ((*request->tail && !run_id) || (job && !job_id))
                lk_web_response_error(response, 404, "not found");
        else
                show_runs(api, request, job_id, run_id, job ? extra_query : NULL, response);
}

static void serve_delete(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__jobs_api *api = arg;
        job_path p = split_path(request->tail);
        int64_t id = p.valid && !p.runs ? parse_id(p.first, p.first_len) : 0;
        lk_err err = LK_ERR_INIT;
        if (!id)
                lk_web_response_error(response, 404, "not found");
        else if (lk_spawner_delete(api->spawner, id, &err) < 0)
                lk_web_response_error(response, err.code == -ENOENT ? 404 : 500, "%s", err.msg);
        else
                response->status = 204;
}

static void serve_dismiss_error(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__jobs_api *api = arg;
        int64_t id = *request->tail == '/' ? parse_id(request->tail + 1, strlen(request->tail + 1)) : 0;
        lk_err err = LK_ERR_INIT;
        if (!id)
                lk_web_response_error(response, 404, "not found");
        else if (lk_job_error_dismiss(api->store, id, &err) < 0)
                lk_web_response_error(response, err.code == -ENOENT ? 404 : 500, "%s", err.msg);
        else
                response->status = 204;
}

lk__jobs_api *lk__jobs_api_new(lk_web *web, lk_store *store, lk_spawner *spawner, const lk_config *cfg) {
        lk__jobs_api *api = lk_calloc(1, sizeof *api);
        *api = (lk__jobs_api){store, spawner, cfg};
        /* POST is public at the door: creating needs edit, a webhook run
         * needs run or an external initiator's headers; serve_post checks. */
        lk_web_route(web, "POST", "/v2/jobs", LK_WEB_PUBLIC, serve_post, api);
        lk_web_route(web, "GET", "/v2/jobs", LK_ROLE_VIEW, serve_get, api);
        lk_web_route(web, "DELETE", "/v2/jobs", LK_ROLE_EDIT, serve_delete, api);
        lk_web_route(web, "DELETE", "/v2/job_spec_errors", LK_ROLE_EDIT, serve_dismiss_error, api);
        lk_web_route(web, "GET", "/v2/pipeline/runs", LK_ROLE_VIEW, serve_pipeline_runs, api);
        return api;
}

lk__jobs_api *lk__jobs_api_free(lk__jobs_api *api) {
        lk_free(api);
        return NULL;
}
