/* Forward-backward in the scaled linear domain, for dense transition matrices.
 *
 * Each step is a plain vector-matrix multiply-add with no exp or log on the
 * critical path (the steps are in _scaled_steps.h), rescaled by exact powers
 * of two.
 *
 * Why this is exact (not merely "scaled", like hmmlearn's scaling mode):
 * the only terms the linear domain can lose are those flushed to zero, each
 * below 3e-308 of the largest entry of its vector. When every transition is
 * at least a_min, every backward value of a state is within a factor 1/a_min
 * of every other state's (beta_t[i] >= a_min * sum_k b beta >= a_min *
 * beta_t[j]), so a flushed term changes the likelihood by less than
 * N * 3e-308 / a_min^2 of itself per step: below 1e-100 for a_min = 1e-100.
 * The kernels are therefore used only when min(A) >= HMM_SCALED_MIN_TRANSITION
 * (the caller checks); the first and last frames, where the start and end
 * probabilities have no such bound, are computed in log space. Anything else
 * (structural zeros, vanishing transitions) goes to the log-domain kernels.
 *
 * Each sequence kernel is compiled for the baseline and for AVX2 (see
 * HMM_DISPATCH in _simd.h) with every step inlined, so there is no call per
 * time step, and instantiated for each padded width (see _scaled_steps.h).
 */
#ifndef HMM_CORE_SCALED_H
#define HMM_CORE_SCALED_H

#include "_scaled_steps.h"

/* The forward pass of one sequence, for a stride w fixed at compile time. */
HMM_INLINE double
hmm_forward_w(const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t n, const ptrdiff_t w,
              const double *restrict log_startprob, const double *restrict transmat,
              const double *restrict log_endprob, double *restrict alpha,
              double *restrict work)
{
    double *b = work;
    double *shift = work + HMM_BLOCK * w;
    double *cur = shift + HMM_BLOCK;
    double *nxt = cur + w;
    const double *bptr[HMM_BLOCK];
    double total, comp = 0.0;   /* Neumaier sum of the frame shifts */
    long exponent = 0;
    ptrdiff_t t, j, nb;

    /* Frame 0 in log space: the start probabilities have no lower bound. */
    const double *first = hmm_log_row(frames, 0, n);
    for (j = 0; j < n; j++)
        cur[j] = log_startprob[j] + first[j];
    if (n_frames == 1)
        return hmm_close(cur, log_endprob, alpha, n);
    total = hmm_max(cur, n);
    if (total == -INFINITY)
        return total;
    for (j = 0; j < n; j++)
        cur[j] = hmm_exp1(cur[j] - total);
    for (j = n; j < w; j++)
        cur[j] = 0.0;
    if (alpha != NULL)
        memcpy(alpha, cur, n * sizeof(double));

    for (t = 1; t < n_frames - 1; t += nb) {
        nb = n_frames - 1 - t < HMM_BLOCK ? n_frames - 1 - t : HMM_BLOCK;
        if (!hmm_frame_block(frames, t, nb, n, w, b, shift, bptr))
            return -INFINITY;
        hmm_add_shifts(shift, nb, &total, &comp);
        exponent += hmm_steps(cur, nxt, transmat, bptr, nb,
                              alpha != NULL ? alpha + t * n : NULL, n, w);
    }

    /* Last frame in log space, so the end probabilities need no bound either;
     * the predicted vector itself never underflows (every transition is large). */
    hmm_matvec(cur, transmat, nxt, n, w);
    const double last = hmm_close_last(nxt, hmm_log_row(frames, n_frames - 1, n), log_endprob,
                                       alpha != NULL ? alpha + (n_frames - 1) * n : NULL, n);
    if (last == -INFINITY)
        return last;
    return (total + comp) + ((double)exponent * 0.69314718055994530942 + last);
}

#define HMM_BY_STRIDE(n, call_w)                                 \
    switch (hmm_stride(n)) {                                     \
    case 4: return call_w(4);                                    \
    case 8: return call_w(8);                                    \
    case HMM_MAX_PADDED: return call_w(HMM_MAX_PADDED);          \
    default: return call_w(n);                                   \
    }

/* Log-likelihood of one sequence. When alpha is not NULL it receives the
 * scaled forward vectors of frames 0 .. T-2 (each row a positive multiple of
 * alpha_t) and, in row T-1, the last frame's posteriors. */
