/* Pipeline tasks, from the specification (docs: jobs-pipeline.md §2, §3,
 * §7): every non-network task called directly, row by row, and whole
 * pipelines through the real runner (parameter sources, edges, index
 * ordering, errors as inputs, failEarly, retries, run state and JSON).
 * The rows and their markers are tests/support/task_rows.h's. */
#include "task_rows.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/config.h"
#include "linkd/decimal.h"
#include "linkd/pipeline.h"
#include "linkd/service.h"
#include "linkd/value.h"
#include "pipeline/graph.h"
#include "pipeline/task.h"

/* ---- math ---- */

static void multiply(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=multiply input=\"$(x)\" times=10]", .vars = "{\"x\":3}", .want = "\"30\"",
                  .type = "decimal.Decimal"),
                R(.dot = "t [type=multiply input=\"1.5\" times=\" 2 \"]", .want = "\"3\""),
                R(.dot = "t [type=multiply times=2.5]", .inputs = "[\"4\"]", .want = "\"10\""),
                R(.dot = "t [type=multiply times=2]", .inputs = "[4]", .want = "\"8\""),
                R(.dot = "t [type=multiply times=2]", .inputs = "[0.1]", .want = "\"0.2\""),
                R(.dot = "t [type=multiply times=2]", .inputs = "[{\"$bytes\":\"00\"}]",
                  .err = "input: type []uint8 cannot be converted to decimal.Decimal*"),
                /* VarExpr beats the input, a literal beats the input */
                R(.dot = "t [type=multiply input=\"$(x)\" times=10]", .vars = "{\"x\":2}", .inputs = "[100]",
                  .want = "\"20\""),
                R(.dot = "t [type=multiply input=7 times=2]", .inputs = "[100]", .want = "\"14\""),
                R(.dot = "t [type=multiply input=4 times=\"$(k)\"]", .vars = "{\"k\":\"-0.5\"}", .want = "\"-2\""),
                R(.dot = "t [type=multiply input=-3 times=1.1]", .want = "\"-3.3\""),
                R(.dot = "t [type=multiply input=\"$(x.y.0)\" times=\"$(k)\"]",
                  .vars = "{\"x\":{\"y\":[{\"$decimal\":\"1.25\"}]},\"k\":{\"$decimal\":\"4\"}}", .want = "\"5\""),
                R(.dot = "t [type=multiply input=\"123456789012345678901234567890\" times=10]",
                  .want = "\"1234567890123456789012345678900\""),
                R(.dot = "t [type=multiply input=\"$(x)\" times=3]", .vars = "{\"x\":18446744073709551616}",
                  .want = "\"55340232221128654848\""),
                R(.dot = "t [type=multiply input=\"1e3\" times=\"2E-2\"]", .want = "\"20\""),
                R(.dot = "t [type=multiply input=3]", .err = "times: parameter is empty"),
                R(.dot = "t [type=multiply input=3 times=\"  \"]", .err = "times: parameter is empty"),
                R(.dot = "t [type=multiply times=3]", .err = "input: index out of range"),
                R(.dot = "t [type=multiply input=abc times=2]", .err = "input: can't convert abc to decimal: bad input for task"),
                R(.dot = "t [type=multiply input=1 times=\"0x10\"]", .err = "times: can't convert 0x10 to decimal*"),
                R(.dot = "t [type=multiply input=\"$(b)\" times=2]", .vars = "{\"b\":true}",
                  .err = "input: type bool cannot be converted to decimal.Decimal*"),
                R(.dot = "t [type=multiply times=2]", .inputs = "[1, 2]",
                  .err = "task inputs: min: 0 max: 1 (got 2): wrong number of task inputs"),
                R(.dot = "t [type=multiply times=2]", .inputs = "[{\"$error\":\"boom\"}]",
                  .err = "task inputs: too many errors"),
                R(.dot = "t [type=multiply input=\"$(e)\" times=2]", .vars = "{\"e\":{\"$error\":\"boom\"}}",
                  .err = "input: VarExpr: boom: too many errors"),
                R(.dot = "t [type=multiply input=\"$(nope)\" times=2]",
                  .err = "input: key nope (segment 0 in keypath nope): keypath not found"),
                /* shopspring's int32 exponent is bounded tighter in linkd
                 * (LK_DECIMAL_MAX_EXPONENT), with the same error. */
                R(.dot = "t [type=multiply input=\"1e60000\" times=\"1e60000\"]",
                  .err = "multiply overflow: beyond linkd's decimal size limit"),
                R(.dot = "t [type=multiply input=\"1e-60000\" times=\"1e-60000\"]",
                  .err = "multiply overflow: beyond linkd's decimal size limit"),
                R(.dot = "t [type=multiply input=\"1e2147483647\" times=\"1e1\"]",
                  .err = "input: can't convert 1e2147483647 to decimal: exponent beyond linkd's limit of 100000: bad input for task"),
                R(.dot = "t [type=multiply input=\"2e-3\" times=\"5e2\"]", .want = "\"1\""),
        };
        RUN_ROWS(rows);
}

static void divide(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=divide input=10 divisor=4]", .want = "\"2.5\"", .type = "decimal.Decimal"),
                R(.dot = "t [type=divide input=1 divisor=3]", .want = "\"0.3333333333333333\""),
                R(.dot = "t [type=divide input=2 divisor=3]", .want = "\"0.6666666666666667\""),
                R(.dot = "t [type=divide input=1 divisor=6]", .want = "\"0.1666666666666667\""),
                R(.dot = "t [type=divide input=-1 divisor=3]", .want = "\"-0.3333333333333333\""),
                R(.dot = "t [type=divide input=\"0.00000000000000005\" divisor=1]", .want = "\"0.0000000000000001\""),
                R(.dot = "t [type=divide input=\"0.00000000000000004\" divisor=1]", .want = "\"0\""),
                R(.dot = "t [type=divide input=2 divisor=3 precision=2]", .want = "\"0.67\""),
                R(.dot = "t [type=divide input=5 divisor=2 precision=0]", .want = "\"3\""),
                R(.dot = "t [type=divide input=-5 divisor=2 precision=0]", .want = "\"-3\""),
                R(.dot = "t [type=divide input=1234 divisor=1 precision=-1]", .want = "\"1230\""),
                R(.dot = "t [type=divide input=1235 divisor=1 precision=-1]", .want = "\"1240\""),
                R(.dot = "t [type=divide input=150 divisor=1 precision=-2]", .want = "\"200\""),
                R(.dot = "t [type=divide input=1 divisor=3 precision=\"$(p)\"]", .vars = "{\"p\":3}", .want = "\"0.333\""),
                R(.dot = "t [type=divide input=1 divisor=8 precision=\"\"]", .want = "\"0.125\""),
                R(.dot = "t [type=divide divisor=\"$(d)\"]", .vars = "{\"d\":\"0.5\"}", .inputs = "[\"3\"]",
                  .want = "\"6\""),
                R(.dot = "t [type=divide input=\"$(a)\" divisor=2]", .vars = "{\"a\":7}", .inputs = "[100]",
                  .want = "\"3.5\""),
                /* any number of inputs, input 0 is the dividend */
                R(.dot = "t [type=divide divisor=2]", .inputs = "[10, 20]", .want = "\"5\""),
                R(.dot = "t [type=divide divisor=2]", .inputs = "[10, {\"$error\":\"boom\"}]",
                  .err = "task inputs: too many errors"),
                R(.dot = "t [type=divide input=1 divisor=0]", .err = "divide by zero"),
                R(.dot = "t [type=divide input=1 divisor=\"0.000\" precision=2]", .err = "divide by zero"),
                R(.dot = "t [type=divide input=1]", .err = "divisor: parameter is empty"),
                R(.dot = "t [type=divide input=1 divisor=2 precision=x]",
                  .err = "precision: strconv.ParseInt: parsing \"x\": invalid syntax: bad input for task"),
                R(.dot = "t [type=divide input=1 divisor=2 precision=2147483648]",
                  .err = "precision: strconv.ParseInt: parsing \"2147483648\": value out of range: bad input for task"),
                R(.dot = "t [type=divide input=x divisor=y]",
                  .err = "input: can't convert x to decimal: bad input for task; divisor: can't convert y to decimal: bad input for task"),
        };
        RUN_ROWS(rows);
}

