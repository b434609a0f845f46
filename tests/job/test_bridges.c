/* Bridges and external initiators in the store, on SQLite and PostgreSQL:
 * Chainlink's name and URL rules, paging, tokens shown once and kept as
 * digests, and the external initiators' authentication. */
#include "lktest.h"
#include "test_db.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/bridges.h"
#include "linkd/config.h"
#include "linkd/store.h"

typedef lktest_db fixture;

static void assert_error(int got, int want_code, const lk_err *err, const char *want_msg) {
        assert_int_equal(got, want_code);
        assert_string_equal(err->msg, want_msg);
}

static void create_bridge(fixture *f, const char *name, const char *url, lk_bridge *ret,
                          char token[static LK_BRIDGE_TOKEN_LEN + 1]) {
        lk_err err = LK_ERR_INIT;
        lk_bridge_request q = {.name = name, .url = url};
        if (lk_bridge_create(f->store, &q, ret, token, &err) < 0)
                fail_msg("create %s: %s", name, err.msg);
}

/* ---- without a store ---- */

static void names_and_urls_are_checked(void **state) {
        (void)state;
        char *name = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_bridge_name_parse("My_Bridge-1", &name, &err), 0);
        assert_string_equal(name, "my_bridge-1");
        lk_free(name);
        name = NULL;
        assert_error(lk_bridge_name_parse("", &name, &err), -EINVAL, &err, "No name specified");
        assert_error(lk_bridge_name_parse("two words", &name, &err), -EINVAL, &err,
                     "task type validation: name two words contains invalid characters");
        assert_int_equal(lk_bridge_name_parse("caf\xc3\xa9", &name, &err), -EINVAL);
        assert_int_equal(lk_bridge_name_parse("a/b", &name, &err), -EINVAL);
        assert_null(name);

        assert_int_equal(lk_bridge_url_check("http://adapter:8080/path?x=1", &err), 0);
        assert_int_equal(lk_bridge_url_check("HTTPS://[::1]:443/", &err), 0);
        assert_error(lk_bridge_url_check("", &err), -EINVAL, &err, "URL must be present");
        assert_error(lk_bridge_url_check("ftp://adapter/", &err), -EINVAL, &err,
                     "invalid URL: the scheme must be http or https");
        assert_int_equal(lk_bridge_url_check("adapter:8080", &err), -EINVAL);
        assert_int_equal(lk_bridge_url_check("http://", &err), -EINVAL);
        assert_int_equal(lk_bridge_url_check("http://a b/", &err), -EINVAL);
        /* the URL may hold credentials: messages never repeat it */
        assert_int_equal(lk_bridge_url_check("gopher://user:hunter2@adapter/", &err), -EINVAL);
        assert_null(strstr(err.msg, "hunter2"));

        assert_int_equal(lk_external_initiator_name_check("EI-1_x", &err), 0);
        assert_error(lk_external_initiator_name_check("", &err), -EINVAL, &err, "No name specified");
        assert_error(lk_external_initiator_name_check("e.i", &err), -EINVAL, &err,
                     "Name must be alphanumeric and may contain '_' or '-'");
}

/* ---- bridges ---- */

