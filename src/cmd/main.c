/* linkd: the command-line entry point. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "version.h"

static const char usage[] =
        "usage: linkd <command> [arguments]\n"
        "\n"
        "commands:\n"
        "  node start [--config FILE]... [--secrets FILE] [--api FILE]\n"
        "                                                   run the node\n"
        "  node validate [--config FILE]... [--secrets FILE]\n"
        "                                                   print the effective configuration\n"
        "  db migrate|status|rollback [--config FILE]... [--secrets FILE]\n"
        "                                                   manage the database schema\n"
        "  pipeline run [--vars JSON] [--config FILE]... FILE|-\n"
        "                                                   run a DOT pipeline once, print the result as JSON\n"
        "  cron next SCHEDULE [--from TIME] [--count N]     print when a cron schedule fires next\n"
        "  keys vrf|eth create|list|export|import ...       the node's VRF and Ethereum keys (linkd keys)\n"
        "  vrf prove --key-file FILE --seed N [--block-hash H] | verify FILE\n"
        "                                                   a VRF proof as VRFCoordinatorV2 takes it\n"
        "  schnorr sign --key-file FILE --msg 0x...         a signature SchnorrSECP256K1.sol accepts\n"
        "  admin login [--file FILE] | logout               open or end a session with a node's API\n"
        "  admin users create --file FILE [--role R] | list\n"
        "                                                   add or list the node's users\n"
        "  jobs create|list|show|delete|run ...             manage a node's jobs (linkd jobs for more)\n"
        "  runs list [--job ID] | show ID                   a node's pipeline runs\n"
        "  bridges create|list|delete ...                   a node's bridges\n"
        "  initiators create|list|delete ...                a node's external initiators\n"
        "  txs evm create AMOUNT FROM TO [--id N]           send ether from one of the node's keys\n"
        "  node health [--failing]                          a node's health checks\n"
        "      (these take --json and --remote-node-url URL, default $LINKD_REMOTE_NODE_URL\n"
        "       or the node logged in to, else http://127.0.0.1:6688)\n"
        "  version                                          print the version\n"
        "  help                                             print this help\n";

int main(int argc, char **argv) {
        if (argc < 2) {
                fputs(usage, stderr);
                return LK_EXIT_USAGE;
        }
        const char *command = argv[1];
        if (strcmp(command, "node") == 0 || strcmp(command, "n") == 0)
                return lk_cmd_node(argc - 1, argv + 1);
        if (strcmp(command, "db") == 0)
                return lk_cmd_db(argc - 1, argv + 1);
        if (strcmp(command, "pipeline") == 0)
                return lk_cmd_pipeline(argc - 1, argv + 1);
        if (strcmp(command, "cron") == 0)
                return lk_cmd_cron(argc - 1, argv + 1);
        if (strcmp(command, "admin") == 0)
                return lk_cmd_admin(argc - 1, argv + 1);
        if (strcmp(command, "jobs") == 0 || strcmp(command, "j") == 0)
                return lk_cmd_jobs(argc - 1, argv + 1);
        if (strcmp(command, "runs") == 0)
                return lk_cmd_runs(argc - 1, argv + 1);
        if (strcmp(command, "bridges") == 0)
                return lk_cmd_bridges(argc - 1, argv + 1);
        if (strcmp(command, "txs") == 0)
                return lk_cmd_txs(argc - 1, argv + 1);
        if (strcmp(command, "initiators") == 0)
                return lk_cmd_initiators(argc - 1, argv + 1);
        if (strcmp(command, "keys") == 0)
                return lk_cmd_keys(argc - 1, argv + 1);
        if (strcmp(command, "vrf") == 0)
                return lk_cmd_vrf(argc - 1, argv + 1);
        if (strcmp(command, "schnorr") == 0)
                return lk_cmd_schnorr(argc - 1, argv + 1);
        if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
                printf("linkd %s (commit %s)\n", LK_VERSION, LK_COMMIT);
                return LK_EXIT_OK;
        }
        if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
                fputs(usage, stdout);
                return LK_EXIT_OK;
        }
        fprintf(stderr, "linkd: unknown command \"%s\"\n\n%s", command, usage);
        return LK_EXIT_USAGE;
}
