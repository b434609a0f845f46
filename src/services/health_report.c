/* Health reports: a sorted array of (name, error) pairs. */
#include "linkd/health.h"

#include <string.h>

#include "linkd/alloc.h"

typedef struct entry {
        char *name;
        char *error; /* NULL = passing */
} entry;

struct lk_health_report {
        entry *entries;
        size_t len;
        size_t cap;
};

lk_health_report *lk_health_report_new(void) {
        return lk_calloc(1, sizeof(lk_health_report));
}

lk_health_report *lk_health_report_free(lk_health_report *report) {
        if (!report)
                return NULL;
        for (size_t i = 0; i < report->len; i++) {
                lk_free(report->entries[i].name);
                lk_free(report->entries[i].error);
        }
        lk_free(report->entries);
        lk_free(report);
        return NULL;
}

/* Index of name, or of where it would be inserted; *found tells which. */
static size_t find(const lk_health_report *report, const char *name, bool *found) {
        size_t lo = 0, hi = report->len;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(report->entries[mid].name, name);
                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

static entry *insert(lk_health_report *report, const char *name) {
        bool found;
        size_t at = find(report, name, &found);
        if (found)
                return &report->entries[at];
        if (report->len == report->cap) {
                report->cap = report->cap ? report->cap * 2 : 8;
                report->entries = lk_realloc(report->entries, report->cap * sizeof(entry));
        }
        memmove(&report->entries[at + 1], &report->entries[at], (report->len - at) * sizeof(entry));
        report->len++;
        report->entries[at] = (entry){lk_strdup(name), NULL};
        return &report->entries[at];
}

void lk_health_report_set(lk_health_report *report, const char *name, const char *error) {
        entry *e = insert(report, name);
        lk_free(e->error);
        e->error = error ? lk_strdup(error) : NULL;
}

void lk_health_report_copy(lk_health_report *dst, const lk_health_report *src) {
        for (size_t i = 0; i < src->len; i++) {
                const entry *s = &src->entries[i];
                entry *d = insert(dst, s->name);
                if (!s->error)
                        continue;
                char *joined = d->error ? lk_asprintf("%s; %s", d->error, s->error) : lk_strdup(s->error);
                lk_free(d->error);
                d->error = joined;
        }
}

size_t lk_health_report_len(const lk_health_report *report) {
        return report->len;
}

const char *lk_health_report_name(const lk_health_report *report, size_t i) {
        return report->entries[i].name;
}

const char *lk_health_report_error(const lk_health_report *report, size_t i) {
        return report->entries[i].error;
}

bool lk_health_report_get(const lk_health_report *report, const char *name, const char **ret_error) {
        bool found;
        size_t at = find(report, name, &found);
        if (found && ret_error)
                *ret_error = report->entries[at].error;
        return found;
}

size_t lk_health_report_failing_count(const lk_health_report *report) {
        size_t n = 0;
        for (size_t i = 0; i < report->len; i++)
                n += report->entries[i].error != NULL;
        return n;
}

bool lk_health_report_passing(const lk_health_report *report) {
        return lk_health_report_failing_count(report) == 0;
}
