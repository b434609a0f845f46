/* The EVM tasks against a real chain (ganache): ethcall, estimategaslimit
 * and ethgetblock through an lk_chain whose RPC pool points at it, and
 * vrf and vrfv2 with a known key, their proofs checked by the verifier
 * and their calldata word by word.  Tasks are called directly, as the
 * runner calls them, with a task environment that lends the chain and the
 * key; one test runs a job's gasLimit through the real runner.
 *
 * The contracts are hand-assembled: one echoes its call data, one returns
 * its caller, one the gas it was given, one reverts with
 * Error("some reason"). */
#include "lktest.h"
#include "ganache.h"
#include "test_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/chain.h"
#include "linkd/ctx.h"
#include "linkd/keccak.h"
#include "linkd/pipeline.h"
#include "linkd/rpc.h"
#include "linkd/vrf.h"
#include "pipeline/graph.h"
#include "pipeline/task.h"

#define REASON "some reason"

typedef struct fixture {
        void *db; /* lktest_db */
        lktest_ganache ganache;
        lk_rpc *rpc;
        lk_config cfg;
        lk_chain *chain;
        lk_pipeline_evm evm;
        char account[43]; /* ganache's first, "0x…" */
        uint8_t echo[20], caller[20], gas[20], reverter[20], parent_hash[20];
        lk_scalar vrf_secret; /* the keystore's one VRF key */
        lk_point vrf_pk;
} fixture;

static fixture F;

/* ---- the chain and the contracts ---- */

static lk_chain *chain_of(void *arg, const char *chain_id) {
        fixture *f = arg;
        if (chain_id && strcmp(chain_id, "1337") != 0)
                return NULL;
        return f->chain;
}

static int secret_of(void *arg, const lk_point *public_key, lk_scalar *ret, lk_err *err) {
        fixture *f = arg;
        if (!lk_point_equal(public_key, &f->vrf_pk))
                return lk_err_set(err, -ENOENT, "no such key");
        *ret = f->vrf_secret;
        return 0;
}

static json_t *call_rpc(const char *method, json_t *params) {
        json_t *result = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_call(F.rpc, method, params, &result, &err) < 0)
                fail_msg("%s: %s", method, err.msg);
        return result;
}

/* Deploys runtime code behind init code that copies and returns it. */
static void deploy(const uint8_t *runtime, size_t len, uint8_t ret[static 20]) {
        uint8_t code[256];
        /* PUSH1 len DUP1 PUSH1 11 PUSH1 0 CODECOPY PUSH1 0 RETURN */
        const uint8_t init[] = {0x60, (uint8_t)len, 0x80, 0x60, 0x0b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3};
        assert_true(sizeof init + len <= sizeof code);
        memcpy(code, init, sizeof init);
        memcpy(code + sizeof init, runtime, len);
        json_t *tx = json_pack("{s:s, s:o, s:s}", "from", F.account, "data", lk_rpc_hex(code, sizeof init + len), "gas",
                               "0x100000");
        json_t *hash = call_rpc("eth_sendTransaction", json_pack("[o]", tx));
        json_t *receipt = call_rpc("eth_getTransactionReceipt", json_pack("[O]", hash));
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_data(json_object_get(receipt, "contractAddress"), ret, 20, &err) < 0)
                fail_msg("deploy: %s", err.msg);
        json_decref(hash);
        json_decref(receipt);
}

static void deploy_contracts(void) {
        /* CALLDATASIZE PUSH1 0 PUSH1 0 CALLDATACOPY CALLDATASIZE PUSH1 0 RETURN */
        static const uint8_t echo[] = {0x36, 0x60, 0x00, 0x60, 0x00, 0x37, 0x36, 0x60, 0x00, 0xf3};
        /* CALLER (or GAS) PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN */
        static const uint8_t caller[] = {0x33, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3};
        static const uint8_t gas[] = {0x5a, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3};
        deploy(echo, sizeof echo, F.echo);
        deploy(caller, sizeof caller, F.caller);
        deploy(gas, sizeof gas, F.gas);
        /* PUSH1 1 NUMBER SUB BLOCKHASH PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN: blockhash(block.number - 1) */
        static const uint8_t parent_hash[] = {0x60, 0x01, 0x43, 0x03, 0x40, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3};
        deploy(parent_hash, sizeof parent_hash, F.parent_hash);
        /* Error("some reason") into memory word by word (PUSH32 w PUSH1 at
         * MSTORE), then REVERT of its 100 bytes */
        uint8_t error[128] = {0x08, 0xc3, 0x79, 0xa0}, code[4 * 36 + 5];
        error[4 + 31] = 0x20;
        error[4 + 63] = sizeof REASON - 1;
        memcpy(error + 4 + 64, REASON, sizeof REASON - 1);
        for (int i = 0; i < 4; i++) {
                uint8_t *at = code + 36 * i;
                at[0] = 0x7f;
                memcpy(at + 1, error + 32 * i, 32);
                at[33] = 0x60;
                at[34] = (uint8_t)(32 * i);
                at[35] = 0x52;
        }
        const uint8_t tail[] = {0x60, 100, 0x60, 0x00, 0xfd};
        memcpy(code + 4 * 36, tail, sizeof tail);
        deploy(code, sizeof code, F.reverter);
}

static const char chain_toml[] = "[[EVM]]\n"
                                 "ChainID = 1337\n"
                                 "[EVM.HeadTracker]\n"
                                 "SamplingInterval = '100ms'\n"
                                 "[[EVM.Nodes]]\n"
                                 "Name = 'ganache'\n"
                                 "HTTPURL = '%s'\n";

static lk_chain *new_chain(void) {
        lk_chain *chain = NULL;
        lk_err err = LK_ERR_INIT;
        lktest_db *db = F.db;
        if (lk_chain_new(&(lk_chain_options){.config = &F.cfg.evm[0], .store = db->store}, &chain, &err) < 0)
                fail_msg("%s", err.msg);
        return chain;
}

