/* The Application (see include/linkd/app.h). */
#include "linkd/app.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/multi.h"
#include "linkd/nurse.h"
#include "linkd/pipeline.h"
#include "linkd/scheduler.h"
#include "linkd/chain.h"
#include "evm_env.h"
#include "linkd/spawner.h"
#include "linkd/web.h"
#include "bridges_api.h"
#include "jobs_api.h"
#include "rootdir.h"
#include "transfers_api.h"
#include "sessions.h"

#define MAX_SERVICES 32

struct lk_app {
        lk_log *log;
        const char *listen_ip; /* borrowed from the config */
        lk_checker *checker;
        lk_web *web;
        lk_rootdir *rootdir;
        lk_nurse *nurse; /* NULL unless [AutoPprof] Enabled */
        lk_store *store;
        lk_runner *runner;
        lk__sessions *sessions;
        lk_scheduler *scheduler;
        lk_spawner *spawner;
        lk__jobs_api *jobs_api;
        lk__evm_env *evm_env; /* what the EVM tasks and jobs borrow of the node */
        lk_chain **chains; /* one per enabled [[EVM]] */
        size_t chain_count;
        /* The database server's addresses, which the http task's
         * restricted requests refuse. */
        char **database_addresses;
        size_t database_address_count;
        lk_service *services[MAX_SERVICES]; /* in start order, the checker last */
        size_t count;
        bool started;
        lk_multistart ms;

        /* The close, which runs on its own thread so that lk_app_stop can
         * give up on it at the grace period. */
        pthread_mutex_t stop_lock;
        pthread_cond_t stop_done;
        pthread_t stopper;
        bool stopper_running, stop_finished;
        int stop_result;
        lk_err stop_err;
        char closing[128];
        lk_usec closing_since;
};

static void log_closing(void *arg, lk_service *service) {
        lk_app *app = arg;
        pthread_mutex_lock(&app->stop_lock);
        snprintf(app->closing, sizeof app->closing, "%s", service->name);
        app->closing_since = lk_now_monotonic();
        pthread_mutex_unlock(&app->stop_lock);
        lk_log_debug(app->log, "Closing service", LK_STR("service", service->name));
}

static void log_closed(void *arg, lk_service *service, const lk_err *err) {
        lk_app *app = arg;
        pthread_mutex_lock(&app->stop_lock);
        lk_usec took = lk_now_monotonic() - app->closing_since;
        app->closing[0] = '\0';
        pthread_mutex_unlock(&app->stop_lock);
        if (lk_err_is_set(err))
                lk_log_error(app->log, "Failed to close service", LK_STR("service", service->name), LK_ERROR(err),
                             LK_DURATION("took", took));
        else
                lk_log_info(app->log, "Closed service", LK_STR("service", service->name), LK_DURATION("took", took));
}

static void add(lk_app *app, lk_service *service) {
        app->services[app->count++] = service;
}

static bool is_uuid(const char *s) {
        static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
        if (strlen(s) != sizeof shape - 1)
                return false;
        for (size_t i = 0; shape[i]; i++)
                if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
                        return false;
        return true;
}

/* PATCH /v2/resume/:taskRunID {"value": ...} or {"error": "..."}: an async
 * bridge's answer.  Unauthenticated, as in Chainlink: the task run id is a
 * random UUID that only the bridge was given. */
