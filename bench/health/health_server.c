/* The probe server under benchmark: linkd's real Checker and HTTP server
 * with 20 registered services named like a node with two chains, a store,
 * jobs and the web server.  Prints its port, then serves until SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "linkd/checker.h"
#include "linkd/web.h"

typedef struct bench_service {
        lk_service service;
        lk_once once;
} bench_service;

static int started(void *arg, lk_err *err) {
        return 0;
}

static int bench_start(lk_service *s, lk_ctx *ctx, lk_err *err) {
        return lk_once_start(s->once, s->name, started, NULL, err);
}

static int bench_close(lk_service *s, lk_err *err) {
        return lk_once_stop(s->once, s->name, started, NULL, err);
}

static const lk_service_vtable vtable = {.start = bench_start, .close = bench_close};

static const char *const names[] = {
        "Database",          "Database.Lock",          "EVM.1.HeadTracker",   "EVM.1.HeadBroadcaster",
        "EVM.1.LogBroadcaster", "EVM.1.Txm",           "EVM.1.Txm.Broadcaster", "EVM.1.Txm.Confirmer",
        "EVM.1.BalanceMonitor", "EVM.1.Node.primary",  "EVM.137.HeadTracker", "EVM.137.HeadBroadcaster",
        "EVM.137.LogBroadcaster", "EVM.137.Txm",       "EVM.137.Node.primary", "JobSpawner",
        "PipelineRunner",    "PipelineORM",            "Scheduler",           "Nurse",
};

int main(int argc, char **argv) {
        unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 0;
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGTERM);
        sigaddset(&signals, SIGINT);
        pthread_sigmask(SIG_BLOCK, &signals, NULL);

        lk_checker *checker = lk_checker_new(NULL);
        bench_service services[20];
        lk_ctx ctx;
        lk_ctx_init(&ctx, LK_USEC_INFINITY);
        for (int i = 0; i < 20; i++) {
                lk_once_init(&services[i].once);
                services[i].service = (lk_service){.vtable = &vtable, .name = names[i], .once = &services[i].once};
                lk_service_start(&services[i].service, &ctx, NULL);
                lk_checker_register(checker, names[i], &services[i].service, NULL);
        }
        lk_web *web = lk_web_new(&(lk_web_options){
                .listen_ip = "127.0.0.1",
                .port = (uint16_t)port,
                .checker = checker,
                .version = "bench",
                .commit = "bench",
                .started_at = lk_now_realtime(),
        });
        lk_err err = LK_ERR_INIT;
        if (lk_service_start(lk_web_service(web), &ctx, &err) < 0 ||
            lk_service_start(lk_checker_service(checker), &ctx, &err) < 0) {
                fprintf(stderr, "health_server: %s\n", err.msg);
                return 1;
        }
        printf("%u\n", lk_web_port(web));
        fflush(stdout);
        int sig;
        sigwait(&signals, &sig);
        lk_service_close(lk_checker_service(checker), NULL);
        lk_service_close(lk_web_service(web), NULL);
        lk_web_free(web);
        lk_checker_free(checker);
        for (int i = 0; i < 20; i++)
                lk_once_done(&services[i].once);
        lk_ctx_done(&ctx);
        return 0;
}