static int group_setup(void **state) {
        (void)state;
        F.db = &lktest_sqlite_backend;
        lktest_db_setup(&F.db);
        lktest_ganache_start(&F.ganache);
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_new(&(lk_rpc_options){.name = "test", .url = F.ganache.url}, &F.rpc, &err) < 0)
                fail_msg("%s", err.msg);
        json_t *accounts = call_rpc("eth_accounts", NULL);
        snprintf(F.account, sizeof F.account, "%s", json_string_value(json_array_get(accounts, 0)));
        json_decref(accounts);
        char toml[512];
        snprintf(toml, sizeof toml, chain_toml, F.ganache.url);
        lk_config_init(&F.cfg);
        if (lk_config_load_text(&F.cfg, "test", toml, strlen(toml), &err) < 0 || lk_config_finish(&F.cfg, &err) < 0)
                fail_msg("%s", err.msg);
        F.chain = new_chain();
        F.evm = (lk_pipeline_evm){.chain = chain_of, .vrf_secret = secret_of, .arg = &F};
        lk_scalar_from_u64(&F.vrf_secret, 0x2a);
        lk_point_base_mul(&F.vrf_pk, &F.vrf_secret);
        deploy_contracts();
        return 0;
}

static int group_teardown(void **state) {
        (void)state;
        lk_chain_free(F.chain);
        lk_config_done(&F.cfg);
        lk_rpc_free(F.rpc);
        lktest_ganache_stop(&F.ganache);
        lk_scalar_wipe(&F.vrf_secret);
        return lktest_db_teardown(&F.db);
}

/* ---- calling a task ---- */

typedef struct call_options {
        const char *vars;                /* JSON, NULL: {} */
        const lk_value *vars_value;      /* instead of vars */
        const lk_task_input *inputs;
        size_t input_count;
        bool no_evm;
        bool gas_limit_set;
        uint32_t gas_limit;
} call_options;

/* Task "t" of dot, called as the runner calls it. */
static lk_task_result run_task(const char *dot, const call_options *o) {
        lk_graph *g = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_graph_parse(dot, strlen(dot), &g, &err) < 0)
                fail_msg("%s: %s", dot, err.msg);
        const lk_task_type *type = lk_task_type_find(g->tasks[0].type);
        assert_non_null(type);
        assert_non_null(type->run);
        lk_value *vars = NULL;
        if (o->vars_value)
                vars = lk_value_ref((lk_value *)o->vars_value);
        else if (lk_value_from_json(o->vars ? o->vars : "{}", strlen(o->vars ? o->vars : "{}"), &vars, &err) < 0)
                fail_msg("vars: %s", err.msg);
        lk_task_env env = {.config = &F.cfg, .evm = o->no_evm ? NULL : &F.evm};
        lk_task_call call = {.spec = &g->tasks[0],
                             .vars = vars,
                             .inputs = o->inputs,
                             .input_count = o->input_count,
                             .env = &env,
                             .task_run_id = "00000000-0000-4000-8000-000000000001",
                             .gas_limit_set = o->gas_limit_set,
                             .gas_limit = o->gas_limit,
                             .deadline = LK_USEC_INFINITY};
        lk_task_result result = {.value = NULL};
        type->run(&call, &result);
        assert_true((result.value != NULL) != lk_err_is_set(&result.err));
        lk_value_unref(vars);
        lk_graph_free(g);
        return result;
}

static void expect_error(const char *dot, const call_options *o, const char *want) {
        lk_task_result r = run_task(dot, o);
        if (!lk_err_is_set(&r.err) || strcmp(r.err.msg, want) != 0)
                fail_msg("%s\n  want error: %s\n  got:        %s", dot, want, r.value ? "an output" : r.err.msg);
        lk_value_unref(r.value);
}

/* The output as JSON (lk_free it); fails the test on an error. */
static char *output_json(const char *dot, const call_options *o) {
        lk_task_result r = run_task(dot, o);
        if (!r.value)
                fail_msg("%s: %s", dot, r.err.msg);
        lk_buf b = LK_BUF_INIT;
        lk_value_to_json(r.value, &b);
        lk_value_unref(r.value);
        return lk_buf_steal(&b, NULL);
}

static void hex_of(const uint8_t *b, size_t n, char *out) {
        out[0] = '0';
        out[1] = 'x';
        for (size_t i = 0; i < n; i++)
                sprintf(out + 2 + 2 * i, "%02x", b[i]);
}

/* A DOT with one task: pattern with its "%s" replaced by the address
 * of contract. */
static char *dot_at(const char *pattern, const uint8_t contract[static 20]) {
        char address[43];
        hex_of(contract, 20, address);
        const char *at = strstr(pattern, "%s");
        assert_non_null(at);
        lk_buf b = LK_BUF_INIT;
        lk_buf_append(&b, pattern, (size_t)(at - pattern));
        lk_buf_append(&b, address, 42);
        lk_buf_append(&b, at + 2, strlen(at + 2));
        return lk_buf_steal(&b, NULL);
}

/* The word the gas contract returned for dot: the gas left to it. */
static uint64_t gas_seen(const char *dot, const call_options *o) {
        lk_task_result r = run_task(dot, o);
        if (!r.value)
                fail_msg("%s: %s", dot, r.err.msg);
        size_t len;
        const unsigned char *word = lk_value_get_bytes(r.value, &len);
        assert_int_equal(len, 32);
        uint64_t gas = 0;
        for (int i = 24; i < 32; i++)
                gas = gas << 8 | word[i];
        lk_value_unref(r.value);
        return gas;
}

/* ---- ethcall ---- */

static void ethcall_returns_the_call_data(void **state) {
        (void)state;
        char *dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\"]", F.echo);
        char *out = output_json(dot, &(call_options){.vars = "{\"data\": \"0xdeadbeef\"}"});
        assert_string_equal(out, "\"0xdeadbeef\"");
        lk_free(out);
        lk_free(dot);
        /* data as JSON: a string, read as 0x hex */
        dot = dot_at("t [type=ethcall contract=\"%s\" data=\"\\\"0x0102\\\"\"]", F.echo);
        out = output_json(dot, &(call_options){0});
        assert_string_equal(out, "\"0x0102\"");
        lk_free(out);
        lk_free(dot);
}

/* Chainlink 2.x's block: "latest" or "pending", passed to the node.
 * (ganache runs both on the latest block, whose own hash blockhash()
 * cannot see, so a call at either reads the latest block's parent; geth's
 * pending block would see it.) */
