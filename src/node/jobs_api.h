/* The jobs API (internal to src/node): /v2/jobs, webhook runs, runs and
 * job spec errors. */
#ifndef LINKD_NODE_JOBS_API_H
#define LINKD_NODE_JOBS_API_H

#include "linkd/config.h"
#include "linkd/spawner.h"
#include "linkd/store.h"
#include "linkd/web.h"

typedef struct lk__jobs_api lk__jobs_api;

/* Registers the routes.  Everything borrowed must outlive the result. */
lk__jobs_api *lk__jobs_api_new(lk_web *web, lk_store *store, lk_spawner *spawner, const lk_config *cfg);
lk__jobs_api *lk__jobs_api_free(lk__jobs_api *api);

#endif
