/* Pure renderers for the probes' bodies: health reports as Chainlink's
 * JSON:API documents or its text form, and the Prometheus exposition. */
#ifndef LINKD_WEB_RENDER_H
#define LINKD_WEB_RENDER_H

#include <stdbool.h>

#include "linkd/buf.h"
#include "linkd/checker.h"
#include "linkd/proc.h"

/* {"data":[{"type":"checks","id":N,"attributes":{"name":N,"status":S,"output":E}}]};
 * redacted leaves every output "". */
void lk__render_checks_json(lk_buf *out, const lk_health_report *report, bool failing_only, bool redacted);

/* "ok NAME\n" / "!  NAME\n", each output line after it indented by a tab
 * (none when redacted). */
void lk__render_checks_text(lk_buf *out, const lk_health_report *report, bool failing_only, bool redacted);

typedef struct lk__metrics_input {
        const lk_health_snapshot *snapshot;
        const lk_proc_stats *proc;     /* NULL when /proc could not be read */
        const char *version;
        const char *commit;
        double uptime_seconds;
        uint64_t heap_bytes;           /* linkd's own allocation accounting */
} lk__metrics_input;

void lk__render_metrics(lk_buf *out, const lk__metrics_input *in);

#endif