static void serve_resume(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk_runner *runner = arg;
        if (!is_uuid(request->tail)) {
                lk_web_response_error(response, 422, "invalid task run id");
                return;
        }
        lk_value *body = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_value_from_json(request->body, request->body_len, &body, &err) < 0 ||
            lk_value_type_of(body) != LK_VALUE_MAP) {
                lk_web_response_error(response, 400, "failed to unmarshal JSON body: %s",
                                      body ? "expected a JSON object" : err.msg);
                lk_value_unref(body);
                return;
        }
        const lk_value *value = lk_value_map_get(body, "value", 5);
        const lk_value *error = lk_value_map_get(body, "error", 5);
        if (error && lk_value_type_of(error) == LK_VALUE_NULL)
                error = NULL;
        if (error && lk_value_type_of(error) != LK_VALUE_STRING) {
                lk_web_response_error(response, 400, "failed to unmarshal JSON body: \"error\" must be a string");
        } else if (lk_runner_resume(runner, request->tail, value, error ? lk_value_get_string(error, NULL) : NULL,
                                    &err) < 0) {
                unsigned status = err.code == -ENOENT ? 404 : err.code == -EINVAL ? 400 : 500;
                lk_web_response_error(response, status, "%s", err.msg);
        } else {
                lk_buf_puts(&response->body, "{}");
        }
        lk_value_unref(body);
}

static void runner_metrics(void *arg, lk_buf *out) {
        lk_runner_metrics(arg, out);
}

static void scheduler_metrics(void *arg, lk_buf *out) {
        lk_scheduler_metrics(arg, out);
}

/* Each enabled [[EVM]] chain, after the Database it keeps its heads,
 * logs and transactions in, before the jobs that listen to it. */
static int add_chains(lk_app *app, const lk_app_options *options, lk_err *err) {
        const lk_config *cfg = options->config;
        app->chains = lk_calloc(cfg->evm_count ? cfg->evm_count : 1, sizeof *app->chains);
        const char *password = options->keystore_password;
        if (!password && options->secrets && options->secrets->password.keystore)
                password = options->secrets->password.keystore;
        for (size_t i = 0; i < cfg->evm_count; i++) {
                if (!cfg->evm[i].enabled)
                        continue;
                lk_chain *chain;
                int r = lk_chain_new(&(lk_chain_options){.config = &cfg->evm[i],
                                                         .store = app->store,
                                                         .keystore_password = password,
                                                         .log = options->log,
                                                         .resume = lk__evm_env_resume,
                                                         .resume_arg = app->evm_env,
                                                         .await_jobs = true},
                                     &chain, err);
                if (r < 0)
                        return r;
                app->chains[app->chain_count++] = chain;
                lk__evm_env_add_chain(app->evm_env, chain);
                if (app->count >= MAX_SERVICES - 4)
                        return lk_err_set(err, -ENOSPC, "too many chains");
                add(app, lk_chain_service(chain));
        }
        return 0;
}

/* The Scheduler and the JobSpawner, after the runner they hand runs to. */
static int add_jobs(lk_app *app, const lk_config *cfg, lk_log *log, lk_err *err) {
        int r = lk_scheduler_new(&(lk_scheduler_options){.log = log, .store = app->store}, &app->scheduler, err);
        if (r < 0)
                return r;
        lk_pipeline_evm evm = lk__evm_env_pipeline(app->evm_env);
        r = lk_spawner_new(&(lk_spawner_options){.store = app->store,
                                                 .runner = app->runner,
                                                 .scheduler = app->scheduler,
                                                 .log = log,
                                                 .evm = &evm,
                                                 .jobs_started = lk__evm_env_jobs_started,
                                                 .jobs_started_arg = app->evm_env},
                           &app->spawner, err);
        if (r < 0)
                return r;
        add(app, lk_scheduler_service(app->scheduler));
        add(app, lk_spawner_service(app->spawner));
        app->jobs_api = lk__jobs_api_new(app->web, app->store, app->spawner, cfg);
        lk_web_add_metrics(app->web, scheduler_metrics, app->scheduler);
        return 0;
}

static void add_address(lk_app *app, const struct sockaddr *sa) {
        char text[INET6_ADDRSTRLEN];
        const void *bytes = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                                                     : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (!inet_ntop(sa->sa_family, bytes, text, sizeof text))
                return;
        for (size_t i = 0; i < app->database_address_count; i++)
                if (!strcmp(app->database_addresses[i], text))
                        return;
        app->database_addresses = lk_realloc(app->database_addresses,
                                             (app->database_address_count + 1) * sizeof *app->database_addresses);
        app->database_addresses[app->database_address_count++] = lk_strdup(text);
}

