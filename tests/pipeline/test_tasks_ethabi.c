/* The ETH ABI tasks (ethabiencode, ethabiencode2, ethabidecode,
 * ethabidecodelog), from Chainlink v1.13's task.eth_abi_*.go and
 * common_eth.go: their parameters, conversions, outputs and every error
 * text, row by row (tests/support/task_rows.h); Chainlink's own log
 * vectors; encodings and selectors checked against ethers 6
 * (tests/onchain/abi-coder.mjs); an Operator OracleRequest log, encoded by
 * ethers, decoded and answered through the real runner as a directrequest
 * job's pipeline does it; and encode → decode → encode giving back the
 * same bytes. */
#include "task_rows.h"

#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/value.h"

/* 62 zeros: with two more digits, a word holding a small number */
#define Z62 "00000000000000000000000000000000000000000000000000000000000000"
#define Z24 "000000000000000000000000"
#define Z56 Z24 "00000000000000000000000000000000"
#define Z60 Z56 "0000"
#define WORD0 Z62 "00"
#define DEADBEEF "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
#define DEADBEEF_55 "0xDeaDbeefdEAdbeefdEadbEEFdeadbeEFdEaDbeeF"
#define CAFEBABE "cafebabecafebabecafebabecafebabecafebabe"
#define CAFEBABE_55 "0xCafEBAbECAFEbAbEcaFEbabECAfebAbEcAFEBaBe"
#define ONES32 "1111111111111111111111111111111111111111111111111111111111111111"

/* ---- ethabiencode ---- */

static void encode_values(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=ethabiencode abi=\"(uint256 value)\" data=<{\"value\": 42}>]",
                  .want = "\"0x" Z62 "2a\"", .type = "string"),
                /* data: a variable (a map, or JSON text), then JSON with variables */
                R(.dot = "t [type=ethabiencode abi=\"(uint256 value)\" data=\"$(d)\"]", .vars = "{\"d\":{\"value\":\"7\"}}",
                  .want = "\"0x" Z62 "07\""),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 value)\" data=\"$(d)\"]",
                  .vars = "{\"d\":\"{\\\"value\\\": 8}\"}", .want = "\"0x" Z62 "08\""),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 value)\" data=<{\"value\": $(x)}>]",
                  .vars = "{\"x\":{\"$decimal\":\"9.99\"}}", .want = "\"0x" Z62 "09\""),
                /* the selector: keccak-256 of the canonical signature */
                R(.dot = "t [type=ethabiencode abi=\"foo()\"]", .want = "\"0xc2985578\""),
                R(.dot = "t [type=ethabiencode abi=\"  f ( uint256 a ) returns (bool)\" data=<{\"a\": 1}>]",
                  .want = "\"0xb3de648b" Z62 "01\""),
                R(.dot = "t [type=ethabiencode abi=\"()\"]", .want = "\"0x\""),
                /* calldata, memory and storage are dropped */
                R(.dot = "t [type=ethabiencode abi=\"f(bytes calldata b, string memory s)\" data=<{\"b\": \"0x01\", \"s\": \"\"}>]",
                  .want = "\"0x8f831ae7" Z62 "40" Z62 "80" Z62 "01" "01" Z62 WORD0 "\""),
                /* integers: truncated decimals, floats, big ones, their ranges */
                R(.dot = "t [type=ethabiencode abi=\"(int8 a, uint64 b, uint256 c, int256 d)\" "
                         "data=<{\"a\": -128, \"b\": 18446744073709551615, \"c\": 3.7, \"d\": \"-1.9\"}>]",
                  .want = "\"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80"
                          "000000000000000000000000000000000000000000000000ffffffffffffffff" Z62 "03"
                          "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\""),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a)\" data=<{\"a\": 115792089237316195423570985008687907853269984665640564039457584007913129639935}>]",
                  .want = "\"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\""),
                R(.dot = "t [type=ethabiencode abi=\"(uint8 a)\" data=<{\"a\": 256}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to uint8: overflow: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(uint8 a)\" data=<{\"a\": -1}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to uint8: overflow: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(int8 a)\" data=<{\"a\": -129}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to int8: overflow: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a)\" data=<{\"a\": -1}>]",
                  .err = "ETHABIEncode: could not ABI encode values: abi: argument 0: -1 is out of range for uint256: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a)\" data=<{\"a\": \"abc\"}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to uint256: can't convert abc to decimal: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a)\" data=<{\"a\": true}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to uint256: type bool cannot be converted to decimal.Decimal (true): bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a)\" data=<{\"a\": [1, \"x\"]}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to uint256: type []interface {} cannot be converted to decimal.Decimal ([1 x]): bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a)\" data=<{\"a\": null}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to uint256: type <nil> cannot be converted to decimal.Decimal (<nil>): bad input for task"),
                /* bool: a bool or strconv.ParseBool's strings */
                R(.dot = "t [type=ethabiencode abi=\"(bool a, bool b)\" data=<{\"a\": \"t\", \"b\": false}>]",
                  .want = "\"0x" Z62 "01" WORD0 "\""),
                R(.dot = "t [type=ethabiencode abi=\"(bool a)\" data=<{\"a\": \"yes\"}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from bool to bool: strconv.ParseBool: parsing \"yes\": invalid syntax: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(bool a)\" data=<{\"a\": 1}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to bool: cannot convert int64 to bool: bad input for task: bad input for task"),
                /* bytes<M> and address: 0x-hex or a string of exactly M bytes,
                 * byte strings cut or padded */
                R(.dot = "t [type=ethabiencode abi=\"(bytes32 a, bytes4 b, bytes4 c, address d, address e)\" data=\"$(d)\"]",
                  .vars = "{\"d\":{\"a\":\"0x" ONES32 "\",\"b\":\"abcd\",\"c\":{\"$bytes\":\"0102\"},\"d\":\"" DEADBEEF_55
                          "\",\"e\":{\"$bytes\":\"" CAFEBABE "\"}}}",
                  .want = "\"0x" ONES32 "61626364" Z56 "0102" Z60 Z24 DEADBEEF Z24 CAFEBABE "\""),
                R(.dot = "t [type=ethabiencode abi=\"(bytes32 a)\" data=<{\"a\": \"0x1234\"}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to bytes32: incorrect length: expected 32, got 2: bad input for task: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(bytes4 a)\" data=<{\"a\": \"abc\"}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to bytes4: incorrect length: expected 4, got 3: bad input for task: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(bytes2 a)\" data=<{\"a\": \"0xzzzz\"}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to bytes2: invalid hex string: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(address a)\" data=<{\"a\": \"0x1234\"}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to address: incorrect length: expected 20, got 2: bad input for task: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(address a)\" data=<{\"a\": 5}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to address: cannot convert int64 to [20]uint8: bad input for task: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(bytes4 a)\" data=<{\"a\": [1, 2, 300]}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to bytes4: cannot convert []interface {} to [4]uint8: bad input for task: bad input for task"),
                /* bytes: 0x-hex decoded, other strings as they are */
                R(.dot = "t [type=ethabiencode abi=\"(bytes a, bytes b)\" data=<{\"a\": \"hi\", \"b\": \"0X01\"}>]",
                  .want = "\"0x" Z62 "40" Z62 "80" Z62 "02" "6869" Z60 Z62 "04" "30583031" Z56 "\""),
                R(.dot = "t [type=ethabiencode abi=\"(bytes a)\" data=<{\"a\": \"0xzz\"}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from []uint8 to bytes: invalid hex string: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(bytes a)\" data=<{\"a\": \"0xabc\"}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from []uint8 to bytes: hex string of odd length: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(bytes a)\" data=<{\"a\": 5}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to bytes: cannot convert int64 to []uint8: bad input for task: bad input for task"),
                /* string: a string or a byte string */
                R(.dot = "t [type=ethabiencode abi=\"(string a)\" data=\"$(d)\"]", .vars = "{\"d\":{\"a\":{\"$bytes\":\"6869\"}}}",
                  .want = "\"0x" Z62 "20" Z62 "02" "6869" Z60 "\""),
                R(.dot = "t [type=ethabiencode abi=\"(string a)\" data=<{\"a\": 5}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to string: cannot convert int64 to string: bad input for task: bad input for task"),
                /* arrays: lists (or byte strings, for uint8) */
                R(.dot = "t [type=ethabiencode abi=\"(uint8[] a, uint16[2] b)\" data=\"$(d)\"]",
                  .vars = "{\"d\":{\"a\":{\"$bytes\":\"0102\"},\"b\":[3,\"4\"]}}",
                  .want = "\"0x" Z62 "60" Z62 "03" Z62 "04" Z62 "02" Z62 "01" Z62 "02\""),
                R(.dot = "t [type=ethabiencode abi=\"(uint256[2] a)\" data=<{\"a\": [1]}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to uint256[2]: incorrect length: expected 2, got 1: bad input for task: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256[] a)\" data=<{\"a\": \"x\"}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to uint256[]: cannot convert string to uint256[]: bad input for task: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(bool[] a)\" data=<{\"a\": [true, \"no\"]}>]",
                  .err = "ETHABIEncode: while converting argument 'a' from <nil> to bool[]: strconv.ParseBool: parsing \"no\": invalid syntax: bad input for task"),
        };
        RUN_ROWS(rows);
}

