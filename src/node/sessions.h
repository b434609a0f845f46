/* The API's authentication (internal to src/node): who a request comes
 * from (session cookie or API token), logging in and out, and the users
 * routes. */
#ifndef LINKD_NODE_SESSIONS_H
#define LINKD_NODE_SESSIONS_H

#include "linkd/auth.h"
#include "linkd/config.h"
#include "linkd/store.h"
#include "linkd/web.h"

#define LK_SESSION_COOKIE "clsession"

typedef struct lk__sessions lk__sessions;

/* Sets the web server's authenticator and adds POST/DELETE /sessions and
 * GET/POST /v2/users.  Everything borrowed must outlive the result. */
lk__sessions *lk__sessions_new(lk_web *web, lk_store *store, const lk_config *cfg, lk_log *log);
lk__sessions *lk__sessions_free(lk__sessions *sessions);

#endif
