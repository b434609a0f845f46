/* lk_value: reference-counted pipeline values (see include/linkd/value.h).
 *
 * A value is shared between threads once a task has finished (every later
 * task's vars point at it), so the count is atomic and nothing else in a
 * value ever changes after it is shared.  That is also why a map builds
 * its hash index as entries are put, never lazily on a lookup: a lookup
 * that wrote would race with lookups on other threads.
 *
 * Map keys come from JSON that other parties send (bridges, HTTP
 * responses), so the index hashes with SipHash under a random per-process
 * key: a peer that cannot guess the key cannot make lookups quadratic. */
#include "linkd/value.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "linkd/alloc.h"

/* Smaller maps are searched linearly, which beats hashing there. */
#define MAP_INDEX_MIN 8

typedef struct map_entry {
        char *key; /* NUL-terminated, may hold NULs */
        size_t key_len;
        uint64_t hash;
        lk_value *value;
} map_entry;

typedef struct map_data {
        map_entry *entries; /* insertion order */
        size_t len, cap;
        size_t *index; /* open addressing: entry + 1, 0 = free; NULL below MAP_INDEX_MIN */
        size_t index_cap;
} map_data;

struct lk_value {
        atomic_size_t refs;
        lk_value_type type;
        union {
                bool b;
                int64_t i64;
                uint64_t u64;
                double f64;
                mpz_t big;
                lk_decimal dec;
                struct {
                        char *data; /* follows the struct in the same block */
                        size_t len;
                } str;
                struct {
                        lk_value **items;
                        size_t len, cap;
                } array;
                map_data map;
        } u;
};

/* ---- SipHash-1-3 ---- */

static uint64_t sip_key[2];
static pthread_once_t sip_key_once = PTHREAD_ONCE_INIT;

