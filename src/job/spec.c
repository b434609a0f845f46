/* Job spec TOML: Chainlink v1.13's job.ValidateSpec plus the cron,
 * webhook, directrequest and vrf Validated*Spec checks, collecting every
 * error instead of stopping at the first. */
#include "linkd/job.h"

#include <ctype.h>
#include <errno.h>
#include <gmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/hex.h"
#include "linkd/keccak.h"
#include "linkd/toml.h"
#include "linkd/uuid.h"
#include "linkd/value.h"
#include "pipeline/graph.h"
#include "pipeline/task.h"

#define KEY_NOT_SET "key not set"
#define DEFAULT_REQUEST_TIMEOUT (24 * 3600 * LK_USEC_PER_SEC)
#define DEFAULT_GAS_MULTIPLIER 1.15
#define DEFAULT_CHUNK_SIZE 20

typedef struct parser {
        const char *text;
        size_t len;
        const lk_toml_value *root;
        lk_job_errors *errors;
        lk_job_spec *spec;
} parser;

static void add_error_at(lk_job_errors *errors, uint32_t line, uint32_t column, const char *fmt, ...)
        LK_PRINTF(4, 5);

static void add_error_at(lk_job_errors *errors, uint32_t line, uint32_t column, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *message = lk_vasprintf(fmt, ap);
        va_end(ap);
        errors->items = lk_realloc(errors->items, (errors->count + 1) * sizeof *errors->items);
        errors->items[errors->count++] = (lk_job_error){line, column, message};
}

#define add_error(p, line, ...) add_error_at((p)->errors, (line), 0, __VA_ARGS__)

void lk_job_errors_add(lk_job_errors *errors, uint32_t line, const char *message) {
        add_error_at(errors, line, 0, "%s", message);
}

void lk_job_errors_done(lk_job_errors *errors) {
        for (size_t i = 0; i < errors->count; i++)
                lk_free(errors->items[i].message);
        lk_freep(&errors->items);
        errors->count = 0;
}

void lk_job_errors_format(const lk_job_errors *errors, lk_buf *out) {
        for (size_t i = 0; i < errors->count; i++) {
                const lk_job_error *e = &errors->items[i];
                if (e->line && e->column)
                        lk_buf_printf(out, "line %" PRIu32 ", column %" PRIu32 ": ", e->line, e->column);
                else if (e->line)
                        lk_buf_printf(out, "line %" PRIu32 ": ", e->line);
                lk_buf_printf(out, "%s\n", e->message);
        }
}

const char *lk_job_type_name(lk_job_type type) {
        switch (type) {
        case LK_JOB_CRON: return "cron";
        case LK_JOB_WEBHOOK: return "webhook";
        case LK_JOB_DIRECTREQUEST: return "directrequest";
        case LK_JOB_VRF: return "vrf";
        }
        return "?";
}

/* ---- EIP-55 ---- */

bool lk_job_address_is_eip55(const char *s) {
        if (strlen(s) != 42 || s[0] != '0' || s[1] != 'x')
                return false;
        char lower[40];
        for (size_t i = 0; i < 40; i++) {
                if (lk_hex_digit(s[i + 2]) < 0)
                        return false;
                lower[i] = (char)tolower((unsigned char)s[i + 2]);
        }
        uint8_t hash[32];
        lk_keccak256(lower, sizeof lower, hash);
        for (size_t i = 0; i < 40; i++) {
                int nibble = i % 2 ? hash[i / 2] & 0xf : hash[i / 2] >> 4;
                char want = nibble >= 8 ? (char)toupper((unsigned char)lower[i]) : lower[i];
                if (s[i + 2] != want)
                        return false;
        }
        return true;
}

/* ---- typed getters: go-toml's Unmarshal into the Job structs ---- */

static void type_error(parser *p, const char *key, const lk_toml_value *v, const char *want) {
        add_error(p, v->pos.line, "%s: expected %s, got %s", key, want, lk_toml_type_name(v->type));
}

/* The string under key; NULL when absent or (with an error) not a string. */
static const lk_toml_value *get_string(parser *p, const char *key) {
        const lk_toml_value *v = lk_toml_table_get(p->root, key);
        if (v && v->type != LK_TOML_STRING) {
                type_error(p, key, v, "string");
                return NULL;
        }
        return v;
}

