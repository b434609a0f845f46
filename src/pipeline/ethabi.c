/* See ethabi.h. */
#include "ethabi.h"

#include <errno.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/keccak.h"
#include "linkd/value.h"

/* ---- a description, built argument by argument ---- */

static lk__ethabi_fields *fields_free(lk__ethabi_fields *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->count; i++) {
                lk_free(f->names[i]);
                fields_free(f->inner[i]);
        }
        lk_free(f->names);
        lk_free(f->inner);
        lk_free(f);
        return NULL;
}

lk__ethabi *lk__ethabi_free(lk__ethabi *abi) {
        if (!abi)
                return NULL;
        for (size_t i = 0; i < abi->count; i++) {
                lk_free(abi->args[i].name);
                fields_free(abi->args[i].fields);
        }
        lk_free(abi->args);
        lk_free(abi->name);
        lk_abi_type_free(abi->tuple);
        lk_abi_type_free(abi->data_tuple);
        lk_free(abi);
        return NULL;
}

typedef struct builder {
        lk__ethabi *abi;
        lk_buf all;  /* every argument's canonical type, comma-separated */
        lk_buf data; /* those of the arguments not indexed */
} builder;

static void builder_init(builder *b, const char *name, size_t name_len) {
        *b = (builder){.abi = lk_calloc(1, sizeof *b->abi), .all = LK_BUF_INIT, .data = LK_BUF_INIT};
        b->abi->name = lk_strndup(name, name_len);
}

/* Takes name and fields. */
static void builder_add(builder *b, char *name, bool indexed, const lk_buf *type, lk__ethabi_fields *fields) {
        lk__ethabi *abi = b->abi;
        if (abi->count % 8 == 0)
                abi->args = lk_realloc(abi->args, (abi->count + 8) * sizeof *abi->args);
        abi->args[abi->count++] = (lk__ethabi_arg){.name = name, .indexed = indexed, .fields = fields};
        lk_buf *lists[2] = {&b->all, indexed ? NULL : &b->data};
        for (int i = 0; i < 2 && lists[i]; i++) {
                if (lists[i]->len)
                        lk_buf_putc(lists[i], ',');
                lk_buf_append(lists[i], type->data, type->len);
        }
}

/* Parses the collected types (the limits of linkd/abi.h apply to them
 * together) and hands the description over. */
static int builder_finish(builder *b, lk__ethabi **ret, lk_err *err) {
        lk__ethabi *abi = b->abi;
        int r = lk_abi_types_parse(lk_buf_str(&b->all), b->all.len, &abi->tuple, err);
        if (r == 0)
                r = lk_abi_types_parse(lk_buf_str(&b->data), b->data.len, &abi->data_tuple, err);
        lk_buf_done(&b->all);
        lk_buf_done(&b->data);
        if (r < 0) {
                lk__ethabi_free(abi);
                return r;
        }
        for (size_t i = 0; i < abi->count; i++)
                abi->args[i].type = abi->tuple->fields[i];
        *ret = abi;
        return 0;
}

static void builder_abort(builder *b) {
        lk__ethabi_free(b->abi);
        lk_buf_done(&b->all);
        lk_buf_done(&b->data);
}

void lk__ethabi_selector(const lk__ethabi *abi, uint8_t out[static 4]) {
        lk_buf sig = LK_BUF_INIT;
        lk_buf_puts(&sig, abi->name);
        lk_abi_type_format(abi->tuple, &sig); /* "(uint256,bool)" */
        uint8_t hash[LK_KECCAK256_LEN];
        lk_keccak256(sig.data, sig.len, hash);
        memcpy(out, hash, 4);
        lk_buf_done(&sig);
}

/* ---- geth's abi.NewType ---- */

static bool is_letter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static int new_type(const char *t, size_t len, const lk_value *components, lk_buf *canon,
                    lk__ethabi_fields **ret_fields, lk_err *err);

/* abi.ToCamelCase(name) is a Go identifier geth can make a struct field
 * of: the tuple's value is a struct in geth. */