static void bridges_are_created_read_updated_and_deleted(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        lk_bridge b, got;
        char token[LK_BRIDGE_TOKEN_LEN + 1];
        lk_bridge_request q = {.name = "Price_Feed", .url = "http://adapter:8080/", .confirmations = 3,
                               .minimum_contract_payment = "000100"};
        lk_usec before = lk_now_realtime();
        assert_int_equal(lk_bridge_create(f->store, &q, &b, token, &err), 0);
        assert_string_equal(b.name, "price_feed");
        assert_string_equal(b.url, "http://adapter:8080/");
        assert_int_equal(b.confirmations, 3);
        assert_string_equal(b.minimum_contract_payment, "100");
        assert_int_equal(strlen(token), LK_BRIDGE_TOKEN_LEN);
        assert_int_equal(strlen(b.outgoing_token), LK_BRIDGE_TOKEN_LEN);
        assert_string_not_equal(token, b.outgoing_token);
        assert_true(b.created_at >= before - LK_USEC_PER_SEC && b.created_at <= lk_now_realtime() + LK_USEC_PER_SEC);

        /* names are looked up regardless of case */
        assert_int_equal(lk_bridge_get(f->store, "PRICE_feed", &got, &err), 0);
        assert_string_equal(got.name, "price_feed");
        assert_string_equal(got.outgoing_token, b.outgoing_token);
        assert_string_equal(got.minimum_contract_payment, "100");
        lk_bridge_done(&got);

        q.name = "price_FEED";
        assert_error(lk_bridge_create(f->store, &q, &got, token, &err), -EEXIST, &err,
                     "Bridge Type price_feed already exists");

        lk_bridge_request u = {.url = "https://other:9/", .confirmations = 7};
        assert_int_equal(lk_bridge_update(f->store, "price_feed", &u, &got, &err), 0);
        assert_string_equal(got.url, "https://other:9/");
        assert_int_equal(got.confirmations, 7);
        assert_null(got.minimum_contract_payment);
        assert_string_equal(got.outgoing_token, b.outgoing_token);
        assert_true(got.updated_at >= got.created_at);
        lk_bridge_done(&got);
        u.minimum_contract_payment = "-5";
        assert_error(lk_bridge_update(f->store, "price_feed", &u, &got, &err), -EINVAL, &err,
                     "MinimumContractPayment must be positive");
        u.minimum_contract_payment = "1.5";
        assert_int_equal(lk_bridge_update(f->store, "price_feed", &u, &got, &err), -EINVAL);
        u.minimum_contract_payment = NULL;
        u.url = "mailto:x@example.com";
        assert_int_equal(lk_bridge_update(f->store, "price_feed", &u, &got, &err), -EINVAL);
        u.url = "http://x/";
        assert_error(lk_bridge_update(f->store, "nobody", &u, &got, &err), -ENOENT, &err, "bridge not found");

        assert_int_equal(lk_bridge_delete(f->store, "Price_Feed", &err), 0);
        assert_error(lk_bridge_get(f->store, "price_feed", &got, &err), -ENOENT, &err, "bridge not found");
        assert_error(lk_bridge_delete(f->store, "price_feed", &err), -ENOENT, &err, "bridge not found");
        assert_int_equal(lk_bridge_get(f->store, "bad name", &got, &err), -EINVAL);
        lk_bridge_done(&b);
        lk_bridge_done(NULL);
        assert_null(lk_bridges_free(NULL, 0));
}

static void a_big_payment_survives_the_round_trip(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        lk_bridge b, got;
        char token[LK_BRIDGE_TOKEN_LEN + 1];
        const char *max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        lk_bridge_request q = {.name = "big", .url = "http://a/", .confirmations = UINT32_MAX,
                               .minimum_contract_payment = max};
        assert_int_equal(lk_bridge_create(f->store, &q, &b, token, &err), 0);
        assert_int_equal(lk_bridge_get(f->store, "big", &got, &err), 0);
        assert_string_equal(got.minimum_contract_payment, max);
        assert_int_equal(got.confirmations, UINT32_MAX);
        lk_bridge_done(&got);
        lk_bridge_done(&b);
        q.name = "bigger";
        q.minimum_contract_payment = "1157920892373161954235709850086879078532699846656405640394575840079131296399350";
        assert_int_equal(lk_bridge_create(f->store, &q, &b, token, &err), -EINVAL);
}

static void bridges_are_listed_in_pages(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        char token[LK_BRIDGE_TOKEN_LEN + 1];
        const char *names[] = {"echo", "alpha", "delta", "charlie", "bravo"};
        for (size_t i = 0; i < 5; i++) {
                lk_bridge b;
                create_bridge(f, names[i], "http://adapter/", &b, token);
                lk_bridge_done(&b);
        }
        lk_bridge *items;
        size_t count;
        int64_t total;
        assert_int_equal(lk_bridge_list(f->store, 1, 2, &items, &count, &total, &err), 0);
        assert_int_equal(total, 5);
        assert_int_equal(count, 2);
        assert_string_equal(items[0].name, "alpha");
        assert_string_equal(items[1].name, "bravo");
        lk_bridges_free(items, count);
        assert_int_equal(lk_bridge_list(f->store, 3, 2, &items, &count, &total, &err), 0);
        assert_int_equal(count, 1);
        assert_string_equal(items[0].name, "echo");
        lk_bridges_free(items, count);
        assert_int_equal(lk_bridge_list(f->store, 4, 2, &items, &count, &total, &err), 0);
        assert_int_equal(count, 0);
        assert_int_equal(total, 5);
        lk_bridges_free(items, count);
        assert_int_equal(lk_bridge_list(f->store, 1, 0, &items, &count, &total, &err), -EINVAL);
        assert_int_equal(lk_bridge_list(f->store, 1, LK_PAGE_MAX_SIZE + 1, &items, &count, &total, &err), -EINVAL);
        assert_int_equal(lk_bridge_list(f->store, 0, 10, &items, &count, &total, &err), -EINVAL);
        assert_int_equal(lk_bridge_list(f->store, INT64_MAX, 10, &items, &count, &total, &err), -EINVAL);
}

