/* Config and secrets: one table describes every setting; loading and
 * printing both walk it (see include/linkd/config.h). */
#include "linkd/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "linkd/alloc.h"
#include "linkd/size.h"
#include "linkd/toml.h"

#define MAX_INPUT_BYTES (4 * 1024 * 1024)

typedef enum setting_type {
        T_STRING,
        T_SECRET,    /* a string never printed */
        T_BOOL,
        T_INT,
        T_DURATION,
        T_SIZE,
        T_IP,
        T_LOG_LEVEL,
        T_CHOICE,    /* a string from a fixed list, given in `choices` */
        T_URL,       /* a string with a scheme from `choices`; printed without its path, query or user */
        T_WEI,       /* an amount of ether: an integer (wei) or '20 gwei', stored as int64 wei */
        T_INT_TEXT,  /* an integer, also as a string of digits (Chainlink writes ChainID = '1') */
} setting_type;

typedef struct setting {
        const char *section; /* NULL for top-level keys */
        const char *key;
        const char *alias;   /* a second accepted name, or NULL */
        setting_type type;
        size_t offset;
        const char *default_value; /* in the setting's own spelling; NULL = unset */
        int64_t min, max;    /* for T_INT, T_DURATION (usec) and T_SIZE */
        const char *choices; /* for T_CHOICE: "a|b|c" */
} setting;

struct schema;

/* An array of tables ([[EVM]], [[EVM.Nodes]]) at the top of a schema: each
 * element is a struct of element_size bytes with its own schema, kept in
 * the parent as a pointer and a count. */
typedef struct table_array {
        const char *key;
        const struct schema *element;
        size_t element_size;
        size_t items_offset, count_offset;
        size_t max;
} table_array;

typedef struct schema {
        const setting *settings;
        size_t count;
        size_t set_offset;   /* of the bool set[] array */
        const table_array *arrays;
        size_t array_count;
} schema;

#define CFG(f) offsetof(lk_config, f)
#define NOLIMIT INT64_MIN, INT64_MAX
#define SEC(n) ((int64_t)(n) * LK_USEC_PER_SEC)

