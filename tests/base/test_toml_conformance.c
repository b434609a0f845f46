/* The TOML 1.0.0 part of the toml-test corpus, run through toml-decoder.
 *
 * One cmocka test per .toml file listed in files-toml-1.0.0, named by its
 * path in the corpus.  The decoder runs as a child process, as toml-test's
 * own runner would run it, so that a crash or a hang on one file fails
 * that file's test instead of the whole suite.  Valid files must decode to
 * JSON equal to the corpus's .json file under toml-test's comparison rules;
 * invalid files must be rejected with exit status 1 and a position. */
#include "lktest.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

#define DECODER_TIMEOUT_MS 5000
#define LIST_NAME "files-toml-1.0.0"

extern char **environ;

static char *corpus_dir;
static char *decoder_path;
static char *setup_problem; /* why the corpus cannot be run, or NULL */

typedef struct child_result {
        int exit_code;  /* -1 unless the decoder exited normally */
        int signal;     /* the signal that killed it, or 0 */
        int spawn_error; /* errno-style reason the decoder did not start */
        bool timed_out;
        lk_buf out, err;
} child_result;

static void child_result_done(child_result *res) {
        lk_buf_done(&res->out);
        lk_buf_done(&res->err);
}

/* ---- running the decoder ---- */

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t spawn_decoder(int in_fd, int out_fd, int err_fd, int *error) {
        posix_spawn_file_actions_t actions;
        char *argv[] = {decoder_path, NULL};
        pid_t pid;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in_fd, STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
        *error = posix_spawn(&pid, decoder_path, &actions, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        return *error == 0 ? pid : -1;
}

static bool drain(int fd, lk_buf *into) {
        char chunk[8192];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0)
                lk_buf_append(into, chunk, (size_t)n);
        return n > 0 || (n < 0 && errno == EINTR);
}

/* Collects stdout and stderr until both close or the deadline passes. */
static bool collect(int out_fd, int err_fd, long long deadline, child_result *res) {
        struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
        while (fds[0].fd >= 0 || fds[1].fd >= 0) {
                long long left = deadline - now_ms();
                if (left <= 0)
                        return false;
                if (poll(fds, 2, (int)left) < 0 && errno != EINTR)
                        return false;
                for (int i = 0; i < 2; i++) {
                        if (fds[i].fd < 0 || !fds[i].revents)
                                continue;
                        if (!drain(fds[i].fd, i == 0 ? &res->out : &res->err))
                                fds[i].fd = -1;
                }
        }
        return true;
}

/* Waits for the decoder, killing it once the deadline has passed: closing
 * its output does not prove that it will ever exit. */
static void reap(pid_t pid, long long deadline, child_result *res) {
        struct timespec pause = {0, 1000000};
        int status;
        pid_t done;
        while ((done = waitpid(pid, &status, res->timed_out ? 0 : WNOHANG)) == 0 ||
               (done < 0 && errno == EINTR)) {
                if (done == 0 && now_ms() >= deadline) {
                        res->timed_out = true;
                        kill(pid, SIGKILL);
                } else if (done == 0) {
                        nanosleep(&pause, NULL);
                }
        }
        if (done < 0)
                return;
        if (WIFEXITED(status))
                res->exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status) && !res->timed_out)
                res->signal = WTERMSIG(status);
}

/* Runs the decoder with toml_path on stdin.  False if it could not start. */
static bool run_decoder(const char *toml_path, child_result *res) {
        int in_fd = open(toml_path, O_RDONLY | O_CLOEXEC);
        int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
        long long deadline = now_ms() + DECODER_TIMEOUT_MS;
        pid_t pid = -1;
        *res = (child_result){.exit_code = -1, .out = LK_BUF_INIT, .err = LK_BUF_INIT};
        if (in_fd >= 0 && pipe2(out_pipe, O_CLOEXEC) == 0 && pipe2(err_pipe, O_CLOEXEC) == 0)
                pid = spawn_decoder(in_fd, out_pipe[1], err_pipe[1], &res->spawn_error);
        else
                res->spawn_error = errno;
        int fds[] = {in_fd, out_pipe[1], err_pipe[1]};
        for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        if (pid > 0) {
                res->timed_out = !collect(out_pipe[0], err_pipe[0], deadline, res);
                if (res->timed_out)
                        kill(pid, SIGKILL);
                reap(pid, deadline, res);
        }
        if (out_pipe[0] >= 0)
                close(out_pipe[0]);
        if (err_pipe[0] >= 0)
                close(err_pipe[0]);
        return pid > 0;
}

/* ---- comparing tagged JSON the way toml-test does ---- */

