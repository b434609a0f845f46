/* Black-box: bridges and external initiators through the real linkd's API
 * — roles (401 anonymous, 403 too low), Chainlink's JSON:API shapes and
 * paging, 201/404/409/422, the incoming token and the initiator's secret
 * shown once, kept as digests, never logged, and the secret authenticating
 * against the database the node leaves. */
#include "lktest.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "linkd/alloc.h"
#include "test_node.h"
#include "linkd/bridges.h"
#include "linkd/config.h"
#include "linkd/store.h"

#define ADMIN "admin@example.com"
#define ADMIN_PASSWORD "two-operators-walk-into-a-bar"
#define USER_PASSWORD "just-looking-around-1"

typedef struct fixture {
        lktest_node node;
        char *admin, *editor, *runner, *viewer; /* session cookies */
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        lktest_node_init(&f->node, NULL, ADMIN, ADMIN_PASSWORD);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lktest_node_done(&f->node);
        lk_free(f->admin);
        lk_free(f->editor);
        lk_free(f->runner);
        lk_free(f->viewer);
        lk_free(f);
        return 0;
}

static lktest_http call(fixture *f, const char *method, const char *path, const char *cookie, const char *body) {
        return lktest_node_call(&f->node, cookie, method, path, body);
}

/* The answer's body, after checking its status and that it holds part. */
static char *expect(fixture *f, const char *method, const char *path, const char *cookie, const char *body,
                    long status, const char *part) {
        lktest_http r = call(f, method, path, cookie, body);
        if (r.status != status || (part && !strstr(r.body, part)))
                fail_msg("%s %s: got %ld %s, want %ld with %s", method, path, r.status, r.body, status,
                         part ? part : "any body");
        char *copy = lk_strdup(r.body);
        lktest_http_done(&r);
        return copy;
}

static void check(fixture *f, const char *method, const char *path, const char *cookie, const char *body, long status,
                  const char *part) {
        lk_free(expect(f, method, path, cookie, body, status, part));
}

static char *log_in(fixture *f, const char *email, const char *password) {
        return lktest_node_login(&f->node, email, password);
}

static char *user(fixture *f, const char *email, const char *role) {
        char *body = lk_asprintf("{\"email\":\"%s\",\"password\":\"" USER_PASSWORD "\",\"role\":\"%s\"}", email, role);
        check(f, "POST", "/v2/users", f->admin, body, 201, NULL);
        lk_free(body);
        return log_in(f, email, USER_PASSWORD);
}

/* Starts the node and logs in one user of each role but run's. */
static void start_node(fixture *f) {
        lktest_node_start(&f->node);
        f->admin = log_in(f, ADMIN, ADMIN_PASSWORD);
        f->editor = user(f, "editor@example.com", "edit");
        f->runner = user(f, "runner@example.com", "run");
        f->viewer = user(f, "viewer@example.com", "view");
}

static void stop_node(fixture *f) {
        lktest_node_stop(&f->node);
}

static char *json_field(const char *body, const char *name) {
        char *needle = lk_asprintf("\"%s\":\"", name);
        const char *p = strstr(body, needle);
        if (!p)
                fail_msg("no %s in %s", name, body);
        p += strlen(needle);
        lk_free(needle);
        return lk_strndup(p, strcspn(p, "\""));
}

static char *read_all(const char *path, size_t *ret_len) {
        FILE *fp = fopen(path, "rb");
        if (!fp)
                return NULL;
        lk_buf b = LK_BUF_INIT;
        char chunk[65536];
        for (size_t n; (n = fread(chunk, 1, sizeof chunk, fp)) > 0;)
                lk_buf_append(&b, chunk, n);
        fclose(fp);
        return lk_buf_steal(&b, ret_len);
}

/* Neither the log nor the database files hold secret. */
static void assert_nowhere(fixture *f, const char *secret) {
        char *log = lktest_read_file(f->node.proc.log_path);
        assert_null(strstr(log, secret));
        lk_free(log);
        const char *suffixes[] = {"", "-wal"};
        for (int i = 0; i < 2; i++) {
                char *path = lk_asprintf("%s/root/linkd.db%s", f->node.dir, suffixes[i]);
                size_t len;
                char *content = read_all(path, &len);
                if (content)
                        assert_null(memmem(content, len, secret, strlen(secret)));
                assert_true(content || i == 1);
                lk_free(content);
                lk_free(path);
        }
}

/* ---- bridges ---- */

