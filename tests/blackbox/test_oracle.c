/* On-chain jobs end to end: a real linkd node on SQLite answers Chainlink's
 * own contracts on a real chain (ganache).  tests/onchain/oracle.mjs
 * deploys LinkToken, Operator and a ChainlinkClient consumer and makes
 * the requests, as a user's contract would; linkd's directrequest job
 * hears the OracleRequest log, runs its pipeline (decode the log and its
 * CBOR, compute, encode the fulfilment, send it with ethtx) and the value
 * the consumer stores is the one the pipeline computed.  The Operator's
 * OracleResponse events are counted: each request answered exactly once. */
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

#define EMAIL "admin@example.com"
#define PASSWORD "a-long-enough-password"
#define JOB_ID "a5ac14e8-7629-4726-b1f1-1ae053fc829e"

static const char chain_config[] = "[HealthCheck]\n"
                                   "PollInterval = '100ms'\n"
                                   "[[EVM]]\n"
                                   "ChainID = 1337\n"
                                   "FinalityDepth = 3\n"
                                   "MinIncomingConfirmations = 1\n"
                                   "MinContractPayment = '0.1 link'\n"
                                   "[EVM.GasEstimator]\n"
                                   "PriceDefault = '2 gwei'\n"
                                   "[EVM.HeadTracker]\n"
                                   "SamplingInterval = '100ms'\n"
                                   "[[EVM.Nodes]]\n"
                                   "Name = 'ganache'\n"
                                   "WSURL = 'ws://127.0.0.1:%u'\n"
                                   "HTTPURL = '%s'\n";

typedef struct fixture {
        lktest_ganache ganache;
        lk_rpc *rpc;
        lktest_node node;
        char address[43];
        char *cookie;
        char *deploy_file;
        char operator_address[43];
} fixture;

/* node tests/onchain/oracle.mjs CMD --rpc URL [--deploy FILE] ARGS...: its
 * JSON answer. */
