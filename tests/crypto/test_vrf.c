/* Chainlink's VRF: the reference's known answers (computed by an
 * independent prover and accepted on chain by VRF.sol; one of them
 * cross-checked against a proof from Chainlink's Go prover), then seeded
 * random keys and seeds through prove, verify, the Solidity witnesses and
 * the 416-byte form, and tampered proofs. */
#include "lktest.h"
#include "cryptotest.h"

#include <errno.h>
#include <string.h>

#include "linkd/vrf.h"

static void word(const char *hex, uint8_t out[static 32]) {
        lktest_unhex(hex, out, 32);
}

static void assert_point(const lk_point *p, const char *x, const char *y) {
        uint8_t xy[LK_POINT_LEN], want[LK_POINT_LEN];
        lk_point_to_long(p, xy);
        lktest_unhex(x, want, 32);
        lktest_unhex(y, want + 32, 32);
        if (memcmp(xy, want, sizeof xy) != 0) {
                lktest_assert_hex(xy, 32, x);
                lktest_assert_hex(xy + 32, 32, y);
        }
}

static void the_reference_proof(void **state) {
        (void)state;
        lk_scalar secret, nonce;
        uint8_t seed[32];
        word("2a", secret.b);
        word("1234", nonce.b);
        word("10", seed);
        lk_vrf_proof p;
        lk_err err = LK_ERR_INIT;
        if (lk_vrf_prove_with_nonce(&secret, seed, &nonce, &p, &err) < 0)
                fail_msg("prove: %s", err.msg);
        assert_point(&p.pk, "fe8d1eb1bcb3432b1db5833ff5f2226d9cb5e65cee430558c18ed3a3c86ce1af",
                     "07b158f244cd0de2134ac7c1d371cffbfae4db40801a2572e531c573cda9b5b4");
        lk_point h;
        assert_int_equal(lk_vrf_hash_to_curve(&p.pk, seed, &h, NULL), 0);
        assert_point(&h, "b550829e9bf0f4dce9a342a26622b18f00955f9ea474f7564902c5039259294a",
                     "55c3022c973ab635e110bd69a4fe5de86639193d870738d8a30bfb76ef431b38");
        assert_point(&p.gamma, "044b26bf2fb58af0e2420fb3ca84e887807f5001903cc02acb4e625dd4b6532d",
                     "7afd5b8f7aa917f2028772b70e491d16979fcad12b52c43325c7bb7a3c3d0fb4");
        lktest_assert_hex(p.c, 32, "2d285f0f5c3b4b769851061bfee3675e14c338126acec6ca4367a161b0737547");
        lktest_assert_hex(p.s.b, 32, "9760677ade459e8b02b4ff682eb10a866d6fb42ff45864aeef927a5f8ec0de96");
        lktest_assert_hex(p.output, 32, "9b42bb95bad0dcf91c778ec1456e8d651893541833936e143326dc2f89a24c3d");
        lk_vrf_solidity_proof sp;
        assert_int_equal(lk_vrf_solidity(&p, &sp, NULL), 0);
        lktest_assert_hex(sp.u_witness, LK_ADDRESS_LEN, "Cf03Dd0a894Ef79CB5b601A43C4b25E3Ae4c67eD");
        assert_point(&sp.c_gamma_witness, "2bf24afaa17b0e61be1971a3e17267ce7aabcaba976139cb3b8b94df2987886b",
                     "226f3093a154b73503f8f95461ca9c705131f0857347511e0377a64e971c684d");
        assert_point(&sp.s_hash_witness, "8ae6f4c8bff63bc02d1118a373f8540710082d0a184e17f70b977daeec152945",
                     "1cbe37839e966db1c75d768fc27fc4ccc68230fff23a29b8b77eb51176c63611");
        lktest_assert_hex(sp.z_inv, 32, "1bfa7938bb5664aa2ac8463067e4a5204d2ffa93ca586a16ca330f51cd87027b");
        uint8_t key_hash[32];
        lk_vrf_key_hash(&p.pk, key_hash);
        lktest_assert_hex(key_hash, 32, "150f17c3937a04fcff63a894ae3dffee97f92db0201d11cb8877c89738353bce");
}