static bool has_nul(const lk_toml_value *v) {
        return strlen(v->u.string.ptr) != v->u.string.len;
}

static char *dup_string(parser *p, const char *key) {
        const lk_toml_value *v = get_string(p, key);
        return v ? lk_strndup(v->u.string.ptr, v->u.string.len) : NULL;
}

static bool get_integer(parser *p, const char *key, int64_t min, int64_t max, const char *type, int64_t *ret) {
        const lk_toml_value *v = lk_toml_table_get(p->root, key);
        if (!v)
                return false;
        if (v->type != LK_TOML_INTEGER) {
                type_error(p, key, v, "integer");
                return false;
        }
        if (v->u.integer < min || v->u.integer > max) {
                add_error(p, v->pos.line, "%s: %" PRId64 " out of range for %s", key, v->u.integer, type);
                return false;
        }
        *ret = v->u.integer;
        return true;
}

static bool get_uint32(parser *p, const char *key, uint32_t *ret) {
        int64_t n;
        if (!get_integer(p, key, 0, UINT32_MAX, "uint32", &n))
                return false;
        *ret = (uint32_t)n;
        return true;
}

static void get_bool(parser *p, const char *key, bool *ret) {
        const lk_toml_value *v = lk_toml_table_get(p->root, key);
        if (v && v->type != LK_TOML_BOOL)
                type_error(p, key, v, "bool");
        else if (v)
                *ret = v->u.boolean;
}

static void get_float(parser *p, const char *key, double *ret) {
        const lk_toml_value *v = lk_toml_table_get(p->root, key);
        if (!v)
                return;
        if (v->type == LK_TOML_FLOAT)
                *ret = v->u.floating;
        else if (v->type == LK_TOML_INTEGER)
                *ret = (double)v->u.integer;
        else
                type_error(p, key, v, "float");
}

/* models.Interval / time.Duration from text. */
static void get_duration(parser *p, const char *key, lk_usec *ret) {
        const lk_toml_value *v = get_string(p, key);
        if (!v)
                return;
        lk_err e = LK_ERR_INIT;
        if (has_nul(v) || lk_duration_parse(v->u.string.ptr, ret, &e) < 0)
                add_error(p, v->pos.line, "%s: %s", key, has_nul(v) ? "invalid duration" : e.msg);
}

static bool parse_address(parser *p, const char *key, const lk_toml_value *v, lk_job_address *ret) {
        if (v->type != LK_TOML_STRING) {
                type_error(p, key, v, "string");
                return false;
        }
        if (has_nul(v) || !lk_job_address_is_eip55(v->u.string.ptr)) {
                add_error(p, v->pos.line, "\"%s\" is not a valid EIP55 formatted address", v->u.string.ptr);
                return false;
        }
        memcpy(ret->hex, v->u.string.ptr, sizeof ret->hex);
        return true;
}

static bool get_address(parser *p, const char *key, lk_job_address *ret) {
        const lk_toml_value *v = lk_toml_table_get(p->root, key);
        return v && parse_address(p, key, v, ret);
}

static void get_addresses(parser *p, const char *key, lk_job_address **ret, size_t *ret_count) {
        const lk_toml_value *v = lk_toml_table_get(p->root, key);
        if (!v)
                return;
        if (v->type != LK_TOML_ARRAY) {
                type_error(p, key, v, "array");
                return;
        }
        *ret = lk_calloc(v->u.array.len ? v->u.array.len : 1, sizeof **ret);
        for (size_t i = 0; i < v->u.array.len; i++)
                if (parse_address(p, key, v->u.array.items[i], &(*ret)[*ret_count]))
                        (*ret_count)++;
}