static void sum(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=sum values=<[1, 2.5, \"3\"]>]", .want = "\"6.5\"", .type = "decimal.Decimal"),
                R(.dot = "t [type=sum]", .inputs = "[1, 2, 3]", .want = "\"6\""),
                R(.dot = "t [type=sum]", .inputs = "[1, {\"$error\":\"x\"}, 3]", .want = "\"4\""),
                R(.dot = "t [type=sum]", .inputs = "[{\"$error\":\"x\"}, {\"$error\":\"y\"}, 3]", .want = "\"3\""),
                R(.dot = "t [type=sum]", .inputs = "[{\"$error\":\"x\"}, {\"$error\":\"y\"}, {\"$error\":\"z\"}]",
                  .err = "Number of faulty inputs 3 to sum task > number allowed faults 2: too many errors"),
                R(.dot = "t [type=sum allowedFaults=0]", .inputs = "[1, {\"$error\":\"x\"}]",
                  .err = "Number of faulty inputs 1 to sum task > number allowed faults 0: too many errors"),
                R(.dot = "t [type=sum allowedFaults=1]", .inputs = "[{\"$error\":\"x\"}]",
                  .err = "values: wrong number of task inputs"),
                R(.dot = "t [type=sum allowedFaults=5]", .inputs = "[{\"$error\":\"x\"}, 2]", .want = "\"2\""),
                R(.dot = "t [type=sum values=\"$(arr)\"]", .vars = "{\"arr\":[1, 2]}", .inputs = "[100]",
                  .want = "\"3\""),
                R(.dot = "t [type=sum values=<[ $(a), $(b) ]>]", .vars = "{\"a\":1,\"b\":{\"$decimal\":\"2.5\"}}",
                  .want = "\"3.5\""),
                R(.dot = "t [type=sum values=<[ $(a), $(b) ]>]", .vars = "{\"a\":{\"$error\":\"e\"},\"b\":2}",
                  .want = "\"2\""),
                R(.dot = "t [type=sum values=<[\"abc\"]>]",
                  .err = "values: can't convert abc to decimal: bad input for task: bad input for task"),
                R(.dot = "t [type=sum values=<{\"a\":1}>]",
                  .err = "values: expected slice, got map[string]interface {}: bad input for task"),
                R(.dot = "t [type=sum allowedFaults=x]", .inputs = "[1]",
                  .err = "allowedFaults: strconv.ParseUint: parsing \"x\": invalid syntax: bad input for task"),
                R(.dot = "t [type=sum values=<[\"123456789012345678901234567890\", 1]>]",
                  .want = "\"123456789012345678901234567891\""),
                /* len(values)-1 = -1 allowed faults when there are no values at all */
                R(.dot = "t [type=sum values=<[]>]",
                  .err = "Number of faulty inputs 0 to sum task > number allowed faults -1: too many errors"),
                R(.dot = "t [type=sum]",
                  .err = "Number of faulty inputs 0 to sum task > number allowed faults -1: too many errors"),
                /* SliceParam: JSON text and nil are slices too */
                R(.dot = "t [type=sum values=\"$(s)\"]", .vars = "{\"s\":\"[1, 2.5]\"}", .want = "\"3.5\""),
                R(.dot = "t [type=sum values=\"$(n)\"]", .vars = "{\"n\":null}",
                  .err = "Number of faulty inputs 0 to sum task > number allowed faults -1: too many errors"),
                /* a blank allowedFaults is unset */
                R(.dot = "t [type=sum allowedFaults=\" \"]", .inputs = "[{\"$error\":\"x\"}, 2]", .want = "\"2\""),
        };
        RUN_ROWS(rows);
}

static void mean(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=mean values=<[1, 2, 3, 4]>]", .want = "\"2.5\"", .type = "decimal.Decimal"),
                R(.dot = "t [type=mean values=<[1, 1, 2]>]", .want = "\"1.3333333333333333\""),
                R(.dot = "t [type=mean values=<[1, 1, 2]> precision=2]", .want = "\"1.33\""),
                R(.dot = "t [type=mean values=<[1, 2]> precision=0]", .want = "\"2\""),
                R(.dot = "t [type=mean values=<[14, 16]> precision=-1]", .want = "\"20\""),
                R(.dot = "t [type=mean values=<[1, 2]> precision=\"$(p)\"]", .vars = "{\"p\":1}", .want = "\"1.5\""),
                R(.dot = "t [type=mean]", .inputs = "[{\"$error\":\"x\"}, 10, 5]", .want = "\"7.5\""),
                R(.dot = "t [type=mean allowedFaults=3]", .inputs = "[{\"$error\":\"x\"}]",
                  .err = "values: wrong number of task inputs"),
                R(.dot = "t [type=mean allowedFaults=0]", .inputs = "[{\"$error\":\"x\"}, 1]",
                  .err = "Number of faulty inputs 1 to mean task > number allowed faults 0: too many errors"),
                R(.dot = "t [type=mean values=<[1]> precision=x]",
                  .err = "precision: strconv.ParseInt: parsing \"x\": invalid syntax: bad input for task"),
                R(.dot = "t [type=mean values=<[\"-1.5\", \"-2.5\"]>]", .want = "\"-2\""),
        };
        RUN_ROWS(rows);
}

static void median(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=median values=<[1, 2, 3]>]", .want = "\"2\"", .type = "decimal.Decimal"),
                R(.dot = "t [type=median values=<[3, 1, 2]>]", .want = "\"2\""),
                R(.dot = "t [type=median values=<[4, 1, 3, 2]>]", .want = "\"2.5\""),
                R(.dot = "t [type=median values=<[\"0.00000000000000001\", \"0.00000000000000002\"]>]",
                  .want = "\"0\""),
                R(.dot = "t [type=median values=<[\"1.10\", \"-7\", \"100\"]>]", .want = "\"1.1\""),
                R(.dot = "t [type=median]", .inputs = "[{\"$error\":\"x\"}, 4, 6]", .want = "\"5\""),
                R(.dot = "t [type=median allowedFaults=0]", .inputs = "[{\"$error\":\"x\"}, 4, 6]",
                  .err = "Number of faulty inputs 1 to median task > number allowed faults 0: too many errors"),
                R(.dot = "t [type=median values=<[1, \"x\"]>]",
                  .err = "values: can't convert x to decimal: bad input for task: bad input for task"),
                R(.dot = "t [type=median allowedFaults=2]", .inputs = "[{\"$error\":\"x\"}, {\"$error\":\"y\"}]",
                  .err = "values: wrong number of task inputs"),
        };
        RUN_ROWS(rows);
}

static void mode(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=mode values=<[\"a\", \"b\", \"b\"]>]", .want = "{\"occurrences\":2,\"results\":[\"b\"]}"),
                R(.dot = "t [type=mode values=<[\"a\", \"b\"]>]", .want = "{\"occurrences\":1,\"results\":[\"a\",\"b\"]}"),
                /* ties in the order they reached the top count */
                R(.dot = "t [type=mode values=<[\"b\", \"a\", \"a\", \"b\"]>]",
                  .want = "{\"occurrences\":2,\"results\":[\"a\",\"b\"]}"),
                R(.dot = "t [type=mode]", .inputs = "[3, 1, 3, 1, 2]", .want = "{\"occurrences\":2,\"results\":[3,1]}"),
                R(.dot = "t [type=mode values=\"$(arr)\"]",
                  .vars = "{\"arr\":[{\"$decimal\":\"1.50\"}, {\"$decimal\":\"1.5\"}, 2]}",
                  .want = "{\"occurrences\":2,\"results\":[\"1.5\"]}"),
                R(.dot = "t [type=mode values=<[{\"a\":1}, {\"a\":1}, {\"a\":2}]>]",
                  .want = "{\"occurrences\":2,\"results\":[{\"a\":1}]}"),
                R(.dot = "t [type=mode values=<[true, false, true]>]", .want = "{\"occurrences\":2,\"results\":[true]}"),
                R(.dot = "t [type=mode]", .inputs = "[{\"$error\":\"x\"}, \"x\"]",
                  .want = "{\"occurrences\":1,\"results\":[\"x\"]}"),
                R(.dot = "t [type=mode]", .inputs = "[{\"$error\":\"x\"}, {\"$error\":\"y\"}]",
                  .err = "Number of faulty inputs 2 to mode task > number allowed faults 1: too many errors"),
                R(.dot = "t [type=mode allowedFaults=2]", .inputs = "[{\"$error\":\"x\"}, {\"$error\":\"y\"}]",
                  .err = "values: wrong number of task inputs"),
                /* a new leader (or a tie) lists the value that just got there */
                R(.dot = "t [type=mode values=<[\"1\", 1]>]", .want = "{\"occurrences\":2,\"results\":[1]}"),
                R(.dot = "t [type=mode values=\"$(arr)\"]", .vars = "{\"arr\":[{\"$bytes\":\"6869\"}, \"hi\"]}",
                  .want = "{\"occurrences\":2,\"results\":[\"hi\"]}"),
                /* floats compare by %v, Go's shortest representation */
                R(.dot = "t [type=mode values=<[0.30000000000000004, 0.3, 0.3]>]",
                  .want = "{\"occurrences\":2,\"results\":[0.3]}"),
                R(.dot = "t [type=mode values=<[1.2345678, 1.2345679, 1.2345679]>]",
                  .want = "{\"occurrences\":2,\"results\":[1.2345679]}"),
                R(.dot = "t [type=mode values=<[\"1e+06\", 1e6]>]", .want = "{\"occurrences\":2,\"results\":[1000000]}"),
                R(.dot = "t [type=mode values=<[1000000, 1e6]>]",
                  .want = "{\"occurrences\":1,\"results\":[1000000,1000000]}"),
                R(.dot = "t [type=mode values=<[\"123456\", 123456.0, 0.5]>]",
                  .want = "{\"occurrences\":2,\"results\":[123456]}"),
                R(.dot = "t [type=mode values=<[\"1e-05\", 0.00001]>]", .want = "{\"occurrences\":2,\"results\":[0.00001]}"),
        };
        RUN_ROWS(rows);
}