static const setting config_settings[] = {
        {NULL, "RootDir", NULL, T_STRING, CFG(root_dir), "./linkd-data", NOLIMIT, NULL},
        {NULL, "ShutdownGracePeriod", NULL, T_DURATION, CFG(shutdown_grace_period), "5s", LK_USEC_PER_MSEC, SEC(3600), NULL},
        {"Log", "Level", NULL, T_LOG_LEVEL, CFG(log.level), "info", NOLIMIT, NULL},
        {"Log", "JSONConsole", NULL, T_BOOL, CFG(log.json_console), "false", NOLIMIT, NULL},
        {"WebServer", "ListenIP", NULL, T_IP, CFG(web_server.listen_ip), "127.0.0.1", NOLIMIT, NULL},
        {"WebServer", "HTTPPort", NULL, T_INT, CFG(web_server.http_port), "6688", 0, 65535, NULL},
        {"WebServer", "HTTPMaxSize", NULL, T_SIZE, CFG(web_server.http_max_size), "32768", 1, INT64_MAX, NULL},
        {"WebServer", "BridgeResponseURL", NULL, T_STRING, CFG(web_server.bridge_response_url), NULL, NOLIMIT, NULL},
        {"WebServer", "SessionTimeout", NULL, T_DURATION, CFG(web_server.session_timeout), "15m", SEC(1), SEC(86400 * 30), NULL},
        {"WebServer", "BridgeCacheTTL", NULL, T_DURATION, CFG(web_server.bridge_cache_ttl), "0s", 0, SEC(1800), NULL},
        {"JobPipeline", "MaxRunDuration", NULL, T_DURATION, CFG(job_pipeline.max_run_duration), "10m", 0, SEC(86400 * 7), NULL},
        {"JobPipeline", "MaxSuccessfulRuns", NULL, T_INT, CFG(job_pipeline.max_successful_runs), "10000", 0, INT32_MAX, NULL},
        {"JobPipeline", "ReaperInterval", NULL, T_DURATION, CFG(job_pipeline.reaper_interval), "1h", 0, SEC(86400 * 30), NULL},
        {"JobPipeline", "ReaperThreshold", NULL, T_DURATION, CFG(job_pipeline.reaper_threshold), "24h", SEC(1), SEC(86400 * 3650), NULL},
        {"JobPipeline", "ExternalInitiatorsEnabled", NULL, T_BOOL, CFG(job_pipeline.external_initiators_enabled), "false", NOLIMIT, NULL},
        {"JobPipeline", "WorkerThreads", NULL, T_INT, CFG(job_pipeline.worker_threads), "0", 0, 1024, NULL},
        {"JobPipeline.HTTPRequest", "DefaultTimeout", NULL, T_DURATION, CFG(job_pipeline.http_request.default_timeout), "15s", 0, SEC(3600), NULL},
        {"JobPipeline.HTTPRequest", "MaxSize", NULL, T_SIZE, CFG(job_pipeline.http_request.max_size), "32768", 1, INT64_MAX, NULL},
        {"HealthCheck", "PollInterval", NULL, T_DURATION, CFG(health_check.poll_interval), "15s", LK_USEC_PER_MSEC, SEC(86400), NULL},
        {"Database", "DefaultIdleInTxSessionTimeout", NULL, T_DURATION, CFG(database.default_idle_in_tx_session_timeout), "1h", 0, SEC(86400), NULL},
        {"Database", "DefaultLockTimeout", NULL, T_DURATION, CFG(database.default_lock_timeout), "15s", 0, SEC(86400), NULL},
        {"Database", "DefaultQueryTimeout", NULL, T_DURATION, CFG(database.default_query_timeout), "10s", 0, SEC(86400), NULL},
        {"Database", "LogQueries", NULL, T_BOOL, CFG(database.log_queries), "false", NOLIMIT, NULL},
        {"Database", "MaxIdleConns", NULL, T_INT, CFG(database.max_idle_conns), "10", 0, 1000, NULL},
        {"Database", "MaxOpenConns", NULL, T_INT, CFG(database.max_open_conns), "20", 1, 1000, NULL},
        {"Database", "MigrateOnStartup", NULL, T_BOOL, CFG(database.migrate_on_startup), "true", NOLIMIT, NULL},
        {"Database", "SQLiteSynchronous", NULL, T_CHOICE, CFG(database.sqlite_synchronous), "full", NOLIMIT, "full|normal|extra"},
        {"Database.Lock", "Mode", NULL, T_CHOICE, CFG(database.lock.mode), "lease", NOLIMIT, "lease|advisory|none"},
        {"Database.Lock", "LeaseDuration", NULL, T_DURATION, CFG(database.lock.lease_duration), "10s", SEC(1), SEC(3600), NULL},
        {"Database.Lock", "LeaseRefreshInterval", NULL, T_DURATION, CFG(database.lock.lease_refresh_interval), "1s", 10 * LK_USEC_PER_MSEC, SEC(1800), NULL},
        {"Database.Lock", "AdvisoryID", NULL, T_INT, CFG(database.lock.advisory_id), "1027321974924625846", NOLIMIT, NULL},
        {"Database.Lock", "AdvisoryCheckInterval", NULL, T_DURATION, CFG(database.lock.advisory_check_interval), "1s", 10 * LK_USEC_PER_MSEC, SEC(3600), NULL},
        {"AutoPprof", "Enabled", NULL, T_BOOL, CFG(auto_pprof.enabled), "false", NOLIMIT, NULL},
        {"AutoPprof", "ProfileRoot", NULL, T_STRING, CFG(auto_pprof.profile_root), NULL, NOLIMIT, NULL},
        {"AutoPprof", "PollInterval", NULL, T_DURATION, CFG(auto_pprof.poll_interval), "10s", LK_USEC_PER_MSEC, SEC(86400), NULL},
        {"AutoPprof", "GatherDuration", NULL, T_DURATION, CFG(auto_pprof.gather_duration), "10s", LK_USEC_PER_MSEC, SEC(3600), NULL},
        {"AutoPprof", "GatherTraceDuration", NULL, T_DURATION, CFG(auto_pprof.gather_trace_duration), "5s", LK_USEC_PER_MSEC, SEC(3600), NULL},
        {"AutoPprof", "MaxProfileSize", NULL, T_SIZE, CFG(auto_pprof.max_profile_size), "100mb", 0, INT64_MAX, NULL},
        {"AutoPprof", "CPUProfileRate", NULL, T_INT, CFG(auto_pprof.cpu_profile_rate), "1", 0, 10000, NULL},
        {"AutoPprof", "MemProfileRate", NULL, T_INT, CFG(auto_pprof.mem_profile_rate), "1", 0, INT32_MAX, NULL},
        {"AutoPprof", "BlockProfileRate", NULL, T_INT, CFG(auto_pprof.block_profile_rate), "1", 0, INT32_MAX, NULL},
        {"AutoPprof", "MutexProfileFraction", NULL, T_INT, CFG(auto_pprof.mutex_profile_fraction), "1", 0, INT32_MAX, NULL},
        {"AutoPprof", "MemThreshold", NULL, T_SIZE, CFG(auto_pprof.mem_threshold), "4gb", 0, INT64_MAX, NULL},
        {"AutoPprof", "GoroutineThreshold", "ThreadThreshold", T_INT, CFG(auto_pprof.goroutine_threshold), "5000", 1, INT32_MAX, NULL},
};