static bool is_tagged(json_t *v) {
        return json_is_object(v) && json_object_size(v) == 2 &&
               json_is_string(json_object_get(v, "type")) && json_is_string(json_object_get(v, "value"));
}

static bool floats_equal(const char *a, const char *b) {
        double x = strtod(a, NULL), y = strtod(b, NULL);
        return (isnan(x) && isnan(y)) || x == y;
}

/* 1979-05-27t07:32:00.500z and 1979-05-27 07:32:00.5+00:00 are the same
 * as 1979-05-27T07:32:00.5Z. */
static void normalize_datetime(const char *in, lk_buf *out) {
        lk_buf_puts(out, in);
        char *s = out->data;
        size_t len = out->len;
        if (len > 10 && (s[10] == ' ' || s[10] == 't'))
                s[10] = 'T';
        if (len > 0 && s[len - 1] == 'z')
                s[len - 1] = 'Z';
        if (len >= 6 && (strcmp(s + len - 6, "+00:00") == 0 || strcmp(s + len - 6, "-00:00") == 0)) {
                strcpy(s + len - 6, "Z");
                out->len = len = len - 5;
        }
        char *dot = strchr(s, '.');
        if (!dot)
                return;
        char *end = dot + 1 + strspn(dot + 1, "0123456789");
        char *cut = end;
        while (cut > dot + 1 && cut[-1] == '0')
                cut--;
        if (cut == dot + 1)
                cut = dot;
        memmove(cut, end, strlen(end) + 1);
        out->len = strlen(s);
}

static bool scalars_equal(const char *type, json_t *exp, json_t *got) {
        const char *e = json_string_value(json_object_get(exp, "value"));
        const char *g = json_string_value(json_object_get(got, "value"));
        if (strcmp(type, "float") == 0)
                return floats_equal(e, g);
        if (strncmp(type, "date", 4) == 0 || strncmp(type, "time", 4) == 0) {
                lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
                normalize_datetime(e, &a);
                normalize_datetime(g, &b);
                bool same = strcmp(lk_buf_str(&a), lk_buf_str(&b)) == 0;
                lk_buf_done(&a);
                lk_buf_done(&b);
                return same;
        }
        size_t elen = json_string_length(json_object_get(exp, "value"));
        return elen == json_string_length(json_object_get(got, "value")) && memcmp(e, g, elen) == 0;
}

static bool json_equal_at(json_t *exp, json_t *got, lk_buf *path, lk_buf *why);

static bool tagged_equal(json_t *exp, json_t *got, lk_buf *path, lk_buf *why) {
        const char *type = json_string_value(json_object_get(exp, "type"));
        if (is_tagged(got) && strcmp(type, json_string_value(json_object_get(got, "type"))) == 0 &&
            scalars_equal(type, exp, got))
                return true;
        char *e = json_dumps(exp, JSON_COMPACT | JSON_ENCODE_ANY);
        char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        lk_buf_printf(why, "at %s: expected %s, got %s", lk_buf_str(path), e ? e : "?", g ? g : "?");
        free(e);
        free(g);
        return false;
}

static bool objects_equal(json_t *exp, json_t *got, lk_buf *path, lk_buf *why) {
        const char *key;
        json_t *value;
        if (!json_is_object(got) || is_tagged(got) || json_object_size(exp) != json_object_size(got)) {
                lk_buf_printf(why, "at %s: expected a table of %zu keys", lk_buf_str(path),
                              json_object_size(exp));
                return false;
        }
        json_object_foreach(exp, key, value) {
                size_t mark = path->len;
                lk_buf_printf(path, ".%s", key);
                bool same = json_object_get(got, key) &&
                            json_equal_at(value, json_object_get(got, key), path, why);
                if (!same && !why->len)
                        lk_buf_printf(why, "missing key %s", lk_buf_str(path));
                path->len = mark;
                path->data[mark] = '\0';
                if (!same)
                        return false;
        }
        return true;
}

static bool arrays_equal(json_t *exp, json_t *got, lk_buf *path, lk_buf *why) {
        if (!json_is_array(got) || json_array_size(exp) != json_array_size(got)) {
                lk_buf_printf(why, "at %s: expected an array of %zu items", lk_buf_str(path),
                              json_array_size(exp));
                return false;
        }
        for (size_t i = 0; i < json_array_size(exp); i++) {
                size_t mark = path->len;
                lk_buf_printf(path, "[%zu]", i);
                bool same = json_equal_at(json_array_get(exp, i), json_array_get(got, i), path, why);
                path->len = mark;
                path->data[mark] = '\0';
                if (!same)
                        return false;
        }
        return true;
}

