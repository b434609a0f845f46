/* See include/linkd/eth.h. */
#include "linkd/eth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <secp256k1_recovery.h>

#include "linkd/hex.h"
#include "linkd/keccak.h"

static void complete_key(lk_eth_key *key) {
        lk_point_base_mul(&key->public_key, &key->secret);
        lk_point_address(&key->public_key, key->address);
}

int lk_eth_key_generate(lk_eth_key *ret, const lk_random *random, lk_err *err) {
        int r = lk_scalar_random(&ret->secret, random);
        if (r < 0)
                return lk_err_set(err, r, "cannot read random bytes for a key");
        complete_key(ret);
        return 0;
}

int lk_eth_key_from_secret(lk_eth_key *ret, const uint8_t secret[static LK_SCALAR_LEN], lk_err *err) {
        if (!secp256k1_ec_seckey_verify(lk_secp256k1_context(), secret))
                return lk_err_set(err, -EINVAL, "the secret key is zero or not below the group order");
        memcpy(ret->secret.b, secret, LK_SCALAR_LEN);
        complete_key(ret);
        return 0;
}

void lk_eth_key_wipe(lk_eth_key *key) {
        lk_scalar_wipe(&key->secret);
}

int lk_eth_sign(const lk_eth_key *key, const uint8_t hash[static 32], uint8_t ret_signature[static LK_ETH_SIGNATURE_LEN],
                lk_err *err) {
        secp256k1_ecdsa_recoverable_signature sig;
        const secp256k1_context *ctx = lk_secp256k1_context();
        if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, hash, key->secret.b, NULL, NULL))
                return lk_err_set(err, -EINVAL, "cannot sign with this key");
        int id;
        secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, ret_signature, &id, &sig);
        ret_signature[64] = (uint8_t)id;
        return 0;
}

int lk_eth_recover(const uint8_t hash[static 32], const uint8_t signature[static LK_ETH_SIGNATURE_LEN],
                   uint8_t ret_address[static LK_ADDRESS_LEN], lk_err *err) {
        int id = signature[64] >= 27 ? signature[64] - 27 : signature[64];
        if (id < 0 || id > 1)
                return lk_err_set(err, -EINVAL, "invalid signature recovery id %u", signature[64]);
        const secp256k1_context *ctx = lk_secp256k1_context();
        secp256k1_ecdsa_recoverable_signature sig;
        secp256k1_pubkey pub;
        if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, signature, id))
                return lk_err_set(err, -EINVAL, "invalid signature: r or s is not below the group order");
        if (!secp256k1_ecdsa_recover(ctx, &pub, &sig, hash))
                return lk_err_set(err, -EINVAL, "invalid signature: no public key recovers from it");
        lk_point p = {.infinity = false, .key = pub};
        lk_point_address(&p, ret_address);
        return 0;
}

uint64_t lk_eth_v_legacy(int recovery_id) {
        return 27 + (uint64_t)recovery_id;
}

uint64_t lk_eth_v_eip155(int recovery_id, uint64_t chain_id) {
        return (uint64_t)recovery_id + 35 + 2 * chain_id;
}

int lk_eth_recovery_id(uint64_t v, uint64_t chain_id) {
        if (v == 27 || v == 28)
                return (int)(v - 27);
        if (chain_id && (v == 35 + 2 * chain_id || v == 36 + 2 * chain_id))
                return (int)(v - 35 - 2 * chain_id);
        return -EINVAL;
}

void lk_eth_personal_hash(const void *message, size_t len, uint8_t out[static 32]) {
        char prefix[64];
        int n = snprintf(prefix, sizeof prefix, "\x19" "Ethereum Signed Message:\n%zu", len);
        lk_keccak k;
        lk_keccak_init(&k);
        lk_keccak_update(&k, prefix, (size_t)n);
        lk_keccak_update(&k, message, len);
        lk_keccak_final(&k, out);
}

void lk_eth_address_text(const uint8_t address[static LK_ADDRESS_LEN], char out[static 43]) {
        char lower[2 * LK_ADDRESS_LEN + 1];
        lk_hex_encode(lower, address, LK_ADDRESS_LEN);
        uint8_t hash[32];
        lk_keccak256(lower, 2 * LK_ADDRESS_LEN, hash);
        out[0] = '0';
        out[1] = 'x';
        for (size_t i = 0; i < 40; i++) {
                int nibble = i % 2 ? hash[i / 2] & 0xf : hash[i / 2] >> 4;
                char c = lower[i];
                out[i + 2] = nibble >= 8 && c >= 'a' ? (char)(c - 'a' + 'A') : c;
        }
        out[42] = '\0';
}