static void bridge_roles_and_bodies(fixture *f) {
        const char *good = "{\"name\":\"x\",\"url\":\"http://127.0.0.1:9/\"}";
        check(f, "GET", "/v2/bridge_types", NULL, NULL, 401, "Unauthorized");
        check(f, "POST", "/v2/bridge_types", NULL, good, 401, NULL);
        check(f, "POST", "/v2/bridge_types", f->viewer, good, 403, "Forbidden");
        check(f, "POST", "/v2/bridge_types", f->runner, good, 403, NULL);
        check(f, "PATCH", "/v2/bridge_types/x", f->viewer, good, 403, NULL);
        check(f, "DELETE", "/v2/bridge_types/x", f->viewer, NULL, 403, NULL);
        check(f, "POST", "/v2/bridge_types", f->editor, "{\"name\":\"x\",", 422, "invalid JSON body");
        check(f, "POST", "/v2/bridge_types", f->editor, "[1]", 422, "expected an object");
        check(f, "POST", "/v2/bridge_types", f->editor, "{\"name\":\"x\",\"url\":\"http://a/\",\"admin\":1}", 422,
              "unknown field");
        check(f, "POST", "/v2/bridge_types", f->editor, "{\"url\":\"http://a/\"}", 422, "\\\"name\\\" must be a string");
        check(f, "POST", "/v2/bridge_types", f->editor, "{\"name\":\"bad name\",\"url\":\"http://a/\"}", 422,
              "contains invalid characters");
        check(f, "POST", "/v2/bridge_types", f->editor, "{\"name\":\"x\",\"url\":\"ftp://a/\"}", 422,
              "must be http or https");
        check(f, "POST", "/v2/bridge_types", f->editor, "{\"name\":\"x\",\"url\":\"http://a/\",\"confirmations\":-1}",
              422, "confirmations");
        check(f, "POST", "/v2/bridge_types", f->editor,
              "{\"name\":\"x\",\"url\":\"http://a/\",\"confirmations\":4294967296}", 422, "confirmations");
        check(f, "POST", "/v2/bridge_types", f->editor,
              "{\"name\":\"x\",\"url\":\"http://a/\",\"minimumContractPayment\":\"-1\"}", 422,
              "MinimumContractPayment must be positive");
        check(f, "POST", "/v2/bridge_types", f->editor,
              "{\"name\":\"x\",\"url\":\"http://a/\",\"minimumContractPayment\":100}", 422, "must be a string");
        /* none of the refused ones was kept */
        check(f, "GET", "/v2/bridge_types", f->viewer, NULL, 200, "\"meta\":{\"count\":0}");
}

