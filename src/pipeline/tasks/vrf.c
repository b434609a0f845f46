/* vrf and vrfv2: the proof that answers a randomness request (Chainlink
 * v1.13's task.vrf.go and task.vrfv2.go, with proof.FinalSeed and
 * GenerateProofResponseFromProof[V2]).  Input 0 is the request log as
 * ethabidecodelog decodes it; the secret comes from the node's keystore
 * through lk_pipeline_evm and is wiped as soon as the proof is made. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../params.h"
#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/hex.h"
#include "linkd/vrf.h"
#include "tasks.h"

/* What a Go panic in the task would make of the run: Chainlink's runner
 * recovers it into the task's error. */
#define PANICKED "goroutine panicked when executing run: "

typedef struct vrf_request {
        const lk_value *log; /* input 0, borrowed */
        lk_value *public_key, *block_hash;
        uint64_t block_number;
        uint8_t (*topics)[32];
        size_t topic_count;
        lk_point pk;
        uint8_t pre_seed[32];
} vrf_request;

static void vrf_request_done(vrf_request *q) {
        lk_value_unref(q->public_key);
        lk_value_unref(q->block_hash);
        lk_free(q->topics);
}

/* The four parameters, variables all, every failure at once. */
static int read_params(const lk_task_call *call, vrf_request *q, lk_err *err) {
        lk_err all = LK_ERR_INIT, one = LK_ERR_INIT;
        lk_value *v;
        if ((v = lk_param_required(call, "publicKey", LK_SOURCES(LK_PARAM_VAR_EXPR), &all)))
                lk_param_coerced(lk_param_bytes(v, &q->public_key, &one), "publicKey", &one, &all);
        lk_value_unref(v);
        if ((v = lk_param_required(call, "requestBlockHash", LK_SOURCES(LK_PARAM_VAR_EXPR), &all)))
                lk_param_coerced(lk_param_bytes(v, &q->block_hash, &one), "requestBlockHash", &one, &all);
        lk_value_unref(v);
        if ((v = lk_param_required(call, "requestBlockNumber", LK_SOURCES(LK_PARAM_VAR_EXPR), &all)))
                lk_param_coerced(lk_param_uint64(v, &q->block_number, &one), "requestBlockNumber", &one, &all);
        lk_value_unref(v);
        if ((v = lk_param_required(call, "topics", LK_SOURCES(LK_PARAM_VAR_EXPR), &all)))
                lk_param_coerced(lk_param_hashes(v, &q->topics, &q->topic_count, &one), "topics", &one, &all);
        lk_value_unref(v);
        if (lk_err_is_set(&all)) {
                *err = all;
                return all.code;
        }
        return 0;
}

/* The input (the request log) and the parameters. */
static int read_request(const lk_task_call *call, vrf_request *q, lk_err *err) {
        if (call->input_count != 1)
                return lk_err_set(err, LK_EBAD_INPUT, "wrong number of task inputs");
        if (call->inputs[0].error)
                return lk_err_set(err, LK_ETOO_MANY_ERRORS, "input task errored");
        q->log = call->inputs[0].value;
        if (lk_value_type_of(q->log) != LK_VALUE_MAP)
                return lk_err_set(err, LK_EBAD_INPUT, "expected map input: bad input for task");
        return read_params(call, q, err);
}

/* ---- the request log's fields, with the Go types Chainlink asserts ---- */

static const lk_value *field(const vrf_request *q, const char *key) {
        return lk_value_map_get(q->log, key, strlen(key));
}

static int invalid(lk_err *err, const char *what) {
        return lk_err_set(err, LK_EBAD_INPUT, "invalid %s: bad input for task", what);
}

