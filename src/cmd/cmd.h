/* The linkd command line: one function per command, each returning the
 * process exit status. */
#ifndef LINKD_CMD_H
#define LINKD_CMD_H

#include "linkd/config.h"
#include "linkd/store.h"

/* Exit statuses shared by the commands. */
enum {
        LK_EXIT_OK = 0,
        LK_EXIT_FAILURE = 1,      /* the node failed to start or to stop cleanly */
        LK_EXIT_USAGE = 2,        /* bad arguments or bad configuration */
        LK_EXIT_HUNG = 3,         /* shutdown exceeded ShutdownGracePeriod */
};

int lk_cmd_node(int argc, char **argv);
int lk_cmd_db(int argc, char **argv);
int lk_cmd_pipeline(int argc, char **argv);
int lk_cmd_cron(int argc, char **argv);
int lk_cmd_admin(int argc, char **argv);
int lk_cmd_jobs(int argc, char **argv);
int lk_cmd_runs(int argc, char **argv);
int lk_cmd_bridges(int argc, char **argv);
int lk_cmd_txs(int argc, char **argv);
int lk_cmd_initiators(int argc, char **argv);
/* linkd vrf prove|verify, linkd schnorr sign: no node needed. */
int lk_cmd_vrf(int argc, char **argv);
int lk_cmd_schnorr(int argc, char **argv);
/* linkd node health: the node's health checks, asked over its API. */
int lk_cmd_node_health(int argc, char **argv);

/* Opens the database the configuration names (creating RootDir for
 * SQLite); prints the problem and returns an exit status on failure. */
int lk__cmd_open_store(const lk_config *cfg, const lk_secrets *secrets, lk_store **ret_store);
/* linkd keys vrf|eth create|list|export|import|delete. */
int lk_cmd_keys(int argc, char **argv);

/* Parses --config FILE (repeatable, applied in order) and --secrets FILE
 * after the command name, and loads them over the defaults; --api FILE
 * goes to *ret_api_file for the commands that take it (NULL refuses it).
 * Prints the problem and returns LK_EXIT_USAGE on failure. */
int lk__cmd_load_config(int argc, char **argv, const char *usage, lk_config *cfg, lk_secrets *secrets,
                        const char **ret_api_file);

/* A password file's content without its final newline (lk_free it, after
 * explicit_bzero); NULL, having said why on stderr, when path is NULL,
 * unreadable or holds no password.  flag names the option in messages. */
char *lk__cmd_read_password(const char *flag, const char *path);

#endif
