/* bench/evm: the EVM chain client against ganache, each figure next to a
 * baseline measured in the same run (bench/evm/run starts the ganache
 * instances and the ethers baseline).
 *
 *   evm_bench setup-logs URL CALLS
 *       deploys a contract that emits 10 logs per call and calls it CALLS
 *       times (one block each); prints contract=, from_block=, to_block=.
 *   evm_bench logs URL WORK CONTRACT FROM TO ROUNDS
 *       baseline: eth_getLogs of FROM..TO by a plain libcurl loop (1000
 *       blocks per call, as the log broadcaster), the answer parsed by
 *       jansson and its logs counted; linkd: a head tracker (SQLite store
 *       in a fresh RootDir under WORK, 20 ms polls) with the log
 *       broadcaster looking back over FROM..TO on its first head and one
 *       subscription (1 confirmation) counting deliveries: from the
 *       tracker's start until every log is delivered.  Best of ROUNDS
 *       each; logs/s.
 *   evm_bench txs URL WORK COUNT
 *       COUNT value transfers enqueued in lk_txm (SQLite, 20 ms polls):
 *       from the first enqueue until all are confirmed; txs/s.
 *   evm_bench rss URL WORK HEADS FILTERS
 *       VmRSS before, then with a head tracker holding HEADS heads and a
 *       log broadcaster with FILTERS subscriptions (distinct addresses).
 *
 * Output: key=value lines. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/config.h"
#include "linkd/ctx.h"
#include "linkd/eth.h"
#include "linkd/file.h"
#include "linkd/head_tracker.h"
#include "linkd/log_broadcaster.h"
#include "linkd/proc.h"
#include "linkd/rpc.h"
#include "linkd/rpc_pool.h"
#include "linkd/store.h"
#include "linkd/time.h"
#include "linkd/txm.h"

#define CHAIN_ID 1337
#define LOGS_PER_CALL 10
#define LOGS_RANGE 1000 /* blocks per eth_getLogs, as the log broadcaster */
#define POLL (20 * LK_USEC_PER_MSEC)
#define GWEI 1000000000LL
/* ganache's first deterministic account */
#define KEY0 "4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"

static void die(const char *what, const lk_err *err) {
        fprintf(stderr, "evm_bench: %s: %s\n", what, err ? err->msg : "failed");
        exit(1);
}

static double seconds_since(lk_usec start) {
        return (double)(lk_now_monotonic() - start) / LK_USEC_PER_SEC;
}

/* The resident set (/proc/self/stat's rss: VmRSS), as the node's own
 * /metrics reads it. */
static long vm_rss_kb(void) {
        lk_proc_stats st;
        return lk_proc_stats_read(&st, 0, NULL) < 0 ? -1 : (long)(st.resident_bytes / 1024);
}

static void parse_address(const char *text, uint8_t out[static 20]) {
        json_t *s = json_string(text);
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_data(s, out, 20, &err) < 0)
                die("address", &err);
        json_decref(s);
}

/* ---- the chain ---- */

static lk_rpc *rpc_of(const char *url) {
        lk_rpc *rpc;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_new(&(lk_rpc_options){.name = "ganache", .url = url, .timeout = 60 * LK_USEC_PER_SEC}, &rpc, &err) < 0)
                die("rpc", &err);
        return rpc;
}

static lk_rpc_pool *pool_of(const char *url) {
        lk_rpc_pool_node node = {.name = "ganache", .http_url = url};
        lk_rpc_pool *pool;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_pool_new(&(lk_rpc_pool_options){.chain_id = CHAIN_ID, .nodes = &node, .node_count = 1,
                                                   .timeout = 60 * LK_USEC_PER_SEC},
                            &pool, &err) < 0)
                die("pool", &err);
        return pool;
}

static json_t *call(lk_rpc *rpc, const char *method, json_t *params) {
        json_t *result = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_call(rpc, method, params, &result, &err) < 0)
                die(method, &err);
        return result;
}

/* eth_sendTransaction from ganache's first (unlocked) account; instamine
 * has mined it when the call returns: its receipt. */
static json_t *send_from_first(lk_rpc *rpc, const char *from, json_t *fields) {
        json_object_set_new(fields, "from", json_string(from));
        json_t *hash = call(rpc, "eth_sendTransaction", json_pack("[o]", fields));
        json_t *receipt = call(rpc, "eth_getTransactionReceipt", json_pack("[O]", hash));
        json_decref(hash);
        if (!json_is_object(receipt))
                die("eth_getTransactionReceipt: no receipt", NULL);
        return receipt;
}