static void ethcall_block(void **state) {
        (void)state;
        json_t *latest = call_rpc("eth_getBlockByNumber", json_pack("[sb]", "latest", 0));
        char want[100];
        snprintf(want, sizeof want, "\"%s\"", json_string_value(json_object_get(latest, "parentHash")));
        json_decref(latest);
        static const char *const dots[] = {
                "t [type=ethcall contract=\"%s\" data=\"$(data)\"]",
                "t [type=ethcall contract=\"%s\" data=\"$(data)\" block=\"latest\"]",
                "t [type=ethcall contract=\"%s\" data=\"$(data)\" block=\"pending\"]",
                "t [type=ethcall contract=\"%s\" data=\"$(data)\" block=\"Pending\"]",
        };
        for (size_t i = 0; i < sizeof dots / sizeof *dots; i++) {
                char *dot = dot_at(dots[i], F.parent_hash);
                char *out = output_json(dot, &(call_options){.vars = "{\"data\": \"0x01\"}"});
                assert_string_equal(out, want);
                lk_free(out);
                lk_free(dot);
        }
        char *dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" block=\"earliest\"]", F.parent_hash);
        expect_error(dot, &(call_options){.vars = "{\"data\": \"0x01\"}"},
                     "block: unsupported block param: earliest: bad input for task");
        lk_free(dot);
}

static void ethcall_from(void **state) {
        (void)state;
        char *dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" "
                           "from=\"0x00000000000000000000000000000000000abcde\"]",
                           F.caller);
        char *out = output_json(dot, &(call_options){.vars = "{\"data\": \"0x01\"}"});
        assert_string_equal(out, "\"0x00000000000000000000000000000000000000000000000000000000000abcde\"");
        lk_free(out);
        lk_free(dot);
        /* without one, the zero address */
        dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\"]", F.caller);
        out = output_json(dot, &(call_options){.vars = "{\"data\": \"0x01\"}"});
        assert_string_equal(out, "\"0x0000000000000000000000000000000000000000000000000000000000000000\"");
        lk_free(out);
        lk_free(dot);
}

/* What the contract has left of the limit after the intrinsic 21,000 and
 * its first few opcodes. */
static void assert_gas_near(uint64_t seen, uint64_t limit) {
        if (seen >= limit - 21000 || seen < limit - 21000 - 100)
                fail_msg("gas seen %llu for a limit of %llu", (unsigned long long)seen, (unsigned long long)limit);
}

static void ethcall_gas(void **state) {
        (void)state;
        call_options o = {.vars = "{\"data\": \"0x01\"}"};
        char *dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\"]", F.gas);
        assert_gas_near(gas_seen(dot, &o), 500000); /* [EVM.GasEstimator] LimitDefault */
        o.gas_limit_set = true;
        o.gas_limit = 200000; /* the job's gasLimit comes first */
        assert_gas_near(gas_seen(dot, &o), 200000);
        lk_free(dot);
        dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" gas=\"100000\"]", F.gas);
        assert_gas_near(gas_seen(dot, &o), 100000);
        lk_free(dot);
        /* unlimited: no gas in the call, the node's own cap */
        dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" gasUnlimited=\"true\"]", F.gas);
        assert_true(gas_seen(dot, &o) > 1000000);
        lk_free(dot);
        dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" gasUnlimited=\"true\" gas=\"5\"]", F.gas);
        expect_error(dot, &o, "gas must be zero when gasUnlimited is true: bad input for task");
        lk_free(dot);
}

static void ethcall_gas_prices(void **state) {
        (void)state;
        char dot[512];
        char *echo = dot_at("%s", F.echo);
        /* a price needs a sender who can pay for the gas */
        snprintf(dot, sizeof dot, "t [type=ethcall contract=\"%s\" data=\"$(data)\" from=\"%s\" gasPrice=\"1000000000\"]",
                 echo, F.account);
        char *out = output_json(dot, &(call_options){.vars = "{\"data\": \"0x07\"}"});
        assert_string_equal(out, "\"0x07\"");
        lk_free(out);
        snprintf(dot, sizeof dot,
                 "t [type=ethcall contract=\"%s\" data=\"$(data)\" from=\"%s\" gasFeeCap=\"$(cap)\" gasTipCap=\"1\"]", echo,
                 F.account);
        out = output_json(dot, &(call_options){.vars = "{\"data\": \"0x08\", \"cap\": 2000000000}"});
        assert_string_equal(out, "\"0x08\"");
        lk_free(out);
        snprintf(dot, sizeof dot, "t [type=ethcall contract=\"%s\" data=\"$(data)\" gasPrice=\"abc\" gasTipCap=\" \"]",
                 echo);
        expect_error(dot, &(call_options){.vars = "{\"data\": \"0x08\"}"},
                     "gasPrice: unable to convert abc to big.Int: bad input for task");
        lk_free(echo);
}

static void ethcall_revert_reason(void **state) {
        (void)state;
        char *plain = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\"]", F.reverter);
        char *extract = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" extractRevertReason=true]", F.reverter);
        call_options o = {.vars = "{\"data\": \"0x01\"}"};
        lk_task_result r = run_task(plain, &o);
        assert_null(r.value);
        assert_true(r.retryable);
        assert_non_null(strstr(r.err.msg, "RPC node ganache: eth_call: "));
        assert_non_null(strstr(r.err.msg, "revert " REASON));
        lk_buf want = LK_BUF_INIT;
        lk_buf_printf(&want, REASON ": %s", r.err.msg);
        r = run_task(extract, &o);
        assert_null(r.value);
        assert_true(r.retryable);
        assert_string_equal(r.err.msg, lk_buf_str(&want));
        lk_buf_done(&want);
        lk_free(plain);
        lk_free(extract);
        /* no revert data (out of gas): the error as it is */
        char *starved = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" gas=\"21010\" extractRevertReason=true]",
                               F.reverter);
        r = run_task(starved, &o);
        assert_null(r.value);
        assert_non_null(strstr(r.err.msg, "RPC node ganache: eth_call: "));
        assert_null(strstr(r.err.msg, REASON));
        lk_free(starved);
        char *bad = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" extractRevertReason=maybe]", F.reverter);
        expect_error(bad, &o, "cannot parse 'extractRevertReason' as bool: strconv.ParseBool: parsing \"maybe\": "
                              "invalid syntax");
        lk_free(bad);
}

