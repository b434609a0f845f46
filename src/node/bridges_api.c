/* Bridges and external initiators over the API (see bridges_api.h).
 * Documents have Chainlink's JSON:API shapes: resources of type "bridges",
 * "externalInitiators" and, for the one answer that holds an initiator's
 * secret, "external initiators". */
#include "bridges_api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "linkd/alloc.h"
#include "linkd/auth.h"
#include "linkd/bridges.h"
#include "linkd/jobs.h"
#include "linkd/value.h"

/* ---- requests ---- */

/* Chainlink's uint32 confirmations; 0 when absent. */
static bool confirmations_member(const lk_value *body, uint32_t *ret, lk_web_response *response) {
        const lk_value *v = lk_value_map_get(body, "confirmations", strlen("confirmations"));
        *ret = 0;
        if (!v)
                return true;
        lk_value_type t = lk_value_type_of(v);
        int64_t n = t == LK_VALUE_INT64 ? lk_value_get_int64(v) : -1;
        if (n < 0 || n > UINT32_MAX) {
                lk_web_response_error(response, 422,
                                      "invalid JSON body: \"confirmations\" must be an integer from 0 to 4294967295");
                return false;
        }
        *ret = (uint32_t)n;
        return true;
}

/* An ORM failure as Chainlink's status codes; store failures say no more
 * than what failed. */
static void fail(lk_web_response *response, const lk_err *err, const char *what) {
        switch (err->code) {
        case -EINVAL:
                lk_web_response_error(response, 422, "%s", err->msg);
                break;
        case -ENOENT:
                lk_web_response_error(response, 404, "%s", err->msg);
                break;
        case -EEXIST:
                lk_web_response_error(response, 409, "%s", err->msg);
                break;
        default:
                lk_web_response_error(response, 500, "cannot %s", what);
        }
}

/* ---- documents ---- */

static void put_bridge(lk_buf *out, const lk_bridge *b, const char *incoming_token) {
        lk_buf_puts(out, "{\"type\":\"bridges\",\"id\":");
        lk_buf_put_json_string(out, b->name);
        lk_buf_puts(out, ",\"attributes\":{\"name\":");
        lk_buf_put_json_string(out, b->name);
        lk__api_put_string_member(out, "url", b->url);
        lk_buf_printf(out, ",\"confirmations\":%u", (unsigned)b->confirmations);
        if (incoming_token)
                lk__api_put_string_member(out, "incomingToken", incoming_token);
        lk__api_put_string_member(out, "outgoingToken", b->outgoing_token);
        lk__api_put_string_member(out, "minimumContractPayment", b->minimum_contract_payment);
        lk__api_put_time_member(out, "createdAt", b->created_at);
        lk_buf_puts(out, "}}");
}

/* {"data": the bridge}, the answer about one bridge. */
static void answer_bridge(lk_web_response *response, const lk_bridge *b, const char *incoming_token) {
        lk_buf_puts(&response->body, "{\"data\":");
        put_bridge(&response->body, b, incoming_token);
        lk_buf_puts(&response->body, "}");
}

static void put_initiator(lk_buf *out, const lk_external_initiator *ei) {
        lk_buf_puts(out, "{\"type\":\"externalInitiators\",\"id\":");
        lk_buf_put_json_string(out, ei->name);
        lk_buf_puts(out, ",\"attributes\":{\"name\":");
        lk_buf_put_json_string(out, ei->name);
        lk__api_put_string_member(out, "url", ei->url);
        lk__api_put_string_member(out, "accessKey", ei->access_key);
        lk__api_put_string_member(out, "outgoingToken", ei->outgoing_token);
        lk__api_put_time_member(out, "createdAt", ei->created_at);
        lk__api_put_time_member(out, "updatedAt", ei->updated_at);
        lk_buf_puts(out, "}}");
}

/* ---- /v2/bridge_types ---- */

static void list_bridges(lk_store *store, const lk_web_request *request, lk_web_response *response) {
        lk__api_page page;
        int64_t total;
        lk_bridge *items;
        size_t count;
        lk_err err = LK_ERR_INIT;
        if (!lk__api_page_read(request, &page, response))
                return;
        if (lk_bridge_list(store, page.number, page.size, &items, &count, &total, &err) < 0) {
                fail(response, &err, "list bridges");
                return;
        }
        lk__api_page_start(&response->body, request->path, NULL, &page, total);
        for (size_t i = 0; i < count; i++) {
                lk_buf_puts(&response->body, i ? "," : "");
                put_bridge(&response->body, &items[i], NULL);
        }
        lk__api_page_end(&response->body, total);
        lk_bridges_free(items, count);
}

