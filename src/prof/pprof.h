/* Writing profiles in pprof's format: a gzip-compressed profile.proto
 * (github.com/google/pprof/proto/profile.proto), symbolized in-process
 * from the DWARF of linkd and its libraries (elfutils' libdw), so that a
 * profile names functions, files and lines by itself and still reads
 * after the binary has been replaced.
 *
 * The protobuf encoding is written here: the format needs five message
 * types and two wire types (varint and length-delimited), and the only
 * Debian protobuf library for C (protobuf-c) would need the .proto file
 * and a code generator for what is ~150 lines of encoding. */
#ifndef LINKD_PROF_PPROF_H
#define LINKD_PROF_PPROF_H

#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"

typedef struct lk_pprof lk_pprof;

typedef struct lk_pprof_value_type {
        const char *type; /* "samples", "cpu", "alloc_space", ... */
        const char *unit; /* "count", "nanoseconds", "bytes" */
} lk_pprof_value_type;

/* A profile whose samples carry one value per entry of sample_types (the
 * strings are copied).  period_type and period describe the sampling
 * (period 0 when not applicable). */
lk_pprof *lk__pprof_new(const lk_pprof_value_type *sample_types, size_t type_count,
                        lk_pprof_value_type period_type, int64_t period);
/* Accepts NULL; returns NULL. */
lk_pprof *lk__pprof_free(lk_pprof *profile);

/* Adds a sample: pcs[0] is the leaf (the interrupted or allocating
 * instruction), pcs[depth-1] the outermost caller; pcs[i] for i > 0 are
 * return addresses.  values has type_count entries.  Samples with the same
 * stack and labels are merged by adding their values.  label_key and
 * label_value (both NULL or both set) attach a string label, e.g.
 * thread=<name>; num_label_key / num_label (NULL / ignored) a numeric one. */
void lk__pprof_add(lk_pprof *profile, const uintptr_t *pcs, size_t depth, const int64_t *values,
                   const char *label_key, const char *label_value, const char *num_label_key, int64_t num_label);

/* Adds a comment string to the profile (shown by pprof -comments). */
void lk__pprof_comment(lk_pprof *profile, const char *comment);

/* Symbolizes every address against the process's current mappings,
 * encodes, compresses (gzip, zlib) and writes the profile to path with
 * lk_file_write_atomic (mode 0600), so path is either absent or complete.
 * time_nanos: when the profile started (unix ns); duration_nanos: how long
 * it covers.  On failure nothing is left behind.  Returns the bytes
 * written in *ret_size (may be NULL). */
int lk__pprof_write(lk_pprof *profile, const char *path, int64_t time_nanos, int64_t duration_nanos,
                    uint64_t *ret_size, lk_err *err);

/* Symbolizes and encodes without compressing: the raw profile.proto
 * bytes (lk_free *ret_data).  lk__pprof_write is this plus gzip and
 * lk_file_write_atomic. */
int lk__pprof_encode(lk_pprof *profile, int64_t time_nanos, int64_t duration_nanos, char **ret_data,
                     size_t *ret_len, lk_err *err);

#endif
