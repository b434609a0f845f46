/* pprof profiles: a sample table filled while profiling, and an encoder
 * that symbolizes, builds profile.proto and compresses (see pprof.h).
 *
 * Adding a sample only hashes and copies: symbolization is deferred to
 * encode time because libdw allocates, takes locks and reads files, none
 * of which the sampling path may do, and because each address needs
 * resolving once however many samples name it. */
#include "pprof.h"

#define ZLIB_CONST

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/file.h"
#include "linkd/hex.h"

/* ---- hashing and an open-addressing index ---------------------------- */

/* MurmurHash3's finalizer: pcs share their high bits, so they need mixing
 * before their low bits can pick a slot. */
static uint64_t mix(uint64_t h) {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 33;
        return h;
}

static uint64_t hash_add(uint64_t h, uint64_t v) {
        return mix(h ^ (v + 0x9e3779b97f4a7c15ULL));
}

static uint64_t hash_str(uint64_t h, const char *s) {
        if (!s)
                return hash_add(h, 0);
        uint64_t f = 0xcbf29ce484222325ULL; /* FNV-1a */
        for (; *s; s++)
                f = (f ^ (unsigned char)*s) * 0x100000001b3ULL;
        return hash_add(h, f);
}

static bool str_eq(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/* The table maps keys to indexes into an array its owner keeps; it stores
 * the hash so that growing never needs the keys. */
typedef struct slot {
        uint64_t hash;
        size_t index; /* entry index + 1; 0 marks an empty slot */
} slot;

typedef struct table {
        slot *slots;
        size_t cap; /* a power of two, or 0 */
        size_t count;
} table;

typedef bool match_fn(const void *entries, size_t index, const void *key);

static size_t table_find(const table *t, uint64_t hash, match_fn *match, const void *entries, const void *key) {
        if (t->cap == 0)
                return SIZE_MAX;
        for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
                const slot *s = &t->slots[i];
                if (s->index == 0)
                        return SIZE_MAX;
                if (s->hash == hash && match(entries, s->index - 1, key))
                        return s->index - 1;
        }
}

static void table_place(slot *slots, size_t cap, uint64_t hash, size_t index) {
        size_t i = hash & (cap - 1);
        while (slots[i].index != 0)
                i = (i + 1) & (cap - 1);
        slots[i] = (slot){hash, index + 1};
}

static void table_insert(table *t, uint64_t hash, size_t index) {
        if ((t->count + 1) * 4 > t->cap * 3) {
                size_t cap = t->cap ? t->cap * 2 : 64;
                slot *slots = lk_calloc(cap, sizeof *slots);
                for (size_t i = 0; i < t->cap; i++)
                        if (t->slots[i].index != 0)
                                table_place(slots, cap, t->slots[i].hash, t->slots[i].index - 1);
                lk_free(t->slots);
                t->slots = slots;
                t->cap = cap;
        }
        table_place(t->slots, t->cap, hash, index);
        t->count++;
}

static void table_done(table *t) {
        lk_freep(&t->slots);
        t->cap = t->count = 0;
}

/* Makes room for one more element in a growable array. */
static void *grow(void *array, size_t count, size_t *cap, size_t size) {
        if (count < *cap)
                return array;
        *cap = *cap ? *cap * 2 : 16;
        /* an overflowing size becomes one lk_realloc aborts on, like any
         * other exhausted heap */
        return lk_realloc(array, *cap <= SIZE_MAX / size ? *cap * size : SIZE_MAX);
}

/* ---- the profile ------------------------------------------------------ */

typedef struct value_type {
        char *type, *unit;
} value_type;

typedef struct sample {
        uint64_t hash;
        uintptr_t *pcs;
        size_t depth;
        int64_t *values;
        char *label_key, *label_value;
        char *num_key; /* NULL when the sample has no numeric label */
        int64_t num;
} sample;

/* What lk__pprof_add looks a sample up by, before anything is copied. */
typedef struct sample_key {
        const uintptr_t *pcs;
        size_t depth;
        const char *label_key, *label_value, *num_key;
        int64_t num;
} sample_key;