static uint64_t receipt_quantity(json_t *receipt, const char *name) {
        uint64_t v = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_quantity(json_object_get(receipt, name), &v, &err) < 0)
                die(name, &err);
        return v;
}

/* Runtime: 10 x LOG1(offset 0, size 32, topic 1), STOP; behind init code
 * that copies it to memory and returns it. */
static void emitter_code(uint8_t *code, size_t *ret_len) {
        static const uint8_t log1[] = {0x60, 0x01, 0x60, 0x20, 0x60, 0x00, 0xa1};
        size_t runtime = LOGS_PER_CALL * sizeof log1 + 1;
        uint8_t init[] = {0x60, (uint8_t)runtime, 0x60, 12, 0x60, 0x00, 0x39, 0x60, (uint8_t)runtime, 0x60, 0x00, 0xf3};
        memcpy(code, init, sizeof init);
        size_t n = sizeof init;
        for (int i = 0; i < LOGS_PER_CALL; i++, n += sizeof log1)
                memcpy(code + n, log1, sizeof log1);
        code[n++] = 0x00;
        *ret_len = n;
}

static int setup_logs(const char *url, int calls) {
        lk_rpc *rpc = rpc_of(url);
        json_t *accounts = call(rpc, "eth_accounts", NULL);
        const char *from = json_string_value(json_array_get(accounts, 0));
        if (!from)
                die("eth_accounts", NULL);
        uint8_t code[128];
        size_t len;
        emitter_code(code, &len);
        json_t *receipt = send_from_first(rpc, from, json_pack("{s:o,s:s}", "data", lk_rpc_hex(code, len), "gas", "0x30d40"));
        const char *address = json_string_value(json_object_get(receipt, "contractAddress"));
        if (!address)
                die("deploy: no contract address", NULL);
        char contract[64];
        snprintf(contract, sizeof contract, "%s", address);
        printf("contract=%s\n", contract);
        json_decref(receipt);
        uint64_t first = 0, last = 0;
        for (int i = 0; i < calls; i++) {
                receipt = send_from_first(rpc, from, json_pack("{s:s,s:s}", "to", contract, "gas", "0x186a0"));
                if (json_array_size(json_object_get(receipt, "logs")) != LOGS_PER_CALL)
                        die("call: not 10 logs", NULL);
                last = receipt_quantity(receipt, "blockNumber");
                if (i == 0)
                        first = last;
                json_decref(receipt);
        }
        printf("from_block=%" PRIu64 " to_block=%" PRIu64 "\n", first, last);
        json_decref(accounts);
        lk_rpc_free(rpc);
        return 0;
}

/* ---- the store, in a fresh RootDir under work ---- */

typedef struct node_store {
        lk_config cfg;
        lk_store *store;
} node_store;

static void store_open(node_store *s, const char *work, const char *name) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", work, name);
        lk_config_init(&s->cfg);
        lk_free(s->cfg.root_dir);
        s->cfg.root_dir = lk_strdup(dir);
        lk_err err = LK_ERR_INIT;
        if (lk_config_finish(&s->cfg, &err) < 0 || lk_dir_ensure_private(dir, &err) < 0 ||
            lk_store_new(&(lk_store_options){.config = &s->cfg}, &s->store, &err) < 0 ||
            lk_service_start(lk_store_service(s->store), NULL, &err) < 0)
                die("store", &err);
}

static void store_close(node_store *s) {
        lk_service_close(lk_store_service(s->store), NULL);
        s->store = lk_store_free(s->store);
        lk_config_done(&s->cfg);
}

/* ---- log ingestion ---- */

typedef struct growing {
        char *data;
        size_t len;
} growing;

static size_t collect(char *data, size_t size, size_t n, void *arg) {
        growing *g = arg;
        g->data = realloc(g->data, g->len + size * n + 1);
        memcpy(g->data + g->len, data, size * n);
        g->len += size * n;
        return size * n;
}

/* The baseline: eth_getLogs over from..to, LOGS_RANGE blocks a call, by
 * a plain libcurl loop; each answer parsed and its logs counted. */
