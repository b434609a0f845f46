/* Sessions and users over the API (see sessions.h).  Login failures are
 * throttled per client address and per email; the answer to a failed
 * login never says which of email and password was wrong. */
#include "sessions.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "linkd/alloc.h"
#include "linkd/value.h"

#define LOGIN_MAX_FAILURES 10
#define LOGIN_WINDOW (15 * 60 * LK_USEC_PER_SEC)

struct lk__sessions {
        lk_store *store;
        const lk_config *cfg;
        lk_log *log;
        lk_login_limiter *limiter;
};

/* ---- who is calling ---- */

static void set_caller(lk_web_caller *caller, char *email, lk_role role) {
        caller->role = (int)role;
        snprintf(caller->email, sizeof caller->email, "%s", email);
        lk_free(email);
}

static void authenticate(void *arg, const lk_web_request *request, lk_web_caller *ret_caller) {
        lk__sessions *s = arg;
        char *email = NULL;
        lk_role role;
        lk_err err = LK_ERR_INIT;
        const char *token = lk_web_request_cookie(request, LK_SESSION_COOKIE);
        if (token && lk_session_check(s->store, token, s->cfg->web_server.session_timeout, &email, &role, &err) == 0) {
                set_caller(ret_caller, email, role);
                return;
        }
        const char *key = lk_web_request_header(request, "X-API-KEY");
        const char *secret = lk_web_request_header(request, "X-API-SECRET");
        if (key && secret && lk_api_token_check(s->store, key, secret, &email, &role, &err) == 0)
                set_caller(ret_caller, email, role);
}

/* ---- request bodies ---- */

/* The string member key, or NULL (and a 422) when missing or not a string. */
static const char *required_string(const lk_value *body, const char *key, lk_web_response *response) {
        const char *v;
        return lk__api_string_member(body, key, false, &v, response) ? v : NULL;
}

/* ---- /sessions ---- */

static void session_document(lk_web_response *response, bool authenticated) {
        lk_buf_printf(&response->body,
                      "{\"data\":{\"type\":\"session\",\"id\":\"sessionID\",\"attributes\":{\"authenticated\":%s}}}",
                      authenticated ? "true" : "false");
}

static void log_in(lk__sessions *s, const lk_web_request *request, const char *email, const char *password,
                   lk_web_response *response) {
        lk_usec now = lk_now_monotonic();
        if (lk_login_limiter_blocked(s->limiter, request->client_ip, email, now)) {
                lk_log_warn(s->log, "Login refused: too many failed attempts", LK_STR("ip", request->client_ip));
                lk_web_response_error(response, 429, "too many failed login attempts; try again later");
                return;
        }
        lk_role role;
        char token[LK_SESSION_TOKEN_LEN + 1];
        lk_err err = LK_ERR_INIT;
        int r = lk_user_authenticate(s->store, email, password, &role, &err);
        if (r == -EACCES) {
                lk_login_limiter_failed(s->limiter, request->client_ip, email, now);
                lk_log_info(s->log, "Login failed", LK_STR("ip", request->client_ip));
                lk_web_response_error(response, 401, "%s", err.msg);
                return;
        }
        if (r < 0 || lk_session_create(s->store, email, token, &err) < 0) {
                lk_log_error(s->log, "Cannot create a session", LK_ERROR(&err));
                lk_web_response_error(response, 500, "cannot create a session");
                return;
        }
        response->set_cookie = lk_asprintf("%s=%s; Path=/; HttpOnly; SameSite=Strict", LK_SESSION_COOKIE, token);
        explicit_bzero(token, sizeof token);
        session_document(response, true);
}

static void serve_login(void *arg, const lk_web_request *request, lk_web_response *response) {
        static const char *const fields[] = {"email", "password", NULL};
        if (!lk__api_exact(request, response))
                return;
        lk_value *body = lk__api_json_object(request, fields, response);
        if (!body)
                return;
        const char *email = required_string(body, "email", response);
        const char *password = email ? required_string(body, "password", response) : NULL;
        if (password)
                log_in(arg, request, email, password, response);
        lk_value_unref(body);
}

static void serve_logout(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__sessions *s = arg;
        if (!lk__api_exact(request, response))
                return;
        const char *token = lk_web_request_cookie(request, LK_SESSION_COOKIE);
        lk_err err = LK_ERR_INIT;
        if (token && lk_session_delete(s->store, token, &err) < 0) {
                lk_web_response_error(response, 500, "cannot end the session");
                return;
        }
        response->set_cookie = lk_asprintf("%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", LK_SESSION_COOKIE);
        session_document(response, false);
}

/* ---- /v2/users ---- */

typedef struct user_list {
        lk_buf *out;
        bool first;
} user_list;

static void put_user(void *arg, const char *email, lk_role role, lk_usec created_at) {
        user_list *l = arg;
        lk_buf_puts(l->out, l->first ? "" : ",");
        l->first = false;
        lk_buf_puts(l->out, "{\"type\":\"users\",\"id\":");
        lk_buf_put_json_string(l->out, email);
        lk_buf_puts(l->out, ",\"attributes\":{\"email\":");
        lk_buf_put_json_string(l->out, email);
        lk_buf_printf(l->out, ",\"role\":\"%s\",\"createdAt\":", lk_role_name(role));
        lk__api_put_time(l->out, created_at);
        lk_buf_puts(l->out, "}}");
}

