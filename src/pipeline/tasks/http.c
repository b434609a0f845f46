/* http and bridge: the tasks that wait on the network.  Their parameters
 * are resolved on a worker thread, the request goes to the HTTP client,
 * and the answer comes back on the client's thread (http) or, when the
 * database has to be asked (the bridge's cache), on a worker again. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../http_client.h"
#include "../params.h"
#include "linkd/alloc.h"
#include "tasks.h"

#define HINT                                                                                                       \
        "connections to local resources are disabled by default, if you are sure this is safe, you can enable "   \
        "on a per-task basis by setting allowUnrestrictedNetworkAccess=\"true\" in the pipeline task spec, e.g. "  \
        "fetch [type=\"http\" method=GET url=\"$(decode_cbor.url)\" allowUnrestrictedNetworkAccess=\"true\"]"
#define MAX_CACHE_TTL (30 * 60) /* seconds */

/* What both tasks send. */
typedef struct request {
        lk_task_attempt *attempt;
        const lk_task_call *call;
        char *method;
        char *url;
        lk_buf body;
        char **headers;      /* "Name: value" */
        size_t header_count;
        bool restricted;
        bool has_body;
        /* bridge only */
        bool bridge;
        bool async;
        char *bridge_name;
        uint64_t cache_ttl;  /* seconds */
        lk_job job;          /* the bridge's after-response work */
        int response_error;
        long status;
        char *response_error_text;
        char *response_body;
        size_t response_len;
        bool pending_header;
} request;

static void request_free(request *rq) {
        lk_free(rq->method);
        lk_free(rq->url);
        lk_buf_done(&rq->body);
        for (size_t i = 0; i < rq->header_count; i++)
                lk_free(rq->headers[i]);
        lk_free(rq->headers);
        lk_free(rq->bridge_name);
        lk_free(rq->response_error_text);
        lk_free(rq->response_body);
        lk_free(rq);
}

/* Header.Set: a later value for the same name replaces the earlier one. */
static void set_header(request *rq, const char *name, size_t name_len, const char *value, size_t value_len) {
        char *line = lk_asprintf("%.*s: %.*s", (int)name_len, name, (int)value_len, value);
        for (size_t i = 0; i < rq->header_count; i++) {
                if (strncasecmp(rq->headers[i], name, name_len) == 0 && rq->headers[i][name_len] == ':') {
                        lk_free(rq->headers[i]);
                        rq->headers[i] = line;
                        return;
                }
        }
        rq->headers = lk_realloc(rq->headers, (rq->header_count + 1) * sizeof *rq->headers);
        rq->headers[rq->header_count++] = line;
}

/* The `headers` attribute: a JSON array of strings, name then value. */
static int headers_param(const lk_task_call *call, request *rq, lk_err *all) {
        const char *attr = lk_graph_attr_get(call->spec, "headers");
        lk_err one = LK_ERR_INIT;
        while (attr && isspace((unsigned char)*attr))
                attr++;
        if (!attr || !*attr)
                return 0;
        lk_value *list = NULL;
        int r = lk_value_from_json(attr, strlen(attr), &list, &one);
        if (r == 0 && lk_value_type_of(list) != LK_VALUE_ARRAY)
                r = lk_err_set(&one, LK_EBAD_INPUT, "expected array of strings: bad input for task");
        for (size_t i = 0; r == 0 && i < lk_value_array_len(list); i++)
                if (lk_value_type_of(lk_value_array_at(list, i)) != LK_VALUE_STRING)
                        r = lk_err_set(&one, LK_EBAD_INPUT, "expected array of strings: bad input for task");
        if (r == 0 && lk_value_array_len(list) % 2 != 0)
                r = lk_err_set(&one, -EINVAL, "headers must have an even number of elements");
        for (size_t i = 0; r == 0 && i + 1 < lk_value_array_len(list); i += 2) {
                size_t name_len, value_len;
                const char *name = lk_value_get_string(lk_value_array_at(list, i), &name_len);
                const char *value = lk_value_get_string(lk_value_array_at(list, i + 1), &value_len);
                if (memchr(name, '\n', name_len) || memchr(name, '\r', name_len) || memchr(name, ':', name_len) ||
                    memchr(value, '\n', value_len) || memchr(value, '\r', value_len))
                        r = lk_err_set(&one, LK_EBAD_INPUT, "invalid header %.*s: bad input for task", (int)name_len,
                                       name);
                else
                        set_header(rq, name, name_len, value, value_len);
        }
        lk_value_unref(list);
        if (r < 0) {
                if (one.code != -EINVAL)
                        lk_err_prefix(&one, "reqHeaders");
                lk_err_join(all, &one);
        }
        return r;
}

