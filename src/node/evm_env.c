#include "evm_env.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/keystore.h"
#include "linkd/secp256k1.h"

#define MAX_CHAINS 64

typedef struct open_key {
        lk_point public_key;
        lk_scalar secret;
} open_key;

struct lk__evm_env {
        lk_store *store;
        const char *password;
        lk_runner *runner;
        lk_chain *chains[MAX_CHAINS];
        size_t chain_count;
        pthread_mutex_t lock; /* keys */
        open_key *keys;
        size_t key_count;
};

lk__evm_env *lk__evm_env_new(lk_store *store, const char *password) {
        lk__evm_env *env = lk_calloc(1, sizeof *env);
        env->store = store;
        env->password = password;
        pthread_mutex_init(&env->lock, NULL);
        return env;
}

lk__evm_env *lk__evm_env_free(lk__evm_env *env) {
        if (!env)
                return NULL;
        for (size_t i = 0; i < env->key_count; i++)
                lk_scalar_wipe(&env->keys[i].secret);
        lk_free(env->keys);
        pthread_mutex_destroy(&env->lock);
        lk_free(env);
        return NULL;
}

void lk__evm_env_add_chain(lk__evm_env *env, lk_chain *chain) {
        if (env->chain_count < MAX_CHAINS)
                env->chains[env->chain_count++] = chain;
}

void lk__evm_env_set_runner(lk__evm_env *env, lk_runner *runner) {
        env->runner = runner;
}

static lk_chain *chain_by_id(void *arg, const char *chain_id) {
        lk__evm_env *env = arg;
        if (!chain_id || !*chain_id)
                return env->chain_count ? env->chains[0] : NULL;
        char *end;
        errno = 0;
        long long id = strtoll(chain_id, &end, 10);
        if (errno || *end || id <= 0)
                return NULL;
        for (size_t i = 0; i < env->chain_count; i++)
                if (lk_chain_id(env->chains[i]) == id)
                        return env->chains[i];
        return NULL;
}

/* Opening a key costs a scrypt: once per key for the node's life. */
static int open_vrf_key(lk__evm_env *env, const lk_point *public_key, lk_scalar *ret, lk_err *err) {
        lk_vrf_key_info *infos = NULL;
        size_t count = 0;
        int r = lk_keystore_vrf_list(env->store, &infos, &count, err);
        if (r < 0)
                return r;
        r = lk_err_set(err, -ENOENT, "key not found");
        for (size_t i = 0; i < count; i++) {
                if (!lk_point_equal(&infos[i].public_key, public_key))
                        continue;
                r = env->password ? lk_keystore_vrf_secret(env->store, infos[i].id, env->password, ret, err)
                                  : lk_err_set(err, -EACCES, "the keystore is locked: no password was given");
                break;
        }
        lk_free(infos);
        return r;
}

static int vrf_secret(void *arg, const lk_point *public_key, lk_scalar *ret, lk_err *err) {
        lk__evm_env *env = arg;
        pthread_mutex_lock(&env->lock);
        for (size_t i = 0; i < env->key_count; i++) {
                if (lk_point_equal(&env->keys[i].public_key, public_key)) {
                        *ret = env->keys[i].secret;
                        pthread_mutex_unlock(&env->lock);
                        return 0;
                }
        }
        lk_scalar secret;
        int r = open_vrf_key(env, public_key, &secret, err);
        if (r == 0) {
                env->keys = lk_realloc(env->keys, (env->key_count + 1) * sizeof *env->keys);
                env->keys[env->key_count++] = (open_key){*public_key, secret};
                *ret = secret;
                lk_scalar_wipe(&secret);
        }
        pthread_mutex_unlock(&env->lock);
        return r;
}

void lk__evm_env_jobs_started(void *arg) {
        lk__evm_env *env = arg;
        for (size_t i = 0; i < env->chain_count; i++)
                lk_log_broadcaster_dependents_ready(lk_chain_logs(env->chains[i]));
}

lk_pipeline_evm lk__evm_env_pipeline(lk__evm_env *env) {
        return (lk_pipeline_evm){.chain = chain_by_id, .vrf_secret = vrf_secret, .arg = env};
}

int lk__evm_env_resume(void *arg, const char *task_run_id, const char *receipt_json, const char *error) {
        lk__evm_env *env = arg;
        if (!env->runner)
                return -EAGAIN;
        lk_value *receipt = NULL;
        lk_err err = LK_ERR_INIT;
        if (receipt_json && lk_value_from_json(receipt_json, strlen(receipt_json), &receipt, &err) < 0)
                return err.code;
        int r = lk_runner_resume(env->runner, task_run_id, receipt, receipt ? NULL : error, &err);
        lk_value_unref(receipt);
        /* -ENOENT: nobody waits any more (resumed before a crash, or the
         * run was deleted with its job) */
        return r == -ENOENT ? 0 : r;
}
