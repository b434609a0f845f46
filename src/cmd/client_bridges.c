/* linkd bridges ... and linkd initiators ...: bridges and external
 * initiators on a running node, through /v2/bridge_types and
 * /v2/external_initiators. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "linkd/alloc.h"

static const char bridges_usage[] =
        "usage: linkd bridges create NAME URL [--confirmations N] [--minimum-contract-payment N]\n"
        "       linkd bridges list\n"
        "       linkd bridges delete NAME\n"
        "Every command takes --json (print the API's document) and\n"
        "--remote-node-url URL.  create prints the bridge's incoming token once.\n";

static const char initiators_usage[] =
        "usage: linkd initiators create NAME [URL]\n"
        "       linkd initiators list\n"
        "       linkd initiators delete NAME\n"
        "Every command takes --json (print the API's document) and\n"
        "--remote-node-url URL.  create prints the access key and secrets once.\n";

/* Chainlink's uint32 confirmations, 0 allowed. */
static int parse_count(const char *text, unsigned long long *ret) {
        size_t len = strlen(text);
        if (len == 0 || len > 10 || strspn(text, "0123456789") != len || strtoull(text, NULL, 10) > UINT32_MAX) {
                fprintf(stderr, "linkd: --confirmations: want an integer from 0 to 4294967295, got \"%s\"\n", text);
                return -1;
        }
        *ret = strtoull(text, NULL, 10);
        return 0;
}

/* POSTs body to path and prints the fields of the answer, or the
 * document with --json. */
static int create(lk__client *c, const char *path, const lk_buf *body, const char *const *labels,
                  const char *const *paths, const char *note) {
        lk__reply reply = LK__REPLY_INIT;
        int status = lk__client_request(c, "POST", path, lk_buf_str(body), &reply);
        if (status == LK_EXIT_OK && !lk__client_print_json(c, &reply)) {
                lk__print_fields(reply.doc, labels, paths);
                printf("\n%s\n", note);
        }
        lk__reply_done(&reply);
        return status;
}

static int bridges_create(int argc, char **argv) {
        const char *confirmations = NULL, *payment = NULL;
        const lk__client_option opts[] = {
                {"confirmations", &confirmations, NULL},
                {"minimum-contract-payment", &payment, NULL},
                {NULL, NULL, NULL},
        };
        lk__client c;
        int status = lk__client_init(&c, argc, argv, opts, 2, 2, bridges_usage);
        if (status != LK_EXIT_OK)
                return status;
        lk_buf body = LK_BUF_INIT;
        lk_buf_putc(&body, '{');
        lk__client_put_member(&body, "name", c.args[0]);
        lk__client_put_member(&body, "url", c.args[1]);
        if (payment)
                lk__client_put_member(&body, "minimumContractPayment", payment);
        unsigned long long n = 0;
        if (confirmations && parse_count(confirmations, &n) < 0)
                status = LK_EXIT_USAGE;
        if (confirmations)
                lk_buf_printf(&body, ",\"confirmations\":%llu", n);
        lk_buf_putc(&body, '}');
        static const char *const labels[] = {"Name", "URL", "Confirmations", "Minimum contract payment",
                                             "Incoming token", NULL};
        static const char *const paths[] = {"data.attributes.name", "data.attributes.url",
                                            "data.attributes.confirmations", "data.attributes.minimumContractPayment",
                                            "data.attributes.incomingToken", NULL};
        if (status == LK_EXIT_OK)
                status = create(&c, "/v2/bridge_types", &body, labels, paths,
                                "The incoming token will not be shown again: keep it now.");
        lk_buf_done(&body);
        lk__client_done(&c);
        return status;
}

static int initiators_create(int argc, char **argv) {
        lk__client c;
        int status = lk__client_init(&c, argc, argv, NULL, 1, 2, initiators_usage);
        if (status != LK_EXIT_OK)
                return status;
        lk_buf body = LK_BUF_INIT;
        lk_buf_putc(&body, '{');
        lk__client_put_member(&body, "name", c.args[0]);
        if (c.nargs > 1)
                lk__client_put_member(&body, "url", c.args[1]);
        lk_buf_putc(&body, '}');
        static const char *const labels[] = {"Name", "URL", "Access key", "Secret", "Outgoing token",
                                             "Outgoing secret", NULL};
        static const char *const paths[] = {"data.attributes.name", "data.attributes.url",
                                            "data.attributes.incomingAccessKey", "data.attributes.incomingSecret",
                                            "data.attributes.outgoingToken", "data.attributes.outgoingSecret", NULL};
        status = create(&c, "/v2/external_initiators", &body, labels, paths,
                        "The secrets will not be shown again: keep them now.");
        lk_buf_done(&body);
        lk__client_done(&c);
        return status;
}

/* "list" with no arguments but the common ones. */
static int list(int argc, char **argv, const char *usage, const char *path, const char *const *header,
                const char *const *paths) {
        lk__client c;
        int status = lk__client_init(&c, argc, argv, NULL, 0, 0, usage);
        if (status == LK_EXIT_OK)
                status = lk__client_list(&c, path, header, paths);
        lk__client_done(&c);
        return status;
}

int lk_cmd_bridges(int argc, char **argv) {
        static const char *const header[] = {"NAME", "URL", "CONFIRMATIONS", "MINIMUM PAYMENT", "CREATED", NULL};
        static const char *const paths[] = {"attributes.name", "attributes.url", "attributes.confirmations",
                                            "attributes.minimumContractPayment", "attributes.createdAt", NULL};
        const char *sub = argc >= 2 ? argv[1] : "";
        if (strcmp(sub, "create") == 0)
                return bridges_create(argc - 1, argv + 1);
        if (strcmp(sub, "list") == 0)
                return list(argc - 1, argv + 1, bridges_usage, "/v2/bridge_types", header, paths);
        if (strcmp(sub, "delete") == 0)
                return lk__client_delete(argc - 1, argv + 1, bridges_usage, "/v2/bridge_types/", "bridge");
        fputs(bridges_usage, stderr);
        return LK_EXIT_USAGE;
}

int lk_cmd_initiators(int argc, char **argv) {
        static const char *const header[] = {"NAME", "URL", "ACCESS KEY", "CREATED", NULL};
        static const char *const paths[] = {"attributes.name", "attributes.url", "attributes.accessKey",
                                            "attributes.createdAt", NULL};
        const char *sub = argc >= 2 ? argv[1] : "";
        if (strcmp(sub, "create") == 0)
                return initiators_create(argc - 1, argv + 1);
        if (strcmp(sub, "list") == 0)
                return list(argc - 1, argv + 1, initiators_usage, "/v2/external_initiators", header, paths);
        if (strcmp(sub, "delete") == 0)
                return lk__client_delete(argc - 1, argv + 1, initiators_usage, "/v2/external_initiators/",
                                         "external initiator");
        fputs(initiators_usage, stderr);
        return LK_EXIT_USAGE;
}
