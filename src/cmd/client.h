/* The operator commands' client of a running node's API: arguments shared
 * by every command, one request helper, JSON lookups and a table printer. */
#ifndef LINKD_CMD_CLIENT_H
#define LINKD_CMD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "linkd/buf.h"
#include "linkd/value.h"

/* A command-specific option: --name VALUE (value) or --name (flag). */
typedef struct lk__client_option {
        const char *name;
        const char **value;
        bool *flag;
} lk__client_option;

typedef struct lk__client {
        char *url;         /* the node's base URL, no trailing slash */
        char *cookie;      /* the session token, NULL when not logged in to url */
        bool json;         /* --json: print the API's documents as returned */
        const char *args[4]; /* positional arguments */
        int nargs;
} lk__client;

typedef struct lk__reply {
        long status;
        lk_buf body;
        char *session;  /* the clsession cookie the answer sets, if any */
        lk_value *doc;  /* the body as JSON; NULL if it is not JSON */
} lk__reply;

#define LK__REPLY_INIT {0, LK_BUF_INIT, NULL, NULL}

/* The path of the client's state file name: in $LINKD_ROOT, else in
 * ~/.linkd.  lk_free it. */
char *lk__client_state_path(const char *name);
/* Writes value as the state file name, private to the user. */
int lk__client_save_state(const char *name, const char *value, lk_err *err);

/* Parses argv (argv[0] is the subcommand) into c: --json,
 * --remote-node-url, the options in opts (NULL-name terminated, may be
 * NULL) and from min_args to max_args positional arguments.  Then picks
 * the URL (flag, $LINKD_REMOTE_NODE_URL, the one logged in to, the
 * default) and loads the session for it.  Prints usage and returns
 * LK_EXIT_USAGE on bad arguments. */
int lk__client_init(lk__client *c, int argc, char **argv, const lk__client_option *opts, int min_args, int max_args,
                    const char *usage);
void lk__client_done(lk__client *c);

/* Sends method path with body (NULL: none) and accept (NULL: JSON).
 * Returns LK_EXIT_OK with *ret filled for any HTTP answer, or prints why
 * the node could not be reached and returns LK_EXIT_FAILURE. */
int lk__client_call(lk__client *c, const char *method, const char *path, const char *body, size_t body_len,
                    const char *accept, lk__reply *ret);
/* As lk__client_call, and a non-2xx answer is printed as an error and
 * makes it return LK_EXIT_FAILURE (*ret is still filled). */
int lk__client_request(lk__client *c, const char *method, const char *path, const char *body, lk__reply *ret);
/* Prints "linkd: <status>: <detail>" (and the login hint for 401). */
void lk__client_print_error(const lk__reply *reply);
void lk__reply_done(lk__reply *reply);
/* With --json, prints the body as returned and returns true. */
bool lk__client_print_json(const lk__client *c, const lk__reply *reply);

/* "key":"value" (JSON-escaped) into a request body being written after
 * its opening "{", with a comma before all but the first member. */
void lk__client_put_member(lk_buf *body, const char *key, const char *value);
/* prefix, then arg URL-escaped, then suffix.  lk_free it. */
char *lk__client_path(const char *prefix, const char *arg, const char *suffix);
/* GETs path and prints its "data" array as a table of the values at
 * paths under header (or the document with --json). */
int lk__client_list(lk__client *c, const char *path, const char *const *header, const char *const *paths);
/* The command "delete NAME": DELETE prefix+NAME, saying what went. */
int lk__client_delete(int argc, char **argv, const char *usage, const char *prefix, const char *what);

/* The value at a dotted path ("data.attributes.name"); NULL if absent. */
const lk_value *lk__json_at(const lk_value *v, const char *path);
/* The value at path as text for display: strings as they are, null or
 * absent as "", anything else as JSON.  lk_free it. */
char *lk__json_text(const lk_value *v, const char *path);

/* A table of text cells, printed with aligned columns. */
typedef struct lk__table {
        size_t columns;
        char **cells; /* owned */
        size_t count, cap;
} lk__table;

/* Starts a table with its header, the column names (NULL-terminated). */
void lk__table_init(lk__table *t, const char *const *header);
/* Adds the next cell (left to right, row by row); takes over text. */
void lk__table_add(lk__table *t, char *text);
/* Adds a row of the values at paths (NULL-terminated) inside item. */
void lk__table_add_row(lk__table *t, const lk_value *item, const char *const *paths);
void lk__table_print(const lk__table *t);
void lk__table_done(lk__table *t);

/* Prints "Label: value" lines for the values at paths, aligned. */
void lk__print_fields(const lk_value *item, const char *const *labels, const char *const *paths);

/* Parses a positive integer argument for option name; prints and returns
 * -1 if it is not one. */
int lk__parse_positive(const char *name, const char *text, long long *ret);

#endif
