/* Login throttling (see include/linkd/auth.h).  Logins are rare, so a
 * flat array scanned per attempt is enough; its size is bounded so that a
 * flood of made-up emails cannot grow it without end. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "linkd/alloc.h"

#define MAX_KEYS 4096
#define MAX_FAILURES_TRACKED 64

typedef struct key_entry {
        char key[300];           /* "ip:..." or "user:..." */
        lk_usec failures[MAX_FAILURES_TRACKED]; /* a ring of failure times */
        unsigned count, next;
        lk_usec last;
} key_entry;

struct lk_login_limiter {
        pthread_mutex_t lock;
        unsigned max_failures;
        lk_usec window;
        key_entry *keys;
        size_t key_count;
};

lk_login_limiter *lk_login_limiter_new(unsigned max_failures, lk_usec window) {
        lk_login_limiter *l = lk_calloc(1, sizeof *l);
        pthread_mutex_init(&l->lock, NULL);
        l->max_failures = max_failures < 1 ? 1 : max_failures > MAX_FAILURES_TRACKED ? MAX_FAILURES_TRACKED
                                                                                      : max_failures;
        l->window = window;
        l->keys = lk_calloc(MAX_KEYS, sizeof *l->keys);
        return l;
}

lk_login_limiter *lk_login_limiter_free(lk_login_limiter *l) {
        if (!l)
                return NULL;
        pthread_mutex_destroy(&l->lock);
        lk_free(l->keys);
        lk_free(l);
        return NULL;
}

static key_entry *find(lk_login_limiter *l, const char *key) {
        for (size_t i = 0; i < l->key_count; i++)
                if (strcmp(l->keys[i].key, key) == 0)
                        return &l->keys[i];
        return NULL;
}

/* Failures still inside the window. */
static unsigned recent(const lk_login_limiter *l, const key_entry *e, lk_usec now) {
        unsigned n = 0;
        for (unsigned i = 0; i < e->count; i++)
                if (e->failures[i] > now - l->window)
                        n++;
        return n;
}

static bool key_blocked(lk_login_limiter *l, const char *key, lk_usec now) {
        const key_entry *e = find(l, key);
        return e && recent(l, e, now) >= l->max_failures;
}

/* The entry for key, made (in place of the stalest one when full). */
static key_entry *entry_for(lk_login_limiter *l, const char *key) {
        key_entry *e = find(l, key);
        if (e)
                return e;
        if (l->key_count < MAX_KEYS) {
                e = &l->keys[l->key_count++];
        } else {
                e = &l->keys[0];
                for (size_t i = 1; i < l->key_count; i++)
                        if (l->keys[i].last < e->last)
                                e = &l->keys[i];
        }
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
        return e;
}

static void note_failure(lk_login_limiter *l, const char *key, lk_usec now) {
        key_entry *e = entry_for(l, key);
        e->failures[e->next] = now;
        e->next = (e->next + 1) % l->max_failures;
        if (e->count < l->max_failures)
                e->count++;
        e->last = now;
}

bool lk_login_limiter_blocked(lk_login_limiter *l, const char *ip, const char *email, lk_usec now) {
        char by_ip[300], by_user[300];
        snprintf(by_ip, sizeof by_ip, "ip:%s", ip ? ip : "");
        snprintf(by_user, sizeof by_user, "user:%s", email ? email : "");
        pthread_mutex_lock(&l->lock);
        bool blocked = key_blocked(l, by_ip, now) || key_blocked(l, by_user, now);
        pthread_mutex_unlock(&l->lock);
        return blocked;
}

void lk_login_limiter_failed(lk_login_limiter *l, const char *ip, const char *email, lk_usec now) {
        char by_ip[300], by_user[300];
        snprintf(by_ip, sizeof by_ip, "ip:%s", ip ? ip : "");
        snprintf(by_user, sizeof by_user, "user:%s", email ? email : "");
        pthread_mutex_lock(&l->lock);
        note_failure(l, by_ip, now);
        note_failure(l, by_user, now);
        pthread_mutex_unlock(&l->lock);
}
