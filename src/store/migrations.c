/* The schema, as numbered migrations, each written once per backend where
 * the dialects differ (see include/linkd/store.h).  Applied in order, each
 * in its own transaction, and recorded in linkd_migrations. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "linkd/store.h"

/* The first schema, modelled on Chainlink's tables.  Types per backend:
 * PostgreSQL gets bigserial, uuid, jsonb, bytea, timestamptz and
 * numeric(78) (chain ids and wei amounts); SQLite gets INTEGER PRIMARY
 * KEY, TEXT and BLOB, with timestamps as "YYYY-MM-DD HH:MM:SS.ffffff+00:00"
 * text, which sorts in time order. */
#define INITIAL_SCHEMA(ID, UUID, JSON, BYTES, TIME, NOW, NUMBER)                                                   \
        "CREATE TABLE pipeline_specs ("                                                                            \
        " id " ID ","                                                                                              \
        " dot_dag_source TEXT NOT NULL,"                                                                           \
        " max_task_duration BIGINT,"                                                                               \
        " created_at " TIME " NOT NULL DEFAULT " NOW ");",                                                         \
        "CREATE TABLE jobs ("                                                                                      \
        " id " ID ","                                                                                              \
        " external_job_id " UUID " NOT NULL UNIQUE,"                                                               \
        " name TEXT,"                                                                                              \
        " type TEXT NOT NULL,"                                                                                     \
        " schema_version INTEGER NOT NULL,"                                                                        \
        " pipeline_spec_id BIGINT REFERENCES pipeline_specs (id) ON DELETE CASCADE,"                               \
        " spec " JSON " NOT NULL DEFAULT '{}',"                                                                    \
        " toml TEXT NOT NULL DEFAULT '',"                                                                          \
        " max_task_duration BIGINT,"                                                                               \
        " gas_limit BIGINT,"                                                                                       \
        " forwarding_allowed BOOLEAN NOT NULL DEFAULT false,"                                                      \
        " created_at " TIME " NOT NULL DEFAULT " NOW ");",                                                         \
        "CREATE INDEX jobs_pipeline_spec_id ON jobs (pipeline_spec_id);",                                          \
        "CREATE TABLE pipeline_runs ("                                                                             \
        " id " ID ","                                                                                              \
        " pipeline_spec_id BIGINT NOT NULL REFERENCES pipeline_specs (id) ON DELETE CASCADE,"                      \
        " state TEXT NOT NULL DEFAULT 'running'"                                                                   \
        "  CHECK (state IN ('running', 'suspended', 'errored', 'completed')),"                                     \
        " meta " JSON ","                                                                                          \
        " inputs " JSON ","                                                                                        \
        " outputs " JSON ","                                                                                       \
        " all_errors " JSON ","                                                                                    \
        " fatal_errors " JSON ","                                                                                  \
        " created_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " finished_at " TIME ","                                                                                   \
        " CHECK ((state IN ('running', 'suspended')) = (finished_at IS NULL)));",                                  \
        "CREATE INDEX pipeline_runs_spec_newest ON pipeline_runs (pipeline_spec_id, id DESC);",                    \
        "CREATE INDEX pipeline_runs_unfinished ON pipeline_runs (state) WHERE state IN ('running', 'suspended');",  \
        "CREATE INDEX pipeline_runs_finished_at ON pipeline_runs (finished_at);",                                  \
        "CREATE TABLE pipeline_task_runs ("                                                                        \
        " id " UUID " PRIMARY KEY,"                                                                                \
        " pipeline_run_id BIGINT NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,"                        \
        " type TEXT NOT NULL,"                                                                                     \
        " \"index\" INTEGER NOT NULL DEFAULT 0,"                                                                       \
        " output " JSON ","                                                                                        \
        " error TEXT,"                                                                                             \
        " dot_id TEXT NOT NULL,"                                                                                   \
        " created_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " finished_at " TIME ","                                                                                   \
        " UNIQUE (pipeline_run_id, dot_id));",                                                                     \
        "CREATE TABLE job_spec_errors ("                                                                           \
        " id " ID ","                                                                                              \
        " job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"                                          \
        " description TEXT NOT NULL,"                                                                              \
        " occurrences INTEGER NOT NULL DEFAULT 1,"                                                                 \
        " created_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " updated_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " UNIQUE (job_id, description));",                                                                         \
        "CREATE TABLE bridge_types ("                                                                              \
        " name TEXT PRIMARY KEY,"                                                                                  \
        " url TEXT NOT NULL,"                                                                                      \
        " confirmations BIGINT NOT NULL DEFAULT 0,"                                                                \
        " incoming_token_hash TEXT NOT NULL,"                                                                      \
        " salt TEXT NOT NULL,"                                                                                     \
        " outgoing_token TEXT NOT NULL,"                                                                           \
        " minimum_contract_payment " NUMBER ","                                                                    \
        " created_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " updated_at " TIME " NOT NULL DEFAULT " NOW ");",                                                         \
        "CREATE TABLE external_initiators ("                                                                       \
        " id " ID ","                                                                                              \
        " name TEXT NOT NULL UNIQUE,"                                                                              \
        " url TEXT,"                                                                                               \
        " access_key TEXT NOT NULL UNIQUE,"                                                                        \
        " salt TEXT NOT NULL,"                                                                                     \
        " hashed_secret TEXT NOT NULL,"                                                                            \
        " outgoing_token TEXT NOT NULL,"                                                                           \
        " outgoing_secret TEXT NOT NULL,"                                                                          \
        " created_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " updated_at " TIME " NOT NULL DEFAULT " NOW ");",                                                         \
        "CREATE TABLE users ("                                                                                     \
        " email TEXT PRIMARY KEY,"                                                                                 \
        " hashed_password TEXT NOT NULL,"                                                                          \
        " role TEXT NOT NULL DEFAULT 'view' CHECK (role IN ('admin', 'edit', 'run', 'view')),"                     \
        " created_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " updated_at " TIME " NOT NULL DEFAULT " NOW ");",                                                         \
        "CREATE TABLE sessions ("                                                                                  \
        " id TEXT PRIMARY KEY,"                                                                                    \
        " email TEXT NOT NULL REFERENCES users (email) ON DELETE CASCADE,"                                         \
        " last_used " TIME " NOT NULL,"                                                                            \
        " created_at " TIME " NOT NULL DEFAULT " NOW ");",                                                         \
        "CREATE INDEX sessions_email ON sessions (email);",                                                        \
        "CREATE TABLE api_tokens ("                                                                                \
        " access_key TEXT PRIMARY KEY,"                                                                            \
        " email TEXT NOT NULL REFERENCES users (email) ON DELETE CASCADE,"                                         \
        " salt TEXT NOT NULL,"                                                                                     \
        " hashed_secret TEXT NOT NULL,"                                                                            \
        " created_at " TIME " NOT NULL DEFAULT " NOW ");",                                                         \
        "CREATE TABLE keys ("                                                                                      \
        " id TEXT PRIMARY KEY,"                                                                                    \
        " type TEXT NOT NULL CHECK (type IN ('eth', 'vrf', 'csa', 'p2p', 'ocr')),"                                 \
        " encrypted " BYTES " NOT NULL,"                                                                           \
        " created_at " TIME " NOT NULL DEFAULT " NOW ");",                                                         \
        "CREATE TABLE log_broadcasts ("                                                                            \
        " id " ID ","                                                                                              \
        " evm_chain_id " NUMBER " NOT NULL,"                                                                       \
        " block_hash " BYTES " NOT NULL,"                                                                          \
        " block_number BIGINT NOT NULL,"                                                                           \
        " log_index BIGINT NOT NULL,"                                                                              \
        " job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"                                          \
        " consumed BOOLEAN NOT NULL DEFAULT false,"                                                                \
        " created_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " updated_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " UNIQUE (evm_chain_id, block_hash, log_index, job_id));",                                                 \
        "CREATE INDEX log_broadcasts_unconsumed ON log_broadcasts (evm_chain_id, block_number)"                    \
        " WHERE consumed = false;",                                                                                \
        "CREATE TABLE evm_heads ("                                                                                 \
        " id " ID ","                                                                                              \
        " evm_chain_id " NUMBER " NOT NULL,"                                                                       \
        " hash " BYTES " NOT NULL,"                                                                                \
        " number BIGINT NOT NULL,"                                                                                 \
        " parent_hash " BYTES " NOT NULL,"                                                                         \
        " timestamp " TIME " NOT NULL,"                                                                            \
        " base_fee_per_gas " NUMBER ","                                                                            \
        " created_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " UNIQUE (evm_chain_id, hash));",                                                                          \
        "CREATE INDEX evm_heads_chain_number ON evm_heads (evm_chain_id, number);",                                \
        "CREATE TABLE evm_txes ("                                                                                  \
        " id " ID ","                                                                                              \
        " evm_chain_id " NUMBER " NOT NULL,"                                                                       \
        " nonce BIGINT,"                                                                                           \
        " from_address " BYTES " NOT NULL,"                                                                        \
        " to_address " BYTES " NOT NULL,"                                                                          \
        " encoded_payload " BYTES " NOT NULL,"                                                                     \
        " value " NUMBER " NOT NULL DEFAULT 0,"                                                                    \
        " gas_limit BIGINT NOT NULL,"                                                                              \
        " state TEXT NOT NULL DEFAULT 'unstarted' CHECK (state IN ('unstarted', 'in_progress', 'fatal_error',"     \
        "  'unconfirmed', 'confirmed_missing_receipt', 'confirmed')),"                                             \
        " error TEXT,"                                                                                             \
        " broadcast_at " TIME ","                                                                                  \
        " initial_broadcast_at " TIME ","                                                                          \
        " idempotency_key TEXT UNIQUE,"                                                                            \
        " meta " JSON ","                                                                                          \
        " pipeline_task_run_id " UUID ","                                                                          \
        " min_confirmations INTEGER,"                                                                              \
        " created_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " UNIQUE (evm_chain_id, from_address, nonce));",                                                           \
        "CREATE INDEX evm_txes_state ON evm_txes (evm_chain_id, from_address, state);",                            \
        "CREATE TABLE evm_tx_attempts ("                                                                           \
        " id " ID ","                                                                                              \
        " eth_tx_id BIGINT NOT NULL REFERENCES evm_txes (id) ON DELETE CASCADE,"                                   \
        " gas_price " NUMBER ","                                                                                   \
        " gas_tip_cap " NUMBER ","                                                                                 \
        " gas_fee_cap " NUMBER ","                                                                                 \
        " signed_raw_tx " BYTES " NOT NULL,"                                                                       \
        " hash " BYTES " NOT NULL UNIQUE,"                                                                         \
        " broadcast_before_block_num BIGINT,"                                                                      \
        " state TEXT NOT NULL CHECK (state IN ('in_progress', 'insufficient_eth', 'broadcast')),"                  \
        " tx_type SMALLINT NOT NULL DEFAULT 0,"                                                                    \
        " chain_specific_gas_limit BIGINT NOT NULL,"                                                               \
        " created_at " TIME " NOT NULL DEFAULT " NOW ");",                                                         \
        "CREATE INDEX evm_tx_attempts_eth_tx_id ON evm_tx_attempts (eth_tx_id);",

#define DROP_INITIAL_SCHEMA                                                                                        \
        "DROP TABLE evm_tx_attempts; DROP TABLE evm_txes; DROP TABLE evm_heads; DROP TABLE log_broadcasts;",       \
        "DROP TABLE keys; DROP TABLE api_tokens; DROP TABLE sessions; DROP TABLE users;",                          \
        "DROP TABLE external_initiators; DROP TABLE bridge_types; DROP TABLE job_spec_errors;",                    \
        "DROP TABLE pipeline_task_runs; DROP TABLE pipeline_runs; DROP TABLE jobs; DROP TABLE pipeline_specs;",

#define SQLITE_NOW "(strftime('%Y-%m-%d %H:%M:%f000+00:00', 'now'))"

/* Statements of a step, NULL-terminated: one string each, so that no
 * literal outgrows what C compilers must support. */
typedef struct migration {
        const char *name;
        const char *const *up[2]; /* [LK_STORE_SQLITE], [LK_STORE_POSTGRES] */
        const char *const *down[2];
} migration;

static const char *const initial_sqlite[] = {
        INITIAL_SCHEMA("INTEGER PRIMARY KEY", "TEXT", "TEXT", "BLOB", "TEXT", SQLITE_NOW, "TEXT") NULL,
};
static const char *const initial_postgres[] = {
        INITIAL_SCHEMA("BIGSERIAL PRIMARY KEY", "UUID", "JSONB", "BYTEA", "TIMESTAMPTZ", "now()", "NUMERIC(78)") NULL,
};
static const char *const drop_initial[] = {DROP_INITIAL_SCHEMA NULL};

/* The bridge task's cacheTTL fallback: the last good answer per task. */
#define BRIDGE_CACHE(BYTES, TIME)                                                                                  \
        "CREATE TABLE bridge_last_value ("                                                                         \
        " dot_id TEXT NOT NULL,"                                                                                   \
        " spec_id BIGINT NOT NULL REFERENCES pipeline_specs (id) ON DELETE CASCADE,"                               \
        " value " BYTES " NOT NULL,"                                                                               \
        " finished_at " TIME " NOT NULL,"                                                                          \
        " PRIMARY KEY (dot_id, spec_id));",
static const char *const bridge_cache_sqlite[] = {BRIDGE_CACHE("BLOB", "TEXT") NULL};
static const char *const bridge_cache_postgres[] = {BRIDGE_CACHE("BYTEA", "TIMESTAMPTZ") NULL};
static const char *const drop_bridge_cache[] = {"DROP TABLE bridge_last_value;", NULL};

/* One-time (@at) cron jobs: the firing is recorded before the run starts,
 * so that a restart never fires the job twice. */
#define CRON_FIRED(TIME)                                                                                           \
        "CREATE TABLE cron_fired ("                                                                                \
        " job_id BIGINT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,"                                       \
        " fired_at " TIME " NOT NULL);",
static const char *const cron_fired_sqlite[] = {CRON_FIRED("TEXT") NULL};
static const char *const cron_fired_postgres[] = {CRON_FIRED("TIMESTAMPTZ") NULL};
static const char *const drop_cron_fired[] = {"DROP TABLE cron_fired;", NULL};

/* The transaction manager: each key's next nonce, owned by the node and
 * advanced in the same transaction that gives a transaction its nonce,
 * and the receipts found for broadcast attempts.  And the log
 * broadcaster's look-up of what a job consumed, by block range. */
#define TXM(NUMBER, BYTES, TIME, NOW, ID)                                                                          \
        "CREATE TABLE evm_key_states ("                                                                            \
        " evm_chain_id " NUMBER " NOT NULL,"                                                                       \
        " address " BYTES " NOT NULL,"                                                                             \
        " next_nonce BIGINT NOT NULL,"                                                                             \
        " created_at " TIME " NOT NULL DEFAULT " NOW ","                                                           \
        " PRIMARY KEY (evm_chain_id, address));",                                                                  \
        "CREATE TABLE evm_receipts ("                                                                              \
        " id " ID ","                                                                                              \
        " tx_hash " BYTES " NOT NULL UNIQUE,"                                                                      \
        " block_hash " BYTES " NOT NULL,"                                                                          \
        " block_number BIGINT NOT NULL,"                                                                           \
        " transaction_index BIGINT NOT NULL,"                                                                      \
        " status SMALLINT NOT NULL,"                                                                               \
        " gas_used BIGINT NOT NULL,"                                                                               \
        " created_at " TIME " NOT NULL DEFAULT " NOW ");",                                                          \
        "CREATE INDEX log_broadcasts_job_block ON log_broadcasts (evm_chain_id, job_id, block_number);",
static const char *const txm_sqlite[] = {TXM("TEXT", "BLOB", "TEXT", SQLITE_NOW, "INTEGER PRIMARY KEY") NULL};
static const char *const txm_postgres[] = {TXM("NUMERIC(78)", "BYTEA", "TIMESTAMPTZ", "now()", "BIGSERIAL PRIMARY KEY") NULL};
static const char *const drop_txm[] = {
        "DROP INDEX log_broadcasts_job_block; DROP TABLE evm_receipts; DROP TABLE evm_key_states;", NULL};

/* A pipeline task waiting on its transaction (ethtx with
 * minConfirmations): whether the receipt's outcome was handed to the
 * task, and whether a revert fails it. */
static const char *const txm_resume[] = {
        "ALTER TABLE evm_txes ADD COLUMN callback_completed BOOLEAN NOT NULL DEFAULT false;",
        "ALTER TABLE evm_txes ADD COLUMN fail_on_revert BOOLEAN NOT NULL DEFAULT false;",
        "CREATE INDEX evm_txes_waiting ON evm_txes (evm_chain_id, callback_completed)"
        " WHERE pipeline_task_run_id IS NOT NULL;",
        /* Chainlink's log_broadcasts_pending: below this block every log
         * handed out was consumed, so a restart need look back no further */
        "CREATE TABLE log_broadcasts_pending (evm_chain_id NUMERIC(78) PRIMARY KEY, block_number BIGINT NOT NULL);",
        NULL};
static const char *const drop_txm_resume[] = {
        "DROP TABLE log_broadcasts_pending;", "DROP INDEX evm_txes_waiting;",
        "ALTER TABLE evm_txes DROP COLUMN fail_on_revert;", "ALTER TABLE evm_txes DROP COLUMN callback_completed;",
        NULL};

static const migration migrations[] = {
        {"initial schema", {initial_sqlite, initial_postgres}, {drop_initial, drop_initial}},
        {"bridge response cache", {bridge_cache_sqlite, bridge_cache_postgres}, {drop_bridge_cache, drop_bridge_cache}},
        {"one-time cron firings", {cron_fired_sqlite, cron_fired_postgres}, {drop_cron_fired, drop_cron_fired}},
        {"transaction manager", {txm_sqlite, txm_postgres}, {drop_txm, drop_txm}},
        {"transactions resuming pipeline runs, logs pending", {txm_resume, txm_resume}, {drop_txm_resume, drop_txm_resume}},
};

static int exec_all(lk_db *db, const char *const *statements, lk_err *err) {
        for (; *statements; statements++) {
                int r = lk_db_exec(db, *statements, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

#define KNOWN ((int)(sizeof migrations / sizeof migrations[0]))

static const char create_table[] = "CREATE TABLE IF NOT EXISTS linkd_migrations ("
                                   " version INTEGER PRIMARY KEY,"
                                   " name TEXT NOT NULL,"
                                   " applied_at TEXT NOT NULL)";

int lk_store_migrations_known(void) {
        return KNOWN;
}

const char *lk_store_migration_name(int version) {
        return version >= 1 && version <= KNOWN ? migrations[version - 1].name : NULL;
}

static int current_version(lk_db *db, int *ret, lk_err *err) {
        int r = lk_db_exec(db, create_table, err);
        if (r < 0)
                return r;
        lk_stmt *st;
        r = lk_db_prepare(db, "SELECT COALESCE(MAX(version), 0) FROM linkd_migrations", &st, err);
        if (r < 0)
                return r;
        r = lk_stmt_step(st, err);
        if (r == 1)
                *ret = (int)lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int version_body(lk_db *db, void *arg, lk_err *err) {
        return current_version(db, arg, err);
}

int lk_store_version(lk_store *store, int *ret_version, lk_err *err) {
        return lk_store_tx(store, version_body, ret_version, err);
}

typedef struct step {
        int version;   /* the version before the step */
        bool applied;
} step;

static int migrate_one(lk_db *db, void *arg, lk_err *err) {
        step *st = arg;
        st->applied = false;
        int r = current_version(db, &st->version, err);
        if (r < 0 || st->version >= KNOWN)
                return r;
        const migration *m = &migrations[st->version];
        r = exec_all(db, m->up[lk_db_backend(db)], err);
        if (r < 0)
                return lk_err_prefix(err, "migration %d (%s)", st->version + 1, m->name);
        lk_stmt *ins;
        r = lk_db_prepare(db, "INSERT INTO linkd_migrations (version, name, applied_at) VALUES ($1, $2, $3)", &ins,
                          err);
        if (r < 0)
                return r;
        char now[40];
        lk__format_time(lk_now_realtime(), now);
        lk_stmt_bind_int64(ins, 1, st->version + 1);
        lk_stmt_bind_text(ins, 2, m->name, SIZE_MAX);
        lk_stmt_bind_text(ins, 3, now, SIZE_MAX);
        r = lk_stmt_run(ins, err);
        lk_stmt_done(ins);
        st->applied = r == 0;
        return r;
}

int lk_store_migrate(lk_store *store, int *ret_applied, lk_err *err) {
        int applied = 0;
        for (;;) {
                step st = {0};
                int r = lk_store_tx(store, migrate_one, &st, err);
                if (r < 0)
                        return r;
                if (st.version > KNOWN)
                        return lk_err_set(err, -EPROTO, "database is at migration %d, newer than this linkd knows (%d)",
                                          st.version, KNOWN);
                if (!st.applied)
                        break;
                applied++;
        }
        if (ret_applied)
                *ret_applied = applied;
        return 0;
}

static int rollback_one(lk_db *db, void *arg, lk_err *err) {
        step *st = arg;
        int r = current_version(db, &st->version, err);
        if (r < 0)
                return r;
        if (st->version == 0)
                return lk_err_set(err, -ENOENT, "no migration to roll back");
        if (st->version > KNOWN)
                return lk_err_set(err, -EPROTO, "database is at migration %d, newer than this linkd knows (%d): "
                                  "roll it back with the linkd that applied it", st->version, KNOWN);
        const migration *m = &migrations[st->version - 1];
        r = exec_all(db, m->down[lk_db_backend(db)], err);
        if (r < 0)
                return lk_err_prefix(err, "rolling back migration %d (%s)", st->version, m->name);
        lk_stmt *del;
        r = lk_db_prepare(db, "DELETE FROM linkd_migrations WHERE version = $1", &del, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(del, 1, st->version);
        r = lk_stmt_run(del, err);
        lk_stmt_done(del);
        return r;
}

int lk_store_rollback(lk_store *store, int *ret_version, lk_err *err) {
        step st = {0};
        int r = lk_store_tx(store, rollback_one, &st, err);
        if (r == 0 && ret_version)
                *ret_version = st.version - 1;
        return r;
}
