/* See include/linkd/vrf_listener.h.  A request is answered on the head
 * tracker's thread, inside the log broadcaster's call: the run is short
 * (a proof, an estimate, a simulation), and a request that cannot be
 * answered yet goes back to the broadcaster, which hands it out again with
 * the next head. */
#include "linkd/vrf_listener.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/eth.h"
#include "linkd/hex.h"
#include "linkd/keccak.h"
#include "linkd/log_broadcaster.h"
#include "linkd/rpc.h"
#include "linkd/secp256k1.h"
#include "linkd/txm.h"
#include "linkd/vrf.h"

#define MAX_WAITING 4096
/* fulfillRandomWords verifies the proof and pays before it calls the
 * consumer with exactly callbackGasLimit */
#define FULFILMENT_OVERHEAD 300000

static const char requested_event[] =
        "RandomWordsRequested(bytes32,uint256,uint256,uint64,uint16,uint32,uint32,address)";
static const char get_commitment_signature[] = "getCommitment(uint256)";

/* A request seen but not answered yet: since when, for requestTimeout. */
typedef struct waiting {
        uint8_t request_id[32];
        lk_usec since;
} waiting;

struct lk_vrf_listener {
        lk_vrf_listener_options o;
        int subscription;
        uint8_t topic[32];
        uint8_t get_commitment[32]; /* keccak of its signature; the selector is the first 4 bytes */
        uint8_t key_hash[32];
        uint8_t coordinator[20];
        uint8_t from[64][LK_ADDRESS_LEN];
        size_t from_count;
        uint32_t min_confirmations;
        lk_value *job_spec_vars;
        waiting *waiting; /* on the head tracker's thread only */
        size_t waiting_count;
};

typedef struct request {
        const lk_evm_log *log;
        uint8_t request_id[32];
        uint32_t confirmations;
        uint32_t callback_gas_limit;
        uint8_t *data;
        size_t data_len;
} request;

static uint32_t word_u32(const uint8_t *word) {
        return (uint32_t)word[28] << 24 | (uint32_t)word[29] << 16 | (uint32_t)word[30] << 8 | word[31];
}

/* RandomWordsRequested's data: requestId, preSeed, minimumRequestConfirmations,
 * callbackGasLimit, numWords, one word each. */
static int request_read(const lk_evm_log *log, request *rq, lk_err *err) {
        size_t len = (strlen(log->data_hex) - 2) / 2;
        if (len < 5 * 32)
                return lk_err_set(err, -EPROTO, "RandomWordsRequested data is %zu bytes, not 160", len);
        rq->log = log;
        rq->data = lk_malloc(len);
        rq->data_len = len;
        if (!lk_hex_decode_prefixed(log->data_hex, rq->data, len))
                return lk_err_set(err, -EPROTO, "RandomWordsRequested data is not whole bytes of hex");
        memcpy(rq->request_id, rq->data, 32);
        rq->confirmations = word_u32(rq->data + 2 * 32);
        rq->callback_gas_limit = word_u32(rq->data + 3 * 32);
        return 0;
}

static waiting *waiting_find(lk_vrf_listener *l, const uint8_t request_id[static 32], bool add) {
        for (size_t i = 0; i < l->waiting_count; i++)
                if (memcmp(l->waiting[i].request_id, request_id, 32) == 0)
                        return &l->waiting[i];
        if (!add)
                return NULL;
        if (l->waiting_count == MAX_WAITING) /* the oldest gives way */
                memmove(l->waiting, l->waiting + 1, --l->waiting_count * sizeof *l->waiting);
        l->waiting = lk_realloc(l->waiting, (l->waiting_count + 1) * sizeof *l->waiting);
        waiting *w = &l->waiting[l->waiting_count++];
        memcpy(w->request_id, request_id, 32);
        w->since = lk_now_monotonic();
        return w;
}

static void waiting_forget(lk_vrf_listener *l, const uint8_t request_id[static 32]) {
        waiting *w = waiting_find(l, request_id, false);
        if (w)
                *w = l->waiting[--l->waiting_count];
}

/* ---- the chain ---- */

/* Whether the coordinator still holds the request's commitment: zero once
 * it is fulfilled. */