static void ethcall_parameter_errors(void **state) {
        (void)state;
        call_options none = {0};
        expect_error("t [type=ethcall]", &none, "contract: parameter is empty; data: parameter is empty");
        expect_error("t [type=ethcall contract=\"0x12\" data=\"$(missing)\" gas=\"x\" from=\"$(bad)\"]",
                     &(call_options){.vars = "{\"bad\": 12}"},
                     "contract: expected common.Address, got []uint8: bad input for task; "
                     "from: expected common.Address, got int64: bad input for task; "
                     "data: key missing (segment 0 in keypath missing): keypath not found; "
                     "gas: strconv.ParseUint: parsing \"x\": invalid syntax: bad input for task");
        char *dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\"]", F.echo);
        expect_error(dot, &(call_options){.vars = "{\"data\": \"\"}"}, "data param must not be empty: bad input for task");
        expect_error(dot, &(call_options){.vars = "{\"data\": \"0x01\"}", .no_evm = true},
                     "cannot get default EVM chain; no EVM chains are available: no EVM chains loaded");
        lk_task_input failed = {.error = "boom"};
        expect_error(dot, &(call_options){.vars = "{\"data\": \"0x01\"}", .inputs = &failed, .input_count = 1},
                     "task inputs: too many errors");
        lk_free(dot);
}

static void ethcall_chain_ids(void **state) {
        (void)state;
        call_options o = {.vars = "{\"data\": \"0x01\", \"chain\": \"5\"}"};
        char *dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" evmChainID=\"abc\"]", F.echo);
        expect_error(dot, &o, "invalid EVM chain ID: abc");
        lk_free(dot);
        dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" evmChainID=\"$(chain)\"]", F.echo);
        expect_error(dot, &o, "failed to get chain with id 5: not found");
        lk_free(dot);
        /* geth's HexToAddress stops at the first bad digit */
        char *out = output_json("t [type=ethcall contract=\"0x00000000000000000000000000000000000000zz\" data=\"$(data)\"]",
                                &o);
        assert_string_equal(out, "\"0x\"");
        lk_free(out);
        dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\" evmChainID=\"+01337\"]", F.echo);
        out = output_json(dot, &o);
        assert_string_equal(out, "\"0x01\"");
        lk_free(out);
        lk_free(dot);
}

/* ---- estimategaslimit ---- */

/* eth_estimateGas of data to contract from the zero address. */
static uint64_t raw_estimate(const uint8_t contract[static 20], const char *data) {
        json_t *call = json_pack("{s:s, s:o, s:s}", "from", "0x0000000000000000000000000000000000000000", "to",
                                 lk_rpc_hex(contract, 20), "data", data);
        json_t *result = call_rpc("eth_estimateGas", json_pack("[o]", call));
        uint64_t gas = 0;
        assert_int_equal(lk_rpc_quantity(result, &gas, NULL), 0);
        json_decref(result);
        return gas;
}

static uint64_t limit_of(const char *dot, const call_options *o) {
        lk_task_result r = run_task(dot, o);
        if (!r.value)
                fail_msg("%s: %s", dot, r.err.msg);
        assert_int_equal(lk_value_type_of(r.value), LK_VALUE_UINT64);
        uint64_t limit = lk_value_get_uint64(r.value);
        lk_value_unref(r.value);
        return limit;
}

static void estimategaslimit_multiplies(void **state) {
        (void)state;
        uint64_t estimate = raw_estimate(F.echo, "0xdeadbeef");
        assert_true(estimate > 21000);
        call_options o = {.vars = "{\"data\": \"0xdeadbeef\"}"};
        /* from has no literal source: the text is never read */
        char *dot = dot_at("t [type=estimategaslimit to=\"%s\" data=\"$(data)\" from=\"garbage\"]", F.echo);
        assert_int_equal(limit_of(dot, &o), estimate);
        lk_free(dot);
        dot = dot_at("t [type=estimategaslimit to=\"%s\" data=\"$(data)\" multiplier=\"1.5\"]", F.echo);
        assert_int_equal(limit_of(dot, &o), estimate * 3 / 2);
        /* never more than the limit the call could have */
        o.gas_limit_set = true;
        o.gas_limit = (uint32_t)estimate;
        assert_int_equal(limit_of(dot, &o), estimate);
        lk_free(dot);
}

static void estimategaslimit_falls_back(void **state) {
        (void)state;
        /* the estimate fails (the call reverts): the most a call may take */
        char *dot = dot_at("t [type=estimategaslimit to=\"%s\" data=\"0x01\"]", F.reverter);
        assert_int_equal(limit_of(dot, &(call_options){0}), 500000);
        assert_int_equal(limit_of(dot, &(call_options){.gas_limit_set = true, .gas_limit = 300000}), 300000);
        lk_free(dot);
}

static void estimategaslimit_errors(void **state) {
        (void)state;
        expect_error("t [type=estimategaslimit multiplier=\"x\"]", &(call_options){0},
                     "to: parameter is empty; data: parameter is empty; multiplier: can't convert x to decimal: bad "
                     "input for task");
        char *dot = dot_at("t [type=estimategaslimit to=\"%s\" data=\"0x01\" multiplier=\"-1\"]", F.echo);
        lk_task_result r = run_task(dot, &(call_options){0});
        assert_string_equal(r.err.msg, "Invalid multiplier");
        assert_true(r.retryable);
        lk_free(dot);
        /* the chain ID as written: not a variable here */
        dot = dot_at("t [type=estimategaslimit to=\"%s\" data=\"0x01\" evmChainID=\"$(chain)\"]", F.echo);
        expect_error(dot, &(call_options){.vars = "{\"chain\": \"1337\"}"}, "invalid EVM chain ID: $(chain)");
        lk_free(dot);
        dot = dot_at("t [type=estimategaslimit to=\"%s\" data=\"0x01\" evmChainID=\"5\"]", F.echo);
        r = run_task(dot, &(call_options){0});
        assert_string_equal(r.err.msg, "failed to get chain with id 5: not found");
        assert_true(r.retryable);
        lk_free(dot);
}

/* ---- ethgetblock ---- */