struct lk_pprof {
        value_type *types;
        size_t type_count;
        value_type period_type;
        int64_t period;
        sample *samples;
        size_t sample_count, sample_cap;
        table sample_index;
        char **comments;
        size_t comment_count, comment_cap;
};

static value_type copy_type(lk_pprof_value_type t) {
        return (value_type){lk_strdup(t.type ? t.type : ""), lk_strdup(t.unit ? t.unit : "")};
}

lk_pprof *lk__pprof_new(const lk_pprof_value_type *sample_types, size_t type_count,
                        lk_pprof_value_type period_type, int64_t period) {
        lk_pprof *p = lk_calloc(1, sizeof *p);
        p->types = lk_calloc(type_count ? type_count : 1, sizeof *p->types);
        for (size_t i = 0; i < type_count; i++)
                p->types[i] = copy_type(sample_types[i]);
        p->type_count = type_count;
        p->period_type = copy_type(period_type);
        p->period = period;
        return p;
}

static void free_sample(sample *s) {
        lk_free(s->pcs);
        lk_free(s->values);
        lk_free(s->label_key);
        lk_free(s->label_value);
        lk_free(s->num_key);
}

lk_pprof *lk__pprof_free(lk_pprof *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->type_count; i++) {
                lk_free(p->types[i].type);
                lk_free(p->types[i].unit);
        }
        lk_free(p->types);
        lk_free(p->period_type.type);
        lk_free(p->period_type.unit);
        for (size_t i = 0; i < p->sample_count; i++)
                free_sample(&p->samples[i]);
        lk_free(p->samples);
        table_done(&p->sample_index);
        for (size_t i = 0; i < p->comment_count; i++)
                lk_free(p->comments[i]);
        lk_free(p->comments);
        lk_free(p);
        return NULL;
}

static uint64_t hash_sample_key(const sample_key *k) {
        uint64_t h = hash_add(0, k->depth);
        for (size_t i = 0; i < k->depth; i++)
                h = hash_add(h, k->pcs[i]);
        h = hash_str(h, k->label_key);
        h = hash_str(h, k->label_value);
        h = hash_str(h, k->num_key);
        return hash_add(h, (uint64_t)k->num);
}

static bool sample_matches(const void *entries, size_t index, const void *key) {
        const sample *s = &((const sample *)entries)[index];
        const sample_key *k = key;
        return s->depth == k->depth && s->num == k->num && str_eq(s->label_key, k->label_key) &&
               str_eq(s->label_value, k->label_value) && str_eq(s->num_key, k->num_key) &&
               (k->depth == 0 || memcmp(s->pcs, k->pcs, k->depth * sizeof *k->pcs) == 0);
}

static char *dup_or_null(const char *s) {
        return s ? lk_strdup(s) : NULL;
}

static sample *insert_sample(lk_pprof *p, const sample_key *k, uint64_t hash) {
        p->samples = grow(p->samples, p->sample_count, &p->sample_cap, sizeof *p->samples);
        sample *s = &p->samples[p->sample_count];
        *s = (sample){
                .hash = hash,
                .pcs = lk_malloc(k->depth ? k->depth * sizeof *k->pcs : 1),
                .depth = k->depth,
                .values = lk_calloc(p->type_count ? p->type_count : 1, sizeof *s->values),
                .label_key = dup_or_null(k->label_key),
                .label_value = dup_or_null(k->label_value),
                .num_key = dup_or_null(k->num_key),
                .num = k->num,
        };
        if (k->depth)
                memcpy(s->pcs, k->pcs, k->depth * sizeof *k->pcs);
        table_insert(&p->sample_index, hash, p->sample_count);
        p->sample_count++;
        return s;
}

void lk__pprof_add(lk_pprof *p, const uintptr_t *pcs, size_t depth, const int64_t *values,
                   const char *label_key, const char *label_value, const char *num_label_key, int64_t num_label) {
        bool has_label = label_key && label_value;
        sample_key k = {
                .pcs = pcs,
                .depth = pcs ? depth : 0,
                .label_key = has_label ? label_key : NULL,
                .label_value = has_label ? label_value : NULL,
                .num_key = num_label_key,
                .num = num_label_key ? num_label : 0, /* so that ignored numbers never split samples */
        };
        uint64_t hash = hash_sample_key(&k);
        size_t i = table_find(&p->sample_index, hash, sample_matches, p->samples, &k);
        sample *s = i == SIZE_MAX ? insert_sample(p, &k, hash) : &p->samples[i];
        /* Wrapping, not overflowing: a counter that wraps is a wrong number,
         * signed overflow would be undefined behaviour. */
        for (size_t j = 0; values && j < p->type_count; j++)
                s->values[j] = (int64_t)((uint64_t)s->values[j] + (uint64_t)values[j]);
}