static int check_field_name(const char *name, size_t index, lk_err *err) {
        bool any = false, first = true;
        for (const char *p = name; *p; p++) {
                if (*p == '_') { /* dropped; the next letter is upper-cased */
                        first = true;
                        continue;
                }
                bool ok = is_letter(*p) || (unsigned char)*p >= 0x80 || (!(first && !any) && is_digit(*p));
                if (!ok)
                        return lk_err_set(err, -EINVAL, "field %zu has invalid name", index);
                any = true;
                first = false;
        }
        if (!any)
                return lk_err_set(err, -EINVAL, "abi: purely anonymous or underscored field is not supported");
        return 0;
}

/* Go's encoding/json matches a key to a field regardless of case; the
 * fields here are lowercase letters. */
static bool key_is(const char *key, size_t key_len, const char *name) {
        size_t n = strlen(name);
        if (key_len != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_letter(key[i]) || (key[i] | 0x20) != name[i])
                        return false;
        return true;
}

/* The value Go's encoding/json leaves in the struct field name of obj:
 * that of the last key equal to name regardless of case.  A null sets a
 * slice (nulls_count) to nil and leaves other fields as they were. */
static const lk_value *json_field(const lk_value *obj, const char *name, bool nulls_count) {
        const lk_value *found = NULL;
        if (lk_value_type_of(obj) != LK_VALUE_MAP) /* a null: all fields as they were */
                return NULL;
        for (size_t i = 0; i < lk_value_map_len(obj); i++) {
                const char *key;
                size_t key_len;
                lk_value *v = lk_value_map_at(obj, i, &key, &key_len);
                if (!key_is(key, key_len, name))
                        continue;
                if (lk_value_type_of(v) != LK_VALUE_NULL)
                        found = v;
                else if (nulls_count)
                        found = NULL;
        }
        return found;
}

static const char *json_string(const lk_value *obj, const char *name) {
        const lk_value *v = json_field(obj, name, false);
        return v ? lk_value_get_string(v, NULL) : "";
}

/* A tuple's components: "(T1,T2)" and their names. */
static int new_tuple(const lk_value *components, lk_buf *canon, lk__ethabi_fields **ret_fields, lk_err *err) {
        size_t n = components ? lk_value_array_len(components) : 0;
        lk__ethabi_fields *f = lk_calloc(1, sizeof *f);
        f->names = lk_calloc(n ? n : 1, sizeof *f->names);
        f->inner = lk_calloc(n ? n : 1, sizeof *f->inner);
        lk_buf_putc(canon, '(');
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                const lk_value *c = lk_value_array_at(components, i);
                const char *type = json_string(c, "type"), *name = json_string(c, "name");
                if (i)
                        lk_buf_putc(canon, ',');
                r = new_type(type, strlen(type), json_field(c, "components", true), canon, &f->inner[i], err);
                if (r == 0)
                        r = check_field_name(name, i, err);
                f->names[i] = lk_strdup(name);
                f->count++;
        }
        lk_buf_putc(canon, ')');
        if (r < 0) {
                fields_free(f);
                return r;
        }
        *ret_fields = f;
        return 0;
}

/* An elementary type, as written: geth's first match of
 * [a-zA-Z]+([0-9]+)? must be all of it and a canonical Solidity type. */
static int new_elementary(const char *t, size_t len, lk_buf *canon, lk_err *err) {
        size_t letters = 0;
        while (letters < len && is_letter(t[letters]))
                letters++;
        bool any_letter = letters > 0;
        for (size_t i = letters; i < len && !any_letter; i++)
                any_letter = is_letter(t[i]);
        if (!any_letter)
                return lk_err_set(err, -EINVAL, "invalid type '%.*s'", (int)len, t);
        lk_abi_type *type = NULL;
        bool bare_int = (len == 4 && memcmp(t, "uint", 4) == 0) || (len == 3 && memcmp(t, "int", 3) == 0);
        bool canonical = !bare_int && letters > 0 && lk_abi_type_parse(t, len, &type, NULL) == 0 &&
                         type->kind != LK_ABI_TUPLE && type->kind != LK_ABI_ARRAY && type->kind != LK_ABI_FIXED_ARRAY;
        lk_abi_type_free(type);
        if (!canonical)
                return lk_err_set(err, -EINVAL, "unsupported arg type: %.*s", (int)len, t);
        lk_buf_append(canon, t, len);
        return 0;
}