static void serve_bridges_get(void *arg, const lk_web_request *request, lk_web_response *response) {
        if (*request->tail == '\0') {
                list_bridges(arg, request, response);
                return;
        }
        const char *name = lk__api_tail_segment(request, response);
        lk_bridge b;
        lk_err err = LK_ERR_INIT;
        if (!name)
                return;
        if (lk_bridge_get(arg, name, &b, &err) < 0) {
                fail(response, &err, "read the bridge");
                return;
        }
        answer_bridge(response, &b, NULL);
        lk_bridge_done(&b);
}

/* The body of a POST or PATCH as a request borrowing from *ret_body. */
static bool bridge_request(const lk_web_request *request, bool name_required, lk_bridge_request *ret,
                           lk_value **ret_body, lk_web_response *response) {
        static const char *const fields[] = {"name", "url", "confirmations", "minimumContractPayment", NULL};
        lk_value *body = lk__api_json_object(request, fields, response);
        *ret = (lk_bridge_request){0};
        if (!body)
                return false;
        bool ok = lk__api_string_member(body, "name", !name_required, &ret->name, response) &&
                  lk__api_string_member(body, "url", false, &ret->url, response) &&
                  confirmations_member(body, &ret->confirmations, response) &&
                  lk__api_string_member(body, "minimumContractPayment", true, &ret->minimum_contract_payment,
                                        response);
        char *checked = NULL;
        lk_err err = LK_ERR_INIT;
        /* a name in a PATCH changes nothing, but Chainlink still checks it */
        if (ok && ret->name && lk_bridge_name_parse(ret->name, &checked, &err) < 0) {
                lk_web_response_error(response, 422, "%s", err.msg);
                ok = false;
        }
        lk_free(checked);
        if (!ok)
                return lk_value_unref(body), false;
        *ret_body = body;
        return true;
}

static void serve_bridges_create(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk_bridge_request q;
        lk_value *body;
        if (!lk__api_exact(request, response) || !bridge_request(request, true, &q, &body, response))
                return;
        lk_bridge b;
        char token[LK_BRIDGE_TOKEN_LEN + 1];
        lk_err err = LK_ERR_INIT;
        if (lk_bridge_create(arg, &q, &b, token, &err) < 0) {
                fail(response, &err, "create the bridge");
        } else {
                response->status = 201;
                answer_bridge(response, &b, token);
                explicit_bzero(token, sizeof token);
                lk_bridge_done(&b);
        }
        lk_value_unref(body);
}

static void serve_bridges_update(void *arg, const lk_web_request *request, lk_web_response *response) {
        const char *name = lk__api_tail_segment(request, response);
        lk_bridge_request q;
        lk_value *body;
        if (!name || !bridge_request(request, false, &q, &body, response))
                return;
        lk_bridge b;
        lk_err err = LK_ERR_INIT;
        if (lk_bridge_update(arg, name, &q, &b, &err) < 0) {
                fail(response, &err, "update the bridge");
        } else {
                answer_bridge(response, &b, NULL);
                lk_bridge_done(&b);
        }
        lk_value_unref(body);
}

/* A bridge that jobs use stays: 409 with their ids, as Chainlink says it. */
static bool bridge_in_use(lk_store *store, const char *name, lk_web_response *response) {
        int64_t *ids = NULL;
        size_t count = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_jobs_using_bridge(store, name, &ids, &count, &err) < 0) {
                lk_web_response_error(response, 500, "cannot check the bridge's jobs: %s", err.msg);
                return true;
        }
        if (count > 0) {
                lk_buf list = LK_BUF_INIT;
                for (size_t i = 0; i < count; i++)
                        lk_buf_printf(&list, "%s%" PRId64, i ? " " : "", ids[i]);
                lk_web_response_error(response, 409,
                                      "can't remove the bridge because there are jobs associated with it: [%s]",
                                      lk_buf_str(&list));
                lk_buf_done(&list);
        }
        lk_free(ids);
        return count > 0;
}

