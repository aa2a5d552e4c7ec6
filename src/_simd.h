/* Portability, SIMD dispatch, and the inner loops shared by the kernels.
 *
 * Dispatch. Each kernel entry point (HMM_DISPATCH below) is compiled twice from
 * one source: for the baseline ISA and, on x86-64 with GCC or clang, for AVX2
 * + FMA; every call picks one from the CPU's features (__builtin_cpu_supports:
 * a load and a test), so a portable wheel runs at the machine's vector width.
 * The choice is fixed per machine, so results do not depend on the thread
 * count. Helpers called from an entry point are either always inlined into it
 * (HMM_INLINE) or never (HMM_NOINLINE), so every module that includes these
 * headers computes bit for bit the same values.
 *
 * Vector types. With GCC/clang vector extensions (HMM_VECTOR_EXT), hmm_v4 holds
 * four doubles, and the loops that GCC would not vectorise by itself are
 * written on it. Without them (another compiler, or HMM_NO_VECTOR_EXT defined)
 * the same functions are plain scalar loops. Define HMM_NO_DISPATCH to build
 * the baseline only.
 */
#ifndef HMM_CORE_SIMD_H
#define HMM_CORE_SIMD_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- portability */

#if defined(__GNUC__) || defined(__clang__)
#define HMM_INLINE static inline __attribute__((always_inline))
#define HMM_NOINLINE static __attribute__((noinline))
#define HMM_UNUSED __attribute__((unused))
#elif defined(_MSC_VER)
#define HMM_INLINE static __forceinline
#define HMM_NOINLINE static __declspec(noinline)
#define HMM_UNUSED
#else
#define HMM_INLINE static inline
#define HMM_NOINLINE static
#define HMM_UNUSED
#endif

#if !defined(HMM_NO_VECTOR_EXT) && defined(__has_attribute)
#if __has_attribute(vector_size)
#define HMM_VECTOR_EXT 1
#endif
#endif
#ifndef HMM_VECTOR_EXT
#define HMM_VECTOR_EXT 0
#endif

/* ---- dispatch */

#if !defined(HMM_NO_DISPATCH) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HMM_DISPATCH_AVX2 1
#define HMM_AVX2 __attribute__((target("avx2,fma")))
#else
#define HMM_DISPATCH_AVX2 0
#endif

/* Whether this CPU runs the AVX2 + FMA builds of the kernels. */
static inline int hmm_cpu_avx2(void)
{
#if HMM_DISPATCH_AVX2
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* Defines the entry point `ret name params`, which runs name##_impl args (an
 * HMM_INLINE function) compiled for AVX2 + FMA when the CPU has them, else for
 * the baseline. HMM_DISPATCH_VOID for void functions. */
#if HMM_DISPATCH_AVX2
#define HMM_DISPATCH(ret, name, params, args)                                       \
    HMM_AVX2 HMM_NOINLINE HMM_UNUSED ret name##_avx2 params { return name##_impl args; } \
    HMM_NOINLINE HMM_UNUSED ret name##_base params { return name##_impl args; }      \
    static inline ret name params                                                    \
    {                                                                                \
        return hmm_cpu_avx2() ? name##_avx2 args : name##_base args;                 \
    }
#define HMM_DISPATCH_VOID(name, params, args)                                       \
    HMM_AVX2 HMM_NOINLINE HMM_UNUSED void name##_avx2 params { name##_impl args; }   \
    HMM_NOINLINE HMM_UNUSED void name##_base params { name##_impl args; }            \
    static inline void name params                                                   \
    {                                                                                \
        if (hmm_cpu_avx2())                                                          \
            name##_avx2 args;                                                        \
        else                                                                         \
            name##_base args;                                                        \
    }
