/* The runner's SQL.  Written once with PostgreSQL's placeholders and casts
 * (the SQLite backend drops the casts), as the store expects. */
#include "orm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"

#define COLUMNS 9
/* Rows per multi-row INSERT come in powers of two up to this, so that each
 * connection caches a handful of statements rather than one per size. */
#define MAX_CHUNK 256

static const char *const run_casts[COLUMNS] = {"", "", "::jsonb", "::jsonb", "::jsonb", "::jsonb", "::jsonb",
                                               "::timestamptz", "::timestamptz"};
static const char *const task_casts[COLUMNS] = {"::uuid", "", "", "", "::jsonb", "", "", "::timestamptz",
                                                "::timestamptz"};
static const char run_head[] = "INSERT INTO pipeline_runs (pipeline_spec_id, state, meta, inputs, outputs,"
                               " all_errors, fatal_errors, created_at, finished_at)";
static const char task_head[] = "INSERT INTO pipeline_task_runs (id, pipeline_run_id, type, \"index\", output,"
                                " error, dot_id, created_at, finished_at)";
static const char task_upsert[] = " ON CONFLICT (pipeline_run_id, dot_id) DO UPDATE SET id = EXCLUDED.id,"
                                  " output = EXCLUDED.output, error = EXCLUDED.error,"
                                  " finished_at = EXCLUDED.finished_at";

static char *multi_row_sql(const char *head, const char *const casts[], long rows, const char *tail) {
        lk_buf b = LK_BUF_INIT;
        lk_buf_printf(&b, "%s VALUES ", head);
        int n = 0;
        for (long r = 0; r < rows; r++) {
                lk_buf_puts(&b, r ? ", (" : "(");
                for (int c = 0; c < COLUMNS; c++)
                        lk_buf_printf(&b, "%s$%d%s", c ? ", " : "", ++n, casts[c]);
                lk_buf_putc(&b, ')');
        }
        lk_buf_puts(&b, tail);
        return lk_buf_steal(&b, NULL);
}

static size_t chunk_size(size_t left) {
        size_t n = MAX_CHUNK;
        while (n > left)
                n /= 2;
        return n;
}

static void bind_json(lk_stmt *st, int index, const lk_value *v) {
        if (!v) {
                lk_stmt_bind_null(st, index);
                return;
        }
        lk_buf b = LK_BUF_INIT;
        lk_value_to_json(v, &b);
        lk_stmt_bind_text(st, index, lk_buf_str(&b), b.len);
        lk_buf_done(&b);
}

/* jobRun.meta, which Chainlink keeps in the run's meta column. */
static const lk_value *run_meta(const lk_run *run) {
        const lk_value *job_run = lk_value_map_get(run->inputs, "jobRun", SIZE_MAX);
        const lk_value *meta = job_run && lk_value_type_of(job_run) == LK_VALUE_MAP
                                       ? lk_value_map_get(job_run, "meta", SIZE_MAX)
                                       : NULL;
        return meta;
}

static bool finished(const lk_run *run) {
        return run->state == LK_RUN_COMPLETED || run->state == LK_RUN_ERRORED;
}

static void bind_run(lk_stmt *st, int p, const lk_run *run) {
        lk_stmt_bind_int64(st, p + 1, run->spec->id);
        lk_stmt_bind_text(st, p + 2, lk_run_state_name(run->state), SIZE_MAX);
        bind_json(st, p + 3, run_meta(run));
        bind_json(st, p + 4, run->inputs);
        bind_json(st, p + 5, finished(run) ? run->outputs : NULL);
        bind_json(st, p + 6, finished(run) ? run->all_errors : NULL);
        bind_json(st, p + 7, finished(run) ? run->fatal_errors : NULL);
        lk_stmt_bind_time(st, p + 8, run->created_at);
        if (finished(run))
                lk_stmt_bind_time(st, p + 9, run->finished_at);
        else
                lk_stmt_bind_null(st, p + 9);
}

