/* Inner loops of the recursions, written so the compiler vectorises them.
 *
 * On x86-64 with GCC each function is compiled twice (target_clones): a
 * baseline version and an AVX2 + FMA (x86-64-v3) version picked at load time,
 * so a portable wheel still runs at the machine's vector width. The choice is
 * fixed per machine, so results do not depend on the thread count.
 *
 * Four rows are combined per pass over the output vector: a quarter of the
 * loads and stores of the accumulator, the bottleneck of a matrix-vector step.
 */
#ifndef HMM_CORE_SIMD_H
#define HMM_CORE_SIMD_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define HMM_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HMM_MULTIVERSION
#endif

/* Four doubles as one vector (GCC/clang vector extension); loads and stores
 * through it need only 8-byte alignment, and it may alias plain doubles. */
typedef double hmm_v4 __attribute__((vector_size(32), aligned(8), may_alias));

static inline __attribute__((always_inline)) hmm_v4 hmm_load4(const double *p)
{
    return *(const hmm_v4 *)p;
}

/* ---- exp and log over arrays, written without branches so they vectorise.
 * glibc's scalar exp/log cost more than the N^2 multiply-adds of a step for
 * N up to ~64; these run several lanes at a time with errors of about 1 ulp
 * (checked against NumPy in the tests). */

static const double HMM_LOG2E = 1.4426950408889634;
static const double HMM_LN2_HI = 6.93147180369123816490e-01; /* trailing zeros: k*HI exact */
static const double HMM_LN2_LO = 1.90821492927058770002e-10;
static const double HMM_ROUND = 6755399441055744.0;           /* 1.5 * 2^52 */

static inline int64_t hmm_bits(double x) { int64_t b; memcpy(&b, &x, 8); return b; }
static inline double hmm_from_bits(int64_t b) { double x; memcpy(&x, &b, 8); return x; }

typedef int64_t hmm_i4 __attribute__((vector_size(32), aligned(8), may_alias));

/* exp of four lanes; arguments below -708 (and -inf) give 0, the true values
 * being under 3e-308. Written on vector types because GCC does not if-convert
 * the clamps of a scalar version, which then ran one lane at a time (14 ns
 * per value against 5 here). */
static inline __attribute__((always_inline)) hmm_v4 hmm_exp4(hmm_v4 a)
{
    const hmm_v4 lo = {-708.0, -708.0, -708.0, -708.0};
    const hmm_v4 hi = {709.0, 709.0, 709.0, 709.0};
    const hmm_i4 below = a < lo, above = a > hi;     /* lanes of all ones or zeros */
    const hmm_v4 ac = (hmm_v4)(((hmm_i4)a & ~(below | above)) | ((hmm_i4)lo & below)
                               | ((hmm_i4)hi & above));
    const hmm_v4 t = ac * HMM_LOG2E + HMM_ROUND;       /* round to nearest integer */
    const hmm_v4 k = t - HMM_ROUND;
    const hmm_v4 r = (ac - k * HMM_LN2_HI) - k * HMM_LN2_LO;   /* |r| <= ln2 / 2 */
    /* Taylor to degree 13: remainder < 5e-18 on |r| <= 0.347 */
    hmm_v4 p = r * (1.0 / 6227020800.0) + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    const hmm_v4 round = {HMM_ROUND, HMM_ROUND, HMM_ROUND, HMM_ROUND};
    const hmm_i4 kbits = (hmm_i4)t - (hmm_i4)round;   /* k as an integer */
    const hmm_v4 scale = (hmm_v4)((kbits + 1023) << 52);
    return (hmm_v4)((hmm_i4)(p * scale) & ~below);
}

/* exp(a), the same arithmetic as one lane of hmm_exp4. */
static inline __attribute__((always_inline)) double hmm_exp1(double a)
{
    const hmm_v4 v = {a, a, a, a};
    return hmm_exp4(v)[0];
}

/* In place: x[i] = exp(x[i]) for i < n, four lanes at a time. */
static inline __attribute__((always_inline)) void hmm_exp_inplace(double *x, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    for (; i + 4 <= n; i += 4)
        *(hmm_v4 *)(x + i) = hmm_exp4(hmm_load4(x + i));
    if (i < n) {
        hmm_v4 v = {0.0, 0.0, 0.0, 0.0};
        for (ptrdiff_t j = i; j < n; j++)
            v[j - i] = x[j];
        v = hmm_exp4(v);
        for (ptrdiff_t j = i; j < n; j++)
            x[j] = v[j - i];
    }
}

/* out[i] = exp(x[i] - shift) for x[i] - shift <= 709. In place is fine. */
HMM_MULTIVERSION
static void hmm_exp_sub(const double *x, double shift, double *out,
                        ptrdiff_t n)
{
    ptrdiff_t i = 0;
    for (; i + 4 <= n; i += 4)
        *(hmm_v4 *)(out + i) = hmm_exp4(hmm_load4(x + i) - shift);
    if (i < n) {
        hmm_v4 v = {0.0, 0.0, 0.0, 0.0};
        for (ptrdiff_t j = i; j < n; j++)
            v[j - i] = x[j] - shift;
        v = hmm_exp4(v);
        for (ptrdiff_t j = i; j < n; j++)
            out[j] = v[j - i];
    }
}

