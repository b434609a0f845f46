/* The transaction manager survives SIGKILL: a real linkd node on SQLite
 * is asked for 200 transfers to a real chain (ganache) through POST
 * /v2/transfers, each under its own idempotency key, in 20 bursts of 10;
 * after each burst, while the node is still signing and sending, it is
 * killed (a seeded random delay), restarted, and asked for the whole
 * burst again, as a client that got no answer would.
 * Afterwards each destination holds exactly its amount (a transfer sent
 * twice would have doubled it), the key's nonce is 200 (no nonce skipped:
 * a gap would hold every later transaction back), and the node calls
 * every transaction confirmed.  The node has ganache as its one RPC node,
 * over HTTP for calls and WebSocket for newHeads, as operators configure
 * Chainlink nodes. */
#include "lktest.h"
#include "ganache.h"
#include "test_node.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/eth.h"

#define TRANSFERS 200
#define KILLS 20
#define BURST (TRANSFERS / KILLS)
#define EMAIL "admin@example.com"
#define PASSWORD "a-long-enough-password"

static const char chain_config[] = "[HealthCheck]\n"
                                   "PollInterval = '100ms'\n"
                                   "[[EVM]]\n"
                                   "ChainID = 1337\n"
                                   "FinalityDepth = 3\n"
                                   "[EVM.GasEstimator]\n"
                                   "PriceDefault = '2 gwei'\n"
                                   "[EVM.HeadTracker]\n"
                                   "SamplingInterval = '100ms'\n"
                                   "[[EVM.Nodes]]\n"
                                   "Name = 'ganache'\n"
                                   "WSURL = 'ws://127.0.0.1:%u'\n"
                                   "HTTPURL = '%s'\n";

typedef struct fixture {
        int resumed_sent, resumed_unsent; /* transactions a kill left in progress, by whether the chain had them */
        lktest_ganache ganache;
        lk_rpc *rpc;
        lktest_node node;
        char address[43];
        char *cookie;
} fixture;

static void destination(int i, char out[static 43]) {
        snprintf(out, 43, "0xee000000000000000000000000000000000%05d", i);
}

/* A key made by the CLI in the node's keystore, funded by ganache's first
 * account. */
static void make_key(fixture *f) {
        const char *create[] = {"keys", "eth", "create", "--config", f->node.config, "--password", f->node.password,
                                "--json", NULL};
        char *out = lktest_run_expect(create, 0, NULL);
        json_t *created = lktest_json(out);
        snprintf(f->address, sizeof f->address, "%s", json_string_value(json_object_get(created, "address")));
        json_decref(created);
        lk_free(out);
        uint8_t secret[32], rich[20];
        lktest_unhex(LKTEST_GANACHE_KEY0, secret, 32);
        lk_eth_key key0;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_eth_key_from_secret(&key0, secret, &err), 0);
        memcpy(rich, key0.address, 20);
        char from[43];
        lk_eth_address_text(rich, from);
        json_t *hash = NULL;
        if (lk_rpc_call(f->rpc, "eth_sendTransaction",
                        json_pack("[{ssssss}]", "from", from, "to", f->address, "value", "0x8ac7230489e80000"), &hash,
                        &err) < 0)
                fail_msg("funding: %s", err.msg);
        json_decref(hash);
}

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        lktest_ganache_start(&f->ganache);
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_new(&(lk_rpc_options){.name = "ganache", .url = f->ganache.url}, &f->rpc, &err) < 0)
                fail_msg("%s", err.msg);
        char *config = lk_asprintf(chain_config, f->ganache.port, f->ganache.url);
        lktest_node_init(&f->node, config, EMAIL, PASSWORD);
        lk_free(config);
        lktest_node_set_password(&f->node, "keystore-password-for-tests\n");
        make_key(f);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        if (f->node.proc.pid > 0)
                kill(f->node.proc.pid, SIGKILL);
        lktest_node_done(&f->node);
        lk_free(f->cookie);
        lk_rpc_free(f->rpc);
        lktest_ganache_stop(&f->ganache);
        lk_free(f);
        return 0;
}

/* What the node's log says it found in progress when it started. */
static void count_resumed(fixture *f) {
        char *log = lktest_read_file(f->node.proc.log_path);
        for (const char *p = log; p && (p = strstr(p, "resuming a transaction left in progress")); p++) {
                const char *end = strchr(p, '\n');
                const char *has = strstr(p, "node_has_it=true");
                if (has && (!end || has < end))
                        f->resumed_sent++;
                else
                        f->resumed_unsent++;
        }
        lk_free(log);
}