/* A task run's row: finished (output or error) or pending (neither). */
static void bind_task(lk_stmt *st, int p, const lk_run *run, const lk__task_run *t) {
        const lk_graph_task *g = &run->spec->graph->tasks[t->id];
        lk_stmt_bind_text(st, p + 1, t->uuid, 36);
        lk_stmt_bind_int64(st, p + 2, run->id);
        lk_stmt_bind_text(st, p + 3, g->type, SIZE_MAX);
        lk_stmt_bind_int64(st, p + 4, g->index);
        bind_json(st, p + 5, t->error ? NULL : t->output);
        if (t->error)
                lk_stmt_bind_text(st, p + 6, t->error, SIZE_MAX);
        else
                lk_stmt_bind_null(st, p + 6);
        lk_stmt_bind_text(st, p + 7, g->dot_id, SIZE_MAX);
        lk_stmt_bind_time(st, p + 8, t->created_at ? t->created_at : run->created_at);
        if (t->status == TASK_DONE || t->status == TASK_SKIPPED || t->resumed)
                lk_stmt_bind_time(st, p + 9, t->finished_at ? t->finished_at : lk_now_realtime());
        else
                lk_stmt_bind_null(st, p + 9);
}

static bool has_row(const lk__task_run *t) {
        return t->status == TASK_DONE || t->status == TASK_PENDING || t->status == TASK_SKIPPED;
}

typedef struct task_ref {
        const lk_run *run;
        const lk__task_run *task;
} task_ref;

static int insert_tasks(lk_db *db, const task_ref *tasks, size_t count, bool upsert, lk_err *err) {
        for (size_t done = 0; done < count;) {
                size_t n = chunk_size(count - done);
                char *sql = multi_row_sql(task_head, task_casts, (long)n, upsert ? task_upsert : "");
                lk_stmt *st;
                int r = lk_db_prepare(db, sql, &st, err);
                lk_free(sql);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        bind_task(st, (int)i * COLUMNS, tasks[done + i].run, tasks[done + i].task);
                r = lk_stmt_run(st, err);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
                done += n;
        }
        return 0;
}

static void collect_tasks(const lk_run *run, task_ref **tasks, size_t *count, size_t *cap) {
        for (size_t i = 0; i < run->task_count; i++) {
                if (!has_row(&run->tasks[i]))
                        continue;
                if (*count == *cap) {
                        *cap = *cap ? 2 * *cap : 64;
                        *tasks = lk_realloc(*tasks, *cap * sizeof **tasks);
                }
                (*tasks)[(*count)++] = (task_ref){run, &run->tasks[i]};
        }
}

static bool any_error(const lk_run *run) {
        for (size_t i = 0; i < run->task_count; i++)
                if (run->tasks[i].error)
                        return true;
        return false;
}

/* ---- inserting finished runs ---- */

typedef struct insert_args {
        lk_run *const *runs;
        size_t count;
        int64_t *ids;
} insert_args;

/* The run rows, their ids back in the order of the VALUES, as
 * PostgreSQL and SQLite return them and as Chainlink's
 * InsertFinishedRuns relies on; checked to be increasing. */
static int insert_run_rows(lk_db *db, lk_run *const *runs, size_t count, int64_t *ids, lk_err *err) {
        for (size_t done = 0; done < count;) {
                size_t n = chunk_size(count - done);
                char *sql = multi_row_sql(run_head, run_casts, (long)n, " RETURNING id");
                lk_stmt *st;
                int r = lk_db_prepare(db, sql, &st, err);
                lk_free(sql);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        bind_run(st, (int)i * COLUMNS, runs[done + i]);
                size_t got = 0;
                while ((r = lk_stmt_step(st, err)) == 1) {
                        if (got < n)
                                ids[done + got] = lk_stmt_int64(st, 0);
                        got++;
                }
                lk_stmt_done(st);
                if (r < 0)
                        return r;
                if (got != n)
                        return lk_err_set(err, -EIO, "INSERT ... RETURNING id gave %zu rows for %zu runs", got, n);
                for (size_t i = 1; i < n; i++)
                        if (ids[done + i] <= ids[done + i - 1])
                                return lk_err_set(err, -EIO, "INSERT ... RETURNING id gave ids out of order");
                done += n;
        }
        return 0;
}

static int insert_finished_body(lk_db *db, void *arg, lk_err *err) {
        insert_args *a = arg;
        int r = insert_run_rows(db, a->runs, a->count, a->ids, err);
        if (r < 0)
                return r;
        task_ref *tasks = NULL;
        size_t count = 0, cap = 0;
        for (size_t i = 0; i < a->count; i++) {
                lk_run *run = a->runs[i];
                run->id = a->ids[i]; /* bind_task reads it; reset below if the transaction fails */
                if (run->save_task_runs || any_error(run))
                        collect_tasks(run, &tasks, &count, &cap);
        }
        r = insert_tasks(db, tasks, count, false, err);
        lk_free(tasks);
        return r;
}

