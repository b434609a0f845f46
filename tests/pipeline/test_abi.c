/* The Solidity ABI coder.  The Solidity documentation's examples byte for
 * byte; errors with the argument or the place in the type; strict and
 * bounded decoding; and 1,000 random type lists with random values checked
 * both ways against ethers 6's AbiCoder (tests/onchain/abi-coder.mjs):
 * linkd's encoding is ethers', linkd decodes ethers' encoding to the
 * values, ethers decodes linkd's to them.  The seed is printed; set
 * LINKD_ABI_SEED to repeat a run. */
#include "lktest.h"

#include <errno.h>
#include <gmp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linkd/abi.h"
#include "linkd/alloc.h"

static lk_abi_type *types(const char *text) {
        lk_abi_type *t = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_abi_types_parse(text, strlen(text), &t, &err) < 0)
                fail_msg("%s: %s", text, err.msg);
        return t;
}

static lk_value *json(const char *text) {
        lk_value *v = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_value_from_json(text, strlen(text), &v, &err) < 0)
                fail_msg("%s: %s", text, err.msg);
        return v;
}

static char *hex_of(const uint8_t *b, size_t n) {
        lk_buf out = LK_BUF_INIT;
        lk_buf_puts(&out, "0x");
        lk_buf_put_hex(&out, b, n);
        return lk_buf_steal(&out, NULL);
}

static uint8_t *unhex(const char *hex, size_t *ret_len) {
        size_t n = (strlen(hex) - 2) / 2;
        uint8_t *b = lk_malloc(n ? n : 1);
        lktest_unhex(hex, b, n);
        *ret_len = n;
        return b;
}

/* Encodes, decodes canonically, encodes the decoded values again. */
static void check_vector(const char *type_list, const char *values_json, const char *want_hex) {
        lk_abi_type *t = types(type_list);
        lk_value *v = json(values_json);
        lk_buf out = LK_BUF_INIT;
        lk_err err = LK_ERR_INIT;
        if (lk_abi_encode(t, v, &out, &err) < 0)
                fail_msg("%s: %s", type_list, err.msg);
        char *got = hex_of((const uint8_t *)out.data, out.len);
        assert_string_equal(got, want_hex);
        lk_value *dec = NULL;
        size_t consumed = 0;
        if (lk_abi_decode(t, (const uint8_t *)out.data, out.len, LK_ABI_CANONICAL, &dec, &consumed, &err) < 0)
                fail_msg("%s: %s", type_list, err.msg);
        assert_int_equal(consumed, out.len);
        lk_buf again = LK_BUF_INIT;
        assert_int_equal(lk_abi_encode(t, dec, &again, &err), 0);
        assert_int_equal(again.len, out.len);
        assert_memory_equal(again.data, out.data, out.len);
        lk_buf_done(&again);
        lk_value_unref(dec);
        lk_free(got);
        lk_buf_done(&out);
        lk_value_unref(v);
        lk_abi_type_free(t);
}

/* The examples of the Solidity documentation's "Contract ABI
 * Specification" (the arguments, without the selector). */