/* abi.NewType(t, "", components): t's canonical text appended to canon,
 * the names of the tuple inside it in *ret_fields (NULL if none). */
static int new_type(const char *t, size_t len, const lk_value *components, lk_buf *canon,
                    lk__ethabi_fields **ret_fields, lk_err *err) {
        *ret_fields = NULL;
        size_t opens = 0, closes = 0, last = 0;
        for (size_t i = 0; i < len; i++) {
                if (t[i] == '[') {
                        opens++;
                        last = i;
                } else if (t[i] == ']') {
                        closes++;
                }
        }
        if (opens != closes)
                return lk_err_set(err, -EINVAL, "invalid arg type in abi");
        if (opens == 0) {
                if (len == 5 && memcmp(t, "tuple", 5) == 0)
                        return new_tuple(components, canon, ret_fields, err);
                return new_elementary(t, len, canon, err);
        }
        int r = new_type(t, last, components, canon, ret_fields, err);
        if (r < 0)
                return r;
        /* the last suffix: "[]" or "[k]" (k checked when the list is parsed) */
        size_t digits = 0;
        while (last + 1 + digits < len && is_digit(t[last + 1 + digits]))
                digits++;
        if (last + 2 + digits != len || t[len - 1] != ']') {
                *ret_fields = fields_free(*ret_fields);
                return lk_err_set(err, -EINVAL, "invalid formatting of array type");
        }
        lk_buf_append(canon, t + last, len - last);
        return 0;
}

/* ---- signatures and lists ---- */

/* bytes.TrimSpace, for ASCII. */
static bool is_space(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
}

static void trim(const char **s, size_t *len) {
        while (*len && is_space(**s)) {
                (*s)++;
                (*len)--;
        }
        while (*len && is_space((*s)[*len - 1]))
                (*len)--;
}

/* bytes.ReplaceAll(b, keyword, nil). */
static void drop_keyword(lk_buf *b, const char *keyword) {
        size_t n = strlen(keyword), w = 0;
        for (size_t r = 0; r < b->len;) {
                if (b->len - r >= n && memcmp(b->data + r, keyword, n) == 0) {
                        r += n;
                        continue;
                }
                b->data[w++] = b->data[r++];
        }
        b->len = w;
}

typedef struct words {
        size_t count; /* every non-empty word, also those beyond the fourth */
        const char *at[4];
        size_t len[4];
} words;

/* The non-empty words of s between single spaces, each trimmed. */
static void split_words(const char *s, size_t len, words *w) {
        w->count = 0;
        for (size_t start = 0; start <= len;) {
                const char *space = memchr(s + start, ' ', len - start);
                size_t end = space ? (size_t)(space - s) : len;
                const char *word = s + start;
                size_t n = end - start;
                trim(&word, &n);
                if (n) {
                        if (w->count < 4) {
                                w->at[w->count] = word;
                                w->len[w->count] = n;
                        }
                        w->count++;
                }
                start = end + 1;
        }
}

static bool word_is(const words *w, size_t i, const char *text) {
        return w->len[i] == strlen(text) && memcmp(w->at[i], text, w->len[i]) == 0;
}

/* Which words are the type and the name (Chainlink's switch on their
 * count); abi is the whole list, for the messages. */
static int arg_words(const words *w, bool is_log, const char *abi, size_t abi_len, size_t *ret_name,
                     lk_err *err) {
        const char *why = NULL;
        switch (w->count) {
        case 0: why = "empty argument"; break;
        case 1: why = "missing argument name"; break;
        case 2:
                if (is_log && word_is(w, 1, "indexed"))
                        why = "missing argument name";
                *ret_name = 1;
                break;
        case 3:
                if (!is_log)
                        why = "too many components in argument";
                else if (word_is(w, 0, "indexed") || word_is(w, 2, "indexed"))
                        why = "'indexed' keyword must appear between argument type and name";
                else if (!word_is(w, 1, "indexed"))
                        return lk_err_set(err, -EINVAL,
                                          "bad ABI specification, unknown keyword '%.*s' between argument type and name: %.*s",
                                          (int)w->len[1], w->at[1], (int)abi_len, abi);
                *ret_name = 2;
                break;
        default: why = "too many components in argument"; break;
        }
        if (why)
                return lk_err_set(err, -EINVAL, "bad ABI specification, %s: %.*s", why, (int)abi_len, abi);
        return 0;
}

