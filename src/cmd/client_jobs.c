/* linkd jobs ... and linkd runs ...: jobs and their pipeline runs on a
 * running node, through /v2/jobs and /v2/pipeline/runs. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "linkd/alloc.h"
#include "linkd/file.h"

#define SPEC_MAX (1024 * 1024)
#define BODY_MAX (16 * 1024 * 1024)

static const char jobs_usage[] =
        "usage: linkd jobs create FILE|-|TOML\n"
        "       linkd jobs list [--page N] [--size N]\n"
        "       linkd jobs show ID\n"
        "       linkd jobs delete ID\n"
        "       linkd jobs run ID|EXTERNAL-JOB-ID [--body FILE]\n"
        "Every command takes --json (print the API's document) and\n"
        "--remote-node-url URL.  Exit status: 0 done, 1 the node refused or the run\n"
        "errored, 2 bad arguments or an invalid job spec.\n";

static const char runs_usage[] =
        "usage: linkd runs list [--job ID] [--page N] [--size N]\n"
        "       linkd runs show ID\n"
        "Every command takes --json (print the API's document) and\n"
        "--remote-node-url URL.\n";

/* Appends ?page=&size= (or &...) for the options given. */
static int page_query(lk_buf *path, const char *page, const char *size) {
        long long n;
        char sep = strchr(lk_buf_str(path), '?') ? '&' : '?';
        if (page) {
                if (lk__parse_positive("--page", page, &n) < 0)
                        return LK_EXIT_USAGE;
                lk_buf_printf(path, "%cpage=%lld", sep, n);
                sep = '&';
        }
        if (size) {
                if (lk__parse_positive("--size", size, &n) < 0)
                        return LK_EXIT_USAGE;
                lk_buf_printf(path, "%csize=%lld", sep, n);
        }
        return LK_EXIT_OK;
}

/* ---- jobs create ---- */

/* The spec: the argument itself when it holds a newline, else the file
 * it names ("-": standard input). */
static int read_spec(const char *arg, char **ret) {
        if (strchr(arg, '\n')) {
                *ret = lk_strdup(arg);
                return LK_EXIT_OK;
        }
        size_t len;
        lk_err err = LK_ERR_INIT;
        if (lk_file_read(arg, SPEC_MAX, ret, &len, &err) < 0) {
                fprintf(stderr, "linkd: must pass in TOML or filepath: %s\n", err.msg);
                return LK_EXIT_USAGE;
        }
        return LK_EXIT_OK;
}

/* The spec's problems, one a line, as the node found them. */
static void print_spec_errors(const lk__reply *reply) {
        const lk_value *errors = lk__json_at(reply->doc, "errors");
        size_t n = errors && lk_value_type_of(errors) == LK_VALUE_ARRAY ? lk_value_array_len(errors) : 0;
        fprintf(stderr, "linkd: %ld: invalid job spec:\n", reply->status);
        for (size_t i = 0; i < n; i++) {
                char *detail = lk__json_text(lk_value_array_at(errors, i), "detail");
                fprintf(stderr, "%s\n", detail);
                lk_free(detail);
        }
}

static int jobs_create(int argc, char **argv) {
        lk__client c;
        int status = lk__client_init(&c, argc, argv, NULL, 1, 1, jobs_usage);
        if (status != LK_EXIT_OK)
                return status;
        char *spec = NULL;
        status = read_spec(c.args[0], &spec);
        lk__reply reply = LK__REPLY_INIT;
        if (status == LK_EXIT_OK) {
                lk_buf body = LK_BUF_INIT;
                lk_buf_puts(&body, "{\"toml\":\"");
                lk_buf_put_json_escaped(&body, spec, strlen(spec));
                lk_buf_puts(&body, "\"}");
                status = lk__client_call(&c, "POST", "/v2/jobs", body.data, body.len, NULL, &reply);
                lk_buf_done(&body);
        }
        if (status == LK_EXIT_OK && reply.status == 422 && lk__json_at(reply.doc, "errors.0.line")) {
                print_spec_errors(&reply);
                status = LK_EXIT_USAGE;
        } else if (status == LK_EXIT_OK && reply.status != 200 && reply.status != 201) {
                lk__client_print_error(&reply);
                status = LK_EXIT_FAILURE;
        } else if (status == LK_EXIT_OK && !lk__client_print_json(&c, &reply)) {
                static const char *const labels[] = {"ID", "Type", "Name", "External job ID", NULL};
                static const char *const paths[] = {"data.id", "data.attributes.type", "data.attributes.name",
                                                    "data.attributes.externalJobID", NULL};
                lk__print_fields(reply.doc, labels, paths);
        }
        lk__reply_done(&reply);
        lk_free(spec);
        lk__client_done(&c);
        return status;
}

/* ---- jobs list / show / delete ---- */