int lk__orm_insert_finished(lk_store *store, lk_run *const *runs, size_t count, lk_err *err) {
        if (!count)
                return 0;
        insert_args a = {runs, count, lk_calloc(count, sizeof(int64_t))};
        int r = lk_store_tx(store, insert_finished_body, &a, err);
        for (size_t i = 0; i < count; i++)
                runs[i]->id = r < 0 ? 0 : a.ids[i];
        lk_free(a.ids);
        return r;
}

/* ---- runs with a row ---- */

typedef struct insert_run_args {
        lk_run *run;
        int (*in_insert)(lk_db *, void *, int64_t, lk_err *);
        void *in_insert_arg;
} insert_run_args;

static int insert_run_body(lk_db *db, void *arg, lk_err *err) {
        insert_run_args *a = arg;
        int64_t id;
        int r = insert_run_rows(db, &a->run, 1, &id, err);
        if (r == 0 && a->in_insert)
                r = a->in_insert(db, a->in_insert_arg, id, err);
        if (r == 0)
                a->run->id = id;
        return r;
}

int lk__orm_insert_run(lk_store *store, lk_run *run, int (*in_insert)(lk_db *, void *, int64_t, lk_err *),
                       void *in_insert_arg, lk_err *err) {
        insert_run_args a = {run, in_insert, in_insert_arg};
        int r = lk_store_tx(store, insert_run_body, &a, err);
        if (r < 0)
                run->id = 0;
        return r;
}

static int update_run_row(lk_db *db, const lk_run *run, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "UPDATE pipeline_runs SET state = $2, outputs = $3::jsonb, all_errors = $4::jsonb,"
                                  " fatal_errors = $5::jsonb, finished_at = $6::timestamptz WHERE id = $1",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, run->id);
        lk_stmt_bind_text(st, 2, lk_run_state_name(run->state), SIZE_MAX);
        bind_json(st, 3, finished(run) ? run->outputs : NULL);
        bind_json(st, 4, finished(run) ? run->all_errors : NULL);
        bind_json(st, 5, finished(run) ? run->fatal_errors : NULL);
        if (finished(run))
                lk_stmt_bind_time(st, 6, run->finished_at);
        else
                lk_stmt_bind_null(st, 6);
        r = lk_stmt_run(st, err);
        int64_t changed = lk_stmt_changes(st);
        lk_stmt_done(st);
        if (r == 0 && changed != 1)
                r = lk_err_set(err, -ENOENT, "pipeline run %lld no longer exists", (long long)run->id);
        return r;
}

static int upsert_all_tasks(lk_db *db, const lk_run *run, lk_err *err) {
        task_ref *tasks = NULL;
        size_t count = 0, cap = 0;
        collect_tasks(run, &tasks, &count, &cap);
        int r = insert_tasks(db, tasks, count, true, err);
        lk_free(tasks);
        return r;
}

static int update_run_body(lk_db *db, void *arg, lk_err *err) {
        lk_run *run = arg;
        int r = update_run_row(db, run, err);
        return r < 0 ? r : upsert_all_tasks(db, run, err);
}

int lk__orm_update_run(lk_store *store, lk_run *run, lk_err *err) {
        return lk_store_tx(store, update_run_body, run, err);
}

typedef struct task_args {
        const lk_run *run;
        const lk__task_run *task;
} task_args;

static int store_task_body(lk_db *db, void *arg, lk_err *err) {
        task_args *a = arg;
        task_ref ref = {a->run, a->task};
        return insert_tasks(db, &ref, 1, true, err);
}

int lk__orm_store_task_run(lk_store *store, const lk_run *run, const lk__task_run *task, lk_err *err) {
        task_args a = {run, task};
        return lk_store_tx(store, store_task_body, &a, err);
}

/* Results the database has for tasks pending here: a resume that came in
 * through the database while this pass ran. */
static int adopt_resumed(lk_db *db, lk_run *run, bool *ret_adopted, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT id, output, error FROM pipeline_task_runs WHERE pipeline_run_id = $1"
                                  " AND finished_at IS NOT NULL",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, run->id);
        while ((r = lk_stmt_step(st, err)) == 1) {
                const char *id = lk_stmt_text(st, 0, NULL);
                pthread_mutex_lock(&run->lock);
                for (size_t i = 0; i < run->task_count; i++) {
                        lk__task_run *t = &run->tasks[i];
                        if (t->status != TASK_PENDING || t->resumed || strcmp(t->uuid, id) != 0)
                                continue;
                        if (!lk_stmt_is_null(st, 2)) {
                                t->error = lk_strdup(lk_stmt_text(st, 2, NULL));
                        } else {
                                size_t len;
                                const char *json = lk_stmt_text(st, 1, &len);
                                if (lk_value_from_json(json, len, &t->output, NULL) < 0)
                                        t->output = lk_value_string(json, len);
                        }
                        t->resumed = true;
                        t->finished_at = lk_now_realtime();
                        *ret_adopted = true;
                }
                pthread_mutex_unlock(&run->lock);
        }
        lk_stmt_done(st);
        return r;
}