static void bridges(void **state) {
        fixture *f = *state;
        start_node(f);
        bridge_roles_and_bodies(f);

        char *created = expect(f, "POST", "/v2/bridge_types", f->editor,
                               "{\"name\":\"Price_Feed\",\"url\":\"http://127.0.0.1:9/price\",\"confirmations\":2,"
                               "\"minimumContractPayment\":\"100\"}",
                               201, "{\"data\":{\"type\":\"bridges\",\"id\":\"price_feed\",\"attributes\":");
        assert_non_null(strstr(created, "\"confirmations\":2"));
        assert_non_null(strstr(created, "\"minimumContractPayment\":\"100\""));
        char *token = json_field(created, "incomingToken"), *outgoing = json_field(created, "outgoingToken");
        assert_int_equal(strlen(token), LK_BRIDGE_TOKEN_LEN);
        lk_free(created);
        check(f, "POST", "/v2/bridge_types", f->admin, "{\"name\":\"PRICE_FEED\",\"url\":\"http://a/\"}", 409,
              "Bridge Type price_feed already exists");

        /* read back: no incoming token ever again */
        char *shown = expect(f, "GET", "/v2/bridge_types/Price_Feed", f->viewer, NULL, 200, "\"name\":\"price_feed\"");
        assert_null(strstr(shown, "incomingToken"));
        assert_null(strstr(shown, token));
        assert_non_null(strstr(shown, outgoing));
        lk_free(shown);
        check(f, "GET", "/v2/bridge_types/nobody", f->viewer, NULL, 404, "bridge not found");
        check(f, "GET", "/v2/bridge_types/bad.name", f->viewer, NULL, 422, "contains invalid characters");
        check(f, "GET", "/v2/bridge_types/a/b", f->viewer, NULL, 404, NULL);
        check(f, "GET", "/v2/bridge_typesx", f->viewer, NULL, 404, NULL);

        /* pages */
        check(f, "POST", "/v2/bridge_types", f->editor, "{\"name\":\"alpha\",\"url\":\"http://a/\"}", 201, NULL);
        check(f, "POST", "/v2/bridge_types", f->editor, "{\"name\":\"zulu\",\"url\":\"https://z/\"}", 201, NULL);
        char *page1 = expect(f, "GET", "/v2/bridge_types?page=1&size=2", f->viewer, NULL, 200,
                             "\"links\":{\"next\":\"/v2/bridge_types?page=2&size=2\"}");
        assert_non_null(strstr(page1, "\"meta\":{\"count\":3}"));
        assert_true(strstr(page1, "\"id\":\"alpha\"") < strstr(page1, "\"id\":\"price_feed\""));
        assert_null(strstr(page1, "zulu"));
        lk_free(page1);
        char *page2 = expect(f, "GET", "/v2/bridge_types?page=2&size=2", f->viewer, NULL, 200,
                             "\"links\":{\"prev\":\"/v2/bridge_types?page=1&size=2\"}");
        assert_non_null(strstr(page2, "\"id\":\"zulu\""));
        assert_null(strstr(page2, "alpha"));
        lk_free(page2);
        char *all = expect(f, "GET", "/v2/bridge_types", f->viewer, NULL, 200, "\"meta\":{\"count\":3}");
        assert_null(strstr(all, "\"links\""));
        assert_non_null(strstr(all, "zulu"));
        lk_free(all);
        check(f, "GET", "/v2/bridge_types?size=0", f->viewer, NULL, 422, "invalid size param");
        check(f, "GET", "/v2/bridge_types?size=1001", f->viewer, NULL, 422, "invalid size param");
        check(f, "GET", "/v2/bridge_types?page=abc", f->viewer, NULL, 422, "invalid page param");

        /* update */
        check(f, "PATCH", "/v2/bridge_types/price_feed", f->editor,
              "{\"url\":\"https://127.0.0.1:9/v2\",\"confirmations\":5,\"minimumContractPayment\":\"7\"}", 200,
              "\"confirmations\":5");
        char *updated = expect(f, "GET", "/v2/bridge_types/price_feed", f->viewer, NULL, 200,
                               "\"url\":\"https://127.0.0.1:9/v2\"");
        assert_non_null(strstr(updated, "\"minimumContractPayment\":\"7\""));
        lk_free(updated);
        check(f, "PATCH", "/v2/bridge_types/nobody", f->editor, "{\"url\":\"http://a/\"}", 404, "bridge not found");
        check(f, "PATCH", "/v2/bridge_types/price_feed", f->editor, "{\"url\":\"nope\"}", 422, "invalid URL");
        check(f, "PATCH", "/v2/bridge_types/price_feed", f->editor, "{\"url\":\"http://a/\",\"outgoingToken\":\"x\"}",
              422, "unknown field");
        check(f, "PATCH", "/v2/bridge_types", f->editor, "{\"url\":\"http://a/\"}", 404, NULL);

        /* delete */
        check(f, "DELETE", "/v2/bridge_types/alpha", f->editor, NULL, 200, "\"id\":\"alpha\"");
        check(f, "DELETE", "/v2/bridge_types/alpha", f->editor, NULL, 404, "bridge not found");
        check(f, "GET", "/v2/bridge_types", f->viewer, NULL, 200, "\"meta\":{\"count\":2}");

        stop_node(f);
        assert_nowhere(f, token);
        lk_free(token);
        lk_free(outgoing);
}

/* ---- external initiators ---- */

static void initiator_roles_and_bodies(fixture *f) {
        const char *good = "{\"name\":\"ei\"}";
        check(f, "GET", "/v2/external_initiators", NULL, NULL, 401, NULL);
        check(f, "POST", "/v2/external_initiators", NULL, good, 401, "Unauthorized");
        check(f, "POST", "/v2/external_initiators", f->viewer, good, 403, "Forbidden");
        check(f, "POST", "/v2/external_initiators", f->runner, good, 403, NULL);
        check(f, "DELETE", "/v2/external_initiators/ei", f->viewer, NULL, 403, NULL);
        check(f, "POST", "/v2/external_initiators", f->editor, "{", 422, "invalid JSON body");
        check(f, "POST", "/v2/external_initiators", f->editor, "{\"url\":\"http://a/\"}", 422, "\\\"name\\\"");
        check(f, "POST", "/v2/external_initiators", f->editor, "{\"name\":\"bad name\"}", 422,
              "Name must be alphanumeric and may contain '_' or '-'");
        check(f, "POST", "/v2/external_initiators", f->editor, "{\"name\":\"\"}", 422, "No name specified");
        check(f, "POST", "/v2/external_initiators", f->editor, "{\"name\":\"ei\",\"url\":5}", 422, "\\\"url\\\"");
        check(f, "POST", "/v2/external_initiators", f->editor, "{\"name\":\"ei\",\"secret\":\"x\"}", 422,
              "unknown field");
        check(f, "GET", "/v2/external_initiators", f->viewer, NULL, 200, "\"meta\":{\"count\":0}");
}

