/* What the API's handlers share (internal to src/node): reading request
 * bodies, paths and pages, and writing Chainlink's JSON:API pieces.  Each
 * reader that says false or NULL has already put a 4xx answer in response
 * that names what was wrong. */
#ifndef LINKD_NODE_API_H
#define LINKD_NODE_API_H

#include <stdbool.h>
#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/time.h"
#include "linkd/value.h"
#include "linkd/web.h"

#define LK__API_DEFAULT_PAGE_SIZE 25

/* ---- requests ---- */

/* The body as a JSON object whose keys are all among allowed (ending
 * with NULL); the caller unrefs it.  NULL with a 422 otherwise. */
lk_value *lk__api_json_object(const lk_web_request *request, const char *const *allowed, lk_web_response *response);
/* Member key of body as a string into *ret, borrowed from body (NULL when
 * absent or null and optional); false with a 422 for another type. */
bool lk__api_string_member(const lk_value *body, const char *key, bool optional, const char **ret,
                           lk_web_response *response);

/* Routes match by prefix: true when nothing follows the route's path
 * ("/sessionsX" is not /sessions), else false with a 404. */
bool lk__api_exact(const lk_web_request *request, lk_web_response *response);
/* The one segment of a tail "/segment", borrowed from request; NULL with
 * a 404 for anything else. */
const char *lk__api_tail_segment(const lk_web_request *request, lk_web_response *response);

typedef struct lk__api_page {
        int64_t number; /* from 1 */
        int64_t size;   /* 1 to LK_PAGE_MAX_SIZE */
} lk__api_page;

/* The page and size query parameters (1 and LK__API_DEFAULT_PAGE_SIZE
 * when absent); false with a 422 when out of range. */
bool lk__api_page_read(const lk_web_request *request, lk__api_page *ret, lk_web_response *response);

/* ---- documents ---- */

/* A realtime instant as an RFC 3339 JSON string. */
void lk__api_put_time(lk_buf *out, lk_usec t);
/* ,"key":value for an object's members after its first: a JSON string
 * (null for NULL), and an instant as lk__api_put_time writes it. */
void lk__api_put_string_member(lk_buf *out, const char *key, const char *value);
void lk__api_put_time_member(lk_buf *out, const char *key, lk_usec t);
/* Opens Chainlink's paginated document: links to the neighbouring pages
 * of path (with extra_query, "key=value" or NULL, kept in them) when
 * there are more items than one page holds, then "data":[. */
void lk__api_page_start(lk_buf *out, const char *path, const char *extra_query, const lk__api_page *page,
                        int64_t total);
/* Closes it with meta.count. */
void lk__api_page_end(lk_buf *out, int64_t total);

#endif
