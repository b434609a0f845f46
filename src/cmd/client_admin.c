/* linkd admin login|logout and linkd node health: the session with a
 * running node, and its health as the node reports it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "linkd/alloc.h"
#include "linkd/file.h"

#define CREDENTIALS_MAX 4096
#define LINE_MAX_LEN 512

static const char admin_usage[] =
        "usage: linkd admin login [--file CREDENTIALS] [--remote-node-url URL]\n"
        "       linkd admin logout [--remote-node-url URL]\n"
        "       linkd admin users list [--json] [--remote-node-url URL]\n"
        "       linkd admin users create --file CREDENTIALS [--role admin|edit|run|view] [--remote-node-url URL]\n"
        "\n"
        "login opens a session with the node's API: the email and password come\n"
        "from CREDENTIALS (first line the email, second the password) or, without\n"
        "--file, from the terminal.  The session is kept in $LINKD_ROOT/cookie\n"
        "(default ~/.linkd/cookie) for the other commands; logout ends it.\n"
        "The node is --remote-node-url, else $LINKD_REMOTE_NODE_URL, else the one\n"
        "logged in to, else http://127.0.0.1:6688.\n";

static const char health_usage[] =
        "usage: linkd node health [--failing] [--json] [--remote-node-url URL]\n"
        "\n"
        "Prints the node's health checks (only the failing ones with --failing).\n"
        "Exit status: 0 healthy, 1 a check is failing or the node cannot be asked.\n";

typedef struct credentials {
        char email[LINE_MAX_LEN];
        char password[LINE_MAX_LEN];
} credentials;

/* The first two lines of path, as `node start --api` reads them. */
static int credentials_from_file(const char *path, credentials *ret) {
        char *text = NULL;
        size_t len;
        lk_err err = LK_ERR_INIT;
        if (lk_file_read(path, CREDENTIALS_MAX, &text, &len, &err) < 0) {
                fprintf(stderr, "linkd: %s\n", err.msg);
                return -1;
        }
        size_t email_len = strcspn(text, "\r\n");
        const char *rest = text + email_len;
        rest += strspn(rest, "\r") + (rest[strspn(rest, "\r")] == '\n');
        size_t password_len = strcspn(rest, "\r\n");
        int r = 0;
        if (email_len == 0 || password_len == 0 || email_len >= LINE_MAX_LEN || password_len >= LINE_MAX_LEN) {
                fprintf(stderr, "linkd: %s: want the email on the first line and the password on the second\n", path);
                r = -1;
        } else {
                snprintf(ret->email, sizeof ret->email, "%.*s", (int)email_len, text);
                snprintf(ret->password, sizeof ret->password, "%.*s", (int)password_len, rest);
        }
        explicit_bzero(text, len);
        lk_free(text);
        return r;
}

static int prompt_line(const char *prompt, char *line, size_t size) {
        fputs(prompt, stderr);
        fflush(stderr);
        if (!fgets(line, (int)size, stdin))
                return -1;
        line[strcspn(line, "\r\n")] = '\0';
        return *line ? 0 : -1;
}

/* The password, read with the terminal's echo off. */
static int prompt_password(char *line, size_t size) {
        struct termios saved, quiet;
        if (tcgetattr(STDIN_FILENO, &saved) < 0)
                return -1;
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
                return -1;
        int r = prompt_line("Password: ", line, size);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        return r;
}

static int credentials_from_terminal(credentials *ret) {
        if (!isatty(STDIN_FILENO)) {
                fprintf(stderr, "linkd: standard input is not a terminal: pass the credentials with --file FILE\n");
                return -1;
        }
        if (prompt_line("Email: ", ret->email, sizeof ret->email) < 0 ||
            prompt_password(ret->password, sizeof ret->password) < 0) {
                fprintf(stderr, "linkd: no email or password given\n");
                return -1;
        }
        return 0;
}

static char *login_body(const credentials *cr) {
        lk_buf body = LK_BUF_INIT;
        lk_buf_puts(&body, "{\"email\":\"");
        lk_buf_put_json_escaped(&body, cr->email, strlen(cr->email));
        lk_buf_puts(&body, "\",\"password\":\"");
        lk_buf_put_json_escaped(&body, cr->password, strlen(cr->password));
        lk_buf_puts(&body, "\"}");
        return lk_buf_steal(&body, NULL);
}

static int save_session(const lk__client *c, const char *session) {
        lk_err err = LK_ERR_INIT;
        if (lk__client_save_state("cookie", session, &err) < 0 || lk__client_save_state("remote", c->url, &err) < 0) {
                fprintf(stderr, "linkd: cannot keep the session: %s\n", err.msg);
                return LK_EXIT_FAILURE;
        }
        return LK_EXIT_OK;
}

static int admin_login(int argc, char **argv) {
        const char *file = NULL;
        const lk__client_option opts[] = {{"file", &file, NULL}, {NULL, NULL, NULL}};
        lk__client c;
        int status = lk__client_init(&c, argc, argv, opts, 0, 0, admin_usage);
        if (status != LK_EXIT_OK)
                return status;
        credentials cr = {{0}, {0}};
        if ((file ? credentials_from_file(file, &cr) : credentials_from_terminal(&cr)) < 0) {
                lk__client_done(&c);
                return LK_EXIT_USAGE;
        }
        char *body = login_body(&cr);
        explicit_bzero(&cr, sizeof cr);
        lk_freep(&c.cookie); /* a new session, not the old one */
        lk__reply reply = LK__REPLY_INIT;
        status = lk__client_request(&c, "POST", "/sessions", body, &reply);
        explicit_bzero(body, strlen(body));
        lk_free(body);
        if (status == LK_EXIT_OK && !reply.session) {
                fprintf(stderr, "linkd: the node at %s answered without a session\n", c.url);
                status = LK_EXIT_FAILURE;
        }
        if (status == LK_EXIT_OK)
                status = save_session(&c, reply.session);
        if (status == LK_EXIT_OK && !lk__client_print_json(&c, &reply))
                printf("Logged in to %s\n", c.url);
        lk__reply_done(&reply);
        lk__client_done(&c);
        return status;
}