/* Chainlink's http task refuses the database host's IP as well as the
 * private ranges; a name that does not resolve now is only logged (the
 * database connection will say more). */
static void resolve_database_hosts(lk_app *app) {
        char *hosts = lk_store_network_hosts(app->store);
        for (char *save = NULL, *host = hosts ? strtok_r(hosts, ",", &save) : NULL; host;
             host = strtok_r(NULL, ",", &save)) {
                struct addrinfo *list = NULL, hints = {.ai_socktype = SOCK_STREAM};
                int r = getaddrinfo(host, NULL, &hints, &list);
                if (r != 0) {
                        lk_log_warn(app->log, "Cannot resolve the database host for the http task's block list",
                                    LK_STR("host", host), LK_STR("err", gai_strerror(r)));
                        continue;
                }
                for (struct addrinfo *a = list; a; a = a->ai_next)
                        if (a->ai_family == AF_INET || a->ai_family == AF_INET6)
                                add_address(app, a->ai_addr);
                freeaddrinfo(list);
        }
        lk_free(hosts);
}

int lk_app_new(const lk_app_options *options, lk_app **ret, lk_err *err) {
        const lk_config *cfg = options->config;
        lk_store *store;
        int r = lk_store_new(&(lk_store_options){
                                     .url = options->secrets ? options->secrets->database.url : NULL,
                                     .config = cfg,
                                     .log = options->log,
                                     .on_lock_lost = options->on_fatal,
                                     .on_lock_lost_arg = options->on_fatal_arg,
                             },
                             &store, err);
        if (r < 0)
                return r;
        lk_app *app = lk_calloc(1, sizeof *app);
        app->log = options->log;
        app->store = store;
        app->listen_ip = cfg->web_server.listen_ip;
        app->checker = lk_checker_new(&(lk_checker_options){
                .poll_interval = cfg->health_check.poll_interval,
                .log = options->log,
        });
        lk_heartbeat *loops[1] = {options->main_loop};
        app->web = lk_web_new(&(lk_web_options){
                .listen_ip = cfg->web_server.listen_ip,
                .port = (uint16_t)cfg->web_server.http_port,
                .checker = app->checker,
                .log = options->log,
                .loops = loops,
                .loop_count = options->main_loop ? 1 : 0,
                .version = options->version,
                .commit = options->commit,
                .started_at = options->started_at,
                .max_body = cfg->web_server.http_max_size,
        });
        app->rootdir = lk__rootdir_new(cfg->root_dir);
        app->ms = (lk_multistart)LK_MULTISTART_INIT;
        app->ms.hooks = (lk_multistart_hooks){log_closing, log_closed, app};
        pthread_mutex_init(&app->stop_lock, NULL);
        lk_cond_init_monotonic(&app->stop_done);

        add(app, lk_web_service(app->web));
        add(app, lk__rootdir_service(app->rootdir));
        /* Right after the root directory it writes into, so that it can
         * profile the start of everything else. */
        if (cfg->auto_pprof.enabled) {
                app->nurse = lk_nurse_new(&(lk_nurse_options){.config = cfg, .log = options->log});
                add(app, lk_nurse_service(app->nurse));
        }
        add(app, lk_store_service(app->store));
        resolve_database_hosts(app);
        const char *password = options->keystore_password;
        if (!password && options->secrets && options->secrets->password.keystore)
                password = options->secrets->password.keystore;
        app->evm_env = lk__evm_env_new(store, password);
        lk_pipeline_evm evm = lk__evm_env_pipeline(app->evm_env);
        r = lk_runner_new(&(lk_runner_options){
                                  .config = cfg,
                                  .store = store,
                                  .evm = &evm,
                                  .log = options->log,
                                  .blocked_addresses = (const char *const *)app->database_addresses,
                                  .blocked_address_count = app->database_address_count,
                          },
                          &app->runner, err);
        if (r < 0) {
                lk_app_free(app);
                return r;
        }
        lk__evm_env_set_runner(app->evm_env, app->runner);
        /* The chains before the runner: a run left unfinished by a crash
         * may send a transaction as soon as the runner starts. */
        if ((r = add_chains(app, options, err)) < 0) {
                lk_app_free(app);
                return r;
        }
        add(app, lk_runner_service(app->runner));
        if ((r = add_jobs(app, cfg, options->log, err)) < 0) {
                lk_app_free(app);
                return r;
        }
        lk_web_route(app->web, "PATCH", "/v2/resume/", LK_WEB_PUBLIC, serve_resume, app->runner);
        app->sessions = lk__sessions_new(app->web, store, cfg, options->log);
        lk__bridges_api_register(app->web, store);
        lk__transfers_api_register(app->web, app);
        lk_web_add_metrics(app->web, runner_metrics, app->runner);
        for (size_t i = 0; i < app->count; i++)
                lk_checker_register(app->checker, app->services[i]->name, app->services[i], NULL);
        *ret = app;
        return 0;
}

