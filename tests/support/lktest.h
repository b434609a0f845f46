/* Shared helpers for linkd's tests: cmocka included in the right order,
 * temporary directories, an HTTP client (libcurl), and driving the real
 * linkd binary as an operator would. */
#ifndef LKTEST_H
#define LKTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>

#include "linkd/time.h"

/* The value of a variable the test runner sets; fails the test if unset. */
const char *lktest_env(const char *name);

/* A new empty directory under $TMPDIR (or /tmp); free with lktest_rmrf. */
char *lktest_tmpdir(void);
/* Removes path recursively and frees it.  Accepts NULL. */
void lktest_rmrf(char *path);
/* Writes content to dir/name; returns the path (lk_free it). */
char *lktest_write_file(const char *dir, const char *name, const char *content);
/* The whole file, NUL-terminated (lk_free it), or NULL. */
char *lktest_read_file(const char *path);

typedef struct lktest_http {
        long status;
        char *body;      /* NUL-terminated */
        size_t body_len;
        char *headers;   /* the raw response header block */
} lktest_http;

/* Performs one request; headers is a NULL-terminated list or NULL.
 * Returns 0, or -1 when no response arrived. */
int lktest_http_request(const char *method, const char *url, const char *const *headers, lktest_http *ret);
void lktest_http_done(lktest_http *response);
/* As lktest_http_request, sending body_len bytes of body_data. */
int lktest_http_send(const char *method, const char *url, const char *const *headers, const char *body_data,
                     size_t body_len, lktest_http *ret);
/* The value of response header name (case-insensitive), lk_free it, or NULL. */
char *lktest_http_header(const lktest_http *response, const char *name);

/* Sends raw bytes to host:port and returns everything read back until the
 * server closes or timeout passes (lk_free it). */
char *lktest_raw_exchange(const char *host, unsigned port, const void *data, size_t len, lk_usec timeout);

/* A linkd process started by a test, its stderr captured to a file. */
typedef struct lktest_proc {
        pid_t pid;
        char *log_path;
        int exit_status; /* valid after lktest_proc_wait returned true */
} lktest_proc;

/* Starts $LINKD_BIN with argv (argv[0] excluded, NULL-terminated) and the
 * extra environment entries env ("K=V", NULL-terminated, may be NULL). */
void lktest_proc_start(lktest_proc *proc, const char *log_dir, const char *const *argv, const char *const *env);
/* Waits until the log holds a line containing needle; returns that line
 * (lk_free it) or NULL on timeout or exit. */
char *lktest_proc_wait_log(lktest_proc *proc, const char *needle, lk_usec timeout);
/* Waits for the process to exit; true when it did within timeout. */
bool lktest_proc_wait(lktest_proc *proc, lk_usec timeout);
/* Kills (SIGKILL) and reaps the process if still running, frees the log path. */
void lktest_proc_done(lktest_proc *proc);

/* Runs $LINKD_BIN argv to completion, capturing stdout and stderr
 * (lk_free them); returns the exit status, or -1 if it did not exit normally. */
int lktest_run(const char *const *argv, char **ret_stdout, char **ret_stderr);
/* lktest_run, failing the test unless linkd exits with want_status and
 * (when stderr_has is not NULL) its stderr contains stderr_has; returns
 * its stdout (lk_free it). */
char *lktest_run_expect(const char *const *argv, int want_status, const char *stderr_has);

/* Runs program (looked up in PATH if it has no slash) with argv (argv[0]
 * excluded) and extra environment entries env (may be NULL), as
 * lktest_run does. */
int lktest_run_program(const char *program, const char *const *argv, const char *const *env, char **ret_stdout,
                       char **ret_stderr);

/* Waits up to 10 s for cond, checking every 10 ms; fails the test if
 * it never holds. */
#define LKTEST_WAIT_FOR(cond)                                                                                      \
        do {                                                                                                       \
                for (int i_ = 0; i_ < 1000 && !(cond); i_++)                                                       \
                        usleep(10 * 1000);                                                                         \
                if (!(cond))                                                                                       \
                        fail_msg("waited 10 s in vain for %s", #cond);                                             \
        } while (0)

/* The port from a log line holding a URL http://HOST:PORT (logfmt or JSON). */
unsigned lktest_port_from_log(const char *line);

/* text as JSON (json_decref it); fails the test, showing it, if it is not. */
struct json_t;
struct json_t *lktest_json(const char *text);

/* The entry name of report (a copy to lk_free; NULL: passing), and
 * report freed; fails the test when report has no such entry. */
struct lk_health_report;
char *lktest_health_entry(struct lk_health_report *report, const char *name);

/* ethers 6's AbiCoder (tests/onchain/abi-coder.mjs, run by node) over
 * cases, a JSON list; its answers as a value (lk_value_unref it).  Fails
 * the test when node cannot run it or a case has an error. */
struct lk_value;
struct lk_value *lktest_abi_coder(const char *cases_json);

/* hex (an optional 0x, then at most 2·len digits) into out, as a
 * big-endian number left-padded with zeros; fails the test on bad hex. */
void lktest_unhex(const char *hex, uint8_t *out, size_t len);
/* Fails the test, printing both sides, unless got is the bytes of want
 * (hex as lktest_unhex reads it). */
void lktest_assert_hex(const uint8_t *got, size_t len, const char *want);



/* PostgreSQL for the store tests: a fresh database on the test cluster
 * (scripts/pg-cluster, started by the test runner; $LINKD_TEST_PG_URL),
 * and its removal.  Both fail the test when the cluster is missing. */
char *lktest_pg_create_db(void);
void lktest_pg_drop_db(char *url);
/* Runs one statement on the test cluster's own database. */
void lktest_pg_admin(const char *sql);

#endif