/* The task's output and the node's view of the same block agree. */
static void assert_block(const lk_value *out, const json_t *block) {
        char text[67];
        const lk_value *v = lk_value_map_get(out, "hash", 4);
        assert_non_null(v);
        hex_of(lk_value_get_bytes(v, NULL), 32, text);
        assert_string_equal(text, json_string_value(json_object_get(block, "hash")));
        uint64_t number = 0, timestamp = 0;
        assert_int_equal(lk_rpc_quantity(json_object_get(block, "number"), &number, NULL), 0);
        assert_int_equal(lk_value_get_int64(lk_value_map_get(out, "number", 6)), (int64_t)number);
        assert_int_equal(lk_rpc_quantity(json_object_get(block, "timestamp"), &timestamp, NULL), 0);
        char when[32];
        struct tm tm;
        time_t t = (time_t)timestamp;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        assert_string_equal(lk_value_get_string(lk_value_map_get(out, "timestamp", 9), NULL), when);
        static const char *const roots[] = {"parentHash", "receiptsRoot", "transactionsRoot", "stateRoot"};
        for (int i = 0; i < 4; i++) {
                hex_of(lk_value_get_bytes(lk_value_map_get(out, roots[i], strlen(roots[i])), NULL), 32, text);
                assert_string_equal(text, json_string_value(json_object_get(block, roots[i])));
        }
        const char *fee = lk_value_get_string(lk_value_map_get(out, "baseFeePerGas", 13), NULL);
        assert_non_null(fee);
        assert_true(strstr(fee, "wei") || strcmp(fee, "0") == 0);
}

static void ethgetblock_latest(void **state) {
        (void)state;
        /* the chain is not started: its head tracker has seen nothing */
        lk_task_result r = run_task("t [type=ethgetblock]", &(call_options){0});
        assert_non_null(r.value);
        json_t *block = call_rpc("eth_getBlockByNumber", json_pack("[sb]", "latest", 0));
        assert_block(r.value, block);
        json_decref(block);
        lk_value_unref(r.value);
        expect_error("t [type=ethgetblock evmChainID=\"5\"]", &(call_options){0},
                     "failed to get chain with id 5: not found");
}

static void ethgetblock_from_the_head_tracker(void **state) {
        (void)state;
        lk_chain *started = new_chain();
        lk_ctx ctx;
        lk_ctx_init(&ctx, 10 * LK_USEC_PER_SEC);
        lk_err err = LK_ERR_INIT;
        if (lk_service_start(lk_chain_service(started), &ctx, &err) < 0)
                fail_msg("%s", err.msg);
        lk_ctx_done(&ctx);
        lk_head head;
        for (int i = 0; i < 100 && !lk_head_tracker_latest(lk_chain_heads(started), &head); i++)
                usleep(50000);
        assert_true(lk_head_tracker_latest(lk_chain_heads(started), &head));
        lk_chain *saved = F.chain;
        F.chain = started;
        lk_task_result r = run_task("t [type=ethgetblock evmChainID=\"1337\"]", &(call_options){0});
        F.chain = saved;
        assert_non_null(r.value);
        json_t *block = call_rpc("eth_getBlockByHash", json_pack("[ob]", lk_rpc_hex(head.hash, 32), 0));
        /* the tracker may have moved on meanwhile; never back */
        int64_t number = lk_value_get_int64(lk_value_map_get(r.value, "number", 6));
        assert_true(number >= head.number);
        if (number == head.number)
                assert_block(r.value, block);
        json_decref(block);
        lk_value_unref(r.value);
        lk_service_close(lk_chain_service(started), NULL);
        lk_chain_free(started);
}

/* ---- vrf and vrfv2 ---- */

#define PRE_SEED 12345
#define BLOCK_NUMBER 42
/* crypto-evm.md §6: sk 0x2a, preSeed 12345, blockHash 0x00…00aa */
#define ACTUAL_SEED "c0dfe91f3b9ec6e8595845c18b2cf5e1d20800c53439ccd3c50b609f97545317"
#define OUTPUT "0eccd8984a4335b747231f0f143e80553296e595213700c6dd3a9ee0737e8658"

static const char vrf_dot[] = "t [type=%s publicKey=\"$(jobSpec.publicKey)\" requestBlockHash=\"$(jobRun.logBlockHash)\" "
                              "requestBlockNumber=\"$(jobRun.logBlockNumber)\" topics=\"$(jobRun.logTopics)\"]";

static lk_value *word_bytes(uint8_t last) {
        uint8_t w[32] = {0};
        w[31] = last;
        return lk_value_bytes(w, 32);
}

static lk_value *big_value(long v) {
        mpz_t n;
        mpz_init_set_si(n, v);
        lk_value *out = lk_value_bigint(n);
        mpz_clear(n);
        return out;
}

static void put(lk_value *map, const char *key, lk_value *v) {
        lk_value_map_put(map, key, strlen(key), v);
}

/* The run's vars: the key as the job spec names it, the request's block
 * and its log's topics (the second one the job's ID). */
static lk_value *vrf_vars(const lk_point *pk, const char *public_key, lk_value *block_hash, size_t topic_count) {
        char hex[2 + 2 * LK_POINT_SHORT_LEN + 1];
        uint8_t short_form[LK_POINT_SHORT_LEN];
        lk_point_to_short(pk, short_form);
        hex_of(short_form, sizeof short_form, hex);
        lk_value *spec = lk_value_map(), *run = lk_value_map(), *topics = lk_value_array(), *vars = lk_value_map();
        put(spec, "publicKey", lk_value_string(public_key ? public_key : hex, SIZE_MAX));
        put(run, "logBlockHash", block_hash ? block_hash : word_bytes(0xaa));
        put(run, "logBlockNumber", lk_value_uint64(BLOCK_NUMBER));
        for (size_t i = 0; i < topic_count; i++)
                lk_value_array_append(topics, word_bytes((uint8_t)(0x70 + i)));
        put(run, "logTopics", topics);
        put(vars, "jobSpec", spec);
        put(vars, "jobRun", run);
        return vars;
}

static lk_value *key_hash_value(const lk_point *pk) {
        uint8_t hash[32];
        lk_vrf_key_hash(pk, hash);
        return lk_value_bytes(hash, 32);
}

