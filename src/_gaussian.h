/* Diagonal-covariance Gaussian loops over frames (see _emissions.pyx).
 *
 * Parameters are laid out feature-major (d x N), so the innermost loop runs
 * over states on contiguous memory and vectorises; restrict tells the
 * compiler that outputs and inputs do not overlap. The three entry points
 * are dispatched like the recursions' (see _simd.h).
 */
#ifndef HMM_CORE_GAUSSIAN_H
#define HMM_CORE_GAUSSIAN_H

#include "_simd.h"

#if HMM_VECTOR_EXT

/* Whether x[0:n] holds a NaN (four lanes at a time; GCC's own vectorisation
 * of `any |= x != x` packs the masks to ints and costs several times more). */
HMM_INLINE int hmm_any_nan(const double *x, ptrdiff_t n)
{
    hmm_i4 any = {0, 0, 0, 0};
    ptrdiff_t q = 0;
    for (; q + 4 <= n; q += 4) {
        const hmm_v4 v = hmm_load4(x + q);
        any |= v != v;
    }
    int found = (any[0] | any[1] | any[2] | any[3]) != 0;
    for (; q < n; q++)
        found |= x[q] != x[q];
    return found;
}

/* -0.5 * (sum over observed k of (x[k] - mean[k, i])^2 prec[k, i] + norm[k, i]),
 * for the four states i .. i + 3 of one frame; a NaN feature is skipped. */
HMM_INLINE hmm_v4
hmm_diag_frame_missing(const double *restrict xt, ptrdiff_t d, ptrdiff_t n4, ptrdiff_t i,
                       const double *restrict mean_t, const double *restrict prec_t,
                       const double *restrict norm_t)
{
    hmm_v4 acc = {0.0, 0.0, 0.0, 0.0};
    for (ptrdiff_t k = 0; k < d; k++) {
        const double xk = xt[k];
        if (isnan(xk))
            continue;
        const hmm_v4 diff = xk - hmm_load4(mean_t + k * n4 + i);
        acc += diff * diff * hmm_load4(prec_t + k * n4 + i) + hmm_load4(norm_t + k * n4 + i);
    }
    return -0.5 * acc;
}

HMM_INLINE void
hmm_store_states(double *restrict row, hmm_v4 v, ptrdiff_t i, ptrdiff_t n)
{
    if (i + 4 <= n) {
        *(hmm_v4 *)(row + i) = v;
    } else {
        for (ptrdiff_t l = 0; i + l < n; l++)
            row[i + l] = v[l];
    }
}

/* out[t, i] = -0.5 * sum over observed k of (x[t, k] - mean[k, i])^2 prec[k, i] + norm[k, i].
 * The parameters are padded to n4 = a multiple of 4 states (zeros). Four
 * frames go together, each with its own sums in registers, so the chains of
 * multiply-adds overlap; norm_sum[i] = sum_k norm[k, i] serves the groups with
 * every feature observed. */
HMM_INLINE void hmm_diag_log_density_impl(const double *restrict x, ptrdiff_t n_frames,
                                          ptrdiff_t d, const double *restrict mean_t,
                                          const double *restrict prec_t,
                                          const double *restrict norm_t,
                                          const double *restrict norm_sum,
                                          double *restrict out, ptrdiff_t n)
{
    const ptrdiff_t n4 = (n + 3) / 4 * 4;
    ptrdiff_t t = 0;
    for (; t + 4 <= n_frames; t += 4) {
        const double *restrict x0 = x + t * d;
        if (hmm_any_nan(x0, 4 * d)) {
            for (ptrdiff_t u = t; u < t + 4; u++)
                for (ptrdiff_t i = 0; i < n4; i += 4)
                    hmm_store_states(out + u * n, hmm_diag_frame_missing(
                        x + u * d, d, n4, i, mean_t, prec_t, norm_t), i, n);
            continue;
        }
        for (ptrdiff_t i = 0; i < n4; i += 4) {
            const hmm_v4 base = hmm_load4(norm_sum + i);
            hmm_v4 a0 = base, a1 = base, a2 = base, a3 = base;
            for (ptrdiff_t k = 0; k < d; k++) {
                const hmm_v4 m = hmm_load4(mean_t + k * n4 + i);
                const hmm_v4 p = hmm_load4(prec_t + k * n4 + i);
                const hmm_v4 e0 = x0[k] - m, e1 = x0[d + k] - m;
                const hmm_v4 e2 = x0[2 * d + k] - m, e3 = x0[3 * d + k] - m;
                a0 += e0 * e0 * p;
                a1 += e1 * e1 * p;
                a2 += e2 * e2 * p;
                a3 += e3 * e3 * p;
            }
            hmm_store_states(out + t * n, -0.5 * a0, i, n);
            hmm_store_states(out + (t + 1) * n, -0.5 * a1, i, n);
            hmm_store_states(out + (t + 2) * n, -0.5 * a2, i, n);
            hmm_store_states(out + (t + 3) * n, -0.5 * a3, i, n);
        }
    }
    for (; t < n_frames; t++)
        for (ptrdiff_t i = 0; i < n4; i += 4)
            hmm_store_states(out + t * n, hmm_diag_frame_missing(
                x + t * d, d, n4, i, mean_t, prec_t, norm_t), i, n);
}

