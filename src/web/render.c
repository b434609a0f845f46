/* Probe bodies (see render.h).  The Prometheus text format is a few lines
 * of printf; no library in Debian writes it for C. */
#include "render.h"

#include "linkd/prom.h"

#include <string.h>

void lk__render_checks_json(lk_buf *out, const lk_health_report *report, bool failing_only, bool redacted) {
        lk_buf_puts(out, "{\"data\":[");
        bool first = true;
        for (size_t i = 0; i < lk_health_report_len(report); i++) {
                const char *name = lk_health_report_name(report, i);
                const char *error = lk_health_report_error(report, i);
                if (failing_only && !error)
                        continue;
                lk_buf_puts(out, first ? "{\"type\":\"checks\",\"id\":" : ",{\"type\":\"checks\",\"id\":");
                first = false;
                lk_buf_put_json_string(out, name);
                lk_buf_puts(out, ",\"attributes\":{\"name\":");
                lk_buf_put_json_string(out, name);
                lk_buf_puts(out, error ? ",\"status\":\"failing\",\"output\":" : ",\"status\":\"passing\",\"output\":");
                lk_buf_put_json_string(out, error && !redacted ? error : "");
                lk_buf_puts(out, "}}");
        }
        lk_buf_puts(out, "]}");
}

void lk__render_checks_text(lk_buf *out, const lk_health_report *report, bool failing_only, bool redacted) {
        for (size_t i = 0; i < lk_health_report_len(report); i++) {
                const char *error = lk_health_report_error(report, i);
                if (failing_only && !error)
                        continue;
                lk_buf_printf(out, "%s%s\n", error ? "!  " : "ok ", lk_health_report_name(report, i));
                if (!error || !*error || redacted)
                        continue;
                lk_buf_putc(out, '\t');
                for (const char *p = error; *p; p++) {
                        lk_buf_putc(out, *p);
                        if (*p == '\n')
                                lk_buf_putc(out, '\t');
                }
                lk_buf_putc(out, '\n');
        }
}

static void render_health(lk_buf *out, const lk_health_report *health) {
        lk_prom_family(out, "health", "gauge", "Health status by service");
        for (size_t i = 0; i < lk_health_report_len(health); i++) {
                lk_buf_puts(out, "health{service_id=");
                lk_prom_label_value(out, lk_health_report_name(health, i));
                lk_buf_printf(out, "} %d\n", lk_health_report_error(health, i) ? 0 : 1);
        }
}

static void render_process(lk_buf *out, const lk_proc_stats *p) {
        lk_prom_family(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        lk_buf_printf(out, "process_cpu_seconds_total %.2f\n", p->cpu_seconds);
        lk_prom_family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        lk_buf_printf(out, "process_resident_memory_bytes %llu\n", (unsigned long long)p->resident_bytes);
        lk_prom_family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        lk_buf_printf(out, "process_virtual_memory_bytes %llu\n", (unsigned long long)p->virtual_bytes);
        lk_prom_family(out, "process_open_fds", "gauge", "Number of open file descriptors.");
        lk_buf_printf(out, "process_open_fds %llu\n", (unsigned long long)p->open_fds);
        lk_prom_family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        lk_buf_printf(out, "process_max_fds %llu\n", (unsigned long long)p->max_fds);
        lk_prom_family(out, "process_threads", "gauge", "Number of OS threads in the process.");
        lk_buf_printf(out, "process_threads %llu\n", (unsigned long long)p->threads);
        lk_prom_family(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
        lk_buf_printf(out, "process_start_time_seconds %.2f\n", (double)p->start_time / LK_USEC_PER_SEC);
}

void lk__render_metrics(lk_buf *out, const lk__metrics_input *in) {
        render_health(out, in->snapshot->health);
        lk_prom_family(out, "uptime_seconds", "counter", "Uptime of the application measured in seconds");
        lk_buf_printf(out, "uptime_seconds %.3f\n", in->uptime_seconds);
        lk_prom_family(out, "version", "counter", "Node version information");
        lk_buf_puts(out, "version{commit=");
        lk_prom_label_value(out, in->commit);
        lk_buf_puts(out, ",version=");
        lk_prom_label_value(out, in->version);
        lk_buf_puts(out, "} 1\n");
        lk_prom_family(out, "linkd_heap_bytes", "gauge", "Bytes of heap linkd holds through its own allocator.");
        lk_buf_printf(out, "linkd_heap_bytes %llu\n", (unsigned long long)in->heap_bytes);
        if (in->proc)
                render_process(out, in->proc);
}