static void solidity_examples(void **state) {
        (void)state;
        check_vector("uint32,bool", "[69, true]",
                     "0x0000000000000000000000000000000000000000000000000000000000000045"
                     "0000000000000000000000000000000000000000000000000000000000000001");
        check_vector("bytes3[2]", "[[\"0x616263\", \"0x646566\"]]",
                     "0x6162630000000000000000000000000000000000000000000000000000000000"
                     "6465660000000000000000000000000000000000000000000000000000000000");
        check_vector("bytes,bool,uint256[]", "[\"0x64617665\", true, [1, 2, 3]]",
                     "0x0000000000000000000000000000000000000000000000000000000000000060"
                     "0000000000000000000000000000000000000000000000000000000000000001"
                     "00000000000000000000000000000000000000000000000000000000000000a0"
                     "0000000000000000000000000000000000000000000000000000000000000004"
                     "6461766500000000000000000000000000000000000000000000000000000000"
                     "0000000000000000000000000000000000000000000000000000000000000003"
                     "0000000000000000000000000000000000000000000000000000000000000001"
                     "0000000000000000000000000000000000000000000000000000000000000002"
                     "0000000000000000000000000000000000000000000000000000000000000003");
        check_vector("uint256,uint32[],bytes10,bytes",
                     "[\"0x123\", [\"0x456\", \"0x789\"], \"0x31323334353637383930\", "
                     "\"0x48656c6c6f2c20776f726c6421\"]",
                     "0x0000000000000000000000000000000000000000000000000000000000000123"
                     "0000000000000000000000000000000000000000000000000000000000000080"
                     "3132333435363738393000000000000000000000000000000000000000000000"
                     "00000000000000000000000000000000000000000000000000000000000000e0"
                     "0000000000000000000000000000000000000000000000000000000000000002"
                     "0000000000000000000000000000000000000000000000000000000000000456"
                     "0000000000000000000000000000000000000000000000000000000000000789"
                     "000000000000000000000000000000000000000000000000000000000000000d"
                     "48656c6c6f2c20776f726c642100000000000000000000000000000000000000");
        check_vector("uint256[][],string[]", "[[[1, 2], [3]], [\"one\", \"two\", \"three\"]]",
                     "0x0000000000000000000000000000000000000000000000000000000000000040"
                     "0000000000000000000000000000000000000000000000000000000000000140"
                     "0000000000000000000000000000000000000000000000000000000000000002"
                     "0000000000000000000000000000000000000000000000000000000000000040"
                     "00000000000000000000000000000000000000000000000000000000000000a0"
                     "0000000000000000000000000000000000000000000000000000000000000002"
                     "0000000000000000000000000000000000000000000000000000000000000001"
                     "0000000000000000000000000000000000000000000000000000000000000002"
                     "0000000000000000000000000000000000000000000000000000000000000001"
                     "0000000000000000000000000000000000000000000000000000000000000003"
                     "0000000000000000000000000000000000000000000000000000000000000003"
                     "0000000000000000000000000000000000000000000000000000000000000060"
                     "00000000000000000000000000000000000000000000000000000000000000a0"
                     "00000000000000000000000000000000000000000000000000000000000000e0"
                     "0000000000000000000000000000000000000000000000000000000000000003"
                     "6f6e650000000000000000000000000000000000000000000000000000000000"
                     "0000000000000000000000000000000000000000000000000000000000000003"
                     "74776f0000000000000000000000000000000000000000000000000000000000"
                     "0000000000000000000000000000000000000000000000000000000000000005"
                     "7468726565000000000000000000000000000000000000000000000000000000");
        /* Extremes and a nested dynamic tuple. */
        check_vector("int8,int8,uint8,int256,address",
                     "[-128, 127, 255, -1, \"0x00000000000000000000000000000000000000FF\"]",
                     "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80"
                     "000000000000000000000000000000000000000000000000000000000000007f"
                     "00000000000000000000000000000000000000000000000000000000000000ff"
                     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                     "00000000000000000000000000000000000000000000000000000000000000ff");
        check_vector("(uint8,string)", "[[1, \"a\"]]",
                     "0x0000000000000000000000000000000000000000000000000000000000000020"
                     "0000000000000000000000000000000000000000000000000000000000000001"
                     "0000000000000000000000000000000000000000000000000000000000000040"
                     "0000000000000000000000000000000000000000000000000000000000000001"
                     "6100000000000000000000000000000000000000000000000000000000000000");
        check_vector("", "[]", "0x");
}

static void type_parse_error(const char *text, const char *want) {
        lk_abi_type *t = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_abi_type_parse(text, strlen(text), &t, &err) != -EINVAL)
                fail_msg("%s: parsed", text);
        assert_null(t);
        if (!strstr(err.msg, want))
                fail_msg("%s: got \"%s\", want it to contain \"%s\"", text, err.msg, want);
}