void lk__pprof_comment(lk_pprof *p, const char *comment) {
        p->comments = grow(p->comments, p->comment_count, &p->comment_cap, sizeof *p->comments);
        p->comments[p->comment_count++] = lk_strdup(comment ? comment : "");
}

/* ---- protobuf wire format --------------------------------------------- */

enum { WIRE_VARINT = 0, WIRE_BYTES = 2 };

static void put_varint(lk_buf *b, uint64_t v) {
        char bytes[10];
        size_t n = 0;
        while (v >= 0x80) {
                bytes[n++] = (char)((v & 0x7f) | 0x80);
                v >>= 7;
        }
        bytes[n++] = (char)v;
        lk_buf_append(b, bytes, n);
}

static void put_tag(lk_buf *b, unsigned field, unsigned wire) {
        put_varint(b, (uint64_t)field << 3 | wire);
}

/* Zero is every field's default, so proto3 leaves it out. */
static void put_uint(lk_buf *b, unsigned field, uint64_t v) {
        if (v == 0)
                return;
        put_tag(b, field, WIRE_VARINT);
        put_varint(b, v);
}

/* Two's complement in 64 bits: negative numbers take ten bytes, as int64
 * (not sint64) fields require. */
static void put_int(lk_buf *b, unsigned field, int64_t v) {
        put_uint(b, field, (uint64_t)v);
}

static void put_bytes(lk_buf *b, unsigned field, const void *data, size_t len) {
        put_tag(b, field, WIRE_BYTES);
        put_varint(b, len);
        lk_buf_append(b, data, len);
}

/* Appends the message built in msg as field, and empties msg for reuse. */
static void put_msg(lk_buf *b, unsigned field, lk_buf *msg) {
        put_bytes(b, field, msg->data, msg->len);
        lk_buf_reset(msg);
}

/* ---- the encoder's tables --------------------------------------------- */

typedef struct strtab {
        char **strs;
        size_t count, cap;
        table index;
} strtab;

typedef struct function {
        int64_t name, system_name, file, start_line; /* id = index + 1 */
} function;

typedef struct line {
        uint64_t function_id;
        int64_t line;
} line;

typedef struct location {
        uintptr_t pc;
        bool leaf; /* pcs[0] of a sample, the others are return addresses */
        uint64_t mapping_id;
        line *lines; /* innermost inlined function first */
        size_t line_count, line_cap;
} location;

typedef struct mapping {
        uint64_t start, limit, offset;
        int64_t file, build_id;
        bool symbolized, inlines;
} mapping;

typedef struct encoder {
        const lk_pprof *p;
        Dwfl *dwfl;
        char *dwfl_error; /* why symbolization is unavailable, as a comment */
        strtab strings;
        size_t objects_seen;
        mapping *mappings;
        size_t mapping_count, mapping_cap;
        location *locations;
        size_t location_count, location_cap;
        table location_index;
        function *functions;
        size_t function_count, function_cap;
        table function_index;
        lk_buf out, msg, sub;
} encoder;

static bool string_matches(const void *entries, size_t index, const void *key) {
        return strcmp(((char *const *)entries)[index], key) == 0;
}

static int64_t intern(encoder *e, const char *s) {
        strtab *t = &e->strings;
        if (!s)
                s = "";
        uint64_t hash = hash_str(0, s);
        size_t i = table_find(&t->index, hash, string_matches, t->strs, s);
        if (i != SIZE_MAX)
                return (int64_t)i;
        t->strs = grow(t->strs, t->count, &t->cap, sizeof *t->strs);
        t->strs[t->count] = lk_strdup(s);
        table_insert(&t->index, hash, t->count);
        return (int64_t)t->count++;
}

