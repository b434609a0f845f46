#include "linkd/prom.h"

void lk_prom_family(lk_buf *out, const char *name, const char *type, const char *help) {
        lk_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void lk_prom_label_value(lk_buf *out, const char *s) {
        lk_buf_putc(out, '"');
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        lk_buf_putc(out, '\\');
                if (*s == '\n')
                        lk_buf_puts(out, "\\n");
                else
                        lk_buf_putc(out, *s);
        }
        lk_buf_putc(out, '"');
}
