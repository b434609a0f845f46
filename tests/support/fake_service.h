/* A configurable service for tests: it records what happens to it in a
 * shared journal, can fail to start or close, can block in close until
 * released, and reports whatever health the test sets. */
#ifndef LKTEST_FAKE_SERVICE_H
#define LKTEST_FAKE_SERVICE_H

#include <pthread.h>
#include <stdbool.h>

#include "linkd/buf.h"
#include "linkd/service.h"

/* Events appended as "<name> <event>\n", in the order they happen. */
typedef struct fake_journal {
        pthread_mutex_t lock;
        lk_buf text;
} fake_journal;

void fake_journal_init(fake_journal *journal);
void fake_journal_done(fake_journal *journal);
/* A copy of the journal so far (lk_free it). */
char *fake_journal_text(fake_journal *journal);
/* Fails the test unless the journal so far is exactly want. */
void fake_journal_expect(fake_journal *journal, const char *want);

typedef struct fake_service {
        lk_service service;
        lk_once once;
        char name[64];
        fake_journal *journal;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        const char *start_error;  /* fail start with this message */
        const char *close_error;  /* fail close with this message */
        lk_usec start_delay;      /* honours the start context */
        bool block_close;         /* close waits until fake_service_release */
        bool closing;             /* set while close is blocked */
        char *ready_error;        /* NULL = ready */
        char *health_error;       /* NULL = healthy */
        const char *sub_service;  /* adds "<name>.<sub>" to the report */
        bool block_health;        /* health_report waits until fake_service_release */
        bool in_health;           /* set while health_report is blocked */
        int health_calls;
} fake_service;

void fake_service_init(fake_service *f, const char *name, fake_journal *journal);
void fake_service_done(fake_service *f);
void fake_service_set_health(fake_service *f, const char *ready_error, const char *health_error);
/* Lets a blocked close or health report finish. */
void fake_service_release(fake_service *f);
/* Makes the next health reports block until fake_service_release. */
void fake_service_block_health(fake_service *f);
/* Waits until health_report is blocked in this service. */
void fake_service_wait_in_health(fake_service *f);
/* Waits until close is blocked in this service. */
void fake_service_wait_closing(fake_service *f);
int fake_service_health_calls(fake_service *f);

#endif
