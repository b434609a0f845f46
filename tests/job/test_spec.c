#include "lktest.h"

#include <errno.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/job.h"
#include "linkd/toml.h"
#include "pipeline/spec.h"

/* ---- Chainlink's own example specs (core/testdata/tomlspecs, docs) ---- */

static const char CRON_1[] =
        "type            = \"cron\"\n"
        "schemaVersion   = 1\n"
        "schedule        = \"CRON_TZ=UTC 0 0 1 1 * *\"\n"
        "observationSource   = \"\"\"\n"
        "ds          [type=http method=GET url=\"https://chain.link/ETH-USD\"];\n"
        "ds_parse    [type=jsonparse path=\"data,price\"];\n"
        "ds_multiply [type=multiply times=100];\n"
        "ds -> ds_parse -> ds_multiply;\n"
        "\"\"\"\n";

static const char CRON_2[] =
        "type            = \"cron\"\n"
        "schemaVersion   = 1\n"
        "name            = \"every-10s\"\n"
        "schedule        = \"CRON_TZ=UTC */10 * * * * *\"\n"
        "externalJobID   = \"0EEC7E1D-D0D2-476C-A1A8-72DFB6633F40\"\n"
        "observationSource = \"\"\"\n"
        "fetch [type=http method=GET url=\"https://example.com/price\"]\n"
        "parse [type=jsonparse path=\"data,price\" lax=true]\n"
        "fetch -> parse\n"
        "\"\"\"\n";

static const char WEBHOOK_1[] =
        "type            = \"webhook\"\n"
        "schemaVersion   = 1\n"
        "externalInitiators = [\n"
        "  { name = \"my-external-initiator-1\", spec = \"{\\\"foo\\\": 42}\" },\n"
        "  { name = \"my-external-initiator-2\", spec = \"{}\" }\n"
        "]\n"
        "observationSource   = \"\"\"\n"
        "    parse_request  [type=\"jsonparse\" path=\"data,result\" data=\"$(jobRun.requestBody)\"]\n"
        "    multiply       [type=\"multiply\" input=\"$(parse_request)\" times=\"100\"]\n"
        "    send_to_bridge [type=\"bridge\" name=\"my_bridge\" requestData=\"{ \\\\\"result\\\\\": $(multiply) }\"]\n"
        "    parse_request -> multiply -> send_to_bridge\n"
        "\"\"\"\n";

static const char WEBHOOK_2[] =
        "type            = \"webhook\"\n"
        "schemaVersion   = 1\n"
        "externalJobID   = \"D80D56A0-8E43-4CFA-B7BD-035390F0F54C\"\n"
        "observationSource   = \"\"\"\n"
        "    fail_but_i_dont_care [type=fail]\n"
        "    succeed1             [type=memo value=10]\n"
        "    succeed2             [type=memo value=5]\n"
        "    final                [type=mean]\n"
        "    fail_but_i_dont_care -> final;\n"
        "    succeed1 -> final;\n"
        "    succeed2 -> final;\n"
        "\"\"\"\n";

static const char DR_1[] =
        "type                = \"directrequest\"\n"
        "schemaVersion       = 1\n"
        "evmChainID          = 1\n"
        "name                = \"example eth request event spec\"\n"
        "contractAddress     = \"0x613a38AC1659769640aaE063C651F48E0250454C\"\n"
        "# requesters = [\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"]\n"
        "# minContractPaymentLinkJuels = \"100000000000000\"\n"
        "# externalJobID = \"0EEC7E1D-D0D2-476C-A1A8-72DFB6633F02\"\n"
        "# minIncomingConfirmations = 10\n"
        "observationSource   = \"\"\"\n"
        "    ds          [type=\"http\" method=GET url=\"http://example.com\"]\n"
        "    ds_parse    [type=\"jsonparse\" path=\"USD\"]\n"
        "    ds_multiply [type=\"multiply\" times=100]\n"
        "    ds -> ds_parse -> ds_multiply\n"
        "\"\"\"\n";

/* An Operator's OracleRequest log and its CBOR request, decoded. */
#define DR_DECODE                                                                                                  \
        "    decode_log   [type=ethabidecodelog\n"                                                                \
        "                  abi=\"OracleRequest(bytes32 indexed specId, address requester, bytes32 requestId, "     \
        "uint256 payment, address callbackAddr, bytes4 callbackFunctionId, uint256 cancelExpiration, "           \
        "uint256 dataVersion, bytes data)\"\n"                                                                     \
        "                  data=\"$(jobRun.logData)\"\n"                                                          \
        "                  topics=\"$(jobRun.logTopics)\"]\n"                                                     \
        "    decode_cbor  [type=cborparse data=\"$(decode_log.data)\"]\n"

