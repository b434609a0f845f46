/* Config and secrets: defaults, every kind of error with its place,
 * printing with secrets masked. */
#include "lktest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/config.h"

static int load(lk_config *cfg, const char *text, lk_err *err) {
        return lk_config_load_text(cfg, "node.toml", text, strlen(text), err);
}

static void assert_error(const char *text, const char *want_msg, uint32_t line, uint32_t column) {
        lk_config cfg;
        lk_config_init(&cfg);
        lk_err err = LK_ERR_INIT;
        assert_true(load(&cfg, text, &err) < 0);
        assert_string_equal(err.msg, want_msg);
        assert_int_equal(err.line, line);
        assert_int_equal(err.column, column);
        lk_config_done(&cfg);
}

static void defaults(void **state) {
        lk_config cfg;
        lk_config_init(&cfg);
        assert_string_equal(cfg.root_dir, "./linkd-data");
        assert_int_equal(cfg.shutdown_grace_period, 5 * LK_USEC_PER_SEC);
        assert_string_equal(cfg.web_server.listen_ip, "127.0.0.1");
        assert_int_equal(cfg.web_server.http_port, 6688);
        assert_int_equal(cfg.log.level, LK_LOG_INFO);
        assert_false(cfg.log.json_console);
        assert_int_equal(cfg.health_check.poll_interval, 15 * LK_USEC_PER_SEC);
        assert_false(cfg.auto_pprof.enabled);
        assert_int_equal(cfg.auto_pprof.poll_interval, 10 * LK_USEC_PER_SEC);
        assert_int_equal(cfg.auto_pprof.gather_trace_duration, 5 * LK_USEC_PER_SEC);
        assert_int_equal(cfg.auto_pprof.max_profile_size, 100000000);
        assert_int_equal(cfg.auto_pprof.mem_threshold, 4000000000);
        assert_int_equal(cfg.auto_pprof.goroutine_threshold, 5000);
        assert_null(cfg.auto_pprof.profile_root);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_config_finish(&cfg, &err), 0);
        assert_string_equal(cfg.auto_pprof.profile_root, "./linkd-data");
        lk_config_done(&cfg);
}

static void loads_settings(void **state) {
        lk_config cfg;
        lk_config_init(&cfg);
        lk_err err = LK_ERR_INIT;
        const char *text = "RootDir = '/var/lib/linkd'\n"
                           "ShutdownGracePeriod = '1m30s'\n"
                           "[Log]\nLevel = 'debug'\nJSONConsole = true\n"
                           "[WebServer]\nListenIP = '::1'\nHTTPPort = 0\n"
                           "[AutoPprof]\nEnabled = true\nMaxProfileSize = '1gb'\nThreadThreshold = 64\n"
                           "MemThreshold = 1048576\n";
        if (load(&cfg, text, &err) < 0)
                fail_msg("%s", err.msg);
        assert_string_equal(cfg.root_dir, "/var/lib/linkd");
        assert_int_equal(cfg.shutdown_grace_period, 90 * LK_USEC_PER_SEC);
        assert_int_equal(cfg.log.level, LK_LOG_DEBUG);
        assert_true(cfg.log.json_console);
        assert_string_equal(cfg.web_server.listen_ip, "::1");
        assert_int_equal(cfg.web_server.http_port, 0);
        assert_true(cfg.auto_pprof.enabled);
        assert_int_equal(cfg.auto_pprof.max_profile_size, 1000000000);
        assert_int_equal(cfg.auto_pprof.goroutine_threshold, 64);
        assert_int_equal(cfg.auto_pprof.mem_threshold, 1048576);
        lk_config_done(&cfg);
}

static void later_input_overrides(void **state) {
        lk_config cfg;
        lk_config_init(&cfg);
        assert_int_equal(load(&cfg, "[WebServer]\nHTTPPort = 7000\n", NULL), 0);
        assert_int_equal(load(&cfg, "[WebServer]\nHTTPPort = 7001\n", NULL), 0);
        assert_int_equal(cfg.web_server.http_port, 7001);
        lk_config_done(&cfg);
}

