/* See ganache.h. */
#include "ganache.h"

#include "lktest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linkd/rpc.h"
#include "linkd/tx.h"

extern char **environ;

static unsigned free_port(void) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
                fail_msg("free port: %s", strerror(errno));
        close(fd);
        return ntohs(a.sin_port);
}

static void spawn(lktest_ganache *g, const char *cli) {
        snprintf(g->url, sizeof g->url, "http://127.0.0.1:%u", g->port);
        char port[16], chain[16];
        snprintf(port, sizeof port, "%u", g->port);
        snprintf(chain, sizeof chain, "%u", g->chain_id ? g->chain_id : LKTEST_GANACHE_CHAIN_ID);
        char *argv[] = {"node", (char *)cli, "--server.host", "127.0.0.1", "--server.port", port, "--chain.chainId",
                        chain, "--wallet.deterministic", "--logging.quiet", "--miner.instamine",
                        g->strict ? "strict" : "eager", NULL};
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        int r = posix_spawnp(&g->pid, "node", &actions, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        if (r != 0)
                fail_msg("cannot start ganache (node %s): %s", cli, strerror(r));
}

/* Waits for an answer on g's port from g's own process: between
 * free_port's close and ganache's bind another test's ganache may take
 * the port, and then ours exits and the answer would be the other's. */
static bool answered_by_ours(lktest_ganache *g, lk_err *err) {
        lk_rpc *rpc = NULL;
        lk_rpc_new(&(lk_rpc_options){.name = "ganache", .url = g->url, .timeout = LK_USEC_PER_SEC}, &rpc, NULL);
        bool ours = false;
        int status;
        for (int i = 0; i < 600; i++) {
                if (waitpid(g->pid, &status, WNOHANG) == g->pid) {
                        g->pid = 0;
                        lk_err_set(err, -EADDRINUSE, "ganache exited before answering");
                        break;
                }
                if (lk_rpc_check_chain_id(rpc, g->chain_id ? g->chain_id : LKTEST_GANACHE_CHAIN_ID, NULL, err) == 0 &&
                    waitpid(g->pid, &status, WNOHANG) == 0) {
                        ours = true;
                        break;
                }
                usleep(50 * 1000);
        }
        lk_rpc_free(rpc);
        return ours;
}

void lktest_ganache_start(lktest_ganache *g) {
        const char *cli = lktest_env("LINKD_GANACHE");
        bool port_is_ours = !g->port;
        lk_err err = LK_ERR_INIT;
        for (int attempt = 0; attempt < 5; attempt++) {
                if (port_is_ours)
                        g->port = free_port();
                spawn(g, cli);
                if (answered_by_ours(g, &err))
                        return;
                lktest_ganache_stop(g);
                if (!port_is_ours)
                        break;
        }
        fail_msg("ganache did not answer on port %u: %s", g->port, err.msg);
}

void lktest_ganache_stop(lktest_ganache *g) {
        if (g->pid <= 0)
                return;
        kill(g->pid, SIGTERM);
        int status;
        for (int i = 0; i < 100 && waitpid(g->pid, &status, WNOHANG) == 0; i++)
                usleep(50 * 1000);
        if (waitpid(g->pid, &status, WNOHANG) == 0) {
                kill(g->pid, SIGKILL);
                waitpid(g->pid, &status, 0);
        }
        g->pid = 0;
}

uint64_t lktest_rpc_quantity(lk_rpc *rpc, const char *method, json_t *params) {
        json_t *result = NULL;
        uint64_t v = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_call(rpc, method, params, &result, &err) < 0 || lk_rpc_quantity(result, &v, &err) < 0)
                fail_msg("%s: %s", method, err.msg);
        json_decref(result);
        return v;
}

