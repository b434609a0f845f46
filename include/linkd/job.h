/* Job specs: Chainlink's job TOML (cron, webhook, directrequest, vrf)
 * parsed and validated as Chainlink v1.13's job.ValidateSpec and the
 * per-type Validated*Spec functions do, with the same messages.
 *
 * Chainlink stops at the first problem; linkd reports every problem it can
 * find in one pass, so that an operator fixes a spec in one round.  Each
 * error carries the line of the TOML document it is about (0 when it is
 * about the spec as a whole, e.g. a missing key), and lk_job_errors_format
 * writes them one a line as
 *
 *     line 12: "0xabc" is not a valid EIP55 formatted address
 *     pipeline spec not specified
 *
 * The first error, which is the one Chainlink would have reported, also
 * goes to the lk_err, with its line.
 *
 * As in Chainlink (the same TOML tree is decoded into the common Job struct
 * and into the type's struct, with no strict mode), unknown keys are
 * ignored.
 *
 * Every task type of Chainlink v1.13 is known; a pipeline that names another
 * type is an error.  pipeline is NULL (and pipeline_runnable false) only
 * when the pipeline has errors. */
#ifndef LINKD_JOB_H
#define LINKD_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/err.h"
#include "linkd/pipeline.h"
#include "linkd/time.h"

typedef enum lk_job_type {
        LK_JOB_CRON,
        LK_JOB_WEBHOOK,
        LK_JOB_DIRECTREQUEST,
        LK_JOB_VRF,
} lk_job_type;

/* "cron", "webhook", "directrequest", "vrf". */
const char *lk_job_type_name(lk_job_type type);

/* "0x" and 40 hex digits in EIP-55 mixed case, NUL-terminated. */
typedef struct lk_job_address {
        char hex[43];
} lk_job_address;

typedef struct lk_job_external_initiator {
        char *name; /* owned */
        char *spec; /* owned; JSON text, checked to parse */
} lk_job_external_initiator;

typedef struct lk_job_cron {
        char *schedule;               /* owned */
        uint32_t max_concurrent_runs; /* linkd's maxConcurrentRuns; 0: unlimited, as in Chainlink */
} lk_job_cron;

typedef struct lk_job_webhook {
        lk_job_external_initiator *external_initiators; /* owned */
        size_t external_initiator_count;
} lk_job_webhook;

typedef struct lk_job_directrequest {
        lk_job_address contract_address;
        lk_job_address *requesters; /* owned; empty: anyone may request */
        size_t requester_count;
        char *min_contract_payment_link_juels; /* owned decimal; NULL: the chain's minimum */
        char *evm_chain_id;                    /* owned decimal; NULL: the default chain */
        bool min_incoming_confirmations_set;
        uint32_t min_incoming_confirmations;
} lk_job_directrequest;

typedef struct lk_job_vrf {
        lk_job_address coordinator_address;
        char public_key[69];                  /* "0x" and 66 hex digits as written */
        uint32_t min_incoming_confirmations;  /* non-zero */
        char *evm_chain_id;                   /* owned decimal; NULL: the default chain */
        lk_job_address *from_addresses;       /* owned */
        size_t from_address_count;
        lk_usec poll_period;                  /* 0: unset */
        int64_t requested_confs_delay;        /* >= 0 */
        lk_usec request_timeout;              /* default 24h */
        bool batch_coordinator_address_set;
        lk_job_address batch_coordinator_address;
        bool batch_fulfillment_enabled;
        double batch_fulfillment_gas_multiplier; /* default 1.15 */
        char *gas_lane_price;                 /* owned, as written ("200 gwei"); NULL: unset */
        uint32_t chunk_size;                  /* default 20 */
        lk_usec backoff_initial_delay;
        lk_usec backoff_max_delay;
} lk_job_vrf;

typedef struct lk_job_spec {
        lk_job_type type;
        uint32_t schema_version;
        char *name;                   /* owned; NULL when absent */
        char external_job_id[37];     /* lower-case; generated (v4) when absent */
        char *observation_source;     /* owned; the DOT text after TOML unescaping */
        lk_pipeline_spec *pipeline;   /* owned reference; NULL unless pipeline_runnable */
        bool pipeline_runnable;
        lk_usec max_task_duration;    /* 0: none */
        bool gas_limit_set;
        uint32_t gas_limit;
        bool forwarding_allowed;
        union {
                lk_job_cron cron;
                lk_job_webhook webhook;
                lk_job_directrequest directrequest;
                lk_job_vrf vrf;
        } u; /* the member named by type */
} lk_job_spec;

typedef struct lk_job_error {
        uint32_t line;   /* 1-based TOML line; 0 when not about one place */
        uint32_t column; /* 1-based; 0 unless the TOML parser gave one */
        char *message;   /* owned */
} lk_job_error;

typedef struct lk_job_errors {
        lk_job_error *items; /* owned, in the order Chainlink checks */
        size_t count;
} lk_job_errors;

#define LK_JOB_ERRORS_INIT {NULL, 0}

/* Appends a copy of message, about line (0: no line), for checks that
 * need more than the spec (a named external initiator must exist). */
void lk_job_errors_add(lk_job_errors *errors, uint32_t line, const char *message);

/* Frees the errors' contents and empties them. */
void lk_job_errors_done(lk_job_errors *errors);

/* Appends one line per error: "line N: message\n" ("line N, column M:
 * message\n" for TOML syntax errors), or "message\n" when the error has
 * no line. */
void lk_job_errors_format(const lk_job_errors *errors, lk_buf *out);

typedef struct lk_job_spec_parse_options {
        /* Validates a cron schedule, setting err to robfig/Chainlink's message
         * (utils.ValidateCronSchedule's; the parser prefixes it with
         * "while validating cron schedule '<s>': " unless the message already
         * starts that way).  NULL: only a non-empty schedule is required. */
        int (*validate_schedule)(const char *schedule, lk_err *err);
} lk_job_spec_parse_options;

/* Parses and validates a job spec (len bytes of TOML; need not be
 * NUL-terminated).  opts may be NULL.  On success sets *ret_spec (owned by
 * the caller).  On failure returns -EINVAL (or the uuid generator's error)
 * and appends every problem to *ret_errors when it is not NULL (it must be
 * initialised; the caller frees it with lk_job_errors_done); err gets the
 * first.  A TOML syntax error is the only error reported, with the TOML
 * parser's line and column. */
int lk_job_spec_parse(const char *toml, size_t len, const lk_job_spec_parse_options *opts,
                      lk_job_spec **ret_spec, lk_job_errors *ret_errors, lk_err *err);

/* Accepts NULL; returns NULL. */
lk_job_spec *lk_job_spec_free(lk_job_spec *spec);

/* The jobSpec variables of a run of the job stored as job_id (Chainlink's
 * databaseID, externalJobID, name): a new map. */
lk_value *lk_job_spec_vars(int64_t job_id, const lk_job_spec *spec);

/* Whether s is "0x" + 40 hex digits exactly in EIP-55 checksum case. */
bool lk_job_address_is_eip55(const char *s);

#endif