static void sip_key_init(void) {
        if (getrandom(sip_key, sizeof sip_key, GRND_NONBLOCK) == (ssize_t)sizeof sip_key)
                return;
        /* Only before the kernel's pool is ready, at early boot: a weak
         * key is better than blocking a lookup. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sip_key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)&ts;
        sip_key[1] = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fu ^ (uint64_t)getpid();
}

static uint64_t rotl(uint64_t x, int b) {
        return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4]) {
        v[0] += v[1];
        v[1] = rotl(v[1], 13) ^ v[0];
        v[0] = rotl(v[0], 32);
        v[2] += v[3];
        v[3] = rotl(v[3], 16) ^ v[2];
        v[0] += v[3];
        v[3] = rotl(v[3], 21) ^ v[0];
        v[2] += v[1];
        v[1] = rotl(v[1], 17) ^ v[2];
        v[2] = rotl(v[2], 32);
}

static uint64_t load_le64(const unsigned char *p, size_t n) {
        uint64_t m = 0;
        for (size_t i = 0; i < n; i++)
                m |= (uint64_t)p[i] << (8 * i);
        return m;
}

static uint64_t hash_key(const char *key, size_t len) {
        pthread_once(&sip_key_once, sip_key_init);
        const unsigned char *p = (const unsigned char *)key;
        uint64_t v[4] = {
                sip_key[0] ^ 0x736f6d6570736575u, sip_key[1] ^ 0x646f72616e646f6du,
                sip_key[0] ^ 0x6c7967656e657261u, sip_key[1] ^ 0x7465646279746573u,
        };
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
                uint64_t m = load_le64(p + i, 8);
                v[3] ^= m;
                sip_round(v);
                v[0] ^= m;
        }
        uint64_t last = load_le64(p + i, len - i) | (uint64_t)len << 56;
        v[3] ^= last;
        sip_round(v);
        v[0] ^= last;
        v[2] ^= 0xff;
        for (int r = 0; r < 3; r++)
                sip_round(v);
        return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- construction and release ---- */

static lk_value *value_new(lk_value_type type, size_t extra) {
        lk_value *v = lk_calloc(1, sizeof *v + extra);
        atomic_init(&v->refs, 1);
        v->type = type;
        return v;
}

lk_value *lk_value_null(void) {
        return value_new(LK_VALUE_NULL, 0);
}

lk_value *lk_value_bool(bool b) {
        lk_value *v = value_new(LK_VALUE_BOOL, 0);
        v->u.b = b;
        return v;
}

lk_value *lk_value_int64(int64_t i) {
        lk_value *v = value_new(LK_VALUE_INT64, 0);
        v->u.i64 = i;
        return v;
}

lk_value *lk_value_uint64(uint64_t u) {
        lk_value *v = value_new(LK_VALUE_UINT64, 0);
        v->u.u64 = u;
        return v;
}

lk_value *lk_value_bigint(const mpz_t z) {
        lk_value *v = value_new(LK_VALUE_BIGINT, 0);
        mpz_init_set(v->u.big, z);
        return v;
}

lk_value *lk_value_float64(double f) {
        lk_value *v = value_new(LK_VALUE_FLOAT64, 0);
        v->u.f64 = f;
        return v;
}

lk_value *lk_value_decimal(const lk_decimal *d) {
        lk_value *v = value_new(LK_VALUE_DECIMAL, 0);
        lk_decimal_init(&v->u.dec);
        lk_decimal_set(&v->u.dec, d);
        return v;
}

/* Strings, byte strings and errors keep their bytes in the value's own
 * block, NUL-terminated so that C callers can print them. */
static lk_value *value_with_bytes(lk_value_type type, const void *data, size_t len) {
        lk_value *v = value_new(type, len + 1);
        v->u.str.data = (char *)(v + 1);
        v->u.str.len = len;
        if (len)
                memcpy(v->u.str.data, data, len);
        v->u.str.data[len] = '\0';
        return v;
}

lk_value *lk_value_string(const char *s, size_t len) {
        return value_with_bytes(LK_VALUE_STRING, s, len == SIZE_MAX ? strlen(s) : len);
}

lk_value *lk_value_bytes(const void *data, size_t len) {
        return value_with_bytes(LK_VALUE_BYTES, data, len);
}

lk_value *lk_value_error(const char *message) {
        return value_with_bytes(LK_VALUE_ERROR, message, strlen(message));
}

lk_value *lk_value_array(void) {
        return value_new(LK_VALUE_ARRAY, 0);
}

lk_value *lk_value_map(void) {
        return value_new(LK_VALUE_MAP, 0);
}

lk_value *lk_value_ref(lk_value *v) {
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
        return v;
}

static void value_free(lk_value *v) {
        switch (v->type) {
        case LK_VALUE_BIGINT:
                mpz_clear(v->u.big);
                break;
        case LK_VALUE_DECIMAL:
                lk_decimal_clear(&v->u.dec);
                break;
        case LK_VALUE_ARRAY:
                for (size_t i = 0; i < v->u.array.len; i++)
                        lk_value_unref(v->u.array.items[i]);
                lk_free(v->u.array.items);
                break;
        case LK_VALUE_MAP:
                for (size_t i = 0; i < v->u.map.len; i++) {
                        lk_free(v->u.map.entries[i].key);
                        lk_value_unref(v->u.map.entries[i].value);
                }
                lk_free(v->u.map.entries);
                lk_free(v->u.map.index);
                break;
        default:
                break;
        }
        lk_free(v);
}

lk_value *lk_value_unref(lk_value *v) {
        if (!v)
                return NULL;
        /* Release so that our writes happen before the last owner's free;
         * acquire there so that it sees everyone's. */
        if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_release) == 1) {
                atomic_thread_fence(memory_order_acquire);
                value_free(v);
        }
        return NULL;
}

/* ---- type checks and accessors ---- */

static const char *const type_names[] = {
        [LK_VALUE_NULL] = "<nil>",
        [LK_VALUE_BOOL] = "bool",
        [LK_VALUE_INT64] = "int64",
        [LK_VALUE_UINT64] = "uint64",
        [LK_VALUE_BIGINT] = "*big.Int",
        [LK_VALUE_FLOAT64] = "float64",
        [LK_VALUE_DECIMAL] = "decimal.Decimal",
        [LK_VALUE_STRING] = "string",
        [LK_VALUE_BYTES] = "[]uint8",
        [LK_VALUE_ARRAY] = "[]interface {}",
        [LK_VALUE_MAP] = "map[string]interface {}",
        [LK_VALUE_ERROR] = "*errors.errorString",
};

/* Reading a value as the wrong type is a bug in the caller; carrying on
 * would read the wrong union member. */
static const lk_value *expect(const lk_value *v, lk_value_type type) {
        if (v && v->type == type)
                return v;
        fprintf(stderr, "lk_value: %s used as %s\n", v ? type_names[v->type] : "NULL", type_names[type]);
        abort();
}