static const char DR_2[] =
        "type                = \"directrequest\"\n"
        "schemaVersion       = 1\n"
        "name                = \"example eth request event spec\"\n"
        "contractAddress     = \"0x613a38AC1659769640aaE063C651F48E0250454C\"\n"
        "externalJobID       = \"0EEC7E1D-D0D2-476C-A1A8-72DFB6633F90\"\n"
        "observationSource   = \"\"\"\n"
        DR_DECODE
        "    ds1          [type=http method=GET url=\"$(decode_cbor.urlUSD)\" allowunrestrictednetworkaccess=\"true\"];\n"
        "    ds1_parse    [type=jsonparse path=\"$(decode_cbor.pathUSD)\"];\n"
        "    ds1_multiply [type=multiply value=\"$(ds1_parse)\" times=100];\n"
        "    encode_data  [type=ethabiencode abi=\"(uint256 value)\" data=<{\"value\": $(ds1_multiply)}>]\n"
        "    encode_tx    [type=ethabiencode\n"
        "                  abi=\"fulfillOracleRequest(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes32 data)\"\n"
        "                  data=<{\"requestId\": $(decode_log.requestId), \"payment\": $(decode_log.payment),\n"
        "                         \"callbackAddress\": $(decode_log.callbackAddr), \"callbackFunctionId\": $(decode_log.callbackFunctionId),\n"
        "                         \"expiration\": $(decode_log.cancelExpiration), \"data\": $(encode_data)}>]\n"
        "    submit [type=ethtx to=\"0x613a38AC1659769640aaE063C651F48E0250454C\" data=\"$(encode_tx)\" minConfirmations=\"2\"]\n"
        "    decode_log->decode_cbor->ds1 -> ds1_parse -> ds1_multiply->encode_data->encode_tx->submit;\n"
        "\"\"\"\n";

/* The ABI tasks run in linkd: without ethtx or http the request is runnable. */
static const char DR_3[] =
        "type                = \"directrequest\"\n"
        "schemaVersion       = 1\n"
        "contractAddress     = \"0x613a38AC1659769640aaE063C651F48E0250454C\"\n"
        "observationSource   = \"\"\"\n"
        DR_DECODE
        "    ds1_multiply [type=multiply input=\"$(decode_cbor.price)\" times=100];\n"
        "    encode_data  [type=ethabiencode abi=\"(uint256 value)\" data=<{\"value\": $(ds1_multiply)}>]\n"
        "    encode_tx    [type=ethabiencode2 abi=<{\"name\": \"f\", \"inputs\": [{\"name\": \"d\", \"type\": \"bytes32\"}]}>\n"
        "                  data=<{\"d\": $(encode_data)}>]\n"
        "    decode_log->decode_cbor->ds1_multiply->encode_data->encode_tx;\n"
        "\"\"\"\n";

#define VRF_PIPELINE \
        "observationSource = \"\"\"\n" \
        "decode_log   [type=ethabidecodelog\n" \
        "              abi=\"RandomnessRequest(bytes32 keyHash,uint256 seed,bytes32 indexed jobID,address sender,uint256 fee,bytes32 requestID)\"\n" \
        "              data=\"$(jobRun.logData)\"\n" \
        "              topics=\"$(jobRun.logTopics)\"]\n" \
        "vrf          [type=vrf publicKey=\"$(jobSpec.publicKey)\" requestBlockHash=\"$(jobRun.logBlockHash)\"\n" \
        "              requestBlockNumber=\"$(jobRun.logBlockNumber)\" topics=\"$(jobRun.logTopics)\"]\n" \
        "encode_tx    [type=ethabiencode abi=\"fulfillRandomnessRequest(bytes proof)\" data=\"{\\\\\"proof\\\\\": $(vrf)}\"]\n" \
        "submit_tx    [type=ethtx to=\"0xB3b7874F13387D44a3398D298B075B7A3505D8d4\" data=\"$(encode_tx)\"\n" \
        "              txMeta=\"{\\\\\"requestTxHash\\\\\": $(jobRun.logTxHash),\\\\\"requestID\\\\\": $(decode_log.requestID),\\\\\"jobID\\\\\": $(jobSpec.databaseID)}\"]\n" \
        "decode_log->vrf->encode_tx->submit_tx\n" \
        "\"\"\"\n"

static const char VRF_1[] =
        "type            = \"vrf\"\n"
        "schemaVersion   = 1\n"
        "minIncomingConfirmations = 10\n"
        "publicKey = \"0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F8179800\"\n"
        "coordinatorAddress = \"0xB3b7874F13387D44a3398D298B075B7A3505D8d4\"\n"
        "requestTimeout = \"168h\" # 7 days\n"
        "chunkSize = 25\n"
        "backoffInitialDelay = \"1m\"\n"
        "backoffMaxDelay = \"2h\"\n"
        VRF_PIPELINE;

/* ---- helpers ---- */