static int still_pending(lk_vrf_listener *l, const request *rq, bool *ret, lk_err *err) {
        uint8_t call[4 + 32];
        memcpy(call, l->get_commitment, 4);
        memcpy(call + 4, rq->request_id, 32);
        json_t *result = NULL;
        int r = lk_rpc_pool_call(lk_chain_rpc(l->o.chain), "eth_call",
                                 json_pack("[{soso}s]", "to", lk_rpc_hex(l->coordinator, 20), "data",
                                           lk_rpc_hex(call, sizeof call), "latest"),
                                 &result, err);
        uint8_t commitment[32];
        if (r == 0 && (r = lk_rpc_data(result, commitment, 32, err)) == 0)
                *ret = !lk_bytes_are_zero(commitment, 32);
        json_decref(result);
        return r < 0 ? lk_err_prefix(err, "getCommitment"), r : 0;
}

static bool deep_enough(lk_vrf_listener *l, const request *rq) {
        lk_head tip;
        if (!lk_head_tracker_latest(lk_chain_heads(l->o.chain), &tip))
                return false;
        uint32_t want = rq->confirmations > l->min_confirmations ? rq->confirmations : l->min_confirmations;
        /* and a block on top: the fulfilment is simulated on the latest
         * state, where blockhash() cannot see the latest block's own hash */
        return tip.number >= 0 && (uint64_t)tip.number + 1 >= rq->log->block_number + want &&
               (uint64_t)tip.number > rq->log->block_number;
}

/* ---- the run ---- */

static lk_value *job_run_vars(const request *rq) {
        const lk_evm_log *log = rq->log;
        lk_value *v = lk_value_map();
        lk_value_map_put(v, "logBlockHash", 12, lk_value_bytes(log->block_hash, 32));
        lk_value_map_put(v, "logBlockNumber", 14, lk_value_uint64(log->block_number));
        lk_value_map_put(v, "logTxHash", 9, lk_value_bytes(log->tx_hash, 32));
        lk_value *topics = lk_value_array();
        for (size_t i = 0; i < log->topic_count; i++)
                lk_value_array_append(topics, lk_value_bytes(log->topics[i], 32));
        lk_value_map_put(v, "logTopics", 9, topics);
        lk_value_map_put(v, "logData", 7, lk_value_bytes(rq->data, rq->data_len));
        return v;
}

/* The vrfv2 task's calldata and the estimate, from a completed run. */
static int run_results(const lk_run *run, lk_value **ret_calldata, uint64_t *ret_estimate, lk_err *err) {
        *ret_estimate = 0;
        for (size_t i = 0; i < lk_run_task_run_count(run); i++) {
                lk_task_run_info t;
                lk_run_task_run(run, i, &t);
                if (strcmp(t.type, "vrfv2") == 0 && t.output && lk_value_type_of(t.output) == LK_VALUE_MAP) {
                        lk_value *output = lk_value_map_get(t.output, "output", 6);
                        if (output)
                                *ret_calldata = lk_value_ref(output);
                }
                if (strcmp(t.type, "estimategaslimit") == 0 && t.output &&
                    lk_value_type_of(t.output) == LK_VALUE_UINT64)
                        *ret_estimate = lk_value_get_uint64(t.output);
        }
        return *ret_calldata ? 0 : lk_err_set(err, -EINVAL, "the pipeline gave no vrfv2 output");
}

static int calldata_bytes(const lk_value *v, lk_buf *out, lk_err *err) {
        size_t len;
        const char *text = lk_value_type_of(v) == LK_VALUE_STRING ? lk_value_get_string(v, &len) : NULL;
        if (!text || len < 2 || len % 2 || text[0] != '0' || text[1] != 'x')
                return lk_err_set(err, -EINVAL, "the vrfv2 output is not 0x hex");
        size_t n = (len - 2) / 2;
        uint8_t *bytes = lk_malloc(n ? n : 1);
        bool ok = lk_hex_decode_prefixed(text, bytes, n);
        if (ok)
                lk_buf_append(out, bytes, n);
        lk_free(bytes);
        return ok ? 0 : lk_err_set(err, -EINVAL, "the vrfv2 output is not 0x hex");
}