static size_t curl_get_logs(const char *url, const char *contract, uint64_t from, uint64_t to) {
        CURL *h = curl_easy_init();
        struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        size_t count = 0;
        for (uint64_t lo = from; lo <= to; lo += LOGS_RANGE) {
                uint64_t hi = lo + LOGS_RANGE - 1 < to ? lo + LOGS_RANGE - 1 : to;
                char body[256];
                snprintf(body, sizeof body,
                         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getLogs\",\"params\":[{\"fromBlock\":\"0x%" PRIx64
                         "\",\"toBlock\":\"0x%" PRIx64 "\",\"address\":[\"%s\"]}]}",
                         lo, hi, contract);
                growing answer = {NULL, 0};
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
                if (curl_easy_perform(h) != CURLE_OK)
                        die("curl eth_getLogs", NULL);
                json_t *doc = json_loadb(answer.data, answer.len, 0, NULL);
                json_t *logs = json_object_get(doc, "result");
                if (!json_is_array(logs))
                        die("curl eth_getLogs: no result", NULL);
                count += json_array_size(logs);
                json_decref(doc);
                free(answer.data);
        }
        curl_slist_free_all(headers);
        curl_easy_cleanup(h);
        return count;
}

typedef struct counter {
        pthread_mutex_t lock;
        pthread_cond_t done;
        size_t delivered, want;
} counter;

static int count_log(void *arg, const lk_evm_log *log) {
        (void)log;
        counter *c = arg;
        pthread_mutex_lock(&c->lock);
        if (++c->delivered >= c->want)
                pthread_cond_broadcast(&c->done);
        pthread_mutex_unlock(&c->lock);
        return 0;
}

/* One round of linkd's side: seconds until want logs are delivered (or
 * the timeout; *ret_delivered says how many were). */
static double linkd_logs_round(const char *url, const char *work, int round, const uint8_t contract[static 20],
                               uint64_t from, uint64_t to, size_t want, size_t *ret_delivered) {
        char name[32];
        snprintf(name, sizeof name, "logs-%d", round);
        node_store s;
        store_open(&s, work, name);
        lk_rpc_pool *pool = pool_of(url);
        lk_err err = LK_ERR_INIT;
        lk_head_tracker *heads;
        lk_log_broadcaster *logs;
        lk_head_tracker_options to_ = {.chain_id = CHAIN_ID, .rpc = pool, .store = s.store,
                                       .history_depth = (size_t)(to - from + 1) + 50, .poll_interval = POLL};
        if (lk_head_tracker_new(&to_, &heads, &err) < 0)
                die("head tracker", &err);
        lk_log_broadcaster_options bo = {.chain_id = CHAIN_ID, .rpc = pool, .store = s.store, .heads = heads,
                                         .finality_depth = (int64_t)(to - from)};
        if (lk_log_broadcaster_new(&bo, &logs, &err) < 0)
                die("log broadcaster", &err);
        lk_head_tracker_subscribe(heads, lk_log_broadcaster_on_head, logs);
        counter c = {.want = want};
        pthread_mutex_init(&c.lock, NULL);
        lk_cond_init_monotonic(&c.done);
        lk_log_subscription sub = {.min_confirmations = 1, .job_id = 1, .fn = count_log, .arg = &c};
        memcpy(sub.address, contract, 20);
        if (lk_log_broadcaster_subscribe(logs, &sub, &err) < 0)
                die("subscribe", &err);

        lk_usec start = lk_now_monotonic();
        if (lk_service_start(lk_head_tracker_service(heads), NULL, &err) < 0)
                die("head tracker start", &err);
        struct timespec until = lk_deadline_after(20 * LK_USEC_PER_SEC);
        pthread_mutex_lock(&c.lock);
        while (c.delivered < want)
                if (pthread_cond_timedwait(&c.done, &c.lock, &until) == ETIMEDOUT)
                        break;
        *ret_delivered = c.delivered;
        pthread_mutex_unlock(&c.lock);
        double took = seconds_since(start);

        lk_service_close(lk_head_tracker_service(heads), NULL);
        lk_head_tracker_free(heads);
        lk_log_broadcaster_free(logs);
        lk_rpc_pool_free(pool);
        store_close(&s);
        pthread_cond_destroy(&c.done);
        pthread_mutex_destroy(&c.lock);
        return took;
}