/* ---- external initiators ---- */

static void initiators_are_created_found_and_deleted(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        lk_external_initiator ei, got;
        char secret[LK_EI_SECRET_LEN + 1], secret2[LK_EI_SECRET_LEN + 1];
        assert_int_equal(lk_external_initiator_create(f->store, "My-EI", "https://ei.example.com/jobs", &ei, secret,
                                                      &err),
                         0);
        assert_string_equal(ei.name, "my-ei");
        assert_string_equal(ei.url, "https://ei.example.com/jobs");
        assert_int_equal(strlen(ei.access_key), LK_EI_ACCESS_KEY_LEN);
        assert_int_equal(strlen(secret), LK_EI_SECRET_LEN);
        assert_true(ei.id > 0);
        assert_non_null(ei.outgoing_token);
        assert_non_null(ei.outgoing_secret);
        assert_string_not_equal(ei.outgoing_token, ei.outgoing_secret);

        assert_error(lk_external_initiator_create(f->store, "MY-ei", NULL, &got, secret2, &err), -EEXIST, &err,
                     "Name my-ei already exists");
        assert_int_equal(lk_external_initiator_create(f->store, "bad name", NULL, &got, secret2, &err), -EINVAL);
        assert_int_equal(lk_external_initiator_create(f->store, "x", "ftp://x/", &got, secret2, &err), -EINVAL);
        assert_int_equal(lk_external_initiator_create(f->store, "no_url", NULL, &got, secret2, &err), 0);
        assert_null(got.url);
        lk_external_initiator_done(&got);

        bool exists = false;
        assert_int_equal(lk_external_initiator_exists(f->store, "My-EI", &exists, &err), 0);
        assert_true(exists);
        assert_int_equal(lk_external_initiator_exists(f->store, "other", &exists, &err), 0);
        assert_false(exists);
        assert_int_equal(lk_external_initiator_get(f->store, "my-ei", &got, &err), 0);
        assert_string_equal(got.access_key, ei.access_key);
        assert_string_equal(got.outgoing_secret, ei.outgoing_secret);
        lk_external_initiator_done(&got);

        lk_external_initiator *items;
        size_t count;
        int64_t total;
        assert_int_equal(lk_external_initiator_list(f->store, 1, 1, &items, &count, &total, &err), 0);
        assert_int_equal(total, 2);
        assert_int_equal(count, 1);
        assert_string_equal(items[0].name, "my-ei");
        lk_external_initiators_free(items, count);
        assert_int_equal(lk_external_initiator_list(f->store, 2, 1, &items, &count, &total, &err), 0);
        assert_string_equal(items[0].name, "no_url");
        lk_external_initiators_free(items, count);
        assert_int_equal(lk_external_initiator_list(f->store, 1, 0, &items, &count, &total, &err), -EINVAL);

        assert_int_equal(lk_external_initiator_delete(f->store, "MY-EI", &err), 0);
        assert_error(lk_external_initiator_delete(f->store, "my-ei", &err), -ENOENT, &err,
                     "external initiator not found");
        assert_int_equal(lk_external_initiator_get(f->store, "my-ei", &got, &err), -ENOENT);
        assert_int_equal(lk_external_initiator_exists(f->store, "my-ei", &exists, &err), 0);
        assert_false(exists);
        lk_external_initiator_done(&ei);
        lk_external_initiator_done(NULL);
        assert_null(lk_external_initiators_free(NULL, 0));
}