static int send_fulfilment(lk_vrf_listener *l, const request *rq, const lk_run *run, lk_err *err) {
        lk_value *calldata = NULL;
        uint64_t estimate;
        lk_buf data = LK_BUF_INIT;
        int r = run_results(run, &calldata, &estimate, err);
        if (r == 0)
                r = calldata_bytes(calldata, &data, err);
        lk_txm *txm = lk_chain_txm(l->o.chain);
        lk_txm_request tx = {.data = (const uint8_t *)data.data, .data_len = data.len};
        if (r == 0 && !txm)
                r = lk_err_set(err, -EAGAIN, "the chain's transaction manager is not running");
        if (r == 0)
                r = lk_txm_pick_sender(txm, (const uint8_t(*)[LK_ADDRESS_LEN])l->from, l->from_count, tx.from, err);
        if (r == 0) {
                memcpy(tx.to, l->coordinator, 20);
                uint64_t cover = (uint64_t)rq->callback_gas_limit + FULFILMENT_OVERHEAD;
                tx.gas_limit = estimate > cover ? estimate : cover;
                char key[96], id_hex[65];
                lk_hex_encode(id_hex, rq->request_id, 32);
                snprintf(key, sizeof key, "vrf:%" PRId64 ":0x%s", lk_chain_id(l->o.chain), id_hex);
                tx.idempotency_key = key;
                char meta[160];
                snprintf(meta, sizeof meta, "{\"JobID\":%" PRId64 ",\"RequestID\":\"0x%s\"}", l->o.job_id, id_hex);
                tx.meta = meta;
                int64_t id;
                r = lk_txm_enqueue(txm, &tx, &id, NULL, err);
        }
        lk_value_unref(calldata);
        lk_buf_done(&data);
        return r;
}

static int run_pipeline(lk_vrf_listener *l, const request *rq, lk_run **ret_run, lk_err *err) {
        lk_value *vars = lk_value_map();
        lk_value_map_put(vars, "jobSpec", 7, lk_value_ref(l->job_spec_vars));
        lk_value_map_put(vars, "jobRun", 6, job_run_vars(rq));
        lk_run_request run_rq = {.spec = l->o.pipeline, .vars = vars, .save_task_runs = true};
        lk_run *run = NULL;
        int r = lk_runner_run(l->o.runner, &run_rq, &run, err);
        lk_value_unref(vars);
        if (r == 0 && lk_run_state_of(run) != LK_RUN_COMPLETED) {
                lk_buf why = LK_BUF_INIT;
                lk_value_to_json(lk_run_fatal_errors(run), &why);
                r = lk_err_set(err, -EAGAIN, "the run %" PRId64 " failed: %s", lk_run_id(run), lk_buf_str(&why));
                lk_buf_done(&why);
        }
        if (r < 0)
                run = lk_run_unref(run);
        *ret_run = run;
        return r;
}

/* ---- logs ---- */

static int consume(lk_vrf_listener *l, const request *rq) {
        waiting_forget(l, rq->request_id);
        lk_err err = LK_ERR_INIT;
        int r = lk_log_broadcast_consume_now(l->o.store, lk_chain_id(l->o.chain), rq->log, l->o.job_id, &err);
        if (r < 0)
                lk_log_error(l->o.log, "cannot record the log as consumed", LK_INT("job_id", l->o.job_id),
                             LK_ERROR(&err));
        return r;
}

static int answer(lk_vrf_listener *l, const request *rq, lk_err *err) {
        bool pending = true;
        int r = still_pending(l, rq, &pending, err);
        if (r < 0)
                return r;
        if (!pending) {
                lk_log_info(l->o.log, "VRF request already fulfilled", LK_INT("job_id", l->o.job_id),
                            LK_INT("block", (int64_t)rq->log->block_number));
                return consume(l, rq);
        }
        lk_run *run = NULL;
        if ((r = run_pipeline(l, rq, &run, err)) < 0)
                return r;
        r = send_fulfilment(l, rq, run, err);
        lk_run_unref(run);
        return r < 0 ? r : consume(l, rq);
}

