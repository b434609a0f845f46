/* The Nurse (see include/linkd/nurse.h). */
#include "linkd/nurse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/file.h"
#include "linkd/proc.h"
#include "linkd/size.h"
#include "prof/cpu.h"
#include "prof/heap.h"
#include "prof/threads.h"

#define MAX_CHECKS 16
#define THREAD_SNAPSHOT_TIMEOUT (200 * LK_USEC_PER_MSEC)
/* What a gathering is assumed to need before the first one is measured. */
#define FIRST_GATHERING_ESTIMATE (256 * 1024)

typedef struct check {
        char *reason;
        lk_nurse_check_fn fn;
        void *arg;
} check;

typedef struct request {
        char *reason;
        lk_meta meta;
} request;

struct lk_nurse {
        lk_service service;
        lk_once once;
        const lk_config *cfg;
        lk_log *log;
        char *root;

        pthread_mutex_t lock;     /* everything below */
        pthread_cond_t changed;
        check checks[MAX_CHECKS];
        size_t check_count;
        bool stop;
        bool pending;             /* the one-slot queue */
        request next;
        lk_ctx *gathering;        /* cancelled by close */
        char *health_error;       /* the last gathering's failure */
        lk_nurse_stats stats;
        uint64_t last_gathering_bytes;

        pthread_t poller, responder;
        bool threads_running;
};

/* One Nurse per process: profiling signals and the allocation sampler are
 * process-wide. */
static atomic_bool nurse_running;

void lk_meta_addf(lk_meta *meta, const char *key, const char *fmt, ...) {
        if (meta->len == meta->cap) {
                meta->cap = meta->cap ? meta->cap * 2 : 8;
                meta->entries = lk_realloc(meta->entries, meta->cap * sizeof *meta->entries);
        }
        va_list ap;
        va_start(ap, fmt);
        meta->entries[meta->len++] = (lk_meta_entry){lk_strdup(key), lk_vasprintf(fmt, ap)};
        va_end(ap);
}

void lk_meta_done(lk_meta *meta) {
        for (size_t i = 0; i < meta->len; i++) {
                lk_free(meta->entries[i].key);
                lk_free(meta->entries[i].value);
        }
        lk_freep(&meta->entries);
        meta->len = meta->cap = 0;
}

static int compare_entries(const void *a, const void *b) {
        return strcmp(((const lk_meta_entry *)a)->key, ((const lk_meta_entry *)b)->key);
}

static void meta_copy_sorted(lk_meta *dst, const lk_meta *src) {
        for (size_t i = 0; src && i < src->len; i++)
                lk_meta_addf(dst, src->entries[i].key, "%s", src->entries[i].value);
        if (dst->len > 1)
                qsort(dst->entries, dst->len, sizeof *dst->entries, compare_entries);
}

static char *format_size(uint64_t bytes) {
        lk_buf b = LK_BUF_INIT;
        lk_size_format(&b, bytes);
        return lk_buf_steal(&b, NULL);
}

/* ---- built-in checks ---- */

static bool check_memory(void *arg, lk_meta *meta) {
        lk_nurse *n = arg;
        lk_proc_stats proc = {0};
        lk_proc_stats_read(&proc, 0, NULL);
        lk_alloc_stats heap;
        lk_alloc_stats_get(&heap);
        uint64_t threshold = n->cfg->auto_pprof.mem_threshold;
        if (proc.resident_bytes < threshold && heap.bytes_in_use < threshold)
                return false;
        char *rss = format_size(proc.resident_bytes), *in_use = format_size(heap.bytes_in_use),
             *limit = format_size(threshold);
        lk_meta_addf(meta, "mem_rss", "%s", rss);
        lk_meta_addf(meta, "mem_heap", "%s", in_use);
        lk_meta_addf(meta, "threshold", "%s", limit);
        lk_free(rss);
        lk_free(in_use);
        lk_free(limit);
        return true;
}