/* out[i] = log(x[i]) for positive normal x; anything else goes through libm. */
HMM_MULTIVERSION
static void hmm_log(const double *x, double *out, ptrdiff_t n)
{
    ptrdiff_t i;
    int irregular = 0;
    for (i = 0; i < n; i++) {
        const double xi = x[i];
        const int64_t b = hmm_bits(xi);
        int64_t e = ((b >> 52) & 0x7ff) - 1023;
        double m = hmm_from_bits((b & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);
        const int64_t big = m > 1.4142135623730951;                 /* m in [1, 2) */
        m = big ? 0.5 * m : m;                                     /* m in [0.707, 1.414) */
        e += big;
        /* e as a double without a vector int64 -> double conversion */
        const double ed = hmm_from_bits(hmm_bits(HMM_ROUND) + e) - HMM_ROUND;
        const double f = m - 1.0;
        const double s = f / (m + 1.0);
        const double z = s * s;
        /* log(1 + f) = 2 atanh(s) = f - (f^2/2 - s (f^2/2 + R)), R = 2 z p with
         * p = sum_k z^(k-1) / (2k + 1); |s| <= 0.1716, z <= 0.0295, terms past
         * z^11 are below 1e-19. */
        double p = 1.0 / 23.0;
        p = p * z + 1.0 / 21.0;
        p = p * z + 1.0 / 19.0;
        p = p * z + 1.0 / 17.0;
        p = p * z + 1.0 / 15.0;
        p = p * z + 1.0 / 13.0;
        p = p * z + 1.0 / 11.0;
        p = p * z + 1.0 / 9.0;
        p = p * z + 1.0 / 7.0;
        p = p * z + 1.0 / 5.0;
        p = p * z + 1.0 / 3.0;
        const double hfsq = 0.5 * f * f;
        const double logm = f - (hfsq - s * (hfsq + 2.0 * z * p));
        out[i] = ed * HMM_LN2_HI + (logm + ed * HMM_LN2_LO);
        irregular |= !(xi >= 2.2250738585072014e-308 && xi <= 1.7976931348623157e308);
    }
    if (irregular) {
        for (i = 0; i < n; i++)
            if (!(x[i] >= 2.2250738585072014e-308 && x[i] <= 1.7976931348623157e308))
                out[i] = log(x[i]);
    }
}


/* out[j] = sum_i x[i] * a[i * n + j]   (row vector times matrix).
 * Inlined into the multiversioned sequence kernels of _scaled.h. */
static inline __attribute__((always_inline)) void
hmm_vecmat_inline(const double *restrict x, const double *restrict a,
                  double *restrict out, ptrdiff_t n)
{
    ptrdiff_t i = 0, j;
    for (j = 0; j < n; j++)
        out[j] = 0.0;
    for (; i + 4 <= n; i += 4) {
        const double x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
        const double *restrict a0 = a + i * n;
        const double *restrict a1 = a0 + n;
        const double *restrict a2 = a1 + n;
        const double *restrict a3 = a2 + n;
        if (x0 == 0.0 && x1 == 0.0 && x2 == 0.0 && x3 == 0.0)
            continue;
        for (j = 0; j < n; j++)
            out[j] += (x0 * a0[j] + x1 * a1[j]) + (x2 * a2[j] + x3 * a3[j]);
    }
    for (; i < n; i++) {
        const double xi = x[i];
        const double *restrict ai = a + i * n;
        if (xi == 0.0)
            continue;
        for (j = 0; j < n; j++)
            out[j] += xi * ai[j];
    }
}

HMM_MULTIVERSION
static void hmm_vecmat(const double *restrict x, const double *restrict a,
                       double *restrict out, ptrdiff_t n)
{
    hmm_vecmat_inline(x, a, out, n);
}

/* acc[i, j] += scale * x[i] * a[i, j] * y[j]   (one step of expected transitions) */
HMM_MULTIVERSION
static void hmm_outer_acc(const double *restrict x, const double *restrict a,
                          const double *restrict y, double scale,
                          double *restrict acc, ptrdiff_t n)
{
    ptrdiff_t i, j;
    for (i = 0; i < n; i++) {
        const double xi = scale * x[i];
        const double *restrict ai = a + i * n;
        double *restrict acci = acc + i * n;
        if (xi == 0.0)
            continue;
        for (j = 0; j < n; j++)
            acci[j] += xi * ai[j] * y[j];
    }
}

/* Max-plus step of Viterbi: best[j] = max_i delta[i] + log_a[i, j], arg[j] its
 * lowest maximising i (as a double, so the loop vectorises). Rows whose delta
 * is -inf are skipped; if every row is, best stays -inf and arg 0. */
HMM_MULTIVERSION
static void hmm_maxplus(const double *restrict delta, const double *restrict log_a,
                        double *restrict best, double *restrict arg, ptrdiff_t n)
{
    ptrdiff_t i = 0, j;
    for (j = 0; j < n; j++) {
        best[j] = -__builtin_inf();
        arg[j] = 0.0;
    }
    for (; i + 2 <= n; i += 2) {
        const double d0 = delta[i], d1 = delta[i + 1];
        const double f0 = (double)i, f1 = (double)(i + 1);
        const double *restrict a0 = log_a + i * n;
        const double *restrict a1 = a0 + n;
        if (d0 == -__builtin_inf() && d1 == -__builtin_inf())
            continue;
        for (j = 0; j < n; j++) {
            const double c0 = d0 + a0[j], c1 = d1 + a1[j];
            /* ties go to the lower index: c1 must beat c0 strictly */
            const double c = c1 > c0 ? c1 : c0;
            const double f = c1 > c0 ? f1 : f0;
            const int better = c > best[j];
            best[j] = better ? c : best[j];
            arg[j] = better ? f : arg[j];
        }
    }
    for (; i < n; i++) {
        const double d = delta[i], f = (double)i;
        const double *restrict ai = log_a + i * n;
        if (d == -__builtin_inf())
            continue;
        for (j = 0; j < n; j++) {
            const double c = d + ai[j];
            const int better = c > best[j];
            best[j] = better ? c : best[j];
            arg[j] = better ? f : arg[j];
        }
    }
}


#endif