static bool json_equal_at(json_t *exp, json_t *got, lk_buf *path, lk_buf *why) {
        if (is_tagged(exp))
                return tagged_equal(exp, got, path, why);
        if (json_is_object(exp))
                return objects_equal(exp, got, path, why);
        if (json_is_array(exp))
                return arrays_equal(exp, got, path, why);
        lk_buf_printf(why, "at %s: the expected JSON is not tagged JSON", lk_buf_str(path));
        return false;
}

/* ---- the tests ---- */

/* Checks report into a buffer rather than failing on the spot, so that
 * everything is freed before fail_msg jumps out of the test. */
#define WHY_SHOWN 16384

static char *corpus_path(const char *rel) {
        return lk_asprintf("%s/%s", corpus_dir, rel);
}

static bool sanitizer_spoke(const child_result *res) {
        const char *err = lk_buf_str(&res->err);
        return strstr(err, "Sanitizer") || strstr(err, "runtime error:");
}

/* Whether the decoder ran to completion without crashing. */
static bool check_ran(bool started, const child_result *res, lk_buf *why) {
        if (!started)
                lk_buf_printf(why, "could not run %s: %s", decoder_path, strerror(res->spawn_error));
        else if (res->timed_out)
                lk_buf_printf(why, "decoder did not finish within %d ms", DECODER_TIMEOUT_MS);
        else if (res->signal)
                lk_buf_printf(why, "decoder killed by signal %d\n%s", res->signal, lk_buf_str(&res->err));
        else if (sanitizer_spoke(res))
                lk_buf_printf(why, "sanitizer report:\n%s", lk_buf_str(&res->err));
        return why->len == 0;
}

/* jansson rejects U+0000 in object keys, which TOML allows ("\u0000" = 1),
 * so both sides have every \u0000 escape replaced by a noncharacter that
 * no test uses before they are parsed. */
static json_t *load_json(const char *text, size_t len, json_error_t *error) {
        lk_buf b = LK_BUF_INIT;
        for (size_t i = 0; i < len; i++) {
                if (text[i] != '\\' || i + 1 >= len) {
                        lk_buf_putc(&b, text[i]);
                } else if (len - i >= 6 && memcmp(text + i, "\\u0000", 6) == 0) {
                        lk_buf_puts(&b, "\\udbff\\udffe");
                        i += 5;
                } else {
                        lk_buf_append(&b, text + i, 2);
                        i++;
                }
        }
        json_t *v = json_loadb(lk_buf_str(&b), b.len, 0, error);
        lk_buf_done(&b);
        return v;
}

static bool read_file(const char *path, lk_buf *into) {
        FILE *f = fopen(path, "rb");
        char chunk[8192];
        size_t n;
        if (!f)
                return false;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
                lk_buf_append(into, chunk, n);
        bool ok = !ferror(f);
        fclose(f);
        return ok;
}

static json_t *load_expected(const char *rel, lk_buf *why) {
        char *json_rel = lk_strdup(rel);
        strcpy(json_rel + strlen(json_rel) - strlen(".toml"), ".json");
        char *json_path = corpus_path(json_rel);
        lk_buf text = LK_BUF_INIT;
        json_error_t error;
        json_t *exp = NULL;
        if (!read_file(json_path, &text))
                lk_buf_printf(why, "cannot read %s: %s", json_path, strerror(errno));
        else if (!(exp = load_json(lk_buf_str(&text), text.len, &error)))
                lk_buf_printf(why, "cannot parse %s: %s", json_path, error.text);
        lk_buf_done(&text);
        lk_free(json_path);
        lk_free(json_rel);
        return exp;
}

static void compare_output(json_t *exp, json_t *got, lk_buf *why) {
        lk_buf path = LK_BUF_INIT;
        lk_buf_puts(&path, "$");
        if (!json_equal_at(exp, got, &path, why)) {
                char *e = json_dumps(exp, JSON_SORT_KEYS | JSON_COMPACT);
                char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
                lk_buf_printf(why, "\nexpected: %s\n     got: %s", e ? e : "?", g ? g : "?");
                free(e);
                free(g);
        }
        lk_buf_done(&path);
}

static void check_valid(const char *rel, const child_result *res, lk_buf *why) {
        json_error_t error;
        json_t *exp = load_expected(rel, why), *got = NULL;
        if (exp && res->exit_code != 0)
                lk_buf_printf(why, "valid TOML rejected (exit %d): %s", res->exit_code,
                              lk_buf_str(&res->err));
        if (!why->len) {
                got = load_json(lk_buf_str(&res->out), res->out.len, &error);
                if (!got)
                        lk_buf_printf(why, "decoder wrote bad JSON (%s):\n%s", error.text,
                                      lk_buf_str(&res->out));
        }
        if (got)
                compare_output(exp, got, why);
        json_decref(exp);
        json_decref(got);
}