/* RandomWordsRequested as ethabidecodelog gives it. */
static lk_value *v2_log(const lk_point *pk) {
        uint8_t key_hash[32], pre_seed[32] = {0}, request_id[32], sender[20];
        lk_vrf_key_hash(pk, key_hash);
        pre_seed[30] = PRE_SEED >> 8;
        pre_seed[31] = PRE_SEED & 0xff;
        lk_vrf_request_id(key_hash, pre_seed, request_id);
        memset(sender, 0x11, sizeof sender);
        mpz_t id;
        mpz_init(id);
        mpz_import(id, 32, 1, 1, 1, 0, request_id);
        lk_value *log = lk_value_map();
        put(log, "keyHash", lk_value_bytes(key_hash, 32));
        put(log, "requestId", lk_value_bigint(id));
        put(log, "preSeed", big_value(PRE_SEED));
        put(log, "subId", lk_value_uint64(7));
        put(log, "minimumRequestConfirmations", lk_value_uint64(3));
        put(log, "callbackGasLimit", lk_value_uint64(100000));
        put(log, "numWords", lk_value_uint64(2));
        put(log, "sender", lk_value_bytes(sender, 20));
        mpz_clear(id);
        return log;
}

static lk_task_result run_vrf(const char *type, lk_value *vars, lk_value *log) {
        char dot[512];
        snprintf(dot, sizeof dot, vrf_dot, type);
        lk_task_input in = {.value = log};
        lk_task_result r = run_task(dot, &(call_options){.vars_value = vars, .inputs = &in, .input_count = 1});
        lk_value_unref(vars);
        lk_value_unref(log);
        return r;
}

static void expect_vrf_error(const char *type, lk_value *vars, lk_value *log, const char *want) {
        lk_task_result r = run_vrf(type, vars, log);
        if (r.value || strcmp(r.err.msg, want) != 0)
                fail_msg("%s:\n  want error: %s\n  got:        %s", type, want, r.value ? "an output" : r.err.msg);
}

/* The proof in the 416 bytes at marshaled, its seed word the pre-seed,
 * holds for the actual seed of the request, with the known output. */
static void assert_proof_holds(const uint8_t *marshaled) {
        uint8_t proof[LK_VRF_MARSHALED_LEN], want_pre_seed[32] = {0}, block_hash[32] = {0}, seed[32];
        want_pre_seed[30] = PRE_SEED >> 8;
        want_pre_seed[31] = PRE_SEED & 0xff;
        block_hash[31] = 0xaa;
        assert_memory_equal(marshaled + 192, want_pre_seed, 32);
        lk_vrf_seed_v2(want_pre_seed, block_hash, seed);
        lktest_assert_hex(seed, 32, ACTUAL_SEED);
        memcpy(proof, marshaled, sizeof proof);
        memcpy(proof + 192, seed, 32);
        lk_vrf_solidity_proof sp;
        lk_err err = LK_ERR_INIT;
        if (lk_vrf_unmarshal(proof, &sp, &err) < 0 || lk_vrf_verify(&sp.proof, &err) < 0)
                fail_msg("the proof does not hold: %s", err.msg);
        lktest_assert_hex(sp.proof.output, 32, OUTPUT);
        uint8_t pk[LK_POINT_LEN];
        lk_point_to_long(&F.vrf_pk, pk);
        assert_memory_equal(marshaled, pk, LK_POINT_LEN);
}

static uint8_t *decode_hex_string(const lk_value *v, size_t want_len) {
        const char *text = lk_value_get_string(v, NULL);
        assert_non_null(text);
        assert_int_equal(strlen(text), 2 + 2 * want_len);
        uint8_t *b = lk_malloc(want_len);
        lktest_unhex(text, b, want_len);
        return b;
}

static void assert_word(const uint8_t *word, uint64_t want) {
        uint8_t w[32] = {0};
        for (int i = 0; i < 8; i++)
                w[31 - i] = (uint8_t)(want >> (8 * i));
        assert_memory_equal(word, w, 32);
}

static void vrfv2_output(void **state) {
        (void)state;
        lk_value *log = v2_log(&F.vrf_pk);
        /* hexutil.Encode(requestId.Bytes()): whole bytes, no leading zero ones */
        uint8_t id[32] = {0};
        size_t skip = 0;
        const mpz_t *n = lk_value_get_bigint(lk_value_map_get(log, "requestId", 9));
        mpz_export(id + 32 - (mpz_sizeinbase(*n, 2) + 7) / 8, NULL, 1, 1, 1, 0, *n);
        while (skip < 32 && id[skip] == 0)
                skip++;
        char request_id[67];
        hex_of(id + skip, 32 - skip, request_id);
        lk_task_result r = run_vrf("vrfv2", vrf_vars(&F.vrf_pk, NULL, NULL, 2), log);
        if (!r.value)
                fail_msg("%s", r.err.msg);
        uint8_t *calldata = decode_hex_string(lk_value_map_get(r.value, "output", 6), LK_VRF_FULFILL_CALLDATA_LEN);
        lktest_assert_hex(calldata, 4, "af198b97");
        assert_proof_holds(calldata + 4);
        const uint8_t *rc = calldata + 4 + LK_VRF_MARSHALED_LEN;
        assert_word(rc, BLOCK_NUMBER);
        assert_word(rc + 32, 7);
        assert_word(rc + 64, 100000);
        assert_word(rc + 96, 2);
        lktest_assert_hex(rc + 128, 32, "0000000000000000000000001111111111111111111111111111111111111111");
        lk_free(calldata);
        /* the request ID as hexutil encodes big.Int.Bytes(); the pieces apart */
        assert_string_equal(lk_value_get_string(lk_value_map_get(r.value, "requestID", 9), NULL), request_id);
        lk_buf b = LK_BUF_INIT;
        lk_value_to_json(lk_value_map_get(r.value, "requestCommitment", 17), &b);
        assert_string_equal(lk_buf_str(&b), "{\"BlockNum\":42,\"CallbackGasLimit\":100000,\"NumWords\":2,"
                                            "\"Sender\":\"0x1111111111111111111111111111111111111111\",\"SubId\":7}");
        lk_buf_done(&b);
        const lk_value *proof = lk_value_map_get(r.value, "proof", 5);
        assert_true(mpz_cmp_ui(*lk_value_get_bigint(lk_value_map_get(proof, "Seed", 4)), PRE_SEED) == 0);
        assert_int_equal(lk_value_array_len(lk_value_map_get(proof, "Pk", 2)), 2);
        lk_value_unref(r.value);
}