/* One argument of a list: "type name" or "type indexed name". */
static int parse_arg(builder *b, const char *s, size_t len, bool is_log, const char *abi, size_t abi_len,
                     lk_err *err) {
        lk_buf text = LK_BUF_INIT, canon = LK_BUF_INIT;
        lk_buf_append(&text, s, len);
        drop_keyword(&text, "calldata");
        drop_keyword(&text, "memory");
        drop_keyword(&text, "storage");
        const char *arg = lk_buf_str(&text);
        size_t arg_len = text.len, name = 0;
        trim(&arg, &arg_len);
        words w;
        split_words(arg, arg_len, &w);
        lk__ethabi_fields *fields = NULL;
        lk_err why = LK_ERR_INIT;
        int r = arg_words(&w, is_log, abi, abi_len, &name, err);
        if (r == 0 && (r = new_type(w.at[0], w.len[0], NULL, &canon, &fields, &why)) < 0)
                lk_err_set(err, r, "bad ABI specification: %s", why.msg);
        if (r == 0)
                builder_add(b, lk_strndup(w.at[name], w.len[name]), name == 2, &canon, fields);
        lk_buf_done(&text);
        lk_buf_done(&canon);
        return r;
}

static int parse_list(builder *b, const char *text, size_t len, bool is_log, lk_err *err) {
        /* Names are C strings here (Go's may hold a NUL, which no data
         * map written in a job spec could have as a key). */
        if (memchr(text, '\0', len))
                return lk_err_set(err, -EINVAL, "bad ABI specification: a NUL byte in the arguments");
        const char *trimmed = text;
        size_t trimmed_len = len;
        trim(&trimmed, &trimmed_len);
        if (trimmed_len == 0)
                return 0;
        for (size_t start = 0; start <= len;) {
                const char *comma = memchr(text + start, ',', len - start);
                size_t end = comma ? (size_t)(comma - text) : len;
                int r = parse_arg(b, text + start, end - start, is_log, text, len, err);
                if (r < 0)
                        return r;
                start = end + 1;
        }
        return 0;
}

/* The collected types parsed together; their errors (linkd/abi.h's
 * limits, sizes geth would read) in Chainlink's words. */
static int finish_text(builder *b, lk__ethabi **ret, lk_err *err) {
        int r = builder_finish(b, ret, err);
        if (r < 0)
                lk_err_prefix(err, "bad ABI specification");
        return r;
}

int lk__ethabi_parse_list(const char *text, size_t len, lk__ethabi **ret, lk_err *err) {
        builder b;
        builder_init(&b, "", 0);
        int r = parse_list(&b, text, len, false, err);
        if (r < 0) {
                builder_abort(&b);
                return r;
        }
        return finish_text(&b, ret, err);
}

/* \s of Go's regexp: [\t\n\f\r ]. */
static bool is_re_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool is_name_char(char c) {
        return is_letter(c) || is_digit(c) || c == '_';
}

/* Chainlink's \A\s*([a-zA-Z0-9_]+)?\s*\(\s*([a-zA-Z0-9\[\]_\s,]+\s*)?\)
 * (anything after the parenthesis is ignored): the name and the list. */
static bool match_signature(const char *s, size_t len, size_t name[2], size_t list[2]) {
        size_t i = 0;
        while (i < len && is_re_space(s[i]))
                i++;
        name[0] = i;
        while (i < len && is_name_char(s[i]))
                i++;
        name[1] = i;
        while (i < len && is_re_space(s[i]))
                i++;
        if (i == len || s[i] != '(')
                return false;
        i++;
        while (i < len && is_re_space(s[i]))
                i++;
        list[0] = i;
        while (i < len && (is_name_char(s[i]) || is_re_space(s[i]) || s[i] == '[' || s[i] == ']' || s[i] == ','))
                i++;
        list[1] = i;
        return i < len && s[i] == ')';
}

