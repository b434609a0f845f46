/* libFuzzer target for the HTTP server: arbitrary bytes sent over a real
 * connection to linkd's server (libmicrohttpd plus linkd's routing, query
 * and Accept handling).  The server must answer or close, never crash,
 * hang or leak; after each input it must still answer a good request. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linkd/checker.h"
#include "linkd/web.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lk_checker *checker;
static lk_web *web;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        lk_ctx ctx;
        lk_ctx_init(&ctx, LK_USEC_INFINITY);
        checker = lk_checker_new(NULL);
        web = lk_web_new(&(lk_web_options){
                .listen_ip = "127.0.0.1",
                .threads = 1,
                .checker = checker,
                .version = "fuzz",
                .commit = "fuzz",
        });
        lk_checker_register(checker, LK_WEB_NAME, lk_web_service(web), NULL);
        lk_err err = LK_ERR_INIT;
        if (lk_service_start(lk_web_service(web), &ctx, &err) < 0 ||
            lk_service_start(lk_checker_service(checker), &ctx, &err) < 0) {
                fprintf(stderr, "fuzz_http: %s\n", err.msg);
                abort();
        }
        lk_ctx_done(&ctx);
        return 0;
}

/* libFuzzer's timeout alarm interrupts system calls; these retry. */
static int poll_retrying(struct pollfd *p, int timeout_ms) {
        int n;
        while ((n = poll(p, 1, timeout_ms)) < 0 && errno == EINTR)
                ;
        return n;
}

static bool connect_completes(int fd) {
        if (errno != EINTR && errno != EINPROGRESS)
                return false;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int error = 0;
        socklen_t len = sizeof error;
        return poll_retrying(&p, 5000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && !error;
}

/* Sends data, half-closes, and reads until the server closes. */
static size_t exchange(const void *data, size_t size, char *first, size_t first_size) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(lk_web_port(web))};
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
        /* Thousands of connections a second: close with a reset, so that
         * TIME_WAIT does not use up the ephemeral ports. */
        struct linger reset = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && !connect_completes(fd)) {
                perror("fuzz_http: connect");
                abort(); /* the server stopped accepting */
        }
        for (size_t off = 0; off < size;) {
                ssize_t n = send(fd, (const char *)data + off, size - off, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break; /* the server may close early on bad input */
                off += (size_t)n;
        }
        shutdown(fd, SHUT_WR);
        size_t total = 0;
        char buf[4096];
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll_retrying(&p, 5000) <= 0) {
                        fprintf(stderr, "fuzz_http: no answer and no close within 5 s\n");
                        abort();
                }
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (total < first_size) {
                        size_t copy = (size_t)n < first_size - total ? (size_t)n : first_size - total;
                        memcpy(first + total, buf, copy);
                }
                total += (size_t)n;
        }
        close(fd);
        return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char first[64] = "";
        exchange(data, size, first, sizeof first - 1);
        static const char good[] = "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        memset(first, 0, sizeof first);
        exchange(good, sizeof good - 1, first, sizeof first - 1);
        if (strncmp(first, "HTTP/1.1 200", 12) != 0)
                abort(); /* the input broke the server for the next client */
        return 0;
}