static void errors_name_the_place(void **state) {
        assert_error("[WebServer]\nHTTPPrt = 1\n", "node.toml:2:1: unknown key WebServer.HTTPPrt", 2, 1);
        assert_error("Foo = 1\n", "node.toml:1:1: unknown key Foo", 1, 1);
        assert_error("[Nope]\nX = 1\n", "node.toml:1:2: unknown key Nope", 1, 2);
        assert_error("[WebServer]\nHTTPPort = '6688'\n",
                     "node.toml:2:12: WebServer.HTTPPort: expected an integer, got string", 2, 12);
        assert_error("[WebServer]\nHTTPPort = 70000\n",
                     "node.toml:2:12: WebServer.HTTPPort: 70000 is out of range (0 to 65535)", 2, 12);
        assert_error("[WebServer]\nListenIP = 'localhost'\n",
                     "node.toml:2:12: WebServer.ListenIP: \"localhost\" is not an IP address", 2, 12);
        assert_error("[Log]\nLevel = 'verbose'\n",
                     "node.toml:2:9: Log.Level: unknown level \"verbose\" (use debug, info, warn, error, crit, "
                     "panic or fatal)", 2, 9);
        assert_error("ShutdownGracePeriod = '5'\n",
                     "node.toml:1:23: ShutdownGracePeriod: missing unit in duration \"5\"", 1, 23);
        assert_error("ShutdownGracePeriod = 5\n",
                     "node.toml:1:23: ShutdownGracePeriod: expected a duration string such as '10s', got integer", 1, 23);
        assert_error("[AutoPprof]\nMaxProfileSize = '12parsecs'\n",
                     "node.toml:2:18: AutoPprof.MaxProfileSize: invalid size \"12parsecs\": unknown unit \"parsecs\" "
                     "(use b, kb, mb, gb or tb)", 2, 18);
        assert_error("[AutoPprof]\nGoroutineThreshold = 10\nThreadThreshold = 20\n",
                     "node.toml:3:1: AutoPprof.ThreadThreshold: GoroutineThreshold and ThreadThreshold are the "
                     "same setting; give only one", 3, 1);
        assert_error("Log = 'info'\n", "node.toml:1:1: Log must be a table, not string", 1, 1);
        assert_error("[HealthCheck]\nPollInterval = '0s'\n",
                     "node.toml:2:16: HealthCheck.PollInterval: 0s is out of range (1ms to 24h0m0s)", 2, 16);
}

