/* See include/linkd/directrequest.h.  Logs arrive on the head tracker's
 * thread; a run is handed to the runner there and the thread moves on. */
#include "linkd/directrequest.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "linkd/abi.h"
#include "linkd/alloc.h"
#include "linkd/eth.h"
#include "linkd/hex.h"
#include "linkd/keccak.h"
#include "linkd/log_broadcaster.h"

static const char oracle_request_event[] =
        "OracleRequest(bytes32,address,bytes32,uint256,address,bytes4,uint256,uint256,bytes)";
static const char cancel_event[] = "CancelOracleRequest(bytes32)";
/* OracleRequest's fields after the indexed specId, in the log's data */
static const char oracle_request_data[] = "address,bytes32,uint256,address,bytes4,uint256,uint256,bytes";
enum { F_REQUESTER, F_REQUEST_ID, F_PAYMENT, F_CALLBACK_ADDR, F_CALLBACK_FUNCTION, F_EXPIRATION, F_DATA_VERSION, F_DATA };

/* A run still executing, which a CancelOracleRequest may cancel. */
typedef struct in_flight {
        lk_directrequest *listener;
        uint8_t request_id[32];
        int64_t run_id;
        const lk_evm_log *log; /* during lk_runner_start only: what in_insert consumes */
        struct in_flight *next;
} in_flight;

struct lk_directrequest {
        lk_directrequest_options o;
        atomic_int refs; /* the listener's own and one per run in flight */
        int64_t chain_id;
        int subscription;
        mpz_t min_payment;
        uint8_t topics[2][32];      /* OracleRequest, CancelOracleRequest */
        uint8_t spec_topics[2][32]; /* the external job ID as bytes and as text */
        lk_abi_type *data_type;
        lk_value *job_spec_vars;
        pthread_mutex_t lock; /* runs */
        in_flight *runs;
};

/* ---- amounts ---- */

static int scale_decimal(const char *number, size_t len, unsigned decimals, mpz_t out, lk_err *err) {
        char digits[128];
        size_t n = 0, fraction = 0;
        bool point = false;
        for (size_t i = 0; i < len; i++) {
                if (number[i] == '.' && !point) {
                        point = true;
                } else if (isdigit((unsigned char)number[i]) && n + 1 < sizeof digits) {
                        digits[n++] = number[i];
                        fraction += point;
                } else {
                        return lk_err_set(err, -EINVAL, "invalid amount %.*s", (int)len, number);
                }
        }
        if (n == 0 || fraction > decimals)
                return lk_err_set(err, -EINVAL, "invalid amount %.*s", (int)len, number);
        while (fraction++ < decimals && n + 1 < sizeof digits)
                digits[n++] = '0';
        digits[n] = '\0';
        mpz_set_str(out, digits, 10);
        return 0;
}

int lk_link_amount_parse(const char *text, mpz_t out, lk_err *err) {
        size_t len = strlen(text);
        const char *space = memchr(text, ' ', len);
        if (!space)
                return scale_decimal(text, len, 0, out, err);
        const char *unit = space + 1;
        if (strcmp(unit, "link") == 0)
                return scale_decimal(text, (size_t)(space - text), 18, out, err);
        if (strcmp(unit, "juels") == 0)
                return scale_decimal(text, (size_t)(space - text), 0, out, err);
        return lk_err_set(err, -EINVAL, "invalid LINK amount %s: the unit must be link or juels", text);
}

/* ---- the listener's life ---- */

static lk_directrequest *listener_ref(lk_directrequest *l) {
        atomic_fetch_add(&l->refs, 1);
        return l;
}

static void listener_unref(lk_directrequest *l) {
        if (atomic_fetch_sub(&l->refs, 1) != 1)
                return;
        mpz_clear(l->min_payment);
        lk_abi_type_free(l->data_type);
        lk_value_unref(l->job_spec_vars);
        lk_pipeline_spec_unref(l->o.pipeline);
        pthread_mutex_destroy(&l->lock);
        lk_free(l);
}

static void add_run(lk_directrequest *l, in_flight *f) {
        pthread_mutex_lock(&l->lock);
        f->next = l->runs;
        l->runs = f;
        pthread_mutex_unlock(&l->lock);
}

static void remove_run(lk_directrequest *l, in_flight *f) {
        pthread_mutex_lock(&l->lock);
        for (in_flight **p = &l->runs; *p; p = &(*p)->next)
                if (*p == f) {
                        *p = f->next;
                        break;
                }
        pthread_mutex_unlock(&l->lock);
}