static void any(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=any]", .inputs = "[5]", .want = "5", .type = "int64"),
                R(.dot = "t [type=any]", .inputs = "[{\"$error\":\"x\"}, \"v\", {\"$error\":\"y\"}]", .want = "\"v\""),
                R(.dot = "t [type=any]", .inputs = "[{\"$bytes\":\"0a\"}]", .want = "\"0x0a\"", .type = "[]uint8"),
                R(.dot = "t [type=any]", .inputs = "[{\"$error\":\"x\"}, {\"$error\":\"y\"}]",
                  .err = "There were zero non-errored inputs: bad input for task"),
                R(.dot = "t [type=any]", .err = "AnyTask requires at least 1 input: wrong number of task inputs"),
        };
        RUN_ROWS(rows);

        /* uniformly random among the good inputs: 64 draws see both */
        int seen_1 = 0, seen_2 = 0, other = 0;
        for (int i = 0; i < 64; i++) {
                lktest_call_result c;
                char *problem;
                int r = lktest_call_task("t [type=any]", NULL, "[1, {\"$error\":\"x\"}, 2]", &c, &problem);
                bool one = r == 0 && c.json && strcmp(c.json, "1") == 0;
                bool two = r == 0 && c.json && strcmp(c.json, "2") == 0;
                seen_1 += one;
                seen_2 += two;
                other += !one && !two;
                lk_free(problem);
                lktest_call_result_done(&c);
        }
        assert_int_equal(other, 0);
        assert_true(seen_1 > 0 && seen_2 > 0);
}

static void lessthan(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=lessthan left=1 right=2]", .want = "true", .type = "bool"),
                R(.dot = "t [type=lessthan left=2 right=1]", .want = "false"),
                R(.dot = "t [type=lessthan left=\"2.0\" right=2]", .want = "false"),
                R(.dot = "t [type=lessthan right=1.6]", .inputs = "[\"1.5\"]", .want = "true"),
                R(.dot = "t [type=lessthan left=\"$(l)\" right=\"$(r)\"]", .vars = "{\"l\":-5,\"r\":{\"$decimal\":\"-4.99\"}}",
                  .want = "true"),
                R(.dot = "t [type=lessthan left=\"$(l)\" right=0]", .vars = "{\"l\":1}", .inputs = "[-1]", .want = "false"),
                R(.dot = "t [type=lessthan left=\"1e30\" right=\"999999999999999999999999999999\"]", .want = "false"),
                R(.dot = "t [type=lessthan left=1]", .err = "right: parameter is empty"),
                R(.dot = "t [type=lessthan left=x right=1]", .err = "left: can't convert x to decimal: bad input for task"),
                R(.dot = "t [type=lessthan right=1]", .inputs = "[{\"$error\":\"x\"}]", .err = "task inputs: too many errors"),
                R(.dot = "t [type=lessthan right=1]", .inputs = "[1, 2]",
                  .err = "task inputs: min: 0 max: 1 (got 2): wrong number of task inputs"),
        };
        RUN_ROWS(rows);
}

static void length(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=length input=abc]", .want = "\"3\"", .type = "decimal.Decimal"),
                R(.dot = "t [type=length input=\"h\xc3\xa9llo\"]", .want = "\"6\""),
                R(.dot = "t [type=length input=\"$(b)\"]", .vars = "{\"b\":{\"$bytes\":\"00010203\"}}", .want = "\"4\""),
                R(.dot = "t [type=length input=\"0x0102\"]", .want = "\"2\""),
                R(.dot = "t [type=length input=\"0x012\"]", .want = "\"5\""),
                R(.dot = "t [type=length]", .inputs = "[\"abcd\"]", .want = "\"4\""),
                R(.dot = "t [type=length]", .inputs = "[null]", .want = "\"0\""),
                R(.dot = "t [type=length]", .inputs = "[5]", .err = "input: expected array of bytes, got int64: bad input for task"),
                R(.dot = "t [type=length]", .err = "input: index out of range"),
                R(.dot = "t [type=length]", .inputs = "[{\"$error\":\"x\"}]", .err = "task inputs: too many errors"),
        };
        RUN_ROWS(rows);
}

/* ---- strings and encodings ---- */

static void lowercase_uppercase(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=lowercase input=ABC]", .want = "\"abc\"", .type = "string"),
                R(.dot = "t [type=lowercase input=\"\xc3\x80\xc3\x89\xc3\x8e \xce\xa3\xce\x91\xce\xa3\"]",
                  .want = "\"\xc3\xa0\xc3\xa9\xc3\xae \xcf\x83\xce\xb1\xcf\x83\""),
                R(.dot = "t [type=lowercase input=\"\xc4\xb0\"]", .want = "\"i\""),
                R(.dot = "t [type=lowercase]", .inputs = "[\"MiXeD 123\"]", .want = "\"mixed 123\""),
                R(.dot = "t [type=lowercase input=\"$(s)\"]", .vars = "{\"s\":{\"$bytes\":\"4142\"}}", .want = "\"ab\"",
                  .type = "string"),
                R(.dot = "t [type=lowercase]", .inputs = "[1]", .err = "input: expected string, got int64: bad input for task"),
                R(.dot = "t [type=lowercase]", .inputs = "[{\"$error\":\"x\"}]", .err = "task inputs: too many errors"),
                R(.dot = "t [type=uppercase input=abc]", .want = "\"ABC\""),
                R(.dot = "t [type=uppercase input=\"stra\xc3\x9f" "e \xc3\xa9t\xc3\xa9\"]",
                  .want = "\"STRA\xc3\x9f" "E \xc3\x89T\xc3\x89\""),
                R(.dot = "t [type=uppercase input=\"\xc7\x86\"]", .want = "\"\xc7\x84\""),
                R(.dot = "t [type=uppercase]", .inputs = "[\"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\"]",
                  .want = "\"\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2\""),
                R(.dot = "t [type=uppercase]", .inputs = "[true]", .err = "input: expected string, got bool: bad input for task"),
                /* Go's strings.ToUpper maps invalid UTF-8 to U+FFFD */
                R(.dot = "t [type=uppercase input=\"$(s)\"]", .vars = "{\"s\":{\"$bytes\":\"61ff\"}}",
                  .want = "\"A\xef\xbf\xbd\""),
        };
        RUN_ROWS(rows);
}

static void hexencode(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=hexencode input=hello]", .want = "\"0x68656c6c6f\"", .type = "string"),
                R(.dot = "t [type=hexencode input=\"123\"]", .want = "\"0x313233\""),
                R(.dot = "t [type=hexencode input=\"0xff\"]", .want = "\"0x30786666\""),
                R(.dot = "t [type=hexencode input=\"$(b)\"]", .vars = "{\"b\":{\"$bytes\":\"0a00ff01\"}}",
                  .want = "\"0x0a00ff01\""),
                R(.dot = "t [type=hexencode]", .inputs = "[255]", .want = "\"0xff\""),
                R(.dot = "t [type=hexencode]", .inputs = "[0]", .want = "\"0x0\""),
                R(.dot = "t [type=hexencode]", .inputs = "[256]", .want = "\"0x100\""),
                R(.dot = "t [type=hexencode]", .inputs = "[18446744073709551616]", .want = "\"0x10000000000000000\""),
                R(.dot = "t [type=hexencode]", .inputs = "[2.0]", .want = "\"0x2\""),
                R(.dot = "t [type=hexencode input=\"$(d)\"]", .vars = "{\"d\":{\"$decimal\":\"256\"}}", .want = "\"0x100\""),
                R(.dot = "t [type=hexencode input=\"$(d)\"]", .vars = "{\"d\":{\"$decimal\":\"3.14\"}}", .err = "decimal input"),
                R(.dot = "t [type=hexencode]", .inputs = "[1.44]", .err = "decimal input"),
                R(.dot = "t [type=hexencode]", .inputs = "[-0.44]", .err = "decimal input"),
                R(.dot = "t [type=hexencode]", .inputs = "[-1]", .err = "negative integer"),
                R(.dot = "t [type=hexencode]", .inputs = "[-1.0]", .err = "negative integer"),
                R(.dot = "t [type=hexencode]", .inputs = "[-123456789012345678901234567890]", .err = "negative integer"),
                R(.dot = "t [type=hexencode input=\"$(s)\"]", .vars = "{\"s\":\"\"}", .want = "\"\""),
                R(.dot = "t [type=hexencode input=\"$(b)\"]", .vars = "{\"b\":{\"$bytes\":\"\"}}", .want = "\"\""),
                R(.dot = "t [type=hexencode]", .inputs = "[true]", .err = "input: *"),
                R(.dot = "t [type=hexencode]", .inputs = "[{\"$error\":\"x\"}]", .err = "task inputs: too many errors"),
        };
        RUN_ROWS(rows);
}