static lk_job_spec *parse_ok(const char *toml, const lk_job_spec_parse_options *opts) {
        lk_job_spec *spec = NULL;
        lk_job_errors errors = LK_JOB_ERRORS_INIT;
        lk_err err = LK_ERR_INIT;
        int r = lk_job_spec_parse(toml, strlen(toml), opts, &spec, &errors, &err);
        if (r < 0) {
                lk_buf b = LK_BUF_INIT;
                lk_job_errors_format(&errors, &b);
                fail_msg("unexpected errors:\n%s", lk_buf_str(&b));
        }
        assert_int_equal(errors.count, 0);
        assert_false(lk_err_is_set(&err));
        assert_non_null(spec);
        return spec;
}

/* Parses toml, which must fail, and returns its errors formatted. */
static char *parse_fail(const char *toml, const lk_job_spec_parse_options *opts, size_t *ret_count) {
        lk_job_spec *spec = NULL;
        lk_job_errors errors = LK_JOB_ERRORS_INIT;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_job_spec_parse(toml, strlen(toml), opts, &spec, &errors, &err), -EINVAL);
        assert_null(spec);
        assert_true(errors.count > 0);
        /* err holds the first error, the one Chainlink would report. */
        assert_string_equal(err.msg, errors.items[0].message);
        assert_int_equal(err.line, errors.items[0].line);
        lk_buf b = LK_BUF_INIT;
        lk_job_errors_format(&errors, &b);
        if (ret_count)
                *ret_count = errors.count;
        lk_job_errors_done(&errors);
        return lk_buf_steal(&b, NULL);
}

static void expect_errors(const char *toml, const char *want) {
        char *got = parse_fail(toml, NULL, NULL);
        assert_string_equal(got, want);
        lk_free(got);
}

static bool is_uuid_v4(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
                        return false;
        }
        return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* ---- valid specs ---- */

static void cron_example(void **state) {
        (void)state;
        lk_job_spec *spec = parse_ok(CRON_1, NULL);
        assert_int_equal(spec->type, LK_JOB_CRON);
        assert_string_equal(lk_job_type_name(spec->type), "cron");
        assert_int_equal(spec->schema_version, 1);
        assert_null(spec->name);
        assert_string_equal(spec->u.cron.schedule, "CRON_TZ=UTC 0 0 1 1 * *");
        assert_true(spec->pipeline_runnable);
        assert_non_null(spec->pipeline);
        assert_int_equal(lk_pipeline_spec_task_count(spec->pipeline), 3);
        assert_true(strncmp(spec->observation_source, "ds          [type=http", 22) == 0);
        assert_true(is_uuid_v4(spec->external_job_id));
        assert_int_equal(spec->max_task_duration, 0);
        assert_false(spec->gas_limit_set);
        assert_false(spec->forwarding_allowed);
        assert_int_equal(spec->u.cron.max_concurrent_runs, 0); /* unlimited, as Chainlink */
        assert_null(lk_job_spec_free(spec));
        assert_null(lk_job_spec_free(NULL));
}

/* linkd's maxConcurrentRuns: a uint32, checked like every other integer. */
static void cron_max_concurrent_runs(void **state) {
        (void)state;
        lk_job_spec *spec = parse_ok("type = \"cron\"\nschemaVersion = 1\nschedule = \"@every 1s\"\n"
                                     "maxConcurrentRuns = 2\nobservationSource = \"a [type=memo value=1]\"\n",
                                     NULL);
        assert_int_equal(spec->u.cron.max_concurrent_runs, 2);
        lk_job_spec_free(spec);
        lk_job_errors errors = LK_JOB_ERRORS_INIT;
        lk_err err = LK_ERR_INIT;
        const char *bad = "type = \"cron\"\nschemaVersion = 1\nschedule = \"@every 1s\"\n"
                          "maxConcurrentRuns = -1\nobservationSource = \"a [type=memo value=1]\"\n";
        assert_int_equal(lk_job_spec_parse(bad, strlen(bad), NULL, &spec, &errors, &err), -EINVAL);
        assert_int_equal(errors.count, 1);
        assert_int_equal(errors.items[0].line, 4);
        assert_string_equal(errors.items[0].message, "maxConcurrentRuns: -1 out of range for uint32");
        lk_job_errors_done(&errors);
}

static void generated_ids_differ(void **state) {
        (void)state;
        lk_job_spec *a = parse_ok(CRON_1, NULL), *b = parse_ok(CRON_1, NULL);
        assert_true(is_uuid_v4(a->external_job_id));
        assert_true(is_uuid_v4(b->external_job_id));
        assert_string_not_equal(a->external_job_id, b->external_job_id);
        lk_job_spec_free(a);
        lk_job_spec_free(b);
}

