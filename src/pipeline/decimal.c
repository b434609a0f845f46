/* Decimals with github.com/shopspring/decimal v1.3.1's semantics (see
 * include/linkd/decimal.h).
 *
 * The representation matters, not only the value: Chainlink's multiply
 * task refuses a product whose exponent (the sum of the factors') leaves
 * int32, so every operation here leaves the coefficient and exponent
 * exactly where shopspring leaves them (Add/Sub at the smaller exponent,
 * Mul at the sum, DivRound at -precision, NewFromFloat with the trailing
 * zeros of the shortest digits dropped).  Where shopspring's int32
 * arithmetic would silently wrap, this file computes in int64 instead. */
#include "linkd/decimal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"

/* ---- GMP helpers ---- */

/* mpz_set_ui takes an unsigned long, which is not 64 bits everywhere. */
static void z_set_u64(mpz_t z, uint64_t v) {
        mpz_import(z, 1, 1, sizeof v, 0, 0, &v);
}

static void z_set_i64(mpz_t z, int64_t v) {
        z_set_u64(z, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
        if (v < 0)
                mpz_neg(z, z);
}

static void z_mul_pow10(mpz_t r, const mpz_t a, uint64_t n) {
        if (n == 0) {
                mpz_set(r, a);
                return;
        }
        mpz_t p;
        mpz_init(p);
        mpz_ui_pow_ui(p, 10, (unsigned long)n);
        mpz_mul(r, a, p);
        mpz_clear(p);
}

/* |z| in decimal, in a buffer from lk_malloc (GMP's own would need GMP's
 * free function); *ret_len gets its length. */
static char *z_abs_digits(const mpz_t z, size_t *ret_len) {
        char *s = lk_malloc(mpz_sizeinbase(z, 10) + 2);
        mpz_t a;
        mpz_init(a);
        mpz_abs(a, z);
        mpz_get_str(s, 10, a);
        mpz_clear(a);
        *ret_len = strlen(s);
        return s;
}

/* Number of decimal digits of |z|, or one more (mpz_sizeinbase's bound). */
static int64_t z_digits_bound(const mpz_t z) {
        return (int64_t)mpz_sizeinbase(z, 10);
}

/* ---- basics ---- */

void lk_decimal_init(lk_decimal *d) {
        mpz_init(d->coefficient);
        d->exponent = 0;
}

void lk_decimal_clear(lk_decimal *d) {
        mpz_clear(d->coefficient);
        d->exponent = 0;
}

void lk_decimal_set(lk_decimal *d, const lk_decimal *from) {
        mpz_set(d->coefficient, from->coefficient);
        d->exponent = from->exponent;
}

void lk_decimal_from_int64(lk_decimal *d, int64_t v) {
        z_set_i64(d->coefficient, v);
        d->exponent = 0;
}

void lk_decimal_from_uint64(lk_decimal *d, uint64_t v) {
        z_set_u64(d->coefficient, v);
        d->exponent = 0;
}

void lk_decimal_from_mpz(lk_decimal *d, const mpz_t v) {
        mpz_set(d->coefficient, v);
        d->exponent = 0;
}

/* ---- NewFromString ---- */

enum { GO_PARSE_OK, GO_PARSE_SYNTAX, GO_PARSE_RANGE };

/* strconv.ParseInt(s, 10, 32), down to which error wins: ParseUint gives
 * up with ErrRange at the first digit that overflows, before it sees a
 * bad character further on. */
static int go_parse_int32(const char *s, int64_t *out) {
        bool neg = *s == '-';
        if (*s == '+' || *s == '-')
                s++;
        if (*s == '\0')
                return GO_PARSE_SYNTAX;
        uint64_t n = 0;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return GO_PARSE_SYNTAX;
                n = n * 10 + (uint64_t)(*s - '0');
                if (n > UINT32_MAX)
                        return GO_PARSE_RANGE;
        }
        if (neg ? n > (uint64_t)1 << 31 : n >= (uint64_t)1 << 31)
                return GO_PARSE_RANGE;
        *out = neg ? -(int64_t)n : (int64_t)n;
        return GO_PARSE_OK;
}