static void encode_errors(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=ethabiencode data=<{}>]", .err = "abi: parameter is empty"),
                R(.dot = "t [type=ethabiencode abi=\"  \"]", .err = "abi: parameter is empty"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a)\" data=\"$(nope)\"]",
                  .err = "data: key nope (segment 0 in keypath nope): keypath not found"),
                R(.dot = "t [type=ethabiencode data=\"$(nope)\"]",
                  .err = "data: key nope (segment 0 in keypath nope): keypath not found; abi: parameter is empty"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a)\" data=\"$(x)\"]", .vars = "{\"x\":5}",
                  .err = "data: expected map, got int64: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a)\" data=<{\"a\": 1}>]", .inputs = "[{\"$error\":\"boom\"}]",
                  .err = "task inputs: too many errors"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a)\"]",
                  .err = "ETHABIEncode: argument 'a' is missing: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"(uint256 a, uint256 b)\" data=<{\"a\": 1}>]",
                  .err = "ETHABIEncode: argument 'b' is missing: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(uint256 a\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification: f(uint256 a: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(uint256-a)\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification: f(uint256-a): bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(uint256 )\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification, missing argument name: uint256 : bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(uint256 a,)\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification, empty argument: uint256 a,: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(uint256 indexed a)\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification, too many components in argument: uint256 indexed a: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(uint a)\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification: unsupported arg type: uint: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(uint7 a)\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification: unsupported arg type: uint7: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(foo[] a)\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification: unsupported arg type: foo: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(uint256[ a)\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification: invalid arg type in abi: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(uint256[2x] a)\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification: invalid formatting of array type: bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(123 a)\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification: invalid type '123': bad input for task"),
                R(.dot = "t [type=ethabiencode abi=\"f(uint256[0] a)\"]",
                  .err = "ETHABIEncode: while parsing ABI string: bad ABI specification: abi: type \"uint256[0]\" at offset 9: an array of length 0: bad input for task"),
        };
        RUN_ROWS(rows);
}

/* ---- ethabiencode2 ---- */

#define METHOD_F                                                                                                   \
        "{\"name\":\"f\",\"inputs\":[{\"name\":\"a\",\"type\":\"uint256\"},{\"name\":\"t\",\"type\":\"tuple\","      \
        "\"components\":[{\"name\":\"x\",\"type\":\"address\"},{\"name\":\"y_z\",\"type\":\"bytes\"}]}]}"

