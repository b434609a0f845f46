/* Runs as results: their construction, final result and JSON form. */
#include "run.h"

#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/uuid.h"

const char *lk_run_state_name(lk_run_state state) {
        switch (state) {
        case LK_RUN_RUNNING: return "running";
        case LK_RUN_SUSPENDED: return "suspended";
        case LK_RUN_ERRORED: return "errored";
        case LK_RUN_COMPLETED: return "completed";
        }
        return "unknown";
}

lk_run *lk__run_new(struct lk_runner *runner, lk_pipeline_spec *spec, const lk_value *inputs) {
        lk_run *run = lk_calloc(1, sizeof *run);
        atomic_init(&run->refs, 1);
        run->runner = runner;
        run->spec = lk_pipeline_spec_ref(spec);
        pthread_mutex_init(&run->lock, NULL);
        run->inputs = inputs ? lk_value_ref((lk_value *)inputs) : lk_value_map();
        run->task_count = spec->graph->task_count;
        run->tasks = lk_calloc(run->task_count, sizeof *run->tasks);
        run->created_at = lk_now_realtime();
        for (size_t i = 0; i < run->task_count; i++) {
                lk__task_run *t = &run->tasks[i];
                t->run = run;
                t->id = (int)i;
                t->waiting_parents = spec->tasks[i].parent_count;
                t->job.heap_slot = SIZE_MAX;
                if (lk_uuid_v7(t->uuid, run->created_at / LK_USEC_PER_MSEC) < 0)
                        snprintf(t->uuid, sizeof t->uuid, "00000000-0000-4000-8000-%012x", (unsigned)(i & 0xffffffu)); /* no entropy: unique per run only */
        }
        run->state = LK_RUN_RUNNING;
        return run;
}

lk_run *lk_run_ref(lk_run *run) {
        atomic_fetch_add_explicit(&run->refs, 1, memory_order_relaxed);
        return run;
}

lk_run *lk_run_unref(lk_run *run) {
        if (!run || atomic_fetch_sub_explicit(&run->refs, 1, memory_order_acq_rel) != 1)
                return NULL;
        for (size_t i = 0; i < run->task_count; i++) {
                lk_value_unref(run->tasks[i].output);
                lk_free(run->tasks[i].error);
        }
        lk_free(run->tasks);
        lk_value_unref(run->inputs);
        lk_value_unref(run->outputs);
        lk_value_unref(run->fatal_errors);
        lk_value_unref(run->all_errors);
        lk_pipeline_spec_unref(run->spec);
        pthread_mutex_destroy(&run->lock);
        lk_free(run);
        return NULL;
}

static lk_value *error_or_null(const char *error) {
        return error ? lk_value_string(error, SIZE_MAX) : lk_value_null();
}

/* Chainlink's FinalResult: every task by index; terminal ones give the
 * outputs and fatal errors. */
void lk__run_finalize(lk_run *run) {
        lk_value *outputs = lk_value_array(), *fatal = lk_value_array(), *all = lk_value_array();
        bool failed = false;
        for (size_t k = 0; k < run->task_count; k++) {
                int id = run->spec->by_index[k];
                const lk__task_run *t = &run->tasks[id];
                lk_value_array_append(all, error_or_null(t->error));
                if (!run->spec->graph->tasks[id].terminal)
                        continue;
                lk_value_array_append(outputs, t->output ? lk_value_ref(t->output) : lk_value_null());
                lk_value_array_append(fatal, error_or_null(t->error));
                failed |= t->error != NULL;
        }
        lk_value_unref(run->outputs);
        lk_value_unref(run->fatal_errors);
        lk_value_unref(run->all_errors);
        run->outputs = outputs;
        run->fatal_errors = fatal;
        run->all_errors = all;
        run->state = failed ? LK_RUN_ERRORED : LK_RUN_COMPLETED;
        run->finished_at = lk_now_realtime();
}

lk_run_state lk_run_state_of(const lk_run *run) {
        return run->state;
}

int64_t lk_run_id(const lk_run *run) {
        return run->id;
}

const lk_value *lk_run_outputs(const lk_run *run) {
        return run->outputs;
}

const lk_value *lk_run_fatal_errors(const lk_run *run) {
        return run->fatal_errors;
}

const lk_value *lk_run_all_errors(const lk_run *run) {
        return run->all_errors;
}

size_t lk_run_task_run_count(const lk_run *run) {
        return run->task_count;
}

void lk_run_task_run(const lk_run *run, size_t i, lk_task_run_info *ret_info) {
        int id = run->spec->by_index[i];
        const lk__task_run *t = &run->tasks[id];
        const lk_graph_task *g = &run->spec->graph->tasks[id];
        *ret_info = (lk_task_run_info){
                .id = t->uuid,
                .dot_id = g->dot_id,
                .type = g->type,
                .index = g->index,
                .output = t->output,
                .error = t->error,
                .created_at = t->created_at,
                .finished_at = t->finished_at,
        };
}

const lk_err *lk_run_store_error(const lk_run *run) {
        return lk_err_is_set(&run->store_err) ? &run->store_err : NULL;
}

void lk_run_to_json(const lk_run *run, lk_buf *out) {
        lk_buf_puts(out, "{\"state\":");
        lk_buf_put_json_string(out, lk_run_state_name(run->state));
        lk_buf_puts(out, ",\"outputs\":");
        if (run->outputs)
                lk_value_to_json(run->outputs, out);
        else
                lk_buf_puts(out, "null");
        lk_buf_puts(out, ",\"fatalErrors\":");
        if (run->fatal_errors)
                lk_value_to_json(run->fatal_errors, out);
        else
                lk_buf_puts(out, "null");
        lk_buf_puts(out, ",\"allErrors\":");
        if (run->all_errors)
                lk_value_to_json(run->all_errors, out);
        else
                lk_buf_puts(out, "null");
        lk_buf_puts(out, ",\"taskRuns\":[");
        for (size_t i = 0; i < run->task_count; i++) {
                lk_task_run_info info;
                lk_run_task_run(run, i, &info);
                lk_buf_puts(out, i ? ",{\"dotId\":" : "{\"dotId\":");
                lk_buf_put_json_string(out, info.dot_id);
                lk_buf_puts(out, ",\"type\":");
                lk_buf_put_json_string(out, info.type);
                lk_buf_puts(out, ",\"output\":");
                if (info.output)
                        lk_value_to_json(info.output, out);
                else
                        lk_buf_puts(out, "null");
                lk_buf_puts(out, ",\"error\":");
                if (info.error)
                        lk_buf_put_json_string(out, info.error);
                else
                        lk_buf_puts(out, "null");
                lk_buf_putc(out, '}');
        }
        lk_buf_puts(out, "]}");
}