static int on_log(void *arg, const lk_evm_log *log) {
        lk_vrf_listener *l = arg;
        if (log->topic_count < 2 || memcmp(log->topics[0], l->topic, 32) != 0 ||
            memcmp(log->topics[1], l->key_hash, 32) != 0)
                return 0; /* another key's */
        request rq = {0};
        lk_err err = LK_ERR_INIT;
        int r = request_read(log, &rq, &err);
        if (r < 0) {
                lk_log_error(l->o.log, "cannot read a RandomWordsRequested log", LK_INT("job_id", l->o.job_id),
                             LK_ERROR(&err));
                r = consume(l, &(request){.log = log});
        } else if (!deep_enough(l, &rq)) {
                waiting_find(l, rq.request_id, true);
                r = -EAGAIN;
        } else if ((r = answer(l, &rq, &err)) < 0) {
                waiting *w = waiting_find(l, rq.request_id, true);
                if (lk_now_monotonic() - w->since > l->o.spec->u.vrf.request_timeout) {
                        lk_log_error(l->o.log, "VRF request timed out", LK_INT("job_id", l->o.job_id), LK_ERROR(&err));
                        r = consume(l, &rq);
                } else {
                        lk_log_warn(l->o.log, "VRF request not answered yet", LK_INT("job_id", l->o.job_id),
                                    LK_ERROR(&err));
                }
        }
        lk_free(rq.data);
        return r;
}

/* ---- start and stop ---- */

static lk_value *job_spec_vars(const lk_vrf_listener_options *o) {
        const lk_job_vrf *vrf = &o->spec->u.vrf;
        lk_value *v = lk_job_spec_vars(o->job_id, o->spec);
        uint8_t key[LK_POINT_SHORT_LEN];
        lk_hex_decode_prefixed(vrf->public_key, key, sizeof key);
        lk_value_map_put(v, "publicKey", 9, lk_value_bytes(key, sizeof key));
        char price[32];
        snprintf(price, sizeof price, "%" PRId64, lk_chain_config(o->chain)->gas_estimator.price_max);
        lk_value_map_put(v, "maxGasPrice", 11, lk_value_string(price, SIZE_MAX));
        char chain_id[24];
        snprintf(chain_id, sizeof chain_id, "%" PRId64, lk_chain_id(o->chain));
        lk_value_map_put(v, "evmChainID", 10, lk_value_string(chain_id, SIZE_MAX));
        return v;
}

static int read_spec(lk_vrf_listener *l, lk_err *err) {
        const lk_job_vrf *vrf = &l->o.spec->u.vrf;
        uint8_t short_key[LK_POINT_SHORT_LEN];
        lk_point key;
        if (!lk_hex_decode_prefixed(vrf->public_key, short_key, sizeof short_key) ||
            lk_point_from_short(&key, short_key, err) < 0)
                return lk_err_set(err, -EINVAL, "publicKey %s is not a point", vrf->public_key);
        lk_vrf_key_hash(&key, l->key_hash);
        lk_hex_decode_prefixed(vrf->coordinator_address.hex, l->coordinator, 20);
        for (size_t i = 0; i < vrf->from_address_count && l->from_count < 64; i++)
                lk_hex_decode_prefixed(vrf->from_addresses[i].hex, l->from[l->from_count++], LK_ADDRESS_LEN);
        l->min_confirmations = vrf->min_incoming_confirmations;
        return 0;
}

int lk_vrf_listener_start(const lk_vrf_listener_options *o, lk_vrf_listener **ret, lk_err *err) {
        lk_vrf_listener *l = lk_calloc(1, sizeof *l);
        l->o = *o;
        lk_pipeline_spec_ref(o->pipeline);
        lk_keccak256(requested_event, sizeof requested_event - 1, l->topic);
        lk_keccak256(get_commitment_signature, sizeof get_commitment_signature - 1, l->get_commitment);
        int r = read_spec(l, err);
        if (r == 0) {
                l->job_spec_vars = job_spec_vars(o);
                lk_log_subscription s = {.topics = l->topic,
                                         .topic_count = 1,
                                         .min_confirmations = l->min_confirmations,
                                         .job_id = o->job_id,
                                         .fn = on_log,
                                         .arg = l};
                memcpy(s.address, l->coordinator, 20);
                r = lk_log_broadcaster_subscribe(lk_chain_logs(o->chain), &s, err);
        }
        if (r < 0) {
                l->subscription = 0;
                return lk_vrf_listener_stop(l), r;
        }
        l->subscription = r;
        *ret = l;
        return 0;
}

lk_vrf_listener *lk_vrf_listener_stop(lk_vrf_listener *l) {
        if (!l)
                return NULL;
        if (l->subscription > 0)
                lk_log_broadcaster_unsubscribe(lk_chain_logs(l->o.chain), l->subscription);
        lk_value_unref(l->job_spec_vars);
        lk_pipeline_spec_unref(l->o.pipeline);
        lk_free(l->waiting);
        lk_free(l);
        return NULL;
}