#else
#define HMM_DISPATCH(ret, name, params, args)                                       \
    static inline ret name params { return name##_impl args; }
#define HMM_DISPATCH_VOID(name, params, args)                                       \
    static inline void name params { name##_impl args; }
#endif

/* ---- exp and log over arrays, written without branches so they vectorise.
 * glibc's scalar exp/log cost more than the N^2 multiply-adds of a step for
 * N up to ~64; these run several lanes at a time with errors of about 1 ulp
 * (checked against NumPy in the tests). */

static const double HMM_LOG2E = 1.4426950408889634;
static const double HMM_LN2_HI = 6.93147180369123816490e-01; /* trailing zeros: k*HI exact */
static const double HMM_LN2_LO = 1.90821492927058770002e-10;
static const double HMM_ROUND = 6755399441055744.0;           /* 1.5 * 2^52 */

HMM_INLINE int64_t hmm_bits(double x) { int64_t b; memcpy(&b, &x, 8); return b; }
HMM_INLINE double hmm_from_bits(int64_t b) { double x; memcpy(&x, &b, 8); return x; }

/* p(r) ~ exp(r) on |r| <= ln2 / 2: Taylor to degree 13, remainder < 5e-18.
 * A macro so that it serves vector and scalar r alike. */
#define HMM_EXP_POLY(p, r)                                                          \
    do {                                                                             \
        p = r * (1.0 / 6227020800.0) + 1.0 / 479001600.0;                           \
        p = p * r + 1.0 / 39916800.0;                                                \
        p = p * r + 1.0 / 3628800.0;                                                 \
        p = p * r + 1.0 / 362880.0;                                                  \
        p = p * r + 1.0 / 40320.0;                                                   \
        p = p * r + 1.0 / 5040.0;                                                    \
        p = p * r + 1.0 / 720.0;                                                     \
        p = p * r + 1.0 / 120.0;                                                     \
        p = p * r + 1.0 / 24.0;                                                      \
        p = p * r + 1.0 / 6.0;                                                       \
        p = p * r + 0.5;                                                             \
        p = p * r + 1.0;                                                             \
        p = p * r + 1.0;                                                             \
    } while (0)

#if HMM_VECTOR_EXT

/* Four doubles as one vector; loads and stores through it need only 8-byte
 * alignment, and it may alias plain doubles. */
typedef double hmm_v4 __attribute__((vector_size(32), aligned(8), may_alias));
typedef int64_t hmm_i4 __attribute__((vector_size(32), aligned(8), may_alias));

HMM_INLINE hmm_v4 hmm_load4(const double *p)
{
    return *(const hmm_v4 *)p;
}

/* exp of four lanes; arguments below -708 (and -inf) give 0, the true values
 * being under 3e-308. Written on vector types because GCC does not if-convert
 * the clamps of a scalar version, which then ran one lane at a time (14 ns
 * per value against 5 here). */
HMM_INLINE hmm_v4 hmm_exp4(hmm_v4 a)
{
    const hmm_v4 lo = {-708.0, -708.0, -708.0, -708.0};
    const hmm_v4 hi = {709.0, 709.0, 709.0, 709.0};
    const hmm_i4 below = a < lo, above = a > hi;     /* lanes of all ones or zeros */
    const hmm_v4 ac = (hmm_v4)(((hmm_i4)a & ~(below | above)) | ((hmm_i4)lo & below)
                               | ((hmm_i4)hi & above));
    const hmm_v4 t = ac * HMM_LOG2E + HMM_ROUND;       /* round to nearest integer */
    const hmm_v4 k = t - HMM_ROUND;
    const hmm_v4 r = (ac - k * HMM_LN2_HI) - k * HMM_LN2_LO;   /* |r| <= ln2 / 2 */
    hmm_v4 p;
    HMM_EXP_POLY(p, r);
    const hmm_v4 round = {HMM_ROUND, HMM_ROUND, HMM_ROUND, HMM_ROUND};
    const hmm_i4 kbits = (hmm_i4)t - (hmm_i4)round;   /* k as an integer */
    const hmm_v4 scale = (hmm_v4)((kbits + 1023) << 52);
    return (hmm_v4)((hmm_i4)(p * scale) & ~below);
}

/* exp(a), the same arithmetic as one lane of hmm_exp4. */
HMM_INLINE double hmm_exp1(double a)
{
    const hmm_v4 v = {a, a, a, a};
    return hmm_exp4(v)[0];
}

/* out[i] = exp(x[i] - shift) for x[i] - shift <= 709. In place is fine. */
HMM_INLINE void hmm_exp_sub_impl(const double *x, double shift, double *out, ptrdiff_t n)
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

#else  /* plain scalar exp, the arithmetic of one lane above */

HMM_INLINE double hmm_exp1(double a)
{
    const double ac = a < -708.0 ? -708.0 : a > 709.0 ? 709.0 : a;
    const double t = ac * HMM_LOG2E + HMM_ROUND;       /* round to nearest integer */
    const double k = t - HMM_ROUND;
    const double r = (ac - k * HMM_LN2_HI) - k * HMM_LN2_LO;
    double p;
    HMM_EXP_POLY(p, r);
    const uint64_t scale_bits = (uint64_t)(hmm_bits(t) - hmm_bits(HMM_ROUND) + 1023) << 52;
    return a < -708.0 ? 0.0 : p * hmm_from_bits((int64_t)scale_bits);
}

HMM_INLINE void hmm_exp_sub_impl(const double *x, double shift, double *out, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        out[i] = hmm_exp1(x[i] - shift);
}

#endif  /* HMM_VECTOR_EXT */

HMM_DISPATCH_VOID(hmm_exp_sub, (const double *x, double shift, double *out, ptrdiff_t n),
                  (x, shift, out, n))

/* out[i] = log(x[i]) for positive normal x; anything else goes through libm. */
HMM_INLINE void hmm_log_impl(const double *x, double *out, ptrdiff_t n)
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
HMM_DISPATCH_VOID(hmm_log, (const double *x, double *out, ptrdiff_t n), (x, out, n))


/* out[j] = sum_i x[i] * a[i * n + j]   (row vector times matrix).
 * Inlined into the sequence kernels of _scaled.h and _lockstep.h. */
HMM_INLINE void
hmm_vecmat_impl(const double *restrict x, const double *restrict a,
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

HMM_DISPATCH_VOID(hmm_vecmat, (const double *restrict x, const double *restrict a,
                               double *restrict out, ptrdiff_t n),
                  (x, a, out, n))

/* acc[i, j] += scale * x[i] * a[i, j] * y[j]   (one step of expected transitions) */
HMM_INLINE void
hmm_outer_acc_impl(const double *restrict x, const double *restrict a,
                   const double *restrict y, double scale, double *restrict acc, ptrdiff_t n)
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
HMM_DISPATCH_VOID(hmm_outer_acc, (const double *restrict x, const double *restrict a,
                                  const double *restrict y, double scale,
                                  double *restrict acc, ptrdiff_t n),
                  (x, a, y, scale, acc, n))

#endif