static bool is_decimal(const char *s, bool sign) {
        if (sign && (*s == '+' || *s == '-'))
                s++;
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

/* utils.Big / assets.Link: a TOML integer or a base-10 string. */
static char *get_big(parser *p, const char *key, const char *go_type) {
        const lk_toml_value *v = lk_toml_table_get(p->root, key);
        if (!v)
                return NULL;
        if (v->type == LK_TOML_INTEGER)
                return lk_asprintf("%" PRId64, v->u.integer);
        if (v->type != LK_TOML_STRING) {
                type_error(p, key, v, "string");
                return NULL;
        }
        if (has_nul(v) || !is_decimal(v->u.string.ptr, true)) {
                add_error(p, v->pos.line, "%s: cannot unmarshal %s into a %s", key, v->u.string.ptr, go_type);
                return NULL;
        }
        return lk_strdup(v->u.string.ptr);
}

/* ---- common fields ---- */

/* google/uuid's Parse: the 36-character form, optionally wrapped as
 * urn:uuid:... or {...}, or 32 bare hex digits. */
static int parse_uuid(const char *s, size_t len, char out[static 37]) {
        if (len == 45 && strncasecmp(s, "urn:uuid:", 9) == 0)
                s += 9, len -= 9;
        else if (len == 38 && s[0] == '{' && s[37] == '}')
                s += 1, len -= 2;
        if (len != 36 && len != 32)
                return -EINVAL;
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
                bool dash_place = len == 36 && (i == 8 || i == 13 || i == 18 || i == 23);
                if (dash_place != (s[i] == '-'))
                        return -EBADMSG;
                if (!dash_place && lk_hex_digit(s[i]) < 0)
                        return -EBADMSG;
                if (len == 32 && (o == 8 || o == 13 || o == 18 || o == 23))
                        out[o++] = '-';
                out[o++] = (char)tolower((unsigned char)s[i]);
        }
        out[36] = '\0';
        return 0;
}

static int parse_external_job_id(parser *p) {
        const lk_toml_value *v = get_string(p, "externalJobID");
        if (!v)
                return lk_uuid_v4(p->spec->external_job_id);
        int r = parse_uuid(v->u.string.ptr, v->u.string.len, p->spec->external_job_id);
        if (r == -EINVAL)
                add_error(p, v->pos.line, "invalid UUID length: %zu", v->u.string.len);
        else if (r < 0)
                add_error(p, v->pos.line, "invalid UUID format");
        return 0;
}

/* The TOML line of line `line` of a string value's content: multi-line
 * strings drop a newline after the opening quotes, basic ones turn "\n"
 * into a line and a line-ending backslash removes lines. */
static uint32_t toml_line_of(const parser *p, const lk_toml_value *v, uint32_t line) {
        size_t off = 0;
        for (uint32_t l = 1; l < v->pos.line && off < p->len; off++)
                if (p->text[off] == '\n')
                        l++;
        off += v->pos.column - 1;
        uint32_t raw = v->pos.line;
        if (off + 3 > p->len || (memcmp(p->text + off, "\"\"\"", 3) != 0 && memcmp(p->text + off, "'''", 3) != 0))
                return raw;
        bool basic = p->text[off] == '"';
        off += 3;
        if (off < p->len && p->text[off] == '\r')
                off++;
        if (off < p->len && p->text[off] == '\n')
                off++, raw++;
        for (uint32_t decoded = 1; decoded < line && off < p->len; off++) {
                char c = p->text[off];
                if (c == '\n') {
                        raw++, decoded++;
                } else if (basic && c == '\\' && off + 1 < p->len) {
                        size_t q = off + 1;
                        while (q < p->len && (p->text[q] == ' ' || p->text[q] == '\t' || p->text[q] == '\r'))
                                q++;
                        if (q < p->len && p->text[q] == '\n') {
                                while (q < p->len && isspace((unsigned char)p->text[q]))
                                        raw += p->text[q++] == '\n';
                                off = q - 1;
                        } else {
                                decoded += p->text[off + 1] == 'n';
                                off++;
                        }
                }
        }
        return raw;
}

typedef struct pipeline_facts {
        bool parsed;
        bool has_vrf;   /* vrf or vrfv2 */
        bool has_vrfv2;
} pipeline_facts;

static void pipeline_error(parser *p, const lk_toml_value *v, const lk_err *e) {
        add_error(p, e->line ? toml_line_of(p, v, e->line) : v->pos.line, "%s", e->msg);
}

