/* Stored jobs (see include/linkd/jobs.h). */
#include "linkd/jobs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"

#define JOB_COLUMNS                                                                                            \
        "j.id, j.external_job_id, j.name, j.type, j.schema_version, j.pipeline_spec_id, j.toml,"               \
        " p.dot_dag_source, j.max_task_duration, j.created_at,"                                                \
        " (SELECT COUNT(*) FROM job_spec_errors e WHERE e.job_id = j.id)"
#define JOB_FROM " FROM jobs j JOIN pipeline_specs p ON p.id = j.pipeline_spec_id"

void lk_job_row_done(lk_job_row *row) {
        lk_free(row->name);
        lk_free(row->toml);
        lk_free(row->observation_source);
        *row = (lk_job_row){0};
}

void lk_job_rows_free(lk_job_row *rows, size_t count) {
        for (size_t i = 0; rows && i < count; i++)
                lk_job_row_done(&rows[i]);
        lk_free(rows);
}

static void read_row(lk_stmt *st, lk_job_row *row) {
        row->id = lk_stmt_int64(st, 0);
        snprintf(row->external_job_id, sizeof row->external_job_id, "%s", lk_stmt_text(st, 1, NULL));
        for (char *p = row->external_job_id; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        row->name = lk_stmt_is_null(st, 2) ? NULL : lk_strdup(lk_stmt_text(st, 2, NULL));
        snprintf(row->type, sizeof row->type, "%s", lk_stmt_text(st, 3, NULL));
        row->schema_version = lk_stmt_int64(st, 4);
        row->pipeline_spec_id = lk_stmt_int64(st, 5);
        row->toml = lk_strdup(lk_stmt_text(st, 6, NULL));
        row->observation_source = lk_strdup(lk_stmt_text(st, 7, NULL));
        row->max_task_duration = lk_stmt_is_null(st, 8) ? 0 : lk_stmt_int64(st, 8) / 1000;
        row->created_at = lk_stmt_time(st, 9);
        row->error_count = lk_stmt_int64(st, 10);
}

/* ---- insert ---- */

typedef struct insert_args {
        const lk_job_spec *spec;
        const char *toml;
        int64_t job_id, pipeline_spec_id;
} insert_args;

static int insert_body(lk_db *db, void *arg, lk_err *err) {
        insert_args *a = arg;
        const lk_job_spec *spec = a->spec;
        int r = lk_pipeline_spec_insert(db, spec->observation_source ? spec->observation_source : "",
                                        spec->max_task_duration, &a->pipeline_spec_id, err);
        if (r < 0)
                return r;
        lk_stmt *st;
        r = lk_db_prepare(db, "INSERT INTO jobs (external_job_id, name, type, schema_version, pipeline_spec_id,"
                              " toml, max_task_duration, gas_limit, forwarding_allowed)"
                              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                          &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, spec->external_job_id, SIZE_MAX);
        if (spec->name)
                lk_stmt_bind_text(st, 2, spec->name, SIZE_MAX);
        else
                lk_stmt_bind_null(st, 2);
        lk_stmt_bind_text(st, 3, lk_job_type_name(spec->type), SIZE_MAX);
        lk_stmt_bind_int64(st, 4, spec->schema_version);
        lk_stmt_bind_int64(st, 5, a->pipeline_spec_id);
        lk_stmt_bind_text(st, 6, a->toml, SIZE_MAX);
        if (spec->max_task_duration > 0)
                lk_stmt_bind_int64(st, 7, spec->max_task_duration * 1000);
        else
                lk_stmt_bind_null(st, 7);
        if (spec->gas_limit_set)
                lk_stmt_bind_int64(st, 8, spec->gas_limit);
        else
                lk_stmt_bind_null(st, 8);
        lk_stmt_bind_bool(st, 9, spec->forwarding_allowed);
        r = lk_stmt_step(st, err);
        if (r == 1)
                a->job_id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : r == 1 ? 0 : lk_err_set(err, -EIO, "INSERT ... RETURNING id returned no row");
}

int lk_jobs_insert(lk_store *store, const lk_job_spec *spec, const char *toml, int64_t *ret_job_id,
                   int64_t *ret_pipeline_spec_id, lk_err *err) {
        insert_args a = {spec, toml, 0, 0};
        int r = lk_store_tx(store, insert_body, &a, err);
        if (r == -EEXIST)
                return lk_err_set(err, -EEXIST, "a job with externalJobID %s already exists", spec->external_job_id);
        if (r < 0)
                return r;
        *ret_job_id = a.job_id;
        *ret_pipeline_spec_id = a.pipeline_spec_id;
        return 0;
}

/* ---- reads ---- */

typedef struct list_args {
        int64_t offset, limit, total;
        lk_job_row *rows;
        size_t count;
} list_args;

static int count_jobs(lk_db *db, int64_t *ret_total, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT COUNT(*) FROM jobs", &st, err);
        if (r < 0)
                return r;
        if ((r = lk_stmt_step(st, err)) == 1)
                *ret_total = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int list_body(lk_db *db, void *arg, lk_err *err) {
        list_args *a = arg;
        lk_job_rows_free(a->rows, a->count); /* a retried transaction starts over */
        a->rows = NULL;
        a->count = 0;
        int r = count_jobs(db, &a->total, err);
        if (r < 0)
                return r;
        lk_stmt *st;
        r = lk_db_prepare(db, "SELECT " JOB_COLUMNS JOB_FROM " ORDER BY j.id LIMIT $1 OFFSET $2", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->limit > 0 ? a->limit : INT64_MAX);
        lk_stmt_bind_int64(st, 2, a->offset);
        size_t cap = 0;
        while ((r = lk_stmt_step(st, err)) == 1) {
                if (a->count == cap) {
                        cap = cap ? 2 * cap : 16;
                        a->rows = lk_realloc(a->rows, cap * sizeof *a->rows);
                }
                read_row(st, &a->rows[a->count++]);
        }
        lk_stmt_done(st);
        return r;
}

int lk_jobs_list(lk_store *store, int64_t offset, int64_t limit, lk_job_row **ret_rows, size_t *ret_count,
                 int64_t *ret_total, lk_err *err) {
        list_args a = {offset < 0 ? 0 : offset, limit, 0, NULL, 0};
        int r = lk_store_read(store, list_body, &a, err);
        if (r < 0) {
                lk_job_rows_free(a.rows, a.count);
                return r;
        }
        *ret_rows = a.rows;
        *ret_count = a.count;
        *ret_total = a.total;
        return 0;
}

typedef struct get_args {
        int64_t id;
        lk_job_row row;
        bool found;
} get_args;

static int get_body(lk_db *db, void *arg, lk_err *err) {
        get_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT " JOB_COLUMNS JOB_FROM " WHERE j.id = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->id);
        lk_job_row_done(&a->row);
        if ((r = lk_stmt_step(st, err)) == 1)
                read_row(st, &a->row);
        a->found = r == 1;
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

int lk_jobs_get(lk_store *store, int64_t id, lk_job_row *ret_row, lk_err *err) {
        get_args a = {.id = id};
        int r = lk_store_read(store, get_body, &a, err);
        if (r == 0 && !a.found)
                r = lk_err_set(err, -ENOENT, "job %lld not found", (long long)id);
        if (r < 0) {
                lk_job_row_done(&a.row);
                return r;
        }
        *ret_row = a.row;
        return 0;
}

typedef struct find_args {
        char external[37];
        int64_t id;
} find_args;

static int find_body(lk_db *db, void *arg, lk_err *err) {
        find_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT id FROM jobs WHERE external_job_id = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->external, SIZE_MAX);
        a->id = 0;
        if ((r = lk_stmt_step(st, err)) == 1)
                a->id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static bool uuid_shape(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++)
                if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
                        return false;
        return true;
}

int lk_jobs_find_external(lk_store *store, const char *external_job_id, int64_t *ret_id, lk_err *err) {
        if (!uuid_shape(external_job_id))
                return lk_err_set(err, -ENOENT, "job %s not found", external_job_id);
        find_args a = {.id = 0};
        for (int i = 0; i < 36; i++)
                a.external[i] = (char)tolower((unsigned char)external_job_id[i]);
        int r = lk_store_read(store, find_body, &a, err);
        if (r == 0 && a.id == 0)
                r = lk_err_set(err, -ENOENT, "job %s not found", a.external);
        if (r == 0)
                *ret_id = a.id;
        return r;
}

/* ---- the jobs of a bridge ---- */

typedef struct bridge_users {
        const char *bridge;
        int64_t *ids;
        size_t count;
} bridge_users;

static bool pipeline_uses_bridge(const char *source, const char *bridge) {
        /* Most pipelines do not even mention the name: no parse for them. */
        if (!strcasestr(source, bridge))
                return false;
        lk_pipeline_spec *spec = NULL;
        if (lk_pipeline_spec_new(&(lk_pipeline_spec_options){.source = source, .source_len = SIZE_MAX}, &spec,
                                 NULL) < 0)
                return false;
        bool uses = lk_pipeline_spec_uses_bridge(spec, bridge);
        lk_pipeline_spec_unref(spec);
        return uses;
}

static int bridge_users_body(lk_db *db, void *arg, lk_err *err) {
        bridge_users *a = arg;
        lk_freep(&a->ids);
        a->count = 0;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT j.id, p.dot_dag_source" JOB_FROM " ORDER BY j.id", &st, err);
        if (r < 0)
                return r;
        while ((r = lk_stmt_step(st, err)) == 1) {
                if (!pipeline_uses_bridge(lk_stmt_text(st, 1, NULL), a->bridge))
                        continue;
                a->ids = lk_realloc(a->ids, (a->count + 1) * sizeof *a->ids);
                a->ids[a->count++] = lk_stmt_int64(st, 0);
        }
        lk_stmt_done(st);
        return r;
}

int lk_jobs_using_bridge(lk_store *store, const char *bridge, int64_t **ret_ids, size_t *ret_count, lk_err *err) {
        bridge_users a = {bridge, NULL, 0};
        int r = lk_store_read(store, bridge_users_body, &a, err);
        if (r < 0) {
                lk_free(a.ids);
                return r;
        }
        *ret_ids = a.ids;
        *ret_count = a.count;
        return 0;
}

/* ---- delete ---- */

typedef struct id_args {
        int64_t id;
        int64_t changes;
} id_args;

/* The pipeline spec goes, and with it (ON DELETE CASCADE) the job, its
 * runs, task runs and errors. */
static int delete_body(lk_db *db, void *arg, lk_err *err) {
        id_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "DELETE FROM pipeline_specs WHERE id = (SELECT pipeline_spec_id FROM jobs WHERE id = $1)",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->id);
        r = lk_stmt_run(st, err);
        a->changes = lk_stmt_changes(st);
        lk_stmt_done(st);
        return r;
}