static void cron_named_with_id(void **state) {
        (void)state;
        lk_job_spec *spec = parse_ok(CRON_2, NULL);
        assert_string_equal(spec->name, "every-10s");
        assert_string_equal(spec->external_job_id, "0eec7e1d-d0d2-476c-a1a8-72dfb6633f40");
        assert_int_equal(lk_pipeline_spec_task_count(spec->pipeline), 2);
        lk_job_spec_free(spec);
}

static int reject_non_tz(const char *schedule, lk_err *err) {
        if (strncmp(schedule, "CRON_TZ=", 8) == 0 || strncmp(schedule, "@every ", 7) == 0)
                return 0;
        return lk_err_set(err, -EINVAL, "cron schedule must specify a time zone using CRON_TZ, e.g. "
                          "'CRON_TZ=UTC 5 * * * *', or use the @every syntax, e.g. '@every 1h30m'");
}

static void cron_schedule_hook(void **state) {
        (void)state;
        lk_job_spec_parse_options opts = {.validate_schedule = reject_non_tz};
        lk_job_spec *spec = parse_ok(CRON_2, &opts);
        lk_job_spec_free(spec);
        char *got = parse_fail("type = \"cron\"\nschemaVersion = 1\nschedule = \"@hourly\"\n"
                               "observationSource = \"a [type=memo value=1]\"\n", &opts, NULL);
        assert_string_equal(got, "line 3: while validating cron schedule '@hourly': cron schedule must specify a "
                                 "time zone using CRON_TZ, e.g. 'CRON_TZ=UTC 5 * * * *', or use the @every syntax, "
                                 "e.g. '@every 1h30m'\n");
        lk_free(got);
        /* Without a validator only emptiness is checked. */
        spec = parse_ok("type = \"cron\"\nschemaVersion = 1\nschedule = \"@hourly\"\n"
                        "observationSource = \"a [type=memo value=1]\"\n", NULL);
        assert_string_equal(spec->u.cron.schedule, "@hourly");
        lk_job_spec_free(spec);
}

static void cron_missing_schedule(void **state) {
        (void)state;
        expect_errors("type = \"cron\"\nschemaVersion = 1\nobservationSource = \"a [type=memo value=1]\"\n",
                      "while validating cron schedule '': cron schedule must specify a time zone using CRON_TZ, "
                      "e.g. 'CRON_TZ=UTC 5 * * * *', or use the @every syntax, e.g. '@every 1h30m'\n");
}

static void webhook_examples(void **state) {
        (void)state;
        lk_job_spec *spec = parse_ok(WEBHOOK_1, NULL);
        assert_int_equal(spec->type, LK_JOB_WEBHOOK);
        assert_int_equal(spec->u.webhook.external_initiator_count, 2);
        assert_string_equal(spec->u.webhook.external_initiators[0].name, "my-external-initiator-1");
        assert_string_equal(spec->u.webhook.external_initiators[0].spec, "{\"foo\": 42}");
        assert_string_equal(spec->u.webhook.external_initiators[1].spec, "{}");
        assert_true(spec->pipeline_runnable);
        /* TOML turned \\" into \" before DOT saw it. */
        assert_non_null(strstr(spec->observation_source, "requestData=\"{ \\\"result\\\": $(multiply) }\""));
        lk_job_spec_free(spec);
        spec = parse_ok(WEBHOOK_2, NULL);
        assert_int_equal(spec->u.webhook.external_initiator_count, 0);
        assert_string_equal(spec->external_job_id, "d80d56a0-8e43-4cfa-b7bd-035390f0f54c");
        assert_int_equal(lk_pipeline_spec_task_count(spec->pipeline), 4);
        lk_job_spec_free(spec);
}

static void webhook_bad_initiator_spec(void **state) {
        (void)state;
        size_t n;
        char *got = parse_fail("type = \"webhook\"\nschemaVersion = 1\n"
                               "externalInitiators = [\n  { name = \"a\", spec = \"{\" },\n  { name = 7 }\n]\n"
                               "observationSource = \"a [type=memo value=1]\"\n", NULL, &n);
        assert_int_equal(n, 2);
        assert_true(strncmp(got, "line 4: externalInitiators.spec: ", 33) == 0);
        assert_non_null(strstr(got, "\nline 5: externalInitiators.name: expected string, got integer\n"));
        lk_free(got);
}

