/* See include/linkd/tx.h.  Field orders:
 *   legacy  rlp([nonce, gasPrice, gas, to, value, data, v, r, s]),
 *           signed over rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0]) (EIP-155)
 *   type 2  0x02 ‖ rlp([chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data, accessList, yParity, r, s]),
 *           signed over 0x02 ‖ rlp of the first nine (EIP-1559). */
#include "linkd/tx.h"

#include <errno.h>
#include <string.h>

#include "linkd/keccak.h"
#include "linkd/rlp.h"

/* The fields both forms share, in the type's order, into an open list. */
static void put_fields(lk_buf *out, const lk_tx *tx) {
        if (tx->type == LK_TX_DYNAMIC_FEE) {
                lk_rlp_put_uint(out, tx->chain_id);
                lk_rlp_put_uint(out, tx->nonce);
                lk_rlp_put_word(out, tx->max_priority_fee_per_gas);
                lk_rlp_put_word(out, tx->max_fee_per_gas);
        } else {
                lk_rlp_put_uint(out, tx->nonce);
                lk_rlp_put_word(out, tx->gas_price);
        }
        lk_rlp_put_uint(out, tx->gas_limit);
        lk_rlp_put_bytes(out, tx->to, tx->has_to ? LK_ADDRESS_LEN : 0);
        lk_rlp_put_word(out, tx->value);
        lk_rlp_put_bytes(out, tx->data, tx->data_len);
        if (tx->type == LK_TX_DYNAMIC_FEE) {
                size_t access_list = lk_rlp_list_begin(out);
                lk_rlp_list_end(out, access_list);
        }
}

/* The list, with the signature's three values or EIP-155's (chainId, 0, 0). */
static void encode(lk_buf *out, const lk_tx *tx, const uint8_t *signature, uint64_t v) {
        if (tx->type == LK_TX_DYNAMIC_FEE)
                lk_buf_putc(out, LK_TX_DYNAMIC_FEE);
        size_t list = lk_rlp_list_begin(out);
        put_fields(out, tx);
        if (signature) {
                lk_rlp_put_uint(out, v);
                lk_rlp_put_word(out, signature);
                lk_rlp_put_word(out, signature + 32);
        } else if (tx->type == LK_TX_LEGACY) {
                lk_rlp_put_uint(out, tx->chain_id);
                lk_rlp_put_uint(out, 0);
                lk_rlp_put_uint(out, 0);
        }
        lk_rlp_list_end(out, list);
}

void lk_tx_signing_hash(const lk_tx *tx, uint8_t out[static 32]) {
        lk_buf b = LK_BUF_INIT;
        encode(&b, tx, NULL, 0);
        lk_keccak256(b.data, b.len, out);
        lk_buf_done(&b);
}

int lk_tx_sign(const lk_tx *tx, const lk_eth_key *key, lk_buf *raw, uint8_t ret_hash[static 32], lk_err *err) {
        if (tx->type != LK_TX_LEGACY && tx->type != LK_TX_DYNAMIC_FEE)
                return lk_err_set(err, -EINVAL, "transaction type %u is not one linkd sends", tx->type);
        if (tx->type == LK_TX_LEGACY && tx->chain_id == 0)
                return lk_err_set(err, -EINVAL, "a legacy transaction needs a chain id (EIP-155)");
        uint8_t hash[32], signature[LK_ETH_SIGNATURE_LEN];
        lk_tx_signing_hash(tx, hash);
        int r = lk_eth_sign(key, hash, signature, err);
        if (r < 0)
                return r;
        uint64_t v = tx->type == LK_TX_LEGACY ? lk_eth_v_eip155(signature[64], tx->chain_id) : signature[64];
        size_t start = raw->len;
        encode(raw, tx, signature, v);
        lk_keccak256(raw->data + start, raw->len - start, ret_hash);
        return 0;
}

/* ---- decoding ---- */

typedef struct reader {
        lk_rlp_item cursor;
        const char *field;
        lk_err *err;
} reader;

static int next(reader *rd, const char *field, lk_rlp_item *ret) {
        rd->field = field;
        int r = lk_rlp_next(&rd->cursor, ret, rd->err);
        if (r == 0)
                return lk_err_set(rd->err, -EINVAL, "transaction: %s is missing", field);
        if (r < 0)
                lk_err_prefix(rd->err, "transaction: %s", field);
        return r < 0 ? r : 0;
}

static int read_word(reader *rd, const char *field, uint8_t out[static 32]) {
        lk_rlp_item item;
        int r = next(rd, field, &item);
        if (r == 0 && (r = lk_rlp_uint(&item, out, 32, rd->err)) < 0)
                lk_err_prefix(rd->err, "transaction: %s", field);
        return r;
}