/* A bytes<n> field ([32]byte, common.Address). */
static int fixed_bytes(const vrf_request *q, const char *key, const char *what, size_t n, uint8_t *out,
                       lk_err *err) {
        const lk_value *v = field(q, key);
        size_t len = 0;
        /* ethabidecodelog gives bytes<M> and addresses as 0x hex, as the
         * run keeps geth's [M]byte and common.Address */
        if (lk_value_type_of(v) == LK_VALUE_STRING) {
                const char *text = lk_value_get_string(v, &len);
                return len == 2 + 2 * n && lk_hex_decode_prefixed(text, out, n) ? 0 : invalid(err, what);
        }
        const unsigned char *b = lk_value_type_of(v) == LK_VALUE_BYTES ? lk_value_get_bytes(v, &len) : NULL;
        if (!b || len != n)
                return invalid(err, what);
        memcpy(out, b, n);
        return 0;
}

/* A *big.Int field (a uint256). */
static const mpz_t *big(const vrf_request *q, const char *key, const char *what, lk_err *err) {
        const lk_value *v = field(q, key);
        if (lk_value_type_of(v) != LK_VALUE_BIGINT) {
                invalid(err, what);
                return NULL;
        }
        return lk_value_get_bigint(v);
}

/* A uint64 or uint32 field (the decoder gives both as uint64). */
static int unsigned_field(const vrf_request *q, const char *key, uint64_t max, uint64_t *ret, lk_err *err) {
        const lk_value *v = field(q, key);
        if (lk_value_type_of(v) != LK_VALUE_UINT64 || lk_value_get_uint64(v) > max)
                return invalid(err, key);
        *ret = lk_value_get_uint64(v);
        return 0;
}

/* ---- the key and the seed ---- */

/* Go's %v of a byte slice: "[1 2 3]". */
static void go_bytes(lk_buf *out, const uint8_t *b, size_t n) {
        lk_buf_append(out, "[", 1);
        for (size_t i = 0; i < n; i++)
                lk_buf_printf(out, "%s%u", i ? " " : "", b[i]);
        lk_buf_append(out, "]", 1);
}

/* NewPublicKeyFromBytes and MustHash, then the check that the request is
 * for this key. */
static int check_key(vrf_request *q, const uint8_t key_hash[static 32], lk_err *err) {
        size_t len;
        const unsigned char *raw = lk_value_get_bytes(q->public_key, &len);
        if (len != LK_POINT_SHORT_LEN)
                return lk_err_set(err, -EINVAL,
                                  "failed to create PublicKey from bytes wrong length for public key: %.*s of "
                                  "length %zu",
                                  (int)len, (const char *)raw, len);
        char hex[2 * LK_POINT_SHORT_LEN + 1];
        lk_hex_encode(hex, raw, len);
        if (lk_point_from_short(&q->pk, raw, NULL) < 0)
                return lk_err_set(err, -EINVAL, PANICKED "Failed to compute hash of public vrf key 0x%s", hex);
        uint8_t want[32];
        char got_hex[65], want_hex[65];
        lk_vrf_key_hash(&q->pk, want);
        if (memcmp(want, key_hash, 32) == 0)
                return 0;
        lk_hex_encode(got_hex, key_hash, 32);
        lk_hex_encode(want_hex, want, 32);
        return lk_err_set(err, -EINVAL, "invalid key hash %s expected %s", got_hex, want_hex);
}

/* The bytes of |v| without leading zeros (none for 0), big.Int.Bytes(). */
static size_t magnitude_len(const mpz_t v) {
        return mpz_sgn(v) ? (mpz_sizeinbase(v, 2) + 7) / 8 : 0;
}

/* proof.BigToSeed: a uint256 as its 32-byte word. */
static int pre_seed_word(const mpz_t pre_seed, uint8_t out[static 32], lk_err *err) {
        if (mpz_sgn(pre_seed) < 0 || mpz_sizeinbase(pre_seed, 2) > 256) {
                lk_buf zeros = LK_BUF_INIT;
                uint8_t none[32] = {0};
                go_bytes(&zeros, none, 32); /* Go prints the zero seed it got back */
                int r = lk_err_set(err, -EINVAL, "unable to parse preseed %s", lk_buf_str(&zeros));
                lk_buf_done(&zeros);
                return r;
        }
        memset(out, 0, 32);
        mpz_export(out + 32 - magnitude_len(pre_seed), NULL, 1, 1, 1, 0, pre_seed);
        return 0;
}

