/* See include/linkd/chain.h.  The parts are made in lk_chain_new, except
 * the transaction manager, which needs the keys the store holds and so
 * waits for the start (the Database starts before the chains). */
#include "linkd/chain.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/keystore.h"
#include "linkd/multi.h"

struct lk_chain {
        lk_service service;
        lk_once once;
        char name[32];
        lk_chain_options o;
        lk_rpc_pool *rpc;
        lk_head_tracker *heads;
        lk_log_broadcaster *logs;
        lk_txm *txm;
        lk_multistart ms;
};

static lk_chain *of_service(lk_service *service) {
        return (lk_chain *)((char *)service - offsetof(lk_chain, service));
}

/* The node's Ethereum keys, opened with the keystore password. */
static int open_keys(lk_chain *c, lk_eth_key **ret, size_t *ret_count, lk_err *err) {
        lk_eth_key_info *infos = NULL;
        size_t count = 0;
        int r = lk_keystore_eth_list(c->o.store, &infos, &count, err);
        if (r < 0)
                return r;
        if (count && !c->o.keystore_password) {
                lk_free(infos);
                return lk_err_set(err, -EACCES,
                                  "the keystore holds %zu Ethereum key(s) and no keystore password was given "
                                  "(node start --password FILE)",
                                  count);
        }
        lk_eth_key *keys = lk_calloc(count ? count : 1, sizeof *keys);
        for (size_t i = 0; i < count && r == 0; i++)
                if ((r = lk_keystore_eth_key(c->o.store, infos[i].address, c->o.keystore_password, &keys[i], err)) < 0)
                        lk_err_prefix(err, "key %s", infos[i].address);
        if (r < 0) {
                for (size_t i = 0; i < count; i++)
                        lk_eth_key_wipe(&keys[i]);
                lk_free(keys);
                keys = NULL;
        } else {
                *ret = keys;
                *ret_count = count;
        }
        lk_free(infos);
        return r;
}

static int make_txm(lk_chain *c, lk_err *err) {
        lk_eth_key *keys = NULL;
        size_t count = 0;
        int r = open_keys(c, &keys, &count, err);
        if (r < 0)
                return r;
        const lk_evm_chain_config *cfg = c->o.config;
        lk_txm_options o = {
                .chain_id = cfg->chain_id,
                .rpc = c->rpc,
                .store = c->o.store,
                .keys = keys,
                .key_count = count,
                .gas = {.dynamic_fees = cfg->gas_estimator.eip1559_dynamic_fees,
                        .limit_default = cfg->gas_estimator.limit_default,
                        .price_default = cfg->gas_estimator.price_default,
                        .tip_cap_default = cfg->gas_estimator.tip_cap_default,
                        .fee_cap_default = cfg->gas_estimator.fee_cap_default,
                        .price_max = cfg->gas_estimator.price_max,
                        .bump_min = cfg->gas_estimator.bump_min,
                        .bump_percent = cfg->gas_estimator.bump_percent,
                        .bump_threshold = cfg->gas_estimator.bump_threshold},
                .finality_depth = cfg->finality_depth,
                .poll_interval = cfg->head_tracker.sampling_interval,
                .log = c->o.log,
                .resume = c->o.resume,
                .resume_arg = c->o.resume_arg,
        };
        r = lk_txm_new(&o, &c->txm, err);
        for (size_t i = 0; i < count; i++)
                lk_eth_key_wipe(&keys[i]);
        lk_free(keys);
        if (r == 0 && count == 0)
                lk_log_warn(c->o.log, "no Ethereum keys: the chain's transaction manager can send nothing",
                            LK_INT("chain_id", cfg->chain_id));
        return r;
}

static int start_locked(void *arg, lk_err *err) {
        lk_chain *c = arg;
        int r = c->txm ? 0 : make_txm(c, err);
        if (r < 0)
                return lk_err_prefix(err, "%s", c->name), r;
        lk_service *parts[] = {lk_head_tracker_service(c->heads), lk_txm_service(c->txm)};
        return lk_multistart_start(&c->ms, NULL, parts, 2, err);
}

static int stop_locked(void *arg, lk_err *err) {
        lk_chain *c = arg;
        return lk_multistart_close(&c->ms, err);
}

static int chain_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        (void)ctx;
        lk_chain *c = of_service(service);
        return lk_once_start(&c->once, c->name, start_locked, c, err);
}

static int chain_close(lk_service *service, lk_err *err) {
        lk_chain *c = of_service(service);
        return lk_once_stop(&c->once, c->name, stop_locked, c, err);
}

