/* Files written so that a crash never leaves half of one behind. */
#ifndef LINKD_FILE_H
#define LINKD_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "linkd/err.h"

/* Writes len bytes to path atomically: to a temporary file in the same
 * directory (created with mode), fsync'd, then renamed over path, and the
 * directory fsync'd.  On failure the temporary file is removed and path is
 * untouched. */
int lk_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, lk_err *err);

/* Appends len bytes to path (created with mode if missing) in one write
 * and fsyncs it. */
int lk_file_append(const char *path, const void *data, size_t len, mode_t mode, lk_err *err);

/* Creates path and its missing parents; the last one with mode 0700, and
 * narrows an existing directory to at most 0700 (it holds keys, the
 * database or profiles).  Errors if path exists and is not a directory. */
int lk_dir_ensure_private(const char *path, lk_err *err);

/* Reads the whole file at path ("-": standard input), refusing more than
 * max bytes and anything but a regular file or a stream.  *ret_text is
 * NUL-terminated and owned by the caller (lk_free).  Errors name path. */
int lk_file_read(const char *path, size_t max, char **ret_text, size_t *ret_len, lk_err *err);

/* The suffix lk_file_write_atomic gives its temporary files, so that
 * directory scans can recognise and ignore (or clean up) them. */
#define LK_FILE_TEMP_SUFFIX ".tmp"

#endif