int lk_jobs_delete(lk_store *store, int64_t id, lk_err *err) {
        id_args a = {id, 0};
        int r = lk_store_tx(store, delete_body, &a, err);
        if (r == 0 && a.changes == 0)
                return lk_err_set(err, -ENOENT, "job %lld not found", (long long)id);
        return r;
}

/* ---- job_spec_errors ---- */

typedef struct error_args {
        int64_t job_id;
        const char *description;
} error_args;

static int record_body(lk_db *db, void *arg, lk_err *err) {
        error_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO job_spec_errors (job_id, description) VALUES ($1, $2)"
                                  " ON CONFLICT (job_id, description) DO UPDATE"
                                  " SET occurrences = job_spec_errors.occurrences + 1, updated_at = $3",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->job_id);
        lk_stmt_bind_text(st, 2, a->description, SIZE_MAX);
        lk_stmt_bind_time(st, 3, lk_now_realtime());
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

int lk_job_error_record(lk_store *store, int64_t job_id, const char *description, lk_err *err) {
        error_args a = {job_id, description};
        return lk_store_tx(store, record_body, &a, err);
}

typedef struct error_list_args {
        int64_t job_id;
        lk_job_error_fn fn;
        void *arg;
} error_list_args;

static int error_list_body(lk_db *db, void *arg, lk_err *err) {
        error_list_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT id, description, occurrences, created_at, updated_at FROM job_spec_errors"
                                  " WHERE job_id = $1 ORDER BY id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->job_id);
        while ((r = lk_stmt_step(st, err)) == 1)
                a->fn(a->arg, lk_stmt_int64(st, 0), lk_stmt_text(st, 1, NULL), lk_stmt_int64(st, 2),
                      lk_stmt_time(st, 3), lk_stmt_time(st, 4));
        lk_stmt_done(st);
        return r;
}

int lk_job_error_list(lk_store *store, int64_t job_id, lk_job_error_fn fn, void *arg, lk_err *err) {
        error_list_args a = {job_id, fn, arg};
        return lk_store_read(store, error_list_body, &a, err);
}

static int dismiss_body(lk_db *db, void *arg, lk_err *err) {
        id_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "DELETE FROM job_spec_errors WHERE id = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->id);
        r = lk_stmt_run(st, err);
        a->changes = lk_stmt_changes(st);
        lk_stmt_done(st);
        return r;
}

int lk_job_error_dismiss(lk_store *store, int64_t error_id, lk_err *err) {
        id_args a = {error_id, 0};
        int r = lk_store_tx(store, dismiss_body, &a, err);
        if (r == 0 && a.changes == 0)
                return lk_err_set(err, -ENOENT, "job spec error %lld not found", (long long)error_id);
        return r;
}