static void chain_health(lk_service *service, lk_health_report *report) {
        lk_chain *c = of_service(service);
        lk_err err = LK_ERR_INIT;
        int r = lk_once_healthy(&c->once, &err);
        lk_health_report_set(report, c->name, r < 0 ? err.msg : NULL);
        lk_rpc_pool_health(c->rpc, report);
        lk_service_health_report(lk_head_tracker_service(c->heads), report);
        lk_log_broadcaster_health(c->logs, report);
        if (c->txm)
                lk_service_health_report(lk_txm_service(c->txm), report);
}

static const lk_service_vtable chain_vtable = {
        .start = chain_start,
        .close = chain_close,
        .health_report = chain_health,
};

static int make_parts(lk_chain *c, lk_err *err) {
        const lk_evm_chain_config *cfg = c->o.config;
        lk_rpc_pool_node *nodes = lk_calloc(cfg->node_count ? cfg->node_count : 1, sizeof *nodes);
        for (size_t i = 0; i < cfg->node_count; i++)
                nodes[i] = (lk_rpc_pool_node){.name = cfg->nodes[i].name,
                                              .http_url = cfg->nodes[i].http_url,
                                              .ws_url = cfg->nodes[i].ws_url,
                                              .send_only = cfg->nodes[i].send_only};
        int r = lk_rpc_pool_new(&(lk_rpc_pool_options){.chain_id = cfg->chain_id, .nodes = nodes,
                                                       .node_count = cfg->node_count},
                                &c->rpc, err);
        lk_free(nodes);
        if (r < 0)
                return r;
        lk_head_tracker_options ho = {.chain_id = cfg->chain_id,
                                      .rpc = c->rpc,
                                      .ws = lk_rpc_pool_ws(c->rpc),
                                      .store = c->o.store,
                                      .log = c->o.log,
                                      .history_depth = (size_t)cfg->head_tracker.history_depth,
                                      .poll_interval = cfg->head_tracker.sampling_interval};
        if ((r = lk_head_tracker_new(&ho, &c->heads, err)) < 0)
                return r;
        lk_log_broadcaster_options bo = {.chain_id = cfg->chain_id,
                                         .rpc = c->rpc,
                                         .store = c->o.store,
                                         .heads = c->heads,
                                         .finality_depth = cfg->finality_depth,
                                         .log = c->o.log,
                                         .await_dependents = c->o.await_jobs};
        if ((r = lk_log_broadcaster_new(&bo, &c->logs, err)) < 0)
                return r;
        lk_head_tracker_subscribe(c->heads, lk_log_broadcaster_on_head, c->logs);
        return 0;
}

int lk_chain_new(const lk_chain_options *o, lk_chain **ret, lk_err *err) {
        if (!o->config || !o->store)
                return lk_err_set(err, -EINVAL, "a chain needs its configuration and a store");
        lk_chain *c = lk_calloc(1, sizeof *c);
        c->o = *o;
        snprintf(c->name, sizeof c->name, "EVM.%" PRId64, o->config->chain_id);
        lk_once_init(&c->once);
        c->ms = (lk_multistart)LK_MULTISTART_INIT;
        c->service = (lk_service){.vtable = &chain_vtable, .name = c->name, .once = &c->once};
        int r = make_parts(c, err);
        if (r < 0) {
                lk_err_prefix(err, "%s", c->name);
                lk_chain_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

lk_chain *lk_chain_free(lk_chain *c) {
        if (!c)
                return NULL;
        lk_multistart_done(&c->ms);
        lk_txm_free(c->txm);
        lk_head_tracker_free(c->heads);
        lk_log_broadcaster_free(c->logs);
        lk_rpc_pool_free(c->rpc);
        lk_once_done(&c->once);
        lk_free(c);
        return NULL;
}

lk_service *lk_chain_service(lk_chain *c) {
        return &c->service;
}

int64_t lk_chain_id(const lk_chain *c) {
        return c->o.config->chain_id;
}

const lk_evm_chain_config *lk_chain_config(const lk_chain *c) {
        return c->o.config;
}

lk_rpc_pool *lk_chain_rpc(lk_chain *c) {
        return c->rpc;
}

lk_head_tracker *lk_chain_heads(lk_chain *c) {
        return c->heads;
}

lk_log_broadcaster *lk_chain_logs(lk_chain *c) {
        return c->logs;
}

lk_txm *lk_chain_txm(lk_chain *c) {
        return c->txm;
}
