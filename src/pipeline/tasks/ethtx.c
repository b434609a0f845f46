/* ethtx: Chainlink v1.13's ETHTxTask.  The transaction goes into the
 * chain's transaction manager, keyed by the stored run and the task, so
 * that a run started again after a crash finds the transaction it already
 * enqueued instead of sending a second one.  With minConfirmations the
 * task stays pending and the manager resumes it with the receipt once it
 * is that deep. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../params.h"
#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/chain.h"
#include "linkd/hex.h"
#include "linkd/txm.h"
#include "../vars.h"
#include "tasks.h"

#define MAX_FROM 64

typedef struct ethtx_params {
        uint8_t from[MAX_FROM][LK_ADDRESS_LEN];
        size_t from_count;
        uint8_t to[LK_ADDRESS_LEN];
        lk_value *data;       /* bytes */
        uint64_t gas_limit;   /* 0: the chain's default */
        lk_value *meta;       /* map or NULL */
        bool min_confirmations_set;
        uint64_t min_confirmations;
        bool fail_on_revert;
        const char *chain_id; /* borrowed from chain_holder */
        lk_value *chain_holder;
} ethtx_params;

static void ethtx_params_done(ethtx_params *p) {
        lk_value_unref(p->data);
        lk_value_unref(p->meta);
        lk_value_unref(p->chain_holder);
}

/* Chainlink's AddressSliceParam: null, a JSON array (as text or value) of
 * addresses. */
static int address_list(const lk_value *v, ethtx_params *p, lk_err *err) {
        lk_value *parsed = NULL;
        if (lk_value_type_of(v) == LK_VALUE_NULL)
                return 0;
        if (lk_value_type_of(v) == LK_VALUE_STRING) {
                size_t len;
                const char *s = lk_value_get_string(v, &len);
                if (lk_value_from_json(s, len, &parsed, err) < 0)
                        return lk_err_set(err, LK_EBAD_INPUT, "%s: bad input for task", err->msg);
                v = parsed;
        }
        int r = 0;
        if (lk_value_type_of(v) != LK_VALUE_ARRAY) {
                r = lk_err_set(err, LK_EBAD_INPUT, "expected address slice, got %s: bad input for task",
                               lk_value_type_name(v));
        } else if (lk_value_array_len(v) > MAX_FROM) {
                r = lk_err_set(err, LK_EBAD_INPUT, "more than %d from addresses: bad input for task", MAX_FROM);
        } else {
                for (size_t i = 0; r == 0 && i < lk_value_array_len(v); i++)
                        r = lk_param_address(lk_value_array_at(v, i), p->from[p->from_count++], err);
        }
        lk_value_unref(parsed);
        return r;
}

typedef int (*coerce_fn)(const lk_task_call *call, const lk_value *v, ethtx_params *p, lk_err *err);

/* Resolves one parameter and coerces it; a parameter without a value
 * keeps its default when optional. */
static void resolve(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count,
                    bool optional, coerce_fn coerce, ethtx_params *p, lk_err *all) {
        lk_value *v = NULL;
        lk_err e = LK_ERR_INIT;
        int r = lk_param(call, name, sources, count, &v, &e);
        if (r == LK_EPARAM_EMPTY && optional)
                return;
        if (r == 0 && (r = coerce(call, v, p, &e)) < 0)
                lk_err_prefix(&e, "%s", name);
        lk_value_unref(v);
        if (r < 0)
                lk_param_join(all, r, &e);
}

static int coerce_from(const lk_task_call *call, const lk_value *v, ethtx_params *p, lk_err *err) {
        (void)call;
        if (lk_value_type_of(v) == LK_VALUE_STRING || lk_value_type_of(v) == LK_VALUE_BYTES) {
                size_t len;
                const char *s = lk_value_type_of(v) == LK_VALUE_STRING ? lk_value_get_string(v, &len) : NULL;
                if (!s || s[0] != '[') /* one address */
                        return lk_param_address(v, p->from[p->from_count++], err);
        }
        return address_list(v, p, err);
}

static int coerce_to(const lk_task_call *call, const lk_value *v, ethtx_params *p, lk_err *err) {
        (void)call;
        return lk_param_address(v, p->to, err);
}

static int coerce_data(const lk_task_call *call, const lk_value *v, ethtx_params *p, lk_err *err) {
        (void)call;
        return lk_param_bytes(v, &p->data, err);
}

static int coerce_gas_limit(const lk_task_call *call, const lk_value *v, ethtx_params *p, lk_err *err) {
        (void)call;
        return lk_param_uint64(v, &p->gas_limit, err);
}

static int coerce_meta(const lk_task_call *call, const lk_value *v, ethtx_params *p, lk_err *err) {
        (void)call;
        return lk_param_map(v, &p->meta, err);
}

/* MaybeUint64: an empty string leaves it unset (the chain's FinalityDepth). */
static int coerce_min_confirmations(const lk_task_call *call, const lk_value *v, ethtx_params *p, lk_err *err) {
        (void)call;
        size_t len = 0;
        if (lk_value_type_of(v) == LK_VALUE_STRING && (lk_value_get_string(v, &len), len == 0))
                return 0;
        int r = lk_param_uint64(v, &p->min_confirmations, err);
        p->min_confirmations_set = r == 0;
        return r;
}

static int coerce_fail_on_revert(const lk_task_call *call, const lk_value *v, ethtx_params *p, lk_err *err) {
        (void)call;
        return lk_param_bool(v, &p->fail_on_revert, err);
}