/* Only when the task types are all known: the runner then checks the rest. */
static void build_runnable(parser *p, const lk_toml_value *v) {
        lk_pipeline_spec_options o = {
                .source = p->spec->observation_source,
                .source_len = v->u.string.len,
                .max_task_duration = p->spec->max_task_duration,
                .job_name = p->spec->name,
                .gas_limit_set = p->spec->gas_limit_set,
                .gas_limit = p->spec->gas_limit,
        };
        lk_err e = LK_ERR_INIT;
        if (lk_pipeline_spec_new(&o, &p->spec->pipeline, &e) < 0)
                pipeline_error(p, v, &e);
        else
                p->spec->pipeline_runnable = true;
}

static void parse_pipeline(parser *p, const lk_toml_value *v, pipeline_facts *facts) {
        lk_graph *g = NULL;
        lk_err e = LK_ERR_INIT;
        if (lk_graph_parse(v->u.string.ptr, v->u.string.len, &g, &e) < 0) {
                pipeline_error(p, v, &e);
                return;
        }
        facts->parsed = true;
        size_t before = p->errors->count;
        for (size_t i = 0; i < g->task_count; i++) {
                const lk_graph_task *t = &g->tasks[i];
                facts->has_vrf |= strcmp(t->type, "vrf") == 0 || strcmp(t->type, "vrfv2") == 0;
                facts->has_vrfv2 |= strcmp(t->type, "vrfv2") == 0;
                if (!lk_task_type_find(t->type))
                        add_error(p, t->line ? toml_line_of(p, v, t->line) : v->pos.line,
                                  "UnmarshalTaskFromMap: unknown task type: \"%s\" (task \"%s\", line %" PRIu32 ")",
                                  t->type, t->dot_id, t->line);
        }
        lk_graph_free(g);
        if (before == p->errors->count)
                build_runnable(p, v);
}

static void parse_common(parser *p, const lk_toml_value **ret_type, pipeline_facts *facts) {
        lk_job_spec *s = p->spec;
        *ret_type = get_string(p, "type");
        if (!get_uint32(p, "schemaVersion", &s->schema_version))
                s->schema_version = 0;
        s->name = dup_string(p, "name");
        get_duration(p, "maxTaskDuration", &s->max_task_duration);
        s->gas_limit_set = get_uint32(p, "gasLimit", &s->gas_limit);
        get_bool(p, "forwardingAllowed", &s->forwarding_allowed);
        const lk_toml_value *src = get_string(p, "observationSource");
        if (src) {
                s->observation_source = lk_strndup(src->u.string.ptr, src->u.string.len);
                if (src->u.string.len > 0)
                        parse_pipeline(p, src, facts);
        }
}

static const char *const chainlink_types[] = {
        "blockhashstore", "bootstrap", "cron", "directrequest", "fluxmonitor", "keeper",
        "offchainreporting", "offchainreporting2", "vrf", "webhook",
};

static int find_type(const char *name, lk_job_type *ret) {
        for (lk_job_type t = LK_JOB_CRON; t <= LK_JOB_VRF; t++)
                if (strcmp(name, lk_job_type_name(t)) == 0)
                        return *ret = t, 0;
        for (size_t i = 0; i < sizeof chainlink_types / sizeof chainlink_types[0]; i++)
                if (strcmp(name, chainlink_types[i]) == 0)
                        return -EOPNOTSUPP;
        return -EINVAL;
}

static uint32_t line_at(const parser *p, size_t off) {
        uint32_t line = 1;
        for (size_t i = 0; i < off; i++)
                line += p->text[i] == '\n';
        return line;
}

/* job.ValidateSpec's checks after unmarshalling.  Returns whether the
 * type-specific checks can run. */
static bool validate_common(parser *p, const lk_toml_value *type_value) {
        bool known = false;
        const char *type = type_value && !has_nul(type_value) ? type_value->u.string.ptr : "";
        uint32_t type_line = type_value ? type_value->pos.line : 0;
        int r = find_type(type, &p->spec->type);
        if (r == -EINVAL)
                add_error(p, type_line, "invalid job type");
        else if (r == -EOPNOTSUPP)
                add_error(p, type_line, "unsupported type %s", type);
        else
                known = true;
        if (p->spec->schema_version != 1) {
                const lk_toml_value *v = lk_toml_table_get(p->root, "schemaVersion");
                add_error(p, v ? v->pos.line : 0, "invalid schema version");
        }
        if (!p->spec->observation_source || !p->spec->observation_source[0])
                add_error(p, 0, "pipeline spec not specified");
        /* Every type linkd runs supports async tasks, so Chainlink's
         * "async=true tasks are not supported for <type>" cannot apply. */
        const char *bad = memmem(p->text, p->len, "<{}>", 4);
        if (bad)
                add_error(p, line_at(p, (size_t)(bad - p->text)),
                          "'<{}>' syntax is not supported. Please use \"{}\" instead");
        return known;
}