static void the_reference_v2_seed(void **state) {
        (void)state;
        uint8_t pre_seed[32], block_hash[32], seed[32], key_hash[32], request_id[32];
        word("3039", pre_seed); /* 12345 */
        word("aa", block_hash);
        lk_vrf_seed_v2(pre_seed, block_hash, seed);
        lktest_assert_hex(seed, 32, "c0dfe91f3b9ec6e8595845c18b2cf5e1d20800c53439ccd3c50b609f97545317");
        lk_scalar secret;
        word("2a", secret.b);
        lk_vrf_proof p;
        assert_int_equal(lk_vrf_prove(&secret, seed, NULL, &p, NULL), 0);
        lktest_assert_hex(p.output, 32, "0eccd8984a4335b747231f0f143e80553296e595213700c6dd3a9ee0737e8658");
        lk_vrf_key_hash(&p.pk, key_hash);
        lk_vrf_request_id(key_hash, pre_seed, request_id);
        lktest_assert_hex(request_id, 32, "627d0cd8a7278cb0ff50f18dbf9cd9f9fdbfcd14a4f1d352b85b174c424d309a");
        /* random words: keccak(output ‖ u256(i)) */
        uint8_t words[2][32];
        lk_vrf_random_words(p.output, 2, words);
        assert_memory_not_equal(words[0], words[1], 32);
}

static lk_point point_of(const char *x, const char *y) {
        uint8_t xy[LK_POINT_LEN];
        lktest_unhex(x, xy, 32);
        lktest_unhex(y, xy + 32, 32);
        lk_point p;
        lk_err err = LK_ERR_INIT;
        if (lk_point_from_long(&p, xy, &err) < 0)
                fail_msg("%s", err.msg);
        return p;
}

/* A proof from Chainlink's own Go prover (its generate-proof-v2-plus
 * command, as quoted in Chainlink's VRFV2Plus Foundry test, where the
 * coordinator accepts it): pre-seed 94043941…136884, block hash 0x…0a.
 * The C verifier accepts it, and linkd derives the same actual seed, key
 * hash, output and Solidity witnesses. */