static void string_param(const lk_task_call *call, const char *name, const lk_param_source *sources, size_t count,
                         const char *fallback, char **ret, lk_err *all) {
        lk_value *v = NULL;
        lk_err one = LK_ERR_INIT;
        int r = lk_param(call, name, sources, count, &v, &one);
        if (r == LK_EPARAM_EMPTY && fallback) {
                *ret = lk_strdup(fallback);
                return;
        }
        const char *s = NULL;
        if (r == 0) {
                if ((r = lk_param_string(v, &s, NULL, &one)) == 0)
                        *ret = lk_strdup(s);
                else
                        lk_err_prefix(&one, "%s", name); /* lk_param's own errors name it already */
        }
        lk_value_unref(v);
        if (r < 0)
                lk_err_join(all, &one);
}

/* requestData: a map or nothing. */
static lk_value *request_data(const lk_task_call *call, lk_err *all) {
        lk_value *v = NULL, *map = NULL;
        lk_err one = LK_ERR_INIT;
        int r = lk_param(call, "requestData", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_JSON), &v, &one);
        if (r == LK_EPARAM_EMPTY)
                return NULL;
        if (r == 0 && (r = lk_param_map(v, &map, &one)) < 0)
                lk_err_prefix(&one, "requestData");
        lk_value_unref(v);
        if (r < 0)
                lk_err_join(all, &one);
        return map;
}

/* Go's url.ParseRequestURI, as far as a request can use it: an absolute
 * http(s) URL. */
static int check_url(const char *url, lk_err *all) {
        if (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0) {
                const char *host = strstr(url, "://") + 3;
                if (*host && *host != '/' && !strpbrk(url, " \t\r\n"))
                        return 0;
        }
        lk_err one = LK_ERR_INIT;
        lk_err_set(&one, LK_EBAD_INPUT, "url: parse \"%s\": invalid URI for request: bad input for task", url);
        lk_err_join(all, &one);
        return -EINVAL;
}

/* bestEffortExtractError: the JSON body's "error", else "errorMessage",
 * else the whole body when it is a JSON object, else nothing. */
static void extract_error(const char *body, size_t len, lk_buf *out) {
        lk_value *v = NULL;
        if (lk_value_from_json(body, len, &v, NULL) < 0)
                return;
        if (lk_value_type_of(v) == LK_VALUE_MAP || lk_value_type_of(v) == LK_VALUE_NULL) {
                const lk_value *e = lk_value_type_of(v) == LK_VALUE_MAP ? lk_value_map_get(v, "error", SIZE_MAX) : NULL;
                const lk_value *m =
                        lk_value_type_of(v) == LK_VALUE_MAP ? lk_value_map_get(v, "errorMessage", SIZE_MAX) : NULL;
                size_t n;
                if (e && lk_value_type_of(e) == LK_VALUE_STRING && *lk_value_get_string(e, &n))
                        lk_buf_append(out, lk_value_get_string(e, NULL), n);
                else if (m && lk_value_type_of(m) == LK_VALUE_STRING && *lk_value_get_string(m, &n))
                        lk_buf_append(out, lk_value_get_string(m, NULL), n);
                else
                        lk_buf_append(out, body, len);
        }
        lk_value_unref(v);
}

