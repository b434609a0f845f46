/* See test_node.h. */
#include "test_node.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "linkd/alloc.h"

#define STARTUP_LIMIT (30 * LK_USEC_PER_SEC)

void lktest_node_init(lktest_node *n, const char *extra_config, const char *email, const char *password) {
        *n = (lktest_node){0};
        n->dir = lktest_tmpdir();
        char *text = lk_asprintf("RootDir = '%s/root'\n[WebServer]\nHTTPPort = 0\n%s", n->dir,
                                 extra_config ? extra_config : "");
        n->config = lktest_write_file(n->dir, "linkd.toml", text);
        lk_free(text);
        text = lk_asprintf("%s\n%s\n", email, password);
        n->api = lktest_write_file(n->dir, "api.txt", text);
        lk_free(text);
        chmod(n->api, 0600);
}

void lktest_node_use_postgres(lktest_node *n) {
        n->pg_url = lktest_pg_create_db();
        char *text = lk_asprintf("[Database]\nURL = '%s'\n", n->pg_url);
        n->secrets = lktest_write_file(n->dir, "secrets.toml", text);
        lk_free(text);
        chmod(n->secrets, 0600);
}

void lktest_node_set_password(lktest_node *n, const char *password) {
        lk_free(n->password);
        n->password = lktest_write_file(n->dir, "password.txt", password);
        chmod(n->password, 0600);
}

void lktest_node_start(lktest_node *n) {
        const char *argv[10] = {"node", "start", "--config", n->config, "--api", n->api};
        int argc = 6;
        if (n->password) {
                argv[argc++] = "--password";
                argv[argc++] = n->password;
        }
        if (n->secrets) {
                argv[argc++] = "--secrets";
                argv[argc++] = n->secrets;
        }
        lktest_proc_done(&n->proc); /* the previous run's, after a stop */
        lktest_proc_start(&n->proc, n->dir, argv, NULL);
        char *line = lktest_proc_wait_log(&n->proc, "API listening", STARTUP_LIMIT);
        if (!line) {
                char *log = lktest_read_file(n->proc.log_path);
                fail_msg("linkd did not start; its log:\n%s", log ? log : "(none)");
        }
        n->port = lktest_port_from_log(line);
        lk_free(line);
}

void lktest_node_stop(lktest_node *n) {
        kill(n->proc.pid, SIGTERM);
        assert_true(lktest_proc_wait(&n->proc, 10 * LK_USEC_PER_SEC));
        assert_int_equal(n->proc.exit_status, 0);
}

void lktest_node_done(lktest_node *n) {
        lktest_proc_done(&n->proc);
        lktest_pg_drop_db(n->pg_url);
        lk_free(n->config);
        lk_free(n->api);
        lk_free(n->secrets);
        lk_free(n->password);
        lktest_rmrf(n->dir);
        *n = (lktest_node){0};
}

lktest_http lktest_node_call(lktest_node *n, const char *cookie, const char *method, const char *path,
                             const char *body) {
        char *url = lk_asprintf("http://127.0.0.1:%u%s", n->port, path);
        char *cookie_header = cookie ? lk_asprintf("Cookie: clsession=%s", cookie) : NULL;
        const char *headers[] = {"Content-Type: application/json", cookie_header, NULL};
        lktest_http r;
        if (lktest_http_send(method, url, headers, body ? body : "", body ? strlen(body) : 0, &r) < 0)
                fail_msg("no answer from %s", url);
        lk_free(url);
        lk_free(cookie_header);
        return r;
}

char *lktest_node_login(lktest_node *n, const char *email, const char *password) {
        char *body = lk_asprintf("{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
        lktest_http r = lktest_node_call(n, NULL, "POST", "/sessions", body);
        lk_free(body);
        if (r.status != 200)
                fail_msg("login %s: %ld %s", email, r.status, r.body);
        char *set_cookie = lktest_http_header(&r, "Set-Cookie");
        if (!set_cookie || strncmp(set_cookie, "clsession=", 10) != 0)
                fail_msg("login %s: no session cookie", email);
        char *token = lk_strndup(set_cookie + 10, strcspn(set_cookie + 10, ";"));
        lk_free(set_cookie);
        lktest_http_done(&r);
        return token;
}