static int coerce_chain_id(const lk_task_call *call, const lk_value *v, ethtx_params *p, lk_err *err) {
        (void)call;
        size_t len;
        if (lk_param_string(v, &p->chain_id, &len, err) < 0)
                return LK_EBAD_INPUT;
        p->chain_holder = lk_value_ref((lk_value *)v);
        return 0;
}

static int resolve_all(const lk_task_call *call, ethtx_params *p, lk_err *err) {
        lk_err all = LK_ERR_INIT;
        resolve(call, "from", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_JSON, LK_PARAM_LITERAL), true, coerce_from, p,
                &all);
        resolve(call, "to", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL), false, coerce_to, p, &all);
        resolve(call, "data", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL), false, coerce_data, p, &all);
        resolve(call, "gasLimit", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL), true, coerce_gas_limit, p, &all);
        resolve(call, "txMeta", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_JSON), true, coerce_meta, p, &all);
        resolve(call, "minConfirmations", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL), true,
                coerce_min_confirmations, p, &all);
        resolve(call, "failOnRevert", LK_SOURCES(LK_PARAM_LITERAL), true, coerce_fail_on_revert, p, &all);
        resolve(call, "evmChainID", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL), true, coerce_chain_id, p, &all);
        if (lk_err_is_set(&all)) {
                *err = all;
                return all.code;
        }
        return 0;
}

/* The transaction's meta: the task's txMeta, with the job's id and
 * failOnRevert as Chainlink adds them. */
static char *meta_json(const lk_task_call *call, const ethtx_params *p) {
        lk_value *meta = lk_value_map();
        for (size_t i = 0; p->meta && i < lk_value_map_len(p->meta); i++) {
                const char *key;
                size_t key_len;
                lk_value *item = lk_value_map_at(p->meta, i, &key, &key_len);
                lk_value_map_put(meta, key, key_len, lk_value_ref(item));
        }
        static const char job_id_path[] = "jobSpec.databaseID";
        lk_value *job_id = NULL;
        if (lk_vars_get(call->vars, job_id_path, sizeof job_id_path - 1, &job_id, NULL) == 0)
                lk_value_map_put(meta, "JobID", 5, lk_value_ref(job_id)); /* borrowed from the vars */
        lk_value_map_put(meta, "FailOnRevert", 12, lk_value_bool(p->fail_on_revert));
        lk_buf out = LK_BUF_INIT;
        lk_value_to_json(meta, &out);
        lk_value_unref(meta);
        return lk_buf_steal(&out, NULL);
}

static int enqueue(const lk_task_call *call, lk_chain *chain, const ethtx_params *p, uint64_t min_confirmations,
                   lk_err *err) {
        lk_txm *txm = lk_chain_txm(chain);
        if (!txm)
                return lk_err_set(err, -EAGAIN, "chain %" PRId64 " is not started", lk_chain_id(chain));
        /* SelectGasLimit: the task's, else the job's; the manager's
         * default is the chain's LimitDefault */
        lk_txm_request rq = {.gas_limit = p->gas_limit ? p->gas_limit : call->gas_limit_set ? call->gas_limit : 0};
        if (lk_txm_pick_sender(txm, (const uint8_t(*)[LK_ADDRESS_LEN])p->from, p->from_count, rq.from, err) < 0)
                return lk_err_prefix(err, "ETHTxTask failed to get fromAddress");
        memcpy(rq.to, p->to, LK_ADDRESS_LEN);
        rq.data = lk_value_get_bytes(p->data, &rq.data_len);
        char key[96];
        if (call->run_id > 0) {
                snprintf(key, sizeof key, "pipeline_run:%" PRId64 ":%s", call->run_id, call->spec->dot_id);
                rq.idempotency_key = key;
        }
        if (min_confirmations > 0) {
                rq.pipeline_task_run_id = call->task_run_id;
                rq.min_confirmations = min_confirmations > UINT32_MAX ? UINT32_MAX : (uint32_t)min_confirmations;
                rq.fail_on_revert = p->fail_on_revert;
        }
        char *meta = meta_json(call, p);
        rq.meta = meta;
        int64_t id;
        int r = lk_txm_enqueue(txm, &rq, &id, NULL, err);
        lk_free(meta);
        return r;
}

void lk__task_ethtx(const lk_task_call *call, lk_task_result *result) {
        const lk_pipeline_evm *evm = call->env->evm;
        if (lk_check_inputs(call, -1, -1, 0, &result->err) < 0) {
                lk_err_prefix(&result->err, "task inputs");
                return;
        }
        ethtx_params p = {0};
        if (resolve_all(call, &p, &result->err) < 0)
                goto out;
        lk_chain *chain = evm && evm->chain ? evm->chain(evm->arg, p.chain_id) : NULL;
        if (!chain) {
                lk_task_fail(result, -ENODEV, "failed to get chain by id: %s: no EVM chain is configured",
                             p.chain_id ? p.chain_id : "");
                result->retryable = true;
                goto out;
        }
        uint64_t min_confirmations = p.min_confirmations_set ? p.min_confirmations
                                                             : (uint64_t)lk_chain_config(chain)->finality_depth;
        lk_err e = LK_ERR_INIT;
        if (enqueue(call, chain, &p, min_confirmations, &e) < 0) {
                lk_task_fail(result, e.code, "while creating transaction: %s: task run failed", e.msg);
                result->retryable = true;
                goto out;
        }
        if (min_confirmations > 0)
                result->pending = true;
        else
                lk_task_ok(result, lk_value_null());
out:
        ethtx_params_done(&p);
}
