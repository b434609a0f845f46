/* The node's configuration (config TOML) and secrets (secrets TOML), with
 * Chainlink's key names where Chainlink has the setting.
 *
 * Every setting is described once, in a table in src/base/config.c: its
 * name, type, default and limits.  Loading walks the TOML against that
 * table, so an unknown key, a wrong type or an out-of-range value is an
 * error that names the file, line and column.  Printing walks the same
 * table, which is how `linkd node validate` shows the effective config
 * with defaults filled in and secrets masked. */
#ifndef LINKD_CONFIG_H
#define LINKD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/err.h"
#include "linkd/log.h"
#include "linkd/time.h"

#define LK_CONFIG_SETTINGS_MAX 64
#define LK_EVM_SETTINGS_MAX 24

/* One [[EVM.Nodes]] entry: an RPC node of a chain. */
typedef struct lk_evm_node_config {
        char *name;
        char *ws_url;   /* ws:// or wss://; may carry a key: printed masked */
        char *http_url; /* http:// or https://, likewise */
        bool send_only;
        bool set[LK_EVM_SETTINGS_MAX];
} lk_evm_node_config;

/* One [[EVM]] entry: a chain, with Chainlink's keys and defaults. */
typedef struct lk_evm_chain_config {
        int64_t chain_id;
        bool enabled;
        int64_t finality_depth;
        int64_t min_incoming_confirmations;
        char *min_contract_payment; /* Chainlink's assets.Link text: juels, or '0.1 link' */
        struct {
                char *mode;            /* "BlockHistory", "FixedPrice" or "L2Suggested" */
                int64_t limit_default; /* gas */
                int64_t price_default; /* wei */
                int64_t price_max;     /* wei */
                int64_t bump_min;       /* wei: a bump adds at least this */
                int64_t bump_percent;
                int64_t bump_threshold; /* blocks; 0 = never bump */
                bool eip1559_dynamic_fees; /* send type-2 transactions */
                int64_t tip_cap_default;   /* wei */
                int64_t fee_cap_default;   /* wei */
        } gas_estimator;
        struct {
                int64_t history_depth;
                lk_usec sampling_interval; /* how often the chain is polled (heads, receipts) */
        } head_tracker;
        lk_evm_node_config *nodes;
        size_t node_count;
        bool set[LK_EVM_SETTINGS_MAX];
} lk_evm_chain_config;

typedef struct lk_config {
        char *root_dir;
        lk_usec shutdown_grace_period;
        struct {
                int64_t level; /* lk_log_level */
                bool json_console;
        } log;
        struct {
                char *listen_ip;
                int64_t http_port;
                uint64_t http_max_size;       /* request bodies beyond this get 413 */
                char *bridge_response_url;    /* base of an async bridge's responseURL; NULL = unset */
                lk_usec bridge_cache_ttl;
                lk_usec session_timeout;      /* a session idle this long ends */
        } web_server;
        struct {
                lk_usec max_run_duration;     /* 0 = none */
                int64_t max_successful_runs;  /* per pipeline spec; 0 = store no runs */
                lk_usec reaper_interval;      /* 0 = no reaper */
                lk_usec reaper_threshold;
                int64_t worker_threads;       /* 0 = one per online CPU */
                bool external_initiators_enabled; /* webhook runs by external initiators */
                struct {
                        lk_usec default_timeout;
                        uint64_t max_size;
                } http_request;
        } job_pipeline;
        struct {
                lk_usec poll_interval;
        } health_check;
        struct {
                lk_usec default_idle_in_tx_session_timeout;
                lk_usec default_lock_timeout;
                lk_usec default_query_timeout;
                bool log_queries;
                int64_t max_idle_conns;
                int64_t max_open_conns;
                bool migrate_on_startup;
                char *sqlite_synchronous; /* "full", "normal" or "extra" */
                struct {
                        char *mode;       /* "lease", "advisory" or "none" */
                        lk_usec lease_duration;
                        lk_usec lease_refresh_interval;
                        int64_t advisory_id;
                        lk_usec advisory_check_interval;
                } lock;
        } database;
        struct {
                bool enabled;
                char *profile_root;
                lk_usec poll_interval;
                lk_usec gather_duration;
                lk_usec gather_trace_duration;
                uint64_t max_profile_size;
                int64_t cpu_profile_rate;
                int64_t mem_profile_rate;
                int64_t block_profile_rate;
                int64_t mutex_profile_fraction;
                uint64_t mem_threshold;
                int64_t goroutine_threshold;
        } auto_pprof;
        lk_evm_chain_config *evm; /* [[EVM]] */
        size_t evm_count;
        bool set[LK_CONFIG_SETTINGS_MAX]; /* which settings the input gave */
} lk_config;

typedef struct lk_secrets {
        struct {
                char *url;
                char *backup_url;
        } database;
        struct {
                char *keystore;
                char *vrf;
        } password;
        bool set[LK_CONFIG_SETTINGS_MAX];
} lk_secrets;

/* Fills cfg with the defaults.  Every lk_config must end with
 * lk_config_done. */
void lk_config_init(lk_config *cfg);
void lk_config_done(lk_config *cfg);

/* Applies the settings in a TOML document over cfg.  name is what errors
 * call the input (a file name).  Errors read "<name>:<line>:<col>: <what>"
 * and carry the line and column. */
int lk_config_load_text(lk_config *cfg, const char *name, const char *text, size_t len, lk_err *err);
/* As lk_config_load_text, reading the file at path. */
int lk_config_load_file(lk_config *cfg, const char *path, lk_err *err);

/* Resolves what depends on other settings once all input is applied:
 * expands "~/" in RootDir from $HOME and defaults ProfileRoot to RootDir;
 * checks each [[EVM]] chain (a unique ChainID, at least one node, unique
 * node names, the URLs a node needs). */
int lk_config_finish(lk_config *cfg, lk_err *err);

/* Writes cfg as TOML; with only_set, just the settings the input gave. */
void lk_config_format(const lk_config *cfg, bool only_set, lk_buf *out);

void lk_secrets_init(lk_secrets *secrets);
void lk_secrets_done(lk_secrets *secrets);
int lk_secrets_load_file(lk_secrets *secrets, const char *path, lk_err *err);
int lk_secrets_load_text(lk_secrets *secrets, const char *name, const char *text, size_t len, lk_err *err);
/* Writes the secrets that are set, every value replaced by 'xxxxx'. */
void lk_secrets_format_masked(const lk_secrets *secrets, lk_buf *out);

#endif
