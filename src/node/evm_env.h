/* What the pipeline's EVM tasks, the transaction managers and the
 * on-chain jobs need of the node, in one place: its chains by id, its VRF
 * secrets (opened once with the node's password and kept in memory, as
 * Chainlink keeps its keystore unlocked), and the way back from a
 * transaction's receipt to the task run waiting on it. */
#ifndef LINKD_NODE_EVM_ENV_H
#define LINKD_NODE_EVM_ENV_H

#include "linkd/chain.h"
#include "linkd/pipeline.h"
#include "linkd/store.h"

typedef struct lk__evm_env lk__evm_env;

/* password is borrowed (it must outlive the env); may be NULL. */
lk__evm_env *lk__evm_env_new(lk_store *store, const char *password);
/* Wipes the secrets it opened.  Accepts NULL; returns NULL. */
lk__evm_env *lk__evm_env_free(lk__evm_env *env);
/* Chains are added while the node is built, before anything runs. */
void lk__evm_env_add_chain(lk__evm_env *env, lk_chain *chain);
void lk__evm_env_set_runner(lk__evm_env *env, lk_runner *runner);
/* For lk_runner_options.evm and the spawner (arg is env). */
lk_pipeline_evm lk__evm_env_pipeline(lk__evm_env *env);
/* The spawner's jobs_started: every chain's log broadcaster may take
 * heads now.  arg is env. */
void lk__evm_env_jobs_started(void *arg);
/* An lk_txm_resume_fn; arg is env. */
int lk__evm_env_resume(void *arg, const char *task_run_id, const char *receipt_json, const char *error);

#endif