static void hexdecode(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=hexdecode input=\"0x0102ff\"]", .want = "\"0x0102ff\"", .type = "[]uint8"),
                R(.dot = "t [type=hexdecode input=\"0X0A\"]", .want = "\"0x0a\"", .type = "[]uint8"),
                R(.dot = "t [type=hexdecode input=\"0xABcd\"]", .want = "\"0xabcd\""),
                R(.dot = "t [type=hexdecode]", .inputs = "[\"0x68656c6c6f\"]", .want = "\"0x68656c6c6f\""),
                R(.dot = "t [type=hexdecode input=\"0x\"]", .want = "\"0x\"", .type = "[]uint8"),
                R(.dot = "t [type=hexdecode input=\"0102\"]", .err = "hex string must have prefix 0x"),
                R(.dot = "t [type=hexdecode input=\"x0102\"]", .err = "hex string must have prefix 0x"),
                R(.dot = "t [type=hexdecode input=\"0x123\"]",
                  .err = "failed to decode hex string: encoding/hex: odd length hex string"),
                R(.dot = "t [type=hexdecode input=\"0xzz\"]",
                  .err = "failed to decode hex string: encoding/hex: invalid byte: U+007A 'z'"),
                /* Go reports an invalid character before an odd length */
                R(.dot = "t [type=hexdecode input=\"0x12z\"]",
                  .err = "failed to decode hex string: encoding/hex: invalid byte: U+007A 'z'"),
                R(.dot = "t [type=hexdecode input=\"$(s)\"]", .vars = "{\"s\":\"0x\\u00e9\"}",
                  .err = "failed to decode hex string: encoding/hex: invalid byte: U+00C3 '\xc3\x83'"),
                R(.dot = "t [type=hexdecode]", .inputs = "[1]", .err = "input: expected string, got int64: bad input for task"),
                R(.dot = "t [type=hexdecode]", .inputs = "[{\"$error\":\"x\"}]", .err = "task inputs: too many errors"),
        };
        RUN_ROWS(rows);
}

static void base64(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=base64encode input=hello]", .want = "\"aGVsbG8=\"", .type = "string"),
                R(.dot = "t [type=base64encode input=\"0x0102\"]", .want = "\"MHgwMTAy\""),
                R(.dot = "t [type=base64encode input=\"$(b)\"]", .vars = "{\"b\":{\"$bytes\":\"00ff\"}}", .want = "\"AP8=\""),
                R(.dot = "t [type=base64encode input=\"$(s)\"]", .vars = "{\"s\":\"\"}", .want = "\"\""),
                R(.dot = "t [type=base64encode]", .inputs = "[\"ab?\"]", .want = "\"YWI/\""),
                R(.dot = "t [type=base64encode]", .inputs = "[7]", .err = "input: expected array of bytes, got int64: bad input for task"),
                R(.dot = "t [type=base64encode]", .inputs = "[{\"$error\":\"x\"}]", .err = "task inputs: too many errors"),
                R(.dot = "t [type=base64decode input=\"aGVsbG8=\"]", .want = "\"0x68656c6c6f\"", .type = "[]uint8"),
                R(.dot = "t [type=base64decode input=\"aGVsbA==\"]", .want = "\"0x68656c6c\""),
                R(.dot = "t [type=base64decode input=\"YWI/\"]", .want = "\"0x61623f\""),
                R(.dot = "t [type=base64decode input=\"$(s)\"]", .vars = "{\"s\":\"\"}", .want = "\"0x\""),
                R(.dot = "t [type=base64decode input=\"!!!!\"]",
                  .err = "failed to decode base64 string: illegal base64 data at input byte 0"),
                R(.dot = "t [type=base64decode input=\"aGVsbG8\"]",
                  .err = "failed to decode base64 string: illegal base64 data at input byte 4"),
                R(.dot = "t [type=base64decode input=\"aGVsbA=\"]",
                  .err = "failed to decode base64 string: illegal base64 data at input byte 7"),
                R(.dot = "t [type=base64decode input=\"YW-_\"]",
                  .err = "failed to decode base64 string: illegal base64 data at input byte 2"),
                /* Go's decoder skips \r and \n */
                R(.dot = "t [type=base64decode input=\"$(s)\"]", .vars = "{\"s\":\"aGVs\\nbG8=\"}", .want = "\"0x68656c6c6f\""),
                R(.dot = "t [type=base64decode]", .inputs = "[1]", .err = "input: expected string, got int64: bad input for task"),
        };
        RUN_ROWS(rows);
}

/* ---- maps and control ---- */

static void merge(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=merge left=<{\"a\":1,\"b\":2}> right=<{\"b\":3,\"c\":4}>]",
                  .want = "{\"a\":1,\"b\":3,\"c\":4}", .type = "map[string]interface {}"),
                R(.dot = "t [type=merge right=<{\"y\":2}>]", .inputs = "[{\"x\":1}]", .want = "{\"x\":1,\"y\":2}"),
                R(.dot = "t [type=merge right=<{\"y\":2}>]", .inputs = "[\"{\\\"x\\\":\\\"s\\\"}\"]",
                  .want = "{\"x\":\"s\",\"y\":2}"),
                R(.dot = "t [type=merge left=<{\"a\":1}> right=<{\"a\":null}>]", .want = "{\"a\":null}"),
                R(.dot = "t [type=merge left=<{\"a\":1}> right=\"$(r)\"]", .vars = "{\"r\":{\"k\":\"v\"}}",
                  .want = "{\"a\":1,\"k\":\"v\"}"),
                R(.dot = "t [type=merge left=\"$(l)\" right=<{\"k\": $(v), \"n\": {\"m\": $(w)}}>]",
                  .vars = "{\"l\":{\"z\":0},\"v\":5,\"w\":[1]}", .want = "{\"k\":5,\"n\":{\"m\":[1]},\"z\":0}"),
                R(.dot = "t [type=merge left=<{\"a\":1}>]", .inputs = "[{\"b\":2}]", .err = "right-side: parameter is empty"),
                R(.dot = "t [type=merge left=<{\"a\":1}> right=<{}>]", .want = "{\"a\":1}"),
                R(.dot = "t [type=merge right=<{\"a\":1}>]", .inputs = "[{\"$error\":\"x\"}]", .err = "task inputs: too many errors"),
                R(.dot = "t [type=merge right=<{\"a\":1}>]", .inputs = "[{}, {}]",
                  .err = "task inputs: min: 0 max: 1 (got 2): wrong number of task inputs"),
                /* errors carry the side instead of the parameter name */
                R(.dot = "t [type=merge left=<[1]> right=<{}>]",
                  .err = "left-side: expected map, got []interface {}: bad input for task"),
                R(.dot = "t [type=merge left=<{}> right=\"$(nope)\"]",
                  .err = "right-side: key nope (segment 0 in keypath nope): keypath not found"),
                R(.dot = "t [type=merge left=<{}> right=<{bad}>]", .err = "right-side: while unmarshalling JSON: *"),
                R(.dot = "t [type=merge right=<{\"a\":1}>]", .err = "left-side: index out of range"),
                R(.dot = "t [type=merge left=<{}> right=\"$(e)\"]", .vars = "{\"e\":{\"$error\":\"boom\"}}",
                  .err = "right-side: VarExpr: boom: too many errors"),
        };
        RUN_ROWS(rows);
}

