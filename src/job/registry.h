/* Private to src/job/bridges.c and src/job/initiators.c. */
#ifndef LINKD_JOB_REGISTRY_H
#define LINKD_JOB_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "linkd/err.h"

/* Chainlink's ^[a-zA-Z0-9-_]+$ for bridge and initiator names. */
bool lk__registry_name_ok(const char *name);
/* An lk_malloc'd ASCII-lowercase copy. */
char *lk__registry_lower(const char *name);
/* -EINVAL unless 1 <= page and 1 <= size <= LK_PAGE_MAX_SIZE. */
int lk__registry_page_check(int64_t page, int64_t size, lk_err *err);

#endif