static int check_block_hash(const vrf_request *q, lk_err *err) {
        size_t len;
        lk_value_get_bytes(q->block_hash, &len);
        if (len != 32)
                return lk_err_set(err, -EINVAL, "invalid BlockHash length %zu expected 32", len);
        return 0;
}

/* KeyNotFoundError, naming the key by its 33-byte form as its ID. */
static int key_not_found(const lk_point *pk, lk_err *err) {
        uint8_t id[LK_POINT_SHORT_LEN];
        char hex[2 * LK_POINT_SHORT_LEN + 1];
        lk_point_to_short(pk, id);
        lk_hex_encode(hex, id, sizeof id);
        return lk_err_set(err, -ENOENT, "unable to find VRF key with id 0x%s", hex);
}

/* GenerateProof under the keystore's key for q->pk, with the Solidity
 * witnesses.  *ret_keystore says whether a failure was the keystore's
 * rather than the witnesses' (vrf retries only the latter, vrfv2 both). */
static int prove(const lk_task_call *call, const vrf_request *q, const uint8_t seed[static 32],
                 lk_vrf_solidity_proof *ret, bool *ret_keystore, lk_err *err) {
        const lk_pipeline_evm *evm = call->env->evm;
        lk_scalar secret = {{0}};
        lk_vrf_proof proof;
        *ret_keystore = true;
        int r = evm && evm->vrf_secret ? evm->vrf_secret(evm->arg, &q->pk, &secret, err) : -ENOENT;
        if (r == -ENOENT)
                r = key_not_found(&q->pk, err);
        else if (r == 0)
                r = lk_vrf_prove(&secret, seed, NULL, &proof, err);
        lk_scalar_wipe(&secret);
        if (r < 0)
                return r;
        *ret_keystore = false;
        return lk_vrf_solidity(&proof, ret, err);
}

/* ---- vrf (v1) ---- */

/* The request's jobID must be one of the first two topics.  Go indexes
 * topics[0] and then topics[1] without a length check: a short list
 * panics. */
static int check_job_id(const vrf_request *q, const uint8_t job_id[static 32], lk_err *err) {
        for (size_t i = 0; i < 2; i++) {
                if (i >= q->topic_count)
                        return lk_err_set(err, -ERANGE,
                                          PANICKED "runtime error: index out of range [%zu] with length %zu", i,
                                          q->topic_count);
                if (memcmp(q->topics[i], job_id, 32) == 0)
                        return 0;
        }
        lk_buf text = LK_BUF_INIT;
        lk_buf_printf(&text, "request jobID ");
        go_bytes(&text, job_id, 32);
        lk_buf_printf(&text, " doesn't match expected ");
        go_bytes(&text, q->topics[0], 32);
        lk_buf_printf(&text, " or ");
        go_bytes(&text, q->topics[1], 32);
        int r = lk_err_set(err, -EINVAL, "%s", lk_buf_str(&text));
        lk_buf_done(&text);
        return r;
}

static void put_u256(uint8_t out[static 32], uint64_t v) {
        memset(out, 0, 32);
        for (int i = 0; i < 8; i++)
                out[31 - i] = (uint8_t)(v >> (8 * i));
}

/* A "0x" hex string value of b. */
static lk_value *hex_value(const uint8_t *b, size_t n) {
        char *text = lk_malloc(2 * n + 3);
        memcpy(text, "0x", 2);
        lk_hex_encode(text + 2, b, n);
        lk_value *v = lk_value_string(text, 2 * n + 2);
        lk_free(text);
        return v;
}