static void kill_and_restart(fixture *f) {
        kill(f->node.proc.pid, SIGKILL);
        assert_true(lktest_proc_wait(&f->node.proc, 10 * LK_USEC_PER_SEC));
        count_resumed(f);
        lktest_node_start(&f->node);
}

/* POSTs transfer i until the node answers it (a 503 while the chain
 * starts is asked again); its transaction id. */
static int64_t transfer(fixture *f, int i) {
        char to[43];
        destination(i, to);
        char *body = lk_asprintf("{\"from\":\"%s\",\"address\":\"%s\",\"amount\":\"0.%018d\",\"evmChainID\":\"1337\","
                                 "\"idempotencyKey\":\"transfer-%d\"}",
                                 f->address, to, i + 1, i);
        int64_t id = -1;
        for (int tries = 0; tries < 400 && id < 0; tries++) {
                lktest_http r = lktest_node_call(&f->node, f->cookie, "POST", "/v2/transfers", body);
                if (r.status == 200) {
                        json_t *doc = lktest_json(r.body);
                        id = strtoll(json_string_value(json_object_get(json_object_get(doc, "data"), "id")), NULL, 10);
                        json_decref(doc);
                } else if (r.status != 503) {
                        fail_msg("transfer %d: %ld %s", i, r.status, r.body);
                } else {
                        usleep(50 * 1000);
                }
                lktest_http_done(&r);
        }
        lk_free(body);
        if (id < 0)
                fail_msg("transfer %d: the node never took it", i);
        return id;
}

static uint64_t balance_of(fixture *f, const char *address) {
        return lktest_rpc_quantity(f->rpc, "eth_getBalance", json_pack("[ss]", address, "latest"));
}

static char *confirmed_count(fixture *f) {
        char *db = lk_asprintf("%s/root/linkd.db", f->node.dir);
        char *sql = lk_asprintf("SELECT state || ' ' || count(*) FROM evm_txes GROUP BY state ORDER BY state");
        const char *argv[] = {"-readonly", db, sql, NULL};
        char *out = NULL;
        lktest_run_program("sqlite3", argv, NULL, &out, NULL);
        lk_free(db);
        lk_free(sql);
        return out;
}

/* linkd CMD... as an operator runs it, with its own client state. */
static char *cli(fixture *f, int want_status, const char *want_out, const char *const *args) {
        char *root = lk_asprintf("LINKD_ROOT=%s", f->node.dir);
        const char *env[] = {root, NULL};
        char *out = NULL, *err_text = NULL;
        int status = lktest_run_program(lktest_env("LINKD_BIN"), args, env, &out, &err_text);
        if (status != want_status || (want_out && (!out || !strstr(out, want_out))))
                fail_msg("linkd %s %s: status %d, stdout:\n%s\nstderr:\n%s", args[0], args[1], status,
                         out ? out : "", err_text ? err_text : "");
        lk_free(err_text);
        lk_free(root);
        return out;
}

/* linkd txs evm create: one transfer, asked twice under one key. */
static void the_cli_sends_too(fixture *f) {
        char *url = lk_asprintf("http://127.0.0.1:%u", f->node.port);
        const char *login[] = {"admin", "login", "--file", f->node.api, "--remote-node-url", url, NULL};
        lk_free(cli(f, 0, "Logged in", login));
        const char *to = "0xee00000000000000000000000000000000099999";
        const char *create[] = {"txs", "evm", "create", "0.000000000000000777", f->address, to, "--id", "1337",
                                "--idempotency-key", "from-the-cli", "--json", NULL};
        char *first = cli(f, 0, "\"evm_transactions\"", create), *second = cli(f, 0, NULL, create);
        json_t *a = lktest_json(first), *b = lktest_json(second);
        assert_string_equal(json_string_value(json_object_get(json_object_get(a, "data"), "id")),
                            json_string_value(json_object_get(json_object_get(b, "data"), "id")));
        json_decref(a);
        json_decref(b);
        lk_free(first);
        lk_free(second);
        uint64_t got = 0;
        for (int tries = 0; tries < 400 && got == 0; tries++) {
                got = balance_of(f, to);
                if (got == 0)
                        usleep(25 * 1000);
        }
        assert_int_equal(got, 777);
        const char *too_much[] = {"txs", "evm", "create", "1000000", f->address, to, "--id", "1337", NULL};
        lk_free(cli(f, 1, NULL, too_much));
        lk_free(url);
}

