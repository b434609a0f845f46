/* The client side of the operator commands: where the session is kept,
 * how the node is asked, and how its answers are printed.  The commands
 * that use it live in client_admin.c, client_jobs.c and client_bridges.c. */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd.h"
#include "linkd/alloc.h"
#include "linkd/file.h"

#define DEFAULT_URL "http://127.0.0.1:6688"
#define STATE_MAX 4096
#define REQUEST_TIMEOUT_SECONDS 300L
#define SESSION_COOKIE "clsession"

/* ---- the state directory ---- */

char *lk__client_state_path(const char *name) {
        const char *root = getenv("LINKD_ROOT");
        if (root && *root)
                return lk_asprintf("%s/%s", root, name);
        const char *home = getenv("HOME");
        return lk_asprintf("%s/.linkd/%s", home && *home ? home : ".", name);
}

/* The trimmed first line of the state file name; NULL if there is none. */
static char *read_state(const char *name) {
        char *path = lk__client_state_path(name);
        char *text = NULL;
        size_t len;
        if (lk_file_read(path, STATE_MAX, &text, &len, NULL) < 0)
                text = NULL;
        lk_free(path);
        if (text)
                text[strcspn(text, "\r\n")] = '\0';
        if (text && !*text)
                lk_freep(&text);
        return text;
}

int lk__client_save_state(const char *name, const char *value, lk_err *err) {
        char *path = lk__client_state_path(name);
        char *dir = lk_strndup(path, (size_t)(strrchr(path, '/') - path));
        char *line = lk_asprintf("%s\n", value);
        int r = lk_dir_ensure_private(dir, err);
        if (r == 0)
                r = lk_file_write_atomic(path, line, strlen(line), 0600, err);
        explicit_bzero(line, strlen(line));
        lk_free(line);
        lk_free(dir);
        lk_free(path);
        return r;
}

/* ---- arguments ---- */

static bool option_matches(const char *arg, const char *name, const char **ret_inline) {
        size_t n = strlen(name);
        if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0)
                return false;
        if (arg[2 + n] == '=')
                *ret_inline = arg + 3 + n;
        else if (arg[2 + n] != '\0')
                return false;
        return true;
}

/* Handles argv[*i] as an option; false if no option matches it. */
static bool parse_option(const lk__client_option *opts, int argc, char **argv, int *i, bool *ret_ok) {
        *ret_ok = true;
        for (const lk__client_option *o = opts; o && o->name; o++) {
                const char *value = NULL;
                if (!option_matches(argv[*i], o->name, &value))
                        continue;
                if (o->flag) {
                        *o->flag = true;
                        *ret_ok = value == NULL;
                } else if (value) {
                        *o->value = value;
                } else if (*i + 1 < argc) {
                        *o->value = argv[++*i];
                } else {
                        *ret_ok = false;
                }
                return true;
        }
        return false;
}

static int parse_arguments(lk__client *c, int argc, char **argv, const lk__client_option *opts, const char **ret_url) {
        const lk__client_option common[] = {
                {"json", NULL, &c->json},
                {"remote-node-url", ret_url, NULL},
                {NULL, NULL, NULL},
        };
        bool options_done = false;
        for (int i = 1; i < argc; i++) {
                bool ok = true;
                if (!options_done && strcmp(argv[i], "--") == 0) {
                        options_done = true;
                        continue;
                }
                if (!options_done && argv[i][0] == '-' && argv[i][1] != '\0') {
                        if (!parse_option(common, argc, argv, &i, &ok) && !parse_option(opts, argc, argv, &i, &ok)) {
                                fprintf(stderr, "linkd: unknown option \"%s\"\n", argv[i]);
                                return LK_EXIT_USAGE;
                        }
                        if (!ok) {
                                fprintf(stderr, "linkd: option \"%s\" is missing its value or takes none\n", argv[i]);
                                return LK_EXIT_USAGE;
                        }
                        continue;
                }
                if (c->nargs == (int)(sizeof c->args / sizeof c->args[0])) {
                        fprintf(stderr, "linkd: too many arguments\n");
                        return LK_EXIT_USAGE;
                }
                c->args[c->nargs++] = argv[i];
        }
        return LK_EXIT_OK;
}

