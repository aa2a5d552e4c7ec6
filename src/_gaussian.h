/* Diagonal-covariance Gaussian loops over frames (see _gaussian.pyx).
 *
 * Parameters are laid out feature-major (d x N), so the innermost loop runs
 * over states on contiguous memory and vectorises; restrict tells the
 * compiler that outputs and inputs do not overlap.
 */
#ifndef HMM_CORE_GAUSSIAN_H
#define HMM_CORE_GAUSSIAN_H

#include "_simd.h"

/* out[i] = -0.5 * sum over observed k of (x[k] - mean[k, i])^2 prec[k, i] + norm[k, i].
 * The parameters are padded to n4 = a multiple of 4 states (zeros), and each
 * group of four states keeps its sums in one register across the features. */
HMM_MULTIVERSION
static void hmm_diag_log_density(const double *restrict x, ptrdiff_t n_frames, ptrdiff_t d,
                                 const double *restrict mean_t,
                                 const double *restrict prec_t,
                                 const double *restrict norm_t,
                                 double *restrict out, ptrdiff_t n)
{
    const ptrdiff_t n4 = (n + 3) / 4 * 4;
    for (ptrdiff_t t = 0; t < n_frames; t++) {
        double *restrict row = out + t * n;
        const double *restrict xt = x + t * d;
        for (ptrdiff_t i = 0; i < n4; i += 4) {
            hmm_v4 acc = {0.0, 0.0, 0.0, 0.0};
            for (ptrdiff_t k = 0; k < d; k++) {
                const double xk = xt[k];
                if (isnan(xk))
                    continue;
                const hmm_v4 diff = xk - *(const hmm_v4 *)(mean_t + k * n4 + i);
                acc += diff * diff * *(const hmm_v4 *)(prec_t + k * n4 + i)
                       + *(const hmm_v4 *)(norm_t + k * n4 + i);
            }
            for (ptrdiff_t l = 0; l < 4 && i + l < n; l++)
                row[i + l] = -0.5 * acc[l];
        }
    }
}

/* Moment sums over observed values, feature-major accumulators of width n4
 * (a multiple of 4: the caller pads w with zero columns):
 *   pass 0: count[k, i] += w[t, i] and total[k, i] += w[t, i] x[t, k];
 *   pass 1: scatter[k, i] += w[t, i] (x[t, k] - mean[k, i])^2. */
HMM_MULTIVERSION
static void hmm_diag_moment_pass(const double *restrict x, const double *restrict w,
                                 ptrdiff_t n_frames, ptrdiff_t d, ptrdiff_t n4, int pass,
                                 const double *restrict mean_t, double *restrict acc0,
                                 double *restrict acc1)
{
    for (ptrdiff_t t = 0; t < n_frames; t++) {
        const double *restrict wt = w + t * n4;
        for (ptrdiff_t k = 0; k < d; k++) {
            const double xk = x[t * d + k];
            if (isnan(xk))
                continue;
            for (ptrdiff_t i = 0; i < n4; i += 4) {
                const hmm_v4 wv = hmm_load4(wt + i);
                if (pass == 0) {
                    *(hmm_v4 *)(acc0 + k * n4 + i) += wv;
                    *(hmm_v4 *)(acc1 + k * n4 + i) += wv * xk;
                } else {
                    const hmm_v4 diff = xk - hmm_load4(mean_t + k * n4 + i);
                    *(hmm_v4 *)(acc0 + k * n4 + i) += wv * diff * diff;
                }
            }
        }
    }
}

#endif
