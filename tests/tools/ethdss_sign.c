/* ethdss-sign T N: runs a t-of-n ethdss ceremony in process (long-term
 * keys, two dealerless DKGs, partial signatures from T participants) with
 * the kernel's randomness and prints the group signature of a random
 * message as linkd schnorr sign prints one, for tests/onchain to check on
 * SchnorrSECP256K1.sol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptotest.h"
#include "linkd/alloc.h"
#include "linkd/eth.h"
#include "linkd/ethdss.h"

static void must(int r, const lk_err *err) {
        if (r < 0) {
                fprintf(stderr, "ethdss-sign: %s\n", err->msg);
                exit(1);
        }
}

static void print_word(const char *key, const uint8_t w[static 32], const char *after) {
        printf("\"%s\":\"0x", key);
        for (int i = 0; i < 32; i++)
                printf("%02x", w[i]);
        printf("\"%s", after);
}

int main(int argc, char **argv) {
        size_t t = argc == 3 ? strtoul(argv[1], NULL, 10) : 0, n = argc == 3 ? strtoul(argv[2], NULL, 10) : 0;
        if (t < 1 || t > n || n > 64) {
                fprintf(stderr, "usage: ethdss-sign T N (1 <= T <= N <= 64)\n");
                return 2;
        }
        lk_err err = LK_ERR_INIT;
        lk_scalar *secrets = lk_calloc(n, sizeof *secrets);
        lk_point *publics = lk_calloc(n, sizeof *publics);
        lk_dist_key_share *long_shares = lk_calloc(n, sizeof *long_shares);
        lk_dist_key_share *random_shares = lk_calloc(n, sizeof *random_shares);
        for (size_t i = 0; i < n; i++)
                must(lk_schnorr_key_generate(&secrets[i], &publics[i], NULL, &err), &err);
        /* the contract takes only keys with x < HALF_Q: the group draws again */
        for (;;) {
                lktest_dkg_run(n, t, NULL, n, long_shares);
                if (lk_schnorr_public_key_usable(&long_shares[0].commits[0]))
                        break;
                for (size_t i = 0; i < n; i++)
                        lk_dist_key_share_done(&long_shares[i]);
        }
        lktest_dkg_run(n, t, NULL, n, random_shares);
        uint8_t message[32];
        must(lk_random_bytes(NULL, message, sizeof message), &err);
        message[31] |= 1;
        lk_dss *collector = NULL;
        must(lk_dss_new(&secrets[0], publics, n, t, &long_shares[0], &random_shares[0], message, &collector, &err),
             &err);
        lk_dss_partial partial;
        must(lk_dss_partial_sign(collector, NULL, &partial, &err), &err);
        for (size_t i = 1; i < t; i++) {
                lk_dss *d = NULL;
                must(lk_dss_new(&secrets[i], publics, n, t, &long_shares[i], &random_shares[i], message, &d, &err), &err);
                must(lk_dss_partial_sign(d, NULL, &partial, &err), &err);
                must(lk_dss_process_partial(collector, &partial, &err), &err);
                lk_dss_free(d);
        }
        lk_schnorr_signature sig;
        must(lk_dss_signature(collector, &sig, &err), &err);
        const lk_point *x = &long_shares[0].commits[0];
        uint8_t x_coordinate[32];
        char address[43];
        lk_point_x(x, x_coordinate);
        lk_eth_address_text(sig.nonce_address, address);
        printf("{");
        print_word("pkX", x_coordinate, ",");
        printf("\"pkYParity\":%d,", lk_point_y_is_odd(x));
        print_word("signature", sig.s.b, ",");
        print_word("msgHash", message, ",");
        printf("\"nonceTimesGeneratorAddress\":\"%s\"}\n", address);
        lk_dss_free(collector);
        for (size_t i = 0; i < n; i++) {
                lk_scalar_wipe(&secrets[i]);
                lk_dist_key_share_done(&long_shares[i]);
                lk_dist_key_share_done(&random_shares[i]);
        }
        lk_free(secrets);
        lk_free(publics);
        lk_free(long_shares);
        lk_free(random_shares);
        return 0;
}