static void initiators_authenticate(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        lk_external_initiator a, b;
        char secret_a[LK_EI_SECRET_LEN + 1], secret_b[LK_EI_SECRET_LEN + 1];
        assert_int_equal(lk_external_initiator_create(f->store, "ei_a", NULL, &a, secret_a, &err), 0);
        assert_int_equal(lk_external_initiator_create(f->store, "ei_b", NULL, &b, secret_b, &err), 0);
        char *name = NULL;
        assert_int_equal(lk_external_initiator_authenticate(f->store, a.access_key, secret_a, &name, &err), 0);
        assert_string_equal(name, "ei_a");
        lk_free(name);
        name = NULL;
        assert_int_equal(lk_external_initiator_authenticate(f->store, b.access_key, secret_b, &name, &err), 0);
        assert_string_equal(name, "ei_b");
        lk_free(name);
        name = NULL;
        assert_error(lk_external_initiator_authenticate(f->store, a.access_key, secret_b, &name, &err), -EACCES,
                     &err, "invalid external initiator credentials");
        assert_int_equal(lk_external_initiator_authenticate(f->store, "unknown", secret_a, &name, &err), -EACCES);
        assert_int_equal(lk_external_initiator_authenticate(f->store, a.access_key, "", &name, &err), -EACCES);
        assert_int_equal(lk_external_initiator_authenticate(f->store, NULL, secret_a, &name, &err), -EACCES);
        assert_int_equal(lk_external_initiator_authenticate(f->store, a.access_key, a.outgoing_secret, &name, &err),
                         -EACCES);
        assert_null(name);
        /* a deleted initiator authenticates no more */
        assert_int_equal(lk_external_initiator_delete(f->store, "ei_a", &err), 0);
        assert_int_equal(lk_external_initiator_authenticate(f->store, a.access_key, secret_a, &name, &err), -EACCES);
        lk_external_initiator_done(&a);
        lk_external_initiator_done(&b);
}

/* ---- at rest ---- */

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

/* The incoming token and the initiator's secret are kept as digests; the
 * outgoing token (linkd must present it) is there, so the search works. */
static void incoming_secrets_are_not_stored_in_the_clear(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        lk_bridge b;
        lk_external_initiator ei;
        char token[LK_BRIDGE_TOKEN_LEN + 1], secret[LK_EI_SECRET_LEN + 1];
        create_bridge(f, "stored", "http://a/", &b, token);
        assert_int_equal(lk_external_initiator_create(f->store, "stored_ei", NULL, &ei, secret, &err), 0);
        lk_service_close(lk_store_service(f->store), NULL);
        char *path = lk_asprintf("%s/linkd.db", f->dir);
        char *wal = lk_asprintf("%s/linkd.db-wal", f->dir);
        const char *files[] = {path, wal};
        bool outgoing_seen = false, key_seen = false;
        for (int i = 0; i < 2; i++) {
                size_t len;
                char *content = read_all(files[i], &len);
                if (!content)
                        continue;
                assert_null(memmem(content, len, token, LK_BRIDGE_TOKEN_LEN));
                assert_null(memmem(content, len, secret, LK_EI_SECRET_LEN));
                outgoing_seen |= memmem(content, len, b.outgoing_token, LK_BRIDGE_TOKEN_LEN) != NULL;
                key_seen |= memmem(content, len, ei.access_key, LK_EI_ACCESS_KEY_LEN) != NULL;
                lk_free(content);
        }
        assert_true(outgoing_seen);
        assert_true(key_seen);
        lk_free(path);
        lk_free(wal);
        lk_bridge_done(&b);
        /* reopened for the teardown, and the secret still works */
        lk_store_free(f->store);
        lktest_db_open(f);
        char *name = NULL;
        assert_int_equal(lk_external_initiator_authenticate(f->store, ei.access_key, secret, &name, &err), 0);
        assert_string_equal(name, "stored_ei");
        lk_free(name);
        lk_external_initiator_done(&ei);
}

#define BOTH(test) LKTEST_BOTH_BACKENDS(test)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(names_and_urls_are_checked),
                BOTH(bridges_are_created_read_updated_and_deleted),
                BOTH(a_big_payment_survives_the_round_trip),
                BOTH(bridges_are_listed_in_pages),
                BOTH(initiators_are_created_found_and_deleted),
                BOTH(initiators_authenticate),
                cmocka_unit_test_prestate_setup_teardown(incoming_secrets_are_not_stored_in_the_clear,
                                                         lktest_db_setup, lktest_db_teardown, &lktest_sqlite_backend),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