/* ---- consuming logs ---- */

/* A log dealt with without a run: recorded, so it is judged once. */
static int consume(lk_directrequest *l, const lk_evm_log *log) {
        lk_err err = LK_ERR_INIT;
        int r = lk_log_broadcast_consume_now(l->o.store, l->chain_id, log, l->o.job_id, &err);
        if (r < 0)
                lk_log_error(l->o.log, "cannot record the log as consumed", LK_INT("job_id", l->o.job_id),
                             LK_ERROR(&err));
        return r;
}

static int consume_with_run(lk_db *db, void *arg, int64_t run_id, lk_err *err) {
        in_flight *f = arg;
        int r = lk_log_broadcast_consume(db, f->listener->chain_id, f->log, f->listener->o.job_id, err);
        if (r == 0)
                f->run_id = run_id;
        return r;
}

/* ---- the variables of a run ---- */

static lk_value *hex_string(const uint8_t *bytes, size_t len) {
        char *text = lk_malloc(2 * len + 3);
        text[0] = '0';
        text[1] = 'x';
        lk_hex_encode(text + 2, bytes, len);
        lk_value *v = lk_value_string(text, 2 + 2 * len);
        lk_free(text);
        return v;
}

static lk_value *address_string(const lk_value *v) {
        size_t len;
        const unsigned char *b = lk_value_get_bytes(v, &len);
        char text[43];
        lk_eth_address_text(b, text);
        return lk_value_string(text, SIZE_MAX);
}

static lk_value *decimal_string(const lk_value *v) {
        lk_buf out = LK_BUF_INIT;
        lk_value_to_json(v, &out);
        lk_value *s = lk_value_string(lk_buf_str(&out), out.len);
        lk_buf_done(&out);
        return s;
}

static lk_value *bytes_string(const lk_value *v) {
        size_t len;
        const unsigned char *b = lk_value_get_bytes(v, &len);
        return hex_string(b, len);
}

/* jobRun.meta.oracleRequest: every field a string, as Chainlink gives it. */
static lk_value *oracle_request_meta(const lk_evm_log *log, const lk_value *fields) {
        lk_value *m = lk_value_map();
        lk_value_map_put(m, "specId", 6, hex_string(log->topics[1], 32));
        lk_value_map_put(m, "requester", 9, address_string(lk_value_array_at(fields, F_REQUESTER)));
        lk_value_map_put(m, "requestId", 9, bytes_string(lk_value_array_at(fields, F_REQUEST_ID)));
        lk_value_map_put(m, "payment", 7, decimal_string(lk_value_array_at(fields, F_PAYMENT)));
        lk_value_map_put(m, "callbackAddr", 12, address_string(lk_value_array_at(fields, F_CALLBACK_ADDR)));
        lk_value_map_put(m, "callbackFunctionId", 18, bytes_string(lk_value_array_at(fields, F_CALLBACK_FUNCTION)));
        lk_value_map_put(m, "cancelExpiration", 16, decimal_string(lk_value_array_at(fields, F_EXPIRATION)));
        lk_value_map_put(m, "dataVersion", 11, decimal_string(lk_value_array_at(fields, F_DATA_VERSION)));
        lk_value_map_put(m, "data", 4, bytes_string(lk_value_array_at(fields, F_DATA)));
        lk_value *meta = lk_value_map();
        lk_value_map_put(meta, "oracleRequest", 13, m);
        return meta;
}

static lk_value *job_run_vars(const lk_evm_log *log, const uint8_t *data, size_t data_len, const lk_value *fields) {
        lk_value *v = lk_value_map();
        lk_value_map_put(v, "meta", 4, oracle_request_meta(log, fields));
        lk_value_map_put(v, "logBlockHash", 12, lk_value_bytes(log->block_hash, 32));
        lk_value_map_put(v, "logBlockNumber", 14, lk_value_uint64(log->block_number));
        lk_value_map_put(v, "logTxHash", 9, lk_value_bytes(log->tx_hash, 32));
        lk_value_map_put(v, "logAddress", 10, lk_value_bytes(log->address, 20));
        lk_value *topics = lk_value_array();
        for (size_t i = 0; i < log->topic_count; i++)
                lk_value_array_append(topics, lk_value_bytes(log->topics[i], 32));
        lk_value_map_put(v, "logTopics", 9, topics);
        lk_value_map_put(v, "logData", 7, lk_value_bytes(data, data_len));
        return v;
}

/* ---- requests ---- */