static void a_proof_from_chainlinks_go_prover(void **state) {
        (void)state;
        lk_vrf_proof p = {.pk = point_of("a0434d9e47f3c86235477c7b1ae6ae5d3442d49b1943c2b752a68e2a47e247c7",
                                         "893aba425419bc27a3b6c7e693a24c696f794c2ed877a1593cbee53b037368d7"),
                          .gamma = point_of("291b94539f306aa1e555018e936c2d4198fc6d75919e4fcbe38866d9e654e864",
                                            "7b170e86a5b608a4d15cc0b0212a74213d7c69b4630fc1a8c3e16b49183e7943")};
        word("7d1fd3674463b44be71a1290e651c4dab0a1de2b1994a894b5eef321d40dad6e", p.c);
        word("862025e591f9d4ab1ba86bfc44b6d9e0a83fa98e55475c51973b537bf83133ef", p.s.b);
        uint8_t pre_seed[32], block_hash[32], key_hash[32];
        word("cfeafc0a0a4599600db479379caf0f98fc09880fe76209e4213255d0515b2db4", pre_seed);
        word("0a", block_hash);
        lk_vrf_seed_v2(pre_seed, block_hash, p.seed);
        lktest_assert_hex(p.seed, 32, "8865e1fb07eaa772bfa2f28b679cc59ab7250bf37c092f387536fa162d97c783");
        lk_vrf_key_hash(&p.pk, key_hash);
        lktest_assert_hex(key_hash, 32, "9f2353bde94264dbc3d554a94cceba2d7d2b4fdce4304d3e09a1fea9fbeb1528");
        word("c5e28cb0cca4ff585f5cdc6268877f741f20bb06b1baa28bc147242e2fa09adb", p.output);
        lk_err err = LK_ERR_INIT;
        if (lk_vrf_verify(&p, &err) < 0)
                fail_msg("verify: %s", err.msg);
        lk_vrf_solidity_proof sp;
        assert_int_equal(lk_vrf_solidity(&p, &sp, NULL), 0);
        lktest_assert_hex(sp.u_witness, LK_ADDRESS_LEN, "EdbE15fd105cfEFb9CCcbBD84403d1F62719E50d");
        assert_point(&sp.c_gamma_witness, "19fb9e2e5c6524fad2d207a54c8d70de8bb2cc3c9e99ef26736576c14f956762",
                     "208776743d80071eba86019c380131588f222779fa1f42b17e7f969a1eea53b0");
        assert_point(&sp.s_hash_witness, "f2911df2e49e5a499203c1c2103969d54f4590e8cc20403681a54fc864d870ee",
                     "af7e833e6edaecae32d3194339ce35312c021bf8841bb39d7d2f602d09d9c94a");
        lktest_assert_hex(sp.z_inv, 32, "29c86e5fb8dd61e46aebf33573a69847dfae78e4dd68427a8a12ac2acd51ac54");
        /* against the pre-seed itself it is no proof */
        memcpy(p.seed, pre_seed, 32);
        assert_int_equal(lk_vrf_verify(&p, &err), -EINVAL);
}

static void random_proofs_round_trip(void **state) {
        (void)state;
        lktest_stream stream;
        const lk_random *random = lktest_stream_init(&stream, 5);
        for (int i = 0; i < 100; i++) {
                lk_scalar secret;
                uint8_t seed[32];
                assert_int_equal(lk_scalar_random(&secret, random), 0);
                assert_int_equal(lk_random_bytes(random, seed, sizeof seed), 0);
                lk_vrf_proof p, again;
                lk_err err = LK_ERR_INIT;
                if (lk_vrf_prove(&secret, seed, random, &p, &err) < 0)
                        fail_msg("prove: %s", err.msg);
                assert_int_equal(lk_vrf_verify(&p, NULL), 0);
                /* a second proof: another nonce, the same gamma and output */
                assert_int_equal(lk_vrf_prove(&secret, seed, random, &again, NULL), 0);
                assert_memory_not_equal(again.c, p.c, 32);
                assert_true(lk_point_equal(&again.gamma, &p.gamma));
                assert_memory_equal(again.output, p.output, 32);
                lk_vrf_solidity_proof sp, back;
                assert_int_equal(lk_vrf_solidity(&p, &sp, NULL), 0);
                uint8_t marshaled[LK_VRF_MARSHALED_LEN];
                lk_vrf_marshal(&sp, marshaled);
                if (lk_vrf_unmarshal(marshaled, &back, &err) < 0)
                        fail_msg("unmarshal: %s", err.msg);
                assert_memory_equal(back.proof.output, p.output, 32);
                assert_memory_equal(back.z_inv, sp.z_inv, 32);
        }
}

