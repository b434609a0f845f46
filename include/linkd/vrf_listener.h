/* A vrf job at work for VRFCoordinatorV2 (Chainlink's listener_v2): it
 * subscribes to the coordinator's RandomWordsRequested logs for its key's
 * hash, and answers each request once it is as deep as the request asked
 * (minimumRequestConfirmations, at least the job's
 * minIncomingConfirmations, and with at least one block on top of its own,
 * since the fulfilment is simulated on the latest state, where blockhash()
 * of the latest block is 0), on the canonical chain: the job's pipeline
 * (ethabidecodelog, vrfv2 with the proof for keccak(preSeed ‖ blockHash)
 * of the request's block, estimategaslimit, ethcall simulating the
 * fulfilment) runs, then fulfillRandomWords(proof, requestCommitment) is
 * sent from one of the job's fromAddresses with a gas limit covering the
 * request's callbackGasLimit.
 *
 * A request reorganised out before it is deep enough is never answered;
 * when it comes back in another block it is answered with a proof for that
 * block's hash (the log broadcaster hands it out under the new hash).
 *
 * Exactly once: the fulfilment is enqueued under an idempotency key made
 * of the chain and the request id, and the log is recorded as consumed
 * after; a crash in between hands the log out again, which finds the
 * transaction already enqueued.  A request already fulfilled on chain
 * (its commitment cleared) is skipped; one still unanswered after the
 * job's requestTimeout is given up. */
#ifndef LINKD_VRF_LISTENER_H
#define LINKD_VRF_LISTENER_H

#include <stdint.h>

#include "linkd/chain.h"
#include "linkd/err.h"
#include "linkd/job.h"
#include "linkd/log.h"
#include "linkd/pipeline.h"
#include "linkd/store.h"

typedef struct lk_vrf_listener lk_vrf_listener;

typedef struct lk_vrf_listener_options {
        int64_t job_id;
        const lk_job_spec *spec;     /* borrowed; outlives the listener; type vrf */
        lk_pipeline_spec *pipeline;  /* a reference is taken */
        lk_chain *chain;             /* borrowed; started */
        lk_runner *runner;           /* borrowed */
        lk_store *store;             /* borrowed */
        lk_log *log;                 /* borrowed; may be NULL */
} lk_vrf_listener_options;

int lk_vrf_listener_start(const lk_vrf_listener_options *options, lk_vrf_listener **ret, lk_err *err);
/* Unsubscribes (waiting for a request being answered).  Accepts NULL;
 * returns NULL. */
lk_vrf_listener *lk_vrf_listener_stop(lk_vrf_listener *listener);

#endif
