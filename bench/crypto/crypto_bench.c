/* bench/crypto: the cost of each crypto operation, next to libsecp256k1's
 * own ECDSA sign and verify (the raw library, same process, same run) and
 * Nettle's SHA3-256 (the same permutation behind keccak256).
 *
 * Each operation runs ITERATIONS times over varied inputs, best of
 * ROUNDS rounds (the machine is shared: the best round is the one least
 * disturbed), and prints key=value lines: us per operation and, for the
 * hashes, MB/s.  bench/crypto/run checks the targets. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha3.h>
#include <secp256k1.h>

#include "linkd/eth.h"
#include "linkd/ethschnorr.h"
#include "linkd/keccak.h"
#include "linkd/time.h"
#include "linkd/vrf.h"

#define ROUNDS 5

static int iterations = 200;

typedef void (*op_fn)(void *arg, int i);

/* Best-of-ROUNDS microseconds per call of op. */
static double measure(op_fn op, void *arg, int count) {
        double best = 1e18;
        for (int round = 0; round < ROUNDS; round++) {
                lk_usec start = lk_now_monotonic();
                for (int i = 0; i < count; i++)
                        op(arg, i);
                double per = (double)(lk_now_monotonic() - start) / count;
                if (per < best)
                        best = per;
        }
        return best;
}

static void die(const char *what) {
        fprintf(stderr, "crypto_bench: %s failed\n", what);
        exit(1);
}

/* ---- inputs: keys, seeds, messages and what the operations produce ---- */

typedef struct inputs {
        int n;
        lk_scalar *secrets;
        lk_point *publics;
        uint8_t (*hashes)[32];
        lk_vrf_proof *proofs;
        lk_schnorr_signature *schnorr;
        lk_scalar *schnorr_secrets;
        lk_point *schnorr_publics;
        lk_eth_key *eth_keys;
        uint8_t (*eth_sigs)[LK_ETH_SIGNATURE_LEN];
        secp256k1_ecdsa_signature *raw_sigs;
        secp256k1_pubkey *raw_publics;
        uint8_t *data;
} inputs;

static void make_inputs(inputs *in, int n) {
        in->n = n;
        in->secrets = calloc((size_t)n, sizeof *in->secrets);
        in->publics = calloc((size_t)n, sizeof *in->publics);
        in->hashes = calloc((size_t)n, sizeof *in->hashes);
        in->proofs = calloc((size_t)n, sizeof *in->proofs);
        in->schnorr = calloc((size_t)n, sizeof *in->schnorr);
        in->schnorr_secrets = calloc((size_t)n, sizeof *in->schnorr_secrets);
        in->schnorr_publics = calloc((size_t)n, sizeof *in->schnorr_publics);
        in->eth_keys = calloc((size_t)n, sizeof *in->eth_keys);
        in->eth_sigs = calloc((size_t)n, sizeof *in->eth_sigs);
        in->raw_sigs = calloc((size_t)n, sizeof *in->raw_sigs);
        in->raw_publics = calloc((size_t)n, sizeof *in->raw_publics);
        in->data = malloc(4096);
        for (int i = 0; i < 4096; i++)
                in->data[i] = (uint8_t)i;
        const secp256k1_context *ctx = lk_secp256k1_context();
        for (int i = 0; i < n; i++) {
                if (lk_scalar_random(&in->secrets[i], NULL) < 0 || lk_random_bytes(NULL, in->hashes[i], 32) < 0)
                        die("random");
                lk_point_base_mul(&in->publics[i], &in->secrets[i]);
                if (lk_vrf_prove(&in->secrets[i], in->hashes[i], NULL, &in->proofs[i], NULL) < 0)
                        die("vrf prove");
                if (lk_schnorr_key_generate(&in->schnorr_secrets[i], &in->schnorr_publics[i], NULL, NULL) < 0)
                        die("schnorr key");
                in->hashes[i][0] |= 1; /* the contract refuses a zero message */
                if (lk_schnorr_sign(&in->schnorr_secrets[i], in->hashes[i], NULL, &in->schnorr[i], NULL) < 0)
                        die("schnorr sign");
                if (lk_eth_key_from_secret(&in->eth_keys[i], in->secrets[i].b, NULL) < 0 ||
                    lk_eth_sign(&in->eth_keys[i], in->hashes[i], in->eth_sigs[i], NULL) < 0)
                        die("eth sign");
                if (!secp256k1_ecdsa_sign(ctx, &in->raw_sigs[i], in->hashes[i], in->secrets[i].b, NULL, NULL) ||
                    !secp256k1_ec_pubkey_create(ctx, &in->raw_publics[i], in->secrets[i].b))
                        die("raw sign");
        }
}

/* ---- the operations ---- */

