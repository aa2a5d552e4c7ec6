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

#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define HMM_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HMM_MULTIVERSION
#endif

/* out[j] = sum_i x[i] * a[i * n + j]   (row vector times matrix) */
HMM_MULTIVERSION
static void hmm_vecmat(const double *restrict x, const double *restrict a,
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
