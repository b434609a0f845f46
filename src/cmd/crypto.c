/* linkd vrf prove|verify and linkd schnorr sign: proofs and signatures
 * without a node, for operators checking keys and for the on-chain tests
 * (tests/onchain).  The key file holds a 0x-hex secret; it is never
 * printed. */
#include <errno.h>
#include <getopt.h>
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/eth.h"
#include "linkd/ethschnorr.h"
#include "linkd/file.h"
#include "linkd/hex.h"
#include "linkd/value.h"
#include "linkd/vrf.h"

static const char vrf_usage[] =
        "usage: linkd vrf prove --key-file FILE --seed N [--block-hash 0x...]\n"
        "       linkd vrf verify FILE\n"
        "\n"
        "prove prints one JSON object: pk, gamma, c, s, seed, uWitness, cGammaWitness,\n"
        "sHashWitness, zInv, output, keyHash and the 416-byte marshaled proof, numbers\n"
        "as 0x hex.  N is decimal or 0x hex, below 2^256.  With --block-hash, N is a\n"
        "VRFCoordinatorV2 pre-seed: the proof is for keccak(N || block hash), \"seed\"\n"
        "stays N and \"marshaled\" holds the actual seed.  FILE holds the secret key as\n"
        "0x hex.\n"
        "verify reads what prove printed (or a marshaled proof as 0x hex) from FILE\n"
        "('-' for stdin) and prints {\"valid\":true,\"output\",\"keyHash\"}.\n"
        "Exit status: 0 done, 1 the proof is invalid, 2 bad arguments or input.\n";

static const char schnorr_usage[] =
        "usage: linkd schnorr sign --key-file FILE --msg 0x...\n"
        "\n"
        "Signs the 32-byte message hash as SchnorrSECP256K1.sol verifies it and prints\n"
        "{\"pkX\",\"pkYParity\",\"signature\",\"msgHash\",\"nonceTimesGeneratorAddress\"}.\n"
        "FILE holds the secret key as 0x hex; its public key's x must be below the\n"
        "contract's HALF_Q.\n";

/* ---- reading ---- */

/* A 256-bit number from decimal or 0x hex text, as a big-endian word. */
static int parse_word(const char *text, uint8_t out[static 32]) {
        mpz_t v;
        if (mpz_init_set_str(v, text, 0) < 0 || mpz_sgn(v) < 0 || mpz_sizeinbase(v, 2) > 256) {
                mpz_clear(v);
                return -EINVAL;
        }
        size_t count = 0;
        uint8_t buf[32];
        memset(out, 0, 32);
        mpz_export(buf, &count, 1, 1, 1, 0, v);
        memcpy(out + 32 - count, buf, count);
        mpz_clear(v);
        return 0;
}

