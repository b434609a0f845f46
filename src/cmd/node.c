/* linkd node start | validate. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "linkd/alloc.h"
#include "linkd/app.h"
#include "linkd/auth.h"
#include "linkd/file.h"
#include "linkd/buf.h"
#include "linkd/notify.h"
#include "version.h"

static const char node_usage[] =
        "usage: linkd node start [--config FILE]... [--secrets FILE] [--api FILE] [--password FILE]\n"
        "       linkd node validate [--config FILE]... [--secrets FILE]\n"
        "       linkd node health [--failing] [--json] [--remote-node-url URL]\n";

/* Secrets files should be readable by their owner only; say so, as ssh
 * does, but do not refuse (the file may sit on a filesystem that cannot
 * express modes). */
static void warn_if_exposed(const char *path) {
        struct stat st;
        if (stat(path, &st) == 0 && (st.st_mode & 077))
                fprintf(stderr, "linkd: warning: secrets file %s is accessible to group or others (mode %03o); "
                                "chmod 600 it\n", path, (unsigned)(st.st_mode & 0777));
}

int lk__cmd_load_config(int argc, char **argv, const char *usage, lk_config *cfg, lk_secrets *secrets,
                        const char **ret_api_file) {
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},
                {"secrets", required_argument, NULL, 's'},
                {"api", required_argument, NULL, 'a'},
                {"password", required_argument, NULL, 'p'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        lk_err err = LK_ERR_INIT;
        optind = 1;
        for (int opt; (opt = getopt_long(argc, argv, "c:s:a:p:h", options, NULL)) != -1;) {
                switch (opt) {
                case 'a':
                        if (!ret_api_file) {
                                fputs(usage, stderr);
                                return LK_EXIT_USAGE;
                        }
                        *ret_api_file = optarg;
                        warn_if_exposed(optarg);
                        break;
                case 'p': {
                        /* the keystore's password, as the secrets' [Password] Keystore */
                        char *password = ret_api_file ? lk__cmd_read_password("--password", optarg) : NULL;
                        if (!password) {
                                if (!ret_api_file)
                                        fputs(usage, stderr);
                                return LK_EXIT_USAGE;
                        }
                        if (secrets->password.keystore) {
                                explicit_bzero(secrets->password.keystore, strlen(secrets->password.keystore));
                                lk_free(secrets->password.keystore);
                        }
                        secrets->password.keystore = password;
                        break;
                }
                case 'c':
                        if (lk_config_load_file(cfg, optarg, &err) < 0)
                                goto invalid;
                        break;
                case 's':
                        if (lk_secrets_load_file(secrets, optarg, &err) < 0)
                                goto invalid;
                        warn_if_exposed(optarg);
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return LK_EXIT_USAGE;
                default:
                        fputs(usage, stderr);
                        return LK_EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "linkd: unexpected argument \"%s\"\n%s", argv[optind], usage);
                return LK_EXIT_USAGE;
        }
        if (lk_config_finish(cfg, &err) < 0)
                goto invalid;
        return LK_EXIT_OK;
invalid:
        fprintf(stderr, "linkd: invalid configuration: %s\n", err.msg);
        return LK_EXIT_USAGE;
}

static int node_validate(int argc, char **argv) {
        lk_config cfg;
        lk_secrets secrets;
        lk_config_init(&cfg);
        lk_secrets_init(&secrets);
        int status = lk__cmd_load_config(argc, argv, node_usage, &cfg, &secrets, NULL);
        if (status == LK_EXIT_OK) {
                lk_buf out = LK_BUF_INIT;
                lk_buf_puts(&out, "# Secrets:\n");
                lk_secrets_format_masked(&secrets, &out);
                lk_buf_puts(&out, "\n# Input Configuration:\n");
                lk_config_format(&cfg, true, &out);
                lk_buf_puts(&out, "\n# Effective Configuration, with defaults applied:\n");
                lk_config_format(&cfg, false, &out);
                lk_buf_puts(&out, "\nValid configuration.\n");
                fputs(lk_buf_str(&out), stdout);
                lk_buf_done(&out);
        }
        lk_secrets_done(&secrets);
        lk_config_done(&cfg);
        return status;
}

/* --api FILE: the email on the first line, the password on the second,
 * as Chainlink reads it. */
typedef struct api_user {
        char email[256];
        char password[LK_PASSWORD_MAX_LEN + 2];
} api_user;

static bool take_line(const char **p, char *out, size_t size) {
        size_t len = strcspn(*p, "\r\n");
        if (len == 0 || len >= size)
                return false;
        memcpy(out, *p, len);
        out[len] = '\0';
        *p += len;
        *p += strspn(*p, "\r\n");
        return true;
}

