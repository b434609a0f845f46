/* Structured logging (see include/linkd/log.h). */
#include "linkd/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

/* Output shared by a root logger and its children. */
typedef struct sink {
        atomic_int refs;
        atomic_int level;
        int fd;
        bool json;
} sink;

struct lk_log {
        sink *sink;
        char *name; /* NULL for an unnamed root */
};

static const char *const level_names[] = {"debug", "info", "warn", "error", "crit", "panic", "fatal"};

lk_log *lk_log_new(const lk_log_options *options) {
        sink *s = lk_calloc(1, sizeof *s);
        atomic_init(&s->refs, 1);
        atomic_init(&s->level, (int)options->level);
        s->fd = options->fd;
        s->json = options->json;
        lk_log *log = lk_calloc(1, sizeof *log);
        log->sink = s;
        return log;
}

lk_log *lk_log_named(const lk_log *parent, const char *name) {
        lk_log *log = lk_calloc(1, sizeof *log);
        log->sink = parent->sink;
        atomic_fetch_add(&log->sink->refs, 1);
        log->name = parent->name ? lk_asprintf("%s.%s", parent->name, name) : lk_strdup(name);
        return log;
}

lk_log *lk_log_free(lk_log *log) {
        if (!log)
                return NULL;
        if (atomic_fetch_sub(&log->sink->refs, 1) == 1)
                lk_free(log->sink);
        lk_free(log->name);
        lk_free(log);
        return NULL;
}

void lk_log_set_level(lk_log *log, lk_log_level level) {
        atomic_store(&log->sink->level, (int)level);
}

bool lk_log_enabled(const lk_log *log, lk_log_level level) {
        return log && (int)level >= atomic_load(&log->sink->level);
}

int lk_log_level_parse(const char *text, lk_log_level *ret_level) {
        for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
                if (strcmp(text, level_names[i]) == 0) {
                        *ret_level = (lk_log_level)i;
                        return 0;
                }
        }
        return -EINVAL;
}

const char *lk_log_level_name(lk_log_level level) {
        return (unsigned)level < sizeof level_names / sizeof level_names[0] ? level_names[level] : "unknown";
}

/* logfmt quotes values that would otherwise not read back as one token. */
static bool needs_quotes(const char *s) {
        if (!*s)
                return true;
        for (; *s; s++)
                if ((unsigned char)*s <= ' ' || *s == '"' || *s == '=' || *s == '\\' || *s == 0x7f)
                        return true;
        return false;
}

static void put_string(lk_buf *b, const char *s, bool json) {
        if (!s)
                s = "";
        if (json || needs_quotes(s)) {
                lk_buf_putc(b, '"');
                lk_buf_put_json_escaped(b, s, strlen(s));
                lk_buf_putc(b, '"');
        } else {
                lk_buf_puts(b, s);
        }
}

static void put_value(lk_buf *b, const lk_field *f, bool json) {
        switch (f->type) {
        case LK_FIELD_STR: put_string(b, f->v.s, json); break;
        case LK_FIELD_INT: lk_buf_printf(b, "%" PRId64, f->v.i); break;
        case LK_FIELD_UINT: lk_buf_printf(b, "%" PRIu64, f->v.u); break;
        case LK_FIELD_DOUBLE: lk_buf_printf(b, "%.6g", f->v.d); break;
        case LK_FIELD_BOOL: lk_buf_puts(b, f->v.b ? "true" : "false"); break;
        case LK_FIELD_DURATION: {
                lk_buf d = LK_BUF_INIT;
                lk_duration_format(&d, f->v.usec);
                put_string(b, lk_buf_str(&d), json);
                lk_buf_done(&d);
                break;
        }
        case LK_FIELD_END: break;
        }
}

static void put_field(lk_buf *b, const char *key, const lk_field *f, bool json) {
        if (json) {
                lk_buf_puts(b, ",\"");
                lk_buf_put_json_escaped(b, key, strlen(key));
                lk_buf_puts(b, "\":");
        } else {
                lk_buf_printf(b, " %s=", key);
        }
        put_value(b, f, json);
}

static void write_all(int fd, const char *data, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return; /* nowhere left to report a logging failure */
                data += n;
                len -= (size_t)n;
        }
}

void lk_log_emit(lk_log *log, lk_log_level level, const char *msg, ...) {
        if (!lk_log_enabled(log, level))
                return;
        bool json = log->sink->json;
        char ts[28];
        lk_time_format_rfc3339(ts, lk_now_realtime());
        lk_buf b = LK_BUF_INIT;
        if (json)
                lk_buf_printf(&b, "{\"level\":\"%s\",\"ts\":\"%s\"", lk_log_level_name(level), ts);
        else
                lk_buf_printf(&b, "ts=%s level=%s", ts, lk_log_level_name(level));
        if (log->name)
                put_field(&b, "logger", &LK_STR("logger", log->name), json);
        put_field(&b, "msg", &LK_STR("msg", msg), json);
        va_list ap;
        va_start(ap, msg);
        for (lk_field f = va_arg(ap, lk_field); f.type != LK_FIELD_END; f = va_arg(ap, lk_field))
                put_field(&b, f.key, &f, json);
        va_end(ap);
        lk_buf_puts(&b, json ? "}\n" : "\n");
        write_all(log->sink->fd, b.data, b.len);
        lk_buf_done(&b);
}