/* Go's url.Error spells the method in title case. */
static void go_method(const char *method, char out[16]) {
        snprintf(out, 16, "%s", method);
        for (size_t i = 1; out[i]; i++)
                out[i] = (char)tolower((unsigned char)out[i]);
}

/* makeHTTPRequest's errors; 0 when the response is good. */
static int response_error(const request *rq, lk_task_result *res) {
        char method[16];
        go_method(rq->method, method);
        switch (rq->response_error) {
        case 0: break;
        case -ETIMEDOUT:
        case -ECANCELED: return lk_task_fail(res, rq->response_error, "http request timed out or interrupted");
        case -EACCES:
                return lk_task_fail(res, -EACCES, "%s: error making http request: %s \"%s\": %s", HINT, method, rq->url,
                                    rq->response_error_text);
        case -EFBIG: return lk_task_fail(res, -EFBIG, "error making http request: %s", rq->response_error_text);
        default: return lk_task_fail(res, rq->response_error, "error making http request: %s", rq->response_error_text);
        }
        if (rq->status >= 400) {
                lk_buf why = LK_BUF_INIT;
                extract_error(rq->response_body, rq->response_len, &why);
                lk_task_fail(res, -EIO, "got error from %s: (status code %ld) %s", rq->url, rq->status, lk_buf_str(&why));
                lk_buf_done(&why);
                return -EIO;
        }
        return 0;
}

static bool retryable(const request *rq) {
        if (rq->status >= 400 && rq->status < 500)
                return false;
        return rq->response_error != 0 || rq->status >= 500;
}

static void finish(request *rq, lk_task_result *res) {
        lk_task_attempt *attempt = rq->attempt;
        request_free(rq);
        lk_task_finish(attempt, res);
}

static void fail_now(request *rq, lk_err *err) {
        lk_task_result res = {0};
        res.err = *err;
        finish(rq, &res);
}

/* ---- the bridge's cache (bridge_last_value) ---- */

typedef struct cache_args {
        const char *dot_id;
        int64_t spec_id;
        const char *value;
        size_t value_len;
        lk_usec since;
        char *found;
        size_t found_len;
} cache_args;