static void encode2(void **state) {
        (void)state;
        /* f(uint256,(address,bytes)) is 0xa0336cb4 (ethers' id) */
        static const char want_f[] = "\"0xa0336cb4" Z62 "01" Z62 "40" Z24 DEADBEEF Z62 "40" Z62 "02" "0102" Z60 "\"";
        static const lktest_task_row rows[] = {
                /* a tuple from a map keyed by its components' names, or from a list */
                R(.dot = "t [type=ethabiencode2 abi=<" METHOD_F "> data=<{\"a\": 1, \"t\": {\"x\": \"0x" DEADBEEF
                         "\", \"y_z\": \"0x0102\"}}>]",
                  .want = want_f),
                R(.dot = "t [type=ethabiencode2 abi=<" METHOD_F "> data=<{\"a\": \"1\", \"t\": [\"" DEADBEEF_55 "\", \"0x0102\"]}>]",
                  .want = want_f),
                /* keys regardless of case; no name: the arguments alone */
                R(.dot = "t [type=ethabiencode2 abi=<{\"NAME\":\"\",\"Inputs\":[{\"Name\":\"a\",\"TYPE\":\"uint8[]\"}]}> "
                         "data=<{\"a\": [1]}>]",
                  .want = "\"0x" Z62 "20" Z62 "01" Z62 "01\""),
                R(.dot = "t [type=ethabiencode2 abi=<{\"name\":\"g\",\"inputs\":[{\"name\":\"l\",\"type\":\"tuple[]\",\"components\":"
                         "[{\"name\":\"b\",\"type\":\"bool\"}]}]}> data=<{\"l\": [{\"b\": true}, [false]]}>]",
                  .want = "\"0x1ad00fd1" Z62 "20" Z62 "02" Z62 "01" WORD0 "\""),
                R(.dot = "t [type=ethabiencode2 abi=<{\"name\":\"h\"}>]", .want = "\"0xb8c9d365\""),
                /* the tuple's value */
                R(.dot = "t [type=ethabiencode2 abi=<" METHOD_F "> data=<{\"a\": 1, \"t\": {\"x\": \"0x" DEADBEEF
                         "\", \"y_z\": \"0x\", \"w\": 1}}>]",
                  .err = "ETHABIEncode: while converting argument 't' from <nil> to (address,bytes): incorrect length: expected 2, got 3: bad input for task: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<" METHOD_F "> data=<{\"a\": 1, \"t\": 5}>]",
                  .err = "ETHABIEncode: while converting argument 't' from <nil> to (address,bytes): cannot convert int64 to tuple[2]: bad input for task: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<" METHOD_F "> data=<{\"a\": 1, \"t\": {\"x\": 1, \"y_z\": \"0x\"}}>]",
                  .err = "ETHABIEncode: while converting argument 't' from <nil> to (address,bytes): cannot convert int64 to [20]uint8: bad input for task: bad input for task"),
                /* the method's JSON */
                R(.dot = "t [type=ethabiencode2 abi=<{>]",
                  .err = "ETHABIEncode: while parsing ABI string: unexpected end of JSON input: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<[]>]",
                  .err = "ETHABIEncode: while parsing ABI string: json: cannot unmarshal array into Go value of type pipeline.Method: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"name\": 5}>]",
                  .err = "ETHABIEncode: while parsing ABI string: json: cannot unmarshal number into Go struct field Method.Name of type string: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": {}}>]",
                  .err = "ETHABIEncode: while parsing ABI string: json: cannot unmarshal object into Go struct field Method.Inputs of type abi.Arguments: bad input for task"),
                /* an input's error ends the decoding, a type error above does not */
                R(.dot = "t [type=ethabiencode2 abi=<{\"name\": 5, \"inputs\": [\"x\"]}>]",
                  .err = "ETHABIEncode: while parsing ABI string: argument json err: json: cannot unmarshal string into Go value of type abi.ArgumentMarshaling: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [{\"name\": \"a\", \"type\": 5}]}>]",
                  .err = "ETHABIEncode: while parsing ABI string: argument json err: json: cannot unmarshal number into Go struct field ArgumentMarshaling.Type of type string: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [{\"name\": \"a\", \"type\": \"tuple\", \"components\": [{\"indexed\": \"x\"}]}]}>]",
                  .err = "ETHABIEncode: while parsing ABI string: argument json err: json: cannot unmarshal string into Go struct field ArgumentMarshaling.Components.Indexed of type bool: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [{\"name\": \"a\", \"type\": \"tuple\", \"components\": [7]}]}>]",
                  .err = "ETHABIEncode: while parsing ABI string: argument json err: json: cannot unmarshal number into Go struct field ArgumentMarshaling.Components of type abi.ArgumentMarshaling: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [{\"name\": \"a\", \"type\": \"tuple\", \"components\": "
                         "[{\"name\": \"b\", \"type\": \"tuple\", \"components\": [{\"type\": \"bool\"}]}, 5]}]}>]",
                  .err = "ETHABIEncode: while parsing ABI string: argument json err: json: cannot unmarshal number into Go struct field ArgumentMarshaling.Components of type abi.ArgumentMarshaling: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [{\"name\": \"a\", \"type\": \"tuple[]\", \"components\": [null]}]}>]",
                  .err = "ETHABIEncode: while parsing ABI string: invalid type '': bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [null]}>]",
                  .err = "ETHABIEncode: while parsing ABI string: invalid type '': bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [{\"name\": \"a\", \"type\": \"fixed128x18\"}]}>]",
                  .err = "ETHABIEncode: while parsing ABI string: unsupported arg type: fixed128x18: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [{\"name\": \"a\", \"type\": \"tuple\", \"components\": [{\"name\": \"_\", \"type\": \"bool\"}]}]}>]",
                  .err = "ETHABIEncode: while parsing ABI string: abi: purely anonymous or underscored field is not supported: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [{\"name\": \"a\", \"type\": \"tuple\", \"components\": [{\"name\": \"b\", \"type\": \"bool\"}, {\"name\": \"1c\", \"type\": \"bool\"}]}]}>]",
                  .err = "ETHABIEncode: while parsing ABI string: field 1 has invalid name: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [{\"type\": \"uint256\"}]}>]",
                  .err = "ETHABIEncode: bad ABI specification, missing argument name: bad input for task"),
                R(.dot = "t [type=ethabiencode2 abi=<{\"inputs\": [{\"name\": \"a\", \"type\": \"uint256\"}]}>]",
                  .err = "ETHABIEncode: argument 'a' is missing: bad input for task"),
                R(.dot = "t [type=ethabiencode2]", .err = "abi: parameter is empty"),
        };
        RUN_ROWS(rows);
}

/* ---- ethabidecode ---- */

/* ethers' encoding of (42, true, 0xdeadbeef..., 0x11..., 0x0102, "héllo",
 * -5, 255, -1, 2^100, 2^64-1) */
#define SCALARS \
        "000000000000000000000000000000000000000000000000000000000000002a" \
        "0000000000000000000000000000000000000000000000000000000000000001" \
        "000000000000000000000000deadbeefdeadbeefdeadbeefdeadbeefdeadbeef" \
        "1111111111111111111111111111111111111111111111111111111111111111" \
        "0000000000000000000000000000000000000000000000000000000000000160" \
        "00000000000000000000000000000000000000000000000000000000000001a0" \
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffb" \
        "00000000000000000000000000000000000000000000000000000000000000ff" \
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" \
        "0000000000000000000000000000000000000010000000000000000000000000" \
        "000000000000000000000000000000000000000000000000ffffffffffffffff" \
        "0000000000000000000000000000000000000000000000000000000000000002" \
        "0102000000000000000000000000000000000000000000000000000000000000" \
        "0000000000000000000000000000000000000000000000000000000000000006" \
        "68c3a96c6c6f0000000000000000000000000000000000000000000000000000"
#define SCALARS_ABI                                                                                                \
        "uint256 u, bool b, address a, bytes32 h, bytes d, string s, int8 i, uint8 o, int256 n, uint128 w, uint64 x"
#define SCALARS_JSON                                                                                               \
        "{\"a\":\"" DEADBEEF_55 "\",\"b\":true,\"d\":\"0x0102\",\"h\":\"0x" ONES32 "\",\"i\":-5,\"n\":-1,\"o\":255,"  \
        "\"s\":\"héllo\",\"u\":42,\"w\":1267650600228229401496703205376,\"x\":18446744073709551615}"

/* ethers' encoding of ([0xdeadbeef..., 0xcafebabe...], [1, 2], [0xab...],
 * [1, 2], [0xdeadbeef..., 0xcafebabe...], [0x01, 0x], ["a", "b"],
 * [[1, 2], [3, 4]]) as (address[], uint8[], bytes32[], uint8[2],
 * address[2], bytes[], string[], uint256[2][]) */