static int read_u64(reader *rd, const char *field, uint64_t *ret) {
        uint8_t b[8];
        lk_rlp_item item;
        int r = next(rd, field, &item);
        if (r == 0 && (r = lk_rlp_uint(&item, b, sizeof b, rd->err)) < 0)
                lk_err_prefix(rd->err, "transaction: %s", field);
        if (r < 0)
                return r;
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = v << 8 | b[i];
        *ret = v;
        return 0;
}

static int read_body(reader *rd, lk_tx *tx) {
        lk_rlp_item item;
        int r = 0;
        if (tx->type == LK_TX_DYNAMIC_FEE) {
                if ((r = read_u64(rd, "chainId", &tx->chain_id)) < 0 || (r = read_u64(rd, "nonce", &tx->nonce)) < 0 ||
                    (r = read_word(rd, "maxPriorityFeePerGas", tx->max_priority_fee_per_gas)) < 0 ||
                    (r = read_word(rd, "maxFeePerGas", tx->max_fee_per_gas)) < 0)
                        return r;
        } else if ((r = read_u64(rd, "nonce", &tx->nonce)) < 0 || (r = read_word(rd, "gasPrice", tx->gas_price)) < 0) {
                return r;
        }
        if ((r = read_u64(rd, "gas", &tx->gas_limit)) < 0 || (r = next(rd, "to", &item)) < 0)
                return r;
        if (item.list || (item.len != 0 && item.len != LK_ADDRESS_LEN))
                return lk_err_set(rd->err, -EINVAL, "transaction: to is not an address");
        tx->has_to = item.len != 0;
        if (tx->has_to)
                memcpy(tx->to, item.data, LK_ADDRESS_LEN);
        if ((r = read_word(rd, "value", tx->value)) < 0 || (r = next(rd, "data", &item)) < 0)
                return r;
        if (item.list)
                return lk_err_set(rd->err, -EINVAL, "transaction: data is a list");
        tx->data = item.data;
        tx->data_len = item.len;
        if (tx->type == LK_TX_DYNAMIC_FEE) {
                if ((r = next(rd, "accessList", &item)) < 0)
                        return r;
                if (!item.list || item.len != 0)
                        return lk_err_set(rd->err, -EINVAL, "transaction: only empty access lists are read");
        }
        return 0;
}

int lk_tx_decode(const uint8_t *raw, size_t len, lk_tx *ret, uint8_t ret_from[static LK_ADDRESS_LEN],
                 uint8_t ret_hash[static 32], lk_err *err) {
        lk_tx tx = {.type = LK_TX_LEGACY};
        const uint8_t *body = raw;
        size_t body_len = len;
        if (len > 0 && raw[0] < 0x80) {
                if (raw[0] != LK_TX_DYNAMIC_FEE)
                        return lk_err_set(err, -EINVAL, "transaction: type %u is not one linkd reads", raw[0]);
                tx.type = LK_TX_DYNAMIC_FEE;
                body++;
                body_len--;
        }
        reader rd = {.err = err};
        int r = lk_rlp_decode(body, body_len, &rd.cursor, err);
        if (r < 0)
                return r;
        if (!rd.cursor.list)
                return lk_err_set(err, -EINVAL, "transaction: not a list");
        uint64_t v;
        uint8_t signature[LK_ETH_SIGNATURE_LEN], rs[64];
        if ((r = read_body(&rd, &tx)) < 0 || (r = read_u64(&rd, "v", &v)) < 0 || (r = read_word(&rd, "r", rs)) < 0 ||
            (r = read_word(&rd, "s", rs + 32)) < 0)
                return r;
        if (rd.cursor.len != 0)
                return lk_err_set(err, -EINVAL, "transaction: more fields than its type has");
        int id;
        if (tx.type == LK_TX_DYNAMIC_FEE) {
                id = v <= 1 ? (int)v : -EINVAL;
        } else {
                /* EIP-155: v = id + 35 + 2·chainId; 27/28 before it */
                tx.chain_id = v >= 35 ? (v - 35) / 2 : 0;
                id = lk_eth_recovery_id(v, tx.chain_id);
        }
        if (id < 0)
                return lk_err_set(err, -EINVAL, "transaction: invalid v %llu", (unsigned long long)v);
        memcpy(signature, rs, 64);
        signature[64] = (uint8_t)id;
        uint8_t hash[32];
        lk_tx_signing_hash(&tx, hash);
        if (tx.type == LK_TX_LEGACY && tx.chain_id == 0) {
                /* pre-EIP-155: the hash has no chain id fields */
                lk_buf b = LK_BUF_INIT;
                size_t list = lk_rlp_list_begin(&b);
                put_fields(&b, &tx);
                lk_rlp_list_end(&b, list);
                lk_keccak256(b.data, b.len, hash);
                lk_buf_done(&b);
        }
        if ((r = lk_eth_recover(hash, signature, ret_from, err)) < 0) {
                lk_err_prefix(err, "transaction");
                return r;
        }
        lk_keccak256(raw, len, ret_hash);
        *ret = tx;
        return 0;
}