static void tampered_proofs_fail(void **state) {
        (void)state;
        lktest_stream stream;
        const lk_random *random = lktest_stream_init(&stream, 9);
        lk_scalar secret;
        uint8_t seed[32];
        assert_int_equal(lk_scalar_random(&secret, random), 0);
        assert_int_equal(lk_random_bytes(random, seed, sizeof seed), 0);
        lk_vrf_proof p, bad;
        assert_int_equal(lk_vrf_prove(&secret, seed, random, &p, NULL), 0);
        lk_err err = LK_ERR_INIT;
        bad = p;
        bad.c[31] ^= 1;
        assert_int_equal(lk_vrf_verify(&bad, &err), -EINVAL);
        assert_string_equal(err.msg, "invalid proof: the challenge does not match");
        bad = p;
        bad.s.b[31] ^= 1;
        assert_int_equal(lk_vrf_verify(&bad, &err), -EINVAL);
        bad = p;
        bad.seed[0] ^= 1;
        assert_int_equal(lk_vrf_verify(&bad, &err), -EINVAL);
        bad = p;
        lk_point_add(&bad.gamma, &bad.gamma, &p.pk);
        assert_int_equal(lk_vrf_verify(&bad, &err), -EINVAL);
        bad = p;
        bad.output[0] ^= 1;
        assert_int_equal(lk_vrf_verify(&bad, &err), -EINVAL);
        assert_string_equal(err.msg, "the output is not the hash of gamma");

        lk_vrf_solidity_proof sp, back;
        assert_int_equal(lk_vrf_solidity(&p, &sp, NULL), 0);
        uint8_t marshaled[LK_VRF_MARSHALED_LEN];
        lk_vrf_marshal(&sp, marshaled);
        marshaled[LK_VRF_MARSHALED_LEN - 1] ^= 1; /* zInv */
        assert_int_equal(lk_vrf_unmarshal(marshaled, &back, &err), -EINVAL);
        assert_string_equal(err.msg, "the witnesses are not the ones the proof implies");
        marshaled[LK_VRF_MARSHALED_LEN - 1] ^= 1;
        marshaled[63] ^= 1; /* PK off the curve */
        assert_int_equal(lk_vrf_unmarshal(marshaled, &back, &err), -EINVAL);
        assert_string_equal(err.msg, "public key: point is not on the curve");
}

/* fulfillRandomWords' calldata: the selector, the proof's 13 words with
 * the pre-seed in the seed's place, then the commitment's 5. */
static void fulfillment_calldata(void **state) {
        (void)state;
        lk_scalar secret, nonce;
        uint8_t seed[32], pre_seed[32];
        word("2a", secret.b);
        word("1234", nonce.b);
        word("10", seed);
        word("3039", pre_seed);
        lk_vrf_proof p;
        lk_vrf_solidity_proof sp;
        assert_int_equal(lk_vrf_prove_with_nonce(&secret, seed, &nonce, &p, NULL), 0);
        assert_int_equal(lk_vrf_solidity(&p, &sp, NULL), 0);
        lk_vrf_request_commitment rc = {.block_num = 77, .sub_id = 3, .callback_gas_limit = 100000, .num_words = 2};
        lktest_unhex("00000000000000000000000000000000000000ee", rc.sender, LK_ADDRESS_LEN);
        uint8_t data[LK_VRF_FULFILL_CALLDATA_LEN], marshaled[LK_VRF_MARSHALED_LEN];
        lk_vrf_fulfill_calldata(&sp, pre_seed, &rc, data);
        lk_vrf_marshal(&sp, marshaled);
        lktest_assert_hex(data, 4, "af198b97");
        assert_memory_equal(data + 4, marshaled, 192);
        lktest_assert_hex(data + 4 + 192, 32, "3039");
        assert_memory_equal(data + 4 + 224, marshaled + 224, LK_VRF_MARSHALED_LEN - 224);
        const uint8_t *rc_words = data + 4 + LK_VRF_MARSHALED_LEN;
        lktest_assert_hex(rc_words, 32, "4d");
        lktest_assert_hex(rc_words + 32, 32, "3");
        lktest_assert_hex(rc_words + 64, 32, "186a0");
        lktest_assert_hex(rc_words + 96, 32, "2");
        lktest_assert_hex(rc_words + 128, 32, "ee");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(the_reference_proof),
                cmocka_unit_test(the_reference_v2_seed),
                cmocka_unit_test(a_proof_from_chainlinks_go_prover),
                cmocka_unit_test(random_proofs_round_trip),
                cmocka_unit_test(tampered_proofs_fail),
                cmocka_unit_test(fulfillment_calldata),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