#define ARRAYS \
        "0000000000000000000000000000000000000000000000000000000000000140" \
        "00000000000000000000000000000000000000000000000000000000000001a0" \
        "0000000000000000000000000000000000000000000000000000000000000200" \
        "0000000000000000000000000000000000000000000000000000000000000001" \
        "0000000000000000000000000000000000000000000000000000000000000002" \
        "000000000000000000000000deadbeefdeadbeefdeadbeefdeadbeefdeadbeef" \
        "000000000000000000000000cafebabecafebabecafebabecafebabecafebabe" \
        "0000000000000000000000000000000000000000000000000000000000000240" \
        "0000000000000000000000000000000000000000000000000000000000000300" \
        "00000000000000000000000000000000000000000000000000000000000003e0" \
        "0000000000000000000000000000000000000000000000000000000000000002" \
        "000000000000000000000000deadbeefdeadbeefdeadbeefdeadbeefdeadbeef" \
        "000000000000000000000000cafebabecafebabecafebabecafebabecafebabe" \
        "0000000000000000000000000000000000000000000000000000000000000002" \
        "0000000000000000000000000000000000000000000000000000000000000001" \
        "0000000000000000000000000000000000000000000000000000000000000002" \
        "0000000000000000000000000000000000000000000000000000000000000001" \
        "abababababababababababababababababababababababababababababababab" \
        "0000000000000000000000000000000000000000000000000000000000000002" \
        "0000000000000000000000000000000000000000000000000000000000000040" \
        "0000000000000000000000000000000000000000000000000000000000000080" \
        "0000000000000000000000000000000000000000000000000000000000000001" \
        "0100000000000000000000000000000000000000000000000000000000000000" \
        "0000000000000000000000000000000000000000000000000000000000000000" \
        "0000000000000000000000000000000000000000000000000000000000000002" \
        "0000000000000000000000000000000000000000000000000000000000000040" \
        "0000000000000000000000000000000000000000000000000000000000000080" \
        "0000000000000000000000000000000000000000000000000000000000000001" \
        "6100000000000000000000000000000000000000000000000000000000000000" \
        "0000000000000000000000000000000000000000000000000000000000000001" \
        "6200000000000000000000000000000000000000000000000000000000000000" \
        "0000000000000000000000000000000000000000000000000000000000000002" \
        "0000000000000000000000000000000000000000000000000000000000000001" \
        "0000000000000000000000000000000000000000000000000000000000000002" \
        "0000000000000000000000000000000000000000000000000000000000000003" \
        "0000000000000000000000000000000000000000000000000000000000000004"
#define BYTES171                                                                                                   \
        "[171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171,171," \
        "171,171,171,171,171]"

static void decode(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                /* each Go value as Chainlink's run keeps it: addresses with their
                 * checksum, bytes<M> as hex at the top and numbers below */
                R(.dot = "t [type=ethabidecode abi=\"" SCALARS_ABI "\" data=\"$(d)\"]", .vars = "{\"d\":{\"$bytes\":\"" SCALARS "\"}}",
                  .want = SCALARS_JSON, .type = "map[string]interface {}"),
                R(.dot = "t [type=ethabidecode abi=\"address[] a, uint8[] b, bytes32[] c, uint8[2] d, address[2] e, bytes[] f, string[] g, uint256[2][] h\"]",
                  .inputs = "[{\"$bytes\":\"" ARRAYS "\"}]",
                  .want = "{\"a\":[\"" DEADBEEF_55 "\",\"" CAFEBABE_55 "\"],\"b\":\"0x0102\",\"c\":[" BYTES171 "],\"d\":\"0x0102\","
                          "\"e\":[\"0x" DEADBEEF "\",\"0x" CAFEBABE "\"],\"f\":[\"0x01\",\"0x\"],\"g\":[\"a\",\"b\"],"
                          "\"h\":[[1,2],[3,4]]}"),
                /* data: 0x-hex text too; trailing data is ignored; no data, nothing */
                R(.dot = "t [type=ethabidecode abi=\"uint256 a\" data=\"$(d)\"]", .vars = "{\"d\":\"0x" Z62 "05" "ff\"}",
                  .want = "{\"a\":5}"),
                R(.dot = "t [type=ethabidecode abi=\"uint256 a, bytes b\" data=\"$(d)\"]", .vars = "{\"d\":\"\"}",
                  .want = "{}"),
                R(.dot = "t [type=ethabidecode abi=\"  \" data=\"$(d)\"]", .vars = "{\"d\":{\"$bytes\":\"01\"}}",
                  .err = "abi: parameter is empty"),
                R(.dot = "t [type=ethabidecode abi=\"bytes memory b\" data=\"$(d)\"]",
                  .vars = "{\"d\":{\"$bytes\":\"" Z62 "20" Z62 "01" "ee" Z62 "\"}}", .want = "{\"b\":\"0xee\"}"),
                /* geth's errors for data too short, unwrapped */
                R(.dot = "t [type=ethabidecode abi=\"uint256 a, uint256 b\" data=\"$(d)\"]", .vars = "{\"d\":\"0x" Z62 "05\"}",
                  .err = "abi: cannot marshal in to go type: length insufficient 32 require 64"),
                R(.dot = "t [type=ethabidecode abi=\"bytes a\" data=\"$(d)\"]", .vars = "{\"d\":\"0x" Z62 "40\"}",
                  .err = "abi: cannot marshal in to go slice: offset 96 would go over slice boundary (len=32)"),
                R(.dot = "t [type=ethabidecode abi=\"string a\" data=\"$(d)\"]", .vars = "{\"d\":\"0x" Z62 "20" Z62 "40\"}",
                  .err = "abi: cannot marshal in to go type: length insufficient 64 require 128"),
                R(.dot = "t [type=ethabidecode abi=\"uint256[] a\" data=\"$(d)\"]",
                  .vars = "{\"d\":\"0x" Z62 "20" Z62 "02" Z62 "01\"}",
                  .err = "abi: cannot marshal in to go array: offset 32 would go over slice boundary (len=64)"),
                R(.dot = "t [type=ethabidecode abi=\"uint256[3] a\" data=\"$(d)\"]", .vars = "{\"d\":\"0x" Z62 "01" Z62 "02\"}",
                  .err = "abi: cannot marshal in to go array: offset 64 would go over slice boundary (len=96)"),
                R(.dot = "t [type=ethabidecode abi=\"bytes a\" data=\"$(d)\"]",
                  .vars = "{\"d\":\"0x" Z62 "20" "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"}",
                  .err = "abi: length larger than int64: 115792089237316195423570985008687907853269984665640564039457584007913129639999"),
                R(.dot = "t [type=ethabidecode abi=\"bool a\" data=\"$(d)\"]", .vars = "{\"d\":\"0x" Z62 "02\"}",
                  .err = "abi: improperly encoded boolean value"),
                /* parameters */
                R(.dot = "t [type=ethabidecode abi=\"uint256 a\"]", .inputs = "[1, 2]",
                  .err = "task inputs: min: 0 max: 1 (got 2): wrong number of task inputs"),
                R(.dot = "t [type=ethabidecode abi=\"uint256 a\"]", .inputs = "[{\"$error\":\"boom\"}]",
                  .err = "task inputs: too many errors"),
                R(.dot = "t [type=ethabidecode abi=\"uint256 a\"]", .err = "data: index out of range"),
                R(.dot = "t [type=ethabidecode]", .inputs = "[5]",
                  .err = "data: expected array of bytes, got int64: bad input for task; abi: parameter is empty"),
                R(.dot = "t [type=ethabidecode abi=\"uint256\"]", .inputs = "[\"0x\"]",
                  .err = "bad ABI specification, missing argument name: uint256: bad input for task"),
                R(.dot = "t [type=ethabidecode abi=\"uint256 indexed a\"]", .inputs = "[\"0x\"]",
                  .err = "bad ABI specification, too many components in argument: uint256 indexed a: bad input for task"),
                R(.dot = "t [type=ethabidecode abi=\"uint256 a,, bool b\"]", .inputs = "[\"0x\"]",
                  .err = "bad ABI specification, empty argument: uint256 a,, bool b: bad input for task"),
                R(.dot = "t [type=ethabidecode abi=\"uint256 a b c d\"]", .inputs = "[\"0x\"]",
                  .err = "bad ABI specification, too many components in argument: uint256 a b c d: bad input for task"),
                R(.dot = "t [type=ethabidecode abi=\"int a\"]", .inputs = "[\"0x\"]",
                  .err = "bad ABI specification: unsupported arg type: int: bad input for task"),
        };
        RUN_ROWS(rows);
}