static bool check_threads(void *arg, lk_meta *meta) {
        lk_nurse *n = arg;
        lk_proc_stats proc = {0};
        if (lk_proc_stats_read(&proc, 0, NULL) < 0)
                return false;
        int64_t threshold = n->cfg->auto_pprof.goroutine_threshold;
        if ((int64_t)proc.threads < threshold)
                return false;
        lk_meta_addf(meta, "num_threads", "%llu", (unsigned long long)proc.threads);
        lk_meta_addf(meta, "threshold", "%lld", (long long)threshold);
        return true;
}

void lk_nurse_add_check(lk_nurse *n, const char *reason, lk_nurse_check_fn fn, void *arg) {
        pthread_mutex_lock(&n->lock);
        size_t i = 0;
        while (i < n->check_count && strcmp(n->checks[i].reason, reason) != 0)
                i++;
        if (i == n->check_count) {
                if (n->check_count == MAX_CHECKS) {
                        pthread_mutex_unlock(&n->lock);
                        lk_log_error(n->log, "Too many Nurse checks, ignoring", LK_STR("reason", reason));
                        return;
                }
                n->checks[n->check_count++].reason = lk_strdup(reason);
        }
        n->checks[i].fn = fn;
        n->checks[i].arg = arg;
        pthread_mutex_unlock(&n->lock);
}

/* ---- the one-slot queue ---- */

bool lk_nurse_gather_vitals(lk_nurse *n, const char *reason, const lk_meta *meta) {
        pthread_mutex_lock(&n->lock);
        bool queued = !n->stop && !n->pending && n->threads_running;
        if (queued) {
                n->pending = true;
                n->next.reason = lk_strdup(reason);
                n->next.meta = (lk_meta)LK_META_INIT;
                meta_copy_sorted(&n->next.meta, meta);
                pthread_cond_broadcast(&n->changed);
        } else {
                n->stats.dropped++;
        }
        pthread_mutex_unlock(&n->lock);
        if (!queued)
                lk_log_debug(n->log, "Nurse dropped a request: one is already waiting", LK_STR("reason", reason));
        return queued;
}

/* Runs the checks; the first unwell one asks for a gathering. */
void lk__nurse_run_checks(lk_nurse *n) {
        pthread_mutex_lock(&n->lock);
        size_t count = n->check_count;
        check checks[MAX_CHECKS];
        memcpy(checks, n->checks, count * sizeof *checks);
        pthread_mutex_unlock(&n->lock);
        for (size_t i = 0; i < count; i++) {
                lk_meta meta = LK_META_INIT;
                bool unwell = checks[i].fn(checks[i].arg, &meta);
                if (unwell)
                        lk_nurse_gather_vitals(n, checks[i].reason, &meta);
                lk_meta_done(&meta);
                if (unwell)
                        break;
        }
}

static void *poll_loop(void *arg) {
        lk_nurse *n = arg;
        pthread_setname_np(pthread_self(), "lk-nurse-poll");
        pthread_mutex_lock(&n->lock);
        while (!n->stop) {
                struct timespec deadline = lk_deadline_after(n->cfg->auto_pprof.poll_interval);
                while (!n->stop && pthread_cond_timedwait(&n->changed, &n->lock, &deadline) != ETIMEDOUT)
                        ;
                if (n->stop)
                        break;
                pthread_mutex_unlock(&n->lock);
                lk__nurse_run_checks(n);
                pthread_mutex_lock(&n->lock);
        }
        pthread_mutex_unlock(&n->lock);
        return NULL;
}

/* ---- the size cap ---- */

size_t lk__nurse_plan_cap(const uint64_t *gathering_sizes, size_t count, uint64_t other_bytes, uint64_t incoming,
                          uint64_t max, bool *ret_fits) {
        uint64_t need = other_bytes + incoming;
        for (size_t i = 0; i < count; i++)
                need += gathering_sizes[i];
        size_t drop = 0;
        while (need > max && drop < count)
                need -= gathering_sizes[drop++];
        *ret_fits = need <= max;
        return drop;
}