static void type_strings(void **state) {
        (void)state;
        static const char *const canon[][2] = {
                {"uint", "uint256"},
                {"int", "int256"},
                {"(uint,bytes3[2])[]", "(uint256,bytes3[2])[]"},
                {"((address,bool)[2][],string,int24)", "((address,bool)[2][],string,int24)"},
                {"bytes32[4096]", "bytes32[4096]"},
        };
        for (size_t i = 0; i < sizeof canon / sizeof canon[0]; i++) {
                lk_abi_type *t = NULL;
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_abi_type_parse(canon[i][0], strlen(canon[i][0]), &t, &err), 0);
                lk_buf out = LK_BUF_INIT;
                lk_abi_type_format(t, &out);
                assert_string_equal(lk_buf_str(&out), canon[i][1]);
                lk_buf_done(&out);
                lk_abi_type_free(t);
        }
        type_parse_error("uint7", "at offset 4: uint7: the size must be a multiple of 8");
        type_parse_error("uint264", "at offset 4: a number above 256");
        type_parse_error("int08", "leading zero");
        type_parse_error("bytes33", "at offset 5: a number above 32");
        type_parse_error("bytes0", "bytes0");
        type_parse_error("address[", "at offset 8: ']' expected");
        type_parse_error("uint8[0]", "an array of length 0");
        type_parse_error("uint8[4097]", "a number above 4096");
        type_parse_error("()", "at offset 1: a type expected");
        type_parse_error("(uint8,)", "at offset 7: a type expected");
        type_parse_error("(uint8,bool),", "at offset 12: unexpected ','");
        type_parse_error("(uint8", "at offset 6: ',' or ')' expected");
        type_parse_error("uint8 ", "at offset 5: unexpected ' '");
        type_parse_error("fixed128x18", "at offset 0: an unknown type");
        type_parse_error("Uint8", "a type expected");
        type_parse_error("uint256[4096][4096]", "a static type of more than 65536 words");
        /* 16 levels of arrays and tuples, and one more. */
        char deep[128];
        snprintf(deep, sizeof deep, "uint8%s", "[][][][][][][][][][][][][][][][]");
        lk_abi_type *t = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_abi_type_parse(deep, strlen(deep), &t, &err), 0);
        t = lk_abi_type_free(t);
        strcat(deep, "[]");
        type_parse_error(deep, "at offset 37: nested more than 16 deep");
        snprintf(deep, sizeof deep, "%.16suint8%.16s", "((((((((((((((((((((", "))))))))))))))))))))");
        assert_int_equal(lk_abi_type_parse(deep, strlen(deep), &t, &err), 0);
        t = lk_abi_type_free(t);
        strcat(deep, "[2]");
        type_parse_error(deep, "at offset 37: nested more than 16 deep");
        snprintf(deep, sizeof deep, "%.17suint8%.17s", "((((((((((((((((((((", "))))))))))))))))))))");
        type_parse_error(deep, "at offset 16: nested more than 16 deep");
        t = lk_abi_type_free(t);
        assert_int_equal(lk_abi_types_parse("uint8,", 6, &t, &err), -EINVAL);
        assert_string_equal(err.msg, "abi: type \"uint8,\" at offset 6: a type expected");
        assert_int_equal(lk_abi_types_parse("uint8 bool", 10, &t, &err), -EINVAL);
        assert_string_equal(err.msg, "abi: type \"uint8 bool\" at offset 5: ',' expected");
        assert_null(t);
        assert_null(lk_abi_type_free(NULL));
}

static void encode_error(const char *type_list, const char *values_json, const char *want) {
        lk_abi_type *t = types(type_list);
        lk_value *v = json(values_json);
        lk_buf out = LK_BUF_INIT;
        lk_buf_puts(&out, "kept");
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_abi_encode(t, v, &out, &err), -EINVAL);
        assert_string_equal(lk_buf_str(&out), "kept");
        assert_string_equal(err.msg, want);
        lk_buf_done(&out);
        lk_value_unref(v);
        lk_abi_type_free(t);
}