int lk_app_ensure_admin(lk_app *app, const char *email, const char *password, bool *ret_created, lk_err *err) {
        int64_t admins = 0;
        int r = lk_user_count_admins(app->store, &admins, err);
        if (r < 0 || admins > 0) {
                if (r == 0)
                        *ret_created = false;
                return r;
        }
        if ((r = lk_user_create(app->store, email, password, LK_ROLE_ADMIN, err)) < 0)
                return r;
        *ret_created = true;
        return 0;
}

int lk_app_add_service(lk_app *app, lk_service *service, lk_err *err) {
        if (app->started)
                return lk_err_set(err, -EBUSY, "cannot add %s: the application has started", service->name);
        if (app->count == MAX_SERVICES - 1)
                return lk_err_set(err, -ENOSPC, "cannot add %s: too many services", service->name);
        int r = lk_checker_register(app->checker, service->name, service, err);
        if (r < 0)
                return r;
        add(app, service);
        return 0;
}

int lk_app_start(lk_app *app, lk_ctx *ctx, lk_err *err) {
        if (app->started)
                return lk_err_set(err, -EALREADY, "application is already started");
        app->started = true;
        add(app, lk_checker_service(app->checker));
        for (size_t i = 0; i < app->count; i++) {
                int cause = lk_ctx_err(ctx);
                if (cause) {
                        lk_err reason = LK_ERR_INIT;
                        lk_err_set(&reason, cause, "aborting start: %s", lk_ctx_strerror(cause));
                        return lk_multistart_close_because(&app->ms, &reason, err);
                }
                lk_service *service = app->services[i];
                lk_log_debug(app->log, "Starting service", LK_STR("service", service->name));
                int r = lk_multistart_start(&app->ms, ctx, &service, 1, err);
                if (r < 0)
                        return r;
                lk_log_info(app->log, "Started service", LK_STR("service", service->name));
                if (service == lk_web_service(app->web)) {
                        /* The probes answer from here on, while the rest
                         * starts (a standby may wait here for long). */
                        char url[128];
                        lk_app_http_url(app, url, sizeof url);
                        lk_log_info(app->log, "HTTP server listening", LK_STR("url", url));
                        lk_err poll_err = LK_ERR_INIT;
                        if (lk_checker_begin_polling(app->checker, &poll_err) < 0)
                                lk_log_warn(app->log, "Health polling starts late", LK_ERROR(&poll_err));
                } else {
                        lk_checker_poll_soon(app->checker); /* /health follows the start as it goes */
                }
        }
        return 0;
}

static void *stop_all(void *arg) {
        lk_app *app = arg;
        lk_err err = LK_ERR_INIT;
        int r = lk_multistart_close(&app->ms, &err);
        pthread_mutex_lock(&app->stop_lock);
        app->stop_result = r;
        app->stop_err = err;
        app->stop_finished = true;
        pthread_cond_broadcast(&app->stop_done);
        pthread_mutex_unlock(&app->stop_lock);
        return NULL;
}