static void directrequest_examples(void **state) {
        (void)state;
        lk_job_spec *spec = parse_ok(DR_1, NULL);
        assert_int_equal(spec->type, LK_JOB_DIRECTREQUEST);
        assert_string_equal(spec->name, "example eth request event spec");
        assert_string_equal(spec->u.directrequest.contract_address.hex, "0x613a38AC1659769640aaE063C651F48E0250454C");
        assert_string_equal(spec->u.directrequest.evm_chain_id, "1");
        assert_int_equal(spec->u.directrequest.requester_count, 0);
        assert_null(spec->u.directrequest.min_contract_payment_link_juels);
        assert_false(spec->u.directrequest.min_incoming_confirmations_set);
        assert_true(spec->pipeline_runnable);
        lk_job_spec_free(spec);
        /* with every EVM task: runnable too */
        spec = parse_ok(DR_2, NULL);
        assert_true(spec->pipeline_runnable);
        assert_non_null(spec->pipeline);
        assert_string_equal(spec->external_job_id, "0eec7e1d-d0d2-476c-a1a8-72dfb6633f90");
        assert_non_null(strstr(spec->observation_source, "submit [type=ethtx"));
        lk_job_spec_free(spec);
        spec = parse_ok(DR_3, NULL);
        assert_true(spec->pipeline_runnable);
        assert_non_null(spec->pipeline);
        lk_job_spec_free(spec);
}

/* The tasks that read a chain run in linkd's runner: such a pipeline is
 * built with the job, and carries the job's gasLimit to them. */
static void chain_reading_tasks_are_runnable(void **state) {
        (void)state;
        lk_job_spec *spec = parse_ok("type = \"webhook\"\nschemaVersion = 1\ngasLimit = 123456\n"
                                     "observationSource = \"\"\"\n"
                                     "call [type=ethcall contract=\\\"0x613a38AC1659769640aaE063C651F48E0250454C\\\" "
                                     "data=\\\"$(jobRun.data)\\\"]\n"
                                     "gas [type=estimategaslimit]\n"
                                     "block [type=ethgetblock]\n"
                                     "\"\"\"\n",
                                     NULL);
        assert_true(spec->pipeline_runnable);
        assert_non_null(spec->pipeline);
        assert_true(spec->pipeline->gas_limit_set);
        assert_int_equal(spec->pipeline->gas_limit, 123456);
        lk_job_spec_free(spec);
}

static void directrequest_optional_fields(void **state) {
        (void)state;
        lk_job_spec *spec = parse_ok(
                "type = \"directrequest\"\nschemaVersion = 1\n"
                "contractAddress = \"0x613a38AC1659769640aaE063C651F48E0250454C\"\n"
                "requesters = [\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", \"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359\"]\n"
                "minContractPaymentLinkJuels = \"100000000000000\"\n"
                "minIncomingConfirmations = 10\n"
                "evmChainID = \"42\"\n"
                "gasLimit = 400000\nforwardingAllowed = true\nmaxTaskDuration = \"10s\"\n"
                "observationSource = \"a [type=memo value=1]\"\n", NULL);
        const lk_job_directrequest *d = &spec->u.directrequest;
        assert_int_equal(d->requester_count, 2);
        assert_string_equal(d->requesters[1].hex, "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");
        assert_string_equal(d->min_contract_payment_link_juels, "100000000000000");
        assert_true(d->min_incoming_confirmations_set);
        assert_int_equal(d->min_incoming_confirmations, 10);
        assert_string_equal(d->evm_chain_id, "42");
        assert_true(spec->gas_limit_set);
        assert_int_equal(spec->gas_limit, 400000);
        assert_true(spec->forwarding_allowed);
        assert_int_equal(spec->max_task_duration, 10 * LK_USEC_PER_SEC);
        lk_job_spec_free(spec);
}

static void directrequest_errors(void **state) {
        (void)state;
        expect_errors("type = \"directrequest\"\nschemaVersion = 1\n"
                      "contractAddress = \"0x613a38ac1659769640aae063c651f48e0250454c\"\n"
                      "requesters = [\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", \"0x12\"]\n"
                      "minContractPaymentLinkJuels = \"1.5\"\n"
                      "minIncomingConfirmations = -1\n"
                      "observationSource = \"a [type=memo value=1]\"\n",
                      "line 3: \"0x613a38ac1659769640aae063c651f48e0250454c\" is not a valid EIP55 formatted address\n"
                      "line 4: \"0x12\" is not a valid EIP55 formatted address\n"
                      "line 5: minContractPaymentLinkJuels: cannot unmarshal 1.5 into a *assets.Link\n"
                      "line 6: minIncomingConfirmations: -1 out of range for uint32\n");
        expect_errors("type = \"directrequest\"\nschemaVersion = 1\nobservationSource = \"a [type=memo value=1]\"\n",
                      "contractAddress: key not set\n");
}