static void encode_errors(void **state) {
        (void)state;
        encode_error("uint8", "[256]", "abi: argument 0: 256 is out of range for uint8");
        encode_error("bool,uint256", "[true, -1]", "abi: argument 1: -1 is out of range for uint256");
        encode_error("int8", "[-129]", "abi: argument 0: -129 is out of range for int8");
        encode_error("int8", "[128]", "abi: argument 0: 128 is out of range for int8");
        encode_error("uint256", "[\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"]",
                     "abi: argument 0: 115792089237316195423570985008687907853269984665640564039457584007913129639936"
                     " is out of range for uint256");
        encode_error("(uint8,uint8[])[]", "[[[1, [2, 300]]]]", "abi: argument 0[0].1[1]: 300 is out of range for uint8");
        encode_error("uint8", "[\"12a\"]", "abi: argument 0: \"12a\" is not an integer");
        encode_error("uint8", "[1.5]", "abi: argument 0: want an integer, got float64");
        encode_error("address", "[\"0x1234\"]", "abi: argument 0: want 20 bytes for an address, got 2");
        encode_error("bytes2", "[\"0x123\"]", "abi: argument 0: \"0x123\" is not 0x-hex");
        encode_error("bytes", "[\"zz\"]", "abi: argument 0: \"zz\" is not 0x-hex");
        encode_error("string", "[1]", "abi: argument 0: want a string, got int64");
        encode_error("bool", "[1]", "abi: argument 0: want a bool, got int64");
        encode_error("uint8[2]", "[[1]]", "abi: argument 0: want 2 items, got 1");
        encode_error("(uint8,bool)", "[1]", "abi: argument 0: want an array for tuple, got int64");
        encode_error("uint8,uint8", "[1]", "abi: want 2 values, got 1");
        /* The edges that fit. */
        lk_abi_type *t = types("int8,int8,uint8,uint64,int64");
        lk_value *v = json("[-128, 127, 255, 18446744073709551615, -9223372036854775808]");
        lk_buf out = LK_BUF_INIT;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_abi_encode(t, v, &out, &err), 0);
        assert_int_equal(out.len, 5 * 32);
        lk_buf_done(&out);
        lk_value_unref(v);
        lk_abi_type_free(t);
}

static void decode_error(const char *type_list, const char *hex, unsigned flags, const char *want) {
        lk_abi_type *t = types(type_list);
        size_t n;
        uint8_t *data = unhex(hex, &n);
        lk_value *v = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_abi_decode(t, data, n, flags, &v, NULL, &err), -EINVAL);
        assert_null(v);
        if (!strstr(err.msg, want))
                fail_msg("%s: got \"%s\", want it to contain \"%s\"", type_list, err.msg, want);
        lk_free(data);
        lk_abi_type_free(t);
}

#define W0 "0000000000000000000000000000000000000000000000000000000000000000"
#define W1 "0000000000000000000000000000000000000000000000000000000000000001"
#define W20 "0000000000000000000000000000000000000000000000000000000000000020"
#define W40 "0000000000000000000000000000000000000000000000000000000000000040"