static int read_api_file(const char *path, api_user *ret) {
        char *text = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_file_read(path, 4096, &text, NULL, &err) < 0) {
                fprintf(stderr, "linkd: --api: %s\n", err.msg);
                return LK_EXIT_USAGE;
        }
        const char *p = text;
        bool ok = take_line(&p, ret->email, sizeof ret->email) && take_line(&p, ret->password, sizeof ret->password);
        explicit_bzero(text, strlen(text));
        lk_free(text);
        if (!ok) {
                fprintf(stderr, "linkd: --api: %s must hold an email on its first line and a password on its second "
                                "(at most %d characters)\n", path, LK_PASSWORD_MAX_LEN);
                return LK_EXIT_USAGE;
        }
        if (lk_password_check(ret->password, ret->email, &err) < 0) {
                fprintf(stderr, "linkd: --api: %s: %s\n", path, err.msg);
                return LK_EXIT_USAGE;
        }
        return LK_EXIT_OK;
}

/* The running node: the main thread waits for signals and for the start
 * to finish, beats the main-loop heartbeat, and pings systemd's watchdog;
 * the start itself runs on its own thread so that a signal can cancel a
 * start that waits (for a database lock, say). */
typedef struct node {
        const lk_config *cfg;
        lk_log *log;
        lk_app *app;
        lk_ctx start_ctx;
        pthread_t main_thread;
        int start_result;
        lk_err start_err;
        const api_user *api; /* the first admin, from --api; NULL without it */
        atomic_bool fatal; /* the database lock was lost: stop, and exit 1 */
} node;

/* Wakes the main thread from sigtimedwait when the start has finished. */
#define SIG_START_DONE SIGRTMIN

/* The admin of --api, created once the database is up; a failure is a
 * failed start. */
static int ensure_admin(node *n) {
        bool created = false;
        int r = lk_app_ensure_admin(n->app, n->api->email, n->api->password, &created, &n->start_err);
        if (r < 0) {
                lk_err ignored = LK_ERR_INIT;
                lk_app_stop(n->app, n->cfg->shutdown_grace_period, NULL, 0, &ignored);
                return r;
        }
        if (created)
                lk_log_info(n->log, "Created the first admin user", LK_STR("email", n->api->email));
        return 0;
}

static void *run_start(void *arg) {
        node *n = arg;
        n->start_result = lk_app_start(n->app, &n->start_ctx, &n->start_err);
        if (n->start_result == 0 && n->api)
                n->start_result = ensure_admin(n);
        pthread_kill(n->main_thread, SIG_START_DONE);
        return NULL;
}

/* The store lost its lock to another node: shut down now, through the
 * ordinary path, so that the rest closes cleanly. */
static void on_fatal(void *arg) {
        node *n = arg;
        atomic_store(&n->fatal, true);
        kill(getpid(), SIGTERM);
}

static void notify(node *n, const char *state) {
        lk_err err = LK_ERR_INIT;
        if (lk_notify(state, &err) < 0)
                lk_log_warn(n->log, "Cannot notify systemd", LK_STR("state", state), LK_ERROR(&err));
}

static int shut_down(node *n, const char *signal_name) {
        lk_log_info(n->log, "Shutting down due to signal", LK_STR("signal", signal_name));
        notify(n, "STOPPING=1");
        lk_usec began = lk_now_monotonic();
        char hung[128] = "";
        lk_err err = LK_ERR_INIT;
        int r = lk_app_stop(n->app, n->cfg->shutdown_grace_period, hung, sizeof hung, &err);
        if (r == -ETIMEDOUT) {
                lk_log_crit(n->log, "Shutdown grace period exceeded, exiting", LK_STR("service", hung),
                            LK_DURATION("grace", n->cfg->shutdown_grace_period));
                return LK_EXIT_HUNG;
        }
        if (r < 0) {
                lk_log_error(n->log, "Errors while shutting down", LK_ERROR(&err));
                return LK_EXIT_FAILURE;
        }
        lk_log_info(n->log, "Graceful shutdown", LK_DURATION("took", lk_now_monotonic() - began));
        return atomic_load(&n->fatal) ? LK_EXIT_FAILURE : LK_EXIT_OK;
}

static void announce(node *n) {
        char url[128];
        lk_app_http_url(n->app, url, sizeof url);
        lk_log_info(n->log, "API listening", LK_STR("url", url));
        notify(n, "READY=1");
}

