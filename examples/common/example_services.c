#include "example_services.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *name_of(lk_service *service) {
        return ((example_service *)service)->name;
}

static int print_started(lk_service *service, lk_ctx *ctx, lk_err *err) {
        printf("%s started\n", name_of(service));
        return 0;
}

static int print_closed(lk_service *service, lk_err *err) {
        printf("%s closed\n", name_of(service));
        return 0;
}

static int fail_close(lk_service *service, lk_err *err) {
        printf("%s close failure\n", name_of(service));
        return lk_err_set(err, -EIO, "failed to close: %s", name_of(service));
}

static int fail_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        printf("%s start failure\n", name_of(service));
        return lk_err_set(err, -EIO, "failed to start: %s", name_of(service));
}

static const lk_service_vtable healthy_vtable = {.start = print_started, .close = print_closed};
static const lk_service_vtable close_failure_vtable = {.start = print_started, .close = fail_close};
static const lk_service_vtable wont_start_vtable = {.start = fail_start, .close = print_closed};

static void init(example_service *s, const lk_service_vtable *vtable, const char *name) {
        snprintf(s->name, sizeof s->name, "%s", name);
        s->service = (lk_service){.vtable = vtable, .name = s->name};
}

void example_healthy(example_service *s, const char *name) {
        init(s, &healthy_vtable, name);
}

void example_close_failure(example_service *s, const char *name) {
        init(s, &close_failure_vtable, name);
}

void example_wont_start(example_service *s, const char *name) {
        init(s, &wont_start_vtable, name);
}