static void decode_errors(void **state) {
        (void)state;
        decode_error("uint8", "0x0000000000000000000000000000000000000000000000000000000000000100", 0,
                     "argument 0: the word at 0 is not a uint8 (high bytes not zero)");
        decode_error("uint256,int8", "0x" W0 "00000000000000000000000000000000000000000000000000000000000000ff", 0,
                     "argument 1: the word at 32 is not a int8 (not sign-extended)");
        decode_error("bool", "0x0000000000000000000000000000000000000000000000000000000000000002", 0,
                     "not a bool");
        decode_error("address", "0x0000000000000000000000010000000000000000000000000000000000000000", 0,
                     "not an address");
        decode_error("bytes1", "0x0101000000000000000000000000000000000000000000000000000000000000", 0,
                     "padding not zero");
        decode_error("uint8", "0x00", 0, "the data (1 bytes) ends inside the 32-byte head at 0");
        decode_error("bytes", "0x0000000000000000000000000000000000000000000000000000000000000040", 0,
                     "the offset 64 at 0 is beyond the 32 bytes of data");
        decode_error("bytes", "0x" W20 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 0,
                     "the length at 32 is beyond");
        decode_error("bytes", "0x" W20 "0000000000000000000000000000000000000000000000000000000000000021" W0, 0,
                     "the length 33 at 32 is beyond the 96 bytes of data");
        decode_error("uint256[]", "0x" W20 "0000000000000000000000000000000000000000000000000000000000000002" W0, 0,
                     "the length 2 at 32 is beyond");
        decode_error("string", "0x" W20 W1 "6100000000000000000000000000000000000000000000000000000000000001",
                     LK_ABI_CANONICAL, "the padding of the string at 32 is not zero");
        decode_error("string", "0x" W40 W0 W1 "6100000000000000000000000000000000000000000000000000000000000000",
                     LK_ABI_CANONICAL, "the offset 64 at 0 is not canonical (want 32)");
        /* The same non-canonical data decodes by geth's rules. */
        lk_abi_type *t = types("string");
        size_t n;
        uint8_t *data = unhex("0x" W40 W0 W1 "6100000000000000000000000000000000000000000000000000000000000000", &n);
        lk_value *v = NULL;
        size_t consumed;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_abi_decode(t, data, n, 0, &v, &consumed, &err), 0);
        assert_int_equal(consumed, 128);
        assert_string_equal(lk_value_get_string(lk_value_array_at(v, 0), NULL), "a");
        lk_value_unref(v);
        lk_free(data);
        lk_abi_type_free(t);
}

/* 1,000 offsets to one shared 1,000-word array: a million values from 64
 * KiB.  Refused by the output bound, not built. */
static void decode_is_bounded(void **state) {
        (void)state;
        enum { L = 1000, M = 1000 };
        size_t n = 64 + L * 32 + 32 + M * 32;
        uint8_t *d = lk_calloc(1, n);
        d[31] = 0x20;
        d[62] = L >> 8, d[63] = L & 0xff;
        size_t inner = L * 32; /* relative to the offsets at 64 */
        for (size_t i = 0; i < L; i++)
                d[64 + i * 32 + 30] = (uint8_t)(inner >> 8), d[64 + i * 32 + 31] = (uint8_t)inner;
        d[64 + inner + 30] = M >> 8, d[64 + inner + 31] = M & 0xff;
        lk_abi_type *t = types("uint256[][]");
        lk_value *v = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_abi_decode(t, d, n, 0, &v, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "the values would take more than"));
        assert_int_equal(lk_abi_decode(t, d, n, LK_ABI_CANONICAL, &v, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not canonical"));
        lk_abi_type_free(t);
        lk_free(d);
}

/* ---- random types and values against ethers ---- */

static uint64_t rng_state;

static uint64_t rnd(void) { /* splitmix64 */
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        return z ^ (z >> 31);
}

static size_t below(size_t n) {
        return (size_t)(rnd() % n);
}

static void gen_type(lk_buf *out, int depth) {
        size_t pick = below(depth >= 3 ? 7 : 10);
        switch (pick) {
        case 0:
                lk_buf_printf(out, "uint%zu", 8 * (1 + below(32)));
                break;
        case 1:
                lk_buf_printf(out, "int%zu", 8 * (1 + below(32)));
                break;
        case 2:
                lk_buf_puts(out, "address");
                break;
        case 3:
                lk_buf_puts(out, "bool");
                break;
        case 4:
                lk_buf_printf(out, "bytes%zu", 1 + below(32));
                break;
        case 5:
                lk_buf_puts(out, "bytes");
                break;
        case 6:
                lk_buf_puts(out, "string");
                break;
        case 7:
                gen_type(out, depth + 1);
                lk_buf_printf(out, "[%zu]", 1 + below(3));
                break;
        case 8:
                gen_type(out, depth + 1);
                lk_buf_puts(out, "[]");
                break;
        default: {
                size_t n = 1 + below(3);
                lk_buf_putc(out, '(');
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                lk_buf_putc(out, ',');
                        gen_type(out, depth + 1);
                }
                lk_buf_putc(out, ')');
        }
        }
}

