/* RootDir: the service that owns the node's root directory.  Start creates
 * it (mode 0700, as Chainlink insists, because it holds keys and the
 * database); its health check fails while the directory is missing, not a
 * directory, not writable or on a read-only filesystem. */
#ifndef LINKD_NODE_ROOTDIR_H
#define LINKD_NODE_ROOTDIR_H

#include "linkd/service.h"

#define LK_ROOTDIR_NAME "RootDir"

typedef struct lk_rootdir lk_rootdir;

lk_rootdir *lk__rootdir_new(const char *path);
lk_rootdir *lk__rootdir_free(lk_rootdir *rootdir);
lk_service *lk__rootdir_service(lk_rootdir *rootdir);

#endif