static void lookup(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=lookup key=a]", .inputs = "[{\"a\":1}]", .want = "1", .type = "int64"),
                R(.dot = "t [type=lookup key=a]", .inputs = "[{\"a\":{\"b\":[1,2]}}]", .want = "{\"b\":[1,2]}"),
                R(.dot = "t [type=lookup key=b]", .inputs = "[{\"a\":1}]", .want = "null", .type = "<nil>"),
                R(.dot = "t [type=lookup key=\"a.b\"]", .inputs = "[{\"a.b\":2,\"a\":{\"b\":3}}]", .want = "2"),
                R(.dot = "t [type=lookup key=a]", .inputs = "[\"{\\\"a\\\":1}\"]", .err = "unexpected input type: string"),
                R(.dot = "t [type=lookup key=a]", .inputs = "[[1]]", .err = "unexpected input type: []interface {}"),
                R(.dot = "t [type=lookup key=a]", .err = "task inputs: min: 1 max: 1 (got 0): wrong number of task inputs"),
                R(.dot = "t [type=lookup key=a]", .inputs = "[{}, {}]",
                  .err = "task inputs: min: 1 max: 1 (got 2): wrong number of task inputs"),
                R(.dot = "t [type=lookup key=a]", .inputs = "[{\"$error\":\"x\"}]", .err = "task inputs: too many errors"),
        };
        RUN_ROWS(rows);
}

static void conditional(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=conditional data=\"$(x)\"]", .vars = "{\"x\":true}", .want = "true", .type = "bool"),
                R(.dot = "t [type=conditional data=\"$(x)\"]", .vars = "{\"x\":false}", .err = "conditional was not satisfied"),
                R(.dot = "t [type=conditional data=\"$(x)\"]", .vars = "{\"x\":\"true\"}", .want = "true"),
                R(.dot = "t [type=conditional data=\"$(x)\"]", .vars = "{\"x\":\"1\"}", .want = "true"),
                R(.dot = "t [type=conditional data=\"$(x)\"]", .vars = "{\"x\":\"F\"}", .err = "conditional was not satisfied"),
                R(.dot = "t [type=conditional data=\"$(x)\"]", .vars = "{\"x\":\"maybe\"}",
                  .err = "data: strconv.ParseBool: parsing \"maybe\": invalid syntax: bad input for task"),
                R(.dot = "t [type=conditional data=\"$(x)\"]", .vars = "{\"x\":1}",
                  .err = "data: expected true or false, got int64: bad input for task"),
                R(.dot = "t [type=conditional]", .inputs = "[true]", .want = "true"),
                R(.dot = "t [type=conditional]", .inputs = "[\"false\"]", .err = "conditional was not satisfied"),
                /* a literal data is ignored */
                R(.dot = "t [type=conditional data=true]", .inputs = "[false]", .err = "conditional was not satisfied"),
                R(.dot = "t [type=conditional data=false]", .inputs = "[true]", .want = "true"),
                R(.dot = "t [type=conditional data=\"$(x)\"]", .vars = "{\"x\":true}", .inputs = "[false]", .want = "true"),
                R(.dot = "t [type=conditional]", .inputs = "[{\"$error\":\"x\"}]", .err = "task inputs: too many errors"),
        };
        RUN_ROWS(rows);
}

static void memo(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=memo value=10]", .want = "\"10\"", .type = "decimal.Decimal"),
                R(.dot = "t [type=memo value=1.50]", .want = "\"1.5\""),
                R(.dot = "t [type=memo value=123456789012345678901234567890]", .want = "\"123456789012345678901234567890\""),
                R(.dot = "t [type=memo value=<\"abc\">]", .want = "\"abc\"", .type = "string"),
                R(.dot = "t [type=memo value=true]", .want = "true"),
                R(.dot = "t [type=memo value=null]", .want = "null"),
                R(.dot = "t [type=memo value=<{\"a\":\"b\"}>]", .want = "{\"a\":\"b\"}"),
                R(.dot = "t [type=memo value=<[\"x\", true]>]", .want = "[\"x\",true]"),
                R(.dot = "t [type=memo value=\"$(x)\"]", .vars = "{\"x\":5}", .want = "\"5\""),
                R(.dot = "t [type=memo value=<{\"k\": $(x)}>]", .vars = "{\"x\":\"s\"}", .want = "{\"k\":\"s\"}"),
                R(.dot = "t [type=memo]", .inputs = "[7]", .want = "\"7\""),
                R(.dot = "t [type=memo]", .inputs = "[\"seven\"]", .want = "\"seven\""),
                R(.dot = "t [type=memo value=abc]", .err = "value: while unmarshalling JSON: *"),
                R(.dot = "t [type=memo value=\"$(e)\"]", .vars = "{\"e\":{\"$error\":\"boom\"}}",
                  .err = "value: error is not allowed: boom: bad input for task"),
                R(.dot = "t [type=memo value=\"$(nope)\"]", .err = "value: key nope (segment 0 in keypath nope): keypath not found"),
                /* ObjectParam holds nil, bool, decimal, string, slice or map only */
                R(.dot = "t [type=memo]", .inputs = "[{\"$bytes\":\"01\"}]", .err = "value: bad input for task: []uint8"),
        };
        RUN_ROWS(rows);
}

static void fail_task(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=fail msg=boom]", .err = "boom"),
                R(.dot = "t [type=fail msg=\"it failed: badly\"]", .err = "it failed: badly"),
                R(.dot = "t [type=fail]", .err = ""),
                R(.dot = "t [type=fail msg=x]", .inputs = "[1]", .err = "x"),
        };
        RUN_ROWS(rows);
}

static bool is_uuid_v4(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!strchr("0123456789abcdef", s[i])) {
                        return false;
                }
        }
        return s[14] == '4' && strchr("89ab", s[19]);
}

static void uuid_task(void **state) {
        (void)state;
        lktest_call_result a, b;
        char *problem_a, *problem_b;
        int ra = lktest_call_task("t [type=uuid]", NULL, NULL, &a, &problem_a);
        int rb = lktest_call_task("t [type=uuid]", NULL, NULL, &b, &problem_b);
        char sa[64] = "", sb[64] = "", type[32] = "";
        if (ra == 0 && a.value) {
                snprintf(sa, sizeof sa, "%s", lk_value_get_string(a.value, NULL));
                snprintf(type, sizeof type, "%s", a.type_name);
        }
        if (rb == 0 && b.value)
                snprintf(sb, sizeof sb, "%s", lk_value_get_string(b.value, NULL));
        lk_free(problem_a);
        lk_free(problem_b);
        lktest_call_result_done(&a);
        lktest_call_result_done(&b);
        assert_string_equal(type, "string");
        if (!is_uuid_v4(sa) || !is_uuid_v4(sb))
                fail_msg("not version 4 UUIDs: \"%s\", \"%s\"", sa, sb);
        assert_string_not_equal(sa, sb);
}

/* ---- parsers ---- */

