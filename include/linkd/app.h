/* The Application: the node's services in their declared start order,
 * registered with the health Checker, started through one MultiStart with
 * the Checker last, and closed in reverse.
 *
 * Start order: WebServer (so the probes answer, with 503, while the rest
 * starts), RootDir, the Nurse when [AutoPprof] Enabled, Database (which may
 * wait for the single-writer lock), PipelineRunner (which re-runs the runs
 * a crash left unfinished and serves PATCH /v2/resume/:taskRunID), each
 * enabled [[EVM]] chain ("EVM.<chainID>": its head tracker and transaction
 * manager), the Scheduler and JobSpawner, any services added with
 * lk_app_add_service, and the HealthChecker.  The Checker begins polling
 * as soon as the WebServer is up, so /health tells what a long start waits
 * for, but reports the node ready only once it has itself started, last.
 * Closing reverses the order: the Checker goes first, so /readyz turns 503
 * before anything else stops, and the WebServer last. */
#ifndef LINKD_APP_H
#define LINKD_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "linkd/checker.h"
#include "linkd/config.h"
#include "linkd/heartbeat.h"
#include "linkd/log.h"
#include "linkd/nurse.h"
#include "linkd/service.h"
#include "linkd/store.h"

typedef struct lk_app lk_app;

typedef struct lk_app_options {
        const lk_config *config;   /* borrowed; must outlive the app */
        const lk_secrets *secrets; /* borrowed; may be NULL (no secrets file) */
        /* The keystore's password (node start --password FILE); NULL:
         * the secrets' [Password] Keystore, if any.  Borrowed. */
        const char *keystore_password;
        lk_log *log;               /* borrowed */
        lk_heartbeat *main_loop;   /* borrowed; the process loop /livez watches; may be NULL */
        const char *version;
        const char *commit;
        lk_usec started_at;        /* realtime */
        /* Called, from any thread, when the node must stop at once because
         * it lost the database lock to another node.  May be NULL. */
        void (*on_fatal)(void *arg);
        void *on_fatal_arg;
} lk_app_options;

/* Builds the services.  Fails only on a configuration the services reject
 * (a bad database URL).  The caller owns the app. */
int lk_app_new(const lk_app_options *options, lk_app **ret_app, lk_err *err);

/* Frees the app, its services and its checker.  Waits for a close that
 * lk_app_stop abandoned at its deadline.  Accepts NULL; returns NULL. */
lk_app *lk_app_free(lk_app *app);

/* After a successful start: creates the admin user email with password
 * when there is no admin yet (`node start --api FILE`), and says whether
 * it did. */
int lk_app_ensure_admin(lk_app *app, const char *email, const char *password, bool *ret_created, lk_err *err);

/* Adds a service (borrowed; must outlive the app) to start after the
 * built-in ones and before the Checker, registering it for health checks
 * under its name.  Only before lk_app_start. */
int lk_app_add_service(lk_app *app, lk_service *service, lk_err *err);

/* Starts every service in order.  If ctx is cancelled between two starts,
 * closes what started and fails with "aborting start: context canceled".
 * On failure everything already started has been closed again. */
int lk_app_start(lk_app *app, lk_ctx *ctx, lk_err *err);

/* Closes the started services in reverse order, one at a time, logging
 * each.  Returns every close error joined.  If the closing takes longer
 * than grace, returns -ETIMEDOUT at once, with the name of the service
 * still closing in hung (if not NULL); the close goes on in the
 * background and lk_app_free waits for it. */
int lk_app_stop(lk_app *app, lk_usec grace, char *hung, size_t hung_size, lk_err *err);

/* The node's EVM chains (one per enabled [[EVM]]), owned by the app. */
size_t lk_app_chain_count(lk_app *app);
struct lk_chain *lk_app_chain(lk_app *app, size_t i);
struct lk_chain *lk_app_chain_by_id(lk_app *app, int64_t chain_id);

lk_checker *lk_app_checker(lk_app *app);
/* The Nurse, when [AutoPprof] Enabled; NULL otherwise.  Services add their
 * own checks to it with lk_nurse_add_check. */
lk_nurse *lk_app_nurse(lk_app *app);
lk_store *lk_app_store(lk_app *app);
/* The API server, e.g. to list its routes.  Owned by the app. */
struct lk_web *lk_app_web(lk_app *app);
/* The pipeline runner (a service started after the Database). */
struct lk_runner *lk_app_runner(lk_app *app);
/* The port the API listens on, once started, and its URL. */
uint16_t lk_app_http_port(lk_app *app);
void lk_app_http_url(lk_app *app, char *buf, size_t size);

#endif
