/* See api.h. */
#include "api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/store.h"

/* ---- requests ---- */

static bool is_allowed(const char *const *allowed, const char *key, size_t key_len) {
        for (const char *const *a = allowed; *a; a++)
                if (strlen(*a) == key_len && memcmp(*a, key, key_len) == 0)
                        return true;
        return false;
}

lk_value *lk__api_json_object(const lk_web_request *request, const char *const *allowed, lk_web_response *response) {
        lk_value *body = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_value_from_json(request->body, request->body_len, &body, &err) < 0) {
                lk_web_response_error(response, 422, "invalid JSON body: %s", err.msg);
                return NULL;
        }
        if (lk_value_type_of(body) != LK_VALUE_MAP) {
                lk_web_response_error(response, 422, "invalid JSON body: expected an object");
                return lk_value_unref(body), NULL;
        }
        for (size_t i = 0; i < lk_value_map_len(body); i++) {
                const char *key;
                size_t key_len;
                lk_value_map_at(body, i, &key, &key_len);
                if (!is_allowed(allowed, key, key_len)) {
                        lk_web_response_error(response, 422, "invalid JSON body: unknown field \"%.*s\"",
                                              (int)key_len, key);
                        return lk_value_unref(body), NULL;
                }
        }
        return body;
}

bool lk__api_string_member(const lk_value *body, const char *key, bool optional, const char **ret,
                           lk_web_response *response) {
        const lk_value *v = lk_value_map_get(body, key, strlen(key));
        *ret = NULL;
        if (optional && (!v || lk_value_type_of(v) == LK_VALUE_NULL))
                return true;
        if (!v || lk_value_type_of(v) != LK_VALUE_STRING) {
                lk_web_response_error(response, 422, "invalid JSON body: \"%s\" must be a string", key);
                return false;
        }
        *ret = lk_value_get_string(v, NULL);
        return true;
}

bool lk__api_exact(const lk_web_request *request, lk_web_response *response) {
        if (*request->tail == '\0')
                return true;
        lk_web_response_error(response, 404, "not found");
        return false;
}

const char *lk__api_tail_segment(const lk_web_request *request, lk_web_response *response) {
        const char *t = request->tail;
        if (t[0] != '/' || !t[1] || strchr(t + 1, '/')) {
                lk_web_response_error(response, 404, "not found");
                return NULL;
        }
        return t + 1;
}

/* Query parameter key as an integer from 1 to max, or dflt when absent. */
static bool query_int(const lk_web_request *request, const char *key, int64_t dflt, int64_t max, int64_t *ret,
                      lk_web_response *response) {
        const char *text = lk_web_request_query(request, key);
        *ret = dflt;
        if (!text || !*text)
                return true;
        char *end;
        errno = 0;
        long long n = strtoll(text, &end, 10);
        if (errno || *end || n < 1 || n > max) {
                lk_web_response_error(response, 422, "invalid %s param: must be an integer from 1 to %" PRId64, key,
                                      max);
                return false;
        }
        *ret = n;
        return true;
}

bool lk__api_page_read(const lk_web_request *request, lk__api_page *ret, lk_web_response *response) {
        /* page * size stays an int64_t offset */
        return query_int(request, "page", 1, INT64_MAX / LK_PAGE_MAX_SIZE, &ret->number, response) &&
               query_int(request, "size", LK__API_DEFAULT_PAGE_SIZE, LK_PAGE_MAX_SIZE, &ret->size, response);
}

/* ---- documents ---- */

void lk__api_put_time(lk_buf *out, lk_usec t) {
        char text[28];
        lk_time_format_rfc3339(text, t);
        lk_buf_put_json_string(out, text);
}

void lk__api_put_string_member(lk_buf *out, const char *key, const char *value) {
        lk_buf_printf(out, ",\"%s\":", key);
        lk_buf_put_json_string(out, value);
}

void lk__api_put_time_member(lk_buf *out, const char *key, lk_usec t) {
        lk_buf_printf(out, ",\"%s\":", key);
        lk__api_put_time(out, t);
}

static void put_link(lk_buf *out, const char *name, const char *path, const char *extra_query, int64_t page,
                     int64_t size) {
        lk_buf link = LK_BUF_INIT;
        lk_buf_printf(&link, "%s?%s%spage=%" PRId64 "&size=%" PRId64, path, extra_query ? extra_query : "",
                      extra_query ? "&" : "", page, size);
        lk_buf_printf(out, "\"%s\":", name);
        lk_buf_put_json_string(out, lk_buf_str(&link));
        lk_buf_done(&link);
}

void lk__api_page_start(lk_buf *out, const char *path, const char *extra_query, const lk__api_page *page,
                        int64_t total) {
        bool next = page->number * page->size < total, prev = page->number > 1 && total > page->size;
        lk_buf_puts(out, "{");
        if (next || prev) {
                lk_buf_puts(out, "\"links\":{");
                if (next)
                        put_link(out, "next", path, extra_query, page->number + 1, page->size);
                if (prev) {
                        lk_buf_puts(out, next ? "," : "");
                        put_link(out, "prev", path, extra_query, page->number - 1, page->size);
                }
                lk_buf_puts(out, "},");
        }
        lk_buf_puts(out, "\"data\":[");
}

void lk__api_page_end(lk_buf *out, int64_t total) {
        lk_buf_printf(out, "],\"meta\":{\"count\":%" PRId64 "}}", total);
}