typedef struct gathering {
        int64_t stamp;
        uint64_t bytes;
} gathering;

typedef struct inventory {
        gathering *items; /* oldest first */
        size_t len, cap;
        uint64_t log_bytes;
} inventory;

/* "<digits>.<kind>.pprof", ".pprof.gz" or ".json": a gathering's file.
 * Only these and nurse.log count and are ever deleted; ProfileRoot is
 * the node's root directory by default and holds other files too. */
static bool gathering_file(const char *name, int64_t *ret_stamp) {
        char *end;
        long long stamp = strtoll(name, &end, 10);
        if (end == name || *end != '.' || stamp <= 0)
                return false;
        const char *kind = end + 1;
        size_t kind_len = strcspn(kind, ".");
        if (kind_len == 0)
                return false;
        const char *ext = kind + kind_len;
        if (strcmp(ext, ".pprof") != 0 && strcmp(ext, ".pprof.gz") != 0 && strcmp(ext, ".json") != 0)
                return false;
        *ret_stamp = stamp;
        return true;
}

static void inventory_add(inventory *inv, int64_t stamp, uint64_t bytes) {
        for (size_t i = 0; i < inv->len; i++) {
                if (inv->items[i].stamp == stamp) {
                        inv->items[i].bytes += bytes;
                        return;
                }
        }
        if (inv->len == inv->cap) {
                inv->cap = inv->cap ? inv->cap * 2 : 16;
                inv->items = lk_realloc(inv->items, inv->cap * sizeof *inv->items);
        }
        inv->items[inv->len++] = (gathering){stamp, bytes};
}

static int compare_stamps(const void *a, const void *b) {
        int64_t x = ((const gathering *)a)->stamp, y = ((const gathering *)b)->stamp;
        return (x > y) - (x < y);
}

static int take_inventory(const char *root, inventory *inv, lk_err *err) {
        DIR *d = opendir(root);
        if (!d)
                return lk_err_set(err, -errno, "cannot list %s: %s", root, strerror(errno));
        *inv = (inventory){0};
        for (struct dirent *e; (e = readdir(d));) {
                struct stat st;
                if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                int64_t stamp;
                if (strcmp(e->d_name, "nurse.log") == 0)
                        inv->log_bytes = (uint64_t)st.st_size;
                else if (gathering_file(e->d_name, &stamp))
                        inventory_add(inv, stamp, (uint64_t)st.st_size);
        }
        closedir(d);
        if (inv->len > 1)
                qsort(inv->items, inv->len, sizeof *inv->items, compare_stamps);
        return 0;
}

static void delete_gathering(const char *root, int64_t stamp) {
        DIR *d = opendir(root);
        for (struct dirent *e; d && (e = readdir(d));) {
                int64_t s;
                if (gathering_file(e->d_name, &s) && s == stamp)
                        unlinkat(dirfd(d), e->d_name, 0);
        }
        if (d)
                closedir(d);
}

/* Deletes the oldest gatherings (never `keep`) until `incoming` more bytes
 * fit under MaxProfileSize.  Returns whether they fit. */
