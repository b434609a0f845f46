/* Test helpers (see lktest.h). */
#include "lktest.h"

#include "linkd/hex.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/health.h"
#include "linkd/value.h"

extern char **environ;

const char *lktest_env(const char *name) {
        const char *v = getenv(name);
        if (!v || !*v)
                fail_msg("environment variable %s is not set (run the tests through scripts/run-tests)", name);
        return v;
}

char *lktest_tmpdir(void) {
        const char *base = getenv("TMPDIR");
        char *path = lk_asprintf("%s/linkd-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(path))
                fail_msg("mkdtemp: %s", strerror(errno));
        return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

void lktest_rmrf(char *path) {
        if (!path)
                return;
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        lk_free(path);
}

char *lktest_write_file(const char *dir, const char *name, const char *content) {
        char *path = lk_asprintf("%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
        return path;
}

char *lktest_read_file(const char *path) {
        FILE *f = fopen(path, "r");
        if (!f)
                return NULL;
        lk_buf buf = LK_BUF_INIT;
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
                lk_buf_append(&buf, chunk, n);
        fclose(f);
        return lk_buf_steal(&buf, NULL);
}

static size_t collect(char *data, size_t size, size_t count, void *arg) {
        lk_buf_append(arg, data, size * count);
        return size * count;
}

int lktest_http_request(const char *method, const char *url, const char *const *headers, lktest_http *ret) {
        return lktest_http_send(method, url, headers, NULL, 0, ret);
}

int lktest_http_send(const char *method, const char *url, const char *const *headers, const char *body_data,
                     size_t body_len, lktest_http *ret) {
        CURL *curl = curl_easy_init();
        assert_non_null(curl);
        lk_buf body = LK_BUF_INIT, head = LK_BUF_INIT;
        struct curl_slist *list = NULL;
        for (size_t i = 0; headers && headers[i]; i++)
                list = curl_slist_append(list, headers[i]);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        if (strcmp(method, "HEAD") == 0)
                curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        if (body_data) {
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body_data);
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body_len);
        }
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &head);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        CURLcode rc = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(list);
        curl_easy_cleanup(curl);
        if (rc != CURLE_OK) {
                lk_buf_done(&body);
                lk_buf_done(&head);
                return -1;
        }
        ret->status = status;
        ret->body = lk_buf_steal(&body, &ret->body_len);
        ret->headers = lk_buf_steal(&head, NULL);
        return 0;
}

void lktest_http_done(lktest_http *response) {
        lk_freep(&response->body);
        lk_freep(&response->headers);
}

char *lktest_http_header(const lktest_http *response, const char *name) {
        size_t n = strlen(name);
        for (const char *line = response->headers; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
                if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
                        const char *v = line + n + 1;
                        v += strspn(v, " ");
                        return lk_strndup(v, strcspn(v, "\r\n"));
                }
        }
        return NULL;
}

char *lktest_raw_exchange(const char *host, unsigned port, const void *data, size_t len, lk_usec timeout) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, host, &addr.sin_addr);
        assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
        for (size_t off = 0; off < len;) {
                ssize_t n = send(fd, (const char *)data + off, len - off, MSG_NOSIGNAL);
                if (n <= 0)
                        break; /* the server may close early on bad input: read what it said */
                off += (size_t)n;
        }
        lk_buf out = LK_BUF_INIT;
        lk_usec until = lk_now_monotonic() + timeout;
        for (;;) {
                lk_usec left = until - lk_now_monotonic();
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (left <= 0 || poll(&p, 1, (int)(left / 1000) + 1) <= 0)
                        break;
                char chunk[4096];
                ssize_t n = recv(fd, chunk, sizeof chunk, 0);
                if (n <= 0)
                        break;
                lk_buf_append(&out, chunk, (size_t)n);
        }
        close(fd);
        return lk_buf_steal(&out, NULL);
}

static char **build_env(const char *const *extra) {
        size_t n = 0, m = 0;
        while (environ[n])
                n++;
        while (extra && extra[m])
                m++;
        char **env = lk_calloc(n + m + 1, sizeof *env);
        for (size_t i = 0; i < n; i++)
                env[i] = environ[i];
        for (size_t i = 0; i < m; i++)
                env[n + i] = (char *)extra[i];
        return env;
}

static char **build_argv(const char *const *argv) {
        size_t n = 0;
        while (argv[n])
                n++;
        char **full = lk_calloc(n + 2, sizeof *full);
        full[0] = (char *)lktest_env("LINKD_BIN");
        for (size_t i = 0; i < n; i++)
                full[i + 1] = (char *)argv[i];
        return full;
}

void lktest_proc_start(lktest_proc *proc, const char *log_dir, const char *const *argv, const char *const *env) {
        static int serial;
        proc->log_path = lk_asprintf("%s/linkd-%d.log", log_dir, ++serial);
        proc->exit_status = -1;
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, proc->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        char **full_argv = build_argv(argv);
        char **full_env = build_env(env);
        int r = posix_spawn(&proc->pid, full_argv[0], &actions, NULL, full_argv, full_env);
        posix_spawn_file_actions_destroy(&actions);
        lk_free(full_argv);
        lk_free(full_env);
        if (r != 0)
                fail_msg("cannot start linkd: %s", strerror(r));
}

