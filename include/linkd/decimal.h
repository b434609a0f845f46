/* Arbitrary-precision decimals with shopspring/decimal's semantics, as
 * Chainlink's pipeline uses them: an integer coefficient (GMP) times ten to
 * an int32 exponent.  Div rounds to 16 decimal places (DivisionPrecision);
 * DivRound rounds half away from zero; String() is plain notation without
 * an exponent and with trailing fractional zeros trimmed ("2.90" → "2.9",
 * "1e3" → "1000", "0.0000000000000123"). */
#ifndef LINKD_DECIMAL_H
#define LINKD_DECIMAL_H

#include <gmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/err.h"

#define LK_DECIMAL_DIVISION_PRECISION 16

/* linkd's bound on a decimal's size, where shopspring has none: an
 * exponent (after parsing, multiplying or dividing) beyond +-100,000, or a
 * product of more than 200,000 digits, is refused with the overflow error
 * of the operation.  Without it, "1e2000000000" is a valid decimal whose
 * String() is two gigabytes, and a chain of self-multiplications doubles
 * its size at every step.  A uint256 has 78 digits. */
#define LK_DECIMAL_MAX_EXPONENT 100000
#define LK_DECIMAL_MAX_DIGITS 200000

typedef struct lk_decimal {
        mpz_t coefficient;
        int32_t exponent;
} lk_decimal;

/* Every lk_decimal is initialised (to 0) before use and cleared after. */
void lk_decimal_init(lk_decimal *d);
void lk_decimal_clear(lk_decimal *d);
void lk_decimal_set(lk_decimal *d, const lk_decimal *from);

/* shopspring NewFromString: optional sign, digits with an optional point,
 * optional exponent (e/E, signed).  No spaces, no hex, no "inf".  Errors
 * with shopspring's texts: "can't convert <s> to decimal", ... */
int lk_decimal_parse(lk_decimal *d, const char *text, lk_err *err);
void lk_decimal_from_int64(lk_decimal *d, int64_t v);
void lk_decimal_from_uint64(lk_decimal *d, uint64_t v);
void lk_decimal_from_mpz(lk_decimal *d, const mpz_t v);
/* NewFromFloat: the shortest decimal that reads back as v.  -EINVAL for
 * NaN and infinities. */
int lk_decimal_from_double(lk_decimal *d, double v, lk_err *err);

/* String(): appends the canonical text to out. */
void lk_decimal_format(const lk_decimal *d, lk_buf *out);
/* The canonical text in a new string (lk_free it). */
char *lk_decimal_string(const lk_decimal *d);

void lk_decimal_add(lk_decimal *r, const lk_decimal *a, const lk_decimal *b);
void lk_decimal_sub(lk_decimal *r, const lk_decimal *a, const lk_decimal *b);
/* -ERANGE "multiply overflow" when the exponents' sum leaves int32. */
int lk_decimal_mul(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, lk_err *err);
/* Div: DivRound(b, 16).  -EDOM "divide by zero". */
int lk_decimal_div(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, lk_err *err);
/* DivRound(b, precision): the quotient rounded half away from zero to
 * precision decimal places.  -EDOM "divide by zero"; -ERANGE "division
 * overflow" when the result cannot be represented. */
int lk_decimal_div_round(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, int32_t precision, lk_err *err);

int lk_decimal_cmp(const lk_decimal *a, const lk_decimal *b);
int lk_decimal_sign(const lk_decimal *d);
bool lk_decimal_is_integer(const lk_decimal *d);
/* The integer part (truncated toward zero). */
void lk_decimal_to_mpz(const lk_decimal *d, mpz_t out);
/* The nearest double. */
double lk_decimal_to_double(const lk_decimal *d);

#endif