/* The base URL without trailing slashes. */
static char *normalize_url(const char *url) {
        size_t len = strlen(url);
        while (len > 0 && url[len - 1] == '/')
                len--;
        return lk_strndup(url, len);
}

int lk__client_init(lk__client *c, int argc, char **argv, const lk__client_option *opts, int min_args, int max_args,
                    const char *usage) {
        *c = (lk__client){0};
        const char *url = NULL;
        int status = parse_arguments(c, argc, argv, opts, &url);
        if (status == LK_EXIT_OK && (c->nargs < min_args || c->nargs > max_args)) {
                fprintf(stderr, "linkd: wrong number of arguments\n");
                status = LK_EXIT_USAGE;
        }
        if (status != LK_EXIT_OK) {
                fprintf(stderr, "%s", usage);
                return status;
        }
        char *saved_url = read_state("remote");
        if (!url)
                url = getenv("LINKD_REMOTE_NODE_URL");
        if (!url || !*url)
                url = saved_url ? saved_url : DEFAULT_URL;
        c->url = normalize_url(url);
        /* The session belongs to the node it was made on: never hand it
         * to another one. */
        if (saved_url && strcmp(saved_url, c->url) == 0)
                c->cookie = read_state("cookie");
        lk_free(saved_url);
        return LK_EXIT_OK;
}

void lk__client_done(lk__client *c) {
        if (c->cookie)
                explicit_bzero(c->cookie, strlen(c->cookie));
        lk_free(c->cookie);
        lk_free(c->url);
        *c = (lk__client){0};
}

/* ---- requests ---- */

static size_t on_body(char *data, size_t size, size_t count, void *arg) {
        lk_buf_append(arg, data, size * count);
        return size * count;
}

/* Keeps the session cookie from a Set-Cookie header line. */
static size_t on_header(char *data, size_t size, size_t count, void *arg) {
        lk__reply *reply = arg;
        size_t len = size * count;
        static const char name[] = "set-cookie:";
        if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
                const char *p = data + sizeof name - 1, *end = data + len;
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                size_t n = strlen(SESSION_COOKIE);
                if ((size_t)(end - p) > n && strncmp(p, SESSION_COOKIE "=", n + 1) == 0) {
                        p += n + 1;
                        size_t value_len = 0;
                        while (p + value_len < end && !strchr(";\r\n", p[value_len]))
                                value_len++;
                        lk_free(reply->session);
                        reply->session = lk_strndup(p, value_len);
                }
        }
        return len;
}

static struct curl_slist *headers_for(const lk__client *c, const char *accept) {
        struct curl_slist *headers = NULL;
        char *line = lk_asprintf("Accept: %s", accept ? accept : "application/json");
        headers = curl_slist_append(headers, line);
        lk_free(line);
        headers = curl_slist_append(headers, "Content-Type: application/json");
        if (c->cookie) {
                line = lk_asprintf("Cookie: " SESSION_COOKIE "=%s", c->cookie);
                headers = curl_slist_append(headers, line);
                explicit_bzero(line, strlen(line));
                lk_free(line);
        }
        return headers;
}

int lk__client_call(lk__client *c, const char *method, const char *path, const char *body, size_t body_len,
                    const char *accept, lk__reply *ret) {
        CURL *curl = curl_easy_init();
        if (!curl) {
                fprintf(stderr, "linkd: cannot initialise libcurl\n");
                return LK_EXIT_FAILURE;
        }
        char *url = lk_asprintf("%s%s", c->url, path);
        struct curl_slist *headers = headers_for(c, accept);
        lk__reply reply = LK__REPLY_INIT;
        char error[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_SECONDS);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply);
        if (body) {
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
        CURLcode code = curl_easy_perform(curl);
        if (code == CURLE_OK)
                curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);
        if (code != CURLE_OK) {
                fprintf(stderr, "linkd: cannot reach the node at %s: %s\n", url,
                        error[0] ? error : curl_easy_strerror(code));
                lk_free(url);
                lk__reply_done(&reply);
                return LK_EXIT_FAILURE;
        }
        lk_free(url);
        if (reply.body.len && lk_value_from_json(reply.body.data, reply.body.len, &reply.doc, NULL) < 0)
                reply.doc = NULL;
        *ret = reply;
        return LK_EXIT_OK;
}

