/* The Prometheus text exposition format 0.0.4: a few lines of printf, so
 * written here rather than pulled in (see ARCHITECTURE.md), shared by the
 * web server's /metrics and the modules that contribute to it. */
#ifndef LINKD_PROM_H
#define LINKD_PROM_H

#include "linkd/buf.h"

/* "# HELP name help" and "# TYPE name type". */
void lk_prom_family(lk_buf *out, const char *name, const char *type, const char *help);
/* A label value, quoted and escaped. */
void lk_prom_label_value(lk_buf *out, const char *value);

#endif