static bool make_room(lk_nurse *n, uint64_t incoming, int64_t keep) {
        inventory inv = {0};
        lk_err err = LK_ERR_INIT;
        if (take_inventory(n->root, &inv, &err) < 0) {
                lk_log_error(n->log, "Nurse cannot measure its profiles", LK_ERROR(&err));
                return false;
        }
        uint64_t *sizes = lk_calloc(inv.len ? inv.len : 1, sizeof *sizes);
        uint64_t kept_bytes = inv.log_bytes;
        size_t count = 0;
        for (size_t i = 0; i < inv.len; i++) {
                if (inv.items[i].stamp == keep)
                        kept_bytes += inv.items[i].bytes;
                else
                        sizes[count++] = inv.items[i].bytes;
        }
        bool fits;
        size_t drop = lk__nurse_plan_cap(sizes, count, kept_bytes, incoming, n->cfg->auto_pprof.max_profile_size, &fits);
        size_t dropped = 0;
        for (size_t i = 0; i < inv.len && dropped < drop; i++) {
                if (inv.items[i].stamp == keep)
                        continue;
                delete_gathering(n->root, inv.items[i].stamp);
                lk_log_info(n->log, "Nurse removed an old gathering to respect MaxProfileSize",
                            LK_INT("gathering", inv.items[i].stamp), LK_UINT("bytes", inv.items[i].bytes));
                dropped++;
        }
        pthread_mutex_lock(&n->lock);
        n->stats.removed += dropped;
        pthread_mutex_unlock(&n->lock);
        lk_free(sizes);
        lk_free(inv.items);
        return fits;
}

/* ---- one gathering ---- */

static void append_log_entry(lk_nurse *n, lk_usec now, const request *req, lk_err *err) {
        char ts[28];
        lk_time_format_rfc3339(ts, now);
        lk_buf entry = LK_BUF_INIT;
        lk_buf_printf(&entry, "==== %s\nreason: %s\n", ts, req->reason);
        for (size_t i = 0; i < req->meta.len; i++)
                lk_buf_printf(&entry, "- %s: %s\n", req->meta.entries[i].key, req->meta.entries[i].value);
        lk_buf_putc(&entry, '\n');
        char *path = lk_asprintf("%s/nurse.log", n->root);
        lk_file_append(path, entry.data, entry.len, 0600, err);
        lk_free(path);
        lk_buf_done(&entry);
}

static int write_vitals(lk_nurse *n, const char *path, lk_usec now, const request *req, uint64_t *size,
                        lk_err *err) {
        lk_proc_stats proc = {0};
        lk_proc_stats_read(&proc, LK_PROC_FDS, NULL);
        lk_alloc_stats heap;
        lk_alloc_stats_get(&heap);
        double load[3] = {0, 0, 0};
        getloadavg(load, 3);
        char ts[28];
        lk_time_format_rfc3339(ts, now);
        json_t *meta = json_object();
        for (size_t i = 0; i < req->meta.len; i++)
                json_object_set_new(meta, req->meta.entries[i].key, json_string(req->meta.entries[i].value));
        json_t *doc = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:[f,f,f]}",
                                "time", ts, "reason", req->reason, "meta", meta,
                                "resident_bytes", (json_int_t)proc.resident_bytes,
                                "virtual_bytes", (json_int_t)proc.virtual_bytes,
                                "heap_bytes", (json_int_t)heap.bytes_in_use,
                                "heap_allocations", (json_int_t)heap.allocs_in_use,
                                "threads", (json_int_t)proc.threads,
                                "open_fds", (json_int_t)proc.open_fds,
                                "max_fds", (json_int_t)proc.max_fds,
                                "cpu_seconds", proc.cpu_seconds,
                                "load_average", load[0], load[1], load[2]);
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(doc);
        if (!text)
                return lk_err_set(err, -ENOMEM, "cannot encode vitals");
        size_t len = strlen(text);
        int r = lk_file_write_atomic(path, text, len, 0600, err);
        free(text); /* jansson's allocation */
        if (r == 0)
                *size = len;
        return r;
}

typedef struct outputs {
        lk_pprof *cpu, *heap, *threads;
} outputs;

/* Writes one profile; a failure is remembered and the rest still written. */
static void write_profile(lk_nurse *n, lk_pprof *profile, const char *kind, int64_t stamp, lk_usec began,
                          lk_usec duration, uint64_t *total, lk_err *failure) {
        if (!profile)
                return;
        char *path = lk_asprintf("%s/%lld.%s.pprof", n->root, (long long)stamp, kind);
        uint64_t size = 0;
        lk_err err = LK_ERR_INIT;
        if (lk__pprof_write(profile, path, (int64_t)began * 1000, (int64_t)duration * 1000, &size, &err) < 0) {
                lk_log_error(n->log, "Nurse could not write a profile", LK_STR("kind", kind), LK_ERROR(&err));
                lk_err_join(failure, &err);
        }
        *total += size;
        lk_free(path);
}