/* ---- ethabidecodelog ---- */

/* Chainlink's test vectors (task.eth_abi_decode_log_test.go) */
#define ORACLE_REQUEST                                                                                             \
        "OracleRequest(bytes32 indexed specId, address requester, bytes32 requestId, uint256 payment, "           \
        "address callbackAddr, bytes4 callbackFunctionId, uint256 cancelExpiration, uint256 dataVersion, bytes data)"
#define ORACLE_REQUEST_DATA                                                                                        \
        Z24 DEADBEEF "7468652072657175657374206964000000000000000000000000000000000000"                           \
        "0000000000000000000000000000000000000000000000000000000000020a6e" Z24 CAFEBABE                           \
        "6173646600000000000000000000000000000000000000000000000000000000"                                        \
        "0000000000000000000000000000000000000000000000000000000000003039"                                        \
        "000000000000000000000000000000000000000000000000000000000000d431"                                        \
        "0000000000000000000000000000000000000000000000000000000000000100" Z62 "14"                               \
        "7374657665746f7368692073657267616d6f746f000000000000000000000000"
#define ORACLE_REQUEST_TOPIC "d8d7ecc4800d25fa53ce0372f13a416d98907a7ef3d8d3bdd79cf4fe75529c65"
#define JOB_ID_TOPIC "746865206a6f6220696400000000000000000000000000000000000000000000"
#define ORACLE_REQUEST_VARS(data, topics) "{\"foo\":{\"data\":{\"$bytes\":\"" data "\"},\"topics\":" topics "}}"
#define TOPICS_2 "[{\"$bytes\":\"" ORACLE_REQUEST_TOPIC "\"},{\"$bytes\":\"" JOB_ID_TOPIC "\"}]"
#define DECODE_LOG(abi) "t [type=ethabidecodelog abi=\"" abi "\" data=\"$(foo.data)\" topics=\"$(foo.topics)\"]"

