/* Keccak-256 against known answers: the classic ones, and inputs around
 * the 136-byte rate computed by an independent implementation
 * (@noble/hashes' keccak_256, the one ethers uses), fed whole and in
 * pieces. */
#include "lktest.h"

#include <string.h>

#include "linkd/keccak.h"

static void assert_digest(const void *data, size_t len, const char *want) {
        uint8_t got[32];
        lk_keccak256(data, len, got);
        lktest_assert_hex(got, sizeof got, want);
}

static void classic_answers(void **state) {
        (void)state;
        assert_digest("", 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
        assert_digest("abc", 3, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
        const char *fox = "The quick brown fox jumps over the lazy dog";
        assert_digest(fox, strlen(fox), "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

static const struct {
        size_t len;
        const char *digest;
} around_the_rate[] = {
        {1, "bc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a"},
        {135, "cbdfd9dee5faad3818d6b06f95a219fd290b0e1706f6a82e5a595b9ce9faca62"},
        {136, "7ce759f1ab7f9ce437719970c26b0a66ff11fe3e38e17df89cf5d29c7d7f807e"},
        {137, "ac73d4fae68b8453f764007c1a20ce95994187861f0c3227a3a8e99a73a3b1db"},
        {271, "27eceb59ebc3dc8a04a5b135be641591a7278540e4556a2ba9f408194e666ec3"},
        {272, "8e2476e65823b24d96ebe239f2c1534cdf763e689e2410c3b1cb0c74e6177bfc"},
        {273, "3f02f134370e4debb95140ef49ddd3aed8c65ff1ed83a43f1b269421f179c5f9"},
        {1000, "af692982e84a5a9688359025660a7857cd28ee7c8d867cfa1677baf2e6d1f63b"},
        {4096, "154a932bb08a718880807903c8724a2e293271f249bd8d7017eb0e9b456a218d"},
};

static void pattern(uint8_t *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                b[i] = (uint8_t)(i % 251);
}

static void lengths_around_the_rate(void **state) {
        (void)state;
        uint8_t data[4096];
        pattern(data, sizeof data);
        for (size_t i = 0; i < sizeof around_the_rate / sizeof *around_the_rate; i++)
                assert_digest(data, around_the_rate[i].len, around_the_rate[i].digest);
}

/* Every way of cutting the input in two (and in single bytes) gives the
 * same digest. */
static void pieces_give_the_same_digest(void **state) {
        (void)state;
        uint8_t data[273];
        pattern(data, sizeof data);
        for (size_t cut = 0; cut <= sizeof data; cut++) {
                lk_keccak k;
                uint8_t got[32];
                lk_keccak_init(&k);
                lk_keccak_update(&k, data, cut);
                lk_keccak_update(&k, data + cut, sizeof data - cut);
                lk_keccak_final(&k, got);
                lktest_assert_hex(got, sizeof got, around_the_rate[6].digest);
        }
        lk_keccak k;
        uint8_t got[32];
        lk_keccak_init(&k);
        for (size_t i = 0; i < sizeof data; i++)
                lk_keccak_update(&k, data + i, 1);
        lk_keccak_final(&k, got);
        lktest_assert_hex(got, sizeof got, around_the_rate[6].digest);
        /* final leaves it ready for the next message */
        lk_keccak_update(&k, "abc", 3);
        lk_keccak_final(&k, got);
        lktest_assert_hex(got, sizeof got, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(classic_answers),
                cmocka_unit_test(lengths_around_the_rate),
                cmocka_unit_test(pieces_give_the_same_digest),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