static bool reap(lktest_proc *proc, int flags) {
        int status;
        pid_t r = waitpid(proc->pid, &status, flags);
        if (r != proc->pid)
                return false;
        proc->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        proc->pid = 0;
        return true;
}

char *lktest_proc_wait_log(lktest_proc *proc, const char *needle, lk_usec timeout) {
        lk_usec until = lk_now_monotonic() + timeout;
        for (;;) {
                char *log = lktest_read_file(proc->log_path);
                const char *hit = log ? strstr(log, needle) : NULL;
                if (hit) {
                        const char *start = hit;
                        while (start > log && start[-1] != '\n')
                                start--;
                        char *line = lk_strndup(start, strcspn(start, "\n"));
                        lk_free(log);
                        return line;
                }
                lk_free(log);
                if (lk_now_monotonic() > until || (proc->pid && reap(proc, WNOHANG)) || !proc->pid)
                        return NULL;
                usleep(5000);
        }
}

bool lktest_proc_wait(lktest_proc *proc, lk_usec timeout) {
        lk_usec until = lk_now_monotonic() + timeout;
        while (proc->pid) {
                if (reap(proc, WNOHANG))
                        return true;
                if (lk_now_monotonic() > until)
                        return false;
                usleep(5000);
        }
        return true;
}

void lktest_proc_done(lktest_proc *proc) {
        if (proc->pid) {
                kill(proc->pid, SIGKILL);
                reap(proc, 0);
        }
        lk_freep(&proc->log_path);
}

static char *drain(int fd) {
        lk_buf out = LK_BUF_INIT;
        char chunk[4096];
        ssize_t n;
        while ((n = read(fd, chunk, sizeof chunk)) > 0)
                lk_buf_append(&out, chunk, (size_t)n);
        return lk_buf_steal(&out, NULL);
}