static void decode_log(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = DECODE_LOG(ORACLE_REQUEST), .vars = ORACLE_REQUEST_VARS(ORACLE_REQUEST_DATA, TOPICS_2),
                  .want = "{\"callbackAddr\":\"" CAFEBABE_55 "\",\"callbackFunctionId\":\"0x61736466\","
                          "\"cancelExpiration\":12345,\"data\":\"0x7374657665746f7368692073657267616d6f746f\","
                          "\"dataVersion\":54321,\"payment\":133742,"
                          "\"requestId\":\"0x7468652072657175657374206964000000000000000000000000000000000000\","
                          "\"requester\":\"" DEADBEEF_55 "\",\"specId\":\"0x" JOB_ID_TOPIC "\"}",
                  .type = "map[string]interface {}"),
                /* AggregatorV2V3's NewRound: topics as JSON text of hex strings */
                R(.dot = DECODE_LOG("NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt)"),
                  .vars = "{\"foo\":{\"data\":{\"$bytes\":\"" Z62 "0f\"},\"topics\":\"["
                          "\\\"0x0109fc6f55cf40689f02fbaad7af7fe7bbac8a3d2186600afc7d3e10cac60271\\\","
                          "\\\"0x" Z62 "09\\\",\\\"0x" Z24 "f17f52151ebef6c7334fad080c5704d77216b732\\\"]\"}}",
                  .want = "{\"roundId\":9,\"startedAt\":15,\"startedBy\":\"0xf17f52151EbEF6C7334FAD080c5704D77216b732\"}"),
                /* Operator's AuthorizedSendersChanged: topics as a list of hex */
                R(.dot = DECODE_LOG("AuthorizedSendersChanged(address[] senders)"),
                  .vars = "{\"foo\":{\"data\":{\"$bytes\":\"" Z62 "20" Z62 "02" Z24 DEADBEEF Z24 CAFEBABE "\"},"
                          "\"topics\":[\"0xe720bc96024900ba647b8faa27766eb59f72cadf3c7ec34a7365c999f78320db\"]}}",
                  .want = "{\"senders\":[\"" DEADBEEF_55 "\",\"" CAFEBABE_55 "\"]}"),
                /* an indexed string is only its hash; without data, only the topics */
                R(.dot = DECODE_LOG("E(string indexed s, uint8 n)"),
                  .vars = "{\"foo\":{\"data\":\"\",\"topics\":[\"0x" ORACLE_REQUEST_TOPIC "\",\"0x" JOB_ID_TOPIC "\"]}}",
                  .want = "{\"s\":\"0x" JOB_ID_TOPIC "\"}"),
                R(.dot = "t [type=ethabidecodelog abi=\"E(bool indexed b)\" data=\"0x01\" topics=\"$(foo.topics)\"]",
                  .vars = "{\"foo\":{\"topics\":[\"0x" ORACLE_REQUEST_TOPIC "\",\"0x" Z62 "01\"]}}",
                  .want = "{\"b\":true}"),
                /* no indexed fields: the topics are not looked at */
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x" Z62 "03\",\"topics\":null}}",
                  .want = "{\"n\":3}"),
                /* errors */
                R(.dot = DECODE_LOG(ORACLE_REQUEST), .vars = ORACLE_REQUEST_VARS(ORACLE_REQUEST_DATA, "[{\"$bytes\":\"" ORACLE_REQUEST_TOPIC "\"}]"),
                  .err = "topic/field count mismatch: bad input for task"),
                R(.dot = DECODE_LOG(ORACLE_REQUEST),
                  .vars = ORACLE_REQUEST_VARS(Z24 DEADBEEF "7468652072657175657374206964000000000000000000000000000000000000"
                                              "0000000000000000000000000000000000000000000000000000000000020a6e" Z24 CAFEBABE
                                              "6173646600000000000000000000000000000000000000000000000000000000"
                                              "0000000000000000000000000000000000000000000000000000000000003039"
                                              "000000000000000000000000000000000000000000000000000000000000d431"
                                              "0000000000000000000000000000000000000000000000000000", TOPICS_2),
                  .err = "abi: cannot marshal in to go type: length insufficient 250 require 256: bad input for task"),
                R(.dot = DECODE_LOG("OracleRequest(bytes32 indexed specId, address requester, bytes32 requestId, uint256 foobar)"),
                  .vars = ORACLE_REQUEST_VARS(Z24 DEADBEEF "7468652072657175657374206964000000000000000000000000000000000000", TOPICS_2),
                  .err = "abi: cannot marshal in to go type: length insufficient 64 require 96: bad input for task"),
                R(.dot = DECODE_LOG("SomeEvent(bytes32)"), .vars = ORACLE_REQUEST_VARS(ORACLE_REQUEST_DATA, TOPICS_2),
                  .err = "bad ABI specification, missing argument name: bytes32: bad input for task"),
                R(.dot = DECODE_LOG("SomeEvent(bytes32 indexed)"), .vars = ORACLE_REQUEST_VARS(ORACLE_REQUEST_DATA, TOPICS_2),
                  .err = "bad ABI specification, missing argument name: bytes32 indexed: bad input for task"),
                R(.dot = DECODE_LOG("E(indexed bytes32 a)"), .vars = ORACLE_REQUEST_VARS(ORACLE_REQUEST_DATA, TOPICS_2),
                  .err = "bad ABI specification, 'indexed' keyword must appear between argument type and name: indexed bytes32 a: bad input for task"),
                R(.dot = DECODE_LOG("E(bytes32 anonymous a)"), .vars = ORACLE_REQUEST_VARS(ORACLE_REQUEST_DATA, TOPICS_2),
                  .err = "bad ABI specification, unknown keyword 'anonymous' between argument type and name: bytes32 anonymous a: bad input for task"),
                R(.dot = DECODE_LOG("E{}"), .vars = ORACLE_REQUEST_VARS(ORACLE_REQUEST_DATA, TOPICS_2),
                  .err = "bad ABI specification: E{}: bad input for task"),
                R(.dot = DECODE_LOG("E(bool indexed b)"),
                  .vars = "{\"foo\":{\"data\":null,\"topics\":[\"0x" ORACLE_REQUEST_TOPIC "\",\"0x" Z62 "02\"]}}",
                  .err = "abi: improperly encoded boolean value: bad input for task"),
                R(.dot = DECODE_LOG(ORACLE_REQUEST), .vars = ORACLE_REQUEST_VARS(ORACLE_REQUEST_DATA, TOPICS_2),
                  .inputs = "[{\"$error\":\"uh oh\"}]", .err = "task inputs: too many errors"),
                /* topics (HashSliceParam) */
                R(.dot = "t [type=ethabidecodelog abi=\"E(uint8 n)\"]", .err = "topics: parameter is empty"),
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x\",\"topics\":5}}",
                  .err = "topics: HashSliceParam: bad input for task"),
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x\",\"topics\":[5]}}",
                  .err = "topics: HashSliceParam: bad input for task"),
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x\",\"topics\":[\"0x12\"]}}",
                  .err = "topics: HashSliceParam: hex string has length 2, want 64 for Hash: bad input for task"),
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x\",\"topics\":[\"12\"]}}",
                  .err = "topics: HashSliceParam: hex string without 0x prefix: bad input for task"),
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x\",\"topics\":\"[\\\"0x12\\\"]\"}}",
                  .err = "topics: HashSliceParam: hex string has length 2, want 64 for common.Hash: bad input for task"),
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x\",\"topics\":\"[\\\"12\\\"]\"}}",
                  .err = "topics: HashSliceParam: json: cannot unmarshal hex string without 0x prefix into Go value of type common.Hash: bad input for task"),
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x\",\"topics\":\"[\\\"0x" Z62 "zz\\\"]\"}}",
                  .err = "topics: HashSliceParam: json: cannot unmarshal invalid hex string into Go value of type common.Hash: bad input for task"),
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x\",\"topics\":\"[1]\"}}",
                  .err = "topics: HashSliceParam: json: cannot unmarshal non-string into Go value of type common.Hash: bad input for task"),
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x\",\"topics\":\"{}\"}}",
                  .err = "topics: HashSliceParam: json: cannot unmarshal object into Go value of type pipeline.HashSliceParam: bad input for task"),
                R(.dot = DECODE_LOG("E(uint8 n)"), .vars = "{\"foo\":{\"data\":\"0x\",\"topics\":\"[\"}}",
                  .err = "topics: HashSliceParam: unexpected end of JSON input: bad input for task"),
        };
        RUN_ROWS(rows);
}

/* VRF v2's RandomWordsRequested: three indexed fields, one of them an
 * address and one a uint64. */
static void decode_log_vrf_v2(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = DECODE_LOG("RandomWordsRequested(bytes32 indexed keyHash, uint256 requestId, uint256 preSeed, "
                                    "uint64 indexed subId, uint16 minimumRequestConfirmations, uint32 callbackGasLimit, "
                                    "uint32 numWords, address indexed sender)"),
                  .vars = "{\"foo\":{\"data\":{\"$bytes\":\"" Z62 "4d" "00000000000000000000000000000000000000000000000000000000075bcd15"
                          Z62 "03" "00000000000000000000000000000000000000000000000000000000000186a0" Z62 "02\"},"
                          "\"topics\":[{\"$bytes\":\"63373d1c4696214b898952999c9aaec57dac1ee2723cec59bea6888f489a9772\"},"
                          "{\"$bytes\":\"" ONES32 "\"},{\"$bytes\":\"" Z62 "07\"},{\"$bytes\":\"" Z24 CAFEBABE "\"}]}}",
                  .want = "{\"callbackGasLimit\":100000,\"keyHash\":\"0x" ONES32 "\",\"minimumRequestConfirmations\":3,"
                          "\"numWords\":2,\"preSeed\":123456789,\"requestId\":77,\"sender\":\"" CAFEBABE_55 "\",\"subId\":7}"),
        };
        RUN_ROWS(rows);
}

/* ---- against ethers ---- */

/* An encoding case: the task's abi and data, ethers' types and values. */
typedef struct ethers_case {
        const char *abi, *data;
        const char *signature; /* NULL: no selector */
        const char *types, *values;
} ethers_case;