typedef struct suspend_args {
        lk_run *run;
        bool restart;
} suspend_args;

static int suspend_body(lk_db *db, void *arg, lk_err *err) {
        suspend_args *a = arg;
        lk_stmt *st;
        /* Serialises this with a resume of the same run (SQLite's writer
         * lock does it already). */
        if (lk_db_backend(db) == LK_STORE_POSTGRES) {
                int r = lk_db_prepare(db, "SELECT id FROM pipeline_runs WHERE id = $1 FOR UPDATE", &st, err);
                if (r < 0)
                        return r;
                lk_stmt_bind_int64(st, 1, a->run->id);
                r = lk_stmt_run(st, err);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
        }
        bool adopted = false;
        int r = adopt_resumed(db, a->run, &adopted, err);
        if (r < 0)
                return r;
        /* Also counts results adopted by an earlier try of this body. */
        a->restart = false;
        pthread_mutex_lock(&a->run->lock);
        for (size_t i = 0; i < a->run->task_count; i++)
                a->restart |= a->run->tasks[i].status == TASK_PENDING && a->run->tasks[i].resumed;
        pthread_mutex_unlock(&a->run->lock);
        if (a->restart)
                return 0;
        r = update_run_row(db, a->run, err);
        return r < 0 ? r : upsert_all_tasks(db, a->run, err);
}

int lk__orm_suspend_run(lk_store *store, lk_run *run, bool *ret_restart, lk_err *err) {
        suspend_args a = {run, false};
        int r = lk_store_tx(store, suspend_body, &a, err);
        *ret_restart = r == 0 && a.restart;
        return r;
}

static int delete_run_body(lk_db *db, void *arg, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "DELETE FROM pipeline_runs WHERE id = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, *(int64_t *)arg);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

int lk__orm_delete_run(lk_store *store, int64_t run_id, lk_err *err) {
        return lk_store_tx(store, delete_run_body, &run_id, err);
}

/* ---- resume ---- */

typedef struct resume_args {
        const char *task_run_id;
        const char *value_json;
        const char *error;
        int64_t run_id;
} resume_args;

static int resume_body(lk_db *db, void *arg, lk_err *err) {
        resume_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT t.pipeline_run_id FROM pipeline_task_runs t JOIN pipeline_runs r"
                                  " ON r.id = t.pipeline_run_id WHERE t.id = $1::uuid AND t.finished_at IS NULL"
                                  " AND r.state IN ('running', 'suspended')",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->task_run_id, SIZE_MAX);
        r = lk_stmt_step(st, err);
        if (r == 1)
                a->run_id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        if (r <= 0)
                return r < 0 ? r : lk_err_set(err, -ENOENT, "no pending task run with id %s", a->task_run_id);
        r = lk_db_prepare(db, "UPDATE pipeline_task_runs SET output = $2::jsonb, error = $3, finished_at = $4::timestamptz"
                              " WHERE id = $1::uuid AND finished_at IS NULL",
                          &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->task_run_id, SIZE_MAX);
        if (a->value_json)
                lk_stmt_bind_text(st, 2, a->value_json, SIZE_MAX);
        else
                lk_stmt_bind_null(st, 2);
        if (a->error)
                lk_stmt_bind_text(st, 3, a->error, SIZE_MAX);
        else
                lk_stmt_bind_null(st, 3);
        lk_stmt_bind_time(st, 4, lk_now_realtime());
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        if (r < 0)
                return r;
        r = lk_db_prepare(db, "UPDATE pipeline_runs SET state = 'running' WHERE id = $1 AND state = 'suspended'",
                          &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->run_id);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

int lk__orm_resume(lk_store *store, const char *task_run_id, const char *value_json, const char *error,
                   int64_t *ret_run_id, lk_err *err) {
        resume_args a = {task_run_id, value_json, error, 0};
        int r = lk_store_tx(store, resume_body, &a, err);
        if (r == 0)
                *ret_run_id = a.run_id;
        return r;
}

/* ---- loading ---- */

static int load_run_row(lk_db *db, lk__stored_run *s, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT r.pipeline_spec_id, s.dot_dag_source, s.max_task_duration, r.inputs,"
                                  " r.created_at, j.gas_limit FROM pipeline_runs r"
                                  " JOIN pipeline_specs s ON s.id = r.pipeline_spec_id"
                                  " LEFT JOIN jobs j ON j.pipeline_spec_id = s.id WHERE r.id = $1",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, s->id);
        r = lk_stmt_step(st, err);
        if (r == 1) {
                s->spec_id = lk_stmt_int64(st, 0);
                s->source = lk_strdup(lk_stmt_text(st, 1, NULL));
                s->max_task_duration = lk_stmt_is_null(st, 2) ? 0 : lk_stmt_int64(st, 2) / 1000; /* ns */
                size_t len;
                const char *inputs = lk_stmt_text(st, 3, &len);
                if (lk_stmt_is_null(st, 3) || lk_value_from_json(inputs, len, &s->inputs, NULL) < 0 ||
                    lk_value_type_of(s->inputs) != LK_VALUE_MAP) {
                        lk_value_unref(s->inputs);
                        s->inputs = lk_value_map();
                }
                s->created_at = lk_stmt_time(st, 4);
                s->gas_limit_set = !lk_stmt_is_null(st, 5);
                s->gas_limit = s->gas_limit_set ? (uint32_t)lk_stmt_int64(st, 5) : 0;
        }
        lk_stmt_done(st);
        if (r == 0)
                r = lk_err_set(err, -ENOENT, "pipeline run %lld not found", (long long)s->id);
        return r < 0 ? r : 0;
}