/* ---- types ---- */

#define CRON_PREFIX "while validating cron schedule '"

static void validate_cron(parser *p, const lk_job_spec_parse_options *opts) {
        lk_job_cron *c = &p->spec->u.cron;
        const lk_toml_value *v = get_string(p, "schedule");
        c->schedule = v ? lk_strndup(v->u.string.ptr, v->u.string.len) : lk_strdup("");
        uint32_t line = v ? v->pos.line : 0;
        get_uint32(p, "maxConcurrentRuns", &c->max_concurrent_runs); /* linkd's; 0 = unlimited, as Chainlink */
        if (opts && opts->validate_schedule) {
                lk_err e = LK_ERR_INIT;
                if (opts->validate_schedule(c->schedule, &e) >= 0)
                        return;
                if (strncmp(e.msg, CRON_PREFIX, strlen(CRON_PREFIX)) == 0)
                        add_error(p, line, "%s", e.msg);
                else
                        add_error(p, line, CRON_PREFIX "%s': %s", c->schedule, e.msg);
        } else if (!c->schedule[0]) {
                add_error(p, line, CRON_PREFIX "': cron schedule must specify a time zone using CRON_TZ, e.g. "
                          "'CRON_TZ=UTC 5 * * * *', or use the @every syntax, e.g. '@every 1h30m'");
        }
}

static bool parse_initiator(parser *p, const lk_toml_value *t, lk_job_external_initiator *ret) {
        if (t->type != LK_TOML_TABLE) {
                type_error(p, "externalInitiators", t, "table");
                return false;
        }
        const lk_toml_value *name = lk_toml_table_get(t, "name"), *spec = lk_toml_table_get(t, "spec");
        if (name && name->type != LK_TOML_STRING)
                type_error(p, "externalInitiators.name", name, "string");
        if (spec && spec->type != LK_TOML_STRING)
                type_error(p, "externalInitiators.spec", spec, "string");
        if ((name && name->type != LK_TOML_STRING) || (spec && spec->type != LK_TOML_STRING))
                return false;
        lk_value *json = NULL;
        lk_err e = LK_ERR_INIT;
        if (spec && lk_value_from_json(spec->u.string.ptr, spec->u.string.len, &json, &e) < 0) {
                add_error(p, spec->pos.line, "externalInitiators.spec: %s", e.msg);
                return false;
        }
        lk_value_unref(json);
        ret->name = name ? lk_strndup(name->u.string.ptr, name->u.string.len) : lk_strdup("");
        /* models.JSON of an absent spec is JSON null. */
        ret->spec = spec ? lk_strndup(spec->u.string.ptr, spec->u.string.len) : lk_strdup("null");
        return true;
}

static void validate_webhook(parser *p) {
        lk_job_webhook *w = &p->spec->u.webhook;
        const lk_toml_value *v = lk_toml_table_get(p->root, "externalInitiators");
        if (!v)
                return;
        if (v->type != LK_TOML_ARRAY) {
                type_error(p, "externalInitiators", v, "array");
                return;
        }
        w->external_initiators = lk_calloc(v->u.array.len ? v->u.array.len : 1, sizeof *w->external_initiators);
        for (size_t i = 0; i < v->u.array.len; i++)
                if (parse_initiator(p, v->u.array.items[i], &w->external_initiators[w->external_initiator_count]))
                        w->external_initiator_count++;
}