static const ethers_case ethers_cases[] = {
        {"fulfillOracleRequest(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, "
         "uint256 expiration, bytes32 data)",
         "{\"requestId\": \"0x" ONES32 "\", \"payment\": \"1000000000000000000\", \"callbackAddress\": \"" CAFEBABE_55
         "\", \"callbackFunctionId\": \"0x12345678\", \"expiration\": 1700000000, \"data\": \"0x" Z62 "2a\"}",
         "fulfillOracleRequest(bytes32,uint256,address,bytes4,uint256,bytes32)",
         "[\"bytes32\",\"uint256\",\"address\",\"bytes4\",\"uint256\",\"bytes32\"]",
         "[\"0x" ONES32 "\",\"1000000000000000000\",\"0x" CAFEBABE "\",\"0x12345678\",1700000000,\"0x" Z62 "2a\"]"},
        {"fulfillOracleRequest2(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, "
         "uint256 expiration, bytes calldata data)",
         "{\"requestId\": \"0x" ONES32 "\", \"payment\": 1, \"callbackAddress\": \"0x" DEADBEEF
         "\", \"callbackFunctionId\": \"0x12345678\", \"expiration\": 2, \"data\": \"0x0102030405\"}",
         "fulfillOracleRequest2(bytes32,uint256,address,bytes4,uint256,bytes)",
         "[\"bytes32\",\"uint256\",\"address\",\"bytes4\",\"uint256\",\"bytes\"]",
         "[\"0x" ONES32 "\",1,\"0x" DEADBEEF "\",\"0x12345678\",2,\"0x0102030405\"]"},
        {"(bytes32 requestId, uint256 usd, uint256 eur, uint256 jpy)",
         "{\"requestId\": \"0x" ONES32 "\", \"usd\": 12345, \"eur\": \"6789\", \"jpy\": 1.0e3}", NULL,
         "[\"bytes32\",\"uint256\",\"uint256\",\"uint256\"]", "[\"0x" ONES32 "\",12345,6789,1000]"},
        {"g(int256[] a, string[2] s, bytes[] b, address[] c, uint8[3][] d)",
         "{\"a\": [-1, 2, \"-300\"], \"s\": [\"\", \"héllo\"], \"b\": [\"0x\", \"0xff\"], \"c\": [\"" DEADBEEF_55
         "\"], \"d\": [[1, 2, 3], [4, 5, 6]]}",
         "g(int256[],string[2],bytes[],address[],uint8[3][])",
         "[\"int256[]\",\"string[2]\",\"bytes[]\",\"address[]\",\"uint8[3][]\"]",
         "[[-1,2,-300],[\"\",\"héllo\"],[\"0x\",\"0xff\"],[\"0x" DEADBEEF "\"],[[1,2,3],[4,5,6]]]"},
};

static void against_ethers(void **state) {
        (void)state;
        size_t n = sizeof ethers_cases / sizeof ethers_cases[0];
        lk_buf batch = LK_BUF_INIT;
        lk_buf_putc(&batch, '[');
        for (size_t i = 0; i < n; i++) {
                const ethers_case *c = &ethers_cases[i];
                lk_buf_printf(&batch, "%s{\"types\":%s,\"values\":%s", i ? "," : "", c->types, c->values);
                if (c->signature)
                        lk_buf_printf(&batch, ",\"signature\":\"%s\"", c->signature);
                lk_buf_putc(&batch, '}');
        }
        lk_buf_putc(&batch, ']');
        lk_value *answers = lktest_abi_coder(lk_buf_str(&batch));
        int failures = 0;
        for (size_t i = 0; i < n; i++) {
                const ethers_case *c = &ethers_cases[i];
                lk_value *a = lk_value_array_at(answers, i), *selector = lk_value_map_get(a, "selector", 8);
                lk_buf want = LK_BUF_INIT, dot = LK_BUF_INIT;
                lk_buf_printf(&want, "\"%s%s\"", selector ? lk_value_get_string(selector, NULL) : "0x",
                              lk_value_get_string(lk_value_map_get(a, "hex", 3), NULL) + 2);
                lk_buf_printf(&dot, "t [type=ethabiencode abi=\"%s\" data=<%s>]", c->abi, c->data);
                lktest_task_row row = {.line = __LINE__, .dot = lk_buf_str(&dot), .want = lk_buf_str(&want)};
                failures += lktest_run_rows(&row, 1);
                lk_buf_done(&want);
                lk_buf_done(&dot);
        }
        lk_value_unref(answers);
        lk_buf_done(&batch);
        if (failures)
                fail_msg("%d encodings differ from ethers' (listed above)", failures);
}

/* ---- through the runner ---- */

/* A directrequest job's pipeline on an Operator OracleRequest log that
 * ethers encoded: its CBOR request decoded, the answers computed and
 * encoded into fulfillOracleRequest and fulfillOracleRequest2 calls that
 * must be ethers' byte for byte. */
