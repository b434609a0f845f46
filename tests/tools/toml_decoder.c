/* toml-decoder: TOML on stdin, toml-test's tagged JSON on stdout.
 *
 * The interface toml-test's own runner expects of a decoder: exit 0 with
 * the document as JSON, where every scalar is {"type": T, "value": "..."};
 * or, for invalid TOML, "line:column: message" on stderr and exit 1. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/toml.h"

static void put_value(lk_buf *out, const lk_toml_value *v);

static void put_string(lk_buf *out, const char *s, size_t len) {
        lk_buf_putc(out, '"');
        lk_buf_put_json_escaped(out, s, len);
        lk_buf_putc(out, '"');
}

/* The shortest decimal that reads back as the same double, with ".0" on
 * whole numbers so that they still look like floats. */
static void format_float(char *buf, size_t size, double d) {
        if (isnan(d)) {
                snprintf(buf, size, "nan");
                return;
        }
        if (isinf(d)) {
                snprintf(buf, size, "%s", d < 0 ? "-inf" : "inf");
                return;
        }
        for (int precision = 15; precision <= 17; precision++) {
                snprintf(buf, size, "%.*g", precision, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        if (!strpbrk(buf, ".eE"))
                strncat(buf, ".0", size - strlen(buf) - 1);
}

/* RFC 3339, with as many fraction digits as were written (up to 9). */
static void format_datetime(lk_buf *out, lk_toml_type type, const lk_toml_datetime *dt) {
        if (type != LK_TOML_TIME_LOCAL)
                lk_buf_printf(out, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
        if (type == LK_TOML_DATE_LOCAL)
                return;
        if (type != LK_TOML_TIME_LOCAL)
                lk_buf_putc(out, 'T');
        lk_buf_printf(out, "%02d:%02d:%02d", dt->hour, dt->minute, dt->second);
        if (dt->frac_digits > 0) {
                char frac[16];
                snprintf(frac, sizeof frac, "%09d", dt->nanosecond);
                lk_buf_printf(out, ".%.*s", dt->frac_digits < 9 ? dt->frac_digits : 9, frac);
        }
        if (type != LK_TOML_DATETIME)
                return;
        int off = abs(dt->offset_minutes);
        if (off == 0)
                lk_buf_putc(out, 'Z');
        else
                lk_buf_printf(out, "%c%02d:%02d", dt->offset_minutes < 0 ? '-' : '+', off / 60,
                              off % 60);
}

static void put_scalar_text(lk_buf *text, const lk_toml_value *v) {
        char num[64];
        switch (v->type) {
        case LK_TOML_STRING:
                lk_buf_append(text, v->u.string.ptr, v->u.string.len);
                break;
        case LK_TOML_INTEGER:
                lk_buf_printf(text, "%" PRId64, v->u.integer);
                break;
        case LK_TOML_FLOAT:
                format_float(num, sizeof num, v->u.floating);
                lk_buf_puts(text, num);
                break;
        case LK_TOML_BOOL:
                lk_buf_puts(text, v->u.boolean ? "true" : "false");
                break;
        default:
                format_datetime(text, v->type, &v->u.datetime);
                break;
        }
}

static void put_scalar(lk_buf *out, const lk_toml_value *v) {
        lk_buf text = LK_BUF_INIT;
        put_scalar_text(&text, v);
        lk_buf_puts(out, "{\"type\": \"");
        lk_buf_puts(out, lk_toml_type_name(v->type));
        lk_buf_puts(out, "\", \"value\": ");
        put_string(out, lk_buf_str(&text), text.len);
        lk_buf_putc(out, '}');
        lk_buf_done(&text);
}

static void put_table(lk_buf *out, const lk_toml_value *v) {
        lk_buf_putc(out, '{');
        for (size_t i = 0; i < v->u.table.len; i++) {
                const lk_toml_kv *kv = &v->u.table.items[i];
                if (i)
                        lk_buf_puts(out, ", ");
                put_string(out, kv->key, kv->key_len);
                lk_buf_puts(out, ": ");
                put_value(out, kv->value);
        }
        lk_buf_putc(out, '}');
}

static void put_value(lk_buf *out, const lk_toml_value *v) {
        if (v->type == LK_TOML_TABLE) {
                put_table(out, v);
        } else if (v->type == LK_TOML_ARRAY) {
                lk_buf_putc(out, '[');
                for (size_t i = 0; i < v->u.array.len; i++) {
                        if (i)
                                lk_buf_puts(out, ", ");
                        put_value(out, v->u.array.items[i]);
                }
                lk_buf_putc(out, ']');
        } else {
                put_scalar(out, v);
        }
}

static int read_all(FILE *f, lk_buf *in) {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
                lk_buf_append(in, chunk, n);
        return ferror(f) ? -1 : 0;
}

int main(void) {
        lk_buf in = LK_BUF_INIT, out = LK_BUF_INIT;
        lk_toml_value *root = NULL;
        lk_err err = LK_ERR_INIT;
        int status = 0;
        if (read_all(stdin, &in) < 0) {
                perror("toml-decoder: reading stdin");
                status = 2;
        } else if (lk_toml_parse(lk_buf_str(&in), in.len, &root, &err) < 0) {
                fprintf(stderr, "%" PRIu32 ":%" PRIu32 ": %s\n", err.line, err.column, err.msg);
                status = 1;
        } else {
                put_value(&out, root);
                lk_buf_putc(&out, '\n');
                fwrite(lk_buf_str(&out), 1, out.len, stdout);
        }
        lk_toml_free(root);
        lk_buf_done(&in);
        lk_buf_done(&out);
        if (fflush(stdout) != 0 && status == 0)
                status = 2;
        return status;
}