static int jobs_list(int argc, char **argv) {
        static const char *const header[] = {"ID", "NAME", "TYPE", "EXTERNAL JOB ID", "ERRORS", "CREATED", NULL};
        static const char *const paths[] = {"id", "attributes.name", "attributes.type", "attributes.externalJobID",
                                            "attributes.errorCount", "attributes.createdAt", NULL};
        const char *page = NULL, *size = NULL;
        const lk__client_option opts[] = {{"page", &page, NULL}, {"size", &size, NULL}, {NULL, NULL, NULL}};
        lk__client c;
        int status = lk__client_init(&c, argc, argv, opts, 0, 0, jobs_usage);
        if (status != LK_EXIT_OK)
                return status;
        lk_buf path = LK_BUF_INIT;
        lk_buf_puts(&path, "/v2/jobs");
        status = page_query(&path, page, size);
        if (status == LK_EXIT_OK)
                status = lk__client_list(&c, path.data, header, paths);
        lk_buf_done(&path);
        lk__client_done(&c);
        return status;
}

/* Prints the items of the array at path under a heading, one a line. */
static void print_section(const lk_value *doc, const char *heading, const char *path, const char *item_path) {
        const lk_value *items = lk__json_at(doc, path);
        size_t n = items && lk_value_type_of(items) == LK_VALUE_ARRAY ? lk_value_array_len(items) : 0;
        if (n == 0)
                return;
        printf("\n%s:\n", heading);
        for (size_t i = 0; i < n; i++) {
                char *text = lk__json_text(lk_value_array_at(items, i), item_path);
                printf("  %s\n", text);
                lk_free(text);
        }
}

static void print_job(const lk_value *doc) {
        static const char *const labels[] = {"ID", "Name", "Type", "Schema version", "External job ID",
                                             "Max task duration (ms)", "Errors", "Created", NULL};
        static const char *const paths[] = {"data.id", "data.attributes.name", "data.attributes.type",
                                            "data.attributes.schemaVersion", "data.attributes.externalJobID",
                                            "data.attributes.maxTaskDuration", "data.attributes.errorCount",
                                            "data.attributes.createdAt", NULL};
        lk__print_fields(doc, labels, paths);
        char *dot = lk__json_text(doc, "data.attributes.pipelineSpec.dotDagSource");
        printf("\nPipeline:\n%s%s", dot, *dot && dot[strlen(dot) - 1] != '\n' ? "\n" : "");
        lk_free(dot);
        print_section(doc, "Errors", "data.attributes.errors", "description");
        print_section(doc, "Next fire times", "data.attributes.cronSpec.nextFireTimes", "");
}

static int show(int argc, char **argv, const char *usage, const char *prefix, void (*print)(const lk_value *)) {
        lk__client c;
        int status = lk__client_init(&c, argc, argv, NULL, 1, 1, usage);
        if (status != LK_EXIT_OK)
                return status;
        char *path = lk__client_path(prefix, c.args[0], "");
        lk__reply reply = LK__REPLY_INIT;
        status = lk__client_request(&c, "GET", path, NULL, &reply);
        if (status == LK_EXIT_OK && !lk__client_print_json(&c, &reply))
                print(reply.doc);
        lk__reply_done(&reply);
        lk_free(path);
        lk__client_done(&c);
        return status;
}

/* ---- runs ---- */

static bool is_number(const char *s) {
        return *s && strspn(s, "0123456789") == strlen(s);
}

/* The run document's data: fields, errors and task runs. */
static void print_run(const lk_value *doc) {
        static const char *const labels[] = {"Run ID", "Job ID", "State", "Created", "Finished", "Outputs", NULL};
        static const char *const paths[] = {"data.id", "data.attributes.jobID", "data.attributes.state",
                                            "data.attributes.createdAt", "data.attributes.finishedAt",
                                            "data.attributes.outputs", NULL};
        lk__print_fields(doc, labels, paths);
        const lk_value *errors = lk__json_at(doc, "data.attributes.allErrors");
        for (size_t i = 0; errors && lk_value_type_of(errors) == LK_VALUE_ARRAY && i < lk_value_array_len(errors); i++)
                if (lk_value_type_of(lk_value_array_at(errors, i)) != LK_VALUE_NULL)
                        printf("Error: %s\n", lk_value_get_string(lk_value_array_at(errors, i), NULL));
        static const char *const header[] = {"DOT ID", "TYPE", "OUTPUT", "ERROR", NULL};
        static const char *const task_paths[] = {"dotId", "type", "output", "error", NULL};
        const lk_value *tasks = lk__json_at(doc, "data.attributes.taskRuns");
        lk__table t;
        lk__table_init(&t, header);
        for (size_t i = 0; tasks && lk_value_type_of(tasks) == LK_VALUE_ARRAY && i < lk_value_array_len(tasks); i++)
                lk__table_add_row(&t, lk_value_array_at(tasks, i), task_paths);
        printf("\n");
        lk__table_print(&t);
        lk__table_done(&t);
}