static void vrf_example(void **state) {
        (void)state;
        lk_job_spec *spec = parse_ok(VRF_1, NULL);
        const lk_job_vrf *v = &spec->u.vrf;
        assert_int_equal(spec->type, LK_JOB_VRF);
        assert_int_equal(v->min_incoming_confirmations, 10);
        assert_string_equal(v->public_key, "0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F8179800");
        assert_string_equal(v->coordinator_address.hex, "0xB3b7874F13387D44a3398D298B075B7A3505D8d4");
        assert_int_equal(v->request_timeout, 168 * 3600 * LK_USEC_PER_SEC);
        assert_int_equal(v->chunk_size, 25);
        assert_int_equal(v->backoff_initial_delay, 60 * LK_USEC_PER_SEC);
        assert_int_equal(v->backoff_max_delay, 7200 * LK_USEC_PER_SEC);
        assert_true(v->batch_fulfillment_gas_multiplier == 1.15);
        assert_false(v->batch_fulfillment_enabled);
        assert_false(v->batch_coordinator_address_set);
        assert_null(v->gas_lane_price);
        assert_true(spec->pipeline_runnable);
        assert_true(is_uuid_v4(spec->external_job_id));
        lk_job_spec_free(spec);
}

static void vrf_defaults_and_v2(void **state) {
        (void)state;
        lk_job_spec *spec = parse_ok(
                "type = \"vrf\"\nschemaVersion = 1\nminIncomingConfirmations = 3\n"
                "publicKey = \"0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F8179801\"\n"
                "coordinatorAddress = \"0xB3b7874F13387D44a3398D298B075B7A3505D8d4\"\n"
                "batchCoordinatorAddress = \"0x613a38AC1659769640aaE063C651F48E0250454C\"\n"
                "batchFulfillmentEnabled = true\nbatchFulfillmentGasMultiplier = 0\n"
                "fromAddresses = [\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"]\n"
                "pollPeriod = \"5s\"\ngasLanePrice = \"200 gwei\"\nevmChainID = 1337\nconfirmations = 6\n"
                "observationSource = \"vrf [type=vrfv2 publicKey=\\\"$(jobSpec.publicKey)\\\"]\"\n", NULL);
        const lk_job_vrf *v = &spec->u.vrf;
        assert_int_equal(v->request_timeout, 24 * 3600 * LK_USEC_PER_SEC);
        assert_int_equal(v->chunk_size, 20);
        assert_true(v->batch_fulfillment_gas_multiplier == 1.15);
        assert_true(v->batch_fulfillment_enabled);
        assert_string_equal(v->batch_coordinator_address.hex, "0x613a38AC1659769640aaE063C651F48E0250454C");
        assert_int_equal(v->from_address_count, 1);
        assert_int_equal(v->poll_period, 5 * LK_USEC_PER_SEC);
        assert_string_equal(v->gas_lane_price, "200 gwei");
        assert_string_equal(v->evm_chain_id, "1337");
        assert_int_equal(v->requested_confs_delay, 0);
        lk_job_spec_free(spec);
}

/* ---- errors ---- */

static void vrf_many_errors(void **state) {
        (void)state;
        size_t n;
        char *got = parse_fail(
                "type = \"vrf\"\n"
                "schemaVersion = 1\n"
                "minIncomingConfirmations = 0\n"
                "coordinatorAddress = \"0xb3b7874f13387d44a3398d298b075b7a3505d8d4\"\n"
                "requestedConfsDelay = -1\n"
                "batchFulfillmentEnabled = true\n"
                "backoffInitialDelay = \"1h\"\n"
                "backoffMaxDelay = \"30m\"\n"
                "gasLanePrice = \"0 gwei\"\n"
                "observationSource = \"\"\"\n"
                "a [type=memo value=1]\n"
                "b [type=vrfv2]\n"
                "\"\"\"\n", NULL, &n);
        assert_string_equal(got,
                "line 4: \"0xb3b7874f13387d44a3398d298b075b7a3505d8d4\" is not a valid EIP55 formatted address\n"
                "line 9: gasLanePrice must be positive, given: 0 gwei\n"
                "publicKey: key not set\n"
                "line 3: minIncomingConfirmations: key not set\n"
                "line 4: coordinatorAddress: key not set\n"
                "line 5: requestedConfsDelay must be >= 0: key not set\n"
                "line 6: batch coordinator address must be provided if batchFulfillmentEnabled = true: key not set\n"
                "line 8: backoff max delay (30m0s) cannot be less than backoff initial delay (1h0m0s)\n"
                "fromAddreses needs to have a non-zero length: key not set\n");
        assert_int_equal(n, 9);
        lk_free(got);
}

static void vrf_needs_vrf_task(void **state) {
        (void)state;
        expect_errors("type = \"vrf\"\nschemaVersion = 1\nminIncomingConfirmations = 1\n"
                      "publicKey = \"0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F8179800\"\n"
                      "coordinatorAddress = \"0xB3b7874F13387D44a3398D298B075B7A3505D8d4\"\n"
                      "observationSource = \"a [type=memo value=1]\"\n",
                      "line 6: invalid pipeline, expected a vrf task: key not set\n");
}