static int bench_logs(const char *url, const char *work, const char *contract_text, uint64_t from, uint64_t to,
                      int rounds) {
        uint8_t contract[20];
        parse_address(contract_text, contract);
        size_t want = (size_t)(to - from + 1) * LOGS_PER_CALL;
        double baseline = 1e18, linkd = 1e18;
        size_t fewest = want;
        for (int r = 0; r < rounds; r++) {
                lk_usec start = lk_now_monotonic();
                size_t got = curl_get_logs(url, contract_text, from, to);
                double took = seconds_since(start);
                if (got != want) {
                        fprintf(stderr, "evm_bench: eth_getLogs found %zu logs, not %zu\n", got, want);
                        return 1;
                }
                if (took < baseline)
                        baseline = took;
                size_t delivered = 0;
                took = linkd_logs_round(url, work, r, contract, from, to, want, &delivered);
                if (delivered < want) {
                        fewest = delivered;
                        break; /* stuck: another round would be as stuck */
                }
                if (took < linkd)
                        linkd = took;
        }
        printf("logs=%zu baseline_curl_get_logs_s=%.3f baseline_curl_logs_per_s=%.0f\n", want, baseline,
               (double)want / baseline);
        if (fewest < want) {
                printf("linkd_logs_delivered_in_20s=%zu linkd_logs_per_s=0 logs_ratio=0\n", fewest);
                return 0;
        }
        printf("linkd_logs_s=%.3f linkd_logs_per_s=%.0f logs_ratio=%.2f\n", linkd, (double)want / linkd,
               baseline / linkd);
        return 0;
}

/* ---- transactions ---- */

static bool all_confirmed(lk_store *store, const int64_t *ids, int count, int *ret_first_open) {
        lk_err err = LK_ERR_INIT;
        for (int i = *ret_first_open; i < count; i++) {
                lk_txm_status st;
                if (lk_txm_status_get(store, ids[i], &st, &err) < 0)
                        die("status", &err);
                if (strcmp(st.state, "fatal_error") == 0) {
                        fprintf(stderr, "evm_bench: transaction %d: %s\n", i, st.error);
                        exit(1);
                }
                if (strcmp(st.state, "confirmed") != 0) {
                        *ret_first_open = i;
                        return false;
                }
        }
        *ret_first_open = count;
        return true;
}

static int bench_txs(const char *url, const char *work, int count) {
        node_store s;
        store_open(&s, work, "txs");
        lk_rpc_pool *pool = pool_of(url);
        lk_err err = LK_ERR_INIT;
        uint8_t secret[32];
        json_t *hex = json_string("0x" KEY0);
        lk_eth_key key;
        if (lk_rpc_data(hex, secret, 32, &err) < 0 || lk_eth_key_from_secret(&key, secret, &err) < 0)
                die("key", &err);
        json_decref(hex);
        lk_txm_gas gas = {.dynamic_fees = true, .limit_default = 21000, .price_default = 20 * GWEI,
                          .tip_cap_default = GWEI, .fee_cap_default = 20 * GWEI, .price_max = 100 * GWEI,
                          .bump_min = GWEI, .bump_percent = 20, .bump_threshold = 3};
        lk_txm_options o = {.chain_id = CHAIN_ID, .rpc = pool, .store = s.store, .keys = &key, .key_count = 1,
                            .gas = gas, .finality_depth = 50, .poll_interval = POLL};
        lk_txm *txm;
        if (lk_txm_new(&o, &txm, &err) < 0 || lk_service_start(lk_txm_service(txm), NULL, &err) < 0)
                die("txm", &err);
        int64_t *ids = calloc((size_t)count, sizeof *ids);

        lk_usec start = lk_now_monotonic();
        for (int i = 0; i < count; i++) {
                char idem[32];
                snprintf(idem, sizeof idem, "bench-%d", i);
                lk_txm_request rq = {.idempotency_key = idem};
                memcpy(rq.from, key.address, 20);
                rq.to[0] = 0xbe;
                rq.to[19] = (uint8_t)(i + 1);
                rq.value[31] = 1;
                bool existing;
                if (lk_txm_enqueue(txm, &rq, &ids[i], &existing, &err) < 0)
                        die("enqueue", &err);
        }
        int first_open = 0;
        lk_usec deadline = start + 120 * LK_USEC_PER_SEC;
        while (!all_confirmed(s.store, ids, count, &first_open)) {
                if (lk_now_monotonic() > deadline) {
                        printf("txs=%d linkd_confirmed=%d linkd_txs_per_s=0\n", count, first_open);
                        return 1;
                }
                usleep(5 * 1000);
        }
        double took = seconds_since(start);
        printf("txs=%d linkd_txs_s=%.3f linkd_txs_per_s=%.1f\n", count, took, count / took);
        free(ids);
        lk_txm_free(txm);
        lk_rpc_pool_free(pool);
        store_close(&s);
        return 0;
}