lk_value_type lk_value_type_of(const lk_value *v) {
        return v->type;
}

const char *lk_value_type_name(const lk_value *v) {
        return v ? type_names[v->type] : type_names[LK_VALUE_NULL];
}

bool lk_value_get_bool(const lk_value *v) {
        return expect(v, LK_VALUE_BOOL)->u.b;
}

int64_t lk_value_get_int64(const lk_value *v) {
        return expect(v, LK_VALUE_INT64)->u.i64;
}

uint64_t lk_value_get_uint64(const lk_value *v) {
        return expect(v, LK_VALUE_UINT64)->u.u64;
}

const mpz_t *lk_value_get_bigint(const lk_value *v) {
        return (const mpz_t *)&expect(v, LK_VALUE_BIGINT)->u.big;
}

double lk_value_get_float64(const lk_value *v) {
        return expect(v, LK_VALUE_FLOAT64)->u.f64;
}

const lk_decimal *lk_value_get_decimal(const lk_value *v) {
        return &expect(v, LK_VALUE_DECIMAL)->u.dec;
}

static const char *get_bytes(const lk_value *v, lk_value_type type, size_t *ret_len) {
        expect(v, type);
        if (ret_len)
                *ret_len = v->u.str.len;
        return v->u.str.data;
}

const char *lk_value_get_string(const lk_value *v, size_t *ret_len) {
        return get_bytes(v, LK_VALUE_STRING, ret_len);
}

const unsigned char *lk_value_get_bytes(const lk_value *v, size_t *ret_len) {
        return (const unsigned char *)get_bytes(v, LK_VALUE_BYTES, ret_len);
}

const char *lk_value_get_error(const lk_value *v) {
        return get_bytes(v, LK_VALUE_ERROR, NULL);
}

/* ---- arrays ---- */

void lk_value_array_append(lk_value *array, lk_value *item) {
        expect(array, LK_VALUE_ARRAY);
        if (array->u.array.len == array->u.array.cap) {
                array->u.array.cap = array->u.array.cap ? array->u.array.cap * 2 : 4;
                array->u.array.items = lk_realloc(array->u.array.items,
                                                  array->u.array.cap * sizeof *array->u.array.items);
        }
        array->u.array.items[array->u.array.len++] = item;
}

size_t lk_value_array_len(const lk_value *array) {
        return expect(array, LK_VALUE_ARRAY)->u.array.len;
}

lk_value *lk_value_array_at(const lk_value *array, size_t i) {
        expect(array, LK_VALUE_ARRAY);
        return i < array->u.array.len ? array->u.array.items[i] : NULL;
}

/* ---- maps ---- */

static bool entry_is(const map_entry *e, const char *key, size_t len, uint64_t hash) {
        return e->hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0;
}

/* The entry's position, or SIZE_MAX. */
static size_t map_find(const map_data *m, const char *key, size_t len, uint64_t hash) {
        if (!m->index) {
                for (size_t i = 0; i < m->len; i++)
                        if (entry_is(&m->entries[i], key, len, hash))
                                return i;
                return SIZE_MAX;
        }
        size_t mask = m->index_cap - 1;
        for (size_t slot = hash & mask; m->index[slot]; slot = (slot + 1) & mask)
                if (entry_is(&m->entries[m->index[slot] - 1], key, len, hash))
                        return m->index[slot] - 1;
        return SIZE_MAX;
}

static void index_insert(map_data *m, size_t entry) {
        size_t mask = m->index_cap - 1;
        size_t slot = m->entries[entry].hash & mask;
        while (m->index[slot])
                slot = (slot + 1) & mask;
        m->index[slot] = entry + 1;
}

/* Keeps the index at most half full, so probe runs stay short. */
static void index_update(map_data *m) {
        if (m->len < MAP_INDEX_MIN)
                return;
        if (m->index && m->len * 2 <= m->index_cap) {
                index_insert(m, m->len - 1);
                return;
        }
        lk_free(m->index);
        m->index_cap = m->index_cap ? m->index_cap * 2 : MAP_INDEX_MIN * 4;
        m->index = lk_calloc(m->index_cap, sizeof *m->index);
        for (size_t i = 0; i < m->len; i++)
                index_insert(m, i);
}