static int admin_logout(int argc, char **argv) {
        lk__client c;
        int status = lk__client_init(&c, argc, argv, NULL, 0, 0, admin_usage);
        if (status != LK_EXIT_OK)
                return status;
        lk__reply reply = LK__REPLY_INIT;
        if (c.cookie)
                status = lk__client_request(&c, "DELETE", "/sessions", NULL, &reply);
        /* Forget the session even when the node cannot be told: it is of
         * no use to this client any more. */
        char *path = lk__client_state_path("cookie");
        if (unlink(path) < 0 && errno != ENOENT) {
                fprintf(stderr, "linkd: cannot remove %s: %s\n", path, strerror(errno));
                status = LK_EXIT_FAILURE;
        }
        lk_free(path);
        if (status == LK_EXIT_OK && !lk__client_print_json(&c, &reply))
                printf("Logged out\n");
        lk__reply_done(&reply);
        lk__client_done(&c);
        return status;
}

/* A new user (an admin's session is needed): the email and password from
 * CREDENTIALS, as for login, so that the password is never an argument. */
static int users_create(int argc, char **argv) {
        const char *file = NULL, *role = "view";
        const lk__client_option opts[] = {{"file", &file, NULL}, {"role", &role, NULL}, {NULL, NULL, NULL}};
        lk__client c;
        int status = lk__client_init(&c, argc, argv, opts, 0, 0, admin_usage);
        if (status != LK_EXIT_OK)
                return status;
        credentials cr = {{0}, {0}};
        if (!file || credentials_from_file(file, &cr) < 0) {
                if (!file)
                        fputs("linkd: admin users create needs --file CREDENTIALS\n", stderr);
                lk__client_done(&c);
                return LK_EXIT_USAGE;
        }
        char *login = login_body(&cr);
        explicit_bzero(&cr, sizeof cr);
        lk_buf body = LK_BUF_INIT;
        lk_buf_append(&body, login, strlen(login) - 1); /* reopen the object */
        lk_buf_puts(&body, ",\"role\":\"");
        lk_buf_put_json_escaped(&body, role, strlen(role));
        lk_buf_puts(&body, "\"}");
        explicit_bzero(login, strlen(login));
        lk_free(login);
        lk__reply reply = LK__REPLY_INIT;
        status = lk__client_request(&c, "POST", "/v2/users", lk_buf_str(&body), &reply);
        explicit_bzero(body.data, body.len);
        lk_buf_done(&body);
        if (status == LK_EXIT_OK && !lk__client_print_json(&c, &reply)) {
                char *email = lk__json_text(reply.doc, "data.attributes.email");
                char *granted = lk__json_text(reply.doc, "data.attributes.role");
                printf("Created user %s with role %s\n", email, granted);
                lk_free(email);
                lk_free(granted);
        }
        lk__reply_done(&reply);
        lk__client_done(&c);
        return status;
}

static int users_list(int argc, char **argv) {
        lk__client c;
        int status = lk__client_init(&c, argc, argv, NULL, 0, 0, admin_usage);
        if (status != LK_EXIT_OK)
                return status;
        static const char *const header[] = {"EMAIL", "ROLE", "CREATED", NULL};
        static const char *const paths[] = {"attributes.email", "attributes.role", "attributes.createdAt", NULL};
        status = lk__client_list(&c, "/v2/users", header, paths);
        lk__client_done(&c);
        return status;
}

int lk_cmd_admin(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "login") == 0)
                return admin_login(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "logout") == 0)
                return admin_logout(argc - 1, argv + 1);
        if (argc >= 3 && strcmp(argv[1], "users") == 0 && strcmp(argv[2], "create") == 0)
                return users_create(argc - 2, argv + 2);
        if (argc >= 3 && strcmp(argv[1], "users") == 0 && strcmp(argv[2], "list") == 0)
                return users_list(argc - 2, argv + 2);
        fputs(admin_usage, stderr);
        return LK_EXIT_USAGE;
}

int lk_cmd_node_health(int argc, char **argv) {
        bool failing = false;
        const lk__client_option opts[] = {{"failing", NULL, &failing}, {NULL, NULL, NULL}};
        lk__client c;
        int status = lk__client_init(&c, argc, argv, opts, 0, 0, health_usage);
        if (status != LK_EXIT_OK)
                return status;
        lk__reply reply = LK__REPLY_INIT;
        status = lk__client_call(&c, "GET", failing ? "/health?failing" : "/health", NULL, 0,
                                 c.json ? "application/json" : "text/plain", &reply);
        /* 503 is the node's answer that a check fails: print it all the same. */
        if (status == LK_EXIT_OK && reply.status != 200 && reply.status != 503) {
                lk__client_print_error(&reply);
                status = LK_EXIT_FAILURE;
        } else if (status == LK_EXIT_OK) {
                if (!lk__client_print_json(&c, &reply))
                        fputs(lk_buf_str(&reply.body), stdout);
                status = reply.status == 200 ? LK_EXIT_OK : LK_EXIT_FAILURE;
        }
        lk__reply_done(&reply);
        lk__client_done(&c);
        return status;
}