static unsigned cpu_rate(const lk_nurse *n) {
        int64_t rate = n->cfg->auto_pprof.cpu_profile_rate;
        /* Go's default of 1 sample/s is meaningless for a sampling
         * profiler; 0 and 1 both mean the customary 100 Hz. */
        return rate <= 1 ? 100 : rate > 1000 ? 1000 : (unsigned)rate;
}

/* Collects the profiles over GatherDuration; false if cancelled. */
static bool collect(lk_nurse *n, lk_ctx *ctx, outputs *out, lk_err *failure) {
        lk_err err = LK_ERR_INIT;
        if (lk__thread_stacks(THREAD_SNAPSHOT_TIMEOUT, &out->threads, &err) < 0)
                lk_err_join(failure, &err);
        bool heap_on = n->cfg->auto_pprof.mem_profile_rate > 0;
        lk_heap_snapshot *before = heap_on ? lk__heap_snapshot() : NULL;
        unsigned hz = cpu_rate(n);
        lk_usec seconds = n->cfg->auto_pprof.gather_duration / LK_USEC_PER_SEC + 1;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        size_t capacity = (size_t)hz * (size_t)seconds * (size_t)(cpus > 0 ? cpus : 1) + 64;
        bool cpu_on = lk__cpu_profile_start(hz, capacity, &err) == 0;
        if (!cpu_on)
                lk_err_join(failure, &err);
        bool completed = lk_ctx_sleep(ctx, n->cfg->auto_pprof.gather_duration) == 0;
        uint64_t dropped = 0;
        lk_pprof *cpu = cpu_on ? lk__cpu_profile_stop(&dropped) : NULL;
        lk_heap_snapshot *after = heap_on ? lk__heap_snapshot() : NULL;
        if (completed) {
                out->cpu = cpu;
                out->heap = heap_on ? lk__heap_profile_delta(before, after) : NULL;
                if (dropped)
                        lk_log_warn(n->log, "CPU profile buffer was full", LK_UINT("dropped_samples", dropped));
        } else {
                lk__pprof_free(cpu);
        }
        lk__heap_snapshot_free(before);
        lk__heap_snapshot_free(after);
        return completed;
}

static void record_outcome(lk_nurse *n, const lk_err *failure, uint64_t bytes) {
        pthread_mutex_lock(&n->lock);
        lk_freep(&n->health_error);
        if (lk_err_is_set(failure)) {
                n->health_error = lk_strdup(failure->msg);
                n->stats.failures++;
        } else {
                n->stats.gatherings++;
                n->last_gathering_bytes = bytes;
        }
        pthread_mutex_unlock(&n->lock);
}