static void jsonparse(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                R(.dot = "t [type=jsonparse path=\"data,price\"]", .inputs = "[\"{\\\"data\\\":{\\\"price\\\":\\\"123.45\\\"}}\"]",
                  .want = "\"123.45\"", .type = "string"),
                R(.dot = "t [type=jsonparse path=\"data,0,availability\"]",
                  .inputs = "[\"{\\\"data\\\":[{\\\"availability\\\":\\\"0.99991\\\"}]}\"]", .want = "\"0.99991\""),
                R(.dot = "t [type=jsonparse path=some_id]", .inputs = "[\"{\\\"some_id\\\":1564679049192120321}\"]",
                  .want = "1564679049192120321", .type = "int64"),
                R(.dot = "t [type=jsonparse path=a]", .inputs = "[\"{\\\"a\\\":3.14}\"]", .want = "3.14", .type = "float64"),
                R(.dot = "t [type=jsonparse path=a]", .inputs = "[\"{\\\"a\\\":123456789012345678901234567890}\"]",
                  .want = "123456789012345678901234567890", .type = "*big.Int"),
                R(.dot = "t [type=jsonparse path=a]", .inputs = "[\"{\\\"a\\\":null}\"]", .want = "null"),
                R(.dot = "t [type=jsonparse path=a]", .inputs = "[\"{\\\"a\\\":false}\"]", .want = "false"),
                R(.dot = "t [type=jsonparse path=\"data,0\"]", .inputs = "[\"{\\\"data\\\":[[0,1]]}\"]", .want = "[0,1]"),
                R(.dot = "t [type=jsonparse path=\"data,-1\"]", .inputs = "[\"{\\\"data\\\":[0,1]}\"]", .want = "1"),
                R(.dot = "t [type=jsonparse path=\"data,-10\"]",
                  .inputs = "[\"{\\\"data\\\":[0,1,1,2,3,5,8,13,21,34]}\"]", .want = "0"),
                R(.dot = "t [type=jsonparse path=\"data,-12\" lax=true]",
                  .inputs = "[\"{\\\"data\\\":[0,1,1,2,3,5,8,13,21,34,55]}\"]", .want = "null"),
                R(.dot = "t [type=jsonparse path=\"data,-12\"]", .inputs = "[\"{\\\"data\\\": [0, 1]}\"]",
                  .err = "could not resolve path [\"data\",\"-12\"] in {\"data\": [0, 1]}: keypath not found"),
                R(.dot = "t [type=jsonparse path=\"data,18446744073709551616\" lax=true]",
                  .inputs = "[\"{\\\"data\\\":[0,1]}\"]", .want = "null"),
                R(.dot = "t [type=jsonparse path=\"data,18446744073709551615\"]", .inputs = "[\"{\\\"data\\\":[0,1]}\"]",
                  .err = "could not resolve path [\"data\",\"18446744073709551615\"] in {\"data\":[0,1]}: keypath not found"),
                R(.dot = "t [type=jsonparse path=\"data,2\"]", .inputs = "[\"{\\\"data\\\":[0,1]}\"]",
                  .err = "could not resolve path [\"data\",\"2\"] in {\"data\":[0,1]}: keypath not found"),
                R(.dot = "t [type=jsonparse path=\"data,x\"]", .inputs = "[\"{\\\"data\\\":[0,1]}\"]",
                  .err = "JSONParse task error: x is not a valid array index: keypath not found"),
                R(.dot = "t [type=jsonparse path=\"data,1.0\" lax=true]", .inputs = "[\"{\\\"data\\\":[0,1]}\"]",
                  .err = "JSONParse task error: 1.0 is not a valid array index: keypath not found"),
                R(.dot = "t [type=jsonparse path=baz]", .inputs = "[\"{\\\"foo\\\": 1}\"]",
                  .err = "could not resolve path [\"baz\"] in {\"foo\": 1}: keypath not found"),
                R(.dot = "t [type=jsonparse path=baz lax=true]", .inputs = "[\"{}\"]", .want = "null"),
                R(.dot = "t [type=jsonparse path=\"foo,baz\" lax=true]", .inputs = "[\"{\\\"foo\\\":{}}\"]", .want = "null"),
                /* lax: a missing key yields nil, and nil cannot be walked further */
                R(.dot = "t [type=jsonparse path=\"a,b\" lax=true]", .inputs = "[\"{}\"]",
                  .err = "could not resolve path [\"a\",\"b\"] in {}: keypath not found"),
                R(.dot = "t [type=jsonparse path=\"a,b\" lax=true]", .inputs = "[\"{\\\"a\\\":1}\"]",
                  .err = "could not resolve path [\"a\",\"b\"] in {\"a\":1}: keypath not found"),
                R(.dot = "t [type=jsonparse path=\"\"]", .inputs = "[\"{\\\"b\\\":[1],\\\"a\\\":\\\"x\\\"}\"]",
                  .want = "{\"a\":\"x\",\"b\":[1]}"),
                R(.dot = "t [type=jsonparse]", .inputs = "[\"[1,2]\"]", .want = "[1,2]"),
                R(.dot = "t [type=jsonparse path=\"Realtime Currency Exchange Rate,5. Exchange Rate\"]",
                  .inputs = "[\"{\\\"Realtime Currency Exchange Rate\\\":{\\\"5. Exchange Rate\\\":\\\"0.00058217\\\"}}\"]",
                  .want = "\"0.00058217\""),
                R(.dot = "t [type=jsonparse path=\"foo.bar1,bar2\" separator=\".\"]",
                  .inputs = "[\"{\\\"foo\\\":{\\\"bar1\\\":1,\\\"bar1,bar2\\\":2}}\"]", .want = "2"),
                R(.dot = "t [type=jsonparse path=\"a__sep__b\" separator=\"__sep__\"]",
                  .inputs = "[\"{\\\"a\\\":{\\\"b\\\":\\\"ok\\\"}}\"]", .want = "\"ok\""),
                R(.dot = "t [type=jsonparse path=\"data,0\" data=\"$(foo.bar)\"]",
                  .vars = "{\"foo\":{\"bar\":\"{\\\"data\\\":[\\\"v\\\"]}\"}}", .want = "\"v\""),
                R(.dot = "t [type=jsonparse path=\"$(p)\" data=\"$(d)\"]",
                  .vars = "{\"p\":\"a,b\",\"d\":\"{\\\"a\\\":{\\\"b\\\":7}}\"}", .want = "7"),
                R(.dot = "t [type=jsonparse path=\"$(p)\"]", .vars = "{\"p\":[\"a\",\"b,c\"]}",
                  .inputs = "[\"{\\\"a\\\":{\\\"b,c\\\":8}}\"]", .want = "8"),
                R(.dot = "t [type=jsonparse path=a]", .inputs = "[{\"$bytes\":\"7b2261223a2262227d\"}]", .want = "\"b\""),
                R(.dot = "t [type=jsonparse path=a]", .inputs = "[\"0x7b2261223a317d\"]", .want = "1"),
                /* data never comes from a literal */
                R(.dot = "t [type=jsonparse path=a data=<{\"a\":1}>]", .err = "data: index out of range"),
                R(.dot = "t [type=jsonparse path=a data=<{\"a\":1}>]", .inputs = "[\"{\\\"a\\\":2}\"]", .want = "2"),
                R(.dot = "t [type=jsonparse path=a lax=sergey]", .inputs = "[\"{}\"]",
                  .err = "lax: strconv.ParseBool: parsing \"sergey\": invalid syntax: bad input for task"),
                R(.dot = "t [type=jsonparse path=a lax=\" true \"]", .inputs = "[\"{}\"]", .want = "null"),
                R(.dot = "t [type=jsonparse path=a]", .inputs = "[1]", .err = "data: expected array of bytes, got int64: bad input for task"),
                R(.dot = "t [type=jsonparse path=a]", .inputs = "[{\"$error\":\"x\"}]", .err = "task inputs: too many errors"),
                R(.dot = "t [type=jsonparse path=a]", .inputs = "[\"{}\", \"{}\"]",
                  .err = "task inputs: min: 0 max: 1 (got 2): wrong number of task inputs"),
        };
        RUN_ROWS(rows);
}

static void cborparse(void **state) {
        (void)state;
        static const lktest_task_row rows[] = {
                /* diet: a map without its opening and closing markers */
                R(.dot = "t [type=cborparse data=\"$(d)\"]", .vars = "{\"d\":{\"$bytes\":\"64706174686161\"}}",
                  .want = "{\"path\":\"a\"}", .type = "map[string]interface {}"),
                R(.dot = "t [type=cborparse data=\"$(d)\"]", .vars = "{\"d\":{\"$bytes\":\"bf64706174686161ff\"}}",
                  .want = "{\"path\":\"a\"}"),
                R(.dot = "t [type=cborparse data=\"$(d)\"]", .vars = "{\"d\":{\"$bytes\":\"a164706174686161\"}}",
                  .want = "{\"path\":\"a\"}"),
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=diet]", .vars = "{\"d\":\"0x64706174686161\"}",
                  .want = "{\"path\":\"a\"}"),
                R(.dot = "t [type=cborparse data=\"$(d)\"]", .vars = "{\"d\":{\"$bytes\":\"\"}}", .want = "{}"),
                R(.dot = "t [type=cborparse data=\"$(d)\"]",
                  .vars = "{\"d\":{\"$bytes\":\"6375726c68687474703a2f2f786574696d657318646161a1616201\"}}",
                  .want = "{\"a\":{\"b\":1},\"times\":100,\"url\":\"http://x\"}"),
                R(.dot = "t [type=cborparse data=\"$(d)\"]",
                  .vars = "{\"d\":{\"$bytes\":\"616161ff\"}}",
                  .err = "CBORParse: data: *"),
                /* bignums (tags 2 and 3) become big integers */
                R(.dot = "t [type=cborparse data=\"$(d)\"]",
                  .vars = "{\"d\":{\"$bytes\":\"63626967c249010000000000000000\"}}",
                  .want = "{\"big\":18446744073709551616}"),
                R(.dot = "t [type=cborparse data=\"$(d)\"]",
                  .vars = "{\"d\":{\"$bytes\":\"63626967c349010000000000000000\"}}",
                  .want = "{\"big\":-18446744073709551617}"),
                R(.dot = "t [type=cborparse data=\"$(d)\"]",
                  .vars = "{\"d\":{\"$bytes\":\"616e38636166fb3ff800000000000061624201026174f5617af6\"}}",
                  .want = "{\"b\":\"0x0102\",\"f\":1.5,\"n\":-100,\"t\":true,\"z\":null}"),
                R(.dot = "t [type=cborparse data=\"$(d)\"]", .vars = "{\"d\":{\"$bytes\":\"6361727283010220\"}}",
                  .want = "{\"arr\":[1,2,-1]}"),
                /* standard: any one item; empty is null; trailing bytes ignored */
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=standard]", .vars = "{\"d\":{\"$bytes\":\"83010203\"}}",
                  .want = "[1,2,3]"),
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=standard]", .vars = "{\"d\":{\"$bytes\":\"6161\"}}",
                  .want = "\"a\""),
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=standard]", .vars = "{\"d\":{\"$bytes\":\"\"}}",
                  .want = "null"),
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=standard]", .vars = "{\"d\":{\"$bytes\":\"0102\"}}",
                  .want = "1"),
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=standard]", .vars = "{\"d\":{\"$bytes\":\"a164706174686161\"}}",
                  .want = "{\"path\":\"a\"}"),
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=standard]", .vars = "{\"d\":{\"$bytes\":\"c249010000000000000000\"}}",
                  .want = "18446744073709551616"),
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=standard]", .vars = "{\"d\":{\"$bytes\":\"3bffffffffffffffff\"}}",
                  .want = "-18446744073709551616"),
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=foo]", .vars = "{\"d\":{\"$bytes\":\"\"}}",
                  .err = "unrecognised mode: foo"),
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=\" standard \"]", .vars = "{\"d\":{\"$bytes\":\"6161\"}}",
                  .want = "\"a\""),
                R(.dot = "t [type=cborparse data=\"$(d)\"]", .vars = "{\"d\":{\"$bytes\":\"bf6170\"}}",
                  .err = "CBORParse: data: *"),
                R(.dot = "t [type=cborparse data=\"$(d)\" mode=standard]", .vars = "{\"d\":{\"$bytes\":\"ff\"}}",
                  .err = "CBORParse: data: *"),
                /* data only from a variable */
                R(.dot = "t [type=cborparse data=\"0x64706174686161\"]", .err = "data: parameter is empty"),
                R(.dot = "t [type=cborparse]", .inputs = "[{\"$bytes\":\"64706174686161\"}]", .err = "data: parameter is empty"),
                R(.dot = "t [type=cborparse data=\"$(d)\"]", .vars = "{\"d\":7}",
                  .err = "data: expected array of bytes, got int64: bad input for task"),
        };
        RUN_ROWS(rows);
}