typedef struct function_key {
        int64_t name, file;
} function_key;

static bool function_matches(const void *entries, size_t index, const void *key) {
        const function *f = &((const function *)entries)[index];
        const function_key *k = key;
        return f->name == k->name && f->file == k->file;
}

/* Functions are one per (name, file): the id of the existing one, or of a
 * new one with system_name and start_line. */
static uint64_t function_id(encoder *e, const char *name, const char *system_name, const char *file,
                            int start_line) {
        function_key k = {intern(e, name), intern(e, file)};
        uint64_t hash = hash_add(hash_add(0, (uint64_t)k.name), (uint64_t)k.file);
        size_t i = table_find(&e->function_index, hash, function_matches, e->functions, &k);
        if (i != SIZE_MAX)
                return i + 1;
        e->functions = grow(e->functions, e->function_count, &e->function_cap, sizeof *e->functions);
        e->functions[e->function_count] = (function){
                k.name, intern(e, system_name ? system_name : name), k.file, start_line > 0 ? start_line : 0};
        table_insert(&e->function_index, hash, e->function_count);
        return ++e->function_count;
}

static void add_line(encoder *e, location *loc, uint64_t func, int lineno) {
        loc->lines = grow(loc->lines, loc->line_count, &loc->line_cap, sizeof *loc->lines);
        loc->lines[loc->line_count++] = (line){func, lineno > 0 ? lineno : 0};
}

/* ---- mappings --------------------------------------------------------- */

static char *hex(const unsigned char *data, size_t len) {
        char *s = lk_malloc(len * 2 + 1);
        lk_hex_encode(s, data, len);
        return s;
}

static size_t align_up(size_t n, size_t align) {
        return (n + align - 1) & ~(align - 1);
}

/* The GNU build id from one loaded PT_NOTE segment, or NULL. */
static char *note_build_id(const char *notes, size_t size, size_t align) {
        while (size >= sizeof(ElfW(Nhdr))) {
                ElfW(Nhdr) nh;
                memcpy(&nh, notes, sizeof nh);
                size_t desc = sizeof nh + align_up(nh.n_namesz, align);
                size_t next = desc + align_up(nh.n_descsz, align);
                if (desc > size || nh.n_descsz > size - desc)
                        return NULL;
                if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(notes + sizeof nh, "GNU", 4) == 0)
                        return hex((const unsigned char *)notes + desc, nh.n_descsz);
                if (next >= size)
                        return NULL;
                notes += next;
                size -= next;
        }
        return NULL;
}

/* Read from memory rather than the file: the file may have been replaced
 * since it was loaded, and the loaded notes are what ran. */
static char *object_build_id(const struct dl_phdr_info *info) {
        for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_NOTE)
                        continue;
                const char *notes = (const char *)(info->dlpi_addr + ph->p_vaddr);
                char *id = note_build_id(notes, ph->p_memsz, ph->p_align == 8 ? 8 : 4);
                if (id)
                        return id;
        }
        return NULL;
}

/* The loader names the main program "", its path is the one of /proc/self/exe. */
static char *object_path(const struct dl_phdr_info *info, bool first) {
        if (!first || (info->dlpi_name && *info->dlpi_name))
                return lk_strdup(info->dlpi_name ? info->dlpi_name : "");
        char path[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        path[n > 0 ? n : 0] = '\0';
        return lk_strdup(path);
}

static int add_object_mappings(struct dl_phdr_info *info, size_t size, void *arg) {
        encoder *e = arg;
        char *file = object_path(info, e->objects_seen++ == 0);
        char *build_id = object_build_id(info);
        for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
                        continue;
                e->mappings = grow(e->mappings, e->mapping_count, &e->mapping_cap, sizeof *e->mappings);
                uint64_t start = info->dlpi_addr + ph->p_vaddr;
                e->mappings[e->mapping_count++] = (mapping){
                        .start = start,
                        .limit = start + ph->p_memsz,
                        .offset = ph->p_offset,
                        .file = intern(e, file),
                        .build_id = intern(e, build_id),
                };
        }
        lk_free(file);
        lk_free(build_id);
        return 0;
}