int lk__ethabi_parse_signature(const char *text, size_t len, bool is_log, lk__ethabi **ret, lk_err *err) {
        size_t name[2], list[2];
        if (!match_signature(text, len, name, list))
                return lk_err_set(err, -EINVAL, "bad ABI specification: %.*s", (int)len, text);
        builder b;
        builder_init(&b, text + name[0], name[1] - name[0]);
        int r = parse_list(&b, text + list[0], list[1] - list[0], is_log, err);
        if (r < 0) {
                builder_abort(&b);
                return r;
        }
        return finish_text(&b, ret, err);
}

/* ---- ethabiencode2's JSON method ---- */

/* The kind Go's UnmarshalTypeError names. */
static const char *json_kind(const lk_value *v) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_BOOL: return "bool";
        case LK_VALUE_STRING: return "string";
        case LK_VALUE_ARRAY: return "array";
        case LK_VALUE_MAP: return "object";
        default: return "number";
        }
}

int lk__ethabi_type_error(lk_err *err, const lk_value *v, const char *field, const char *go_type) {
        if (!field)
                return lk_err_set(err, -EINVAL, "json: cannot unmarshal %s into Go value of type %s", json_kind(v),
                                  go_type);
        return lk_err_set(err, -EINVAL, "json: cannot unmarshal %s into Go struct field %s of type %s", json_kind(v),
                          field, go_type);
}


/* Field paths ("ArgumentMarshaling.Components.Type") are built in one
 * buffer, cut back after each field. */
static void path_cut(lk_buf *path, size_t len) {
        path->len = len;
        path->data[len] = '\0';
}

static int check_marshaling(const lk_value *obj, lk_buf *path, lk_err *err);

/* ArgumentMarshaling.Components: a list of objects (or nulls). */
static int check_components(const lk_value *v, lk_buf *path, lk_err *err) {
        size_t mark = path->len;
        lk_buf_puts(path, "Components");
        int r = 0;
        if (lk_value_type_of(v) != LK_VALUE_ARRAY) {
                r = lk__ethabi_type_error(err, v, lk_buf_str(path), "[]abi.ArgumentMarshaling");
        } else {
                for (size_t i = 0; i < lk_value_array_len(v) && r == 0; i++) {
                        const lk_value *c = lk_value_array_at(v, i);
                        if (lk_value_type_of(c) == LK_VALUE_MAP) {
                                lk_buf_putc(path, '.');
                                r = check_marshaling(c, path, err);
                                path_cut(path, mark + strlen("Components"));
                        } else if (lk_value_type_of(c) != LK_VALUE_NULL) {
                                r = lk__ethabi_type_error(err, c, lk_buf_str(path), "abi.ArgumentMarshaling");
                        }
                }
        }
        path_cut(path, mark);
        return r;
}

/* The first type error Go's json.Unmarshal meets decoding obj into geth's
 * ArgumentMarshaling; path is "ArgumentMarshaling." and the fields above. */
