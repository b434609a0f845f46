/* linkd txs evm create: ether sent from one of the node's keys, through
 * POST /v2/transfers, as Chainlink's `txs evm create`. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "linkd/alloc.h"

static const char txs_usage[] =
        "usage: linkd txs evm create AMOUNT FROM TO [--id CHAIN_ID] [--force] [--idempotency-key KEY]\n"
        "AMOUNT is in ether (\"0.01\").  --force sends even when FROM holds less than AMOUNT.\n"
        "Under --idempotency-key a command repeated (after a timeout, say) gets the\n"
        "transaction the first one enqueued, never a second one.  Every command takes\n"
        "--json (print the API's document) and --remote-node-url URL.\n";

static int txs_create(int argc, char **argv) {
        const char *chain = NULL, *key = NULL;
        bool force = false;
        const lk__client_option opts[] = {
                {"id", &chain, NULL},
                {"idempotency-key", &key, NULL},
                {"force", NULL, &force},
                {NULL, NULL, NULL},
        };
        lk__client c;
        int status = lk__client_init(&c, argc, argv, opts, 3, 3, txs_usage);
        if (status != LK_EXIT_OK)
                return status;
        lk_buf body = LK_BUF_INIT;
        lk_buf_putc(&body, '{');
        lk__client_put_member(&body, "amount", c.args[0]);
        lk__client_put_member(&body, "from", c.args[1]);
        lk__client_put_member(&body, "address", c.args[2]);
        if (chain)
                lk__client_put_member(&body, "evmChainID", chain);
        if (key)
                lk__client_put_member(&body, "idempotencyKey", key);
        lk_buf_printf(&body, ",\"allowHigherAmounts\":%s}", force ? "true" : "false");
        lk__reply reply = LK__REPLY_INIT;
        status = lk__client_request(&c, "POST", "/v2/transfers", lk_buf_str(&body), &reply);
        if (status == LK_EXIT_OK && !lk__client_print_json(&c, &reply)) {
                static const char *const labels[] = {"ID", "State", "Chain", "From", "To", "Value (wei)", "Nonce",
                                                     "Hash", NULL};
                static const char *const paths[] = {"data.id", "data.attributes.state", "data.attributes.evmChainID",
                                                    "data.attributes.from", "data.attributes.to",
                                                    "data.attributes.value", "data.attributes.nonce",
                                                    "data.attributes.hash", NULL};
                lk__print_fields(reply.doc, labels, paths);
        }
        lk__reply_done(&reply);
        lk_buf_done(&body);
        lk__client_done(&c);
        return status;
}

int lk_cmd_txs(int argc, char **argv) {
        if (argc >= 3 && strcmp(argv[1], "evm") == 0 && strcmp(argv[2], "create") == 0)
                return txs_create(argc - 2, argv + 2);
        fputs(txs_usage, argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return LK_EXIT_USAGE;
}
