/* A directrequest job at work (Chainlink's directrequest listener): it
 * subscribes to its Operator's OracleRequest and CancelOracleRequest logs
 * on its chain, and runs its pipeline once per request addressed to its
 * external job ID (either encoding of it as the specId topic), from an
 * allowed requester, paying at least the minimum.
 *
 * Exactly once: the run is stored, and the log recorded as consumed, in
 * one database transaction before the run executes; the log broadcaster
 * does not hand a consumed log out again, also after a restart, and a run
 * a crash interrupted is finished by the runner when it starts again.  A
 * rejected request (requester, payment) is recorded as consumed too, so it
 * is judged once.
 *
 * A CancelOracleRequest for a request whose run is still executing cancels
 * that run. */
#ifndef LINKD_DIRECTREQUEST_H
#define LINKD_DIRECTREQUEST_H

#include <gmp.h>
#include <stdint.h>

#include "linkd/chain.h"
#include "linkd/err.h"
#include "linkd/job.h"
#include "linkd/log.h"
#include "linkd/pipeline.h"
#include "linkd/store.h"

typedef struct lk_directrequest lk_directrequest;

typedef struct lk_directrequest_options {
        int64_t job_id;
        const lk_job_spec *spec;     /* borrowed; outlives the listener; type directrequest */
        lk_pipeline_spec *pipeline;  /* a reference is taken; stored (its id set) */
        lk_chain *chain;             /* borrowed; started */
        lk_runner *runner;           /* borrowed */
        lk_store *store;             /* borrowed */
        lk_log *log;                 /* borrowed; may be NULL */
} lk_directrequest_options;

/* Subscribes to the logs.  -EINVAL (with the reason) for a bad minimum
 * payment in the job or the chain's MinContractPayment. */
int lk_directrequest_start(const lk_directrequest_options *options, lk_directrequest **ret, lk_err *err);
/* Unsubscribes; runs already started go on.  Accepts NULL; returns NULL. */
lk_directrequest *lk_directrequest_stop(lk_directrequest *listener);

/* Chainlink's assets.Link text ("0.1 link", "100 juels", or a number of
 * juels) as a decimal integer of juels into out. */
int lk_link_amount_parse(const char *text, mpz_t out, lk_err *err);

#endif
