/* Structured, leveled logging: logfmt lines (key=value) on the console or
 * JSON lines, one write(2) per record.
 *
 * Library code does not log; the caller that decides what an error means
 * logs it once.  Services log their own lifecycle, as Chainlink's do. */
#ifndef LINKD_LOG_H
#define LINKD_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/time.h"

typedef enum lk_log_level {
        LK_LOG_DEBUG,
        LK_LOG_INFO,
        LK_LOG_WARN,
        LK_LOG_ERROR,
        LK_LOG_CRIT,
        LK_LOG_PANIC,
        LK_LOG_FATAL,
} lk_log_level;

typedef enum lk_field_type {
        LK_FIELD_END,
        LK_FIELD_STR,
        LK_FIELD_INT,
        LK_FIELD_UINT,
        LK_FIELD_DOUBLE,
        LK_FIELD_BOOL,
        LK_FIELD_DURATION,
} lk_field_type;

typedef struct lk_field {
        const char *key;
        lk_field_type type;
        union {
                const char *s;
                int64_t i;
                uint64_t u;
                double d;
                bool b;
                lk_usec usec;
        } v;
} lk_field;

#define LK_STR(k, val) ((lk_field){.key = (k), .type = LK_FIELD_STR, .v.s = (val)})
#define LK_INT(k, val) ((lk_field){.key = (k), .type = LK_FIELD_INT, .v.i = (int64_t)(val)})
#define LK_UINT(k, val) ((lk_field){.key = (k), .type = LK_FIELD_UINT, .v.u = (uint64_t)(val)})
#define LK_DOUBLE(k, val) ((lk_field){.key = (k), .type = LK_FIELD_DOUBLE, .v.d = (val)})
#define LK_BOOL(k, val) ((lk_field){.key = (k), .type = LK_FIELD_BOOL, .v.b = (val)})
#define LK_DURATION(k, val) ((lk_field){.key = (k), .type = LK_FIELD_DURATION, .v.usec = (val)})
#define LK_ERROR(e) LK_STR("err", lk_err_msg(e))
#define LK_FIELD_END_ ((lk_field){.key = NULL, .type = LK_FIELD_END})

typedef struct lk_log lk_log;

typedef struct lk_log_options {
        int fd;              /* where records go, usually STDERR_FILENO */
        lk_log_level level;  /* records below it are dropped */
        bool json;           /* JSON lines instead of logfmt */
} lk_log_options;

/* A root logger.  The caller owns it; free it after every child. */
lk_log *lk_log_new(const lk_log_options *options);

/* A child logger sharing the root's output, named "<parent>.<name>" (or
 * just <name> under an unnamed root).  The caller owns it. */
lk_log *lk_log_named(const lk_log *parent, const char *name);

/* Accepts NULL; returns NULL. */
lk_log *lk_log_free(lk_log *log);

void lk_log_set_level(lk_log *log, lk_log_level level);
bool lk_log_enabled(const lk_log *log, lk_log_level level);

/* Parses "debug", "info", "warn", "error", "crit", "panic", "fatal". */
int lk_log_level_parse(const char *text, lk_log_level *ret_level);
const char *lk_log_level_name(lk_log_level level);

/* Emits one record; the variadic arguments are lk_field values ended by
 * LK_FIELD_END_.  Use the macros below, which add the terminator.  A NULL
 * log discards the record. */
void lk_log_emit(lk_log *log, lk_log_level level, const char *msg, ...);

#define lk_log_debug(log, ...) lk_log_emit((log), LK_LOG_DEBUG, __VA_ARGS__, LK_FIELD_END_)
#define lk_log_info(log, ...) lk_log_emit((log), LK_LOG_INFO, __VA_ARGS__, LK_FIELD_END_)
#define lk_log_warn(log, ...) lk_log_emit((log), LK_LOG_WARN, __VA_ARGS__, LK_FIELD_END_)
#define lk_log_error(log, ...) lk_log_emit((log), LK_LOG_ERROR, __VA_ARGS__, LK_FIELD_END_)
#define lk_log_crit(log, ...) lk_log_emit((log), LK_LOG_CRIT, __VA_ARGS__, LK_FIELD_END_)

#endif
