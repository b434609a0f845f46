/* The pprof writer, read back by the real `go tool pprof` and by a small
 * protobuf decoder of our own. */
#include "lktest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "prof/pprof.h"

extern char **environ;

/* ---- code to point samples at ----------------------------------------- */

/* The stacks below are made of addresses inside these functions, so that
 * symbolization has real code and real lines to find.  The bodies differ
 * so that identical-code folding cannot merge them. */
static volatile int sink;

enum { LEAF_A_BEGIN = __LINE__ };
__attribute__((noinline)) static void pprof_leaf_alpha(void) {
        sink += 1;
}
enum { LEAF_A_END = __LINE__ };

enum { LEAF_B_BEGIN = __LINE__ };
__attribute__((noinline)) static void pprof_leaf_beta(void) {
        sink += 2;
        sink *= 3;
}
enum { LEAF_B_END = __LINE__ };

/* A return address and the line of the call it returns to. */
typedef struct call_site {
        uintptr_t pc;
        int line;
} call_site;

__attribute__((noinline)) static uintptr_t return_address(void) {
        return (uintptr_t)__builtin_return_address(0);
}

/* The call is followed by code of the next line, which the return address
 * points into: only a lookup at pc - 1 names the line of the call. */
__attribute__((noinline)) static call_site pprof_caller_gamma(void) {
        call_site c = {0, __LINE__ + 1};
        c.pc = return_address();
        sink += 4;
        return c;
}

__attribute__((noinline)) static call_site pprof_caller_delta(void) {
        call_site c = {0, __LINE__ + 1};
        c.pc = return_address();
        sink += 5;
        return c;
}

/* A return address inside code inlined into another function: the
 * location has two lines, the inlined function's and its caller's. */
typedef struct inline_site {
        uintptr_t pc;
        int line, caller_line;
} inline_site;

static inline __attribute__((always_inline)) inline_site pprof_inlined_epsilon(void) {
        inline_site site = {0, __LINE__ + 1, 0};
        site.pc = return_address();
        sink += 6;
        return site;
}

__attribute__((noinline)) static inline_site pprof_caller_zeta(void) {
        int line = __LINE__ + 1;
        inline_site site = pprof_inlined_epsilon();
        sink += 7;
        site.caller_line = line;
        return site;
}

static uintptr_t leaf_alpha(void) {
        return (uintptr_t)pprof_leaf_alpha + 4;
}

static uintptr_t leaf_beta(void) {
        return (uintptr_t)pprof_leaf_beta + 4;
}

/* ---- running go tool pprof -------------------------------------------- */

/* environ with HOME and PPROF_TMPDIR pointing into dir, so that pprof
 * writes nothing outside the test's directory. */
static char **pprof_env(const char *dir) {
        size_t n = 0;
        while (environ[n])
                n++;
        char **env = lk_calloc(n + 3, sizeof *env);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "HOME=", 5) != 0 && strncmp(environ[i], "PPROF_TMPDIR=", 13) != 0)
                        env[k++] = lk_strdup(environ[i]);
        env[k++] = lk_asprintf("HOME=%s", dir);
        env[k++] = lk_asprintf("PPROF_TMPDIR=%s", dir);
        return env;
}

static void free_strv(char **v) {
        for (size_t i = 0; v[i]; i++)
                lk_free(v[i]);
        lk_free(v);
}

/* Runs `go tool pprof ARGS...` and returns its stdout (lk_free it); fails
 * the test if pprof does not exit 0.  args is NULL-terminated. */