static bool requester_allowed(const lk_directrequest *l, const lk_value *requester) {
        const lk_job_directrequest *dr = &l->o.spec->u.directrequest;
        if (dr->requester_count == 0)
                return true;
        size_t len;
        const unsigned char *address = lk_value_get_bytes(requester, &len);
        char text[43];
        lk_eth_address_text(address, text);
        for (size_t i = 0; i < dr->requester_count; i++)
                if (strcmp(dr->requesters[i].hex, text) == 0)
                        return true;
        return false;
}

static bool payment_enough(const lk_directrequest *l, const lk_value *payment) {
        if (lk_value_type_of(payment) == LK_VALUE_BIGINT)
                return mpz_cmp(*lk_value_get_bigint(payment), l->min_payment) >= 0;
        return mpz_cmp_ui(l->min_payment, lk_value_get_uint64(payment)) <= 0;
}

static void run_done(void *arg, lk_run *run) {
        in_flight *f = arg;
        lk_directrequest *l = f->listener;
        remove_run(l, f);
        lk_log_info(l->o.log, "direct request run ended", LK_INT("job_id", l->o.job_id), LK_INT("run_id", lk_run_id(run)),
                    LK_STR("state", lk_run_state_name(lk_run_state_of(run))));
        lk_free(f);
        listener_unref(l);
}

static int start_run(lk_directrequest *l, const lk_evm_log *log, const uint8_t *data, size_t data_len,
                     const lk_value *fields) {
        in_flight *f = lk_calloc(1, sizeof *f);
        f->listener = listener_ref(l);
        f->log = log;
        size_t len;
        memcpy(f->request_id, lk_value_get_bytes(lk_value_array_at(fields, F_REQUEST_ID), &len), 32);
        add_run(l, f);
        lk_value *vars = lk_value_map();
        lk_value_map_put(vars, "jobSpec", 7, lk_value_ref(l->job_spec_vars));
        lk_value_map_put(vars, "jobRun", 6, job_run_vars(log, data, data_len, fields));
        lk_run_request rq = {.spec = l->o.pipeline,
                             .vars = vars,
                             .save_task_runs = true,
                             .pre_insert = true,
                             .in_insert = consume_with_run,
                             .in_insert_arg = f,
                             .done = run_done,
                             .done_arg = f};
        lk_err err = LK_ERR_INIT;
        int r = lk_runner_start(l->o.runner, &rq, &err);
        lk_value_unref(vars);
        if (r < 0) {
                remove_run(l, f);
                lk_free(f);
                listener_unref(l);
                if (r == -EALREADY)
                        return 0;
                lk_log_error(l->o.log, "cannot start a direct request run", LK_INT("job_id", l->o.job_id),
                             LK_ERROR(&err));
        }
        return r;
}

static int on_request(lk_directrequest *l, const lk_evm_log *log) {
        if (memcmp(log->topics[1], l->spec_topics[0], 32) != 0 && memcmp(log->topics[1], l->spec_topics[1], 32) != 0)
                return 0; /* another job's */
        size_t len = (strlen(log->data_hex) - 2) / 2;
        uint8_t *data = lk_malloc(len ? len : 1);
        lk_value *fields = NULL;
        lk_err err = LK_ERR_INIT;
        int r;
        if (!lk_hex_decode_prefixed(log->data_hex, data, len))
                lk_err_set(&err, -EPROTO, "the log's data is not whole bytes of hex");
        if (lk_err_is_set(&err) || lk_abi_decode(l->data_type, data, len, 0, &fields, NULL, &err) < 0) {
                lk_log_error(l->o.log, "cannot decode an OracleRequest log", LK_INT("job_id", l->o.job_id),
                             LK_INT("block", (int64_t)log->block_number), LK_ERROR(&err));
                r = consume(l, log);
        } else if (!requester_allowed(l, lk_value_array_at(fields, F_REQUESTER))) {
                lk_log_warn(l->o.log, "Rejected run for invalid requester", LK_INT("job_id", l->o.job_id));
                r = consume(l, log);
        } else if (!payment_enough(l, lk_value_array_at(fields, F_PAYMENT))) {
                lk_log_warn(l->o.log, "Rejected run for insufficient payment", LK_INT("job_id", l->o.job_id));
                r = consume(l, log);
        } else {
                r = start_run(l, log, data, len, fields);
        }
        lk_value_unref(fields);
        lk_free(data);
        return r;
}