HMM_INLINE double hmm_scaled_forward_impl(
    const hmm_frames *frames,               /* IN this sequence's frames */
    ptrdiff_t n_frames, ptrdiff_t n,
    const double *restrict log_startprob,   /* IN (N,) */
    const double *restrict transmat,        /* IN (w, w) padded (N, N when N > 16) */
    const double *restrict log_endprob,     /* IN (N,) */
    double *restrict alpha,                 /* OUT (T, N) or NULL */
    double *restrict work)                  /* hmm_scaled_work_size(n) */
{
#define HMM_FORWARD_W(W) hmm_forward_w(frames, n_frames, n, W, log_startprob, transmat, \
                                          log_endprob, alpha, work)
    HMM_BY_STRIDE(n, HMM_FORWARD_W)
#undef HMM_FORWARD_W
}

HMM_DISPATCH(double, hmm_scaled_forward,
             (const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t n,
              const double *restrict log_startprob, const double *restrict transmat,
              const double *restrict log_endprob, double *restrict alpha,
              double *restrict work),
             (frames, n_frames, n, log_startprob, transmat, log_endprob, alpha, work))

/* xi_sums[i, j] += sum_k p[k, i] * v[k, j] over nb rows of stride w; with
 * dgemm (not NULL) when the rows are unpadded (w > HMM_MAX_PADDED). */
HMM_INLINE void
hmm_xi_flush(const double *restrict p, const double *restrict v, ptrdiff_t nb,
             double *restrict xi_sums, ptrdiff_t n, const ptrdiff_t w, hmm_dgemm_t dgemm)
{
    if (nb == 0)
        return;
    if (w > HMM_MAX_PADDED && dgemm != NULL) {
        /* column-major: xi_sums^T += V^T P, i.e. C(n x n) += A(n x nb) B(n x nb)^T */
        char no = 'N', tr = 'T';
        int m = (int)n, kk = (int)nb;
        double one = 1.0;
        dgemm(&no, &tr, &m, &m, &kk, &one, (double *)v, &m, (double *)p, &m, &one,
              xi_sums, &m);
        return;
    }
    if (w <= HMM_MAX_PADDED) {
        for (ptrdiff_t i = 0; i < n; i++) {
            double acc[HMM_MAX_PADDED] = {0.0};
            for (ptrdiff_t k = 0; k < nb; k++) {
                const double pk = p[k * w + i];
                for (ptrdiff_t j = 0; j < w; j++)
                    acc[j] += pk * v[k * w + j];
            }
            for (ptrdiff_t j = 0; j < n; j++)
                xi_sums[i * n + j] += acc[j];
        }
        return;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        double *restrict row = xi_sums + i * n;
        for (ptrdiff_t k = 0; k < nb; k++) {
            const double pk = p[k * w + i];
            const double *restrict vk = v + k * w;
            for (ptrdiff_t j = 0; j < n; j++)
                row[j] += pk * vk[j];
        }
    }
}