static uint64_t mapping_id(const encoder *e, uintptr_t pc) {
        for (size_t i = 0; i < e->mapping_count; i++)
                if (pc >= e->mappings[i].start && pc < e->mappings[i].limit)
                        return i + 1;
        return 0;
}

/* ---- symbolization ---------------------------------------------------- */

static Dwfl *open_dwfl(char **ret_error) {
        static const Dwfl_Callbacks callbacks = {
                .find_elf = dwfl_linux_proc_find_elf,
                .find_debuginfo = dwfl_standard_find_debuginfo,
        };
        Dwfl *dwfl = dwfl_begin(&callbacks);
        int r = dwfl ? dwfl_linux_proc_report(dwfl, getpid()) : -1;
        if (r == 0 && dwfl_report_end(dwfl, NULL, NULL) == 0)
                return dwfl;
        /* a profile without names still has addresses and mappings, which
         * pprof can symbolize against the binaries; the comment says why */
        *ret_error = lk_asprintf("linkd: addresses not symbolized: %s", r > 0 ? strerror(r) : dwfl_errmsg(-1));
        dwfl_end(dwfl);
        return NULL;
}

static const char *die_name(Dwarf_Die *die) {
        Dwarf_Attribute attr;
        /* integrate: inlined copies and out-of-line clones name their
         * function through DW_AT_abstract_origin or DW_AT_specification */
        return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
}

static int die_decl_line(Dwarf_Die *die) {
        int lineno = 0;
        return dwarf_decl_line(die, &lineno) == 0 ? lineno : 0;
}

/* Where an inlined copy was called from: the caller's file and line. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *inlined, const char **file, int *lineno) {
        Dwarf_Attribute attr;
        Dwarf_Word value;
        Dwarf_Files *files;
        size_t nfiles;
        *lineno = dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &value) == 0 ? (int)value : 0;
        if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &value) == 0 &&
            dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && value < nfiles)
                *file = dwarf_filesrc(files, value, NULL, NULL);
        else
                *file = NULL;
}

typedef struct src_pos {
        const char *symbol; /* the ELF symbol containing the address */
        const char *file;   /* from the line table */
        int line;
} src_pos;

/* The first function (out-of-line or inlined) among scopes[from..n). */
static bool function_scope(Dwarf_Die *scopes, int n, int from, Dwarf_Die *ret_die) {
        for (int i = from; i < n; i++) {
                int tag = dwarf_tag(&scopes[i]);
                if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
                        *ret_die = scopes[i];
                        return true;
                }
        }
        return false;
}

/* The function an inlined copy was inlined into.  dwarf_getscopes cannot
 * tell: past an inlined instance it continues with the scopes around the
 * abstract definition, so each level is looked up from its own DIE. */
static bool caller_scope(Dwarf_Die *inlined, Dwarf_Die *ret_die) {
        Dwarf_Die *scopes = NULL;
        int n = dwarf_getscopes_die(inlined, &scopes);
        bool found = function_scope(scopes, n, 1, ret_die); /* scopes[0] is inlined itself */
        free(scopes); /* libdw's allocation */
        return found;
}

/* One line per function at addr (relative to the CU's module), the
 * innermost inlined one first; false when no function's DIE holds addr. */
static bool add_dwarf_lines(encoder *e, location *loc, Dwarf_Die *cu, Dwarf_Addr addr, src_pos pos) {
        Dwarf_Die *scopes = NULL;
        int n = dwarf_getscopes(cu, addr, &scopes);
        Dwarf_Die die;
        bool found = function_scope(scopes, n, 0, &die);
        free(scopes);
        /* the bound only guards against a malformed DIE tree */
        for (int level = 0; found && level < 64; level++) {
                bool outermost = dwarf_tag(&die) == DW_TAG_subprogram;
                const char *name = die_name(&die);
                if (!name)
                        name = outermost && pos.symbol ? pos.symbol : "??";
                const char *system_name = outermost && pos.symbol ? pos.symbol : name;
                add_line(e, loc, function_id(e, name, system_name, pos.file, die_decl_line(&die)), pos.line);
                if (outermost)
                        break;
                call_site(cu, &die, &pos.file, &pos.line);
                found = caller_scope(&die, &die);
        }
        return loc->line_count > 0;
}