int lk_app_stop(lk_app *app, lk_usec grace, char *hung, size_t hung_size, lk_err *err) {
        pthread_mutex_lock(&app->stop_lock);
        if (app->stopper_running) {
                pthread_mutex_unlock(&app->stop_lock);
                return lk_err_set(err, -EALREADY, "application is already stopping");
        }
        int r = pthread_create(&app->stopper, NULL, stop_all, app);
        if (r != 0) {
                pthread_mutex_unlock(&app->stop_lock);
                return lk_err_set(err, -r, "cannot start the shutdown thread: %s", strerror(r));
        }
        app->stopper_running = true;
        struct timespec deadline = lk_deadline_after(grace);
        while (!app->stop_finished)
                if (pthread_cond_timedwait(&app->stop_done, &app->stop_lock, &deadline) == ETIMEDOUT)
                        break;
        if (!app->stop_finished) {
                char closing[sizeof app->closing];
                snprintf(closing, sizeof closing, "%s", app->closing);
                pthread_mutex_unlock(&app->stop_lock);
                if (hung)
                        snprintf(hung, hung_size, "%s", closing);
                lk_buf d = LK_BUF_INIT;
                lk_duration_format(&d, grace);
                lk_err_set(err, -ETIMEDOUT, "shutdown grace period of %s exceeded while closing %s", lk_buf_str(&d),
                           closing);
                lk_buf_done(&d);
                return -ETIMEDOUT;
        }
        r = app->stop_result;
        if (r < 0 && err)
                *err = app->stop_err;
        pthread_mutex_unlock(&app->stop_lock);
        return r;
}

lk_app *lk_app_free(lk_app *app) {
        if (!app)
                return NULL;
        if (app->stopper_running)
                pthread_join(app->stopper, NULL);
        lk_multistart_done(&app->ms);
        /* The web server first (nothing serves probes from here on), then
         * the checker (nothing polls the services), then the services. */
        lk_web_free(app->web);
        lk_checker_free(app->checker);
        lk__rootdir_free(app->rootdir);
        lk_nurse_free(app->nurse);
        lk__jobs_api_free(app->jobs_api);
        lk_spawner_free(app->spawner);
        lk_scheduler_free(app->scheduler);
        lk_runner_free(app->runner);
        for (size_t i = 0; i < app->chain_count; i++)
                lk_chain_free(app->chains[i]);
        lk_free(app->chains);
        lk__evm_env_free(app->evm_env);
        lk__sessions_free(app->sessions);
        for (size_t i = 0; i < app->database_address_count; i++)
                lk_free(app->database_addresses[i]);
        lk_free(app->database_addresses);
        lk_store_free(app->store);
        pthread_cond_destroy(&app->stop_done);
        pthread_mutex_destroy(&app->stop_lock);
        lk_free(app);
        return NULL;
}

lk_nurse *lk_app_nurse(lk_app *app) {
        return app->nurse;
}

lk_runner *lk_app_runner(lk_app *app) {
        return app->runner;
}

lk_store *lk_app_store(lk_app *app) {
        return app->store;
}

lk_checker *lk_app_checker(lk_app *app) {
        return app->checker;
}

void lk_app_http_url(lk_app *app, char *buf, size_t size) {
        const char *ip = app->listen_ip;
        snprintf(buf, size, strchr(ip, ':') ? "http://[%s]:%u" : "http://%s:%u", ip, lk_web_port(app->web));
}

uint16_t lk_app_http_port(lk_app *app) {
        return lk_web_port(app->web);
}

struct lk_web *lk_app_web(lk_app *app) {
        return app->web;
}

size_t lk_app_chain_count(lk_app *app) {
        return app->chain_count;
}

lk_chain *lk_app_chain(lk_app *app, size_t i) {
        return i < app->chain_count ? app->chains[i] : NULL;
}

lk_chain *lk_app_chain_by_id(lk_app *app, int64_t chain_id) {
        for (size_t i = 0; i < app->chain_count; i++)
                if (lk_chain_id(app->chains[i]) == chain_id)
                        return app->chains[i];
        return NULL;
}