static void vrf_bad_public_key(void **state) {
        (void)state;
        /* x = 5 is not on secp256k1 (5^3 + 7 = 132 is not a square mod p). */
        char *got = parse_fail("type = \"vrf\"\nschemaVersion = 1\nminIncomingConfirmations = 1\n"
                               "publicKey = \"0x000000000000000000000000000000000000000000000000000000000000000500\"\n"
                               "coordinatorAddress = \"0xB3b7874F13387D44a3398D298B075B7A3505D8d4\"\n"
                               VRF_PIPELINE, NULL, NULL);
        assert_true(strncmp(got, "line 4: publicKey: invalid secp256k1 public key", 47) == 0);
        assert_non_null(strstr(got, "\nline 4: publicKey: key not set\n"));
        lk_free(got);
}

static void invalid_type(void **state) {
        (void)state;
        expect_errors("schemaVersion = 1\ntype = \"bogus\"\nobservationSource = \"a [type=memo value=1]\"\n",
                      "line 2: invalid job type\n");
        expect_errors("schemaVersion = 1\nobservationSource = \"a [type=memo value=1]\"\n", "invalid job type\n");
        expect_errors("type = \"fluxmonitor\"\nschemaVersion = 1\nobservationSource = \"a [type=memo value=1]\"\n",
                      "line 1: unsupported type fluxmonitor\n");
}

static void schema_version(void **state) {
        (void)state;
        expect_errors("type = \"webhook\"\nobservationSource = \"a [type=memo value=1]\"\n", "invalid schema version\n");
        expect_errors("type = \"webhook\"\nschemaVersion = 2\nobservationSource = \"a [type=memo value=1]\"\n",
                      "line 2: invalid schema version\n");
        expect_errors("type = \"webhook\"\n\nschemaVersion = \"1\"\nobservationSource = \"a [type=memo value=1]\"\n",
                      "line 3: schemaVersion: expected integer, got string\n"
                      "line 3: invalid schema version\n");
}

static void missing_pipeline(void **state) {
        (void)state;
        expect_errors("type = \"webhook\"\nschemaVersion = 1\n", "pipeline spec not specified\n");
        expect_errors("type = \"webhook\"\nschemaVersion = 1\nobservationSource = \"\"\n", "pipeline spec not specified\n");
}

static void dot_error_line(void **state) {
        (void)state;
        /* DOT line 2 is TOML line 5: the newline after """ is dropped. */
        expect_errors("type = \"webhook\"\nschemaVersion = 1\n\nobservationSource = \"\"\"\n"
                      "a [type=memo value=1]\nb [type=nosuch]\na -> b\n\"\"\"\n",
                      "line 6: UnmarshalTaskFromMap: unknown task type: \"nosuch\" (task \"b\", line 2)\n");
        /* A line-ending backslash joins two source lines into one DOT line. */
        expect_errors("type = \"webhook\"\nschemaVersion = 1\nobservationSource = \"\"\"\n"
                      "a [type=memo \\\n   value=1]\nb [type=nosuch]\na -> b\n\"\"\"\n",
                      "line 6: UnmarshalTaskFromMap: unknown task type: \"nosuch\" (task \"b\", line 2)\n");
        /* Errors the runner's own spec parser finds are mapped too. */
        expect_errors("type = \"webhook\"\nschemaVersion = 1\nobservationSource = '''\n"
                      "a [type=memo value=1]\nb [type=memo retries=x]\na -> b\n'''\n",
                      "line 5: UnmarshalTaskFromMap: task \"b\" (line 2): retries: cannot parse \"x\" as uint32\n");
}

static void dot_cycle(void **state) {
        (void)state;
        char *got = parse_fail("type = \"webhook\"\nschemaVersion = 1\n"
                               "observationSource = \"a [type=memo value=1]; b [type=memo value=1]; a -> b -> a\"\n",
                               NULL, NULL);
        assert_true(strncmp(got, "line 3: Unable to topologically sort the graph, cycle detected", 62) == 0);
        lk_free(got);
}

static void angle_braces(void **state) {
        (void)state;
        expect_errors("type = \"webhook\"\nschemaVersion = 1\nobservationSource = \"\"\"\n"
                      "a [type=memo value=1]\nb [type=merge right=<{}>]\na -> b\n\"\"\"\n",
                      "line 5: '<{}>' syntax is not supported. Please use \"{}\" instead\n");
}

static void many_common_errors(void **state) {
        (void)state;
        size_t n;
        char *got = parse_fail("type = \"nope\"\nschemaVersion = 3\nexternalJobID = \"not-a-uuid\"\n"
                               "maxTaskDuration = \"forever\"\ngasLimit = -5\nforwardingAllowed = \"yes\"\n",
                               NULL, &n);
        assert_int_equal(n, 7);
        assert_non_null(strstr(got, "line 4: maxTaskDuration: "));
        assert_non_null(strstr(got, "line 5: gasLimit: -5 out of range for uint32\n"
                                    "line 6: forwardingAllowed: expected bool, got string\n"
                                    "line 3: invalid UUID length: 10\n"
                                    "line 1: invalid job type\n"
                                    "line 2: invalid schema version\n"
                                    "pipeline spec not specified\n"));
        lk_free(got);
}

