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
#include "fixture_server.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/eth.h"
#include "linkd/keyfile.h"
#include "linkd/secp256k1.h"
#include "linkd/vrf.h"

#include <gmp.h>

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
        char coordinator_address[43];
        char vrf_key[69];        /* its id: the 33-byte public key in hex */
        uint8_t vrf_secret[32];  /* read back from an export, to predict the proofs */
} fixture;

/* node tests/onchain/oracle.mjs CMD --rpc URL [--deploy FILE] ARGS...: its
 * JSON answer. */
static json_t *harness(fixture *f, const char *command, const char *const *args) {
        char *script = lk_asprintf("%s/tests/onchain/oracle.mjs", lktest_env("LINKD_SOURCE_ROOT"));
        const char *argv[32] = {script, command, "--rpc", f->ganache.url};
        size_t n = 4;
        static const char *const chain_only[] = {"deploy", "snapshot", "revert", "mine", "increase-time"};
        bool needs_deployment = true;
        for (size_t i = 0; i < sizeof chain_only / sizeof *chain_only; i++)
                needs_deployment &= strcmp(command, chain_only[i]) != 0;
        if (f->deploy_file && needs_deployment) {
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

static uint64_t key_nonce(fixture *f) {
        return lktest_rpc_quantity(f->rpc, "eth_getTransactionCount", json_pack("[ss]", f->address, "latest"));
}

/* The node's warnings and errors, not its whole log (the test runner
 * shows a failure's last lines only). */
static void print_problems(fixture *f) {
        char *log = lktest_read_file(f->node.proc.log_path);
        for (char *line = log ? strtok(log, "\n") : NULL; line; line = strtok(NULL, "\n"))
                if ((strstr(line, "level=warn") || strstr(line, "level=error")) && !strstr(line, "Health check"))
                        fprintf(stderr, "%.300s\n", line);
        lk_free(log);
}

/* linkd keys KIND create --json: the field of its answer into out. */
static void create_key(fixture *f, const char *kind, const char *field, char *out, size_t size) {
        const char *create[] = {"keys", kind, "create", "--config", f->node.config, "--password", f->node.password,
                                "--json", NULL};
        char *text = lktest_run_expect(create, 0, NULL);
        json_t *created = lktest_json(text);
        snprintf(out, size, "%s", json_string_value(json_object_get(created, field)));
        json_decref(created);
        lk_free(text);
}

/* The node's Ethereum key (the harness's deploy funds it). */
static void make_key(fixture *f) {
        create_key(f, "eth", "address", f->address, sizeof f->address);
}

/* A VRF key made by the CLI, and its secret read back from an export as
 * an operator could, for the test's own predictions. */
static void make_vrf_key(fixture *f) {
        create_key(f, "vrf", "id", f->vrf_key, sizeof f->vrf_key);
        char *export_password = lktest_write_file(f->node.dir, "export-password", "export-password-of-the-test\n");
        char *file = lk_asprintf("%s/vrf-export.json", f->node.dir);
        const char *export[] = {"keys", "vrf", "export", f->vrf_key, "--config", f->node.config, "--password",
                                f->node.password, "--new-password", export_password, "--output", file, NULL};
        lk_free(lktest_run_expect(export, 0, NULL));
        char *text = lktest_read_file(file);
        json_t *doc = lktest_json(text);
        lk_err err = LK_ERR_INIT;
        if (lk_keyfile_decrypt(json_object_get(json_object_get(doc, "vrf_key"), "crypto"),
                               "export-password-of-the-test", f->vrf_secret, &err) < 0)
                fail_msg("the exported VRF key: %s", err.msg);
        json_decref(doc);
        lk_free(text);
        lk_free(file);
        lk_free(export_password);
}

/* vrf: with a VRF key registered on the coordinator; subscription_link:
 * the LINK the VRF subscription gets (NULL: the harness's default). */
static int setup_with(void **state, bool vrf, const char *subscription_link) {
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
        if (vrf)
                make_vrf_key(f);
        f->deploy_file = lk_asprintf("%s/deploy.json", f->node.dir);
        const char *args[10] = {"--oracle-address", f->address, "--out", f->deploy_file};
        size_t n = 4;
        if (vrf) {
                args[n++] = "--vrf-public-key";
                args[n++] = f->vrf_key;
        }
        if (subscription_link) {
                args[n++] = "--subscription-link";
                args[n++] = subscription_link;
        }
        json_t *d = harness(f, "deploy", args);
        const char *op = json_string_value(json_object_get(d, "operator"));
        const char *coordinator = json_string_value(json_object_get(d, "vrfCoordinator"));
        if (!op || !coordinator)
                fail_msg("deploy gave no operator or coordinator address");
        snprintf(f->operator_address, sizeof f->operator_address, "%s", op);
        snprintf(f->coordinator_address, sizeof f->coordinator_address, "%s", coordinator);
        json_decref(d);
        lktest_node_start(&f->node);
        f->cookie = lktest_node_login(&f->node, EMAIL, PASSWORD);
        *state = f;
        return 0;
}

static int setup(void **state) {
        return setup_with(state, false, NULL);
}

static int setup_vrf(void **state) {
        return setup_with(state, true, NULL);
}

static int setup_vrf_unfunded(void **state) {
        return setup_with(state, true, "0");
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

/* POST /v2/jobs of the spec, which must be taken. */
static void create_toml(fixture *f, const char *toml) {
        json_t *body = json_pack("{ss}", "toml", toml);
        char *text = json_dumps(body, 0);
        lktest_http r = lktest_node_call(&f->node, f->cookie, "POST", "/v2/jobs", text);
        if (r.status != 200)
                fail_msg("POST /v2/jobs: %ld %s", r.status, r.body);
        lktest_http_done(&r);
        free(text);
        json_decref(body);
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
        "submit [type=ethtx to=\"%s\" data=\"$(encode_tx)\" gasLimit=\"1000000\" minConfirmations=\"%s\"]\n"
        "decode_log -> decode_cbor -> compute -> encode_data -> encode_tx -> submit\n"
        "\"\"\"\n";

static void create_job_waiting(fixture *f, const char *min_payment, const char *min_confirmations) {
        char *toml = lk_asprintf(direct_job, f->operator_address, min_payment, f->operator_address, min_confirmations);
        create_toml(f, toml);
        lk_free(toml);
}

static void create_job(fixture *f, const char *min_payment) {
        create_job_waiting(f, min_payment, "0");
}

/* The harness's status, polled until every request has its answer (or
 * the time is up). */
static json_t *status_when_answered(fixture *f, size_t want) {
        json_t *st = NULL;
        /* generous: under make test's load an ASan node answers slowly */
        lk_usec deadline = lk_now_monotonic() + 180 * LK_USEC_PER_SEC;
        while (lk_now_monotonic() < deadline) {
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
        if (json_integer_value(json_object_get(direct, "fulfilments")) != 1) {
                char *log = lktest_read_file(f->node.proc.log_path);
                fprintf(stderr, "the node's log:\n%s\n", log ? log : "");
                fail_msg("not answered once:\n%s", text);
        }
        assert_string_equal(json_string_value(json_object_get(direct, "lastValue")), "4200");
        assert_int_equal(json_integer_value(json_object_get(direct, "responses")), 1);
        assert_int_equal(json_integer_value(json_object_get(direct, "answeredMoreThanOnce")), 0);
        free(text);
        json_decref(st);
        /* the other encoding of the external job ID as specId: the UUID's 16 bytes */
        const char *bytes_form[] = {"--job-id", JOB_ID, "--spec-id-form", "bytes", "--payment", "1000000000000000000",
                                    "--int-param", "value=43", NULL};
        json_decref(harness(f, "request-direct", bytes_form));
        st = status_when_answered(f, 2);
        direct = json_object_get(st, "direct");
        assert_int_equal(json_integer_value(json_object_get(direct, "answeredOnce")), 2);
        assert_string_equal(json_string_value(json_object_get(direct, "lastValue")), "4300");
        json_decref(st);
}

/* The job's one run, as GET /v2/jobs/1/runs shows it (a new reference). */
static json_t *the_run(fixture *f) {
        lktest_http r = lktest_node_call(&f->node, f->cookie, "GET", "/v2/jobs/1/runs", NULL);
        if (r.status != 200)
                fail_msg("GET /v2/jobs/1/runs: %ld %s", r.status, r.body);
        json_t *doc = lktest_json(r.body);
        lktest_http_done(&r);
        json_t *data = json_object_get(doc, "data");
        if (json_array_size(data) != 1)
                fail_msg("not one run: %s", json_dumps(doc, 0));
        char path[64];
        snprintf(path, sizeof path, "/v2/jobs/1/runs/%s", json_string_value(json_object_get(json_array_get(data, 0), "id")));
        json_decref(doc);
        r = lktest_node_call(&f->node, f->cookie, "GET", path, NULL);
        if (r.status != 200)
                fail_msg("GET %s: %ld %s", path, r.status, r.body);
        doc = lktest_json(r.body);
        lktest_http_done(&r);
        json_t *attributes = json_incref(json_object_get(json_object_get(doc, "data"), "attributes"));
        json_decref(doc);
        return attributes;
}

static json_t *run_in_state(fixture *f, const char *state) {
        json_t *run = NULL;
        for (int tries = 0; tries < 200; tries++) {
                json_decref(run);
                run = the_run(f);
                if (strcmp(json_string_value(json_object_get(run, "state")), state) == 0)
                        return run;
                usleep(50 * 1000);
        }
        fail_msg("the run stayed %s, not %s", json_string_value(json_object_get(run, "state")), state);
        return NULL;
}

/* ethtx with minConfirmations = 2: the run suspends once the fulfilment
 * is enqueued, and the transaction manager resumes it with the receipt
 * once two blocks are on top of the receipt's; the task's output is the
 * receipt. */
static void the_run_waits_for_its_transaction(void **state) {
        fixture *f = *state;
        create_job_waiting(f, "100000000000000000", "2");
        const char *args[] = {"--job-id", JOB_ID, "--payment", "1000000000000000000", "--int-param", "value=5", NULL};
        json_decref(harness(f, "request-direct", args));
        json_decref(status_when_answered(f, 1));
        json_decref(run_in_state(f, "suspended"));
        const char *one[] = {"--blocks", "1", NULL};
        json_decref(harness(f, "mine", one));
        usleep(500 * 1000);
        json_t *run = the_run(f);
        assert_string_equal(json_string_value(json_object_get(run, "state")), "suspended"); /* one block: not yet */
        json_decref(run);
        json_decref(harness(f, "mine", one));
        run = run_in_state(f, "completed");
        json_t *task, *submit = NULL;
        size_t i;
        json_array_foreach(json_object_get(run, "taskRuns"), i, task)
                if (strcmp(json_string_value(json_object_get(task, "dotId")), "submit") == 0)
                        submit = task;
        assert_non_null(submit);
        char *output = json_dumps(json_object_get(submit, "output"), JSON_ENCODE_ANY);
        if (!strstr(output, "\\\"status\\\":\\\"0x1\\\"") && !strstr(output, "\"status\":\"0x1\""))
                fail_msg("the submit task's output is not a successful receipt: %s", output);
        free(output);
        json_decref(run);
}

/* ---- the rules: payment, requesters, cancellation; multi-word ---- */

#define JOB_2 "b6bd25f9-8730-4837-92a2-2bf164ad930f"


static const char rules_job[] =
        "type = \"directrequest\"\n"
        "schemaVersion = 1\n"
        "contractAddress = \"%s\"\n"
        "externalJobID = \"%s\"\n"
        "requesters = [\"%s\"]\n"
        "minContractPaymentLinkJuels = \"500000000000000000\"\n"
        "observationSource = \"\"\"\n"
        "decode_log [type=ethabidecodelog\n"
        "  abi=\"OracleRequest(bytes32 indexed specId, address requester, bytes32 requestId, uint256 payment, "
        "address callbackAddr, bytes4 callbackFunctionId, uint256 cancelExpiration, uint256 dataVersion, bytes data)\"\n"
        "  data=\"$(jobRun.logData)\" topics=\"$(jobRun.logTopics)\"]\n"
        "encode_tx [type=ethabiencode\n"
        "  abi=\"fulfillOracleRequest(bytes32 requestId, uint256 payment, address callbackAddress, "
        "bytes4 callbackFunctionId, uint256 expiration, bytes32 data)\"\n"
        "  data=<{\"requestId\": $(decode_log.requestId), \"payment\": $(decode_log.payment),"
        " \"callbackAddress\": $(decode_log.callbackAddr), \"callbackFunctionId\": $(decode_log.callbackFunctionId),"
        " \"expiration\": $(decode_log.cancelExpiration), \"data\": \"0x000000000000000000000000000000000000000000000000000000000000007b\"}>]\n"
        "submit [type=ethtx to=\"%s\" data=\"$(encode_tx)\" gasLimit=\"1000000\" minConfirmations=\"0\"]\n"
        "decode_log -> encode_tx -> submit\n"
        "\"\"\"\n";

static const char *deployed(fixture *f, const char *field, char out[static 43]) {
        char *text = lktest_read_file(f->deploy_file);
        json_t *d = lktest_json(text);
        snprintf(out, 43, "%s", json_string_value(json_object_get(d, field)));
        json_decref(d);
        lk_free(text);
        return out;
}

static bool node_logged(fixture *f, const char *needle) {
        char *log = lktest_read_file(f->node.proc.log_path);
        bool found = log && strstr(log, needle);
        lk_free(log);
        return found;
}

static void wait_logged(fixture *f, const char *needle) {
        for (int tries = 0; tries < 400 && !node_logged(f, needle); tries++)
                usleep(50 * 1000);
        if (!node_logged(f, needle)) {
                print_problems(f);
                fail_msg("the node never logged \"%s\"", needle);
        }
}

/* A payment below minContractPaymentLinkJuels and a requester outside
 * requesters are rejected (and logged); a request within both is
 * answered. */
static void payment_and_requester_rules(void **state) {
        fixture *f = *state;
        char consumer[43];
        deployed(f, "directConsumer", consumer);
        char *allowed = lk_asprintf(rules_job, f->operator_address, JOB_ID, consumer, f->operator_address);
        char *others = lk_asprintf(rules_job, f->operator_address, JOB_2, "0x000000000000000000000000000000000000dEaD",
                                   f->operator_address);
        create_toml(f, allowed);
        create_toml(f, others);
        const char *cheap[] = {"--job-id", JOB_ID, "--payment", "100000000000000000", NULL};
        json_decref(harness(f, "request-direct", cheap));
        wait_logged(f, "Rejected run for insufficient payment");
        const char *stranger[] = {"--job-id", JOB_2, "--payment", "1000000000000000000", NULL};
        json_decref(harness(f, "request-direct", stranger));
        wait_logged(f, "Rejected run for invalid requester");
        const char *paying[] = {"--job-id", JOB_ID, "--payment", "1000000000000000000", NULL};
        json_decref(harness(f, "request-direct", paying));
        json_t *st = status_when_answered(f, 1);
        json_t *direct = json_object_get(st, "direct");
        assert_int_equal(json_integer_value(json_object_get(direct, "requests")), 3);
        assert_int_equal(json_integer_value(json_object_get(direct, "responses")), 1);
        assert_string_equal(json_string_value(json_object_get(direct, "lastValue")), "123");
        assert_int_equal(key_nonce(f), 1);
        json_decref(st);
        lk_free(allowed);
        lk_free(others);
}

static const char slow_job[] =
        "type = \"directrequest\"\n"
        "schemaVersion = 1\n"
        "contractAddress = \"%s\"\n"
        "externalJobID = \"" JOB_ID "\"\n"
        "observationSource = \"\"\"\n"
        "slow [type=http method=GET url=\"%s\"]\n"
        "submit [type=ethtx to=\"%s\" data=\"0x01\" minConfirmations=\"0\"]\n"
        "slow -> submit\n"
        "\"\"\"\n";

/* A CancelOracleRequest for a request whose run is still executing (an
 * http task waiting on a slow server) cancels the run: it ends errored,
 * its ethtx never runs, nothing is sent. */
static void cancel_cancels_the_run_in_flight(void **state) {
        fixture *f = *state;
        lkfx_server *slow = lkfx_start();
        char *url = lkfx_url(slow, "/slow?ms=60000");
        char *toml = lk_asprintf(slow_job, f->operator_address, url, f->operator_address);
        create_toml(f, toml);
        const char *args[] = {"--job-id", JOB_ID, "--payment", "1000000000000000000", NULL};
        json_t *sent = harness(f, "request-direct", args);
        const char *request_id = json_string_value(json_array_get(json_object_get(sent, "requestIds"), 0));
        json_decref(run_in_state(f, "running"));
        for (int tries = 0; tries < 200 && lkfx_hits(slow, "/slow") == 0; tries++)
                usleep(25 * 1000);
        const char *cancel[] = {"--request-id", request_id, NULL};
        json_decref(harness(f, "cancel-direct", cancel));
        json_t *run = run_in_state(f, "errored");
        json_t *task;
        size_t i;
        bool submit_cancelled = false;
        json_array_foreach(json_object_get(run, "taskRuns"), i, task)
                if (strcmp(json_string_value(json_object_get(task, "dotId")), "submit") == 0)
                        submit_cancelled = strcmp(json_string_value(json_object_get(task, "error")), "context canceled") == 0;
        assert_true(submit_cancelled);
        json_decref(run);
        json_t *st = harness(f, "status", NULL);
        json_t *direct = json_object_get(st, "direct");
        assert_int_equal(json_integer_value(json_object_get(direct, "cancelled")), 1);
        assert_int_equal(json_integer_value(json_object_get(direct, "responses")), 0);
        assert_int_equal(key_nonce(f), 0);
        json_decref(st);
        json_decref(sent);
        lk_free(toml);
        free(url); /* lkfx_url's is malloc(3)'s */
        lkfx_stop(slow);
}

static const char multiword_job[] =
        "type = \"directrequest\"\n"
        "schemaVersion = 1\n"
        "contractAddress = \"%s\"\n"
        "externalJobID = \"" JOB_ID "\"\n"
        "observationSource = \"\"\"\n"
        "decode_log [type=ethabidecodelog\n"
        "  abi=\"OracleRequest(bytes32 indexed specId, address requester, bytes32 requestId, uint256 payment, "
        "address callbackAddr, bytes4 callbackFunctionId, uint256 cancelExpiration, uint256 dataVersion, bytes data)\"\n"
        "  data=\"$(jobRun.logData)\" topics=\"$(jobRun.logTopics)\"]\n"
        "decode_cbor [type=cborparse data=\"$(decode_log.data)\"]\n"
        "usd [type=multiply input=\"$(decode_cbor.usd)\" times=\"100\"]\n"
        "eur [type=multiply input=\"$(decode_cbor.eur)\" times=\"100\"]\n"
        "jpy [type=multiply input=\"$(decode_cbor.jpy)\" times=\"100\"]\n"
        "encode_mwr [type=ethabiencode abi=\"(bytes32 requestId, uint256 usd, uint256 eur, uint256 jpy)\"\n"
        "  data=<{\"requestId\": $(decode_log.requestId), \"usd\": $(usd), \"eur\": $(eur), \"jpy\": $(jpy)}>]\n"
        "encode_tx [type=ethabiencode\n"
        "  abi=\"fulfillOracleRequest2(bytes32 requestId, uint256 payment, address callbackAddress, "
        "bytes4 callbackFunctionId, uint256 expiration, bytes calldata data)\"\n"
        "  data=<{\"requestId\": $(decode_log.requestId), \"payment\": $(decode_log.payment),"
        " \"callbackAddress\": $(decode_log.callbackAddr), \"callbackFunctionId\": $(decode_log.callbackFunctionId),"
        " \"expiration\": $(decode_log.cancelExpiration), \"data\": $(encode_mwr)}>]\n"
        "submit [type=ethtx to=\"%s\" data=\"$(encode_tx)\" gasLimit=\"1000000\" minConfirmations=\"0\"]\n"
        "decode_log -> decode_cbor -> usd -> encode_mwr\n"
        "decode_cbor -> eur -> encode_mwr\n"
        "decode_cbor -> jpy -> encode_mwr\n"
        "encode_mwr -> encode_tx -> submit\n"
        "\"\"\"\n";

/* Chainlink's multi-word response: fulfillOracleRequest2 with three
 * values fanned out and in again; the consumer stores each. */
static void multiword_round_trip(void **state) {
        fixture *f = *state;
        char *toml = lk_asprintf(multiword_job, f->operator_address, f->operator_address);
        create_toml(f, toml);
        const char *args[] = {"--job-id", JOB_ID, "--payment", "1000000000000000000", "--multiword",
                              "--int-param", "usd=11", "--int-param", "eur=22", "--int-param", "jpy=33", NULL};
        json_decref(harness(f, "request-direct", args));
        json_t *st = status_when_answered(f, 1);
        json_t *direct = json_object_get(st, "direct");
        assert_string_equal(json_string_value(json_object_get(direct, "usd")), "1100");
        assert_string_equal(json_string_value(json_object_get(direct, "eur")), "2200");
        assert_string_equal(json_string_value(json_object_get(direct, "jpy")), "3300");
        assert_int_equal(json_integer_value(json_object_get(direct, "answeredOnce")), 1);
        json_decref(st);
        lk_free(toml);
}

/* ---- exactly once across kills ---- */

#define REQUESTS 100
#define KILLS 8

static int count_lines(const char *text, const char *needle) {
        int n = 0;
        for (const char *p = text; p && (p = strstr(p, needle)); p++)
                n++;
        return n;
}

/* What the kills interrupted, as the restarted nodes tell it. */
typedef struct interrupted {
        int runs, transactions;
} interrupted;

static void kill_and_restart(fixture *f, interrupted *seen) {
        kill(f->node.proc.pid, SIGKILL);
        assert_true(lktest_proc_wait(&f->node.proc, 10 * LK_USEC_PER_SEC));
        lktest_node_start(&f->node);
        char *log = lktest_read_file(f->node.proc.log_path);
        seen->runs += count_lines(log, "resumed pipeline runs left unfinished");
        seen->transactions += count_lines(log, "resuming a transaction left in progress");
        lk_free(log);
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
        /* the requests come while the node is down: it catches up on them
         * (and ganache 7 can leave a sender's transactions unmined when
         * two senders race it, trufflesuite/ganache#4522) */
        lktest_node_stop(&f->node);
        char count[16];
        snprintf(count, sizeof count, "%d", REQUESTS);
        const char *args[] = {"--job-id", JOB_ID, "--payment", "1000000000000000000", "--int-param", "value=7",
                              "--count", count, "--per-tx", "10", NULL};
        json_decref(harness(f, "request-direct", args));
        lktest_node_start(&f->node);
        interrupted seen = {0};
        for (int k = 0; k < KILLS; k++) {
                usleep((useconds_t)(rand() % 400) * 1000);
                kill_and_restart(f, &seen);
        }
        print_message("# %d kills: %d found runs left unfinished, %d a transaction in progress\n", KILLS, seen.runs,
                      seen.transactions);
        json_t *st = status_when_answered(f, REQUESTS);
        json_t *direct = json_object_get(st, "direct");
        char *text = json_dumps(direct, JSON_INDENT(1));
        if (json_integer_value(json_object_get(direct, "answeredOnce")) != REQUESTS) {
                json_t *brief = json_copy(direct);
                json_object_del(brief, "byRequest");
                char *summary = json_dumps(brief, JSON_INDENT(1));
                print_problems(f);
                fail_msg("not every request answered once:\n%s", summary);
        }
        assert_int_equal(json_integer_value(json_object_get(direct, "answeredMoreThanOnce")), 0);
        assert_int_equal(json_integer_value(json_object_get(direct, "unanswered")), 0);
        assert_int_equal(json_integer_value(json_object_get(direct, "responses")), REQUESTS);
        assert_int_equal(json_integer_value(json_object_get(direct, "fulfilments")), REQUESTS);
        assert_int_equal(key_nonce(f), REQUESTS);
        free(text);
        json_decref(st);
}

/* ---- VRF v2 ---- */

static const char vrf_job[] =
        "type = \"vrf\"\n"
        "schemaVersion = 1\n"
        "name = \"vrf v2\"\n"
        "coordinatorAddress = \"%s\"\n"
        "publicKey = \"%s\"\n"
        "minIncomingConfirmations = 1\n"
        "fromAddresses = [\"%s\"]\n"
        "requestTimeout = \"%s\"\n"
        "observationSource = \"\"\"\n"
        "decode_log [type=ethabidecodelog\n"
        "  abi=\"RandomWordsRequested(bytes32 indexed keyHash,uint256 requestId,uint256 preSeed,uint64 indexed subId,"
        "uint16 minimumRequestConfirmations,uint32 callbackGasLimit,uint32 numWords,address indexed sender)\"\n"
        "  data=\"$(jobRun.logData)\" topics=\"$(jobRun.logTopics)\"]\n"
        "vrf [type=vrfv2 publicKey=\"$(jobSpec.publicKey)\" requestBlockHash=\"$(jobRun.logBlockHash)\"\n"
        "  requestBlockNumber=\"$(jobRun.logBlockNumber)\" topics=\"$(jobRun.logTopics)\"]\n"
        "estimate_gas [type=estimategaslimit to=\"%s\" multiplier=\"1.1\" data=\"$(vrf.output)\"]\n"
        "simulate [type=ethcall contract=\"%s\" gas=\"$(estimate_gas)\" extractRevertReason=true "
        "data=\"$(vrf.output)\"]\n"
        "decode_log -> vrf -> estimate_gas -> simulate\n"
        "\"\"\"\n";

static void create_vrf_job_timing_out(fixture *f, const char *request_timeout) {
        char *toml = lk_asprintf(vrf_job, f->coordinator_address, f->vrf_key, f->address, request_timeout,
                                 f->coordinator_address, f->coordinator_address);
        create_toml(f, toml);
        lk_free(toml);
}

static void create_vrf_job(fixture *f) {
        create_vrf_job_timing_out(f, "1h");
}

/* The random words the coordinator must deliver for a request, as linkd's
 * own VRF computes them from the key and keccak(preSeed ‖ blockHash). */
static json_t *predicted_words(fixture *f, const char *pre_seed_decimal, const char *block_hash, size_t count) {
        uint8_t pre_seed[32] = {0}, hash[32], seed[32];
        mpz_t z;
        mpz_init_set_str(z, pre_seed_decimal, 10);
        size_t n = 0;
        mpz_export(pre_seed + 32 - (mpz_sizeinbase(z, 256)), &n, 1, 1, 1, 0, z);
        lktest_unhex(block_hash + 2, hash, 32);
        lk_vrf_seed_v2(pre_seed, hash, seed);
        lk_scalar secret;
        lk_err err = LK_ERR_INIT;
        lk_vrf_proof proof;
        assert_true(lk_scalar_in_range(f->vrf_secret));
        memcpy(secret.b, f->vrf_secret, 32);
        if (lk_vrf_prove(&secret, seed, NULL, &proof, &err) < 0)
                fail_msg("predicting the proof: %s", err.msg);
        lk_scalar_wipe(&secret);
        uint8_t(*words)[LK_WORD] = lk_calloc(count, sizeof *words);
        lk_vrf_random_words(proof.output, (uint32_t)count, words);
        json_t *out = json_array();
        for (size_t i = 0; i < count; i++) {
                mpz_import(z, 32, 1, 1, 1, 0, words[i]);
                char *text = mpz_get_str(NULL, 10, z);
                json_array_append_new(out, json_string(text));
                free(text);
        }
        lk_free(words);
        mpz_clear(z);
        return out;
}

static json_t *vrf_status_when_answered(fixture *f, size_t want) {
        json_t *st = NULL;
        lk_usec deadline = lk_now_monotonic() + 180 * LK_USEC_PER_SEC;
        while (lk_now_monotonic() < deadline) {
                json_decref(st);
                st = harness(f, "status", NULL);
                if (json_integer_value(json_object_get(json_object_get(st, "vrf"), "callbacks")) >= (json_int_t)want)
                        break;
                usleep(250 * 1000);
        }
        return st;
}

static void assert_answered_with(fixture *f, json_t *vrf, const json_t *request, size_t words) {
        json_t *entry = json_object_get(json_object_get(vrf, "byRequest"),
                                        json_string_value(json_object_get(request, "requestId")));
        if (!entry || json_integer_value(json_object_get(entry, "fulfilments")) != 1) {
                char *text = json_dumps(vrf, JSON_INDENT(1)), *log = lktest_read_file(f->node.proc.log_path);
                fprintf(stderr, "the node's log:\n%s\n", log ? log : "");
                fail_msg("the request was not answered once:\n%s", text);
        }
        json_t *want = predicted_words(f, json_string_value(json_object_get(request, "preSeed")),
                                       json_string_value(json_object_get(request, "blockHash")), words);
        json_t *got = json_object_get(entry, "randomWords");
        char *want_text = json_dumps(want, 0), *got_text = json_dumps(got, 0);
        assert_string_equal(got_text, want_text);
        free(want_text);
        free(got_text);
        json_decref(want);
}

/* The coordinator takes linkd's proof, and the consumer's random words
 * are the ones linkd's VRF predicts for the request's block. */
static void vrf_round_trip(void **state) {
        fixture *f = *state;
        create_vrf_job(f);
        const char *args[] = {"--num-words", "3", NULL};
        json_t *sent = harness(f, "request-vrf", args);
        json_t *request = json_array_get(json_object_get(sent, "requests"), 0);
        /* a block on top of the request's: the simulation needs its hash */
        const char *one[] = {"--blocks", "1", NULL};
        json_decref(harness(f, "mine", one));
        json_t *st = vrf_status_when_answered(f, 1);
        json_t *vrf = json_object_get(st, "vrf");
        assert_answered_with(f, vrf, request, 3);
        assert_int_equal(json_integer_value(json_object_get(vrf, "successful")), 1);
        assert_int_equal(key_nonce(f), 1);
        json_decref(st);
        json_decref(sent);
}

/* A request reorganised out before its 3 confirmations is not answered;
 * sent again, it lands in a block with another hash, and is answered once
 * with the proof for that hash (the coordinator checks it against
 * blockhash()). */
static void vrf_request_reorganised_out_then_back(void **state) {
        fixture *f = *state;
        create_vrf_job(f);
        json_t *snap = harness(f, "snapshot", NULL);
        char snapshot_id[64];
        snprintf(snapshot_id, sizeof snapshot_id, "%s", json_string_value(json_object_get(snap, "id")));
        json_decref(snap);
        const char *args[] = {"--num-words", "2", "--min-confs", "3", NULL};
        json_t *first = harness(f, "request-vrf", args);
        json_t *orphan = json_array_get(json_object_get(first, "requests"), 0);
        usleep(1500 * 1000); /* the node has seen it, one confirmation deep */
        assert_int_equal(key_nonce(f), 0);
        const char *revert[] = {"--id", snapshot_id, NULL};
        json_decref(harness(f, "revert", revert));
        const char *later[] = {"--seconds", "60", NULL};
        json_decref(harness(f, "increase-time", later));
        const char *one[] = {"--blocks", "1", NULL};
        json_decref(harness(f, "mine", one));
        json_t *again = harness(f, "request-vrf", args);
        json_t *request = json_array_get(json_object_get(again, "requests"), 0);
        assert_string_equal(json_string_value(json_object_get(request, "requestId")),
                            json_string_value(json_object_get(orphan, "requestId")));
        assert_string_not_equal(json_string_value(json_object_get(request, "blockHash")),
                                json_string_value(json_object_get(orphan, "blockHash")));
        const char *three[] = {"--blocks", "3", NULL};
        json_decref(harness(f, "mine", three));
        json_t *st = vrf_status_when_answered(f, 1);
        json_t *vrf = json_object_get(st, "vrf");
        assert_answered_with(f, vrf, request, 2);
        assert_int_equal(json_integer_value(json_object_get(vrf, "successful")), 1);
        assert_int_equal(key_nonce(f), 1);
        json_decref(st);
        json_decref(first);
        json_decref(again);
}

/* A request the coordinator would refuse to fulfil (its subscription has
 * no LINK: the simulation reverts) is tried again with each head until
 * the job's requestTimeout, then given up, logged and consumed; nothing
 * is ever sent. */
static void vrf_request_given_up_after_its_timeout(void **state) {
        fixture *f = *state;
        create_vrf_job_timing_out(f, "3s");
        json_decref(harness(f, "request-vrf", NULL));
        const char *one[] = {"--blocks", "1", NULL};
        for (int tries = 0; tries < 120 && !node_logged(f, "VRF request timed out"); tries++) {
                json_decref(harness(f, "mine", one)); /* the heads it is tried again with */
                usleep(250 * 1000);
        }
        if (!node_logged(f, "VRF request timed out")) {
                print_problems(f);
                fail_msg("the request was never given up");
        }
        assert_true(node_logged(f, "VRF request not answered yet"));
        json_t *st = harness(f, "status", NULL);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "vrf"), "fulfilments")), 0);
        json_decref(st);
        assert_int_equal(key_nonce(f), 0);
}

/* A request the chain says is fulfilled already (its commitment cleared)
 * is skipped: here the node lost its record of having answered it (its
 * consumption and where its logs were, as a restore from an old backup
 * would), hears the request again, asks the coordinator and sends
 * nothing. */
static void vrf_request_already_fulfilled_is_skipped(void **state) {
        fixture *f = *state;
        create_vrf_job(f);
        json_decref(harness(f, "request-vrf", NULL));
        const char *one[] = {"--blocks", "1", NULL};
        json_decref(harness(f, "mine", one));
        json_decref(vrf_status_when_answered(f, 1));
        lktest_node_stop(&f->node);
        char *db = lk_asprintf("%s/root/linkd.db", f->node.dir);
        const char *forget[] = {db, "DELETE FROM log_broadcasts; UPDATE log_broadcasts_pending SET block_number = 0;",
                                NULL};
        char *err_text = NULL;
        if (lktest_run_program("sqlite3", forget, NULL, NULL, &err_text) != 0)
                fail_msg("sqlite3: %s", err_text ? err_text : "");
        lk_free(err_text);
        lk_free(db);
        lktest_node_start(&f->node);
        wait_logged(f, "VRF request already fulfilled");
        json_t *st = harness(f, "status", NULL);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "vrf"), "fulfilments")), 1);
        json_decref(st);
        assert_int_equal(key_nonce(f), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(direct_request_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(the_run_waits_for_its_transaction, setup, teardown),
                cmocka_unit_test_setup_teardown(payment_and_requester_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(cancel_cancels_the_run_in_flight, setup, teardown),
                cmocka_unit_test_setup_teardown(multiword_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(each_request_answered_once_across_kills, setup, teardown),
                cmocka_unit_test_setup_teardown(vrf_round_trip, setup_vrf, teardown),
                cmocka_unit_test_setup_teardown(vrf_request_reorganised_out_then_back, setup_vrf, teardown),
                cmocka_unit_test_setup_teardown(vrf_request_given_up_after_its_timeout, setup_vrf_unfunded, teardown),
                cmocka_unit_test_setup_teardown(vrf_request_already_fulfilled_is_skipped, setup_vrf, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