static void vrfv2_errors(void **state) {
        (void)state;
        /* a request for another key */
        lk_scalar other_secret;
        lk_point other;
        lk_scalar_from_u64(&other_secret, 0x2b);
        lk_point_base_mul(&other, &other_secret);
        lk_value *log = v2_log(&F.vrf_pk);
        put(log, "keyHash", key_hash_value(&other));
        char want[256], got_hex[67], want_hex[67];
        hex_of(lk_value_get_bytes(lk_value_map_get(log, "keyHash", 7), NULL), 32, got_hex);
        uint8_t hash[32];
        lk_vrf_key_hash(&F.vrf_pk, hash);
        hex_of(hash, 32, want_hex);
        snprintf(want, sizeof want, "invalid key hash %s expected %s", got_hex + 2, want_hex + 2);
        expect_vrf_error("vrfv2", vrf_vars(&F.vrf_pk, NULL, NULL, 2), log, want);
        /* a key the keystore does not have */
        uint8_t id[LK_POINT_SHORT_LEN];
        char id_hex[2 + 2 * LK_POINT_SHORT_LEN + 1];
        lk_point_to_short(&other, id);
        hex_of(id, sizeof id, id_hex);
        snprintf(want, sizeof want, "unable to find VRF key with id %s", id_hex);
        lk_task_result r = run_vrf("vrfv2", vrf_vars(&other, NULL, NULL, 2), v2_log(&other));
        assert_string_equal(r.err.msg, want);
        assert_true(r.retryable);
        /* the log's fields, checked for their types */
        log = v2_log(&F.vrf_pk);
        put(log, "callbackGasLimit", lk_value_uint64(1ull << 32));
        expect_vrf_error("vrfv2", vrf_vars(&F.vrf_pk, NULL, NULL, 2), log, "invalid callbackGasLimit: bad input for task");
        log = v2_log(&F.vrf_pk);
        put(log, "preSeed", lk_value_uint64(PRE_SEED));
        expect_vrf_error("vrfv2", vrf_vars(&F.vrf_pk, NULL, NULL, 2), log, "invalid preSeed: bad input for task");
        log = v2_log(&F.vrf_pk);
        put(log, "preSeed", big_value(-1));
        char zeros[128] = "unable to parse preseed [0";
        for (int i = 1; i < 32; i++)
                strcat(zeros, " 0");
        strcat(zeros, "]");
        expect_vrf_error("vrfv2", vrf_vars(&F.vrf_pk, NULL, NULL, 2), log, zeros);
        expect_vrf_error("vrfv2", vrf_vars(&F.vrf_pk, NULL, lk_value_bytes("\x12\x34", 2), 2), v2_log(&F.vrf_pk),
                         "invalid BlockHash length 2 expected 32");
        expect_vrf_error("vrfv2", vrf_vars(&F.vrf_pk, "abc", NULL, 2), v2_log(&F.vrf_pk),
                         "failed to create PublicKey from bytes wrong length for public key: abc of length 3");
        /* 33 bytes, but no point: Chainlink's MustHash panics */
        const char *bad_point = "0x000000000000000000000000000000000000000000000000000000000000000002";
        expect_vrf_error("vrfv2", vrf_vars(&F.vrf_pk, bad_point, NULL, 2), v2_log(&F.vrf_pk),
                         "goroutine panicked when executing run: Failed to compute hash of public vrf key "
                         "0x000000000000000000000000000000000000000000000000000000000000000002");
}

static void vrf_input_errors(void **state) {
        (void)state;
        char dot[512];
        snprintf(dot, sizeof dot, vrf_dot, "vrfv2");
        expect_error(dot, &(call_options){0}, "wrong number of task inputs");
        lk_task_input failed = {.error = "boom"};
        expect_error(dot, &(call_options){.inputs = &failed, .input_count = 1}, "input task errored");
        lk_value *text = lk_value_string("log", 3);
        lk_task_input not_map = {.value = text};
        expect_error(dot, &(call_options){.inputs = &not_map, .input_count = 1}, "expected map input: bad input for task");
        lk_value_unref(text);
        lk_value *log = v2_log(&F.vrf_pk);
        lk_task_input in = {.value = log};
        expect_error("t [type=vrf]", &(call_options){.inputs = &in, .input_count = 1},
                     "publicKey: parameter is empty; requestBlockHash: parameter is empty; "
                     "requestBlockNumber: parameter is empty; topics: parameter is empty");
        lk_value_unref(log);
}

/* topics as HashSliceParam reads it: a list, or the JSON text of one. */
static void vrf_topics(void **state) {
        (void)state;
        static const struct {
                const char *topics;
                const char *error; /* NULL: fine */
        } rows[] = {
                {"[\"0x0000000000000000000000000000000000000000000000000000000000000070\"]", NULL},
                {"null", NULL},
                {"[\"0000000000000000000000000000000000000000000000000000000000000070\"]",
                 "topics: HashSliceParam: json: cannot unmarshal hex string without 0x prefix into Go value of type "
                 "common.Hash: bad input for task"},
                {"[\"0x70\"]", "topics: HashSliceParam: hex string has length 2, want 64 for Hash: bad input for task"},
                {"[7]", "topics: HashSliceParam: json: cannot unmarshal non-string into Go value of type common.Hash: "
                        "bad input for task"},
                {"{}", "topics: HashSliceParam: json: cannot unmarshal object into Go value of type "
                       "pipeline.HashSliceParam: bad input for task"},
                {"[", "topics: HashSliceParam: unexpected end of JSON input: bad input for task"},
        };
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
                lk_value *vars = vrf_vars(&F.vrf_pk, NULL, NULL, 0);
                lk_value *run = lk_value_map_get(vars, "jobRun", 6);
                put(run, "logTopics", lk_value_string(rows[i].topics, SIZE_MAX));
                lk_task_result r = run_vrf("vrfv2", vars, v2_log(&F.vrf_pk));
                if (rows[i].error && (r.value || strcmp(r.err.msg, rows[i].error) != 0))
                        fail_msg("%s\n  want error: %s\n  got:        %s", rows[i].topics, rows[i].error,
                                 r.value ? "an output" : r.err.msg);
                if (!rows[i].error && !r.value)
                        fail_msg("%s: %s", rows[i].topics, r.err.msg);
                lk_value_unref(r.value);
        }
        /* a list item that is no text */
        lk_value *vars = vrf_vars(&F.vrf_pk, NULL, NULL, 0);
        lk_value *topics = lk_value_array();
        lk_value_array_append(topics, lk_value_bool(true));
        put(lk_value_map_get(vars, "jobRun", 6), "logTopics", topics);
        expect_vrf_error("vrfv2", vars, v2_log(&F.vrf_pk), "topics: HashSliceParam: bad input for task");
}

