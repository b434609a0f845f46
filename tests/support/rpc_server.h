/* A misbehaving JSON-RPC server for tests of linkd's RPC clients
 * (libwebsockets' server side, on a thread of its own): WebSocket and
 * HTTP POST on one port of 127.0.0.1, as real nodes serve them, each
 * answer chosen by the server's current behaviour, which a test switches
 * at any time.  One WebSocket connection at a time (the latest); HTTP
 * requests each on their own.  Optionally over TLS. */
#ifndef LKTEST_RPC_SERVER_H
#define LKTEST_RPC_SERVER_H

typedef struct lkrs_server lkrs_server;

typedef enum lkrs_behaviour {
        LKRS_ANSWER,     /* the first parameter as the result, else "0x2a"; eth_chainId: the chain ID if set */
        LKRS_GARBAGE,    /* text that is not JSON */
        LKRS_SILENT,     /* nothing */
        LKRS_WRONG_ID,   /* the answer, for another id */
        LKRS_NODE_ERROR, /* a JSON-RPC error */
        LKRS_NO_RESULT,  /* an object with the id and nothing else */
        LKRS_BIG,        /* a result of LKRS_BIG_LEN characters in one frame */
        LKRS_FRAGMENTED, /* the same, as three WebSocket fragments */
        LKRS_DROP,       /* the connection closed */
} lkrs_behaviour;

#define LKRS_BIG_LEN (300 * 1000)

/* A server answering LKRS_ANSWER; with cert_dir, over TLS with its
 * cert.pem and key.pem.  Fails the test when it cannot start. */
lkrs_server *lkrs_start(const char *cert_dir);
/* Accepts NULL; returns NULL. */
lkrs_server *lkrs_stop(lkrs_server *s);

int lkrs_port(const lkrs_server *s);
void lkrs_behave(lkrs_server *s, lkrs_behaviour b);
/* What LKRS_ANSWER says to eth_chainId (0: as to any method). */
void lkrs_set_chain_id(lkrs_server *s, unsigned chain_id);

/* Sends text (a notification) on the current WebSocket connection. */
void lkrs_send(lkrs_server *s, const char *text);
/* Closes the current WebSocket connection. */
void lkrs_drop(lkrs_server *s);

/* WebSocket connections and eth_subscribe requests so far. */
int lkrs_connections(lkrs_server *s);
int lkrs_subscribes(lkrs_server *s);

#endif