/* Exactly len bytes of 0x hex (surrounding white space allowed). */
static int parse_hex(const char *text, uint8_t *out, size_t len) {
        while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
                text++;
        if (text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
                return -EINVAL;
        text += 2;
        for (size_t i = 0; i < len; i++) {
                int hi = lk_hex_digit(text[2 * i]), lo = hi < 0 ? -1 : lk_hex_digit(text[2 * i + 1]);
                if (lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        for (text += 2 * len; *text; text++)
                if (*text != ' ' && *text != '\t' && *text != '\n' && *text != '\r')
                        return -EINVAL;
        return 0;
}

static int read_secret(const char *path, lk_scalar *ret) {
        char *text = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_file_read(path, 4096, &text, NULL, &err) < 0) {
                fprintf(stderr, "linkd: %s\n", err.msg);
                return -1;
        }
        int r = parse_hex(text, ret->b, LK_SCALAR_LEN);
        explicit_bzero(text, strlen(text));
        lk_free(text);
        if (r < 0 || lk_scalar_is_zero(ret) || !lk_scalar_in_range(ret->b)) {
                fprintf(stderr, "linkd: %s: want a secret key as 0x and 64 hex digits, below the group order\n",
                        path);
                lk_scalar_wipe(ret);
                return -1;
        }
        return 0;
}

/* ---- writing ---- */

/* "0x" and the hex of b, quoted. */
static void put_hex(lk_buf *out, const uint8_t *b, size_t len) {
        lk_buf_puts(out, "\"0x");
        lk_buf_put_hex(out, b, len);
        lk_buf_putc(out, '"');
}

static void put_word(lk_buf *out, const char *key, const uint8_t word[static 32]) {
        lk_buf_printf(out, "\"%s\":", key);
        put_hex(out, word, 32);
}

static void put_point(lk_buf *out, const char *key, const lk_point *p) {
        uint8_t xy[LK_POINT_LEN];
        lk_point_to_long(p, xy);
        lk_buf_printf(out, "\"%s\":[", key);
        put_hex(out, xy, 32);
        lk_buf_putc(out, ',');
        put_hex(out, xy + 32, 32);
        lk_buf_putc(out, ']');
}

static void put_address(lk_buf *out, const char *key, const uint8_t address[static LK_ADDRESS_LEN]) {
        char text[43];
        lk_eth_address_text(address, text);
        lk_buf_printf(out, "\"%s\":\"%s\"", key, text);
}

static void print_proof(const lk_vrf_solidity_proof *sp, const uint8_t shown_seed[static 32],
                        const uint8_t *block_hash) {
        const lk_vrf_proof *p = &sp->proof;
        uint8_t key_hash[32], marshaled[LK_VRF_MARSHALED_LEN];
        lk_vrf_key_hash(&p->pk, key_hash);
        lk_vrf_marshal(sp, marshaled);
        lk_buf out = LK_BUF_INIT;
        lk_buf_putc(&out, '{');
        put_point(&out, "pk", &p->pk);
        lk_buf_putc(&out, ',');
        put_point(&out, "gamma", &p->gamma);
        lk_buf_putc(&out, ',');
        put_word(&out, "c", p->c);
        lk_buf_putc(&out, ',');
        put_word(&out, "s", p->s.b);
        lk_buf_putc(&out, ',');
        put_word(&out, "seed", shown_seed);
        if (block_hash) {
                lk_buf_putc(&out, ',');
                put_word(&out, "blockHash", block_hash);
        }
        lk_buf_putc(&out, ',');
        put_address(&out, "uWitness", sp->u_witness);
        lk_buf_putc(&out, ',');
        put_point(&out, "cGammaWitness", &sp->c_gamma_witness);
        lk_buf_putc(&out, ',');
        put_point(&out, "sHashWitness", &sp->s_hash_witness);
        lk_buf_putc(&out, ',');
        put_word(&out, "zInv", sp->z_inv);
        lk_buf_putc(&out, ',');
        put_word(&out, "output", p->output);
        lk_buf_putc(&out, ',');
        put_word(&out, "keyHash", key_hash);
        lk_buf_putc(&out, ',');
        lk_buf_puts(&out, "\"marshaled\":");
        put_hex(&out, marshaled, sizeof marshaled);
        lk_buf_puts(&out, "}\n");
        fputs(lk_buf_str(&out), stdout);
        lk_buf_done(&out);
}

/* ---- linkd vrf prove ---- */

typedef struct prove_options {
        const char *key_file, *seed, *block_hash;
} prove_options;

static int parse_prove(int argc, char **argv, prove_options *o) {
        static const struct option long_options[] = {
                {"key-file", required_argument, NULL, 'k'},
                {"seed", required_argument, NULL, 's'},
                {"block-hash", required_argument, NULL, 'b'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        optind = 1;
        for (int opt; (opt = getopt_long(argc, argv, "k:s:b:h", long_options, NULL)) != -1;) {
                switch (opt) {
                case 'k': o->key_file = optarg; break;
                case 's': o->seed = optarg; break;
                case 'b': o->block_hash = optarg; break;
                case 'h': fputs(vrf_usage, stdout); return LK_EXIT_USAGE;
                default: fputs(vrf_usage, stderr); return LK_EXIT_USAGE;
                }
        }
        if (optind != argc || !o->key_file || !o->seed) {
                fputs(vrf_usage, stderr);
                return LK_EXIT_USAGE;
        }
        return LK_EXIT_OK;
}

static int vrf_prove(int argc, char **argv) {
        prove_options o = {NULL, NULL, NULL};
        int status = parse_prove(argc, argv, &o);
        if (status != LK_EXIT_OK)
                return status;
        uint8_t seed[32], block_hash[32], actual[32];
        if (parse_word(o.seed, seed) < 0) {
                fprintf(stderr, "linkd: --seed: want a number below 2^256 (decimal or 0x hex), got \"%s\"\n", o.seed);
                return LK_EXIT_USAGE;
        }
        if (o.block_hash && parse_hex(o.block_hash, block_hash, 32) < 0) {
                fprintf(stderr, "linkd: --block-hash: want 0x and 64 hex digits\n");
                return LK_EXIT_USAGE;
        }
        memcpy(actual, seed, 32);
        if (o.block_hash)
                lk_vrf_seed_v2(seed, block_hash, actual);
        lk_scalar secret;
        if (read_secret(o.key_file, &secret) < 0)
                return LK_EXIT_USAGE;
        lk_vrf_proof proof;
        lk_vrf_solidity_proof sp;
        lk_err err = LK_ERR_INIT;
        int r = lk_vrf_prove(&secret, actual, NULL, &proof, &err);
        lk_scalar_wipe(&secret);
        if (r == 0)
                r = lk_vrf_solidity(&proof, &sp, &err);
        if (r < 0) {
                fprintf(stderr, "linkd: cannot prove: %s\n", err.msg);
                return LK_EXIT_FAILURE;
        }
        print_proof(&sp, seed, o.block_hash ? block_hash : NULL);
        return LK_EXIT_OK;
}

/* ---- linkd vrf verify ---- */

/* The marshaled proof in what prove printed, or the text itself as hex;
 * with a block hash, the seed in it must be the V2 actual seed. */
static int marshaled_of(const char *text, size_t len, uint8_t out[static LK_VRF_MARSHALED_LEN]) {
        lk_value *doc = NULL;
        if (lk_value_from_json(text, len, &doc, NULL) < 0 || lk_value_type_of(doc) != LK_VALUE_MAP) {
                lk_value_unref(doc);
                return parse_hex(text, out, LK_VRF_MARSHALED_LEN);
        }
        char *hex = lk__json_text(doc, "marshaled");
        int r = hex ? parse_hex(hex, out, LK_VRF_MARSHALED_LEN) : -EINVAL;
        lk_free(hex);
        lk_value_unref(doc);
        return r;
}

static int vrf_verify(int argc, char **argv) {
        if (argc != 2 || strcmp(argv[1], "--help") == 0) {
                fputs(vrf_usage, argc == 2 ? stdout : stderr);
                return LK_EXIT_USAGE;
        }
        char *text = NULL;
        size_t len = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_file_read(argv[1], 1 << 20, &text, &len, &err) < 0) {
                fprintf(stderr, "linkd: %s\n", err.msg);
                return LK_EXIT_USAGE;
        }
        uint8_t marshaled[LK_VRF_MARSHALED_LEN];
        int r = marshaled_of(text, len, marshaled);
        lk_free(text);
        if (r < 0) {
                fprintf(stderr, "linkd: %s: want the JSON of linkd vrf prove or a 416-byte proof as 0x hex\n",
                        argv[1]);
                return LK_EXIT_USAGE;
        }
        lk_vrf_solidity_proof sp;
        if (lk_vrf_unmarshal(marshaled, &sp, &err) < 0 || lk_vrf_verify(&sp.proof, &err) < 0) {
                fprintf(stderr, "linkd: invalid proof: %s\n", err.msg);
                return LK_EXIT_FAILURE;
        }
        uint8_t key_hash[32];
        lk_vrf_key_hash(&sp.proof.pk, key_hash);
        lk_buf out = LK_BUF_INIT;
        lk_buf_puts(&out, "{\"valid\":true,");
        put_word(&out, "output", sp.proof.output);
        lk_buf_putc(&out, ',');
        put_word(&out, "keyHash", key_hash);
        lk_buf_puts(&out, "}\n");
        fputs(lk_buf_str(&out), stdout);
        lk_buf_done(&out);
        return LK_EXIT_OK;
}

int lk_cmd_vrf(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "prove") == 0)
                return vrf_prove(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "verify") == 0)
                return vrf_verify(argc - 1, argv + 1);
        fputs(vrf_usage, stderr);
        return LK_EXIT_USAGE;
}