/* VRFRequest as ethabidecodelog gives it (v1). */
static lk_value *v1_log(uint8_t job_id) {
        lk_value *log = lk_value_map();
        put(log, "keyHash", key_hash_value(&F.vrf_pk));
        put(log, "seed", big_value(PRE_SEED));
        put(log, "jobID", word_bytes(job_id));
        return log;
}

static void vrf_v1(void **state) {
        (void)state;
        /* the job's ID is the second topic (0x71) */
        lk_task_result r = run_vrf("vrf", vrf_vars(&F.vrf_pk, NULL, NULL, 2), v1_log(0x71));
        if (!r.value)
                fail_msg("%s", r.err.msg);
        uint8_t *response = decode_hex_string(r.value, LK_VRF_MARSHALED_LEN + 32);
        assert_proof_holds(response);
        assert_word(response + LK_VRF_MARSHALED_LEN, BLOCK_NUMBER);
        lk_free(response);
        lk_value_unref(r.value);
        /* the first topic alone is enough when it is the job's */
        r = run_vrf("vrf", vrf_vars(&F.vrf_pk, NULL, NULL, 1), v1_log(0x70));
        assert_non_null(r.value);
        lk_value_unref(r.value);
        expect_vrf_error("vrf", vrf_vars(&F.vrf_pk, NULL, NULL, 1), v1_log(0x71),
                         "goroutine panicked when executing run: runtime error: index out of range [1] with length 1");
        lk_buf want = LK_BUF_INIT;
        lk_buf_printf(&want, "request jobID [");
        for (int i = 0; i < 32; i++)
                lk_buf_printf(&want, "%s%d", i ? " " : "", i == 31 ? 0x99 : 0);
        lk_buf_printf(&want, "] doesn't match expected [");
        for (int i = 0; i < 32; i++)
                lk_buf_printf(&want, "%s%d", i ? " " : "", i == 31 ? 0x70 : 0);
        lk_buf_printf(&want, "] or [");
        for (int i = 0; i < 32; i++)
                lk_buf_printf(&want, "%s%d", i ? " " : "", i == 31 ? 0x71 : 0);
        lk_buf_printf(&want, "]");
        expect_vrf_error("vrf", vrf_vars(&F.vrf_pk, NULL, NULL, 2), v1_log(0x99), lk_buf_str(&want));
        lk_buf_done(&want);
        lk_value *log = v1_log(0x71);
        put(log, "jobID", lk_value_string("job", 3));
        expect_vrf_error("vrf", vrf_vars(&F.vrf_pk, NULL, NULL, 2), log, "invalid requestJobID: bad input for task");
}

/* ---- through the runner ---- */

static void runner_lends_the_job_gas_limit(void **state) {
        (void)state;
        lk_runner *runner = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_runner_new(&(lk_runner_options){.config = &F.cfg, .evm = &F.evm, .workers = 1}, &runner, &err) < 0)
                fail_msg("%s", err.msg);
        lk_ctx ctx;
        lk_ctx_init(&ctx, 10 * LK_USEC_PER_SEC);
        assert_int_equal(lk_service_start(lk_runner_service(runner), &ctx, &err), 0);
        lk_ctx_done(&ctx);
        char *dot = dot_at("t [type=ethcall contract=\"%s\" data=\"$(data)\"]", F.gas);
        lk_pipeline_spec *spec = NULL;
        if (lk_pipeline_spec_new(&(lk_pipeline_spec_options){.source = dot, .source_len = SIZE_MAX,
                                                              .gas_limit_set = true, .gas_limit = 123456},
                                 &spec, &err) < 0)
                fail_msg("%s", err.msg);
        lk_value *vars = NULL;
        const char *json = "{\"data\": \"0x01\"}";
        assert_int_equal(lk_value_from_json(json, strlen(json), &vars, NULL), 0);
        lk_run *run = NULL;
        if (lk_runner_run(runner, &(lk_run_request){.spec = spec, .vars = vars}, &run, &err) < 0)
                fail_msg("%s", err.msg);
        const lk_value *out = lk_value_array_at(lk_run_outputs(run), 0);
        assert_int_equal(lk_value_type_of(out), LK_VALUE_BYTES);
        const unsigned char *word = lk_value_get_bytes(out, NULL);
        uint64_t gas = 0;
        for (int i = 24; i < 32; i++)
                gas = gas << 8 | word[i];
        assert_gas_near(gas, 123456);
        lk_run_unref(run);
        lk_value_unref(vars);
        lk_pipeline_spec_unref(spec);
        lk_free(dot);
        lk_service_close(lk_runner_service(runner), NULL);
        lk_runner_free(runner);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(ethcall_returns_the_call_data),
                cmocka_unit_test(ethcall_from),
                cmocka_unit_test(ethcall_block),
                cmocka_unit_test(ethcall_gas),
                cmocka_unit_test(ethcall_gas_prices),
                cmocka_unit_test(ethcall_revert_reason),
                cmocka_unit_test(ethcall_parameter_errors),
                cmocka_unit_test(ethcall_chain_ids),
                cmocka_unit_test(estimategaslimit_multiplies),
                cmocka_unit_test(estimategaslimit_falls_back),
                cmocka_unit_test(estimategaslimit_errors),
                cmocka_unit_test(ethgetblock_latest),
                cmocka_unit_test(ethgetblock_from_the_head_tracker),
                cmocka_unit_test(vrfv2_output),
                cmocka_unit_test(vrfv2_errors),
                cmocka_unit_test(vrf_input_errors),
                cmocka_unit_test(vrf_topics),
                cmocka_unit_test(vrf_v1),
                cmocka_unit_test(runner_lends_the_job_gas_limit),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