static int load_body(lk_db *db, void *arg, lk_err *err) {
        lk__stored_run *s = arg;
        int r = load_run_row(db, s, err);
        if (r < 0)
                return r;
        lk_stmt *st;
        r = lk_db_prepare(db, "SELECT id, dot_id, output, error, finished_at FROM pipeline_task_runs"
                              " WHERE pipeline_run_id = $1",
                          &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, s->id);
        size_t cap = 0;
        while ((r = lk_stmt_step(st, err)) == 1) {
                if (s->task_count == cap) {
                        cap = cap ? 2 * cap : 16;
                        s->tasks = lk_realloc(s->tasks, cap * sizeof *s->tasks);
                }
                struct lk__stored_task *t = &s->tasks[s->task_count++];
                memset(t, 0, sizeof *t);
                snprintf(t->id, sizeof t->id, "%s", lk_stmt_text(st, 0, NULL));
                t->dot_id = lk_strdup(lk_stmt_text(st, 1, NULL));
                t->finished = !lk_stmt_is_null(st, 4);
                if (!lk_stmt_is_null(st, 3)) {
                        t->error = lk_strdup(lk_stmt_text(st, 3, NULL));
                } else if (!lk_stmt_is_null(st, 2)) {
                        size_t len;
                        const char *json = lk_stmt_text(st, 2, &len);
                        if (lk_value_from_json(json, len, &t->output, NULL) < 0)
                                t->output = lk_value_string(json, len);
                } else if (t->finished) {
                        t->output = lk_value_null();
                }
        }
        lk_stmt_done(st);
        return r;
}

void lk__stored_run_done(lk__stored_run *s) {
        for (size_t i = 0; i < s->task_count; i++) {
                lk_free(s->tasks[i].dot_id);
                lk_value_unref(s->tasks[i].output);
                lk_free(s->tasks[i].error);
        }
        lk_free(s->tasks);
        lk_free(s->source);
        lk_value_unref(s->inputs);
        memset(s, 0, sizeof *s);
}

int lk__orm_load_run(lk_store *store, int64_t run_id, lk__stored_run *ret, lk_err *err) {
        memset(ret, 0, sizeof *ret);
        ret->id = run_id;
        int r = lk_store_read(store, load_body, ret, err);
        if (r < 0) {
                lk__stored_run_done(ret);
                return r;
        }
        ret->id = run_id;
        return 0;
}

typedef struct ids_args {
        lk_usec before;
        int64_t *ids;
        size_t count, cap;
} ids_args;