static char *run_pprof(const char *dir, const char *const *args) {
        const char *argv[16] = {"go", "tool", "pprof"};
        size_t argc = 3;
        for (size_t i = 0; args[i]; i++) {
                assert_true(argc < 15);
                argv[argc++] = args[i];
        }
        char *out_path = lk_asprintf("%s/pprof.stdout", dir), *err_path = lk_asprintf("%s/pprof.stderr", dir);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char **env = pprof_env(dir);
        pid_t pid;
        int r = posix_spawnp(&pid, "go", &actions, NULL, (char *const *)argv, env);
        posix_spawn_file_actions_destroy(&actions);
        free_strv(env);
        assert_int_equal(r, 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        char *out = lktest_read_file(out_path), *errs = lktest_read_file(err_path);
        unlink(out_path);
        unlink(err_path);
        lk_free(out_path);
        lk_free(err_path);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("go tool pprof failed (status %d): %s", status, errs ? errs : "");
        lk_free(errs);
        assert_non_null(out);
        return out;
}

static char *pprof_raw(const char *dir, const char *file) {
        const char *args[] = {"-raw", file, NULL};
        return run_pprof(dir, args);
}

/* ---- reading pprof's -raw output -------------------------------------- */

/* The line of text holding needle, as a new string (lk_free it), or NULL. */
static char *line_with(const char *text, const char *needle) {
        const char *hit = strstr(text, needle);
        if (!hit)
                return NULL;
        const char *start = hit;
        while (start > text && start[-1] != '\n')
                start--;
        return lk_strndup(start, strcspn(start, "\n"));
}

/* The -raw Locations line for pc, e.g.
 * "     1: 0x55d0c4a1b2c4 M=1 pprof_leaf_alpha /src/tests/prof/test_pprof.c:33 s=32". */
static char *location_line(const char *raw, uintptr_t pc) {
        char needle[64];
        snprintf(needle, sizeof needle, ": 0x%jx M=", (uintmax_t)pc);
        char *line = line_with(raw, needle);
        if (!line)
                fail_msg("no location for %#jx in:\n%s", (uintmax_t)pc, raw);
        return line;
}

/* Asserts that pc's location names function in this file at a line in
 * [first, last]. */
static void assert_location(const char *raw, uintptr_t pc, const char *function, int first, int last) {
        char *line = location_line(raw, pc);
        char *name = lk_asprintf(" %s ", function);
        if (!strstr(line, name))
                fail_msg("location %#jx is not in %s: %s", (uintmax_t)pc, function, line);
        const char *file = strstr(line, "test_pprof.c:");
        if (!file)
                fail_msg("location %#jx has no line in test_pprof.c: %s", (uintmax_t)pc, line);
        int lineno = atoi(file + strlen("test_pprof.c:"));
        if (lineno < first || lineno > last)
                fail_msg("location %#jx: line %d not in [%d, %d]: %s", (uintmax_t)pc, lineno, first, last, line);
        lk_free(name);
        lk_free(line);
}

/* The location id pprof gave pc (its number in the -raw output). */
static unsigned location_id(const char *raw, uintptr_t pc) {
        char *line = location_line(raw, pc);
        unsigned id = (unsigned)strtoul(line, NULL, 10);
        lk_free(line);
        return id;
}

/* The -raw "Samples:" section: from the header line to "Locations". */
static char *samples_section(const char *raw) {
        const char *start = strstr(raw, "Samples:\n");
        assert_non_null(start);
        const char *end = strstr(start, "Locations");
        assert_non_null(end);
        return lk_strndup(start, (size_t)(end - start));
}

/* How many sample lines there are in a -raw Samples section: the lines
 * holding a ':' after digits and before location ids. */
static size_t count_samples(const char *samples) {
        size_t n = 0;
        for (const char *l = strchr(samples, '\n'); l; l = strchr(l + 1, '\n')) {
                const char *p = l + 1 + strspn(l + 1, " ");
                if (*p == '-' || (*p >= '0' && *p <= '9')) {
                        const char *colon = p + strcspn(p, ":\n");
                        if (*colon == ':')
                                n++;
                }
        }
        return n;
}

static char *self_exe(void) {
        char path[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        assert_true(n > 0);
        path[n] = '\0';
        return lk_strdup(path);
}

/* ---- profiles --------------------------------------------------------- */

static lk_pprof *cpu_profile(void) {
        const lk_pprof_value_type types[] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
        return lk__pprof_new(types, 2, (lk_pprof_value_type){"cpu", "nanoseconds"}, 10000000);
}

static char *write_profile(lk_pprof *profile, const char *dir, const char *name) {
        char *path = lk_asprintf("%s/%s", dir, name);
        lk_err err = LK_ERR_INIT;
        uint64_t size = 0;
        if (lk__pprof_write(profile, path, 1700000000000000000, 2000000000, &size, &err) < 0)
                fail_msg("lk__pprof_write: %s", err.msg);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal((uint64_t)st.st_size, size);
        return path;
}

typedef struct stacks {
        call_site gamma, delta;
        uintptr_t a[3]; /* alpha <- gamma <- delta */
        uintptr_t b[3]; /* beta <- gamma <- delta */
} stacks;

static stacks make_stacks(void) {
        stacks s = {pprof_caller_gamma(), pprof_caller_delta(), {0}, {0}};
        s.a[0] = leaf_alpha();
        s.b[0] = leaf_beta();
        s.a[1] = s.b[1] = s.gamma.pc;
        s.a[2] = s.b[2] = s.delta.pc;
        return s;
}

/* ---- tests ------------------------------------------------------------ */

/* Three samples in alpha on worker-1, one in beta on worker-2: what -raw
 * shows of types, period, values, labels, functions, lines, mappings. */
static void raw_shows_everything(void **state) {
        char *dir = lktest_tmpdir();
        stacks s = make_stacks();
        lk_pprof *profile = cpu_profile();
        const int64_t three[] = {3, 30000000}, one[] = {1, 10000000};
        lk__pprof_add(profile, s.a, 3, three, "thread", "worker-1", NULL, 0);
        lk__pprof_add(profile, s.b, 3, one, "thread", "worker-2", NULL, 0);
        lk__pprof_comment(profile, "cpu profile by test_pprof");
        char *path = write_profile(profile, dir, "cpu.pprof");
        char *raw = pprof_raw(dir, path);

        assert_non_null(strstr(raw, "PeriodType: cpu nanoseconds\n"));
        assert_non_null(strstr(raw, "Period: 10000000\n"));
        assert_non_null(strstr(raw, "Duration: 2s"));
        assert_non_null(strstr(raw, "samples/count cpu/nanoseconds\n"));
        assert_non_null(strstr(raw, "cpu profile by test_pprof"));
        char *samples = samples_section(raw);
        assert_int_equal(count_samples(samples), 2);
        char *expect_a = lk_asprintf("          3   30000000: %u %u %u \n                thread:[worker-1]\n",
                                     location_id(raw, s.a[0]), location_id(raw, s.gamma.pc),
                                     location_id(raw, s.delta.pc));
        char *expect_b = lk_asprintf("          1   10000000: %u %u %u \n                thread:[worker-2]\n",
                                     location_id(raw, s.b[0]), location_id(raw, s.gamma.pc),
                                     location_id(raw, s.delta.pc));
        if (!strstr(samples, expect_a) || !strstr(samples, expect_b))
                fail_msg("expected\n%s%sin\n%s", expect_a, expect_b, samples);

        assert_location(raw, s.a[0], "pprof_leaf_alpha", LEAF_A_BEGIN, LEAF_A_END);
        assert_location(raw, s.b[0], "pprof_leaf_beta", LEAF_B_BEGIN, LEAF_B_END);
        assert_location(raw, s.gamma.pc, "pprof_caller_gamma", s.gamma.line, s.gamma.line);
        assert_location(raw, s.delta.pc, "pprof_caller_delta", s.delta.line, s.delta.line);

        char *exe = self_exe();
        const char *mappings = strstr(raw, "Mappings\n");
        assert_non_null(mappings);
        char *mapping = line_with(mappings, exe);
        if (!mapping)
                fail_msg("no mapping for %s in:\n%s", exe, raw);
        assert_non_null(strstr(mapping, " [FN][FL][LN][IN]"));
        char *location = location_line(raw, s.a[0]);
        char *mapping_ref = lk_asprintf("M=%u ", (unsigned)strtoul(mapping, NULL, 10));
        assert_non_null(strstr(location, mapping_ref));

        lk_free(mapping_ref);
        lk_free(location);
        lk_free(mapping);
        lk_free(exe);
        lk_free(expect_a);
        lk_free(expect_b);
        lk_free(samples);
        lk_free(raw);
        lk_free(path);
        lk__pprof_free(profile);
        lktest_rmrf(dir);
}

/* The inlined function first, then the one it was inlined into, each with
 * the line of its own code. */
static void inline_frames(void **state) {
        char *dir = lktest_tmpdir();
        inline_site site = pprof_caller_zeta();
        const lk_pprof_value_type type = {"samples", "count"};
        lk_pprof *profile = lk__pprof_new(&type, 1, type, 0);
        const uintptr_t pcs[] = {leaf_alpha(), site.pc};
        const int64_t one = 1;
        lk__pprof_add(profile, pcs, 2, &one, NULL, NULL, NULL, 0);
        char *path = write_profile(profile, dir, "inline.pprof");
        char *raw = pprof_raw(dir, path);

        assert_location(raw, site.pc, "pprof_inlined_epsilon", site.line, site.line);
        char *first = location_line(raw, site.pc);
        const char *next = strstr(raw, first) + strlen(first) + 1;
        char *second = lk_strndup(next, strcspn(next, "\n"));
        char *expect = lk_asprintf("test_pprof.c:%d ", site.caller_line);
        if (strncmp(second, "             pprof_caller_zeta ", 31) != 0 || !strstr(second, expect))
                fail_msg("expected pprof_caller_zeta at line %d after\n%s\nnot\n%s", site.caller_line, first, second);

        lk_free(expect);
        lk_free(second);
        lk_free(first);
        lk_free(raw);
        lk_free(path);
        lk__pprof_free(profile);
        lktest_rmrf(dir);
}

/* The line of -top output for function, which must exist. */
static char *top_line(const char *top, const char *function) {
        char *needle = lk_asprintf(" %s\n", function);
        char *line = line_with(top, needle);
        if (!line)
                fail_msg("%s is not in:\n%s", function, top);
        lk_free(needle);
        return line;
}

static void top_attributes_to_functions(void **state) {
        char *dir = lktest_tmpdir();
        stacks s = make_stacks();
        lk_pprof *profile = cpu_profile();
        const int64_t one[] = {1, 10000000};
        for (int i = 0; i < 3; i++)
                lk__pprof_add(profile, s.a, 3, one, NULL, NULL, NULL, 0);
        lk__pprof_add(profile, s.b, 3, one, NULL, NULL, NULL, 0);
        char *path = write_profile(profile, dir, "cpu.pprof");

        const char *by_cpu[] = {"-top", "-sample_index=cpu", path, NULL};
        char *top = run_pprof(dir, by_cpu);
        char *alpha = top_line(top, "pprof_leaf_alpha"), *beta = top_line(top, "pprof_leaf_beta");
        if (!strstr(alpha, "30ms 75.00%") || !strstr(beta, "10ms 25.00%"))
                fail_msg("expected alpha 30ms 75%%, beta 10ms 25%%:\n%s", top);
        /* the callers have no flat time, all of it cumulatively */
        char *gamma = top_line(top, "pprof_caller_gamma");
        assert_non_null(strstr(gamma, "0%"));
        assert_non_null(strstr(gamma, "40ms   100%"));
        lk_free(gamma);
        lk_free(alpha);
        lk_free(beta);
        lk_free(top);

        const char *by_samples[] = {"-top", "-sample_index=samples", path, NULL};
        top = run_pprof(dir, by_samples);
        alpha = top_line(top, "pprof_leaf_alpha");
        assert_non_null(strstr(alpha, "3 75.00%"));
        lk_free(alpha);
        lk_free(top);

        lk_free(path);
        lk__pprof_free(profile);
        lktest_rmrf(dir);
}

static void merges_identical_stacks_and_labels(void **state) {
        char *dir = lktest_tmpdir();
        stacks s = make_stacks();
        const lk_pprof_value_type type = {"threads", "count"};
        lk_pprof *profile = lk__pprof_new(&type, 1, type, 0);
        const int64_t two = 2, five = 5, seven = 7;
        lk__pprof_add(profile, s.a, 3, &two, "thread", "worker-1", NULL, 0);
        lk__pprof_add(profile, s.a, 3, &five, "thread", "worker-1", NULL, 0);   /* merges: 7 */
        lk__pprof_add(profile, s.a, 3, &seven, "thread", "worker-2", NULL, 0);  /* other label */
        lk__pprof_add(profile, s.a, 2, &seven, "thread", "worker-1", NULL, 0);  /* shorter stack */
        lk__pprof_add(profile, s.a, 3, &two, "thread", "worker-1", "tid", 41);  /* numeric label */
        lk__pprof_add(profile, s.a, 3, &five, "thread", "worker-1", "tid", 41); /* merges: 7 */
        lk__pprof_add(profile, s.a, 3, &two, "thread", "worker-1", "tid", 42);
        lk__pprof_add(profile, s.a, 3, &two, NULL, NULL, NULL, 99); /* no label; 99 is ignored */
        lk__pprof_add(profile, s.a, 3, &two, NULL, NULL, NULL, 98);  /* merges: 4 */
        char *path = write_profile(profile, dir, "threads.pprof");
        char *raw = pprof_raw(dir, path);
        char *samples = samples_section(raw);
        if (count_samples(samples) != 6)
                fail_msg("expected 6 samples:\n%s", samples);
        unsigned a0 = location_id(raw, s.a[0]), g = location_id(raw, s.gamma.pc), d = location_id(raw, s.delta.pc);
        char *expect[] = {
                lk_asprintf("          7: %u %u %u \n                thread:[worker-1]\n          7", a0, g, d),
                lk_asprintf("          7: %u %u %u \n                thread:[worker-2]\n", a0, g, d),
                lk_asprintf("          7: %u %u \n                thread:[worker-1]\n", a0, g),
                lk_asprintf("          7: %u %u %u \n                thread:[worker-1]\n                tid:[41]\n", a0, g, d),
                lk_asprintf("          2: %u %u %u \n                thread:[worker-1]\n                tid:[42]\n", a0, g, d),
                lk_asprintf("          4: %u %u %u \n", a0, g, d),
        };
        for (size_t i = 0; i < sizeof expect / sizeof *expect; i++) {
                if (!strstr(samples, expect[i]))
                        fail_msg("expected\n%s\nin\n%s", expect[i], samples);
                lk_free(expect[i]);
        }
        lk_free(samples);
        lk_free(raw);
        lk_free(path);
        lk__pprof_free(profile);
        lktest_rmrf(dir);
}

/* ---- a protobuf reader, for what pprof's output does not show --------- */

typedef struct pb {
        const unsigned char *p, *end;
} pb;

typedef struct pb_field {
        unsigned number;
        unsigned wire;
        uint64_t varint;  /* wire type 0 */
        pb bytes;         /* wire type 2 */
        size_t varint_len; /* bytes the varint took */
} pb_field;

static uint64_t pb_varint(pb *r, size_t *ret_len) {
        uint64_t v = 0;
        for (unsigned shift = 0, n = 1;; shift += 7, n++) {
                assert_true(r->p < r->end && shift < 64);
                unsigned char c = *r->p++;
                v |= (uint64_t)(c & 0x7f) << shift;
                if (!(c & 0x80)) {
                        if (ret_len)
                                *ret_len = n;
                        return v;
                }
        }
}

/* The next field of the message in r; false at its end. */
static bool pb_next(pb *r, pb_field *f) {
        if (r->p >= r->end)
                return false;
        uint64_t tag = pb_varint(r, NULL);
        *f = (pb_field){.number = (unsigned)(tag >> 3), .wire = (unsigned)(tag & 7)};
        if (f->wire == 0) {
                f->varint = pb_varint(r, &f->varint_len);
        } else {
                assert_int_equal(f->wire, 2);
                uint64_t len = pb_varint(r, NULL);
                assert_true(len <= (uint64_t)(r->end - r->p));
                f->bytes = (pb){r->p, r->p + len};
                r->p += len;
        }
        return true;
}

/* Field number of a message's varint field, or 0. */
static uint64_t pb_get(pb msg, unsigned number) {
        pb_field f;
        uint64_t v = 0;
        while (pb_next(&msg, &f))
                if (f.number == number && f.wire == 0)
                        v = f.varint;
        return v;
}

#define MAX_ITEMS 1024

typedef struct decoded {
        char *strings[MAX_ITEMS];
        size_t string_count;
        pb mappings[MAX_ITEMS], locations[MAX_ITEMS], functions[MAX_ITEMS], samples[MAX_ITEMS];
        size_t mapping_count, location_count, function_count, sample_count;
        int64_t time_nanos, duration_nanos, period;
        uint64_t comment;
} decoded;

static void keep(pb *array, size_t *count, pb item) {
        assert_true(*count < MAX_ITEMS);
        array[(*count)++] = item;
}

static void decode_field(decoded *d, const pb_field *f) {
        switch (f->number) {
        case 2: keep(d->samples, &d->sample_count, f->bytes); break;
        case 3: keep(d->mappings, &d->mapping_count, f->bytes); break;
        case 4: keep(d->locations, &d->location_count, f->bytes); break;
        case 5: keep(d->functions, &d->function_count, f->bytes); break;
        case 6:
                assert_true(d->string_count < MAX_ITEMS);
                d->strings[d->string_count++] = lk_strndup((const char *)f->bytes.p, (size_t)(f->bytes.end - f->bytes.p));
                break;
        case 9: d->time_nanos = (int64_t)f->varint; break;
        case 10: d->duration_nanos = (int64_t)f->varint; break;
        case 12: d->period = (int64_t)f->varint; break;
        case 13: d->comment = f->varint; break;
        default: break;
        }
}

/* The top-level fields of a Profile (decoded_free it). */
static decoded *decode(const char *data, size_t len) {
        decoded *d = lk_calloc(1, sizeof *d);
        pb r = {(const unsigned char *)data, (const unsigned char *)data + len};
        pb_field f;
        while (pb_next(&r, &f))
                decode_field(d, &f);
        return d;
}

static void decoded_free(decoded *d) {
        for (size_t i = 0; i < d->string_count; i++)
                lk_free(d->strings[i]);
        lk_free(d);
}

static const char *string_at(const decoded *d, uint64_t index) {
        assert_true(index < d->string_count);
        return d->strings[index];
}

/* Every id names an existing message of its kind: ids run 1..count. */
static void assert_ids(const decoded *d) {
        for (size_t i = 0; i < d->mapping_count; i++)
                assert_int_equal(pb_get(d->mappings[i], 1), i + 1);
        for (size_t i = 0; i < d->function_count; i++) {
                assert_int_equal(pb_get(d->functions[i], 1), i + 1);
                string_at(d, pb_get(d->functions[i], 2));
        }
        for (size_t i = 0; i < d->location_count; i++) {
                assert_int_equal(pb_get(d->locations[i], 1), i + 1);
                assert_true(pb_get(d->locations[i], 2) <= d->mapping_count);
        }
        for (size_t i = 0; i < d->sample_count; i++) {
                pb_field f;
                pb s = d->samples[i];
                while (pb_next(&s, &f)) {
                        if (f.number != 1)
                                continue;
                        assert_int_equal(f.wire, 2); /* packed */
                        while (f.bytes.p < f.bytes.end) {
                                uint64_t id = pb_varint(&f.bytes, NULL);
                                assert_true(id >= 1 && id <= d->location_count);
                        }
                }
        }
}

/* The location message whose address is pc. */
static pb location_at(const decoded *d, uintptr_t pc) {
        for (size_t i = 0; i < d->location_count; i++)
                if (pb_get(d->locations[i], 3) == pc)
                        return d->locations[i];
        fail_msg("no location for %#jx", (uintmax_t)pc);
        return (pb){NULL, NULL};
}

static void encoding_details(void **state) {
        stacks s = make_stacks();
        lk_pprof *profile = cpu_profile();
        const int64_t values[] = {1, 10000000};
        lk__pprof_add(profile, s.a, 3, values, "thread", "worker-1", NULL, 0);
        lk__pprof_add(profile, s.b, 3, values, NULL, NULL, NULL, 0);
        const uintptr_t nowhere = 0x10;
        lk__pprof_add(profile, &nowhere, 1, values, NULL, NULL, NULL, 0);
        lk__pprof_comment(profile, "hello comments");
        char *data = NULL;
        size_t len = 0;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk__pprof_encode(profile, 1234, -5678, &data, &len, &err), 0);
        decoded *d = decode(data, len);

        assert_true(d->string_count > 1);
        assert_string_equal(d->strings[0], "");
        assert_int_equal(d->sample_count, 3);
        assert_int_equal(d->location_count, 5);
        assert_true(d->mapping_count >= 1);
        assert_int_equal(d->time_nanos, 1234);
        assert_int_equal(d->duration_nanos, -5678);
        assert_int_equal(d->period, 10000000);
        assert_string_equal(string_at(d, d->comment), "hello comments");
        assert_ids(d);

        /* the leaf is in the test binary's mapping, which says it is
         * symbolized so that pprof leaves it alone */
        pb leaf = location_at(d, s.a[0]);
        uint64_t mapping_id = pb_get(leaf, 2);
        assert_true(mapping_id >= 1);
        pb mapping = d->mappings[mapping_id - 1];
        char *exe = self_exe();
        assert_string_equal(string_at(d, pb_get(mapping, 5)), exe);
        assert_true(pb_get(mapping, 2) <= s.a[0] && s.a[0] < pb_get(mapping, 3));
        for (unsigned field = 7; field <= 9; field++)
                assert_int_equal(pb_get(mapping, field), 1);
        const char *build_id = string_at(d, pb_get(mapping, 6));
        assert_true(strlen(build_id) >= 16);
        assert_int_equal(strspn(build_id, "0123456789abcdef"), strlen(build_id));

        /* the leaf's line names a function called pprof_leaf_alpha */
        pb_field f;
        uint64_t function_id = 0;
        while (pb_next(&leaf, &f))
                if (f.number == 4)
                        function_id = pb_get(f.bytes, 1); /* the outermost line wins */
        assert_true(function_id >= 1 && function_id <= d->function_count);
        assert_string_equal(string_at(d, pb_get(d->functions[function_id - 1], 2)), "pprof_leaf_alpha");

        /* an address in no loaded object keeps its address, and nothing else */
        pb unmapped = location_at(d, nowhere);
        assert_int_equal(pb_get(unmapped, 2), 0);
        while (pb_next(&unmapped, &f))
                assert_true(f.number == 1 || f.number == 3);

        lk_free(exe);
        decoded_free(d);
        lk_free(data);
        lk__pprof_free(profile);
}

/* A value of -1 takes ten bytes on the wire and reads back as -1. */
static void negative_values(void **state) {
        char *dir = lktest_tmpdir();
        stacks s = make_stacks();
        const lk_pprof_value_type types[] = {{"alloc_space", "bytes"}, {"inuse_space", "bytes"}};
        lk_pprof *profile = lk__pprof_new(types, 2, (lk_pprof_value_type){"space", "bytes"}, 524288);
        const int64_t freed[] = {4096, -9000}, more[] = {0, 3000}, minus_one[] = {-1, INT64_MIN};
        lk__pprof_add(profile, s.a, 3, freed, NULL, NULL, NULL, 0);
        lk__pprof_add(profile, s.a, 3, more, NULL, NULL, NULL, 0); /* -9000 + 3000 */
        lk__pprof_add(profile, s.b, 3, minus_one, NULL, NULL, NULL, 0);

        char *data = NULL;
        size_t len = 0;
        assert_int_equal(lk__pprof_encode(profile, 0, 0, &data, &len, NULL), 0);
        decoded *d = decode(data, len);
        assert_int_equal(d->sample_count, 2);
        pb_field f;
        pb sample = d->samples[1];
        while (pb_next(&sample, &f)) {
                if (f.number != 2)
                        continue;
                size_t n;
                assert_int_equal(pb_varint(&f.bytes, &n), UINT64_MAX);
                assert_int_equal(n, 10);
                assert_int_equal((int64_t)pb_varint(&f.bytes, &n), INT64_MIN);
                assert_int_equal(n, 10);
        }
        decoded_free(d);
        lk_free(data);

        char *path = write_profile(profile, dir, "heap.pprof");
        char *raw = pprof_raw(dir, path);
        char *samples = samples_section(raw);
        char *expect_a = lk_asprintf("       4096      -6000: %u ", location_id(raw, s.a[0]));
        char *expect_b = lk_asprintf("         -1 -9223372036854775808: %u ", location_id(raw, s.b[0]));
        if (!strstr(samples, expect_a) || !strstr(samples, expect_b))
                fail_msg("expected\n%s\n%s\nin\n%s", expect_a, expect_b, samples);
        lk_free(expect_a);
        lk_free(expect_b);
        lk_free(samples);
        lk_free(raw);
        lk_free(path);
        lk__pprof_free(profile);
        lktest_rmrf(dir);
}

/* The names in dir, sorted, one per line. */
static char *list_dir(const char *dir) {
        struct dirent **names;
        int n = scandir(dir, &names, NULL, alphasort);
        assert_true(n >= 0);
        lk_buf b = LK_BUF_INIT;
        for (int i = 0; i < n; i++) {
                if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
                        lk_buf_printf(&b, "%s\n", names[i]->d_name);
                free(names[i]);
        }
        free(names);
        return lk_buf_steal(&b, NULL);
}

static void written_file_is_gzip_0600_atomic(void **state) {
        char *dir = lktest_tmpdir();
        stacks s = make_stacks();
        lk_pprof *profile = cpu_profile();
        const int64_t values[] = {1, 10000000};
        lk__pprof_add(profile, s.a, 3, values, NULL, NULL, NULL, 0);
        mode_t umask_was = umask(0); /* the mode is the writer's, not the umask's */
        char *path = write_profile(profile, dir, "cpu.pprof");
        char *path2 = write_profile(profile, dir, "cpu.pprof"); /* replaces it */
        umask(umask_was);

        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        unsigned char magic[2] = {0};
        assert_int_equal(fread(magic, 1, 2, f), 2);
        fclose(f);
        assert_int_equal(magic[0], 0x1f);
        assert_int_equal(magic[1], 0x8b);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        char *names = list_dir(dir);
        assert_string_equal(names, "cpu.pprof\n");
        lk_free(names);

        char *missing = lk_asprintf("%s/no/such/dir/cpu.pprof", dir);
        lk_err err = LK_ERR_INIT;
        uint64_t size = 77;
        assert_true(lk__pprof_write(profile, missing, 0, 0, &size, &err) < 0);
        assert_int_equal(err.code, -ENOENT);
        assert_int_equal(size, 77);
        if (!strstr(err.msg, missing) || !strstr(err.msg, "No such file or directory"))
                fail_msg("unclear error: %s", err.msg);
        names = list_dir(dir);
        assert_string_equal(names, "cpu.pprof\n");
        lk_free(names);

        lk_free(missing);
        lk_free(path2);
        lk_free(path);
        lk__pprof_free(profile);
        lktest_rmrf(dir);
}

/* 50,000 samples over 2,000 stacks of depth 20 made of ~600 addresses. */
static void large_profile(void **state) {
        char *dir = lktest_tmpdir();
        const lk_pprof_value_type type = {"samples", "count"};
        lk_pprof *profile = lk__pprof_new(&type, 1, type, 0);
        const uintptr_t base = (uintptr_t)lk__pprof_add;
        enum { STACKS = 2000, DEPTH = 20, SAMPLES = 50000 };
        for (int i = 0; i < SAMPLES; i++) {
                int stack = (i * 7919) % STACKS;
                uintptr_t pcs[DEPTH];
                pcs[0] = base + (uintptr_t)(stack % 400);
                pcs[1] = base + 1000 + (uintptr_t)(stack / 400);
                for (int j = 2; j < DEPTH; j++)
                        pcs[j] = base + 2000 + (uintptr_t)(j * 11 + stack % 10);
                const int64_t one = 1;
                lk__pprof_add(profile, pcs, DEPTH, &one, NULL, NULL, NULL, 0);
        }
        char *path = write_profile(profile, dir, "large.pprof");
        char *raw = pprof_raw(dir, path);
        char *samples = samples_section(raw);
        assert_int_equal(count_samples(samples), STACKS);
        /* every stack was added 25 times */
        size_t with_25 = 0;
        for (const char *p = samples; (p = strstr(p, "\n         25: ")); p++)
                with_25++;
        assert_int_equal(with_25, STACKS);
        lk_free(samples);
        lk_free(raw);
        lk_free(path);
        lk__pprof_free(profile);
        lktest_rmrf(dir);
}

static void free_accepts_null(void **state) {
        assert_null(lk__pprof_free(NULL));
        lk_err err = LK_ERR_INIT;
        char *data = NULL;
        size_t len = 0;
        assert_int_equal(lk__pprof_encode(NULL, 0, 0, &data, &len, &err), -EINVAL);
        assert_true(lk_err_is_set(&err));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(raw_shows_everything),
                cmocka_unit_test(inline_frames),
                cmocka_unit_test(top_attributes_to_functions),
                cmocka_unit_test(merges_identical_stacks_and_labels),
                cmocka_unit_test(encoding_details),
                cmocka_unit_test(negative_values),
                cmocka_unit_test(written_file_is_gzip_0600_atomic),
                cmocka_unit_test(large_profile),
                cmocka_unit_test(free_accepts_null),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