/* Waits for the start, then for a signal; returns the exit status. */
static int main_loop(node *n, lk_heartbeat *heartbeat, const sigset_t *signals) {
        lk_usec watchdog = lk_notify_watchdog_usec();
        lk_usec tick = watchdog && watchdog / 2 < LK_USEC_PER_SEC ? watchdog / 2 : LK_USEC_PER_SEC;
        bool starting = true, aborting = false;
        for (;;) {
                lk_heartbeat_beat(heartbeat);
                if (watchdog && !starting)
                        notify(n, "WATCHDOG=1");
                struct timespec timeout = {(time_t)(tick / LK_USEC_PER_SEC), (long)(tick % LK_USEC_PER_SEC) * 1000};
                siginfo_t info;
                int sig = sigtimedwait(signals, &info, &timeout);
                if (sig < 0)
                        continue; /* EAGAIN: a tick; EINTR: retry */
                if (sig == SIG_START_DONE) {
                        if (!starting)
                                continue;
                        starting = false;
                        if (n->start_result < 0) {
                                if (aborting)
                                        return LK_EXIT_OK;
                                lk_log_error(n->log, "Failed to start the node", LK_ERROR(&n->start_err));
                                return LK_EXIT_FAILURE;
                        }
                        if (aborting)
                                return shut_down(n, "received while starting");
                        announce(n);
                        continue;
                }
                const char *name = sig == SIGINT ? "interrupt" : "terminated";
                if (!starting)
                        return shut_down(n, name);
                if (!aborting) {
                        lk_log_info(n->log, "Signal received while starting, aborting start", LK_STR("signal", name));
                        aborting = true;
                        lk_ctx_cancel(&n->start_ctx);
                }
        }
}

static lk_log *make_log(const lk_config *cfg) {
        return lk_log_new(&(lk_log_options){
                .fd = STDERR_FILENO,
                .level = (lk_log_level)cfg->log.level,
                .json = cfg->log.json_console,
        });
}

static int node_start(int argc, char **argv) {
        lk_usec started_at = lk_now_realtime();
        lk_config cfg;
        lk_secrets secrets;
        api_user api = {0};
        const char *api_file = NULL;
        lk_config_init(&cfg);
        lk_secrets_init(&secrets);
        int status = lk__cmd_load_config(argc, argv, node_usage, &cfg, &secrets, &api_file);
        if (status == LK_EXIT_OK && api_file)
                status = read_api_file(api_file, &api);
        if (status != LK_EXIT_OK)
                goto out_config;

        /* Signals are taken synchronously by the main thread only: block
         * them before any thread exists so every thread inherits the mask. */
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGINT);
        sigaddset(&signals, SIGTERM);
        sigaddset(&signals, SIG_START_DONE);
        pthread_sigmask(SIG_BLOCK, &signals, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* Profiles are symbolized with libdw, which would ask debuginfod
         * servers over the network when this is set; a node's profiler
         * must never stall on, or leak addresses to, the network. */
        unsetenv("DEBUGINFOD_URLS");
        lk_log *log = make_log(&cfg);
        lk_log_info(log, "Starting linkd", LK_STR("version", LK_VERSION), LK_STR("commit", LK_COMMIT),
                    LK_STR("root", cfg.root_dir));
        lk_heartbeat heartbeat;
        lk_heartbeat_init(&heartbeat, "main loop", LK_USEC_PER_SEC);
        node n = {.cfg = &cfg, .log = log, .main_thread = pthread_self(), .api = api_file ? &api : NULL};
        lk_err err = LK_ERR_INIT;
        if (lk_app_new(&(lk_app_options){
                               .config = &cfg,
                               .secrets = &secrets,
                               .log = log,
                               .main_loop = &heartbeat,
                               .version = LK_VERSION,
                               .commit = LK_COMMIT,
                               .started_at = started_at,
                               .on_fatal = on_fatal,
                               .on_fatal_arg = &n,
                       },
                       &n.app, &err) < 0) {
                lk_log_error(log, "Invalid configuration", LK_ERROR(&err));
                lk_log_free(log);
                status = LK_EXIT_USAGE;
                goto out_config;
        }
        lk_ctx_init(&n.start_ctx, LK_USEC_INFINITY);
        pthread_t starter;
        int r = pthread_create(&starter, NULL, run_start, &n);
        if (r != 0) {
                lk_log_error(log, "Cannot create the start thread", LK_STR("err", strerror(r)));
                status = LK_EXIT_FAILURE;
        } else {
                status = main_loop(&n, &heartbeat, &signals);
                if (status == LK_EXIT_HUNG)
                        _exit(status); /* a service is stuck in close; nothing more can be cleaned up */
                pthread_join(starter, NULL);
        }
        lk_ctx_done(&n.start_ctx);
        lk_app_free(n.app);
        lk_log_free(log);
out_config:
        explicit_bzero(&api, sizeof api);
        lk_secrets_done(&secrets);
        lk_config_done(&cfg);
        return status;
}

int lk_cmd_node(int argc, char **argv) {
        if (argc < 2) {
                fputs(node_usage, stderr);
                return LK_EXIT_USAGE;
        }
        if (strcmp(argv[1], "start") == 0 || strcmp(argv[1], "s") == 0)
                return node_start(argc - 1, argv + 1);
        if (strcmp(argv[1], "validate") == 0)
                return node_validate(argc - 1, argv + 1);
        if (strcmp(argv[1], "health") == 0)
                return lk_cmd_node_health(argc - 1, argv + 1);
        fprintf(stderr, "linkd: unknown node command \"%s\"\n%s", argv[1], node_usage);
        return LK_EXIT_USAGE;
}
