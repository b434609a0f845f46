/* Atomic file writes (see include/linkd/file.h). */
#include "linkd/file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

static int write_all(int fd, const void *data, size_t len) {
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static void sync_parent(const char *path) {
        char *copy = lk_strdup(path);
        int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
                fsync(fd); /* makes the rename durable; nothing to do if it fails */
                close(fd);
        }
        lk_free(copy);
}

int lk_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, lk_err *err) {
        char *temp = lk_asprintf("%s.%ld" LK_FILE_TEMP_SUFFIX, path, (long)getpid());
        int r = 0;
        int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0) {
                r = lk_err_set(err, -errno, "cannot create %s: %s", temp, strerror(errno));
                goto out;
        }
        r = write_all(fd, data, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r < 0) {
                lk_err_set(err, r, "cannot write %s: %s", temp, strerror(-r));
                unlink(temp);
                goto out;
        }
        if (rename(temp, path) < 0) {
                r = lk_err_set(err, -errno, "cannot rename %s to %s: %s", temp, path, strerror(errno));
                unlink(temp);
                goto out;
        }
        sync_parent(path);
out:
        lk_free(temp);
        return r;
}

int lk_file_append(const char *path, const void *data, size_t len, mode_t mode, lk_err *err) {
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
        if (fd < 0)
                return lk_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
        int r = write_all(fd, data, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r < 0)
                return lk_err_set(err, r, "cannot append to %s: %s", path, strerror(-r));
        return 0;
}

int lk_dir_ensure_private(const char *path, lk_err *err) {
        char *copy = lk_strdup(path);
        /* Parents are created with the usual mode; only the root itself
         * must be private. */
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
                        int e = errno;
                        lk_err_set(err, -e, "cannot create %s: %s", copy, strerror(e));
                        lk_free(copy);
                        return -e;
                }
                *p = '/';
        }
        lk_free(copy);
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return lk_err_set(err, -errno, "cannot create %s: %s", path, strerror(errno));
        struct stat st;
        if (stat(path, &st) < 0)
                return lk_err_set(err, -errno, "cannot stat %s: %s", path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return lk_err_set(err, -ENOTDIR, "%s already exists and is not a directory", path);
        if ((st.st_mode & 077) && chmod(path, st.st_mode & 0700) < 0)
                return lk_err_set(err, -errno, "cannot make %s private: %s", path, strerror(errno));
        return 0;
}

int lk_file_read(const char *path, size_t max, char **ret_text, size_t *ret_len, lk_err *err) {
        bool stdin_stream = strcmp(path, "-") == 0;
        FILE *f = stdin_stream ? stdin : fopen(path, "re");
        if (!f)
                return lk_err_set(err, -errno, "%s: %s", path, strerror(errno));
        struct stat st;
        if (!stdin_stream && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
                fclose(f);
                return lk_err_set(err, -EISDIR, "%s: is a directory", path);
        }
        lk_buf buf = LK_BUF_INIT;
        char chunk[8192];
        size_t n;
        int r = 0;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
                if (buf.len + n > max) {
                        r = lk_err_set(err, -EFBIG, "%s: larger than %zu bytes", path, max);
                        break;
                }
                lk_buf_append(&buf, chunk, n);
        }
        if (r == 0 && ferror(f))
                r = lk_err_set(err, -EIO, "%s: read error", path);
        if (!stdin_stream)
                fclose(f);
        if (r < 0) {
                lk_buf_done(&buf);
                return r;
        }
        *ret_text = lk_buf_steal(&buf, ret_len);
        return 0;
}
