/* The RootDir service (see rootdir.h). */
#include "rootdir.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/file.h"

struct lk_rootdir {
        lk_service service;
        lk_once once;
        char *path;
};

static int start_locked(void *arg, lk_err *err) {
        lk_rootdir *r = arg;
        int rc = lk_dir_ensure_private(r->path, err);
        if (rc < 0)
                lk_err_prefix(err, LK_ROOTDIR_NAME);
        return rc;
}

static int rootdir_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        lk_rootdir *r = (lk_rootdir *)service;
        return lk_once_start(&r->once, LK_ROOTDIR_NAME, start_locked, r, err);
}

static int stop_locked(void *arg, lk_err *err) {
        return 0;
}

static int rootdir_close(lk_service *service, lk_err *err) {
        lk_rootdir *r = (lk_rootdir *)service;
        return lk_once_stop(&r->once, LK_ROOTDIR_NAME, stop_locked, r, err);
}

static int rootdir_healthy(lk_service *service, lk_err *err) {
        lk_rootdir *r = (lk_rootdir *)service;
        int rc = lk_once_healthy(&r->once, err);
        if (rc < 0)
                return rc;
        struct stat st;
        if (stat(r->path, &st) < 0)
                return lk_err_set(err, -errno, "%s: %s", r->path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return lk_err_set(err, -ENOTDIR, "%s is not a directory", r->path);
        if (access(r->path, W_OK | X_OK) < 0)
                return lk_err_set(err, -errno, "%s is not writable: %s", r->path, strerror(errno));
        struct statvfs vfs;
        if (statvfs(r->path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
                return lk_err_set(err, -EROFS, "%s is on a read-only filesystem", r->path);
        return 0;
}

static const lk_service_vtable rootdir_vtable = {
        .start = rootdir_start,
        .close = rootdir_close,
        .healthy = rootdir_healthy,
};

lk_rootdir *lk__rootdir_new(const char *path) {
        lk_rootdir *r = lk_calloc(1, sizeof *r);
        lk_once_init(&r->once);
        r->service = (lk_service){.vtable = &rootdir_vtable, .name = LK_ROOTDIR_NAME, .once = &r->once};
        r->path = lk_strdup(path);
        return r;
}

lk_rootdir *lk__rootdir_free(lk_rootdir *r) {
        if (!r)
                return NULL;
        lk_once_done(&r->once);
        lk_free(r->path);
        lk_free(r);
        return NULL;
}

lk_service *lk__rootdir_service(lk_rootdir *r) {
        return &r->service;
}