static int check_marshaling(const lk_value *obj, lk_buf *path, lk_err *err) {
        static const struct {
                const char *key, *field, *go_type;
                lk_value_type want;
        } fields[] = {
                {"name", "Name", "string", LK_VALUE_STRING},
                {"type", "Type", "string", LK_VALUE_STRING},
                {"internaltype", "InternalType", "string", LK_VALUE_STRING},
                {"indexed", "Indexed", "bool", LK_VALUE_BOOL},
        };
        for (size_t i = 0; i < lk_value_map_len(obj); i++) {
                const char *key;
                size_t key_len;
                const lk_value *v = lk_value_map_at(obj, i, &key, &key_len);
                int r = 0;
                if (lk_value_type_of(v) == LK_VALUE_NULL)
                        continue;
                if (key_is(key, key_len, "components"))
                        r = check_components(v, path, err);
                for (size_t f = 0; f < sizeof fields / sizeof fields[0] && r == 0; f++) {
                        if (!key_is(key, key_len, fields[f].key) || lk_value_type_of(v) == fields[f].want)
                                continue;
                        size_t mark = path->len;
                        lk_buf_puts(path, fields[f].field);
                        r = lk__ethabi_type_error(err, v, lk_buf_str(path), fields[f].go_type);
                        path_cut(path, mark);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Argument.UnmarshalJSON: the JSON into an ArgumentMarshaling, then its
 * type. */
static int method_input(builder *b, const lk_value *v, lk_err *err) {
        lk_err why = LK_ERR_INIT;
        lk_buf path = LK_BUF_INIT, canon = LK_BUF_INIT;
        lk_buf_puts(&path, "ArgumentMarshaling.");
        int r = lk_value_type_of(v) == LK_VALUE_MAP    ? check_marshaling(v, &path, &why)
                : lk_value_type_of(v) == LK_VALUE_NULL ? 0
                                                       : lk__ethabi_type_error(&why, v, NULL, "abi.ArgumentMarshaling");
        lk_buf_done(&path);
        if (r < 0)
                return lk_err_set(err, r, "argument json err: %s", why.msg);
        const char *type = json_string(v, "type");
        lk__ethabi_fields *fields = NULL;
        r = new_type(type, strlen(type), json_field(v, "components", true), &canon, &fields, err);
        if (r == 0) {
                const lk_value *indexed = json_field(v, "indexed", false);
                builder_add(b, lk_strdup(json_string(v, "name")), indexed && lk_value_get_bool(indexed), &canon, fields);
        }
        lk_buf_done(&canon);
        return r;
}

/* Go's json.Unmarshal into Chainlink's Method{Name string; Inputs
 * abi.Arguments}: keys in order, regardless of case; a type error is kept
 * (the first) and decoding goes on, an input's error ends it. */
static int method_fields(builder *b, const lk_value *method, lk_err *err) {
        lk_err saved = LK_ERR_INIT;
        for (size_t i = 0; i < lk_value_map_len(method); i++) {
                const char *key;
                size_t key_len;
                const lk_value *v = lk_value_map_at(method, i, &key, &key_len);
                lk_value_type type = lk_value_type_of(v);
                if (key_is(key, key_len, "name") && type == LK_VALUE_STRING) {
                        lk_free(b->abi->name);
                        b->abi->name = lk_strdup(lk_value_get_string(v, NULL));
                } else if (key_is(key, key_len, "name") && type != LK_VALUE_NULL && !lk_err_is_set(&saved)) {
                        lk__ethabi_type_error(&saved, v, "Method.Name", "string");
                } else if (key_is(key, key_len, "inputs") && (type == LK_VALUE_ARRAY || type == LK_VALUE_NULL)) {
                        char *name = lk_strdup(b->abi->name); /* a later "inputs" replaces an earlier one */
                        builder_abort(b);
                        builder_init(b, name, strlen(name));
                        lk_free(name);
                        for (size_t j = 0; type == LK_VALUE_ARRAY && j < lk_value_array_len(v); j++) {
                                int r = method_input(b, lk_value_array_at(v, j), err);
                                if (r < 0)
                                        return r;
                        }
                } else if (key_is(key, key_len, "inputs") && !lk_err_is_set(&saved)) {
                        lk__ethabi_type_error(&saved, v, "Method.Inputs", "abi.Arguments");
                }
        }
        if (lk_err_is_set(&saved)) {
                *err = saved;
                return saved.code;
        }
        return 0;
}

int lk__ethabi_parse_method(const char *json, size_t len, lk__ethabi **ret, lk_err *err) {
        lk_value *method = NULL;
        int r = lk_value_from_json(json, len, &method, err);
        if (r < 0)
                return r;
        builder b;
        builder_init(&b, "", 0);
        if (lk_value_type_of(method) == LK_VALUE_MAP)
                r = method_fields(&b, method, err);
        else if (lk_value_type_of(method) != LK_VALUE_NULL)
                r = lk__ethabi_type_error(err, method, NULL, "pipeline.Method");
        lk_value_unref(method);
        if (r < 0) {
                builder_abort(&b);
                return r;
        }
        return builder_finish(&b, ret, err);
}
