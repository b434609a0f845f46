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

void lktest_ganache_start(lktest_ganache *g) {
        const char *cli = lktest_env("LINKD_GANACHE");
        if (!g->port)
                g->port = free_port();
        snprintf(g->url, sizeof g->url, "http://127.0.0.1:%u", g->port);
        char port[16], chain[16];
        snprintf(port, sizeof port, "%u", g->port);
        snprintf(chain, sizeof chain, "%u", g->chain_id ? g->chain_id : LKTEST_GANACHE_CHAIN_ID);
        char *argv[] = {"node", (char *)cli, "--server.host", "127.0.0.1", "--server.port", port, "--chain.chainId",
                        chain, "--wallet.deterministic", "--logging.quiet", NULL};
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        int r = posix_spawnp(&g->pid, "node", &actions, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        if (r != 0)
                fail_msg("cannot start ganache (node %s): %s", cli, strerror(r));
        lk_rpc *rpc = NULL;
        lk_rpc_new(&(lk_rpc_options){.name = "ganache", .url = g->url, .timeout = LK_USEC_PER_SEC}, &rpc, NULL);
        lk_err err = LK_ERR_INIT;
        for (int i = 0; i < 600; i++) {
                if (lk_rpc_check_chain_id(rpc, g->chain_id ? g->chain_id : LKTEST_GANACHE_CHAIN_ID, NULL, &err) == 0) {
                        lk_rpc_free(rpc);
                        return;
                }
                usleep(50 * 1000);
        }
        lk_rpc_free(rpc);
        lktest_ganache_stop(g);
        fail_msg("ganache did not answer within 30 s: %s", err.msg);
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