/* The credentials the API handed out work against the node's database. */
static void assert_authenticates(fixture *f, const char *key, const char *secret, const char *want_name) {
        lk_config cfg;
        lk_config_init(&cfg);
        lk_free(cfg.root_dir);
        cfg.root_dir = lk_asprintf("%s/root", f->node.dir);
        lk_config_finish(&cfg, NULL);
        lk_store *store;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_new(&(lk_store_options){.config = &cfg}, &store, &err), 0);
        assert_int_equal(lk_store_open(store, &err), 0);
        char *name = NULL;
        if (lk_external_initiator_authenticate(store, key, secret, &name, &err) < 0)
                fail_msg("authenticate: %s", err.msg);
        assert_string_equal(name, want_name);
        lk_free(name);
        name = NULL;
        assert_int_equal(lk_external_initiator_authenticate(store, key, key, &name, &err), -EACCES);
        assert_int_equal(lk_external_initiator_authenticate(store, secret, secret, &name, &err), -EACCES);
        assert_null(name);
        lk_store_close(store);
        lk_store_free(store);
        lk_config_done(&cfg);
}

static void external_initiators(void **state) {
        fixture *f = *state;
        start_node(f);
        initiator_roles_and_bodies(f);

        char *created = expect(f, "POST", "/v2/external_initiators", f->editor,
                               "{\"name\":\"My-EI\",\"url\":\"http://127.0.0.1:9/jobs\"}", 201,
                               "{\"data\":{\"type\":\"external initiators\",\"id\":\"my-ei\",\"attributes\":");
        char *key = json_field(created, "incomingAccessKey"), *secret = json_field(created, "incomingSecret");
        char *outgoing = json_field(created, "outgoingSecret");
        assert_int_equal(strlen(key), LK_EI_ACCESS_KEY_LEN);
        assert_int_equal(strlen(secret), LK_EI_SECRET_LEN);
        assert_non_null(strstr(created, "\"url\":\"http://127.0.0.1:9/jobs\""));
        lk_free(created);
        check(f, "POST", "/v2/external_initiators", f->admin, "{\"name\":\"my-ei\"}", 409, "Name my-ei already exists");
        check(f, "POST", "/v2/external_initiators", f->admin, "{\"name\":\"no_url\",\"url\":null}", 201,
              "\"url\":\"\"");

        char *list = expect(f, "GET", "/v2/external_initiators?size=1", f->viewer, NULL, 200,
                            "\"links\":{\"next\":\"/v2/external_initiators?page=2&size=1\"}");
        assert_non_null(strstr(list, "\"meta\":{\"count\":2}"));
        assert_non_null(strstr(list, "{\"type\":\"externalInitiators\",\"id\":\"my-ei\""));
        assert_non_null(strstr(list, key));
        assert_null(strstr(list, secret));
        assert_null(strstr(list, outgoing));
        lk_free(list);
        check(f, "GET", "/v2/external_initiators?page=2&size=1", f->viewer, NULL, 200, "\"url\":null");
        check(f, "GET", "/v2/external_initiators/my-ei", f->viewer, NULL, 404, NULL);

        check(f, "DELETE", "/v2/external_initiators/no_url", f->editor, NULL, 204, NULL);
        check(f, "DELETE", "/v2/external_initiators/no_url", f->editor, NULL, 404, "external initiator not found");
        check(f, "GET", "/v2/external_initiators", f->viewer, NULL, 200, "\"meta\":{\"count\":1}");

        stop_node(f);
        assert_nowhere(f, secret);
        assert_authenticates(f, key, secret, "my-ei");
        lk_free(key);
        lk_free(secret);
        lk_free(outgoing);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(bridges, setup, teardown),
                cmocka_unit_test_setup_teardown(external_initiators, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