/* The log's checks, in Chainlink's order, then the proof. */
static int vrf_v1(const lk_task_call *call, vrf_request *q, lk_task_result *result) {
        lk_err *err = &result->err;
        uint8_t key_hash[32], job_id[32], seed[32];
        const mpz_t *pre_seed;
        int r;
        if ((r = fixed_bytes(q, "keyHash", "keyHash", 32, key_hash, err)) < 0)
                return r;
        if (!(pre_seed = big(q, "seed", "preSeed", err)))
                return LK_EBAD_INPUT;
        if ((r = fixed_bytes(q, "jobID", "requestJobID", 32, job_id, err)) < 0 ||
            (r = check_key(q, key_hash, err)) < 0 || (r = pre_seed_word(*pre_seed, q->pre_seed, err)) < 0 ||
            (r = check_job_id(q, job_id, err)) < 0 || (r = check_block_hash(q, err)) < 0)
                return r;
        /* v1's FinalSeed is V2's: keccak(preSeed ‖ blockHash) */
        lk_vrf_seed_v2(q->pre_seed, lk_value_get_bytes(q->block_hash, NULL), seed);
        lk_vrf_solidity_proof proof;
        bool keystore;
        if ((r = prove(call, q, seed, &proof, &keystore, err)) < 0) {
                result->retryable = !keystore;
                return r;
        }
        /* the response names the request by its pre-seed and block */
        uint8_t response[LK_VRF_MARSHALED_LEN + 32];
        lk_vrf_marshal(&proof, response);
        memcpy(response + 192, q->pre_seed, 32);
        put_u256(response + LK_VRF_MARSHALED_LEN, q->block_number);
        lk_task_ok(result, hex_value(response, sizeof response));
        return 0;
}

typedef int (*vrf_version)(const lk_task_call *call, vrf_request *q, lk_task_result *result);

static void vrf_task(const lk_task_call *call, lk_task_result *result, vrf_version answer) {
        vrf_request q = {.log = NULL};
        if (read_request(call, &q, &result->err) == 0)
                answer(call, &q, result);
        vrf_request_done(&q);
}

void lk__task_vrf(const lk_task_call *call, lk_task_result *result) {
        vrf_task(call, result, vrf_v1);
}

/* ---- vrfv2 ---- */

typedef struct v2_fields {
        uint8_t key_hash[32];
        const mpz_t *pre_seed, *request_id;
        lk_vrf_request_commitment rc;
} v2_fields;

static int read_v2_fields(const vrf_request *q, v2_fields *f, lk_err *err) {
        uint64_t gas, words;
        int r;
        if ((r = fixed_bytes(q, "keyHash", "keyHash", 32, f->key_hash, err)) < 0)
                return r;
        if (!(f->pre_seed = big(q, "preSeed", "preSeed", err)) ||
            !(f->request_id = big(q, "requestId", "requestId", err)))
                return LK_EBAD_INPUT;
        if ((r = unsigned_field(q, "subId", UINT64_MAX, &f->rc.sub_id, err)) < 0 ||
            (r = unsigned_field(q, "callbackGasLimit", UINT32_MAX, &gas, err)) < 0 ||
            (r = unsigned_field(q, "numWords", UINT32_MAX, &words, err)) < 0 ||
            (r = fixed_bytes(q, "sender", "sender", LK_ADDRESS_LEN, f->rc.sender, err)) < 0)
                return r;
        f->rc.callback_gas_limit = (uint32_t)gas;
        f->rc.num_words = (uint32_t)words;
        f->rc.block_num = q->block_number;
        return 0;
}

static lk_value *word_value(const uint8_t word[static 32]) {
        mpz_t n;
        mpz_init(n);
        mpz_import(n, 32, 1, 1, 1, 0, word);
        lk_value *v = lk_value_bigint(n);
        mpz_clear(n);
        return v;
}

