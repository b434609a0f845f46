/* lk_health_report: a health report, the C form of Go's map[string]error:
 * check name -> error text, NULL when the check passes.  Names are dotted
 * paths for sub-services ("EVM.1.HeadTracker").  Entries stay sorted by
 * name (plain byte order), which is the order every probe prints. */
#ifndef LINKD_HEALTH_H
#define LINKD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lk_health_report lk_health_report;

lk_health_report *lk_health_report_new(void);
/* Accepts NULL; returns NULL. */
lk_health_report *lk_health_report_free(lk_health_report *report);

/* Sets name's entry, replacing any previous one.  error NULL = passing.
 * Both strings are copied. */
void lk_health_report_set(lk_health_report *report, const char *name, const char *error);

/* Copies every entry of src into dst like Chainlink's CopyHealth: where a
 * name is in both, a failing entry is joined ("<old>; <new>") rather than
 * silently replaced. */
void lk_health_report_copy(lk_health_report *dst, const lk_health_report *src);

size_t lk_health_report_len(const lk_health_report *report);
/* The i-th entry in name order; i < len. */
const char *lk_health_report_name(const lk_health_report *report, size_t i);
const char *lk_health_report_error(const lk_health_report *report, size_t i);
/* Whether name is present; its error (NULL when passing) in *ret_error. */
bool lk_health_report_get(const lk_health_report *report, const char *name, const char **ret_error);
/* True when no entry fails (an empty report passes). */
bool lk_health_report_passing(const lk_health_report *report);
size_t lk_health_report_failing_count(const lk_health_report *report);

#endif