static void validate_directrequest(parser *p) {
        lk_job_directrequest *d = &p->spec->u.directrequest;
        /* Chainlink leaves a missing contractAddress to fail later, at log
         * subscription; linkd refuses the spec up front. */
        if (!lk_toml_table_get(p->root, "contractAddress"))
                add_error(p, 0, "contractAddress: " KEY_NOT_SET);
        get_address(p, "contractAddress", &d->contract_address);
        get_addresses(p, "requesters", &d->requesters, &d->requester_count);
        d->min_contract_payment_link_juels = get_big(p, "minContractPaymentLinkJuels", "*assets.Link");
        d->evm_chain_id = get_big(p, "evmChainID", "*utils.Big");
        d->min_incoming_confirmations_set = get_uint32(p, "minIncomingConfirmations", &d->min_incoming_confirmations);
}

/* Chainlink's secp256k1.PublicKey text: 32 bytes of x then a parity byte
 * (0 or 1), and x must be on the curve. */
static bool valid_public_key(const char *s) {
        if (strlen(s) != 68 || s[0] != '0' || s[1] != 'x')
                return false;
        for (size_t i = 2; i < 68; i++)
                if (lk_hex_digit(s[i]) < 0)
                        return false;
        if (s[66] != '0' || (s[67] != '0' && s[67] != '1'))
                return false;
        char x_hex[65];
        memcpy(x_hex, s + 2, 64);
        x_hex[64] = '\0';
        mpz_t x, prime, rhs;
        mpz_inits(x, prime, rhs, NULL);
        mpz_set_str(x, x_hex, 16);
        mpz_set_str(prime, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F", 16);
        mpz_powm_ui(rhs, x, 3, prime);
        mpz_add_ui(rhs, rhs, 7);
        mpz_mod(rhs, rhs, prime);
        bool ok = mpz_cmp(x, prime) < 0 && mpz_legendre(rhs, prime) >= 0;
        mpz_clears(x, prime, rhs, NULL);
        return ok;
}

static bool all_zero_key(const char *s) {
        for (size_t i = 2; s[i]; i++)
                if (s[i] != '0')
                        return false;
        return true;
}

static void get_public_key(parser *p, lk_job_vrf *f) {
        const lk_toml_value *v = get_string(p, "publicKey");
        if (!v)
                return;
        if (has_nul(v) || !valid_public_key(v->u.string.ptr)) {
                add_error(p, v->pos.line, "publicKey: invalid secp256k1 public key \"%s\"", v->u.string.ptr);
                return;
        }
        memcpy(f->public_key, v->u.string.ptr, sizeof f->public_key);
}

/* assets.Wei text: a number and an optional unit ("200 gwei").  Sets
 * *positive; false when it does not parse. */
static bool parse_wei(const char *s, bool *positive) {
        static const char *const units[] = {"", "wei", "kwei", "mwei", "gwei", "micro", "milli", "ether", "eth"};
        bool digits = false, nonzero = false, point = false;
        for (; isdigit((unsigned char)*s) || (*s == '.' && !point); s++) {
                point |= *s == '.';
                digits |= *s != '.';
                nonzero |= *s >= '1' && *s <= '9';
        }
        while (*s == ' ')
                s++;
        for (size_t i = 0; digits && i < sizeof units / sizeof units[0]; i++)
                if (strcasecmp(s, units[i]) == 0)
                        return *positive = nonzero, true;
        return false;
}

static void get_gas_lane_price(parser *p, lk_job_vrf *f) {
        const lk_toml_value *v = lk_toml_table_get(p->root, "gasLanePrice");
        if (!v)
                return;
        bool positive;
        if (v->type == LK_TOML_INTEGER) {
                f->gas_lane_price = lk_asprintf("%" PRId64, v->u.integer);
                positive = v->u.integer > 0;
        } else if (v->type == LK_TOML_STRING && !has_nul(v) && parse_wei(v->u.string.ptr, &positive)) {
                f->gas_lane_price = lk_strdup(v->u.string.ptr);
        } else {
                if (v->type == LK_TOML_STRING)
                        add_error(p, v->pos.line, "gasLanePrice: cannot unmarshal \"%s\" into a *assets.Wei", v->u.string.ptr);
                else
                        type_error(p, "gasLanePrice", v, "string");
                return;
        }
        if (!positive)
                add_error(p, v->pos.line, "gasLanePrice must be positive, given: %s", f->gas_lane_price);
}

static void parse_vrf_fields(parser *p, lk_job_vrf *f) {
        get_address(p, "coordinatorAddress", &f->coordinator_address);
        get_public_key(p, f);
        get_uint32(p, "minIncomingConfirmations", &f->min_incoming_confirmations);
        f->evm_chain_id = get_big(p, "evmChainID", "*utils.Big");
        get_addresses(p, "fromAddresses", &f->from_addresses, &f->from_address_count);
        get_duration(p, "pollPeriod", &f->poll_period);
        get_integer(p, "requestedConfsDelay", INT64_MIN, INT64_MAX, "int64", &f->requested_confs_delay);
        get_duration(p, "requestTimeout", &f->request_timeout);
        f->batch_coordinator_address_set = get_address(p, "batchCoordinatorAddress", &f->batch_coordinator_address);
        get_bool(p, "batchFulfillmentEnabled", &f->batch_fulfillment_enabled);
        get_float(p, "batchFulfillmentGasMultiplier", &f->batch_fulfillment_gas_multiplier);
        get_gas_lane_price(p, f);
        get_uint32(p, "chunkSize", &f->chunk_size);
        get_duration(p, "backoffInitialDelay", &f->backoff_initial_delay);
        get_duration(p, "backoffMaxDelay", &f->backoff_max_delay);
}

static uint32_t line_of(const parser *p, const char *key) {
        const lk_toml_value *v = lk_toml_table_get(p->root, key);
        return v ? v->pos.line : 0;
}

static void validate_vrf(parser *p, const pipeline_facts *facts) {
        lk_job_vrf *f = &p->spec->u.vrf;
        parse_vrf_fields(p, f);
        if (!f->public_key[0] || all_zero_key(f->public_key))
                add_error(p, line_of(p, "publicKey"), "publicKey: " KEY_NOT_SET);
        if (f->min_incoming_confirmations == 0)
                add_error(p, line_of(p, "minIncomingConfirmations"), "minIncomingConfirmations: " KEY_NOT_SET);
        if (!f->coordinator_address.hex[0])
                add_error(p, line_of(p, "coordinatorAddress"), "coordinatorAddress: " KEY_NOT_SET);
        if (f->requested_confs_delay < 0)
                add_error(p, line_of(p, "requestedConfsDelay"), "requestedConfsDelay must be >= 0: " KEY_NOT_SET);
        if (f->batch_fulfillment_enabled && !f->batch_coordinator_address_set)
                add_error(p, line_of(p, "batchFulfillmentEnabled"),
                          "batch coordinator address must be provided if batchFulfillmentEnabled = true: " KEY_NOT_SET);
        if (f->batch_fulfillment_gas_multiplier <= 0 || f->batch_fulfillment_gas_multiplier != f->batch_fulfillment_gas_multiplier)
                f->batch_fulfillment_gas_multiplier = DEFAULT_GAS_MULTIPLIER;
        if (f->chunk_size == 0)
                f->chunk_size = DEFAULT_CHUNK_SIZE;
        if (f->backoff_max_delay < f->backoff_initial_delay) {
                lk_buf max = LK_BUF_INIT, initial = LK_BUF_INIT;
                lk_duration_format(&max, f->backoff_max_delay);
                lk_duration_format(&initial, f->backoff_initial_delay);
                add_error(p, line_of(p, "backoffMaxDelay"), "backoff max delay (%s) cannot be less than backoff initial delay (%s)",
                          lk_buf_str(&max), lk_buf_str(&initial));
                lk_buf_done(&max);
                lk_buf_done(&initial);
        }
        /* gasLanePrice's check is made where it is parsed. */
        if (facts->has_vrfv2 && f->from_address_count == 0)
                add_error(p, line_of(p, "fromAddresses"), "fromAddreses needs to have a non-zero length: " KEY_NOT_SET);
        if (facts->parsed && !facts->has_vrf)
                add_error(p, line_of(p, "observationSource"), "invalid pipeline, expected a vrf task: " KEY_NOT_SET);
        if (f->request_timeout == 0)
                f->request_timeout = DEFAULT_REQUEST_TIMEOUT;
}

static void validate_type(parser *p, const lk_job_spec_parse_options *opts, const pipeline_facts *facts) {
        switch (p->spec->type) {
        case LK_JOB_CRON: validate_cron(p, opts); break;
        case LK_JOB_WEBHOOK: validate_webhook(p); break;
        case LK_JOB_DIRECTREQUEST: validate_directrequest(p); break;
        case LK_JOB_VRF: validate_vrf(p, facts); break;
        }
}

static void free_type_fields(lk_job_spec *s) {
        switch (s->type) {
        case LK_JOB_CRON:
                lk_free(s->u.cron.schedule);
                break;
        case LK_JOB_WEBHOOK:
                for (size_t i = 0; i < s->u.webhook.external_initiator_count; i++) {
                        lk_free(s->u.webhook.external_initiators[i].name);
                        lk_free(s->u.webhook.external_initiators[i].spec);
                }
                lk_free(s->u.webhook.external_initiators);
                break;
        case LK_JOB_DIRECTREQUEST:
                lk_free(s->u.directrequest.requesters);
                lk_free(s->u.directrequest.min_contract_payment_link_juels);
                lk_free(s->u.directrequest.evm_chain_id);
                break;
        case LK_JOB_VRF:
                lk_free(s->u.vrf.evm_chain_id);
                lk_free(s->u.vrf.from_addresses);
                lk_free(s->u.vrf.gas_lane_price);
                break;
        }
}

lk_job_spec *lk_job_spec_free(lk_job_spec *spec) {
        if (!spec)
                return NULL;
        free_type_fields(spec);
        lk_free(spec->name);
        lk_free(spec->observation_source);
        lk_pipeline_spec_unref(spec->pipeline);
        lk_free(spec);
        return NULL;
}

static void report(const lk_job_errors *errors, lk_err *err) {
        const lk_job_error *first = &errors->items[0];
        lk_err_set_at(err, -EINVAL, first->line, first->column, "%s", first->message);
}

/* Everything after the TOML syntax: sets *ret_spec when errors stays empty. */
static int parse_root(const char *toml, size_t len, const lk_toml_value *root, const lk_job_spec_parse_options *opts,
                      lk_job_errors *errors, lk_job_spec **ret_spec) {
        lk_job_spec *spec = lk_calloc(1, sizeof *spec);
        parser p = {toml, len, root, errors, spec};
        const lk_toml_value *type_value;
        pipeline_facts facts = {0};
        parse_common(&p, &type_value, &facts);
        int r = parse_external_job_id(&p);
        if (r < 0)
                add_error(&p, 0, "generating externalJobID: %s", strerror(-r));
        if (validate_common(&p, type_value))
                validate_type(&p, opts, &facts);
        if (errors->count == 0) {
                *ret_spec = spec;
                return 0;
        }
        lk_job_spec_free(spec);
        return r < 0 ? r : -EINVAL;
}

int lk_job_spec_parse(const char *toml, size_t len, const lk_job_spec_parse_options *opts,
                      lk_job_spec **ret_spec, lk_job_errors *ret_errors, lk_err *err) {
        lk_job_errors errors = LK_JOB_ERRORS_INIT;
        lk_toml_value *root = NULL;
        lk_err e = LK_ERR_INIT;
        int r = lk_toml_parse(toml, len, &root, &e);
        if (r < 0)
                add_error_at(&errors, e.line, e.column, "%s", e.msg);
        else
                r = parse_root(toml, len, root, opts, &errors, ret_spec);
        lk_toml_free(root);
        if (r == 0)
                return 0;
        report(&errors, err);
        for (size_t i = 0; ret_errors && i < errors.count; i++)
                add_error_at(ret_errors, errors.items[i].line, errors.items[i].column, "%s", errors.items[i].message);
        lk_job_errors_done(&errors);
        return r;
}

lk_value *lk_job_spec_vars(int64_t job_id, const lk_job_spec *spec) {
        lk_value *v = lk_value_map();
        lk_value_map_put(v, "databaseID", 10, lk_value_int64(job_id));
        lk_value_map_put(v, "externalJobID", 13, lk_value_string(spec->external_job_id, SIZE_MAX));
        lk_value_map_put(v, "name", 4, lk_value_string(spec->name ? spec->name : "", SIZE_MAX));
        return v;
}