static void bad_toml(void **state) {
        (void)state;
        const char *text = "type = \"cron\"\nschemaVersion = = 1\n";
        lk_toml_value *root = NULL;
        lk_err want = LK_ERR_INIT;
        assert_int_equal(lk_toml_parse(text, strlen(text), &root, &want), -EINVAL);
        assert_int_equal(want.line, 2);
        lk_job_spec *spec = NULL;
        lk_job_errors errors = LK_JOB_ERRORS_INIT;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_job_spec_parse(text, strlen(text), NULL, &spec, &errors, &err), -EINVAL);
        assert_null(spec);
        assert_int_equal(errors.count, 1);
        assert_string_equal(errors.items[0].message, want.msg);
        assert_int_equal(errors.items[0].line, 2);
        assert_int_equal(errors.items[0].column, want.column);
        assert_int_equal(err.column, want.column);
        lk_buf b = LK_BUF_INIT;
        lk_job_errors_format(&errors, &b);
        char *expect = lk_asprintf("line 2, column %u: %s\n", want.column, want.msg);
        assert_string_equal(lk_buf_str(&b), expect);
        lk_free(expect);
        lk_buf_done(&b);
        lk_job_errors_done(&errors);
        /* Callers may pass neither errors nor err. */
        assert_int_equal(lk_job_spec_parse(text, strlen(text), NULL, &spec, NULL, NULL), -EINVAL);
}

static void external_job_id_forms(void **state) {
        (void)state;
        const char *forms[] = {"urn:uuid:0EEC7E1D-D0D2-476C-A1A8-72DFB6633F40", "{0eec7e1d-d0d2-476c-a1a8-72dfb6633f40}",
                               "0EEC7E1DD0D2476CA1A872DFB6633F40"};
        for (size_t i = 0; i < 3; i++) {
                char *toml = lk_asprintf("type = \"webhook\"\nschemaVersion = 1\nexternalJobID = \"%s\"\n"
                                         "observationSource = \"a [type=memo value=1]\"\n", forms[i]);
                lk_job_spec *spec = parse_ok(toml, NULL);
                assert_string_equal(spec->external_job_id, "0eec7e1d-d0d2-476c-a1a8-72dfb6633f40");
                lk_job_spec_free(spec);
                lk_free(toml);
        }
        expect_errors("type = \"webhook\"\nschemaVersion = 1\nexternalJobID = \"0EEC7E1D-D0D2-476C-A1A8x72DFB6633F40\"\n"
                      "observationSource = \"a [type=memo value=1]\"\n", "line 3: invalid UUID format\n");
}

static void eip55_vectors(void **state) {
        (void)state;
        /* The examples from EIP-55 itself. */
        const char *good[] = {
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
                "0x52908400098527886E0F7030069857D2E4169EE7", "0xde709f2102306220921060314715629080e2fb77",
        };
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
                assert_true(lk_job_address_is_eip55(good[i]));
        assert_false(lk_job_address_is_eip55("0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
        assert_false(lk_job_address_is_eip55("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
        assert_false(lk_job_address_is_eip55("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
        assert_false(lk_job_address_is_eip55("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe"));
        assert_false(lk_job_address_is_eip55("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(cron_example),
                cmocka_unit_test(cron_max_concurrent_runs),
                cmocka_unit_test(generated_ids_differ),
                cmocka_unit_test(cron_named_with_id),
                cmocka_unit_test(cron_schedule_hook),
                cmocka_unit_test(cron_missing_schedule),
                cmocka_unit_test(webhook_examples),
                cmocka_unit_test(webhook_bad_initiator_spec),
                cmocka_unit_test(directrequest_examples),
                cmocka_unit_test(chain_reading_tasks_are_runnable),
                cmocka_unit_test(directrequest_optional_fields),
                cmocka_unit_test(directrequest_errors),
                cmocka_unit_test(vrf_example),
                cmocka_unit_test(vrf_defaults_and_v2),
                cmocka_unit_test(vrf_many_errors),
                cmocka_unit_test(vrf_needs_vrf_task),
                cmocka_unit_test(vrf_bad_public_key),
                cmocka_unit_test(invalid_type),
                cmocka_unit_test(schema_version),
                cmocka_unit_test(missing_pipeline),
                cmocka_unit_test(dot_error_line),
                cmocka_unit_test(dot_cycle),
                cmocka_unit_test(angle_braces),
                cmocka_unit_test(many_common_errors),
                cmocka_unit_test(bad_toml),
                cmocka_unit_test(external_job_id_forms),
                cmocka_unit_test(eip55_vectors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