int lktest_run_program(const char *program, const char *const *argv, const char *const *env, char **ret_stdout,
                       char **ret_stderr) {
        char *dir = lktest_tmpdir();
        char *out_path = lk_asprintf("%s/stdout", dir), *err_path = lk_asprintf("%s/stderr", dir);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        size_t n = 0;
        while (argv[n])
                n++;
        char **full_argv = lk_calloc(n + 2, sizeof *full_argv);
        full_argv[0] = (char *)program;
        for (size_t i = 0; i < n; i++)
                full_argv[i + 1] = (char *)argv[i];
        char **full_env = build_env(env);
        pid_t pid;
        int r = posix_spawnp(&pid, program, &actions, NULL, full_argv, full_env);
        posix_spawn_file_actions_destroy(&actions);
        lk_free(full_argv);
        lk_free(full_env);
        if (r != 0)
                fail_msg("cannot start %s: %s", program, strerror(r));
        int status;
        waitpid(pid, &status, 0);
        int fd = open(out_path, O_RDONLY);
        char *out = drain(fd);
        close(fd);
        fd = open(err_path, O_RDONLY);
        char *errs = drain(fd);
        close(fd);
        if (ret_stdout)
                *ret_stdout = out;
        else
                lk_free(out);
        if (ret_stderr)
                *ret_stderr = errs;
        else
                lk_free(errs);
        lk_free(out_path);
        lk_free(err_path);
        lktest_rmrf(dir);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int lktest_run(const char *const *argv, char **ret_stdout, char **ret_stderr) {
        return lktest_run_program(lktest_env("LINKD_BIN"), argv, NULL, ret_stdout, ret_stderr);
}

unsigned lktest_port_from_log(const char *line) {
        const char *url = strstr(line, "http://");
        assert_non_null(url);
        const char *end = url + strcspn(url, "\" ");
        const char *colon = end;
        while (colon > url && *colon != ':')
                colon--;
        return (unsigned)strtoul(colon + 1, NULL, 10);
}

/* The URL with its database name (the path after "@host/") replaced. */
static char *with_database(const char *url, const char *name) {
        const char *at = strchr(url, '@');
        const char *path = strchr(at ? at : url + strlen("postgresql://"), '/');
        if (!path)
                fail_msg("cannot find the database name in the test URL");
        const char *query = path + strcspn(path, "?");
        return lk_asprintf("%.*s/%s%s", (int)(path - url), url, name, query);
}

/* Runs sql on the admin connection; the error text (lk_free it), or NULL. */
static char *try_admin(const char *sql) {
        PGconn *conn = PQconnectdb(lktest_env("LINKD_TEST_PG_URL"));
        char *error = NULL;
        if (PQstatus(conn) != CONNECTION_OK) {
                error = lk_asprintf("cannot reach the test PostgreSQL: %s", PQerrorMessage(conn));
        } else {
                PGresult *res = PQexec(conn, sql);
                if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
                        error = lk_asprintf("%s: %s", sql, PQerrorMessage(conn));
                PQclear(res);
        }
        PQfinish(conn);
        return error;
}

void lktest_pg_admin(const char *sql) {
        char *error = try_admin(sql);
        if (error) {
                fail_msg("%s", error);
                lk_free(error);
        }
}

char *lktest_pg_create_db(void) {
        static atomic_int serial;
        char name[64];
        snprintf(name, sizeof name, "lktest_%d_%d_%d", (int)getpid(), atomic_fetch_add(&serial, 1), rand() % 100000);
        char *sql = lk_asprintf("CREATE DATABASE %s", name);
        lktest_pg_admin(sql);
        lk_free(sql);
        return with_database(lktest_env("LINKD_TEST_PG_URL"), name);
}

void lktest_pg_drop_db(char *url) {
        if (!url)
                return;
        const char *at = strchr(url, '@');
        const char *path = strchr(at ? at : url, '/');
        char *sql = lk_asprintf("DROP DATABASE IF EXISTS %.*s WITH (FORCE)", (int)strcspn(path + 1, "?"), path + 1);
        /* A server busy with every other test in parallel may refuse for a
         * moment (a connection slot, a backend still exiting): try again. */
        char *error = try_admin(sql);
        for (int attempt = 1; error && attempt < 10; attempt++) {
                usleep(200000);
                lk_free(error);
                error = try_admin(sql);
        }
        lk_free(sql);
        lk_free(url);
        if (error) {
                fail_msg("%s", error);
                lk_free(error);
        }
}

void lktest_unhex(const char *hex, uint8_t *out, size_t len) {
        const char *digits = hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X') ? hex + 2 : hex;
        size_t n = strlen(digits);
        if (n > 2 * len)
                fail_msg("%s: longer than %zu bytes", hex, len);
        memset(out, 0, len);
        for (size_t i = 0; i < n; i++) {
                int d = lk_hex_digit(digits[n - 1 - i]);
                if (d < 0)
                        fail_msg("%s: not hex", hex);
                out[len - 1 - i / 2] |= (uint8_t)(i % 2 ? d << 4 : d);
        }
}

void lktest_assert_hex(const uint8_t *got, size_t len, const char *want) {
        uint8_t *w = lk_malloc(len);
        lktest_unhex(want, w, len);
        bool same = memcmp(got, w, len) == 0;
        lk_free(w);
        if (same)
                return;
        char *text = lk_malloc(2 * len + 1);
        for (size_t i = 0; i < len; i++)
                snprintf(text + 2 * i, 3, "%02x", got[i]);
        print_error("got  0x%s\nwant %s\n", text, want);
        lk_free(text);
        fail();
}

char *lktest_run_expect(const char *const *argv, int want_status, const char *stderr_has) {
        char *out = NULL, *err = NULL;
        int status = lktest_run(argv, &out, &err);
        if (status != want_status)
                fail_msg("linkd %s: exit %d, want %d; stdout: %s stderr: %s", argv[0], status, want_status, out, err);
        if (stderr_has && !strstr(err, stderr_has))
                fail_msg("linkd %s: stderr lacks \"%s\": %s", argv[0], stderr_has, err);
        lk_free(err);
        return out;
}

char *lktest_health_entry(lk_health_report *report, const char *name) {
        const char *error = NULL;
        if (!lk_health_report_get(report, name, &error)) {
                lk_health_report_free(report);
                fail_msg("no health entry %s", name);
        }
        char *copy = error ? lk_strdup(error) : NULL;
        lk_health_report_free(report);
        return copy;
}

json_t *lktest_json(const char *text) {
        json_error_t error;
        json_t *j = json_loads(text, 0, &error);
        if (!j)
                fail_msg("not JSON (%s): %s", error.text, text);
        return j;
}

struct lk_value *lktest_abi_coder(const char *cases_json) {
        char *dir = lktest_tmpdir();
        char *path = lktest_write_file(dir, "cases.json", cases_json);
        lk_buf script = LK_BUF_INIT;
        lk_buf_printf(&script, "%s/tests/onchain/abi-coder.mjs", lktest_env("LINKD_SOURCE_ROOT"));
        const char *argv[] = {lk_buf_str(&script), path, NULL};
        char *out = NULL, *errs = NULL;
        int status = lktest_run_program("node", argv, NULL, &out, &errs);
        if (status != 0)
                fail_msg("node %s: exit %d: %s (are tests/onchain's npm packages installed?)", lk_buf_str(&script),
                         status, errs ? errs : "");
        lk_value *answers = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_value_from_json(out, strlen(out), &answers, &err) < 0)
                fail_msg("abi-coder.mjs answered %s: %s", out, err.msg);
        for (size_t i = 0; i < lk_value_array_len(answers); i++) {
                lk_value *e = lk_value_map_get(lk_value_array_at(answers, i), "error", 5);
                if (e)
                        fail_msg("case %zu: ethers: %s", i, lk_value_get_string(e, NULL));
        }
        lk_free(out);
        lk_free(errs);
        lk_buf_done(&script);
        lk_free(path);
        lktest_rmrf(dir);
        return answers;
}
