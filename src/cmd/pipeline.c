/* linkd pipeline run: one pipeline, once, without a database. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "linkd/alloc.h"
#include "linkd/file.h"
#include "linkd/pipeline.h"

#define MAX_PIPELINE_BYTES (4 * 1024 * 1024)

static const char pipeline_usage[] =
        "usage: linkd pipeline run [--vars JSON] [--config FILE]... FILE|-\n"
        "\n"
        "Runs a DOT pipeline (a job's observationSource) once, without a database,\n"
        "and prints {\"state\",\"outputs\",\"fatalErrors\",\"allErrors\",\"taskRuns\"} as JSON.\n"
        "--vars gives the initial variables, a JSON object (e.g. {\"jobRun\":{...}}).\n"
        "Exit status: 0 completed, 1 errored (or suspended), 2 the pipeline does not parse.\n";

typedef struct options {
        const char *vars;
        const char *path;
        lk_config cfg;
} options;

static int parse_arguments(int argc, char **argv, options *o) {
        static const struct option long_options[] = {
                {"vars", required_argument, NULL, 'v'},
                {"config", required_argument, NULL, 'c'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        lk_err err = LK_ERR_INIT;
        optind = 1;
        for (int opt; (opt = getopt_long(argc, argv, "v:c:h", long_options, NULL)) != -1;) {
                switch (opt) {
                case 'v': o->vars = optarg; break;
                case 'c':
                        if (lk_config_load_file(&o->cfg, optarg, &err) < 0) {
                                fprintf(stderr, "linkd: invalid configuration: %s\n", err.msg);
                                return LK_EXIT_USAGE;
                        }
                        break;
                case 'h': fputs(pipeline_usage, stdout); return LK_EXIT_USAGE;
                default: fputs(pipeline_usage, stderr); return LK_EXIT_USAGE;
                }
        }
        if (optind != argc - 1) {
                fputs(pipeline_usage, stderr);
                return LK_EXIT_USAGE;
        }
        o->path = argv[optind];
        if (lk_config_finish(&o->cfg, &err) < 0) {
                fprintf(stderr, "linkd: invalid configuration: %s\n", err.msg);
                return LK_EXIT_USAGE;
        }
        return LK_EXIT_OK;
}

static int read_vars(const char *text, lk_value **ret) {
        lk_err err = LK_ERR_INIT;
        if (!text) {
                *ret = lk_value_map();
                return 0;
        }
        if (lk_value_from_json(text, strlen(text), ret, &err) < 0) {
                fprintf(stderr, "linkd: --vars: %s\n", err.msg);
                return -1;
        }
        if (lk_value_type_of(*ret) != LK_VALUE_MAP) {
                fprintf(stderr, "linkd: --vars: must be a JSON object\n");
                *ret = lk_value_unref(*ret);
                return -1;
        }
        return 0;
}

static int run_once(lk_pipeline_spec *spec, const lk_value *vars, const lk_config *cfg) {
        lk_err err = LK_ERR_INIT;
        lk_runner *runner = NULL;
        if (lk_runner_new(&(lk_runner_options){.config = cfg}, &runner, &err) < 0 ||
            lk_service_start(lk_runner_service(runner), NULL, &err) < 0) {
                fprintf(stderr, "linkd: %s\n", err.msg);
                lk_runner_free(runner);
                return LK_EXIT_FAILURE;
        }
        lk_run *run = NULL;
        int status = LK_EXIT_FAILURE;
        if (lk_runner_run(runner, &(lk_run_request){.spec = spec, .vars = vars}, &run, &err) < 0) {
                fprintf(stderr, "linkd: %s\n", err.msg);
        } else {
                lk_buf out = LK_BUF_INIT;
                lk_run_to_json(run, &out);
                lk_buf_putc(&out, '\n');
                fwrite(out.data, 1, out.len, stdout);
                lk_buf_done(&out);
                status = lk_run_state_of(run) == LK_RUN_COMPLETED ? LK_EXIT_OK : LK_EXIT_FAILURE;
                lk_run_unref(run);
        }
        lk_service_close(lk_runner_service(runner), NULL);
        lk_runner_free(runner);
        return status;
}

static int pipeline_run(int argc, char **argv) {
        options o = {0};
        lk_config_init(&o.cfg);
        int status = parse_arguments(argc, argv, &o);
        char *source = NULL;
        size_t len = 0;
        lk_value *vars = NULL;
        lk_pipeline_spec *spec = NULL;
        lk_err err = LK_ERR_INIT;
        if (status != LK_EXIT_OK)
                goto out;
        status = LK_EXIT_USAGE;
        if (lk_file_read(o.path, MAX_PIPELINE_BYTES, &source, &len, &err) < 0) {
                fprintf(stderr, "linkd: %s\n", err.msg);
                goto out;
        }
        if (read_vars(o.vars, &vars) < 0)
                goto out;
        if (lk_pipeline_spec_new(&(lk_pipeline_spec_options){.source = source, .source_len = len}, &spec, &err) < 0) {
                if (err.line)
                        fprintf(stderr, "linkd: %s:%u: %s\n", strcmp(o.path, "-") == 0 ? "<stdin>" : o.path, err.line,
                                err.msg);
                else
                        fprintf(stderr, "linkd: %s: %s\n", strcmp(o.path, "-") == 0 ? "<stdin>" : o.path, err.msg);
                goto out;
        }
        status = run_once(spec, vars, &o.cfg);
out:
        lk_pipeline_spec_unref(spec);
        lk_value_unref(vars);
        lk_free(source);
        lk_config_done(&o.cfg);
        return status;
}

int lk_cmd_pipeline(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "run") == 0)
                return pipeline_run(argc - 1, argv + 1);
        fputs(pipeline_usage, stderr);
        return LK_EXIT_USAGE;
}