int lk__client_request(lk__client *c, const char *method, const char *path, const char *body, lk__reply *ret) {
        int status = lk__client_call(c, method, path, body, body ? strlen(body) : 0, NULL, ret);
        if (status != LK_EXIT_OK)
                return status;
        if (ret->status < 200 || ret->status > 299) {
                lk__client_print_error(ret);
                return LK_EXIT_FAILURE;
        }
        return LK_EXIT_OK;
}

void lk__client_print_error(const lk__reply *reply) {
        char *detail = lk__json_text(reply->doc, "errors.0.detail");
        if (!*detail && !reply->doc && reply->body.len) {
                lk_free(detail);
                detail = lk_strndup(reply->body.data, strcspn(reply->body.data, "\r\n"));
        }
        fprintf(stderr, "linkd: %ld: %s\n", reply->status, *detail ? detail : "request failed");
        if (reply->status == 401)
                fprintf(stderr, "linkd: not logged in to this node: run `linkd admin login`\n");
        lk_free(detail);
}

void lk__reply_done(lk__reply *reply) {
        if (reply->session)
                explicit_bzero(reply->session, strlen(reply->session));
        lk_free(reply->session);
        lk_buf_done(&reply->body);
        lk_value_unref(reply->doc);
        *reply = (lk__reply)LK__REPLY_INIT;
}

bool lk__client_print_json(const lk__client *c, const lk__reply *reply) {
        if (!c->json)
                return false;
        fputs(lk_buf_str(&reply->body), stdout);
        if (reply->body.len && reply->body.data[reply->body.len - 1] != '\n')
                putchar('\n');
        return true;
}

/* ---- commands' common shapes ---- */

/* Prints data (a list document's "data") as a table. */
static void print_list(const lk_value *doc, const char *const *header, const char *const *paths) {
        lk__table t;
        lk__table_init(&t, header);
        const lk_value *data = lk__json_at(doc, "data");
        for (size_t i = 0; data && lk_value_type_of(data) == LK_VALUE_ARRAY && i < lk_value_array_len(data); i++)
                lk__table_add_row(&t, lk_value_array_at(data, i), paths);
        lk__table_print(&t);
        lk__table_done(&t);
}

/* GETs path and prints the list, or the document with --json. */
int lk__client_list(lk__client *c, const char *path, const char *const *header, const char *const *paths) {
        lk__reply reply = LK__REPLY_INIT;
        int status = lk__client_request(c, "GET", path, NULL, &reply);
        if (status == LK_EXIT_OK && !lk__client_print_json(c, &reply))
                print_list(reply.doc, header, paths);
        lk__reply_done(&reply);
        return status;
}

/* prefix and suffix around the URL-escaped argument appended. */
char *lk__client_path(const char *prefix, const char *arg, const char *suffix) {
        lk_buf out = LK_BUF_INIT;
        lk_buf_puts(&out, prefix);
        for (const unsigned char *p = (const unsigned char *)arg; *p; p++) {
                if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    strchr("-._~", *p))
                        lk_buf_putc(&out, (char)*p);
                else
                        lk_buf_printf(&out, "%%%02X", *p);
        }
        lk_buf_puts(&out, suffix);
        return lk_buf_steal(&out, NULL);
}

int lk__client_delete(int argc, char **argv, const char *usage, const char *prefix, const char *what) {
        lk__client c;
        int status = lk__client_init(&c, argc, argv, NULL, 1, 1, usage);
        if (status != LK_EXIT_OK)
                return status;
        char *path = lk__client_path(prefix, c.args[0], "");
        lk__reply reply = LK__REPLY_INIT;
        status = lk__client_request(&c, "DELETE", path, NULL, &reply);
        if (status == LK_EXIT_OK && !(reply.body.len && lk__client_print_json(&c, &reply)))
                printf("Deleted %s %s\n", what, c.args[0]);
        lk__reply_done(&reply);
        lk_free(path);
        lk__client_done(&c);
        return status;
}

/* ---- JSON ---- */