static void nested_sections_and_choices(void **state) {
        lk_config cfg;
        lk_config_init(&cfg);
        lk_err err = LK_ERR_INIT;
        const char *text = "[Database]\nMaxOpenConns = 4\nMaxIdleConns = 2\n[Database.Lock]\nMode = 'advisory'\n"
                           "LeaseDuration = '20s'\n";
        if (load(&cfg, text, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(cfg.database.max_open_conns, 4);
        assert_string_equal(cfg.database.lock.mode, "advisory");
        assert_int_equal(cfg.database.lock.lease_duration, 20 * LK_USEC_PER_SEC);
        assert_int_equal(lk_config_finish(&cfg, &err), 0);
        lk_config_done(&cfg);
        /* The same written as a dotted table inside [Database]. */
        lk_config_init(&cfg);
        assert_int_equal(load(&cfg, "[Database]\nLock.Mode = 'none'\n", &err), 0);
        assert_string_equal(cfg.database.lock.mode, "none");
        lk_config_done(&cfg);
        assert_error("[Database.Lock]\nMode = 'dual'\n",
                     "node.toml:2:8: Database.Lock.Mode: \"dual\" is not one of 'lease', 'advisory', 'none'", 2, 8);
        assert_error("[Database.Lock]\nMood = 'lease'\n", "node.toml:2:1: unknown key Database.Lock.Mood", 2, 1);
        assert_error("[Database]\nLock = 1\n", "node.toml:2:1: Database.Lock must be a table, not integer", 2, 1);
        lk_config_init(&cfg);
        assert_int_equal(load(&cfg, "[Database.Lock]\nLeaseRefreshInterval = '6s'\n", NULL), 0);
        assert_int_equal(lk_config_finish(&cfg, &err), -EINVAL);
        assert_string_equal(err.msg, "Database.Lock.LeaseRefreshInterval must be at most half of "
                                     "Database.Lock.LeaseDuration");
        lk_config_done(&cfg);
}

static void toml_syntax_errors_carry_position(void **state) {
        lk_config cfg;
        lk_config_init(&cfg);
        lk_err err = LK_ERR_INIT;
        assert_true(load(&cfg, "[Log]\nLevel = 'info\n", &err) < 0);
        assert_int_equal(err.line, 2);
        assert_true(strncmp(err.msg, "node.toml:2:", 12) == 0);
        lk_config_done(&cfg);
}

static void missing_file(void **state) {
        lk_config cfg;
        lk_config_init(&cfg);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_config_load_file(&cfg, "/nonexistent/linkd.toml", &err), -ENOENT);
        assert_string_equal(err.msg, "/nonexistent/linkd.toml: No such file or directory");
        lk_config_done(&cfg);
}

static void effective_and_input_output(void **state) {
        lk_config cfg;
        lk_config_init(&cfg);
        assert_int_equal(load(&cfg, "[WebServer]\nHTTPPort = 7000\n[AutoPprof]\nThreadThreshold = 8\n", NULL), 0);
        lk_buf out = LK_BUF_INIT;
        lk_config_format(&cfg, true, &out);
        assert_string_equal(lk_buf_str(&out), "[WebServer]\nHTTPPort = 7000\n\n[AutoPprof]\nGoroutineThreshold = 8\n");
        lk_buf_reset(&out);
        assert_int_equal(lk_config_finish(&cfg, NULL), 0);
        lk_config_format(&cfg, false, &out);
        const char *want = "RootDir = './linkd-data'\n"
                           "ShutdownGracePeriod = '5s'\n\n"
                           "[Log]\nLevel = 'info'\nJSONConsole = false\n\n"
                           "[WebServer]\nListenIP = '127.0.0.1'\nHTTPPort = 7000\nHTTPMaxSize = '32.77kb'\n"
                           "SessionTimeout = '15m0s'\nBridgeCacheTTL = '0s'\n\n"
                           "[JobPipeline]\nMaxRunDuration = '10m0s'\nMaxSuccessfulRuns = 10000\nReaperInterval = '1h0m0s'\n"
                           "ReaperThreshold = '24h0m0s'\nExternalInitiatorsEnabled = false\nWorkerThreads = 0\n\n"
                           "[JobPipeline.HTTPRequest]\nDefaultTimeout = '15s'\nMaxSize = '32.77kb'\n\n"
                           "[HealthCheck]\nPollInterval = '15s'\n\n"
                           "[Database]\nDefaultIdleInTxSessionTimeout = '1h0m0s'\nDefaultLockTimeout = '15s'\n"
                           "DefaultQueryTimeout = '10s'\nLogQueries = false\nMaxIdleConns = 10\nMaxOpenConns = 20\n"
                           "MigrateOnStartup = true\nSQLiteSynchronous = 'full'\n\n"
                           "[Database.Lock]\nMode = 'lease'\nLeaseDuration = '10s'\nLeaseRefreshInterval = '1s'\n"
                           "AdvisoryID = 1027321974924625846\nAdvisoryCheckInterval = '1s'\n\n"
                           "[AutoPprof]\nEnabled = false\nProfileRoot = './linkd-data'\nPollInterval = '10s'\n"
                           "GatherDuration = '10s'\nGatherTraceDuration = '5s'\nMaxProfileSize = '100.00mb'\n"
                           "CPUProfileRate = 1\nMemProfileRate = 1\nBlockProfileRate = 1\nMutexProfileFraction = 1\n"
                           "MemThreshold = '4.00gb'\nGoroutineThreshold = 8\n";
        assert_string_equal(lk_buf_str(&out), want);
        lk_buf_done(&out);

        /* The printed effective config reads back to the same config. */
        lk_config again;
        lk_config_init(&again);
        lk_err err = LK_ERR_INIT;
        if (lk_config_load_text(&again, "effective", want, strlen(want), &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(again.web_server.http_port, 7000);
        assert_int_equal(again.auto_pprof.max_profile_size, 100000000);
        lk_config_done(&again);
        lk_config_done(&cfg);
}

static void secrets_are_masked(void **state) {
        lk_secrets s;
        lk_secrets_init(&s);
        lk_err err = LK_ERR_INIT;
        const char *text = "[Database]\nURL = 'postgresql://linkd:hunter2@db:5432/linkd'\n[Password]\nKeystore = 'hunter2'\n";
        if (lk_secrets_load_text(&s, "secrets.toml", text, strlen(text), &err) < 0)
                fail_msg("%s", err.msg);
        assert_string_equal(s.database.url, "postgresql://linkd:hunter2@db:5432/linkd");
        lk_buf out = LK_BUF_INIT;
        lk_secrets_format_masked(&s, &out);
        assert_string_equal(lk_buf_str(&out), "[Database]\nURL = 'xxxxx'\n\n[Password]\nKeystore = 'xxxxx'\n");
        assert_null(strstr(lk_buf_str(&out), "hunter2"));
        lk_buf_done(&out);
        assert_true(lk_secrets_load_text(&s, "secrets.toml", "[Database]\nURI = 'x'\n", 21, &err) < 0);
        assert_string_equal(err.msg, "secrets.toml:2:1: unknown key Database.URI");
        lk_secrets_done(&s);
}

static void home_is_expanded(void **state) {
        lk_config cfg;
        lk_config_init(&cfg);
        assert_int_equal(load(&cfg, "RootDir = '~/.linkd'\n", NULL), 0);
        setenv("HOME", "/home/operator", 1);
        assert_int_equal(lk_config_finish(&cfg, NULL), 0);
        assert_string_equal(cfg.root_dir, "/home/operator/.linkd");
        assert_string_equal(cfg.auto_pprof.profile_root, "/home/operator/.linkd");
        lk_config_done(&cfg);
}

static const char two_chains[] =
        "[[EVM]]\n"
        "ChainID = '1'\n"
        "FinalityDepth = 64\n"
        "[EVM.GasEstimator]\n"
        "PriceMax = '1.5 gwei'\n"
        "PriceDefault = 1000\n"
        "[[EVM.Nodes]]\n"
        "Name = 'primary'\n"
        "WSURL = 'wss://mainnet.example.com/v3/SECRETKEY'\n"
        "HTTPURL = 'https://user:SECRETPASS@mainnet.example.com/v3/SECRETKEY'\n"
        "[[EVM.Nodes]]\n"
        "Name = 'backup'\n"
        "HTTPURL = 'http://127.0.0.1:8545'\n"
        "SendOnly = true\n"
        "[[EVM]]\n"
        "ChainID = 1337\n"
        "[EVM.GasEstimator]\n"
        "Mode = 'FixedPrice'\n"
        "[[EVM.Nodes]]\n"
        "Name = 'ganache'\n"
        "WSURL = 'ws://127.0.0.1:8545'\n";

static void evm_chains_and_nodes(void **state) {
        (void)state;
        lk_config cfg;
        lk_config_init(&cfg);
        lk_err err = LK_ERR_INIT;
        if (load(&cfg, two_chains, &err) < 0 || lk_config_finish(&cfg, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(cfg.evm_count, 2);
        const lk_evm_chain_config *a = &cfg.evm[0], *b = &cfg.evm[1];
        assert_int_equal(a->chain_id, 1);
        assert_int_equal(a->finality_depth, 64);
        assert_int_equal(a->gas_estimator.price_max, 1500000000);
        assert_int_equal(a->gas_estimator.price_default, 1000);
        assert_int_equal(a->node_count, 2);
        assert_string_equal(a->nodes[0].name, "primary");
        assert_true(a->nodes[1].send_only);
        assert_null(a->nodes[1].ws_url);
        /* defaults: Chainlink's */
        assert_int_equal(b->chain_id, 1337);
        assert_true(b->enabled);
        assert_int_equal(b->finality_depth, 50);
        assert_int_equal(b->min_incoming_confirmations, 3);
        assert_string_equal(b->gas_estimator.mode, "FixedPrice");
        assert_int_equal(b->gas_estimator.limit_default, 500000);
        assert_int_equal(b->gas_estimator.price_default, 20000000000);
        assert_int_equal(b->gas_estimator.bump_percent, 20);
        assert_int_equal(b->gas_estimator.bump_threshold, 3);
        assert_false(b->gas_estimator.eip1559_dynamic_fees);
        assert_int_equal(b->gas_estimator.tip_cap_default, 1);
        assert_int_equal(b->gas_estimator.fee_cap_default, 100000000000LL);
        assert_int_equal(b->head_tracker.history_depth, 100);
        /* printed with the URLs cut to scheme and host */
        lk_buf out = LK_BUF_INIT;
        lk_config_format(&cfg, true, &out);
        const char *text = lk_buf_str(&out);
        assert_non_null(strstr(text, "[[EVM]]\nChainID = '1'\n"));
        assert_non_null(strstr(text, "[[EVM.Nodes]]\nName = 'primary'\nWSURL = 'wss://mainnet.example.com/…'\n"));
        assert_non_null(strstr(text, "HTTPURL = 'https://mainnet.example.com/…'"));
        assert_non_null(strstr(text, "[EVM.GasEstimator]\nPriceDefault = '1000 wei'\nPriceMax = '1500000000 wei'\n"));
        assert_null(strstr(text, "SECRET"));
        /* and it reads back */
        lk_config again;
        lk_config_init(&again);
        assert_int_equal(load(&again, text, &err), 0);
        assert_int_equal(again.evm_count, 2);
        assert_int_equal(again.evm[0].node_count, 2);
        assert_int_equal(again.evm[0].gas_estimator.price_max, 1500000000);
        lk_config_done(&again);
        lk_buf_done(&out);
        lk_config_done(&cfg);
}

static void evm_errors(void **state) {
        (void)state;
        assert_error("[[EVM]]\nChainID = 1\nChainId = 2\n", "node.toml:3:1: unknown key ChainId", 3, 1);
        assert_error("[EVM]\nChainID = 1\n", "node.toml:1:2: EVM must be an array of tables ([[EVM]]), not table", 1, 2);
        assert_error("[[EVM]]\nChainID = '-1'\n", "node.toml:2:11: ChainID: \"-1\" is not a decimal integer", 2, 11);
        assert_error("[[EVM]]\n[EVM.GasEstimator]\nPriceMax = '1 gwie'\n",
                     "node.toml:3:12: GasEstimator.PriceMax: \"1 gwie\": unknown unit (wei, kwei, mwei, gwei, micro, milli, "
                     "eth)",
                     3, 12);
        assert_error("[[EVM]]\n[EVM.GasEstimator]\nPriceMax = '0.5 wei'\n",
                     "node.toml:3:12: GasEstimator.PriceMax: \"0.5 wei\" is finer than one wei", 3, 12);
        assert_error("[[EVM]]\n[[EVM.Nodes]]\nName = 'a'\nWSURL = 'http://x'\n",
                     "node.toml:4:9: WSURL: not a ws|wss URL", 4, 9);
        static const struct {
                const char *text, *want;
        } finish[] = {
                {"[[EVM]]\nFinalityDepth = 1\n", "EVM[0]: ChainID is missing"},
                {"[[EVM]]\nChainID = 1\n", "EVM[0] (chain 1): at least one [[EVM.Nodes]] is needed"},
                {"[[EVM]]\nChainID = 1\n[[EVM.Nodes]]\nName = 'a'\nWSURL = 'ws://x'\n[[EVM]]\nChainID = '1'\n",
                 "EVM[1]: ChainID 1 is also EVM[0]'s"},
                {"[[EVM]]\nChainID = 1\n[[EVM.Nodes]]\nName = 'a'\n", "EVM[0].Nodes[0] (a): WSURL or HTTPURL is needed"},
                {"[[EVM]]\nChainID = 1\n[[EVM.Nodes]]\nName = 'a'\nWSURL = 'ws://x'\nSendOnly = true\n",
                 "EVM[0].Nodes[0] (a): a SendOnly node needs HTTPURL"},
                {"[[EVM]]\nChainID = 1\n[[EVM.Nodes]]\nName = 'a'\nWSURL = 'ws://x'\n[[EVM.Nodes]]\nName = 'a'\n"
                 "WSURL = 'ws://y'\n",
                 "EVM[0].Nodes[1]: Name a is also Nodes[0]'s"},
                {"[[EVM]]\nChainID = 1\n[EVM.GasEstimator]\nEIP1559DynamicFees = true\nTipCapDefault = '2 gwei'\n"
                 "FeeCapDefault = '1 gwei'\n[[EVM.Nodes]]\nName = 'a'\nWSURL = 'ws://x'\n",
                 "EVM[0] (chain 1): GasEstimator.TipCapDefault exceeds FeeCapDefault"},
                {"[[EVM]]\nChainID = 1\nEnabled = false\n", NULL},
        };
        for (size_t i = 0; i < sizeof finish / sizeof *finish; i++) {
                lk_config cfg;
                lk_config_init(&cfg);
                lk_err err = LK_ERR_INIT;
                assert_int_equal(load(&cfg, finish[i].text, &err), 0);
                int r = lk_config_finish(&cfg, &err);
                if (finish[i].want) {
                        assert_int_equal(r, -EINVAL);
                        assert_string_equal(err.msg, finish[i].want);
                } else {
                        assert_int_equal(r, 0);
                }
                lk_config_done(&cfg);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(defaults),
                cmocka_unit_test(loads_settings),
                cmocka_unit_test(later_input_overrides),
                cmocka_unit_test(errors_name_the_place),
                cmocka_unit_test(nested_sections_and_choices),
                cmocka_unit_test(toml_syntax_errors_carry_position),
                cmocka_unit_test(missing_file),
                cmocka_unit_test(effective_and_input_output),
                cmocka_unit_test(secrets_are_masked),
                cmocka_unit_test(home_is_expanded),
                cmocka_unit_test(evm_chains_and_nodes),
                cmocka_unit_test(evm_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