/* A return address follows its call: the instruction before it is the
 * call, and names the caller's line (and function, after a call to a
 * function that does not return). */
static uintptr_t lookup_address(const location *loc) {
        return loc->leaf ? loc->pc : loc->pc - 1;
}

/* The compilation unit holding addr, and the module's bias.  libdw 0.188
 * finds it through .debug_aranges, which clang does not emit: then the
 * units are asked one by one. */
static Dwarf_Die *unit_at(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *ret_bias) {
        Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, ret_bias);
        if (cu)
                return cu;
        for (cu = dwfl_module_nextcu(mod, NULL, ret_bias); cu; cu = dwfl_module_nextcu(mod, cu, ret_bias))
                if (dwarf_haspc(cu, addr - *ret_bias) > 0)
                        return cu;
        return NULL;
}

/* The line table's file and line for addr, relative to the module. */
static void source_line(Dwarf_Die *cu, Dwarf_Addr addr, src_pos *pos) {
        Dwarf_Line *l = dwarf_getsrc_die(cu, addr);
        if (!l)
                return;
        pos->file = dwarf_linesrc(l, NULL, NULL);
        if (dwarf_lineno(l, &pos->line) != 0)
                pos->line = 0;
}

static void symbolize(encoder *e, location *loc) {
        Dwarf_Addr addr = lookup_address(loc);
        Dwfl_Module *mod = e->dwfl ? dwfl_addrmodule(e->dwfl, addr) : NULL;
        if (!mod)
                return;
        GElf_Off offset;
        GElf_Sym sym;
        src_pos pos = {dwfl_module_addrinfo(mod, addr, &offset, &sym, NULL, NULL, NULL), NULL, 0};
        Dwarf_Addr bias = 0;
        Dwarf_Die *cu = unit_at(mod, addr, &bias);
        if (cu)
                source_line(cu, addr - bias, &pos);
        bool dwarf = cu && add_dwarf_lines(e, loc, cu, addr - bias, pos);
        if (!dwarf && pos.symbol)
                add_line(e, loc, function_id(e, pos.symbol, pos.symbol, pos.file, 0), pos.line);
        if (loc->line_count > 0 && loc->mapping_id != 0) {
                e->mappings[loc->mapping_id - 1].symbolized = true;
                e->mappings[loc->mapping_id - 1].inlines |= dwarf;
        }
}

typedef struct location_key {
        uintptr_t pc;
        bool leaf;
} location_key;

static bool location_matches(const void *entries, size_t index, const void *key) {
        const location *l = &((const location *)entries)[index];
        const location_key *k = key;
        return l->pc == k->pc && l->leaf == k->leaf;
}

static uint64_t hash_location_key(location_key k) {
        return hash_add(hash_add(0, k.pc), k.leaf);
}

/* The location's id, 0 if there is none (SIZE_MAX + 1 wraps to 0). */
static uint64_t find_location(const encoder *e, location_key k) {
        return table_find(&e->location_index, hash_location_key(k), location_matches, e->locations, &k) + 1;
}

/* Locations are one per address, and per way of looking it up: a leaf at
 * an address right after a call names a different line than a return
 * address there. */
static void add_location(encoder *e, location_key k) {
        if (find_location(e, k) != 0)
                return;
        e->locations = grow(e->locations, e->location_count, &e->location_cap, sizeof *e->locations);
        location *loc = &e->locations[e->location_count];
        *loc = (location){.pc = k.pc, .leaf = k.leaf};
        loc->mapping_id = mapping_id(e, lookup_address(loc));
        table_insert(&e->location_index, hash_location_key(k), e->location_count++);
        symbolize(e, loc);
}

static void add_locations(encoder *e) {
        for (size_t i = 0; i < e->p->sample_count; i++) {
                const sample *s = &e->p->samples[i];
                for (size_t j = 0; j < s->depth; j++)
                        add_location(e, (location_key){s->pcs[j], j == 0});
        }
}

/* ---- emitting the messages -------------------------------------------- */

static void emit_value_type(encoder *e, lk_buf *b, unsigned field, const value_type *t) {
        put_int(&e->msg, 1, intern(e, t->type));
        put_int(&e->msg, 2, intern(e, t->unit));
        put_msg(b, field, &e->msg);
}