/* ---- whole pipelines through the runner ---- */

static void assert_spec_error(const char *dot, const char *want_prefix) {
        lk_pipeline_spec *spec = NULL;
        lk_err err = LK_ERR_INIT;
        int r = lk_pipeline_spec_new(&(lk_pipeline_spec_options){.source = dot, .source_len = SIZE_MAX}, &spec, &err);
        if (r == 0) {
                lk_pipeline_spec_unref(spec);
                fail_msg("accepted: %s", dot);
        }
        if (strncmp(err.msg, want_prefix, strlen(want_prefix)) != 0)
                assert_string_equal(err.msg, want_prefix);
}

static void run_parameter_sources(void **state) {
        (void)state;
        /* VarExpr beats the literal beats the input; literals are trimmed */
        lktest_assert_outputs("x [type=memo value=100]\n"
                       "y [type=memo value=3]\n"
                       "v [type=multiply input=\"$(y)\" times=2 index=0]\n"
                       "l [type=multiply input=\" 7 \" times=\" 2 \" index=1]\n"
                       "i [type=multiply times=2 index=2]\n"
                       "x -> v\n"
                       "x -> l\n"
                       "x -> i\n",
                       NULL, "completed", "[\"6\",\"14\",\"200\"]", "[null,null,null]");
        /* vars from the caller */
        lktest_assert_outputs("m [type=multiply input=\"$(jobRun.x)\" times=\"$(jobSpec.k)\"]",
                       "{\"jobRun\":{\"x\":3},\"jobSpec\":{\"k\":\"0.5\"}}", "completed", "[\"1.5\"]", "[null]");
}

static void run_implicit_edges(void **state) {
        (void)state;
        /* $(a) orders b after a (a written later) without making a an input */
        lktest_assert_run("b [type=multiply input=\"$(a)\" times=2]\n"
                   "a [type=memo value=5]\n",
                   NULL, "completed",
                   "{\"state\":\"completed\",\"outputs\":[\"10\"],\"fatalErrors\":[null],\"allErrors\":[null,null],"
                   "\"taskRuns\":[{\"dotId\":\"a\",\"type\":\"memo\",\"output\":\"5\",\"error\":null},"
                   "{\"dotId\":\"b\",\"type\":\"multiply\",\"output\":\"10\",\"error\":null}]}");
        lktest_assert_outputs("a [type=memo value=<{\"x\":1}>]\n"
                       "b [type=lookup key=x input=\"$(a)\"]\n",
                       NULL, "errored", "[null]",
                       "[\"task inputs: min: 1 max: 1 (got 0): wrong number of task inputs\"]");
        /* a failed task's var is an error for those that read it */
        lktest_assert_outputs("f [type=fail msg=bad]\n"
                       "m [type=multiply input=\"$(f)\" times=2]\n",
                       NULL, "errored", "[null]", "[\"input: VarExpr: bad: too many errors\"]");
}

static void run_index_order(void **state) {
        (void)state;
        lktest_assert_outputs("a [type=memo value=1 index=2]\n"
                       "b [type=memo value=2 index=0]\n"
                       "c [type=memo value=3 index=1]\n",
                       NULL, "completed", "[\"2\",\"3\",\"1\"]", "[null,null,null]");
        /* equal indices keep the topological order */
        lktest_assert_outputs("a [type=memo value=1 index=1]\n"
                       "b [type=memo value=2]\n"
                       "c [type=memo value=3 index=1]\n",
                       NULL, "completed", "[\"2\",\"1\",\"3\"]", "[null,null,null]");
        lktest_assert_outputs("a [type=memo value=1 index=-1]\n"
                       "b [type=memo value=2]\n",
                       NULL, "completed", "[\"1\",\"2\"]", "[null,null]");
        /* inputs are ordered by their parent's index */
        lktest_assert_outputs("a [type=memo value=<\"a\"> index=1]\n"
                       "b [type=memo value=<\"b\"> index=0]\n"
                       "m [type=mode]\n"
                       "a -> m\n"
                       "b -> m\n",
                       NULL, "completed", "[{\"occurrences\":1,\"results\":[\"b\",\"a\"]}]", "[null]");
        lktest_assert_outputs("a [type=memo value=<\"a\">]\n"
                       "b [type=memo value=<\"b\">]\n"
                       "m [type=mode]\n"
                       "a -> m\n"
                       "b -> m\n",
                       NULL, "completed", "[{\"occurrences\":1,\"results\":[\"a\",\"b\"]}]", "[null]");
        lktest_assert_outputs("a [type=memo value=10 index=1]\n"
                       "b [type=memo value=2 index=0]\n"
                       "d [type=divide divisor=5]\n"
                       "a -> d\n"
                       "b -> d\n",
                       NULL, "completed", "[\"0.4\"]", "[null]");
}

static void run_errors_as_inputs(void **state) {
        (void)state;
        /* the reference's presumptive-success job: completed, 7.5, one error */
        lktest_assert_run("fail_but_i_dont_care [type=fail]\n"
                   "succeed1             [type=memo value=10]\n"
                   "succeed2             [type=memo value=5]\n"
                   "final                [type=mean]\n"
                   "fail_but_i_dont_care -> final;\n"
                   "succeed1 -> final;\n"
                   "succeed2 -> final;\n",
                   NULL, "completed",
                   "{\"state\":\"completed\",\"outputs\":[\"7.5\"],\"fatalErrors\":[null],\"allErrors\":[\"\",null,null,null],"
                   "\"taskRuns\":[{\"dotId\":\"fail_but_i_dont_care\",\"type\":\"fail\",\"output\":null,\"error\":\"\"},"
                   "{\"dotId\":\"succeed1\",\"type\":\"memo\",\"output\":\"10\",\"error\":null},"
                   "{\"dotId\":\"succeed2\",\"type\":\"memo\",\"output\":\"5\",\"error\":null},"
                   "{\"dotId\":\"final\",\"type\":\"mean\",\"output\":\"7.5\",\"error\":null}]}");
        /* aggregators count errored parents as faults */
        lktest_assert_outputs("f1 [type=fail msg=a]\n"
                       "f2 [type=fail msg=b]\n"
                       "v  [type=memo value=4]\n"
                       "s  [type=sum allowedFaults=1]\n"
                       "f1 -> s\n"
                       "f2 -> s\n"
                       "v -> s\n",
                       NULL, "errored", "[null]",
                       "[\"Number of faulty inputs 2 to sum task \\u003e number allowed faults 1: too many errors\"]");
        lktest_assert_outputs("f1 [type=fail msg=a]\n"
                       "v  [type=memo value=4]\n"
                       "s  [type=median]\n"
                       "f1 -> s\n"
                       "v -> s\n",
                       NULL, "completed", "[\"4\"]", "[null]");
        /* most tasks reject an errored input; any skips it */
        lktest_assert_outputs("f [type=fail msg=boom]\n"
                       "m [type=multiply times=2]\n"
                       "f -> m\n",
                       NULL, "errored", "[null]", "[\"task inputs: too many errors\"]");
        lktest_assert_outputs("f [type=fail msg=boom]\n"
                       "v [type=memo value=<\"ok\">]\n"
                       "a [type=any]\n"
                       "f -> a\n"
                       "v -> a\n",
                       NULL, "completed", "[\"ok\"]", "[null]");
        /* two terminal tasks: one failing makes the run errored, outputs keep both */
        lktest_assert_outputs("a [type=memo value=1]\n"
                       "b [type=fail msg=no index=1]\n",
                       NULL, "errored", "[\"1\",null]", "[null,\"no\"]");
}