static void random_bytes(uint8_t *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                b[i] = (uint8_t)rnd();
}

/* Frees a string mpz_get_str made. */
static void gmp_str_free(char *s) {
        void (*gmp_free)(void *, size_t);
        mp_get_memory_functions(NULL, NULL, &gmp_free);
        gmp_free(s, strlen(s) + 1);
}

/* The input form the encoder takes (varied) and the normal form (what
 * both sides print) of one random value of t. */
static void gen_value(const lk_abi_type *t, lk_value **ret_in, lk_value **ret_norm) {
        switch (t->kind) {
        case LK_ABI_UINT:
        case LK_ABI_INT: {
                uint8_t b[32];
                random_bytes(b, 32);
                mpz_t z;
                mpz_init(z);
                mpz_import(z, 32, 1, 1, 1, 0, b);
                size_t bits = t->kind == LK_ABI_UINT ? t->size : t->size - 1;
                size_t pick = below(8);
                if (pick == 0)
                        mpz_set_ui(z, 0);
                else if (pick == 1) { /* the top of the range */
                        mpz_set_ui(z, 0);
                        mpz_setbit(z, bits);
                        mpz_sub_ui(z, z, 1);
                } else {
                        mpz_fdiv_r_2exp(z, z, pick == 2 ? bits : 1 + below(bits));
                }
                if (t->kind == LK_ABI_INT && below(2)) {
                        mpz_neg(z, z);
                        if (pick == 1)
                                mpz_sub_ui(z, z, 1); /* the bottom of the range */
                }
                char *text = mpz_get_str(NULL, 10, z);
                *ret_norm = lk_value_string(text, SIZE_MAX);
                switch (below(4)) {
                case 0:
                        *ret_in = mpz_fits_slong_p(z) ? lk_value_int64(mpz_get_si(z)) : lk_value_bigint(z);
                        break;
                case 1:
                        *ret_in = lk_value_bigint(z);
                        break;
                case 2:
                        *ret_in = lk_value_string(text, SIZE_MAX);
                        break;
                default: {
                        char *h = mpz_get_str(NULL, 16, z);
                        lk_buf s = LK_BUF_INIT;
                        lk_buf_printf(&s, "%s0x%s", h[0] == '-' ? "-" : "", h[0] == '-' ? h + 1 : h);
                        *ret_in = lk_value_string(lk_buf_str(&s), SIZE_MAX);
                        lk_buf_done(&s);
                        gmp_str_free(h);
                }
                }
                gmp_str_free(text);
                mpz_clear(z);
                return;
        }
        case LK_ABI_BOOL: {
                bool b = below(2);
                *ret_in = lk_value_bool(b);
                *ret_norm = lk_value_bool(b);
                return;
        }
        case LK_ABI_ADDRESS:
        case LK_ABI_FIXED_BYTES:
        case LK_ABI_BYTES: {
                size_t n = t->kind == LK_ABI_BYTES ? below(4) == 0 ? 0 : below(70) : t->size;
                uint8_t b[80];
                random_bytes(b, n);
                *ret_norm = lk_value_bytes(b, n);
                if (below(2)) {
                        *ret_in = lk_value_bytes(b, n);
                } else {
                        char *h = hex_of(b, n);
                        if (below(2))
                                for (char *p = h + 2; *p; p++)
                                        if (*p >= 'a')
                                                *p = (char)(*p - 'a' + 'A');
                        *ret_in = lk_value_string(h, SIZE_MAX);
                        lk_free(h);
                }
                return;
        }
        case LK_ABI_STRING: {
                static const char *const pieces[] = {"a", "Z", "0", " ", "é", "中", "😀", "\"", "\\", "\n", "\t", "~"};
                lk_buf s = LK_BUF_INIT;
                lk_buf_puts(&s, "");
                for (size_t i = below(3) == 0 ? 0 : below(40); i > 0; i--)
                        lk_buf_puts(&s, pieces[below(sizeof pieces / sizeof pieces[0])]);
                *ret_in = lk_value_string(s.data, s.len);
                *ret_norm = lk_value_string(s.data, s.len);
                lk_buf_done(&s);
                return;
        }
        default: {
                size_t n = t->kind == LK_ABI_ARRAY ? below(4) : t->size;
                lk_value *in = lk_value_array(), *norm = lk_value_array();
                for (size_t i = 0; i < n; i++) {
                        lk_value *a, *b;
                        gen_value(t->kind == LK_ABI_TUPLE ? t->fields[i] : t->elem, &a, &b);
                        lk_value_array_append(in, a);
                        lk_value_array_append(norm, b);
                }
                *ret_in = in;
                *ret_norm = norm;
        }
        }
}