/* What ParseInt(s, 10, 64) and big.Int.SetString(s, 10) both accept. */
static bool is_go_integer(const char *s) {
        if (*s == '+' || *s == '-')
                s++;
        if (*s == '\0')
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* The mantissa without its point (and without a '+', which GMP refuses);
 * *ret_frac gets the number of digits that followed the point. */
static char *mantissa_digits(const char *value, size_t len, size_t point, size_t *ret_frac) {
        char *s = lk_malloc(len + 1);
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
                if (i != point)
                        s[n++] = value[i];
        s[n] = '\0';
        *ret_frac = point < len ? len - point - 1 : 0;
        return s;
}

static int parse_exponent(const char *text, const char *e, int64_t *exp, lk_err *err) {
        switch (go_parse_int32(e + 1, exp)) {
        case GO_PARSE_SYNTAX:
                return lk_err_set(err, -EINVAL, "can't convert %s to decimal: exponent is not numeric", text);
        case GO_PARSE_RANGE:
                return lk_err_set(err, -EINVAL, "can't convert %s to decimal: fractional part too long", text);
        }
        return 0;
}

int lk_decimal_parse(lk_decimal *d, const char *text, lk_err *err) {
        int64_t exp = 0;
        const char *e = strpbrk(text, "Ee");
        if (e && parse_exponent(text, e, &exp, err) < 0)
                return -EINVAL;
        /* shopspring quotes the text without its exponent from here on. */
        size_t len = e ? (size_t)(e - text) : strlen(text);
        const char *point = memchr(text, '.', len);
        if (point && memchr(point + 1, '.', len - (size_t)(point - text) - 1))
                return lk_err_set(err, -EINVAL, "can't convert %.*s to decimal: too many .s", (int)len, text);
        size_t frac;
        char *digits = mantissa_digits(text, len, point ? (size_t)(point - text) : len, &frac);
        int r = 0;
        if (!is_go_integer(digits)) {
                r = lk_err_set(err, -EINVAL, "can't convert %.*s to decimal", (int)len, text);
        } else if (frac > (size_t)INT32_MAX * 2 || exp - (int64_t)frac < INT32_MIN) {
                r = lk_err_set(err, -EINVAL, "can't convert %s to decimal: fractional part too long", text);
        } else if (exp - (int64_t)frac > LK_DECIMAL_MAX_EXPONENT || exp - (int64_t)frac < -LK_DECIMAL_MAX_EXPONENT) {
                r = lk_err_set(err, -EINVAL, "can't convert %s to decimal: exponent beyond linkd's limit of %d", text,
                               LK_DECIMAL_MAX_EXPONENT);
        } else {
                mpz_set_str(d->coefficient, digits + (digits[0] == '+'), 10);
                d->exponent = (int32_t)(exp - (int64_t)frac);
        }
        lk_free(digits);
        return r;
}

/* ---- NewFromFloat: strconv's roundShortest, as shopspring copies it ---- */

#define F64_MANTBITS 52
#define F64_EXPBITS 11
#define F64_BIAS (-1023)

/* strconv's decimal: digits d[0..nd) with the point before d[dp]. */
typedef struct digits {
        char *d;
        int nd;
        int dp;
} digits;

static void digits_trim(digits *a) {
        while (a->nd > 0 && a->d[a->nd - 1] == '0')
                a->nd--;
        if (a->nd == 0)
                a->dp = 0;
}

/* Exactly mant * 2^shift, as strconv's Assign + Shift leave it. */
static void digits_exact(digits *a, uint64_t mant, int shift) {
        mpz_t z;
        mpz_init(z);
        z_set_u64(z, mant);
        int scale = 0;
        if (shift >= 0) {
                mpz_mul_2exp(z, z, (mp_bitcnt_t)shift);
        } else {
                /* m / 2^k = m * 5^k / 10^k */
                mpz_t p;
                mpz_init(p);
                mpz_ui_pow_ui(p, 5, (unsigned long)-shift);
                mpz_mul(z, z, p);
                mpz_clear(p);
                scale = -shift;
        }
        size_t n;
        a->d = z_abs_digits(z, &n);
        mpz_clear(z);
        a->nd = (int)n;
        a->dp = (int)n - scale;
        digits_trim(a);
}

static void digits_round_down(digits *a, int nd) {
        if (nd < 0 || nd >= a->nd)
                return;
        a->nd = nd;
        digits_trim(a);
}

static void digits_round_up(digits *a, int nd) {
        if (nd < 0 || nd >= a->nd)
                return;
        for (int i = nd - 1; i >= 0; i--) {
                if (a->d[i] < '9') {
                        a->d[i]++;
                        a->nd = i + 1;
                        return;
                }
        }
        a->d[0] = '1';
        a->nd = 1;
        a->dp++;
}

/* Half to even: the digits are exact, never truncated. */
static void digits_round(digits *a, int nd) {
        if (nd < 0 || nd >= a->nd)
                return;
        bool up = a->d[nd] >= '5';
        if (a->d[nd] == '5' && nd + 1 == a->nd)
                up = nd > 0 && (a->d[nd - 1] - '0') % 2 == 1;
        if (up)
                digits_round_up(a, nd);
        else
                digits_round_down(a, nd);
}

static char digit_at(const digits *a, int i) {
        return i >= 0 && i < a->nd ? a->d[i] : '0';
}

/* The bounds halfway to the neighbouring floats: any decimal strictly
 * between them (or on them, when inclusive) reads back as the float. */
static void float_bounds(uint64_t mant, int exp, digits *lower, digits *upper) {
        const int minexp = F64_BIAS + 1;
        digits_exact(upper, mant * 2 + 1, exp - F64_MANTBITS - 1);
        uint64_t mantlo = mant - 1;
        int explo = exp;
        if (mant <= (uint64_t)1 << F64_MANTBITS && exp != minexp) {
                mantlo = mant * 2 - 1;
                explo = exp - 1;
        }
        digits_exact(lower, mantlo * 2 + 1, explo - F64_MANTBITS - 1);
}

/* How far rounding d up at this digit lands from upper: 0 while their
 * digits agree, 1 after a difference of one followed by d's 9s against
 * upper's 0s (so rounding up might reach upper), 2 once it is clearly
 * below. */
static int next_upperdelta(int upperdelta, char m, char u) {
        if (upperdelta == 0 && m + 1 < u)
                return 2;
        if (upperdelta == 0 && m != u)
                return 1;
        if (upperdelta == 1 && (m != '9' || u != '0'))
                return 2;
        return upperdelta;
}

static void round_either_way(digits *d, bool okdown, bool okup, int nd) {
        if (okdown && okup)
                digits_round(d, nd);
        else if (okdown)
                digits_round_down(d, nd);
        else
                digits_round_up(d, nd);
}

/* Rounds d to the shortest digits that still read back as the float;
 * a literal port of strconv.roundShortest. */
static void round_shortest(digits *d, uint64_t mant, int exp) {
        const int minexp = F64_BIAS + 1;
        if (exp > minexp && 332 * (d->dp - d->nd) >= 100 * (exp - F64_MANTBITS))
                return;
        digits lower, upper;
        float_bounds(mant, exp, &lower, &upper);
        bool inclusive = mant % 2 == 0;
        int upperdelta = 0;
        for (int ui = 0;; ui++) {
                int mi = ui - upper.dp + d->dp;
                if (mi >= d->nd)
                        break;
                int li = ui - upper.dp + lower.dp;
                char l = digit_at(&lower, li), m = digit_at(d, mi), u = digit_at(&upper, ui);
                bool okdown = l != m || (inclusive && li + 1 == lower.nd);
                upperdelta = next_upperdelta(upperdelta, m, u);
                bool okup = upperdelta > 0 && (inclusive || upperdelta > 1 || ui + 1 < upper.nd);
                if (okdown || okup) {
                        round_either_way(d, okdown, okup, mi + 1);
                        break;
                }
        }
        lk_free(lower.d);
        lk_free(upper.d);
}

static void set_from_digits(lk_decimal *d, const digits *a, bool neg) {
        char save = a->d[a->nd];
        a->d[a->nd] = '\0';
        mpz_set_str(d->coefficient, a->d, 10);
        a->d[a->nd] = save;
        if (neg)
                mpz_neg(d->coefficient, d->coefficient);
        d->exponent = a->dp - a->nd;
}

int lk_decimal_from_double(lk_decimal *d, double v, lk_err *err) {
        if (isnan(v) || isinf(v))
                return lk_err_set(err, -EINVAL, "invalid float %s, cannot convert to decimal",
                                  isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        if (v == 0) {
                lk_decimal_from_int64(d, 0);
                return 0;
        }
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        int exp = (int)(bits >> F64_MANTBITS) & ((1 << F64_EXPBITS) - 1);
        uint64_t mant = bits & (((uint64_t)1 << F64_MANTBITS) - 1);
        if (exp == 0)
                exp++;
        else
                mant |= (uint64_t)1 << F64_MANTBITS;
        exp += F64_BIAS;
        digits a;
        digits_exact(&a, mant, exp - F64_MANTBITS);
        round_shortest(&a, mant, exp);
        set_from_digits(d, &a, v < 0);
        lk_free(a.d);
        return 0;
}

/* ---- String() ---- */

static void format_integer(const lk_decimal *d, lk_buf *out) {
        mpz_t z;
        mpz_init(z);
        z_mul_pow10(z, d->coefficient, (uint64_t)d->exponent);
        size_t n;
        char *s = z_abs_digits(z, &n);
        if (mpz_sgn(z) < 0)
                lk_buf_putc(out, '-');
        lk_buf_append(out, s, n);
        lk_free(s);
        mpz_clear(z);
}

static void put_zeros(lk_buf *out, uint64_t n) {
        static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";
        while (n > 0) {
                size_t chunk = n < sizeof zeros - 1 ? (size_t)n : sizeof zeros - 1;
                lk_buf_append(out, zeros, chunk);
                n -= chunk;
        }
}

void lk_decimal_format(const lk_decimal *d, lk_buf *out) {
        if (mpz_sgn(d->coefficient) == 0) {
                lk_buf_putc(out, '0');
                return;
        }
        if (d->exponent >= 0) {
                format_integer(d, out);
                return;
        }
        size_t n;
        char *s = z_abs_digits(d->coefficient, &n);
        uint64_t frac_len = (uint64_t)-(int64_t)d->exponent;
        /* Digits of the coefficient that stay once trailing zeros go. */
        size_t keep = n;
        while (keep > 0 && s[keep - 1] == '0')
                keep--;
        if (mpz_sgn(d->coefficient) < 0)
                lk_buf_putc(out, '-');
        if (n > frac_len) {
                size_t int_len = n - (size_t)frac_len;
                lk_buf_append(out, s, int_len);
                if (keep > int_len) {
                        lk_buf_putc(out, '.');
                        lk_buf_append(out, s + int_len, keep - int_len);
                }
        } else {
                lk_buf_append(out, "0.", 2);
                put_zeros(out, frac_len - n);
                lk_buf_append(out, s, keep);
        }
        lk_free(s);
}

char *lk_decimal_string(const lk_decimal *d) {
        lk_buf b = LK_BUF_INIT;
        lk_decimal_format(d, &b);
        return lk_buf_steal(&b, NULL);
}

/* ---- arithmetic ---- */

/* a and b brought to the smaller exponent, as shopspring's RescalePair. */
static int32_t rescale_pair(const lk_decimal *a, const lk_decimal *b, mpz_t ra, mpz_t rb) {
        int32_t e = a->exponent < b->exponent ? a->exponent : b->exponent;
        z_mul_pow10(ra, a->coefficient, (uint64_t)((int64_t)a->exponent - e));
        z_mul_pow10(rb, b->coefficient, (uint64_t)((int64_t)b->exponent - e));
        return e;
}

static void add_or_sub(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, bool sub) {
        mpz_t ra, rb;
        mpz_init(ra);
        mpz_init(rb);
        int32_t e = rescale_pair(a, b, ra, rb);
        if (sub)
                mpz_sub(r->coefficient, ra, rb);
        else
                mpz_add(r->coefficient, ra, rb);
        r->exponent = e;
        mpz_clear(ra);
        mpz_clear(rb);
}

void lk_decimal_add(lk_decimal *r, const lk_decimal *a, const lk_decimal *b) {
        add_or_sub(r, a, b, false);
}

void lk_decimal_sub(lk_decimal *r, const lk_decimal *a, const lk_decimal *b) {
        add_or_sub(r, a, b, true);
}

int lk_decimal_mul(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, lk_err *err) {
        int64_t e = (int64_t)a->exponent + b->exponent;
        if (e > INT32_MAX || e < INT32_MIN)
                return lk_err_set(err, -ERANGE, "multiply overflow");
        if (e > LK_DECIMAL_MAX_EXPONENT || e < -LK_DECIMAL_MAX_EXPONENT ||
            z_digits_bound(a->coefficient) + z_digits_bound(b->coefficient) > LK_DECIMAL_MAX_DIGITS + 2)
                return lk_err_set(err, -ERANGE, "multiply overflow: beyond linkd's decimal size limit");
        mpz_mul(r->coefficient, a->coefficient, b->coefficient);
        r->exponent = (int32_t)e;
        return 0;
}

/* Compares ca * 10^ea with cb * 10^eb without building a power of ten
 * when the digit counts already decide (Cmp on 1e2000000000 would
 * otherwise allocate a gigabyte). */
static int cmp_scaled(const mpz_t ca, int64_t ea, const mpz_t cb, int64_t eb) {
        int sa = mpz_sgn(ca), sb = mpz_sgn(cb);
        if (sa != sb || sa == 0)
                return (sa > sb) - (sa < sb);
        if (ea == eb)
                return mpz_cmp(ca, cb);
        int64_t ma = z_digits_bound(ca) + ea, mb = z_digits_bound(cb) + eb;
        if (ma > mb + 1)
                return sa;
        if (mb > ma + 1)
                return -sa;
        mpz_t t;
        mpz_init(t);
        int c;
        if (ea > eb) {
                z_mul_pow10(t, ca, (uint64_t)(ea - eb));
                c = mpz_cmp(t, cb);
        } else {
                z_mul_pow10(t, cb, (uint64_t)(eb - ea));
                c = mpz_cmp(ca, t);
        }
        mpz_clear(t);
        return c;
}

/* shopspring's QuoRem(b, precision): q at exponent -precision, and the
 * remainder, whose exponent *ret_rexp may leave int32. */
static void quo_rem(const lk_decimal *a, const lk_decimal *b, int32_t precision, mpz_t q, mpz_t rem,
                    int64_t *ret_rexp) {
        int64_t e = (int64_t)a->exponent - b->exponent + precision;
        mpz_t aa, bb;
        mpz_init(aa);
        mpz_init(bb);
        if (e < 0) {
                mpz_set(aa, a->coefficient);
                z_mul_pow10(bb, b->coefficient, (uint64_t)-e);
                *ret_rexp = a->exponent;
        } else {
                z_mul_pow10(aa, a->coefficient, (uint64_t)e);
                mpz_set(bb, b->coefficient);
                *ret_rexp = (int64_t)b->exponent - precision;
        }
        mpz_tdiv_qr(q, rem, aa, bb);
        mpz_clear(aa);
        mpz_clear(bb);
}

/* Half away from zero: up when 2|r|·10^precision >= |b|. */
static bool rounds_away(const mpz_t rem, int64_t rexp, const lk_decimal *b, int32_t precision) {
        mpz_t r2, babs;
        mpz_init(r2);
        mpz_init(babs);
        mpz_abs(r2, rem);
        mpz_mul_2exp(r2, r2, 1);
        mpz_abs(babs, b->coefficient);
        bool away = cmp_scaled(r2, rexp + precision, babs, b->exponent) >= 0;
        mpz_clear(r2);
        mpz_clear(babs);
        return away;
}

int lk_decimal_div_round(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, int32_t precision, lk_err *err) {
        if (mpz_sgn(b->coefficient) == 0)
                return lk_err_set(err, -EDOM, "divide by zero");
        int64_t e = (int64_t)a->exponent - b->exponent + precision;
        if (e > INT32_MAX || e < INT32_MIN || precision == INT32_MIN)
                return lk_err_set(err, -ERANGE, "division overflow");
        if (precision > LK_DECIMAL_MAX_EXPONENT || precision < -LK_DECIMAL_MAX_EXPONENT)
                return lk_err_set(err, -ERANGE, "division overflow: precision beyond linkd's limit of %d",
                                  LK_DECIMAL_MAX_EXPONENT);
        mpz_t q, rem;
        mpz_init(q);
        mpz_init(rem);
        int64_t rexp;
        quo_rem(a, b, precision, q, rem, &rexp);
        if (rounds_away(rem, rexp, b, precision)) {
                if (mpz_sgn(a->coefficient) * mpz_sgn(b->coefficient) < 0)
                        mpz_sub_ui(q, q, 1);
                else
                        mpz_add_ui(q, q, 1);
        }
        mpz_swap(r->coefficient, q);
        r->exponent = -precision;
        mpz_clear(q);
        mpz_clear(rem);
        return 0;
}

int lk_decimal_div(lk_decimal *r, const lk_decimal *a, const lk_decimal *b, lk_err *err) {
        return lk_decimal_div_round(r, a, b, LK_DECIMAL_DIVISION_PRECISION, err);
}

/* ---- comparisons and conversions ---- */

int lk_decimal_cmp(const lk_decimal *a, const lk_decimal *b) {
        return cmp_scaled(a->coefficient, a->exponent, b->coefficient, b->exponent);
}

int lk_decimal_sign(const lk_decimal *d) {
        return mpz_sgn(d->coefficient);
}

bool lk_decimal_is_integer(const lk_decimal *d) {
        if (d->exponent >= 0 || mpz_sgn(d->coefficient) == 0)
                return true;
        uint64_t k = (uint64_t)-(int64_t)d->exponent;
        /* Divisible by 10^k needs at least k+1 digits. */
        if ((uint64_t)z_digits_bound(d->coefficient) <= k)
                return false;
        mpz_t p;
        mpz_init(p);
        mpz_ui_pow_ui(p, 10, (unsigned long)k);
        bool whole = mpz_divisible_p(d->coefficient, p);
        mpz_clear(p);
        return whole;
}

void lk_decimal_to_mpz(const lk_decimal *d, mpz_t out) {
        if (d->exponent >= 0) {
                z_mul_pow10(out, d->coefficient, (uint64_t)d->exponent);
                return;
        }
        uint64_t k = (uint64_t)-(int64_t)d->exponent;
        if ((uint64_t)z_digits_bound(d->coefficient) < k) {
                mpz_set_ui(out, 0);
                return;
        }
        mpz_t p;
        mpz_init(p);
        mpz_ui_pow_ui(p, 10, (unsigned long)k);
        mpz_tdiv_q(out, d->coefficient, p);
        mpz_clear(p);
}

/* strtod rounds correctly, as big.Rat.Float64 does, and the text has no
 * decimal point, so LC_NUMERIC cannot matter. */
double lk_decimal_to_double(const lk_decimal *d) {
        lk_buf b = LK_BUF_INIT;
        size_t n;
        char *s = z_abs_digits(d->coefficient, &n);
        if (mpz_sgn(d->coefficient) < 0)
                lk_buf_putc(&b, '-');
        lk_buf_append(&b, s, n);
        lk_buf_printf(&b, "e%" PRId32, d->exponent);
        double v = strtod(lk_buf_str(&b), NULL);
        lk_free(s);
        lk_buf_done(&b);
        return v;
}