static void emit_label(encoder *e, const char *key, const char *str, const int64_t *num) {
        put_int(&e->sub, 1, intern(e, key));
        if (str)
                put_int(&e->sub, 2, intern(e, str));
        else
                put_int(&e->sub, 3, *num);
        put_msg(&e->msg, 3, &e->sub);
}

static void emit_sample(encoder *e, const sample *s) {
        for (size_t i = 0; i < s->depth; i++)
                put_varint(&e->sub, find_location(e, (location_key){s->pcs[i], i == 0}));
        if (e->sub.len)
                put_msg(&e->msg, 1, &e->sub);
        /* packed, zeros included: pprof pairs values with types by position */
        for (size_t i = 0; i < e->p->type_count; i++)
                put_varint(&e->sub, (uint64_t)s->values[i]);
        if (e->sub.len)
                put_msg(&e->msg, 2, &e->sub);
        if (s->label_key)
                emit_label(e, s->label_key, s->label_value, NULL);
        if (s->num_key)
                emit_label(e, s->num_key, NULL, &s->num);
        put_msg(&e->out, 2, &e->msg);
}

static void emit_mapping(encoder *e, size_t index) {
        const mapping *m = &e->mappings[index];
        put_uint(&e->msg, 1, index + 1);
        put_uint(&e->msg, 2, m->start);
        put_uint(&e->msg, 3, m->limit);
        put_uint(&e->msg, 4, m->offset);
        put_int(&e->msg, 5, m->file);
        put_int(&e->msg, 6, m->build_id);
        /* what pprof finds set, it does not try to symbolize again */
        put_uint(&e->msg, 7, m->symbolized);
        put_uint(&e->msg, 8, m->symbolized);
        put_uint(&e->msg, 9, m->symbolized);
        put_uint(&e->msg, 10, m->inlines);
        put_msg(&e->out, 3, &e->msg);
}

static void emit_location(encoder *e, size_t index) {
        const location *l = &e->locations[index];
        put_uint(&e->msg, 1, index + 1);
        put_uint(&e->msg, 2, l->mapping_id);
        put_uint(&e->msg, 3, l->pc);
        for (size_t i = 0; i < l->line_count; i++) {
                put_uint(&e->sub, 1, l->lines[i].function_id);
                put_int(&e->sub, 2, l->lines[i].line);
                put_msg(&e->msg, 4, &e->sub);
        }
        put_msg(&e->out, 4, &e->msg);
}

static void emit_function(encoder *e, size_t index) {
        const function *f = &e->functions[index];
        put_uint(&e->msg, 1, index + 1);
        put_int(&e->msg, 2, f->name);
        put_int(&e->msg, 3, f->system_name);
        put_int(&e->msg, 4, f->file);
        put_int(&e->msg, 5, f->start_line);
        put_msg(&e->out, 5, &e->msg);
}

/* The fields after string_table (9 and up), built first so that their
 * strings are interned before the table is written. */
static void emit_trailer(encoder *e, lk_buf *b, int64_t time_nanos, int64_t duration_nanos) {
        put_int(b, 9, time_nanos);
        put_int(b, 10, duration_nanos);
        emit_value_type(e, b, 11, &e->p->period_type);
        put_int(b, 12, e->p->period);
        for (size_t i = 0; i < e->p->comment_count; i++) {
                put_tag(b, 13, WIRE_VARINT);
                put_varint(b, (uint64_t)intern(e, e->p->comments[i]));
        }
        if (e->dwfl_error) {
                put_tag(b, 13, WIRE_VARINT);
                put_varint(b, (uint64_t)intern(e, e->dwfl_error));
        }
}