/* A decoded value in the normal form: integers as decimal strings. */
static lk_value *normal(const lk_value *v) {
        switch (lk_value_type_of(v)) {
        case LK_VALUE_INT64:
        case LK_VALUE_UINT64: {
                char text[32];
                if (lk_value_type_of(v) == LK_VALUE_INT64)
                        snprintf(text, sizeof text, "%" PRId64, lk_value_get_int64(v));
                else
                        snprintf(text, sizeof text, "%" PRIu64, lk_value_get_uint64(v));
                return lk_value_string(text, SIZE_MAX);
        }
        case LK_VALUE_BIGINT: {
                char *text = mpz_get_str(NULL, 10, *lk_value_get_bigint(v));
                lk_value *s = lk_value_string(text, SIZE_MAX);
                gmp_str_free(text);
                return s;
        }
        case LK_VALUE_ARRAY: {
                lk_value *a = lk_value_array();
                for (size_t i = 0; i < lk_value_array_len(v); i++)
                        lk_value_array_append(a, normal(lk_value_array_at(v, i)));
                return a;
        }
        default:
                return lk_value_ref((lk_value *)v);
        }
}

/* v through JSON and back: bytes become the 0x-hex strings ethers prints. */
static lk_value *as_json(const lk_value *v) {
        lk_buf b = LK_BUF_INIT;
        lk_value_to_json(v, &b);
        lk_value *r = json(lk_buf_str(&b));
        lk_buf_done(&b);
        return r;
}

static void assert_same(const lk_value *got, const lk_value *want, const char *what, size_t i, const char *type_list) {
        if (lk_value_equal(got, want))
                return;
        lk_buf g = LK_BUF_INIT, w = LK_BUF_INIT;
        lk_value_to_json(got, &g);
        lk_value_to_json(want, &w);
        fail_msg("case %zu (%s): %s\n got  %s\n want %s", i, type_list, what, lk_buf_str(&g), lk_buf_str(&w));
}

enum { CASES = 1000 };

