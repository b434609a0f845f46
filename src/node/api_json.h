/* JSON pieces the API's handlers share (internal to src/node). */
#ifndef LINKD_NODE_API_JSON_H
#define LINKD_NODE_API_JSON_H

#include "linkd/buf.h"
#include "linkd/time.h"

/* A realtime instant as an RFC 3339 JSON string. */
static inline void lk__api_put_time(lk_buf *out, lk_usec t) {
        char text[28];
        lk_time_format_rfc3339(text, t);
        lk_buf_put_json_string(out, text);
}

#endif
