/* The HTTP server (libmicrohttpd): the probes now, the /v2 API later.
 *
 *   GET /readyz          200 or 503, empty body; ?full adds the JSON:API list
 *   GET /health          JSON:API checks, 200 when all pass, 503 otherwise;
 *                        ?failing keeps the failing ones; Accept: text/plain
 *                        (or /health.txt) gives the text form
 *   GET /livez           200 while the node's own loops respond
 *   GET /metrics         Prometheus text format 0.0.4
 *
 * Everything the probes print comes from the Checker's published snapshot;
 * a request never calls into a service. */
#ifndef LINKD_WEB_H
#define LINKD_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "linkd/checker.h"
#include "linkd/heartbeat.h"
#include "linkd/log.h"
#include "linkd/service.h"

#define LK_WEB_NAME "WebServer"

typedef struct lk_web lk_web;

typedef struct lk_web_options {
        const char *listen_ip;   /* IPv4 or IPv6 literal */
        uint16_t port;           /* 0 = an ephemeral port, see lk_web_port */
        unsigned threads;        /* 0 = one per online CPU */
        lk_checker *checker;     /* borrowed */
        lk_log *log;             /* borrowed; may be NULL */
        lk_heartbeat *const *loops; /* borrowed; /livez checks each */
        size_t loop_count;
        const char *version;     /* borrowed */
        const char *commit;      /* borrowed */
        lk_usec started_at;      /* realtime, for uptime_seconds */
} lk_web_options;

/* The caller owns the server and frees it after closing it.  Options are
 * copied; the pointers in them are borrowed. */
lk_web *lk_web_new(const lk_web_options *options);
lk_web *lk_web_free(lk_web *web);

/* The server as a service named LK_WEB_NAME; owned by the server. */
lk_service *lk_web_service(lk_web *web);

/* The port actually listened on, once started. */
uint16_t lk_web_port(lk_web *web);

#endif
