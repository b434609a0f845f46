/* Config and secrets: one table describes every setting; loading and
 * printing both walk it (see include/linkd/config.h). */
#include "linkd/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

typedef struct schema {
        const setting *settings;
        size_t count;
        size_t set_offset;   /* of the bool set[] array */
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

#define SCT(f) offsetof(lk_secrets, f)
static const setting secret_settings[] = {
        {"Database", "URL", NULL, T_SECRET, SCT(database.url), NULL, NOLIMIT, NULL},
        {"Database", "BackupURL", NULL, T_SECRET, SCT(database.backup_url), NULL, NOLIMIT, NULL},
        {"Password", "Keystore", NULL, T_SECRET, SCT(password.keystore), NULL, NOLIMIT, NULL},
        {"Password", "VRF", NULL, T_SECRET, SCT(password.vrf), NULL, NOLIMIT, NULL},
};

static const schema config_schema = {config_settings, sizeof config_settings / sizeof config_settings[0],
                                     offsetof(lk_config, set)};
static const schema secrets_schema = {secret_settings, sizeof secret_settings / sizeof secret_settings[0],
                                      offsetof(lk_secrets, set)};

_Static_assert(sizeof config_settings / sizeof config_settings[0] <= LK_CONFIG_SETTINGS_MAX, "grow set[]");

static void *field(void *base, const setting *s) {
        return (char *)base + s->offset;
}

static bool *set_flags(void *base, const schema *sc) {
        return (bool *)((char *)base + sc->set_offset);
}

static bool is_string_type(setting_type t) {
        return t == T_STRING || t == T_SECRET || t == T_IP || t == T_CHOICE;
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
        case T_IP: {
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
        case T_INT: {
                char *end;
                errno = 0;
                n = strtoll(text, &end, 10);
                if (errno || *end)
                        return lk_err_set(err, -EINVAL, "\"%s\" is not an integer", text);
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
        default: return "a string";
        }
}

static int store_value(void *base, const setting *s, const lk_toml_value *v, lk_err *err) {
        char text[64];
        if (v->type == LK_TOML_STRING) {
                if (s->type == T_BOOL || s->type == T_INT)
                        goto wrong_type;
                if (strlen(v->u.string.ptr) != v->u.string.len)
                        return lk_err_set(err, -EINVAL, "must not contain NUL characters");
                return store_text(base, s, v->u.string.ptr, err);
        }
        if (v->type == LK_TOML_BOOL && s->type == T_BOOL) {
                *(bool *)field(base, s) = v->u.boolean;
                return 0;
        }
        if (v->type == LK_TOML_INTEGER && (s->type == T_INT || s->type == T_SIZE)) {
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

/* Applies the keys of table, whose name is section (NULL for the root),
 * descending into the tables the schema knows. */
static int apply_table(void *base, const schema *sc, const char *input, const char *section,
                       const lk_toml_value *table, lk_err *err) {
        for (size_t i = 0; i < table->u.table.len; i++) {
                const lk_toml_kv *kv = &table->u.table.items[i];
                char name[256];
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

static void put_value(lk_buf *out, const void *base, const setting *s) {
        const void *f = (const char *)base + s->offset;
        switch (s->type) {
        case T_STRING:
        case T_CHOICE:
        case T_IP: put_toml_string(out, *(char *const *)f ? *(char *const *)f : ""); break;
        case T_SECRET: lk_buf_puts(out, "'xxxxx'"); break;
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

static void format_settings(const void *base, const schema *sc, bool only_set, lk_buf *out) {
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
                        lk_buf_printf(out, "%s[%s]\n", any ? "\n" : "", s->section);
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
        if (!cfg->auto_pprof.profile_root || !*cfg->auto_pprof.profile_root) {
                lk_free(cfg->auto_pprof.profile_root);
                cfg->auto_pprof.profile_root = lk_strdup(cfg->root_dir);
        }
        return 0;
}

void lk_config_format(const lk_config *cfg, bool only_set, lk_buf *out) {
        format_settings(cfg, &config_schema, only_set, out);
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
        format_settings(secrets, &secrets_schema, true, out);
}