/* Moment sums over observed values, feature-major accumulators of width n4
 * (a multiple of 4: the caller pads w with zero columns):
 *   pass 0: count[k, i] += w[t, i] and total[k, i] += w[t, i] x[t, k];
 *   pass 1: scatter[k, i] += w[t, i] (x[t, k] - mean[k, i])^2.
 * A block with no missing value keeps four features x four states of sums in
 * registers across its frames; otherwise frames are taken one at a time and
 * missing values skipped. */
HMM_INLINE void hmm_diag_moment_pass_impl(const double *restrict x, const double *restrict w,
                                          ptrdiff_t n_frames, ptrdiff_t d, ptrdiff_t n4,
                                          int pass, const double *restrict mean_t,
                                          double *restrict acc0, double *restrict acc1)
{
    if (!hmm_any_nan(x, n_frames * d)) {
        for (ptrdiff_t i = 0; i < n4; i += 4) {
            hmm_v4 count = {0.0, 0.0, 0.0, 0.0};
            if (pass == 0) {
                for (ptrdiff_t t = 0; t < n_frames; t++)
                    count += hmm_load4(w + t * n4 + i);
                for (ptrdiff_t k = 0; k < d; k++)
                    *(hmm_v4 *)(acc0 + k * n4 + i) += count;
            }
            double *restrict sums = pass == 0 ? acc1 : acc0;
            for (ptrdiff_t k0 = 0; k0 < d; k0 += 4) {
                const ptrdiff_t nk = d - k0 < 4 ? d - k0 : 4;
                hmm_v4 s0 = {0.0, 0.0, 0.0, 0.0}, s1 = s0, s2 = s0, s3 = s0;
                hmm_v4 m0 = s0, m1 = s0, m2 = s0, m3 = s0;
                if (pass == 1) {
                    m0 = hmm_load4(mean_t + k0 * n4 + i);
                    if (nk > 1) m1 = hmm_load4(mean_t + (k0 + 1) * n4 + i);
                    if (nk > 2) m2 = hmm_load4(mean_t + (k0 + 2) * n4 + i);
                    if (nk > 3) m3 = hmm_load4(mean_t + (k0 + 3) * n4 + i);
                }
                const double *restrict xk = x + k0;
                const double *restrict wi = w + i;
                if (nk == 4 && pass == 0) {
                    for (ptrdiff_t t = 0; t < n_frames; t++) {
                        const hmm_v4 wv = hmm_load4(wi + t * n4);
                        const double *xt = xk + t * d;
                        s0 += wv * xt[0];
                        s1 += wv * xt[1];
                        s2 += wv * xt[2];
                        s3 += wv * xt[3];
                    }
                } else if (nk == 4) {
                    for (ptrdiff_t t = 0; t < n_frames; t++) {
                        const hmm_v4 wv = hmm_load4(wi + t * n4);
                        const double *xt = xk + t * d;
                        const hmm_v4 e0 = xt[0] - m0, e1 = xt[1] - m1;
                        const hmm_v4 e2 = xt[2] - m2, e3 = xt[3] - m3;
                        s0 += wv * e0 * e0;
                        s1 += wv * e1 * e1;
                        s2 += wv * e2 * e2;
                        s3 += wv * e3 * e3;
                    }
                } else {
                    const hmm_v4 mk[4] = {m0, m1, m2, m3};
                    hmm_v4 sk[4] = {s0, s1, s2, s3};
                    for (ptrdiff_t t = 0; t < n_frames; t++) {
                        const hmm_v4 wv = hmm_load4(wi + t * n4);
                        for (ptrdiff_t j = 0; j < nk; j++) {
                            const hmm_v4 e = xk[t * d + j] - mk[j];
                            sk[j] += pass == 0 ? wv * xk[t * d + j] : wv * e * e;
                        }
                    }
                    s0 = sk[0]; s1 = sk[1]; s2 = sk[2]; s3 = sk[3];
                }
                *(hmm_v4 *)(sums + k0 * n4 + i) += s0;
                if (nk > 1) *(hmm_v4 *)(sums + (k0 + 1) * n4 + i) += s1;
                if (nk > 2) *(hmm_v4 *)(sums + (k0 + 2) * n4 + i) += s2;
                if (nk > 3) *(hmm_v4 *)(sums + (k0 + 3) * n4 + i) += s3;
            }
        }
        return;
    }
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

/* One pass of shifted moment sums over observed values (feature-major, width
 * n4, w padded with zero columns), about a centre c[k, i] close to the means:
 *   s0[k, i] += w[t, i], s1[k, i] += w[t, i] e, s2[k, i] += w[t, i] e^2,
 * e = x[t, k] - c[k, i]. Then mean = c + s1 / s0 and the scatter about it is
 * s2 - s1^2 / s0, which loses nothing to cancellation while c is near the
 * mean (the caller checks, and falls back to two passes). */
HMM_INLINE void hmm_diag_shifted_moments_impl(const double *restrict x,
                                              const double *restrict w, ptrdiff_t n_frames,
                                              ptrdiff_t d, ptrdiff_t n4,
                                              const double *restrict c, double *restrict s0,
                                              double *restrict s1, double *restrict s2)
{
    if (hmm_any_nan(x, n_frames * d)) {
        for (ptrdiff_t t = 0; t < n_frames; t++) {
            const double *restrict wt = w + t * n4;
            for (ptrdiff_t k = 0; k < d; k++) {
                const double xk = x[t * d + k];
                if (isnan(xk))
                    continue;
                for (ptrdiff_t i = 0; i < n4; i += 4) {
                    const hmm_v4 wv = hmm_load4(wt + i);
                    const hmm_v4 we = wv * (xk - hmm_load4(c + k * n4 + i));
                    *(hmm_v4 *)(s0 + k * n4 + i) += wv;
                    *(hmm_v4 *)(s1 + k * n4 + i) += we;
                    *(hmm_v4 *)(s2 + k * n4 + i) += we * (xk - hmm_load4(c + k * n4 + i));
                }
            }
        }
        return;
    }
    for (ptrdiff_t i = 0; i < n4; i += 4) {
        hmm_v4 count = {0.0, 0.0, 0.0, 0.0};
        for (ptrdiff_t t = 0; t < n_frames; t++)
            count += hmm_load4(w + t * n4 + i);
        for (ptrdiff_t k = 0; k < d; k++)
            *(hmm_v4 *)(s0 + k * n4 + i) += count;
        for (ptrdiff_t k0 = 0; k0 < d; k0 += 4) {
            const ptrdiff_t nk = d - k0 < 4 ? d - k0 : 4;
            const double *restrict xk = x + k0;
            const double *restrict wi = w + i;
            const double *restrict ck = c + k0 * n4 + i;
            hmm_v4 a[4], b[4];
            for (ptrdiff_t j = 0; j < 4; j++)
                a[j] = b[j] = (hmm_v4){0.0, 0.0, 0.0, 0.0};
            if (nk == 4) {
                const hmm_v4 c0 = hmm_load4(ck), c1 = hmm_load4(ck + n4);
                const hmm_v4 c2 = hmm_load4(ck + 2 * n4), c3 = hmm_load4(ck + 3 * n4);
                for (ptrdiff_t t = 0; t < n_frames; t++) {
                    const hmm_v4 wv = hmm_load4(wi + t * n4);
                    const double *xt = xk + t * d;
                    const hmm_v4 e0 = xt[0] - c0, e1 = xt[1] - c1;
                    const hmm_v4 e2 = xt[2] - c2, e3 = xt[3] - c3;
                    const hmm_v4 f0 = wv * e0, f1 = wv * e1, f2 = wv * e2, f3 = wv * e3;
                    a[0] += f0; b[0] += f0 * e0;
                    a[1] += f1; b[1] += f1 * e1;
                    a[2] += f2; b[2] += f2 * e2;
                    a[3] += f3; b[3] += f3 * e3;
                }
            } else {
                for (ptrdiff_t t = 0; t < n_frames; t++) {
                    const hmm_v4 wv = hmm_load4(wi + t * n4);
                    for (ptrdiff_t j = 0; j < nk; j++) {
                        const hmm_v4 e = xk[t * d + j] - hmm_load4(ck + j * n4);
                        const hmm_v4 f = wv * e;
                        a[j] += f;
                        b[j] += f * e;
                    }
                }
            }
            for (ptrdiff_t j = 0; j < nk; j++) {
                *(hmm_v4 *)(s1 + (k0 + j) * n4 + i) += a[j];
                *(hmm_v4 *)(s2 + (k0 + j) * n4 + i) += b[j];
            }
        }
    }
}

#else  /* the same sums, one state at a time */

HMM_INLINE void hmm_diag_log_density_impl(const double *restrict x, ptrdiff_t n_frames,
                                          ptrdiff_t d, const double *restrict mean_t,
                                          const double *restrict prec_t,
                                          const double *restrict norm_t,
                                          const double *restrict norm_sum,
                                          double *restrict out, ptrdiff_t n)
{
    const ptrdiff_t n4 = (n + 3) / 4 * 4;
    for (ptrdiff_t t = 0; t < n_frames; t++) {
        const double *restrict xt = x + t * d;
        int missing = 0;
        for (ptrdiff_t k = 0; k < d; k++)
            missing |= isnan(xt[k]) != 0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double acc = missing ? 0.0 : norm_sum[i];
            for (ptrdiff_t k = 0; k < d; k++) {
                if (isnan(xt[k]))
                    continue;
                const double e = xt[k] - mean_t[k * n4 + i];
                acc += e * e * prec_t[k * n4 + i];
                if (missing)
                    acc += norm_t[k * n4 + i];
            }
            out[t * n + i] = -0.5 * acc;
        }
    }
}