static int on_cancel(lk_directrequest *l, const lk_evm_log *log) {
        int64_t run_id = 0;
        pthread_mutex_lock(&l->lock);
        for (in_flight *f = l->runs; f && !run_id; f = f->next)
                if (memcmp(f->request_id, log->topics[1], 32) == 0)
                        run_id = f->run_id;
        pthread_mutex_unlock(&l->lock);
        if (!run_id)
                return 0; /* not one of ours, or already answered */
        lk_err err = LK_ERR_INIT;
        if (lk_runner_cancel(l->o.runner, run_id, &err) == 0)
                lk_log_info(l->o.log, "cancelled the run of a cancelled request", LK_INT("job_id", l->o.job_id),
                            LK_INT("run_id", run_id));
        return consume(l, log);
}

static int on_log(void *arg, const lk_evm_log *log) {
        lk_directrequest *l = arg;
        if (log->topic_count < 2)
                return 0;
        if (memcmp(log->topics[0], l->topics[0], 32) == 0)
                return on_request(l, log);
        if (memcmp(log->topics[0], l->topics[1], 32) == 0)
                return on_cancel(l, log);
        return 0;
}

/* ---- start and stop ---- */

/* Chainlink's ExternalIDEncodeBytesToTopic and ExternalIDEncodeStringToTopic. */
static void spec_topics(const char *external_job_id, uint8_t out[2][32]) {
        memset(out, 0, 2 * 32);
        size_t n = 0;
        for (const char *p = external_job_id; *p && n < 32; p++) {
                if (*p == '-')
                        continue;
                out[1][n] = (uint8_t)*p;
                if (n % 2 == 1)
                        out[0][n / 2] = (uint8_t)(lk_hex_digit(out[1][n - 1]) << 4 | lk_hex_digit(*p));
                n++;
        }
}

static int min_payment(lk_directrequest *l, lk_err *err) {
        const char *job = l->o.spec->u.directrequest.min_contract_payment_link_juels;
        if (job)
                return lk_link_amount_parse(job, l->min_payment, err) < 0
                               ? lk_err_prefix(err, "minContractPaymentLinkJuels")
                               : 0;
        const char *chain = lk_chain_config(l->o.chain)->min_contract_payment;
        if (chain && lk_link_amount_parse(chain, l->min_payment, err) < 0)
                return lk_err_prefix(err, "EVM.MinContractPayment");
        return 0;
}

int lk_directrequest_start(const lk_directrequest_options *o, lk_directrequest **ret, lk_err *err) {
        lk_directrequest *l = lk_calloc(1, sizeof *l);
        l->o = *o;
        lk_pipeline_spec_ref(o->pipeline);
        atomic_init(&l->refs, 1);
        l->chain_id = lk_chain_id(o->chain);
        mpz_init(l->min_payment);
        pthread_mutex_init(&l->lock, NULL);
        lk_keccak256(oracle_request_event, sizeof oracle_request_event - 1, l->topics[0]);
        lk_keccak256(cancel_event, sizeof cancel_event - 1, l->topics[1]);
        spec_topics(o->spec->external_job_id, l->spec_topics);
        l->job_spec_vars = lk_job_spec_vars(o->job_id, o->spec);
        int r = min_payment(l, err);
        if (r == 0)
                r = lk_abi_types_parse(oracle_request_data, sizeof oracle_request_data - 1, &l->data_type, err);
        if (r < 0) {
                listener_unref(l);
                return r;
        }
        const lk_job_directrequest *dr = &o->spec->u.directrequest;
        int64_t confirmations = lk_chain_config(o->chain)->min_incoming_confirmations;
        if (dr->min_incoming_confirmations_set && dr->min_incoming_confirmations > confirmations)
                confirmations = dr->min_incoming_confirmations;
        lk_log_subscription s = {.topics = &l->topics[0][0],
                                 .topic_count = 2,
                                 .min_confirmations = (uint32_t)confirmations,
                                 .job_id = o->job_id,
                                 .fn = on_log,
                                 .arg = l};
        lk_hex_decode_prefixed(dr->contract_address.hex, s.address, 20);
        r = lk_log_broadcaster_subscribe(lk_chain_logs(o->chain), &s, err);
        if (r < 0) {
                listener_unref(l);
                return r;
        }
        l->subscription = r;
        *ret = l;
        return 0;
}

lk_directrequest *lk_directrequest_stop(lk_directrequest *l) {
        if (!l)
                return NULL;
        lk_log_broadcaster_unsubscribe(lk_chain_logs(l->o.chain), l->subscription);
        listener_unref(l);
        return NULL;
}