static void emit_profile(encoder *e, int64_t time_nanos, int64_t duration_nanos) {
        lk_buf trailer = LK_BUF_INIT;
        emit_trailer(e, &trailer, time_nanos, duration_nanos);
        for (size_t i = 0; i < e->p->type_count; i++)
                emit_value_type(e, &e->out, 1, &e->p->types[i]);
        for (size_t i = 0; i < e->p->sample_count; i++)
                emit_sample(e, &e->p->samples[i]);
        for (size_t i = 0; i < e->mapping_count; i++)
                emit_mapping(e, i);
        for (size_t i = 0; i < e->location_count; i++)
                emit_location(e, i);
        for (size_t i = 0; i < e->function_count; i++)
                emit_function(e, i);
        for (size_t i = 0; i < e->strings.count; i++)
                put_bytes(&e->out, 6, e->strings.strs[i], strlen(e->strings.strs[i]));
        lk_buf_append(&e->out, trailer.data, trailer.len);
        lk_buf_done(&trailer);
}

static void encoder_done(encoder *e) {
        if (e->dwfl)
                dwfl_end(e->dwfl);
        lk_free(e->dwfl_error);
        for (size_t i = 0; i < e->strings.count; i++)
                lk_free(e->strings.strs[i]);
        lk_free(e->strings.strs);
        table_done(&e->strings.index);
        lk_free(e->mappings);
        for (size_t i = 0; i < e->location_count; i++)
                lk_free(e->locations[i].lines);
        lk_free(e->locations);
        table_done(&e->location_index);
        lk_free(e->functions);
        table_done(&e->function_index);
        lk_buf_done(&e->out);
        lk_buf_done(&e->msg);
        lk_buf_done(&e->sub);
}

int lk__pprof_encode(lk_pprof *p, int64_t time_nanos, int64_t duration_nanos, char **ret_data,
                     size_t *ret_len, lk_err *err) {
        if (!p || !ret_data)
                return lk_err_set(err, -EINVAL, "pprof: nothing to encode (no profile or no output)");
        encoder e = {.p = p};
        intern(&e, ""); /* string_table[0] must be "" */
        dl_iterate_phdr(add_object_mappings, &e);
        e.dwfl = open_dwfl(&e.dwfl_error);
        add_locations(&e);
        emit_profile(&e, time_nanos, duration_nanos);
        *ret_data = lk_buf_steal(&e.out, ret_len);
        encoder_done(&e);
        return 0;
}

/* ---- gzip and writing ------------------------------------------------- */

/* zlib's working memory is counted like everything else linkd holds. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size) {
        return lk_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf ptr) {
        lk_free(ptr);
}

static int gzip(const char *data, size_t len, char **ret_data, size_t *ret_len, lk_err *err) {
        /* one deflate call, whose counters are uInt: far above MaxProfileSize */
        if (len > UINT_MAX / 2)
                return lk_err_set(err, -EFBIG, "profile of %zu bytes is too large to compress", len);
        z_stream zs = {.zalloc = z_alloc, .zfree = z_free};
        if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return lk_err_set(err, -ENOMEM, "cannot start gzip: %s", zs.msg ? zs.msg : "zlib error");
        uLong bound = deflateBound(&zs, (uLong)len);
        char *out = lk_malloc(bound);
        zs.next_in = (const Bytef *)data;
        zs.avail_in = (uInt)len;
        zs.next_out = (Bytef *)out;
        zs.avail_out = (uInt)bound;
        int zr = deflate(&zs, Z_FINISH);
        size_t out_len = zs.total_out;
        deflateEnd(&zs);
        if (zr != Z_STREAM_END) {
                lk_free(out);
                return lk_err_set(err, -EIO, "gzip failed: zlib error %d", zr);
        }
        *ret_data = out;
        *ret_len = out_len;
        return 0;
}

int lk__pprof_write(lk_pprof *p, const char *path, int64_t time_nanos, int64_t duration_nanos,
                    uint64_t *ret_size, lk_err *err) {
        char *raw = NULL, *gz = NULL;
        size_t raw_len = 0, gz_len = 0;
        int r = lk__pprof_encode(p, time_nanos, duration_nanos, &raw, &raw_len, err);
        if (r == 0)
                r = gzip(raw, raw_len, &gz, &gz_len, err);
        if (r == 0)
                r = lk_file_write_atomic(path, gz, gz_len, 0600, err);
        if (r < 0)
                lk_err_prefix(err, "cannot write profile %s", path);
        else if (ret_size)
                *ret_size = gz_len;
        lk_free(raw);
        lk_free(gz);
        return r;
}