static void oracle_request_through_the_runner(void **state) {
        (void)state;
        /* CBOR {"price": "123.45", "times": 100} */
        static const char cbor[] = "a2657072696365663132332e34356574696d65731864";
        lk_buf batch = LK_BUF_INIT;
        lk_buf_printf(&batch,
                      "[{\"types\":[\"address\",\"bytes32\",\"uint256\",\"address\",\"bytes4\",\"uint256\",\"uint256\",\"bytes\"],"
                      "\"values\":[\"0x%s\",\"0x%s\",\"100000000000000000\",\"0x%s\",\"0x4357855e\",1700000300,1,\"0x%s\"]},"
                      "{\"types\":[\"bytes32\",\"uint256\",\"address\",\"bytes4\",\"uint256\",\"bytes32\"],"
                      "\"signature\":\"fulfillOracleRequest(bytes32,uint256,address,bytes4,uint256,bytes32)\","
                      "\"values\":[\"0x%s\",\"100000000000000000\",\"0x%s\",\"0x4357855e\",1700000300,\"0x%s3039\"]},"
                      "{\"types\":[\"bytes32\",\"uint256\",\"uint256\",\"uint256\"],\"values\":[\"0x%s\",12345,24690,1851750]}]",
                      DEADBEEF, ONES32, CAFEBABE, cbor, ONES32, CAFEBABE, Z60, ONES32);
        lk_value *answers = lktest_abi_coder(lk_buf_str(&batch));
        const char *log_data = lk_value_get_string(lk_value_map_get(lk_value_array_at(answers, 0), "hex", 3), NULL);
        lk_value *fulfill = lk_value_array_at(answers, 1);
        const char *mwr = lk_value_get_string(lk_value_map_get(lk_value_array_at(answers, 2), "hex", 3), NULL);

        /* fulfillOracleRequest2 carries the multi-word response as bytes */
        lk_buf batch2 = LK_BUF_INIT;
        lk_buf_printf(&batch2,
                      "[{\"types\":[\"bytes32\",\"uint256\",\"address\",\"bytes4\",\"uint256\",\"bytes\"],"
                      "\"signature\":\"fulfillOracleRequest2(bytes32,uint256,address,bytes4,uint256,bytes)\","
                      "\"values\":[\"0x%s\",\"100000000000000000\",\"0x%s\",\"0x4357855e\",1700000300,\"%s\"]}]",
                      ONES32, CAFEBABE, mwr);
        lk_value *answers2 = lktest_abi_coder(lk_buf_str(&batch2));
        lk_value *fulfill2 = lk_value_array_at(answers2, 0);

        lk_buf vars = LK_BUF_INIT, want = LK_BUF_INIT;
        lk_buf_printf(&vars,
                      "{\"jobRun\":{\"logData\":{\"$bytes\":\"%s\"},\"logTopics\":[{\"$bytes\":\"" ORACLE_REQUEST_TOPIC
                      "\"},{\"$bytes\":\"" JOB_ID_TOPIC "\"}]}}",
                      log_data + 2);
        lk_buf_printf(&want, "[\"%s%s\",\"%s%s\"]", lk_value_get_string(lk_value_map_get(fulfill, "selector", 8), NULL),
                      lk_value_get_string(lk_value_map_get(fulfill, "hex", 3), NULL) + 2,
                      lk_value_get_string(lk_value_map_get(fulfill2, "selector", 8), NULL),
                      lk_value_get_string(lk_value_map_get(fulfill2, "hex", 3), NULL) + 2);
        lktest_assert_outputs(
                "decode_log   [type=ethabidecodelog abi=\"" ORACLE_REQUEST "\"\n"
                "              data=\"$(jobRun.logData)\" topics=\"$(jobRun.logTopics)\"]\n"
                "decode_cbor  [type=cborparse data=\"$(decode_log.data)\"]\n"
                "ds1_multiply [type=multiply input=\"$(decode_cbor.price)\" times=\"$(decode_cbor.times)\"]\n"
                "eur          [type=multiply input=\"$(ds1_multiply)\" times=2]\n"
                "jpy          [type=multiply input=\"$(ds1_multiply)\" times=150]\n"
                "encode_data  [type=ethabiencode abi=\"(uint256 value)\" data=<{\"value\": $(ds1_multiply)}>]\n"
                "encode_tx    [type=ethabiencode index=0\n"
                "              abi=\"fulfillOracleRequest(bytes32 requestId, uint256 payment, address callbackAddress, "
                "bytes4 callbackFunctionId, uint256 expiration, bytes32 data)\"\n"
                "              data=<{\"requestId\": $(decode_log.requestId), \"payment\": $(decode_log.payment),\n"
                "                     \"callbackAddress\": $(decode_log.callbackAddr), "
                "\"callbackFunctionId\": $(decode_log.callbackFunctionId),\n"
                "                     \"expiration\": $(decode_log.cancelExpiration), \"data\": $(encode_data)}>]\n"
                "encode_mwr   [type=ethabiencode abi=\"(bytes32 requestId, uint256 usd, uint256 eur, uint256 jpy)\"\n"
                "              data=<{\"requestId\": $(decode_log.requestId), \"usd\": $(ds1_multiply), \"eur\": $(eur), "
                "\"jpy\": $(jpy)}>]\n"
                "encode_tx2   [type=ethabiencode index=1\n"
                "              abi=\"fulfillOracleRequest2(bytes32 requestId, uint256 payment, address callbackAddress, "
                "bytes4 callbackFunctionId, uint256 expiration, bytes calldata data)\"\n"
                "              data=<{\"requestId\": $(decode_log.requestId), \"payment\": $(decode_log.payment),\n"
                "                     \"callbackAddress\": $(decode_log.callbackAddr), "
                "\"callbackFunctionId\": $(decode_log.callbackFunctionId),\n"
                "                     \"expiration\": $(decode_log.cancelExpiration), \"data\": $(encode_mwr)}>]\n"
                "decode_log -> decode_cbor -> ds1_multiply -> encode_data -> encode_tx\n"
                "ds1_multiply -> eur -> encode_mwr\n"
                "ds1_multiply -> jpy -> encode_mwr -> encode_tx2\n",
                lk_buf_str(&vars), "completed", lk_buf_str(&want), "[null,null]");
        lk_buf_done(&vars);
        lk_buf_done(&want);
        lk_buf_done(&batch);
        lk_buf_done(&batch2);
        lk_value_unref(answers);
        lk_value_unref(answers2);
}

/* encode → decode → encode: what ethabidecode gives, ethabiencode takes
 * back to the same bytes (bytes<M> as lists of numbers, checksummed
 * addresses, byte strings for uint8 arrays included). */
static void round_trip(void **state) {
        (void)state;
        static const char args[] =
                "uint8 a, int16 b, uint64 c, int256 d, uint256 e, address f, bool g, bytes32 h, bytes4 i, bytes j, "
                "string k, uint256[] l, address[] m, bytes32[2] n, uint8[] o, int64[2] p, string[] q, address[2] r, "
                "bytes[] s, uint8[2] t, bool[][] u, bytes2[] v";
        static const char data[] =
                "{\"a\": 200, \"b\": -300, \"c\": 18446744073709551615, "
                "\"d\": \"-57896044618658097711785492504343953926634992332820282019728792003956564819968\", "
                "\"e\": 1e30, \"f\": \"0x" CAFEBABE "\", \"g\": true, \"h\": \"0x" ONES32 "\", \"i\": \"abcd\", "
                "\"j\": \"0x00ff\", \"k\": \"\\u00e9\", \"l\": [1, 2, 3], \"m\": [\"0x" DEADBEEF "\"], "
                "\"n\": [\"0x" ONES32 "\", \"0x" ONES32 "\"], \"o\": [0, 255], \"p\": [-1, 1], \"q\": [\"x\", \"\"], "
                "\"r\": [\"0x" DEADBEEF "\", \"0x" CAFEBABE "\"], \"s\": [\"0x\", \"0x01\"], \"t\": [7, 8], "
                "\"u\": [[true], [], [false, true]], \"v\": [\"0xbeef\"]}";
        lk_buf dot = LK_BUF_INIT;
        lk_buf_printf(&dot,
                      "enc   [type=ethabiencode abi=\"(%s)\" data=<%s>]\n"
                      "dec   [type=ethabidecode abi=\"%s\" data=\"$(enc)\"]\n"
                      "enc2  [type=ethabiencode abi=\"(%s)\" data=\"$(dec)\" index=1]\n"
                      "again [type=ethabiencode abi=\"(%s)\" data=<%s> index=0]\n"
                      "enc -> dec -> enc2\n",
                      args, data, args, args, args, data);
        lktest_pipeline_result p;
        lktest_run_pipeline(lk_buf_str(&dot), NULL, &p);
        lk_value *run = lktest_decode_marked(p.json);
        lk_value *outputs = lk_value_map_get(run, "outputs", 7);
        bool ok = strcmp(lk_run_state_name(p.state), "completed") == 0 && lk_value_array_len(outputs) == 2 &&
                  lk_value_type_of(lk_value_array_at(outputs, 0)) == LK_VALUE_STRING &&
                  lk_value_equal(lk_value_array_at(outputs, 0), lk_value_array_at(outputs, 1));
        if (!ok)
                printf("# run: %s\n", p.json);
        lk_value_unref(run);
        lk_free(p.json);
        lk_buf_done(&dot);
        if (!ok)
                fail_msg("encoding the decoded values did not give the same bytes (above)");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(encode_values),
                cmocka_unit_test(encode_errors),
                cmocka_unit_test(encode2),
                cmocka_unit_test(decode),
                cmocka_unit_test(decode_log),
                cmocka_unit_test(decode_log_vrf_v2),
                cmocka_unit_test(against_ethers),
                cmocka_unit_test(oracle_request_through_the_runner),
                cmocka_unit_test(round_trip),
        };
        return cmocka_run_group_tests(tests, lktest_task_rows_setup, lktest_task_rows_teardown);
}