#define CHAIN(f) offsetof(lk_evm_chain_config, f)
#define WEI_MAX "9223372036854775807 wei"
static const setting evm_chain_settings[] = {
        {NULL, "ChainID", NULL, T_INT_TEXT, CHAIN(chain_id), NULL, 1, INT64_MAX, NULL},
        {NULL, "Enabled", NULL, T_BOOL, CHAIN(enabled), "true", NOLIMIT, NULL},
        {NULL, "FinalityDepth", NULL, T_INT, CHAIN(finality_depth), "50", 0, 100000, NULL},
        {NULL, "MinIncomingConfirmations", NULL, T_INT, CHAIN(min_incoming_confirmations), "3", 1, 100000, NULL},
        {NULL, "MinContractPayment", NULL, T_STRING, CHAIN(min_contract_payment), "0.00001 link", NOLIMIT, NULL},
        {"GasEstimator", "Mode", NULL, T_CHOICE, CHAIN(gas_estimator.mode), "BlockHistory", NOLIMIT,
         "BlockHistory|FixedPrice|L2Suggested"},
        {"GasEstimator", "LimitDefault", NULL, T_INT, CHAIN(gas_estimator.limit_default), "500000", 21000, 1000000000,
         NULL},
        {"GasEstimator", "PriceDefault", NULL, T_WEI, CHAIN(gas_estimator.price_default), "20 gwei", 0, INT64_MAX,
         NULL},
        {"GasEstimator", "PriceMax", NULL, T_WEI, CHAIN(gas_estimator.price_max), "100000 gwei", 0, INT64_MAX, NULL},
        {"GasEstimator", "BumpMin", NULL, T_WEI, CHAIN(gas_estimator.bump_min), "5 gwei", 0, INT64_MAX, NULL},
        {"GasEstimator", "BumpPercent", NULL, T_INT, CHAIN(gas_estimator.bump_percent), "20", 0, 1000, NULL},
        {"GasEstimator", "BumpThreshold", NULL, T_INT, CHAIN(gas_estimator.bump_threshold), "3", 0, 100000, NULL},
        {"GasEstimator", "EIP1559DynamicFees", NULL, T_BOOL, CHAIN(gas_estimator.eip1559_dynamic_fees), "false",
         NOLIMIT, NULL},
        {"GasEstimator", "TipCapDefault", NULL, T_WEI, CHAIN(gas_estimator.tip_cap_default), "1 wei", 0, INT64_MAX,
         NULL},
        {"GasEstimator", "FeeCapDefault", NULL, T_WEI, CHAIN(gas_estimator.fee_cap_default), "100 gwei", 0,
         INT64_MAX, NULL},
        {"HeadTracker", "HistoryDepth", NULL, T_INT, CHAIN(head_tracker.history_depth), "100", 1, 100000, NULL},
        {"HeadTracker", "SamplingInterval", NULL, T_DURATION, CHAIN(head_tracker.sampling_interval), "1s",
         10 * LK_USEC_PER_MSEC, SEC(3600), NULL},
};

#define NODE(f) offsetof(lk_evm_node_config, f)
static const setting evm_node_settings[] = {
        {NULL, "Name", NULL, T_STRING, NODE(name), NULL, NOLIMIT, NULL},
        {NULL, "WSURL", NULL, T_URL, NODE(ws_url), NULL, NOLIMIT, "ws|wss"},
        {NULL, "HTTPURL", NULL, T_URL, NODE(http_url), NULL, NOLIMIT, "http|https"},
        {NULL, "SendOnly", NULL, T_BOOL, NODE(send_only), "false", NOLIMIT, NULL},
};

static const struct schema evm_node_schema = {evm_node_settings, sizeof evm_node_settings / sizeof evm_node_settings[0],
                                              offsetof(lk_evm_node_config, set), NULL, 0};
static const table_array evm_chain_arrays[] = {
        {"Nodes", &evm_node_schema, sizeof(lk_evm_node_config), CHAIN(nodes), CHAIN(node_count), 64},
};
static const struct schema evm_chain_schema = {evm_chain_settings,
                                               sizeof evm_chain_settings / sizeof evm_chain_settings[0],
                                               offsetof(lk_evm_chain_config, set), evm_chain_arrays, 1};
static const table_array config_arrays[] = {
        {"EVM", &evm_chain_schema, sizeof(lk_evm_chain_config), CFG(evm), CFG(evm_count), 64},
};

_Static_assert(sizeof evm_chain_settings / sizeof evm_chain_settings[0] <= LK_EVM_SETTINGS_MAX, "grow set[]");

#define SCT(f) offsetof(lk_secrets, f)
static const setting secret_settings[] = {
        {"Database", "URL", NULL, T_SECRET, SCT(database.url), NULL, NOLIMIT, NULL},
        {"Database", "BackupURL", NULL, T_SECRET, SCT(database.backup_url), NULL, NOLIMIT, NULL},
        {"Password", "Keystore", NULL, T_SECRET, SCT(password.keystore), NULL, NOLIMIT, NULL},
        {"Password", "VRF", NULL, T_SECRET, SCT(password.vrf), NULL, NOLIMIT, NULL},
};

static const schema config_schema = {config_settings, sizeof config_settings / sizeof config_settings[0],
                                     offsetof(lk_config, set), config_arrays, 1};
static const schema secrets_schema = {secret_settings, sizeof secret_settings / sizeof secret_settings[0],
                                      offsetof(lk_secrets, set), NULL, 0};

_Static_assert(sizeof config_settings / sizeof config_settings[0] <= LK_CONFIG_SETTINGS_MAX, "grow set[]");

static void *field(void *base, const setting *s) {
        return (char *)base + s->offset;
}

static bool *set_flags(void *base, const schema *sc) {
        return (bool *)((char *)base + sc->set_offset);
}

static bool is_string_type(setting_type t) {
        return t == T_STRING || t == T_SECRET || t == T_IP || t == T_CHOICE || t == T_URL;
}

/* Whether text is one of the '|'-separated choices. */
static bool is_choice(const char *choices, const char *text) {
        size_t n = strlen(text);
        for (const char *c = choices; *c; c += strcspn(c, "|"), c += *c == '|') {
                if (strcspn(c, "|") == n && strncmp(c, text, n) == 0)
                        return true;
        }
        return false;
}