static int unfinished_body(lk_db *db, void *arg, lk_err *err) {
        ids_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT id FROM pipeline_runs WHERE state = 'running' AND created_at < $1::timestamptz"
                                  " ORDER BY id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_time(st, 1, a->before);
        a->count = 0;
        while ((r = lk_stmt_step(st, err)) == 1) {
                if (a->count == a->cap) {
                        a->cap = a->cap ? 2 * a->cap : 16;
                        a->ids = lk_realloc(a->ids, a->cap * sizeof *a->ids);
                }
                a->ids[a->count++] = lk_stmt_int64(st, 0);
        }
        lk_stmt_done(st);
        return r;
}

int lk__orm_unfinished_runs(lk_store *store, lk_usec before, int64_t **ret_ids, size_t *ret_count, lk_err *err) {
        ids_args a = {before, NULL, 0, 0};
        int r = lk_store_read(store, unfinished_body, &a, err);
        if (r < 0) {
                lk_free(a.ids);
                return r;
        }
        *ret_ids = a.ids;
        *ret_count = a.count;
        return 0;
}

/* ---- pruning and reaping ---- */

typedef struct delete_args {
        int64_t spec_id, keep;
        lk_usec before;
        int64_t deleted;
} delete_args;

static int prune_body(lk_db *db, void *arg, lk_err *err) {
        delete_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "DELETE FROM pipeline_runs WHERE pipeline_spec_id = $1 AND state = 'completed'"
                                  " AND id < (SELECT id FROM pipeline_runs WHERE pipeline_spec_id = $1"
                                  " AND state = 'completed' ORDER BY id DESC LIMIT 1 OFFSET $2)",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->spec_id);
        lk_stmt_bind_int64(st, 2, a->keep - 1);
        r = lk_stmt_run(st, err);
        a->deleted = lk_stmt_changes(st);
        lk_stmt_done(st);
        return r;
}

int lk__orm_prune(lk_store *store, int64_t spec_id, int64_t keep, int64_t *ret_deleted, lk_err *err) {
        delete_args a = {spec_id, keep, 0, 0};
        if (keep <= 0)
                return 0;
        int r = lk_store_tx(store, prune_body, &a, err);
        if (r == 0 && ret_deleted)
                *ret_deleted = a.deleted;
        return r;
}

#define REAP_BATCH 1000

static int reap_body(lk_db *db, void *arg, lk_err *err) {
        delete_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "DELETE FROM pipeline_runs WHERE id IN (SELECT id FROM pipeline_runs"
                                  " WHERE finished_at < $1::timestamptz LIMIT 1000)",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_time(st, 1, a->before);
        r = lk_stmt_run(st, err);
        a->deleted = lk_stmt_changes(st);
        lk_stmt_done(st);
        return r;
}

int lk__orm_reap(lk_store *store, lk_usec before, int64_t *ret_deleted, lk_err *err) {
        int64_t total = 0;
        for (;;) {
                /* Short transactions, so that the reaper never holds the
                 * writer lock long enough to stall the runs being stored. */
                delete_args a = {0, 0, before, 0};
                int r = lk_store_tx(store, reap_body, &a, err);
                if (r < 0)
                        return r;
                total += a.deleted;
                if (a.deleted < REAP_BATCH)
                        break;
        }
        *ret_deleted = total;
        return 0;
}

int lk_pipeline_spec_insert(lk_db *db, const char *source, lk_usec max_task_duration, int64_t *ret_id,
                            lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO pipeline_specs (dot_dag_source, max_task_duration) VALUES ($1, $2)"
                                  " RETURNING id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, source, SIZE_MAX);
        if (max_task_duration > 0)
                lk_stmt_bind_int64(st, 2, max_task_duration * 1000); /* nanoseconds, as Chainlink keeps it */
        else
                lk_stmt_bind_null(st, 2);
        r = lk_stmt_step(st, err);
        if (r == 1)
                *ret_id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : r == 1 ? 0 : lk_err_set(err, -EIO, "INSERT ... RETURNING id returned no row");
}

typedef struct spec_args {
        const char *source;
        lk_usec max_task_duration;
        int64_t id;
} spec_args;

static int store_spec_body(lk_db *db, void *arg, lk_err *err) {
        spec_args *a = arg;
        return lk_pipeline_spec_insert(db, a->source, a->max_task_duration, &a->id, err);
}

int lk_pipeline_spec_store(lk_store *store, const char *source, lk_usec max_task_duration, int64_t *ret_id,
                           lk_err *err) {
        spec_args a = {source, max_task_duration, 0};
        int r = lk_store_tx(store, store_spec_body, &a, err);
        if (r == 0)
                *ret_id = a.id;
        return r;
}