static void gather(lk_nurse *n, lk_ctx *ctx, const request *req) {
        lk_usec began = lk_now_realtime();
        int64_t stamp = (int64_t)began;
        lk_log_info(n->log, "Nurse is gathering vitals", LK_STR("reason", req->reason), LK_INT("gathering", stamp));
        lk_err failure = LK_ERR_INIT;
        pthread_mutex_lock(&n->lock);
        uint64_t estimate = n->last_gathering_bytes ? n->last_gathering_bytes : FIRST_GATHERING_ESTIMATE;
        pthread_mutex_unlock(&n->lock);
        if (!make_room(n, estimate, -1))
                lk_log_warn(n->log, "Nurse: MaxProfileSize leaves no room even after removing every old gathering",
                            LK_UINT("max_profile_size", n->cfg->auto_pprof.max_profile_size));
        lk_err err = LK_ERR_INIT;
        append_log_entry(n, began, req, &err);
        lk_err_join(&failure, &err);

        outputs out = {0};
        if (!collect(n, ctx, &out, &failure)) {
                lk__pprof_free(out.threads);
                lk_log_info(n->log, "Nurse gathering cancelled", LK_INT("gathering", stamp));
                return;
        }
        lk_usec duration = n->cfg->auto_pprof.gather_duration;
        uint64_t total = 0;
        write_profile(n, out.cpu, "cpu", stamp, began, duration, &total, &failure);
        write_profile(n, out.heap, "heap", stamp, began, duration, &total, &failure);
        write_profile(n, out.threads, "threads", stamp, began, 0, &total, &failure);
        lk__pprof_free(out.cpu);
        lk__pprof_free(out.heap);
        lk__pprof_free(out.threads);
        char *path = lk_asprintf("%s/%lld.vitals.json", n->root, (long long)stamp);
        uint64_t size = 0;
        lk_err_clear(&err);
        if (write_vitals(n, path, began, req, &size, &err) < 0)
                lk_err_join(&failure, &err);
        total += size;
        lk_free(path);

        /* The estimate may have been low: the cap holds after writing too,
         * and a gathering that cannot fit at all is not kept. */
        if (!make_room(n, 0, stamp)) {
                delete_gathering(n->root, stamp);
                lk_err_clear(&err);
                lk_err_set(&err, -EFBIG, "a gathering of %llu bytes does not fit MaxProfileSize",
                           (unsigned long long)total);
                lk_err_join(&failure, &err);
        }
        record_outcome(n, &failure, total);
        if (lk_err_is_set(&failure))
                lk_log_error(n->log, "Nurse gathering failed", LK_INT("gathering", stamp), LK_ERROR(&failure));
        else
                lk_log_info(n->log, "Nurse gathered vitals", LK_INT("gathering", stamp), LK_UINT("bytes", total));
}

static void *respond_loop(void *arg) {
        lk_nurse *n = arg;
        pthread_setname_np(pthread_self(), "lk-nurse-gather");
        pthread_mutex_lock(&n->lock);
        for (;;) {
                while (!n->stop && !n->pending)
                        pthread_cond_wait(&n->changed, &n->lock);
                if (n->stop)
                        break;
                request req = n->next;
                n->next = (request){0};
                n->pending = false;
                lk_ctx ctx;
                lk_ctx_init(&ctx, LK_USEC_INFINITY);
                n->gathering = &ctx;
                pthread_mutex_unlock(&n->lock);
                gather(n, &ctx, &req);
                lk_free(req.reason);
                lk_meta_done(&req.meta);
                pthread_mutex_lock(&n->lock);
                n->gathering = NULL;
                lk_ctx_done(&ctx);
        }
        pthread_mutex_unlock(&n->lock);
        return NULL;
}

/* ---- lifecycle ---- */

static int start_locked(void *arg, lk_err *err) {
        lk_nurse *n = arg;
        bool expected = false;
        if (!atomic_compare_exchange_strong(&nurse_running, &expected, true))
                return lk_err_set(err, -EBUSY, "%s: another Nurse is already running in this process", LK_NURSE_NAME);
        int r = lk_dir_ensure_private(n->root, err);
        if (r < 0) {
                atomic_store(&nurse_running, false);
                return lk_err_prefix(err, "%s: ProfileRoot", LK_NURSE_NAME);
        }
        if (n->cfg->auto_pprof.mem_profile_rate > 0)
                lk__heap_profile_set_rate((uint64_t)n->cfg->auto_pprof.mem_profile_rate);
        pthread_mutex_lock(&n->lock);
        int rp = pthread_create(&n->poller, NULL, poll_loop, n);
        int rr = rp == 0 ? pthread_create(&n->responder, NULL, respond_loop, n) : rp;
        if (rr != 0 && rp == 0) {
                n->stop = true;
                pthread_cond_broadcast(&n->changed);
        }
        n->threads_running = rr == 0;
        pthread_mutex_unlock(&n->lock);
        if (rr != 0) {
                if (rp == 0)
                        pthread_join(n->poller, NULL);
                lk__heap_profile_set_rate(0);
                atomic_store(&nurse_running, false);
                return lk_err_set(err, -rr, "%s: cannot start its threads: %s", LK_NURSE_NAME, strerror(rr));
        }
        char *threshold = format_size(n->cfg->auto_pprof.mem_threshold);
        lk_log_info(n->log, "Nurse service (automatic profiling) is enabled", LK_STR("profile_root", n->root),
                    LK_STR("mem_threshold", threshold), LK_INT("thread_threshold", n->cfg->auto_pprof.goroutine_threshold),
                    LK_DURATION("poll_interval", n->cfg->auto_pprof.poll_interval));
        lk_free(threshold);
        return 0;
}