static bool all_digits(const char *s, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

const lk_value *lk__json_at(const lk_value *v, const char *path) {
        while (v && *path) {
                size_t len = strcspn(path, ".");
                if (lk_value_type_of(v) == LK_VALUE_MAP)
                        v = lk_value_map_get(v, path, len);
                else if (lk_value_type_of(v) == LK_VALUE_ARRAY && all_digits(path, len) &&
                         strtoull(path, NULL, 10) < lk_value_array_len(v))
                        v = lk_value_array_at(v, strtoull(path, NULL, 10));
                else
                        v = NULL;
                path += len + (path[len] == '.');
        }
        return v;
}

char *lk__json_text(const lk_value *v, const char *path) {
        const lk_value *at = v ? lk__json_at(v, path) : NULL;
        if (!at || lk_value_type_of(at) == LK_VALUE_NULL)
                return lk_strdup("");
        if (lk_value_type_of(at) == LK_VALUE_STRING)
                return lk_strdup(lk_value_get_string(at, NULL));
        lk_buf out = LK_BUF_INIT;
        lk_value_to_json(at, &out);
        return lk_buf_steal(&out, NULL);
}

/* ---- tables ---- */

void lk__table_init(lk__table *t, const char *const *header) {
        *t = (lk__table){0};
        while (header[t->columns])
                t->columns++;
        for (size_t i = 0; i < t->columns; i++)
                lk__table_add(t, lk_strdup(header[i]));
}

void lk__table_add(lk__table *t, char *text) {
        if (t->count == t->cap) {
                t->cap = t->cap ? 2 * t->cap : 32;
                t->cells = lk_realloc(t->cells, t->cap * sizeof *t->cells);
        }
        /* One cell, one line: a multi-line value would break the columns. */
        for (char *p = text; *p; p++)
                if (*p == '\n' || *p == '\r' || *p == '\t')
                        *p = ' ';
        t->cells[t->count++] = text;
}

void lk__table_add_row(lk__table *t, const lk_value *item, const char *const *paths) {
        for (size_t i = 0; paths[i]; i++)
                lk__table_add(t, lk__json_text(item, paths[i]));
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width_of(const char *s) {
        size_t w = 0;
        for (; *s; s++)
                w += ((unsigned char)*s & 0xC0) != 0x80;
        return w;
}

void lk__table_print(const lk__table *t) {
        size_t *widths = lk_calloc(t->columns ? t->columns : 1, sizeof *widths);
        for (size_t i = 0; i < t->count; i++) {
                size_t w = width_of(t->cells[i]);
                if (w > widths[i % t->columns])
                        widths[i % t->columns] = w;
        }
        for (size_t i = 0; i < t->count; i++) {
                size_t column = i % t->columns;
                bool last = column + 1 == t->columns;
                fputs(t->cells[i], stdout);
                for (size_t pad = last ? 0 : widths[column] - width_of(t->cells[i]) + 2; pad > 0; pad--)
                        putchar(' ');
                if (last)
                        putchar('\n');
        }
        lk_free(widths);
}

void lk__table_done(lk__table *t) {
        for (size_t i = 0; i < t->count; i++)
                lk_free(t->cells[i]);
        lk_free(t->cells);
        *t = (lk__table){0};
}

void lk__print_fields(const lk_value *item, const char *const *labels, const char *const *paths) {
        size_t width = 0;
        for (size_t i = 0; labels[i]; i++)
                if (strlen(labels[i]) > width)
                        width = strlen(labels[i]);
        for (size_t i = 0; labels[i]; i++) {
                char *text = lk__json_text(item, paths[i]);
                if (*text) /* what this answer does not hold, e.g. a fresh run's times */
                        printf("%s:%*s %s\n", labels[i], (int)(width - strlen(labels[i])), "", text);
                lk_free(text);
        }
}

int lk__parse_positive(const char *name, const char *text, long long *ret) {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (*text == '\0' || *end != '\0' || errno != 0 || v < 1) {
                fprintf(stderr, "linkd: %s: want a positive integer, got \"%s\"\n", name, text);
                return -1;
        }
        *ret = v;
        return 0;
}

void lk__client_put_member(lk_buf *body, const char *key, const char *value) {
        lk_buf_printf(body, "%s\"%s\":\"", body->len > 1 ? "," : "", key);
        lk_buf_put_json_escaped(body, value, strlen(value));
        lk_buf_putc(body, '"');
}