HMM_INLINE void hmm_diag_moment_pass_impl(const double *restrict x, const double *restrict w,
                                          ptrdiff_t n_frames, ptrdiff_t d, ptrdiff_t n4,
                                          int pass, const double *restrict mean_t,
                                          double *restrict acc0, double *restrict acc1)
{
    for (ptrdiff_t t = 0; t < n_frames; t++)
        for (ptrdiff_t k = 0; k < d; k++) {
            const double xk = x[t * d + k];
            if (isnan(xk))
                continue;
            for (ptrdiff_t i = 0; i < n4; i++) {
                const double wv = w[t * n4 + i];
                if (pass == 0) {
                    acc0[k * n4 + i] += wv;
                    acc1[k * n4 + i] += wv * xk;
                } else {
                    const double diff = xk - mean_t[k * n4 + i];
                    acc0[k * n4 + i] += wv * diff * diff;
                }
            }
        }
}

HMM_INLINE void hmm_diag_shifted_moments_impl(const double *restrict x,
                                              const double *restrict w, ptrdiff_t n_frames,
                                              ptrdiff_t d, ptrdiff_t n4,
                                              const double *restrict c, double *restrict s0,
                                              double *restrict s1, double *restrict s2)
{
    for (ptrdiff_t t = 0; t < n_frames; t++)
        for (ptrdiff_t k = 0; k < d; k++) {
            const double xk = x[t * d + k];
            if (isnan(xk))
                continue;
            for (ptrdiff_t i = 0; i < n4; i++) {
                const double wv = w[t * n4 + i], e = xk - c[k * n4 + i];
                s0[k * n4 + i] += wv;
                s1[k * n4 + i] += wv * e;
                s2[k * n4 + i] += wv * e * e;
            }
        }
}

#endif  /* HMM_VECTOR_EXT */

HMM_DISPATCH_VOID(hmm_diag_log_density,
                  (const double *restrict x, ptrdiff_t n_frames, ptrdiff_t d,
                   const double *restrict mean_t, const double *restrict prec_t,
                   const double *restrict norm_t, const double *restrict norm_sum,
                   double *restrict out, ptrdiff_t n),
                  (x, n_frames, d, mean_t, prec_t, norm_t, norm_sum, out, n))
HMM_DISPATCH_VOID(hmm_diag_moment_pass,
                  (const double *restrict x, const double *restrict w, ptrdiff_t n_frames,
                   ptrdiff_t d, ptrdiff_t n4, int pass, const double *restrict mean_t,
                   double *restrict acc0, double *restrict acc1),
                  (x, w, n_frames, d, n4, pass, mean_t, acc0, acc1))
HMM_DISPATCH_VOID(hmm_diag_shifted_moments,
                  (const double *restrict x, const double *restrict w, ptrdiff_t n_frames,
                   ptrdiff_t d, ptrdiff_t n4, const double *restrict c, double *restrict s0,
                   double *restrict s1, double *restrict s2),
                  (x, w, n_frames, d, n4, c, s0, s1, s2))

#endif