/* text's scheme (before "://") is one of choices. */
static bool has_scheme(const char *choices, const char *text) {
        const char *colon = strstr(text, "://");
        if (!colon || colon == text || !colon[3])
                return false;
        char scheme[16];
        size_t n = (size_t)(colon - text);
        if (n >= sizeof scheme)
                return false;
        memcpy(scheme, text, n);
        scheme[n] = '\0';
        for (char *c = scheme; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        return is_choice(choices, scheme);
}

/* "20 gwei", "1.5 gwei", "1000" (wei) and the other units Chainlink reads;
 * at most INT64_MAX wei, no finer than one wei. */
static int parse_wei(const char *text, int64_t *ret, lk_err *err) {
        static const struct {
                const char *name;
                int digits;
        } units[] = {{"wei", 0}, {"kwei", 3}, {"mwei", 6}, {"gwei", 9}, {"micro", 12}, {"milli", 15},
                     {"eth", 18}, {"ether", 18}};
        const char *p = text, *fraction = NULL;
        if (!isdigit((unsigned char)*p))
                return lk_err_set(err, -EINVAL, "\"%s\" is not an amount such as '20 gwei'", text);
        while (isdigit((unsigned char)*p))
                p++;
        const char *whole_end = p;
        if (*p == '.')
                for (fraction = ++p; isdigit((unsigned char)*p); p++) {
                }
        const char *fraction_end = p;
        while (*p == ' ')
                p++;
        int digits = 0;
        bool known = !*p;
        for (size_t i = 0; i < sizeof units / sizeof *units && !known; i++)
                if (strcasecmp(p, units[i].name) == 0) {
                        digits = units[i].digits;
                        known = true;
                }
        if (!known)
                return lk_err_set(err, -EINVAL, "\"%s\": unknown unit (wei, kwei, mwei, gwei, micro, milli, eth)",
                                  text);
        /* the digits of the amount in wei: whole, then `digits` of the fraction */
        uint64_t wei = 0;
        for (const char *d = text; d < whole_end; d++)
                if (__builtin_mul_overflow(wei, 10, &wei) || __builtin_add_overflow(wei, (uint64_t)(*d - '0'), &wei))
                        goto too_large;
        for (int k = 0; k < digits; k++) {
                const char *d = fraction && fraction + k < fraction_end ? fraction + k : NULL;
                if (__builtin_mul_overflow(wei, 10, &wei) ||
                    __builtin_add_overflow(wei, (uint64_t)(d ? *d - '0' : 0), &wei))
                        goto too_large;
        }
        for (const char *d = fraction ? fraction + digits : NULL; d && d < fraction_end; d++)
                if (*d != '0')
                        return lk_err_set(err, -EINVAL, "\"%s\" is finer than one wei", text);
        if (wei > INT64_MAX)
                goto too_large;
        *ret = (int64_t)wei;
        return 0;
too_large:
        return lk_err_set(err, -ERANGE, "\"%s\" is too large (at most 9223372036854775807 wei)", text);
}

/* The setting's full name for messages: "WebServer.HTTPPort". */
static void full_name(const setting *s, const char *key, char *buf, size_t size) {
        if (s && s->section)
                snprintf(buf, size, "%s.%s", s->section, key);
        else
                snprintf(buf, size, "%s", key);
}

/* Converts text in the setting's own spelling (a default, or a TOML
 * string value) and stores it.  Errors are about the value only. */
static int store_text(void *base, const setting *s, const char *text, lk_err *err) {
        void *f = field(base, s);
        int64_t n = 0;
        switch (s->type) {
        case T_STRING:
        case T_SECRET:
        case T_CHOICE:
        case T_URL:
        case T_IP: {
                if (s->type == T_URL && !has_scheme(s->choices, text))
                        return lk_err_set(err, -EINVAL, "not a %s URL", s->choices);
                if (s->type == T_CHOICE && !is_choice(s->choices, text)) {
                        lk_buf list = LK_BUF_INIT;
                        for (const char *c = s->choices; *c; c += strcspn(c, "|"), c += *c == '|')
                                lk_buf_printf(&list, "%s'%.*s'", list.len ? ", " : "", (int)strcspn(c, "|"), c);
                        lk_err_set(err, -EINVAL, "\"%s\" is not one of %s", text, lk_buf_str(&list));
                        lk_buf_done(&list);
                        return -EINVAL;
                }
                if (s->type == T_IP) {
                        unsigned char addr[16];
                        if (inet_pton(AF_INET, text, addr) != 1 && inet_pton(AF_INET6, text, addr) != 1)
                                return lk_err_set(err, -EINVAL, "\"%s\" is not an IP address", text);
                }
                char **p = f;
                lk_free(*p);
                *p = lk_strdup(text);
                return 0;
        }
        case T_LOG_LEVEL: {
                lk_log_level level;
                if (lk_log_level_parse(text, &level) < 0)
                        return lk_err_set(err, -EINVAL, "unknown level \"%s\" (use debug, info, warn, error, crit, "
                                          "panic or fatal)", text);
                *(int64_t *)f = level;
                return 0;
        }
        case T_BOOL:
                *(bool *)f = strcmp(text, "true") == 0;
                return 0;
        case T_INT:
        case T_INT_TEXT: {
                char *end;
                errno = 0;
                n = strtoll(text, &end, 10);
                if (errno || *end || !*text)
                        return lk_err_set(err, -EINVAL, "\"%s\" is not an integer", text);
                break;
        }
        case T_WEI: {
                int r = parse_wei(text, &n, err);
                if (r < 0)
                        return r;
                break;
        }
        case T_DURATION: {
                int r = lk_duration_parse(text, &n, err);
                if (r < 0)
                        return r;
                break;
        }
        case T_SIZE: {
                uint64_t bytes;
                int r = lk_size_parse(text, &bytes, err);
                if (r < 0)
                        return r;
                if (bytes > INT64_MAX)
                        return lk_err_set(err, -ERANGE, "\"%s\" is too large", text);
                n = (int64_t)bytes;
                break;
        }
        }
        if (n < s->min || n > s->max) {
                lk_buf lo = LK_BUF_INIT, hi = LK_BUF_INIT;
                if (s->type == T_DURATION) {
                        lk_duration_format(&lo, s->min);
                        lk_duration_format(&hi, s->max);
                } else {
                        lk_buf_printf(&lo, "%" PRId64, s->min);
                        lk_buf_printf(&hi, "%" PRId64, s->max);
                }
                lk_err_set(err, -ERANGE, "%s is out of range (%s to %s)", text, lk_buf_str(&lo), lk_buf_str(&hi));
                lk_buf_done(&lo);
                lk_buf_done(&hi);
                return -ERANGE;
        }
        if (s->type == T_SIZE)
                *(uint64_t *)f = (uint64_t)n;
        else
                *(int64_t *)f = n;
        return 0;
}

static const char *toml_expected(setting_type t) {
        switch (t) {
        case T_BOOL: return "a boolean";
        case T_INT: return "an integer";
        case T_SIZE: return "a size string such as '100mb'";
        case T_DURATION: return "a duration string such as '10s'";
        case T_INT_TEXT: return "an integer";
        case T_WEI: return "an amount such as '20 gwei'";
        default: return "a string";
        }
}

static int store_value(void *base, const setting *s, const lk_toml_value *v, lk_err *err) {
        char text[64];
        if (v->type == LK_TOML_STRING) {
                if (s->type == T_BOOL || s->type == T_INT)
                        goto wrong_type;
                /* only decimal digits: strtoll would take a sign or spaces */
                if (s->type == T_INT_TEXT && strspn(v->u.string.ptr, "0123456789") != v->u.string.len)
                        return lk_err_set(err, -EINVAL, "\"%s\" is not a decimal integer", v->u.string.ptr);
                if (strlen(v->u.string.ptr) != v->u.string.len)
                        return lk_err_set(err, -EINVAL, "must not contain NUL characters");
                return store_text(base, s, v->u.string.ptr, err);
        }
        if (v->type == LK_TOML_BOOL && s->type == T_BOOL) {
                *(bool *)field(base, s) = v->u.boolean;
                return 0;
        }
        if (v->type == LK_TOML_INTEGER &&
            (s->type == T_INT || s->type == T_SIZE || s->type == T_INT_TEXT || s->type == T_WEI)) {
                snprintf(text, sizeof text, "%" PRId64, v->u.integer);
                return store_text(base, s, text, err);
        }
wrong_type:
        return lk_err_set(err, -EINVAL, "expected %s, got %s", toml_expected(s->type), lk_toml_type_name(v->type));
}

static const setting *find_setting(const schema *sc, const char *section, const char *key, bool *ret_alias) {
        for (size_t i = 0; i < sc->count; i++) {
                const setting *s = &sc->settings[i];
                bool same_section = section ? s->section && strcmp(section, s->section) == 0 : !s->section;
                if (!same_section)
                        continue;
                if (strcmp(s->key, key) == 0 || (s->alias && strcmp(s->alias, key) == 0)) {
                        *ret_alias = s->alias && strcmp(s->alias, key) == 0;
                        return s;
                }
        }
        return NULL;
}

/* Whether name is a table of the schema: the section of some setting, or
 * the parent of one ("Database" for "Database.Lock"). */
static bool is_section(const schema *sc, const char *name) {
        size_t n = strlen(name);
        for (size_t i = 0; i < sc->count; i++) {
                const char *section = sc->settings[i].section;
                if (section && strncmp(section, name, n) == 0 && (section[n] == '\0' || section[n] == '.'))
                        return true;
        }
        return false;
}

static int apply_kv(void *base, const schema *sc, const char *input, const char *section, const lk_toml_kv *kv,
                    lk_err *err) {
        char name[256];
        bool alias = false;
        const setting *s = find_setting(sc, section, kv->key, &alias);
        if (section)
                snprintf(name, sizeof name, "%s.%s", section, kv->key);
        else
                full_name(NULL, kv->key, name, sizeof name);
        if (!s)
                return lk_err_set_at(err, -EINVAL, kv->key_pos.line, kv->key_pos.column, "%s:%u:%u: unknown key %s",
                                     input, kv->key_pos.line, kv->key_pos.column, name);
        bool *set = set_flags(base, sc);
        size_t index = (size_t)(s - sc->settings);
        if (set[index] && s->alias)
                return lk_err_set_at(err, -EINVAL, kv->key_pos.line, kv->key_pos.column,
                                     "%s:%u:%u: %s: %s and %s are the same setting; give only one", input,
                                     kv->key_pos.line, kv->key_pos.column, name, s->key, s->alias);
        lk_err value_err = LK_ERR_INIT;
        int r = store_value(base, s, kv->value, &value_err);
        if (r < 0)
                return lk_err_set_at(err, r, kv->value->pos.line, kv->value->pos.column, "%s:%u:%u: %s: %s", input,
                                     kv->value->pos.line, kv->value->pos.column, name, value_err.msg);
        set[index] = true;
        return 0;
}

static int apply_table(void *base, const schema *sc, const char *input, const char *section,
                       const lk_toml_value *table, lk_err *err);
static void init_defaults(void *base, const schema *sc);

static const table_array *find_array(const schema *sc, const char *section, const char *key) {
        for (size_t i = 0; i < sc->array_count && !section; i++)
                if (strcmp(sc->arrays[i].key, key) == 0)
                        return &sc->arrays[i];
        return NULL;
}

/* Each table of the array value becomes a new element of a's array in
 * base, its defaults filled in, then its keys applied. */
static int apply_array(void *base, const table_array *a, const char *input, const lk_toml_kv *kv, lk_err *err) {
        const lk_toml_value *v = kv->value;
        if (v->type != LK_TOML_ARRAY)
                return lk_err_set_at(err, -EINVAL, kv->key_pos.line, kv->key_pos.column,
                                     "%s:%u:%u: %s must be an array of tables ([[%s]]), not %s", input,
                                     kv->key_pos.line, kv->key_pos.column, a->key, a->key, lk_toml_type_name(v->type));
        void **items = (void **)((char *)base + a->items_offset);
        size_t *count = (size_t *)((char *)base + a->count_offset);
        for (size_t i = 0; i < v->u.array.len; i++) {
                const lk_toml_value *t = v->u.array.items[i];
                if (t->type != LK_TOML_TABLE)
                        return lk_err_set_at(err, -EINVAL, t->pos.line, t->pos.column,
                                             "%s:%u:%u: %s must be an array of tables ([[%s]]), not of %s", input,
                                             t->pos.line, t->pos.column, a->key, a->key, lk_toml_type_name(t->type));
                if (*count >= a->max)
                        return lk_err_set_at(err, -EINVAL, t->pos.line, t->pos.column, "%s:%u:%u: more than %zu %s",
                                             input, t->pos.line, t->pos.column, a->max, a->key);
                *items = lk_realloc(*items, (*count + 1) * a->element_size);
                void *element = (char *)*items + *count * a->element_size;
                memset(element, 0, a->element_size);
                init_defaults(element, a->element);
                (*count)++;
                int r = apply_table(element, a->element, input, NULL, t, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Applies the keys of table, whose name is section (NULL for the root),
 * descending into the tables and arrays of tables the schema knows. */
static int apply_table(void *base, const schema *sc, const char *input, const char *section,
                       const lk_toml_value *table, lk_err *err) {
        for (size_t i = 0; i < table->u.table.len; i++) {
                const lk_toml_kv *kv = &table->u.table.items[i];
                char name[256];
                const table_array *array = find_array(sc, section, kv->key);
                if (array) {
                        int r = apply_array(base, array, input, kv, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                snprintf(name, sizeof name, section ? "%s.%s" : "%s%s", section ? section : "", kv->key);
                if (!is_section(sc, name)) {
                        int r = apply_kv(base, sc, input, section, kv, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (kv->value->type != LK_TOML_TABLE)
                        return lk_err_set_at(err, -EINVAL, kv->key_pos.line, kv->key_pos.column,
                                             "%s:%u:%u: %s must be a table, not %s", input, kv->key_pos.line,
                                             kv->key_pos.column, name, lk_toml_type_name(kv->value->type));
                int r = apply_table(base, sc, input, name, kv->value, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int load_text(void *base, const schema *sc, const char *input, const char *text, size_t len, lk_err *err) {
        lk_toml_value *root;
        lk_err parse_err = LK_ERR_INIT;
        if (lk_toml_parse(text, len, &root, &parse_err) < 0)
                return lk_err_set_at(err, parse_err.code, parse_err.line, parse_err.column, "%s:%u:%u: %s", input,
                                     parse_err.line, parse_err.column, parse_err.msg);
        int r = apply_table(base, sc, input, NULL, root, err);
        lk_toml_free(root);
        return r;
}

static int read_input(const char *path, char **ret_text, size_t *ret_len, lk_err *err) {
        FILE *f = fopen(path, "re");
        if (!f)
                return lk_err_set(err, -errno, "%s: %s", path, strerror(errno));
        struct stat st;
        if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
                fclose(f);
                return lk_err_set(err, -EINVAL, "%s: not a regular file", path);
        }
        lk_buf buf = LK_BUF_INIT;
        char chunk[8192];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
                if (buf.len + n > MAX_INPUT_BYTES) {
                        fclose(f);
                        lk_buf_done(&buf);
                        return lk_err_set(err, -EFBIG, "%s: larger than %d bytes", path, MAX_INPUT_BYTES);
                }
                lk_buf_append(&buf, chunk, n);
        }
        int failed = ferror(f);
        fclose(f);
        if (failed) {
                lk_buf_done(&buf);
                return lk_err_set(err, -EIO, "%s: read error", path);
        }
        *ret_text = lk_buf_steal(&buf, ret_len);
        return 0;
}

static int load_file(void *base, const schema *sc, const char *path, lk_err *err) {
        char *text;
        size_t len;
        int r = read_input(path, &text, &len, err);
        if (r < 0)
                return r;
        r = load_text(base, sc, path, text, len, err);
        lk_free(text);
        return r;
}

static void init_defaults(void *base, const schema *sc) {
        for (size_t i = 0; i < sc->count; i++) {
                const setting *s = &sc->settings[i];
                /* Defaults are constants of this file and always valid. */
                if (s->default_value && store_text(base, s, s->default_value, NULL) < 0)
                        __builtin_trap();
        }
}

static void free_strings(void *base, const schema *sc) {
        for (size_t i = 0; i < sc->count; i++)
                if (is_string_type(sc->settings[i].type))
                        lk_freep((char **)field(base, &sc->settings[i]));
        for (size_t i = 0; i < sc->array_count; i++) {
                const table_array *a = &sc->arrays[i];
                void **items = (void **)((char *)base + a->items_offset);
                size_t *count = (size_t *)((char *)base + a->count_offset);
                for (size_t k = 0; k < *count; k++)
                        free_strings((char *)*items + k * a->element_size, a->element);
                lk_freep((char **)items);
                *count = 0;
        }
}

/* TOML string: a literal '...' when possible, otherwise "..." escaped. */
static void put_toml_string(lk_buf *out, const char *s) {
        bool literal = true;
        for (const char *p = s; *p; p++)
                if (*p == '\'' || (unsigned char)*p < 0x20 || *p == 0x7f)
                        literal = false;
        if (literal) {
                lk_buf_printf(out, "'%s'", s);
                return;
        }
        lk_buf_putc(out, '"');
        lk_buf_put_json_escaped(out, s, strlen(s));
        lk_buf_putc(out, '"');
}

/* scheme://host[:port] only: the path, query or user may hold a key. */
static void put_url_origin(lk_buf *out, const char *url) {
        const char *separator = strstr(url, "://");
        const char *host = separator ? separator + 3 : url;
        const char *at = strchr(host, '@'), *end = host + strcspn(host, "/?#");
        if (at && at < end)
                host = at + 1;
        int scheme_len = separator ? (int)(separator + 3 - url) : 0;
        lk_buf_printf(out, "'%.*s%.*s%s'", scheme_len, url, (int)(end - host), host, *end ? "/…" : "");
}

static void put_value(lk_buf *out, const void *base, const setting *s) {
        const void *f = (const char *)base + s->offset;
        switch (s->type) {
        case T_STRING:
        case T_CHOICE:
        case T_IP: put_toml_string(out, *(char *const *)f ? *(char *const *)f : ""); break;
        case T_SECRET: lk_buf_puts(out, "'xxxxx'"); break;
        case T_URL: put_url_origin(out, *(char *const *)f ? *(char *const *)f : ""); break;
        case T_WEI: lk_buf_printf(out, "'%" PRId64 " wei'", *(const int64_t *)f); break;
        case T_INT_TEXT: lk_buf_printf(out, "'%" PRId64 "'", *(const int64_t *)f); break;
        case T_BOOL: lk_buf_puts(out, *(const bool *)f ? "true" : "false"); break;
        case T_INT: lk_buf_printf(out, "%" PRId64, *(const int64_t *)f); break;
        case T_LOG_LEVEL: lk_buf_printf(out, "'%s'", lk_log_level_name((lk_log_level) * (const int64_t *)f)); break;
        case T_DURATION:
                lk_buf_putc(out, '\'');
                lk_duration_format(out, *(const lk_usec *)f);
                lk_buf_putc(out, '\'');
                break;
        case T_SIZE:
                lk_buf_putc(out, '\'');
                lk_size_format(out, *(const uint64_t *)f);
                lk_buf_putc(out, '\'');
                break;
        }
}

static void format_settings(const void *base, const schema *sc, const char *prefix, bool only_set, lk_buf *out);

/* [[prefix.key]] blocks for each array of tables. */
static void format_arrays(const void *base, const schema *sc, const char *prefix, bool only_set, lk_buf *out) {
        for (size_t i = 0; i < sc->array_count; i++) {
                const table_array *a = &sc->arrays[i];
                void *const *items = (void *const *)((const char *)base + a->items_offset);
                size_t count = *(const size_t *)((const char *)base + a->count_offset);
                char name[64];
                snprintf(name, sizeof name, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", a->key);
                for (size_t k = 0; k < count; k++) {
                        const void *element = (const char *)*items + k * a->element_size;
                        lk_buf_printf(out, "%s[[%s]]\n", out->len ? "\n" : "", name);
                        format_settings(element, a->element, name, only_set, out);
                        format_arrays(element, a->element, name, only_set, out);
                }
        }
}

/* prefix: the name of the array of tables base is an element of, which
 * its sections' names start with ("EVM" for [EVM.GasEstimator]). */
static void format_settings(const void *base, const schema *sc, const char *prefix, bool only_set, lk_buf *out) {
        const bool *set = (const bool *)((const char *)base + sc->set_offset);
        const char *section = NULL;
        bool any = false;
        for (size_t i = 0; i < sc->count; i++) {
                const setting *s = &sc->settings[i];
                const void *f = (const char *)base + s->offset;
                if (only_set && !set[i])
                        continue;
                if (is_string_type(s->type) && !*(char *const *)f)
                        continue;
                bool new_section = s->section && (!section || strcmp(section, s->section) != 0);
                if (new_section) {
                        lk_buf_printf(out, "%s[%s%s%s]\n", any ? "\n" : "", prefix ? prefix : "", prefix ? "." : "",
                                      s->section);
                        section = s->section;
                }
                lk_buf_printf(out, "%s = ", s->key);
                put_value(out, base, s);
                lk_buf_putc(out, '\n');
                any = true;
        }
}

void lk_config_init(lk_config *cfg) {
        memset(cfg, 0, sizeof *cfg);
        init_defaults(cfg, &config_schema);
}

void lk_config_done(lk_config *cfg) {
        free_strings(cfg, &config_schema);
}

int lk_config_load_text(lk_config *cfg, const char *name, const char *text, size_t len, lk_err *err) {
        return load_text(cfg, &config_schema, name, text, len, err);
}

int lk_config_load_file(lk_config *cfg, const char *path, lk_err *err) {
        return load_file(cfg, &config_schema, path, err);
}

/* [[EVM]] number i (from 1 in messages): what Chainlink's ValidateConfig
 * asks of a chain and its nodes, for what linkd supports. */
static int check_chain(const lk_config *cfg, size_t i, lk_err *err) {
        const lk_evm_chain_config *c = &cfg->evm[i];
        if (!c->set[0])
                return lk_err_set(err, -EINVAL, "EVM[%zu]: ChainID is missing", i);
        for (size_t k = 0; k < i; k++)
                if (cfg->evm[k].chain_id == c->chain_id)
                        return lk_err_set(err, -EINVAL, "EVM[%zu]: ChainID %" PRId64 " is also EVM[%zu]'s", i,
                                          c->chain_id, k);
        if (c->enabled && c->node_count == 0)
                return lk_err_set(err, -EINVAL, "EVM[%zu] (chain %" PRId64 "): at least one [[EVM.Nodes]] is needed", i,
                                  c->chain_id);
        if (c->gas_estimator.price_default > c->gas_estimator.price_max)
                return lk_err_set(err, -EINVAL, "EVM[%zu] (chain %" PRId64 "): GasEstimator.PriceDefault exceeds PriceMax",
                                  i, c->chain_id);
        if (c->gas_estimator.eip1559_dynamic_fees &&
            c->gas_estimator.tip_cap_default > c->gas_estimator.fee_cap_default)
                return lk_err_set(err, -EINVAL,
                                  "EVM[%zu] (chain %" PRId64 "): GasEstimator.TipCapDefault exceeds FeeCapDefault", i,
                                  c->chain_id);
        for (size_t n = 0; n < c->node_count; n++) {
                const lk_evm_node_config *node = &c->nodes[n];
                if (!node->name || !*node->name)
                        return lk_err_set(err, -EINVAL, "EVM[%zu].Nodes[%zu]: Name is missing", i, n);
                for (size_t k = 0; k < n; k++)
                        if (strcmp(c->nodes[k].name, node->name) == 0)
                                return lk_err_set(err, -EINVAL, "EVM[%zu].Nodes[%zu]: Name %s is also Nodes[%zu]'s", i,
                                                  n, node->name, k);
                if (node->send_only && !node->http_url)
                        return lk_err_set(err, -EINVAL, "EVM[%zu].Nodes[%zu] (%s): a SendOnly node needs HTTPURL", i,
                                          n, node->name);
                if (!node->ws_url && !node->http_url)
                        return lk_err_set(err, -EINVAL, "EVM[%zu].Nodes[%zu] (%s): WSURL or HTTPURL is needed", i, n,
                                          node->name);
        }
        return 0;
}

int lk_config_finish(lk_config *cfg, lk_err *err) {
        if (strncmp(cfg->root_dir, "~/", 2) == 0 || strcmp(cfg->root_dir, "~") == 0) {
                const char *home = secure_getenv("HOME");
                if (!home || !*home)
                        return lk_err_set(err, -EINVAL, "RootDir %s starts with ~ but HOME is not set", cfg->root_dir);
                char *expanded = lk_asprintf("%s%s", home, cfg->root_dir + 1);
                lk_free(cfg->root_dir);
                cfg->root_dir = expanded;
        }
        if (!*cfg->root_dir)
                return lk_err_set(err, -EINVAL, "RootDir must not be empty");
        /* Chainlink's rule: a lease renewed less often than twice per
         * duration can lapse between two renewals. */
        if (cfg->database.lock.lease_refresh_interval * 2 > cfg->database.lock.lease_duration)
                return lk_err_set(err, -EINVAL, "Database.Lock.LeaseRefreshInterval must be at most half of "
                                  "Database.Lock.LeaseDuration");
        if (cfg->database.max_idle_conns > cfg->database.max_open_conns)
                return lk_err_set(err, -EINVAL, "Database.MaxIdleConns must not exceed Database.MaxOpenConns");
        for (size_t i = 0; i < cfg->evm_count; i++) {
                int r = check_chain(cfg, i, err);
                if (r < 0)
                        return r;
        }
        if (!cfg->auto_pprof.profile_root || !*cfg->auto_pprof.profile_root) {
                lk_free(cfg->auto_pprof.profile_root);
                cfg->auto_pprof.profile_root = lk_strdup(cfg->root_dir);
        }
        return 0;
}

void lk_config_format(const lk_config *cfg, bool only_set, lk_buf *out) {
        format_settings(cfg, &config_schema, NULL, only_set, out);
        format_arrays(cfg, &config_schema, NULL, only_set, out);
}

void lk_secrets_init(lk_secrets *secrets) {
        memset(secrets, 0, sizeof *secrets);
        init_defaults(secrets, &secrets_schema);
}

void lk_secrets_done(lk_secrets *secrets) {
        free_strings(secrets, &secrets_schema);
}

int lk_secrets_load_text(lk_secrets *secrets, const char *name, const char *text, size_t len, lk_err *err) {
        return load_text(secrets, &secrets_schema, name, text, len, err);
}

int lk_secrets_load_file(lk_secrets *secrets, const char *path, lk_err *err) {
        return load_file(secrets, &secrets_schema, path, err);
}

void lk_secrets_format_masked(const lk_secrets *secrets, lk_buf *out) {
        format_settings(secrets, &secrets_schema, NULL, true, out);
}