static void serve_users(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__sessions *s = arg;
        if (!lk__api_exact(request, response))
                return;
        lk_buf_puts(&response->body, "{\"data\":[");
        user_list l = {&response->body, true};
        lk_err err = LK_ERR_INIT;
        if (lk_user_list(s->store, put_user, &l, &err) < 0) {
                lk_web_response_error(response, 500, "cannot list users");
                return;
        }
        lk_buf_puts(&response->body, "]}");
}

static void serve_create_user(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__sessions *s = arg;
        static const char *const fields[] = {"email", "password", "role", NULL};
        if (!lk__api_exact(request, response))
                return;
        lk_value *body = lk__api_json_object(request, fields, response);
        if (!body)
                return;
        const char *email = required_string(body, "email", response);
        const char *password = email ? required_string(body, "password", response) : NULL;
        const char *role_name = password ? required_string(body, "role", response) : NULL;
        lk_role role;
        lk_err err = LK_ERR_INIT;
        if (!role_name) {
                /* a 422 is set */
        } else if (lk_role_parse(role_name, &role, &err) < 0 || lk_user_create(s->store, email, password, role, &err) < 0) {
                lk_web_response_error(response, err.code == -EEXIST ? 409 : err.code == -EINVAL ? 422 : 500, "%s",
                                      err.msg);
        } else {
                response->status = 201;
                user_list l = {&response->body, true};
                lk_buf_puts(&response->body, "{\"data\":");
                put_user(&l, email, role, lk_now_realtime());
                lk_buf_puts(&response->body, "}");
        }
        lk_value_unref(body);
}

/* ---- /v2/user/token: the caller's own API token ---- */

/* The caller's password again, as Chainlink asks before it hands out or
 * revokes a token: a stolen session alone cannot mint one. */
static bool password_confirmed(lk__sessions *s, const lk_web_request *request, lk_web_response *response) {
        static const char *const fields[] = {"password", NULL};
        lk_value *body = lk__api_json_object(request, fields, response);
        if (!body)
                return false;
        const char *password = required_string(body, "password", response);
        lk_role role;
        lk_err err = LK_ERR_INIT;
        bool ok = password && lk_user_authenticate(s->store, request->caller->email, password, &role, &err) == 0;
        if (password && !ok)
                lk_web_response_error(response, err.code == -EACCES ? 401 : 500, "%s",
                                      err.code == -EACCES ? "incorrect password" : "cannot check the password");
        lk_value_unref(body);
        return ok;
}

static void serve_token_create(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__sessions *s = arg;
        if (!lk__api_exact(request, response) || !password_confirmed(s, request, response))
                return;
        char key[LK_API_KEY_LEN + 1], secret[LK_API_SECRET_LEN + 1];
        lk_err err = LK_ERR_INIT;
        if (lk_api_token_create(s->store, request->caller->email, key, secret, &err) < 0) {
                lk_web_response_error(response, 500, "cannot create the token");
                return;
        }
        response->status = 201;
        lk_buf_printf(&response->body,
                      "{\"data\":{\"type\":\"auth_tokens\",\"id\":\"%s\",\"attributes\":"
                      "{\"accessKey\":\"%s\",\"secret\":\"%s\"}}}",
                      key, key, secret);
        explicit_bzero(secret, sizeof secret);
}

static void serve_token_delete(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk__sessions *s = arg;
        if (!lk__api_exact(request, response) || !password_confirmed(s, request, response))
                return;
        lk_err err = LK_ERR_INIT;
        int r = lk_api_token_delete(s->store, request->caller->email, &err);
        if (r < 0 && r != -ENOENT) {
                lk_web_response_error(response, 500, "cannot delete the token");
                return;
        }
        lk_buf_puts(&response->body, "{\"data\":null}");
}

lk__sessions *lk__sessions_new(lk_web *web, lk_store *store, const lk_config *cfg, lk_log *log) {
        lk__sessions *s = lk_calloc(1, sizeof *s);
        s->store = store;
        s->cfg = cfg;
        s->log = log;
        s->limiter = lk_login_limiter_new(LOGIN_MAX_FAILURES, LOGIN_WINDOW);
        lk_web_set_authenticator(web, authenticate, s);
        lk_web_route(web, "POST", "/sessions", LK_WEB_PUBLIC, serve_login, s);
        lk_web_route(web, "DELETE", "/sessions", LK_WEB_PUBLIC, serve_logout, s);
        lk_web_route(web, "GET", "/v2/users", LK_ROLE_ADMIN, serve_users, s);
        lk_web_route(web, "POST", "/v2/users", LK_ROLE_ADMIN, serve_create_user, s);
        lk_web_route(web, "POST", "/v2/user/token", LK_ROLE_VIEW, serve_token_create, s);
        lk_web_route(web, "POST", "/v2/user/token/delete", LK_ROLE_VIEW, serve_token_delete, s);
        return s;
}

lk__sessions *lk__sessions_free(lk__sessions *s) {
        if (!s)
                return NULL;
        lk_login_limiter_free(s->limiter);
        lk_free(s);
        return NULL;
}