static int cache_get_body(lk_db *db, void *arg, lk_err *err) {
        cache_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT value FROM bridge_last_value WHERE dot_id = $1 AND spec_id = $2"
                                  " AND finished_at > $3::timestamptz",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->dot_id, SIZE_MAX);
        lk_stmt_bind_int64(st, 2, a->spec_id);
        lk_stmt_bind_time(st, 3, a->since);
        r = lk_stmt_step(st, err);
        if (r == 1) {
                size_t len;
                const void *v = lk_stmt_blob(st, 0, &len);
                a->found = lk_malloc(len + 1);
                memcpy(a->found, v, len);
                a->found[len] = '\0';
                a->found_len = len;
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int cache_put_body(lk_db *db, void *arg, lk_err *err) {
        cache_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO bridge_last_value (dot_id, spec_id, value, finished_at)"
                                  " VALUES ($1, $2, $3, $4::timestamptz) ON CONFLICT (dot_id, spec_id)"
                                  " DO UPDATE SET value = EXCLUDED.value, finished_at = EXCLUDED.finished_at",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->dot_id, SIZE_MAX);
        lk_stmt_bind_int64(st, 2, a->spec_id);
        lk_stmt_bind_blob(st, 3, a->value, a->value_len);
        lk_stmt_bind_time(st, 4, lk_now_realtime());
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

/* After a bridge's response, on a worker: the cache, the pending check. */
static void bridge_done(lk_job *job) {
        request *rq = (request *)((char *)job - offsetof(request, job));
        const lk_task_call *call = rq->call;
        lk_task_result res = {0};
        bool cached = false;
        if (response_error(rq, &res) < 0) {
                res.retryable = retryable(rq);
                cache_args a = {call->spec->dot_id, call->spec_id, NULL, 0,
                                lk_now_realtime() - (lk_usec)rq->cache_ttl * LK_USEC_PER_SEC, NULL, 0};
                if (rq->cache_ttl == 0 || !call->env->store || call->spec_id <= 0 ||
                    lk_store_read(call->env->store, cache_get_body, &a, NULL) < 0 || !a.found) {
                        finish(rq, &res);
                        return;
                }
                /* Chainlink's cacheTTL: a failed request falls back to the
                 * last good answer, if it is recent enough. */
                lk_err_clear(&res.err);
                res.retryable = false;
                lk_free(rq->response_body);
                rq->response_body = a.found;
                rq->response_len = a.found_len;
                cached = true;
        }
        if (rq->async) {
                lk_value *body = NULL;
                const lk_value *pending = NULL;
                if (lk_value_from_json(rq->response_body, rq->response_len, &body, NULL) == 0 &&
                    lk_value_type_of(body) == LK_VALUE_MAP)
                        pending = lk_value_map_get(body, "pending", SIZE_MAX);
                bool is_pending = rq->pending_header ||
                                  (pending && lk_value_type_of(pending) == LK_VALUE_BOOL && lk_value_get_bool(pending));
                lk_value_unref(body);
                if (is_pending) {
                        res.pending = true;
                        finish(rq, &res);
                        return;
                }
        }
        if (!cached && rq->cache_ttl > 0 && call->env->store && call->spec_id > 0) {
                cache_args a = {call->spec->dot_id, call->spec_id, rq->response_body, rq->response_len, 0, NULL, 0};
                lk_store_tx(call->env->store, cache_put_body, &a, NULL); /* a lost cache entry only costs a fallback */
        }
        lk_task_ok(&res, lk_value_string(rq->response_body, rq->response_len));
        finish(rq, &res);
}

/* ---- sending ---- */

static void on_response(void *arg, const lk_http_response *response) {
        request *rq = arg;
        rq->response_error = response->error;
        rq->status = response->status;
        rq->response_error_text = response->error_text ? lk_strdup(response->error_text) : NULL;
        rq->response_body = lk_malloc(response->body_len + 1);
        memcpy(rq->response_body, response->body ? response->body : "", response->body_len);
        rq->response_body[response->body_len] = '\0';
        rq->response_len = response->body_len;
        rq->pending_header = lk_http_response_header(response, "X-Chainlink-Pending") != NULL;
        if (rq->bridge) {
                /* The cache lives in the database: not on this thread. */
                lk_job_init(&rq->job, bridge_done);
                lk_pool_submit(rq->call->env->pool, &rq->job);
                return;
        }
        lk_task_result res = {0};
        if (response_error(rq, &res) < 0)
                res.retryable = retryable(rq);
        else
                lk_task_ok(&res, lk_value_string(rq->response_body, rq->response_len));
        finish(rq, &res);
}

static void send(request *rq) {
        const lk_task_call *call = rq->call;
        const lk_config *cfg = call->env->config;
        lk_usec deadline = call->deadline;
        lk_usec fallback = cfg->job_pipeline.http_request.default_timeout;
        if (!call->timeout_set && fallback > 0 && lk_now_monotonic() + fallback < deadline)
                deadline = lk_now_monotonic() + fallback;
        lk_http_request hr = {
                .method = rq->method,
                .url = rq->url,
                .body = rq->has_body ? rq->body.data : NULL,
                .body_len = rq->has_body ? rq->body.len : 0,
                .headers = (const char *const *)rq->headers,
                .header_count = rq->header_count,
                .restricted = rq->restricted,
                .deadline = deadline,
                .max_response_size = cfg->job_pipeline.http_request.max_size,
        };
        uint64_t id;
        lk_err err = LK_ERR_INIT;
        /* rq may be gone as soon as it is submitted; the attempt stays
         * until the task's start function returns. */
        lk_task_attempt *attempt = rq->attempt;
        if (lk_http_client_submit(call->env->http, &hr, on_response, rq, &id, &err) < 0) {
                lk_err_prefix(&err, "error making http request");
                fail_now(rq, &err);
                return;
        }
        lk_task_attempt_set_http(attempt, id);
}

static request *request_new(const lk_task_call *call, lk_task_attempt *attempt) {
        request *rq = lk_calloc(1, sizeof *rq);
        rq->attempt = attempt;
        rq->call = call;
        set_header(rq, "Content-Type", 12, "application/json", 16); /* custom headers may replace it */
        return rq;
}

static void encode_body(request *rq, const lk_value *data) {
        if (!data)
                return;
        lk_value_to_json(data, &rq->body);
        rq->has_body = true;
}

void lk__task_http(const lk_task_call *call, lk_task_attempt *attempt) {
        request *rq = request_new(call, attempt);
        lk_err all = LK_ERR_INIT;
        if (lk_check_inputs(call, -1, -1, 0, &all) < 0) {
                lk_err_prefix(&all, "task inputs");
                fail_now(rq, &all);
                return;
        }
        const char *url_attr = lk_graph_attr_get(call->spec, "url");
        string_param(call, "method", LK_SOURCES(LK_PARAM_LITERAL), "GET", &rq->method, &all);
        string_param(call, "url", LK_SOURCES(LK_PARAM_VAR_EXPR, LK_PARAM_LITERAL), NULL, &rq->url, &all);
        if (rq->url)
                check_url(rq->url, &all);
        lk_value *data = request_data(call, &all);
        /* An interpolated URL may point anywhere a request's author
         * chooses: restricted unless the spec says otherwise. */
        lk_value *allow = NULL;
        lk_err one = LK_ERR_INIT;
        bool unrestricted = !(url_attr && strstr(url_attr, "$("));
        int r = lk_param(call, "allowUnrestrictedNetworkAccess", LK_SOURCES(LK_PARAM_LITERAL), &allow, &one);
        if (r == 0 && (r = lk_param_bool(allow, &unrestricted, &one)) < 0)
                lk_err_prefix(&one, "allowUnrestrictedNetworkAccess");
        if (r < 0 && r != LK_EPARAM_EMPTY)
                lk_err_join(&all, &one);
        lk_value_unref(allow);
        headers_param(call, rq, &all);
        rq->restricted = !unrestricted;
        encode_body(rq, data);
        lk_value_unref(data);
        if (lk_err_is_set(&all)) {
                fail_now(rq, &all);
                return;
        }
        for (char *m = rq->method; *m; m++)
                *m = (char)toupper((unsigned char)*m);
        send(rq);
}

/* ---- bridge ---- */

typedef struct bridge_args {
        const char *name;
        char *url;
} bridge_args;

static int find_bridge_body(lk_db *db, void *arg, lk_err *err) {
        bridge_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT url FROM bridge_types WHERE name = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, a->name, SIZE_MAX);
        r = lk_stmt_step(st, err);
        if (r == 1)
                a->url = lk_strdup(lk_stmt_text(st, 0, NULL));
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int find_bridge(const lk_task_call *call, const char *name, char **ret_url, lk_err *err) {
        char *lower = lk_strdup(name);
        for (char *c = lower; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        bridge_args a = {lower, NULL};
        lk_err why = LK_ERR_INIT;
        int r = call->env->store ? lk_store_read(call->env->store, find_bridge_body, &a, &why)
                                 : lk_err_set(&why, -ENOENT, "no database");
        if (r == 0 && !a.url)
                r = lk_err_set(&why, -ENOENT, "bridge not found");
        lk_free(lower);
        if (r < 0)
                return lk_err_set(err, r, "could not find bridge with name '%s': %s", name, why.msg);
        *ret_url = a.url;
        return 0;
}

/* cacheTTL: a Go duration, in whole seconds, at most 30 minutes. */
static void cache_ttl_param(const lk_task_call *call, request *rq, lk_err *all) {
        const char *attr = lk_graph_attr_get(call->spec, "cacheTTL");
        lk_usec ttl = call->env->config->web_server.bridge_cache_ttl;
        if (attr && *attr) {
                lk_err one = LK_ERR_INIT;
                if (lk_duration_parse(attr, &ttl, &one) < 0) {
                        lk_err_prefix(&one, "cacheTTL");
                        lk_err_join(all, &one);
                        return;
                }
        }
        rq->cache_ttl = (uint64_t)(ttl / LK_USEC_PER_SEC);
        if (rq->cache_ttl > MAX_CACHE_TTL)
                rq->cache_ttl = MAX_CACHE_TTL;
}

/* The request body: requestData, the run's jobRun.meta under "meta", the
 * first input under includeInputAtKey, and the responseURL of an async
 * bridge. */
static lk_value *bridge_body(const lk_task_call *call, lk_value *data, bool async) {
        lk_value *body = lk_value_map();
        for (size_t i = 0; data && i < lk_value_map_len(data); i++) {
                const char *key;
                size_t len;
                lk_value *v = lk_value_map_at(data, i, &key, &len);
                lk_value_map_put(body, key, len, lk_value_ref(v));
        }
        lk_value *meta = NULL;
        if (lk_vars_get(call->vars, "jobRun.meta", 11, &meta, NULL) == 0 && lk_value_type_of(meta) == LK_VALUE_MAP)
                lk_value_map_put(body, "meta", 4, lk_value_ref(meta));
        const char *key = lk_graph_attr_get(call->spec, "includeInputAtKey");
        if (key && *key && call->input_count > 0 && call->inputs[0].value)
                lk_value_map_put(body, key, SIZE_MAX, lk_value_ref(call->inputs[0].value));
        if (async) {
                /* path.Join(base, "/v2/resume/", id): one slash between */
                const char *base = call->env->config->web_server.bridge_response_url;
                size_t len = base ? strlen(base) : 0;
                while (len > 0 && base[len - 1] == '/')
                        len--;
                char *url = base && *base ? lk_asprintf("%.*s/v2/resume/%s", (int)len, base, call->task_run_id)
                                          : lk_strdup("");
                lk_value_map_put(body, "responseURL", 11, lk_value_string(url, SIZE_MAX));
                lk_free(url);
        }
        return body;
}

void lk__task_bridge(const lk_task_call *call, lk_task_attempt *attempt) {
        request *rq = request_new(call, attempt);
        rq->bridge = true;
        lk_err all = LK_ERR_INIT;
        if (lk_check_inputs(call, -1, -1, 0, &all) < 0) {
                lk_err_prefix(&all, "task inputs");
                fail_now(rq, &all);
                return;
        }
        string_param(call, "name", LK_SOURCES(LK_PARAM_LITERAL), NULL, &rq->bridge_name, &all);
        lk_value *data = request_data(call, &all);
        cache_ttl_param(call, rq, &all);
        headers_param(call, rq, &all);
        const char *async = lk_graph_attr_get(call->spec, "async");
        rq->async = async && strcmp(async, "true") == 0;
        if (!lk_err_is_set(&all)) {
                lk_err why = LK_ERR_INIT;
                if (find_bridge(call, rq->bridge_name, &rq->url, &why) < 0)
                        all = why;
        }
        if (lk_err_is_set(&all)) {
                lk_value_unref(data);
                fail_now(rq, &all);
                return;
        }
        lk_value *body = bridge_body(call, data, rq->async);
        encode_body(rq, body);
        lk_value_unref(body);
        lk_value_unref(data);
        rq->method = lk_strdup("POST");
        rq->restricted = false; /* the URL comes from the node's own bridge table */
        send(rq);
}
