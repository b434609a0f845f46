/* The ABI descriptions Chainlink's ETH ABI tasks take, read with the rules
 * and error texts of its core/services/pipeline/common_eth.go and
 * task.eth_abi_encode_2.go (Chainlink v1.13):
 *
 *   a signature  "name(type argName, type indexed argName, ...)", the name
 *                optional (ethabiencode; ethabidecodelog, where "indexed"
 *                may stand between a type and its name);
 *   a list       "type argName, ..." (ethabidecode);
 *   a method     the JSON object {"name": ..., "inputs": [{"name", "type",
 *                "components"}, ...]} (ethabiencode2), read as Go's
 *                encoding/json reads it into geth's abi.Argument.
 *
 * The words calldata, memory and storage are dropped from signatures and
 * lists, as Chainlink drops them.  Types follow geth's abi.NewType
 * ("tuple" with components, arrays as suffixes, and its messages:
 * "unsupported arg type: uint"), except that what geth's regular
 * expressions read into a type that is not a canonical Solidity one
 * ("uint7", "uint256abc" as uint256, "uint256[x]" as uint256[]) is
 * refused: geth would also hash that text into the selector. */
#ifndef LINKD_PIPELINE_ETHABI_H
#define LINKD_PIPELINE_ETHABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/abi.h"
#include "linkd/err.h"

/* The names of a tuple's components, by which values are looked up in a
 * map, and for each component the tuple inside it, if any (through any
 * arrays: the fields of "(uint8 a)[2]" are those of its tuple). */
typedef struct lk__ethabi_fields lk__ethabi_fields;
struct lk__ethabi_fields {
        size_t count;
        char **names;
        lk__ethabi_fields **inner; /* NULL where a component holds no tuple */
};

typedef struct lk__ethabi_arg {
        char *name;                /* "" when a method's input has none */
        bool indexed;
        const lk_abi_type *type;   /* borrowed from the description's tuple */
        lk__ethabi_fields *fields; /* the tuple inside type; NULL if none */
} lk__ethabi_arg;

typedef struct lk__ethabi {
        char *name; /* the method's or event's name; "" when none */
        size_t count;
        lk__ethabi_arg *args;
        lk_abi_type *tuple;      /* every argument's type, in order */
        lk_abi_type *data_tuple; /* the arguments that are not indexed */
} lk__ethabi;

/* Errors are Chainlink's texts without its task's wrapping ("bad ABI
 * specification, missing argument name: uint256"). */
int lk__ethabi_parse_signature(const char *text, size_t len, bool is_log, lk__ethabi **ret, lk_err *err);
int lk__ethabi_parse_list(const char *text, size_t len, lk__ethabi **ret, lk_err *err);
/* Errors are Go's json errors and geth's type errors. */
int lk__ethabi_parse_method(const char *json, size_t len, lk__ethabi **ret, lk_err *err);
/* Accepts NULL; returns NULL. */
lk__ethabi *lk__ethabi_free(lk__ethabi *abi);

/* Go's json.UnmarshalTypeError text for v met where go_type was wanted:
 * in a struct's field ("Method.Name"), or at the top (field NULL). */
int lk__ethabi_type_error(lk_err *err, const lk_value *v, const char *field, const char *go_type);

/* The first four bytes of the keccak-256 of "name(type1,type2,...)". */
void lk__ethabi_selector(const lk__ethabi *abi, uint8_t out[static 4]);

#endif