/* "line:column: message" on one line. */
static bool is_positioned_error(const char *err) {
        unsigned line, column;
        int used = 0;
        if (sscanf(err, "%u:%u: %n", &line, &column, &used) != 2 || used == 0)
                return false;
        const char *nl = strchr(err, '\n');
        return line > 0 && column > 0 && err[used] != '\0' && nl && nl[1] == '\0';
}

static void check_invalid(const child_result *res, lk_buf *why) {
        if (res->exit_code != 1)
                lk_buf_printf(why, "invalid TOML not rejected (exit %d); output:\n%s", res->exit_code,
                              lk_buf_str(&res->out));
        else if (!is_positioned_error(lk_buf_str(&res->err)))
                lk_buf_printf(why, "expected \"line:column: message\" on stderr, got: %s",
                              lk_buf_str(&res->err));
}

static void corpus_file(void **state) {
        const char *rel = *state;
        char *path = corpus_path(rel);
        child_result res;
        lk_buf why = LK_BUF_INIT;
        bool started = run_decoder(path, &res);
        lk_free(path);
        if (check_ran(started, &res, &why)) {
                if (strncmp(rel, "valid/", 6) == 0)
                        check_valid(rel, &res, &why);
                else
                        check_invalid(&res, &why);
        }
        child_result_done(&res);
        if (why.len) {
                char shown[WHY_SHOWN];
                snprintf(shown, sizeof shown, "%s", lk_buf_str(&why));
                lk_buf_done(&why);
                fail_msg("%s: %s", rel, shown);
        }
}

static void corpus_unavailable(void **state) {
        (void)state;
        fail_msg("%s", setup_problem);
}

/* ---- finding the corpus ---- */

static bool resolve_paths(void) {
        const char *dir = getenv("LINKD_TOML_TEST_DIR");
        const char *root = getenv("LINKD_SOURCE_ROOT");
        const char *decoder = getenv("LINKD_TOML_DECODER");
        if (dir && *dir)
                corpus_dir = lk_strdup(dir);
        else if (root && *root)
                corpus_dir = lk_asprintf("%s/../shared/conformance/toml-test/tests", root);
        if (decoder && *decoder)
                decoder_path = lk_strdup(decoder);
        if (!corpus_dir)
                setup_problem = lk_strdup("neither LINKD_TOML_TEST_DIR nor LINKD_SOURCE_ROOT is set");
        else if (!decoder_path)
                setup_problem = lk_strdup("LINKD_TOML_DECODER is not set");
        else if (access(decoder_path, X_OK) != 0)
                setup_problem = lk_asprintf("decoder %s is not executable: %s", decoder_path, strerror(errno));
        return !setup_problem;
}

static void add_test(struct CMUnitTest **tests, size_t *n, size_t *cap, const char *rel) {
        if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 256;
                *tests = lk_realloc(*tests, *cap * sizeof **tests);
        }
        char *name = lk_strdup(rel);
        (*tests)[(*n)++] = (struct CMUnitTest){name, corpus_file, NULL, NULL, name};
}

/* One test per .toml file in the list; none if the list is unreadable. */
static size_t load_tests(struct CMUnitTest **tests) {
        char *list_path = corpus_path(LIST_NAME);
        FILE *f = fopen(list_path, "r");
        size_t n = 0, cap = 0;
        char line[4096];
        if (!f) {
                setup_problem = lk_asprintf("cannot open the toml-test list %s: %s", list_path, strerror(errno));
                lk_free(list_path);
                return 0;
        }
        while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\r\n")] = '\0';
                size_t len = strlen(line);
                if (len > 5 && strcmp(line + len - 5, ".toml") == 0)
                        add_test(tests, &n, &cap, line);
        }
        fclose(f);
        if (n == 0)
                setup_problem = lk_asprintf("the toml-test list %s names no .toml files", list_path);
        lk_free(list_path);
        return n;
}

int main(void) {
        struct CMUnitTest *tests = NULL;
        size_t n = resolve_paths() ? load_tests(&tests) : 0;
        if (n == 0) {
                tests = lk_realloc(tests, sizeof *tests);
                tests[0] = (struct CMUnitTest){"toml-test corpus", corpus_unavailable, NULL, NULL, NULL};
                n = 1;
        }
        int failed = _cmocka_run_group_tests("toml_conformance", tests, n, NULL, NULL);
        for (size_t i = 0; i < n && !setup_problem; i++)
                lk_free((char *)tests[i].name);
        lk_free(tests);
        lk_free(corpus_dir);
        lk_free(decoder_path);
        lk_free(setup_problem);
        return failed;
}