static void map_append(map_data *m, const char *key, size_t len, uint64_t hash, lk_value *item) {
        if (m->len == m->cap) {
                m->cap = m->cap ? m->cap * 2 : 4;
                m->entries = lk_realloc(m->entries, m->cap * sizeof *m->entries);
        }
        map_entry *e = &m->entries[m->len++];
        e->key = lk_malloc(len + 1);
        if (len)
                memcpy(e->key, key, len);
        e->key[len] = '\0';
        e->key_len = len;
        e->hash = hash;
        e->value = item;
        index_update(m);
}

void lk_value_map_put(lk_value *map, const char *key, size_t key_len, lk_value *item) {
        expect(map, LK_VALUE_MAP);
        if (key_len == SIZE_MAX)
                key_len = strlen(key);
        map_data *m = &map->u.map;
        uint64_t hash = hash_key(key, key_len);
        size_t at = map_find(m, key, key_len, hash);
        if (at == SIZE_MAX) {
                map_append(m, key, key_len, hash, item);
                return;
        }
        /* Replacing keeps the key's first position, so iteration order is
         * the order in which keys first appeared. */
        lk_value_unref(m->entries[at].value);
        m->entries[at].value = item;
}

size_t lk_value_map_len(const lk_value *map) {
        return expect(map, LK_VALUE_MAP)->u.map.len;
}

lk_value *lk_value_map_get(const lk_value *map, const char *key, size_t key_len) {
        expect(map, LK_VALUE_MAP);
        if (key_len == SIZE_MAX)
                key_len = strlen(key);
        const map_data *m = &map->u.map;
        size_t at = map_find(m, key, key_len, hash_key(key, key_len));
        return at == SIZE_MAX ? NULL : m->entries[at].value;
}

lk_value *lk_value_map_at(const lk_value *map, size_t i, const char **ret_key, size_t *ret_key_len) {
        expect(map, LK_VALUE_MAP);
        if (i >= map->u.map.len)
                return NULL;
        const map_entry *e = &map->u.map.entries[i];
        if (ret_key)
                *ret_key = e->key;
        if (ret_key_len)
                *ret_key_len = e->key_len;
        return e->value;
}

/* ---- equality ---- */

static bool arrays_equal(const lk_value *a, const lk_value *b) {
        if (a->u.array.len != b->u.array.len)
                return false;
        for (size_t i = 0; i < a->u.array.len; i++)
                if (!lk_value_equal(a->u.array.items[i], b->u.array.items[i]))
                        return false;
        return true;
}

static bool maps_equal(const lk_value *a, const lk_value *b) {
        if (a->u.map.len != b->u.map.len)
                return false;
        for (size_t i = 0; i < a->u.map.len; i++) {
                const map_entry *e = &a->u.map.entries[i];
                size_t at = map_find(&b->u.map, e->key, e->key_len, e->hash);
                if (at == SIZE_MAX || !lk_value_equal(e->value, b->u.map.entries[at].value))
                        return false;
        }
        return true;
}

/* Floats compare as Go's == does (NaN unequal to itself, -0 equal to 0);
 * decimals by value, as decimal.Equal does (1.0 equals 1). */
bool lk_value_equal(const lk_value *a, const lk_value *b) {
        if (a == b)
                return true;
        if (!a || !b || a->type != b->type)
                return false;
        switch (a->type) {
        case LK_VALUE_NULL:
                return true;
        case LK_VALUE_BOOL:
                return a->u.b == b->u.b;
        case LK_VALUE_INT64:
                return a->u.i64 == b->u.i64;
        case LK_VALUE_UINT64:
                return a->u.u64 == b->u.u64;
        case LK_VALUE_BIGINT:
                return mpz_cmp(a->u.big, b->u.big) == 0;
        case LK_VALUE_FLOAT64:
                return a->u.f64 == b->u.f64;
        case LK_VALUE_DECIMAL:
                return lk_decimal_cmp(&a->u.dec, &b->u.dec) == 0;
        case LK_VALUE_STRING:
        case LK_VALUE_BYTES:
        case LK_VALUE_ERROR:
                return a->u.str.len == b->u.str.len && memcmp(a->u.str.data, b->u.str.data, a->u.str.len) == 0;
        case LK_VALUE_ARRAY:
                return arrays_equal(a, b);
        case LK_VALUE_MAP:
                return maps_equal(a, b);
        }
        return false;
}