/* The chain's health entries, as /health shows them to an operator, once
 * they are all passing. */
static void chain_is_healthy(fixture *f) {
        static const char *const names[] = {"EVM.1337", "EVM.1337.Node.ganache", "EVM.1337.HeadTracker",
                                            "EVM.1337.HeadTracker.Subscription", "EVM.1337.LogBroadcaster",
                                            "EVM.1337.Txm"};
        size_t passing = 0;
        char *last = NULL;
        for (int tries = 0; tries < 200 && passing < sizeof names / sizeof *names; tries++) {
                lktest_http r = lktest_node_call(&f->node, f->cookie, "GET", "/health", NULL);
                json_t *doc = lktest_json(r.body);
                passing = 0;
                for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
                        json_t *item;
                        size_t k;
                        json_array_foreach(json_object_get(doc, "data"), k, item) {
                                json_t *attributes = json_object_get(item, "attributes");
                                if (strcmp(json_string_value(json_object_get(item, "id")), names[i]) == 0 &&
                                    strcmp(json_string_value(json_object_get(attributes, "status")), "passing") == 0)
                                        passing++;
                        }
                }
                lk_free(last);
                last = lk_strdup(r.body);
                json_decref(doc);
                lktest_http_done(&r);
                if (passing < sizeof names / sizeof *names)
                        usleep(50 * 1000);
        }
        if (passing < sizeof names / sizeof *names) {
                char *log = lktest_read_file(f->node.proc.log_path);
                fprintf(stderr, "/health:\n%s\nthe node's log:\n%s\n", last, log ? log : "(none)");
                lk_free(log);
                lk_free(last);
                fail_msg("the chain's checks are not all passing");
        }
        lk_free(last);
}

static void each_sent_once_across_kills(void **state) {
        fixture *f = *state;
        unsigned seed = (unsigned)time(NULL);
        srand(seed);
        print_message("# kill delays from seed %u\n", seed);
        lktest_node_start(&f->node);
        f->cookie = lktest_node_login(&f->node, EMAIL, PASSWORD);
        chain_is_healthy(f);
        int64_t ids[TRANSFERS];
        for (int burst = 0; burst < KILLS; burst++) {
                for (int i = burst * BURST; i < (burst + 1) * BURST; i++)
                        ids[i] = transfer(f, i);
                usleep((useconds_t)(rand() % 60) * 1000);
                kill_and_restart(f);
                /* the answers may not have reached the client: it asks again, and gets the same transactions */
                for (int i = burst * BURST; i < (burst + 1) * BURST; i++)
                        assert_int_equal(transfer(f, i), ids[i]);
        }
        for (int i = 1; i < TRANSFERS; i++)
                assert_true(ids[i] > ids[i - 1]);

        char *address = f->address;
        uint64_t nonce = 0;
        for (int tries = 0; tries < 1200 && nonce < TRANSFERS; tries++) {
                nonce = lktest_rpc_quantity(f->rpc, "eth_getTransactionCount", json_pack("[ss]", address, "latest"));
                if (nonce < TRANSFERS)
                        usleep(50 * 1000);
        }
        assert_int_equal(nonce, TRANSFERS);
        for (int i = 0; i < TRANSFERS; i++) {
                char to[43];
                destination(i, to);
                uint64_t got = balance_of(f, to);
                if (got != (uint64_t)(i + 1))
                        fail_msg("destination %d holds %" PRIu64 " wei, not %d: sent %s", i, got, i + 1,
                                 got ? "more than once" : "never");
        }
        /* and the node knows: every one confirmed, nothing else */
        char *want = lk_asprintf("confirmed %d\n", TRANSFERS), *got = NULL;
        for (int tries = 0; tries < 400; tries++) {
                lk_free(got);
                got = confirmed_count(f);
                if (got && strcmp(got, want) == 0)
                        break;
                usleep(50 * 1000);
        }
        assert_string_equal(got, want);
        lk_free(got);
        lk_free(want);
        the_cli_sends_too(f);
        lktest_node_stop(&f->node);
        count_resumed(f);
        print_message("# %d kills left a transaction in progress: %d already on the chain, %d not\n",
                      f->resumed_sent + f->resumed_unsent, f->resumed_sent, f->resumed_unsent);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(each_sent_once_across_kills, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
