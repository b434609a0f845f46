/* libFuzzer target for the crypto decoders: points in the long and short
 * forms, 416-byte VRF proofs, and recoverable ECDSA signatures.
 *
 * The first byte picks the decoder; the rest is its input, cut or
 * zero-padded to the decoder's size.  A rejection must come with a
 * message; what decodes must re-encode to the same bytes, and a decoded
 * proof must verify (unmarshal recomputes the witnesses, so anything it
 * accepts is a proof of something). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/eth.h"
#include "linkd/vrf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

/* Copies the input into a buffer of exactly len bytes. */
static void take(uint8_t *out, size_t len, const uint8_t *data, size_t size) {
        memset(out, 0, len);
        memcpy(out, data, size < len ? size : len);
}

static void long_point(const uint8_t *data, size_t size) {
        uint8_t in[LK_POINT_LEN], again[LK_POINT_LEN];
        take(in, sizeof in, data, size);
        lk_point p;
        lk_err err = LK_ERR_INIT;
        if (lk_point_from_long(&p, in, &err) < 0) {
                check(err.msg[0] != '\0');
                return;
        }
        lk_point_to_long(&p, again);
        check(memcmp(in, again, sizeof in) == 0);
}

static void short_point(const uint8_t *data, size_t size) {
        uint8_t in[LK_POINT_SHORT_LEN], again[LK_POINT_SHORT_LEN];
        take(in, sizeof in, data, size);
        lk_point p;
        lk_err err = LK_ERR_INIT;
        if (lk_point_from_short(&p, in, &err) < 0) {
                check(err.msg[0] != '\0');
                return;
        }
        lk_point_to_short(&p, again);
        check(memcmp(in, again, sizeof in) == 0);
}

static void vrf_proof(const uint8_t *data, size_t size) {
        uint8_t in[LK_VRF_MARSHALED_LEN], again[LK_VRF_MARSHALED_LEN];
        take(in, sizeof in, data, size);
        lk_vrf_solidity_proof sp;
        lk_err err = LK_ERR_INIT;
        if (lk_vrf_unmarshal(in, &sp, &err) < 0) {
                check(err.msg[0] != '\0');
                return;
        }
        lk_vrf_marshal(&sp, again);
        check(memcmp(in, again, sizeof in) == 0);
        /* witnesses that match say nothing about c: the proof may still fail */
        lk_err why = LK_ERR_INIT;
        if (lk_vrf_verify(&sp.proof, &why) < 0)
                check(why.msg[0] != '\0');
}

static void ecdsa_signature(const uint8_t *data, size_t size) {
        uint8_t in[32 + LK_ETH_SIGNATURE_LEN], address[LK_ADDRESS_LEN];
        take(in, sizeof in, data, size);
        lk_err err = LK_ERR_INIT;
        if (lk_eth_recover(in, in + 32, address, &err) < 0)
                check(err.msg[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size == 0)
                return 0;
        switch (data[0] % 4) {
        case 0: long_point(data + 1, size - 1); break;
        case 1: short_point(data + 1, size - 1); break;
        case 2: vrf_proof(data + 1, size - 1); break;
        case 3: ecdsa_signature(data + 1, size - 1); break;
        }
        return 0;
}
