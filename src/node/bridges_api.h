/* The bridges and external initiators routes (internal to src/node), as
 * Chainlink v1.13's BridgeTypesController and ExternalInitiatorsController
 * offer them:
 *
 *   GET    /v2/bridge_types[?page=&size=]    view   paginated, by name
 *   GET    /v2/bridge_types/:name            view
 *   POST   /v2/bridge_types                  edit   201, incomingToken once
 *   PATCH  /v2/bridge_types/:name            edit
 *   DELETE /v2/bridge_types/:name            edit   the deleted bridge
 *   GET    /v2/external_initiators[?page=&size=]   view
 *   POST   /v2/external_initiators           edit   201, incomingSecret once
 *   DELETE /v2/external_initiators/:name     edit   204
 *
 * Bad bodies and parameters get 422, unknown names 404, taken names 409. */
#ifndef LINKD_NODE_BRIDGES_API_H
#define LINKD_NODE_BRIDGES_API_H

#include "linkd/store.h"
#include "linkd/web.h"

/* Call before the server starts; store must outlive web. */
void lk__bridges_api_register(lk_web *web, lk_store *store);

#endif