static int nurse_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        lk_nurse *n = (lk_nurse *)service;
        return lk_once_start(&n->once, LK_NURSE_NAME, start_locked, n, err);
}

static int stop_locked(void *arg, lk_err *err) {
        lk_nurse *n = arg;
        pthread_mutex_lock(&n->lock);
        n->stop = true;
        if (n->gathering)
                lk_ctx_cancel(n->gathering);
        pthread_cond_broadcast(&n->changed);
        bool running = n->threads_running;
        n->threads_running = false;
        pthread_mutex_unlock(&n->lock);
        if (running) {
                pthread_join(n->poller, NULL);
                pthread_join(n->responder, NULL);
        }
        lk__heap_profile_set_rate(0);
        atomic_store(&nurse_running, false);
        return 0;
}

static int nurse_close(lk_service *service, lk_err *err) {
        lk_nurse *n = (lk_nurse *)service;
        return lk_once_stop(&n->once, LK_NURSE_NAME, stop_locked, n, err);
}

static int nurse_healthy(lk_service *service, lk_err *err) {
        lk_nurse *n = (lk_nurse *)service;
        int r = lk_once_healthy(&n->once, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&n->lock);
        r = n->health_error ? lk_err_set(err, -EIO, "could not write profiles: %s", n->health_error) : 0;
        pthread_mutex_unlock(&n->lock);
        return r;
}

static const lk_service_vtable nurse_vtable = {
        .start = nurse_start,
        .close = nurse_close,
        .healthy = nurse_healthy,
};

lk_nurse *lk_nurse_new(const lk_nurse_options *options) {
        lk_nurse *n = lk_calloc(1, sizeof *n);
        lk_once_init(&n->once);
        n->service = (lk_service){.vtable = &nurse_vtable, .name = LK_NURSE_NAME, .once = &n->once};
        n->cfg = options->config;
        n->log = options->log;
        const char *root = n->cfg->auto_pprof.profile_root;
        n->root = lk_strdup(root && *root ? root : n->cfg->root_dir);
        pthread_mutex_init(&n->lock, NULL);
        lk_cond_init_monotonic(&n->changed);
        lk_nurse_add_check(n, "mem", check_memory, n);
        lk_nurse_add_check(n, "threads", check_threads, n);
        return n;
}

lk_nurse *lk_nurse_free(lk_nurse *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->check_count; i++)
                lk_free(n->checks[i].reason);
        lk_free(n->next.reason);
        lk_meta_done(&n->next.meta);
        lk_free(n->health_error);
        lk_free(n->root);
        pthread_cond_destroy(&n->changed);
        pthread_mutex_destroy(&n->lock);
        lk_once_done(&n->once);
        lk_free(n);
        return NULL;
}

lk_service *lk_nurse_service(lk_nurse *n) {
        return &n->service;
}

void lk_nurse_stats_get(lk_nurse *n, lk_nurse_stats *ret_stats) {
        pthread_mutex_lock(&n->lock);
        *ret_stats = n->stats;
        pthread_mutex_unlock(&n->lock);
}