/* Signs tx with ganache's first key, sends it and returns its receipt. */
static json_t *send_and_mine(lk_rpc *rpc, lk_tx *tx) {
        uint8_t secret[32];
        lk_eth_key key;
        lktest_unhex(LKTEST_GANACHE_KEY0, secret, 32);
        if (lk_eth_key_from_secret(&key, secret, NULL) < 0)
                fail_msg("ganache's key");
        tx->type = LK_TX_DYNAMIC_FEE;
        tx->chain_id = LKTEST_GANACHE_CHAIN_ID;
        lktest_unhex("3b9aca00", tx->max_priority_fee_per_gas, 32);
        lktest_unhex("4a817c800", tx->max_fee_per_gas, 32);
        tx->nonce = lktest_rpc_quantity(rpc, "eth_getTransactionCount", json_pack("[os]", lk_rpc_hex(key.address, 20), "pending"));
        lk_buf raw = LK_BUF_INIT;
        uint8_t hash[32];
        lk_err err = LK_ERR_INIT;
        json_t *sent = NULL, *receipt = NULL;
        if (lk_tx_sign(tx, &key, &raw, hash, &err) < 0 ||
            lk_rpc_call(rpc, "eth_sendRawTransaction", json_pack("[o]", lk_rpc_hex((const uint8_t *)raw.data, raw.len)),
                        &sent, &err) < 0 ||
            lk_rpc_call(rpc, "eth_getTransactionReceipt", json_pack("[o]", lk_rpc_hex(hash, 32)), &receipt, &err) < 0)
                fail_msg("%s", err.msg);
        json_decref(sent);
        lk_buf_done(&raw);
        return receipt;
}

void lktest_ganache_deploy(lk_rpc *rpc, const uint8_t *runtime, size_t len, uint8_t ret_address[static 20]) {
        /* PUSH1 len PUSH1 12 PUSH1 0 CODECOPY PUSH1 len PUSH1 0 RETURN: the
         * runtime code after these 12 bytes */
        if (len > 255)
                fail_msg("deploy: runtime code of %zu bytes", len);
        uint8_t code[12 + 255] = {0x60, (uint8_t)len, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, (uint8_t)len, 0x60, 0x00, 0xf3};
        memcpy(code + 12, runtime, len);
        lk_tx deploy = {.gas_limit = 200000, .data = code, .data_len = 12 + len};
        json_t *receipt = send_and_mine(rpc, &deploy);
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_data(json_object_get(receipt, "contractAddress"), ret_address, 20, &err) < 0)
                fail_msg("deploy: %s", err.msg);
        json_decref(receipt);
}

void lktest_ganache_deploy_logger(lk_rpc *rpc, uint8_t ret_address[static 20]) {
        /* PUSH1 0 CALLDATALOAD PUSH1 0 PUSH1 0 LOG1 STOP */
        static const uint8_t logger[] = {0x60, 0x00, 0x35, 0x60, 0x00, 0x60, 0x00, 0xa1, 0x00};
        lktest_ganache_deploy(rpc, logger, sizeof logger, ret_address);
}

uint64_t lktest_ganache_emit(lk_rpc *rpc, const uint8_t logger[static 20], const uint8_t topic[static 32]) {
        lk_tx call = {.gas_limit = 50000, .has_to = true, .data = topic, .data_len = 32};
        memcpy(call.to, logger, 20);
        json_t *receipt = send_and_mine(rpc, &call);
        uint64_t block = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_quantity(json_object_get(receipt, "blockNumber"), &block, &err) < 0)
                fail_msg("emit: %s", err.msg);
        json_decref(receipt);
        return block;
}

void lktest_ganache_mine(lk_rpc *rpc, int count, int64_t timestamp) {
        for (int i = 0; i < count; i++) {
                json_t *result = NULL;
                lk_err err = LK_ERR_INIT;
                if (lk_rpc_call(rpc, "evm_mine", timestamp ? json_pack("[I]", (json_int_t)(timestamp + i)) : NULL,
                                &result, &err) < 0)
                        fail_msg("evm_mine: %s", err.msg);
                json_decref(result);
        }
}

lk_rpc_pool *lktest_pool_of(const char *name, const char *url, int64_t chain_id, lk_usec timeout) {
        lk_rpc_pool_node node = {.name = name, .http_url = url};
        lk_rpc_pool *pool = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_pool_new(&(lk_rpc_pool_options){.chain_id = chain_id, .nodes = &node, .node_count = 1,
                                                   .timeout = timeout},
                            &pool, &err) < 0)
                fail_msg("%s", err.msg);
        return pool;
}
