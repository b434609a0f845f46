/* Bridges (external adapters the pipeline's bridge task calls, in table
 * bridge_types) and external initiators (services that may trigger webhook
 * jobs, in table external_initiators), as Chainlink v1.13 keeps them.
 *
 * Names follow Chainlink: ASCII letters, digits, '_' and '-', stored in
 * lowercase; lookups by name ignore case.  A bridge's incoming token and
 * an external initiator's secret are random, handed out once when created
 * and stored as salted SHA-256 digests only (nothing in Chainlink's v2
 * flows presents a bridge's incoming token; it is kept for its API's
 * shape and for the operator's records).  The outgoing tokens are what
 * linkd sends to those services and are kept as they are.  Messages never
 * contain a token, a secret or a URL (a URL may carry credentials). */
#ifndef LINKD_BRIDGES_H
#define LINKD_BRIDGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/store.h"
#include "linkd/time.h"

#define LK_BRIDGE_TOKEN_LEN 32
#define LK_EI_ACCESS_KEY_LEN 32
#define LK_EI_SECRET_LEN 64

/* ---- bridges ---- */

typedef struct lk_bridge {
        char *name;
        char *url;
        uint32_t confirmations;
        char *minimum_contract_payment; /* juels in decimal, or NULL when unset */
        char *outgoing_token;
        lk_usec created_at, updated_at;
} lk_bridge;

/* What an operator sets.  Everything is borrowed. */
typedef struct lk_bridge_request {
        const char *name; /* ignored by lk_bridge_update */
        const char *url;
        uint32_t confirmations;
        const char *minimum_contract_payment; /* decimal, or NULL */
} lk_bridge_request;

/* Chainlink's ParseBridgeName: -EINVAL unless name is one or more ASCII
 * letters, digits, '_' or '-'; else its lowercase copy (lk_free it). */
int lk_bridge_name_parse(const char *name, char **ret_name, lk_err *err);
/* -EINVAL unless url is an absolute http or https URL with a host. */
int lk_bridge_url_check(const char *url, lk_err *err);

/* Checks request and stores a new bridge with fresh tokens; the incoming
 * token is only ever seen here.  -EINVAL with the reason, -EEXIST when the
 * name is taken. */
int lk_bridge_create(lk_store *store, const lk_bridge_request *request, lk_bridge *ret_bridge,
                     char ret_incoming_token[static LK_BRIDGE_TOKEN_LEN + 1], lk_err *err);
/* -EINVAL for a malformed name, -ENOENT "bridge not found". */
int lk_bridge_get(lk_store *store, const char *name, lk_bridge *ret_bridge, lk_err *err);
/* Replaces url, confirmations and minimum contract payment of bridge name
 * (as Chainlink's PATCH does: what request leaves out becomes 0 or unset). */
int lk_bridge_update(lk_store *store, const char *name, const lk_bridge_request *request, lk_bridge *ret_bridge,
                     lk_err *err);
int lk_bridge_delete(lk_store *store, const char *name, lk_err *err);
/* Page page (from 1) of size items (1 to LK_PAGE_MAX_SIZE), by name, and
 * how many bridges there are in all.  Free the items with
 * lk_bridges_free. */
int lk_bridge_list(lk_store *store, int64_t page, int64_t size, lk_bridge **ret_items, size_t *ret_count,
                   int64_t *ret_total, lk_err *err);

/* Frees what the bridge holds; accepts NULL. */
void lk_bridge_done(lk_bridge *bridge);
lk_bridge *lk_bridges_free(lk_bridge *items, size_t count);

/* ---- external initiators ---- */

typedef struct lk_external_initiator {
        int64_t id;
        char *name;
        char *url;             /* where jobs are announced, or NULL */
        char *access_key;      /* X-Chainlink-EA-AccessKey it presents */
        char *outgoing_token;  /* what linkd presents to it */
        char *outgoing_secret;
        lk_usec created_at, updated_at;
} lk_external_initiator;

/* Chainlink's rule for names: -EINVAL "No name specified" or "Name must be
 * alphanumeric and may contain '_' or '-'". */
int lk_external_initiator_name_check(const char *name, lk_err *err);

/* Stores a new external initiator (name lowercased; url may be NULL) with
 * fresh credentials; its secret is only ever seen here.  -EINVAL, -EEXIST
 * "Name <name> already exists". */
int lk_external_initiator_create(lk_store *store, const char *name, const char *url, lk_external_initiator *ret_ei,
                                 char ret_secret[static LK_EI_SECRET_LEN + 1], lk_err *err);
/* -ENOENT "external initiator not found". */
int lk_external_initiator_get(lk_store *store, const char *name, lk_external_initiator *ret_ei, lk_err *err);
int lk_external_initiator_exists(lk_store *store, const char *name, bool *ret_exists, lk_err *err);
int lk_external_initiator_delete(lk_store *store, const char *name, lk_err *err);
/* As lk_bridge_list. */
int lk_external_initiator_list(lk_store *store, int64_t page, int64_t size, lk_external_initiator **ret_items,
                               size_t *ret_count, int64_t *ret_total, lk_err *err);
/* The name of the external initiator whose credentials these are (the
 * caller lk_frees it); -EACCES for anything else, without saying what. */
int lk_external_initiator_authenticate(lk_store *store, const char *access_key, const char *secret, char **ret_name,
                                       lk_err *err);

void lk_external_initiator_done(lk_external_initiator *ei);
lk_external_initiator *lk_external_initiators_free(lk_external_initiator *items, size_t count);

#endif