/* ---- linkd schnorr sign ---- */

static int schnorr_sign(int argc, char **argv) {
        static const struct option long_options[] = {
                {"key-file", required_argument, NULL, 'k'},
                {"msg", required_argument, NULL, 'm'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        const char *key_file = NULL, *msg = NULL;
        optind = 1;
        for (int opt; (opt = getopt_long(argc, argv, "k:m:h", long_options, NULL)) != -1;) {
                switch (opt) {
                case 'k': key_file = optarg; break;
                case 'm': msg = optarg; break;
                case 'h': fputs(schnorr_usage, stdout); return LK_EXIT_USAGE;
                default: fputs(schnorr_usage, stderr); return LK_EXIT_USAGE;
                }
        }
        if (optind != argc || !key_file || !msg) {
                fputs(schnorr_usage, stderr);
                return LK_EXIT_USAGE;
        }
        uint8_t message[32];
        static const uint8_t zero[32];
        if (parse_word(msg, message) < 0 || memcmp(message, zero, 32) == 0) {
                fprintf(stderr, "linkd: --msg: want a non-zero 32-byte word as 0x hex\n");
                return LK_EXIT_USAGE;
        }
        lk_scalar secret;
        if (read_secret(key_file, &secret) < 0)
                return LK_EXIT_USAGE;
        lk_point pk;
        lk_point_base_mul(&pk, &secret);
        if (!lk_schnorr_public_key_usable(&pk)) {
                lk_scalar_wipe(&secret);
                fprintf(stderr, "linkd: %s: the public key's x is not below HALF_Q, which SchnorrSECP256K1.sol "
                                "refuses; use another key\n",
                        key_file);
                return LK_EXIT_USAGE;
        }
        lk_schnorr_signature sig;
        lk_err err = LK_ERR_INIT;
        int r = lk_schnorr_sign(&secret, message, NULL, &sig, &err);
        lk_scalar_wipe(&secret);
        if (r < 0) {
                fprintf(stderr, "linkd: cannot sign: %s\n", err.msg);
                return LK_EXIT_FAILURE;
        }
        uint8_t x[32];
        lk_point_x(&pk, x);
        lk_buf out = LK_BUF_INIT;
        lk_buf_putc(&out, '{');
        put_word(&out, "pkX", x);
        lk_buf_printf(&out, ",\"pkYParity\":%d,", lk_point_y_is_odd(&pk));
        put_word(&out, "signature", sig.s.b);
        lk_buf_putc(&out, ',');
        put_word(&out, "msgHash", message);
        lk_buf_putc(&out, ',');
        put_address(&out, "nonceTimesGeneratorAddress", sig.nonce_address);
        lk_buf_puts(&out, "}\n");
        fputs(lk_buf_str(&out), stdout);
        lk_buf_done(&out);
        return LK_EXIT_OK;
}

int lk_cmd_schnorr(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "sign") == 0)
                return schnorr_sign(argc - 1, argv + 1);
        fputs(schnorr_usage, stderr);
        return LK_EXIT_USAGE;
}