static void raw_ecdsa_sign(void *arg, int i) {
        inputs *in = arg;
        int k = i % in->n;
        secp256k1_ecdsa_signature sig;
        if (!secp256k1_ecdsa_sign(lk_secp256k1_context(), &sig, in->hashes[k], in->secrets[k].b, NULL, NULL))
                die("raw sign");
}

static void raw_ecdsa_verify(void *arg, int i) {
        inputs *in = arg;
        int k = i % in->n;
        if (!secp256k1_ecdsa_verify(lk_secp256k1_context(), &in->raw_sigs[k], in->hashes[k], &in->raw_publics[k]))
                die("raw verify");
}

static void vrf_prove(void *arg, int i) {
        inputs *in = arg;
        int k = i % in->n;
        lk_vrf_proof p;
        if (lk_vrf_prove(&in->secrets[k], in->hashes[k], NULL, &p, NULL) < 0)
                die("vrf prove");
}

static void vrf_verify(void *arg, int i) {
        inputs *in = arg;
        if (lk_vrf_verify(&in->proofs[i % in->n], NULL) < 0)
                die("vrf verify");
}

static void vrf_solidity(void *arg, int i) {
        inputs *in = arg;
        lk_vrf_solidity_proof sp;
        if (lk_vrf_solidity(&in->proofs[i % in->n], &sp, NULL) < 0)
                die("vrf solidity");
}

static void schnorr_sign(void *arg, int i) {
        inputs *in = arg;
        int k = i % in->n;
        lk_schnorr_signature sig;
        if (lk_schnorr_sign(&in->schnorr_secrets[k], in->hashes[k], NULL, &sig, NULL) < 0)
                die("schnorr sign");
}

static void schnorr_verify(void *arg, int i) {
        inputs *in = arg;
        int k = i % in->n;
        if (lk_schnorr_verify(&in->schnorr_publics[k], in->hashes[k], &in->schnorr[k], NULL) < 0)
                die("schnorr verify");
}

static void eth_sign(void *arg, int i) {
        inputs *in = arg;
        int k = i % in->n;
        uint8_t sig[LK_ETH_SIGNATURE_LEN];
        if (lk_eth_sign(&in->eth_keys[k], in->hashes[k], sig, NULL) < 0)
                die("eth sign");
}

static void eth_recover(void *arg, int i) {
        inputs *in = arg;
        int k = i % in->n;
        uint8_t address[LK_ADDRESS_LEN];
        if (lk_eth_recover(in->hashes[k], in->eth_sigs[k], address, NULL) < 0)
                die("eth recover");
}

typedef struct hash_arg {
        inputs *in;
        size_t len;
} hash_arg;

static volatile uint8_t sink;

static void keccak(void *arg, int i) {
        hash_arg *h = arg;
        uint8_t out[32];
        h->in->data[0] = (uint8_t)i;
        lk_keccak256(h->in->data, h->len, out);
        sink ^= out[0];
}

static void nettle_sha3(void *arg, int i) {
        hash_arg *h = arg;
        struct sha3_256_ctx ctx;
        uint8_t out[32];
        h->in->data[0] = (uint8_t)i;
        sha3_256_init(&ctx);
        sha3_256_update(&ctx, h->len, h->in->data);
        sha3_256_digest(&ctx, sizeof out, out);
        sink ^= out[0];
}

static void print_op(const char *name, double us) {
        printf("%s_us=%.2f\n", name, us);
}

static void print_hash(const char *name, double us, size_t len) {
        printf("%s_us=%.3f %s_mb_per_s=%.1f\n", name, us, name, (double)len / us);
}

int main(int argc, char **argv) {
        if (argc > 1)
                iterations = atoi(argv[1]);
        if (iterations < 1)
                iterations = 1;
        inputs in;
        make_inputs(&in, 64);
        print_op("baseline_secp256k1_ecdsa_sign", measure(raw_ecdsa_sign, &in, iterations));
        print_op("baseline_secp256k1_ecdsa_verify", measure(raw_ecdsa_verify, &in, iterations));
        print_op("vrf_prove", measure(vrf_prove, &in, iterations));
        print_op("vrf_verify", measure(vrf_verify, &in, iterations));
        print_op("vrf_solidity_witnesses", measure(vrf_solidity, &in, iterations));
        print_op("schnorr_sign", measure(schnorr_sign, &in, iterations));
        print_op("schnorr_verify", measure(schnorr_verify, &in, iterations));
        print_op("ecdsa_sign", measure(eth_sign, &in, iterations));
        print_op("ecdsa_recover", measure(eth_recover, &in, iterations));
        hash_arg small = {&in, 64}, large = {&in, 4096};
        print_hash("keccak256_64", measure(keccak, &small, iterations * 50), 64);
        print_hash("keccak256_4096", measure(keccak, &large, iterations * 10), 4096);
        print_hash("baseline_nettle_sha3_256_4096", measure(nettle_sha3, &large, iterations * 10), 4096);
        return 0;
}