/* ---- memory ---- */

static int no_op(void *arg, const lk_evm_log *log) {
        (void)arg;
        (void)log;
        return 0;
}

static int bench_rss(const char *url, const char *work, int depth, int filters) {
        node_store s;
        store_open(&s, work, "rss");
        lk_rpc_pool *pool = pool_of(url);
        lk_rpc *rpc = rpc_of(url);
        json_t *latest = call(rpc, "eth_blockNumber", NULL);
        uint64_t tip = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_quantity(latest, &tip, &err) < 0)
                die("eth_blockNumber", &err);
        json_decref(latest);
        if (tip + 1 < (uint64_t)depth) {
                fprintf(stderr, "evm_bench: the chain has %" PRIu64 " blocks, fewer than %d\n", tip + 1, depth);
                return 1;
        }
        long before = vm_rss_kb();

        lk_head_tracker *heads;
        lk_log_broadcaster *logs;
        lk_head_tracker_options to_ = {.chain_id = CHAIN_ID, .rpc = pool, .store = s.store,
                                       .history_depth = (size_t)depth, .poll_interval = POLL};
        if (lk_head_tracker_new(&to_, &heads, &err) < 0)
                die("head tracker", &err);
        lk_log_broadcaster_options bo = {.chain_id = CHAIN_ID, .rpc = pool, .store = s.store, .heads = heads,
                                         .finality_depth = 50};
        if (lk_log_broadcaster_new(&bo, &logs, &err) < 0)
                die("log broadcaster", &err);
        lk_head_tracker_subscribe(heads, lk_log_broadcaster_on_head, logs);
        for (int i = 0; i < filters; i++) {
                lk_log_subscription sub = {.min_confirmations = 1, .job_id = 1, .fn = no_op};
                sub.address[0] = 0xf1;
                sub.address[18] = (uint8_t)(i >> 8);
                sub.address[19] = (uint8_t)i;
                if (lk_log_broadcaster_subscribe(logs, &sub, &err) < 0)
                        die("subscribe", &err);
        }
        lk_usec start = lk_now_monotonic();
        if (lk_service_start(lk_head_tracker_service(heads), NULL, &err) < 0)
                die("head tracker start", &err);
        uint8_t hash[32];
        while (!lk_head_tracker_canonical(heads, (int64_t)tip - depth + 1, hash)) {
                if (seconds_since(start) > 60) {
                        fprintf(stderr, "evm_bench: the head tracker did not hold %d heads in 60 s\n", depth);
                        return 1;
                }
                usleep(100 * 1000);
        }
        double took = seconds_since(start);
        long after = vm_rss_kb();
        printf("heads=%d filters=%d heads_fill_s=%.1f baseline_rss_mb=%.1f rss_mb=%.1f rss_growth_mb=%.1f\n", depth,
               filters, took, before / 1024.0, after / 1024.0, (after - before) / 1024.0);
        lk_service_close(lk_head_tracker_service(heads), NULL);
        lk_head_tracker_free(heads);
        lk_log_broadcaster_free(logs);
        lk_rpc_free(rpc);
        lk_rpc_pool_free(pool);
        store_close(&s);
        return 0;
}

int main(int argc, char **argv) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (argc == 4 && strcmp(argv[1], "setup-logs") == 0)
                return setup_logs(argv[2], atoi(argv[3]));
        if (argc == 8 && strcmp(argv[1], "logs") == 0)
                return bench_logs(argv[2], argv[3], argv[4], strtoull(argv[5], NULL, 10), strtoull(argv[6], NULL, 10),
                                  atoi(argv[7]));
        if (argc == 5 && strcmp(argv[1], "txs") == 0)
                return bench_txs(argv[2], argv[3], atoi(argv[4]));
        if (argc == 6 && strcmp(argv[1], "rss") == 0)
                return bench_rss(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
        fprintf(stderr, "usage: evm_bench setup-logs URL CALLS | logs URL WORK CONTRACT FROM TO ROUNDS |"
                        " txs URL WORK COUNT | rss URL WORK HEADS FILTERS\n");
        return 2;
}