/* uint256[2] from two words. */
static lk_value *pair_value(const uint8_t words[static 64]) {
        lk_value *pair = lk_value_array();
        lk_value_array_append(pair, word_value(words));
        lk_value_array_append(pair, word_value(words + 32));
        return pair;
}

static void put(lk_value *map, const char *key, lk_value *v) {
        lk_value_map_put(map, key, strlen(key), v);
}

/* The VRFProof struct of the calldata (its 13 words after the selector),
 * with Go's field names. */
static lk_value *proof_value(const uint8_t *w) {
        lk_value *p = lk_value_map();
        put(p, "Pk", pair_value(w));
        put(p, "Gamma", pair_value(w + 64));
        put(p, "C", word_value(w + 128));
        put(p, "S", word_value(w + 160));
        put(p, "Seed", word_value(w + 192));
        put(p, "UWitness", lk_value_bytes(w + 236, LK_ADDRESS_LEN));
        put(p, "CGammaWitness", pair_value(w + 256));
        put(p, "SHashWitness", pair_value(w + 320));
        put(p, "ZInv", word_value(w + 384));
        return p;
}

static lk_value *commitment_value(const lk_vrf_request_commitment *rc) {
        lk_value *c = lk_value_map();
        put(c, "BlockNum", lk_value_uint64(rc->block_num));
        put(c, "SubId", lk_value_uint64(rc->sub_id));
        put(c, "CallbackGasLimit", lk_value_uint64(rc->callback_gas_limit));
        put(c, "NumWords", lk_value_uint64(rc->num_words));
        put(c, "Sender", lk_value_bytes(rc->sender, LK_ADDRESS_LEN));
        return c;
}

/* Chainlink's result: the calldata, the request id as hexutil encodes
 * big.Int.Bytes() (no leading zeros), and the proof and commitment apart
 * for batching. */
static lk_value *v2_result(const uint8_t calldata[static LK_VRF_FULFILL_CALLDATA_LEN], const mpz_t request_id,
                           const lk_vrf_request_commitment *rc) {
        lk_value *out = lk_value_map();
        put(out, "output", hex_value(calldata, LK_VRF_FULFILL_CALLDATA_LEN));
        size_t n = magnitude_len(request_id);
        uint8_t *id = lk_malloc(n ? n : 1);
        mpz_export(id, NULL, 1, 1, 1, 0, request_id);
        put(out, "requestID", hex_value(id, n));
        lk_free(id);
        put(out, "proof", proof_value(calldata + 4));
        put(out, "requestCommitment", commitment_value(rc));
        return out;
}

static int vrf_v2(const lk_task_call *call, vrf_request *q, lk_task_result *result) {
        lk_err *err = &result->err;
        v2_fields f = {.pre_seed = NULL};
        uint8_t seed[32];
        int r;
        if ((r = read_v2_fields(q, &f, err)) < 0 || (r = check_key(q, f.key_hash, err)) < 0 ||
            (r = pre_seed_word(*f.pre_seed, q->pre_seed, err)) < 0 || (r = check_block_hash(q, err)) < 0)
                return r;
        lk_vrf_seed_v2(q->pre_seed, lk_value_get_bytes(q->block_hash, NULL), seed);
        lk_vrf_solidity_proof proof;
        bool keystore;
        if ((r = prove(call, q, seed, &proof, &keystore, err)) < 0) {
                result->retryable = true;
                return r;
        }
        uint8_t calldata[LK_VRF_FULFILL_CALLDATA_LEN];
        lk_vrf_fulfill_calldata(&proof, q->pre_seed, &f.rc, calldata);
        lk_task_ok(result, v2_result(calldata, *f.request_id, &f.rc));
        return 0;
}

void lk__task_vrfv2(const lk_task_call *call, lk_task_result *result) {
        vrf_task(call, result, vrf_v2);
}