/* The job's externalJobID, asked of the node when given the job's id. */
static int external_id(lk__client *c, const char *arg, char **ret) {
        if (!is_number(arg)) {
                *ret = lk_strdup(arg);
                return LK_EXIT_OK;
        }
        char *path = lk__client_path("/v2/jobs/", arg, "");
        lk__reply reply = LK__REPLY_INIT;
        int status = lk__client_request(c, "GET", path, NULL, &reply);
        char *id = status == LK_EXIT_OK ? lk__json_text(reply.doc, "data.attributes.externalJobID") : NULL;
        if (id && !*id) {
                fprintf(stderr, "linkd: job %s has no externalJobID\n", arg);
                lk_freep(&id);
                status = LK_EXIT_FAILURE;
        }
        if (status == LK_EXIT_OK)
                *ret = id;
        lk__reply_done(&reply);
        lk_free(path);
        return status;
}

static int jobs_run(int argc, char **argv) {
        const char *body_file = NULL;
        const lk__client_option opts[] = {{"body", &body_file, NULL}, {NULL, NULL, NULL}};
        lk__client c;
        int status = lk__client_init(&c, argc, argv, opts, 1, 1, jobs_usage);
        if (status != LK_EXIT_OK)
                return status;
        char *body = NULL, *external = NULL;
        size_t body_len = 0;
        lk_err err = LK_ERR_INIT;
        if (body_file && lk_file_read(body_file, BODY_MAX, &body, &body_len, &err) < 0) {
                fprintf(stderr, "linkd: --body: %s\n", err.msg);
                status = LK_EXIT_USAGE;
        }
        if (status == LK_EXIT_OK)
                status = external_id(&c, c.args[0], &external);
        lk__reply reply = LK__REPLY_INIT;
        if (status == LK_EXIT_OK) {
                char *path = lk__client_path("/v2/jobs/", external, "/runs");
                status = lk__client_call(&c, "POST", path, body ? body : "", body_len, NULL, &reply);
                lk_free(path);
        }
        if (status == LK_EXIT_OK && (reply.status < 200 || reply.status > 299)) {
                lk__client_print_error(&reply);
                status = LK_EXIT_FAILURE;
        } else if (status == LK_EXIT_OK) {
                if (!lk__client_print_json(&c, &reply))
                        print_run(reply.doc);
                char *state = lk__json_text(reply.doc, "data.attributes.state");
                status = strcmp(state, "errored") == 0 ? LK_EXIT_FAILURE : LK_EXIT_OK;
                lk_free(state);
        }
        lk__reply_done(&reply);
        lk_free(external);
        lk_free(body);
        lk__client_done(&c);
        return status;
}

static int runs_list(int argc, char **argv) {
        static const char *const header[] = {"ID", "JOB", "STATE", "CREATED", "FINISHED", NULL};
        static const char *const paths[] = {"id", "attributes.jobID", "attributes.state", "attributes.createdAt",
                                            "attributes.finishedAt", NULL};
        const char *job = NULL, *page = NULL, *size = NULL;
        const lk__client_option opts[] = {
                {"job", &job, NULL}, {"page", &page, NULL}, {"size", &size, NULL}, {NULL, NULL, NULL}};
        lk__client c;
        int status = lk__client_init(&c, argc, argv, opts, 0, 0, runs_usage);
        if (status != LK_EXIT_OK)
                return status;
        long long job_id = 0;
        if (job && lk__parse_positive("--job", job, &job_id) < 0)
                status = LK_EXIT_USAGE;
        lk_buf path = LK_BUF_INIT;
        lk_buf_puts(&path, "/v2/pipeline/runs");
        if (job_id)
                lk_buf_printf(&path, "?jobID=%lld", job_id);
        if (status == LK_EXIT_OK)
                status = page_query(&path, page, size);
        if (status == LK_EXIT_OK)
                status = lk__client_list(&c, path.data, header, paths);
        lk_buf_done(&path);
        lk__client_done(&c);
        return status;
}

/* ---- dispatch ---- */

int lk_cmd_jobs(int argc, char **argv) {
        const char *sub = argc >= 2 ? argv[1] : "";
        if (strcmp(sub, "create") == 0)
                return jobs_create(argc - 1, argv + 1);
        if (strcmp(sub, "list") == 0)
                return jobs_list(argc - 1, argv + 1);
        if (strcmp(sub, "show") == 0)
                return show(argc - 1, argv + 1, jobs_usage, "/v2/jobs/", print_job);
        if (strcmp(sub, "delete") == 0)
                return lk__client_delete(argc - 1, argv + 1, jobs_usage, "/v2/jobs/", "job");
        if (strcmp(sub, "run") == 0)
                return jobs_run(argc - 1, argv + 1);
        fputs(jobs_usage, stderr);
        return LK_EXIT_USAGE;
}

int lk_cmd_runs(int argc, char **argv) {
        const char *sub = argc >= 2 ? argv[1] : "";
        if (strcmp(sub, "list") == 0)
                return runs_list(argc - 1, argv + 1);
        if (strcmp(sub, "show") == 0)
                return show(argc - 1, argv + 1, runs_usage, "/v2/pipeline/runs/", print_run);
        fputs(runs_usage, stderr);
        return LK_EXIT_USAGE;
}