static json_t *harness(fixture *f, const char *command, const char *const *args) {
        char *script = lk_asprintf("%s/tests/onchain/oracle.mjs", lktest_env("LINKD_SOURCE_ROOT"));
        const char *argv[32] = {script, command, "--rpc", f->ganache.url};
        size_t n = 4;
        if (f->deploy_file && strcmp(command, "deploy") != 0) {
                argv[n++] = "--deploy";
                argv[n++] = f->deploy_file;
        }
        for (; args && *args && n < 31; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        char *out = NULL, *err_text = NULL;
        int status = lktest_run_program("node", argv, NULL, &out, &err_text);
        if (status != 0)
                fail_msg("oracle.mjs %s: status %d\n%s", command, status, err_text ? err_text : "");
        json_t *doc = lktest_json(out);
        lk_free(out);
        lk_free(err_text);
        lk_free(script);
        return doc;
}

/* A key made by the CLI in the node's keystore, funded by ganache's first
 * account (the harness's deploy funds it too). */
static void make_key(fixture *f) {
        const char *create[] = {"keys", "eth", "create", "--config", f->node.config, "--password", f->node.password,
                                "--json", NULL};
        char *out = lktest_run_expect(create, 0, NULL);
        json_t *created = lktest_json(out);
        snprintf(f->address, sizeof f->address, "%s", json_string_value(json_object_get(created, "address")));
        json_decref(created);
        lk_free(out);
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
        f->deploy_file = lk_asprintf("%s/deploy.json", f->node.dir);
        const char *args[] = {"--oracle-address", f->address, "--out", f->deploy_file, NULL};
        json_t *d = harness(f, "deploy", args);
        const char *op = json_string_value(json_object_get(d, "operator"));
        if (!op)
                fail_msg("deploy gave no operator address");
        snprintf(f->operator_address, sizeof f->operator_address, "%s", op);
        json_decref(d);
        lktest_node_start(&f->node);
        f->cookie = lktest_node_login(&f->node, EMAIL, PASSWORD);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        if (f->node.proc.pid > 0)
                kill(f->node.proc.pid, SIGKILL);
        lktest_node_done(&f->node);
        lk_free(f->cookie);
        lk_free(f->deploy_file);
        lk_rpc_free(f->rpc);
        lktest_ganache_stop(&f->ganache);
        lk_free(f);
        return 0;
}

static const char direct_job[] =
        "type = \"directrequest\"\n"
        "schemaVersion = 1\n"
        "name = \"direct request round trip\"\n"
        "contractAddress = \"%s\"\n"
        "externalJobID = \"" JOB_ID "\"\n"
        "minIncomingConfirmations = 1\n"
        "minContractPaymentLinkJuels = \"%s\"\n"
        "observationSource = \"\"\"\n"
        "decode_log [type=ethabidecodelog\n"
        "  abi=\"OracleRequest(bytes32 indexed specId, address requester, bytes32 requestId, uint256 payment, "
        "address callbackAddr, bytes4 callbackFunctionId, uint256 cancelExpiration, uint256 dataVersion, bytes data)\"\n"
        "  data=\"$(jobRun.logData)\" topics=\"$(jobRun.logTopics)\"]\n"
        "decode_cbor [type=cborparse data=\"$(decode_log.data)\"]\n"
        "compute [type=multiply input=\"$(decode_cbor.value)\" times=\"100\"]\n"
        "encode_data [type=ethabiencode abi=\"(uint256 value)\" data=<{\"value\": $(compute)}>]\n"
        "encode_tx [type=ethabiencode\n"
        "  abi=\"fulfillOracleRequest(bytes32 requestId, uint256 payment, address callbackAddress, "
        "bytes4 callbackFunctionId, uint256 expiration, bytes32 data)\"\n"
        "  data=<{\"requestId\": $(decode_log.requestId), \"payment\": $(decode_log.payment),"
        " \"callbackAddress\": $(decode_log.callbackAddr), \"callbackFunctionId\": $(decode_log.callbackFunctionId),"
        " \"expiration\": $(decode_log.cancelExpiration), \"data\": $(encode_data)}>]\n"
        "submit [type=ethtx to=\"%s\" data=\"$(encode_tx)\" gasLimit=\"1000000\" minConfirmations=\"0\"]\n"
        "decode_log -> decode_cbor -> compute -> encode_data -> encode_tx -> submit\n"
        "\"\"\"\n";

static void create_job(fixture *f, const char *min_payment) {
        char *toml = lk_asprintf(direct_job, f->operator_address, min_payment, f->operator_address);
        json_t *body = json_pack("{ss}", "toml", toml);
        char *text = json_dumps(body, 0);
        lktest_http r = lktest_node_call(&f->node, f->cookie, "POST", "/v2/jobs", text);
        if (r.status != 200)
                fail_msg("POST /v2/jobs: %ld %s", r.status, r.body);
        lktest_http_done(&r);
        free(text);
        json_decref(body);
        lk_free(toml);
}

/* The harness's status, polled until every request has its answer (or
 * the time is up). */
static json_t *status_when_answered(fixture *f, size_t want) {
        json_t *st = NULL;
        for (int tries = 0; tries < 120; tries++) {
                json_decref(st);
                st = harness(f, "status", NULL);
                json_t *direct = json_object_get(st, "direct");
                if (json_integer_value(json_object_get(direct, "fulfilments")) >= (json_int_t)want)
                        break;
                usleep(250 * 1000);
        }
        return st;
}

/* One request for value 42: the consumer stores 4200, the pipeline's
 * product, and the Operator answered it once. */
static void direct_request_round_trip(void **state) {
        fixture *f = *state;
        create_job(f, "100000000000000000");
        const char *args[] = {"--job-id", JOB_ID, "--payment", "1000000000000000000", "--int-param", "value=42", NULL};
        json_t *sent = harness(f, "request-direct", args);
        json_decref(sent);
        json_t *st = status_when_answered(f, 1);
        char *text = json_dumps(st, JSON_INDENT(1));
        json_t *direct = json_object_get(st, "direct");
        if (json_integer_value(json_object_get(direct, "fulfilments")) != 1)
                fail_msg("not answered once:\n%s\nnode log:\n%s", text, lktest_read_file(f->node.proc.log_path));
        assert_string_equal(json_string_value(json_object_get(direct, "lastValue")), "4200");
        assert_int_equal(json_integer_value(json_object_get(direct, "responses")), 1);
        assert_int_equal(json_integer_value(json_object_get(direct, "answeredMoreThanOnce")), 0);
        free(text);
        json_decref(st);
}

/* ---- exactly once across kills ---- */

#define REQUESTS 100
#define KILLS 8

static uint64_t key_nonce(fixture *f) {
        return lktest_rpc_quantity(f->rpc, "eth_getTransactionCount", json_pack("[ss]", f->address, "latest"));
}

static void kill_and_restart(fixture *f) {
        kill(f->node.proc.pid, SIGKILL);
        assert_true(lktest_proc_wait(&f->node.proc, 10 * LK_USEC_PER_SEC));
        lktest_node_start(&f->node);
}

/* 100 requests in flight; the node is killed at seeded random moments
 * while it answers them and started again.  Every request is answered,
 * and once: the Operator logged one OracleResponse for each, and the
 * node's key sent exactly 100 transactions (a fulfilment sent twice would
 * be a reverted 101st even though the Operator takes only one). */
static void each_request_answered_once_across_kills(void **state) {
        fixture *f = *state;
        unsigned seed = (unsigned)time(NULL);
        srand(seed);
        print_message("# kill delays from seed %u\n", seed);
        create_job(f, "100000000000000000");
        char count[16];
        snprintf(count, sizeof count, "%d", REQUESTS);
        const char *args[] = {"--job-id", JOB_ID, "--payment", "1000000000000000000", "--int-param", "value=7",
                              "--count", count, "--per-tx", "10", NULL};
        json_decref(harness(f, "request-direct", args));
        for (int k = 0; k < KILLS; k++) {
                usleep((useconds_t)(rand() % 400) * 1000);
                kill_and_restart(f);
        }
        json_t *st = status_when_answered(f, REQUESTS);
        json_t *direct = json_object_get(st, "direct");
        char *text = json_dumps(direct, JSON_INDENT(1));
        if (json_integer_value(json_object_get(direct, "answeredOnce")) != REQUESTS) {
                char *log = lktest_read_file(f->node.proc.log_path);
                json_t *brief = json_copy(direct);
                json_object_del(brief, "byRequest");
                char *summary = json_dumps(brief, JSON_INDENT(1));
                fail_msg("not every request answered once:\n%s\nnode log:\n%s", summary, log ? log : "");
        }
        assert_int_equal(json_integer_value(json_object_get(direct, "answeredMoreThanOnce")), 0);
        assert_int_equal(json_integer_value(json_object_get(direct, "unanswered")), 0);
        assert_int_equal(json_integer_value(json_object_get(direct, "responses")), REQUESTS);
        assert_int_equal(json_integer_value(json_object_get(direct, "fulfilments")), REQUESTS);
        assert_int_equal(key_nonce(f), REQUESTS);
        free(text);
        json_decref(st);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(direct_request_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(each_request_answered_once_across_kills, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
