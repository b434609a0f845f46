/* A real linkd node for black-box tests: its directory, config and --api
 * file (the first admin), started and stopped like an operator would, and
 * API calls with a session cookie. */
#ifndef LKTEST_NODE_H
#define LKTEST_NODE_H

#include "lktest.h"

typedef struct lktest_node {
        char *dir;     /* a fresh temporary directory; RootDir is dir/root */
        char *config;  /* dir/linkd.toml: HTTPPort 0 plus the extra config */
        char *api;     /* dir/api.txt, mode 0600 */
        char *secrets; /* NULL: SQLite; else a secrets file naming pg_url */
        char *pg_url;
        char *password; /* NULL: no keystore password; else dir/password.txt, mode 0600 */
        lktest_proc proc;
        unsigned port; /* set by lktest_node_start */
} lktest_node;

/* extra_config (may be NULL) is appended to the config, after a
 * [WebServer] table holding HTTPPort. */
void lktest_node_init(lktest_node *node, const char *extra_config, const char *email, const char *password);
/* Puts the node on a fresh PostgreSQL database (dropped by done). */
void lktest_node_use_postgres(lktest_node *node);
/* Gives the node a keystore password (node start --password FILE). */
void lktest_node_set_password(lktest_node *node, const char *password);
/* Starts linkd node start --config --api [--secrets] and waits for "API
 * listening"; fails the test with linkd's log otherwise. */
void lktest_node_start(lktest_node *node);
/* SIGTERM; the node must exit 0.  Its log stays readable until the next
 * start. */
void lktest_node_stop(lktest_node *node);
void lktest_node_done(lktest_node *node);

/* method path, with the session cookie when not NULL, and a JSON body
 * when not NULL. */
lktest_http lktest_node_call(lktest_node *node, const char *cookie, const char *method, const char *path,
                             const char *body);
/* POST /sessions; the session cookie's value (lk_free it). */
char *lktest_node_login(lktest_node *node, const char *email, const char *password);

#endif