HMM_INLINE double
hmm_posteriors_w(const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t n,
                 const ptrdiff_t w, const double *restrict log_startprob,
                 const double *restrict transmat, const double *restrict transmat_t,
                 const double *restrict log_endprob, double *restrict post,
                 double *restrict start_counts, double *restrict xi_sums,
                 double *restrict end_counts, double *restrict work, hmm_dgemm_t dgemm)
{
    double *b = work;
    double *shift = work + HMM_BLOCK * w;
    double *p_rows = shift + HMM_BLOCK;
    double *v_rows = p_rows + HMM_BLOCK * w;
    double *beta = v_rows + HMM_BLOCK * w;
    double *v = beta + w;
    double *arow = v + w;
    const double *bptr[HMM_BLOCK];
    ptrdiff_t t, i, j, filled = 0, block_lo;
    const int accumulate = xi_sums != NULL;

    /* The forward pass uses b, shift and the first 2w doubles after shift
     * (p_rows): nothing it leaves there is needed afterwards. */
    const double loglik = hmm_forward_w(frames, n_frames, n, w, log_startprob, transmat,
                                           log_endprob, post, work);
    if (loglik == -INFINITY) {
        memset(post, 0, n_frames * n * sizeof(double));
        return loglik;
    }
    if (accumulate)
        for (j = 0; j < n; j++)
            end_counts[j] += post[(n_frames - 1) * n + j];
    if (n_frames == 1) {
        if (accumulate)
            for (j = 0; j < n; j++)
                start_counts[j] += post[j];
        return loglik;
    }

    /* v_{T-1} = b_{T-1} * beta_{T-1} = exp(log_frameprob + log_end), relative to its max */
    const double *final = hmm_log_row(frames, n_frames - 1, n);
    for (j = 0; j < n; j++)
        v[j] = final[j] + log_endprob[j];
    const double m = hmm_max(v, n);
    for (j = 0; j < n; j++)
        v[j] = hmm_exp1(v[j] - m);
    for (j = n; j < w; j++) {
        v[j] = 0.0;
        arow[j] = 0.0;
    }
    hmm_matvec(v, transmat_t, beta, n, w);

    block_lo = n_frames;   /* no b block computed yet */
    for (t = n_frames - 2; t >= 0; t--) {
        double *restrict a = post + t * n;
        hmm_copy(arow, a, n);
        const double inv_z = 1.0 / hmm_dot(arow, beta, w);
        if (accumulate) {
            for (i = 0; i < w; i++)
                p_rows[filled * w + i] = arow[i] * inv_z;
            hmm_copy(v_rows + filled * w, v, w);
            if (++filled == HMM_BLOCK) {
                hmm_xi_flush(p_rows, v_rows, filled, xi_sums, n, w, dgemm);
                filled = 0;
            }
        }
        for (i = 0; i < n; i++)
            a[i] = arow[i] * beta[i] * inv_z;
        if (t == 0)
            break;
        if (t < block_lo) {   /* b for frames block_lo .. t */
            block_lo = t - HMM_BLOCK + 1 < 1 ? 1 : t - HMM_BLOCK + 1;
            hmm_frame_block(frames, block_lo, t - block_lo + 1, n, w, b, shift, bptr);
        }
        hmm_copy(v, beta, w);
        const double s = hmm_mul_sum(v, bptr[t - block_lo], w);
        if (s < HMM_RESCALE_BELOW)
            hmm_rescale(v, s, w);
        hmm_matvec(v, transmat_t, beta, n, w);
    }
    if (accumulate) {
        hmm_xi_flush(p_rows, v_rows, filled, xi_sums, n, w, dgemm);
        for (j = 0; j < n; j++)
            start_counts[j] += post[j];
    }
    return loglik;
}

/* Posteriors of one sequence and, when xi_sums is not NULL, its expected
 * counts: start_counts += gamma_0, end_counts += gamma_{T-1}, and
 * xi_sums[i, j] += sum_t alpha_t[i] v_{t+1}[j] / Z_t with v = b * beta and
 * Z_t = alpha_t . beta_t, so that the expected transitions are
 * transmat * xi_sums (the caller multiplies once, after summing).
 * Every frame is normalised on its own, so precision does not decay with
 * length. Returns the log-likelihood; an impossible sequence gets -inf and
 * zero posteriors and adds nothing. */
HMM_INLINE double hmm_scaled_posteriors_impl(
    const hmm_frames *frames,               /* IN this sequence's frames */
    ptrdiff_t n_frames, ptrdiff_t n,
    const double *restrict log_startprob,   /* IN (N,) */
    const double *restrict transmat,        /* IN (w, w) padded (N, N when N > 16) */
    const double *restrict transmat_t,      /* IN its transpose, padded alike */
    const double *restrict log_endprob,     /* IN (N,) */
    double *restrict post,                  /* OUT (T, N) */
    double *restrict start_counts,          /* OUT (N,) accumulated, or NULL */
    double *restrict xi_sums,               /* OUT (N, N) accumulated, or NULL */
    double *restrict end_counts,            /* OUT (N,) accumulated, or NULL */
    double *restrict work,                  /* hmm_scaled_work_size(n) */
    hmm_dgemm_t dgemm)                      /* for the xi sums, or NULL: loops */
{
#define HMM_POSTERIORS_W(W) hmm_posteriors_w(frames, n_frames, n, W, log_startprob, \
        transmat, transmat_t, log_endprob, post, start_counts, xi_sums, end_counts, work, dgemm)
    HMM_BY_STRIDE(n, HMM_POSTERIORS_W)
#undef HMM_POSTERIORS_W
}

HMM_DISPATCH(double, hmm_scaled_posteriors,
             (const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t n,
              const double *restrict log_startprob, const double *restrict transmat,
              const double *restrict transmat_t, const double *restrict log_endprob,
              double *restrict post, double *restrict start_counts,
              double *restrict xi_sums, double *restrict end_counts,
              double *restrict work, hmm_dgemm_t dgemm),
             (frames, n_frames, n, log_startprob, transmat, transmat_t, log_endprob, post,
              start_counts, xi_sums, end_counts, work, dgemm))

#endif