static void run_fail_early(void **state) {
        (void)state;
        lktest_assert_run("a [type=fail msg=early failEarly=true]\n"
                   "b [type=memo value=1]\n"
                   "c [type=multiply times=2]\n"
                   "a -> b -> c\n",
                   NULL, "errored",
                   "{\"state\":\"errored\",\"outputs\":[null],\"fatalErrors\":[\"task run cancelled (fail early)\"],"
                   "\"allErrors\":[\"early\",\"task run cancelled (fail early)\",\"task run cancelled (fail early)\"],"
                   "\"taskRuns\":[{\"dotId\":\"a\",\"type\":\"fail\",\"output\":null,\"error\":\"early\"},"
                   "{\"dotId\":\"b\",\"type\":\"memo\",\"output\":null,\"error\":\"task run cancelled (fail early)\"},"
                   "{\"dotId\":\"c\",\"type\":\"multiply\",\"output\":null,\"error\":\"task run cancelled (fail early)\"}]}");
        /* failEarly="false" (and without the attribute) is presumptive success */
        lktest_assert_outputs("a [type=fail msg=late failEarly=false]\n"
                       "v [type=memo value=1]\n"
                       "s [type=sum]\n"
                       "a -> s\n"
                       "v -> s\n",
                       NULL, "completed", "[\"1\"]", "[null]");
        /* a failEarly task that succeeds changes nothing */
        lktest_assert_outputs("a [type=memo value=2 failEarly=true]\n"
                       "m [type=multiply times=3]\n"
                       "a -> m\n",
                       NULL, "completed", "[\"6\"]", "[null]");
}

static void run_retries(void **state) {
        (void)state;
        /* a task that cannot succeed: retried, then its error is final */
        lktest_assert_outputs("a [type=fail msg=nope retries=3 minBackoff=\"10ms\" maxBackoff=\"20ms\"]\n",
                       NULL, "errored", "[null]", "[\"nope\"]");
        lktest_assert_outputs("a [type=fail msg=nope retries=2 minBackoff=\"1ms\"]\n"
                       "v [type=memo value=1]\n"
                       "s [type=sum]\n"
                       "a -> s\n"
                       "v -> s\n",
                       NULL, "completed", "[\"1\"]", "[null]");
        lktest_assert_outputs("a [type=memo value=9 retries=5 minBackoff=\"1ms\"]\n", NULL, "completed", "[\"9\"]", "[null]");
}

static void run_json_form(void **state) {
        (void)state;
        lktest_assert_run("d [type=divide input=1 divisor=8 index=0]\n"
                   "h [type=hexdecode input=\"0x00ff\" index=1]\n"
                   "j [type=jsonparse path=a data=\"$(jobRun.body)\" index=2]\n"
                   "b [type=lessthan left=1 right=2 index=3]\n",
                   "{\"jobRun\":{\"body\":\"{\\\"a\\\":{\\\"z\\\":1,\\\"y\\\":[1.5,\\\"s\\\"]}}\"}}", "completed",
                   "{\"state\":\"completed\",\"outputs\":[\"0.125\",\"0x00ff\",{\"y\":[1.5,\"s\"],\"z\":1},true],"
                   "\"fatalErrors\":[null,null,null,null],\"allErrors\":[null,null,null,null],"
                   "\"taskRuns\":[{\"dotId\":\"d\",\"type\":\"divide\",\"output\":\"0.125\",\"error\":null},"
                   "{\"dotId\":\"h\",\"type\":\"hexdecode\",\"output\":\"0x00ff\",\"error\":null},"
                   "{\"dotId\":\"j\",\"type\":\"jsonparse\",\"output\":{\"y\":[1.5,\"s\"],\"z\":1},\"error\":null},"
                   "{\"dotId\":\"b\",\"type\":\"lessthan\",\"output\":true,\"error\":null}]}");
        /* a chain: hexdecode -> cborparse through a var -> jsonparse-free lookups */
        lktest_assert_outputs("h [type=hexdecode input=\"0x6375726c68687474703a2f2f78\"]\n"
                       "c [type=cborparse data=\"$(h)\"]\n"
                       "l [type=lookup key=url]\n"
                       "h -> c -> l\n",
                       NULL, "completed", "[\"http://x\"]", "[null]");
}

static void run_spec_errors(void **state) {
        (void)state;
        assert_spec_error("a [type=nope]", "UnmarshalTaskFromMap: unknown task type: \"nope\"");
        assert_spec_error("a [type=memo value=1]\nb [value=2]", "UnmarshalTaskFromMap: unknown task type: \"\"");
        assert_spec_error("input [type=memo value=1]", "'input' is a reserved keyword that cannot be used as a task's name");
        assert_spec_error("a [type=memo]\nb [type=memo]\na -> b -> a",
                          "Unable to topologically sort the graph, cycle detected");
        assert_spec_error("a [type=memo]\nb [type=memo input=\"$(a)\"]\nb -> a",
                          "Unable to topologically sort the graph, cycle detected");
        assert_spec_error("a [type=memo", "could not unmarshal DOT into a pipeline.Graph: ");
        /* the type is matched case-insensitively */
        lk_pipeline_spec *spec = NULL;
        assert_int_equal(lk_pipeline_spec_new(&(lk_pipeline_spec_options){.source = "a [type=MeMo value=1]",
                                                                           .source_len = SIZE_MAX},
                                              &spec, NULL),
                         0);
        lk_pipeline_spec_unref(spec);
}

/* Every task type of Chainlink v1.13 is found (the table is searched by
 * bsearch: one name out of order hides others). */
static void every_task_type_is_found(void **state) {
        (void)state;
        static const char *const names[] = {
                "any", "base64decode", "base64encode", "bridge", "cborparse", "conditional", "divide",
                "estimategaslimit", "ethabidecode", "ethabidecodelog", "ethabiencode", "ethabiencode2", "ethcall",
                "ethgetblock", "ethtx", "fail", "hexdecode", "hexencode", "http", "jsonparse", "length", "lessthan",
                "lookup", "lowercase", "mean", "median", "memo", "merge", "mode", "multiply", "sum", "uppercase",
                "uuid", "vrf", "vrfv2",
        };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                const lk_task_type *t = lk_task_type_find(names[i]);
                if (!t)
                        fail_msg("task type %s not found", names[i]);
                assert_string_equal(t->name, names[i]);
        }
        assert_null(lk_task_type_find("ethtx2"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_task_type_is_found),
                cmocka_unit_test(multiply),
                cmocka_unit_test(divide),
                cmocka_unit_test(sum),
                cmocka_unit_test(mean),
                cmocka_unit_test(median),
                cmocka_unit_test(mode),
                cmocka_unit_test(any),
                cmocka_unit_test(lessthan),
                cmocka_unit_test(length),
                cmocka_unit_test(lowercase_uppercase),
                cmocka_unit_test(hexencode),
                cmocka_unit_test(hexdecode),
                cmocka_unit_test(base64),
                cmocka_unit_test(merge),
                cmocka_unit_test(lookup),
                cmocka_unit_test(conditional),
                cmocka_unit_test(memo),
                cmocka_unit_test(fail_task),
                cmocka_unit_test(uuid_task),
                cmocka_unit_test(jsonparse),
                cmocka_unit_test(cborparse),
                cmocka_unit_test(run_parameter_sources),
                cmocka_unit_test(run_implicit_edges),
                cmocka_unit_test(run_index_order),
                cmocka_unit_test(run_errors_as_inputs),
                cmocka_unit_test(run_fail_early),
                cmocka_unit_test(run_retries),
                cmocka_unit_test(run_json_form),
                cmocka_unit_test(run_spec_errors),
        };
        return cmocka_run_group_tests(tests, lktest_task_rows_setup, lktest_task_rows_teardown);
}