static void random_against_ethers(void **state) {
        (void)state;
        const char *seed_text = getenv("LINKD_ABI_SEED");
        uint64_t seed = seed_text ? strtoull(seed_text, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
        printf("# test_abi seed %" PRIu64 " (LINKD_ABI_SEED=%" PRIu64 " repeats it)\n", seed, seed);
        fflush(stdout);
        rng_state = seed;

        char *lists[CASES];
        lk_abi_type *tuples[CASES];
        lk_value *inputs[CASES], *norms[CASES];
        lk_buf encodings[CASES];
        lk_buf batch = LK_BUF_INIT;
        lk_buf_putc(&batch, '[');
        for (size_t i = 0; i < CASES; i++) {
                lk_buf list = LK_BUF_INIT, types_json = LK_BUF_INIT;
                lk_buf_puts(&list, "");
                lk_buf_putc(&types_json, '[');
                for (size_t n = 1 + below(4), j = 0; j < n; j++) {
                        size_t mark = list.len;
                        if (j)
                                lk_buf_putc(&list, ',');
                        gen_type(&list, 0);
                        if (j)
                                lk_buf_putc(&types_json, ',');
                        lk_buf_put_json_string(&types_json, list.data + mark + (j ? 1 : 0));
                }
                lk_buf_putc(&types_json, ']');
                lists[i] = lk_buf_steal(&list, NULL);
                tuples[i] = types(lists[i]);
                gen_value(tuples[i], &inputs[i], &norms[i]);
                encodings[i] = (lk_buf)LK_BUF_INIT;
                lk_err err = LK_ERR_INIT;
                if (lk_abi_encode(tuples[i], inputs[i], &encodings[i], &err) < 0)
                        fail_msg("case %zu (%s): %s", i, lists[i], err.msg);
                char *hex = hex_of((const uint8_t *)encodings[i].data, encodings[i].len);
                lk_buf_printf(&batch, "%s{\"types\":%s,\"values\":", i ? "," : "", lk_buf_str(&types_json));
                lk_value_to_json(norms[i], &batch);
                lk_buf_printf(&batch, ",\"hex\":\"%s\"}", hex);
                lk_free(hex);
                lk_buf_done(&types_json);
        }
        lk_buf_putc(&batch, ']');

        lk_value *answers = lktest_abi_coder(lk_buf_str(&batch));
        assert_int_equal(lk_value_array_len(answers), CASES);

        for (size_t i = 0; i < CASES; i++) {
                lk_value *a = lk_value_array_at(answers, i);
                /* 1. linkd's encoding is ethers'. */
                char *mine = hex_of((const uint8_t *)encodings[i].data, encodings[i].len);
                const char *theirs = lk_value_get_string(lk_value_map_get(a, "hex", 3), NULL);
                if (strcmp(mine, theirs) != 0)
                        fail_msg("case %zu (%s): encodings differ\n linkd  %s\n ethers %s", i, lists[i], mine, theirs);
                lk_value *want = as_json(norms[i]);
                /* 2. ethers decoded linkd's encoding to the values. */
                assert_same(lk_value_map_get(a, "decoded", 7), want, "ethers' decoding", i, lists[i]);
                /* 3. linkd decodes ethers' encoding to the values, canonically, all of it. */
                size_t n;
                uint8_t *data = unhex(theirs, &n);
                lk_value *dec = NULL;
                size_t consumed = 0;
                lk_err err = LK_ERR_INIT;
                if (lk_abi_decode(tuples[i], data, n, LK_ABI_CANONICAL, &dec, &consumed, &err) < 0)
                        fail_msg("case %zu (%s): %s", i, lists[i], err.msg);
                assert_int_equal(consumed, n);
                lk_value *norm = normal(dec);
                lk_value *got = as_json(norm);
                assert_same(got, want, "linkd's decoding", i, lists[i]);
                lk_value_unref(got);
                lk_value_unref(norm);
                lk_value_unref(dec);
                lk_free(data);
                lk_value_unref(want);
                lk_free(mine);
        }

        for (size_t i = 0; i < CASES; i++) {
                lk_free(lists[i]);
                lk_abi_type_free(tuples[i]);
                lk_value_unref(inputs[i]);
                lk_value_unref(norms[i]);
                lk_buf_done(&encodings[i]);
        }
        lk_value_unref(answers);
        lk_buf_done(&batch);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(solidity_examples),
                cmocka_unit_test(type_strings),
                cmocka_unit_test(encode_errors),
                cmocka_unit_test(decode_errors),
                cmocka_unit_test(decode_is_bounded),
                cmocka_unit_test(random_against_ethers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