/* Answers with the bridge as it was, as Chainlink does. */
static void serve_bridges_delete(void *arg, const lk_web_request *request, lk_web_response *response) {
        const char *name = lk__api_tail_segment(request, response);
        lk_bridge b;
        lk_err err = LK_ERR_INIT;
        if (!name)
                return;
        if (lk_bridge_get(arg, name, &b, &err) < 0) {
                fail(response, &err, "delete the bridge");
                return;
        }
        if (bridge_in_use(arg, name, response)) {
                lk_bridge_done(&b);
                return;
        }
        if (lk_bridge_delete(arg, name, &err) < 0) {
                fail(response, &err, "delete the bridge");
        } else {
                answer_bridge(response, &b, NULL);
        }
        lk_bridge_done(&b);
}

/* ---- /v2/external_initiators ---- */

static void serve_initiators_list(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__api_page page;
        int64_t total;
        lk_external_initiator *items;
        size_t count;
        lk_err err = LK_ERR_INIT;
        if (!lk__api_exact(request, response) || !lk__api_page_read(request, &page, response))
                return;
        if (lk_external_initiator_list(arg, page.number, page.size, &items, &count, &total, &err) < 0) {
                fail(response, &err, "list external initiators");
                return;
        }
        lk__api_page_start(&response->body, request->path, NULL, &page, total);
        for (size_t i = 0; i < count; i++) {
                lk_buf_puts(&response->body, i ? "," : "");
                put_initiator(&response->body, &items[i]);
        }
        lk__api_page_end(&response->body, total);
        lk_external_initiators_free(items, count);
}

/* Chainlink's ExternalInitiatorAuthentication: the credentials both ways,
 * shown this once. */
static void put_credentials(lk_buf *out, const lk_external_initiator *ei, const char *secret) {
        lk_buf_puts(out, "{\"data\":{\"type\":\"external initiators\",\"id\":");
        lk_buf_put_json_string(out, ei->name);
        lk_buf_puts(out, ",\"attributes\":{\"name\":");
        lk_buf_put_json_string(out, ei->name);
        lk__api_put_string_member(out, "url", ei->url ? ei->url : "");
        lk__api_put_string_member(out, "incomingAccessKey", ei->access_key);
        lk__api_put_string_member(out, "incomingSecret", secret);
        lk__api_put_string_member(out, "outgoingToken", ei->outgoing_token);
        lk__api_put_string_member(out, "outgoingSecret", ei->outgoing_secret);
        lk_buf_puts(out, "}}}");
}

static void serve_initiators_create(void *arg, const lk_web_request *request, lk_web_response *response) {
        static const char *const fields[] = {"name", "url", NULL};
        if (!lk__api_exact(request, response))
                return;
        lk_value *body = lk__api_json_object(request, fields, response);
        const char *name, *url;
        if (!body)
                return;
        if (lk__api_string_member(body, "name", false, &name, response) &&
            lk__api_string_member(body, "url", true, &url, response)) {
                lk_external_initiator ei;
                char secret[LK_EI_SECRET_LEN + 1];
                lk_err err = LK_ERR_INIT;
                if (lk_external_initiator_create(arg, name, url, &ei, secret, &err) < 0) {
                        fail(response, &err, "create the external initiator");
                } else {
                        response->status = 201;
                        put_credentials(&response->body, &ei, secret);
                        explicit_bzero(secret, sizeof secret);
                        lk_external_initiator_done(&ei);
                }
        }
        lk_value_unref(body);
}

static void serve_initiators_delete(void *arg, const lk_web_request *request, lk_web_response *response) {
        const char *name = lk__api_tail_segment(request, response);
        lk_err err = LK_ERR_INIT;
        if (!name)
                return;
        if (lk_external_initiator_delete(arg, name, &err) < 0) {
                fail(response, &err, "delete the external initiator");
                return;
        }
        response->status = 204;
}

void lk__bridges_api_register(lk_web *web, lk_store *store) {
        lk_web_route(web, "GET", "/v2/bridge_types", LK_ROLE_VIEW, serve_bridges_get, store);
        lk_web_route(web, "POST", "/v2/bridge_types", LK_ROLE_EDIT, serve_bridges_create, store);
        lk_web_route(web, "PATCH", "/v2/bridge_types", LK_ROLE_EDIT, serve_bridges_update, store);
        lk_web_route(web, "DELETE", "/v2/bridge_types", LK_ROLE_EDIT, serve_bridges_delete, store);
        lk_web_route(web, "GET", "/v2/external_initiators", LK_ROLE_VIEW, serve_initiators_list, store);
        lk_web_route(web, "POST", "/v2/external_initiators", LK_ROLE_EDIT, serve_initiators_create, store);
        lk_web_route(web, "DELETE", "/v2/external_initiators", LK_ROLE_EDIT, serve_initiators_delete, store);
}
