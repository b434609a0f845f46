/* The three toy services of the seed's examples: Healthy starts and closes,
 * CloseFailure starts but fails to close, WontStart fails to start.  Each
 * prints what happens to it on stdout. */
#ifndef LINKD_EXAMPLE_SERVICES_H
#define LINKD_EXAMPLE_SERVICES_H

#include "linkd/service.h"

typedef struct example_service {
        lk_service service;
        char name[32];
} example_service;

void example_healthy(example_service *s, const char *name);
void example_close_failure(example_service *s, const char *name);
void example_wont_start(example_service *s, const char *name);

#endif
